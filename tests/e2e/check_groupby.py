#!/usr/bin/python3
"""Run `mpimr groupby` and check every key and op against a Python oracle.

The oracle reads the inputs line by line as the engine's line records (the
bytes between '\\n's; a final line without one counts) with Python's csv
module (strict=True, one line at a time; the first line of each file is its
header, a UTF-8 byte order mark before it dropped, a final '\\r' dropped,
blank lines skipped, the last of two same-named columns kept, as
csv.DictReader keeps it) and json.loads, and computes count, sum, min, max
and mean per key itself.  A value is a decimal number (spaces and tabs
around it allowed; no hex, inf or nan) that float() reads as finite; a JSON
value an integer or real, not a boolean; a JSON key member a string, an
integer or a boolean.  A composite key joins its columns with a TAB.

Modes (each generates its inputs in WORKDIR from a fixed seed):
  csv        football results over several files: quoted fields with commas
             and "" escapes, non-ASCII names, an empty name, CRLF lines, blank
             lines, a byte order mark, columns in another order, numbers
             with spaces and signs, a file with only a header, no final
             newline, two columns of one name.  Runs: goals per home team (every op), matches per
             (home, away) pair (count only), max away goals per date
             (--order key), with 1 KB, 64-byte and whole-file ranges.
  jsonl      JSON Lines (.jsonl and .ndjson; one copy named .log read with
             --format jsonl): a sum over a composite key of a string and an
             integer member, integer keys (negative, 2^62), boolean keys,
             escapes, CRLF and blank lines, reals in exponent form.
  malformed  bad rows in known places over CSV and JSON Lines files: the
             run exits 0, warns with the count and the first five FILE:LINE
             positions in input order, records the count and those lines in
             the file (/groupby@rejected, @rejected_first,
             /stats/records_rejected) and leaves the good rows' table
             right; with --strict it exits 1 with one line naming the first
             bad row and writes nothing; usage errors exit 2.

Every run is checked against the oracle: the keys, each asked-for op's
dataset (/groupby/values/<op>, float64; count, min and max exactly, sum and
mean within 1e-9 of the sum of the values' magnitudes), that the ops not
asked for are absent and the others listed in the job's field order (count,
sum, min, max, mean), and the row order.  Each run is repeated with no
launcher (one rank) and the two files must hold the same bytes (keys and
values): the values are integers and multiples of 1/8, so that every
summation order gives the same sum.  Last, the checker itself must report
damaged copies of a result.

Usage: check_groupby.py --mpimr build/mpimr --launch "mpiexec -n 3 ..." \\
           --workdir DIR csv|jsonl|malformed
"""

import argparse
import csv
import json
import math
import os
import random
import re
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

JOB = "groupby"
OPS = ("count", "sum", "min", "max", "mean")
NUMBER = re.compile(r"[ \t]*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t]*\Z")
SHOWN = 5


# ---------------------------------------------------------------------------
# the oracle

def lines_of(path):
    """The file's line records, as bytes without '\\n'."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def csv_fields(line):
    """One line (bytes, '\\r' dropped) as Python's csv reads it (strict)."""
    text = line.decode("utf-8", "surrogateescape")
    return next(csv.reader([text], strict=True))


def as_bytes(s):
    return s.encode("utf-8", "surrogateescape")


class Oracle:
    """Per key: [count, sum, min, max, sum of |x|]; and the bad rows, in input
    order, as (path, line, what the reason must contain)."""

    def __init__(self, keys, value):
        self.keys, self.value = keys, value
        self.table = {}
        self.bad = []

    def add(self, key, x):
        t = self.table.get(key)
        if t is None:
            self.table[key] = [1, x, x, x, abs(x)]
        else:
            t[0] += 1
            t[1] += x
            t[2] = min(t[2], x)
            t[3] = max(t[3], x)
            t[4] += abs(x)

    def want(self, key, op):
        c, s, lo, hi, _ = self.table[key]
        return {"count": float(c), "sum": s, "min": lo, "max": hi, "mean": s / c}[op]

    def tolerance(self, key, op):
        if op in ("sum", "mean"):
            t = self.table[key]
            return 1e-9 * t[4] / (t[0] if op == "mean" else 1)
        return 0.0

    # -- CSV

    def csv_file(self, path):
        lines = lines_of(path)
        if not lines:
            return
        head = lines[0][3:] if lines[0].startswith(b"\xef\xbb\xbf") else lines[0]
        head = head[:-1] if head.endswith(b"\r") else head
        header = None
        try:
            header = csv_fields(head) if head else None
        except csv.Error:
            pass
        if header is None:
            self.bad.append((path, 1, "bad header"))
        col = {name: i for i, name in enumerate(header or [])}  # the last wins
        missing = [n for n in self.keys + [self.value] if n and n not in col]
        for no, line in enumerate(lines[1:], start=2):
            line = line[:-1] if line.endswith(b"\r") else line
            if not line:
                continue
            if header is None:
                self.bad.append((path, no, "bad header"))
            elif missing:
                self.bad.append((path, no, "no column '%s'" % missing[0]))
            else:
                self.csv_row(path, no, line, header, col)

    def csv_row(self, path, no, line, header, col):
        try:
            row = csv_fields(line)
        except csv.Error as e:
            self.bad.append((path, no, "no closing quote" if "end of data" in str(e)
                             else "text after a closing quote"))
            return
        if len(row) != len(header):
            self.bad.append((path, no, "expected %d fields, found %d"
                             % (len(header), len(row))))
            return
        x = 0.0
        if self.value:
            v = row[col[self.value]]
            if not NUMBER.match(v) or not math.isfinite(float(v)):
                self.bad.append((path, no, "column '%s' is not a number" % self.value))
                return
            x = float(v)
        self.add(b"\t".join(as_bytes(row[col[k]]) for k in self.keys), x)

    # -- JSON Lines

    def jsonl_file(self, path):
        for no, line in enumerate(lines_of(path), start=1):
            if line.strip(b" \t\r"):
                self.json_row(path, no, line)

    def json_row(self, path, no, line):
        try:
            o = json.loads(line)
        except ValueError:
            self.bad.append((path, no, "invalid JSON"))
            return
        if not isinstance(o, dict):
            self.bad.append((path, no, "not a JSON object"))
            return
        parts = []
        for k in self.keys:
            m = o.get(k)
            if k not in o:
                self.bad.append((path, no, "no member '%s'" % k))
                return
            if isinstance(m, bool):
                parts.append(b"true" if m else b"false")
            elif isinstance(m, int):
                parts.append(str(m).encode())
            elif isinstance(m, str):
                parts.append(m.encode("utf-8"))
            else:
                self.bad.append((path, no, "key member '%s' is" % k))
                return
        x = 0.0
        if self.value:
            m = o.get(self.value)
            if self.value not in o:
                self.bad.append((path, no, "no member '%s'" % self.value))
                return
            if isinstance(m, bool) or not isinstance(m, (int, float)):
                self.bad.append((path, no, "member '%s' is" % self.value))
                return
            x = float(m)
        self.add(b"\t".join(parts), x)


def oracle(files, keys, value, fmt=None):
    o = Oracle(keys, value)
    for path in files:
        f = fmt or ("jsonl" if path.lower().endswith((".jsonl", ".ndjson")) else "csv")
        (o.jsonl_file if f == "jsonl" else o.csv_file)(path)
    return o


# ---------------------------------------------------------------------------
# reading and checking a result

class Output:
    """An mpimr groupby file: items [(key, {op: value})] in file order, the
    raw datasets (for byte comparison) and the attributes."""

    def __init__(self, path):
        self.problems = []
        with h5py.File(path, "r") as f:
            self.root = {k: mrtest._plain(v) for k, v in f.attrs.items()}
            g = f[JOB]
            self.attrs = {k: mrtest._plain(v) for k, v in g.attrs.items()}
            self.raw = {n: g[n][()] for n in ("key_bytes", "key_offsets")}
            vals = g["values"]
            if not isinstance(vals, h5py.Group):
                raise mrtest.TestFailure("/%s/values is not a group of datasets" % JOB)
            for n in vals:
                self.raw["values/" + n] = vals[n][()]
            self.listed = list(vals.keys())  # in creation order, as h5py lists it
            self.ops = sorted(self.listed)
            st = f.get("stats")
            self.rejected_per_rank = (st["records_rejected"][()]
                                      if st is not None and "records_rejected" in st
                                      else None)
        kb = self.raw["key_bytes"].tobytes()
        off = [int(x) for x in self.raw["key_offsets"]]
        n = len(off) - 1
        for op in self.ops:
            a = self.raw["values/" + op]
            if a.dtype != np.float64 or a.shape != (n,):
                self.problems.append("/%s/values/%s is %s %s, want float64 (%d,)"
                                     % (JOB, op, a.dtype, a.shape, n))
        self.items = [(kb[off[i]:off[i + 1]],
                       {op: float(self.raw["values/" + op][i]) for op in self.ops
                        if i < len(self.raw["values/" + op])})
                      for i in range(n)]


def check_output(out, orc, ops, order, nranks):
    """Errors where out disagrees with the oracle, the ops or the order."""
    e = list(out.problems)
    for name, want in (("job", JOB), ("complete", 1), ("nranks", nranks), ("format", 2)):
        if out.root.get(name) != want:
            e.append("root attribute %s is %r, want %r" % (name, out.root.get(name), want))
    for name, want in (("layout", "table"), ("value_kind", "fields")):
        if out.attrs.get(name) != want:
            e.append("/%s@%s is %r, want %r" % (JOB, name, out.attrs.get(name), want))
    if out.ops != sorted(ops):
        e.append("/%s/values holds %s, want exactly the asked-for ops %s"
                 % (JOB, out.ops, sorted(ops)))
    elif out.listed != [op for op in OPS if op in ops]:
        e.append("/%s/values lists %s, want the job's field order (%s)"
                 % (JOB, out.listed, ", ".join(OPS)))
    if out.attrs.get("rejected", 0) != len(orc.bad):
        e.append("/%s@rejected is %r, want %d" % (JOB, out.attrs.get("rejected"), len(orc.bad)))
    if out.attrs.get("distinct_keys") != len(orc.table):
        e.append("/%s@distinct_keys is %r, want %d"
                 % (JOB, out.attrs.get("distinct_keys"), len(orc.table)))
    got = dict(out.items)
    if len(got) != len(out.items):
        e.append("a key appears twice in the file")
    only_got = sorted(set(got) - set(orc.table))
    only_want = sorted(set(orc.table) - set(got))
    if only_got or only_want:
        e.append("%d keys only in the file (%s), %d only in the oracle (%s)"
                 % (len(only_got), [mrtest.show_key(k) for k in only_got[:3]],
                    len(only_want), [mrtest.show_key(k) for k in only_want[:3]]))
    wrong = []
    for k in sorted(set(got) & set(orc.table)):
        for op in ops:
            g, w = got[k].get(op), orc.want(k, op)
            if g is None or not abs(g - w) <= orc.tolerance(k, op):
                wrong.append("%s %s: file %r, oracle %r" % (mrtest.show_key(k), op, g, w))
    if wrong:
        e.append("%d values differ, e.g.\n  %s" % (len(wrong), "\n  ".join(wrong[:5])))
    e += check_order(out.items, orc, order)
    return e


def check_order(items, orc, order):
    """Order count: the oracle's count descending, then key bytes ascending."""
    keys = [k for k, _ in items]
    if order == "count":
        rank = [(-orc.table[k][0], k) if k in orc.table else (0, k) for k in keys]
    else:
        rank = keys
    for i in range(len(rank) - 1):
        if not rank[i] < rank[i + 1]:
            return ["rows %d and %d are out of --order %s: %s then %s"
                    % (i, i + 1, order, mrtest.show_key(keys[i]), mrtest.show_key(keys[i + 1]))]
    return []


def same_bytes(a, b):
    """Errors where two outputs' datasets differ."""
    e = []
    for name in sorted(set(a.raw) | set(b.raw)):
        x, y = a.raw.get(name), b.raw.get(name)
        if x is None or y is None or x.dtype != y.dtype or x.tobytes() != y.tobytes():
            e.append("/%s/%s differs from the one-rank run's" % (JOB, name))
    return e


# ---------------------------------------------------------------------------
# running

class Checker:
    def __init__(self, a):
        self.mpimr = os.path.abspath(a.mpimr)
        self.launch = a.launch
        self.nranks = mrtest.launch_nranks(a.launch)
        self.work = os.path.abspath(a.workdir)
        self.ok = True
        self.runs = 0
        self.last = None

    def out_path(self, tag):
        p = os.path.join(self.work, "%s.h5" % tag)
        if os.path.exists(p):
            os.remove(p)
        return p

    def run(self, args, launch=None):
        return mrtest.run_mpimr(self.mpimr, self.launch if launch is None else launch,
                                [JOB] + args)

    def report(self, label, errors):
        self.ok &= mrtest.report(label, errors)

    def check_run(self, label, inputs, keys, value, ops, extra=(), order="count", fmt=None):
        """Runs groupby, checks it against the oracle and against a one-rank
        run of the same command; returns (oracle, output) or (oracle, None)."""
        files = [os.fsdecode(f) for f in mrtest.walk_inputs(inputs)]
        orc = oracle(files, keys, value, fmt)
        args = ["--key", ",".join(keys)] + (["--value", value] if value else [])
        args += ["--op", ",".join(ops)] if ops != ["count"] or value else []
        args += (["--format", fmt] if fmt else []) + list(extra)
        if order != "count":
            args += ["--order", order]
        self.runs += 1
        out = self.out_path("run%d" % self.runs)
        r = self.run(args + inputs + ["-o", out])
        e = []
        if r.rc != 0 or not os.path.isfile(out):
            e.append("exit %s\n%s" % (r.rc, r.describe()))
        elif orc.bad:
            pass  # the malformed mode checks the warning itself
        elif any(ln.startswith("mpimr") for ln in r.err_lines()):
            e.append("a clean input got a message:\n%s" % r.describe())
        res = None
        if not e:
            res = Output(out)
            e += check_output(res, orc, ops, order, self.nranks)
            ref = self.out_path("run%d-one-rank" % self.runs)
            r1 = self.run(args + inputs + ["-o", ref], launch="")
            if r1.rc != 0:
                e.append("the one-rank run: exit %s\n%s" % (r1.rc, r1.describe()))
            else:
                e += same_bytes(res, Output(ref))
        self.report("%s (%d keys, %d rows, %s)" % (
            label, len(orc.table), sum(t[0] for t in orc.table.values()), ",".join(ops)), e)
        self.last = (r, out)
        return orc, res

    def self_test(self, orc, res, ops):
        """The checks must catch a wrong answer: damage copies of a result."""
        damaged = []
        k0, v0 = res.items[0]
        op = "sum" if "sum" in ops else ops[0]
        bump = dict(v0)
        bump[op] = v0[op] + max(abs(v0[op]) * 1e-6, 1.0)
        damaged.append(("a value off", [(k0, bump)] + res.items[1:]))
        damaged.append(("a key dropped", res.items[1:]))
        damaged.append(("a key changed", [(k0 + b"x", v0)] + res.items[1:]))
        damaged.append(("rows swapped", [res.items[1], res.items[0]] + res.items[2:]))
        e = []
        for what, items in damaged:
            copy = Output.__new__(Output)
            copy.__dict__.update(res.__dict__)
            copy.items = items
            if not check_output(copy, orc, ops, "count", self.nranks):
                e.append("the checker passed a result with %s" % what)
        less = Output.__new__(Output)
        less.__dict__.update(res.__dict__)
        less.ops = res.ops[1:]
        if not check_output(less, orc, ops, "count", self.nranks):
            e.append("the checker passed a result without /values/%s" % res.ops[0])
        self.report("the checker catches damaged results", e)


# ---------------------------------------------------------------------------
# inputs

TEAMS = ["Arsenal", "Aston Villa", "Brighton & Hove Albion", 'Wolverhampton, "Wolves"',
         'Inter "Nerazzurri"', "Bayern München", "Atlético Madrid", "Real Madrid, C.F.",
         "Paris Saint-Germain", "O'Higgins", " Leading Space", "Trailing Space ", '"',
         ",", "Celtic", "Rangers", "Ajax", "PSV", "Porto", "Benfica", "Kjøbenhavns BK",
         "A", "AA", "Ab", "a", ""]


def football_rows(rng, n):
    rows = []
    for _ in range(n):
        home, away = rng.sample(TEAMS, 2)
        date = "2023-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28))
        rows.append([date, home, away, rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4, 7]),
                     rng.choice([0, 1, 1, 2, 3, 5])])
    return rows


def write_csv(path, header, rows, **kw):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, **kw).writerows([header] + rows)


def make_football(d):
    """Five files in d: LF; CRLF, all quoted, with blank lines; another
    column order with a byte order mark, numbers with spaces and signs, blank
    lines and no final newline; only a header; CRLF with two home_team
    columns."""
    rng = random.Random(20231)
    os.makedirs(d, exist_ok=True)
    cols = ["date", "home_team", "away_team", "home_goals", "away_goals"]
    write_csv(os.path.join(d, "1-league.csv"), cols, football_rows(rng, 1500),
              lineterminator="\n")
    rows = football_rows(rng, 1200)
    with open(os.path.join(d, "2-cups.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(cols)
        for i, r in enumerate(rows):
            w.writerow(r)
            if i % 97 == 5:
                f.write("\r\n" if i % 2 else "\n")
    order = [4, 1, 0, 3, 2]
    text = '\ufeff' + ",".join('"%s"' % cols[i] for i in order) + "\n"
    for i, r in enumerate(football_rows(rng, 800)):
        r = [r[j] for j in order]
        r[0] = [" %d" % r[0], "+%d" % r[0], "%d.0" % r[0], "%de0" % r[0], "%d\t" % r[0],
                r[0]][i % 6]
        r[3] = [str(r[3]), " %d " % r[3], "%d." % r[3]][i % 3]
        line = ",".join(str(x) if not isinstance(x, str) or not any(
            c in x for c in ',"') else '"%s"' % x.replace('"', '""') for x in r)
        text += line + ("\n\n" if i % 50 == 7 else "\n")
    with open(os.path.join(d, "3-friendlies.csv"), "w", encoding="utf-8") as f:
        f.write(text.rstrip("\n"))
    write_csv(os.path.join(d, "4-empty.csv"), cols, [], lineterminator="\n")
    # Two columns named home_team: the last counts, as in csv.DictReader.
    write_csv(os.path.join(d, "5-more.csv"), ["home_team"] + cols,
              [["first of two"] + r for r in football_rows(rng, 400)], lineterminator="\r\n")
    return d


class RawJSON:
    def __init__(self, text):
        self.text = text


def make_events(d):
    """JSON Lines in d: a.jsonl (LF), b.ndjson (CRLF and blank lines), c.jsonl
    (members in another order, escapes, big and negative integers, reals in
    exponent form, nested members)."""
    rng = random.Random(4711)
    os.makedirs(d, exist_ok=True)
    users = ["alice", "bob", "carol", "dave", "Zoë", 'quote"d', "back\\slash", "",
             "tab\there", "日本"]
    regions = [-3, 0, 1, 2, 7, 2 ** 62, -(2 ** 40)]

    def event():
        e = {"user": rng.choice(users), "region": rng.choice(regions),
             "vip": rng.random() < 0.3, "n": rng.randint(-5, 50)}
        e["amount"] = rng.choice([rng.randint(-4000, 4000) / 8, rng.randint(0, 99)])
        if rng.random() < 0.2:
            e["meta"] = {"tags": ["x", 1], "nested": {"amount": "ignored"}}
        return e

    with open(os.path.join(d, "a.jsonl"), "w", encoding="utf-8") as f:
        for _ in range(1500):
            f.write(json.dumps(event(), ensure_ascii=False) + "\n")
    with open(os.path.join(d, "b.ndjson"), "w", encoding="utf-8", newline="") as f:
        for i in range(900):
            f.write(json.dumps(event()) + "\r\n" + ("\n  \r\n" if i % 41 == 3 else ""))
    with open(os.path.join(d, "c.jsonl"), "w", encoding="utf-8") as f:
        for i in range(700):
            e = event()
            items = list(e.items())
            rng.shuffle(items)
            if i % 5 == 0:  # a number in exponent form, the same exact value
                items = [(k, RawJSON("%dE-3" % round(v * 1000)) if k == "amount" else v)
                         for k, v in items]
            s = "{" + ", ".join("%s: %s" % (json.dumps(k), v.text if isinstance(v, RawJSON)
                                                          else json.dumps(v)) for k, v in items)
            f.write(s + "}\n")
    return d


# Bad rows, by file and line, and what their reason says.  The oracle must
# find exactly these (so that it is not vacuous either).
BAD_CSV_A = [  # 1-a.csv, LF
    (4, 'x,Arsenal,Ajax,1', "expected 5 fields, found 4"),
    (9, 'x,"Arsenal,Ajax,1,2', "no closing quote"),
    (13, 'x,Arsenal,Ajax,two,2', "not a number"),
]
BAD_CSV_B = [  # 2-b.csv, CRLF
    (3, 'x,Arsenal,Ajax,1,2,3', "expected 5 fields, found 6"),
    (7, 'x,Arsenal,Ajax,"1,5",2', "not a number"),
    (8, 'x,Arsenal,Ajax,0x10,2', "not a number"),
    (10, 'x,Arsenal,Ajax,,2', "not a number"),
    (12, 'x,"Arsenal"x,Ajax,1,2', "text after a closing quote"),
    (14, 'x,Arsenal,Ajax,inf,2', "not a number"),
    (15, 'x,Arsenal,Ajax,nan,2', "not a number"),
    (16, 'x,Arsenal,Ajax,1e999,2', "not a number"),
]
BAD_JSON = [  # 3-c.jsonl
    (2, '{"home_team": "Ajax", "home_goals": 1', "invalid JSON"),
    (3, '[1, 2]', "not a JSON object"),
    (5, '{"home_team": "Ajax"}', "no member 'home_goals'"),
    (6, '{"home_team": "Ajax", "home_goals": "1"}', "member 'home_goals' is"),
    (7, '{"home_team": null, "home_goals": 1}', "key member 'home_team' is"),
    (8, '{"home_team": 1.5, "home_goals": 1}', "key member 'home_team' is"),
    (9, '{"home_team": "Ajax", "home_goals": true}', "member 'home_goals' is"),
    (11, '"just a string"', "not a JSON object"),
]


def make_malformed(d):
    """Good rows around the bad ones above (a file whose header lacks a
    column, or is malformed, fails the run instead: see header_failures)."""
    rng = random.Random(99)
    os.makedirs(d, exist_ok=True)
    header = "date,home_team,away_team,home_goals,away_goals"

    def csv_file(name, nlines, bad, eol):
        lines = [header]
        bad = dict((no, text) for no, text, _ in bad)
        for no in range(2, nlines + 1):
            r = football_rows(rng, 1)[0]
            good = ",".join('"%s"' % x.replace('"', '""') if isinstance(x, str) else str(x)
                            for x in r)
            lines.append(bad.get(no, good if no % 11 else ""))
        with open(os.path.join(d, name), "w", encoding="utf-8", newline="") as f:
            f.write(eol.join(lines) + eol)

    csv_file("1-a.csv", 30, BAD_CSV_A, "\n")
    csv_file("2-b.csv", 25, BAD_CSV_B, "\r\n")
    lines = []
    bad = dict((no, text) for no, text, _ in BAD_JSON)
    for no in range(1, 14):
        r = football_rows(rng, 1)[0]
        lines.append(bad.get(no, json.dumps({"home_team": r[1], "home_goals": r[3]})
                             if no != 4 else "   "))
    with open(os.path.join(d, "3-c.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    want = ([(1, no, why) for no, _, why in BAD_CSV_A] + [(2, no, why) for no, _, why in BAD_CSV_B]
            + [(3, no, why) for no, _, why in BAD_JSON])
    return d, want


def header_failures(c):
    """No row is at fault when a file's header lacks a --key or --value
    column, or is malformed: the run fails, naming the file and the column
    (rows so rejected would be skipped where a pipeline never notices).  So
    does a run whose every record was rejected, unless --all-rejected-ok."""
    d = os.path.join(c.work, "headers")
    os.makedirs(d, exist_ok=True)
    good = os.path.join(d, "1-good.csv")
    with open(good, "w") as f:
        f.write("home_team,home_goals\nAjax,1\nPSV,2\n")
    lacks = os.path.join(d, "4-d.csv")
    with open(lacks, "w") as f:
        f.write("date,home_team,away_team,goals\n2023-01-01,Ajax,PSV,1\n\n"
                "2023-01-02,PSV,Ajax,2\n")
    badhead = os.path.join(d, "5-e.csv")
    with open(badhead, "w") as f:
        f.write('date,"home_team,away_team,home_goals,away_goals\nx,Ajax,PSV,1,2\n')
    allbad = os.path.join(d, "6-f.csv")
    with open(allbad, "w") as f:
        f.write("home_team,home_goals\nAjax,one\nPSV,two\nAjax,\n")
    for label, inputs, says, extra in (
            ("a header without the --value column", [good, lacks],
             ("4-d.csv", "no column 'home_goals'"), []),
            ("a malformed header", [good, badhead], ("5-e.csv", "bad header"), []),
            ("every record rejected", [allbad], ("no record gave a result: 3 were rejected",
                                                 "6-f.csv:2:"), [])):
        out = c.out_path("headers")
        r = c.run(["--key", "home_team", "--value", "home_goals", "--op", "sum"] + extra +
                  inputs + ["-o", out])
        lines = [ln for ln in r.err_lines() if ln.startswith("mpimr")]
        e = []
        if r.rc != 1 or os.path.exists(out):
            e.append("exit %s, output %s" % (r.rc, "written" if os.path.exists(out) else "absent"))
        if not lines or not all(any(w in ln for ln in lines) for w in says):
            e.append("want messages naming %s, got %s" % (says, lines))
        c.report("%s fails the run (exit 1, no file)" % label, e)
    out = c.out_path("allok")
    r = c.run(["--key", "home_team", "--value", "home_goals", "--op", "sum",
               "--all-rejected-ok", allbad, "-o", out])
    e = []
    if r.rc != 0 or not os.path.exists(out):
        e.append("exit %s\n%s" % (r.rc, r.describe()))
    else:
        with h5py.File(out, "r") as f:
            if int(f[JOB].attrs["distinct_keys"]) != 0 or int(f[JOB].attrs["rejected"]) != 3:
                e.append("want 0 keys and 3 rejected, got %s and %s" % (
                    f[JOB].attrs["distinct_keys"], f[JOB].attrs["rejected"]))
    if not any("3 malformed records skipped" in ln for ln in r.err_lines()):
        e.append("no warning about the 3 skipped records")
    c.report("--all-rejected-ok: every record rejected is a result with no keys", e)


# ---------------------------------------------------------------------------
# the modes

def mode_csv(c):
    d = make_football(os.path.join(c.work, "football"))
    orc, res = c.check_run("goals per home team, 1 KB ranges, every rank mapping", [d],
                           ["home_team"], "home_goals", ["sum", "mean", "min", "max", "count"],
                           ["--chunk", "1K", "--mappers", "all"])
    keys = set(orc.table)
    e = []
    for want in (b'Wolverhampton, "Wolves"', b'"', b",", "Bayern München".encode(), b"",
                 b" Leading Space", b"Trailing Space "):
        if want not in keys:
            e.append("the inputs lost their awkward team %r" % want)
    if len(orc.table) != len(TEAMS):
        e.append("the oracle has %d teams, want %d" % (len(orc.table), len(TEAMS)))
    if sum(t[0] for t in orc.table.values()) != 1500 + 1200 + 800 + 400:
        e.append("the oracle counts %d rows, want 3900" % sum(t[0] for t in orc.table.values()))
    c.report("the CSV inputs hold what they should", e)
    if res:
        c.self_test(orc, res, ["sum", "mean", "min", "max", "count"])
    c.check_run("matches per (home, away) pair, 64-byte ranges", [d],
                ["home_team", "away_team"], None, ["count"], ["--chunk", "64"])
    c.check_run("max away goals per date, whole files, --order key", [d], ["date"],
                "away_goals", ["max"], order="key")


def mode_jsonl(c):
    d = make_events(os.path.join(c.work, "events"))
    orc, res = c.check_run("amount per (user, region), 1 KB ranges", [d], ["user", "region"],
                           "amount", ["sum", "count", "mean", "min", "max"],
                           ["--chunk", "1K", "--mappers", "all"])
    e = []
    if not any(k.endswith(b"\t4611686018427387904") for k in orc.table):
        e.append("no key has the region 2^62")
    if not any(k.startswith("Zoë\t".encode()) for k in orc.table):
        e.append("no key has a non-ASCII user")
    if sum(t[0] for t in orc.table.values()) != 1500 + 900 + 700:
        e.append("the oracle counts %d rows, want 3100" % sum(t[0] for t in orc.table.values()))
    c.report("the JSON Lines inputs hold what they should", e)
    if res:
        c.self_test(orc, res, ["sum", "count", "mean", "min", "max"])
    c.check_run("n per integer region, 200-byte ranges", [d], ["region"], "n",
                ["sum", "min", "max"], ["--chunk", "200"])
    c.check_run("rows per vip flag (a boolean key)", [d], ["vip"], None, ["count"])
    other = os.path.join(c.work, "other")
    os.makedirs(other, exist_ok=True)
    shutil.copy(os.path.join(d, "a.jsonl"), os.path.join(other, "a.log"))
    c.check_run("--format jsonl over a .log file", [other], ["user"], "amount", ["sum"],
                fmt="jsonl")


def mode_malformed(c):
    d, planted = make_malformed(os.path.join(c.work, "bad"))
    files = [os.fsdecode(f) for f in mrtest.walk_inputs([d])]
    orc = oracle(files, ["home_team"], "home_goals")
    got = [(files.index(p) + 1, no) for p, no, _ in orc.bad]
    want = [(f, no) for f, no, _ in planted]
    c.report("the oracle finds exactly the planted bad rows (%d)" % len(want),
             [] if got == want else ["oracle: %s\nplanted: %s" % (got, want)])

    ops = ["sum", "count"]
    _, res = c.check_run("good rows of files with bad ones, 32-byte ranges", [d],
                         ["home_team"], "home_goals", ops, ["--chunk", "32", "--mappers", "all"])
    r, out = c.last
    head = ("mpimr: warning: %d malformed records skipped (--strict makes them an error); "
            "the first:" % len(orc.bad))
    first = ["%s:%d: " % (p, no) for p, no, _ in orc.bad[:SHOWN]]
    lines = [ln for ln in r.err_lines() if ln.startswith("mpimr")]
    e = []
    if not lines or lines[0] != head:
        e.append("want the warning %r, got %s" % (head, lines[:1]))
    shown = [ln[len("mpimr:   "):] for ln in lines[1:]]
    if len(shown) != SHOWN or not all(ln.startswith("mpimr:   ") for ln in lines[1:]):
        e.append("want %d lines 'mpimr:   PATH:LINE: WHY', got %s" % (SHOWN, lines[1:]))
    for s, pos, (_, _, why) in zip(shown, first, orc.bad):
        if not s.startswith(pos) or why not in s:
            e.append("want %r...%r, got %r" % (pos, why, s))
    if res:
        if res.attrs.get("rejected_first") != "\n".join(shown):
            e.append("/%s@rejected_first is %r, want the warning's lines"
                     % (JOB, res.attrs.get("rejected_first")))
        per = res.rejected_per_rank
        if per is None or len(per) != c.nranks or int(np.sum(per)) != len(orc.bad):
            e.append("/stats/records_rejected is %s, want %d entries adding up to %d"
                     % (per, c.nranks, len(orc.bad)))
    c.report("the warning names the first %d bad rows in input order" % SHOWN, e)

    # --strict: exit 1, one line naming the first bad row, no file.
    out = c.out_path("strict")
    r = c.run(["--strict", "--key", "home_team", "--value", "home_goals", "--chunk", "32",
               "--mappers", "all", d, "-o", out])
    lines = [ln for ln in r.err_lines() if ln.startswith("mpimr")]
    p, no, why = orc.bad[0]
    e = []
    if r.rc != 1 or os.path.exists(out):
        e.append("exit %s, output %s" % (r.rc, "written" if os.path.exists(out) else "absent"))
    if len(lines) != 1 or not lines[0].startswith("mpimr: %s:%d: " % (p, no)) \
            or why not in lines[0]:
        e.append("want one line 'mpimr: %s:%d: ...%s...', got %s" % (p, no, why, lines))
    c.report("--strict fails on the first bad row", e)
    good = os.path.join(c.work, "good.csv")
    with open(good, "w") as f:
        f.write("home_team,home_goals\nAjax,1\nPSV,2\n")
    c.check_run("--strict over good rows", [good], ["home_team"], "home_goals", ["sum"],
                ["--strict"])

    # Usage errors: exit 2, one message, nothing written.
    for args, says in ((["--value", "home_goals"], "--key"),
                       (["--key", "home_team", "--op", "count,mode"], "mode"),
                       (["--key", "home_team", "--op", "sum"], "--value"),
                       (["--key", "home_team", "--op", "count", "--op", "max"], "--value"),
                       (["--key", "home_team", "--format", "xml"], "xml"),
                       (["--key", "home_team,", "--op", "count"], "--key")):
        out = c.out_path("usage")
        r = c.run(args + [d, "-o", out])
        lines = [ln for ln in r.err_lines() if ln.startswith("mpimr")]
        e = []
        if r.rc != 2 or os.path.exists(out):
            e.append("exit %s, output %s" % (r.rc, "written" if os.path.exists(out) else "absent"))
        if len(lines) != 1 or says not in lines[0]:
            e.append("want one message naming %r, got %s" % (says, lines))
        c.report("usage error: %s" % " ".join(args), e)
    header_failures(c)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("mode", choices=("csv", "jsonl", "malformed"))
    a = ap.parse_args()
    c = Checker(a)
    if os.path.isdir(c.work):
        shutil.rmtree(c.work)
    os.makedirs(c.work)
    try:
        {"csv": mode_csv, "jsonl": mode_jsonl, "malformed": mode_malformed}[a.mode](c)
    except mrtest.TestFailure as x:
        c.report("the runs finished", [str(x)])
    print("PASS" if c.ok else "FAIL")
    return 0 if c.ok else 1


if __name__ == "__main__":
    sys.exit(main())
