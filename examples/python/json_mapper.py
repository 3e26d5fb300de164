#!/usr/bin/env python3
"""A map-only filter of JSON Lines: keep the rows whose index + total is over
a threshold, with a field sum_val added (the JSON filter of the Luigi
article, `cat data/* | python json_mapper.py`).

    python3 json_mapper.py [THRESHOLD] < rows.jsonl      # default 1000

Reads one JSON object a line on stdin, writes each kept row as one JSON line
(keys in their order, sum_val last).  Blank lines are skipped.  Standard
library only.
"""
import json
import sys


def main():
    threshold = float(sys.argv[1]) if len(sys.argv) > 1 else 1000
    # Our own buffer: under PYTHONUNBUFFERED=1 (common in containers)
    # sys.stdout would make a write, and wake the reader, for every line.
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n", buffering=1 << 16)
    for line in sys.stdin:
        if not line.strip():
            continue
        row = json.loads(line)
        s = row["index"] + row["total"]
        if s > threshold:
            row["sum_val"] = s
            out.write(json.dumps(row) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
