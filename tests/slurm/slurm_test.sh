#!/bin/bash
# The Slurm scripts against a real Slurm: a single-node one on this machine,
# from Debian's packages (scripts/slurm-local.sh), not a mock.
#
#   tests/slurm/slurm_test.sh --mpimr BUILD/mpimr --python PYTHON \
#       --brown DATA/brown --workdir DIR
#
#  1. sbatch --wait -n 4 slurm/wordcount.sh BROWN OUT.h5: checked key by key
#     against Counter(bytes.split()) (tests/e2e/mrtest.py);
#     the same at 3 ranks where srun cannot launch MPI (a stand-in srun
#     whose PMIx plugin fails): the job falls back to mpirun;
#  2. sbatch --wait -n 2 slurm/wordcount.sh with no arguments (the README's
#     demo on ./setup.sh's sample/), checked the same way, where sample/ exists;
#  3. sbatch --wait -n 4 slurm/scaling.sh on a small generated text (np 1, 2,
#     4, strong and weak), then slurm/scaling-report.py: one CSV row per
#     (study, np), a --stats file per run, three PNG plots.
#
# It starts only the Slurm daemons that are not already running and stops
# exactly those at the end, so it can run again, and leaves a Slurm that was
# up before it alone.  Every wait has a limit; a job still queued or running
# when the test ends is cancelled.
#
# Exit status: 0 pass; 1 fail; 77 skipped (Slurm cannot be installed here:
# not root and no passwordless sudo, or apt-get failed), with the reason.
set -eu

usage() { sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
mpimr="" python="" brown="" work=""
while [ $# -gt 0 ]; do
	case $1 in
	--mpimr) mpimr=${2:?}; shift 2 ;;
	--python) python=${2:?}; shift 2 ;;
	--brown) brown=${2:?}; shift 2 ;;
	--workdir) work=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done
[ -n "$mpimr" ] && [ -n "$python" ] && [ -n "$brown" ] && [ -n "$work" ] || usage

src=$(cd "$(dirname "$0")/../.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# Seconds a job may take, queue included, and all of them together: well
# inside the ctest TIMEOUT, so that the clean-up below always gets to run.
JOB_LIMIT=300
JOBS_LIMIT=900

# Fresh outputs every run: wordcount.sh, like mpimr, will not replace a file.
# The record of started daemons lives beside them and survives: should a run
# be killed before its clean-up, the next one stops what that one started.
rm -rf "$work"
mkdir -p "$work"
record=$work.slurm-started
jobs=""
made_demo=""

fail() {
	echo "FAIL: $*"
	exit 1
}

cleanup() {
	local rc=$? id
	for id in $jobs; do
		if [ -n "$(squeue -h -j "$id" 2>/dev/null)" ]; then
			echo "cancelling job $id"
			scancel "$id" || true
		fi
	done
	[ -z "$made_demo" ] || rm -f "$made_demo"
	# Only what this test's `up` started, and only if it started anything
	# (a skipped test never could, and may not be allowed to run `down`).
	if [ -s "$record" ]; then
		"$src/scripts/slurm-local.sh" down --record "$record" || rc=1
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- Slurm up -------------------------------------------------------------

echo "== bringing up a single-node Slurm (scripts/slurm-local.sh up)"
rc=0
"$src/scripts/slurm-local.sh" up --record "$record" || rc=$?
if [ $rc -eq 77 ]; then
	echo "SKIP: Slurm cannot be installed on this machine (reason above);" \
		"the Slurm scripts were not tested"
	exit 77
fi
[ $rc -eq 0 ] || fail "scripts/slurm-local.sh up exited $rc"
eval "$("$src/scripts/slurm-local.sh" env)"
export SLURM_CONF

# The report's plots need matplotlib; install it as the other packages were.
if ! "$python" -c "import matplotlib" 2>/dev/null; then
	echo "== installing python3-matplotlib for the plots"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -q -o DPkg::Lock::Timeout=300 \
		install -y --no-install-recommends python3-matplotlib >/dev/null ||
		fail "cannot install python3-matplotlib, which the plots need"
fi

# The job scripts find mpimr as a user's job would: build/ under the submit
# directory.  Only a test of some other build tree names it through $MPIMR.
cd "$src"
if [ "$(readlink -f "$mpimr")" != "$(readlink -f build/mpimr 2>/dev/null)" ]; then
	export MPIMR=$mpimr
fi

jobs_deadline=$((SECONDS + JOBS_LIMIT))

# submit LABEL SBATCH-ARG...: sbatch --wait, with a limit; the job's log is
# LABEL.out in the work folder.  Returns the job's exit status.
submit() {
	local label=$1 rc=0 id limit
	shift
	limit=$((jobs_deadline - SECONDS))
	[ "$limit" -le "$JOB_LIMIT" ] || limit=$JOB_LIMIT
	[ "$limit" -gt 0 ] || fail "no time left for job $label (limit $JOBS_LIMIT s for all)"
	echo "== sbatch --wait $*"
	timeout "$limit" sbatch --wait --parsable -o "$work/$label.out" "$@" \
		>"$work/$label.jobid" || rc=$?
	id=$(cat "$work/$label.jobid")
	jobs="$jobs $id"
	echo "-- job ${id:-?} exited $rc; its log ($work/$label.out):"
	sed 's/^/   | /' "$work/$label.out" 2>/dev/null || true
	[ $rc -ne 124 ] || echo "job ${id:-?} did not finish within $limit s"
	return $rc
}

# ---- 1. word count of the Brown corpus at 4 ranks -------------------------

submit brown -n 4 slurm/wordcount.sh "$brown" "$work/brown.h5" ||
	fail "sbatch slurm/wordcount.sh on the Brown corpus"
"$python" "$here/check_output.py" --nranks 4 "$work/brown.h5" "$brown" ||
	fail "the Brown corpus counted under Slurm"

# ---- 1b. where srun cannot launch MPI: mpirun in the allocation -----------

# A stand-in srun whose PMIx plugin fails to load, as on a cluster without
# libpmix; everything else goes to the real srun.  The job inherits PATH.
mkdir -p "$work/no-pmix"
cat >"$work/no-pmix/srun" <<EOF
#!/bin/sh
case " \$* " in
*" --mpi=pmix "*) echo "srun: error: (test) mpi/pmix: cannot load libpmix" >&2; exit 1 ;;
esac
exec $(command -v srun) "\$@"
EOF
chmod +x "$work/no-pmix/srun"
PATH=$work/no-pmix:$PATH submit no-pmix -n 3 slurm/wordcount.sh "$brown" \
	"$work/no-pmix.h5" || fail "sbatch slurm/wordcount.sh where srun cannot launch MPI"
grep -q "^running: mpirun " "$work/no-pmix.out" ||
	fail "slurm/wordcount.sh did not fall back to mpirun"
"$python" "$here/check_output.py" --nranks 3 "$work/no-pmix.h5" "$brown" ||
	fail "the Brown corpus counted by mpirun in the allocation"

# ---- 2. the README's demo: no arguments, the sample ----------------------

if [ -d sample ]; then
	# The demo writes beside sample/; a result the user made there stays,
	# one this test made goes (in cleanup, so also when the test fails).
	[ -e sample-counts-slurm.h5 ] || made_demo=$src/sample-counts-slurm.h5
	submit sample -n 2 slurm/wordcount.sh || fail "sbatch slurm/wordcount.sh (the sample)"
	"$python" "$here/check_output.py" --nranks 2 sample-counts-slurm.h5 sample ||
		fail "the sample counted under Slurm"
else
	echo "== not tested: sbatch slurm/wordcount.sh with no arguments (no" \
		"sample/ here; ./setup.sh makes it)"
fi

# ---- 3. a small scaling study through sbatch -------------------------------

submit scaling -n 4 slurm/scaling.sh --out "$work/scaling" --strong-size 8M \
	--weak-size-per-rank 2M --vocab 100000 --runs 1 ||
	fail "sbatch slurm/scaling.sh"
echo "== slurm/scaling-report.py $work/scaling"
"$python" slurm/scaling-report.py "$work/scaling" ||
	fail "slurm/scaling-report.py"
"$python" "$here/check_scaling.py" "$work/scaling" --np 1,2,4 --runs 1 ||
	fail "the scaling study's CSV and plots"

echo "PASS: sbatch slurm/wordcount.sh and slurm/scaling.sh on a real Slurm"
