#!/usr/bin/python3
"""Out of memory under a cgroup: never a silent kill -9.

A memory cgroup (v1: /sys/fs/cgroup/memory/NAME, memory.limit_in_bytes; v2:
memory.max) named mpimr-test-<pid>-<n>, one per run, holds the launcher
(sh -c 'echo $$ > cgroup.procs; exec mpiexec ...'; this script stays
outside).  Word count of 200 MB of text with ~2.9 million distinct words
(mpimr-gen-zipf --bytes 200M --vocab 5000000), whose tables do not fit:

  * 300 MiB: on today's engine at 2 ranks the kernel kills a rank;
  * 40 MiB: too small to ever work.

Required: at 300 MiB, exit 0 with the exact table (Counter): the default
memory budget follows the cgroup's limit and the job spills sorted runs to
disk; at 40 MiB, exit 1 with one message that mentions "memory", said
before any work.  A rank killed by signal 9 (the kernel's OOM killer) with
no word from mpimr is the worst failure.  At 40 MiB,
if the kernel kills the launcher and no mpimr process (the kernel log names
the tasks it killed in the cgroup), that is printed as an observation and
not counted against mpimr.  With --direct, the same runs without mpirun (a
one-rank job) follow.  Every run's cgroup is emptied (its processes killed
by pid) and removed; the input is deleted at the end.

Needs root and a memory cgroup: exits 77 when it cannot make one.

Usage: check_oom.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." [--direct] DIR
"""

import os
import re
import shutil
import subprocess
import sys
import time

import faultlib as fl

MIB = 1 << 20


def mounts(fstype):
    with open("/proc/mounts") as f:
        for line in f:
            dev, path, kind, opts = line.split()[:4]
            if kind == fstype:
                yield path, opts.split(",")


class Cgroup:
    """One memory cgroup, v1 or v2, made and removed by this test."""

    def __init__(self, name):
        self.name = name
        self.path = None
        for path, opts in mounts("cgroup"):
            if "memory" in opts:
                self.version, self.root = 1, path
                break
        else:
            for path, _ in mounts("cgroup2"):
                try:
                    with open(os.path.join(path, "cgroup.controllers")) as f:
                        if "memory" in f.read().split():
                            self.version, self.root = 2, path
                            break
                except OSError:
                    continue
            else:
                raise OSError("no memory cgroup controller is mounted")

    def create(self, limit):
        if self.version == 2:
            try:
                with open(os.path.join(self.root, "cgroup.subtree_control"), "w") as f:
                    f.write("+memory")
            except OSError:
                pass  # already on, or the parent's to give
        self.path = os.path.join(self.root, self.name)
        os.mkdir(self.path)
        if self.version == 1:
            self.write("memory.limit_in_bytes", limit)
            if os.path.exists(os.path.join(self.path, "memory.memsw.limit_in_bytes")):
                try:
                    self.write("memory.memsw.limit_in_bytes", limit)
                except OSError:
                    pass  # no swap accounting
        else:
            self.write("memory.max", limit)
            if os.path.exists(os.path.join(self.path, "memory.swap.max")):
                self.write("memory.swap.max", 0)

    def write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write(str(value))

    def procs_file(self):
        return os.path.join(self.path, "cgroup.procs")

    def pids(self):
        try:
            with open(self.procs_file()) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def remove(self):
        """Kill what is left in it (by pid), then rmdir, retrying while busy."""
        if not self.path or not os.path.isdir(self.path):
            return []
        left = self.pids()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            fl.kill_pids(self.pids())
            try:
                os.rmdir(self.path)
                self.path = None
                return left
            except OSError:
                time.sleep(0.2)
        print("note: cannot remove the cgroup %s (still busy); pids %s" % (self.path,
                                                                          self.pids()))
        return left


def kernel_log():
    p = subprocess.run(["dmesg"], capture_output=True, text=True)
    return p.stdout.splitlines() if p.returncode == 0 else None


def oom_kills(before, after, name):
    """[(task name, pid, the kill line)] the kernel's OOM killer took in cgroup name."""
    if before is None or after is None:
        return None
    new = after[len(before):] if after[:len(before)] == before else after
    kills = []
    for i, ln in enumerate(new):
        m = re.search(r"oom_memcg=[^,]*/%s\b.*task=([^,]+),pid=(\d+)" % re.escape(name), ln)
        if m:
            rest = next((x for x in new[i + 1:i + 4] if "Killed process" in x), "")
            kills.append((m.group(1), int(m.group(2)), rest.strip()))
    return kills


class Oom:
    def __init__(self, a, s):
        self.a, self.s = a, s
        self.n = 0
        self.inputs = os.path.join(a.workdir, "in")
        self._oracle = None

    def oracle(self):
        if self._oracle is None:
            self._oracle = fl.mrtest.oracle([self.inputs])
        return self._oracle

    def case(self, launch, limit_mib, tiny):
        self.n += 1
        name = "mpimr-test-%d-%d" % (os.getpid(), self.n)
        d = os.path.join(self.a.workdir, "run%d" % self.n)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        how = "%s under %d MiB" % ("mpirun -np %d" % self.a.np if launch else
                                   "mpimr alone (no mpirun)", limit_mib)
        cg = Cgroup(name)
        try:
            cg.create(limit_mib * MIB)
        except OSError as x:
            self.s.check(how, ["cannot make the cgroup %s: %s" % (name, x)])
            return
        try:
            log0 = kernel_log()
            cmd = ["sh", "-c", 'echo $$ > "$0" && exec "$@"', cg.procs_file()] + \
                fl.mpimr_cmd(self.a, ["wordcount", self.inputs, "-o", "out.h5"], launch=launch)
            r = fl.run(cmd, cwd=d)
            kills = oom_kills(log0, kernel_log(), name)
        finally:
            left = cg.remove()
        e = fl.ended(r)
        if left:
            e.append("processes left in the cgroup after the run: %s (killed)" % left)
        mpimr_killed = [k for k in (kills or []) if k[0] == "mpimr"]
        others_killed = [k for k in (kills or []) if k[0] != "mpimr"]
        msgs = fl.messages(r)
        nine = r.rc in (-9, 137) or b"signal 9" in r.err
        note = None
        if r.hung:
            pass
        elif r.rc == 0 and not tiny:
            e += fl.check_table(os.path.join(d, "out.h5"), None, self.a.np if launch else 1,
                                files=self.oracle().files)
        elif r.rc == 1 and tiny and len(msgs) == 1 and "memory" in msgs[0].lower():
            pass
        elif tiny and nine and others_killed and not mpimr_killed and not msgs:
            note = ("the kernel killed %s (not mpimr) under %d MiB; not counted against "
                    "mpimr" % (", ".join("%s pid %d" % k[:2] for k in others_killed),
                               limit_mib))
        else:
            if nine and not msgs:
                e.append("KILLED BY SIGNAL 9 WITH NO WORD FROM MPIMR (exit status %s)" % r.rc)
            else:
                e.append("exit status %s, want %s; messages: %s" % (
                    r.rc, "1 with one message that mentions memory" if tiny else
                    "0 (exact, by spilling)", msgs[:4]))
        if kills is None:
            self.s.note("%s: the kernel log cannot be read; which task was killed "
                        "is not known" % how)
        for task, pid, line in kills or []:
            self.s.note("%s: the kernel's OOM killer took %s pid %d: %s" % (
                how, task, pid, line))
        if note:
            self.s.note(note)
        self.s.check("%s: %s; never a silent kill -9 (%s, %.1f s)" % (
            how, "exit 1 with one message about memory" if tiny else "exit 0, exact",
            r.rc, r.secs), e, r)
        shutil.rmtree(d, ignore_errors=True)


def main():
    def extra(ap):
        ap.add_argument("--direct", action="store_true",
                        help="also run mpimr without mpirun (one rank)")
        ap.add_argument("--bytes", default="200M", help="input size (default 200M)")
    a = fl.parse_args(__doc__, extra)
    s = fl.Suite("out of memory under a cgroup [%s]" % (a.launch or "no launcher"))
    if os.geteuid() != 0:
        print("SKIP: needs root to make a memory cgroup")
        return fl.SKIP
    probe = None
    try:
        probe = Cgroup("mpimr-test-%d-probe" % os.getpid())
        probe.create(300 * MIB)
    except OSError as x:
        print("SKIP: cannot make a memory cgroup: %s" % x)
        return fl.SKIP
    finally:
        if probe:
            probe.remove()
    s.note("memory cgroup v%d under %s" % (probe.version, probe.root))
    t = Oom(a, s)
    try:
        shutil.rmtree(t.inputs, ignore_errors=True)
        g0 = time.monotonic()
        subprocess.run([a.gen, "--bytes", a.bytes, "--vocab", "5000000", "--files", "2",
                        "--seed", "1", "--out", t.inputs], check=True,
                       stdout=subprocess.DEVNULL)
        s.note("generated %s of text in %.1f s" % (a.bytes, time.monotonic() - g0))
        launches = ([a.launch] if a.launch else []) + ([""] if a.direct or not a.launch else [])
        for launch in launches:
            t.case(launch, 300, tiny=False)
            t.case(launch, 40, tiny=True)
    finally:
        shutil.rmtree(t.inputs, ignore_errors=True)
    rc = s.finish()
    if rc == 0:
        shutil.rmtree(a.workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
