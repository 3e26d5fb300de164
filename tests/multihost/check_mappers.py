#!/usr/bin/python3
"""--mappers picks the ranks that read input per host, from each host's CPUs.

3 fake hosts x 2 ranks.  Pinning a host (taskset, through
scripts/fake-hosts.sh cpus) to one CPU leaves its 2 ranks one CPU to share,
so with --mappers cores (the default) only its first rank reads input; a
host left with 2 CPUs has both read.  Read from /stats/bytes_read of the
output (one number per rank) and from the split line ("read by R of 6 ranks
(one per CPU)"):
  * every host pinned to one CPU: ranks 0, 2 and 4 read, 3 of 6;
  * only h2 pinned: every rank but 3 reads, 5 of 6;
  * every host pinned, --mappers all: all 6 read;
and every run's table is exact (Counter(bytes.split())), the bytes read
adding up to at least the input's.

--no-pin leaves every host its 2 CPUs, to see the checks of the pinned cases
fail.

Usage: check_mappers.py --mpimr build/mpimr --workdir DIR [--no-pin] INPUT...
Exit status: 0 pass, 1 fail, 77 skipped (not root, no network namespaces).
"""

import argparse
import os
import re
import shutil

import h5py

import mhlib
from mhlib import mrtest

PER_HOST = 2
SPLIT = re.compile(r"^split .*read by (\d+) of (\d+) ranks")

CASES = [
    # label, CPUs per host (None: all), --mappers, the ranks that must read
    ("every host pinned to one CPU, --mappers cores", ["0", "1", "0"], "cores", [0, 2, 4]),
    ("only h2 pinned to one CPU, --mappers cores", [None, "1", None], "cores",
     [0, 1, 2, 4, 5]),
    ("every host pinned to one CPU, --mappers all", ["0", "1", "0"], "all", [0, 1, 2, 3, 4, 5]),
]


def readers(out):
    with h5py.File(out, "r") as f:
        return [int(x) for x in f["stats/bytes_read"][()]]


def body(suite):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--no-pin", action="store_true",
                    help="pin no host (the pinned cases must then fail)")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    inputs = [os.path.abspath(p) for p in a.inputs]
    orc = mrtest.oracle(inputs)
    nranks = PER_HOST * 3
    with mhlib.Hosts(3) as hosts:
        for i, (label, cpus, mappers, want) in enumerate(CASES):
            for h, c in zip(hosts.names, cpus):
                hosts.cpus(h, "all" if a.no_pin or not c else c)
            out = os.path.join(work, "case%d.h5" % i)
            r = mrtest.run(hosts.mpirun(PER_HOST, [os.path.abspath(a.mpimr), "wordcount",
                                                   "--mappers", mappers, "-o", out]
                                        + inputs), timeout=120)
            if r.rc != 0 or not os.path.isfile(out):
                suite.check(label, ["exit status %s\n%s" % (r.rc, r.describe())])
                continue
            e = mrtest.check_result(out, orc, nranks=nranks, order="count")[1]
            got = readers(out)
            if [k for k, b in enumerate(got) if b > 0] != want:
                e.append("ranks that read input (bytes_read per rank %s): %s, want %s"
                         % (got, [k for k, b in enumerate(got) if b > 0], want))
            # A rank reads on past its range to finish its last record.
            if sum(got) < orc.bytes:
                e.append("bytes_read adds up to %d, less than the input's %d bytes"
                         % (sum(got), orc.bytes))
            lines = [m for m in map(SPLIT.match, r.err.decode("utf-8", "replace")
                                    .splitlines()) if m]
            if len(want) < nranks:
                if len(lines) != 1 or lines[0].groups() != (str(len(want)), str(nranks)):
                    e.append("the split line says %s, want 'read by %d of %d ranks'"
                             % ([m.group(0) for m in lines], len(want), nranks))
            elif lines:
                e.append("every rank reads, yet the split line says %r" % lines[0].group(0))
            suite.check("%s: ranks %s read, the table is exact" % (label, want), e)


if __name__ == "__main__":
    mhlib.main(body)
