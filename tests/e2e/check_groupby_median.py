#!/usr/bin/python3
"""Run `mpimr groupby --op ...,median,distinct` and check every key against Python.

The rows are read as check_groupby.py reads them (Python's csv, strict, line
by line; json.loads for JSON Lines), and for each key the list of its values
is kept.  The oracle for each op, from that list:
  count     len(values), exactly
  min, max  min() and max(), exactly (== : -0.0 equals 0.0)
  median    statistics.median(), exactly (the mean of the two middle values
            for an even count, as the engine promises)
  distinct  len(set(values)), exactly (-0.0 and 0.0 are one value)
  sum       math.fsum() within 1e-12 of the sum of |x|; exact where every
            value of the key is an integer; and, since with median or
            distinct the engine adds a key's values in ascending order, exactly
            the float sum of sorted(values) taken left to right
  mean      the same sum / count, exactly; fsum/count within 1e-12 (relative
            to the mean of |x|)

Inputs (WORKDIR/in, from a fixed seed), about 600,000 rows over 3 files:
"hot" with 300,000 rows (a third of them one value, so one key's values
outgrow a quarter of --mem 8M and are themselves spilled in reduce), "dupes"
3,000 rows of one value, "zeros" (0, -0, -0.0, +0.0, 0e5, .0), "tiny"
(subnormals: 5e-324, -1e-310), "huge" (+-1e300), 4,000 keys of one row,
1,500 keys of 2 to 40 rows (odd and even counts), and 60 keys of 2,000
rows of floats with 17 significant digits, all shuffled.  csv: numbers
written every way the job reads them (signs, spaces, exponents, "5.", ".5"),
a quoted key with a comma, CRLF in one file; jsonl: the same values as JSON
integers and reals (-0.0, exponents), string keys.

Runs, at the launcher's rank count:
  * every op (count,sum,min,max,mean,median,distinct), default memory;
  * every op, --mem 8M --tmp WORKDIR/spill: every rank that reads input
    spills two runs or more, the --tmp directory stays empty, peak RSS under
    --mem + mrtest.RSS_SLACK, and every dataset byte-identical to the
    in-memory run's;
  * --op median alone, --op distinct,count and --op max,median with
    --order key: only the asked-for datasets, in the job's field order;
  * every op again with no launcher (one rank): every dataset (sums
    included) byte-identical, so the table is the same at every np.
Each result: root and /groupby attributes, key_bytes/key_offsets, every op of
every key, the row order (--order count: count descending, then key bytes).
Last, the checker must catch damaged copies (a median one ulp off, distinct
one more, a sum's last bit, rows swapped) and a wrong oracle
(statistics.median_low).

Mode extremes: a few keys whose values are near the largest double
(1e308, 1.5e308, 1.7976931348623157e308; odd and even counts), every op
against the same oracle: the median of an odd count is its middle value,
finite; the sum and mean of values whose sum passes DBL_MAX are inf, as
Python's float sum gives.

Usage: check_groupby_median.py --mpimr build/mpimr --launch "mpiexec -n 3 ..." \\
           --workdir DIR csv|jsonl|extremes
"""

import argparse
import json
import math
import os
import random
import shutil
import statistics
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_groupby  # noqa: E402  (its csv/json row reader)
import mrtest  # noqa: E402

JOB = "groupby"
FIELDS = ("count", "sum", "min", "max", "mean", "median", "distinct")
ALL = list(FIELDS)
MEM = 8 * mrtest.MIB
TIMEOUT = 120


# ---------------------------------------------------------------------------
# inputs

def key_values(rng):
    """[(key, [exact text of each value])], the groups described above."""
    groups = []
    hot = [rng.choice(("7", "-3", "12.5")) if rng.random() < 0.34
           else "%d.%03d" % (rng.randint(-500, 500), rng.randint(0, 999))
           for _ in range(300000)]
    groups.append(("hot", hot))
    groups.append(("dupes", ["42.25"] * 3000))
    groups.append(("zeros", ["0", "-0", "-0.0", "+0.0", "0e5", ".0", "0.", "-0e-3"] * 5))
    groups.append(("zero-and-one", ["-0.0", "1", "0", "-0.0"]))
    groups.append(("tiny", ["5e-324", "-1e-310", "1e-310", "5e-324", "2.2250738585072014e-308"]))
    groups.append(("huge", ["1e300", "-1e300", "1e300", "3e299"]))
    groups.append(("ints", [str(rng.randint(-10**12, 10**12)) for _ in range(999)]))
    for i in range(4000):
        groups.append(("one-%04d" % i, [rng.choice(("%d" % rng.randint(-99, 99),
                                                    "%.6f" % rng.uniform(-1e4, 1e4),
                                                    "%.3e" % rng.uniform(-1, 1)))]))
    for i in range(1500):
        n = rng.randint(2, 40)
        pool = ["%d" % rng.randint(-5, 5) for _ in range(3)] + \
            ["%.2f" % rng.uniform(-100, 100) for _ in range(3)]
        groups.append(("mid-%04d" % i, [rng.choice(pool) for _ in range(n)]))
    for i in range(60):
        groups.append(("float-%02d" % i, [repr(rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-9, 9))
                                          for _ in range(2000)]))
    groups.append(("Quoted, key", ["1", "2", "3"]))
    return groups


def restyle(rng, text):
    """The same number written another way the job (and float()) reads."""
    if text[0] in "+-":
        return text
    form = rng.randint(0, 5)
    if form == 0:
        return "+" + text
    if form == 1:
        return " %s\t" % text
    if form == 2 and "e" not in text.lower() and "." not in text:
        return text + "."
    if form == 3 and text.startswith("0.") and text[2:3].isdigit():
        return text[1:]
    return text


def make_inputs(d, fmt, seed=20261202):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    rng = random.Random(seed)
    rows = [(k, v) for k, vals in key_values(rng) for v in vals]
    rng.shuffle(rows)
    parts = [rows[i::3] for i in range(3)]
    paths = []
    for n, part in enumerate(parts):
        if fmt == "csv":
            eol = "\r\n" if n == 1 else "\n"
            lines = ["note,city,value"]
            for k, v in part:
                kq = '"%s"' % k.replace('"', '""') if "," in k else k
                lines.append("r%d,%s,%s" % (rng.randint(0, 9), kq, restyle(rng, v)))
            text = eol.join(lines) + eol
            p = os.path.join(d, "part%d.csv" % n)
        else:
            lines = []
            for k, v in part:
                x = float(v)
                num = v.strip() if v.strip().lstrip("+-").isdigit() and abs(int(v)) < 2**53 \
                    else json.dumps(x)
                if num.startswith("+"):
                    num = num[1:]
                lines.append('{"city": %s, "value": %s, "n": %d}' % (json.dumps(k), num,
                                                                      rng.randint(0, 9)))
            text = "\n".join(lines) + "\n"
            p = os.path.join(d, "part%d.jsonl" % n)
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        paths.append(p)
    return paths


# ---------------------------------------------------------------------------
# the oracle

class Oracle(check_groupby.Oracle):
    """Every key's list of values, read by check_groupby's csv/json reader."""

    def __init__(self, keys, value):
        super().__init__(keys, value)
        self.values = {}

    def add(self, key, x):
        self.values.setdefault(key, []).append(x)
        super().add(key, x)

    def want(self, key, op):
        v = self.values[key]
        if op == "count":
            return float(len(v))
        if op == "min":
            return min(v)
        if op == "max":
            return max(v)
        if op == "median":
            return statistics.median(v)
        if op == "distinct":
            return float(len(set(v)))
        s = ascending_sum(v)
        return s if op == "sum" else s / len(v)

    def close(self, key, op, got):
        """Errors for sum and mean beyond the exact ascending-order check."""
        v = self.values[key]
        try:
            mag = math.fsum(abs(x) for x in v)
            exact = math.fsum(v)
        except OverflowError:  # past DBL_MAX: the ascending sum's inf is the answer
            return []
        if op == "mean":
            exact, mag = exact / len(v), mag / len(v)
        if all(x == int(x) for x in v) and abs(exact) < 2 ** 53:
            return [] if got == exact else ["integer values: %r, want %r" % (got, exact)]
        return [] if abs(got - exact) <= 1e-12 * mag else \
            ["%r is beyond 1e-12 of fsum's %r" % (got, exact)]


def ascending_sum(values):
    s = 0.0
    for x in sorted(values):
        s += x
    return s


def oracle(files, fmt):
    o = Oracle(["city"], "value")
    for p in files:
        (o.jsonl_file if fmt == "jsonl" else o.csv_file)(p)
    return o


# ---------------------------------------------------------------------------
# reading and checking a result

class Output:
    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.root = {k: mrtest._plain(v) for k, v in f.attrs.items()}
            g = f[JOB]
            self.attrs = {k: mrtest._plain(v) for k, v in g.attrs.items()}
            self.raw = {n: g[n][()] for n in ("key_bytes", "key_offsets")}
            self.listed = list(g["values"].keys())
            for n in self.listed:
                self.raw["values/" + n] = g["values"][n][()]
        kb = self.raw["key_bytes"].tobytes()
        off = [int(x) for x in self.raw["key_offsets"]]
        self.keys = [kb[off[i]:off[i + 1]] for i in range(len(off) - 1)]
        self.cols = {n: [float(x) for x in self.raw["values/" + n]] for n in self.listed}


def check_output(res, orc, ops, order, nranks):
    e = []
    for name, want in (("job", JOB), ("complete", 1), ("nranks", nranks), ("format", 2)):
        if res.root.get(name) != want:
            e.append("root attribute %s is %r, want %r" % (name, res.root.get(name), want))
    for name, want in (("layout", "table"), ("value_kind", "fields"), ("order", order),
                       ("distinct_keys", len(orc.values)), ("rejected", 0)):
        if res.attrs.get(name) != want:
            e.append("/%s@%s is %r, want %r" % (JOB, name, res.attrs.get(name), want))
    want_listed = [f for f in FIELDS if f in ops]
    if res.listed != want_listed:
        e.append("/%s/values lists %s, want %s (the asked-for ops in the job's order)"
                 % (JOB, res.listed, want_listed))
    n = len(res.keys)
    for op, col in res.cols.items():
        a = res.raw["values/" + op]
        if a.dtype != np.float64 or a.shape != (n,):
            e.append("/%s/values/%s is %s %s, want float64 (%d,)" % (JOB, op, a.dtype, a.shape, n))
    if len(set(res.keys)) != n:
        e.append("a key appears twice in the file")
    only_got = sorted(set(res.keys) - set(orc.values))
    only_want = sorted(set(orc.values) - set(res.keys))
    if only_got or only_want:
        e.append("%d keys only in the file (%s), %d only in the oracle (%s)"
                 % (len(only_got), [mrtest.show_key(k) for k in only_got[:3]],
                    len(only_want), [mrtest.show_key(k) for k in only_want[:3]]))
    wrong = []
    for i, k in enumerate(res.keys):
        if k not in orc.values:
            continue
        for op in want_listed:
            col = res.cols.get(op)
            if col is None or i >= len(col):
                continue
            got, want = col[i], orc.want(k, op)
            if got != want:
                wrong.append("%s %s: file %r, oracle %r (%d values)"
                             % (mrtest.show_key(k), op, got, want, len(orc.values[k])))
            elif op in ("sum", "mean"):
                wrong += ["%s %s: %s" % (mrtest.show_key(k), op, x)
                          for x in orc.close(k, op, got)]
    if wrong:
        e.append("%d values differ, e.g.\n  %s" % (len(wrong), "\n  ".join(wrong[:6])))
    if order == "count":
        rank = [(-len(orc.values.get(k, ())), k) for k in res.keys]
    else:
        rank = list(res.keys)
    bad = next((i for i in range(len(rank) - 1) if not rank[i] < rank[i + 1]), None)
    if bad is not None:
        e.append("rows %d and %d are out of --order %s: %s then %s"
                 % (bad, bad + 1, order, mrtest.show_key(res.keys[bad]),
                    mrtest.show_key(res.keys[bad + 1])))
    return e


def same_bytes(a, b, what):
    e = []
    for name in sorted(set(a.raw) | set(b.raw)):
        x, y = a.raw.get(name), b.raw.get(name)
        if x is None or y is None or x.dtype != y.dtype or x.tobytes() != y.tobytes():
            e.append("/%s/%s differs from %s" % (JOB, name, what))
    return e


def self_test(res, orc, nranks):
    """Damaged copies and a wrong oracle must each be reported."""
    e = []
    i_even = next(i for i, k in enumerate(res.keys)
                  if len(orc.values[k]) % 2 == 0 and statistics.median_low(orc.values[k])
                  != statistics.median(orc.values[k]))
    i_float = next(i for i, k in enumerate(res.keys) if k.startswith(b"float-"))

    def copy():
        c = Output.__new__(Output)
        c.__dict__.update(res.__dict__)
        c.cols = {n: list(v) for n, v in res.cols.items()}
        c.keys = list(res.keys)
        return c

    cases = []
    c = copy()
    c.cols["median"][i_even] = math.nextafter(c.cols["median"][i_even], math.inf)
    cases.append(("a median one ulp off", c))
    c = copy()
    c.cols["distinct"][0] += 1
    cases.append(("distinct one more", c))
    c = copy()
    c.cols["sum"][i_float] = math.nextafter(c.cols["sum"][i_float], -math.inf)
    cases.append(("the last bit of a sum", c))
    c = copy()
    c.keys[0], c.keys[1] = c.keys[1], c.keys[0]
    for n in c.cols:
        c.cols[n][0], c.cols[n][1] = c.cols[n][1], c.cols[n][0]
    cases.append(("two rows swapped", c))
    for label, c in cases:
        errs = check_output(c, orc, ALL, "count", nranks)
        if errs:
            print("  caught, %s: %s" % (label, " ".join(errs[0].split())[:200]))
        else:
            e.append("the checker passed a result with %s" % label)
    low = Oracle.__new__(Oracle)
    low.__dict__.update(orc.__dict__)
    plain_want = Oracle.want
    low.want = lambda k, op: (statistics.median_low(low.values[k]) if op == "median"
                              else plain_want(low, k, op))
    errs = check_output(res, low, ALL, "count", nranks)
    if errs:
        print("  caught, an oracle of statistics.median_low: %s" % " ".join(errs[0].split())[:200])
    else:
        e.append("the checker passed the result against statistics.median_low")
    return e


# ---------------------------------------------------------------------------

EXTREMES = [  # (key, values): odd counts whose middle value is past DBL_MAX / 2
    ("one-max", ["1.7976931348623157e308"]),
    ("one-big", ["1e308"]),
    ("one-neg-big", ["-1.5e308"]),
    ("three-big", ["1.5e308", "1.6e308", "1.7e308"]),
    ("five-mixed", ["-1e308", "1", "1.2e308", "2", "1.6e308"]),
    ("two-big", ["1e308", "1.2e308"]),  # even: the mean of the two overflows, as Python's
    ("one-small", ["4.5"]),
]


def mode_extremes(a, mpimr, nranks, work):
    """Medians of values near the largest double, against statistics.median:
    the middle value of an odd count is that value, whatever its size."""
    d = os.path.join(work, "in")
    os.makedirs(d)
    p = os.path.join(d, "extremes.csv")
    with open(p, "w") as f:
        f.write("city,value\n" + "".join("%s,%s\n" % (k, v) for k, vals in EXTREMES
                                          for v in vals))
    orc = oracle([p], "csv")
    out = os.path.join(work, "extremes.h5")
    r = mrtest.run_mpimr(mpimr, a.launch, ["groupby", "-q", "--key", "city", "--value", "value",
                                           "--op", ",".join(ALL), p, "-o", out],
                         timeout=TIMEOUT)
    if r.rc != 0 or not os.path.isfile(out):
        return mrtest.report("extremes ran", ["mpimr failed\n" + r.describe()])
    res = Output(out)
    return mrtest.report("every op of keys whose values are near DBL_MAX (median: "
                         "statistics.median)", check_output(res, orc, ALL, "count", nranks))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("format", choices=("csv", "jsonl", "extremes"))
    a = ap.parse_args()
    mpimr = os.path.abspath(a.mpimr)
    nranks = mrtest.launch_nranks(a.launch)
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    if a.format == "extremes":
        ok = mode_extremes(a, mpimr, nranks, work)
        print("PASS: groupby median, extremes" if ok else
              "FAIL: groupby median, extremes (files kept in %s)" % work)
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        return 0 if ok else 1
    spill = os.path.join(work, "spill")
    os.makedirs(spill)
    t = time.monotonic()
    files = make_inputs(os.path.join(work, "in"), a.format)
    orc = oracle(files, a.format)
    print("oracle: %d files, %d keys, %d rows, %d bad (%.1f s)"
          % (len(files), len(orc.values), sum(map(len, orc.values.values())), len(orc.bad),
             time.monotonic() - t))
    ok = mrtest.report("the inputs hold what they should", [] if not orc.bad and
                       len(orc.values[b"hot"]) == 300000 and
                       orc.want(b"zeros", "distinct") == 1.0 and
                       b"Quoted, key" in orc.values else
                       ["the oracle reads %d bad rows or lost a planted key" % len(orc.bad)])

    def run(label, ops, opts=(), launch=None, order="count"):
        out = os.path.join(work, "run-%d.h5" % len(results))
        args = ["groupby", "-q", "--key", "city", "--value", "value", "--op", ",".join(ops)]
        args += list(opts) + (["--order", order] if order != "count" else []) + files
        t = time.monotonic()
        try:
            r = mrtest.run_mpimr(mpimr, a.launch if launch is None else launch,
                                 args + ["-o", out], timeout=TIMEOUT)
        except mrtest.TestFailure as x:
            results.append(None)
            return None, [str(x)], None
        secs = time.monotonic() - t
        results.append(out)
        if r.rc != 0 or not os.path.isfile(out):
            return None, ["mpimr failed\n" + r.describe()], None
        e = ["a message from a clean run:\n" + r.describe()] if r.err.strip() else []
        res = Output(out)
        e += check_output(res, orc, ops, order, 1 if launch == "" else nranks)
        print("  %s: %.1f s" % (label, secs))
        return res, e, mrtest.read_stats(out)

    results = []
    mem, e, st = run("every op, default memory", ALL)
    if st:
        e += mrtest.no_spill_errors(st)
    ok &= mrtest.report("every op, default memory, against the oracle", e)
    spilled, e, st = run("every op, --mem 8M", ALL, ["--mem", "8M", "--tmp", spill])
    if st:
        e += mrtest.spill_errors(st, 2, MEM) + mrtest.dir_left(spill) + mrtest.rss_errors(st, MEM)
        print("  %s; runs_spilled %s" % (mrtest.rss_note(st, MEM), st["runs_spilled"]))
    if spilled and mem:
        e += same_bytes(spilled, mem, "the in-memory run's")
    ok &= mrtest.report("every op, --mem 8M (spilling): the oracle, and the same bytes as "
                        "in memory", e)
    for ops, order in ((["median"], "count"), (["distinct", "count"], "count"),
                       (["max", "median"], "key")):
        _, e, _ = run(",".join(ops), ops, order=order)
        ok &= mrtest.report("--op %s --order %s: only those datasets, against the oracle"
                            % (",".join(ops), order), e)
    one, e, _ = run("every op, one rank", ALL, launch="")
    if one and mem:
        e += same_bytes(mem, one, "the one-rank run's")
    ok &= mrtest.report("every op with no launcher: the oracle, and every dataset "
                        "byte-identical to the run at np %d" % nranks, e)
    if mem:
        ok &= mrtest.report("the checker catches damaged results and a wrong oracle",
                            self_test(mem, orc, nranks))
    if ok:
        print("PASS: groupby median/distinct, %s [%s]" % (a.format, a.launch or "no launcher"))
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print("FAIL: groupby median/distinct, %s (files kept in %s)" % (a.format, work))
    return 1


if __name__ == "__main__":
    sys.exit(main())
