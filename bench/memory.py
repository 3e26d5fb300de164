#!/usr/bin/python3
"""The memory study: word count of Zipf text with many distinct keys under
memory budgets, at one process count.

For each vocabulary (distinct words the generator draws from) it makes one
text of --size bytes (mpimr-gen-zipf, kept under data/bench/ for reuse), and
runs `mpirun -np NP mpimr wordcount --mem M` for each budget M (and the
default, whatever the rank can see), --runs times each, alternating.  Every
run's table is checked against the first default run's (the same file
content, datasets compared with h5py), and every run reports, from its
/stats: the wall time, the slowest rank's phase times, each rank's peak
resident memory, the runs and bytes it spilled.

Prints a Markdown table and writes results.md, results.csv and a plot of peak
memory and time against the distinct keys (memory.png) under --out.

  bench/memory.py --size 2G --vocab 1000000,10000000,50000000 \\
                  --mem 256M,1G,default --np 2 --runs 3 --out bench/results/memory-2G
"""

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def make_text(gen, size, vocab, files):
    d = os.path.join(ROOT, "data", "bench", "zipf-%s-v%d-f%d-s7" % (size, vocab, files))
    if not os.path.isdir(d):
        log("generating", d)
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([gen, "--bytes", size, "--vocab", str(vocab), "--files", str(files),
                        "--seed", "7", "--out", tmp], check=True, stdout=subprocess.DEVNULL)
        os.rename(tmp, d)
    return d


def one_run(a, text, mem, out):
    cmd = ["mpirun", "--oversubscribe", "-np", str(a.np), a.mpimr, "wordcount", "-q", text,
           "-o", out, "--force"]
    if mem != "default":
        cmd += ["--mem", mem]
    if a.tmp:
        cmd += ["--tmp", a.tmp]
    t = time.monotonic()
    r = subprocess.run(cmd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t
    if r.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (r.returncode, " ".join(cmd),
                                                   r.stderr.decode(errors="replace")))
    with h5py.File(out, "r") as f:
        st = f["stats"]
        phases = st["phase_seconds"][()].max(axis=0)
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in st["phase_seconds"].attrs["phase_names"]]
        return {
            "wall": wall,
            "keys": int(f["wordcount"].attrs["distinct_keys"]),
            "peak": [int(x) for x in st["peak_rss_bytes"][()]],
            "runs_spilled": int(st["runs_spilled"][()].sum()),
            "bytes_spilled": int(st["bytes_spilled"][()].sum()),
            "phases": dict(zip(names, (float(x) for x in phases))),
        }


def same_table(a, b):
    with h5py.File(a, "r") as x, h5py.File(b, "r") as y:
        gx, gy = x["wordcount"], y["wordcount"]
        return all(np.array_equal(gx[n][()], gy[n][()])
                   for n in ("key_bytes", "key_offsets", "values"))


def study(a):
    rows = []
    os.makedirs(a.out, exist_ok=True)
    for vocab in a.vocab:
        text = make_text(a.gen, a.size, vocab, a.files)
        ref = os.path.join(a.out, "ref.h5")
        got = {m: [] for m in a.mem}
        for r in range(a.runs):
            for m in a.mem:
                out = ref if (r == 0 and m == "default") else os.path.join(a.out, "run.h5")
                load = open("/proc/loadavg").read().split()[0]
                res = one_run(a, text, m, out)
                res["load"] = float(load)
                got[m].append(res)
                log("vocab %d mem %s run %d: %.2f s, peak %s MiB, %d runs spilled (load %s)"
                    % (vocab, m, r, res["wall"], [p >> 20 for p in res["peak"]],
                       res["runs_spilled"], load))
                if out != ref and not same_table(ref, out):
                    raise SystemExit("mem %s: the table differs from the default run's" % m)
        base = statistics.median(x["wall"] for x in got["default"]) if "default" in got else None
        for m in a.mem:
            g = got[m]
            wall = statistics.median(x["wall"] for x in g)
            peak = max(max(x["peak"]) for x in g)
            keys = g[0]["keys"]
            rows.append({
                "vocab": vocab, "distinct_keys": keys, "mem": m, "np": a.np,
                "wall_s": round(wall, 2),
                "vs_default": round(wall / base, 2) if base else "",
                "peak_rss_per_rank_mib": round(peak / 2**20, 1),
                "bytes_per_key": round(sum(max(x["peak"][i] for x in g)
                                           for i in range(a.np)) / keys, 1),
                "runs_spilled": g[0]["runs_spilled"],
                "gb_spilled": round(g[0]["bytes_spilled"] / 1e9, 2),
                "map_s": round(statistics.median(x["phases"]["map"] for x in g), 2),
                "shuffle_s": round(statistics.median(x["phases"]["shuffle"] for x in g), 2),
                "reduce_s": round(statistics.median(x["phases"]["reduce"] for x in g), 2),
                "order_s": round(statistics.median(x["phases"]["order"] for x in g), 2),
                "write_s": round(statistics.median(x["phases"]["write"] for x in g), 2),
                "load_max": max(x["load"] for x in g),
            })
    return rows


def report(a, rows):
    cols = list(rows[0])
    with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        w.writerows(rows)
    head = ("| distinct keys | --mem | wall s (median) | vs default | peak RSS per rank | "
            "bytes per key (all ranks) | runs spilled | GB spilled |")
    lines = [head, "|" + "---:|" * 8]
    for r in rows:
        lines.append("| %d | %s | %.2f | %s | %.1f MiB | %.0f | %d | %.2f |" % (
            r["distinct_keys"], r["mem"], r["wall_s"], r["vs_default"],
            r["peak_rss_per_rank_mib"], r["bytes_per_key"], r["runs_spilled"], r["gb_spilled"]))
    text = "\n".join(lines)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("Word count of %s of Zipf text, mpirun -np %d, %d runs each, medians; "
                "machine load at most %.1f.\n\n%s\n" % (a.size, a.np, a.runs,
                                                     max(r["load_max"] for r in rows), text))
    print(text)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("no matplotlib: no plot")
        return
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for m in a.mem:
        rs = [r for r in rows if r["mem"] == m]
        k = [r["distinct_keys"] / 1e6 for r in rs]
        ax[0].plot(k, [r["peak_rss_per_rank_mib"] for r in rs], "o-", label="--mem " + m)
        ax[1].plot(k, [r["wall_s"] for r in rs], "o-", label="--mem " + m)
    ax[0].set(xlabel="distinct keys (millions)", ylabel="peak RSS per rank (MiB)",
              title="memory: %s text, np %d" % (a.size, a.np))
    ax[1].set(xlabel="distinct keys (millions)", ylabel="wall seconds",
              title="time: %s text, np %d (%s)" % (a.size, a.np, os.uname().nodename))
    for x in ax:
        x.legend()
        x.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "memory.png"), dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", default=os.path.join(ROOT, "build", "mpimr"))
    ap.add_argument("--gen", default=os.path.join(ROOT, "build", "mpimr-gen-zipf"))
    ap.add_argument("--size", default="2G")
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--vocab", default="1000000,10000000,50000000")
    ap.add_argument("--mem", default="256M,1G,default")
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tmp", help="--tmp for the runs (spill files)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "memory"))
    a = ap.parse_args()
    a.vocab = [int(v) for v in a.vocab.split(",")]
    # the default first: every other run's table is checked against it
    a.mem = ["default"] + [m for m in a.mem.split(",") if m != "default"]
    rows = study(a)
    report(a, rows)
    for n in ("ref.h5", "run.h5"):
        try:
            os.unlink(os.path.join(a.out, n))
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
