#!/usr/bin/python3
"""`mpimr show`: prints the file's rows exactly (keys with \\t, \\n, \\r and \\\\
escaped), honours --top, and refuses bad files with exit 1 and one message
naming the path: a missing file, a directory, a file that is not HDF5, and
result files whose key offsets are damaged (decreasing, or past key_bytes).
Bad usage exits 2.

Usage:
  tests/e2e/check_show.py --mpimr build/mpimr
"""

import argparse
import os
import shutil
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

ESCAPES = {b"\t": b"\\t", b"\n": b"\\n", b"\r": b"\\r", b"\\": b"\\\\"}


def escaped(key):
    return b"".join(ESCAPES.get(key[i:i + 1], key[i:i + 1]) for i in range(len(key)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    args = ap.parse_args()
    failures = []

    def expect(name, ok, detail=""):
        print(("PASS " if ok else "FAIL ") + name)
        if not ok:
            failures.append(name)
            if detail:
                print(detail)

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.txt")
        with open(src, "wb") as f:
            f.write(b"back\\slash plain plain x\x00y\n")
        out = os.path.join(tmp, "words.h5")
        r = mrtest.run([args.mpimr, "wordcount", "-q", src, "-o", out])
        expect("wordcount runs", r.rc == 0, r.describe())
        rows = mrtest.read_result(out).items
        want = b"".join(escaped(k) + b"\t" + str(v).encode() + b"\n" for k, v in rows)
        r = mrtest.run([args.mpimr, "show", out])
        expect("show prints every row", r.rc == 0 and r.out == want, r.describe())
        r = mrtest.run([args.mpimr, "show", out, "--top", "2"])
        top = b"".join(want.splitlines(keepends=True)[:2])
        expect("show --top 2 prints the first two rows", r.rc == 0 and r.out == top,
               r.describe())

        # Keys a job of lines could make: tab, newline, CR, backslash.
        crafted = os.path.join(tmp, "crafted.h5")
        keys = [b"a\tb", b"x\ny", b"cr\r", b"back\\slash"]
        shutil.copy(out, crafted)
        with h5py.File(crafted, "r+") as f:
            g = f["wordcount"]
            for name in ("key_bytes", "key_offsets", "values"):
                del g[name]
            g["key_bytes"] = np.frombuffer(b"".join(keys), dtype=np.uint8)
            g["key_offsets"] = np.cumsum([0] + [len(k) for k in keys]).astype(np.uint64)
            g["values"] = np.arange(len(keys), 0, -1, dtype=np.uint64)
        r = mrtest.run([args.mpimr, "show", crafted])
        want = b"a\\tb\t4\nx\\ny\t3\ncr\\r\t2\nback\\\\slash\t1\n"
        expect("show escapes tab, newline, CR and backslash", r.rc == 0 and r.out == want,
               r.describe())

        def refused(name, path, reason):
            r = mrtest.run([args.mpimr, "show", path])
            lines = r.err_lines()
            ok = (r.rc == 1 and len(lines) == 1 and ("'%s'" % path) in lines[0]
                  and reason in lines[0] and not r.out)
            expect(name, ok, r.describe())

        refused("missing file", os.path.join(tmp, "nope.h5"), "No such file or directory")
        refused("a directory", tmp, "Is a directory")
        refused("not HDF5", src, "not an HDF5 file")
        for label, offsets in (("decreasing offsets", [0, 3, 1]),
                               ("offsets past key_bytes", [0, 100, 3])):
            bad = os.path.join(tmp, label.replace(" ", "_") + ".h5")
            shutil.copy(out, bad)
            with h5py.File(bad, "r+") as f:
                g = f["wordcount"]
                for name in ("key_bytes", "key_offsets", "values"):
                    del g[name]
                g["key_bytes"] = np.frombuffer(b"abc", dtype=np.uint8)
                g["key_offsets"] = np.array(offsets, dtype=np.uint64)
                g["values"] = np.array([1, 1], dtype=np.uint64)
            refused(label, bad, "damaged table")

        for argv in (["show"], ["show", out, "--top", "x"], ["show", out, "--bogus"]):
            r = mrtest.run([args.mpimr] + argv)
            expect("bad usage %s exits 2" % argv[1:], r.rc == 2, r.describe())

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
