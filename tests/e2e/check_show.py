#!/usr/bin/python3
"""`mpimr show`: prints the file's rows exactly (keys with \\t, \\n, \\r and \\\\
escaped), honours --top, and refuses bad files with exit 1 and one message
naming the path: a missing file, a directory, a file that is not HDF5, and
result files whose key offsets are damaged (decreasing, or past key_bytes).
Bad usage exits 2.

The value shapes: one number (key<TAB>value); a set, from an invindex run
and from a crafted file (key<TAB>m1,m2,...); several fields, from a groupby
run and crafted, with and without creation order kept in the file
(key<TAB>name=value<TAB>..., fields in creation order, else by name).  A
set whose value_offsets are damaged, and a field shorter than the keys, are
refused like bad offsets.

Files that are hard to read: one of mode 0600 owned by root, shown as user
nobody (Permission denied; skipped, saying why, when neither setpriv nor
runuser can switch); one an h5py process holds open for writing (locked,
HDF5's flock); one without complete=1 or with complete=0 (refused, and
printed after one warning with --incomplete); datasets (key_bytes,
key_offsets, values, value_offsets, a field) that claim 2^40 elements with
nothing written, contiguous, chunked or gzip'd, at any --top (refused as
damaged, naming the dataset, with no allocation of their size), while a
gzip'd copy of a whole result prints whole.  Standard output: /dev/full is
an error (exit 1, one message); a reader that goes away (| head -1) is not,
with SIGPIPE default or ignored.  --top=N works like --top N.

Usage:
  tests/e2e/check_show.py --mpimr build/mpimr
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

ESCAPES = {b"\t": b"\\t", b"\n": b"\\n", b"\r": b"\\r", b"\\": b"\\\\"}


def escaped(key):
    return b"".join(ESCAPES.get(key[i:i + 1], key[i:i + 1]) for i in range(len(key)))


def set_lines(path, job):
    """The lines show should print for a set result, from h5py."""
    with h5py.File(path, "r") as f:
        g = f[job]
        kb, ko = g["key_bytes"][()].tobytes(), g["key_offsets"][()]
        vals, vo = g["values"][()], g["value_offsets"][()]
    return b"".join(escaped(kb[ko[i]:ko[i + 1]]) + b"\t"
                    + b",".join(b"%d" % v for v in vals[vo[i]:vo[i + 1]]) + b"\n"
                    for i in range(len(ko) - 1))


def field_lines(path, job):
    """The lines show should print for a result of several fields, from h5py
    (which lists a group's members as the file does)."""
    with h5py.File(path, "r") as f:
        g = f[job]
        kb, ko = g["key_bytes"][()].tobytes(), g["key_offsets"][()]
        fields = [(name, g["values"][name][()]) for name in g["values"]]
    return b"".join(escaped(kb[ko[i]:ko[i + 1]]) + b"".join(
        b"\t" + name.encode() + b"=" + number(v[i]) for name, v in fields) + b"\n"
        for i in range(len(ko) - 1))


def replace_table(src, dst, keys):
    """dst: a copy of the wordcount result src whose keys are keys and whose
    values are gone; returns the h5py file, open for writing."""
    shutil.copy(src, dst)
    f = h5py.File(dst, "r+")
    g = f["wordcount"]
    for name in ("key_bytes", "key_offsets", "values"):
        del g[name]
    g["key_bytes"] = np.frombuffer(b"".join(keys), dtype=np.uint8)
    g["key_offsets"] = np.cumsum([0] + [len(k) for k in keys]).astype(np.uint64)
    return f


def set_kind(g, kind):
    """A format-2 file declares its values' kind: keep it true."""
    if "value_kind" in g.attrs:
        g.attrs["value_kind"] = kind


def craft_set(src, dst, rows):
    with replace_table(src, dst, [k for k, _ in rows]) as f:
        g = f["wordcount"]
        set_kind(g, "uint64-set")
        g["values"] = np.array([m for _, v in rows for m in v], dtype=np.uint64)
        g["value_offsets"] = np.cumsum([0] + [len(v) for _, v in rows]).astype(np.uint64)


def craft_fields(src, dst, keys, fields, track_order):
    with replace_table(src, dst, keys) as f:
        set_kind(f["wordcount"], "fields")
        vg = f["wordcount"].create_group("values", track_order=track_order)
        for name, arr in fields:
            vg[name] = arr


def number(x):
    """A value as show prints it: decimal, or C's %.17g for a float."""
    if isinstance(x, (np.floating, float)):
        return b"%.17g" % x
    return b"%d" % x


def refused_check(mpimr, expect, name, path, reason, extra=()):
    """show path (with extra arguments) exits 1, prints nothing and one line
    on stderr that names path and gives reason."""
    r = mrtest.run([mpimr, "show", path] + list(extra))
    lines = r.err_lines()
    ok = (r.rc == 1 and len(lines) == 1 and ("'%s'" % path) in lines[0]
          and reason in lines[0] and not r.out)
    expect(name, ok, r.describe())


HOLD_OPEN = """import sys, h5py
f = h5py.File(sys.argv[1], "a")
print("open", flush=True)
sys.stdin.read()
f.close()
"""


def unprivileged(mpimr):
    """A command prefix that runs as user nobody, or None."""
    for prefix in (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
                   ["runuser", "-u", "nobody", "--"]):
        if shutil.which(prefix[0]) and mrtest.run(prefix + [mpimr, "--version"]).rc == 0:
            return prefix
    return None


def check_unreadable(mpimr, tmp, out, want, expect):
    """A file show may not open (EACCES) gets the system's reason."""
    if os.geteuid() != 0:
        path = os.path.join(tmp, "mode0.h5")
        shutil.copy(out, path)
        os.chmod(path, 0)
        refused_check(mpimr, expect, "a file of mode 0: Permission denied", path,
                      "Permission denied")
        return
    prefix = unprivileged(mpimr)
    if not prefix:
        print("SKIP a root file of mode 0600 as nobody: neither setpriv nor runuser"
              " can run mpimr as nobody")
        return
    os.chmod(tmp, 0o755)
    readable, private = os.path.join(tmp, "readable.h5"), os.path.join(tmp, "private.h5")
    for path, mode in ((readable, 0o644), (private, 0o600)):
        shutil.copy(out, path)
        os.chmod(path, mode)
    r = mrtest.run(prefix + [mpimr, "show", readable])
    expect("as nobody, show reads a file of mode 0644", r.rc == 0 and r.out == want,
           r.describe())
    r = mrtest.run(prefix + [mpimr, "show", private])
    ok = (r.rc == 1 and not r.out and
          r.err_lines() == ["mpimr: cannot read '%s': Permission denied" % private])
    expect("as nobody, a root file of mode 0600: Permission denied", ok, r.describe())


def check_locked(mpimr, tmp, out, want, expect):
    """A file that a writer holds open (HDF5's flock) is named as locked."""
    if os.environ.get("HDF5_USE_FILE_LOCKING", "").upper() == "FALSE":
        print("SKIP a file open for writing elsewhere: HDF5_USE_FILE_LOCKING=FALSE"
              " turns HDF5's locks off")
        return
    path = os.path.join(tmp, "locked.h5")
    shutil.copy(out, path)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        held = holder.stdout.readline() == b"open\n"
        expect("h5py holds the copy open for writing", held)
        if held:
            refused_check(mpimr, expect, "a file open for writing elsewhere: locked",
                          path, "locked by a program that has it open for writing")
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    r = mrtest.run([mpimr, "show", path])
    expect("once the writer closed it, show reads it", r.rc == 0 and r.out == want,
           r.describe())


def check_incomplete(mpimr, tmp, out, want, expect):
    """No complete=1 at the root: refused, or printed after a warning with
    --incomplete."""
    reason = "incomplete result (no complete=1: the run writing it did not finish)"
    for label, value in (("no complete attribute", None), ("complete=0", 0)):
        path = os.path.join(tmp, label.replace(" ", "_") + ".h5")
        shutil.copy(out, path)
        with h5py.File(path, "r+") as f:
            del f.attrs["complete"]
            if value is not None:
                f.attrs["complete"] = np.uint64(value)
        refused_check(mpimr, expect, "%s: refused as incomplete" % label, path, reason)
        r = mrtest.run([mpimr, "show", path, "--incomplete"])
        lines = r.err_lines()
        ok = (r.rc == 0 and r.out == want and len(lines) == 1 and
              lines[0].startswith("mpimr: warning: '%s' is incomplete" % path))
        expect("%s: --incomplete prints it after one warning" % label, ok, r.describe())
    r = mrtest.run([mpimr, "show", "--incomplete", out])
    expect("--incomplete on a complete file: no warning", r.rc == 0 and r.out == want
           and not r.err, r.describe())
    r = mrtest.run([mpimr, "show", "--help"])
    expect("show --help documents --incomplete", r.rc == 0 and b"--incomplete" in r.out,
           r.describe())


def make_huge(src, dst, group, name, layout):
    """dst: src with dataset group/name replaced by one of the same type that
    claims 2^40 elements, none of them written."""
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        g = f[group]
        dtype = g[name].dtype
        del g[name]
        kw = {"contiguous": {}, "chunked": {"chunks": (1024,)},
              "gzip": {"chunks": (1024,), "compression": "gzip"}}[layout]
        g.create_dataset(name, shape=(2**40,), dtype=dtype, **kw)


def check_huge(mpimr, tmp, files, expect):
    """Datasets that claim 2^40 elements the file does not hold: refused as
    damaged, naming the dataset, before any allocation, whatever --top."""
    n = 0
    for src, group, names in files:
        for name in names:
            for layout in ("contiguous", "chunked", "gzip"):
                n += 1
                path = os.path.join(tmp, "huge%d.h5" % n)
                make_huge(src, path, group, name, layout)
                for extra in ([], ["--top", "2"], ["--top", str(2**63 - 1)]):
                    label = "/%s/%s claims 2^40 elements, %s %s" % (
                        group, name, layout, " ".join(extra))
                    job, _, sub = group.partition("/")
                    refused_check(mpimr, expect, label.strip(), path,
                                  "damaged table in group '%s': dataset '%s'"
                                  % (job, sub + "/" + name if sub else name), extra)


def check_compressed(mpimr, tmp, out, want, expect):
    """A result rewritten with gzip (storage smaller than the data) is whole."""
    path = os.path.join(tmp, "gzip.h5")
    shutil.copy(out, path)
    with h5py.File(path, "r+") as f:
        g = f["wordcount"]
        for name in ("key_bytes", "key_offsets", "values"):
            data = g[name][()]
            del g[name]
            g.create_dataset(name, data=data, chunks=True, compression="gzip")
    r = mrtest.run([mpimr, "show", path])
    expect("a gzip-compressed copy prints whole", r.rc == 0 and r.out == want,
           r.describe())


def check_stdout(mpimr, tmp, out, expect):
    """A failed write to standard output is an error; a reader that goes
    away (| head -1) is a normal end."""
    big = os.path.join(tmp, "big.h5")
    keys = [b"key%07d" % i for i in range(300000)]
    with replace_table(out, big, keys) as f:
        f["wordcount"]["values"] = np.arange(len(keys), 0, -1, dtype=np.uint64)
    msg = b"mpimr: cannot write standard output: No space left on device\n"
    for path in (out, big):
        with open("/dev/full", "wb") as full:
            p = subprocess.run([mpimr, "show", path], stdout=full, stderr=subprocess.PIPE,
                               env=mrtest.mpi_env(), timeout=120)
        expect("show %s > /dev/full: exit 1, one message" % os.path.basename(path),
               p.returncode == 1 and p.stderr == msg,
               "exit status %s, stderr %r" % (p.returncode, p.stderr))
    for ignored in (False, True):
        # Python ignores SIGPIPE; restore_signals gives the child the default.
        p = subprocess.Popen([mpimr, "show", big], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=mrtest.mpi_env(),
                             restore_signals=not ignored)
        first = p.stdout.readline()
        p.stdout.close()
        err = p.stderr.read()
        rc = p.wait(timeout=120)
        ok = (first == b"key0000000\t300000\n" and not err and
              rc in ((0,) if ignored else (0, -signal.SIGPIPE)))
        expect("show | head -1 (SIGPIPE %s): no message, exit %s" % (
            "ignored" if ignored else "default", rc), ok,
            "first line %r, stderr %r" % (first, err))


def check_top_forms(mpimr, out, top, whole, expect):
    """--top=N is --top N; a count past the rows (or past 2^63) prints them
    all; bad counts in either form are usage errors."""
    r = mrtest.run([mpimr, "show", out, "--top=2"])
    expect("show --top=2 prints the first two rows", r.rc == 0 and r.out == top,
           r.describe())
    r = mrtest.run([mpimr, "show", out, "--top", str(2**64)])
    expect("show --top 2^64 prints every row", r.rc == 0 and r.out == whole, r.describe())
    for argv in (["--top="], ["--top=x"], ["--top=-1"], ["--top", "-1"], ["--top"]):
        r = mrtest.run([mpimr, "show", out] + argv)
        expect("bad usage %s exits 2" % argv, r.rc == 2 and not r.out, r.describe())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    args = ap.parse_args()
    failures = []

    def expect(name, ok, detail=""):
        print(("PASS " if ok else "FAIL ") + name)
        if not ok:
            failures.append(name)
            if detail:
                print(detail)

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.txt")
        with open(src, "wb") as f:
            f.write(b"back\\slash plain plain x\x00y\n")
        out = os.path.join(tmp, "words.h5")
        r = mrtest.run([args.mpimr, "wordcount", "-q", src, "-o", out])
        expect("wordcount runs", r.rc == 0, r.describe())
        rows = mrtest.read_result(out).items
        want = b"".join(escaped(k) + b"\t" + str(v).encode() + b"\n" for k, v in rows)
        whole = want
        r = mrtest.run([args.mpimr, "show", out])
        expect("show prints every row", r.rc == 0 and r.out == want, r.describe())
        r = mrtest.run([args.mpimr, "show", out, "--top", "2"])
        top = b"".join(want.splitlines(keepends=True)[:2])
        expect("show --top 2 prints the first two rows", r.rc == 0 and r.out == top,
               r.describe())

        # Keys a job of lines could make: tab, newline, CR, backslash.
        crafted = os.path.join(tmp, "crafted.h5")
        keys = [b"a\tb", b"x\ny", b"cr\r", b"back\\slash"]
        shutil.copy(out, crafted)
        with h5py.File(crafted, "r+") as f:
            g = f["wordcount"]
            for name in ("key_bytes", "key_offsets", "values"):
                del g[name]
            g["key_bytes"] = np.frombuffer(b"".join(keys), dtype=np.uint8)
            g["key_offsets"] = np.cumsum([0] + [len(k) for k in keys]).astype(np.uint64)
            g["values"] = np.arange(len(keys), 0, -1, dtype=np.uint64)
        r = mrtest.run([args.mpimr, "show", crafted])
        want = b"a\\tb\t4\nx\\ny\t3\ncr\\r\t2\nback\\\\slash\t1\n"
        expect("show escapes tab, newline, CR and backslash", r.rc == 0 and r.out == want,
               r.describe())

        # Sets: an invindex run, each line against the file read by h5py.
        names = []
        for i, data in enumerate((b"b a b\n", b"", b"c a\tb")):
            names.append(os.path.join(tmp, "set%d.txt" % i))
            with open(names[-1], "wb") as f:
                f.write(data)
        sets = os.path.join(tmp, "sets.h5")
        r = mrtest.run([args.mpimr, "invindex", "-q"] + names + ["-o", sets])
        expect("invindex runs", r.rc == 0, r.describe())
        if r.rc == 0:
            want = set_lines(sets, "invindex")
            expect("invindex: a and b in files 0 and 2, c in file 2", want ==
                   b"a\t0,2\nb\t0,2\nc\t2\n", want)
            r = mrtest.run([args.mpimr, "show", sets])
            expect("show prints a set as its members, comma-separated",
                   r.rc == 0 and r.out == want, r.describe())
            r = mrtest.run([args.mpimr, "show", sets, "--top", "1"])
            expect("show --top 1 prints a set's first row",
                   r.rc == 0 and r.out == b"a\t0,2\n", r.describe())

        # Fields: a groupby run (count, mean, max of a column), by name.
        csv = os.path.join(tmp, "t.csv")
        with open(csv, "wb") as f:
            f.write(b"city,temp\nOslo,3\nRome,20\nOslo,5\nRome,22.5\nLima,7\n")
        grouped = os.path.join(tmp, "grouped.h5")
        r = mrtest.run([args.mpimr, "groupby", "-q", "--key", "city", "--value", "temp",
                        "--op", "count", "--op", "mean", "--op", "max", csv, "-o", grouped])
        expect("groupby runs", r.rc == 0, r.describe())
        if r.rc == 0:
            want = (b"Oslo\tcount=2\tmax=5\tmean=4\nRome\tcount=2\tmax=22.5\tmean=21.25\n"
                    b"Lima\tcount=1\tmax=7\tmean=7\n")
            expect("groupby's fields, as h5py reads them, are the expected ones",
                   field_lines(grouped, "groupby") == want, field_lines(grouped, "groupby"))
            r = mrtest.run([args.mpimr, "show", grouped])
            expect("show prints groupby's fields as name=value, by name",
                   r.rc == 0 and r.out == want, r.describe())
            r = mrtest.run([args.mpimr, "show", grouped, "--top", "1"])
            expect("show --top 1 prints groupby's first row",
                   r.rc == 0 and r.out == want.splitlines(keepends=True)[0], r.describe())

        crafted_set = os.path.join(tmp, "crafted_set.h5")
        rows = [(b"multi", [0, 3, 17]), (b"x\ty", [2]), (b"none", []),
                (b"big", [2**64 - 1])]
        craft_set(out, crafted_set, rows)
        r = mrtest.run([args.mpimr, "show", crafted_set])
        want = b"multi\t0,3,17\nx\\ty\t2\nnone\t\nbig\t18446744073709551615\n"
        expect("show prints crafted sets, an empty one and 2^64-1", r.rc == 0 and
               r.out == want, r.describe())

        # Fields: /wordcount/values a group of datasets.
        fields = [("sum", np.array([2.5, -1e300, 0.1], dtype=np.float64)),
                  ("count", np.array([3, 1, 2**64 - 1], dtype=np.uint64)),
                  ("mean", np.array([0.5, float("inf"), float("nan")]))]
        fkeys = [b"k1", b"k\n2", b"k3"]
        for order, label in ((True, "creation order"), (False, "name order")):
            path = os.path.join(tmp, "fields_%s.h5" % order)
            craft_fields(out, path, fkeys, fields, order)
            shown = fields if order else sorted(fields)
            want = b"".join(escaped(k) + b"".join(
                b"\t" + n.encode() + b"=" + number(v[i]) for n, v in shown) + b"\n"
                for i, k in enumerate(fkeys))
            r = mrtest.run([args.mpimr, "show", path])
            expect("show prints fields as name=value, in %s" % label,
                   r.rc == 0 and r.out == want, "want %r\n%s" % (want, r.describe()))
            r = mrtest.run([args.mpimr, "show", path, "--top", "1"])
            expect("show --top 1 with fields in %s" % label, r.rc == 0 and
                   r.out == want.splitlines(keepends=True)[0], r.describe())

        def refused(name, path, reason):
            refused_check(args.mpimr, expect, name, path, reason)

        refused("missing file", os.path.join(tmp, "nope.h5"), "No such file or directory")
        refused("a directory", tmp, "Is a directory")
        refused("not HDF5", src, "not an HDF5 file")
        for label, offsets in (("decreasing offsets", [0, 3, 1]),
                               ("offsets past key_bytes", [0, 100, 3])):
            bad = os.path.join(tmp, label.replace(" ", "_") + ".h5")
            shutil.copy(out, bad)
            with h5py.File(bad, "r+") as f:
                g = f["wordcount"]
                for name in ("key_bytes", "key_offsets", "values"):
                    del g[name]
                g["key_bytes"] = np.frombuffer(b"abc", dtype=np.uint8)
                g["key_offsets"] = np.array(offsets, dtype=np.uint64)
                g["values"] = np.array([1, 1], dtype=np.uint64)
            refused(label, bad, "damaged table")

        for label, offsets in (("decreasing value_offsets", [0, 2, 1, 3]),
                               ("value_offsets past values", [0, 1, 2, 9])):
            bad = os.path.join(tmp, label.replace(" ", "_") + ".h5")
            craft_set(out, bad, [(b"a", [1]), (b"b", [2]), (b"c", [3])])
            with h5py.File(bad, "r+") as f:
                del f["wordcount/value_offsets"]
                f["wordcount/value_offsets"] = np.array(offsets, dtype=np.uint64)
            refused(label, bad, "damaged table")
        bad = os.path.join(tmp, "short_field.h5")
        craft_fields(out, bad, [b"a", b"b", b"c"],
                     [("n", np.array([1, 2, 3], dtype=np.uint64)),
                      ("x", np.array([1.0, 2.0]))], False)
        refused("a field shorter than the keys", bad, "damaged table")

        for argv in (["show"], ["show", out, "--top", "x"], ["show", out, "--bogus"]):
            r = mrtest.run([args.mpimr] + argv)
            expect("bad usage %s exits 2" % argv[1:], r.rc == 2, r.describe())
        check_top_forms(args.mpimr, out, top, whole, expect)

        check_unreadable(args.mpimr, tmp, out, whole, expect)
        check_locked(args.mpimr, tmp, out, whole, expect)
        check_incomplete(args.mpimr, tmp, out, whole, expect)
        huge = [(out, "wordcount", ["key_bytes", "key_offsets", "values"]),
                (os.path.join(tmp, "fields_True.h5"), "wordcount/values", ["sum"])]
        if os.path.exists(sets):
            huge.append((sets, "invindex", ["values", "value_offsets"]))
        check_huge(args.mpimr, tmp, huge, expect)
        check_compressed(args.mpimr, tmp, out, whole, expect)
        check_stdout(args.mpimr, tmp, out, expect)

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
