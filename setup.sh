#!/bin/sh
# mpimr's quick start: installs what is missing from Debian, builds, makes a
# sample text and counts its words at 4 ranks.  Safe to run again.
set -eu
cd "$(dirname "$0")"
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${MPIMR_CMAKE_ARGS:-} >/dev/null
cmake --build build -j "$(nproc)"

# A 20 MB Zipf text over 50,000 distinct words, the same bytes every time.
[ -d sample ] || build/mpimr-gen-zipf --bytes 20M --vocab 50000 --files 8 \
	--seed 1 --out sample

# Open MPI refuses to run as root unless told; --oversubscribe lets 4 ranks
# share fewer cores.
if [ "$(id -u)" -eq 0 ]; then
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# --quiet: a failure prints mpimr's one message without Open MPI's banner
# after it (README, "Running").  It also hides Open MPI's own errors, so a
# failure here says how to see them.
mpirun --quiet --oversubscribe -np 4 build/mpimr wordcount sample \
	-o sample-counts.h5 --force || {
	status=$?
	echo "setup.sh: the sample run failed (exit status $status); for Open MPI's" \
		"own report, run it without --quiet:" >&2
	echo "  mpirun --oversubscribe -np 4 build/mpimr wordcount sample" \
		"-o sample-counts.h5 --force" >&2
	exit 1
}
echo
echo "top 10 words (build/mpimr show sample-counts.h5 --top 10):"
build/mpimr show sample-counts.h5 --top 10
echo
echo "wrote $(pwd)/sample-counts.h5"
