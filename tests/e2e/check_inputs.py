#!/usr/bin/python3
"""Inputs: compressed files, and directory walks like grep -r.

  * gzip and zstd inputs (one member or frame, and several concatenated:
    `gzip -c a; gzip -c b`), recognised by their magic bytes whatever their
    names (a .txt that is gzip, a .gz that is text), mixed with plain files:
    word count equals Counter(data.split()) over each file's decompressed
    bytes (Python's gzip module and the zstd tool decompress them for the
    oracle), and /inputs/sizes holds the decompressed sizes, at the given
    process count and with --chunk 1K;
  * a damaged gzip file and a cut-short one: exit 1, one message naming the
    file, no output;
  * a compressed file holding most of the input, with 2 ranks or more: a
    warning that one rank reads it;
  * walks: a symlink met inside a directory is left out, one named on the
    command line is followed; a file named twice, or reached through a
    directory and by name, is read once.

Usage: check_inputs.py --mpimr build/mpimr --launch "mpiexec -n 3 ..." DIR
"""

import argparse
import collections
import gzip
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

failures = []


def check(label, errors):
    if errors:
        failures.append(label)
    mrtest.report(label, errors)


def unzstd(path):
    return subprocess.run(["zstd", "-q", "-d", "-c", path], check=True,
                          stdout=subprocess.PIPE).stdout


def text_of(path):
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as f:
            return f.read()
    if head == b"\x28\xb5\x2f\xfd":
        return unzstd(path)
    with open(path, "rb") as f:
        return f.read()


def run(a, args):
    return mrtest.run_mpimr(a.mpimr, a.launch, args, timeout=120)


def table_of(out):
    res = mrtest.read_result(out)
    return collections.Counter({k: v for k, v in res.items}), res


def exact(a, label, inputs, files, extra=()):
    """wordcount over inputs equals the Counter of files' decompressed text."""
    out = os.path.join(a.work, "out.h5")
    r = run(a, ["wordcount", "--force"] + list(extra) + inputs + ["-o", out])
    e = [] if r.rc == 0 else [r.describe()]
    if r.rc == 0:
        want = collections.Counter()
        for f in files:
            want.update(text_of(f).split())
        got, res = table_of(out)
        if got != want:
            diff = sorted(set(got.items()) ^ set(want.items()))[:5]
            e.append("the table differs from the oracle, e.g. %s" % diff)
        sizes = list(res.sizes or [])
        want_sizes = [len(text_of(f)) for f in files]
        if sizes != want_sizes:
            e.append("/inputs/sizes %s, want the decompressed sizes %s" % (sizes, want_sizes))
    check(label, e)
    return r


def make(a):
    d = os.path.join(a.work, "in")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    brown = sorted(os.listdir(a.brown))
    text = [b"".join(open(os.path.join(a.brown, n), "rb").read() for n in brown[i::4])
            for i in range(4)]
    p = lambda n: os.path.join(d, n)  # noqa: E731
    with gzip.open(p("a.gz"), "wb") as f:
        f.write(text[0])
    with open(p("ab.gz"), "wb") as f:  # two members
        f.write(gzip.compress(text[0]) + gzip.compress(text[1]))
    subprocess.run(["zstd", "-q", "-o", p("c.zst"), "-"], input=text[2], check=True)
    with open(p("cd.zst"), "wb") as f:  # two frames
        for t in (text[2], text[3]):
            f.write(subprocess.run(["zstd", "-q", "-c", "-"], input=t, check=True,
                                   stdout=subprocess.PIPE).stdout)
    with open(p("gzip-named.txt"), "wb") as f:
        f.write(gzip.compress(b"named txt but gzip inside\n"))
    with open(p("text-named.gz"), "wb") as f:
        f.write(b"named gz but text inside\n")
    with open(p("plain.txt"), "wb") as f:
        f.write(text[3])
    whole = gzip.compress(text[1])
    with open(p("cut.gz.bad"), "wb") as f:
        f.write(whole[:len(whole) // 2])
    with open(p("damaged.gz.bad"), "wb") as f:
        f.write(whole[:100] + bytes(200) + whole[300:])
    return d


def compressed(a, d):
    names = ["a.gz", "ab.gz", "c.zst", "cd.zst", "gzip-named.txt", "text-named.gz", "plain.txt"]
    files = [os.path.join(d, n) for n in names]
    exact(a, "gzip, zstd, concatenated members and frames, mixed with text", files, files)
    exact(a, "the same with 1 KiB ranges and every rank mapping", files, files,
          ["--chunk", "1K", "--mappers", "all"])
    for name, why in (("cut.gz.bad", "ends early"), ("damaged.gz.bad", "damaged gzip")):
        path = os.path.join(d, name)
        out = os.path.join(a.work, "bad.h5")
        r = run(a, ["wordcount", path, "-o", out])
        lines = [ln for ln in r.err_lines() if ln.startswith("mpimr") and "warning" not in ln]
        e = []
        if r.rc != 1 or os.path.exists(out):
            e.append("exit %s, output %s" % (r.rc, os.path.exists(out)))
        if len(lines) != 1 or path not in lines[0] or why not in lines[0]:
            e.append("want one message naming %r and %r, got %s" % (path, why, lines))
        check("a %s file fails, naming it" % name.split(".")[0], e)
    if mrtest.launch_nranks(a.launch) and mrtest.launch_nranks(a.launch) > 1:
        r = run(a, ["wordcount", "--force", os.path.join(d, "ab.gz"),
                    os.path.join(d, "text-named.gz"), "-o", os.path.join(a.work, "w.h5")])
        warned = [ln for ln in r.err_lines() if "warning" in ln and "ab.gz" in ln
                  and "one rank" in ln]
        check("a compressed file holding most of the input is warned about",
              [] if r.rc == 0 and len(warned) == 1 else ["rc %s, warnings %s" % (
                  r.rc, [ln for ln in r.err_lines() if ln.startswith("mpimr")])])


def walks(a):
    d = os.path.join(a.work, "walk")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "dir", "sub"))
    real = os.path.join(d, "dir", "real.txt")
    with open(real, "wb") as f:
        f.write(b"alpha beta beta\n")
    with open(os.path.join(d, "outside.txt"), "wb") as f:
        f.write(b"gamma\n")
    os.symlink("real.txt", os.path.join(d, "dir", "link-to-real.txt"))
    os.symlink("../outside.txt", os.path.join(d, "dir", "link-outside.txt"))
    os.symlink("..", os.path.join(d, "dir", "sub", "loop"))
    os.link(real, os.path.join(d, "dir", "sub", "hard-link.txt"))
    top = os.path.join(d, "dir")
    named = os.path.join(d, "dir", "link-outside.txt")
    # The walk reads real.txt once (not its symlink nor its hard link, the
    # same inode), skips the loop; the named symlink is followed, and
    # real.txt named again is read once.
    exact(a, "walks: symlinks in a directory left out, named ones followed, a file once",
          [top, named, real], [real, os.path.join(d, "outside.txt")])
    want = mrtest.walk_inputs([top, named, real])
    check("mrtest's walk agrees with the engine's rule",
          [] if [os.path.realpath(p) for p in want] == [real, os.path.join(d, "outside.txt")]
          else ["mrtest walks %s" % want])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--brown", required=True, help="the Brown corpus directory")
    ap.add_argument("workdir")
    a = ap.parse_args()
    a.mpimr = os.path.abspath(a.mpimr)
    a.work = os.path.abspath(a.workdir)
    os.makedirs(a.work, exist_ok=True)
    if not shutil.which("zstd"):
        print("SKIP: no zstd tool to make the zstd inputs (apt-get install zstd)")
        return 77
    d = make(a)
    compressed(a, d)
    walks(a)
    if failures:
        print("FAIL: %d checks: %s" % (len(failures), "; ".join(failures)))
        return 1
    print("PASS: inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
