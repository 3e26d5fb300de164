#!/usr/bin/python3
"""Faults in the spill store (--tmp): clean failures, nothing left anywhere.

Word count and sort of 8 MB of Zipf text (mpimr-gen-zipf, 2 files, about
500,000 distinct words) with --mem 8M, so that every rank that reads input
spills sorted runs to --tmp.  First a reference run with a roomy --tmp: exit
0, the exact table (Counter) or the exact sorted lines, runs spilled, --tmp
empty afterwards.  Then, the output always going to WORKDIR/out (which must
look the same after as before: no output, no temporary file beside it):

  * --tmp on a tmpfs this test mounts (and unmounts, whatever happens), of
    1 MiB (full during map) and of a quarter of what the reference run
    spilled (full later): exit 1, one message that names the --tmp
    directory (in quotes) and says "No space left on device", and nothing
    left on the tmpfs (an exit 0 must give the exact answer; it is noted);
  * --tmp a directory that does not exist, and a regular file: exit 1, one
    message naming it and the system's reason ("No such file or directory",
    "Not a directory");
  * a rank that reads input killed (MPIMR_FAULT=R:shuffle:kill,
    R:order:kill) or gone (R:reduce:exit) with its runs on disk: the run
    ends non-zero, within the deadline, every process gone, and --tmp is
    empty (spill files are unnamed, so the kernel frees them);
  * SIGTERM mid-run: R:shuffle:pause, and while rank R is paused the test
    checks that it holds a spill file open in --tmp that has no name (its
    /proc/PID/fd link reads "DIR/... (deleted)") and that --tmp lists
    nothing; then SIGTERM to mpirun, and (another run) to rank R itself:
    ends non-zero, nothing left in --tmp or at the output.

R is the last rank that reads input (rank 1 from 2 ranks on, else 0).
Only the tmpfs cases need root (mount); without it they are skipped and the
script exits 77 if nothing else ran.

Usage: check_spill_faults.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import os
import shutil
import signal
import subprocess
import sys

import faultlib as fl
from check_full_disk import tmpfs, PAGE

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import check_sort  # noqa: E402

mrtest = fl.mrtest
MIB = 1 << 20


class SpillFaults:
    def __init__(self, a, s):
        self.a, self.s = a, s
        self.work = a.workdir
        self.inputs = os.path.join(self.work, "in")
        self.out_dir = os.path.join(self.work, "out")
        self.mapper = 1 if a.np and a.np >= 2 else 0
        self.n = 0

    def setup(self):
        for d in ("in", "out"):
            shutil.rmtree(os.path.join(self.work, d), ignore_errors=True)
        os.makedirs(self.out_dir)
        subprocess.run([self.a.gen, "--bytes", "8M", "--vocab", "2000000", "--files", "2",
                        "--seed", "7", "--out", self.inputs], check=True,
                       stdout=subprocess.DEVNULL)

    def tmpdir(self):
        self.n += 1
        d = os.path.join(self.work, "tmp%02d" % self.n)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def args(self, job, tmp):
        return [job, "--mem", "8M", "--tmp", tmp, self.inputs, "-o",
                os.path.join(self.out_dir, "%s.h5" % job)]

    def exact(self, job, out):
        """Errors of a finished output against the oracle."""
        if job == "wordcount":
            return fl.check_table(out, [self.inputs], self.a.np)
        orc = check_sort.Oracle([self.inputs], gnu=False)
        _, e = check_sort.check_file(self.a.mpimr, out, orc, self.a.np, show=False)
        return e

    def nothing_left(self, before, tmp):
        return fl.changes(before, fl.snapshot(self.out_dir)) + mrtest.dir_left(tmp)

    # -- the cases

    def reference(self, job):
        tmp = self.tmpdir()
        r = fl.run(fl.mpimr_cmd(self.a, self.args(job, tmp)), cwd=self.work)
        out = os.path.join(self.out_dir, "%s.h5" % job)
        e = fl.ended(r, 0)
        spilled = 0
        if not e:
            e = self.exact(job, out)
            st = mrtest.read_stats(out)
            e += mrtest.spill_errors(st, 1) + mrtest.dir_left(tmp)
            spilled = sum(st["bytes_spilled"])
        ok = self.s.check("%s reference: --mem 8M, a roomy --tmp: exit 0, exact, runs "
                          "spilled, --tmp empty after (%d KiB spilled)"
                          % (job, spilled // 1024), e, r)
        if os.path.exists(out):
            os.remove(out)
        shutil.rmtree(tmp, ignore_errors=True)
        return spilled if ok else None

    def full(self, job, label, size):
        mnt = os.path.join(self.work, "tmpfs-%s-%s" % (job, label))
        title = "%s: --tmp on a %s tmpfs (%d KiB): exit 1, one message with the --tmp " \
                "directory and ENOSPC, nothing left" % (job, label, size // 1024)
        try:
            with tmpfs(mnt, size):
                before = fl.snapshot(self.out_dir)
                r = fl.run(fl.mpimr_cmd(self.a, self.args(job, mnt)), cwd=self.work)
                out = os.path.join(self.out_dir, "%s.h5" % job)
                if r.rc == 0 and not r.hung:
                    e = self.exact(job, out)
                    if e:
                        e = ["SILENT BAD OUTPUT: exit 0 with a wrong file:"] + e
                    else:
                        self.s.note("%s: exit 0 and exact (the tmpfs was big enough)" % title)
                    os.remove(out)
                    e += mrtest.dir_left(mnt)
                else:
                    e = fl.ended(r, 1)
                    e += fl.one_message(r, contains=(fl.quoted(mnt), "No space left on device"))
                    e += self.nothing_left(before, mnt)
                self.s.check(title, e, r)
        except OSError as x:
            self.s.check(title, ["the test could not set up: %s" % x])

    def bad_tmp(self, job, label, tmp, reason):
        before = fl.snapshot(self.out_dir)
        r = fl.run(fl.mpimr_cmd(self.a, self.args(job, tmp)), cwd=self.work)
        e = fl.ended(r, 1) + fl.one_message(r, contains=(fl.quoted(tmp), reason))
        e += fl.changes(before, fl.snapshot(self.out_dir))
        self.s.check("%s: --tmp %s: exit 1, one message naming it and %r, nothing left"
                     % (job, label, reason), e, r)

    def killed(self, job, fault):
        tmp = self.tmpdir()
        before = fl.snapshot(self.out_dir)
        r = fl.run(fl.mpimr_cmd(self.a, self.args(job, tmp)), cwd=self.work, fault=fault)
        e = fl.ended(r, nonzero=True) + self.nothing_left(before, tmp)
        self.s.check("%s: MPIMR_FAULT=%s with runs on disk: ends non-zero (%s), --tmp "
                     "empty, nothing at the output" % (job, fault, r.rc), e, r)

    def sigterm(self, job, target):
        tmp = self.tmpdir()
        before = fl.snapshot(self.out_dir)
        seen = {}

        def at_pause(m, p):
            pid = int(m.group(2))
            fd_dir = "/proc/%d/fd" % pid
            links = []
            for n in os.listdir(fd_dir):
                try:
                    links.append(os.readlink(os.path.join(fd_dir, n)))
                except OSError:
                    pass
            seen["open"] = [ln for ln in links if ln.startswith(tmp + "/")]
            seen["listed"] = sorted(os.listdir(tmp))
            os.kill(p.pid if target == "launcher" else pid, signal.SIGTERM)

        fault = "%d:shuffle:pause" % self.mapper
        r = fl.run(fl.mpimr_cmd(self.a, self.args(job, tmp)), cwd=self.work, fault=fault,
                   when=(fl.PAUSED, at_pause))
        e = [] if r.fired else ["the 'paused' line never appeared"]
        if r.fired:
            if not seen.get("open"):
                e.append("the paused rank %d holds no file open in --tmp: did it spill?"
                         % self.mapper)
            elif not all(ln.endswith(" (deleted)") for ln in seen["open"]):
                e.append("a spill file open in --tmp has a name: %s" % seen["open"])
            if seen.get("listed"):
                e.append("--tmp lists %s while the run is paused" % seen["listed"])
        e += fl.ended(r, nonzero=True) + self.nothing_left(before, tmp)
        self.s.check("%s: SIGTERM to %s while rank %d is paused in shuffle with unnamed "
                     "spill files (%s): ends non-zero (%s), nothing left"
                     % (job, "mpirun" if target == "launcher" else "rank %d" % self.mapper,
                        self.mapper, ", ".join(seen.get("open", [])[:2]) or "none seen",
                        r.rc), e, r)


def can_mount(work):
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs"
    probe = os.path.join(work, "probe")
    try:
        with tmpfs(probe, 64 * 1024):
            pass
    except OSError as x:
        return "cannot mount a tmpfs here: %s" % x
    return None


def main():
    a = fl.parse_args(__doc__)
    s = fl.Suite("faults in the spill store [%s]" % (a.launch or "no launcher"))
    t = SpillFaults(a, s)
    t.setup()
    try:
        spilled = {job: t.reference(job) for job in ("wordcount", "sort")}
        no_mount = can_mount(a.workdir)
        for job in ("wordcount", "sort"):
            if spilled[job] is None:
                continue
            if no_mount:
                s.skip("%s: --tmp on a full tmpfs" % job, no_mount)
            else:
                t.full(job, "1MiB", MIB)
                t.full(job, "quarter", max(MIB, spilled[job] // 4 // PAGE * PAGE))
        t.bad_tmp("wordcount", "a missing directory", os.path.join(a.workdir, "no", "such"),
                  "No such file or directory")
        plain = os.path.join(a.workdir, "a-file")
        with open(plain, "w") as f:
            f.write("not a directory\n")
        t.bad_tmp("wordcount", "a regular file", plain, "Not a directory")
        t.bad_tmp("sort", "a missing directory", os.path.join(a.workdir, "no", "such"),
                  "No such file or directory")
        for job, fault in (("wordcount", "shuffle:kill"), ("wordcount", "reduce:exit"),
                           ("wordcount", "order:kill"), ("sort", "shuffle:kill"),
                           ("sort", "reduce:exit")):
            t.killed(job, "%d:%s" % (t.mapper, fault))
        if a.launch:
            t.sigterm("wordcount", "launcher")
            t.sigterm("sort", "launcher")
        t.sigterm("wordcount", "rank")
    finally:
        shutil.rmtree(t.inputs, ignore_errors=True)
    rc = s.finish()
    if rc == 0:
        shutil.rmtree(a.workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
