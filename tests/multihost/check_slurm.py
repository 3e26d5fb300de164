#!/usr/bin/python3
"""slurm/*.sh on a Slurm of one slurmd per fake host.

scripts/slurm-fake-hosts.sh brings up slurmctld on h1 and a slurmd on each
of 3 fake hosts (installing Debian's Slurm and munge if missing), then:
  1. sbatch -N 3 -n 6 slurm/wordcount.sh BROWN OUT.h5 with MPIMR_LAUNCHER=srun:
     the job says it ran `srun --mpi=pmix`, Open MPI's btl_base_verbose lines
     show tcp between ranks of different hosts, h1, h2 and h3 each among
     them, and the table is exact (Counter(bytes.split()));
  2. the same with no choice made: across nodes the script starts the ranks
     with mpirun inside the allocation (whose daemons notice a lost node),
     the way it falls back on one node where srun cannot launch MPI (that
     fallback is tests/slurm's); exact again;
  3. sbatch -N 3 -n 6 slurm/scaling.sh (np 1, 2, 4, 6, strong and weak, one
     run each, on a small generated text): one CSV row per (study, np), a
     --stats file per run, the three plots (tests/slurm/check_scaling.py),
     and runs of np 2 and more spread over min(np, 3) nodes;
  4. a node lost mid-run: sbatch -N 3 -n 6 slurm/wordcount.sh with rank 2
     held in shuffle (MPIMR_FAULT), then h2's cable pulled: the batch script
     ends non-zero within 45 s (the keepalive settings the script gives
     mpirun), and leaves nothing in the output directory.
Every wait has a limit; jobs still queued at the end are cancelled and the
hosts, with every daemon on them, are taken down.

Usage: check_slurm.py --mpimr build/mpimr --brown data/brown --workdir DIR
Exit status: 0 pass, 1 fail, 77 skipped (not root, no network namespaces,
or Slurm cannot be installed).
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import time

import mhlib
from mhlib import faultlib, mrtest

SLURM = os.path.join(mhlib.SRC, "scripts", "slurm-fake-hosts.sh")
CHECK_SCALING = os.path.join(mhlib.SRC, "tests", "slurm", "check_scaling.py")
PYTHON = "/usr/bin/python3"
JOB_LIMIT = 120
BTL = re.compile(r"^\[(h\d+):\d+\] mca: bml: Using (\w+) btl for send to \[\[\d+,\d+\],\d+\] "
                 r"on node (\S+)", re.M)
ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
         "BOOT_FAIL", "DEADLINE", "PREEMPTED")


class Cluster:
    def __init__(self, hosts, work):
        self.hosts, self.work = hosts, work
        self.jobs = []

    def slurm(self, *cmd, env=None, check=True):
        return mhlib.sh([SLURM, "run", self.hosts.name] + list(cmd), check=check,
                        env=env)

    def submit(self, label, args, env=None):
        """sbatch ARGS with the test's environment plus env; returns (job id,
        log path)."""
        log = os.path.join(self.work, label + ".out")
        e = mrtest.mpi_env({"OMPI_MCA_mpi_yield_when_idle": "1"})
        e.update(env or {})
        # Job ids restart at 1 with each Slurm; the log names the label.
        p = self.slurm("sbatch", "--parsable", "--no-requeue", "-o", log, *args, env=e)
        jobid = p.stdout.strip().split(";")[0]
        self.jobs.append(jobid)
        return jobid, log

    def state(self, jobid):
        """(JobState, ExitCode) of the job, as scontrol shows them."""
        p = self.slurm("scontrol", "show", "job", jobid, check=False)
        st = re.search(r"JobState=(\S+)", p.stdout)
        rc = re.search(r"ExitCode=(\S+)", p.stdout)
        return (st.group(1) if st else "?", rc.group(1) if rc else "?")

    def wait(self, jobid, limit=JOB_LIMIT, until=None):
        """Polls until the job has ended (or until(state, exit) holds);
        returns (state, exit code, seconds), state None on a timeout."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            st, rc = self.state(jobid)
            if st in ENDED or (until and until(st, rc)):
                return st, rc, time.monotonic() - t0
            time.sleep(0.25)
        return None, None, time.monotonic() - t0

    def cancel_all(self):
        for j in self.jobs:
            if self.state(j)[0] not in ENDED:
                self.slurm("scancel", j, check=False)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError as x:
        return "(cannot read %s: %s)" % (path, x)


def job_errors(label, st, rc, log):
    if st is None:
        return ["%s: still not done after %d s; its log:\n%s" % (label, JOB_LIMIT, read(log))]
    if st != "COMPLETED" or rc != "0:0":
        return ["%s: JobState %s, ExitCode %s; its log:\n%s" % (label, st, rc, read(log))]
    return []


def wordcount(suite, c, a, label, want_launch, env=None, verbose=False):
    out = os.path.join(c.work, label + ".h5")
    env = dict(env or {})
    if verbose:
        env["OMPI_MCA_btl_base_verbose"] = "30"
    jobid, log = c.submit(label, ["-N", "3", "-n", "6", "slurm/wordcount.sh", a.brown, out],
                          env=env)
    st, rc, secs = c.wait(jobid)
    e = job_errors(label, st, rc, log)
    text = read(log)
    if not e:
        m = re.search(r"^running: (\S+)", text, re.M)
        if not m or m.group(1) != want_launch:
            e.append("the job launched with %r, want %s" % (m and m.group(1), want_launch))
        e += mrtest.check_result(out, c.orc, nranks=6, order="count")[1]
    if not e and verbose:
        tcp = collections.Counter()
        for src, btl, node in BTL.findall(text):
            if btl == "tcp" and src != node:
                tcp[src] += 1
            if (btl == "tcp") != (src != node) and btl != "self":
                e.append("%s sends to a rank on %s by %s" % (src, node, btl))
        if sorted(tcp) != ["h1", "h2", "h3"]:
            e.append("ranks on %s send tcp to other hosts, want h1, h2 and h3"
                     % sorted(tcp))
    suite.check("sbatch -N 3 -n 6 slurm/wordcount.sh (%s): %s, exact%s"
                % (label, want_launch, ", tcp between all 3 hosts" if verbose else ""), e)


def scaling(suite, c, a):
    d = os.path.join(c.work, "scaling")
    jobid, log = c.submit("scaling", [
        "-N", "3", "-n", "6", "slurm/scaling.sh", "--out", d, "--np", "1 2 4 6",
        "--strong-size", "4M", "--weak-size-per-rank", "1M", "--vocab", "20000",
        "--runs", "1"], env={"MPIMR": os.path.abspath(a.mpimr)})
    st, rc, secs = c.wait(jobid, limit=3 * JOB_LIMIT)
    e = job_errors("scaling", st, rc, log)
    if not e:
        p = subprocess.run([PYTHON, CHECK_SCALING, d, "--np", "1,2,4,6", "--runs", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            e.append(p.stdout)
        text = read(log)
        for np_, nodes in ((1, 1), (2, 2), (4, 3), (6, 3)):
            for study in ("strong", "weak"):
                if not re.search(r"^%s +np +%d run 1: .*\(%d node\(s\)\)" % (study, np_, nodes),
                                 text, re.M):
                    e.append("no line for %s np %d on %d node(s) in the log:\n%s"
                             % (study, np_, nodes, text))
    suite.check("sbatch -N 3 -n 6 slurm/scaling.sh: np 1, 2, 4, 6 over 1, 2, 3, 3 "
                "nodes, CSV, stats and plots", e)


def lost_node(suite, c, a):
    d = os.path.join(c.work, "lost")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    out = os.path.join(d, "out.h5")
    jobid, log = c.submit("lost", ["-N", "3", "-n", "6", "slurm/wordcount.sh", a.brown, out],
                          env={"MPIMR_FAULT": "2:shuffle:pause"})
    e = []
    t0 = time.monotonic()
    while "fault: paused" not in read(log) and time.monotonic() - t0 < JOB_LIMIT:
        time.sleep(0.1)
    if "fault: paused" not in read(log):
        suite.check("a node lost under sbatch -N 3", ["rank 2 never paused; the log:\n"
                                                      + read(log)])
        return
    c.hosts.cable("h2", "down")
    # The batch script has ended once the job has an exit code, though
    # Slurm may keep it COMPLETING while it cannot reach h2.
    st, rc, secs = c.wait(jobid, limit=2 * mhlib.BOUND,
                          until=lambda s, r: r not in ("0:0", "?"))
    if st is None:
        e.append("the job had not ended %d s after h2's cable was pulled (state %s)"
                 % (2 * mhlib.BOUND, c.state(jobid)))
    elif secs > mhlib.BOUND:
        e.append("the job ended %.1f s after the pull, more than %d s" % (secs, mhlib.BOUND))
    elif rc == "0:0":
        e.append("the job ended with ExitCode 0:0, want non-zero")
    left = sorted(os.listdir(d))
    if left:
        e.append("the output directory is not empty: %s" % ", ".join(
            "%s (%s)" % (n, faultlib.what_is(n)) for n in left))
    if e:
        e.append("the job's log:\n" + read(log))
    suite.check("h2's cable pulled during shuffle under sbatch -N 3: the job ended (%s, "
                "ExitCode %s) %.1f s after, nothing left" % (st, rc, secs), e)


def body(suite):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--brown", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    a.brown = os.path.abspath(a.brown)
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.chdir(mhlib.SRC)  # the job scripts find build/mpimr from the submit directory
    env_mpimr = os.path.abspath(a.mpimr)
    if os.path.realpath(env_mpimr) != os.path.realpath(os.path.join(mhlib.SRC, "build",
                                                                    "mpimr")):
        os.environ["MPIMR"] = env_mpimr
    with mhlib.Hosts(3) as hosts:
        p = mhlib.sh([SLURM, "up", hosts.name], check=False, timeout=900)
        if p.returncode == mhlib.SKIP:
            raise mhlib.Skip(p.stderr.strip())
        if p.returncode != 0:
            suite.check("scripts/slurm-fake-hosts.sh up", [p.stdout + p.stderr])
            return
        print(p.stdout.strip())
        c = Cluster(hosts, work)
        c.orc = mrtest.oracle([a.brown])
        try:
            wordcount(suite, c, a, "srun", "srun", env={"MPIMR_LAUNCHER": "srun"},
                      verbose=True)
            wordcount(suite, c, a, "default", "mpirun")
            scaling(suite, c, a)
            lost_node(suite, c, a)
        finally:
            c.cancel_all()


if __name__ == "__main__":
    mhlib.main(body)
