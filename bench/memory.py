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

With --baseline OTHER_MPIMR, every configuration also runs with that build,
alternately with --mpimr's (before and after a change, in one run), and the
table gets its ratios.  --exponent 0 makes the words uniform instead of Zipf
(every word of the vocabulary about as common), so that a vocabulary of
50 M gives about 50 M distinct keys in 2 GB.

Prints a Markdown table and writes results.md, results.csv and a plot of peak
memory and time against the distinct keys (memory.png) under --out.

  bench/memory.py --size 2G --vocab 1000000,10000000,50000000 \\
                  --mem 256M,1G,default --np 2 --runs 3 --out bench/results/memory-2G
  bench/memory.py --size 2G --vocab 10000000,50000000 --exponent 0 --mem default \\
                  --baseline /tmp/old/build/mpimr --np 2 --runs 3
"""

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (bench/run.py: its page-cache warming and file list)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def make_text(gen, size, vocab, files, exponent=None):
    name = "zipf-%s-v%d-f%d-s7" % (size, vocab, files)
    if exponent is not None:
        name += "-e%g" % exponent
    d = os.path.join(ROOT, "data", "bench", name)
    if not os.path.isdir(d):
        log("generating", d)
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        more = [] if exponent is None else ["--exponent", "%g" % exponent]
        subprocess.run([gen, "--bytes", size, "--vocab", str(vocab), "--files", str(files),
                        "--seed", "7", "--out", tmp] + more, check=True,
                       stdout=subprocess.DEVNULL)
        os.rename(tmp, d)
    return d


def one_run(a, mpimr, text, mem, out):
    cmd = ["mpirun", "--oversubscribe", "-np", str(a.np), mpimr, "wordcount", "-q", text,
           "-o", out, "--force"]
    if mem != "default":
        cmd += ["--mem", mem]
    if a.tmp:
        cmd += ["--tmp", a.tmp]
    try:
        R.warm_page_cache(R.list_files(Path(text)))  # see there: pages nobody touched go out
    except RuntimeError as e:
        raise SystemExit(f"bench: {e}") from None
    t = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%S %U", "-o", out + ".time"] + cmd, env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t
    sys_s, user_s = (float(x) for x in open(out + ".time").read().split()[-2:])
    os.unlink(out + ".time")
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
            "sys": sys_s,
            "user": user_s,
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
    builds = [("mpimr", a.mpimr)] + ([("baseline", a.baseline)] if a.baseline else [])
    for vocab in a.vocab:
        text = make_text(a.gen, a.size, vocab, a.files, a.exponent)
        ref = os.path.join(a.out, "ref.h5")
        got = {(b, m): [] for b, _ in builds for m in a.mem}
        for r in range(a.runs):
            for m in a.mem:
                for b, path in builds:
                    first = r == 0 and m == "default" and b == "mpimr"
                    out = ref if first else os.path.join(a.out, "run.h5")
                    load = open("/proc/loadavg").read().split()[0]
                    res = one_run(a, path, text, m, out)
                    res["load"] = float(load)
                    got[(b, m)].append(res)
                    log("vocab %d %s mem %s run %d: %.2f s, peak %s MiB, %d runs spilled "
                        "(load %s)" % (vocab, b, m, r, res["wall"],
                                       [p >> 20 for p in res["peak"]], res["runs_spilled"],
                                       load))
                    if out != ref and not same_table(ref, out):
                        raise SystemExit("%s mem %s: the table differs from the default run's"
                                         % (b, m))
        for b, _ in builds:
            base = (statistics.median(x["wall"] for x in got[(b, "default")])
                    if "default" in a.mem else None)
            for m in a.mem:
                g = got[(b, m)]
                wall = statistics.median(x["wall"] for x in g)
                peak = max(max(x["peak"]) for x in g)
                keys = g[0]["keys"]
                ph = {n: statistics.median(x["phases"][n] for x in g)
                      for n in ("map", "shuffle", "reduce", "order", "write")}
                paired = ""
                if b == "mpimr" and a.baseline:  # run by run, against the baseline's
                    paired = round(statistics.median(
                        x["wall"] / y["wall"] for x, y in zip(g, got[("baseline", m)])), 2)
                rows.append({
                    "build": b, "vocab": vocab, "distinct_keys": keys, "mem": m, "np": a.np,
                    "wall_s": round(wall, 2),
                    "vs_default": round(wall / base, 2) if base else "",
                    "vs_baseline_paired": paired,
                    "peak_rss_per_rank_mib": round(peak / 2**20, 1),
                    "bytes_per_key": round(sum(max(x["peak"][i] for x in g)
                                               for i in range(a.np)) / keys, 1),
                    "ns_per_key": round(wall / keys * 1e9),
                    "after_map_ns_per_key": round((ph["shuffle"] + ph["reduce"] + ph["order"]
                                                   + ph["write"]) / keys * 1e9),
                    "sys_share": round(statistics.median(x["sys"] / (x["sys"] + x["user"])
                                                         for x in g), 2),
                    "runs_spilled": g[0]["runs_spilled"],
                    "gb_spilled": round(g[0]["bytes_spilled"] / 1e9, 2),
                    "map_s": round(ph["map"], 2),
                    "shuffle_s": round(ph["shuffle"], 2),
                    "reduce_s": round(ph["reduce"], 2),
                    "order_s": round(ph["order"], 2),
                    "write_s": round(ph["write"], 2),
                    "load_max": max(x["load"] for x in g),
                })
    return rows


def report(a, rows):
    cols = list(rows[0])
    with open(os.path.join(a.out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        w.writerows(rows)
    head = ("| build | distinct keys | --mem | wall s (median) | vs default | vs baseline "
            "(paired) | peak RSS per rank | bytes per key (all ranks) | ns per key | "
            "after map, ns per key | system time share | map / shuffle / reduce / order / "
            "write s | runs spilled | GB spilled |")
    lines = [head, "|---|" + "---:|" * 13]
    for r in rows:
        lines.append("| %s | %d | %s | %.2f | %s | %s | %.1f MiB | %.0f | %d | %d | %.2f | "
                     "%.2f / %.2f / %.2f / %.2f / %.2f | %d | %.2f |" % (
                         r["build"], r["distinct_keys"], r["mem"], r["wall_s"],
                         r["vs_default"], r["vs_baseline_paired"],
                         r["peak_rss_per_rank_mib"], r["bytes_per_key"], r["ns_per_key"],
                         r["after_map_ns_per_key"], r["sys_share"], r["map_s"],
                         r["shuffle_s"], r["reduce_s"], r["order_s"], r["write_s"],
                         r["runs_spilled"], r["gb_spilled"]))
    text = "\n".join(lines)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        kind = ("Zipf" if a.exponent is None else
                "uniform" if a.exponent == 0 else "Zipf (exponent %g)" % a.exponent)
        f.write("Word count of %s of %s text, mpirun -np %d, %d runs each, medians; "
                "machine load at most %.1f.\n\n%s\n" % (a.size, kind, a.np, a.runs,
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
    for b in sorted({r["build"] for r in rows}):
        for m in a.mem:
            rs = [r for r in rows if r["mem"] == m and r["build"] == b]
            k = [r["distinct_keys"] / 1e6 for r in rs]
            label = ("" if b == "mpimr" else b + ", ") + "--mem " + m
            ax[0].plot(k, [r["peak_rss_per_rank_mib"] for r in rs], "o-", label=label)
            ax[1].plot(k, [r["wall_s"] for r in rs], "o-", label=label)
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
    ap.add_argument("--exponent", type=float, help="the generator's (default its own, 1)")
    ap.add_argument("--baseline", help="another mpimr to run alternately, for ratios")
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
