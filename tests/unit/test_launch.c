/*
 * Unit tests for the Open MPI settings mpimr picks from the launcher's
 * environment before MPI_Init (mr_tune_open_mpi): the ob1 layer on one node
 * only, yielding when ranks outnumber the CPUs the job has on the node
 * (mpirun's and srun's ways of saying how many ranks share the node), and the
 * user's own settings left alone.  No MPI call is made.
 *
 * How many CPUs the job has (job_cpus) is tested on made-up /proc and /sys
 * trees (cgroup v1 and v2, a container's partial view, CPU quotas, Slurm's
 * count) and on real affinity masks in child processes: a rank bound to one
 * CPU by plain `mpirun -np 2` does not count as oversubscribed; ranks whose
 * launcher was confined to one CPU do.  The file includes launch.c itself to
 * reach its static functions (the library's copy is then not linked in).
 */
#include "cli/launch.c"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

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
	"SLURM_CPUS_ON_NODE",
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

/* ---- how many CPUs the job has: made-up /proc and /sys ---------------- */

static char fake_root[] = "/tmp/mpimr-test-launch-XXXXXX";

/* Writes text to fake_root/path, making the directories on the way. */
static void put(const char *path, const char *text)
{
	char name[PATH_MAX];
	snprintf(name, sizeof(name), "%s/%s", fake_root, path);
	for (char *p = name + strlen(fake_root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		assert_true(mkdir(name, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	FILE *f = fopen(name, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	MR_UNUSED(st);
	MR_UNUSED(flag);
	MR_UNUSED(ftw);
	return remove(path);
}

static int make_root(void **state)
{
	clean(state);
	strcpy(fake_root + strlen(fake_root) - 6, "XXXXXX");
	assert_non_null(mkdtemp(fake_root));
	return 0;
}

static int remove_root(void **state)
{
	MR_UNUSED(state);
	nftw(fake_root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void test_cpu_list(void **state)
{
	MR_UNUSED(state);
	assert_int_equal(cpu_list_count("0\n"), 1);
	assert_int_equal(cpu_list_count("0-3"), 4);
	assert_int_equal(cpu_list_count("0-3,8,10-11\n"), 7);
	assert_int_equal(cpu_list_count("5,7"), 2);
	assert_int_equal(cpu_list_count(""), -1);
	assert_int_equal(cpu_list_count("\n"), -1);
	assert_int_equal(cpu_list_count("3-1"), -1);
	assert_int_equal(cpu_list_count("0-"), -1);
	assert_int_equal(cpu_list_count("x"), -1);
	assert_int_equal(cpu_list_count("1 2"), -1);
}

/* cgroup v2, as under Slurm's task/cgroup: the step's cgroup has no cpuset
 * of its own, the job's has two CPUs of 16. */
static void test_cgroup_v2(void **state)
{
	MR_UNUSED(state);
	put("sys/devices/system/cpu/online", "0-15\n");
	put("proc/self/mountinfo",
	    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
	    "30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
	put("proc/self/cgroup", "0::/slurm/job_7/step_0\n");
	put("sys/fs/cgroup/cpuset.cpus.effective", "0-15\n");
	put("sys/fs/cgroup/slurm/job_7/cpuset.cpus.effective", "2-3\n");
	put("sys/fs/cgroup/slurm/job_7/step_0/cgroup.procs", "");
	assert_int_equal(job_cpus(fake_root, 0), 2);
	/* a quota of 1.5 CPUs above it allows 2, one of half a CPU allows 1 */
	put("sys/fs/cgroup/slurm/cpu.max", "150000 100000\n");
	put("sys/fs/cgroup/slurm/job_7/cpu.max", "max 100000\n");
	assert_int_equal(cgroup_quota(fake_root), 2);
	assert_int_equal(job_cpus(fake_root, 0), 2);
	put("sys/fs/cgroup/slurm/job_7/step_0/cpu.max", "50000 100000\n");
	assert_int_equal(job_cpus(fake_root, 0), 1);
}

/* cgroup v1 in a container: the mounts show the tree below the container's
 * cgroup, and the controllers share hierarchies (cpu,cpuacct). */
static void test_cgroup_v1_container(void **state)
{
	MR_UNUSED(state);
	put("sys/devices/system/cpu/online", "0-63\n");
	put("proc/self/mountinfo",
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	    "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	    "34 31 0:31 /docker/abc /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
	put("proc/self/cgroup", "4:cpuset:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n");
	put("sys/fs/cgroup/unified/cgroup.procs", ""); /* v2 without controllers */
	put("sys/fs/cgroup/cpuset/cpuset.effective_cpus", "0,2,4\n");
	put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
	put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
	assert_int_equal(job_cpus(fake_root, 0), 3);
	put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n");
	assert_int_equal(job_cpus(fake_root, 0), 2);
}

/* A cgroup outside what the mount shows, and no cgroup files at all: the
 * online CPUs, capped by Slurm's count but never raised by it. */
static void test_no_cgroup(void **state)
{
	MR_UNUSED(state);
	put("sys/devices/system/cpu/online", "0-3\n");
	put("proc/self/mountinfo", "34 31 0:31 /other /sys/fs/cgroup/cpuset rw - cgroup cgroup "
				   "rw,cpuset\n");
	put("proc/self/cgroup", "4:cpuset:/mine\n");
	put("sys/fs/cgroup/cpuset/cpuset.effective_cpus", "0\n");
	assert_int_equal(job_cpus(fake_root, 0), 4);
	setenv("SLURM_CPUS_ON_NODE", "2", 1);
	assert_int_equal(job_cpus(fake_root, 0), 2);
	setenv("SLURM_CPUS_ON_NODE", "16", 1); /* a node advertising more than it has */
	assert_int_equal(job_cpus(fake_root, 0), 4);
	unsetenv("SLURM_CPUS_ON_NODE");
	put("sys/devices/system/cpu/online", "garbage\n");
	assert_int_equal(job_cpus(fake_root, 0), 1); /* nothing known: at least 1 */
}

/* ---- how many CPUs the job has: real affinity masks -------------------- */

/* The first CPU of this process's mask; -1 if unknown. */
static int first_cpu(void)
{
	cpu_set_t s;
	if (sched_getaffinity(0, sizeof(s), &s) != 0)
		return -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &s))
			return i;
	return -1;
}

static bool pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return sched_setaffinity(0, sizeof(s), &s) == 0;
}

/* As a rank of `mpirun -np 2` on one node sees it: 2 local ranks.  Exits 0
 * if yield_when_idle is then set, 1 if not, 2 if it cannot pin itself. */
static _Noreturn void as_rank(bool pinned)
{
	if (pinned && !pin(first_cpu()))
		_exit(2);
	setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
	setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2", 1);
	mr_tune_open_mpi();
	_exit(getenv("OMPI_MCA_mpi_yield_when_idle") ? 0 : 1);
}

/* Runs fn in a child and returns its exit status. */
static int in_child(void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fn();
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void bound_rank(void)
{
	as_rank(true);
}

/* The launcher (this process) may use every CPU; the rank is bound to one,
 * as Open MPI binds it.  The old test of the rank's own mask turned on
 * yielding here. */
static void test_bound_rank_not_oversubscribed(void **state)
{
	MR_UNUSED(state);
	if (job_cpus("", getpid()) < 2)
		skip(); /* this machine gives the test 1 CPU: 2 ranks are too many */
	assert_int_equal(in_child(bound_rank), 1);
}

/* A launcher confined to one CPU (`taskset -c 0 mpirun --bind-to none`):
 * its 2 ranks share that CPU, so they yield. */
static void confined_launcher(void)
{
	if (!pin(first_cpu()))
		_exit(2);
	_exit(in_child(bound_rank));
}

static void test_confined_launcher_oversubscribed(void **state)
{
	MR_UNUSED(state);
	assert_int_equal(in_child(confined_launcher), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_singleton, clean),
		cmocka_unit_test_setup(test_mpirun_one_node, clean),
		cmocka_unit_test_setup(test_mpirun_many_nodes, clean),
		cmocka_unit_test_setup(test_user_choice_wins, clean),
		cmocka_unit_test_setup(test_srun, clean),
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test_setup_teardown(test_cgroup_v2, make_root, remove_root),
		cmocka_unit_test_setup_teardown(test_cgroup_v1_container, make_root, remove_root),
		cmocka_unit_test_setup_teardown(test_no_cgroup, make_root, remove_root),
		cmocka_unit_test_setup(test_bound_rank_not_oversubscribed, clean),
		cmocka_unit_test_setup(test_confined_launcher_oversubscribed, clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
