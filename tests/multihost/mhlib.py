#!/usr/bin/python3
"""Shared helpers for the multi-host tests (tests/multihost/check_*.py).

The hosts are scripts/fake-hosts.sh's: network namespaces h1..hN on this
machine, each with its own hostname, cabled to a private switch with no way
out.  What lives here:

  * Hosts: a context manager that brings a set up under a name unique to
    the run (mpimr-mh-PID-N), and on the way out, whatever happened, stops
    every process left on it and deletes it; `reap` first downs sets whose
    owner died (a test killed by ctest's timeout).  Not root, or no network
    namespaces: Skip, with the reason.
  * Hosts.mpirun(): the command line of `mpirun` across K ranks per host,
    with the settings a user is told to give on a cluster (the keepalive
    parameters that end a run whose host is lost, README "On a Slurm
    cluster") and what this machine needs (every host shares its 2 CPUs,
    which no host can see, so waiting ranks yield).
  * host_of(): which host runs a rank (mpirun maps by slot: ranks 0..K-1 on
    h1, K..2K-1 on h2, ...).
  * Suite: PASS/FAIL/SKIP lines and the exit status (77 when every check was
    skipped, ctest's SKIP_RETURN_CODE).
  * ensure_package(): apt-get install a Debian package the test needs, if
    missing (CI machines are fresh).
"""

import itertools
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
sys.path.insert(0, os.path.join(SRC, "tests", "faults"))
import mrtest  # noqa: E402
import faultlib  # noqa: E402,F401  (run with a trigger, snapshot; re-exported)

FAKE_HOSTS = os.path.join(SRC, "scripts", "fake-hosts.sh")
SKIP = 77

# What slurm/*.sh set and the README tells users to set: mpirun and its
# daemons give up on a peer whose TCP connection has been silent for 10 s and
# then unanswered for 5 probes 2 s apart, about 20 s, instead of Open MPI's
# 300 s + 9 x 20 s (and TCP's own many minutes).
KEEPALIVE = ["--mca", "oob_tcp_keepalive_time", "10",
             "--mca", "oob_tcp_keepalive_intvl", "2",
             "--mca", "oob_tcp_keepalive_probes", "5"]
# The promise of the lost-host tests: the run has ended, non-zero, this many
# seconds after the fault.
BOUND = 45


class Skip(Exception):
    """This machine cannot run the test; the message says why."""


_counter = itertools.count()


def sh(cmd, check=True, timeout=120, **kw):
    """Run cmd (a list); returns CompletedProcess with text output."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s exited %d:\n%s%s" % (shlex.join(cmd), p.returncode,
                                                   p.stdout, p.stderr))
    return p


def ensure_package(pkg, binary):
    """Install Debian's pkg if binary is not on PATH; Skip if it cannot be."""
    if subprocess.run(["sh", "-c", "command -v %s" % shlex.quote(binary)],
                      stdout=subprocess.DEVNULL).returncode == 0:
        return
    if os.geteuid() != 0:
        raise Skip("no %s here, and not root to install %s" % (binary, pkg))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    apt = ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=300", "install", "-y",
           "--no-install-recommends", pkg]
    p = subprocess.run(apt, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=env)
    if p.returncode != 0:
        subprocess.run(["apt-get", "-q", "update"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=env)
        p = subprocess.run(apt, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, env=env)
    if p.returncode != 0:
        raise Skip("cannot install %s (for %s): %s" % (pkg, binary, p.stdout[-500:]))


class Hosts:
    """A set of fake hosts, up for the length of a with block."""

    def __init__(self, n=3):
        self.n = n
        self.name = "mpimr-mh-%d-%d" % (os.getpid(), next(_counter))
        self.names = ["h%d" % (i + 1) for i in range(n)]

    def __enter__(self):
        if os.geteuid() != 0:
            raise Skip("not root: fake hosts need network namespaces and mounts")
        ensure_package("iproute2", "ip")
        ensure_package("util-linux", "unshare")
        sh([FAKE_HOSTS, "reap"], check=False)
        env = dict(os.environ, MPIMR_FAKE_HOSTS_OWNER=str(os.getpid()))
        p = sh([FAKE_HOSTS, "up", self.name, "--hosts", str(self.n)], check=False,
               env=env)
        if p.returncode == SKIP:
            raise Skip(p.stderr.strip())
        if p.returncode != 0:
            raise RuntimeError("fake-hosts.sh up failed:\n" + p.stdout + p.stderr)
        self.dir = sh([FAKE_HOSTS, "dir", self.name]).stdout.strip()
        return self

    def __exit__(self, *exc):
        p = sh([FAKE_HOSTS, "down", self.name], check=False, timeout=300)
        left = [ns for ns in sh(["ip", "netns", "list"]).stdout.split()
                if ns.startswith(self.name + "-")]
        if p.returncode != 0 or left:
            print("FAIL taking down fake hosts %s: %s%s; namespaces left: %s"
                  % (self.name, p.stdout, p.stderr, left))
            raise SystemExit(1)
        return False

    # -- running

    def exec_cmd(self, host, cmd):
        return [FAKE_HOSTS, "exec", self.name, host] + [str(c) for c in cmd]

    def run_on(self, host, cmd, **kw):
        return sh(self.exec_cmd(host, cmd), **kw)

    def mpirun(self, per_host, args, hosts=None, keepalive=True, extra=()):
        """mpirun (as a list) from h1 with per_host ranks on each host."""
        hosts = hosts or self.names
        cmd = [FAKE_HOSTS, "mpirun", self.name,
               "--host", ",".join("%s:%d" % (h, per_host) for h in hosts),
               "-np", str(per_host * len(hosts)),
               # The hosts are namespaces on this machine's 2 CPUs: Open MPI's
               # binding would pin every host's first rank to the same core.
               "--bind-to", "none",
               # 6 ranks on 2 CPUs that no host can see are shared: waiting
               # ranks must give theirs up (mpimr only knows its host's).
               "--mca", "mpi_yield_when_idle", "1"]
        if keepalive:
            cmd += KEEPALIVE
        return cmd + list(extra) + [str(a) for a in args]

    def host_of(self, rank, per_host):
        return self.names[rank // per_host]

    def pids(self, host):
        """Pids of what runs on host now."""
        p = sh(["ip", "netns", "pids", "%s-%s" % (self.name, host)], check=False)
        return [int(x) for x in p.stdout.split()]

    def procs(self, hosts=None):
        """{host: ["comm(pid)", ...]} of what runs on each host now (every
        host, or those listed)."""
        out = {}
        for h in hosts or self.names:
            names = []
            for pid in self.pids(h):
                try:
                    with open("/proc/%d/comm" % pid) as f:
                        names.append("%s(%d)" % (f.read().strip(), pid))
                except OSError:
                    pass
            if names:
                out[h] = names
        return out

    def wait_empty(self, seconds, hosts=None):
        """Waits until nothing runs on the hosts (every host, or those
        listed); returns what is left after seconds (empty: nothing)."""
        end = time.monotonic() + seconds
        while True:
            left = self.procs(hosts)
            if not left or time.monotonic() >= end:
                return left
            time.sleep(0.2)

    def kill_all(self):
        """Kills (SIGKILL, by pid) whatever runs on any host; waits for it."""
        for _ in range(50):
            pids = [p for h in self.names for p in self.pids(h)]
            if not pids:
                return
            faultlib.kill_pids(pids)
            time.sleep(0.1)

    def cable(self, host, state):
        sh([FAKE_HOSTS, "cable", self.name, host, state])

    def loss(self, percent):
        p = sh([FAKE_HOSTS, "loss", self.name, str(percent)], check=False)
        if p.returncode == SKIP:
            raise Skip(p.stderr.strip())
        if p.returncode != 0:
            raise RuntimeError("fake-hosts.sh loss failed: " + p.stderr)

    def cpus(self, host, cpulist):
        sh([FAKE_HOSTS, "cpus", self.name, host, cpulist])


# ---------------------------------------------------------------------------
# results

class Suite:
    """Collects PASS/FAIL/SKIP lines; exit() gives the status."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def check(self, label, errors):
        if mrtest.report(label, errors):
            self.passed += 1
        else:
            self.failed += 1
        return not errors

    def skip(self, label, why):
        print("SKIP %s: %s" % (label, why))
        self.skipped += 1

    def exit(self):
        if self.failed:
            print("FAIL: %d of %d checks failed" % (self.failed, self.passed + self.failed))
            return 1
        if self.skipped and not self.passed:
            print("SKIP: every check was skipped")
            return SKIP
        print("PASS: %d checks%s" % (self.passed, " (%d skipped)" % self.skipped
                                     if self.skipped else ""))
        return 0


def main(body):
    """Runs body(suite) and exits with the suite's status; Skip exits 77."""
    suite = Suite()
    try:
        body(suite)
    except Skip as x:
        print("SKIP: %s" % x)
        sys.exit(SKIP)
    sys.exit(suite.exit())


def leftovers(d):
    """Errors naming temporary or lock files in directory d."""
    e = []
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        kind = faultlib.what_is(name)
        if kind != "file":
            e.append("%s left in %s: %s" % (kind, d, name))
    return e


def describe(r):
    """A finished faultlib.Run as text, for a failure message."""
    return r.describe()
