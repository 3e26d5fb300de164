#!/bin/sh
# Installs, from Debian, what bench/run.py needs for its peers and its plot:
# only the packages that are missing, with `apt-get update` first only when an
# install fails (a fresh machine may have no package lists yet).  A package
# that still cannot be installed is reported, not fatal: run.py then lists
# that peer as "not installed" with the reason.
#
#   bench/install-peers.sh [PACKAGE...]     (default: all of them)
#
# Prints one line per package: "ok NAME" or "failed NAME: reason".
set -u
pkgs=${*:-"time python3-numpy python3-h5py python3-matplotlib python3-dask libmrmpi-dev g++"}
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

missing=
for p in $pkgs; do installed "$p" || missing="$missing $p"; done
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
for p in $pkgs; do installed "$p" && echo "ok $p"; done
exit 0
