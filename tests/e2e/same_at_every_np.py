#!/usr/bin/python3
"""Check that mpimr word count gives the same answer at every rank count.

For each np in --np it runs `MPIEXEC -n NP PREFLAGS mpimr wordcount ...`
(np 0 means: run mpimr alone, without the launcher), then checks:
  * every output passes the full check of mrtest.check_result (format,
    table == Counter(data.split()) per file, totals, row order, nranks == np);
  * /wordcount/key_bytes, key_offsets and values are identical (same dtype,
    same bytes) at every np, and so are the /wordcount group attributes.
With --order none the row order is free, so the rows are compared sorted.

Usage:
  tests/e2e/same_at_every_np.py --mpimr build/mpimr --mpiexec mpiexec \\
      --preflags "--oversubscribe" --np 1,2,3,4 [--chunk SIZE] \\
      [--order count|key|none] [--workdir DIR] [--timeout S] INPUT...

Exit status: 0 when every check passes, 1 when any fails, 2 on bad usage.
"""

import argparse
import os
import shlex
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402

DATASETS = ("key_bytes", "key_offsets", "values")


def parse_nps(text):
    try:
        nps = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        nps = []
    if not nps or any(n < 0 for n in nps):
        raise argparse.ArgumentTypeError("want a list like 1,2,3,4")
    return nps


def compare(base_np, base, np_, res, order):
    """Errors where res (at np_) differs from base (at base_np)."""
    e = []
    if order == "none":
        if sorted(base.items) != sorted(res.items):
            e.append("np %d and np %d give different tables" % (base_np, np_))
    else:
        for name in DATASETS:
            x, y = getattr(base, name), getattr(res, name)
            if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y):
                e.append("/wordcount/%s differs: np %d has %s%s, np %d has %s%s"
                         % (name, base_np, x.dtype, x.shape, np_, y.dtype, y.shape))
        for i, (a, b) in enumerate(zip(base.items, res.items)):
            if a != b:
                e.append("first differing row %d: np %d has %s=%s, np %d has %s=%s"
                         % (i, base_np, mrtest.show_key(a[0]), a[1],
                            np_, mrtest.show_key(b[0]), b[1]))
                break
    ka, kb = base.group_attrs, res.group_attrs
    for k in sorted(set(ka) | set(kb)):
        if ka.get(k) != kb.get(k):
            e.append("/wordcount@%s differs: np %d has %r, np %d has %r"
                     % (k, base_np, ka.get(k, "(absent)"), np_, kb.get(k, "(absent)")))
    return e


def main():
    ap = argparse.ArgumentParser(
        description="Run mpimr wordcount at several rank counts and check the "
                    "outputs are identical and equal to the oracle.")
    ap.add_argument("--mpimr", required=True, help="path to the mpimr binary")
    ap.add_argument("--mpiexec", default="mpiexec", help="launcher (default mpiexec)")
    ap.add_argument("--preflags", default="--oversubscribe",
                    help='launcher flags after -n NP (default "--oversubscribe")')
    ap.add_argument("--np", type=parse_nps, default=[1, 2, 3, 4],
                    help="comma-separated rank counts; 0 = no launcher "
                         "(default 1,2,3,4)")
    ap.add_argument("--chunk", help="pass --chunk SIZE")
    ap.add_argument("--order", choices=("count", "key", "none"),
                    help="pass --order; default: do not pass it, expect count")
    ap.add_argument("--workdir", help="where to write the outputs "
                    "(default: a temporary directory, removed on success)")
    ap.add_argument("--timeout", type=float, default=mrtest.DEFAULT_TIMEOUT,
                    help="seconds before a run counts as a hang (default 300)")
    ap.add_argument("inputs", nargs="+", metavar="INPUT")
    a = ap.parse_args()

    mpimr = os.path.abspath(a.mpimr)
    for p in a.inputs:
        if not os.path.exists(p):
            ap.error("input %s does not exist" % p)
    order = a.order or "count"
    if a.workdir:
        os.makedirs(a.workdir, exist_ok=True)
        workdir, temporary = a.workdir, False
    else:
        workdir, temporary = tempfile.mkdtemp(prefix="mpimr-np-"), True

    orc = mrtest.oracle(a.inputs)
    print("oracle: %d files, %d bytes, %d words, %d distinct"
          % (len(orc.files), orc.bytes, orc.words, len(orc.counter)))

    ok = True
    base = None
    for n in a.np:
        launch = "" if n == 0 else "%s -n %d %s" % (
            shlex.quote(a.mpiexec), n, a.preflags)
        nranks = 1 if n == 0 else n
        out = os.path.join(workdir, "np%d.h5" % n)
        if os.path.lexists(out):
            os.remove(out)
        args = ["wordcount"]
        if a.order:
            args += ["--order", a.order]
        if a.chunk:
            args += ["--chunk", a.chunk]
        args += a.inputs + ["-o", out]
        label = "np %d (%s)" % (n, launch or "no launcher")
        try:
            r = mrtest.run_mpimr(mpimr, launch, args, timeout=a.timeout)
        except mrtest.TestFailure as x:
            ok = mrtest.report(label, [str(x)]) and ok
            continue
        if r.rc != 0 or not os.path.isfile(out):
            ok = mrtest.report(label, ["mpimr failed\n" + r.describe()]) and ok
            continue
        res, e = mrtest.check_result(out, orc, nranks=nranks, order=order)
        ok = mrtest.report(label + ": output vs oracle", e) and ok
        if res is None:
            continue
        if base is None:
            base = (n, res)
        else:
            ok = mrtest.report("np %d identical to np %d" % (n, base[0]),
                               compare(base[0], base[1], n, res, order)) and ok

    if ok:
        print("PASS: same answer at np %s" % ",".join(map(str, a.np)))
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
        return 0
    print("FAIL: outputs kept in %s" % workdir)
    return 1


if __name__ == "__main__":
    sys.exit(main())
