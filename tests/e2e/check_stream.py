#!/usr/bin/python3
"""Check `mpimr stream`'s contract (Hadoop streaming's) at one rank count.

Every case runs `LAUNCH mpimr stream ...` over small files made here in
WORKDIR/in from a fixed seed, most of them with --mappers all and small
--chunk ranges so that every rank runs its own command on a share of the
input, and compares the result, read with h5py (and, for records, `mpimr
show` byte for byte), with Python's own answer:

  map_only      `cat` and a mapper writing two lines per line: every line,
                duplicates kept, in input order across files and ranks; a
                line holding TABs and one without any kept whole
  no_tab        lines without a TAB are keys with empty values: counted by
                --combine count, and reaching a --reduce reducer as such
  combine       --combine sum, count, min and max over integers (negative,
                up to 2^62, signs, spaces around) and floats (dyadic, so that
                every order of addition gives the same bits) against
                Counter/min/max: ints exact (int64 dataset), a key with one
                float is a float
  overflow      a key's integer sum past 2^63-1: exit 1 saying so, no file;
                an integer literal past 64 bits and a value that is no
                number: rejected records (counted in /stream@rejected, a
                warning), --strict makes them an error, and a run whose every
                record is rejected fails
  reduce        a reducer that checks its own input (keys ascending by bytes,
                a key's values adjacent and ascending, no key twice) and
                writes KEY<TAB>N:v1,v2,...: the result, in global key order,
                equals the sorted oracle; 3,000 keys with bytes >= 0x80,
                prefixes of each other and spaces
  env           the mapper sees MPIMR_RANK, MPIMR_NRANKS and its rank's first
                input file as mapreduce_map_input_file, map_input_file and
                MPIMR_INPUT_FILE (ranks in order, each file one of the
                inputs, in input order); a reducer sees MPIMR_RANK and
                MPIMR_NRANKS
  failures      a mapper exiting 3 (exit 1; one line naming the rank, 'map
                command', the command and "status 3"; its stderr's last line
                after it; no output, no temporary file), one killed by
                SIGKILL (the signal named), one that cannot be started
                (/nonexistent: status 127, the shell's reason), a reducer
                exiting 4, and a mapper that hangs under --timeout 2 (exit 1
                within 60 s, no output, no command left running)
  self_check    the comparisons must catch a wrong answer: a record dropped,
                two swapped, a count off by one, a key out of order

The answers are the same at every rank count because each equals Python's,
which does not depend on it.  Not checked here (being changed in the
engine): a mapper that stops reading its input early, and the FILE:LINE of
rejected records.

Usage: check_stream.py --mpimr build/mpimr --launch "mpiexec -n 3 ..." --workdir DIR
"""

import argparse
import collections
import os
import random
import re
import shlex
import shutil
import sys
import time

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

JOB = "stream"
TIMEOUT = 120
PY = sys.executable


# ---------------------------------------------------------------------------
# reading a stream result

def read_stream(path):
    """{layout, kind, attrs, records | items}: a records result's records
    (bytes) or a table's (key bytes, value) rows in file order, values as
    Python ints, floats or bytes."""
    with h5py.File(path, "r") as f:
        g = f[JOB]
        attrs = {k: mrtest._plain(v) for k, v in g.attrs.items()}
        r = {"layout": attrs.get("layout"), "kind": attrs.get("value_kind"),
             "attrs": attrs, "names": sorted(g)}
        if r["layout"] == "records":
            rb, ro = g["record_bytes"][()].tobytes(), g["record_offsets"][()].tolist()
            r["records"] = [rb[ro[i]:ro[i + 1]] for i in range(len(ro) - 1)]
            return r
        kb, ko = g["key_bytes"][()].tobytes(), g["key_offsets"][()].tolist()
        keys = [kb[ko[i]:ko[i + 1]] for i in range(len(ko) - 1)]
        if "value_offsets" in g:
            vb, vo = g["values"][()].tobytes(), g["value_offsets"][()].tolist()
            vals = [vb[vo[i]:vo[i + 1]] for i in range(len(vo) - 1)]
        else:
            r["dtype"] = str(g["values"].dtype)
            vals = g["values"][()].tolist()
        r["items"] = list(zip(keys, vals))
        return r


def run_stream(mpimr, launch, args, timeout=TIMEOUT):
    return mrtest.run_mpimr(mpimr, launch, ["stream", *args], timeout=timeout)


def ok_run(mpimr, launch, args, out):
    """Runs a job that must succeed; (result or None, errors)."""
    if os.path.exists(out):
        os.unlink(out)
    r = run_stream(mpimr, launch, list(args) + ["-o", out])
    if r.rc != 0:
        return None, ["mpimr stream failed:\n" + r.describe()]
    try:
        return read_stream(out), []
    except (OSError, KeyError, ValueError) as x:
        return None, ["cannot read %s: %s" % (out, x)]


def show(mpimr, path):
    r = mrtest.run([mpimr, "show", path])
    if r.rc != 0:
        raise mrtest.TestFailure("mpimr show failed:\n" + r.describe())
    return r.out


# ---------------------------------------------------------------------------
# comparing

def first_diff(got, want, what="record"):
    """Errors unless the lists are equal, naming the first difference."""
    if got == want:
        return []
    n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return ["%d %ss, want %d; first difference at %d: got %s, want %s"
            % (len(got), what, len(want), n,
               repr(got[n])[:80] if n < len(got) else "(end)",
               repr(want[n])[:80] if n < len(want) else "(end)")]


def diff_table(items, want):
    """Errors unless the rows (key, value) are exactly the dict want (no key
    twice; values equal as numbers and of the same kind, int or float)."""
    e = []
    got = dict(items)
    if len(got) != len(items):
        e.append("%d rows but %d distinct keys" % (len(items), len(got)))
    bad = sorted(k for k in set(got) | set(want)
                 if k not in got or k not in want or got[k] != want[k]
                 or type(got[k]) is not type(want[k]))
    if bad:
        e.append("%d keys differ from the oracle; first: %s" % (len(bad), ", ".join(
            "%s: file %r, oracle %r" % (mrtest.show_key(k), got.get(k, "(absent)"),
                                        want.get(k, "(absent)")) for k in bad[:5])))
    return e


# ---------------------------------------------------------------------------
# inputs

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return path


def lines_of(files):
    out = []
    for p in files:
        out += mrtest.line_records(p)
    return out


def make_inputs(d, seed=20261213):
    rng = random.Random(seed)
    shutil.rmtree(d, ignore_errors=True)
    f = {}
    # Map only: numbered lines, runs of duplicates, a TAB inside, no TAB.
    for i in range(3):
        rows = []
        for j in range(400):
            rows.append(b"f%d line %d" % (i, j))
            if j % 7 == 0:
                rows += [b"dup", b"dup"]
            if j % 50 == 0:
                rows += [b"a\tb\tc", b"no tab here", b""]
        f["plain%d" % i] = write(os.path.join(d, "plain%d.txt" % i), b"\n".join(rows) + b"\n")
    # Words, one a line, no TAB.
    words = [b"alpha", b"beta", b"gamma", b"delta", b"\xc3\xa9t\xc3\xa9", b"x y"]
    f["words"] = write(os.path.join(d, "words.txt"), b"".join(
        rng.choice(words) + b"\n" for _ in range(3000)))
    # Numbers: KEY<TAB>VALUE lines.
    rows = []
    for _ in range(6000):
        k = rng.randrange(40)
        if k < 20:                      # integer keys
            v = rng.choice([rng.randrange(-1000, 1000), rng.randrange(1 << 62) // 3000,
                            -rng.randrange(1 << 40)])
            s = rng.choice(["%d", "+%d" if v >= 0 else "%d", " %d", "%d "]) % v
        elif k < 35:                    # float keys (dyadic: exact sums)
            s = rng.choice(["%.3f", "%g", "%.6e", "%.6E"]) % (rng.randrange(-4096, 4096) / 8)
        else:                           # one float among integers
            s = rng.choice(["%d" % rng.randrange(100), "0.5"])
        rows.append(b"k%02d\t%s" % (k, s.encode()))
    f["numbers"] = write(os.path.join(d, "numbers.tsv"), b"\n".join(rows) + b"\n")
    # Keys for the reducer: bytes >= 0x80, prefixes, spaces.
    rows = []
    stems = [b"a", b"ab", b"a b", b"B", b"\xc3\xa9", b"\xff", b"z"]
    for _ in range(9000):
        k = rng.choice(stems) + b"%d" % rng.randrange(430)
        rows.append(k + b"\t" + b"%d" % rng.randrange(1000))
    f["pairs"] = write(os.path.join(d, "pairs.tsv"), b"\n".join(rows) + b"\n")
    return f


def values_oracle(files, op):
    """{key: value} of --combine op over KEY<TAB>VALUE lines: ints exact,
    a key with any float a float."""
    acc = {}
    for line in lines_of(files):
        k, _, v = line.partition(b"\t")
        s = v.strip(b" \t\r")
        x = 1 if op == "count" else int(s) if re.fullmatch(rb"[-+]?\d+", s) else float(s)
        if k not in acc:
            acc[k] = x
        elif op in ("sum", "count"):
            acc[k] = acc[k] + x
        elif op == "min":
            acc[k] = x if x < acc[k] else acc[k]
        else:
            acc[k] = x if x > acc[k] else acc[k]
    if any(isinstance(v, float) for v in acc.values()):   # a float64 dataset
        acc = {k: float(v) for k, v in acc.items()}
    return acc


# ---------------------------------------------------------------------------
# the cases

SPREAD = ["--mappers", "all", "--chunk", "512"]  # every rank maps, many ranges


def case_map_only(a, f):
    e = []
    plain = [f["plain0"], f["plain1"], f["plain2"]]
    want = lines_of(plain)
    for cmd, expect in (("cat", want),
                        ("awk '{ print \"1:\" $0; print \"2:\" $0 }'",
                         [p + l for l in want for p in (b"1:", b"2:")])):
        out = os.path.join(a.workdir, "map_only.h5")
        res, err = ok_run(a.mpimr, a.launch, ["--map", cmd, *SPREAD, *plain], out)
        if err:
            e += err
            continue
        if res["layout"] != "records" or res["names"] != ["record_bytes", "record_offsets"]:
            e.append("%s: layout %r holding %s, want records" % (cmd, res["layout"], res["names"]))
        e += ["%s: %s" % (cmd, x) for x in first_diff(res["records"], expect)]
        if res["attrs"].get("records") != len(want):
            e.append("%s: /stream@records is %r, want %d input records"
                     % (cmd, res["attrs"].get("records"), len(want)))
        shown = show(a.mpimr, out)
        if shown != b"".join(x + b"\n" for x in expect):
            e.append("%s: mpimr show does not print the records as written" % cmd)
    return e


def case_no_tab(a, f):
    e = []
    want = collections.Counter(mrtest.line_records(f["words"]))
    out = os.path.join(a.workdir, "no_tab.h5")
    res, err = ok_run(a.mpimr, a.launch, ["--map", "cat", "--combine", "count", *SPREAD,
                                          f["words"]], out)
    e += err or diff_table(res["items"], dict(want))
    res, err = ok_run(a.mpimr, a.launch, ["--map", "cat", "--reduce", "sort -u", *SPREAD,
                                          f["words"]], out)
    if not err:
        if res["kind"] != "bytes":
            err.append("--reduce result has value_kind %r, want bytes" % res["kind"])
        err += first_diff(res["items"], [(k, b"") for k in sorted(want)], "row")
    return e + ["--reduce: " + x for x in err]


def case_combine(a, f):
    e = []
    out = os.path.join(a.workdir, "combine.h5")
    for op in ("sum", "count", "min", "max"):
        res, err = ok_run(a.mpimr, a.launch, ["--map", "cat", "--combine", op, *SPREAD,
                                              f["numbers"]], out)
        if not err:
            want = values_oracle([f["numbers"]], op)
            err = diff_table(res["items"], want)
            kind = "float64" if any(isinstance(v, float) for v in want.values()) else "int64"
            if res.get("dtype") != kind:
                err.append("values are %s, want %s" % (res.get("dtype"), kind))
        e += ["--combine %s: %s" % (op, x) for x in err]
    # Integers alone stay exact in an int64 dataset, past 2^53.
    ints = write(os.path.join(a.workdir, "in", "ints.tsv"), b"".join(
        b"big\t%d\nsmall\t-%d\n" % ((1 << 53) + 1 + i, i) for i in range(50)))
    res, err = ok_run(a.mpimr, a.launch, ["--map", "cat", "--combine", "sum", *SPREAD, ints], out)
    if not err:
        err = diff_table(res["items"], values_oracle([ints], "sum"))
        if res.get("dtype") != "int64":
            err.append("values are %s, want int64" % res.get("dtype"))
    return e + ["--combine sum of integers past 2^53: " + x for x in err]


def failed_run(a, args, out, want_re, label, timeout=TIMEOUT):
    """Runs a job that must fail with exit 1, a message matching want_re
    and nothing at out or beside it; errors."""
    d = os.path.dirname(out)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    t0 = time.monotonic()
    r = run_stream(a.mpimr, a.launch, list(args) + ["-o", out], timeout=timeout)
    e = []
    if r.rc != 1:
        e.append("exit status %s, want 1" % r.rc)
    err = r.err.decode("utf-8", "replace")
    for w in want_re:
        if not re.search(w, err, re.M):
            e.append("no line matching %r" % w)
    if os.listdir(d):
        e.append("%s holds %s after the failed run" % (d, sorted(os.listdir(d))))
    if e:
        e.append(r.describe())
    return ["%s: %s" % (label, x) for x in e], r, time.monotonic() - t0


def summed(a, name, data):
    """data written to in/NAME, run through --map cat --combine sum: the
    input's path, the run, its result (None if it failed) and errors."""
    path = write(os.path.join(a.workdir, "in", name), data)
    out = os.path.join(a.workdir, name + ".h5")
    if os.path.exists(out):
        os.unlink(out)
    r = run_stream(a.mpimr, a.launch, ["--map", "cat", "--combine", "sum", path, "-o", out])
    if r.rc != 0:
        return path, r, None, ["exit %s, want 0:\n%s" % (r.rc, r.describe())]
    return path, r, read_stream(out), []


def case_overflow(a, f):
    e = []
    d = os.path.join(a.workdir, "overflow")
    big = write(os.path.join(a.workdir, "in", "big.tsv"),
                b"max\t9223372036854775807\nok\t1\nmax\t1\n")
    err, _, _ = failed_run(a, ["--map", "cat", "--combine", "sum", big], os.path.join(d, "o.h5"),
                           [r"^mpimr: .*--combine sum: a key's integer sum leaves the 64-bit range"],
                           "sum past 2^63-1")
    e += err
    # A literal past 64 bits and a word: rejected records.
    bad, r, res, err = summed(a, "bad.tsv",
                              b"x\t9223372036854775808\nok\t2\nx\tnope\nok\t3\n"
                              b"y\t-9223372036854775809\n")
    if not err:
        err += diff_table(res["items"], {b"ok": 5})
        if res["attrs"].get("rejected") != 3:
            err.append("/stream@rejected is %r, want 3" % res["attrs"].get("rejected"))
        msg = r.err.decode("utf-8", "replace")
        if not re.search(r"^mpimr: warning: 3 malformed records skipped", msg, re.M):
            err.append("no warning of 3 malformed records:\n" + r.describe())
        if not re.search(r"is not a number", msg) or not re.search(r"out of the 64-bit range", msg):
            err.append("the warning does not say why (not a number, out of range):\n"
                       + r.describe())
    e += ["rejects: " + x for x in err]
    # A float past a double's range is rejected with its own reason, not the
    # reason of the record before it; one under it is a tiny number.
    _, r, res, err = summed(a, "floats.tsv", b"h\tinf\ni\t1e309\nok\t1e-310\nok\t2\n")
    if not err:
        first = res["attrs"].get("rejected_first", "")
        first = first.decode() if isinstance(first, bytes) else first
        lines = first.splitlines()
        if res["attrs"].get("rejected") != 2 or len(lines) != 2:
            err.append("rejected %r, rejected_first %r: want 2" % (
                res["attrs"].get("rejected"), first))
        elif "'inf' is not a number" not in lines[0] or "1e309" not in lines[1] \
                or "range" not in lines[1]:
            err.append("the reasons are %r, want inf's and 1e309's own" % lines)
        if [k for k, _ in res["items"]] != [b"ok"]:
            err.append("keys %r, want only ok (1e-310 is a number)" % res["items"])
    e += ["float range: " + x for x in err]
    err, _, _ = failed_run(a, ["--map", "cat", "--combine", "sum", "--strict", bad],
                           os.path.join(d, "o.h5"), [r"^mpimr: .*(not a number|64-bit range)"],
                           "--strict")
    e += err
    words = write(os.path.join(a.workdir, "in", "allbad.tsv"), b"k\tx\nk\ty\n")
    err, _, _ = failed_run(a, ["--map", "cat", "--combine", "max", words], os.path.join(d, "o.h5"),
                           [r"^mpimr: .*reject"], "every record rejected")
    return e + err


REDUCER = r'''
import sys
seen, last, prev_v, n, vals = set(), None, None, 0, []
def flush():
    if last is not None:
        sys.stdout.buffer.write(last + b"\t%d:" % len(vals) + b",".join(vals) + b"\n")
for line in sys.stdin.buffer:
    k, _, v = line.rstrip(b"\n").partition(b"\t")
    if k != last:
        if last is not None and k < last:
            sys.exit("reducer: key %r after %r: not ascending" % (k, last))
        if k in seen:
            sys.exit("reducer: key %r again: its values not adjacent" % k)
        flush()
        seen.add(k)
        last, vals = k, []
    elif v < vals[-1]:
        sys.exit("reducer: key %r: value %r after %r" % (k, v, vals[-1]))
    vals.append(v)
flush()
'''


def case_reduce(a, f):
    script = write(os.path.join(a.workdir, "in", "check_reducer.py"), REDUCER.encode())
    out = os.path.join(a.workdir, "reduce.h5")
    res, err = ok_run(a.mpimr, a.launch,
                      ["--map", "cat", "--reduce", "%s %s" % (shlex.quote(PY), script),
                       *SPREAD, f["pairs"]], out)
    if err:
        return err
    groups = collections.defaultdict(list)
    for line in mrtest.line_records(f["pairs"]):
        k, _, v = line.partition(b"\t")
        groups[k].append(v)
    want = [(k, b"%d:" % len(groups[k]) + b",".join(sorted(groups[k]))) for k in sorted(groups)]
    e = first_diff(res["items"], want, "row")
    if res["kind"] != "bytes":
        e.append("value_kind %r, want bytes" % res["kind"])
    return e


def case_env(a, f):
    e = []
    plain = [f["plain0"], f["plain1"], f["plain2"]]
    out = os.path.join(a.workdir, "env.h5")
    cmd = ('cat >/dev/null; echo "$MPIMR_RANK $MPIMR_NRANKS $mapreduce_map_input_file '
           '$map_input_file $MPIMR_INPUT_FILE"')
    res, err = ok_run(a.mpimr, a.launch, ["--map", cmd, *SPREAD, *plain], out)
    if err:
        return err
    nranks = mrtest.launch_nranks(a.launch)
    rows = [r.decode().split(" ") for r in res["records"]]
    ranks = [int(r[0]) for r in rows]
    if ranks != list(range(nranks)):
        e.append("mappers ran on ranks %s, want one on each of 0-%d, in order" % (ranks, nranks - 1))
    if any(r[1] != str(nranks) for r in rows):
        e.append("MPIMR_NRANKS: %s, want %d" % ([r[1] for r in rows], nranks))
    if any(not (r[2] == r[3] == r[4]) for r in rows):
        e.append("the three input-file variables differ: %s" % rows)
    files = [r[2] for r in rows]
    if any(p not in plain for p in files) or [plain.index(p) for p in files] != sorted(
            plain.index(p) for p in files):
        e.append("input files %s: want inputs, in input order" % files)
    if files and files[0] != plain[0]:
        e.append("rank 0's input file is %s, want %s" % (files[0], plain[0]))
    cmd = 'cat >/dev/null; echo "env $MPIMR_RANK $MPIMR_NRANKS"'
    res, err = ok_run(a.mpimr, a.launch, ["--map", "cat", "--reduce", cmd, *SPREAD, *plain], out)
    if err:
        return e + err
    got = [k.split(b" ") for k, _ in res["items"]]
    if not got or any(g[0] != b"env" or g[2] != b"%d" % nranks or not 0 <= int(g[1]) < nranks
                      for g in got):
        e.append("reducers said %s, want 'env RANK %d'" % (got, nranks))
    return e


def leftover(marker):
    """Pids of processes whose command line holds marker."""
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit() and int(p) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % p, "rb") as fh:
                    if marker.encode() in fh.read():
                        pids.append(int(p))
            except OSError:
                pass
    return pids


# A command's failure is said once, by the lowest rank whose command failed,
# with how many others did too.
ONCE = r"( \(and on \d+ other ranks?\))?$"


def case_failures(a, f):
    e = []
    plain = [f["plain0"], f["plain1"], f["plain2"]]
    d = os.path.join(a.workdir, "fail")
    out = os.path.join(d, "o.h5")
    cmd = "cat >/dev/null; echo first line >&2; echo it went wrong >&2; exit 3"
    err, r, _ = failed_run(a, ["--map", cmd, *SPREAD, *plain], out,
                           [r"^mpimr: rank \d+ on \S+: map command '%s' exited with status 3%s"
                            % (re.escape(cmd), ONCE),
                            r"^mpimr: rank \d+ on \S+: +map stderr: it went wrong$"],
                           "exit 3")
    e += err
    cmd = "cat >/dev/null; kill -KILL $$"
    err, _, _ = failed_run(a, ["--map", cmd, *SPREAD, *plain], out,
                           [r"^mpimr: rank \d+ on \S+: map command '%s' was killed by signal 9 "
                            r"\(Killed\)%s" % (re.escape(cmd), ONCE)], "SIGKILL")
    e += err
    err, r, _ = failed_run(a, ["--map", "/nonexistent/mapper", *SPREAD, *plain], out,
                           [r"^mpimr: rank \d+ on \S+: map command '/nonexistent/mapper' exited "
                            r"with status 127 \(the shell found no such command\)" + ONCE,
                            r"/nonexistent/mapper: (not found|No such file)"], "cannot start")
    e += err
    # Said once for all the ranks whose commands failed (STYLE.md), with how
    # many other ranks had it: every rank maps here (SPREAD).
    lines = [x for x in r.err_lines() if "exited with status 127" in x]
    n = mrtest.launch_nranks(a.launch) or 1
    want = "" if n == 1 else " (and on %d other rank%s)" % (n - 1, "s" if n > 2 else "")
    if len(lines) != 1 or not lines[0].endswith("command)" + want):
        e.append("cannot start: want one line ending %r, got %s" % ("command)" + want, lines))
    cmd = "cat >/dev/null; echo reducer broke >&2; exit 4"
    err, _, _ = failed_run(a, ["--map", "cat", "--reduce", cmd, *SPREAD, *plain], out,
                           [r"^mpimr: rank \d+ on \S+: reduce command '%s' exited with status 4%s"
                            % (re.escape(cmd), ONCE), r"reduce stderr: reducer broke$"], "reducer exit 4")
    e += err
    marker = "987.%d" % os.getpid()
    err, _, took = failed_run(a, ["--map", "sleep " + marker, "--timeout", "2", *plain], out,
                              [r"^mpimr: rank \d+ on \S+: no progress for 2 s \(--timeout\)"],
                              "hang under --timeout 2", timeout=60)
    e += err
    if took > 30:
        e.append("hang under --timeout 2: took %.1f s to end" % took)
    time.sleep(0.5)
    left = leftover(marker)
    if left:
        e.append("hang under --timeout 2: the mapper outlived the run (pids %s, killed now)" % left)
        for p in left:
            try:
                os.kill(p, 9)
            except OSError:
                pass
    return e


def case_self_check(a, f):
    """The comparisons above must catch wrong answers."""
    e = []
    recs = [b"a", b"b", b"b", b"c"]
    for label, wrong in (("a record dropped", recs[:-1]), ("two swapped", [b"b", b"a", b"b", b"c"]),
                         ("a duplicate lost", [b"a", b"b", b"c"])):
        if not first_diff(wrong, recs):
            e.append("first_diff missed %s" % label)
    want = {b"k": 3, b"f": 1.5}
    for label, wrong in (("a count off by one", [(b"k", 4), (b"f", 1.5)]),
                         ("an int as a float", [(b"k", 3.0), (b"f", 1.5)]),
                         ("a key missing", [(b"k", 3)]),
                         ("a key twice", [(b"k", 3), (b"f", 1.5), (b"k", 3)])):
        if not diff_table(wrong, want):
            e.append("diff_table missed %s" % label)
    if not first_diff([(b"b", b"1"), (b"a", b"1")], [(b"a", b"1"), (b"b", b"1")], "row"):
        e.append("first_diff missed keys out of order")
    return e


CASES = [("map_only", case_map_only), ("no_tab", case_no_tab), ("combine", case_combine),
         ("overflow", case_overflow), ("reduce", case_reduce), ("env", case_env),
         ("failures", case_failures), ("self_check", case_self_check)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cases", help="comma-separated, from " + ",".join(n for n, _ in CASES))
    a = ap.parse_args()
    a.mpimr = os.path.abspath(a.mpimr)
    os.makedirs(a.workdir, exist_ok=True)
    f = make_inputs(os.path.join(a.workdir, "in"))
    want = a.cases.split(",") if a.cases else [n for n, _ in CASES]
    ok = True
    for name, fn in CASES:
        if name not in want:
            continue
        try:
            errors = fn(a, f)
        except mrtest.TestFailure as x:
            errors = [str(x)]
        ok &= mrtest.report(name, errors)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
