#!/usr/bin/python3
"""--progress under mpirun on a terminal, over all ranks.

Runs word count of a generated text (about 40 MB, so that map takes a few
seconds here) under a pseudo-terminal (`script -qec CMD /dev/null`), with
mpirun at the given process count and every rank mapping, and checks:

  * with --progress, rank 0 prints progress lines `map: P% of SIZE, RATE/s`
    (with `about N s left` until the end), P never going down, the last one
    `map: 100.0% of SIZE`, SIZE the input's size as the split line gives it;
    and the table is still exact;
  * without --progress, and with --progress -q, no such line.

Usage: check_progress.py --mpimr build/mpimr --gen build/mpimr-gen-zipf
                         --launch "mpiexec -n 2 ..." DIR
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

LINE = re.compile(r"map: +(\d+\.\d)% of ([0-9.]+ [KMGT]?B), [0-9.]+ [KMGT]?B/s"
                  r"(, about \d+ s left)?$")
failures = []


def check(label, errors):
    if errors:
        failures.append(label)
    mrtest.report(label, errors)


def under_tty(cmd):
    """Runs cmd under a pseudo-terminal; its output, \\r as line ends."""
    p = subprocess.run(["script", "-qec", shlex.join(cmd), "/dev/null"],
                       env=mrtest.mpi_env(), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    text = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    return p.returncode, [ln.strip() for ln in text.split("\n") if ln.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("workdir")
    a = ap.parse_args()
    if not shutil.which("script"):
        print("SKIP: no script(1) to make a pseudo-terminal (util-linux)")
        return 77
    work = os.path.abspath(a.workdir)
    os.makedirs(work, exist_ok=True)
    text = os.path.join(work, "text")
    if not os.path.isdir(text):
        subprocess.run([a.gen, "--bytes", "40M", "--vocab", "300000", "--files", "4",
                        "--seed", "5", "--out", text], check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(work, "out.h5")
    base = mrtest.split_launch(a.launch) + [os.path.abspath(a.mpimr), "wordcount", "--force",
                                             "--mappers", "all", text, "-o", out]
    rc, lines = under_tty(base[:-3] + ["--progress"] + base[-3:])
    prog = [ln for ln in lines if ln.startswith("map:")]
    split = [ln for ln in lines if ln.startswith("split")]
    e = [] if rc == 0 else ["exit %s: %s" % (rc, lines[-5:])]
    bad = [ln for ln in prog if not LINE.match(ln)]
    if not prog or bad:
        e.append("want progress lines like 'map:  42.0%% of 41.9 MB, 30.0 MB/s, about 1 s "
                 "left', got %s" % (bad or lines[:5]))
    else:
        pct = [float(LINE.match(ln).group(1)) for ln in prog]
        if pct != sorted(pct):
            e.append("the percentage went down: %s" % pct)
        last = LINE.match(prog[-1])
        if last.group(1) != "100.0" or last.group(3):
            e.append("the last progress line is %r, want 100.0%% and no time left" % prog[-1])
        size = re.search(r", ([0-9.]+ [KMGT]?B)", split[0]).group(1) if split else None
        if last.group(2) != size:
            e.append("progress says of %s, the split line %s" % (last.group(2), size))
    if rc == 0:
        e += mrtest.check_result(out, mrtest.oracle([text]))[1]
    check("--progress: rank 0 shows the whole run's progress on a terminal (%d lines)"
          % len(prog), e)
    for label, extra in (("without --progress", []), ("with --progress -q", ["--progress", "-q"])):
        rc, lines = under_tty(base[:-3] + extra + base[-3:])
        prog = [ln for ln in lines if LINE.match(ln)]
        check("%s: no progress line" % label,
              [] if rc == 0 and not prog else ["exit %s, lines %s" % (rc, prog[:3])])
    if failures:
        print("FAIL: %d checks: %s" % (len(failures), "; ".join(failures)))
        return 1
    print("PASS: progress")
    return 0


if __name__ == "__main__":
    sys.exit(main())
