#!/usr/bin/python3
"""Signals (Slurm's time limit and scancel send SIGTERM, Ctrl-C SIGINT): nothing left.

The run is started in a new session; the last rank pauses
(MPIMR_FAULT=<last>:map:pause or <last>:write:pause, the latter half-way
through the write, when the temporary file exists) and when its "paused"
line appears the test sends:

  * SIGTERM to mpirun, mid-map and mid-write;
  * SIGINT to mpirun, mid-map;
  * SIGTERM to the paused rank itself (its pid is in the line), mid-map and
    mid-write;
  * at one rank, also without mpirun (mpimr run directly, a one-rank job):
    SIGTERM mid-map and mid-write, SIGINT mid-map.

Each both without an old output and with --force over an old output (a
real earlier result).  Required: the run ends within 60 s of the signal,
every process of it gone, with a non-zero status (a negative returncode,
killed by a signal, counts); nothing left: no temporary or lock file, no
output unless there was an old one, and the old output byte-identical.

Usage: check_signals.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import os
import shutil
import signal
import sys

import faultlib as fl


def make_inputs(d):
    os.makedirs(d)
    for i, n in enumerate(("a.txt", "b.txt")):
        fl.write_text(os.path.join(d, n), 256 << 10, seed=i + 1)


def main():
    a = fl.parse_args(__doc__)
    s = fl.Suite("signals [%s]" % (a.launch or "no launcher"))
    inputs = os.path.join(a.workdir, "in")
    shutil.rmtree(inputs, ignore_errors=True)
    make_inputs(inputs)

    old = os.path.join(a.workdir, "old.h5")
    r = fl.run(fl.mpimr_cmd(a, ["wordcount", inputs, "-o", old, "--force"]))
    if not s.check("an old output to keep", fl.ended(r, 0), r):
        return s.finish()

    cases = []
    if a.launch:
        last = a.np - 1
        cases += [("SIGTERM to mpirun mid-map", a.launch, "%d:map:pause" % last, "launcher",
                   signal.SIGTERM),
                  ("SIGTERM to mpirun mid-write", a.launch, "%d:write:pause" % last, "launcher",
                   signal.SIGTERM),
                  ("SIGINT to mpirun mid-map", a.launch, "%d:map:pause" % last, "launcher",
                   signal.SIGINT),
                  ("SIGTERM to the paused rank %d mid-map" % last, a.launch,
                   "%d:map:pause" % last, "rank", signal.SIGTERM),
                  ("SIGTERM to the paused rank %d mid-write" % last, a.launch,
                   "%d:write:pause" % last, "rank", signal.SIGTERM)]
    if a.np == 1:
        cases += [("SIGTERM to mpimr alone mid-map", "", "0:map:pause", "rank", signal.SIGTERM),
                  ("SIGTERM to mpimr alone mid-write", "", "0:write:pause", "rank",
                   signal.SIGTERM),
                  ("SIGINT to mpimr alone mid-map", "", "0:map:pause", "rank", signal.SIGINT)]

    n = 0
    for label, launch, fault, target, sig in cases:
        for with_old in (False, True):
            n += 1
            d = os.path.join(a.workdir, "%02d" % n)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            if with_old:
                shutil.copyfile(old, os.path.join(d, "out.h5"))
            before = fl.snapshot(d)

            def send(m, p, target=target, sig=sig):
                os.kill(p.pid if target == "launcher" else int(m.group(2)), sig)

            args = ["wordcount", inputs, "-o", "out.h5"] + (["--force"] if with_old else [])
            r = fl.run(fl.mpimr_cmd(a, args, launch=launch), cwd=d, fault=fault,
                       when=(fl.PAUSED, send))
            e = [] if r.fired else ["the 'paused' line never appeared"]
            e += fl.ended(r, nonzero=True)
            e += fl.changes(before, fl.snapshot(d), output="out.h5")
            ok = s.check("%s, %s: ends non-zero (%s, %.1f s after the signal), nothing "
                         "left" % (label, "--force over an old output" if with_old
                                   else "no old output", r.rc, r.after), e, r)
            if ok:
                shutil.rmtree(d, ignore_errors=True)
    rc = s.finish()
    if rc == 0:
        shutil.rmtree(a.workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
