#!/bin/bash
# A Slurm cluster across fake hosts (scripts/fake-hosts.sh): slurmctld on h1,
# one slurmd on every host, and a munged of its own, for trying `sbatch -N 3`
# and multi-node scaling studies on one machine.
#
#   scripts/slurm-fake-hosts.sh up NAME [--cpus N]   start it on the fake hosts
#                                                     NAME (which must be up)
#   scripts/slurm-fake-hosts.sh run NAME COMMAND...   run a Slurm command (sbatch,
#                                                     squeue, scontrol...) on h1
#   scripts/slurm-fake-hosts.sh down NAME             stop what `up` started
#
# Each node advertises --cpus CPUs (default: this machine's), although all of
# them share this machine's CPUs.  Everything lives in the fake hosts' state
# directory (slurm/ there): slurm.conf, the munge key and socket, state,
# spool, logs and pid files; `scripts/fake-hosts.sh down NAME` removes it,
# after stopping whatever still runs on the hosts.  Debian's Slurm and munge
# are installed first if missing (scripts/slurm-local.sh install).
#
# Exit status: 0 done; 77 Slurm cannot be installed or the hosts cannot be
# made here (the reason is printed); 2 bad usage; 1 anything else.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fake=$here/fake-hosts.sh

die() { echo "slurm-fake-hosts: $*" >&2; exit 1; }
say() { echo "slurm-fake-hosts: $*"; }
usage() { sed -n '6,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# wait_for SECONDS WHAT COMMAND...: poll COMMAND until it succeeds.
wait_for() {
	local limit=$1 what=$2 _
	shift 2
	for _ in $(seq $((limit * 5))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	echo "slurm-fake-hosts: $what did not come up within $limit s" >&2
	for f in "$dir"/log/*.log "$dir"/munge/munged.log; do
		[ -f "$f" ] && { echo "--- $f:" >&2; tail -n 8 "$f" >&2; }
	done
	exit 1
}

on() { "$fake" exec "$name" "$@"; }
slurm_on() {
	local host=$1
	shift
	on "$host" env SLURM_CONF="$conf" "$@"
}

start_munge() {
	local m=$dir/munge s=$dir/munge-socket
	# munged is particular: its key and logs private to the munge user, its
	# socket in a directory everyone may enter.
	install -d -o munge -g munge -m 0700 "$m"
	install -d -o munge -g munge -m 0755 "$s"
	mungekey --create --keyfile="$m/munge.key" 2>/dev/null ||
		dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 status=none
	chown munge:munge "$m/munge.key"
	chmod 0400 "$m/munge.key"
	# On h1, so that the hosts' `down` stops it with the rest; the socket
	# is a path, which every host sees.
	on h1 runuser -u munge -- /usr/sbin/munged --socket="$s/munge.socket" \
		--key-file="$m/munge.key" --pid-file="$s/munged.pid" \
		--log-file="$m/munged.log" --seed-file="$m/munged.seed"
	wait_for 10 munged sh -c "munge -S '$s/munge.socket' -n | unmunge -S '$s/munge.socket'"
}

write_conf() {
	local n=$1 net=$2 cpus=$3
	mkdir -p "$dir/state" "$dir/spool" "$dir/log"
	# As scripts/slurm-local.sh's (see there why each), with the nodes
	# h1..hN at their addresses on the private network, every daemon's
	# files named by node (%n), and the munge socket of our own munged.
	cat >"$conf" <<EOF
# Written by mpimr's scripts/slurm-fake-hosts.sh.
ClusterName=mpimr-fake
SlurmctldHost=h1($net.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge-socket/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SwitchType=switch/none
SlurmdParameters=config_overrides
ReturnToService=2
EnforcePartLimits=ALL
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
NodeName=h[1-$n] NodeAddr=$net.[1-$n] CPUs=$cpus State=UNKNOWN
PartitionName=fake Nodes=h[1-$n] Default=YES MaxTime=INFINITE State=UP
EOF
}

all_idle() {
	local states
	states=$(slurm_on h1 sinfo -h -N -o %T 2>/dev/null) || return 1
	[ "$(echo "$states" | grep -c '^idle')" -eq "$n" ]
}

up() {
	local cpus
	cpus=$(nproc)
	while [ $# -gt 0 ]; do
		case $1 in
		--cpus) cpus=${2:?}; shift 2 ;;
		*) usage ;;
		esac
	done
	case $cpus in '' | *[!0-9]* | 0) die "--cpus $cpus: want a positive number" ;; esac
	local rc=0
	"$here/slurm-local.sh" install || rc=$?
	[ $rc -eq 0 ] || exit $rc
	[ ! -e "$conf" ] || die "a Slurm is up on '$name' already ($conf)"
	mkdir -p "$dir"
	# A failure on the way stops what was started so far.
	trap 'down >/dev/null 2>&1 || true' EXIT
	n=$(cat "$fdir/hosts")
	write_conf "$n" "$(cat "$fdir/net")" "$cpus"
	start_munge
	slurm_on h1 slurmctld -c
	wait_for 20 slurmctld slurm_on h1 scontrol ping
	for i in $(seq "$n"); do
		slurm_on "h$i" slurmd -N "h$i"
	done
	wait_for 60 "the nodes" all_idle
	trap - EXIT
	say "up: $n nodes of $cpus CPUs on '$name' (SLURM_CONF=$conf)"
}

# stop PIDFILE: TERM, up to 10 s of grace, then KILL.
stop() {
	local pid _
	pid=$(cat "$1" 2>/dev/null) || return 0
	case $pid in '' | *[!0-9]*) return 0 ;; esac
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.2
	done
	kill -9 "$pid" 2>/dev/null || true
}

down() {
	local f
	[ -f "$conf" ] || { say "no Slurm on '$name': nothing to stop"; return 0; }
	for f in "$dir"/slurmd-*.pid; do
		[ -f "$f" ] && stop "$f"
	done
	stop "$dir/slurmctld.pid"
	stop "$dir/munge-socket/munged.pid"
	rm -rf "$dir"
	say "down: '$name'"
}

cmd=${1:-}
[ $# -ge 2 ] || usage
name=$2
shift 2
fdir=$("$fake" dir "$name") || exit 1
dir=$fdir/slurm
conf=$dir/slurm.conf
n=0
case $cmd in
up) up "$@" ;;
down) [ $# -eq 0 ] || usage; down ;;
run)
	[ $# -ge 1 ] || usage
	[ -f "$conf" ] || die "no Slurm on '$name' (run: $0 up $name)"
	exec "$fake" exec "$name" h1 env SLURM_CONF="$conf" "$@"
	;;
*) usage ;;
esac
