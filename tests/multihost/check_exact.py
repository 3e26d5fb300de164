#!/usr/bin/python3
"""Every built-in job across 3 fake hosts, exact and the same as one process.

On 3 fake hosts (scripts/fake-hosts.sh), with 1 and then 2 ranks per host,
each job runs through mpirun and must give:
  * wordcount over the Brown corpus: the table of Counter(bytes.split()) per
    file (tests/e2e/mrtest.py: format, every key, totals, count order);
  * grep "th[a-z]+|[0-9]+|^The|ing$" over the Brown corpus: GNU grep's
    matches, counted (tests/e2e/check_grep.py's oracle);
  * invindex over half the Brown corpus and the generated awkward files of
    tests/e2e/check_invindex.py: every word's list of files, against its
    Python oracle;
  * groupby --op count,sum,min,max,mean over the football CSV files of
    tests/e2e/check_groupby.py, 1 KB ranges: every op of every key, against
    Python's csv;
and each output must hold the same datasets (and group attributes) as the
same job run as one process, without mpirun.  After every run the output
directory holds the output and nothing else: no temporary file and no
MPI-IO lock file (OMPIO's shared-file-pointer .lock appeared across hosts;
mpimr asks for ROMIO).

--break changes every oracle a little (one count, one match, one member,
one sum), to show that each check against an oracle fails then.

Usage: check_exact.py --mpimr build/mpimr --brown data/brown --workdir DIR [--break]
Exit status: 0 pass, 1 fail, 77 skipped (not root, no network namespaces).
"""

import argparse
import os
import shutil
import sys

import numpy as np

import mhlib
from mhlib import mrtest

sys.path.insert(0, os.path.join(mhlib.SRC, "tests", "e2e"))
import check_grep  # noqa: E402
import check_groupby  # noqa: E402
import check_invindex  # noqa: E402

PATTERN = "th[a-z]+|[0-9]+|^The|ing$"
OPS = ["count", "sum", "min", "max", "mean"]


def run(hosts, per_host, mpimr, args, out):
    """Runs mpimr across the hosts (per_host None: one process, no mpirun)
    into out, alone in its own directory; errors, [] on success."""
    d = os.path.dirname(out)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    argv = [mpimr, args[0], "-o", out] + args[1:]  # -o before any "--"
    cmd = argv if per_host is None else hosts.mpirun(per_host, argv)
    r = mrtest.run(cmd, timeout=120)
    e = []
    if r.rc != 0 or not os.path.isfile(out):
        e.append("exit status %s, output %s\n%s" % (
            r.rc, "written" if os.path.isfile(out) else "missing", r.describe()))
    left = sorted(n for n in os.listdir(d) if n != os.path.basename(out))
    if left:
        e.append("the output directory holds more than the output: %s" % left)
    return e


def same_datasets(path_a, path_b, job, names):
    """Errors where two outputs' datasets under /job differ."""
    import h5py
    e = []
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        for n in names:
            x, y = fa[job][n][()], fb[job][n][()]
            if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y):
                e.append("/%s/%s differs from the one-process run's: %s%s and %s%s"
                         % (job, n, x.dtype, x.shape, y.dtype, y.shape))
        ga = {k: mrtest._plain(v) for k, v in fa[job].attrs.items()}
        gb = {k: mrtest._plain(v) for k, v in fb[job].attrs.items()}
        for k in sorted(set(ga) | set(gb)):
            if ga.get(k) != gb.get(k):
                e.append("/%s@%s differs: %r here, %r in one process"
                         % (job, k, ga.get(k), gb.get(k)))
    return e


class Jobs:
    def __init__(self, a, suite):
        self.a, self.suite = a, suite
        self.mpimr = os.path.abspath(a.mpimr)
        self.work = os.path.abspath(a.workdir)
        self.brown = os.path.abspath(a.brown)
        self.ref = {}  # job -> path of its one-process output

    def out(self, job, layout):
        return os.path.join(self.work, "%s-%s" % (job, layout), "out.h5")

    def one_process(self, job, args):
        """The one-process output of job (made once)."""
        if job not in self.ref:
            out = self.out(job, "1proc")
            e = run(None, None, self.mpimr, args, out)
            self.suite.check("%s as one process (the reference)" % job, e)
            self.ref[job] = None if e else out
        return self.ref[job]

    def check(self, hosts, k, job, args, check_one, names):
        """Runs job at 3 x k, checks it, compares it with one process."""
        layout = "3x%d" % k
        out = self.out(job, layout)
        e = run(hosts, k, self.mpimr, args, out)
        if not e:
            e = check_one(out, 3 * k)
        self.suite.check("%s across 3 hosts x %d ranks vs its oracle" % (job, k), e)
        ref = self.one_process(job, args)
        if not e and ref:
            self.suite.check("%s across 3 hosts x %d ranks: the same datasets as one "
                             "process" % (job, k), same_datasets(out, ref, job, names))

    # -- the jobs

    def wordcount(self, hosts, k):
        orc = self.wc_oracle

        def check_one(out, nranks):
            return mrtest.check_result(out, orc, nranks=nranks, order="count")[1]
        self.check(hosts, k, "wordcount", ["wordcount", self.brown], check_one,
                   ("key_bytes", "key_offsets", "values"))

    def grep(self, hosts, k):
        want = self.grep_oracle

        def check_one(out, nranks):
            res = mrtest.read_result(out, job="grep")
            e = mrtest.check_format(res, nranks=nranks, order="count")
            got = dict(res.items)
            if len(got) != len(res.items):
                e.append("a key appears twice in the file")
            if got != dict(want):
                e += mrtest.diff_tables(res.items, want)
            return e
        self.check(hosts, k, "grep", ["grep", "--", PATTERN, self.brown], check_one,
                   ("key_bytes", "key_offsets", "values"))

    def invindex(self, hosts, k):
        orc = self.ii_oracle

        def check_one(out, nranks):
            return check_invindex.check_file(out, orc, "count", nranks)[1]
        self.check(hosts, k, "invindex", ["invindex"] + self.ii_args, check_one,
                   check_invindex.DATASETS)

    def groupby(self, hosts, k):
        orc = self.gb_oracle

        def check_one(out, nranks):
            return check_groupby.check_output(check_groupby.Output(out), orc, OPS,
                                              "count", nranks)
        args = ["groupby", "--key", "home_team", "--value", "home_goals", "--op",
                ",".join(OPS), "--chunk", "1K", self.football]
        self.check(hosts, k, "groupby", args, check_one,
                   ["key_bytes", "key_offsets"] + ["values/" + op for op in OPS])

    def oracles(self):
        """The four oracles; with --break, each one a little wrong."""
        self.wc_oracle = mrtest.oracle([self.brown])
        files = [os.fsdecode(f) for f in mrtest.walk_inputs([self.brown])]
        self.grep_oracle = check_grep.grep_oracle(PATTERN, files, False)
        self.ii_args, _ = check_invindex.make_inputs(os.path.join(self.work, "in-invindex"),
                                                     self.brown)
        self.ii_oracle = check_invindex.Oracle(self.ii_args)
        self.football = check_groupby.make_football(os.path.join(self.work, "in-football"))
        gb_files = [os.fsdecode(f) for f in mrtest.walk_inputs([self.football])]
        self.gb_oracle = check_groupby.oracle(gb_files, ["home_team"], "home_goals")
        print("oracles: %d words (%d distinct); %d grep matches; %d invindex words in "
              "%d files; %d groupby keys"
              % (self.wc_oracle.words, len(self.wc_oracle.counter),
                 sum(self.grep_oracle.values()), len(self.ii_oracle.index),
                 len(self.ii_oracle.files), len(self.gb_oracle.table)))
        if self.a.break_oracles:
            print("--break: every oracle is made a little wrong; every oracle check must fail")
            self.wc_oracle.counter[b"the"] += 1
            self.grep_oracle[b"the"] -= 1
            word = sorted(self.ii_oracle.index)[0]
            self.ii_oracle.index[word] = self.ii_oracle.index[word][1:] + [10 ** 6]
            key = sorted(self.gb_oracle.table)[0]
            self.gb_oracle.table[key][1] += 1.0


def body(suite):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--brown", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--break", dest="break_oracles", action="store_true",
                    help="make every oracle a little wrong (the checks must fail)")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    jobs = Jobs(a, suite)
    with mhlib.Hosts(3) as hosts:
        jobs.oracles()
        for k in (1, 2):
            for job in (jobs.wordcount, jobs.grep, jobs.invindex, jobs.groupby):
                job(hosts, k)


if __name__ == "__main__":
    mhlib.main(body)
