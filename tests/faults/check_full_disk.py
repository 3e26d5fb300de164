#!/usr/bin/python3
"""A full output filesystem: exit 1, one message, nothing left, never exit 0.

Word count of 4 MB of text with ~95,000 distinct words (mpimr-gen-zipf) is
written to a small tmpfs that this test mounts (and unmounts, whatever
happens):

  * too small from the start: 64K, 256K, and 50%, 80% and 95% of the size
    the same output takes on a big filesystem;
  * big enough to create the file, filled during the write: with
    MPIMR_FAULT=<last rank>:write:sleep, when the "sleeping" line appears
    (the main table is written) the test fills the tmpfs until ENOSPC.
    mpimr reserved the file's blocks when it created it, so the run must
    succeed, exact (exit 0, the table equal to Counter).  Then again with
    MPIMR_TEST_NO_RESERVE=1, as on a filesystem that cannot reserve: the
    rest of the write fails, and the run must fail as below;
  * both again with --force over an old output (a real result made on the
    big filesystem and copied in, with room left for it).

Otherwise, each time: exit 1; one message, containing the output path as given to -o
(in quotes) and "No space left on device"; nothing left on the tmpfs (no
temporary file, no lock, no output); with --force the old output is
byte-identical.  An exit 0 is a failure too; one whose file does not open
or does not match Counter is reported as the worst kind (SILENT BAD OUTPUT).

Needs root (mount): exits 77 when it cannot mount a tmpfs.

Usage: check_full_disk.py --mpimr build/mpimr --launch "mpiexec -n 2 ..." DIR
"""

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import time

import faultlib as fl

K = 1024
PAGE = 4096


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=755" % size,
                        "mpimr-test", path], capture_output=True, text=True)
    if p.returncode != 0:
        os.rmdir(path)
        raise OSError("mount -t tmpfs failed: %s" % (p.stderr.strip() or p.returncode))


def umount(path):
    for attempt in range(20):
        if not os.path.ismount(path):
            break
        p = subprocess.run(["umount", path], capture_output=True, text=True)
        if p.returncode == 0:
            break
        time.sleep(0.25)
    else:
        subprocess.run(["umount", "-l", path], capture_output=True)
        print("note: %s was busy; unmounted lazily" % path)
    try:
        os.rmdir(path)
    except OSError as x:
        print("note: cannot remove %s: %s" % (path, x))


@contextlib.contextmanager
def tmpfs(path, size):
    mount_tmpfs(path, size)
    try:
        yield path
    finally:
        umount(path)


def fill(path):
    """Write path until the filesystem says ENOSPC; returns bytes written."""
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for block in (1 << 20, PAGE, 512, 1):
            buf = b"\0" * block
            while True:
                try:
                    w = os.write(fd, buf)
                except OSError as x:
                    if x.errno != errno.ENOSPC:
                        raise
                    break
                n += w
                if w < block:
                    break
    finally:
        os.close(fd)
    return n


class FullDisk:
    def __init__(self, a, s):
        self.a, self.s = a, s
        self.work = a.workdir
        self.inputs = os.path.join(self.work, "in")
        self.last = a.np - 1 if a.np else 0

    def make_inputs(self):
        shutil.rmtree(self.inputs, ignore_errors=True)
        subprocess.run([self.a.gen, "--bytes", "4M", "--vocab", "200000", "--files", "4",
                        "--seed", "1", "--out", self.inputs], check=True,
                       stdout=subprocess.DEVNULL)

    def reference(self):
        """The output on the big filesystem: its size, and a copy to reuse."""
        d = os.path.join(self.work, "ref")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        r = fl.run(fl.mpimr_cmd(self.a, ["wordcount", self.inputs, "-o", "ref.h5"]), cwd=d)
        e = fl.ended(r, 0)
        if not e:
            e = fl.check_table(os.path.join(d, "ref.h5"), [self.inputs], self.a.np)
        if not self.s.check("reference run on a big filesystem", e, r):
            return None
        return os.path.join(d, "ref.h5")

    def never_zero(self, r, out):
        """Errors for an exit 0: always one, the worst when the file is bad."""
        if r.rc != 0:
            return []
        if not os.path.exists(out):
            return ["SILENT BAD OUTPUT: exit 0 and no file at %s" % out]
        e = fl.check_table(out, [self.inputs], self.a.np)
        if e:
            return ["SILENT BAD OUTPUT: exit 0 with a file that fails the oracle:"] + e
        return ["exit 0 (the file is whole and exact: was the filesystem too "
                "big?), want 1"]

    def case(self, label, size, old=None, fill_in_write=False, reserve=False):
        """One run to a tmpfs of size bytes; old: a result to put there first.
        reserve: the run may reserve its blocks (and so must succeed)."""
        name = "fs-%s" % label.replace(" ", "-").replace("%", "pc")
        mnt = os.path.join(self.work, name)
        given = os.path.join(name, "out.h5")
        args = ["wordcount", self.inputs, "-o", given] + (["--force"] if old else [])
        title = "%s: %s tmpfs of %d KiB%s" % (
            "--force over an old output" if old else "no old output", label,
            size // K, ", filled during write" if fill_in_write else "")
        if fill_in_write:
            title += ", blocks reserved" if reserve else ", no reserving"
        try:
            with tmpfs(mnt, size):
                if old:
                    shutil.copyfile(old, os.path.join(mnt, "out.h5"))
                before = fl.snapshot(mnt)
                when, fault, filled = None, None, {}
                if fill_in_write:
                    fault = "%d:write:sleep" % self.last

                    def do_fill(m, p):
                        filled["bytes"] = fill(os.path.join(mnt, "filler"))
                    when = (fl.SLEEPING, do_fill)
                env = None if reserve else {"MPIMR_TEST_NO_RESERVE": "1"}
                r = fl.run(fl.mpimr_cmd(self.a, args), cwd=self.work, fault=fault, when=when,
                           env=env)
                out = os.path.join(mnt, "out.h5")
                if reserve:
                    e = fl.ended(r, 0)
                    if not e:
                        e = fl.check_table(out, [self.inputs], self.a.np)
                else:
                    e = self.never_zero(r, out)
                    if not e:
                        e = fl.ended(r, 1)
                    e += fl.one_message(r, contains=(fl.quoted(given),
                                                     "No space left on device"))
                    e += fl.changes(before, fl.snapshot(mnt, skip=("filler",)),
                                    output="out.h5")
                if fill_in_write and not r.fired:
                    e.append("the 'sleeping' line of rank %d never appeared" % self.last)
                if fill_in_write and r.fired:
                    self.s.note("%s: filled %d KiB at the sleeping line" % (
                        title, filled.get("bytes", 0) // K))
                self.s.check(title, e, r)
        except OSError as x:
            self.s.check(title, ["the test could not set up: %s" % x])


def main():
    a = fl.parse_args(__doc__)
    s = fl.Suite("full output filesystem [%s]" % (a.launch or "no launcher"))
    if os.geteuid() != 0:
        print("SKIP: needs root to mount a tmpfs")
        return fl.SKIP
    probe = os.path.join(a.workdir, "probe")
    try:
        mount_tmpfs(probe, 64 * K)
        umount(probe)
    except OSError as x:
        print("SKIP: cannot mount a tmpfs here: %s" % x)
        return fl.SKIP
    t = FullDisk(a, s)
    t.make_inputs()
    try:
        ref = t.reference()
        if ref:
            full = os.path.getsize(ref)
            s.note("the output takes %d bytes on a big filesystem" % full)
            page = lambda n: max(PAGE, n // PAGE * PAGE)
            sizes = [("64K", 64 * K), ("256K", 256 * K), ("50%", page(full * 50 // 100)),
                     ("80%", page(full * 80 // 100)), ("95%", page(full * 95 // 100))]
            for label, size in sizes:
                t.case(label, size)
            for reserve in (True, False):
                t.case("2x", page(2 * full) + (1 << 20), fill_in_write=True, reserve=reserve)
            for label, size in (sizes[0], sizes[2], sizes[4]):
                t.case("old+" + label, page(full) + PAGE + size, old=ref)
            t.case("old+2x", page(3 * full) + (1 << 20), old=ref, fill_in_write=True)
            t.case("old+2x-r", page(3 * full) + (1 << 20), old=ref, fill_in_write=True,
                   reserve=True)
    finally:
        shutil.rmtree(t.inputs, ignore_errors=True)
        shutil.rmtree(os.path.join(a.workdir, "ref"), ignore_errors=True)
    return s.finish()


if __name__ == "__main__":
    sys.exit(main())
