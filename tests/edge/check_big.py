#!/usr/bin/python3
"""Big inputs made at test time: exact answers and bounded memory per rank.

  check_big.py long-record --mpimr M --mpiexec E --preflags=F --np 1,2,3,4 \\
      --workdir DIR [--record-mib 100] [--chunk 64K]
  check_big.py hot-key --mpimr M --mpiexec E --preflags=F --np 4 \\
      --workdir DIR [--words 100000000]

The input is written under DIR in 1 MiB pieces and deleted at the end, pass
or fail (the outputs too on a pass).  Its table is known by construction, so
the oracle is that table, not a split() of hundreds of MB; the file is still
checked in full by mrtest.check_result (format, table, totals, order).

long-record: one file, "before " + a word of RECORD-MIB MiB (no whitespace:
a 251-byte cycle of non-whitespace bytes) + " after\\nlast line\\n", read with
ranges of --chunk bytes, so hundreds of ranges begin inside the word and must
skip it, and one must finish it.  At each np:
  * wordcount: exit 0, table {before: 1, WORD: 1, after: 1, last: 1, line: 1};
  * null (the line rule): records == 2, the two lines;
  * memory, from --stats peak_rss_bytes, against B, the largest peak of any
    rank in the same job on a 3-byte file at the same np (MPI and HDF5's own
    footprint), and L, the long record's length:
      null:      every rank <= B + L + 2 MiB + 16 MiB.  The reader's contract
                 (src/records.c): one 1 MiB block plus a carry buffer that
                 holds the longest record; 1 MiB more for a block being
                 re-read, 16 MiB for allocator slack.
      wordcount: every rank <= B + 6 L + 32 MiB.  The word is also a key,
                 and each phase holds copies of it: map, the reader's carry,
                 the emitter's scratch and the table's arena; shuffle, the
                 send and receive buffers; order, the table, the gathered
                 splitter samples (every rank gets them, long keys whole),
                 the frames sent and received; plus a transient copy when a
                 growing buffer is reallocated.  Measured: 2.6 to 4.7 L on the
                 worst rank at np 1 to 4 (4.7 at np 3).  So this bound only
                 says "a few copies of the key, not more"; the tight check
                 of reading a long record is the null job's above.

hot-key: "x\\n" WORDS times (200 MB by default), one distinct key.  At each
np, with the default mappers and with --mappers all:
  * table exactly [(b"x", WORDS)], total == records == WORDS;
  * memory: every rank <= B + 16 MiB, whatever WORDS is: one key in the
    table, one 1 MiB block, nothing that grows with the count.

Exit status: 0 when every check passes, 1 when any fails, 2 on bad usage.
"""

import argparse
import collections
import json
import os
import shlex
import shutil
import sys

E2E = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e")
sys.path.insert(0, E2E)
import mrtest  # noqa: E402

MIB = 1 << 20
TIMEOUT = 300


class KnownOracle:
    """What mrtest.check_result needs of an oracle, known by construction."""

    def __init__(self, files, sizes, counter):
        self.files = list(files)
        self.sizes = list(sizes)
        self.counter = collections.Counter(counter)
        self.words = sum(self.counter.values())
        self.bytes = sum(self.sizes)


def parse_nps(text):
    try:
        nps = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        nps = []
    if not nps or any(n < 1 for n in nps):
        raise argparse.ArgumentTypeError("want a list like 1,2,4")
    return nps


def parse_count(text):
    mult = {"K": 1000, "M": 1000 ** 2, "G": 1000 ** 3}.get(text[-1:].upper(), 1)
    return int(text[:-1] if mult > 1 else text) * mult


def long_word(n):
    """n bytes, none of them whitespace, in a 251-byte cycle."""
    cycle = bytes(b for b in range(33, 256) if b not in b" \t\n\v\f\r")[:251]
    reps = n // len(cycle) + 1
    return (cycle * reps)[:n]


def write_pieces(path, pieces):
    """Writes an iterable of bytes objects; returns the size written."""
    size = 0
    with open(path, "wb") as f:
        for p in pieces:
            f.write(p)
            size += len(p)
    return size


class Runner:
    def __init__(self, a):
        self.a = a
        self.mpimr = os.path.abspath(a.mpimr)
        self.ok = True

    def launch(self, n):
        return "%s -n %d %s" % (shlex.quote(self.a.mpiexec), n, self.a.preflags)

    def run_job(self, n, job, args, inputs, out):
        """Runs a job with --stats; returns (stats dict or None, errors)."""
        stats = out + ".json"
        for stale in (out, stats):
            if os.path.lexists(stale):
                os.remove(stale)
        r = mrtest.run_mpimr(self.mpimr, self.launch(n),
                             [job, "-q", "--stats", stats] + args + inputs
                             + ["-o", out], timeout=self.a.timeout)
        if r.rc != 0 or not os.path.isfile(out):
            return None, ["mpimr %s at np %d failed\n%s" % (job, n, r.describe())]
        try:
            with open(stats, "rb") as f:
                return json.load(f), []
        except (OSError, ValueError) as x:
            return None, ["--stats file %s unreadable: %s" % (stats, x)]

    def baseline(self, n, job, args):
        """The largest peak RSS of any rank of the job on a 3-byte file."""
        tiny = os.path.join(self.a.workdir, "tiny.txt")
        with open(tiny, "wb") as f:
            f.write(b"ab\n")
        st, e = self.run_job(n, job, args, [tiny],
                             os.path.join(self.a.workdir, "tiny-%s.h5" % job))
        if e:
            self.ok = mrtest.report("baseline %s at np %d" % (job, n), e) and self.ok
            return None
        return max(st["per_rank"]["peak_rss_bytes"])

    def check_rss(self, label, st, limit, why):
        peaks = st["per_rank"]["peak_rss_bytes"]
        e = []
        if len(peaks) != st.get("nranks") or not all(p > 0 for p in peaks):
            e.append("peak_rss_bytes is %r, want one positive value per rank"
                     % (peaks,))
        for rank, p in enumerate(peaks):
            if p > limit:
                e.append("rank %d peaked at %.1f MiB, over the bound of %.1f MiB "
                         "(%s)" % (rank, p / MIB, limit / MIB, why))
        print("%s: peak RSS per rank %s MiB, bound %.1f MiB"
              % (label, [round(p / MIB, 1) for p in peaks], limit / MIB))
        self.ok = mrtest.report(label + ": memory", e) and self.ok

    def check_table(self, label, out, n, orc, job="wordcount"):
        res, e = mrtest.check_result(out, orc, nranks=n, order="count", job=job)
        self.ok = mrtest.report(label + ": table vs oracle", e) and self.ok
        return res


def long_record(run):
    a = run.a
    L = a.record_mib * MIB
    path = os.path.join(a.workdir, "long-record.txt")
    head, tail = b"before ", b" after\nlast line\n"
    word = long_word(L)
    size = write_pieces(path, [head] + [word[i:i + MIB] for i in range(0, L, MIB)]
                        + [tail])
    orc = KnownOracle([path], [size], {b"before": 1, word: 1, b"after": 1,
                                       b"last": 1, b"line": 1})
    del word
    print("wrote %s: %d bytes, one word of %d bytes; --chunk %s"
          % (path, size, L, a.chunk))
    chunk = ["--chunk", a.chunk]
    try:
        for n in a.np:
            out = os.path.join(a.workdir, "long-np%d.h5" % n)
            label = "long record, wordcount, np %d" % n
            base = run.baseline(n, "wordcount", chunk)
            st, e = run.run_job(n, "wordcount", chunk, [path], out)
            run.ok = mrtest.report(label + ": ran", e) and run.ok
            if st is not None:
                run.check_table(label, out, n, orc)
                os.remove(out)
                if base is not None:
                    run.check_rss(label, st, base + 6 * L + 32 * MIB,
                                  "B + 6 L + 32 MiB")

            label = "long record, null job (lines), np %d" % n
            base = run.baseline(n, "null", chunk)
            st, e = run.run_job(n, "null", chunk, [path], out)
            run.ok = mrtest.report(label + ": ran", e) and run.ok
            if st is not None:
                res = mrtest.read_result(out, job="null")
                ga = res.group_attrs
                e = ["%s is %r, want %r" % (k, ga.get(k), v) for k, v in
                     (("records", 2), ("distinct_keys", 0), ("input_bytes", size))
                     if ga.get(k) != v]
                run.ok = mrtest.report(label + ": 2 records", e) and run.ok
                if base is not None:
                    run.check_rss(label, st, base + L + 18 * MIB,
                                  "B + L + 2 MiB + 16 MiB")
    finally:
        os.remove(path)


def hot_key(run):
    a = run.a
    path = os.path.join(a.workdir, "hot-key.txt")
    piece = b"x\n" * (MIB // 2)
    whole, rest = divmod(a.words, MIB // 2)
    size = write_pieces(path, [piece] * whole + [b"x\n" * rest])
    orc = KnownOracle([path], [size], {b"x": a.words})
    print("wrote %s: %d bytes, the word x %d times" % (path, size, a.words))
    try:
        for n in a.np:
            for mappers in ("cores", "all"):
                out = os.path.join(a.workdir, "hot-np%d-%s.h5" % (n, mappers))
                args = ["--mappers", mappers]
                label = "hot key, np %d, --mappers %s" % (n, mappers)
                base = run.baseline(n, "wordcount", args)
                st, e = run.run_job(n, "wordcount", args, [path], out)
                run.ok = mrtest.report(label + ": ran", e) and run.ok
                if st is None:
                    continue
                res = run.check_table(label, out, n, orc)
                if res is not None and res.items != [(b"x", a.words)]:
                    run.ok = mrtest.report(label + ": one row", [
                        "rows %r, want [(b'x', %d)]" % (res.items[:3], a.words)])
                if base is not None:
                    run.check_rss(label, st, base + 16 * MIB, "B + 16 MiB")
    finally:
        os.remove(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=("long-record", "hot-key"))
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--preflags", default="--oversubscribe")
    ap.add_argument("--np", type=parse_nps, default=[1, 2, 4])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--record-mib", type=int, default=100)
    ap.add_argument("--chunk", default="64K")
    ap.add_argument("--words", type=parse_count, default=100_000_000)
    ap.add_argument("--timeout", type=float, default=TIMEOUT)
    a = ap.parse_args()

    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    run = Runner(a)
    try:
        (long_record if a.case == "long-record" else hot_key)(run)
    except mrtest.TestFailure as x:
        run.ok = mrtest.report(a.case, [str(x)])
    if run.ok:
        shutil.rmtree(a.workdir, ignore_errors=True)
        print("PASS: %s" % a.case)
        return 0
    print("FAIL: %s (outputs kept in %s; the input was deleted)" % (a.case, a.workdir))
    return 1


if __name__ == "__main__":
    sys.exit(main())
