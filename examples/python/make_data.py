#!/usr/bin/env python3
"""Deterministic inputs for the examples (the same bytes for the same
arguments; standard library only).

    python3 make_data.py json DIR [--files 4] [--lines 100000] [--seed 1]
    python3 make_data.py football DIR [--files 3] [--matches 20000] [--seed 1]

json: DIR/part-NNNNN.jsonl, JSON Lines rows
  {"index": I, "total": T, "user": "u123", "tags": ["x", ...], "score": 0.25}
  with I the row's place in its batch of 1000 (0 to 999, counting across the
  files) and T from 0 to 1999, so that json_mapper.py's default threshold,
  1000, keeps about three rows in four.
football: DIR/match_results-NN.csv, each with the header
  date,home_team,away_team,home_score,away_score,tournament,city,country,neutral
  (neutral TRUE or FALSE; about a quarter of the matches are neutral; some
  cities in quotes, holding a comma).
"""
import argparse
import datetime
import json
import os
import random

TEAMS = ["Argentina", "Brazil", "England", "France", "Germany", "Italy", "Spain",
         "Netherlands", "Portugal", "Uruguay", "Mexico", "United States", "Japan",
         "South Korea", "Nigeria", "Cameroon", "Ghana", "Egypt", "Morocco", "Sweden",
         "Norway", "Denmark", "Scotland", "Wales", "Ivory Coast", "New Zealand"]
TOURNAMENTS = ["Friendly", "FIFA World Cup", "FIFA World Cup qualification", "UEFA Euro",
               "Copa America", "African Cup of Nations", "Gold Cup"]
CITIES = ["London", "Paris", "Rio de Janeiro", "Buenos Aires", "Madrid", "Tokyo",
          "Washington, D.C.", "Lagos", "Cairo", "Oslo", "Saint Paul, Minnesota"]
TAGS = ["red", "green", "blue", "north", "south", "new", "old", "mobile", "web"]


def json_rows(d, files, lines, seed):
    rng = random.Random(seed)
    per = -(-lines // files)
    i = 0
    for f in range(files):
        with open(os.path.join(d, "part-%05d.jsonl" % f), "w", encoding="utf-8",
                  newline="\n") as out:
            for _ in range(min(per, lines - i)):
                row = {"index": i % 1000, "total": rng.randrange(2000),
                       "user": "u%d" % rng.randrange(5000),
                       "tags": rng.sample(TAGS, rng.randrange(4)),
                       "score": rng.randrange(1000) / 1000}
                out.write(json.dumps(row) + "\n")
                i += 1


def quote(field):
    return '"%s"' % field.replace('"', '""') if "," in field or '"' in field else field


def football(d, files, matches, seed):
    rng = random.Random(seed)
    day = datetime.date(1990, 1, 1)
    per = -(-matches // files)
    n = 0
    for f in range(files):
        with open(os.path.join(d, "match_results-%02d.csv" % f), "w", encoding="utf-8",
                  newline="\n") as out:
            out.write("date,home_team,away_team,home_score,away_score,tournament,city,"
                      "country,neutral\n")
            for _ in range(min(per, matches - n)):
                home, away = rng.sample(TEAMS, 2)
                neutral = rng.random() < 0.25
                # A home side at home scores a little more.
                hs = min(int(rng.expovariate(1 / (1.6 if neutral else 1.9))), 9)
                aws = min(int(rng.expovariate(1 / 1.3)), 9)
                city = rng.choice(CITIES)
                out.write(",".join([day.isoformat(), home, away, str(hs), str(aws),
                                    rng.choice(TOURNAMENTS), quote(city),
                                    "Neutral" if neutral else home,
                                    "TRUE" if neutral else "FALSE"]) + "\n")
                day += datetime.timedelta(days=rng.randrange(3))
                n += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["json", "football"])
    ap.add_argument("dir")
    ap.add_argument("--files", type=int)
    ap.add_argument("--lines", type=int, default=100000, help="json: rows in all")
    ap.add_argument("--matches", type=int, default=20000, help="football: matches in all")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    if a.what == "json":
        json_rows(a.dir, a.files or 4, a.lines, a.seed)
    else:
        football(a.dir, a.files or 3, a.matches, a.seed)


if __name__ == "__main__":
    main()
