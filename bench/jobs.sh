#!/bin/sh
# mpimr's grep, invindex and groupby jobs against their peers: see
# bench/README.md, or bench/jobs.sh --help.  Debian's Python, which has h5py,
# numpy, matplotlib (and pandas, which the script installs) from apt.
exec /usr/bin/python3 "$(dirname "$0")/jobs.py" "$@"
