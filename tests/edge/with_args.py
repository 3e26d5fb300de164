#!/usr/bin/python3
"""Run one of the end-to-end check scripts with extra mpimr options.

  tests/edge/with_args.py --args "--shuffle-round 1K" [--timeout S] \\
      tests/e2e/check_wordcount.py --mpimr build/mpimr ... INPUT...

Every job the script runs through mrtest.run_mpimr (`mpimr wordcount ...`,
`mpimr null ...`) gets the --args words right after the job name; the
script's own checks and oracle are used unchanged.  --timeout S: a job
still running after S seconds is killed and reported as a hang (for
scripts without a --timeout of their own).  Fails (exit 1) if the
script ran no job at all, so that the options cannot be dropped silently.
"""

import os
import runpy
import shlex
import sys

E2E = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e")
sys.path.insert(0, E2E)
import mrtest  # noqa: E402

JOBS = ("wordcount", "null")


def main():
    argv = sys.argv[1:]
    if len(argv) < 3 or argv[0] != "--args":
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    extra, rest = shlex.split(argv[1]), argv[2:]
    timeout = None
    if rest[0] == "--timeout" and len(rest) > 2:
        timeout, rest = float(rest[1]), rest[2:]
    script, rest = rest[0], rest[1:]
    inner = mrtest.run_mpimr
    used = []

    def run_mpimr(mpimr, launch, args, *a, **kw):
        args = [str(x) for x in args]
        if args and args[0] in JOBS:
            args = args[:1] + extra + args[1:]
            used.append(args[0])
        if timeout is not None and "timeout" not in kw and not a:
            kw["timeout"] = timeout
        return inner(mpimr, launch, args, *a, **kw)

    mrtest.run_mpimr = run_mpimr
    sys.argv = [script] + rest
    try:
        runpy.run_path(script, run_name="__main__")
        rc = 0
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if rc == 0 and not used:
        print("FAIL: %s ran no mpimr job, so %s was never passed"
              % (script, " ".join(extra)))
        return 1
    if rc == 0:
        print("(each of the %d jobs ran with %s)" % (len(used), " ".join(extra)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
