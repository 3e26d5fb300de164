#!/usr/bin/python3
"""Long output names: every name the filesystem takes works; one too long fails cleanly.

Output basenames of exactly 238, 245, 250 and 255 bytes (ASCII letters,
".h5" counted in), each in a fresh directory: exit 0, the exact table
(opened with h5py at that name), and the directory holds only that file
afterwards (no lock, no temporary file; the engine's temporary name is
longer than the output's, so it must not be a sibling of the same length
plus a suffix).  A basename of 256 bytes: exit 1, one message containing
"File name too long", nothing created.

Usage: check_long_names.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import os
import shutil
import string
import sys

import faultlib as fl

TEXT = b"a long name holds a short text\nshort text\n" * 20


def name_of(length):
    letters = (string.ascii_letters * 8)[:length - 3]
    return letters + ".h5"


def main():
    a = fl.parse_args(__doc__)
    s = fl.Suite("long output names [%s]" % (a.launch or "no launcher"))
    src = os.path.join(a.workdir, "in")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    with open(os.path.join(src, "a.txt"), "wb") as f:
        f.write(TEXT)
    try:
        namemax = os.statvfs(a.workdir).f_namemax
    except OSError:
        namemax = 255
    if namemax != 255:
        s.note("this filesystem takes names of up to %d bytes, not 255" % namemax)
    ok = True
    for length in (238, 245, 250, 255, 256):
        name = name_of(length)
        assert len(name.encode()) == length
        d = os.path.join(a.workdir, "n%d" % length)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        r = fl.run(fl.mpimr_cmd(a, ["wordcount", src, "-o", name]), cwd=d)
        if length <= namemax:
            e = fl.ended(r, 0)
            if r.rc == 0:
                e += fl.check_table(os.path.join(d, name), [src], a.np)
            held = sorted(os.listdir(d))
            if held != [name]:
                e.append("the directory holds %s, want only the output" % [
                    n if len(n) < 40 else "%s...(%d bytes)" % (n[:20], len(n.encode()))
                    for n in held])
            label = "a %d-byte output name: exit 0, exact, only that file left" % length
        else:
            e = fl.ended(r, 1) + fl.one_message(r, contains=("File name too long",))
            if os.listdir(d):
                e.append("files created: %s" % os.listdir(d))
            label = "a %d-byte output name: exit 1, one message 'File name too long', " \
                    "nothing created" % length
        ok &= s.check(label, e, r)
    if ok:
        shutil.rmtree(a.workdir, ignore_errors=True)
    return s.finish()


if __name__ == "__main__":
    sys.exit(main())
