#!/usr/bin/python3
"""Run `mpimr sort` and check the result against two oracles nobody here wrote.

The oracles: Python's sorted() of every input file's line records as bytes
(a record is the bytes up to '\\n'; a last line without '\\n' is a record of
its own, never joined with the next file's first line; '\\r' and NUL kept;
an empty file has none), and `LC_ALL=C sort` given the same files by name
(GNU sort also ends a file's unterminated last line at the file's end).  The
two must agree with each other before mpimr is judged.

Inputs: the Brown corpus, the awkward files (tests/e2e/make_awkward.py: CRLF,
NUL, no final newline, a 3 MB line, UTF-8, 1 MiB of binary, empty files) and
files made here in WORKDIR/cases from a fixed seed:
  dups.txt        80 distinct lines over 60,000 rows (one of them 20,000
                  times), shuffled; the same lines again in dups2.txt
  prefix.txt      16,000 lines sharing a 300-byte prefix (and 4,000 sharing
                  1,000 bytes), told apart after byte 256 (splitter keys are
                  cut at 256 bytes) by suffixes of both signs of byte, the
                  bare prefixes, and the prefixes plus NUL
  empty_lines.txt runs of empty lines, "\\r" lines and single spaces
  high.txt        lines starting with and holding bytes >= 0x80 (they sort
                  after ASCII, as unsigned bytes), 0x7f, NUL and control bytes
  ties.txt        lines that are prefixes of each other around 8 bytes (the
                  engine's radix key), and trailing NULs: "a" < "a\\0" < "a\\0\\0"
  no_nl_a.txt, no_nl_b.txt  one line without '\\n' each (must not join)
  one_empty.txt   a single "\\n": one empty record

Runs, at the launcher's rank count:
  * default memory, every input: no spill;
  * --mem 8M --tmp WORKDIR/spill, every input: every rank that reads input
    spills two sorted runs or more (/stats/runs_spilled), --tmp stays empty,
    and no rank's peak RSS passes --mem plus mrtest.RSS_SLACK;
  * --chunk 7 --mappers all over a smaller set (one Brown file and every
    small case file): 7-byte ranges, every rank mapping;
  * only empty files: zero records;
  * the default run again with no launcher (one rank).
Each result: the layout (root attributes, /sort@layout="records",
@order="key", @records, @input_bytes, @input_files, only record_bytes uint8
and record_offsets uint64 [N+1] from 0, non-decreasing, to len(record_bytes),
/inputs, /stats), every record against the oracle, and `mpimr show` byte for
byte equal to GNU sort's output.  The datasets (and /sort's attributes) of
every run over the same inputs equal the one-rank run's, so the file is the
same at every np.  Last, the checker must catch damaged copies of a result
(a byte changed, two records swapped, one dropped, a duplicate lost, the
layout attribute) and a deliberately wrong oracle (signed bytes).

Usage: check_sort.py --mpimr build/mpimr --launch "mpiexec -n 3 ..." \\
           --workdir DIR BROWN AWKWARD
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

JOB = "sort"
MEM = 8 * mrtest.MIB
TIMEOUT = 120


# ---------------------------------------------------------------------------
# inputs

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_cases(d, seed=20261201):
    """The sort cases above, under d (rewritten every time: same bytes)."""
    shutil.rmtree(d, ignore_errors=True)
    rng = random.Random(seed)

    distinct = [b"dup %02d " % i + bytes(rng.choice(b"xyz") for _ in range(i % 7))
                for i in range(80)]
    rows = [distinct[0]] * 20000 + [rng.choice(distinct) for _ in range(40000)]
    rng.shuffle(rows)
    write(os.path.join(d, "dups.txt"), b"\n".join(rows) + b"\n")
    write(os.path.join(d, "dups2.txt"), b"\n".join(distinct * 3) + b"\n")

    lines = []
    for plen, n in ((300, 16000), (1000, 4000)):
        p = bytes(rng.choice(b"ACGT") for _ in range(plen))
        lines += [p, p + b"\0", p + b"\0\0", p[:256], p[:257], p[:255] + b"\xff"]
        for _ in range(n):
            k = rng.randint(1, 12)
            lines.append(p + bytes(rng.choice(b"\x00\x01AZaz\x7f\x80\xc3\xfe\xff")
                                   for _ in range(k)))
    rng.shuffle(lines)
    write(os.path.join(d, "prefix.txt"), b"\n".join(lines) + b"\n")

    parts = []
    for _ in range(3000):
        parts.append(rng.choice([b"", b"", b"\r", b" ", b"\t", b"\r\r", b" \r"]))
    write(os.path.join(d, "empty_lines.txt"), b"\n".join(parts) + b"\n\n\n")

    high = []
    for _ in range(20000):
        k = rng.randint(0, 20)
        high.append(bytes(rng.choice(range(256)) for _ in range(k)).replace(b"\n", b"\x80"))
    high += [b"\x80", b"\xff", b"\x7f", b"\x00", b"\x01", b"z", b"\xc3\xa9t\xc3\xa9",
             b"\xef\xbb\xbfbom", b"\xff\xff\xff", b"\x80\x00", b"\x7f\xff"]
    rng.shuffle(high)
    write(os.path.join(d, "high.txt"), b"\n".join(high) + b"\n")

    ties = []
    for base in (b"a", b"abcdefg", b"abcdefgh", b"abcdefghi", b"abcdefghijklmnop"):
        for tail in (b"", b"\0", b"\0\0", b"\x01", b"\xff", b"a", b"\0a"):
            ties += [base + tail] * 3
    for n in range(1, 20):
        ties.append(b"x" * n)
        ties.append(b"x" * n + b"\0")
    rng.shuffle(ties)
    write(os.path.join(d, "ties.txt"), b"\n".join(ties))  # no final newline

    write(os.path.join(d, "no_nl_a.txt"), b"zzz joined? no")
    write(os.path.join(d, "no_nl_b.txt"), b"AAA first line of b\nAAA second\n")
    write(os.path.join(d, "one_empty.txt"), b"\n")
    write(os.path.join(d, "empty.txt"), b"")
    return d


# ---------------------------------------------------------------------------
# the oracles

class Oracle:
    """sorted() of the files' line records, GNU sort's output, the totals."""

    def __init__(self, inputs, gnu=True):
        self.files = mrtest.walk_inputs(inputs)
        self.sizes = [os.path.getsize(p) for p in self.files]
        recs = []
        for p in self.files:
            recs.extend(mrtest.line_records(p))
        recs.sort()
        self.records = recs
        self.text = b"".join(r + b"\n" for r in recs)
        self.gnu = gnu_sort(self.files) if gnu else None

    def agree(self):
        """Errors if the two oracles disagree (the test's premise)."""
        if self.gnu is None or self.gnu == self.text:
            return []
        return ["the oracles disagree: Python sorted() gives %d bytes, LC_ALL=C sort "
                "%d (first difference at byte %d)"
                % (len(self.text), len(self.gnu), first_diff(self.text, self.gnu))]


def gnu_sort(files):
    names = b"".join(os.fsencode(f) + b"\0" for f in files)
    env = dict(os.environ, LC_ALL="C")
    p = subprocess.run(["sort", "--files0-from=-"], input=names, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    if p.returncode != 0:
        raise mrtest.TestFailure("LC_ALL=C sort failed: %s"
                                 % p.stderr.decode("utf-8", "replace"))
    return p.stdout


def first_diff(a, b):
    """The first byte at which a and b differ (the shorter's length if none)."""
    n = min(len(a), len(b))
    x, y = np.frombuffer(a, np.uint8, n), np.frombuffer(b, np.uint8, n)
    d = np.flatnonzero(x != y)
    return int(d[0]) if d.size else n


# ---------------------------------------------------------------------------
# reading and checking a result

class Records:
    """A sort result: its attributes, datasets and records."""

    def __init__(self, path):
        self.problems = []
        with h5py.File(path, "r") as f:
            self.root = {k: mrtest._plain(v) for k, v in f.attrs.items()}
            if JOB not in f:
                raise mrtest.TestFailure("%s: no group /%s" % (path, JOB))
            g = f[JOB]
            self.attrs = {k: mrtest._plain(v) for k, v in g.attrs.items()}
            self.names = sorted(g.keys())
            self.raw = {}
            for n in ("record_bytes", "record_offsets"):
                if n in g and isinstance(g[n], h5py.Dataset):
                    self.raw[n] = mrtest._read(g[n])
            self.inputs = None
            if "inputs" in f:
                i = f["inputs"]
                pb = i["path_bytes"][()].tobytes()
                po = [int(x) for x in i["path_offsets"][()]]
                self.inputs = ([pb[po[k]:po[k + 1]] for k in range(len(po) - 1)],
                               [int(x) for x in i["sizes"][()]])
            self.phase_shape = f["stats"]["phase_seconds"].shape \
                if "stats" in f and "phase_seconds" in f["stats"] else None
        self.records = self._records()

    def _records(self):
        rb, ro = self.raw.get("record_bytes"), self.raw.get("record_offsets")
        if rb is None or ro is None:
            self.problems.append("/%s/record_bytes or record_offsets is missing" % JOB)
            return []
        data = rb.tobytes()
        off = [int(x) for x in ro]
        if rb.dtype != np.uint8 or rb.ndim != 1:
            self.problems.append("/%s/record_bytes is %s %s, want uint8 1-D"
                                 % (JOB, rb.dtype, rb.shape))
        if ro.dtype != np.uint64 or ro.ndim != 1:
            self.problems.append("/%s/record_offsets is %s %s, want uint64 1-D"
                                 % (JOB, ro.dtype, ro.shape))
        if not off or off[0] != 0 or off[-1] != len(data):
            self.problems.append("/%s/record_offsets runs %s..%s, want 0..%d"
                                 % (JOB, off[:1], off[-1:], len(data)))
            return []
        bad = [i for i in range(len(off) - 1) if off[i + 1] < off[i]]
        if bad:
            self.problems.append("/%s/record_offsets decreases at %d" % (JOB, bad[0]))
            return []
        return [data[off[i]:off[i + 1]] for i in range(len(off) - 1)]


def check_layout(res, orc, nranks):
    e = list(res.problems)
    for name, want in (("format", 2), ("job", JOB), ("complete", 1), ("nranks", nranks)):
        if res.root.get(name) != want:
            e.append("root attribute %s is %r, want %r" % (name, res.root.get(name), want))
    for name in ("mpimr_version", "argv", "created_utc"):
        if not str(res.root.get(name, "")).strip():
            e.append("root attribute %s is missing or empty" % name)
    want = {"layout": "records", "order": "key", "records": len(orc.records),
            "input_bytes": sum(orc.sizes), "input_files": len(orc.files), "rejected": 0}
    for name, w in want.items():
        if res.attrs.get(name) != w:
            e.append("/%s@%s is %r, want %r" % (JOB, name, res.attrs.get(name), w))
    if "value_kind" in res.attrs:
        e.append("/%s@value_kind is present (%r): records have no values"
                 % (JOB, res.attrs["value_kind"]))
    if res.names != ["record_bytes", "record_offsets"]:
        e.append("/%s holds %s, want exactly record_bytes and record_offsets"
                 % (JOB, res.names))
    if "record_offsets" in res.raw and len(res.raw["record_offsets"]) != len(orc.records) + 1:
        e.append("/%s/record_offsets has %d entries, want N+1 = %d"
                 % (JOB, len(res.raw["record_offsets"]), len(orc.records) + 1))
    if res.inputs is None:
        e.append("/inputs is missing")
    else:
        got = [(os.path.normpath(os.fsdecode(p)), s) for p, s in zip(*res.inputs)]
        exp = [(os.path.normpath(os.path.abspath(p)), s) for p, s in zip(orc.files, orc.sizes)]
        got = [(os.path.abspath(p), s) for p, s in got]
        if got != exp:
            e.append("/inputs lists %d files, want %d in input order (first: %s, want %s)"
                     % (len(got), len(exp), got[:2], exp[:2]))
    if res.phase_shape != (nranks, mrtest.NPHASES):
        e.append("/stats/phase_seconds has shape %s, want (%d, %d)"
                 % (res.phase_shape, nranks, mrtest.NPHASES))
    return e


def check_records(res, orc):
    got, want = res.records, orc.records
    if got == want:
        return []
    n = min(len(got), len(want))
    i = next((k for k in range(n) if got[k] != want[k]), n)
    return ["%d records, the oracle %d; first difference at record %d: file %s, oracle %s"
            % (len(got), len(want), i,
               mrtest.show_key(got[i]) if i < len(got) else "(end)",
               mrtest.show_key(want[i]) if i < len(want) else "(end)")]


def check_show(mpimr, path, orc):
    r = mrtest.run([mpimr, "show", path], timeout=TIMEOUT)
    if r.rc != 0:
        return ["mpimr show failed\n" + r.describe()]
    want = orc.gnu if orc.gnu is not None else orc.text
    if r.out != want:
        return ["mpimr show printed %d bytes, LC_ALL=C sort %d; first difference at byte %d"
                % (len(r.out), len(want), first_diff(r.out, want))]
    return []


def check_file(mpimr, path, orc, nranks, show=True):
    try:
        res = Records(path)
    except (OSError, KeyError, ValueError, mrtest.TestFailure) as x:
        return None, ["cannot read %s as a sort result: %s" % (path, x)]
    e = check_layout(res, orc, nranks) + check_records(res, orc)
    if show:
        e += check_show(mpimr, path, orc)
    return res, e


def same_content(base, res, label):
    e = []
    for n in ("record_bytes", "record_offsets"):
        x, y = base.raw.get(n), res.raw.get(n)
        if x is None or y is None or x.dtype != y.dtype or x.shape != y.shape \
                or x.tobytes() != y.tobytes():
            e.append("/%s/%s differs from the one-rank run's (%s)" % (JOB, n, label))
    for k in sorted(set(base.attrs) | set(res.attrs)):
        if base.attrs.get(k) != res.attrs.get(k):
            e.append("/%s@%s is %r, the one-rank run's %r (%s)"
                     % (JOB, k, res.attrs.get(k), base.attrs.get(k), label))
    return e


# ---------------------------------------------------------------------------
# the checker's own test: damaged copies and a wrong oracle

def mutants(path, workdir):
    """(label, path) of damaged copies of a result."""
    res = Records(path)
    recs = res.records
    i = next(k for k in range(len(recs) - 1) if recs[k] != recs[k + 1] and recs[k])
    j = next(k for k in range(len(recs) - 1) if recs[k] == recs[k + 1] and recs[k])
    cases = []

    def changed(records):
        def f(g):
            data = b"".join(records)
            off = np.cumsum([0] + [len(r) for r in records]).astype(np.uint64)
            for n, arr in (("record_bytes", np.frombuffer(data, np.uint8)),
                           ("record_offsets", off)):
                del g[n]
                g.create_dataset(n, data=arr)
        return f

    def flip(g):
        b = g["record_bytes"][()]
        k = int(g["record_offsets"][i])
        b[k] ^= 0x01
        g["record_bytes"][...] = b

    swapped = list(recs)
    swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
    cases.append(("one byte of record %d changed" % i, flip))
    cases.append(("records %d and %d swapped" % (i, i + 1), changed(swapped)))
    cases.append(("record %d dropped" % i, changed(recs[:i] + recs[i + 1:])))
    cases.append(("one copy of duplicate record %d lost" % j, changed(recs[:j] + recs[j + 1:])))
    cases.append(("@layout says table", lambda g: g.attrs.modify("layout", "table")))
    out = []
    for n, (label, fn) in enumerate(cases):
        p = os.path.join(workdir, "mutant%d.h5" % n)
        shutil.copyfile(path, p)
        with h5py.File(p, "r+") as f:
            fn(f[JOB])
        out.append((label, p))
    return out


def self_test(mpimr, path, orc, nranks, workdir):
    e = []
    for label, p in mutants(path, workdir):
        _, errs = check_file(mpimr, p, orc, nranks)
        if not errs:
            e.append("the checker passed a damaged copy: %s" % label)
        else:
            print("  caught, %s: %s" % (label, errs[0].splitlines()[0][:150]))
            os.remove(p)
    wrong = Oracle.__new__(Oracle)  # the same records, sorted as signed bytes
    wrong.files, wrong.sizes = orc.files, orc.sizes
    wrong.records = sorted(orc.records, key=lambda r: bytes(b ^ 0x80 for b in r))
    wrong.text = wrong.gnu = b"".join(r + b"\n" for r in wrong.records)
    _, errs = check_file(mpimr, path, wrong, nranks)
    if not errs:
        e.append("the checker passed the result against an oracle of signed bytes")
    else:
        print("  caught, an oracle of signed bytes: %s" % errs[0].splitlines()[0][:150])
    return e


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("brown")
    ap.add_argument("awkward")
    a = ap.parse_args()
    mpimr = os.path.abspath(a.mpimr)
    nranks = mrtest.launch_nranks(a.launch)
    work = os.path.abspath(a.workdir)
    os.makedirs(work, exist_ok=True)
    for n in os.listdir(work):
        p = os.path.join(work, n)
        shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
    cases = make_cases(os.path.join(work, "cases"))
    spill = os.path.join(work, "spill")
    os.makedirs(spill)

    every = [a.brown, a.awkward, cases]
    brown_one = sorted(os.listdir(a.brown))[0]
    small = [os.path.join(a.brown, brown_one)] + [
        os.path.join(cases, n) for n in ("dups2.txt", "empty_lines.txt", "ties.txt",
                                         "no_nl_a.txt", "no_nl_b.txt", "one_empty.txt",
                                         "empty.txt")] + [
        os.path.join(a.awkward, n) for n in ("crlf.txt", "nul.txt", "no_final_newline.txt",
                                             "utf8.txt", "empty.txt")]
    empties = [os.path.join(cases, "empty.txt"), os.path.join(a.awkward, "empty.txt")]

    ok = True
    t0 = time.monotonic()
    orc = Oracle(every)
    print("oracle: %d files, %d bytes, %d records (%.1f s)"
          % (len(orc.files), sum(orc.sizes), len(orc.records), time.monotonic() - t0))
    ok &= mrtest.report("Python sorted() and LC_ALL=C sort agree on every input",
                        orc.agree())
    small_orc, empty_orc = Oracle(small), Oracle(empties)
    ok &= mrtest.report("the oracles agree on the small set", small_orc.agree())

    runs = [  # label, launch, options, inputs, oracle, what else
        ("default memory", a.launch, [], every, orc, "nospill"),
        ("--mem 8M (spilling)", a.launch, ["--mem", "8M", "--tmp", spill], every, orc,
         "spill"),
        ("--chunk 7 --mappers all", a.launch, ["--chunk", "7", "--mappers", "all"], small,
         small_orc, None),
        ("only empty files", a.launch, [], empties, empty_orc, None),
        ("one rank, no launcher", "", [], every, orc, "reference"),
    ]
    results = {}
    for n, (label, launch, opts, inputs, o, what) in enumerate(runs):
        out = os.path.join(work, "run%d.h5" % n)
        t = time.monotonic()
        try:
            r = mrtest.run_mpimr(mpimr, launch, ["sort", "-q"] + opts + inputs + ["-o", out],
                                 timeout=TIMEOUT)
        except mrtest.TestFailure as x:
            ok &= mrtest.report("sort, %s" % label, [str(x)])
            continue
        secs = time.monotonic() - t
        if r.rc != 0 or not os.path.isfile(out):
            ok &= mrtest.report("sort, %s: ran" % label, ["mpimr failed\n" + r.describe()])
            continue
        res, e = check_file(mpimr, out, o, 1 if launch == "" else nranks)
        st = mrtest.read_stats(out)
        if what == "nospill":
            e += mrtest.no_spill_errors(st)
        elif what == "spill":
            e += mrtest.spill_errors(st, 2, MEM) + mrtest.dir_left(spill) + \
                mrtest.rss_errors(st, MEM)
            print("  %s; runs_spilled %s" % (mrtest.rss_note(st, MEM), st["runs_spilled"]))
        ok &= mrtest.report("sort, %s (%.1f s): layout, records vs sorted() and mpimr show "
                            "vs LC_ALL=C sort" % (label, secs), e)
        if res is not None:
            results[label] = (res, out, inputs)

    ref = results.get("one rank, no launcher")
    if ref:
        for label in ("default memory", "--mem 8M (spilling)"):
            if label in results:
                ok &= mrtest.report("%s: the same datasets as the one-rank run" % label,
                                    same_content(ref[0], results[label][0], label))
    if "default memory" in results:
        ok &= mrtest.report("the checker catches damaged copies and a wrong oracle",
                            self_test(mpimr, results["default memory"][1], orc, nranks, work))

    if ok:
        print("PASS: sort [%s]" % (a.launch or "no launcher"))
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print("FAIL: sort [%s] (files kept in %s)" % (a.launch or "no launcher", work))
    return 1


if __name__ == "__main__":
    sys.exit(main())
