#!/bin/bash
# Strong and weak scaling of mpimr word count, inside one Slurm allocation or
# on a workstation.
#
#   sbatch -n 16 slurm/scaling.sh --out DIR [OPTION...]     (or in salloc)
#   slurm/scaling.sh --max-np 8 --out DIR [OPTION...]       (no Slurm: mpirun)
#
#   --out DIR                 where inputs, stats and the report go (required)
#   --strong INPUT            strong scaling over this file or directory
#                             (default: a generated Zipf text of --strong-size)
#   --strong-size SIZE        size of the generated strong input (default 200M)
#   --weak-size-per-rank SIZE weak scaling input per rank (default 20M)
#   --vocab N                 distinct words in generated text (default 1000000)
#   --max-np N                largest rank count (default: the allocation's
#                             tasks, or the cores without Slurm)
#   --np "1 2 4 ..."          exact rank counts instead of 1, 2, 4, ... max-np
#   --runs R                  runs of each (study, np) (default 3)
#   --no-strong, --no-weak    skip one study
#   -- MPIMR-OPTION...        passed to every `mpimr wordcount` run
#   (SIZE takes K, M, G: powers of 1024, as mpimr's options do.)
#
# Strong: the same input at every np.  Weak: SIZE x np bytes at np ranks,
# namely the first np of max-np generated files of SIZE each.  Every run
# writes its --stats JSON to DIR/stats/STUDY-npNNN-runR.json and a line to
# DIR/runs.tsv (with the launch-to-exit seconds, which include starting MPI).
# In an allocation of several nodes (sbatch -N 3 -n 6 ...), each np runs on
# min(np, nodes) of them, its ranks spread evenly (mpirun --map-by node, or
# srun --nodes with MPIMR_LAUNCHER=srun), so that np 2 already crosses the
# network.
# Generated inputs are kept in DIR/inputs and reused by a later study with the
# same sizes (the generator gives the same bytes for the same arguments).
# Afterwards, slurm/scaling-report.py DIR writes DIR/scaling.csv and the
# plots; this script runs it at the end when it can.
#
#SBATCH --job-name=mpimr-scaling
#SBATCH --ntasks=16
#SBATCH --time=02:00:00
#SBATCH --output=mpimr-scaling-%j.out
#
# Site lines: remove one '#' from those your cluster needs and edit them.
# Whole nodes keep other jobs' noise out of the timings.
##SBATCH --exclusive
##SBATCH --account=my-project
##SBATCH --partition=compute
set -eu

# usage [STATUS]: the option list above; on stdout for --help, else stderr.
usage() {
	if [ "${1:-2}" -eq 0 ]; then
		sed -n '5,21p' "$0" | sed 's/^# \{0,1\}//'
	else
		sed -n '5,21p' "$0" | sed 's/^# \{0,1\}//' >&2
	fi
	exit "${1:-2}"
}
die() { echo "scaling.sh: $*" >&2; exit 1; }

# Slurm runs a copy of this script from its spool directory, so the project
# (for build/ and the report tool) is found from where the job was submitted.
proj=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$proj/slurm/scaling-report.py" ] && [ -n "${SLURM_SUBMIT_DIR:-}" ]; then
	proj=$SLURM_SUBMIT_DIR
fi

out="" strong="" strong_size=200M weak_size=20M vocab=1000000 max_np=""
nps="" runs=3 do_strong=1 do_weak=1
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2:?}; shift 2 ;;
	--strong) strong=${2:?}; shift 2 ;;
	--strong-size) strong_size=${2:?}; shift 2 ;;
	--weak-size-per-rank) weak_size=${2:?}; shift 2 ;;
	--vocab) vocab=${2:?}; shift 2 ;;
	--max-np) max_np=${2:?}; shift 2 ;;
	--np) nps=${2:?}; shift 2 ;;
	--runs) runs=${2:?}; shift 2 ;;
	--no-strong) do_strong=""; shift ;;
	--no-weak) do_weak=""; shift ;;
	--) shift; break ;;
	-h | --help) usage 0 ;;
	*) echo "scaling.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
[ -n "$out" ] || { echo "scaling.sh: --out DIR is required" >&2; usage; }
[ -n "$do_strong$do_weak" ] || die "--no-strong and --no-weak: nothing to do"
mkdir -p "$out/stats" "$out/inputs"
out=$(cd "$out" && pwd)

# mpimr as wordcount.sh finds it; the generator beside it.
if [ -n "${MPIMR:-}" ]; then
	mpimr=$MPIMR
elif command -v mpimr >/dev/null 2>&1; then
	mpimr=$(command -v mpimr)
elif [ -x "$proj/build/mpimr" ]; then
	mpimr=$proj/build/mpimr
else
	die "cannot find mpimr: not on PATH and no $proj/build/mpimr; set MPIMR"
fi
gen=$(dirname "$mpimr")/mpimr-gen-zipf
[ -x "$gen" ] || gen=$(command -v mpimr-gen-zipf || echo "$proj/build/mpimr-gen-zipf")

# ---- the rank counts and how to launch them ------------------------------

cores=$(nproc)
# A lost node ends a run within about 20 s instead of hanging the
# allocation (see slurm/wordcount.sh, which sets the same); yours win.
: "${OMPI_MCA_oob_tcp_keepalive_time:=10}"
: "${OMPI_MCA_oob_tcp_keepalive_intvl:=2}"
: "${OMPI_MCA_oob_tcp_keepalive_probes:=5}"
export OMPI_MCA_oob_tcp_keepalive_time OMPI_MCA_oob_tcp_keepalive_intvl \
	OMPI_MCA_oob_tcp_keepalive_probes
if [ -n "${SLURM_JOB_ID:-}" ]; then
	ntasks=${SLURM_NTASKS:-1}
	nodes=${SLURM_JOB_NUM_NODES:-1}
	max_np=${max_np:-$ntasks}
	[ "$max_np" -le "$ntasks" ] ||
		die "--max-np $max_np is more than the allocation's $ntasks tasks"
	# As slurm/wordcount.sh chooses ($MPIMR_LAUNCHER, else srun with
	# Slurm's PMIx plugin on one node where it loads, else mpirun, which
	# reads the allocation).  Across nodes every np runs on as many nodes
	# as it can, min(np, nodes), its ranks spread evenly over them.
	launcher=${MPIMR_LAUNCHER:-}
	if [ -z "$launcher" ]; then
		launcher=mpirun
		if [ "$nodes" -eq 1 ] && srun --mpi=list 2>&1 | grep -qw pmix &&
			srun --mpi=pmix --ntasks=1 --nodes=1 true >/dev/null 2>&1; then
			launcher=srun
		fi
	fi
	case $launcher in
	srun)
		launch() {
			srun --mpi=pmix --nodes="$(nodes_for "$1")" --ntasks="$1" "${@:2}"
		}
		launcher="srun --mpi=pmix --nodes=min(NP,$nodes) --ntasks=NP"
		;;
	mpirun)
		launch() {
			if [ "$nodes" -gt 1 ]; then
				mpirun -np "$1" --map-by node "${@:2}"
			else
				mpirun -np "$1" "${@:2}"
			fi
		}
		launcher="mpirun -np NP"
		[ "$nodes" -gt 1 ] && launcher="$launcher --map-by node"
		;;
	*) die "MPIMR_LAUNCHER is '$launcher': want srun or mpirun" ;;
	esac
else
	max_np=${max_np:-$cores}
	launch() { mpirun --oversubscribe -np "$1" "${@:2}"; }
	launcher="mpirun --oversubscribe -np NP"
	nodes=1
fi
# nodes_for NP: the nodes a run of NP ranks spreads over.
nodes_for() {
	if [ "$1" -lt "$nodes" ]; then echo "$1"; else echo "$nodes"; fi
}
if [ -z "$nps" ]; then
	np=1
	while [ "$np" -lt "$max_np" ]; do
		nps="$nps $np"
		np=$((np * 2))
	done
	nps="$nps $max_np"
fi
nps=$(echo $nps) # one space between numbers, none around
# The largest np sets the weak study's file count.
top_np=$(echo $nps | tr ' ' '\n' | sort -n | tail -n1)

if [ "$(id -u)" -eq 0 ]; then
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# ---- inputs ---------------------------------------------------------------

# generate DIR ARGS...: make a Zipf text once; .complete marks a finished one.
generate() {
	local dir=$1
	shift
	[ -f "$dir/.complete" ] && return 0
	rm -rf "$dir"
	echo "generating $dir ($*)"
	"$gen" "$@" --vocab "$vocab" --seed 42 --out "$dir"
	touch "$dir/.complete"
}

if [ -n "$do_strong" ]; then
	if [ -z "$strong" ]; then
		strong=$out/inputs/strong-$strong_size-v$vocab
		generate "$strong" --bytes "$strong_size" --files 4
	fi
	[ -e "$strong" ] || die "cannot read '$strong': No such file or directory"
fi
if [ -n "$do_weak" ]; then
	weak=$out/inputs/weak-$weak_size-x$top_np-v$vocab
	# --bytes is the total; each of the top_np files gets weak_size.
	weak_bytes=$(numfmt --from=iec "$weak_size")
	generate "$weak" --bytes $((weak_bytes * top_np)) --files "$top_np"
fi

# ---- runs -----------------------------------------------------------------

echo "scaling: np $nps, $runs run(s) each; ${SLURM_JOB_ID:+job $SLURM_JOB_ID, }$nodes" \
	"node(s), $cores cores here; launch: $launcher"
echo "mpimr: $mpimr"
# A study is its directory: a second one there replaces the first's results
# (not its inputs), so the report never mixes two.
manifest=$out/runs.tsv
rm -f "$out"/stats/*.json
printf 'study\tnp\trun\tlaunch_seconds\tstats\n' >"$manifest"

# run_one STUDY NP RUN INPUT...
run_one() {
	local study=$1 np=$2 run=$3 name t0 t1 secs
	shift 3
	name=$(printf '%s-np%03d-run%d' "$study" "$np" "$run")
	t0=$(date +%s.%N)
	if ! launch "$np" "$mpimr" wordcount -q "${extra[@]}" --force \
		--stats "$out/stats/$name.json" -o "$out/last-run.h5" "$@"; then
		die "$name failed (its output is above)"
	fi
	t1=$(date +%s.%N)
	secs=$(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")
	printf '%s\t%d\t%d\t%s\tstats/%s.json\n' "$study" "$np" "$run" "$secs" \
		"$name" >>"$manifest"
	printf '%-6s np %3d run %d: %7s s launch to exit (%d node(s))\n' "$study" \
		"$np" "$run" "$secs" "$(nodes_for "$np")"
}

extra=("$@")
for run in $(seq "$runs"); do
	for np in $nps; do
		if [ -n "$do_strong" ]; then
			run_one strong "$np" "$run" "$strong"
		fi
		if [ -n "$do_weak" ]; then
			files=()
			for i in $(seq 0 $((np - 1))); do
				files+=("$(printf '%s/part-%05d.txt' "$weak" "$i")")
			done
			run_one weak "$np" "$run" "${files[@]}"
		fi
	done
done
rm -f "$out/last-run.h5"

# ---- report ---------------------------------------------------------------

report=$proj/slurm/scaling-report.py
python=/usr/bin/python3
[ -x "$python" ] || python=python3
if [ -f "$report" ] && "$python" "$report" "$out"; then
	:
else
	echo "scaling.sh: no report made here; on a machine with Python 3 and" \
		"matplotlib run: slurm/scaling-report.py $out" >&2
fi
