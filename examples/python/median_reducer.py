#!/usr/bin/env python3
"""A Hadoop-streaming reducer: reads `KEY<TAB>VALUE` lines sorted by key, a
key's values adjacent (what `mpimr stream --reduce` and Hadoop give a
reducer, and what `sort` gives a pipeline), and writes, once per key in the
order met,

    KEY<TAB>n=N median=M distinct=D

N the key's values, M their median as numbers (statistics.median: the middle
value, or the mean of the two middle ones), D how many distinct values.  The
values arrive sorted as bytes, not as numbers, so the reducer sorts them
itself.  It exits with status 1, saying why, if a key comes back after
another key (its input was not grouped).

    cat data/football/* | python3 goals_mapper.py | LC_ALL=C sort | python3 median_reducer.py

Standard library only.
"""
import statistics
import sys


def emit(out, key, values):
    nums = sorted(float(v) if "." in v else int(v) for v in values)
    m = statistics.median(nums)
    out.write("%s\tn=%d median=%s distinct=%d\n" % (key, len(nums), m, len(set(nums))))


def main():
    inp = open(sys.stdin.fileno(), encoding="utf-8", errors="surrogateescape", newline="\n")
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", errors="surrogateescape",
               newline="\n", buffering=1 << 16)
    key, values, done = None, [], set()
    for line in inp:
        k, _, v = line.rstrip("\n").partition("\t")
        if k != key:
            if key is not None:
                emit(out, key, values)
                done.add(key)
            if k in done:
                sys.exit("median_reducer: key %r again after other keys: input not grouped" % k)
            key, values = k, []
        values.append(v)
    if key is not None:
        emit(out, key, values)
    out.flush()


if __name__ == "__main__":
    main()
