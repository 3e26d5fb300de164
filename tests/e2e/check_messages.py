#!/usr/bin/python3
"""What a run prints: counts agree with their nouns, and under mpirun a
failure can be one line.

Summary lines (stderr, rank 0; -v adds min/mean/max over ranks): for inputs
of 0, 1 and 2 words in 0, 1 and 2 files, with no launcher (one rank) and
under the launcher given: every "N file(s)", "rank(s)", "record(s)",
"pair(s)", "key(s)" is singular exactly when N is 1 ("1 file", "0 files",
"on 1 rank"), and each phase line is there.

Open MPI's report of a failure (README, "Running"): with `mpirun --quiet` a
failing run (a missing input) prints the one `mpimr:` line and nothing else
and keeps exit status 1; a rank killed by a signal is then silent, with exit
status 137 (128 + SIGKILL) as the only sign, which the README says.  Without
--quiet, Open MPI's banner ("Primary job terminated normally, but 1 process
returned a non-zero exit code...") follows the line; that is printed as a
NOTE, not checked, since it is Open MPI's to change.

An error every rank meets is said once, with how many other ranks had it:
groupby's --key column that the file lacks, read by every rank (--mappers
all, 8-byte ranges), and a stream command that fails on every rank: one
line, ending "(and on N other ranks)".

What only prints (--help, JOB --help, show --help, --version, jobs) to a full stdout
(/dev/full): exit 1 and one message; to /dev/null: exit 0.

Usage:
  tests/e2e/check_messages.py --mpimr build/mpimr --launch "mpiexec -n 2 --oversubscribe"
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

FAILURES = []
NOUNS = ("file", "rank", "record", "pair", "key")
COUNT = re.compile(r"\b(\d+) (?:distinct )?(%s)(s?)\b" % "|".join(NOUNS))


def expect(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        FAILURES.append(name)
        if detail:
            print("    " + str(detail).replace("\n", "\n    ")[:4000])


def grammar_errors(text):
    """Every count whose noun disagrees with it."""
    return ["%r in %r" % (m.group(0), line) for line in text.splitlines()
            for m in COUNT.finditer(line) if (m.group(1) == "1") == (m.group(3) == "s")]


def check_summaries(a, tmp):
    inputs = {}
    for label, files in (("no files", {}), ("1 file, 0 words", {"e.txt": b""}),
                         ("1 file, 1 word", {"one.txt": b"one\n"}),
                         ("2 files, 2 words", {"a.txt": b"one\n", "b.txt": b"two\n"})):
        d = os.path.join(tmp, re.sub(r"\W+", "_", label))
        os.makedirs(d)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        inputs[label] = d
    launches = [("one rank", "")] + ([("under %s" % a.launch, a.launch)] if a.launch else [])
    for how, launch in launches:
        for label, d in inputs.items():
            out = os.path.join(tmp, "out.h5")
            r = mrtest.run_mpimr(a.mpimr, launch, ["wordcount", "-v", d, "-o", out, "--force"])
            text = r.err.decode("utf-8", "replace")
            phases = [w for w in ("split", "map", "order", "write") if not re.search(
                r"^%s +" % w, text, re.M)]
            expect("%s, %s: runs, every phase line is there" % (label, how),
                   r.rc == 0 and not phases, "missing %s\n%s" % (phases, r.describe()))
            errors = grammar_errors(text)
            expect("%s, %s: every count agrees with its noun" % (label, how), not errors,
                   "\n".join(errors))
    r = mrtest.run_mpimr(a.mpimr, "", ["wordcount", inputs["1 file, 1 word"], "-o",
                                       os.path.join(tmp, "one.h5")])
    last = r.err.decode("utf-8", "replace").splitlines()[-1:]
    expect("the last line reads '1 record, 1 distinct key ... on 1 rank'",
           r.rc == 0 and re.fullmatch(r"wordcount: 1 record, 1 distinct key in [0-9.]+ s on "
                                      r"1 rank; wrote .*one\.h5", last[0] if last else ""),
           r.describe())
    expect("the grammar check itself finds '1 ranks' and '2 file'",
           len(grammar_errors("on 1 ranks; 2 file, 1 distinct keys")) == 3)


def quiet(launch):
    words = mrtest.split_launch(launch)
    return " ".join(words[:1] + ["--quiet"] + words[1:])


def check_quiet(a, tmp):
    missing = os.path.join(tmp, "no-such-input")
    out = os.path.join(tmp, "x.h5")
    line = "mpimr: cannot read '%s': No such file or directory" % missing
    r = mrtest.run_mpimr(a.mpimr, quiet(a.launch), ["wordcount", missing, "-o", out])
    expect("mpirun --quiet, a missing input: exit 1 and the one mpimr: line",
           r.rc == 1 and r.err_lines() == [line] and not r.out, r.describe())
    r = mrtest.run_mpimr(a.mpimr, a.launch, ["wordcount", missing, "-o", out])
    lines = r.err_lines()
    expect("without --quiet: exit 1, the mpimr: line first", r.rc == 1 and lines[:1] == [line],
           r.describe())
    print("NOTE without --quiet Open MPI adds %d lines after it%s" % (
        len(lines) - 1, ": " + lines[2].strip() if len(lines) > 2 else ""))
    words = os.path.join(tmp, "w.txt")
    with open(words, "wb") as f:
        f.write(b"a b c\n" * 1000)
    cmd = ["env", "MPIMR_FAULT=1:map:kill"] + mrtest.split_launch(quiet(a.launch)) + [
        a.mpimr, "wordcount", words, "-o", out]
    r = mrtest.run(cmd)
    expect("mpirun --quiet, a rank killed by SIGKILL: exit 137, nothing printed "
           "(as the README warns)", r.rc == 137 and not r.err and not r.out, r.describe())


def check_once(a, tmp):
    n = mrtest.launch_nranks(a.launch)
    rows = os.path.join(tmp, "rows.csv")
    with open(rows, "w") as f:
        f.write("k,v\n" + "a,1\n" * 40)
    out = os.path.join(tmp, "once.h5")
    others = " (and on %d other rank%s)" % (n - 1, "s" if n > 2 else "")
    spread = ["--mappers", "all", "--chunk", "8"]
    for label, args, says in (
            ("groupby, a --key column no file has",
             ["groupby", "--key", "nope", "--value", "v"], "no column 'nope'"),
            ("stream, a command failing on every rank",
             ["stream", "--map", "cat >/dev/null; exit 3"], "exited with status 3")):
        r = mrtest.run_mpimr(a.mpimr, a.launch, args + spread + [rows, "-o", out])
        lines = [x for x in r.err_lines() if says in x]
        expect("said once at %d ranks: %s" % (n, label),
               r.rc == 1 and len(lines) == 1 and lines[0].endswith(others)
               and not os.path.exists(out), r.describe())


def check_printing(a):
    """What only prints (help, --version, jobs) fails when it cannot:
    > /dev/full is exit 1 and one message, > /dev/null exit 0."""
    for args in (["jobs"], ["--version"], ["--help"], ["wordcount", "--help"],
                 ["show", "--help"]):
        with open("/dev/full", "wb") as full:
            r = subprocess.run([a.mpimr] + args, stdout=full, stderr=subprocess.PIPE,
                               env=mrtest.mpi_env(), timeout=120)
        want = b"mpimr: cannot write standard output: No space left on device\n"
        expect("mpimr %s > /dev/full: exit 1, one message" % " ".join(args),
               r.returncode == 1 and r.stderr == want,
               "exit %s, stderr %r" % (r.returncode, r.stderr))
        r = subprocess.run([a.mpimr] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           env=mrtest.mpi_env(), timeout=120)
        expect("mpimr %s > /dev/null: exit 0, silent" % " ".join(args),
               r.returncode == 0 and not r.stderr, "exit %s, stderr %r" % (r.returncode, r.stderr))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="", help="an mpirun prefix of 2 ranks or more")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        check_summaries(a, tmp)
        check_printing(a)
        if a.launch and mrtest.launch_nranks(a.launch) not in (None, 1):
            check_quiet(a, tmp)
            check_once(a, tmp)
    print("%d failures" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
