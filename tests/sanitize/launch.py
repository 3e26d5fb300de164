#!/usr/bin/python3
"""Run COMMAND under a launcher string, with a hard timeout.

  launch.py --launch "mpiexec -n 2 --oversubscribe [valgrind ...]" \\
      [--expect-failure REGEX] [--timeout S] COMMAND...

The launcher string is split like a shell would (as mrtest does for the
end-to-end scripts).  Without --expect-failure: exit 0 when COMMAND does.
With it, the canary mode: exit 0 only when COMMAND exits non-zero and its
output matches REGEX; a command that succeeds, fails another way, or runs
past the timeout (default 120 s) fails the check, since a checking tool that
reports nothing is itself a bug.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "e2e"))
import mrtest  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--launch", required=True)
    ap.add_argument("--expect-failure", metavar="REGEX")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if not a.command:
        ap.error("no command")
    cmd = mrtest.split_launch(a.launch) + a.command
    try:
        r = mrtest.run(cmd, timeout=a.timeout)
    except mrtest.TestFailure as x:
        print("FAIL: %s" % x)
        return 1
    if a.expect_failure is None:
        sys.stdout.buffer.write(r.out)
        sys.stdout.buffer.write(r.err)
        print("exit status %s" % r.rc)
        return 0 if r.rc == 0 else 1
    text = (r.out + r.err).decode("utf-8", "replace")
    if r.rc != 0 and re.search(a.expect_failure, text):
        print("PASS: failed as expected (exit %s, output matches %r)"
              % (r.rc, a.expect_failure))
        return 0
    print("FAIL: expected a non-zero exit and output matching %r\n%s"
          % (a.expect_failure, r.describe()))
    return 1


if __name__ == "__main__":
    sys.exit(main())
