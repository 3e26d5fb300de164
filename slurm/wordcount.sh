#!/bin/bash
# mpimr word count as a Slurm batch job.
#
#   sbatch [-N NODES] [-n RANKS] slurm/wordcount.sh [MPIMR-OPTION...] INPUT... OUTPUT.h5
#   sbatch slurm/wordcount.sh          # the sample: ./setup.sh's sample/
#
# One rank per Slurm task.  The last argument is the HDF5 file to write;
# everything before it goes to `mpimr wordcount` as it is, so options such as
# --stats FILE.json, --order key or --force work here too.  Relative paths are
# relative to the directory you submit from.  Like mpimr itself, the job
# refuses to replace an existing OUTPUT.h5 unless you pass --force.
#
# mpimr is $MPIMR if set, else the one on PATH, else the project's build tree
# under the submit directory (build/mpimr).  On one node the ranks start with
# `srun --mpi=pmix` where Slurm's PMIx plugin can launch MPI programs, and
# with the MPI library's own mpirun inside the allocation where it cannot;
# across nodes with mpirun, whose daemons notice a lost node within about
# 20 s (see below).  MPIMR_LAUNCHER=srun or =mpirun chooses yourself.
#
# Defaults below; sbatch's command-line options override them.
#SBATCH --job-name=mpimr-wordcount
#SBATCH --ntasks=4
#SBATCH --time=01:00:00
#SBATCH --output=mpimr-wordcount-%j.out
#
# Site lines: remove one '#' from those your cluster needs and edit them.
# (Each rank holds a hash table of the distinct words it saw; --stats
# reports peak_rss_bytes per rank, to size --mem-per-cpu from a small run.)
##SBATCH --mem-per-cpu=2G
##SBATCH --account=my-project
##SBATCH --partition=compute
##SBATCH --constraint=...
set -eu

usage() {
	echo "usage: sbatch [-N NODES] [-n RANKS] slurm/wordcount.sh" \
		"[MPIMR-OPTION...] INPUT... OUTPUT.h5" >&2
	echo "       sbatch slurm/wordcount.sh     (counts the sample made by" \
		"./setup.sh)" >&2
	exit 2
}

# Site set-up: load what mpimr was built against, e.g.
# module load openmpi hdf5-parallel
# Slurm copies this script to a spool directory before it runs, so the
# project is found from where the job was submitted, not from $0.
here=${SLURM_SUBMIT_DIR:-$PWD}

find_mpimr() {
	if [ -n "${MPIMR:-}" ]; then
		echo "$MPIMR"
	elif command -v mpimr >/dev/null 2>&1; then
		command -v mpimr
	elif [ -x "$here/build/mpimr" ]; then
		echo "$here/build/mpimr"
	else
		return 1
	fi
}
mpimr=$(find_mpimr) || {
	echo "wordcount.sh: cannot find mpimr: not on PATH and no" \
		"$here/build/mpimr; submit from the project directory, or set" \
		"MPIMR=/path/to/mpimr" >&2
	exit 1
}

if [ $# -eq 0 ]; then
	# The demo: the sample and an output the script names itself, so
	# running it again replaces the old result, as ./setup.sh does.
	[ -d "$here/sample" ] || {
		echo "wordcount.sh: no $here/sample: run ./setup.sh first, or" \
			"give INPUT... OUTPUT.h5" >&2
		exit 1
	}
	set -- --force "$here/sample" "$here/sample-counts-slurm.h5"
fi
output=${!#}
case $output in
*.h5 | *.hdf5) ;;
*)
	# Guards against a forgotten OUTPUT: the last INPUT would be taken
	# for the file to write.
	echo "wordcount.sh: the last argument must be the output file," \
		"ending in .h5 (got '$output')" >&2
	usage
	;;
esac
[ $# -ge 2 ] || { echo "wordcount.sh: no INPUT before $output" >&2; usage; }
set -- "${@:1:$#-1}"

if [ -z "${SLURM_JOB_ID:-}" ]; then
	echo "wordcount.sh: not inside a Slurm job: submit it with sbatch" \
		"(or run mpirun -np N $mpimr wordcount ... directly)" >&2
	exit 2
fi

# Open MPI refuses to run as root unless told (containers, test machines).
if [ "$(id -u)" -eq 0 ]; then
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# A node lost mid-run (a pulled cable, a crash) must not hold the allocation:
# Open MPI's daemons then find out only when TCP gives up on the connection,
# after many minutes (a pulled cable hung a run here for more than 150 s).
# With these, mpirun and its daemons give up on a peer whose connection has
# been silent for 10 s and then unanswered for 5 probes 2 s apart: the run
# ends, non-zero, about 20 s after the loss.  Your own settings win.
: "${OMPI_MCA_oob_tcp_keepalive_time:=10}"
: "${OMPI_MCA_oob_tcp_keepalive_intvl:=2}"
: "${OMPI_MCA_oob_tcp_keepalive_probes:=5}"
export OMPI_MCA_oob_tcp_keepalive_time OMPI_MCA_oob_tcp_keepalive_intvl \
	OMPI_MCA_oob_tcp_keepalive_probes

# How to start the ranks ($MPIMR_LAUNCHER: srun or mpirun; by default, as
# below).  srun starts them itself and tells them their peers through PMIx;
# that needs Slurm's pmix plugin and libpmix on the nodes, and a one-task
# trial step shows whether it loads (listing it is not enough: the plugin can
# be listed and still fail to load).  But srun's ranks have no daemon
# watching the other nodes: a lost node ends the step only when slurmctld
# declares it down (SlurmdTimeout, 300 s by default, and the job may then be
# requeued), so across nodes mpirun, which reads the allocation from Slurm,
# starts one rank per task through its own daemons, whose keepalive is set
# above.  On one node srun is used wherever it works, else mpirun.
pmix_works() {
	srun --mpi=list 2>&1 | grep -qw pmix &&
		srun --mpi=pmix --ntasks=1 --nodes=1 true >/dev/null 2>&1
}
case ${MPIMR_LAUNCHER:-} in
srun) launch=(srun --mpi=pmix) ;;
mpirun) launch=(mpirun) ;;
'')
	if [ "${SLURM_JOB_NUM_NODES:-1}" -eq 1 ] && pmix_works; then
		launch=(srun --mpi=pmix)
	else
		launch=(mpirun)
	fi
	;;
*)
	echo "wordcount.sh: MPIMR_LAUNCHER is '$MPIMR_LAUNCHER': want srun or mpirun" >&2
	exit 2
	;;
esac

echo "job $SLURM_JOB_ID: ${SLURM_NTASKS:-1} ranks on ${SLURM_JOB_NUM_NODES:-1} node(s)" \
	"($SLURM_JOB_NODELIST)"
echo "running: ${launch[*]} $mpimr wordcount $* -o $output"
exec "${launch[@]}" "$mpimr" wordcount "$@" -o "$output"
