#!/usr/bin/python3
"""Check what slurm/scaling.sh and slurm/scaling-report.py left in a folder.

    check_scaling.py DIR --np 1,2,4 [--runs R]

Passes when DIR/scaling.csv has exactly one row per (study, np) for the
studies strong and weak and the given rank counts, each from R runs, with
times, speedup and efficiency that are positive numbers, speedup and
efficiency 1 at np 1; when DIR/stats holds one --stats file per run; and
when time_per_phase.png, speedup.png and efficiency.png are PNG images.
Exit status: 0 pass, 1 fail.
"""

import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import mrtest  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ("time_per_phase.png", "speedup.png", "efficiency.png")
STUDIES = ("strong", "weak")


def check(folder, nps, runs):
    e = []
    path = os.path.join(folder, "scaling.csv")
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as x:
        return ["cannot read %s: %s" % (path, x)]
    got = sorted((r["study"], int(r["np"])) for r in rows)
    want = sorted((s, n) for s in STUDIES for n in nps)
    if got != want:
        e.append("scaling.csv has rows %s, want one per (study, np): %s"
                 % (got, want))
    for r in rows:
        where = "scaling.csv row %s np %s" % (r["study"], r["np"])
        if int(r["runs"]) != runs:
            e.append("%s: runs %s, want %d" % (where, r["runs"], runs))
        for c in ("wall_seconds", "map_seconds", "speedup", "efficiency"):
            try:
                ok = float(r[c]) > 0
            except (KeyError, ValueError):
                ok = False
            if not ok:
                e.append("%s: %s is %r, want a positive number"
                         % (where, c, r.get(c)))
        if r["np"] == "1":
            for c in ("speedup", "efficiency"):
                if abs(float(r.get(c) or 0) - 1) > 1e-9:
                    e.append("%s: %s is %s at np 1, want 1" % (where, c, r[c]))
    nstats = len([n for n in os.listdir(os.path.join(folder, "stats"))
                  if n.endswith(".json")])
    if nstats != len(want) * runs:
        e.append("stats/ holds %d --stats files, want %d"
                 % (nstats, len(want) * runs))
    for name in PLOTS:
        p = os.path.join(folder, name)
        try:
            with open(p, "rb") as f:
                head = f.read(len(PNG_MAGIC))
        except OSError as x:
            e.append("no plot %s: %s" % (p, x))
            continue
        if head != PNG_MAGIC:
            e.append("%s is not a PNG file (starts %r)" % (p, head))
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--np", required=True, help="comma-separated rank counts")
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    nps = [int(n) for n in a.np.split(",")]
    ok = mrtest.report("scaling study in %s: CSV rows for np %s, stats, plots"
                       % (a.folder, a.np), check(a.folder, nps, a.runs))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
