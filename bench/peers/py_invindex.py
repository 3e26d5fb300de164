#!/usr/bin/python3
"""An inverted index in plain Python, a dict of lists: the Python peer of
`mpimr invindex` in bench/jobs.py.

  py_invindex.py [-n N] -o OUT.tsv INPUT...

Files are numbered 0, 1, ... in the order given (mpimr's /inputs order when
the same list is given to both).  A file's words are set(data.split()), the
words of mpimr's record rule; walking the files in order and appending the
file's number to each of its words' lists keeps every list ascending and
distinct.  With -n 1 (the default) one process does it all; with -n N a
multiprocessing.Pool(N) makes each file's set (imap, one file per task, in
order) and the parent appends.  Writes "word<TAB>0,4,17" lines.
"""

import argparse
import multiprocessing
import sys
import time


def words_of(path):
    with open(path, "rb") as f:
        return set(f.read().split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--procs", type=int, default=1)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    t0 = time.perf_counter()
    index = {}

    def add(i, words):
        for w in words:
            lst = index.get(w)
            if lst is None:
                index[w] = [i]
            else:
                lst.append(i)

    if a.procs == 1:
        for i, p in enumerate(a.inputs):
            add(i, words_of(p))
    else:
        with multiprocessing.get_context("fork").Pool(a.procs) as pool:
            for i, words in enumerate(pool.imap(words_of, a.inputs)):
                add(i, words)
    with open(a.out, "wb") as f:
        f.write(b"".join(b"%s\t%s\n" % (w, ",".join(map(str, lst)).encode())
                         for w, lst in index.items()))
    print(f"py_invindex: {len(index)} words, {sum(map(len, index.values()))} (word, file) pairs, "
          f"{time.perf_counter() - t0:.3f} s on {a.procs} processes", file=sys.stderr)


if __name__ == "__main__":
    main()
