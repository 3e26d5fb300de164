#!/usr/bin/env python3
"""Goals per team and match, for a reducer: reads rows of match_results.csv
(as football_mapper.py does) and writes `TEAM<TAB>GOALS` for both sides of
every match, `TEAM<TAB>GOALS` once as home_team and once as away_team.

    mpirun -np 4 mpimr stream --map 'python3 goals_mapper.py' --reduce 'python3 median_reducer.py' data/football -o goals.h5

Standard library only.
"""
import csv
import sys


def main():
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n", buffering=1 << 16)
    for row in csv.reader(sys.stdin):
        if not row or row[0] == "date":
            continue
        out.write("%s\t%s\n%s\t%s\n" % (row[1], row[3], row[2], row[4]))
    out.flush()


if __name__ == "__main__":
    main()
