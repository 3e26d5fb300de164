#!/usr/bin/python3
"""Shared helpers for the mpimr end-to-end tests (stdlib + h5py + numpy only).

What lives here:
  * run() / run_mpimr(): run a command (optionally under an MPI launcher string
    such as "mpiexec -n 3 --oversubscribe") with the Open MPI run-as-root
    variables set and a hard timeout.  A timeout kills the whole process group
    and is reported as a test failure ("never a hang").
  * walk_inputs() / oracle(): the files the engine should read, walked like the
    engine (directories recursively, sorted by the bytes of the path), and the
    reference table Counter(data.split()) computed per file.
  * read_result(): read an mpimr HDF5 result into a list of (key bytes, value)
    in file order plus its attributes.
  * check_result(): check the format (root and group attributes, dataset
    dtypes and shapes, key_offsets monotone from 0 to len(key_bytes), no
    duplicate or empty keys, /inputs, /stats/phase_seconds) and compare the
    table against the oracle, printing a diff of the first differing keys.
  * check_order(): check the row order for --order count / key.
  * wc_words(): `LC_ALL=C wc -w` over the files, an independent oracle for
    plain text.

Every check returns a list of error strings (empty means pass), so scripts
can collect them and print them all.

This module is imported by check_wordcount.py, same_at_every_np.py and
bad_input.py; it is not run on its own.
"""

import collections
import os
import shlex
import signal
import subprocess
import sys

import h5py
import numpy as np

DEFAULT_TIMEOUT = 300

# Open MPI refuses to run as root without these; the tests run as root in CI.
MPI_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
}

# The six ASCII whitespace bytes of the word rule (those of bytes.split()).
WHITESPACE = b" \t\n\v\f\r"

JOB = "wordcount"
NPHASES = 6


class TestFailure(Exception):
    """A failure that stops the current check (e.g. a timeout)."""


# ---------------------------------------------------------------------------
# running commands

def mpi_env(extra=None):
    env = dict(os.environ)
    env.update(MPI_ENV)
    if extra:
        env.update(extra)
    return env


def split_launch(launch):
    """Split a launcher string with shlex; "" or None means no launcher."""
    return shlex.split(launch) if launch else []


def launch_nranks(launch):
    """Guess the rank count from a launcher string (-n/-np/--np/-c N).

    Returns 1 for no launcher, None when it cannot tell.
    """
    words = split_launch(launch)
    if not words:
        return 1
    for i, w in enumerate(words):
        if w in ("-n", "-np", "--np", "-c", "--n") and i + 1 < len(words):
            try:
                return int(words[i + 1])
            except ValueError:
                return None
        for prefix in ("-n=", "-np=", "--np=", "--n="):
            if w.startswith(prefix):
                try:
                    return int(w[len(prefix):])
                except ValueError:
                    return None
    return None


class Result:
    """What a finished command gave: rc, stdout and stderr (bytes)."""

    def __init__(self, cmd, rc, out, err):
        self.cmd = cmd
        self.rc = rc
        self.out = out
        self.err = err

    def err_lines(self):
        return self.err.decode("utf-8", "replace").splitlines()

    def describe(self):
        s = "command: %s\nexit status: %s\n" % (shlex.join(self.cmd), self.rc)
        if self.out:
            s += "stdout:\n" + _indent(self.out.decode("utf-8", "replace"), 4000)
        if self.err:
            s += "stderr:\n" + _indent(self.err.decode("utf-8", "replace"), 4000)
        return s


def _indent(text, limit):
    if len(text) > limit:
        text = text[:limit] + "\n...(%d more characters)" % (len(text) - limit)
    return "".join("    " + line + "\n" for line in text.splitlines())


def run(cmd, timeout=DEFAULT_TIMEOUT, cwd=None, stdin=subprocess.DEVNULL):
    """Run cmd (a list) in its own process group; raise TestFailure on timeout.

    On timeout the whole group (launcher and ranks) gets SIGTERM, then
    SIGKILL, so that a hung job never outlives the test.
    """
    try:
        p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=cwd, env=mpi_env(),
                             start_new_session=True)
    except OSError as e:
        raise TestFailure("cannot run %s: %s" % (shlex.join(cmd), e))
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(p)
        out, err = p.communicate()
        r = Result(cmd, None, out, err)
        raise TestFailure("HANG: no exit after %s s (killed)\n%s"
                          % (timeout, r.describe()))
    return Result(cmd, p.returncode, out, err)


def _kill_group(p):
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_mpimr(mpimr, launch, args, timeout=DEFAULT_TIMEOUT, cwd=None):
    """Run `LAUNCH mpimr ARGS...` and return a Result."""
    cmd = split_launch(launch) + [mpimr] + [str(a) for a in args]
    return run(cmd, timeout=timeout, cwd=cwd)


# ---------------------------------------------------------------------------
# the oracle

def _pathkey(p):
    return os.fsencode(p)


def walk_inputs(inputs):
    """The regular files the engine should read, in the engine's order.

    A file argument stands for itself (a symlink named is followed); a
    directory stands for every regular file below it, recursively, sorted by
    the bytes of the path, leaving out symlinks met inside it (as grep -r
    does).  A file named or reached twice (the same device and inode) is
    read once, where it was met first.
    """
    files, seen = [], set()

    def add(p):
        st = os.stat(p)
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            files.append(p)

    for arg in inputs:
        if os.path.isdir(arg):
            found = []
            for dirpath, dirnames, filenames in os.walk(arg):
                for name in filenames:
                    p = os.path.join(dirpath, name)
                    if os.path.isfile(p) and not os.path.islink(p):
                        found.append(p)
            found.sort(key=_pathkey)
            for p in found:
                add(p)
        else:
            add(arg)
    return files


class Oracle:
    """Counter(bytes.split()) over each file, plus word, byte and file totals."""

    def __init__(self, files):
        self.files = list(files)
        self.counter = collections.Counter()
        self.words = 0
        self.sizes = []
        for f in self.files:
            with open(f, "rb") as fh:
                data = fh.read()
            self.sizes.append(len(data))
            w = data.split()
            self.words += len(w)
            self.counter.update(w)
            del data, w
        self.bytes = sum(self.sizes)


def oracle(inputs):
    return Oracle(walk_inputs(inputs))


def wc_words(files):
    """Total words by `LC_ALL=C wc -w` over the files (each file on its own)."""
    if not files:
        return 0
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    names = b"".join(os.fsencode(f) + b"\0" for f in files)
    p = subprocess.run(["wc", "-w", "--files0-from=-"], input=names,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=DEFAULT_TIMEOUT)
    if p.returncode != 0:
        raise TestFailure("wc -w failed: %s" % p.stderr.decode("utf-8", "replace"))
    # The last line is "N total" (several files) or "N name" (one file).
    last = p.stdout.splitlines()[-1]
    return int(last.split()[0])


# ---------------------------------------------------------------------------
# reading a result file

def _plain(v):
    """An HDF5 attribute as a plain Python value (str, int, float, list)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        if v.shape == () or v.size == 1 and v.ndim <= 1:
            return _plain(v.reshape(-1)[0] if v.ndim else v[()])
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


class H5Result:
    """An mpimr output file, read whole.

    items: list of (key bytes, value) in file order.
    root_attrs, group_attrs: plain dicts.
    key_bytes, key_offsets, values: the raw numpy arrays (dtype kept).
    paths (list of bytes), sizes (list of int): /inputs.
    phase_seconds: numpy array or None; phase_names: list or None.
    """

    def __init__(self, path, job=JOB):
        self.path = path
        self.job = job
        self.problems = []
        with h5py.File(path, "r") as f:
            self.root_attrs = {k: _plain(v) for k, v in f.attrs.items()}
            if job not in f:
                raise TestFailure("%s: no group /%s" % (path, job))
            g = f[job]
            self.group_attrs = {k: _plain(v) for k, v in g.attrs.items()}
            for name in ("key_bytes", "key_offsets", "values"):
                if name not in g:
                    raise TestFailure("%s: no dataset /%s/%s" % (path, job, name))
            self.key_bytes = _read(g["key_bytes"])
            self.key_offsets = _read(g["key_offsets"])
            self.values = _read(g["values"])
            self.paths = self.sizes = None
            if "inputs" in f:
                i = f["inputs"]
                if all(n in i for n in ("path_bytes", "path_offsets", "sizes")):
                    pb = _read(i["path_bytes"]).tobytes()
                    po = [int(x) for x in _read(i["path_offsets"])]
                    self.paths = [pb[po[k]:po[k + 1]] for k in range(len(po) - 1)]
                    self.sizes = [int(x) for x in _read(i["sizes"])]
            self.phase_seconds = self.phase_names = None
            if "stats" in f and "phase_seconds" in f["stats"]:
                d = f["stats"]["phase_seconds"]
                self.phase_seconds = _read(d)
                if "phase_names" in d.attrs:
                    names = _plain(d.attrs["phase_names"])
                    self.phase_names = names if isinstance(names, list) else [names]
        self.items = self._items()

    def _items(self):
        kb = self.key_bytes.tobytes()
        off = [int(x) for x in self.key_offsets]
        vals = [int(x) if self.values.dtype.kind in "iu" else float(x)
                for x in self.values]
        n = len(vals)
        if len(off) != n + 1:
            self.problems.append("key_offsets has %d entries, values has %d "
                                 "(want N+1 = %d)" % (len(off), n, n + 1))
            n = min(n, max(len(off) - 1, 0))
        return [(kb[off[i]:off[i + 1]], vals[i]) for i in range(n)]


def _read(ds):
    if ds.shape is None:          # null dataspace
        return np.zeros((0,), dtype=ds.dtype)
    return ds[()] if ds.shape == () else ds[...]


def read_result(path, job=JOB):
    return H5Result(path, job)


# ---------------------------------------------------------------------------
# checks

def show_key(k, limit=40):
    """A short printable form of a key."""
    s = repr(k[:limit])
    if len(k) > limit:
        s += "...(%d bytes)" % len(k)
    return s


def diff_tables(got_items, want, limit=5):
    """Errors describing where the file's table differs from the Counter."""
    fast = dict(got_items)  # the common case, a million keys, at C speed
    if len(fast) == len(got_items) and fast == dict(want):
        return []
    errors = []
    got = {}
    dups = []
    for k, v in got_items:
        if k in got:
            dups.append(k)
            got[k] += v
        else:
            got[k] = v
    if dups:
        errors.append("%d keys appear more than once in the file, e.g. %s"
                      % (len(dups), ", ".join(show_key(k) for k in dups[:limit])))
    bad = [k for k in set(got) | set(want) if got.get(k) != want.get(k)]
    if bad:
        # Most frequent (by the oracle) first, so that the diff is readable.
        bad.sort(key=lambda k: (-want.get(k, 0), -got.get(k, 0), k))
        missing = sum(1 for k in bad if k not in got)
        extra = sum(1 for k in bad if k not in want)
        errors.append("table differs from the oracle at %d keys (%d missing "
                      "from the file, %d not in the input, %d with a wrong "
                      "count); first %d:" % (len(bad), missing, extra,
                                             len(bad) - missing - extra,
                                             min(limit, len(bad))))
        for k in bad[:limit]:
            errors.append("    key %s: file %s, oracle %s"
                          % (show_key(k), got.get(k, "(absent)"),
                             want.get(k, "(absent)")))
    return errors


def check_order(items, order):
    """Errors if the rows are not in the given order ("count" or "key")."""
    if order == "count":
        rank = lambda kv: (-kv[1], kv[0])
        what = "value descending, then key bytes ascending"
    elif order == "key":
        rank = lambda kv: kv[0]
        what = "key bytes ascending"
    else:
        return []
    for i in range(len(items) - 1):
        a, b = rank(items[i]), rank(items[i + 1])
        if not a < b:
            return ["rows %d and %d are out of order for --order %s (%s): "
                    "%s=%s then %s=%s" % (i, i + 1, order, what,
                                          show_key(items[i][0]), items[i][1],
                                          show_key(items[i + 1][0]), items[i + 1][1])]
    return []


def _norm(p):
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    return os.path.normpath(os.path.abspath(p))


def check_format(res, nranks=None, order=None):
    """Errors in the structure of an output file (no oracle needed)."""
    e = list(res.problems)
    ra, ga = res.root_attrs, res.group_attrs
    for name in ("format", "mpimr_version", "job", "argv", "nranks",
                 "created_utc", "complete"):
        if name not in ra:
            e.append("root attribute %r is missing" % name)
    if ra.get("format") != 2:
        e.append("root attribute format is %r, want 2" % ra.get("format"))
    if ra.get("complete") != 1:
        e.append("root attribute complete is %r, want 1" % ra.get("complete"))
    if "job" in ra and ra["job"] != res.job:
        e.append("root attribute job is %r, want %r" % (ra["job"], res.job))
    if "mpimr_version" in ra and not str(ra["mpimr_version"]).strip():
        e.append("root attribute mpimr_version is empty")
    if "created_utc" in ra and not str(ra["created_utc"]).strip():
        e.append("root attribute created_utc is empty")
    if nranks is not None and "nranks" in ra and ra["nranks"] != nranks:
        e.append("root attribute nranks is %r, want %d" % (ra["nranks"], nranks))

    for name in ("order", "distinct_keys", "total", "records", "input_bytes",
                 "input_files", "layout", "value_kind"):
        if name not in ga:
            e.append("attribute /%s@%s is missing" % (res.job, name))
    for name, want in (("layout", "table"), ("value_kind", "uint64")):
        if name in ga and ga[name] != want:
            e.append("/%s@%s is %r, want %r" % (res.job, name, ga[name], want))
    if order is not None and "order" in ga and ga["order"] != order:
        e.append("/%s@order is %r, want %r" % (res.job, ga["order"], order))

    for name, arr, kind in (("key_bytes", res.key_bytes, np.uint8),
                            ("key_offsets", res.key_offsets, np.uint64),
                            ("values", res.values, np.uint64)):
        if arr.dtype != kind:
            e.append("/%s/%s has dtype %s, want %s"
                     % (res.job, name, arr.dtype, np.dtype(kind)))
        if arr.ndim != 1:
            e.append("/%s/%s has shape %s, want 1-D" % (res.job, name, arr.shape))

    off = res.key_offsets.astype(np.int64) if res.key_offsets.size else res.key_offsets
    n = len(res.values)
    if len(off) != n + 1:
        pass  # already reported by H5Result
    elif len(off):
        if int(off[0]) != 0:
            e.append("key_offsets[0] is %d, want 0" % int(off[0]))
        if int(off[-1]) != len(res.key_bytes):
            e.append("key_offsets[-1] is %d, want len(key_bytes) = %d"
                     % (int(off[-1]), len(res.key_bytes)))
        steps = np.diff(off)
        # No word is empty; a matching line may be (one empty key at most).
        empty_ok = 0 if res.job == "wordcount" else 1
        if len(steps) and (steps.min() < 0 or int((steps == 0).sum()) > empty_ok):
            i = int(np.argmax(steps <= 0)) if empty_ok == 0 else int(np.argmax(steps < 0))
            e.append("key_offsets is not strictly increasing at %d: %d then %d "
                     "(an empty or negative-length key)"
                     % (i, int(off[i]), int(off[i + 1])))
    else:
        e.append("key_offsets is empty, want N+1 = %d entries" % (n + 1))

    # Words hold no whitespace; other jobs' keys (grep's lines) may.
    # Any whitespace byte in key_bytes is in a key (numpy first: it is fast).
    ws = []
    ws_bytes = np.frombuffer(WHITESPACE, np.uint8)
    if res.job == "wordcount" and np.isin(res.key_bytes, ws_bytes).any():
        ws = [k for k, _ in res.items if any(c in WHITESPACE for c in k)]
    if ws and res.job == "wordcount":
        e.append("%d keys contain whitespace bytes, e.g. %s"
                 % (len(ws), show_key(ws[0])))

    if res.phase_seconds is None:
        e.append("/stats/phase_seconds is missing")
    else:
        ps = res.phase_seconds
        want_rows = ra.get("nranks") if nranks is None else nranks
        if ps.ndim != 2 or ps.shape[1] != NPHASES or (
                isinstance(want_rows, int) and ps.shape[0] != want_rows):
            e.append("/stats/phase_seconds has shape %s, want (%s, %d)"
                     % (ps.shape, want_rows, NPHASES))
        if ps.dtype != np.float64:
            e.append("/stats/phase_seconds has dtype %s, want float64" % ps.dtype)
        elif ps.size and (not np.all(np.isfinite(ps)) or ps.min() < 0):
            e.append("/stats/phase_seconds has negative or non-finite times")
        if not res.phase_names:
            e.append("/stats/phase_seconds@phase_names is missing")
        elif len(res.phase_names) != NPHASES:
            e.append("/stats/phase_seconds@phase_names has %d names, want %d"
                     % (len(res.phase_names), NPHASES))

    if res.paths is None:
        e.append("/inputs/path_bytes, path_offsets or sizes is missing")
    elif len(res.paths) != len(res.sizes):
        e.append("/inputs has %d paths but %d sizes"
                 % (len(res.paths), len(res.sizes)))
    return e


def check_against(res, orc, limit=5):
    """Errors where the file disagrees with the oracle (table and totals)."""
    e = diff_tables(res.items, orc.counter, limit)
    ga = res.group_attrs
    vsum = sum(v for _, v in res.items)
    n = len(res.items)
    want = {
        "distinct_keys": len(orc.counter),
        "total": orc.words,
        "records": orc.words,
        "input_bytes": orc.bytes,
        "input_files": len(orc.files),
    }
    for name, value in want.items():
        if name in ga and ga[name] != value:
            e.append("/%s@%s is %r, want %d" % (res.job, name, ga[name], value))
    if "distinct_keys" in ga and ga["distinct_keys"] != n:
        e.append("/%s@distinct_keys is %r but the file has %d keys"
                 % (res.job, ga["distinct_keys"], n))
    if "total" in ga and ga["total"] != vsum:
        e.append("/%s@total is %r but the values add up to %d"
                 % (res.job, ga["total"], vsum))
    if vsum != orc.words:
        e.append("the values add up to %d, the oracle counts %d words"
                 % (vsum, orc.words))

    if res.paths is not None and res.sizes is not None:
        got = [(_norm(p), s) for p, s in zip(res.paths, res.sizes)]
        exp = [(_norm(p), s) for p, s in zip(orc.files, orc.sizes)]
        if sorted(got) != sorted(exp):
            g, x = set(got), set(exp)
            e.append("/inputs lists %d files, want %d; only in file: %s; "
                     "only in input: %s"
                     % (len(got), len(exp), sorted(g - x)[:3], sorted(x - g)[:3]))
        elif got != exp:
            e.append("/inputs lists the right files but not in sorted path "
                     "order; first: %s, want %s" % (got[:3], exp[:3]))
    return e


def check_result(path, orc, nranks=None, order=None, job=JOB, limit=5):
    """Read path and run every check; returns (H5Result or None, errors)."""
    try:
        res = read_result(path, job)
    except TestFailure as x:
        return None, [str(x)]
    except (OSError, KeyError, ValueError) as x:
        return None, ["cannot read %s as an mpimr result: %s" % (path, x)]
    e = check_format(res, nranks=nranks, order=order)
    e += check_against(res, orc, limit)
    if order in ("count", "key"):
        e += check_order(res.items, order)
    return res, e


def report(label, errors, out=sys.stdout):
    """Print PASS/FAIL for a check and its errors; return True on pass."""
    if errors:
        print("FAIL %s" % label, file=out)
        for x in errors:
            for line in str(x).splitlines():
                print("    " + line, file=out)
        return False
    print("PASS %s" % label, file=out)
    return True


# ---------------------------------------------------------------------------
# out of core: line records, /stats counters, spills and memory

MIB = 1 << 20

# What a rank may hold besides its --mem budget (MPI, HDF5, the libraries,
# buffers and the allocator's slack), as the tests bound it: every rank's
# peak_rss_bytes must stay under --mem plus this.  The engine reserves 32 MiB
# for it (MR_MEM_FIXED in src/internal.h).  Measured at --mem 8M on these
# tests' inputs: 20-24 MiB for a run over a 2-byte file (MPI and HDF5 alone),
# up to 42.4 MiB over --mem where a rank spills up to about 30 runs, and more
# where runs pile up (check_spill_memory.py), which this bound is to catch.
RSS_SLACK = 48 * MIB


def line_records(path):
    """The file's line records (bytes, '\\n' dropped): the bytes up to each
    '\\n', and a last line without one; an empty file has none."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def read_stats(path):
    """{counter: [int per rank]} of /stats (phase_seconds left out)."""
    with h5py.File(path, "r") as f:
        st = f["stats"]
        return {n: [int(x) for x in st[n][()]] for n in st
                if n != "phase_seconds" and st[n].ndim == 1}


def spill_errors(stats, min_runs=2, mem=None):
    """Errors unless every rank that read input spilled min_runs sorted runs
    or more (/stats/runs_spilled), with bytes to show for them.  With mem
    (the --mem budget), also unless the runs are worth spilling: a run is
    cut when a table or a collection passes a quarter to a half of the
    budget, so a rank's runs hold mem/16 bytes each on average at least
    (bytes_spilled also counts what later phases spill, never less)."""
    e = []
    runs, spilled = stats.get("runs_spilled"), stats.get("bytes_spilled")
    read = stats.get("bytes_read")
    if runs is None or spilled is None or read is None:
        return ["/stats/runs_spilled, bytes_spilled or bytes_read is missing"]
    mappers = [r for r, b in enumerate(read) if b > 0]
    if not mappers:
        return ["no rank read any input"]
    for r in mappers:
        if runs[r] < min_runs:
            e.append("rank %d read %d bytes and spilled %d runs, want %d or more "
                     "(runs_spilled %s)" % (r, read[r], runs[r], min_runs, runs))
    for r, (n, b) in enumerate(zip(runs, spilled)):
        if n > 0 and b == 0:
            e.append("rank %d spilled %d runs of 0 bytes" % (r, n))
        elif mem and n > 0 and b / n < mem / 16:
            e.append("rank %d spilled %d runs of %.1f KiB on average, under a sixteenth "
                     "of --mem (%d KiB): runs cut far below the budget"
                     % (r, n, b / n / 1024, mem / 16 / 1024))
    return e


def no_spill_errors(stats):
    """Errors unless no rank spilled (the in-memory path)."""
    runs = stats.get("runs_spilled")
    if runs is None:
        return ["/stats/runs_spilled is missing"]
    if any(runs):
        return ["the in-memory run spilled: runs_spilled %s" % runs]
    return []


def rss_errors(stats, mem, slack=RSS_SLACK):
    """Errors unless every rank's peak_rss_bytes is at most mem + slack."""
    peak = stats.get("peak_rss_bytes")
    if not peak:
        return ["/stats/peak_rss_bytes is missing"]
    return ["rank %d peaked at %.1f MiB, over --mem %.0f MiB + %.0f MiB"
            % (r, p / MIB, mem / MIB, slack / MIB)
            for r, p in enumerate(peak) if p > mem + slack]


def rss_note(stats, mem):
    """A line for the log: each rank's peak RSS above --mem, in MiB."""
    peak = stats.get("peak_rss_bytes") or []
    return "peak RSS - --mem per rank: %s MiB (max %.1f)" % (
        ", ".join("%.1f" % ((p - mem) / MIB) for p in peak),
        max(((p - mem) / MIB for p in peak), default=0.0))


def dir_left(d):
    """Errors naming whatever d holds (a spill directory must stay empty)."""
    try:
        names = sorted(os.listdir(d))
    except OSError as x:
        return ["cannot list %s: %s" % (d, x)]
    return ["%s holds %d entries after the run: %s" % (d, len(names), names[:5])] \
        if names else []
