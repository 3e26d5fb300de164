#!/bin/sh
# Installs, from Debian, what bench/run.py needs for its peers and its plot:
# only the packages that are missing, with `apt-get update` first only when an
# install fails (a fresh machine may have no package lists yet).  A package
# that still cannot be installed is reported, not fatal: run.py then lists
# that peer as "not installed" with the reason.
#
# One name is not a Debian package: `phoenixpp` builds Phoenix++ 1.0 from its
# source tarball ($PHOENIXPP_TARBALL, default ../shared/peers/phoenixpp-1.0.tar.gz
# from the repository root) into build/bench-peers/phoenix++-1.0/, once: it is
# skipped when tests/word_count/word_count is there.  It needs g++ and make,
# so name them too on a bare machine (they are installed first).
#
#   bench/install-peers.sh [PACKAGE...]     (default: all of them)
#
# Prints one line per package: "ok NAME" or "failed NAME: reason".
set -u
pkgs=${*:-"time python3-numpy python3-h5py python3-matplotlib python3-dask libmrmpi-dev g++ make phoenixpp"}
root=$(cd "$(dirname "$0")/.." && pwd)
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# Phoenix++ from its tarball, with the flags that build it with today's g++
# (../shared/peers/README.md): built in a temporary directory beside the
# target and renamed into place only once its binary exists.
phoenixpp() {
	dir=$root/build/bench-peers/phoenix++-1.0
	if [ -x "$dir/tests/word_count/word_count" ]; then
		echo "ok phoenixpp"
		return
	fi
	tarball=${PHOENIXPP_TARBALL:-$root/../shared/peers/phoenixpp-1.0.tar.gz}
	if [ ! -f "$tarball" ]; then
		echo "failed phoenixpp: no source tarball $tarball (set PHOENIXPP_TARBALL)"
		return
	fi
	mkdir -p "$root/build/bench-peers" && tmp=$(mktemp -d "$root/build/bench-peers/phoenixpp.XXXXXX") || {
		echo "failed phoenixpp: cannot make a directory in $root/build/bench-peers"
		return
	}
	src=$tmp/phoenix++-1.0
	if ! tar xzf "$tarball" -C "$tmp" 2>"$tmp/log" || [ ! -d "$src" ]; then
		echo "failed phoenixpp: cannot unpack $tarball: $(grep -m1 . "$tmp/log")"
	elif ! (mkdir -p "$src/lib" && make -C "$src" -j2 \
		CFLAGS="-Wall -O3 -D_LINUX_ -DMMAP_POPULATE -fpermissive -include unistd.h") >"$tmp/log" 2>&1 ||
		[ ! -x "$src/tests/word_count/word_count" ]; then
		why=$(grep -m1 -E ': (fatal )?error:|: not found|command not found' "$tmp/log" ||
			grep -m1 -F '***' "$tmp/log")
		echo "failed phoenixpp: build failed: $(printf '%s' "$why" | cut -c1-160)"
	elif ! { rm -rf "$dir" && mv "$src" "$dir"; }; then
		echo "failed phoenixpp: cannot move the build to $dir"
	else
		echo "ok phoenixpp"
	fi
	rm -rf "$tmp"
}

apt_pkgs= build=
for p in $pkgs; do
	case $p in
	phoenixpp) build=1 ;;
	*) apt_pkgs="$apt_pkgs $p" ;;
	esac
done
missing=
for p in $apt_pkgs; do installed "$p" || missing="$missing $p"; done
if [ -n "$missing" ]; then
	log=$(mktemp)
	# --no-install-recommends: python3-dask recommends pandas, which the peer
	# does not use and which would pull in far more than it needs.
	if ! $sudo apt-get install -y -q --no-install-recommends $missing >"$log" 2>&1; then
		$sudo apt-get update -q >/dev/null 2>&1
		# One at a time, so one absent package does not stop the others.
		for p in $missing; do
			$sudo apt-get install -y -q --no-install-recommends "$p" >"$log" 2>&1 ||
				echo "failed $p: $(grep -E '^E:' "$log" | head -n1 | cut -c4-)"
		done
	fi
	rm -f "$log"
fi
for p in $apt_pkgs; do installed "$p" && echo "ok $p"; done
[ -z "$build" ] || phoenixpp
exit 0
