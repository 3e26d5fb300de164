#!/usr/bin/python3
"""Word count with a Dask bag (Debian's python3-dask): the Dask peer of
bench/run.py.

  dask_wordcount.py -n N -o OUT.tsv INPUT...

The usual Dask idiom, bag.map(split).flatten().frequencies(), computed with
the processes scheduler and N workers; the result is written as
"count<TAB>word" lines.  The bag holds byte ranges (byteranges.py: mpimr's
record rule) rather than dask.bag.read_text's lines, because read_text decodes
UTF-8 and splits on str whitespace (which includes \\x1c-\\x1f, \\x85 and
Unicode spaces): its words would not be bytes.split()'s, and a byte that is
not UTF-8 would stop it.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import byteranges  # noqa: E402
import dask.bag  # noqa: E402


def words(r):
    return byteranges.read_range(*r).split()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--procs", type=int, default=os.cpu_count())
    ap.add_argument("-o", "--out", required=True, help="output TSV file")
    ap.add_argument("--chunk", type=int, default=0, help="bytes per partition")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    t0 = time.perf_counter()
    ranges = byteranges.plan(byteranges.expand_inputs(a.inputs), a.procs, a.chunk)
    bag = dask.bag.from_sequence(ranges, npartitions=max(len(ranges), 1))
    freq = bag.map(words).flatten().frequencies()
    pairs = freq.compute(scheduler="processes", num_workers=a.procs) if ranges else []
    with open(a.out, "wb") as f:
        f.write(b"".join(b"%d\t%s\n" % (c, w) for w, c in pairs))
    print(f"dask_wordcount: {sum(c for _, c in pairs)} words, {len(pairs)} distinct, "
          f"{len(ranges)} partitions, {time.perf_counter() - t0:.3f} s on {a.procs} workers",
          file=sys.stderr)


if __name__ == "__main__":
    main()
