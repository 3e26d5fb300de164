#!/usr/bin/python3
"""mpimr's own files met as input are never counted.

  (a) wordcount in -o in/out.h5, then the same with --force: the second
      table is Counter over the text files only, not over the first result;
  (b) a leftover temporary file of a killed run inside the input directory,
      named like .out.h5.mpimr-12345.tmp and holding text words ("leftover
      leftover leftover"), is not counted: with -o out.h5 beside in/, and
      with -o in/out.h5 (the leftover then bears this output's name);
  (c) an earlier mpimr result under another name (in/old.h5, made by a
      previous run on other text) met in the directory walk is not counted;
  (d) a result cut in half, named or met in the walk, fails the run: exit 1,
      one message naming it ("HDF5 cannot open"), no output.

Each run of (a)-(c) exits 0 and its file matches Counter over the plain text files
(table, totals and /inputs); no temporary or lock file is left.

Usage: check_own_files.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import os
import shutil
import sys

import faultlib as fl

TEXTS = {
    "a.txt": b"the quick brown fox\njumps over the lazy dog\n" * 30,
    "b.txt": b"lorem ipsum dolor sit amet\nthe end\n" * 20,
}


class OwnFiles:
    def __init__(self, a, s):
        self.a, self.s = a, s
        self.n = 0

    def fresh(self, name):
        self.n += 1
        d = os.path.join(self.a.workdir, "%02d-%s" % (self.n, name))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "in"))
        for n, data in TEXTS.items():
            with open(os.path.join(d, "in", n), "wb") as f:
                f.write(data)
        return d

    def run_ok(self, label, d, args, out, extra_ok=()):
        """Run; exit 0 and a table of the text files only."""
        r = fl.run(fl.mpimr_cmd(self.a, args), cwd=d)
        e = fl.ended(r, 0)
        if r.rc == 0:
            texts = [os.path.join("in", n) for n in sorted(TEXTS)]
            e += fl.check_table(out, None, self.a.np, cwd=d, files=texts)
        e += [x for x in fl.temp_and_locks(d) if not any(k in x for k in extra_ok)]
        return self.s.check(label, e, r)

    def output_in_input(self):
        d = self.fresh("out-in-input")
        if self.run_ok("wordcount in -o in/out.h5 (the first run)", d,
                       ["wordcount", "in", "-o", "in/out.h5"], "in/out.h5"):
            self.run_ok("the same again with --force: the table counts the text "
                        "files only, not the first result", d,
                        ["wordcount", "--force", "in", "-o", "in/out.h5"], "in/out.h5")

    def leftover_temp(self):
        for out in ("out.h5", "in/out.h5"):
            d = self.fresh("leftover-temp")
            left = ".out.h5.mpimr-12345.tmp"
            with open(os.path.join(d, "in", left), "wb") as f:
                f.write(b"leftover leftover leftover\n")
            self.run_ok("a leftover in/%s (text words) in the input directory, -o %s: "
                        "not counted" % (left, out), d,
                        ["wordcount", "in", "-o", out], out, extra_ok=(left,))

    def old_result(self):
        d = self.fresh("old-result")
        other = os.path.join(d, "other")
        os.makedirs(other)
        with open(os.path.join(other, "t.txt"), "wb") as f:
            f.write(b"words of an earlier run\n" * 10)
        r = fl.run(fl.mpimr_cmd(self.a, ["wordcount", "other", "-o", "in/old.h5"]), cwd=d)
        if not self.s.check("an earlier result in/old.h5", fl.ended(r, 0), r):
            return
        self.run_ok("an earlier result in/old.h5 met in the walk: not counted", d,
                    ["wordcount", "in", "-o", "out.h5"], "out.h5")

    def cut_result(self):
        """A result cut short is HDF5 that HDF5 cannot open: named, or met in
        the walk, it fails the run naming it (as a cut-short gzip file does),
        never read as text."""
        d = self.fresh("cut-result")
        r = fl.run(fl.mpimr_cmd(self.a, ["wordcount", "in", "-o", "whole.h5"]), cwd=d)
        if not self.s.check("a result to cut", fl.ended(r, 0), r):
            return
        with open(os.path.join(d, "whole.h5"), "rb") as f:
            data = f.read()
        with open(os.path.join(d, "cut.h5"), "wb") as f:
            f.write(data[:len(data) // 2])
        os.makedirs(os.path.join(d, "walk"))
        shutil.copy(os.path.join(d, "cut.h5"), os.path.join(d, "walk", "cut.h5"))
        shutil.copy(os.path.join(d, "in", "a.txt"), os.path.join(d, "walk", "a.txt"))
        for label, inputs, path in (("named", ["cut.h5"], "cut.h5"),
                                    ("met in the walk", ["walk"], "walk/cut.h5")):
            r = fl.run(fl.mpimr_cmd(self.a, ["wordcount"] + inputs + ["-o", "out.h5"]), cwd=d)
            e = fl.ended(r, 1) + fl.one_message(r, contains=(fl.quoted(path), "HDF5 cannot open"))
            if os.path.exists(os.path.join(d, "out.h5")):
                e.append("out.h5 was written")
            e += fl.temp_and_locks(d)
            self.s.check("a result cut in half, %s: exit 1, one message naming it, "
                         "no output" % label, e, r)


def main():
    a = fl.parse_args(__doc__)
    s = fl.Suite("mpimr's own files as input [%s]" % (a.launch or "no launcher"))
    t = OwnFiles(a, s)
    t.output_in_input()
    t.leftover_temp()
    t.old_result()
    t.cut_result()
    rc = s.finish()
    if rc == 0:
        shutil.rmtree(a.workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
