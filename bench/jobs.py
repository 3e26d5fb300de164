#!/usr/bin/python3
"""Benchmark mpimr's grep, invindex and groupby jobs against what users run
for them today.

  bench/jobs.sh [--jobs grep,invindex,groupby] [--size 200M] [--runs 5]
                [--np "1 2 4"] [--pattern ERE] [--mpimr build/mpimr]
                [--timeout 600] [--out DIR] [--smoke] [--keep] [--no-install]
  bench/jobs.sh --jobs stream [--stream-size 300M] [--json-lines 500000] ...

`--jobs stream` is the streaming family: stream-cat (`mpimr stream --map cat`,
map only, against `cat`) and stream-json (examples/python/json_mapper.py
under `mpimr stream`, against `cat FILES | python3 json_mapper.py` and GNU
`parallel --pipe`).

Each job gets its own generated input (data/bench/, made once and reused) and
its own peers; every (job, peer, process count) configuration runs once per
round, in one order rotated each round, for --runs rounds.  Medians, ratios
to each job's everyday tool, peak RSS, and whether each peer's whole answer
equals mpimr's go to DIR/results.md, DIR/results.csv and DIR/throughput.png.
The machinery (timed runs, rounds, medians, the machine table) is run.py's.
See bench/README.md.
"""

import argparse
import csv
import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as R  # noqa: E402  (bench/run.py: the word-count benchmark)

ROOT, DATA, PY, PEERS_DIR = R.ROOT, R.DATA, R.PY, R.PEERS_DIR
OPS = ["count", "sum", "mean", "min", "max"]
JSON_MAPPER = ROOT / "examples" / "python" / "json_mapper.py"
STREAM_JOBS = ["stream-cat", "stream-json"]
REGIONS = ["north", "north-east", "east", "south-east", "south", "south-west", "west",
           "north-west", "centre", "islands", "overseas", "online"]

# job: its peers as (name, label, takes a process count), the everyday tool
# (the baseline of the ratios) first and mpimr last.  Pool peers run at the
# process counts above 1; mpimr at every one.
JOBS = {
    "grep": [
        ("grep", "`grep -ohE \\| sort \\| uniq -c`", False),
        ("py", "Python `re` + `Counter`, one process", False),
        ("py-pool", "Python `re` + `Counter`, `Pool` over files", True),
        ("mpimr", "`mpirun mpimr grep`", True),
    ],
    "invindex": [
        ("py", "Python dict of lists, one process", False),
        ("py-pool", "Python dict of lists, `Pool` over files", True),
        ("mpimr", "`mpirun mpimr invindex`", True),
    ],
    "groupby": [
        ("py", "Python `csv` + dict, one process", False),
        ("py-pool", "Python `csv` + dict, `Pool` over files", True),
        ("awk", "`awk -F,` (count, sum)", False),
        ("pandas", "pandas `read_csv` + `groupby().agg()`", False),
        ("mpimr", "`mpirun mpimr groupby`", True),
    ],
    "stream-cat": [
        ("cat", "`cat FILES > out`", False),
        ("mpimr", "`mpirun mpimr stream --map cat`", True),
    ],
    "stream-json": [
        ("py", "`cat FILES \\| python3 json_mapper.py`", False),
        ("parallel", "`cat FILES \\| parallel --pipe -j N python3 json_mapper.py`", True),
        ("mpimr", "`mpirun mpimr stream --map 'python3 json_mapper.py'`", True),
    ],
}
STYLE = {"mpimr": "o-", "py-pool": "^-"}


def parse_size(s):
    m = re.fullmatch(r"(\d+)([KMG]?)", s.strip().upper())
    if not m:
        sys.exit(f"bench: bad size '{s}' (a number with an optional K, M or G suffix)")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


# ---- inputs -----------------------------------------------------------------


def make_orders(size, keys, files, seed):
    """(name, directory, description) of a generated CSV of orders, made once:
    order_id,customer,region,amount,qty; customer is the key, c0000000 to
    c{keys-1}, drawn as keys * u^2 (u uniform), so low numbers are hot and
    nearly every key occurs; amount has two decimals, 1.00 to 999.99."""
    import numpy as np

    name = f"orders-{size}-k{keys}-f{files}-s{seed}"
    d = DATA / name
    if not d.exists():
        R.log(f"generating {d.relative_to(ROOT)}")
        tmp = DATA / (name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        rng, per, oid = np.random.default_rng(seed), parse_size(size) // files, 0
        for i in range(files):
            with open(tmp / f"part-{i:05d}.csv", "w", newline="\n") as f:
                written = f.write("order_id,customer,region,amount,qty\n")
                while written < per:
                    n = min(1 << 16, (per - written) // 30 + 1)  # rows are 30-45 bytes
                    cols = ((keys * rng.random(n) ** 2).astype(np.int64).tolist(),
                            rng.integers(0, len(REGIONS), n).tolist(),
                            rng.integers(100, 100000, n).tolist(), rng.integers(1, 21, n).tolist())
                    written += f.write("".join(
                        f"{oid + j},c{c:07d},{REGIONS[r]},{a // 100}.{a % 100:02d},{q}\n"
                        for j, (c, r, a, q) in enumerate(zip(*cols))))
                    oid += n
        tmp.rename(d)
    desc = (f"generated CSV of orders (`order_id,customer,region,amount,qty`; {keys} customers, "
            f"customer = {keys} * u^2 for uniform u, amount 1.00-999.99; seed {seed})")
    return name, d, desc


def make_json(lines, files, seed):
    """(name, directory, description) of JSON Lines rows made once by
    examples/python/make_data.py."""
    name = f"json-{lines}-f{files}-s{seed}"
    d = DATA / name
    if not d.exists():
        R.log(f"generating {d.relative_to(ROOT)}")
        tmp = DATA / (name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([PY, str(JSON_MAPPER.parent / "make_data.py"), "json", str(tmp), "--lines",
                        str(lines), "--files", str(files), "--seed", str(seed)], check=True)
        tmp.rename(d)
    return name, d, (f"JSON Lines from `examples/python/make_data.py json --lines {lines} --files "
                     f"{files} --seed {seed}`")


def make_inputs(a, job, gen):
    """(name, files, description) of the job's input."""
    if job == "stream-json":
        name, d, desc = make_json(a.json_lines, 4, a.seed)
    elif job == "stream-cat":
        z = argparse.Namespace(corpus="zipf", size=a.stream_size, vocab=a.vocab, seed=a.seed, files=1)
        name, d, desc = R.make_corpus(z, gen)
    elif job == "groupby":
        name, d, desc = make_orders(a.size, a.keys, a.csv_files, a.seed)
    else:
        z = argparse.Namespace(corpus="zipf", size=a.size, vocab=a.vocab, seed=a.seed,
                               files=a.grep_files if job == "grep" else a.index_files)
        name, d, desc = R.make_corpus(z, gen)
    return name, R.list_files(d), desc


# ---- the commands -----------------------------------------------------------


def awk_program(files, key, value):
    """What a user writes: the columns' numbers from the header, hard-coded."""
    header = Path(files[0]).open().readline().rstrip("\n").split(",")
    k = ' "\\t" '.join(f"${header.index(c) + 1}" for c in key.split(","))
    v = header.index(value) + 1
    return (f'FNR > 1 {{ k = {k}; n[k]++; s[k] += ${v} }} '
            'END { for (k in n) printf "%s\\t%d\\t%.17g\\n", k, n[k], s[k] }')


def command(c, a, files, out, mpimr):
    """argv of one run and the file its stdout goes to (None: stdout.txt)."""
    job, p, np = c.job, c.peer, str(c.np)
    mapper = f"{PY} {JSON_MAPPER}"
    if p == "mpimr":
        args = {"grep": [a.pattern], "invindex": [],
                "groupby": ["--key", a.key, "--value", a.value, "--op", ",".join(OPS)],
                "stream-cat": ["--map", "cat"], "stream-json": ["--map", mapper]}[job]
        argv = [str(mpimr), mpimr_job(job), *args, *files, "-o", f"{out}/out.h5", "--stats",
                f"{out}/stats.json"]
        return (["mpirun", "--oversubscribe", "-np", np] + argv if c.np else argv), None
    if job == "stream-cat":
        return ["cat", *files], f"{out}/out.txt"
    if job == "stream-json":
        pipe = f'cat "$@" | {mapper}' if p == "py" else \
            f'cat "$@" | parallel --pipe -j {np} {mapper}'
        return ["sh", "-c", pipe, "sh", *files], f"{out}/out.txt"
    procs = ["-n", np if p == "py-pool" else "1"]
    if job == "grep":
        if p == "grep":
            pipe = 'grep -ohE -e "$0" -- "$@" | sort | uniq -c'
            return ["sh", "-c", pipe, a.pattern, *files], f"{out}/uniq.txt"
        return [PY, str(PEERS_DIR / "py_grep.py"), *procs, "-o", f"{out}/out.tsv", a.pattern, *files], None
    if job == "invindex":
        return [PY, str(PEERS_DIR / "py_invindex.py"), *procs, "-o", f"{out}/out.tsv", *files], None
    if p == "awk":
        return ["awk", "-F,", awk_program(files, a.key, a.value), *files], f"{out}/out.tsv"
    if p == "pandas":
        return [PY, str(PEERS_DIR / "pandas_groupby.py"), "--key", a.key, "--value", a.value,
                "-o", f"{out}/out.tsv", *files], None
    return [PY, str(PEERS_DIR / "py_groupby.py"), *procs, "--key", a.key, "--value", a.value,
            "-o", f"{out}/out.tsv", *files], None


def launch(c, a, files, out, mpimr):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    argv, stdout = command(c, a, files, out, mpimr)
    R.warm_page_cache(files)  # see there: pages nobody touched go out
    wall, rss = R.timed_run(argv, out, stdout, a.timeout)
    stats = Path(out) / "stats.json"
    if c.job == "stream-cat" and c.peer == "mpimr" and stats.exists():
        # The map phase alone (the command's pipes and the records), per
        # reading rank: its bytes over its map seconds, the slowest rank.
        import json

        st = json.loads(stats.read_text())
        i = st["phase_names"].index("map")
        rates = [b / 1e6 / ps[i] for b, ps in zip(st["per_rank"]["bytes_read"], st["phase_seconds"])
                 if b and ps[i] > 0]
        if rates:
            c.__dict__.setdefault("map_rates", []).append(min(rates))
    return wall, rss


# ---- the answers ------------------------------------------------------------


def mpimr_job(job):
    return "stream" if job in STREAM_JOBS else job


def lines_answer(data, records=None):
    """A map-only answer, in a few numbers: (lines, sha256 of the lines in
    order, sha256 of the lines sorted), from the output's bytes or (records)
    from the lines without their '\\n'."""
    import hashlib

    if records is None:
        records = data.split(b"\n")[:-1] if data else []
    ordered = hashlib.sha256()
    for r in records:
        ordered.update(r + b"\n")
    srt = hashlib.sha256(b"".join(r + b"\n" for r in sorted(records)))
    return len(records), ordered.hexdigest(), srt.hexdigest()


def cat_answer(data):
    """stream-cat's answer: (lines, sha256 of the bytes): the order counts.
    mpimr's side comes from read_mpimr, rebuilt with a '\\n' after each record."""
    import hashlib

    return data.count(b"\n"), hashlib.sha256(data).hexdigest()


def read_mpimr(path, job):
    """mpimr's output: grep {match: count}; invindex {word: (file, ...)};
    groupby {key: {op: value}}; stream-cat (lines, sha256);
    stream-json lines_answer()."""
    import h5py

    with h5py.File(path, "r") as f:
        g = f[mpimr_job(job)]
        if job in STREAM_JOBS:
            import numpy as np

            rb, ro = g["record_bytes"][()], g["record_offsets"][()]
            if job == "stream-cat":  # a '\\n' after every record, at numpy speed
                return cat_answer(np.insert(rb, ro[1:].astype(np.int64), 10).tobytes())
            rb, ro = rb.tobytes(), ro.tolist()
            return lines_answer(None, [rb[ro[i]:ro[i + 1]] for i in range(len(ro) - 1)])
        kb, off = g["key_bytes"][()].tobytes(), g["key_offsets"][()].tolist()
        keys = [kb[off[i]:off[i + 1]] for i in range(len(off) - 1)]
        if job == "grep":
            return dict(zip(keys, g["values"][()].tolist()))
        if job == "invindex":
            vals, vo = g["values"][()].tolist(), g["value_offsets"][()].tolist()
            return {k: tuple(vals[vo[i]:vo[i + 1]]) for i, k in enumerate(keys)}
        cols = {op: g["values"][op][()].tolist() for op in g["values"]}
        return {k: {op: v[i] for op, v in cols.items()} for i, k in enumerate(keys)}


def read_answer(c, out):
    if c.peer == "mpimr":
        return read_mpimr(f"{out}/out.h5", c.job)
    if c.peer == "grep":
        return R.read_uniq(f"{out}/uniq.txt")
    if c.job in STREAM_JOBS:
        data = Path(f"{out}/out.txt").read_bytes()
        return cat_answer(data) if c.job == "stream-cat" else lines_answer(data)
    if c.job == "grep":
        return dict(R.read_tsv([f"{out}/out.tsv"]))
    with open(f"{out}/out.tsv", "rb") as f:
        if c.job == "invindex":
            return {w: tuple(map(int, fs.split(b","))) for w, fs in
                    (line[:-1].split(b"\t", 1) for line in f)}
        ops = ["count", "sum"] if c.peer == "awk" else ["count", "sum", "min", "max", "mean"]
        ans = {}
        for line in f:
            k, *v = line[:-1].rsplit(b"\t", len(ops))
            ans[k] = dict(zip(ops, map(float, v)))
        return ans


def same_groups(ref, got):
    """count, min and max exactly; sum and mean within 1e-9 of their size
    (the values are positive, so that is the sum of magnitudes), since the
    order of additions differs from peer to peer."""
    return all(got[op] == ref[op] if op in ("count", "min", "max")
               else abs(got[op] - ref[op]) <= 1e-9 * abs(ref[op]) for op in got)


def agreement(ref, got, same=None):
    """"yes" or "NO (what differs)": got's whole table against mpimr's."""
    same = same or (lambda x, y: x == y)
    differ = [k for k, v in ref.items() if k in got and not same(v, got[k])]
    missing = [k for k in ref if k not in got]
    extra = [k for k in got if k not in ref]
    if not (differ or missing or extra):
        return "yes"
    ex = (differ + missing + extra)[:3]
    show = ", ".join(f"{k[:20]!r}: {str(got.get(k, '-'))[:40]} vs {str(ref.get(k, '-'))[:40]}" for k in ex)
    return (f"NO ({len(differ)} of {len(ref)} keys differ, {len(missing)} missing, {len(extra)} extra; "
            f"e.g. {show})")


def stream_agreement(job, ref, got):
    """"yes" (stream-json: "yes, in input order" or "yes, sorted") or "NO (...)"."""
    if job == "stream-cat":
        return "yes" if got == ref else f"NO ({got[0]} lines, sha256 {got[1][:12]}; mpimr {ref[0]}, {ref[1][:12]})"
    if got[0] != ref[0] or got[2] != ref[2]:
        return f"NO ({got[0]} lines, mpimr {ref[0]}; sorted lines differ)"
    return "yes, in input order" if got[1] == ref[1] else "yes, sorted (not in input order)"


def check(c, out, refs):
    got = read_answer(c, out)
    if c.job in STREAM_JOBS:
        return stream_agreement(c.job, refs[c.job], got)
    return agreement(refs[c.job], got, same_groups if c.job == "groupby" else None)


# ---- the report -------------------------------------------------------------


def label(c):
    return dict((p, lbl) for p, lbl, _ in JOBS[c.job])[c.peer]


def summarize(cfgs, inputs):
    rows = []
    for c in cfgs:
        base = next(b for b in cfgs if b.job == c.job)  # the job's first peer
        r = {"job": c.job, "peer": c.peer, "label": label(c), "np": c.np or "",
             "status": c.status, "runs": len(c.times), "agrees": c.agrees or "",
             "baseline": base.peer}
        r.update(R.figures(c, base, inputs[c.job]["bytes"], "x_base"))
        if getattr(c, "map_rates", None):
            r["map_mb_s_rank"] = statistics.median(c.map_rates)
        rows.append(r)
    return rows


def headlines(cfgs, job):
    """A table of mpimr's speed-up over each peer: the peer's time over
    mpimr's, as the ratio of the medians and (paired) the median of each
    round's own ratio."""
    mine = [c for c in cfgs if c.job == job and c.peer == "mpimr" and c.times]
    others = [c for c in cfgs if c.job == job and c.peer != "mpimr" and c.times]
    if not mine or not others:
        return []
    out = ["mpimr's speed-up over each peer (the peer's time / mpimr's: ratio of the medians, "
           "and in brackets the median of the rounds' own ratios):", "",
           "| mpimr | " + " | ".join(label(o) + (f" np {o.np}" if o.np else "") for o in others) + " |",
           "|---|" + "---:|" * len(others)]
    for m in mine:
        cells = []
        for o in others:
            both = [k for k in m.times if k in o.times]
            cells.append(f"{statistics.median(o.times.values()) / statistics.median(m.times.values()):.2f}x "
                         f"({statistics.median(o.times[k] / m.times[k] for k in both):.2f}x)" if both else "")
        out.append(f"| np {m.np} | " + " | ".join(cells) + " |")
    return out + [""]


def per_rank(rows, job, nbytes):
    """stream-cat: mpimr's MB/s per rank, by wall time and by the job's own
    time (--stats: from start to file written, without mpirun's start-up)."""
    mp = [r for r in rows if r["job"] == job and r["peer"] == "mpimr" and r.get("median_s")]
    if job != "stream-cat" or not mp:
        return []
    L = ["MB/s per rank: input MB / median time / ranks, by wall time and by the job's own time "
         "(`--stats`: start to file written, which includes writing every record to the HDF5 file "
         "and its fsync); and the map phase alone (the command's pipes and the records: each rank's "
         "bytes read over its map seconds, the slowest rank, median over rounds):", "",
         "| np | wall s | MB/s per rank, wall | job s | MB/s per rank, job | map phase MB/s per rank |",
         "|---:|---:|---:|---:|---:|---:|"]
    for r in mp:
        n = r["np"] or 1
        js = r.get("job_s")
        L.append(f"| {r['np'] or 0} | {r['median_s']:.3f} | {nbytes / 1e6 / r['median_s'] / n:.0f} "
                 f"| {R.fmt(js, '.3f')} | {R.fmt(js and nbytes / 1e6 / js / n, '.0f')} "
                 f"| {R.fmt(r.get('map_mb_s_rank'), '.0f')} |")
    return L + [""]


def describe_answer(job, ref):
    if job == "grep":
        return f"{sum(ref.values())} matches, {len(ref)} distinct"
    if job == "invindex":
        return f"{len(ref)} words, {sum(map(len, ref.values()))} (word, file) pairs"
    if job in STREAM_JOBS:
        return f"{ref[0]} lines"
    return f"{int(sum(v['count'] for v in ref.values()))} rows, {len(ref)} keys"


def machine():
    """run.py's machine table without Dask and MR-MPI, with the versions of
    this benchmark's peers; taken before the rounds, so that the commit is
    the one the run started from."""

    def version(argv, pattern):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, env=R.ENV)
        except OSError:
            return "?"
        m = re.search(pattern, out.stdout + out.stderr)
        return m.group(1) if m else "?"

    rows = [r for r in R.machine() if not r[0].startswith(("Dask", "MR-MPI"))]
    return rows + [
        ("GNU grep", version(["grep", "--version"], r"(\d+\.\d+(?:\.\d+)?)")),
        ("awk", version(["awk", "-W", "version"], r"^(\S+ [\d.]+)")),
        ("pandas", version([PY, "-c", "import pandas; print(pandas.__version__)"], r"(\S+)")),
        ("glibc (mpimr's regex)", version(["ldd", "--version"], r"(\d+\.\d+)")),
    ]


def notes(a):
    """The notes of the jobs that ran."""
    n = {"grep": "- grep: POSIX (mpimr, GNU grep) is leftmost-longest and Python's `re` leftmost-first; "
                 "for this pattern (a run of letters up to a word boundary) the matches are the same.",
         "groupby": "- groupby: count, min and max must be equal; sum and mean within 1e-9 relative, "
                    "since every peer adds in its own order. `awk` gives count and sum only (Debian's "
                    "default `awk`, mawk). pandas runs in one process.",
         "stream-cat": "- stream-cat: `agrees` compares the bytes (sha256) of the output with mpimr's "
                       "records, each followed by `\\n`: the same lines in the same order. mpimr's "
                       "time includes writing them all into the HDF5 file.",
         "stream-json": "- stream-json: every peer runs `/usr/bin/python3 examples/python/json_mapper.py`; "
                        "`agrees` compares the sorted lines (sha256), and says whether they also came "
                        "in input order (`parallel --pipe` without `-k` need not keep it). `parallel` "
                        "cuts its stdin into 1 MB blocks (its default `--block`), a mapper process "
                        "per block, at most N at a time."}
    out = [n[j] for j in a.jobs if j in n]
    if any(j in a.jobs for j in ("grep", "invindex", "groupby")):
        out.append("- The `Pool` peers hand one file to each task: the grep input has "
                   f"{a.grep_files} files, the invindex input {a.index_files}, the CSV {a.csv_files}.")
    return out


def write_markdown(path, a, cfgs, rows, inputs, refs, absent, plot_note, mach):
    L = [f"# mpimr jobs benchmark: {', '.join(a.jobs)}", ""]
    if a.smoke:
        L += ["**Smoke run** (tiny inputs, one round): it shows that every peer runs and agrees, "
              "not how fast anything is.", ""]
    L += [f"{a.runs} round(s); in each round every configuration of every job runs once, in an "
          "order rotated from round to round, with `LC_ALL=C` and the files already in the page "
          "cache. Times are wall-clock medians over the rounds; MB/s is input bytes (10^6) / median "
          "time. `x base` is the time relative to the job's first peer (its everyday tool) in the "
          "same invocation: the ratio of the medians, and the median of each round's own ratio "
          "(paired). Peak RSS is GNU `time -v`'s maximum resident set size: that of the largest "
          "single process (per rank for `mpirun`, per worker or parent for the pools), never a sum. "
          "`agrees` compares the peer's whole answer, first round, with mpimr's output, read back "
          "from its HDF5 file.", ""]
    for job in a.jobs:
        inp = inputs[job]
        L += [f"## {job}", "", f"Command: {inp['what']}", "",
              f"Input: {inp['desc']}: {len(inp['files'])} files, {inp['bytes'] / 1e6:.1f} MB; "
              f"mpimr's answer: {describe_answer(job, refs[job])}.", ""]
        L += headlines(cfgs, job) + per_rank(rows, job, inp["bytes"]) + ["| peer | np | median s | MB/s | x base (medians) | "
                                         "x base (paired) | peak RSS MiB, largest process | agrees with mpimr | runs |",
                                     "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
        for r in (r for r in rows if r["job"] == job):
            if r["status"] != "ok" and not r["runs"]:
                L.append(f"| {r['label']} | {r['np']} | {r['status']} | | | | | {r['agrees']} | 0 |")
                continue
            L.append(f"| {r['label']} | {r['np']} | {R.fmt(r.get('median_s'), '.3f')} "
                     f"| {R.fmt(r.get('mb_s'), '.1f')} | {R.fmt(r.get('x_base_medians'), '.2f')} "
                     f"| {R.fmt(r.get('x_base_paired'), '.2f')} | {R.fmt(r.get('peak_rss_mib'), '.1f')} "
                     f"| {r['agrees']} | {r['runs']}{'' if r['status'] == 'ok' else ' (' + r['status'] + ')'} |")
        for peer, why in absent.get(job, {}).items():
            L.append(f"| {peer} | | not installed: {why} | | | | | | 0 |")
        L.append("")
    mp = [r for r in rows if r["peer"] == "mpimr" and r.get("job_s")]
    if mp:
        L += ["## mpimr's own figures", "",
              "From `--stats`: the job from its start to the file written, so `wall - job` is "
              "`mpirun`, `MPI_Init` and process start-up; and the largest per-rank peak RSS that "
              "mpimr measured itself.", "",
              "| job | np | wall s | job s | wall - job s | peak RSS per rank MiB (mpimr) |",
              "|---|---:|---:|---:|---:|---:|"]
        L += [f"| {r['job']} | {r['np']} | {r['median_s']:.3f} | {r['job_s']:.3f} "
              f"| {r['median_s'] - r['job_s']:.3f} | {r['job_rss_mib']:.1f} |" for r in mp]
        L.append("")
    L += ["## Notes", "",
          "- The reference for every `agrees` is an untimed run of the same mpimr job without "
          "`mpirun` (one rank), which also warms the page cache; the timed mpimr runs are compared "
          "with it like every peer.",
          *notes(a),
          "- `mpirun` gets `--oversubscribe`; on a node with more ranks than CPUs, mpimr reads "
          "input on only as many ranks as CPUs (`--mappers cores`).",
          f"- {plot_note}", "", "## Machine", "", "| | |", "|---|---|"]
    L += [f"| {k} | {v} |" for k, v in mach]
    L += ["", f"Command: `{a.command}`", ""]
    Path(path).write_text("\n".join(L))


def write_csv(path, rows, inputs):
    cols = ["job", "input", "input_bytes", "peer", "np", "status", "runs", "median_s", "min_s", "max_s",
            "mb_s", "baseline", "x_base_medians", "x_base_paired", "peak_rss_mib", "job_s", "job_rss_mib",
            "map_mb_s_rank",
            "agrees", "times_s"]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            r = {k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()}
            w.writerow(dict(r, input=inputs[r["job"]]["name"], input_bytes=inputs[r["job"]]["bytes"]))


def plot(path, a, rows):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"No plot: matplotlib is not available ({e})."
    fig, axes = plt.subplots(1, len(a.jobs), figsize=(5 * len(a.jobs), 4.5), squeeze=False)
    for ax, job in zip(axes[0], a.jobs):
        jr = [r for r in rows if r["job"] == job and "mb_s" in r]
        for peer, style in STYLE.items():
            pts = [(r["np"], r["mb_s"]) for r in jr if r["peer"] == peer]
            if pts:
                ax.plot(*zip(*pts), style, label=jr[[r["peer"] for r in jr].index(peer)]["label"].replace("`", ""))
        flat = [r for r in jr if r["peer"] not in STYLE]
        for i, r in enumerate(flat):
            ax.axhline(r["mb_s"], linestyle=["--", ":", "-.", (0, (5, 1))][i % 4], color=f"C{i + 3}",
                       label=r["label"].replace("`", "").replace("\\|", "|"))
        ax.set_xscale("log", base=2)
        ax.set_xticks(a.np, [str(n) for n in a.np])
        ax.set_xlabel("processes (ranks / workers)")
        ax.set_ylabel("MB/s (input bytes / median wall time)")
        ax.set_ylim(bottom=0)
        ax.set_title(job, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"mpimr jobs vs peers, {os.cpu_count()} cores, median of {a.runs}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return (f"Plot: `{Path(path).name}` (throughput against process count per job; one-process "
            "peers as flat lines).")


# ---- main -------------------------------------------------------------------


def parse_args():
    ap = argparse.ArgumentParser(description="Benchmark mpimr's grep, invindex and groupby jobs "
                                             "against their peers (see bench/README.md).")
    ap.add_argument("--jobs", default="grep,invindex,groupby",
                    help="comma-separated, from " + ", ".join(JOBS) + " (stream: both stream jobs)")
    ap.add_argument("--size", default="200M", help="bytes of each job's input (K, M, G suffixes)")
    ap.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--np", default="1 2 4", help='process counts, e.g. "1 2 4"')
    ap.add_argument("--pattern", default=r"[a-z]+(s|y|ed|ing)\b", help="grep: the ERE")
    ap.add_argument("--vocab", type=int, default=1000000, help="grep, invindex: distinct words of the Zipf text")
    ap.add_argument("--grep-files", type=int, default=8, help="grep: files of the Zipf text")
    ap.add_argument("--index-files", type=int, default=200, help="invindex: files of the Zipf text")
    ap.add_argument("--csv-files", type=int, default=8, help="groupby: CSV files")
    ap.add_argument("--keys", type=int, default=300000, help="groupby: distinct customers")
    ap.add_argument("--stream-size", default="300M", help="stream-cat: bytes of its one Zipf file")
    ap.add_argument("--json-lines", type=int, default=500000, help="stream-json: JSON Lines rows (4 files)")
    ap.add_argument("--seed", type=int, default=42, help="seed of every input")
    R.add_run_options(ap, 600, "bench/results/jobs-DATE", "packages",
                      mpimr_help="the mpimr binary; mpimr-gen-zipf is taken from beside it")
    a = ap.parse_args()
    a.command = " ".join(["bench/jobs.sh", *sys.argv[1:]])
    if a.smoke:
        a.size, a.runs, a.np, a.keys = "4M", 1, "1 2", 3000
        a.stream_size, a.json_lines = "4M", 20000
        a.out = a.out or str(R.BENCH / "results" / "smoke" / "jobs")
    a.np = [int(x) for x in a.np.replace(",", " ").split()]
    a.jobs = [j.strip() for j in a.jobs.split(",") if j.strip()]
    a.jobs = [x for j in a.jobs for x in (STREAM_JOBS if j == "stream" else [j])]
    bad = [j for j in a.jobs if j not in JOBS]
    if bad:
        ap.error(f"unknown job(s) {', '.join(bad)}; known: {', '.join(JOBS)}")
    a.key, a.value = "customer", "amount"
    return a


def main():
    a = parse_args()
    os.chdir(ROOT)
    pkgs = {"time", "python3-h5py", "python3-numpy", "python3-matplotlib"}
    if "groupby" in a.jobs:
        pkgs.add("python3-pandas")
    if "stream-json" in a.jobs:
        pkgs.add("parallel")
    failed = {} if a.no_install else R.install_packages(pkgs)
    if not Path("/usr/bin/time").exists():
        sys.exit("bench: GNU time (/usr/bin/time) is needed: apt-get install time")
    mpimr = Path(a.mpimr).resolve()
    R.build_mpimr(mpimr)
    gen = mpimr.parent / "mpimr-gen-zipf"
    help_ = R.sh([str(mpimr), "jobs"]).stdout
    missing = [j for j in a.jobs if not re.search(rf"^{mpimr_job(j)}\s", help_, re.M)]
    if missing:
        sys.exit(f"bench: {mpimr} has no job {', '.join(missing)}")

    absent = {}
    if "groupby" in a.jobs:
        r = R.sh([PY, "-c", "import pandas"])
        if r.returncode != 0:
            why = failed.get("python3-pandas") or (r.stderr.strip().splitlines() or ["import failed"])[-1]
            absent["groupby"] = {"pandas": why}
    if "stream-json" in a.jobs and not shutil.which("parallel"):
        absent["stream-json"] = {"parallel": failed.get("parallel") or "GNU parallel is not on PATH"}

    out = Path(a.out or R.BENCH / "results" / f"jobs-{datetime.datetime.now():%Y%m%d-%H%M%S}")
    out.mkdir(parents=True, exist_ok=True)
    scratch = DATA / "scratch" / str(os.getpid())
    inputs, refs, cfgs = {}, {}, []
    for job in a.jobs:
        name, files, desc = make_inputs(a, job, gen)
        what = {"grep": f"`mpimr grep '{a.pattern}' FILES`", "invindex": "`mpimr invindex FILES`",
                "groupby": f"`mpimr groupby --key {a.key} --value {a.value} --op {','.join(OPS)} FILES`",
                "stream-cat": "`mpimr stream --map cat FILES` (map only)",
                "stream-json": "`mpimr stream --map 'python3 examples/python/json_mapper.py' FILES` "
                               "(map only)"}[job]
        inputs[job] = dict(name=name, files=files, desc=desc, what=what,
                           bytes=R.input_bytes(files))
        R.log(f"{job}: {len(files)} files, {inputs[job]['bytes'] / 1e6:.1f} MB; reference run")
        ref = R.Config("mpimr", 0, f"reference-{job}")
        ref.job = job
        try:
            launch(ref, a, files, scratch / ref.key, mpimr)
        except RuntimeError as e:
            sys.exit(f"bench: the reference mpimr {job} run failed: {e}")
        refs[job] = read_mpimr(scratch / ref.key / "out.h5", job)
        for peer, _, takes_np in JOBS[job]:
            if peer in absent.get(job, {}):
                continue
            nps = a.np if peer == "mpimr" else [n for n in a.np if n > 1] if takes_np else [0]
            for n in nps:
                c = R.Config(peer, n, f"{job}-{peer}" + (f"-np{n}" if n else ""))
                c.job = job
                cfgs.append(c)

    mach = machine()
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    R.run_rounds(cfgs, a.runs, scratch, a.keep,
                 lambda c, o: launch(c, a, inputs[c.job]["files"], o, mpimr),
                 lambda c, o: check(c, o, refs))

    # Other work on the machine moves every time: the load says how much there was.
    mach += [("load average, 1 / 5 / 15 min", f"{load} before the rounds, "
              f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} after")]
    rows = summarize(cfgs, inputs)
    note = plot(out / "throughput.png", a, rows)
    write_markdown(out / "results.md", a, cfgs, rows, inputs, refs, absent, note, mach)
    write_csv(out / "results.csv", rows, inputs)
    R.log(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}/results.md, results.csv, "
          "throughput.png")
    print((out / "results.md").read_text())
    bad = [c.key for c in cfgs if c.status != "ok" or (c.agrees or "").startswith("NO")]
    if bad:
        sys.exit(f"bench: failed or disagreed: {', '.join(bad)}")


if __name__ == "__main__":
    main()
