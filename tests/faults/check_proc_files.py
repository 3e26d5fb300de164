#!/usr/bin/python3
"""Files whose stat size is not what they hold (/proc, /sys) are read whole.

/proc files say st_size 0 and sysfs files 4096, whatever they hold.  A run
over stable ones (those of CANDIDATES the machine has) and one regular file,
  mpimr wordcount FILE... regular.txt -o out.h5
and again with --chunk 5 --mappers all, must exit 0 with the table equal to
Counter over the bytes this test reads from each file itself
(open(path, 'rb').read(), read again after the run to be sure they did not
change), and /inputs/sizes must hold, for each such file, the number of
bytes read.  Never silently empty.

Usage: check_proc_files.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import os
import shutil
import sys

import faultlib as fl

CANDIDATES = (
    "/proc/version",
    "/proc/sys/kernel/ostype",
    "/proc/sys/kernel/osrelease",
    "/proc/sys/kernel/hostname",
    "/sys/kernel/mm/transparent_hugepage/enabled",
)


def readable(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def main():
    a = fl.parse_args(__doc__)
    s = fl.Suite("files whose stat size is not what they hold [%s]" % (
        a.launch or "no launcher"))
    files = []
    for p in CANDIDATES:
        data = readable(p)
        if data is None or not data.split():
            s.note("%s: not on this machine (or holds no word); left out" % p)
            continue
        s.note("%s: stat size %d, holds %d bytes" % (p, os.stat(p).st_size, len(data)))
        files.append(p)
    if not files:
        print("SKIP: none of %s can be read here" % ", ".join(CANDIDATES))
        return fl.SKIP
    d = os.path.join(a.workdir, "proc")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    regular = os.path.join(d, "regular.txt")
    with open(regular, "wb") as f:
        f.write(b"a regular file among them\nLinux Linux\n")
    inputs = files + [regular]
    for label, extra in (("whole files", []), ("--chunk 5 --mappers all",
                                                ["--chunk", "5", "--mappers", "all"])):
        out = os.path.join(d, "out.h5")
        if os.path.exists(out):
            os.unlink(out)
        before = {p: readable(p) for p in inputs}
        r = fl.run(fl.mpimr_cmd(a, ["wordcount"] + extra + inputs + ["-o", out]), cwd=d)
        unstable = [p for p in inputs if readable(p) != before[p]]
        if unstable:
            s.skip(label, "%s changed during the run" % unstable)
            continue
        e = fl.ended(r, 0)
        if r.rc == 0:
            e += fl.check_table(out, None, a.np, files=inputs)
        s.check("%s over %d /proc and /sys files and one regular file: exit 0, "
                "Counter over the bytes read, /inputs/sizes the bytes read" % (
                    label, len(files)), e, r)
    shutil.rmtree(d, ignore_errors=True)
    return s.finish()


if __name__ == "__main__":
    sys.exit(main())
