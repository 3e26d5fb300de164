#!/usr/bin/python3
"""Run the `null` job (reads every line, emits nothing) and check the engine
alone: exit 0, a valid file with zero keys, and a record count equal to the
number of lines by Python's own reading of the same bytes (the line rule: a
record ends at '\\n'; a last line with no '\\n' still counts; an empty file
has none), the same at every rank count.

Usage:
  tests/e2e/check_null.py --mpimr build/mpimr --launch "mpiexec -n 3" \
      [--chunk SIZE] INPUT...
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402


def lines_in(path):
    with open(path, "rb") as f:
        data = f.read()
    return len(data.split(b"\n")) - (1 if data.endswith(b"\n") or not data else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--chunk", help="pass --chunk SIZE")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    files = mrtest.walk_inputs(args.inputs)
    want_records = sum(lines_in(p) for p in files)
    want_bytes = sum(os.path.getsize(p) for p in files)
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "null.h5")
        chunk = ["--chunk", args.chunk] if args.chunk else []
        r = mrtest.run_mpimr(args.mpimr, args.launch,
                             ["null", "-q", *chunk, *args.inputs, "-o", out])
        if r.rc != 0 or not os.path.exists(out):
            print("FAIL: mpimr null did not succeed\n" + r.describe())
            return 1
        res = mrtest.read_result(out, job="null")
        attrs = res.group_attrs
        checks = [
            ("distinct_keys", attrs.get("distinct_keys"), 0),
            ("records", attrs.get("records"), want_records),
            ("input_bytes", attrs.get("input_bytes"), want_bytes),
            ("input_files", attrs.get("input_files"), len(files)),
            ("rows", len(res.items), 0),
        ]
        for name, got, want in checks:
            if got != want:
                errors.append("%s: got %r, want %r" % (name, got, want))
    for e in errors:
        print("FAIL: " + e)
    if errors:
        return 1
    print("PASS: null job, %d records (lines) in %d files [%s]"
          % (want_records, len(files), args.launch or "no launcher"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
