/*
 * Unit tests for the Open MPI settings mpimr picks from the launcher's
 * environment before MPI_Init (mr_tune_open_mpi): the ob1 layer on one node
 * only, yielding when ranks outnumber this process's CPUs (mpirun's and
 * srun's ways of saying how many ranks share the node), and the user's own
 * settings left alone.  No MPI call is made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "core/util.h"

static const char *const vars[] = {
	"OMPI_COMM_WORLD_SIZE",
	"OMPI_COMM_WORLD_LOCAL_SIZE",
	"PMIX_RANK",
	"SLURM_STEP_NUM_NODES",
	"SLURM_STEP_TASKS_PER_NODE",
	"SLURM_NODEID",
	"SLURM_STEP_ID",
	"OMPI_MCA_pml",
	"OMPI_MCA_mpi_yield_when_idle",
	"PMI_RANK",
	"HWLOC_COMPONENTS",
};

static int clean(void **state)
{
	MR_UNUSED(state);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	return 0;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v ? v : "(unset)";
}

static void test_singleton(void **state)
{
	MR_UNUSED(state);
	mr_tune_open_mpi();
	assert_string_equal(env("OMPI_MCA_pml"), "ob1");
	assert_string_equal(env("HWLOC_COMPONENTS"), "-pci,-linuxio");
	assert_string_equal(env("OMPI_MCA_mpi_yield_when_idle"), "(unset)");
}

static void test_mpirun_one_node(void **state)
{
	MR_UNUSED(state);
	setenv("OMPI_COMM_WORLD_SIZE", "100000", 1);
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "100000", 1);
	mr_tune_open_mpi();
	assert_string_equal(env("OMPI_MCA_pml"), "ob1");
	/* 100000 ranks on this node: more than it has CPUs */
	assert_string_equal(env("OMPI_MCA_mpi_yield_when_idle"), "1");
}

static void test_mpirun_many_nodes(void **state)
{
	MR_UNUSED(state);
	setenv("OMPI_COMM_WORLD_SIZE", "8", 1);
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "1", 1);
	mr_tune_open_mpi();
	assert_string_equal(env("OMPI_MCA_pml"), "(unset)");
	assert_string_equal(env("HWLOC_COMPONENTS"), "(unset)");
	assert_string_equal(env("OMPI_MCA_mpi_yield_when_idle"), "(unset)");
}

static void test_user_choice_wins(void **state)
{
	MR_UNUSED(state);
	setenv("OMPI_MCA_pml", "ucx", 1);
	setenv("OMPI_MCA_mpi_yield_when_idle", "0", 1);
	setenv("OMPI_COMM_WORLD_SIZE", "100000", 1);
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "100000", 1);
	mr_tune_open_mpi();
	assert_string_equal(env("OMPI_MCA_pml"), "ucx");
	assert_string_equal(env("OMPI_MCA_mpi_yield_when_idle"), "0");
}

static void srun(const char *nodes, const char *per_node, const char *node_id)
{
	setenv("PMIX_RANK", "0", 1);
	setenv("SLURM_STEP_ID", "0", 1);
	setenv("SLURM_STEP_NUM_NODES", nodes, 1);
	setenv("SLURM_STEP_TASKS_PER_NODE", per_node, 1);
	setenv("SLURM_NODEID", node_id, 1);
	mr_tune_open_mpi();
}

static void test_srun(void **state)
{
	/* one node, many tasks */
	srun("1", "100000", "0");
	assert_string_equal(env("OMPI_MCA_pml"), "ob1");
	assert_string_equal(env("OMPI_MCA_mpi_yield_when_idle"), "1");
	clean(state);
	/* several nodes: node 2 of "100000(x2),1" runs one task */
	srun("3", "100000(x2),1", "2");
	assert_string_equal(env("OMPI_MCA_pml"), "(unset)");
	assert_string_equal(env("OMPI_MCA_mpi_yield_when_idle"), "(unset)");
	clean(state);
	/* node 1 of the same runs 100000 */
	srun("3", "100000(x2),1", "1");
	assert_string_equal(env("OMPI_MCA_mpi_yield_when_idle"), "1");
	clean(state);
	/* srun with another PMI than PMIx, across nodes */
	setenv("PMI_RANK", "0", 1);
	setenv("SLURM_STEP_NUM_NODES", "2", 1);
	mr_tune_open_mpi();
	assert_string_equal(env("OMPI_MCA_pml"), "(unset)");
	clean(state);
	/* an unknown launcher: no guess */
	setenv("PMI_RANK", "0", 1);
	mr_tune_open_mpi();
	assert_string_equal(env("OMPI_MCA_pml"), "(unset)");
	clean(state);
	/* a list that does not parse changes nothing */
	srun("2", "garbage", "0");
	assert_string_equal(env("OMPI_MCA_mpi_yield_when_idle"), "(unset)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_singleton, clean),
		cmocka_unit_test_setup(test_mpirun_one_node, clean),
		cmocka_unit_test_setup(test_mpirun_many_nodes, clean),
		cmocka_unit_test_setup(test_user_choice_wins, clean),
		cmocka_unit_test_setup(test_srun, clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
