/*
 * Open MPI settings chosen from the launcher's environment, before MPI_Init
 * reads them.  Each applies only where the user has not set it, and every rank
 * sees the same environment, so all ranks choose alike.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "cli/cli.h"
#include "core/util.h"

#include <sched.h>
#include <stdlib.h>

/* How many ranks of this job run on this node, as the launcher says; 0 if
 * it does not say. */
static long local_ranks(void)
{
	const char *s = getenv("OMPI_COMM_WORLD_LOCAL_SIZE"); /* mpirun */
	if (s)
		return atol(s);
	/* srun: SLURM_STEP_TASKS_PER_NODE is a list such as "4(x2),3", one
	 * count per node, and SLURM_NODEID says which node this is. */
	const char *list = getenv("SLURM_STEP_TASKS_PER_NODE");
	const char *id = getenv("SLURM_NODEID");
	if (!list || !id || !getenv("SLURM_STEP_ID"))
		return 0;
	long node = atol(id);
	while (*list) {
		char *end;
		long tasks = strtol(list, &end, 10), repeat = 1;
		if (end == list)
			return 0;
		if (end[0] == '(' && end[1] == 'x') {
			repeat = strtol(end + 2, &end, 10);
			if (*end++ != ')')
				return 0;
		}
		if (node < repeat)
			return tasks;
		node -= repeat;
		list = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/*
 * Open MPI's default message layer, UCX, spends about 0.2 s at start-up
 * probing for network devices: a large share of a job of a few seconds.
 * When every rank is on one node, shared memory through the ob1 layer moves
 * the shuffle as fast, so ask for that.  Jobs across nodes keep the defaults.
 */
static void prefer_shared_memory(void)
{
	const char *size = getenv("OMPI_COMM_WORLD_SIZE"); /* mpirun */
	const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	const char *nodes = getenv("SLURM_STEP_NUM_NODES"); /* srun */
	bool one_node;
	if (size)
		one_node = local && strcmp(size, local) == 0;
	else if (nodes) /* srun, whatever its PMI */
		one_node = strcmp(nodes, "1") == 0;
	else /* no launcher at all is a one-rank job; another, unknown */
		one_node = !getenv("PMIX_RANK") && !getenv("PMI_RANK");
	if (!one_node)
		return;
	setenv("OMPI_MCA_pml", "ob1", 0);
	/* Each rank's hwloc also reads every PCI device's configuration to place
	 * network cards, which one node's shared memory does not need: 0.08 s of
	 * a 0.37 s start-up at 16 ranks on 2 cores here. */
	setenv("HWLOC_COMPONENTS", "-pci,-linuxio", 0);
}

/*
 * A rank waiting in MPI spins.  With more ranks on a node than cores it may
 * run on, spinning ranks take the CPU from the ones doing the work: under
 * Slurm, which tells Open MPI the node has the CPUs it advertises, 16 ranks on
 * 2 cores took 20-36 s instead of 0.2 s for the Brown corpus.  Open MPI only
 * yields by itself when mpirun knows it oversubscribes, so say so here.
 */
static void yield_when_oversubscribed(void)
{
	cpu_set_t cpus;
	long ranks = local_ranks();
	if (ranks > 1 && sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && ranks > CPU_COUNT(&cpus))
		setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
}

/*
 * MPI-IO: Open MPI has two implementations, its own OMPIO and ROMIO (the one
 * MPICH and most HDF5 sites use).  OMPIO was seen to lose write errors (its
 * "vulcan" collective writer printed "fbtl_pwritev failed" for a full disk
 * and returned success at 3 ranks, so a broken file looked written), and to
 * open a shared-file-pointer component at every file open that mpimr never
 * uses: it aborts on long file names ("buffer overflow detected" in
 * sharedfp/sm) and leaves a .lock file beside the output when a run across
 * hosts dies.  ROMIO reports the errors and opens no such files.
 */
static void prefer_romio(void)
{
	setenv("OMPI_MCA_io", "^ompio", 0);
}

void mr_tune_open_mpi(void)
{
	prefer_romio();
	prefer_shared_memory();
	yield_when_oversubscribed();
}
