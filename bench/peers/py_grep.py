#!/usr/bin/python3
"""Every match of a regular expression, counted with Python's re and a
Counter: the Python peer of `mpimr grep` in bench/jobs.py.

  py_grep.py [-n N] -o OUT.tsv PATTERN INPUT...

Each file is read in blocks of about 16 MiB cut after a newline, and
re.finditer (re.MULTILINE, so ^ and $ are line ends) finds the matches of
each block.  With -n 1 (the default) one process does it all; with -n N a
multiprocessing.Pool(N) takes one file per task and the parent adds the
workers' Counters.  Writes "count<TAB>match" lines.

Python's re is leftmost-first and mpimr's (POSIX) leftmost-longest, and a
block is not a line: the counts equal mpimr's for a pattern that cannot
match a newline and whose leftmost-first match is also the longest, as for
a run of letters ending at a word boundary.
"""

import argparse
import collections
import multiprocessing
import re
import sys
import time

BLOCK = 16 << 20


def blocks(path):
    """The file's bytes in blocks that end after a newline (or at its end)."""
    with open(path, "rb") as f:
        rest = b""
        while True:
            data = f.read(BLOCK)
            if not data:
                break
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest += data
                continue
            yield rest + data[:cut]
            rest = data[cut:]
        if rest:
            yield rest


def count_file(job):
    path, pattern = job
    r = re.compile(pattern, re.M)
    counts = collections.Counter()
    for data in blocks(path):
        # findall gives the groups when the pattern has any; finditer the match.
        counts.update(m[0] for m in r.finditer(data) if m.end() > m.start())
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--procs", type=int, default=1)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("pattern")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    t0 = time.perf_counter()
    jobs = [(p, a.pattern.encode()) for p in a.inputs]
    total = collections.Counter()
    if a.procs == 1:
        for j in jobs:
            total.update(count_file(j))
    else:
        with multiprocessing.get_context("fork").Pool(a.procs) as pool:
            for c in pool.imap_unordered(count_file, jobs):
                total.update(c)
    with open(a.out, "wb") as f:
        f.write(b"".join(b"%d\t%s\n" % (c, m) for m, c in total.items()))
    print(f"py_grep: {sum(total.values())} matches, {len(total)} distinct, "
          f"{time.perf_counter() - t0:.3f} s on {a.procs} processes", file=sys.stderr)


if __name__ == "__main__":
    main()
