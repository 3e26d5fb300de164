#!/usr/bin/python3
"""stream: what a command does wrong is named, and named right.

At the launcher's process count:

  * a map (or reduce) command that stops reading its input early and exits
    0 (head -1, awk 'NR==3{exit}') fails the run, exit 1, saying so, with no
    output file: on an input that fits in the pipe (10,000 lines, 49 KB,
    which all reach the pipe before head ends, so no write fails) and on a
    large one (2,000,000 lines); over 256 MiB, no process of that run
    peaks past 96 MiB (the rest of the input is dropped, not held); `cat` and an awk that reads to the end
    over the same inputs succeed and give every line (Python's lines of the
    file, in order);
  * a value of the map command's output that is not a number, under
    --combine sum, is named by where it is: the command's output line
    ("map output of rank R, line N", N as Python counts the lines that rank
    gave it) and not a line of an input file, which it is not; with
    --strict the run fails with that one line and no "map failed" line;
  * /stream@order says the order the file is in: "input" for map-only,
    "key" for --reduce (byte values, in key order: checked against
    sorted()), "count" for --combine, as `mpimr show`'s rows are;
  * --timeout names the command a rank waits on.

Usage: check_stream_failures.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import argparse
import collections
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import h5py  # noqa: E402
import mrtest  # noqa: E402

failures = []


def check(label, errors):
    if errors:
        failures.append(label)
    mrtest.report(label, errors)


def mpimr_lines(res):
    return [ln for ln in res.err_lines() if ln.startswith("mpimr:")]


def fails_cleanly(res, out, pattern):
    """Exit 1, a line matching pattern, no output file."""
    errs = []
    if res.rc != 1:
        errs.append("exit status %s, want 1" % res.rc)
    if not any(re.search(pattern, ln) for ln in res.err_lines()):
        errs.append("no line matching %r" % pattern)
    if os.path.exists(out):
        errs.append("output file %s exists" % out)
    if errs:
        errs.append(res.describe())
    return errs


def records(a, path):
    r = mrtest.run([a.mpimr, "show", path])
    if r.rc != 0:
        raise mrtest.TestFailure("mpimr show failed\n" + r.describe())
    return r.out.split(b"\n")[:-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("workdir")
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    os.makedirs(work, exist_ok=True)
    np_ = mrtest.launch_nranks(a.launch) or 1

    def mpimr(*args, timeout=120):
        return mrtest.run_mpimr(a.mpimr, a.launch, ["stream", "-q"] + list(args),
                                timeout=timeout)

    out = os.path.join(work, "out.h5")

    def fresh():
        if os.path.exists(out):
            os.unlink(out)

    small = os.path.join(work, "small.txt")
    large = os.path.join(work, "large.txt")
    with open(small, "w") as f:
        f.writelines("%d\n" % i for i in range(1, 10001))
    with open(large, "w") as f:
        f.writelines("%d\n" % i for i in range(1, 2000001))

    # --- commands that stop reading early
    for name, path in (("small", small), ("large", large)):
        for cmd in ("head -1", "awk 'NR==3{exit}1'"):
            fresh()
            r = mpimr("--map", cmd, path, "-o", out)
            check("map %r over the %s input fails" % (cmd, name),
                  fails_cleanly(r, out, r"map command '%s' stopped reading its input "
                                r"early" % re.escape(cmd)))
        fresh()
        r = mpimr("--map", "head -1", "--reduce", "cat", path, "-o", out)
        check("map 'head -1' with --reduce over the %s input fails" % name,
              fails_cleanly(r, out, r"map command 'head -1' stopped reading"))
        fresh()
        r = mpimr("--map", "cat", "--reduce", "head -1", path, "-o", out)
        check("reduce 'head -1' over the %s input fails" % name,
              fails_cleanly(r, out, r"reduce command 'head -1' stopped reading"))
        want = mrtest.line_records(path)
        for cmd in ("cat", "awk '{print}'"):
            fresh()
            r = mpimr("--map", cmd, path, "-o", out)
            errs = [] if r.rc == 0 else [r.describe()]
            if not errs and records(a, out) != want:
                errs.append("the records are not the file's lines")
            check("map %r over the %s input keeps every line" % (cmd, name), errs)

    # --- a command that stopped reading is not fed the rest in memory: the
    # rank drops what is left of its input (the run fails anyway), so over
    # 256 MiB no process of the run grows past a fraction of it.  The peak
    # is the largest of the run's processes (mpiexec's and the ranks'),
    # measured in a process of its own, which waits for them.
    big = os.path.join(work, "big.txt")
    block = b"".join(b"%07d %s\n" % (i, b"x" * 56) for i in range(16384))  # 1 MiB
    with open(big, "wb") as f:
        for _ in range(256):
            f.write(block)
    fresh()
    cmd = mrtest.split_launch(a.launch) + [a.mpimr, "stream", "-q", "--map", "head -1",
                                           big, "-o", out]
    probe = ("import resource, subprocess, sys\n"
             "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL).returncode\n"
             "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    r = mrtest.run([sys.executable, "-c", probe] + cmd, timeout=120)
    errs = [] if r.rc == 0 else [r.describe()]
    if not errs:
        rc, peak_kib = (int(x) for x in r.out.split())
        if rc != 1 or os.path.exists(out):
            errs.append("exit status %d (want 1), output file left: %s"
                        % (rc, os.path.exists(out)))
        if peak_kib > 96 * 1024:
            errs.append("a process of the run peaked at %d MiB over a 256 MiB input "
                        "whose command read one line" % (peak_kib // 1024))
    os.unlink(big)
    check("map 'head -1' over 256 MiB: the rest of the input is not held", errs)

    # --- a value that is not a number: where it is
    bad1 = os.path.join(work, "values1.txt")
    bad2 = os.path.join(work, "values2.txt")
    with open(bad1, "w") as f:
        f.write("a\t1\nb\t2\nc\tx\nd\t4\n")
    with open(bad2, "w") as f:
        f.write("e\t5\nf\tzz\n")
    fresh()
    r = mpimr("--map", "cat", "--combine", "sum", bad1, bad2, "-o", out)
    errs = [] if r.rc == 0 else [r.describe()]
    text = "\n".join(r.err_lines())
    # Each rank's command sees whole lines of the inputs, in order; which
    # rank got which is the split's, so the oracle accepts any rank and
    # computes the line from what that rank's command would be given.
    named = re.findall(r"map output of rank (\d+), line (\d+): value '(\w+)' is not a "
                       r"number", text)
    if sorted(v for _, _, v in named) != ["x", "zz"]:
        errs.append("want the two bad values named as map output lines, got %r\n%s"
                    % (named, r.describe()))
    for p in (bad1, bad2):
        if re.search(re.escape(p) + r":\d+:", text):
            errs.append("a map output line is named as a line of %s:\n%s" % (p, text))
    if np_ == 1 and sorted(named) != [("0", "3", "x"), ("0", "6", "zz")]:
        errs.append("one rank: want lines 3 and 6 of its output, got %r" % named)
    if not errs:
        with h5py.File(out, "r") as f:
            g = f["stream"]
            first = g.attrs["rejected_first"]
            first = first.decode() if isinstance(first, bytes) else first
            if int(g.attrs["rejected"]) != 2 or "map output of rank" not in first:
                errs.append("file: rejected=%s rejected_first=%r"
                            % (g.attrs["rejected"], first))
        rows = dict(ln.split(b"\t") for ln in records(a, out))
        want = {b"a": b"1", b"b": b"2", b"d": b"4", b"e": b"5"}
        if rows != want:
            errs.append("the table %r, want %r" % (rows, want))
    check("a value that is not a number is named by its map output line", errs)

    fresh()
    r = mpimr("--strict", "--map", "cat", "--combine", "sum", bad1, bad2, "-o", out)
    errs = fails_cleanly(r, out, r"map output of rank \d+, line \d+: value '(x|zz)' is not a "
                         r"number \(a malformed record")
    if not errs and len(mpimr_lines(r)) != 1:
        errs.append("want one mpimr line, got:\n" + "\n".join(mpimr_lines(r)))
    check("--strict: one line naming the map output line", errs)

    # --- /stream@order
    kv = os.path.join(work, "kv.txt")
    words = ("pear fig apple fig kiwi apple fig " * 50).split()
    with open(kv, "w") as f:
        f.writelines("%s\t%d\n" % (w, i) for i, w in enumerate(words))
    counts = collections.Counter(words)
    pairs = sorted((w.encode(), str(i).encode()) for i, w in enumerate(words))
    for label, args, want_order in (
            ("map-only", [], "input"),
            ("--reduce cat", ["--reduce", "cat"], "key"),
            ("--combine count", ["--combine", "count"], "count")):
        fresh()
        r = mpimr("--map", "cat", *args, kv, "-o", out)
        errs = [] if r.rc == 0 else [r.describe()]
        if not errs:
            with h5py.File(out, "r") as f:
                got = f["stream"].attrs["order"]
                got = got.decode() if isinstance(got, bytes) else got
            if got != want_order:
                errs.append("/stream@order is %r, want %r" % (got, want_order))
            rows = [tuple(ln.split(b"\t", 1)) for ln in records(a, out)]
            if want_order == "key" and rows != pairs:
                errs.append("rows are not the sorted pairs: %r..." % rows[:4])
            if want_order == "count":
                byc = [(w.encode(), str(n).encode()) for w, n in
                       sorted(counts.items(), key=lambda kv_: (-kv_[1], kv_[0].encode()))]
                if rows != byc:
                    errs.append("rows %r, want %r" % (rows, byc))
            if want_order == "input":
                if [b"\t".join(x) for x in rows] != mrtest.line_records(kv):
                    errs.append("rows are not the input's lines")
        check("/stream@order for %s is %r" % (label, want_order), errs)

    # --- --timeout names the command
    fresh()
    r = mpimr("--timeout", "2", "--map", "sleep 60", kv, "-o", out, timeout=60)
    check("--timeout names the command it waits on",
          fails_cleanly(r, out, r"no progress for 2 s \(--timeout\), waiting on command "
                        r"'sleep 60'"))

    print("%d failed" % len(failures) if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except mrtest.TestFailure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
