#!/usr/bin/python3
"""Output paths that alias something: an input, each other, a device, a FIFO.

  a. -o naming one of the inputs, with --force (the same string,
     ./in/../in/a.txt, a hard link, a symlink to it, or a file met inside an
     input directory): exit 2; one message naming the -o path (in quotes);
     the input byte-identical; nothing else created.
  b. --stats FILE obeys -o's rules: an existing FILE without --force: exit
     1, one message naming FILE with "exists", FILE unchanged and no HDF5
     output; --stats equal to -o (the same string, or ./ before it): exit 2,
     nothing created; --stats naming an input (--force): exit 2, the input
     unchanged; --stats a directory: exit 1 before any work (the map fault
     point, MPIMR_FAULT=0:map:sleep, is never reached), no HDF5 output;
     --stats /dev/full (with and without --force): exit 1, no HDF5 output,
     /dev/full still a character device; --stats in a missing directory:
     exit 1, no output.  A good run writes valid JSON (json.load) and with
     --force replaces an old stats file; a run that fails in write
     (MPIMR_FAULT=<1 or 0>:write:fail) with --force leaves an old stats file
     and an old output byte-identical and no temporary file.
  b1. A file made at -o or --stats during the run (by the map command, after
     rank 0 looked), no --force: exit 1, one message naming it, "appeared
     during the run"; the file kept as made; no output, nothing else left.
  b2. An empty name, -o '' or --stats '' (alone, both, with --force): exit 2
     before any work (the map fault point is never reached), one message
     saying which option is empty, nothing created.
  c. -o /dev/null --force: exit 1, /dev/null still a character device,
     nothing created in /dev; a FIFO at the output path with --force: exit
     1, still a FIFO, nothing created.

/dev/null and /dev/full are those of a private /dev (unshare --mount, a
tmpfs on /dev with fresh device nodes, the real /dev/shm bound in), so that
an engine that replaces the device replaces only a copy; the test reports
what happened to it.  Where that cannot be set up (not root, no unshare)
those checks are skipped.

Usage: check_aliases.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import json
import os
import shutil
import sys

import faultlib as fl

TEXT_A = b"alpha beta gamma\nalpha beta\n" * 50
TEXT_B = b"delta epsilon\n" * 40

# sh private-dev.sh HOLD CMD...: run CMD in a private /dev (in a new mount
# namespace: unshare --mount), then print what became of its nodes.
PRIVATE_DEV = r'''
hold=$1; shift
mount --bind /dev/shm "$hold" || exit 90
mount -t tmpfs -o size=64m,mode=755 mpimr-test-dev /dev || exit 90
mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/full c 1 7 &&
mknod -m 666 /dev/zero c 1 5 && mknod -m 666 /dev/random c 1 8 &&
mknod -m 666 /dev/urandom c 1 9 && mkdir /dev/shm /dev/pts &&
mount --move "$hold" /dev/shm && ln -s /proc/self/fd /dev/fd || exit 90
"$@"
rc=$?
echo "@@null $(stat -c %F /dev/null)"
echo "@@full $(stat -c %F /dev/full)"
echo "@@ls $(ls -A /dev | tr '\n' ' ')"
exit $rc
'''
DEV_NAMES = "fd full null pts random shm urandom zero"


class Aliases:
    def __init__(self, a, s):
        self.a, self.s = a, s
        self.n = 0
        self.hold = os.path.join(a.workdir, "shm-hold")
        self.private_dev = None  # why not, or True
        self.script = os.path.join(a.workdir, "private-dev.sh")
        with open(self.script, "w") as f:
            f.write(PRIVATE_DEV)

    def fresh(self, name):
        self.n += 1
        d = os.path.join(self.a.workdir, "%02d-%s" % (self.n, name))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(os.path.join(d, "in"))
        with open(os.path.join(d, "in", "a.txt"), "wb") as f:
            f.write(TEXT_A)
        with open(os.path.join(d, "in", "b.txt"), "wb") as f:
            f.write(TEXT_B)
        return d

    def run(self, d, args, fault=None, when=None, private_dev=False):
        cmd = fl.mpimr_cmd(self.a, args)
        if private_dev:
            os.makedirs(self.hold, exist_ok=True)
            cmd = ["unshare", "--mount", "--propagation", "private", "sh", self.script,
                   self.hold] + cmd
        return fl.run(cmd, cwd=d, fault=fault, when=when)

    def probe_private_dev(self):
        if os.geteuid() != 0:
            return "needs root (unshare --mount, mknod)"
        if not shutil.which("unshare"):
            return "no unshare here"
        os.makedirs(self.hold, exist_ok=True)
        r = fl.run(["unshare", "--mount", "--propagation", "private", "sh", self.script,
                    self.hold, "true"])
        if r.rc != 0 or b"@@null character special file" not in r.out:
            return "cannot set up a private /dev: rc %s %s" % (
                r.rc, r.err.decode("utf-8", "replace").strip()[:200])
        return True

    @staticmethod
    def dev_report(r):
        """What the private /dev held after the run: {name: kind}, listing."""
        kinds, listing = {}, None
        for ln in r.out.decode("utf-8", "replace").splitlines():
            if ln.startswith("@@ls "):
                listing = ln[5:].split()
            elif ln.startswith("@@"):
                k, _, v = ln[2:].partition(" ")
                kinds[k] = v
        return kinds, listing

    def dev_errors(self, r, node):
        kinds, listing = self.dev_report(r)
        e = []
        if kinds.get(node) != "character special file":
            e.append("/dev/%s is now a %s, want a character device" % (
                node, kinds.get(node, "(unknown)")))
        if listing is not None and sorted(listing) != DEV_NAMES.split():
            extra = sorted(set(listing) - set(DEV_NAMES.split()))
            gone = sorted(set(DEV_NAMES.split()) - set(listing))
            e.append("/dev changed: new %s, gone %s" % (extra, gone))
        return e

    # -- a. -o naming an input ------------------------------------------------

    def output_is_input(self):
        for label, inputs, out, setup in (
                ("the same string", ["in/a.txt", "in/b.txt"], "in/a.txt", None),
                ("./in/../in/a.txt", ["in/a.txt", "in/b.txt"], "./in/../in/a.txt", None),
                ("a hard link to it", ["in/a.txt", "in/b.txt"], "hard.h5",
                 lambda d: os.link(os.path.join(d, "in/a.txt"), os.path.join(d, "hard.h5"))),
                ("a symlink to it", ["in/a.txt", "in/b.txt"], "sym.h5",
                 lambda d: os.symlink("in/a.txt", os.path.join(d, "sym.h5"))),
                ("a file met inside an input directory", ["in"], "in/b.txt", None)):
            d = self.fresh("o-is-input")
            if setup:
                setup(d)
            before = fl.snapshot(d)
            r = self.run(d, ["wordcount", "--force"] + inputs + ["-o", out])
            e = fl.ended(r, 2) + fl.one_message(r, contains=(fl.quoted(out),))
            e += fl.changes(before, fl.snapshot(d))
            self.s.check("-o %s (%s) with --force: exit 2, one message, input "
                         "untouched" % (out, label), e, r)

    # -- b. --stats -------------------------------------------------------------

    def stats_exists(self):
        d = self.fresh("stats-exists")
        with open(os.path.join(d, "stats.json"), "wb") as f:
            f.write(b"old stats\n")
        before = fl.snapshot(d)
        r = self.run(d, ["wordcount", "in", "-o", "out.h5", "--stats", "stats.json"])
        e = fl.ended(r, 1) + fl.one_message(r, contains=(fl.quoted("stats.json"), "exists"))
        e += fl.changes(before, fl.snapshot(d), output="out.h5")
        self.s.check("--stats FILE that exists, no --force: exit 1, one message "
                     "'exists', FILE unchanged, no HDF5 output", e, r)

    def appears_during_run(self):
        """A file made at -o (or --stats) while the run goes, by someone
        else (here the map command, after rank 0's check): no --force, so
        it is kept and the run fails."""
        for target, args in (("out.h5", []), ("stats.json", ["--stats", "stats.json"])):
            d = self.fresh("appears-" + target)
            mapper = "cat; (set -C; echo precious > %s) 2>/dev/null; true" % target
            r = self.run(d, ["stream", "--map", mapper, "in", "-o", "out.h5"] + args)
            e = fl.ended(r, 1) + fl.one_message(
                r, contains=(fl.quoted(target), "appeared during the run"))
            left = sorted(os.listdir(d))
            if left != sorted(["in", target]):
                e.append("the directory holds %s, want in/ and %s" % (left, target))
            with open(os.path.join(d, target), "rb") as f:
                got = f.read()
            if got != b"precious\n":
                e.append("%s holds %r, want the file made during the run" % (target, got[:40]))
            self.s.check("%s made during the run, no --force: exit 1, one message, the "
                         "file kept, nothing else left" % target, e, r)

    def stats_is_output(self):
        for stats in ("out.h5", "./out.h5"):
            d = self.fresh("stats-is-o")
            before = fl.snapshot(d)
            r = self.run(d, ["wordcount", "in", "-o", "out.h5", "--stats", stats])
            e = fl.ended(r, 2) + ([] if fl.messages(r) else ["no 'mpimr:' message"])
            e += fl.changes(before, fl.snapshot(d), output="out.h5")
            self.s.check("--stats %s with -o out.h5: exit 2, nothing created" % stats, e, r)

    def stats_is_input(self):
        for inputs, stats in ((["in/a.txt", "in/b.txt"], "in/a.txt"),
                              (["in"], "in/b.txt"), (["in"], "./in/../in/a.txt")):
            d = self.fresh("stats-is-input")
            before = fl.snapshot(d)
            r = self.run(d, ["wordcount", "--force"] + inputs +
                         ["-o", "out.h5", "--stats", stats])
            e = fl.ended(r, 2) + ([] if fl.messages(r) else ["no 'mpimr:' message"])
            e += fl.changes(before, fl.snapshot(d), output="out.h5")
            self.s.check("--stats %s naming an input (of %s), --force: exit 2, the "
                         "input unchanged, nothing created" % (stats, " ".join(inputs)), e, r)

    def stats_is_directory(self):
        for force in ([], ["--force"]):
            d = self.fresh("stats-is-dir")
            os.makedirs(os.path.join(d, "sdir"))
            before = fl.snapshot(d)
            r = self.run(d, ["wordcount"] + force + ["in", "-o", "out.h5", "--stats", "sdir"],
                         fault="0:map:sleep", when=(fl.SLEEPING, lambda m, p: None))
            e = fl.ended(r, 1)
            if r.fired:
                e.append("map began (rank 0's map fault point was reached): the "
                         "directory was not refused before any work")
            e += fl.changes(before, fl.snapshot(d), output="out.h5")
            self.s.check("--stats a directory%s: exit 1 before any work, no HDF5 "
                         "output" % (" with --force" if force else ""), e, r)

    def empty_names(self):
        for label, names, option in (("-o ''", ["-o", ""], "-o"),
                                     ("--stats ''", ["-o", "out.h5", "--stats", ""], "--stats"),
                                     ("-o '' --stats ''", ["-o", "", "--stats", ""], "-o")):
            for force in ([], ["--force"]):
                d = self.fresh("empty-name")
                before = fl.snapshot(d)
                r = self.run(d, ["wordcount"] + force + ["in"] + names,
                             fault="0:map:sleep", when=(fl.SLEEPING, lambda m, p: None))
                e = fl.ended(r, 2) + fl.one_message(r, contains=(option, "empty"))
                if r.fired:
                    e.append("map began (rank 0's map fault point was reached): the "
                             "empty name was not refused before any work")
                e += fl.changes(before, fl.snapshot(d))
                self.s.check("%s%s: exit 2 before any work, one message, nothing "
                             "created" % (label, " with --force" if force else ""), e, r)

    def stats_dev_full(self):
        for force in ([], ["--force"]):
            label = "--stats /dev/full%s: exit 1, no HDF5 output, still a character " \
                    "device" % (" with --force" if force else "")
            if self.private_dev is not True:
                self.s.skip(label, self.private_dev)
                continue
            d = self.fresh("stats-dev-full")
            before = fl.snapshot(d)
            r = self.run(d, ["wordcount"] + force + ["in", "-o", "out.h5", "--stats",
                                                     "/dev/full"], private_dev=True)
            e = fl.ended(r, 1) + self.dev_errors(r, "full")
            e += fl.changes(before, fl.snapshot(d), output="out.h5")
            self.s.check(label, e, r)

    def stats_missing_dir(self):
        d = self.fresh("stats-nodir")
        before = fl.snapshot(d)
        r = self.run(d, ["wordcount", "in", "-o", "out.h5", "--stats", "nodir/s.json"])
        e = fl.ended(r, 1) + fl.changes(before, fl.snapshot(d), output="out.h5")
        self.s.check("--stats in a missing directory: exit 1, no output", e, r)

    def stats_good(self):
        for old in (False, True):
            d = self.fresh("stats-good")
            st = os.path.join(d, "stats.json")
            if old:
                with open(st, "wb") as f:
                    f.write(b"old stats\n")
            r = self.run(d, ["wordcount"] + (["--force"] if old else []) +
                         ["in", "-o", "out.h5", "--stats", "stats.json"])
            e = fl.ended(r, 0)
            if r.rc == 0:
                e += fl.check_table("out.h5", ["in"], self.a.np, cwd=d)
                try:
                    with open(st) as f:
                        json.load(f)
                except (OSError, ValueError) as x:
                    e.append("stats.json is not valid JSON: %s" % x)
            e += fl.temp_and_locks(d)
            self.s.check("a good run%s: exit 0, valid JSON%s" % (
                " with --force over an old stats file" if old else "",
                " replacing the old" if old else ""), e, r)

    def stats_failed_write(self):
        d = self.fresh("stats-failed-write")
        with open(os.path.join(d, "stats.json"), "wb") as f:
            f.write(b"old stats\n")
        r = self.run(d, ["wordcount", "in", "-o", "out.h5"])
        if not self.s.check("an old output for the failing run to keep", fl.ended(r, 0), r):
            return
        before = fl.snapshot(d)
        fault = "%d:write:fail" % (1 if self.a.np > 1 else 0)
        r = self.run(d, ["wordcount", "--force", "in", "-o", "out.h5", "--stats",
                         "stats.json"], fault=fault)
        e = fl.ended(r, nonzero=True) + fl.changes(before, fl.snapshot(d))
        self.s.check("%s with --force: the old stats file and the old output "
                     "byte-identical, no temporary file" % fault, e, r)

    # -- c. devices and FIFOs -----------------------------------------------------

    def dev_null(self):
        label = "-o /dev/null --force: exit 1, still a character device, nothing in /dev"
        if self.private_dev is not True:
            self.s.skip(label, self.private_dev)
            return
        d = self.fresh("o-dev-null")
        before = fl.snapshot(d)
        r = self.run(d, ["wordcount", "--force", "in", "-o", "/dev/null"], private_dev=True)
        e = fl.ended(r, 1) + self.dev_errors(r, "null") + fl.changes(before, fl.snapshot(d))
        self.s.check(label, e, r)

    def fifo(self):
        d = self.fresh("o-fifo")
        os.mkfifo(os.path.join(d, "out.h5"))
        before = fl.snapshot(d)
        r = self.run(d, ["wordcount", "--force", "in", "-o", "out.h5"])
        e = fl.ended(r, 1) + fl.changes(before, fl.snapshot(d))
        self.s.check("-o a FIFO with --force: exit 1, still a FIFO, nothing created", e, r)


def main():
    a = fl.parse_args(__doc__)
    s = fl.Suite("output paths that alias something [%s]" % (a.launch or "no launcher"))
    t = Aliases(a, s)
    try:
        t.private_dev = t.probe_private_dev()
        if t.private_dev is not True:
            s.note("the /dev checks are skipped: %s" % t.private_dev)
        t.output_is_input()
        t.stats_exists()
        t.appears_during_run()
        t.stats_is_output()
        t.stats_is_input()
        t.stats_is_directory()
        t.empty_names()
        t.stats_dev_full()
        t.stats_missing_dir()
        t.stats_good()
        t.stats_failed_write()
        t.dev_null()
        t.fifo()
    finally:
        if os.path.isdir(t.hold):
            os.rmdir(t.hold)
        os.unlink(t.script)
    rc = s.finish()
    if rc == 0:
        for n in os.listdir(a.workdir):
            shutil.rmtree(os.path.join(a.workdir, n), ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
