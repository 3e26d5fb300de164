#!/usr/bin/env python3
"""Home advantage in football results: reads rows of match_results.csv
(date,home_team,away_team,home_score,away_score,tournament,city,country,neutral,
the columns of the well-known international results table; `neutral` is TRUE
or FALSE) and derives, per match, home_win = home_score > away_score.

For each match it writes, by venue (`home` when the home team plays at home,
`neutral` when the ground is neutral):

    matches:VENUE<TAB>1
    home_wins:VENUE<TAB>0 or 1
    draws:VENUE<TAB>0 or 1
    goal_diff:VENUE<TAB>home_score - away_score

and, for matches at home, `home_wins:TEAM<TAB>0 or 1` and `home_games:TEAM<TAB>1`,
so that with `--combine sum` home_wins:home / matches:home is the home side's
win rate at home, and home_wins:neutral / matches:neutral the nominal home
side's on neutral ground.  The header row (in every file) is skipped, so a
mapper may start reading anywhere in a file.

    mpirun -np 4 mpimr stream --map 'python3 football_mapper.py' --combine sum data/football -o home.h5

Standard library only.
"""
import csv
import sys


def main():
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n", buffering=1 << 16)
    for row in csv.reader(sys.stdin):
        if not row or row[0] == "date":  # a blank line, a header
            continue
        home, hs, aws, neutral = row[1], int(row[3]), int(row[4]), row[8]
        venue = "neutral" if neutral.strip().upper() == "TRUE" else "home"
        win = int(hs > aws)
        out.write("matches:%s\t1\nhome_wins:%s\t%d\ndraws:%s\t%d\ngoal_diff:%s\t%d\n"
                  % (venue, venue, win, venue, int(hs == aws), venue, hs - aws))
        if venue == "home":
            out.write("home_wins:%s\t%d\nhome_games:%s\t1\n" % (home, win, home))
    out.flush()


if __name__ == "__main__":
    main()
