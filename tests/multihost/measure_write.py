#!/usr/bin/python3
"""Measure the write phase against output size, across fake hosts and on one.

Not a test (ctest does not run it): the measurement behind the README's
"Writing across nodes".  For each vocabulary size it generates a Zipf text
(build/mpimr-gen-zipf, --bytes SIZE, 3 files, seed 1), and runs word count
in alternating rounds under each configuration:

  hosts-romio   3 fake hosts x 2 ranks, mpimr's default MPI-IO (ROMIO)
  hosts-ompio   the same with OMPI_MCA_io=ompio (Open MPI's own MPI-IO,
                Open MPI's default before mpimr chose ROMIO)
  local-romio   6 ranks on this machine (mpirun --oversubscribe), ROMIO
  local-ompio   the same with OMPIO
  one           one process, no mpirun

and prints, per configuration and size, the output file's size and the
medians over the rounds of the write phase (the slowest rank's, from
--stats, which includes closing the file) and of the whole run's wall
time, as a Markdown table; with --csv FILE, a CSV too.  After each run the
output directory is checked for anything beside the output (a .lock).

Usage: measure_write.py --mpimr build/mpimr --workdir DIR [--vocab 1000,30000,...]
           [--bytes 30M] [--rounds 5] [--configs hosts-romio,hosts-ompio,...]
           [--csv FILE]
"""

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import mhlib
from mhlib import mrtest

CONFIGS = ("hosts-romio", "hosts-ompio", "local-romio", "local-ompio", "one")


def generate(gen, d, size, vocab):
    if os.path.isfile(os.path.join(d, ".complete")):
        return
    shutil.rmtree(d, ignore_errors=True)
    subprocess.run([gen, "--bytes", size, "--vocab", str(vocab), "--files", "3",
                    "--seed", "1", "--out", d], check=True, stdout=subprocess.DEVNULL)
    open(os.path.join(d, ".complete"), "w").close()


def one_run(hosts, config, mpimr, inp, outdir):
    shutil.rmtree(outdir, ignore_errors=True)
    os.makedirs(outdir)
    out = os.path.join(outdir, "out.h5")
    stats = os.path.join(outdir + ".json")
    if os.path.exists(stats):
        os.remove(stats)
    argv = [mpimr, "wordcount", "-q", "--stats", stats, "-o", out, inp]
    env = {}
    if config.endswith("ompio"):
        env["OMPI_MCA_io"] = "ompio"
    if config.startswith("hosts"):
        cmd = hosts.mpirun(2, argv, extra=["-x", "OMPI_MCA_io"] if env else [])
    elif config.startswith("local"):
        cmd = ["mpirun", "--oversubscribe", "-np", "6"] + argv
    else:
        cmd = argv
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=mrtest.mpi_env(env), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("%s failed (%d):\n%s" % (config, p.returncode, p.stderr))
    with open(stats) as f:
        s = json.load(f)
    write = max(r[s["phase_names"].index("write")] for r in s["phase_seconds"])
    extra = sorted(set(os.listdir(outdir)) - {"out.h5"})
    return {"write": write, "wall": wall, "bytes": os.path.getsize(out), "extra": extra}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--vocab", default="1000,30000,300000,1000000")
    ap.add_argument("--bytes", default="30M")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--csv")
    a = ap.parse_args()
    mpimr = os.path.abspath(a.mpimr)
    gen = os.path.join(os.path.dirname(mpimr), "mpimr-gen-zipf")
    work = os.path.abspath(a.workdir)
    configs = a.configs.split(",")
    vocabs = [int(v) for v in a.vocab.split(",")]
    os.makedirs(work, exist_ok=True)
    inputs = {}
    for v in vocabs:
        inputs[v] = os.path.join(work, "in-%s-v%d" % (a.bytes, v))
        generate(gen, inputs[v], a.bytes, v)
    res = {}
    with mhlib.Hosts(3) as hosts:
        for rnd in range(a.rounds):
            for i, v in enumerate(vocabs):
                order = configs[rnd % len(configs):] + configs[:rnd % len(configs)]
                for c in order:
                    r = one_run(hosts, c, mpimr, inputs[v], os.path.join(work, "out-" + c))
                    res.setdefault((c, v), []).append(r)
            print("round %d of %d done; load %s" % (rnd + 1, a.rounds,
                                                     open("/proc/loadavg").read().split()[:3]),
                  file=sys.stderr)
    rows = []
    for v in vocabs:
        for c in configs:
            rs = res[(c, v)]
            rows.append({
                "config": c, "vocab": v, "output_bytes": rs[0]["bytes"],
                "write_s": statistics.median(r["write"] for r in rs),
                "write_min_s": min(r["write"] for r in rs),
                "write_max_s": max(r["write"] for r in rs),
                "wall_s": statistics.median(r["wall"] for r in rs),
                "left_beside": " ".join(sorted({x for r in rs for x in r["extra"]})),
            })
    print("| configuration | vocabulary | output | write (median, min-max) | wall |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %d | %.1f KB | %.3f s (%.3f-%.3f) | %.2f s |%s" % (
            r["config"], r["vocab"], r["output_bytes"] / 1000, r["write_s"],
            r["write_min_s"], r["write_max_s"], r["wall_s"],
            "  left: " + r["left_beside"] if r["left_beside"] else ""))
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
