#!/bin/sh
# The benchmark's one command: see bench/README.md, or bench/run.sh --help.
# Debian's Python, which has h5py, numpy, matplotlib and dask from apt.
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
