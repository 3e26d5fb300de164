#!/usr/bin/python3
"""Out of core for the combining jobs: a spilled run gives the in-memory answer.

A combining job (wordcount, invindex, groupby without median or distinct)
whose map table passes half of --mem on any rank goes on by sorted runs on
disk and a range-partitioned exchange.  For each mode, at the launcher's rank
count, the job runs in memory (the default budget) and with --mem 8M --tmp
WORKDIR/spill, for --order count, key and none, and:

  * the in-memory runs spill nothing; under --mem 8M every rank that reads
    input spills two sorted runs or more (/stats/runs_spilled), each worth
    a sixteenth of the budget on average (mrtest.spill_errors), the --tmp
    directory is empty afterwards (spill files are unnamed), and no rank's
    peak RSS passes --mem + mrtest.RSS_SLACK;
  * for orders count and key the spilled file's datasets (and /JOB's
    attributes) are byte-identical to the in-memory file's, and `mpimr show`
    prints the same bytes; for order none (hash order in memory, key order
    spilled) the two tables are equal as sets;
  * every result against an oracle nobody here wrote:
      wordcount  collections.Counter(data.split()) per file (mrtest), over
                 30 MB of Zipf text with 1.18 million distinct words
                 (mpimr-gen-zipf --bytes 30M --vocab 3000000 --exponent 0.9
                 --files 4 --seed 3)
      invindex   per file number, set(data.split()) (check_invindex.py), over
                 300 files of Zipf text (12 MB, 500,000-word vocabulary)
      groupby    Python's csv (check_groupby.py): --op count,sum,min,max,mean
                 over 600,000 rows (two files, other column orders, one with
                 CRLF) of 200,000 keys plus a few hot ones; the values are
                 multiples of 1/8 under 2^10, so every sum is exact in any
                 order: compared exactly, not within a tolerance
  * last, the checks must catch a damaged copy of the spilled result (a
    value changed, two rows swapped) and a deliberately wrong oracle.

Usage: check_spill.py --mpimr build/mpimr [--gen build/mpimr-gen-zipf] \\
           --launch "mpiexec -n 3 ..." --workdir DIR wordcount|invindex|groupby
"""

import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_groupby  # noqa: E402
import check_invindex  # noqa: E402
import mrtest  # noqa: E402

MEM = 8 * mrtest.MIB
TIMEOUT = 180
ORDERS = ("count", "key", "none")


# ---------------------------------------------------------------------------
# the three jobs: inputs, arguments, oracle, reading and checking

class Wordcount:
    job = "wordcount"
    datasets = ("key_bytes", "key_offsets", "values")

    def make(self, a, d):
        subprocess.run([a.gen, "--bytes", "30M", "--vocab", "3000000", "--exponent", "0.9",
                        "--files", "4", "--seed", "3", "--out", d], check=True,
                       stdout=subprocess.DEVNULL)
        return [d]

    def args(self):
        return ["wordcount"]

    def oracle(self, inputs):
        return mrtest.oracle(inputs)

    def describe(self, orc):
        return "%d files, %d words, %d distinct" % (len(orc.files), orc.words, len(orc.counter))

    def read(self, path):
        return mrtest.read_result(path, self.job)

    def rows(self, res):
        return res.items

    def check(self, path, orc, order, nranks):
        return mrtest.check_result(path, orc, nranks=nranks, order=order)

    def damage(self, g):
        v = g["values"][()]
        v[len(v) // 2] += 1
        g["values"][...] = v

    def wrong_oracle(self, orc):
        w = mrtest.Oracle([])
        w.__dict__.update(orc.__dict__)
        w.counter = collections.Counter(orc.counter)
        k = next(iter(w.counter))
        w.counter[k] += 1  # one word counted once more
        w.words += 1
        return w


class Invindex:
    job = "invindex"
    datasets = check_invindex.DATASETS

    def make(self, a, d):
        subprocess.run([a.gen, "--bytes", "12M", "--vocab", "500000", "--files", "300",
                        "--seed", "4", "--out", d], check=True, stdout=subprocess.DEVNULL)
        return [d]

    def args(self):
        return ["invindex"]

    def oracle(self, inputs):
        return check_invindex.Oracle(inputs)

    def describe(self, orc):
        return "%d files, %d words, %d distinct, %d (word, file) pairs" % (
            len(orc.files), orc.words, len(orc.index), orc.members)

    def read(self, path):
        return check_invindex.Table(path)

    def rows(self, res):
        return [(k, tuple(m)) for k, m in res.rows]

    def check(self, path, orc, order, nranks):
        t, e = check_invindex.check_file(path, orc, order, nranks)
        if order == "none":  # any row order
            e = [x for x in e if "out of order for --order none" not in x]
        return t, e

    def damage(self, g):
        v = g["values"][()]
        i = int(np.argmax(np.diff(g["value_offsets"][()].astype(np.int64)) > 1))
        off = int(g["value_offsets"][i])
        v[off], v[off + 1] = v[off + 1], v[off]  # a list out of order
        g["values"][...] = v

    def wrong_oracle(self, orc):
        w = check_invindex.Oracle.__new__(check_invindex.Oracle)
        w.__dict__.update(orc.__dict__)
        w.index = dict(orc.index)
        k = next(k for k, v in w.index.items() if len(v) > 1)
        w.index[k] = w.index[k][1:]  # a file forgotten
        w.members -= 1
        return w


class Groupby:
    job = "groupby"
    ops = ["count", "sum", "min", "max", "mean"]

    def make(self, a, d, seed=20261203):
        os.makedirs(d)
        rng = random.Random(seed)
        hot = ["hot-%d" % i for i in range(12)] + ["", "Quoted, \"key\""]
        paths = []
        for n, (header, eol) in enumerate(((("city", "x", "value"), "\n"),
                                           (("value", "city", "x"), "\r\n"))):
            rows = []
            for _ in range(300000):
                city = rng.choice(hot) if rng.random() < 0.25 else "c%06d" % rng.randint(0, 199999)
                v = "%s%d.%s" % (rng.choice("-+ "), rng.randint(0, 1023),
                                 rng.choice(("0", "125", "25", "375", "5", "625", "75", "875")))
                row = {"city": city, "x": str(rng.randint(0, 9)), "value": v.strip()}
                rows.append(",".join(check_groupby_quote(row[h]) for h in header))
            p = os.path.join(d, "part%d.csv" % n)
            with open(p, "w", encoding="utf-8", newline="") as f:
                f.write(eol.join([",".join(header)] + rows) + eol)
            paths.append(p)
        return paths

    def args(self):
        return ["groupby", "--key", "city", "--value", "value", "--op", ",".join(self.ops)]

    def oracle(self, inputs):
        return check_groupby.oracle([os.fsdecode(f) for f in mrtest.walk_inputs(inputs)],
                                    ["city"], "value")

    def describe(self, orc):
        return "%d keys, %d rows, %d bad" % (len(orc.table),
                                             sum(t[0] for t in orc.table.values()), len(orc.bad))

    def read(self, path):
        return check_groupby.Output(path)

    def rows(self, res):
        return [(k, tuple(sorted(v.items()))) for k, v in res.items]

    @property
    def datasets(self):
        return ["key_bytes", "key_offsets"] + ["values/" + op for op in self.ops]

    def check(self, path, orc, order, nranks):
        try:
            res = check_groupby.Output(path)
        except (OSError, KeyError, ValueError, mrtest.TestFailure) as x:
            return None, ["cannot read %s: %s" % (path, x)]
        e = check_groupby.check_output(res, orc, self.ops, order, nranks)
        if order == "none":  # any row order
            e = [x for x in e if "out of --order none" not in x]
        if res.attrs.get("order") != order:
            e.append("/groupby@order is %r, want %r" % (res.attrs.get("order"), order))
        # Every sum here is exact in any order of addition: exact answers.
        exact = []
        for k, v in res.items:
            if k in orc.table:
                for op in self.ops:
                    if v.get(op) != orc.want(k, op):
                        exact.append("%s %s: file %r, exact %r"
                                     % (mrtest.show_key(k), op, v.get(op), orc.want(k, op)))
        if exact:
            e.append("%d values are not exact, e.g. %s" % (len(exact), "; ".join(exact[:3])))
        return res, e

    def damage(self, g):
        v = g["values/sum"][()]
        v[len(v) // 2] += 0.125
        g["values/sum"][...] = v

    def wrong_oracle(self, orc):
        w = check_groupby.Oracle(orc.keys, orc.value)
        w.__dict__.update(orc.__dict__)
        w.table = {k: list(t) for k, t in orc.table.items()}
        k = next(iter(w.table))
        w.table[k][3] += 1.0  # a max one more
        return w


def check_groupby_quote(s):
    return '"%s"' % s.replace('"', '""') if any(c in s for c in ',"\r\n') else s


MODES = {"wordcount": Wordcount, "invindex": Invindex, "groupby": Groupby}


# ---------------------------------------------------------------------------

def raw_of(mode, res):
    if isinstance(mode, Wordcount):
        return {"key_bytes": res.key_bytes, "key_offsets": res.key_offsets,
                "values": res.values}, res.group_attrs
    return res.raw, res.attrs


def same_datasets(mode, a, b):
    """Errors where result b's datasets or /JOB attributes differ from a's."""
    ra, aa = raw_of(mode, a)
    rb, ab = raw_of(mode, b)
    e = []
    for n in sorted(set(ra) | set(rb)):
        x, y = ra.get(n), rb.get(n)
        if x is None or y is None or x.dtype != y.dtype or x.shape != y.shape \
                or x.tobytes() != y.tobytes():
            e.append("/%s/%s differs from the in-memory run's" % (mode.job, n))
    for k in sorted(set(aa) | set(ab)):
        if aa.get(k) != ab.get(k):
            e.append("/%s@%s is %r, in memory %r" % (mode.job, k, ab.get(k), aa.get(k)))
    return e


def show(mpimr, path):
    r = mrtest.run([mpimr, "show", path], timeout=TIMEOUT)
    if r.rc != 0:
        raise mrtest.TestFailure("mpimr show %s failed\n%s" % (path, r.describe()))
    return r.out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--gen", help="mpimr-gen-zipf (default: beside --mpimr)")
    ap.add_argument("--launch", default="")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("mode", choices=sorted(MODES))
    a = ap.parse_args()
    a.mpimr = os.path.abspath(a.mpimr)
    a.gen = os.path.abspath(a.gen or os.path.join(os.path.dirname(a.mpimr), "mpimr-gen-zipf"))
    nranks = mrtest.launch_nranks(a.launch)
    mode = MODES[a.mode]()
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    spill = os.path.join(work, "spill")
    os.makedirs(spill)

    t = time.monotonic()
    inputs = mode.make(a, os.path.join(work, "in"))
    orc = mode.oracle(inputs)
    print("oracle: %s (%.1f s)" % (mode.describe(orc), time.monotonic() - t))
    ok = True
    runs = {}
    for order in ORDERS:
        for spilled in (False, True):
            label = "%s --order %s, %s" % (a.mode, order,
                                           "--mem 8M (spilling)" if spilled else "in memory")
            out = os.path.join(work, "%s-%s.h5" % (order, "spill" if spilled else "mem"))
            args = mode.args() + ["-q", "--order", order]
            args += ["--mem", "8M", "--tmp", spill] if spilled else []
            t = time.monotonic()
            try:
                r = mrtest.run_mpimr(a.mpimr, a.launch, args + inputs + ["-o", out],
                                     timeout=TIMEOUT)
            except mrtest.TestFailure as x:
                ok &= mrtest.report(label, [str(x)])
                continue
            secs = time.monotonic() - t
            if r.rc != 0 or not os.path.isfile(out):
                ok &= mrtest.report(label, ["mpimr failed\n" + r.describe()])
                continue
            res, e = mode.check(out, orc, order, nranks)
            st = mrtest.read_stats(out)
            if spilled:
                e += mrtest.spill_errors(st, 2, MEM) + mrtest.dir_left(spill) + \
                    mrtest.rss_errors(st, MEM)
                print("  runs_spilled %s; %s" % (st["runs_spilled"], mrtest.rss_note(st, MEM)))
            else:
                e += mrtest.no_spill_errors(st)
            ok &= mrtest.report("%s (%.1f s): against the oracle" % (label, secs), e)
            if res is not None:
                runs[order, spilled] = (res, out)

    for order in ORDERS:
        if (order, False) not in runs or (order, True) not in runs:
            continue
        (mem, mem_out), (sp, sp_out) = runs[order, False], runs[order, True]
        if order == "none":
            e = [] if sorted(mode.rows(mem)) == sorted(mode.rows(sp)) else \
                ["the spilled table differs from the in-memory one (as sets)"]
        else:
            e = same_datasets(mode, mem, sp)
            if show(a.mpimr, mem_out) != show(a.mpimr, sp_out):
                e.append("mpimr show prints different bytes for the two files")
        ok &= mrtest.report("--order %s: the spilled result is %s the in-memory one"
                            % (order, "equal as a set to" if order == "none"
                               else "byte-identical (datasets, attributes, mpimr show) to"), e)

    if ("count", True) in runs and ("count", False) in runs:
        e = []
        sp_out = runs["count", True][1]
        bad = os.path.join(work, "damaged.h5")
        shutil.copyfile(sp_out, bad)
        with h5py.File(bad, "r+") as f:
            mode.damage(f[mode.job])
        _, errs = mode.check(bad, orc, "count", nranks)
        same = same_datasets(mode, runs["count", False][0], mode.read(bad))
        for what, errs_ in (("the oracle check", errs), ("the in-memory comparison", same)):
            if errs_:
                print("  caught by %s: %s" % (what, " ".join(errs_[0].split())[:160]))
            else:
                e.append("%s passed a damaged copy of the spilled result" % what)
        _, errs = mode.check(sp_out, mode.wrong_oracle(orc), "count", nranks)
        if errs:
            print("  caught, a wrong oracle: %s" % " ".join(errs[0].split())[:160])
        else:
            e.append("the spilled result passed against a deliberately wrong oracle")
        ok &= mrtest.report("the checks catch a damaged result and a wrong oracle", e)

    if ok:
        print("PASS: out of core, %s [%s]" % (a.mode, a.launch or "no launcher"))
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print("FAIL: out of core, %s (files kept in %s)" % (a.mode, work))
    return 1


if __name__ == "__main__":
    sys.exit(main())
