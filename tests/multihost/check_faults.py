#!/usr/bin/python3
"""Faults across 3 fake hosts x 2 ranks: a lossy network, a lost host, a killed one.

  * loss: the switch drops 1% of the frames it carries (an nftables rule,
    scripts/fake-hosts.sh loss): the word count is still exact, and the
    rule did drop frames;
  * a cable pulled (ip link set eth0 down on h2) while the ranks are in
    shuffle, and again half-way through write (MPIMR_FAULT=2:PHASE:pause
    holds rank 2, on h2, there; in write the temporary output must then
    exist beside the target, or the test proves nothing): the run ends
    non-zero within 45 s of the pull, and within the same 45 s nothing
    runs any more on the hosts still cabled (what still runs on the cut-off
    host, whose TCP connections may wait on retransmissions for many
    minutes, is reported as a NOTE, then killed);
  * every mpimr on h2 killed (kill -9, by pid) in shuffle and in write: the
    same;
and after every failed run the output directory is empty: no output, no
temporary file, no MPI-IO .lock file.  mpirun gets the keepalive
parameters that slurm/*.sh set and the README gives (tests/multihost/
mhlib.py KEEPALIVE); --no-keepalive leaves them out, to see the lost-host
checks fail (with Open MPI's defaults a pulled cable hangs for minutes).

Usage: check_faults.py --mpimr build/mpimr --workdir DIR [--no-keepalive] INPUT...
Exit status: 0 pass, 1 fail, 77 skipped (not root, no network namespaces).
"""

import argparse
import os
import shutil
import signal
import time

import mhlib
from mhlib import faultlib, mrtest

PER_HOST = 2
RANK = 2          # held by MPIMR_FAULT; on h2
HOST = "h2"
LIMIT = 120       # seconds after the fault before a run counts as hung


class Faults:
    def __init__(self, a, suite, hosts):
        self.a, self.suite, self.hosts = a, suite, hosts
        self.mpimr = os.path.abspath(a.mpimr)
        self.work = os.path.abspath(a.workdir)
        self.inputs = [os.path.abspath(p) for p in a.inputs]
        self.orc = mrtest.oracle(self.inputs)

    def cmd(self, out):
        return self.hosts.mpirun(PER_HOST, [self.mpimr, "wordcount", "-o", out] + self.inputs,
                                 keepalive=not self.a.no_keepalive,
                                 extra=["-x", "MPIMR_FAULT"])

    def sockets(self, where):
        """The TCP connections on the hosts named in where (ss), as text."""
        text = ""
        for h in sorted(where):
            p = mhlib.sh(["ip", "netns", "exec", "%s-%s" % (self.hosts.name, h), "ss",
                          "-tnop"], check=False)
            text += "%s:\n%s" % (h, p.stdout)
        return text

    def outdir(self, tag):
        d = os.path.join(self.work, tag)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def loss(self):
        d = self.outdir("loss")
        out = os.path.join(d, "out.h5")
        self.hosts.loss(1)
        try:
            r = faultlib.run(self.cmd(out), timeout=LIMIT)
            dropped = int(mhlib.sh([mhlib.FAKE_HOSTS, "dropped", self.hosts.name]).stdout)
        finally:
            self.hosts.loss(0)
        e = faultlib.ended(r, want_rc=0)
        if not e:
            e += mrtest.check_result(out, self.orc, nranks=3 * PER_HOST, order="count")[1]
            e += mhlib.leftovers(d)
        if dropped == 0:
            e.append("the switch dropped no frame: the loss rule did nothing")
        self.suite.check("1%% of frames dropped (%d in this run, %.1f s): the table is "
                         "exact" % (dropped, r.secs), e)

    def fault(self, phase, what):
        """Holds rank 2 in phase, then pulls h2's cable ("cable") or kills
        every mpimr on h2 ("kill"); checks how the run ended."""
        d = self.outdir("%s-%s" % (what, phase))
        out = os.path.join(d, "out.h5")
        seen = {}

        def act(m, popen):
            seen["at_fault"] = sorted(os.listdir(d))
            seen["t"] = time.monotonic()
            if what == "cable":
                self.hosts.cable(HOST, "down")
            else:
                pids = [int(p.split("(")[1].rstrip(")"))
                        for p in self.hosts.procs().get(HOST, []) if p.startswith("mpimr(")]
                seen["killed"] = pids
                faultlib.kill_pids(pids, signal.SIGKILL)

        r = faultlib.run(self.cmd(out), fault="%d:%s:pause" % (RANK, phase),
                         when=(faultlib.PAUSED, act), timeout=LIMIT)
        e = []
        if not r.fired:
            e.append("rank %d never paused in %s\n%s" % (RANK, phase, r.describe()))
        elif r.match.group(1) != b"%d" % RANK:
            e.append("the pause line names rank %s" % r.match.group(1))
        e += faultlib.ended(r, nonzero=True)
        if r.fired and r.rc is not None and r.after > mhlib.BOUND:
            e.append("the run ended %.1f s after the fault, more than %d s"
                     % (r.after, mhlib.BOUND))
        # The hosts still cabled must be empty by then too.  A cut-off host's
        # processes end only when their own TCP connections give up: at once
        # where nothing was in flight, after TCP's retransmission limit
        # (net.ipv4.tcp_retries2, many minutes) where a daemon had just
        # sent something.  That is reported, not failed.
        connected = [h for h in self.hosts.names if not (what == "cable" and h == HOST)]
        if r.fired:
            left = self.hosts.wait_empty(max(0.0, mhlib.BOUND - r.after), connected)
            if left:
                e.append("%d s after the fault, still running on the hosts: %s; "
                         "their TCP connections:\n%s"
                         % (mhlib.BOUND, left, self.sockets(left)))
        cut_off = self.hosts.procs([HOST]) if what == "cable" else {}
        if cut_off:
            print("NOTE: on the cut-off %s, %.0f s after the pull, still running: %s "
                  "(killed now); its TCP connections:\n%s"
                  % (HOST, time.monotonic() - seen["t"], ", ".join(cut_off[HOST]),
                     self.sockets([HOST])))
        self.hosts.kill_all()
        if phase == "write" and r.fired and not any(
                faultlib.what_is(n) == "temporary file" for n in seen.get("at_fault", [])):
            e.append("no temporary output beside the target at the fault (it held %s): "
                     "the test proves nothing" % seen.get("at_fault"))
        if what == "kill" and r.fired and len(seen.get("killed", [])) != PER_HOST:
            e.append("killed %s on %s, want its %d mpimr ranks"
                     % (seen.get("killed"), HOST, PER_HOST))
        left = sorted(os.listdir(d))
        if left:
            e.append("the output directory is not empty: %s" % ", ".join(
                "%s (%s)" % (n, faultlib.what_is(n)) for n in left))
        if e and r.fired:
            e.append("the run:\n" + r.describe())
        how = "cable pulled" if what == "cable" else "every mpimr killed"
        ended = ("ended non-zero (%s) %.1f s after" % (r.rc, r.after) if r.rc is not None
                 else "no end %.0f s after (killed)" % r.after)
        self.suite.check("%s's %s in %s: %s, nothing left" % (HOST, how, phase, ended), e)
        if what == "cable":
            self.hosts.cable(HOST, "up")


def body(suite):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--no-keepalive", action="store_true",
                    help="leave out the keepalive parameters (the lost-host checks "
                         "must then fail)")
    ap.add_argument("--only", action="append", choices=("kill", "cable"),
                    help="only these faults (and no loss)")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    try:
        mhlib.ensure_package("nftables", "nft")
        no_nft = None
    except mhlib.Skip as x:
        no_nft = str(x)
    with mhlib.Hosts(3) as hosts:
        f = Faults(a, suite, hosts)
        if a.only:
            pass
        elif no_nft:
            suite.skip("1% of frames dropped", no_nft)
        else:
            f.loss()
        for what in a.only or ("kill", "cable"):
            for phase in ("shuffle", "write"):
                f.fault(phase, what)


if __name__ == "__main__":
    mhlib.main(body)
