#!/usr/bin/python3
"""Shared helpers for the fault-class tests (tests/faults/check_*.py).

Built on tests/e2e/mrtest.py (the launcher environment, the Counter oracle,
check_result, report); what is added here is what those tests share:

  * run(): run a command in a new session with a deadline of TIMEOUT
    seconds, reading stdout and stderr on threads, and calling an action
    once when a stderr line matches a pattern (MPIMR_FAULT's "paused" or
    "sleeping" line: the moment to fill the disk, change an input or send a
    signal).  The deadline restarts when the action fires.  A run past its
    deadline is a HANG: every process of its session is killed, by pid.
    A run has ended only when no process of its session is left; one left
    over after the launcher exited is reported (and killed).
  * messages() / one_message(): "one message" is exactly one stderr line
    that starts with "mpimr:", not counting the injector's own
    ("mpimr: fault: ...").
  * snapshot() / changes(): what a directory holds (names, kinds, sizes,
    bytes), to check "nothing left" (no temporary file, no lock, no output)
    and "byte-identical".
  * Suite: PASS/FAIL/SKIP lines (mrtest.report) and the exit status; a
    script whose every check was skipped exits 77 (ctest's
    SKIP_RETURN_CODE).
"""

import argparse
import hashlib
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import mrtest  # noqa: E402,F401  (re-exported for the check scripts)

TIMEOUT = 60  # seconds a run may take, or take to end after its trigger
SKIP = 77
# Errors that begin so are the worst kind, repeated at the end of the output.
WORST = ("SILENT BAD OUTPUT", "KILLED BY SIGNAL 9 WITH NO WORD FROM MPIMR")

PAUSED = rb"mpimr: fault: paused: rank (\d+) pid (\d+) in (\w+)"
SLEEPING = rb"mpimr: fault: sleeping: rank (\d+) pid (\d+) in (\w+)"


# ---------------------------------------------------------------------------
# the command line every check script takes

def parse_args(doc, extra=None):
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--mpimr", required=True, help="path to the mpimr binary")
    ap.add_argument("--launch", default="",
                    help='launcher, e.g. "mpiexec -n 3 --oversubscribe"; '
                         '"" runs mpimr alone (one rank)')
    ap.add_argument("--gen", help="mpimr-gen-zipf (default: beside --mpimr)")
    ap.add_argument("workdir")
    if extra:
        extra(ap)
    a = ap.parse_args()
    a.mpimr = os.path.abspath(a.mpimr)
    a.gen = os.path.abspath(a.gen or os.path.join(os.path.dirname(a.mpimr),
                                                  "mpimr-gen-zipf"))
    a.np = mrtest.launch_nranks(a.launch)
    os.makedirs(a.workdir, exist_ok=True)
    a.workdir = os.path.abspath(a.workdir)
    return a


def mpimr_cmd(a, args, launch=None):
    """LAUNCH mpimr ARGS as a list (launch None: the script's --launch)."""
    launch = a.launch if launch is None else launch
    return mrtest.split_launch(launch) + [a.mpimr] + [str(x) for x in args]


# ---------------------------------------------------------------------------
# running

class Run:
    """A finished (or killed) command.

    rc: exit status (negative: killed by that signal), None after a HANG.
    out, err: bytes.  secs: wall time.  fired: whether the trigger matched
    (then match is its re.Match and after the seconds from it to the end).
    left: pids of the run's session still alive after the launcher ended.
    """

    def __init__(self, cmd):
        self.cmd = cmd
        self.rc = None
        self.out = self.err = b""
        self.secs = self.after = 0.0
        self.fired = False
        self.match = None
        self.action_error = None
        self.hung = False
        self.left = []

    def err_lines(self):
        return self.err.decode("utf-8", "replace").splitlines()

    def describe(self):
        r = mrtest.Result(self.cmd, self.rc, self.out, self.err)
        return r.describe()


def session_pids(sid):
    """Pids of the live processes in session sid (zombies left out)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                s = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...; comm may hold spaces.
        fields = s[s.rfind(b")") + 2:].split()
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != b"Z":
            pids.append(int(name))
    return pids


def kill_pids(pids, sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def run(cmd, cwd=None, env=None, fault=None, when=None, timeout=TIMEOUT, stdin=None):
    """Run cmd (a list) in a new session; return a Run.

    env: extra environment (the Open MPI root variables are always set).
    fault: MPIMR_FAULT's value.  when: (pattern, action) where pattern is a
    bytes regex and action(match, popen) is called once, on the reader
    thread, when a stderr line first matches; the deadline then restarts.
    """
    extra = dict(env or {})
    if fault:
        extra["MPIMR_FAULT"] = fault
    r = Run(cmd)
    t0 = time.monotonic()
    state = {"deadline": t0 + timeout, "fired_at": None}
    try:
        p = subprocess.Popen(cmd, cwd=cwd, env=mrtest.mpi_env(extra),
                             stdin=stdin if stdin is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
    except OSError as e:
        r.rc = 127
        r.err = ("cannot run %s: %s\n" % (shlex.join(cmd), e)).encode()
        return r
    chunks = {"out": [], "err": []}

    def read_out():
        for block in iter(lambda: p.stdout.read1(65536), b""):
            chunks["out"].append(block)

    def read_err():
        for line in iter(p.stderr.readline, b""):
            chunks["err"].append(line)
            if when and not r.fired:
                m = re.search(when[0], line)
                if m:
                    r.fired, r.match = True, m
                    state["fired_at"] = time.monotonic()
                    state["deadline"] = state["fired_at"] + timeout
                    try:
                        when[1](m, p)
                    except Exception as x:  # reported by the caller's check
                        r.action_error = "%s: %s" % (type(x).__name__, x)
                    state["deadline"] = time.monotonic() + timeout

    threads = [threading.Thread(target=read_out, daemon=True),
               threading.Thread(target=read_err, daemon=True)]
    for t in threads:
        t.start()
    sid = p.pid
    while True:
        left = time.monotonic() - state["deadline"]
        if left >= 0:
            break
        try:
            p.wait(timeout=min(0.1, -left))
        except subprocess.TimeoutExpired:
            continue
        # The launcher is gone; the run has ended when its session has.
        rest = session_pids(sid)
        if not rest:
            break
        r.left = rest
        time.sleep(0.05)
    if p.poll() is None or session_pids(sid):
        if p.poll() is None:
            r.hung = True
        else:
            r.left = session_pids(sid)
        mrtest._kill_group(p)
        for _ in range(50):
            pids = session_pids(sid)
            if not pids:
                break
            kill_pids(pids)
            time.sleep(0.1)
    else:
        r.left = []
    p.wait()
    for t in threads:
        t.join(timeout=5)
    r.rc = None if r.hung else p.returncode
    r.out, r.err = b"".join(chunks["out"]), b"".join(chunks["err"])
    end = time.monotonic()
    r.secs = end - t0
    if state["fired_at"] is not None:
        r.after = end - state["fired_at"]
    return r


# ---------------------------------------------------------------------------
# what a run said

def messages(r):
    """The stderr lines that start with "mpimr:", the injector's left out."""
    return [ln for ln in r.err_lines()
            if ln.startswith("mpimr:") and "mpimr: fault:" not in ln]


def ended(r, want_rc=None, nonzero=False):
    """Errors about how the run ended: a hang, processes left, the status."""
    e = []
    if r.hung:
        e.append("HANG: no exit within %d s%s (killed)" % (
            TIMEOUT, " of the trigger" if r.fired else ""))
    elif want_rc is not None and r.rc != want_rc:
        e.append("exit status %s, want %d" % (r.rc, want_rc))
    elif nonzero and r.rc == 0:
        e.append("exit status 0, want non-zero")
    if r.left:
        e.append("processes of the run still alive after the launcher ended: "
                 "pids %s (killed)" % r.left)
    if r.action_error:
        e.append("the test's own action failed: %s" % r.action_error)
    return e


def one_message(r, contains=(), exact=None):
    """Errors unless stderr holds exactly one message (and it fits)."""
    lines = messages(r)
    if len(lines) != 1:
        return ["want one 'mpimr:' message, got %d: %s" % (
            len(lines), [ln[:200] for ln in lines[:6]])]
    ln = lines[0]
    if exact is not None and ln != exact:
        return ["the message is %r, want exactly %r" % (ln, exact)]
    return ["the message %r does not contain %r" % (ln, c)
            for c in contains if c not in ln]


def quoted(path):
    return "'%s'" % path


# ---------------------------------------------------------------------------
# what a directory holds

def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def kind(st):
    m = st.st_mode
    for test, name in ((stat.S_ISLNK, "symlink"), (stat.S_ISDIR, "directory"),
                       (stat.S_ISREG, "file"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(m):
            return name
    return "other"


def snapshot(d, recurse=True, skip=()):
    """{relative path: (kind, size, sha256 or link target)} of what d holds.

    Hidden names are included; names in skip (relative paths) are left out.
    """
    snap = {}
    if not os.path.isdir(d):
        return snap
    for dirpath, dirnames, filenames in os.walk(d):
        for n in sorted(dirnames + filenames):
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, d)
            if rel in skip:
                continue
            st = os.lstat(p)
            k = kind(st)
            if k == "file":
                snap[rel] = (k, st.st_size, _digest(p))
            elif k == "symlink":
                snap[rel] = (k, 0, os.readlink(p))
            else:
                snap[rel] = (k, 0, None)
        if not recurse:
            break
        dirnames[:] = [n for n in dirnames
                       if not os.path.islink(os.path.join(dirpath, n))]
    return snap


TEMP = re.compile(r"\.mpimr-\d+\.tmp$")


def what_is(name):
    base = os.path.basename(name)
    if TEMP.search(base) or (".mpimr" in base and base.endswith(".tmp")):
        return "temporary file"
    if base.endswith(".lock"):
        return "lock file"
    return "file"


def changes(before, after, output=None):
    """Errors describing how after differs from before ("nothing left").

    output: the output's relative path, named as such when it appears.
    """
    e = []
    new = sorted(set(after) - set(before))
    gone = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    for n in new:
        what = "the output" if n == output else what_is(n)
        e.append("%s left: %s (%s, %d bytes)" % (what, n, after[n][0], after[n][1]))
    for n in gone:
        e.append("%s is gone (was a %s)" % (n, before[n][0]))
    for n in changed:
        b, a_ = before[n], after[n]
        if b[0] != a_[0]:
            e.append("%s was a %s, is now a %s" % (n, b[0], a_[0]))
        else:
            e.append("%s changed (%d bytes, was %d; not byte-identical)" % (n, a_[1], b[1]))
    return e


def temp_and_locks(d):
    """Errors naming temporary and lock files anywhere under d."""
    return ["%s left: %s" % (what_is(n), n) for n in snapshot(d)
            if what_is(n) != "file"]


# ---------------------------------------------------------------------------
# results

class Suite:
    """PASS/FAIL/SKIP lines and the script's exit status."""

    def __init__(self, title):
        self.title = title
        self.failed = []
        self.passed = 0
        self.skipped = 0
        self.worst = []
        print(title, flush=True)

    def check(self, label, errors, r=None):
        """Report one check; r (a Run) is described when it failed."""
        errors = list(errors)
        for x in errors:
            if str(x).startswith(WORST):
                self.worst.append((label, [w for w in WORST if str(x).startswith(w)][0]))
                break
        if errors and r is not None:
            errors.append(r.describe())
        if mrtest.report(label, errors):
            self.passed += 1
        else:
            self.failed.append(label)
        sys.stdout.flush()
        return not errors

    def skip(self, label, why):
        print("SKIP %s (%s)" % (label, why), flush=True)
        self.skipped += 1

    def note(self, text):
        print("note: " + text, flush=True)

    def finish(self):
        print("%d passed, %d failed, %d skipped" % (self.passed, len(self.failed),
                                                    self.skipped))
        for label, what in self.worst:
            print("!!! WORST: %s: %s" % (what, label))
        if self.failed:
            print("FAIL: %s" % "; ".join(self.failed))
            return 1
        if self.skipped and not self.passed:
            return SKIP
        return 0


def check_table(path, inputs, nranks=None, cwd=None, files=None):
    """mrtest.check_result against Counter over inputs (or exactly files)."""
    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        orc = mrtest.Oracle(files) if files is not None else mrtest.oracle(inputs)
        _, e = mrtest.check_result(path, orc, nranks=nranks)
        return e
    finally:
        os.chdir(old)


def write_text(path, size, seed, vocab=5000):
    """A text file of exactly size bytes of words (w<seed>_<n>), lines of ~60."""
    out = bytearray()
    x = seed * 2654435761 % (1 << 32) or 1
    line = 0
    while len(out) < size:
        x = (x * 1103515245 + 12345) % (1 << 31)
        w = b"w%d_%d" % (seed, x % vocab)
        out += w
        line += len(w) + 1
        if line > 60:
            out += b"\n"
            line = 0
        else:
            out += b" "
    out = out[:size]
    out[-1:] = b"\n"
    with open(path, "wb") as f:
        f.write(out)
