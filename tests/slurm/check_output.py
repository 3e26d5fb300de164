#!/usr/bin/python3
"""Check a word count that a Slurm job wrote, key by key, against the oracle.

    check_output.py --nranks N OUT.h5 INPUT...

The same checks as tests/e2e/check_wordcount.py (format, nranks, every key
against Counter(bytes.split()) per file, totals, count order), on a file that
someone else's run made: here, slurm/wordcount.sh under sbatch.
Exit status: 0 pass, 1 fail.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
import mrtest  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nranks", type=int, required=True)
    ap.add_argument("output")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    orc = mrtest.oracle(a.inputs)
    print("oracle: %d files, %d bytes, %d words, %d distinct"
          % (len(orc.files), orc.bytes, orc.words, len(orc.counter)))
    _, errors = mrtest.check_result(a.output, orc, nranks=a.nranks,
                                    order="count")
    ok = mrtest.report("%s at %d ranks vs Counter(bytes.split())"
                       % (a.output, a.nranks), errors)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
