#!/bin/bash
# A real single-node Slurm on this Debian machine, from Debian's packages: for
# trying slurm/*.sh without a cluster, and for the test that submits them.
#
#   scripts/slurm-local.sh up [--record FILE]    install what is missing, start
#                                                what is not running
#   scripts/slurm-local.sh down [--record FILE]  stop what `up` recorded
#   scripts/slurm-local.sh env                   print: export SLURM_CONF=...
#   scripts/slurm-local.sh status
#   scripts/slurm-local.sh install               only install what is missing
#                                                (scripts/slurm-fake-hosts.sh
#                                                uses it)
#
# `up` and `down` are safe to repeat.  `up` starts munged, slurmctld and slurmd
# only where they are not already running, and appends each one it starts to
# the record (default $MPIMR_SLURM_DIR/started).  `down` stops exactly those,
# by the pid files they wrote, never by name; so a caller that passes its own
# --record to both stops only what its own `up` started, and leaves a Slurm
# that was up before it alone.
#
# Everything Slurm writes (slurm.conf, state, spool, logs, pid files) lives in
# $MPIMR_SLURM_DIR (default /var/tmp/mpimr-slurm); nothing under /etc changes
# except /etc/munge/munge.key, created if absent.  The commands find the
# config through SLURM_CONF, which `env` prints.  The node advertises
# $MPIMR_SLURM_CPUS CPUs (default 16), whatever the hardware, so that a job
# can ask for 16 ranks on 2 cores.  Why each setting: see write_conf below.
#
# Exit status: 0 done; 77 Slurm cannot be installed here (not root and no
# passwordless sudo, no apt-get, or apt-get failed); 1 anything else.
set -eu

dir=${MPIMR_SLURM_DIR:-/var/tmp/mpimr-slurm}
cpus=${MPIMR_SLURM_CPUS:-16}
conf=$dir/slurm.conf
node=$(hostname -s)
pkgs="munge slurm-client slurmctld slurmd slurm-wlm-basic-plugins"
cannot_install=77

die() { echo "slurm-local: $*" >&2; exit 1; }
say() { echo "slurm-local: $*"; }

usage() {
	sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

cmd=${1:-}
[ $# -gt 0 ] && shift
record=$dir/started
while [ $# -gt 0 ]; do
	case $1 in
	--record) [ $# -ge 2 ] || usage; record=$2; shift 2 ;;
	*) usage ;;
	esac
done
case $cmd in up | down | status | env | install) ;; *) usage ;; esac

if [ "$cmd" = env ]; then
	echo "export SLURM_CONF=$conf"
	exit 0
fi

# The daemons run as root (SlurmUser=root: one user fewer to set up); a user
# with passwordless sudo gets the same by running this script through it.
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		exec sudo -n MPIMR_SLURM_DIR="$dir" MPIMR_SLURM_CPUS="$cpus" \
			"$0" "$cmd" --record "$record"
	fi
	echo "slurm-local: cannot install or start Slurm: not root, and no" \
		"passwordless sudo" >&2
	exit $cannot_install
fi

# ---- processes, by pid file ---------------------------------------------

# alive PIDFILE NAME: the pid file names a live process called NAME.  The name
# check keeps a stale pid file, whose number the system has since given to
# another process, from counting as running (or being killed).
alive() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	[ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$2" ]
}

# stop PIDFILE NAME: TERM, up to 15 s of grace, then KILL.
stop() {
	local pid _
	if ! alive "$1" "$2"; then
		say "$2 was not running"
		return 0
	fi
	pid=$(cat "$1")
	kill "$pid"
	for _ in $(seq 30); do
		alive "$1" "$2" || { say "stopped $2 (pid $pid)"; return 0; }
		sleep 0.5
	done
	kill -9 "$pid" 2>/dev/null || true
	say "killed $2 (pid $pid): it ignored SIGTERM for 15 s"
}

# wait_for SECONDS WHAT COMMAND...: poll COMMAND until it succeeds.
wait_for() {
	local limit=$1 what=$2 _
	shift 2
	for _ in $(seq $((limit * 4))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	die "$what did not come up within $limit s"
}

# ---- up -------------------------------------------------------------------

install_packages() {
	local missing="" p log rc=0
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "slurm-local: cannot install Slurm: no apt-get (this script" \
			"knows Debian's packages only)" >&2
		exit $cannot_install
	fi
	say "installing:$missing"
	# The packages' install scripts start their services; policy-rc.d
	# exiting 101 stops that, so that only what this script starts runs.
	# A policy-rc.d already there is the machine's own and stays.
	local made_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	log=$(mktemp)
	# Wait for another apt-get (a colleague's install) instead of failing;
	# update the package lists only if an install without it fails.
	apt_get() {
		DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 "$@"
	}
	apt_get install -y --no-install-recommends $missing >"$log" 2>&1 || {
		apt_get update >>"$log" 2>&1 &&
			apt_get install -y --no-install-recommends $missing >>"$log" 2>&1
	} || rc=$?
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	if [ $rc -ne 0 ]; then
		echo "slurm-local: cannot install Slurm: apt-get failed:" >&2
		grep -E '^(E|W):' "$log" | awk '!seen[$0]++' | tail -n 5 >&2 ||
			tail -n 5 "$log" >&2
		rm -f "$log"
		exit $cannot_install
	fi
	rm -f "$log"
}

start_munge() {
	if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
		say "munged already running"
		return 0
	fi
	if [ ! -s /etc/munge/munge.key ]; then
		mungekey --create --keyfile=/etc/munge/munge.key
		say "created /etc/munge/munge.key"
	fi
	chown munge:munge /etc/munge/munge.key
	chmod 0400 /etc/munge/munge.key
	install -d -o munge -g munge -m 0755 /run/munge
	# munged refuses to run as root.
	runuser -u munge -- /usr/sbin/munged --socket=/run/munge/munge.socket.2 \
		--pid-file=/run/munge/munged.pid
	echo "munged /run/munge/munged.pid" >>"$record"
	wait_for 10 munged sh -c 'munge -n | unmunge'
	say "started munged (pid $(cat /run/munge/munged.pid))"
}

write_conf() {
	mkdir -p "$dir/state" "$dir/spool" "$dir/log"
	# One node on 127.0.0.1; no cgroups, which containers and small VMs
	# often lack (proctrack/linuxproc, task/none); no accounting daemon;
	# CPUs handed out one per task (CR_CPU); a node that advertises more
	# CPUs than it has (config_overrides, else slurmd refuses it; the
	# partition's OverSubscribe does not let one job past CPUs=); an
	# impossible request refused at submission rather than left pending
	# forever (EnforcePartLimits), and a node that was down coming back by
	# itself (ReturnToService=2).  MPI is chosen per step (srun
	# --mpi=pmix), so a missing libpmix cannot break plain srun.
	cat >"$conf.tmp" <<EOF
# Written by mpimr's scripts/slurm-local.sh; rewritten by each 'up' that
# starts slurmctld.
ClusterName=mpimr-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
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
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
	mv "$conf.tmp" "$conf"
}

node_idle() {
	case $(sinfo -h -n "$node" -o %T 2>/dev/null) in
	idle | mixed | allocated) return 0 ;;
	*) return 1 ;;
	esac
}

up() {
	install_packages
	mkdir -p "$dir"
	touch "$record"
	start_munge
	export SLURM_CONF=$conf
	if alive "$dir/slurmctld.pid" slurmctld; then
		say "slurmctld already running"
	else
		write_conf
		# -c: a clean start, with no jobs left over from an earlier run.
		slurmctld -c
		echo "slurmctld $dir/slurmctld.pid" >>"$record"
		wait_for 20 slurmctld scontrol ping
		say "started slurmctld (pid $(cat "$dir/slurmctld.pid"))"
	fi
	if alive "$dir/slurmd.pid" slurmd; then
		say "slurmd already running"
	else
		slurmd -N "$node"
		echo "slurmd $dir/slurmd.pid" >>"$record"
		wait_for 20 slurmd alive "$dir/slurmd.pid" slurmd
		say "started slurmd (pid $(cat "$dir/slurmd.pid"))"
	fi
	wait_for 60 "node $node" node_idle
	say "up: node $node, $(sinfo -h -n "$node" -o '%c CPUs, partition %P, %T')"
	say "logs in $dir/log; to use it: export SLURM_CONF=$conf"
}

# ---- down ---------------------------------------------------------------

down() {
	local name pidfile
	if [ ! -s "$record" ]; then
		say "nothing recorded in $record: nothing to stop"
		rm -f "$record"
		return 0
	fi
	# Newest first: slurmd before slurmctld before munged.
	tac "$record" | while read -r name pidfile; do
		stop "$pidfile" "$name"
	done
	rm -f "$record"
}

status() {
	local name pidfile
	for name in munged slurmctld slurmd; do
		case $name in
		munged) pidfile=/run/munge/munged.pid ;;
		*) pidfile=$dir/$name.pid ;;
		esac
		if alive "$pidfile" "$name"; then
			echo "$name: running (pid $(cat "$pidfile"))"
		else
			echo "$name: not running"
		fi
	done
	[ -f "$conf" ] && SLURM_CONF=$conf sinfo 2>&1 || true
}

case $cmd in
install) install_packages ;;
*) "$cmd" ;;
esac
