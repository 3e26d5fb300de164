#!/usr/bin/python3
"""Faults and the output path: nothing lost, nothing half-written, no hang.

With the test switch MPIMR_FAULT=RANK:PHASE:ACTION (src/fault.c), one rank
of a 3-rank run misbehaves, and this checks what the user sees:

  * a rank that exits or is killed (by itself, or kill -9 from outside) in
    map, shuffle or write: the run ends non-zero within TIMEOUT seconds and
    no file appears at the output path, nor a temporary file; a temporary
    file a run killed outright left is named by the next run, which succeeds;
  * an error on one rank only (a failing phase, an MPI error, an HDF5 error,
    an input deleted after rank 0 listed it): exactly one "mpimr:" line that
    names the rank and host (and the path and reason for the input), every
    rank ends, no output, no temporary file;
  * a write that fails on every rank at once (*:write:full, as a full disk
    does): one line, rank 0's, not one per rank;
  * the output path: --force replaces a file only on success; a symlink there
    is replaced, never written through; the file gets the user's umask; input
    names (with %s, %n, newlines) never become paths.

Usage: check_faults.py --mpimr build/mpimr --launch "mpiexec -n 3 ..." DIR
"""

import argparse
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import mrtest  # noqa: E402

TIMEOUT = 60  # seconds a failing run may take to end
failures = []


def check(label, errors):
    if errors:
        failures.append(label)
    mrtest.report(label, errors)


def run(a, args, fault=None, cwd=None, umask=None):
    env = mrtest.mpi_env({"MPIMR_FAULT": fault} if fault else None)
    cmd = mrtest.split_launch(a.launch) + [a.mpimr] + args
    pre = (lambda: os.umask(umask)) if umask is not None else None
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                         env=env, start_new_session=True, preexec_fn=pre)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        mrtest._kill_group(p)
        out, err = p.communicate()
        return mrtest.Result(cmd, None, out, err), TIMEOUT
    return mrtest.Result(cmd, p.returncode, out, err), time.monotonic() - t


def ours(r):
    return [ln for ln in r.err_lines() if ln.startswith("mpimr")]


def files_in(d):
    return sorted(os.listdir(d))


def make_inputs(work):
    """Two files of the same size, so that at 2 or 3 ranks rank 1 maps b.txt."""
    d = os.path.join(work, "in")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, word in (("a.txt", b"alpha"), ("b.txt", b"bravo")):
        with open(os.path.join(d, name), "wb") as f:
            f.write((word + b" and some more words\n") * 20000)
    return d


def fresh(work, name):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def dies(a, work, inputs):
    """A rank exits or is killed inside a phase: the others remove the
    temporary file when mpirun ends them, so nothing is left."""
    for phase in ("map", "shuffle", "write"):
        for action in ("exit", "kill"):
            label = "rank 1 does %s in %s" % (action, phase)
            d = fresh(work, "die-%s-%s" % (phase, action))
            r, secs = run(a, ["wordcount", inputs, "-o", "out.h5"], "1:%s:%s" % (phase, action), d)
            e = []
            if r.rc is None:
                e.append("HANG: no exit after %d s" % TIMEOUT)
            elif r.rc == 0:
                e.append("exit status 0 after a rank died")
            if os.path.lexists(os.path.join(d, "out.h5")):
                e.append("a file appeared at the output path")
            if files_in(d):
                e.append("files left behind: %s" % files_in(d))
            check(label + " (%.1f s)" % secs, e)
    # A run killed outright (SIGKILL to every rank) cannot clean up: the next
    # run writing the same output names what it left, and succeeds.
    d = fresh(work, "leftover")
    left = ".out.h5.mpimr-99999.tmp"
    with open(os.path.join(d, left), "wb") as f:
        f.write(b"what a killed run left")
    r, _ = run(a, ["wordcount", inputs, "-o", "out.h5"], cwd=d)
    msg = "\n".join(ours(r))
    e = [] if r.rc == 0 else ["the next run failed\n" + r.describe()]
    if left not in msg:
        e.append("the next run does not name the leftover %r:\n%s" % (left, msg))
    if r.rc == 0:
        e += mrtest.check_result(os.path.join(d, "out.h5"), mrtest.oracle([inputs]))[1]
    check("the next run names a killed run's leftover %s" % left, e)


def killed_from_outside(a, work, inputs):
    for phase in ("map", "shuffle", "write"):
        d = fresh(work, "kill9-%s" % phase)
        env = mrtest.mpi_env({"MPIMR_FAULT": "1:%s:pause" % phase})
        cmd = mrtest.split_launch(a.launch) + [a.mpimr, "wordcount", inputs, "-o", "out.h5"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=d,
                             env=env, start_new_session=True)
        t, e, pid = time.monotonic(), [], None
        for raw in p.stderr:
            m = re.search(rb"paused: rank 1 pid (\d+)", raw)
            if m:
                pid = int(m.group(1))
                os.kill(pid, signal.SIGKILL)
                break
        if pid is None:
            e.append("rank 1 never paused in %s" % phase)
        try:
            p.stderr.read()
            rc = p.wait(timeout=TIMEOUT)
            if rc == 0:
                e.append("exit status 0 after kill -9 of a rank")
        except subprocess.TimeoutExpired:
            mrtest._kill_group(p)
            e.append("HANG: no exit %d s after kill -9" % TIMEOUT)
        if os.path.lexists(os.path.join(d, "out.h5")):
            e.append("a file appeared at the output path")
        check("kill -9 of rank 1 from outside in %s (%.1f s)" % (phase, time.monotonic() - t), e)


def one_rank_errors(a, work, inputs):
    host = socket.gethostname().split(".")[0]
    for fault, clean, want in (
            ("1:map:fail", True, "injected fault in map"),
            ("1:reduce:fail", True, "injected fault in reduce"),
            ("1:write:fail", True, "injected fault in write"),
            ("1:reduce:mpi", True, "MPI_Bcast"),
            ("2:write:hdf5", True, "HDF5"),
            # every rank's write fails at once, as on a full disk: still one
            # message, rank 0's, not one per rank
            ("*:write:full", True, "cannot write 'out.h5'")):
        d = fresh(work, "err-" + fault.replace(":", "-").replace("*", "all"))
        r, secs = run(a, ["wordcount", inputs, "-o", "out.h5"], fault, d)
        rank = fault.split(":")[0].replace("*", "0")
        lines = ours(r)
        e = []
        if r.rc in (None, 0):
            e.append("exit status %s" % r.rc)
        if len(lines) != 1:
            e.append("want one 'mpimr:' line, got %d: %s" % (len(lines), lines))
        elif not lines[0].startswith("mpimr: rank %s on %s: " % (rank, host)) or want not in lines[0]:
            e.append("the message does not name rank %s on %s and %r: %r"
                     % (rank, host, want, lines[0]))
        if os.path.lexists(os.path.join(d, "out.h5")):
            e.append("a file appeared at the output path")
        if clean and files_in(d):
            e.append("files left behind: %s" % files_in(d))
        check("%s: one message, every rank ends (%.1f s)" % (fault, secs), e + (
            [r.describe()] if e else []))


def vanishing_input(a, work):
    d = fresh(work, "vanish")
    inputs = make_inputs(d)
    gone = os.path.join(inputs, "b.txt")
    env = mrtest.mpi_env({"MPIMR_FAULT": "1:map:sleep"})
    cmd = mrtest.split_launch(a.launch) + [a.mpimr, "wordcount", inputs, "-o", "out.h5"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=d,
                         env=env, start_new_session=True)
    err = b""
    for raw in p.stderr:
        err += raw
        if b"sleeping: rank 1" in raw:
            os.unlink(gone)
            break
    e = []
    try:
        err += p.stderr.read()
        rc = p.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        mrtest._kill_group(p)
        rc = None
        e.append("HANG")
    host = socket.gethostname().split(".")[0]
    lines = [ln for ln in err.decode("utf-8", "replace").splitlines()
             if ln.startswith("mpimr") and "fault:" not in ln]
    want = "mpimr: rank 1 on %s: cannot open '%s': No such file or directory" % (host, gone)
    if rc != 1:
        e.append("exit status %s, want 1" % rc)
    if lines != [want]:
        e.append("messages %s, want exactly %r" % (lines, want))
    if os.path.lexists(os.path.join(d, "out.h5")) or len(files_in(d)) != 1:
        e.append("files left behind: %s" % files_in(d))
    check("an input deleted after rank 0 listed it", e)


def output_path(a, work, inputs):
    # --force replaces only on success.
    d = fresh(work, "force")
    old = os.path.join(d, "out.h5")
    with open(old, "wb") as f:
        f.write(b"the old result")
    r, _ = run(a, ["wordcount", "--force", inputs, "-o", "out.h5"], "1:write:fail", d)
    with open(old, "rb") as f:
        kept = f.read() == b"the old result"
    check("--force with a failing run leaves the old file untouched",
          [] if r.rc == 1 and kept and files_in(d) == ["out.h5"] else
          ["rc %s, old file %s, files %s" % (r.rc, "kept" if kept else "CHANGED", files_in(d))])

    # A symlink at the output path is replaced, never written through.
    d = fresh(work, "symlink")
    target = os.path.join(d, "target.txt")
    with open(target, "wb") as f:
        f.write(b"not yours")
    os.symlink("target.txt", os.path.join(d, "out.h5"))
    r, _ = run(a, ["wordcount", "--force", inputs, "-o", "out.h5"], cwd=d)
    e = [] if r.rc == 0 else [r.describe()]
    if os.path.islink(os.path.join(d, "out.h5")):
        e.append("out.h5 is still a symlink")
    with open(target, "rb") as f:
        if f.read() != b"not yours":
            e.append("the symlink's target was written through")
    os.symlink("nowhere/dangling.h5", os.path.join(d, "dangling.h5"))
    r, _ = run(a, ["wordcount", inputs, "-o", "dangling.h5"], cwd=d)
    if r.rc != 0 or os.path.islink(os.path.join(d, "dangling.h5")):
        e.append("a dangling symlink at the output path was not replaced (rc %s)" % r.rc)
    if os.path.exists(os.path.join(d, "nowhere")):
        e.append("the dangling symlink's target was created")
    check("a symlink at the output path is replaced, its target untouched", e)

    # The user's umask.
    d = fresh(work, "umask")
    r, _ = run(a, ["wordcount", inputs, "-o", "out.h5"], cwd=d, umask=0o027)
    mode = stat.S_IMODE(os.stat(os.path.join(d, "out.h5")).st_mode) if r.rc == 0 else None
    check("the output gets the user's umask (027 -> 0640)",
          [] if mode == 0o640 else ["rc %s, mode %s" % (r.rc, oct(mode) if mode else None)])

    # Names from the input never become paths.
    d = fresh(work, "names")
    src = os.path.join(d, "in")
    os.makedirs(src)
    for name in ("%s%n", "a\nb", "..x", "-o"):
        with open(os.path.join(src, name), "wb") as f:
            f.write(b"word %s\n" % name.encode())
    before = sorted(os.listdir(src))
    r, _ = run(a, ["wordcount", src, "-o", "out.h5"], cwd=d)
    e = [] if r.rc == 0 else [r.describe()]
    if files_in(d) != ["in", "out.h5"] or sorted(os.listdir(src)) != before:
        e.append("files appeared: %s, in/: %s" % (files_in(d), os.listdir(src)))
    if r.rc == 0:
        e += mrtest.check_result(os.path.join(d, "out.h5"), mrtest.oracle([src]))[1]
    check("odd input names are counted, and never become paths", e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", required=True, help='e.g. "mpiexec -n 3 --oversubscribe"')
    ap.add_argument("workdir")
    a = ap.parse_args()
    a.mpimr = os.path.abspath(a.mpimr)
    os.makedirs(a.workdir, exist_ok=True)
    work = os.path.abspath(a.workdir)
    inputs = make_inputs(work)
    dies(a, work, inputs)
    killed_from_outside(a, work, inputs)
    one_rank_errors(a, work, inputs)
    vanishing_input(a, work)
    output_path(a, work, inputs)
    if failures:
        print("FAIL: %d checks: %s" % (len(failures), "; ".join(failures)))
        return 1
    print("PASS: faults and the output path")
    return 0


if __name__ == "__main__":
    sys.exit(main())
