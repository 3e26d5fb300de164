#!/usr/bin/python3
"""Run one mpimr word count and check its output file against an oracle.

Checks:
  * mpimr exits 0 and writes OUT.h5 (and the --stats JSON file), and the
    ranks that read input are every rank (--mappers all) or one per CPU;
  * the format: root attributes (format=2, job, nranks, complete=1, ...),
    dataset dtypes, key_offsets strictly increasing from 0 to len(key_bytes),
    /inputs, /stats/phase_seconds [nranks][6];
  * the table equals Counter(data.split()) computed per file at test time
    (a diff of the first differing keys is printed), and the attributes
    total, records, distinct_keys, input_bytes, input_files agree;
  * the rows are in the requested order (count: value descending then key
    bytes ascending, the default; key: key bytes ascending);
  * `mpimr show OUT.h5 --top 5` prints the first 5 rows as key<TAB>value;
  * with --wc: the total also equals `LC_ALL=C wc -w` over the input files
    (only meaningful for plain text; GNU wc counts binary data differently).

Usage:
  tests/e2e/check_wordcount.py --mpimr build/mpimr \\
      --launch "mpiexec -n 3 --oversubscribe" [--order count|key|none] \\
      [--chunk SIZE] [--mappers cores|all] [--workdir DIR] [--wc] \\
      [--timeout S] [--nranks N] INPUT...

--launch "" (the default) runs mpimr alone.  --nranks is the rank count to
expect in the file; by default it is read from -n/-np in --launch.  Without
--workdir a temporary directory is used and removed on success.

Exit status: 0 when every check passes, 1 when any fails, 2 on bad usage.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

TOP = 5


_ESCAPES = {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r", b"v": b"\v",
            b"f": b"\f", b"0": b"\0", b"a": b"\a", b"b": b"\b", b"e": b"\x1b"}


def unescape(text):
    r"""Undo C-style backslash escapes (\\, \t, \n, \r, \xHH, ...); None if bad."""
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i:i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        e = text[i + 1:i + 2]
        if e == b"x" and len(text) >= i + 4:
            try:
                out.append(int(text[i + 2:i + 4], 16))
            except ValueError:
                return None
            i += 4
        elif e in _ESCAPES:
            out += _ESCAPES[e]
            i += 2
        else:
            return None
    return bytes(out)


def check_show(mpimr, out_path, items, timeout):
    r"""`mpimr show OUT --top 5` must print the first rows, key<TAB>value.

    A key may be printed as its raw bytes or with C-style backslash escapes
    (\\ \t \n \r \xHH ...); either is accepted if it gives back the key.
    """
    r = mrtest.run([mpimr, "show", out_path, "--top", str(TOP)], timeout=timeout)
    if r.rc != 0:
        return ["mpimr show failed\n" + r.describe()]
    lines = r.out.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    want = items[:TOP]
    e = []
    if len(lines) != len(want):
        e.append("mpimr show --top %d printed %d lines, want %d\n%s"
                 % (TOP, len(lines), len(want), r.describe()))
    for i, ((key, value), line) in enumerate(zip(want, lines)):
        shown, tab, number = line.rpartition(b"\t")
        if not tab or number != str(value).encode() or (
                shown != key and unescape(shown) != key):
            e.append("mpimr show row %d is %r, want %s<TAB>%d"
                     % (i, line[:80], mrtest.show_key(key), value))
    return e


def check_stats(path, nranks, mappers):
    """The JSON parses, and the ranks that read input are the ones promised:
    every rank with --mappers all; else as many as the ranks' CPUs (this
    machine's, here on one node), each rank that read anything among them."""
    try:
        with open(path, "rb") as f:
            st = json.load(f)
    except OSError as x:
        return ["--stats file %s was not written: %s" % (path, x)]
    except ValueError as x:
        return ["--stats file %s is not valid JSON: %s" % (path, x)]
    want = nranks if mappers == "all" else min(nranks, len(os.sched_getaffinity(0)))
    e = []
    if st.get("mappers") != want:
        e.append("--stats says %r ranks read input, want %d (%s)"
                 % (st.get("mappers"), want, mappers or "cores"))
    reading = sum(1 for b in st.get("per_rank", {}).get("bytes_read", []) if b > 0)
    if reading > want:
        e.append("%d ranks read input, more than the %d mappers" % (reading, want))
    return e


def main():
    ap = argparse.ArgumentParser(
        description="Run mpimr wordcount and check the result against "
                    "Counter(bytes.split()) per file.")
    ap.add_argument("--mpimr", required=True, help="path to the mpimr binary")
    ap.add_argument("--launch", default="",
                    help='launcher, e.g. "mpiexec -n 3 --oversubscribe" '
                         '(default: none)')
    ap.add_argument("--order", choices=("count", "key", "none"),
                    help="pass --order; default: do not pass it, expect count")
    ap.add_argument("--chunk", help="pass --chunk SIZE")
    ap.add_argument("--mappers", choices=("cores", "all"),
                    help="pass --mappers; default: do not pass it (cores)")
    ap.add_argument("--workdir", help="where to write the output "
                    "(default: a temporary directory, removed on success)")
    ap.add_argument("--wc", action="store_true",
                    help="also check the total against LC_ALL=C wc -w")
    ap.add_argument("--timeout", type=float, default=mrtest.DEFAULT_TIMEOUT,
                    help="seconds before a run counts as a hang (default 300)")
    ap.add_argument("--nranks", type=int,
                    help="rank count to expect (default: from --launch)")
    ap.add_argument("inputs", nargs="+", metavar="INPUT")
    a = ap.parse_args()

    mpimr = os.path.abspath(a.mpimr)
    for p in a.inputs:
        if not os.path.exists(p):
            ap.error("input %s does not exist" % p)
    order = a.order or "count"
    nranks = a.nranks if a.nranks is not None else mrtest.launch_nranks(a.launch)

    if a.workdir:
        os.makedirs(a.workdir, exist_ok=True)
        workdir, temporary = a.workdir, False
    else:
        workdir, temporary = tempfile.mkdtemp(prefix="mpimr-check-"), True
    out = os.path.join(workdir, "wordcount.h5")
    stats = os.path.join(workdir, "stats.json")
    for stale in (out, stats):
        if os.path.lexists(stale):
            os.remove(stale)

    label = "wordcount [%s] order=%s chunk=%s on %s" % (
        a.launch or "no launcher", order, a.chunk or "default",
        " ".join(a.inputs) if len(a.inputs) <= 3 else "%d inputs" % len(a.inputs))
    print("running %s" % label)

    orc = mrtest.oracle(a.inputs)
    print("oracle: %d files, %d bytes, %d words, %d distinct"
          % (len(orc.files), orc.bytes, orc.words, len(orc.counter)))

    args = ["wordcount"]
    if a.order:
        args += ["--order", a.order]
    if a.chunk:
        args += ["--chunk", a.chunk]
    if a.mappers:
        args += ["--mappers", a.mappers]
    args += ["--stats", stats] + a.inputs + ["-o", out]

    ok = True
    try:
        r = mrtest.run_mpimr(mpimr, a.launch, args, timeout=a.timeout)
        print("mpimr exited %s" % r.rc)
        if r.rc != 0 or not os.path.isfile(out):
            ok = mrtest.report("mpimr wordcount ran", [
                "exit status %s, output %s\n%s"
                % (r.rc, "exists" if os.path.exists(out) else "missing",
                   r.describe())])
        else:
            res, e = mrtest.check_result(out, orc, nranks=nranks, order=order)
            ok &= mrtest.report("output file format and table vs oracle", e)
            ok &= mrtest.report("--stats JSON and the ranks that read input",
                                check_stats(stats, nranks, a.mappers))
            if res is not None:
                ok &= mrtest.report("mpimr show --top %d" % TOP,
                                    check_show(mpimr, out, res.items, a.timeout))
        if a.wc:
            n = mrtest.wc_words(orc.files)
            e = []
            if n != orc.words:
                e.append("LC_ALL=C wc -w counts %d words, Counter(split()) %d: "
                         "the input is not plain text, do not use --wc on it"
                         % (n, orc.words))
            if r.rc == 0 and os.path.isfile(out):
                total = mrtest.read_result(out).group_attrs.get("total")
                if total != n:
                    e.append("mpimr total is %r, LC_ALL=C wc -w says %d" % (total, n))
            ok &= mrtest.report("total vs LC_ALL=C wc -w (%d)" % n, e)
    except mrtest.TestFailure as x:
        ok = mrtest.report("mpimr wordcount ran", [str(x)])

    if ok:
        print("PASS: %s" % label)
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    print("FAIL: %s (files kept in %s)" % (label, workdir))
    return 1


if __name__ == "__main__":
    sys.exit(main())
