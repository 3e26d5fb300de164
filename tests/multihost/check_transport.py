#!/usr/bin/python3
"""Across fake hosts, ranks talk tcp to other hosts and shared memory within one.

A word count across 3 fake hosts x 2 ranks with Open MPI's
`--mca btl_base_verbose 30`, which prints, for every rank and every peer,
"[HOST:PID] mca: bml: Using BTL btl for send to [[JOB,1],PEER] on node
NODE".  Each rank (a PID; its rank is the peer it reaches through `self`)
must name every one of the 6 ranks exactly once: itself by self, the other
rank of its host by vader (shared memory), the 4 ranks of the other hosts
by tcp, each on the node mpirun placed it (ranks 0-1 on h1, 2-3 on h2, 4-5
on h3); and the count must be exact (Counter(bytes.split())).

--btl LIST passes `--mca btl LIST` (such as self,tcp, which leaves shared
memory out), to see the check fail.

Usage: check_transport.py --mpimr build/mpimr --workdir DIR [--btl LIST] INPUT...
Exit status: 0 pass, 1 fail, 77 skipped (not root, no network namespaces).
"""

import argparse
import collections
import os
import re
import shutil

import mhlib
from mhlib import mrtest

PER_HOST = 2
LINE = re.compile(r"^\[(h\d+):(\d+)\] mca: bml: Using (\w+) btl for send to "
                  r"\[\[\d+,\d+\],(\d+)\] on node (\S+)")


def check_lines(text, hosts):
    """Errors in what the verbose lines say about every pair of ranks."""
    seen = collections.defaultdict(list)  # (host, pid) -> [(btl, peer, node)]
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            seen[(m.group(1), int(m.group(2)))].append(
                (m.group(3), int(m.group(4)), m.group(5)))
    n = PER_HOST * len(hosts.names)
    e = []
    if len(seen) != n:
        e.append("btl lines from %d processes, want %d: %s" % (len(seen), n, sorted(seen)))
    ranks = {}
    for (host, pid), sends in sorted(seen.items()):
        me = [peer for btl, peer, _ in sends if btl == "self"]
        if len(me) != 1:
            e.append("%s pid %d reaches %s through self, want exactly one rank"
                     % (host, pid, me))
            continue
        rank = me[0]
        ranks[rank] = host
        if hosts.host_of(rank, PER_HOST) != host:
            e.append("rank %d runs on %s, want %s" % (rank, host,
                                                     hosts.host_of(rank, PER_HOST)))
        peers = sorted(peer for _, peer, _ in sends)
        if peers != list(range(n)):
            e.append("rank %d names peers %s, want each of 0..%d once" % (rank, peers, n - 1))
        for btl, peer, node in sends:
            want_node = hosts.host_of(peer, PER_HOST)
            want = "self" if peer == rank else "vader" if want_node == host else "tcp"
            if btl != want or node != want_node:
                e.append("rank %d on %s sends to rank %d on node %s by %s, want %s on %s"
                         % (rank, host, peer, node, btl, want, want_node))
    if sorted(ranks) != list(range(n)):
        e.append("the lines show ranks %s, want 0..%d" % (sorted(ranks), n - 1))
    return e


def body(suite):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--btl", help="give mpirun --mca btl BTL (to see the check fail)")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    work = os.path.abspath(a.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = os.path.join(work, "out.h5")
    orc = mrtest.oracle(a.inputs)
    with mhlib.Hosts(3) as hosts:
        cmd = hosts.mpirun(PER_HOST, [os.path.abspath(a.mpimr), "wordcount", "-o", out]
                           + [os.path.abspath(p) for p in a.inputs],
                           extra=["--mca", "btl_base_verbose", "30"]
                           + (["--mca", "btl", a.btl] if a.btl else []))
        r = mrtest.run(cmd, timeout=120)
    if r.rc != 0 or not os.path.isfile(out):
        suite.check("word count across 3 hosts x 2 ranks, btl_base_verbose 30",
                    ["exit status %s\n%s" % (r.rc, r.describe())])
        return
    suite.check("word count across 3 hosts x 2 ranks vs Counter(bytes.split())",
                mrtest.check_result(out, orc, nranks=6, order="count")[1])
    text = (r.out + r.err).decode("utf-8", "replace")
    suite.check("every pair of ranks: tcp between hosts, vader within one, self to itself",
                check_lines(text, hosts))


if __name__ == "__main__":
    mhlib.main(body)
