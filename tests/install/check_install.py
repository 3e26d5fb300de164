#!/usr/bin/python3
"""The installed package as a user sees it: install, build a job, run it.

  1. `cmake --install BUILD --prefix WORK/prefix`, and the files it must hold;
  2. examples/sumprod configured with -DCMAKE_PREFIX_PATH=WORK/prefix in a
     fresh build directory (find_package(mpimr) and mpimr::mpimr only; -Wall
     -Wextra -Werror), built, and run under mpiexec at np 1 and 3 (and 3 with
     ranges of 16 bytes, so that lines cross ranges);
  3. the pkg-config route: `pkg-config --cflags --libs mpimr` compiles and
     links sumprod.c with mpicc and with the plain C compiler (so the .pc file
     alone must bring MPI and HDF5), and the program runs at np 2 and 1;
  4. malformed lines fail the run: exit status 1, sumprod's message naming
     the line, no output file.

Every result is read with h5py and compared with an oracle written here with
Python's csv module: per key, math.fsum of a*b.  The engine adds in no fixed
order, so a float sum may differ from the correctly rounded one by rounding:
a key of n products may be off by at most n * 2**-52 * sum(|a*b|) (the bound
for any order of n - 1 additions), and that is the tolerance.  The key whose
products are small integers must match exactly.

Usage (tests/install/CMakeLists.txt passes all of these):
  check_install.py --build-dir build --example examples/sumprod
      --libdir lib --cmake cmake --cc cc --mpicc mpicc --mpiexec mpiexec
      [--preflags "--oversubscribe"] --workdir DIR
"""

import argparse
import csv
import math
import os
import random
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import mrtest  # noqa: E402

JOB = "sumprod"
STEP_TIMEOUT = 180


class Failed(Exception):
    pass


def must(r, what):
    """r (an mrtest.Result) exited 0, or Failed with its output."""
    if r.rc != 0:
        raise Failed("%s failed\n%s" % (what, r.describe()))
    return r


# ---------------------------------------------------------------------------
# inputs and the oracle

KEYS = ["apples", "pears", "key with spaces", "ключ", "a;b|c", "x",
        "a key longer than sixteen bytes", "k" * 100] + \
       ["k%02d" % i for i in range(30)]


def number(rng):
    """A number as a user's CSV might write it."""
    x = rng.uniform(-1000, 1000)
    return rng.choice(["%d" % round(x), "%.3f" % x, "%.6g" % x, "%.3e" % x,
                       " %.2f " % x, "-%.1f" % abs(x), "0"])


def make_inputs(d):
    """Two CSV files and an empty one; returns the directory."""
    rng = random.Random(42)
    os.makedirs(d)
    lines = ["# key,a,b", ""]
    for i in range(4000):
        if i % 400 == 0:
            lines.append("# a comment")
        if i % 500 == 7:
            lines.append("")
        end = "\r" if i % 9 == 0 else ""     # some CRLF lines
        key = rng.choice(KEYS)
        lines.append("%s,%s,%s%s" % (key, number(rng), number(rng), end))
        # Small integers: their sums are exact in any order.
        lines.append("exact,%d,%d" % (rng.randint(-99, 99), rng.randint(-9, 9)))
    lines.append("cancels,1e17,1")
    lines.append("cancels,-1e17,1")
    lines.append("cancels,0.5,0.5")
    with open(os.path.join(d, "part1.csv"), "w", encoding="utf-8",
              newline="") as f:
        f.write("\n".join(lines) + "\n")
    more = ["%s,%s,%s" % (rng.choice(KEYS), number(rng), number(rng))
            for _ in range(1500)]
    with open(os.path.join(d, "part2.csv"), "w", encoding="utf-8",
              newline="") as f:
        f.write("\n".join(more))               # no final newline
    open(os.path.join(d, "part3-empty.csv"), "w").close()
    return d


def records_of(data):
    """The engine's line records: split at '\\n'; a last line without one."""
    recs = data.split(b"\n")
    if recs and recs[-1] == b"":
        recs.pop()
    return recs


def oracle(d):
    """{key bytes: [a*b, ...]}, the record count and the files, by csv."""
    products = {}
    nrec = 0
    files = sorted(os.path.join(d, n) for n in os.listdir(d))
    for path in files:
        with open(path, "rb") as f:
            recs = records_of(f.read())
        nrec += len(recs)
        for rec in recs:
            text = rec.decode("utf-8")
            if text.endswith("\r"):
                text = text[:-1]
            if text == "" or text.startswith("#"):
                continue
            row = next(csv.reader([text]))
            if len(row) != 3:
                raise Failed("oracle: %r is not KEY,A,B" % text)
            a, b = float(row[1]), float(row[2])
            products.setdefault(row[0].encode("utf-8"), []).append(a * b)
    return products, nrec, files


def compare(out, products, nrec, nfiles, nranks):
    """Errors where the file at out differs from the oracle."""
    try:
        res = mrtest.read_result(out, job=JOB)
    except (mrtest.TestFailure, OSError, KeyError, ValueError) as x:
        return ["cannot read %s: %s" % (out, x)]
    e = list(res.problems)
    if res.values.dtype.kind != "f" or res.values.dtype.itemsize != 8:
        e.append("values have dtype %s, want float64" % res.values.dtype)
    ra, ga = res.root_attrs, res.group_attrs
    for name, got, want in (("job", ra.get("job"), JOB),
                            ("nranks", ra.get("nranks"), nranks),
                            ("complete", ra.get("complete"), 1),
                            ("records", ga.get("records"), nrec),
                            ("input_files", ga.get("input_files"), nfiles),
                            ("distinct_keys", ga.get("distinct_keys"),
                             len(products))):
        if got != want:
            e.append("attribute %s is %r, want %r" % (name, got, want))
    got = dict(res.items)
    if len(got) != len(res.items):
        e.append("%d keys appear more than once" % (len(res.items) - len(got)))
    missing = sorted(set(products) - set(got))
    extra = sorted(set(got) - set(products))
    if missing or extra:
        e.append("keys differ: missing %s, not in the input %s"
                 % (missing[:5], extra[:5]))
    for k in sorted(set(got) & set(products)):
        xs = products[k]
        want = math.fsum(xs)
        tol = len(xs) * 2.0 ** -52 * math.fsum(abs(x) for x in xs)
        if k == b"exact":
            tol = 0.0
        if not abs(got[k] - want) <= tol:
            e.append("key %s: file %r, oracle %r (%d products, tolerance %g)"
                     % (mrtest.show_key(k), got[k], want, len(xs), tol))
    e += mrtest.check_order(res.items, "count")
    return e


# ---------------------------------------------------------------------------
# the steps

def install(args, prefix):
    if os.path.exists(prefix):
        shutil.rmtree(prefix)
    must(mrtest.run([args.cmake, "--install", args.build_dir, "--prefix",
                     prefix], timeout=STEP_TIMEOUT), "cmake --install")
    lib = os.path.join(prefix, args.libdir)
    want = [os.path.join(lib, "libmpimr.a"),
            os.path.join(prefix, "include", "mpimr.h"),
            os.path.join(prefix, "bin", "mpimr"),
            os.path.join(lib, "cmake", "mpimr", "mpimrConfig.cmake"),
            os.path.join(lib, "cmake", "mpimr", "mpimrConfigVersion.cmake"),
            os.path.join(lib, "pkgconfig", "mpimr.pc")]
    absent = [p for p in want if not os.path.isfile(p)]
    if absent:
        raise Failed("not installed: %s" % ", ".join(absent))
    must(mrtest.run([os.path.join(prefix, "bin", "mpimr"), "--version"]),
         "the installed mpimr --version")


def build_with_cmake(args, prefix, bdir):
    if os.path.exists(bdir):
        shutil.rmtree(bdir)
    must(mrtest.run([args.cmake, "-S", args.example, "-B", bdir,
                     "-DCMAKE_PREFIX_PATH=" + prefix,
                     "-DCMAKE_C_COMPILER=" + args.cc,
                     "-DCMAKE_C_FLAGS=-Wall -Wextra -Werror"],
                    timeout=STEP_TIMEOUT), "configuring examples/sumprod")
    # It must have found the installed package, not some other mpimr.
    with open(os.path.join(bdir, "CMakeCache.txt")) as f:
        cache = f.read()
    want_dir = os.path.join(prefix, args.libdir, "cmake", "mpimr")
    if "mpimr_DIR:PATH=%s\n" % want_dir not in cache:
        raise Failed("examples/sumprod did not use %s (its CMakeCache.txt "
                     "has: %s)" % (want_dir, [l for l in cache.splitlines()
                                               if l.startswith("mpimr_DIR")]))
    must(mrtest.run([args.cmake, "--build", bdir], timeout=STEP_TIMEOUT),
         "building examples/sumprod")
    return os.path.join(bdir, "sumprod")


def build_with_pkg_config(args, prefix, work):
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = os.path.join(prefix, args.libdir, "pkgconfig")
    p = subprocess.run(["pkg-config", "--cflags", "--libs", "mpimr"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if p.returncode != 0:
        raise Failed("pkg-config --cflags --libs mpimr failed: %s"
                     % p.stderr.decode(errors="replace"))
    flags = shlex.split(p.stdout.decode())
    for want in ("-I" + os.path.join(prefix, "include"),
                 "-L" + os.path.join(prefix, args.libdir), "-lmpimr"):
        if want not in flags:
            raise Failed("pkg-config gave %s, without %s" % (flags, want))
    src = os.path.join(args.example, "sumprod.c")
    exes = []
    for cc, name in ((args.mpicc, "sumprod-mpicc"), (args.cc, "sumprod-cc")):
        exe = os.path.join(work, name)
        must(mrtest.run([cc, "-Wall", "-Wextra", "-Werror", src, "-o", exe]
                        + flags, timeout=STEP_TIMEOUT),
             "%s sumprod.c $(pkg-config --cflags --libs mpimr)" % cc)
        exes.append(exe)
    return exes


def launch(args, np_):
    return [args.mpiexec, "-n", str(np_)] + shlex.split(args.preflags or "")


def run_ok(args, exe, np_, inputs, out, products, nrec, nfiles, extra=()):
    label = "%s at np %d%s" % (os.path.basename(exe), np_,
                               " " + " ".join(extra) if extra else "")
    r = mrtest.run(launch(args, np_) + [exe, JOB, "-q", *extra, *inputs,
                                        "-o", out], timeout=STEP_TIMEOUT)
    if r.rc != 0:
        return mrtest.report(label, ["exit status %s\n%s"
                                     % (r.rc, r.describe())])
    return mrtest.report(label, compare(out, products, nrec, nfiles, np_))


MALFORMED = ["k,1,x", "k,1", "k,1,2,3", ",1,2", "k,nan,1", "k, ,2", "k 1 2"]


def run_malformed(args, exe, work):
    """Each bad line fails the run with its own message and leaves no file."""
    ok = True
    for i, bad in enumerate(MALFORMED):
        np_ = 3 if i == 0 else 1
        d = os.path.join(work, "malformed%d" % i)
        os.makedirs(d)
        inp = os.path.join(d, "in.csv")
        with open(inp, "w") as f:   # the bad line among good ones
            f.write("".join("k%d,%d,2\n" % (j, j) for j in range(50)) + bad
                    + "\n" + "".join("k,%d,1\n" % j for j in range(50)))
        out = os.path.join(d, "out.h5")
        r = mrtest.run(launch(args, np_) + [exe, JOB, "-q", inp, "-o", out],
                       timeout=STEP_TIMEOUT)
        e = []
        if r.rc != 1:
            e.append("exit status %s, want 1" % r.rc)
        msg = "sumprod: not a line KEY,A,B: '%s'" % bad
        if msg not in r.err.decode(errors="replace"):
            e.append("stderr does not say %r" % msg)
        if os.path.lexists(out):
            e.append("%s exists after a failed run" % out)
        if e:
            e.append(r.describe())
        ok &= mrtest.report("malformed line %r at np %d" % (bad, np_), e)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--build-dir", "--example", "--libdir", "--cmake", "--cc",
                 "--mpicc", "--mpiexec", "--workdir"):
        ap.add_argument(name, required=True)
    ap.add_argument("--preflags", default="")
    args = ap.parse_args()
    args.example = os.path.abspath(args.example)
    work = os.path.abspath(args.workdir)
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    prefix = os.path.join(work, "prefix")

    try:
        install(args, prefix)
        print("PASS cmake --install into %s" % prefix)
        exe = build_with_cmake(args, prefix, os.path.join(work, "build"))
        print("PASS examples/sumprod built with find_package(mpimr)")
        exe_mpicc, exe_cc = build_with_pkg_config(args, prefix, work)
        print("PASS sumprod.c built with mpicc and cc + pkg-config")
    except (Failed, mrtest.TestFailure) as x:
        print("FAIL %s" % x)
        return 1

    data = make_inputs(os.path.join(work, "data"))
    products, nrec, files = oracle(data)
    ok = True
    try:
        for i, (e, np_, extra) in enumerate((
                (exe, 1, ()), (exe, 3, ()),
                (exe, 3, ("--chunk", "16", "--mappers", "all")),
                (exe_mpicc, 2, ()), (exe_cc, 1, ()))):
            out = os.path.join(work, "out%d.h5" % i)
            ok &= run_ok(args, e, np_, [data], out, products, nrec,
                         len(files), extra)
        ok &= run_malformed(args, exe, work)
    except mrtest.TestFailure as x:
        print("FAIL %s" % x)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
