#!/usr/bin/python3
"""Turn a directory of mpimr --stats JSON files into a scaling table and plots.

    slurm/scaling-report.py DIR [--title TEXT] [--machine TEXT]

DIR is what slurm/scaling.sh --out DIR made (its stats/ folder and
runs.tsv), or any folder of --stats files.  A file named
STUDY-npN-runR.json belongs to study STUDY ("strong", "weak"); any other
name goes to study "runs".  The rank count is the file's own nranks.

Writes into DIR:
  scaling.csv         one row per (study, np): medians over the runs
  time_per_phase.png  seconds in each phase (slowest rank) against np, stacked
  speedup.png         speedup against np, with the ideal line
  efficiency.png      parallel efficiency against np, with the ideal line
  machine.txt         the machine the study ran on, if it was not there

Every plot's title names the job, each study's input size and the machine:
--title replaces the whole title; --machine TEXT the machine, which is
otherwise DIR/machine.txt or, without one, this machine (host, CPUs and
their model, memory; with the node count inside a Slurm job of several
nodes), then written to DIR/machine.txt.  scaling.sh runs the report where
the study ran, so a later report elsewhere keeps naming that machine.

Time is the job's own wall_seconds (MPI_Init to the end of the write; the
launcher's start-up is in launch_seconds, from runs.tsv).  Against the
smallest np of a study, n0 with time T0 (n0 is 1 in scaling.sh's studies):
  strong: speedup = n0 * T0 / T(np),  efficiency = speedup / np
  weak:   efficiency = T0 / T(np),    speedup = np * efficiency (scaled)
The ideal is speedup = np and efficiency = 1 in both.

Needs Python 3 and, for the plots, matplotlib (Debian: python3-matplotlib).
Exit status: 0 done, 1 no usable stats or a plot failed, 2 bad usage.
"""

import argparse
import csv
import json
import os
import platform
import re
import statistics
import sys

PHASES = ["split", "map", "shuffle", "reduce", "order", "write"]
TRAFFIC = ["pairs_sent", "bytes_sent", "pairs_received", "bytes_received"]
NAME = re.compile(r"^(?P<study>.+)-np0*(?P<np>\d+)-run(?P<run>\d+)\.json$")
STUDY_ORDER = {"strong": 0, "weak": 1}


def load_runs(folder):
    """Every --stats file in folder (or folder/stats): a list of run dicts."""
    stats_dir = os.path.join(folder, "stats")
    if not os.path.isdir(stats_dir):
        stats_dir = folder
    launch = read_manifest(os.path.join(folder, "runs.tsv"))
    runs = []
    for name in sorted(os.listdir(stats_dir)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(stats_dir, name)
        try:
            with open(path) as f:
                s = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit("scaling-report: cannot read %s: %s" % (path, e))
        if "phase_seconds" not in s or "nranks" not in s:
            continue  # some other JSON file
        m = NAME.match(name)
        runs.append(one_run(s, path, m.group("study") if m else "runs",
                            launch.get(os.path.join("stats", name))))
    return runs


def read_manifest(path):
    """runs.tsv's launch_seconds by stats path; empty without the file."""
    if not os.path.exists(path):
        return {}
    with open(path, newline="") as f:
        return {r["stats"]: float(r["launch_seconds"])
                for r in csv.DictReader(f, delimiter="\t")}


def phase_columns(s, path):
    """The column of phase_seconds that holds each of PHASES, in order.

    Read from the file's phase_names, so that a reordered phase is not
    plotted under the wrong name; where phase_names is not the six phases,
    README's documented order is assumed, with a warning.
    """
    names = list(s.get("phase_names") or [])
    if sorted(names) == sorted(PHASES):
        return [names.index(p) for p in PHASES]
    ncols = len(s["phase_seconds"][0]) if s["phase_seconds"] else 0
    if ncols != len(PHASES):
        sys.exit("scaling-report: %s: phase_seconds has %d columns, want %d"
                 % (path, ncols, len(PHASES)))
    if not WARNED:
        print("scaling-report: warning: %s: phase_names is %r, not the six "
              "phases; assuming the documented order %s"
              % (path, names, ", ".join(PHASES)), file=sys.stderr)
        WARNED.append(path)
    return list(range(len(PHASES)))


WARNED = []


def one_run(s, path, study, launch_seconds):
    """The figures of one --stats file that the table needs."""
    cols = phase_columns(s, path)
    by_col = list(zip(*s["phase_seconds"]))  # [column][rank]
    per_phase = [by_col[c] for c in cols]
    r = {
        "job": s.get("job", "wordcount"),
        "study": study,
        "np": int(s["nranks"]),
        "input_bytes": int(s["input_bytes"]),
        "wall_seconds": float(s["wall_seconds"]),
        "launch_seconds": launch_seconds,
        "peak_rss_bytes_max": max(s["per_rank"]["peak_rss_bytes"]),
    }
    for p, secs in zip(PHASES, per_phase):
        r[p + "_seconds"] = max(secs)
        r["imbalance_" + p] = float(s["imbalance"][p])
    for t in TRAFFIC:
        r[t] = int(s["totals"][t])
    return r


def median(xs):
    """The median; for counts, the lower middle one, so it stays a count."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    if all(isinstance(x, int) for x in xs):
        return statistics.median_low(xs)
    return statistics.median(xs)


def table(runs):
    """One row per (study, np): medians over its runs, then speedup."""
    groups = {}
    for r in runs:
        groups.setdefault((r["study"], r["np"]), []).append(r)
    rows = []
    for (study, np_), rs in sorted(groups.items(), key=lambda kv: (
            STUDY_ORDER.get(kv[0][0], 9), kv[0][0], kv[0][1])):
        row = {"study": study, "np": np_, "runs": len(rs), "job": rs[0]["job"]}
        walls = [r["wall_seconds"] for r in rs]
        row["wall_seconds"] = median(walls)
        row["wall_seconds_min"] = min(walls)
        row["wall_seconds_max"] = max(walls)
        for k in rs[0]:
            if k not in row and k not in ("study", "np", "job"):
                row[k] = median([r[k] for r in rs])
        rows.append(row)
    for study in {r["study"] for r in rows}:
        mine = [r for r in rows if r["study"] == study]
        base = min(mine, key=lambda r: r["np"])
        for r in mine:
            ratio = base["wall_seconds"] / r["wall_seconds"]
            if study == "weak":
                r["efficiency"] = ratio
                r["speedup"] = r["np"] / base["np"] * ratio
            else:
                r["speedup"] = base["np"] * ratio
                r["efficiency"] = r["speedup"] / r["np"]
    return rows


COLUMNS = (["study", "np", "runs", "input_bytes", "wall_seconds",
            "wall_seconds_min", "wall_seconds_max", "launch_seconds"]
           + [p + "_seconds" for p in PHASES]
           + ["speedup", "efficiency"] + TRAFFIC
           + ["imbalance_" + p for p in PHASES] + ["peak_rss_bytes_max"])


def write_csv(rows, path):
    def fmt(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return "%.6g" % v
        return str(v)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([fmt(r.get(c)) for c in COLUMNS])


# ---- plots --------------------------------------------------------------

def plot(rows, folder, title):
    import matplotlib
    matplotlib.use("Agg")  # files only; no display on a cluster node
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    studies = sorted({r["study"] for r in rows},
                     key=lambda s: (STUDY_ORDER.get(s, 9), s))
    by = {s: [r for r in rows if r["study"] == s] for s in studies}
    written = []

    # Time per phase: stacked bars, one panel per study.  Bars, not lines:
    # np values are few and the stack shows where the time goes at each.
    fig, axes = plt.subplots(1, len(studies), figsize=(5.5 * len(studies), 4.2),
                             squeeze=False)
    colors = plt.get_cmap("tab10").colors
    for ax, s in zip(axes[0], studies):
        rs = by[s]
        x = range(len(rs))
        bottom = [0.0] * len(rs)
        for i, p in enumerate(PHASES):
            h = [r[p + "_seconds"] for r in rs]
            ax.bar(x, h, bottom=bottom, label=p, color=colors[i])
            bottom = [b + v for b, v in zip(bottom, h)]
        ax.plot(x, [r["wall_seconds"] for r in rs], "k_", markersize=18,
                label="wall (rank 0)")
        ax.set_xticks(list(x), [str(r["np"]) for r in rs])
        ax.set_xlabel("ranks (np)")
        ax.set_ylabel("seconds (slowest rank per phase)")
        ax.set_title("%s scaling: %s" % (s, size_note(rs)))
        ax.grid(axis="y", alpha=0.3)
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    written.append(save(fig, folder, "time_per_phase.png", title, plt))

    for what, ylabel, ideal in (
            ("speedup", "speedup (strong) / scaled speedup (weak)", lambda n: n),
            ("efficiency", "parallel efficiency", lambda n: 1.0)):
        fig, ax = plt.subplots(figsize=(6, 4.5))
        nps = sorted({r["np"] for r in rows})
        ax.plot(nps, [ideal(n) for n in nps], "k--", label="ideal")
        for s in studies:
            rs = by[s]
            ax.plot([r["np"] for r in rs], [r[what] for r in rs], "o-",
                    label=s)
        ax.set_xscale("log", base=2)
        ax.set_xticks(nps, [str(n) for n in nps])
        if what == "speedup":
            ax.set_yscale("log", base=2)
            ys = [r[what] for r in rows] + nps
            ax.set_ylim(min(ys) / 1.3, max(ys) * 1.3)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))
        else:
            ax.set_ylim(0, max(1.1, max(r[what] for r in rows) * 1.1))
        ax.set_xlabel("ranks (np)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
        written.append(save(fig, folder, what + ".png", title, plt))
    return written


def size_note(rs):
    """The input size in a panel's title, in MiB as scaling.sh takes it."""
    mib = [r["input_bytes"] / 2**20 for r in rs]
    if max(mib) - min(mib) < 0.01 * max(mib):
        return "%.0f MiB" % mib[0]
    return "%.0f MiB per rank" % (mib[-1] / rs[-1]["np"])


def describe_machine():
    """This machine in a few words: host, CPUs, their model, memory."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
        mem = ", %.0f GiB" % (kib / 2**20)
    except (OSError, StopIteration, ValueError):
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = "%s: %d CPUs%s%s" % (platform.node() or "this machine", cpus,
                                " (%s)" % model if model else "", mem)
    nodes = os.environ.get("SLURM_JOB_NUM_NODES", "1")
    if nodes.isdigit() and int(nodes) > 1:
        text = "%s Slurm nodes, the first %s" % (nodes, text)
    return text


def machine(folder, given):
    """The machine for the titles: given, else DIR/machine.txt, else this
    one (then written to DIR/machine.txt)."""
    if given:
        return given
    path = os.path.join(folder, "machine.txt")
    try:
        with open(path) as f:
            text = f.read().strip()
        if text:
            return text
    except OSError:
        pass
    text = describe_machine()
    try:
        with open(path, "w") as f:
            f.write(text + "\n")
    except OSError:
        pass
    return text


def default_title(rows, machine_text):
    """Two lines: "mpimr wordcount, strong: 200 MiB, weak: 20 MiB per rank",
    then "on HOST: 2 CPUs (MODEL), 24 GiB"."""
    jobs = sorted({r.get("job", "wordcount") for r in rows})
    studies = sorted({r["study"] for r in rows}, key=lambda s: (STUDY_ORDER.get(s, 9), s))
    sizes = ", ".join("%s: %s" % (s, size_note([r for r in rows if r["study"] == s]))
                      for s in studies)
    return "mpimr %s, %s\non %s" % ("/".join(jobs), sizes, machine_text)


def save(fig, folder, name, title, plt):
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = os.path.join(folder, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    ap = argparse.ArgumentParser(
        description="mpimr --stats files -> scaling.csv and PNG plots")
    ap.add_argument("folder", help="slurm/scaling.sh's --out DIR, or a "
                    "folder of --stats JSON files")
    ap.add_argument("--title", default="", help="the title over each plot (default: the "
                    "job, input sizes and machine)")
    ap.add_argument("--machine", default="", help="the machine the study ran on, for "
                    "the titles (default: DIR/machine.txt, else this machine)")
    a = ap.parse_args()
    if not os.path.isdir(a.folder):
        ap.error("%s is not a directory" % a.folder)

    runs = load_runs(a.folder)
    if not runs:
        print("scaling-report: no mpimr --stats files in %s" % a.folder,
              file=sys.stderr)
        return 1
    rows = table(runs)
    csv_path = os.path.join(a.folder, "scaling.csv")
    write_csv(rows, csv_path)
    print("wrote %s (%d rows from %d runs)" % (csv_path, len(rows), len(runs)))
    print("%-7s %4s %10s %9s %10s" % ("study", "np", "wall s", "speedup",
                                     "efficiency"))
    for r in rows:
        print("%-7s %4d %10.3f %9.2f %10.2f" % (r["study"], r["np"],
                                               r["wall_seconds"], r["speedup"],
                                               r["efficiency"]))
    title = a.title or default_title(rows, machine(a.folder, a.machine))
    try:
        written = plot(rows, a.folder, title)
    except ImportError as e:
        print("scaling-report: no plots: %s (Debian: apt-get install "
              "python3-matplotlib)" % e, file=sys.stderr)
        return 1
    for p in written:
        print("wrote %s" % p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
