#!/usr/bin/python3
"""Word count with a multiprocessing.Pool in the MapReduce shape: the plain
Python peer of bench/run.py.

  mp_wordcount.py -n N -o OUTDIR INPUT...

map: each task counts the words of one byte range (byteranges.py: mpimr's
record rule, bytes.split()'s whitespace), then partitions its counts by key
hash into N parts, each pickled to a scratch file.  reduce: task p merges part
p of every map task and writes OUTDIR/part-p.tsv ("count<TAB>word" lines).
Shuffling through files, not through the parent, keeps the parent out of the
data path, as a MapReduce would.

Pool workers are forked, so they all share the parent's str/bytes hash seed
and every map task sends a word to the same partition.
"""

import argparse
import collections
import multiprocessing
import os
import pickle
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import byteranges  # noqa: E402


def map_task(job):
    i, (path, start, end), nparts, scratch = job
    counts = collections.Counter(byteranges.read_range(path, start, end).split())
    parts = [{} for _ in range(nparts)]
    for w, c in counts.items():
        parts[hash(w) % nparts][w] = c
    for p, part in enumerate(parts):
        with open(os.path.join(scratch, f"m{i}-p{p}.pickle"), "wb") as f:
            pickle.dump(part, f, pickle.HIGHEST_PROTOCOL)
    return sum(counts.values())


def reduce_task(job):
    p, nmaps, scratch, outdir = job
    total = collections.Counter()
    for i in range(nmaps):
        name = os.path.join(scratch, f"m{i}-p{p}.pickle")
        with open(name, "rb") as f:
            total.update(pickle.load(f))
        os.unlink(name)
    with open(os.path.join(outdir, f"part-{p}.tsv"), "wb") as f:
        f.write(b"".join(b"%d\t%s\n" % (c, w) for w, c in total.items()))
    return len(total)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--procs", type=int, default=os.cpu_count())
    ap.add_argument("-o", "--out", required=True, help="output directory")
    ap.add_argument("--chunk", type=int, default=0, help="bytes per map task")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    t0 = time.perf_counter()
    ranges = byteranges.plan(byteranges.expand_inputs(a.inputs), a.procs, a.chunk)
    scratch = os.path.join(a.out, ".shuffle")
    os.makedirs(scratch, exist_ok=True)
    with multiprocessing.get_context("fork").Pool(a.procs) as pool:
        jobs = [(i, r, a.procs, scratch) for i, r in enumerate(ranges)]
        words = sum(pool.map(map_task, jobs, chunksize=1))
        jobs = [(p, len(ranges), scratch, a.out) for p in range(a.procs)]
        distinct = sum(pool.map(reduce_task, jobs, chunksize=1))
    os.rmdir(scratch)
    print(f"mp_wordcount: {words} words, {distinct} distinct, {len(ranges)} map tasks, "
          f"{time.perf_counter() - t0:.3f} s on {a.procs} processes", file=sys.stderr)


if __name__ == "__main__":
    main()
