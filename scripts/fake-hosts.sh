#!/bin/bash
# Several fake hosts on this one Linux machine, for trying and testing mpimr
# across nodes without a cluster: each host is a network namespace with its
# own hostname (a UTS namespace per command), its own /etc/hosts, /tmp and
# /dev/shm, and one network card (eth0) cabled to a private switch (a bridge
# in one more namespace).  The switch has no way out: no address or route in
# this machine's own namespace, so nothing sent on it can leave.
#
#   scripts/fake-hosts.sh up NAME [--hosts N] [--net A.B.C]
#   scripts/fake-hosts.sh down NAME
#   scripts/fake-hosts.sh exec NAME HOST COMMAND...  run COMMAND on HOST
#   scripts/fake-hosts.sh mpirun NAME MPIRUN-ARG...   Open MPI's mpirun on the
#                                                     first host, reaching the
#                                                     others by an rsh stand-in
#   scripts/fake-hosts.sh cpus NAME HOST CPULIST|all  pin what runs on HOST
#   scripts/fake-hosts.sh cable NAME HOST up|down     plug or pull HOST's cable
#   scripts/fake-hosts.sh loss NAME PERCENT           drop PERCENT % of the
#                                                     frames the switch carries
#   scripts/fake-hosts.sh dropped NAME                how many it has dropped
#   scripts/fake-hosts.sh hosts NAME                  the host names, one a line
#   scripts/fake-hosts.sh dir NAME                    the set's state directory
#   scripts/fake-hosts.sh reap                        down every set whose
#                                                     owner process has died
#
# NAME names everything `up` makes (namespaces NAME-sw and NAME-h1..NAME-hN,
# state in $MPIMR_FAKE_HOSTS_DIR/NAME, default /run/mpimr-fake-hosts/NAME):
# pick one unique to the run, such as mpimr-mh-$$.  The hosts are h1..hN at
# A.B.C.1..N (default --hosts 3, --net 10.250.0).  `up` records its caller's
# pid as the owner (MPIMR_FAKE_HOSTS_OWNER overrides), and `reap` downs the
# sets whose owner is gone, so that a test killed before its clean-up leaves
# nothing for long.  `down` kills every process left on the hosts (by the
# pids the namespaces hold), then deletes the namespaces and the state.
#
# The hosts share this machine's file system (inputs and outputs are seen at
# the same paths everywhere) and its CPUs, except /tmp and /dev/shm, which
# are per host, as on a cluster.  `mpirun` adds what Open MPI needs here:
# the rsh stand-in (plm_rsh_agent, which runs each daemon on its host with
# the clean environment an ssh login gives) and the private network for its
# daemons and its tcp messages; the caller gives --host h1:2,h2:2,... and the
# rest, like any mpirun.  Needs root, iproute2 and util-linux (unshare,
# mount); `loss` needs nft (Debian's nftables).
#
# Exit status: 0 done; 77 this machine cannot make fake hosts (not root, no
# network namespaces), with the reason; 2 bad usage; 1 anything else.
set -eu

self=$(readlink -f "$0")
base=${MPIMR_FAKE_HOSTS_DIR:-/run/mpimr-fake-hosts}
cannot=77

die() { echo "fake-hosts: $*" >&2; exit 1; }
usage() { sed -n '9,23p' "$self" | sed 's/^# \{0,1\}//' >&2; exit 2; }

check_name() {
	case $1 in
	'' | *[!a-zA-Z0-9-]* | -*) die "bad NAME '$1' (letters, digits and '-')" ;;
	esac
	# Interface names are per namespace, so only the namespace names
	# (files under /run/netns) limit the length.
	[ ${#1} -le 40 ] || die "NAME '$1' is longer than 40 characters"
}

# state NAME: the state directory of a set that is up, else die.
state() {
	[ -f "$base/$1/hosts" ] || die "no fake hosts called '$1' (run: $0 up $1)"
	echo "$base/$1"
}

# host_index STATE HOST: N for hN, checked against the set's size.
host_index() {
	local n
	n=$(cat "$1/hosts")
	case $2 in
	h[1-9] | h[1-9][0-9]) [ "${2#h}" -le "$n" ] || die "no host $2 (the set has h1..h$n)" ;;
	*) die "no host '$2' (the set has h1..h$n)" ;;
	esac
	echo "${2#h}"
}

# ---- up / down ------------------------------------------------------------

up() {
	local name=$1 n=3 net=10.250.0 dir i
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--hosts) n=${2:?}; shift 2 ;;
		--net) net=${2:?}; shift 2 ;;
		*) usage ;;
		esac
	done
	case $n in [1-9] | [1-9][0-9]) ;; *) die "--hosts $n: want 1 to 99" ;; esac
	[ "$n" -le 99 ] || die "--hosts $n: want 1 to 99"
	echo "$net" | grep -Eq '^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$' ||
		die "--net '$net': want three numbers, such as 10.250.0"
	if [ "$(id -u)" -ne 0 ]; then
		echo "fake-hosts: cannot make fake hosts: not root (network" \
			"namespaces and mounts need it)" >&2
		exit $cannot
	fi
	for c in ip unshare mount hostname; do
		command -v $c >/dev/null 2>&1 || {
			echo "fake-hosts: cannot make fake hosts: no '$c' here" \
				"(iproute2, util-linux)" >&2
			exit $cannot
		}
	done
	dir=$base/$name
	[ ! -e "$dir" ] || die "fake hosts '$name' exist already ($dir): down them first"
	# The state appears with its owner already in it, so that a `reap`
	# running meanwhile never takes a set being made for one whose owner
	# is gone (it skips the dot-names).
	local new="" _
	for _ in 1 2 3; do # a `down` may remove an empty $base meanwhile
		mkdir -p "$base"
		new=$(mktemp -d "$base/.new.XXXXXX" 2>/dev/null) && break
	done
	[ -n "$new" ] || die "cannot make a directory in $base"
	echo "${MPIMR_FAKE_HOSTS_OWNER:-$PPID}" >"$new/owner"
	chmod 755 "$new"
	mv -T "$new" "$dir" 2>/dev/null || { rm -rf "$new"; die "fake hosts '$name' exist already"; }
	echo "$net" >"$dir/net"
	# From here on, a failure takes down what was made so far.
	trap 'down_dir "$dir" "$name" >/dev/null 2>&1 || true' EXIT
	if ! ip netns add "$name-sw" 2>"$dir/err"; then
		echo "fake-hosts: cannot make fake hosts: ip netns add failed:" \
			"$(cat "$dir/err")" >&2
		exit $cannot
	fi
	echo "$name-sw" >>"$dir/namespaces"
	if ! ip -n "$name-sw" link add br0 type bridge 2>"$dir/err"; then
		echo "fake-hosts: cannot make fake hosts: this kernel makes no bridge:" \
			"$(cat "$dir/err")" >&2
		exit $cannot
	fi
	ip -n "$name-sw" link set br0 up
	ip -n "$name-sw" link set lo up
	{
		echo "127.0.0.1 localhost"
		for i in $(seq "$n"); do echo "$net.$i h$i"; done
	} >"$dir/etc-hosts"
	# Nothing answers DNS on the private network, so a lookup of a name
	# not in /etc/hosts fails at once instead of asking this machine's
	# resolver, which is not reachable from it.
	echo "nameserver 127.0.0.1" >"$dir/resolv.conf"
	for i in $(seq "$n"); do
		ip netns add "$name-h$i"
		echo "$name-h$i" >>"$dir/namespaces"
		if ! ip -n "$name-sw" link add "h$i" type veth peer name eth0 \
			netns "$name-h$i" 2>"$dir/err"; then
			echo "fake-hosts: cannot make fake hosts: this kernel makes no" \
				"veth pair: $(cat "$dir/err")" >&2
			exit $cannot
		fi
		ip -n "$name-sw" link set "h$i" master br0 up
		ip -n "$name-h$i" addr add "$net.$i/24" dev eth0
		ip -n "$name-h$i" link set eth0 up
		ip -n "$name-h$i" link set lo up
		mkdir -p "$dir/tmp/h$i"
		chmod 1777 "$dir/tmp/h$i"
	done
	# The cgroup file systems mounted here, to mount again on each host:
	# ip netns exec mounts a fresh /sys, which has none, and slurmd (and
	# mpimr's count of the CPUs it may use) read them.
	awk '$0 ~ / - cgroup2? / { split($0, t, " - "); split(t[2], f, " ");
		if ($5 ~ "^/sys/fs/cgroup") print f[1], $5, f[3] }' \
		/proc/self/mountinfo >"$dir/cgroups"
	write_agent "$dir" "$name"
	rm -f "$dir/err"
	echo "$n" >"$dir/hosts" # last: the set is complete
	trap - EXIT
	echo "fake-hosts: up: $name, hosts h1..h$n on $net.0/24 (state in $dir)"
}

# The rsh stand-in that mpirun starts its daemons with: it takes what ssh
# would (options, a host, a command line), drops the options and runs the
# command line on that host in the clean environment of a login shell.
write_agent() {
	cat >"$1/agent" <<EOF
#!/bin/sh
# rsh stand-in for Open MPI's plm_rsh_agent, written by fake-hosts.sh.
while [ \$# -gt 0 ]; do
	case \$1 in
	-[lpiFoE]) shift 2 ;;
	-*) shift ;;
	*) break ;;
	esac
done
host=\$1
shift
exec "$self" exec "$2" "\$host" env -i HOME="\${HOME:-/root}" \\
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
	LANG=C.UTF-8 sh -c "\$*"
EOF
	chmod 755 "$1/agent"
}

# down_dir DIR NAME: stop every process on the hosts, delete the
# namespaces, remove the state.  Safe to repeat.
down_dir() {
	local dir=$1 name=$2 ns pids _ left
	[ -f "$dir/namespaces" ] || { rm -rf "$dir"; return 0; }
	# Processes first: a namespace is gone only when nothing runs in it.
	# TERM, a moment's grace, then KILL; all by pid.
	for sig in TERM KILL; do
		left=""
		while read -r ns; do
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			[ -z "$pids" ] && continue
			left=1
			kill -s $sig $pids 2>/dev/null || true
		done <"$dir/namespaces"
		[ -z "$left" ] && break
		for _ in $(seq 20); do
			left=""
			while read -r ns; do
				[ -n "$(ip netns pids "$ns" 2>/dev/null || true)" ] && left=1
			done <"$dir/namespaces"
			[ -z "$left" ] && break
			sleep 0.1
		done
	done
	tac "$dir/namespaces" | while read -r ns; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$dir"
	rmdir "$base" 2>/dev/null || true # the last set gone: nothing left
	echo "fake-hosts: down: $name"
}

down() {
	check_name "$1"
	if [ ! -d "$base/$1" ]; then
		echo "fake-hosts: no fake hosts called '$1': nothing to do"
		return 0
	fi
	down_dir "$base/$1" "$1"
}

reap() {
	local d owner
	[ -d "$base" ] || return 0
	for d in "$base"/*/; do
		[ -d "$d" ] || continue
		d=${d%/}
		owner=$(cat "$d/owner" 2>/dev/null || echo)
		case $owner in '' | *[!0-9]*) owner=0 ;; esac
		if [ "$owner" -eq 0 ] || ! kill -0 "$owner" 2>/dev/null; then
			echo "fake-hosts: reaping ${d##*/} (owner pid $owner is gone)"
			down_dir "$d" "${d##*/}"
		fi
	done
}

# ---- running on a host ----------------------------------------------------

run_on() {
	local name=$1 host=$2 dir
	shift 2
	[ $# -gt 0 ] || usage
	dir=$(state "$name")
	host_index "$dir" "$host" >/dev/null
	# ip netns exec gives the command a mount namespace of its own (it
	# mounts a /sys for the namespace there), so the mounts _enter makes
	# are the command's alone and vanish with it.
	exec ip netns exec "$name-$host" unshare --uts -- "$self" _enter "$dir" "$host" "$@"
}

# mount_cgroups FILE: mount the cgroup file systems listed (TYPE MOUNTPOINT
# OPTIONS) as this machine has them.  Best effort: a host without them only
# lacks what reads them.
mount_cgroups() {
	local type point opts
	[ -s "$1" ] || return 0
	grep -q '^cgroup2 /sys/fs/cgroup ' "$1" ||
		mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup 2>/dev/null || return 0
	while read -r type point opts; do
		mkdir -p "$point" 2>/dev/null &&
			mount -t "$type" -o "$opts" "$type" "$point" 2>/dev/null || true
	done <"$1"
}

# Inside the host's namespaces: its hostname, files and CPUs, then COMMAND.
enter() {
	local dir=$1 host=$2
	shift 2
	hostname "$host"
	mount --bind "$dir/etc-hosts" /etc/hosts
	mount --bind "$dir/resolv.conf" /etc/resolv.conf
	# A checkout under /tmp (a clone made there) would vanish under the
	# host's own /tmp, and with it this script, mpimr and the tests' files:
	# it is mounted again at its path inside the host's /tmp.
	local root
	root=$(dirname "$(dirname "$self")")
	case $root in
	/tmp/*)
		mkdir -p "$dir/tmp/$host${root#/tmp}"
		mount --bind "$root" "$dir/tmp/$host${root#/tmp}"
		;;
	esac
	mount --rbind "$dir/tmp/$host" /tmp
	mount -t tmpfs -o mode=1777,size=512m "shm-$host" /dev/shm
	mount_cgroups "$dir/cgroups"
	if [ -f "$dir/cpus-$host" ]; then
		exec taskset -c "$(cat "$dir/cpus-$host")" "$@"
	fi
	exec "$@"
}

mpirun_on() {
	local name=$1 dir net
	shift
	dir=$(state "$name")
	net=$(cat "$dir/net")
	# --mca plm_rsh_no_tree_spawn: mpirun starts every daemon itself (the
	# stand-in is on no host's PATH).  The tcp and oob interfaces: the
	# private network only (each host also has lo).
	run_on "$name" h1 mpirun --mca plm_rsh_agent "$dir/agent" \
		--mca plm_rsh_no_tree_spawn 1 \
		--mca oob_tcp_if_include "$net.0/24" \
		--mca btl_tcp_if_include "$net.0/24" "$@"
}

cpus() {
	local dir
	dir=$(state "$1")
	host_index "$dir" "$2" >/dev/null
	case $3 in
	all) rm -f "$dir/cpus-$2" ;;
	*)
		echo "$3" | grep -Eq '^[0-9,-]+$' || die "bad CPU list '$3'"
		echo "$3" >"$dir/cpus-$2"
		;;
	esac
}

cable() {
	local dir
	dir=$(state "$1")
	host_index "$dir" "$2" >/dev/null
	case $3 in up | down) ;; *) usage ;; esac
	ip -n "$1-$2" link set eth0 "$3"
}

loss() {
	local dir pct=$2
	dir=$(state "$1")
	case $pct in '' | *[!0-9]*) die "loss: PERCENT is a whole number, 0 to 100" ;; esac
	[ "$pct" -le 100 ] || die "loss: PERCENT is a whole number, 0 to 100"
	command -v nft >/dev/null 2>&1 || {
		echo "fake-hosts: cannot drop frames: no nft (apt-get install nftables)" >&2
		exit $cannot
	}
	# netem is often missing from kernels; an nftables rule on the
	# switch's bridge drops a random share of every frame it forwards.
	ip netns exec "$1-sw" nft delete table bridge mpimr_loss 2>/dev/null || true
	[ "$pct" -eq 0 ] && return 0
	ip netns exec "$1-sw" nft -f - <<EOF
table bridge mpimr_loss {
	chain forward {
		type filter hook forward priority 0; policy accept;
		numgen random mod 100 < $pct counter drop
	}
}
EOF
}

dropped() {
	state "$1" >/dev/null
	ip netns exec "$1-sw" nft list table bridge mpimr_loss 2>/dev/null |
		awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) }
			END { print n + 0 }'
}

hosts() {
	local dir
	dir=$(state "$1")
	seq -f 'h%g' "$(cat "$dir/hosts")"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
up) [ $# -ge 1 ] || usage; check_name "$1"; up "$@" ;;
down) [ $# -eq 1 ] || usage; down "$1" ;;
exec) [ $# -ge 3 ] || usage; check_name "$1"; run_on "$@" ;;
_enter) enter "$@" ;;
mpirun) [ $# -ge 1 ] || usage; check_name "$1"; mpirun_on "$@" ;;
cpus) [ $# -eq 3 ] || usage; check_name "$1"; cpus "$@" ;;
cable) [ $# -eq 3 ] || usage; check_name "$1"; cable "$@" ;;
loss) [ $# -eq 2 ] || usage; check_name "$1"; loss "$@" ;;
dropped) [ $# -eq 1 ] || usage; check_name "$1"; dropped "$1" ;;
hosts) [ $# -eq 1 ] || usage; check_name "$1"; hosts "$1" ;;
dir) [ $# -eq 1 ] || usage; check_name "$1"; state "$1" ;;
reap) [ $# -eq 0 ] || usage; reap ;;
*) usage ;;
esac
