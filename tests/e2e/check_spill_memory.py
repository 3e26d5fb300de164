#!/usr/bin/python3
"""A rank keeps to --mem however big the input: peak RSS does not grow with it.

The input (WORKDIR/in, made here): 30 MB of 3,400,000 distinct words, 12 to
a line (hexadecimal numbers, no word twice), and the same file's first 4 MB
(cut at a line's end).  Word count and sort run over each with --mem 8M,
so the big input spills 90 sorted runs at one rank (45 a rank at two) and
the small one a few; both must finish exact (every word once:
/wordcount@distinct_keys and total are the word count; sort's records are
the lines, in order) and:

  * every rank's peak RSS (/stats/peak_rss_bytes) stays under --mem +
    mrtest.RSS_SLACK;
  * the biggest peak over the ranks on the big input is at most 8 MiB above
    the one on the small input: past the budget, more input means more runs
    on disk, not more memory.  (A rank that keeps a buffer per spilled run
    grows by about 1 MiB a run at --mem 8M and fails this.)

Usage: check_spill_memory.py --mpimr build/mpimr --launch "mpiexec -n 3 ..." \\
           --workdir DIR
"""

import argparse
import os
import shutil
import sys
import time

import h5py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

MEM = 8 * mrtest.MIB
GROWTH = 8 * mrtest.MIB
WORDS = 3_400_000
PER_LINE = 12
SMALL = 4_000_000
TIMEOUT = 180


def make_inputs(d):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    # i -> i * 2654435761 mod 2^32 is a bijection: every word differs.
    words = ["%x" % (i * 2654435761 % (1 << 32)) for i in range(WORDS)]
    lines = [" ".join(words[i:i + PER_LINE]) for i in range(0, WORDS, PER_LINE)]
    data = ("\n".join(lines) + "\n").encode()
    big = os.path.join(d, "big.txt")
    with open(big, "wb") as f:
        f.write(data)
    cut = data.rindex(b"\n", 0, SMALL) + 1
    small = os.path.join(d, "small.txt")
    with open(small, "wb") as f:
        f.write(data[:cut])
    return {"small": (small, data[:cut]), "big": (big, data)}


def exact(job, out, data):
    e = []
    with h5py.File(out, "r") as f:
        g = f[job]
        a = {k: mrtest._plain(v) for k, v in g.attrs.items()}
        if job == "wordcount":
            n = len(data.split())
            for name in ("distinct_keys", "total", "records"):
                if a.get(name) != n:
                    e.append("/wordcount@%s is %r, want %d (every word once)"
                             % (name, a.get(name), n))
            v = g["values"][()]
            if v.size != n or v.size and (v.min() != 1 or v.max() != 1):
                e.append("/wordcount/values is not %d ones" % n)
        else:
            want = sorted(data.split(b"\n")[:-1])
            rb, ro = g["record_bytes"][()].tobytes(), [int(x) for x in g["record_offsets"][()]]
            got = [rb[ro[i]:ro[i + 1]] for i in range(len(ro) - 1)]
            if got != want:
                e.append("/sort holds %d records, not the %d lines in order"
                         % (len(got), len(want)))
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    mpimr = os.path.abspath(a.mpimr)
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    inputs = make_inputs(os.path.join(work, "in"))
    ok = True
    for job in ("wordcount", "sort"):
        peaks = {}
        for size in ("small", "big"):
            path, data = inputs[size]
            out = os.path.join(work, "%s-%s.h5" % (job, size))
            t = time.monotonic()
            try:
                r = mrtest.run_mpimr(mpimr, a.launch, [job, "-q", "--mem", "8M", "--tmp", work,
                                                       path, "-o", out], timeout=TIMEOUT)
            except mrtest.TestFailure as x:
                ok &= mrtest.report("%s, %s input" % (job, size), [str(x)])
                continue
            if r.rc != 0 or not os.path.isfile(out):
                ok &= mrtest.report("%s, %s input" % (job, size),
                                    ["mpimr failed\n" + r.describe()])
                continue
            st = mrtest.read_stats(out)
            e = exact(job, out, data) + mrtest.rss_errors(st, MEM)
            if size == "big":
                e += mrtest.spill_errors(st, 2)
            peaks[size] = max(st["peak_rss_bytes"])
            print("  %s, %s: runs_spilled %s; %s" % (job, size, st["runs_spilled"],
                                                    mrtest.rss_note(st, MEM)))
            ok &= mrtest.report("%s --mem 8M, %s input (%d bytes, %.1f s): exact, every rank "
                                "under --mem + %d MiB" % (job, size, len(data),
                                                         time.monotonic() - t,
                                                         mrtest.RSS_SLACK // mrtest.MIB), e)
        if len(peaks) == 2:
            grew = peaks["big"] - peaks["small"]
            ok &= mrtest.report(
                "%s: the big input's peak is %.1f MiB above the small one's, want at most %d"
                % (job, grew / mrtest.MIB, GROWTH // mrtest.MIB),
                [] if grew <= GROWTH else
                ["peak RSS grew from %.1f to %.1f MiB with the input at the same --mem 8M"
                 % (peaks["small"] / mrtest.MIB, peaks["big"] / mrtest.MIB)])
    if ok:
        print("PASS: memory under --mem [%s]" % (a.launch or "no launcher"))
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print("FAIL: memory under --mem (files kept in %s)" % work)
    return 1


if __name__ == "__main__":
    sys.exit(main())
