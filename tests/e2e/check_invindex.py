#!/usr/bin/python3
"""Run `mpimr invindex` and check its whole table against a Python oracle.

The oracle: the input files walked as the engine promises (arguments in the
order given, each directory recursively in byte order of full paths), and
for file number i the set of words `data.split()` of its bytes; every word
maps to the ascending list of the numbers of the files that hold it.  Its
file list is compared with /inputs, path by path, so that the numbers in the
file mean the same files.

Inputs, made in WORKDIR/in: every other file of the Brown corpus (so that
file numbers pass 255), each with a word appended that is then in every
non-empty file, and generated files: an empty one, one of whitespace only,
one of a single word with no newline, nested directories whose names sort
differently by name and by full path ("a-b.txt" before "a/"), a non-ASCII
name, words of every length from 1 to 140 bytes, a word repeated in every
range of its file, NUL and UTF-8 bytes, and a word across offset 64 whose
halves are words of another file.

Checks, at the launcher's rank count:
  * the default run (order count: set size descending, then key bytes
    ascending): format (datasets, dtypes, offsets monotone from 0, members
    strictly ascending and below input_files), attributes (distinct_keys,
    total = members, records = words, input_bytes, input_files, rejected = 0),
    /inputs, every key and every list, and the row order;
  * --order key with 64-byte ranges and every rank mapping, over the
    generated files and two Brown files: the same checks, key order;
  * the default run again with no launcher (one rank), and with 1 KB
    exchange rounds and every rank mapping: datasets and group attributes
    identical to the first run's, so the file is the same at every np;
  * `mpimr show --top 5` prints key<TAB>members joined by commas;
  * the checker itself: damaged copies of the output (a member dropped,
    a list out of order, rows swapped, a file number changed, total off by
    one) must each be reported, or the test fails.

Usage:
  tests/e2e/check_invindex.py --mpimr build/mpimr \\
      --launch "mpiexec -n 3 --oversubscribe" --workdir DIR BROWN_DIR

Exit status: 0 when every check passes, 1 when any fails.
"""

import argparse
import collections
import os
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

JOB = "invindex"
EVERY = b"EVERYFILE"
TOP = 5
DATASETS = ("key_bytes", "key_offsets", "values", "value_offsets")


# ---------------------------------------------------------------------------
# inputs

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def boundary_text():
    """Words of every length 1-140 (so that 64-byte ranges cut words at every
    position), one word repeated across every range, odd bytes, and
    "splitword" across offset 64 (its halves are in fragments.txt)."""
    head = b"a" * 58 + b" "  # "splitword" takes bytes 59-67
    words = [b"splitword"]
    words += [(b"L%d-" % n + b"x" * n)[:n] for n in range(1, 141)]
    words += [b"repeat"] * 40
    words += [b"nul\x00byte", b"caf\xc3\xa9", b"\xff\xfe", b"tab\tsep", EVERY]
    body = b""
    for i, w in enumerate(words):
        body += w + (b" ", b"\n", b"\r\n", b"\v", b"\f\t")[i % 5]
    return head + body


def make_inputs(root, brown):
    """Writes the inputs under root; returns (args for the default run, args
    for the 64-byte-range run)."""
    if os.path.exists(root):
        shutil.rmtree(root)
    names = sorted(n for n in os.listdir(brown) if not n.startswith("."))[::2]
    for name in names:
        with open(os.path.join(brown, name), "rb") as f:
            write(os.path.join(root, "brown", name), f.read() + b"\n" + EVERY + b"\n")
    tree = os.path.join(root, "tree")
    files = {
        "empty.txt": b"",
        "whitespace.txt": b" \t\n\v\f\r \r\n",
        "boundary.txt": boundary_text(),
        "fragments.txt": b"split word spl itword repeat solitary " + EVERY,
        "a-b.txt": b"dash " + EVERY + b" shared",
        "a/inner.txt": b"inner shared " + EVERY,
        "a/deep/er/most.txt": b"deepest\nshared\n" + EVERY + b"\n",
        "B.txt": b"Upper " + EVERY + b" case CASE",
        "b.txt": b"lower " + EVERY + b" case",
        "\u00e9t\u00e9.txt": "\u00e9t\u00e9 ".encode() + EVERY,
        "z/only.txt": EVERY + b" shared z",
    }
    for name, data in files.items():
        write(os.path.join(tree, name), data)
    os.makedirs(os.path.join(tree, "empty_dir"), exist_ok=True)
    one = os.path.join(root, "one_word.txt")
    write(one, EVERY)  # one word, no newline
    brown_dir = os.path.join(root, "brown")
    # Arguments not in sorted order: their order is the input order.
    full = [tree, brown_dir, one]
    small = [tree] + [os.path.join(brown_dir, n) for n in names[:2]] + [one]
    return full, small


# ---------------------------------------------------------------------------
# the oracle

class Oracle:
    def __init__(self, args):
        self.files = mrtest.walk_inputs(args)
        self.index = collections.defaultdict(list)
        self.words = 0
        self.sizes = []
        for i, path in enumerate(self.files):
            with open(path, "rb") as f:
                data = f.read()
            self.sizes.append(len(data))
            words = data.split()
            self.words += len(words)
            for w in set(words):
                self.index[w].append(i)  # i grows, so every list is sorted
        self.members = sum(len(v) for v in self.index.values())


# ---------------------------------------------------------------------------
# reading and checking a result

class Table:
    """/invindex of a result file: rows [(key, [members])], attributes, raw
    datasets.  Structural problems go to self.errors."""

    def __init__(self, path):
        self.errors = []
        with h5py.File(path, "r") as f:
            self.root = {k: mrtest._plain(v) for k, v in f.attrs.items()}
            g = f[JOB]
            self.attrs = {k: mrtest._plain(v) for k, v in g.attrs.items()}
            self.raw = {}
            for name in DATASETS:
                if not isinstance(g.get(name), h5py.Dataset):
                    raise mrtest.TestFailure("%s: /%s/%s is not a dataset" % (path, JOB, name))
                self.raw[name] = mrtest._read(g[name])
            pb = mrtest._read(f["inputs/path_bytes"]).tobytes()
            po = [int(x) for x in mrtest._read(f["inputs/path_offsets"])]
            self.paths = [pb[po[k]:po[k + 1]] for k in range(len(po) - 1)]
            self.sizes = [int(x) for x in mrtest._read(f["inputs/sizes"])]
        self.rows = self._rows()

    def _rows(self):
        e = self.errors
        for name in DATASETS:
            arr = self.raw[name]
            want = np.uint8 if name == "key_bytes" else np.uint64
            if arr.dtype != want or arr.ndim != 1:
                e.append("/%s/%s is %s%s, want 1-D %s"
                         % (JOB, name, arr.dtype, arr.shape, np.dtype(want)))
        kb, vals = self.raw["key_bytes"].tobytes(), self.raw["values"]
        koff = [int(x) for x in self.raw["key_offsets"]]
        voff = [int(x) for x in self.raw["value_offsets"]]
        for name, off, end in (("key_offsets", koff, len(kb)),
                               ("value_offsets", voff, len(vals))):
            if not off or off[0] != 0 or off[-1] != end:
                e.append("/%s/%s runs from %s to %s, want 0 to %d"
                         % (JOB, name, off[:1], off[-1:], end))
            # No key is empty, and a key is in the table only if a file holds it.
            bad = [i for i in range(len(off) - 1) if off[i + 1] <= off[i]]
            if bad:
                i = bad[0]
                e.append("/%s/%s is not strictly increasing at %d: %d then %d"
                         % (JOB, name, i, off[i], off[i + 1]))
        if len(koff) != len(voff):
            e.append("key_offsets has %d entries, value_offsets %d"
                     % (len(koff), len(voff)))
        n = max(min(len(koff), len(voff)) - 1, 0)
        rows = []
        for i in range(n):
            members = [int(x) for x in vals[voff[i]:voff[i + 1]]]
            rows.append((kb[koff[i]:koff[i + 1]], members))
        return rows


def check_table(t, orc, order, nranks):
    """Every error in t against the oracle; [] when it all agrees."""
    e = list(t.errors)
    ra, ga = t.root, t.attrs
    for name, want in (("format", 2), ("job", JOB), ("complete", 1), ("nranks", nranks)):
        if want is not None and ra.get(name) != want:
            e.append("root attribute %s is %r, want %r" % (name, ra.get(name), want))
    want_attrs = {
        "order": order, "distinct_keys": len(orc.index), "total": orc.members,
        "records": orc.words, "input_bytes": sum(orc.sizes),
        "input_files": len(orc.files), "rejected": 0, "rejected_first": "",
        "layout": "table", "value_kind": "uint64-set",
    }
    for name, want in want_attrs.items():
        if ga.get(name, "(absent)") != want:
            e.append("/%s@%s is %r, want %r" % (JOB, name, ga.get(name, "(absent)"), want))

    want_paths = [os.fsencode(p) for p in orc.files]
    if t.paths != want_paths or t.sizes != orc.sizes:
        i = next((k for k in range(min(len(t.paths), len(want_paths)))
                  if t.paths[k] != want_paths[k]), min(len(t.paths), len(want_paths)))
        e.append("/inputs differs from the input order (%d files, want %d); first at "
                 "%d: %r, want %r" % (len(t.paths), len(want_paths), i,
                                      t.paths[i:i + 1], want_paths[i:i + 1]))

    nfiles = len(orc.files)
    for key, members in t.rows:
        if any(b <= a for a, b in zip(members, members[1:])):
            e.append("the list of %s is not strictly ascending: %s"
                     % (mrtest.show_key(key), members[:20]))
            break
    for key, members in t.rows:
        if members and members[-1] >= nfiles:
            e.append("the list of %s names file %d of %d" % (mrtest.show_key(key),
                                                            members[-1], nfiles))
            break

    got = dict(t.rows)
    if len(got) != len(t.rows):
        e.append("%d keys appear more than once" % (len(t.rows) - len(got)))
    bad = sorted(k for k in set(got) | set(orc.index) if got.get(k) != orc.index.get(k))
    if bad:
        e.append("the table differs from the oracle at %d keys (%d missing, %d not "
                 "in the input); first:" % (len(bad), sum(k not in got for k in bad),
                                            sum(k not in orc.index for k in bad)))
        for k in bad[:5]:
            e.append("    %s: file %s, oracle %s" % (mrtest.show_key(k),
                                                     got.get(k, "(absent)"),
                                                     orc.index.get(k, "(absent)")))

    if order == "count":
        rank, what = (lambda r: (-len(r[1]), r[0])), "set size descending, then key"
    else:
        rank, what = (lambda r: r[0]), "key bytes ascending"
    for i in range(len(t.rows) - 1):
        if not rank(t.rows[i]) < rank(t.rows[i + 1]):
            e.append("rows %d and %d are out of order for --order %s (%s): %s (%d) "
                     "then %s (%d)" % (i, i + 1, order, what,
                                       mrtest.show_key(t.rows[i][0]), len(t.rows[i][1]),
                                       mrtest.show_key(t.rows[i + 1][0]),
                                       len(t.rows[i + 1][1])))
            break
    return e


def check_file(path, orc, order, nranks):
    try:
        t = Table(path)
    except (mrtest.TestFailure, OSError, KeyError, ValueError) as x:
        return None, ["cannot read %s as an invindex result: %s" % (path, x)]
    return t, check_table(t, orc, order, nranks)


def same_file(a, b):
    """Errors where result b differs from result a (datasets and group attributes)."""
    e = []
    for name in DATASETS:
        x, y = a.raw[name], b.raw[name]
        if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y):
            e.append("/%s/%s differs: %s%s and %s%s" % (JOB, name, x.dtype, x.shape,
                                                       y.dtype, y.shape))
    for k in sorted(set(a.attrs) | set(b.attrs)):
        if a.attrs.get(k) != b.attrs.get(k):
            e.append("/%s@%s differs: %r and %r" % (JOB, k, a.attrs.get(k), b.attrs.get(k)))
    return e


# ---------------------------------------------------------------------------
# the checker must be able to fail

def mutants(t):
    """(what, mutate) pairs; mutate(group) damages a copy of a good result."""
    raw = t.raw
    voff = raw["value_offsets"].astype(np.int64)
    sizes = np.diff(voff)
    big = int(np.argmax(sizes))  # a list of two or more members: row 0 in count order
    one = int(np.argmin(sizes))  # a list of one member

    def replace(g, name, arr):
        del g[name]
        g[name] = arr

    def drop(g):
        vals = np.delete(raw["values"], voff[big + 1] - 1)
        off = raw["value_offsets"].copy()
        off[big + 1:] -= 1
        replace(g, "values", vals)
        replace(g, "value_offsets", off)
        g.attrs["total"] = np.uint64(len(vals))

    def unsort(g):
        vals = raw["values"].copy()
        a = voff[big]
        vals[a], vals[a + 1] = vals[a + 1], vals[a]
        replace(g, "values", vals)

    def swap_rows(g):
        # Rows 0 and 1 with their keys and lists: the table stays right.
        rows = [(bytes(k), list(v)) for k, v in t.rows]
        rows[0], rows[1] = rows[1], rows[0]
        write_rows(g, rows)

    def renumber(g):
        vals = raw["values"].copy()
        vals[voff[one]] = (int(vals[voff[one]]) + 1) % len(t.paths)
        replace(g, "values", vals)

    def total(g):
        g.attrs["total"] = np.uint64(int(t.attrs["total"]) + 1)

    def write_rows(g, rows):
        replace(g, "key_bytes", np.frombuffer(b"".join(k for k, _ in rows), dtype=np.uint8))
        replace(g, "key_offsets",
                np.cumsum([0] + [len(k) for k, _ in rows]).astype(np.uint64))
        replace(g, "values", np.array([m for _, v in rows for m in v], dtype=np.uint64))
        replace(g, "value_offsets",
                np.cumsum([0] + [len(v) for _, v in rows]).astype(np.uint64))

    return [("a member dropped", drop), ("a list out of order", unsort),
            ("rows 0 and 1 swapped", swap_rows), ("a file number changed", renumber),
            ("total off by one", total)]


def check_checker(path, t, orc, order, nranks, workdir):
    e = []
    for i, (what, mutate) in enumerate(mutants(t)):
        bad = os.path.join(workdir, "mutant%d.h5" % i)
        shutil.copy(path, bad)
        with h5py.File(bad, "r+") as f:
            mutate(f[JOB])
        _, found = check_file(bad, orc, order, nranks)
        if not found:
            e.append("the checker passes a result with %s" % what)
        os.remove(bad)
    return e


# ---------------------------------------------------------------------------

def check_show(mpimr, path, t):
    r = mrtest.run([mpimr, "show", path, "--top", str(TOP)])
    want = b"".join(k + b"\t" + b",".join(b"%d" % m for m in v) + b"\n"
                    for k, v in t.rows[:TOP])
    if r.rc != 0 or r.out != want:
        return ["show --top %d printed other lines; want:\n%s\n%s"
                % (TOP, want.decode("utf-8", "replace"), r.describe())]
    return []


def run_job(mpimr, launch, args, out):
    if os.path.lexists(out):
        os.remove(out)
    r = mrtest.run_mpimr(mpimr, launch, [JOB] + args + ["-o", out])
    if r.rc != 0 or not os.path.isfile(out):
        return ["exit status %s, output %s\n%s"
                % (r.rc, "exists" if os.path.exists(out) else "missing", r.describe())]
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("brown", help="the Brown corpus directory")
    a = ap.parse_args()
    mpimr = os.path.abspath(a.mpimr)
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    nranks = mrtest.launch_nranks(a.launch)
    full, small = make_inputs(os.path.join(workdir, "in"), a.brown)
    ok = True

    try:
        orc = Oracle(full)
        print("oracle: %d files, %d words, %d distinct, %d members"
              % (len(orc.files), orc.words, len(orc.index), orc.members))
        out = os.path.join(workdir, "invindex.h5")
        e = run_job(mpimr, a.launch, full, out)
        t = None
        if not e:
            t, e = check_file(out, orc, "count", nranks)
        ok &= mrtest.report("invindex, order count, table vs oracle", e)

        if t is not None and not e:
            ok &= mrtest.report("show --top %d" % TOP, check_show(mpimr, out, t))
            ok &= mrtest.report("the checker reports damaged copies",
                                check_checker(out, t, orc, "count", nranks, workdir))
            one = os.path.join(workdir, "invindex-1rank.h5")
            e = run_job(mpimr, "", full, one)
            if not e:
                t1, e = check_file(one, orc, "count", 1)
                e += same_file(t, t1) if t1 else []
            ok &= mrtest.report("the same file with no launcher (1 rank)", e)
            # Sets larger than an exchange round (EVERYFILE's is 2 KB).
            small_rounds = os.path.join(workdir, "invindex-rounds.h5")
            e = run_job(mpimr, a.launch, ["--shuffle-round", "1K", "--mappers", "all"]
                        + full, small_rounds)
            if not e:
                t2, e = check_file(small_rounds, orc, "count", nranks)
                e += same_file(t, t2) if t2 else []
            ok &= mrtest.report("the same file with 1 KB exchange rounds", e)

        orc = Oracle(small)
        out = os.path.join(workdir, "invindex-key.h5")
        e = run_job(mpimr, a.launch, ["--order", "key", "--chunk", "64", "--mappers", "all"]
                    + small, out)
        if not e:
            t, e = check_file(out, orc, "key", nranks)
        ok &= mrtest.report("invindex, order key, 64-byte ranges, table vs oracle", e)
    except mrtest.TestFailure as x:
        ok = mrtest.report("invindex ran", [str(x)])

    print("PASS" if ok else "FAIL (files kept in %s)" % workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
