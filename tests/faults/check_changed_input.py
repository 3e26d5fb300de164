#!/usr/bin/python3
"""An input that changes while it is read: exit 1, one exact message, nothing left.

Three text files of 2 MiB each (in/a.txt, in/b.txt, in/c.txt).  The rank
that maps the last file, in/c.txt, sleeps at the start of map
(MPIMR_FAULT=<last rank>:map:sleep; at 2 or 3 ranks with --mappers all, so
that the last rank maps; one rank alone maps everything).  When its
"sleeping" line appears the test changes in/c.txt:

  (a) truncates it to half its size;
  (b) rewrites it in place: the same length, other bytes, a new mtime;
  (c) appends bytes to it.

Each time: exit 1; exactly one message,
  mpimr: input 'in/c.txt' changed while it was read
(the input directory as given on the command line joined with the name, as
mrtest.walk_inputs lists it); nothing left in the working directory (no
output, no temporary or lock file).  A control run with the same sleep and
no change exits 0 with the exact table.

Usage: check_changed_input.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import os
import shutil
import sys
import time

import faultlib as fl

SIZE = 2 << 20
NAMES = ("a.txt", "b.txt", "c.txt")


def truncate(path):
    os.truncate(path, os.path.getsize(path) // 2)


def rewrite(path):
    st = os.stat(path)
    with open(path, "r+b") as f:
        data = f.read()
        f.seek(0)
        # Other words of the same length: swap the case of every letter.
        f.write(data.swapcase())
    ns = max(time.time_ns(), st.st_mtime_ns + 10_000_000)
    os.utime(path, ns=(st.st_atime_ns, ns))
    if os.path.getsize(path) != st.st_size or os.stat(path).st_mtime_ns == st.st_mtime_ns:
        raise RuntimeError("the rewrite changed the size or kept the mtime")


def append(path):
    with open(path, "ab") as f:
        f.write(b"appended words while mapping\n" * 1000)


def seen(d, before):
    """Which input the table of an exit-0 run matches: before or after."""
    os.chdir(d)
    try:
        res = fl.mrtest.read_result("out.h5")
        table = dict(res.items)
        if table == dict(before.counter):
            return "is Counter over the files before the change"
        if table == dict(fl.mrtest.oracle(["in"]).counter):
            return "is Counter over the files after the change"
        return "is Counter over neither the files before nor after the change"
    except Exception as x:
        return "cannot be read: %s" % x
    finally:
        os.chdir(os.path.dirname(d))


def main():
    a = fl.parse_args(__doc__)
    s = fl.Suite("an input changed while it is read [%s]" % (a.launch or "no launcher"))
    last = a.np - 1
    extra = ["--mappers", "all"] if a.np > 1 else []
    for label, change in (("no change (control)", None), ("truncated to half", truncate),
                          ("rewritten in place, same size, new mtime", rewrite),
                          ("appended to", append)):
        d = os.path.join(a.workdir, "changed-%s" % (change.__name__ if change else "none"))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "in"))
        for i, n in enumerate(NAMES):
            fl.write_text(os.path.join(d, "in", n), SIZE, seed=i + 1)
        # The path as the engine lists it: the directory as given, joined
        # with the name (the walk runs from d, as mpimr does).
        os.chdir(d)
        changed = fl.mrtest.walk_inputs(["in"])[-1]
        orc = fl.mrtest.oracle(["in"])
        os.chdir(a.workdir)
        before = fl.snapshot(d, skip=("in/c.txt",))

        def act(m, p, change=change):
            if change:
                change(os.path.join(d, changed))

        r = fl.run(fl.mpimr_cmd(a, ["wordcount"] + extra + ["in", "-o", "out.h5"]), cwd=d,
                   fault="%d:map:sleep" % last, when=(fl.SLEEPING, act))
        e = [] if r.fired else ["the 'sleeping' line of rank %d never appeared" % last]
        if change is None:
            e += fl.ended(r, 0)
            if r.rc == 0:
                e += fl.check_table("out.h5", ["in"], a.np, cwd=d)
            before["out.h5"] = None
            after = fl.snapshot(d, skip=("in/c.txt",))
            e += ["%s left: %s" % (fl.what_is(n), n) for n in sorted(set(after) - set(before))]
        else:
            e += fl.ended(r, 1)
            if r.rc == 0:
                e.append("exit 0 after the change; the table %s" % seen(d, orc))
            e += fl.one_message(r, exact="mpimr: input '%s' changed while it was read" % changed)
            e += fl.changes(before, fl.snapshot(d, skip=("in/c.txt",)), output="out.h5")
        s.check("%s: in/c.txt %s (rank %d maps it)" % (
            "exit 0, exact" if change is None else "exit 1, one message", label, last), e, r)
        if not e:
            shutil.rmtree(d, ignore_errors=True)
    return s.finish()


if __name__ == "__main__":
    sys.exit(main())
