#!/bin/sh
# Word count with the classic pipeline: the Unix peer of bench/run.py.
#
#   sort_wordcount.sh OUT FILE...        (it sets LC_ALL=C itself)
#
# Writes `uniq -c` lines ("%7d word") to OUT.  It agrees with bytes.split()
# (and mpimr) word for word because of three details:
#   - each file is followed by a newline, so the last word of one file never
#     joins the first word of the next (plain `cat` would join them);
#   - `tr -s` maps the six ASCII whitespace bytes to '\n' and squeezes runs,
#     so the only empty line left is a first one, when the text begins with
#     whitespace; sed deletes it;
#   - LC_ALL=C makes sort and uniq compare bytes (no collation, NUL and bytes
#     >= 0x80 are ordinary bytes).
set -eu
export LC_ALL=C
out=$1
shift
for f in "$@"; do
	cat -- "$f"
	echo
done | tr -s ' \t\n\v\f\r' '\n' | sed '1{/^$/d;}' | sort | uniq -c >"$out"
