#!/usr/bin/python3
"""Group-by over CSV files with pandas: read_csv of each file (only the key
and value columns, keys as strings), concat, groupby().agg(): the pandas
peer of `mpimr groupby` in bench/jobs.py.  One process.

  pandas_groupby.py --key COL[,COL...] --value COL -o OUT.tsv INPUT...

Writes "key<TAB>count<TAB>sum<TAB>min<TAB>max<TAB>mean" lines, the key's
columns joined by a TAB as mpimr joins them, floats as repr.
"""

import argparse
import sys
import time

import pandas as pd

OPS = ["count", "sum", "min", "max", "mean"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--key", required=True)
    ap.add_argument("--value", required=True)
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    t0 = time.perf_counter()
    keys = a.key.split(",")
    # Keys stay text: no NA guessing ("NA", "null" are keys like any other).
    df = pd.concat((pd.read_csv(p, usecols=keys + [a.value], dtype={k: str for k in keys},
                                keep_default_na=False, na_values={a.value: [""]})
                    for p in a.inputs), ignore_index=True)
    g = df.groupby(keys, sort=False)[a.value].agg(OPS)
    names = g.index if len(keys) == 1 else ["\t".join(t) for t in g.index]
    cols = [g[op].tolist() for op in OPS]
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(f"{k}\t{int(c)}\t{s!r}\t{lo!r}\t{hi!r}\t{m!r}\n" for k, c, s, lo, hi, m in zip(names, *cols))
    print(f"pandas_groupby: {len(df)} rows, {len(g)} keys, {time.perf_counter() - t0:.3f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
