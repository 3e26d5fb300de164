#!/usr/bin/python3
"""Check what mpimr wordcount does with bad input, bad usage and edge inputs.

Each check runs in a fresh directory under a temporary root (mpimr runs with
that directory as its working directory, so paths in messages are short):
  exit 1, exactly one stderr line "mpimr: ..." naming the path in '...':
    * a missing input file (the line carries "No such file or directory")
    * an unreadable input file (the line carries "Permission denied";
      skipped when running as root, who can read anything)
    * a FIFO as input (the line says it is not a regular file; a run that
      blocks on the FIFO is caught by the timeout and fails as a hang)
    * an existing output without --force (the file keeps its exact bytes)
    * an output path that is an existing directory
    * an output path whose parent directory is missing
  exit 2, a message on stderr:
    * an unknown option, a missing -o, no inputs, a bad --order or --mappers
      value
  exit 0:
    * --force over an existing output: replaced by a valid, correct file
    * an empty input file: a valid file with zero keys
    * an empty directory as input: a valid file with zero keys, 0 input files
After every failure no output file may appear and the output's directory must
hold exactly what the test put there (no temporary files left behind).
Under a launcher, lines the launcher itself prints (those not starting with
"mpimr") are tolerated and shown as notes.

Usage:
  tests/e2e/bad_input.py --mpimr build/mpimr [--launch "mpiexec -n 2 --oversubscribe"]
      [--timeout S] [--keep]

Prints a PASS/FAIL line per check; exits 1 if any failed, else 0.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

TEXT = b"the cat sat on the mat\nthe end\n"


def listing(d):
    """Everything under d (names relative to d, hidden ones included)."""
    if not os.path.isdir(d):
        return None
    out = set()
    for dirpath, dirnames, filenames in os.walk(d):
        rel = os.path.relpath(dirpath, d)
        for n in dirnames + filenames:
            out.add(os.path.normpath(os.path.join(rel, n)))
    return out


def quoted_paths(line):
    return re.findall(r"'([^']*)'", line)


def names_path(line, paths, cwd):
    """True if some '...' in line is one of paths (as given, or the same file)."""
    want = {os.path.normpath(os.path.join(cwd, p)) for p in paths}
    for q in quoted_paths(line):
        if q in paths or os.path.normpath(os.path.join(cwd, q)) in want:
            return True
    return False


class Checker:
    def __init__(self, mpimr, launch, timeout, root):
        self.mpimr, self.launch, self.timeout, self.root = mpimr, launch, timeout, root
        self.failed = self.passed = self.skipped = 0
        self.n = 0

    def fresh(self, name):
        """A fresh working directory with in/ (one text file) and out/."""
        self.n += 1
        d = os.path.join(self.root, "%02d-%s" % (self.n, name))
        os.makedirs(os.path.join(d, "in"))
        os.makedirs(os.path.join(d, "out"))
        with open(os.path.join(d, "in", "a.txt"), "wb") as f:
            f.write(TEXT)
        return d

    def result(self, label, errors):
        if mrtest.report(label, errors):
            self.passed += 1
        else:
            self.failed += 1

    def skip(self, label, why):
        print("SKIP %s (%s)" % (label, why))
        self.skipped += 1

    def mpimr_run(self, cwd, args):
        return mrtest.run_mpimr(self.mpimr, self.launch, args,
                                timeout=self.timeout, cwd=cwd)

    def expect_failure(self, label, cwd, args, rc, named=(), reasons=(),
                       watch="out"):
        """Run; expect exit rc and the directory watch (under cwd) unchanged.

        An unchanged watch directory means no output file and no temporary
        file appeared.  For rc 1 also: exactly one stderr line starting
        "mpimr: " that names one of `named` in single quotes and contains one
        of `reasons` (any case).  For rc 2: some message on stderr.
        """
        watch = os.path.join(cwd, watch)
        before = listing(watch)
        e = []
        try:
            r = self.mpimr_run(cwd, args)
        except mrtest.TestFailure as x:
            self.result(label, [str(x)])
            return
        if r.rc != rc:
            e.append("exit status %s, want %d" % (r.rc, rc))
        lines = [ln for ln in r.err_lines() if ln.strip()]
        ours = [ln for ln in lines if ln.startswith("mpimr")]
        others = [ln for ln in lines if not ln.startswith("mpimr")]
        if rc == 1:
            if len(ours) != 1:
                e.append("want exactly one stderr line starting 'mpimr: ', got %d"
                         % len(ours))
            for ln in ours[:1]:
                if not ln.startswith("mpimr: "):
                    e.append("message does not start with 'mpimr: ': %r" % ln)
                if named and not names_path(ln, list(named), cwd):
                    e.append("message does not name %s in single quotes: %r"
                             % (" or ".join("'%s'" % p for p in named), ln))
                if reasons and not any(x.lower() in ln.lower() for x in reasons):
                    e.append("message does not give the reason (%s): %r"
                             % (" / ".join(reasons), ln))
            if others:
                if self.launch:
                    print("note: %s: the launcher printed %d more stderr lines, "
                          "e.g. %r" % (label, len(others), others[0][:100]))
                else:
                    e.append("extra stderr lines besides the message: %r"
                             % others[:3])
        elif not lines:
            e.append("no message on stderr")
        after = listing(watch)
        if after != before:
            e.append("%s changed (an output or temporary file left?): "
                     "new %s, gone %s" % (watch, sorted(after - before)[:5],
                                          sorted(before - after)[:5]))
        if e:
            e.append(r.describe())
        self.result(label, e)

    def expect_ok(self, label, cwd, args, out, inputs, want_keys=None):
        """Run; expect exit 0 and a valid, correct file at out."""
        watch = os.path.dirname(os.path.join(cwd, out))
        before = listing(watch) | {os.path.basename(out)}
        try:
            r = self.mpimr_run(cwd, args)
        except mrtest.TestFailure as x:
            self.result(label, [str(x)])
            return
        if r.rc != 0:
            self.result(label, ["exit status %s, want 0\n%s" % (r.rc, r.describe())])
            return
        old = os.getcwd()
        os.chdir(cwd)
        try:
            orc = mrtest.oracle(inputs)
            res, e = mrtest.check_result(out, orc, nranks=mrtest.launch_nranks(
                self.launch), order="count")
        finally:
            os.chdir(old)
        if res is not None and want_keys is not None and len(res.items) != want_keys:
            e.append("file has %d keys, want %d" % (len(res.items), want_keys))
        after = listing(watch)
        if after != before:
            e.append("%s holds %s, want only %s" % (watch, sorted(after),
                                                    sorted(before)))
        self.result(label, e)


def run_checks(c):
    # -- exit 1: inputs
    d = c.fresh("missing-input")
    c.expect_failure("missing input file -> exit 1", d,
                     ["wordcount", "in/a.txt", "in/missing.txt", "-o", "out/r.h5"],
                     1, named=["in/missing.txt"],
                     reasons=[os.strerror(2)])

    d = c.fresh("unreadable-input")
    if os.geteuid() == 0:
        c.skip("unreadable input file -> exit 1", "running as root")
    else:
        p = os.path.join(d, "in", "secret.txt")
        with open(p, "wb") as f:
            f.write(TEXT)
        os.chmod(p, 0)
        c.expect_failure("unreadable input file -> exit 1", d,
                         ["wordcount", "in/secret.txt", "-o", "out/r.h5"],
                         1, named=["in/secret.txt"],
                         reasons=[os.strerror(13)])

    d = c.fresh("fifo-input")
    os.mkfifo(os.path.join(d, "in", "fifo"))
    c.expect_failure("FIFO as input -> exit 1", d,
                     ["wordcount", "in/a.txt", "in/fifo", "-o", "out/r.h5"],
                     1, named=["in/fifo"],
                     reasons=["regular", "fifo", "pipe"])

    # -- exit 1: outputs
    d = c.fresh("output-exists")
    out = os.path.join(d, "out", "r.h5")
    precious = b"precious bytes, not an HDF5 file\n" * 10
    with open(out, "wb") as f:
        f.write(precious)
    c.expect_failure("existing output without --force -> exit 1", d,
                     ["wordcount", "in/a.txt", "-o", "out/r.h5"],
                     1, named=["out/r.h5"])
    with open(out, "rb") as f:
        c.result("existing output left untouched (same bytes)",
                 [] if f.read() == precious else ["out/r.h5 was changed"])
    c.expect_ok("existing output with --force -> replaced, valid", d,
                ["wordcount", "--force", "in/a.txt", "-o", "out/r.h5"],
                "out/r.h5", ["in/a.txt"])

    d = c.fresh("output-is-dir")
    os.makedirs(os.path.join(d, "out", "r.h5"))
    c.expect_failure("output path is a directory -> exit 1", d,
                     ["wordcount", "in/a.txt", "-o", "out/r.h5"],
                     1, named=["out/r.h5"])

    d = c.fresh("output-parent-missing")
    c.expect_failure("output parent directory missing -> exit 1", d,
                     ["wordcount", "in/a.txt", "-o", "out/nodir/r.h5"],
                     1, named=["out/nodir/r.h5", "out/nodir"])

    # -- exit 2: usage
    for label, args in (
            ("unknown option -> exit 2",
             ["wordcount", "--no-such-option", "in/a.txt", "-o", "out/r.h5"]),
            ("missing -o -> exit 2", ["wordcount", "in/a.txt"]),
            ("no inputs -> exit 2", ["wordcount", "-o", "out/r.h5"]),
            ("bad --order value -> exit 2",
             ["wordcount", "--order", "sideways", "in/a.txt", "-o", "out/r.h5"]),
            ("bad --mappers value -> exit 2",
             ["wordcount", "--mappers", "some", "in/a.txt", "-o", "out/r.h5"]),
            ("--shuffle-round under 1 KiB -> exit 2",
             ["wordcount", "--shuffle-round", "1", "in/a.txt", "-o", "out/r.h5"]),
            ("--shuffle-round 1023 -> exit 2",
             ["wordcount", "--shuffle-round", "1023", "in/a.txt", "-o", "out/r.h5"])):
        d = c.fresh("usage")
        c.expect_failure(label, d, args, 2)

    # -- exit 0: empty inputs
    d = c.fresh("empty-file")
    open(os.path.join(d, "in", "empty.txt"), "wb").close()
    c.expect_ok("empty input file -> exit 0, zero keys", d,
                ["wordcount", "in/empty.txt", "-o", "out/r.h5"],
                "out/r.h5", ["in/empty.txt"], want_keys=0)

    d = c.fresh("empty-dir")
    os.makedirs(os.path.join(d, "in", "emptydir"))
    c.expect_ok("empty directory input -> exit 0, zero keys", d,
                ["wordcount", "in/emptydir", "-o", "out/r.h5"],
                "out/r.h5", ["in/emptydir"], want_keys=0)


def main():
    ap = argparse.ArgumentParser(description="Check mpimr on bad input and usage.")
    ap.add_argument("--mpimr", required=True, help="path to the mpimr binary")
    ap.add_argument("--launch", default="",
                    help='launcher, e.g. "mpiexec -n 2 --oversubscribe" '
                         '(default: none)')
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds before a run counts as a hang (default 120)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    a = ap.parse_args()

    root = tempfile.mkdtemp(prefix="mpimr-bad-")
    c = Checker(os.path.abspath(a.mpimr), a.launch, a.timeout, root)
    print("bad input checks [%s] in %s" % (a.launch or "no launcher", root))
    try:
        run_checks(c)
    finally:
        if a.keep or c.failed:
            print("kept %s" % root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("%d passed, %d failed, %d skipped" % (c.passed, c.failed, c.skipped))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
