#!/usr/bin/python3
"""Run `mpimr grep` and check its table against GNU grep's.

The oracle is `LC_ALL=C grep -a -ohE PATTERN FILES` (each match on a line of
its own; with --lines, `grep -a -hE`, each matching line), counted per
distinct output line, which is what `| sort | uniq -c` prints.  Checks the
whole table, the file's format and order (via mrtest), and at the end a bad
pattern: exit 2, one message, no output file.

Usage: check_grep.py --mpimr build/mpimr --launch "mpiexec -n 3 ..." \\
           [--lines] --workdir DIR PATTERN INPUT...
"""

import argparse
import collections
import os
import subprocess
import sys

import mrtest


def grep_oracle(pattern, files, lines):
    cmd = ["grep", "-a", "-hE" if lines else "-ohE", "--", pattern] + files
    r = subprocess.run(cmd, stdout=subprocess.PIPE, env=dict(os.environ, LC_ALL="C"))
    if r.returncode not in (0, 1):
        raise SystemExit("oracle grep failed: %s" % r.returncode)
    out = r.stdout
    if out.endswith(b"\n"):
        out = out[:-1]
    return collections.Counter(out.split(b"\n")) if out else collections.Counter()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--lines", action="store_true")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("pattern")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    out = os.path.join(a.workdir, "grep.h5")
    if os.path.exists(out):
        os.remove(out)
    files = [os.fsdecode(f) for f in mrtest.walk_inputs(a.inputs)]
    want = grep_oracle(a.pattern, files, a.lines)
    print("oracle: grep finds %d %s, %d distinct" % (
        sum(want.values()), "lines" if a.lines else "matches", len(want)))
    args = (["grep", "-o", out] + (["--lines"] if a.lines else []) + ["--", a.pattern]
            + a.inputs)
    ok = True
    r = mrtest.run_mpimr(os.path.abspath(a.mpimr), a.launch, args)
    if r.rc != 0 or not os.path.isfile(out):
        ok = mrtest.report("mpimr grep ran", ["exit %s\n%s" % (r.rc, r.describe())])
    else:
        res = mrtest.read_result(out, job="grep")
        e = mrtest.check_format(res, nranks=mrtest.launch_nranks(a.launch), order="count")
        got = dict(res.items)
        if len(got) != len(res.items):
            e.append("a key appears twice in the file")
        if got != dict(want):
            e += mrtest.diff_tables(res.items, want)
        ok &= mrtest.report("grep table vs GNU grep (%s)" % a.pattern, e)

    # A pattern regcomp refuses: usage error, exit 2, nothing written.
    bad = os.path.join(a.workdir, "bad.h5")
    r = mrtest.run_mpimr(os.path.abspath(a.mpimr), a.launch,
                         ["grep", "a(b", a.inputs[0], "-o", bad])
    lines = [ln for ln in r.err_lines() if ln.startswith("mpimr")]
    e = []
    if r.rc != 2 or os.path.exists(bad):
        e.append("exit %s, output %s" % (r.rc, "written" if os.path.exists(bad) else "absent"))
    if len(lines) != 1 or "a(b" not in lines[0]:
        e.append("want one message naming the pattern, got %s" % lines)
    ok &= mrtest.report("a bad pattern is a usage error", e)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
