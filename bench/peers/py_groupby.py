#!/usr/bin/python3
"""Group-by over CSV files with Python's csv module and a dict: the Python
peer of `mpimr groupby` in bench/jobs.py.

  py_groupby.py [-n N] --key COL[,COL...] --value COL -o OUT.tsv INPUT...

Every file's first row is its header; the key is the --key columns' values
joined by a TAB (as mpimr joins them), the value float() of the --value
column.  Per key it keeps count, sum, min and max, and writes
"key<TAB>count<TAB>sum<TAB>min<TAB>max<TAB>mean" lines (floats as repr).
With -n 1 (the default) one process reads every file; with -n N a
multiprocessing.Pool(N) takes one file per task and the parent merges the
workers' dicts.
"""

import argparse
import csv
import multiprocessing
import sys
import time


def group_file(job, acc=None):
    """Adds the rows of job's file to acc (a new dict if None); returns acc."""
    path, keys, value = job
    acc = {} if acc is None else acc
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows)
        kcols = [header.index(k) for k in keys]
        vcol = header.index(value)
        one = len(kcols) == 1
        for row in rows:
            if not row:
                continue  # a blank line, as csv.DictReader skips it
            k = row[kcols[0]] if one else "\t".join(row[c] for c in kcols)
            v = float(row[vcol])
            a = acc.get(k)
            if a is None:
                acc[k] = [1, v, v, v]
            else:
                a[0] += 1
                a[1] += v
                if v < a[2]:
                    a[2] = v
                if v > a[3]:
                    a[3] = v
    return acc


def merge(into, acc):
    for k, b in acc.items():
        a = into.get(k)
        if a is None:
            into[k] = b
        else:
            a[0] += b[0]
            a[1] += b[1]
            a[2] = min(a[2], b[2])
            a[3] = max(a[3], b[3])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--procs", type=int, default=1)
    ap.add_argument("--key", required=True)
    ap.add_argument("--value", required=True)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    t0 = time.perf_counter()
    jobs = [(p, a.key.split(","), a.value) for p in a.inputs]
    total = {}
    if a.procs == 1:
        for j in jobs:
            group_file(j, total)
    else:
        with multiprocessing.get_context("fork").Pool(a.procs) as pool:
            for acc in pool.imap_unordered(group_file, jobs):
                merge(total, acc)
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{k}\t{c}\t{s!r}\t{lo!r}\t{hi!r}\t{s / c!r}\n" for k, (c, s, lo, hi) in total.items())
    print(f"py_groupby: {sum(v[0] for v in total.values())} rows, {len(total)} keys, "
          f"{time.perf_counter() - t0:.3f} s on {a.procs} processes", file=sys.stderr)


if __name__ == "__main__":
    main()
