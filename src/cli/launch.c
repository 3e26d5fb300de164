/*
 * Open MPI settings chosen from the launcher's environment, before MPI_Init
 * reads them.  Each applies only where the user has not set it, and every rank
 * sees the same environment, so all ranks choose alike.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT, CPU_OR */
#include "cli/cli.h"
#include "core/util.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	/* Started without a launcher, Open MPI's singleton starts a daemon of
	 * its own, for MPI_Comm_spawn, which mpimr never calls: 0.08 of the
	 * 0.10 s a one-rank run took before its first byte here.  Under a
	 * launcher the setting means nothing. */
	setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
	setenv("OMPI_MCA_pml", "ob1", 0);
	/* Each rank's hwloc also reads every PCI device's configuration to place
	 * network cards, which one node's shared memory does not need: 0.08 s of
	 * a 0.37 s start-up at 16 ranks on 2 cores here. */
	setenv("HWLOC_COMPONENTS", "-pci,-linuxio", 0);
}

/* ---- how many CPUs the job has on this node --------------------------
 *
 * Not this rank's own affinity mask: Open MPI binds each rank to one core
 * by default (plain `mpirun -np 2`), and a mask of one CPU says nothing of
 * the node.  Every source below bounds the CPUs that the node's ranks may use
 * together; the job has the fewest any of them admits:
 *   - the online CPUs;
 *   - the cpuset of this process's cgroup (Slurm's task/cgroup, containers),
 *     cgroup v2 or v1, found through /proc/self/mountinfo;
 *   - a CPU quota on that cgroup or one above it (docker --cpus), rounded up;
 *   - SLURM_CPUS_ON_NODE, the job's CPUs on this node as Slurm counts them
 *     (more than the hardware where a node advertises more: then another
 *     bound is lower);
 *   - the launcher's mask, the parent process's (mpirun, orted or
 *     slurmstepd, never bound by Open MPI's own binding), with this rank's
 *     own added: a `taskset -c 0 mpirun --bind-to none` runs every rank on
 *     CPU 0.  A wrapper between the launcher and mpimr (`mpirun timeout 60
 *     mpimr`) is bound like the rank, so it counts one CPU too few rather
 *     than too many: waiting ranks then yield (a little system time), where
 *     too many would let them spin on the CPU that working ranks need.
 * A source that cannot be read is left out.  root prefixes every path, for
 * the unit tests; the program passes "".
 */

/* CPUs in a kernel CPU list such as "0-3,8,10-11\n"; -1 if it does not parse
 * (an empty list included). */
static long cpu_list_count(const char *s)
{
	long n = 0;
	while (*s && *s != '\n') {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;
		if (end == s || lo < 0)
			return -1;
		if (*end == '-') {
			s = end + 1;
			hi = strtol(s, &end, 10);
			if (end == s || hi < lo)
				return -1;
		}
		n += hi - lo + 1;
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			return -1;
		s = end;
	}
	return n > 0 ? n : -1;
}

/* The first line of the file root+path into buf; false if it cannot be read. */
static bool read_line(const char *root, const char *path, char *buf, int size)
{
	char name[PATH_MAX];
	if (snprintf(name, sizeof(name), "%s%s", root, path) >= (int)sizeof(name))
		return false;
	FILE *f = fopen(name, "re");
	if (!f)
		return false;
	bool ok = fgets(buf, size, f) != NULL;
	fclose(f);
	return ok;
}

/* Whether the comma-separated list holds word. */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p; p = strchr(p, ',')) {
		p += *p == ',';
		if (!strncmp(p, word, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* This process's cgroup in the hierarchy of controller (NULL: the unified, v2
 * one) as listed in /proc/self/cgroup, into path; false if it has none. */
static bool cgroup_path(const char *root, const char *controller, char *path, size_t size)
{
	char name[PATH_MAX], line[PATH_MAX + 256];
	bool found = false;
	snprintf(name, sizeof(name), "%s/proc/self/cgroup", root);
	FILE *f = fopen(name, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* ID:CONTROLLERS:PATH, where cgroup v2's line is 0::PATH */
		char *list = strchr(line, ':'), *p;
		if (!list || !(p = strchr(list + 1, ':')))
			continue;
		*list++ = '\0';
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		found = controller ? has_word(list, controller) : !strcmp(line, "0") && !*list;
		if (found && snprintf(path, size, "%s", p) >= (int)size)
			found = false;
	}
	fclose(f);
	return found;
}

/*
 * The directory of this process's cgroup for controller (NULL: cgroup v2)
 * into dir, from the mount of that hierarchy in /proc/self/mountinfo (where a
 * container's mount shows only part of the tree, the part below its root);
 * *top is the length of the mount point's part.  False if not mounted.
 */
static bool cgroup_dir(const char *root, const char *controller, char *dir, size_t size,
		       size_t *top)
{
	char cg[PATH_MAX], name[PATH_MAX], line[3 * PATH_MAX];
	if (!cgroup_path(root, controller, cg, sizeof(cg)))
		return false;
	snprintf(name, sizeof(name), "%s/proc/self/mountinfo", root);
	FILE *f = fopen(name, "re");
	if (!f)
		return false;
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - TYPE SOURCE SUPER */
		char mroot[PATH_MAX], point[PATH_MAX], type[32], super[1024];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", mroot, point) != 2 ||
		    sscanf(dash + 3, "%31s %*s %1023s", type, super) != 2)
			continue;
		if (controller ? strcmp(type, "cgroup") || !has_word(super, controller)
			       : strcmp(type, "cgroup2"))
			continue;
		size_t n = strcmp(mroot, "/") ? strlen(mroot) : 0;
		if (strncmp(cg, mroot, n) || (cg[n] != '/' && cg[n] != '\0'))
			continue; /* our cgroup lies outside what this mount shows */
		const char *rel = strcmp(cg + n, "/") ? cg + n : "";
		int len = snprintf(dir, size, "%s%s%s", root, point, rel);
		*top = strlen(root) + strlen(point);
		found = len >= 0 && (size_t)len < size;
	}
	fclose(f);
	return found;
}

/* The parent directory of dir, not above its first top bytes; false at top. */
static bool cgroup_up(char *dir, size_t top)
{
	char *slash = strrchr(dir, '/');
	if (!slash || (size_t)(slash - dir) < top)
		return false;
	*slash = '\0';
	return true;
}

/* CPUs in the cgroup's cpuset (v2, else v1); -1 if none is known.  A v2
 * cgroup without the cpuset controller has its parent's. */
static long cgroup_cpuset(const char *root)
{
	static const char *const v1_files[] = {"cpuset.effective_cpus", "cpuset.cpus"};
	char dir[PATH_MAX], buf[4096];
	size_t top;
	if (cgroup_dir(root, NULL, dir, sizeof(dir), &top))
		do {
			char file[PATH_MAX + 32];
			snprintf(file, sizeof(file), "%s/cpuset.cpus.effective", dir);
			if (read_line("", file, buf, sizeof(buf)))
				return cpu_list_count(buf);
		} while (cgroup_up(dir, top));
	if (cgroup_dir(root, "cpuset", dir, sizeof(dir), &top))
		for (size_t i = 0; i < sizeof(v1_files) / sizeof(v1_files[0]); i++) {
			char file[PATH_MAX + 32];
			snprintf(file, sizeof(file), "%s/%s", dir, v1_files[i]);
			if (read_line("", file, buf, sizeof(buf)))
				return cpu_list_count(buf);
		}
	return -1;
}

/* CPUs a quota of quota microseconds per period allows, rounded up; -1 if
 * none (a quota of "max" or -1). */
static long quota_cpus(long long quota, long long period)
{
	if (quota <= 0 || period <= 0)
		return -1;
	return (long)((quota + period - 1) / period);
}

/* The CPUs that cpu.max (v2) or cpu.cfs_quota_us (v1) in dir allows; -1 if
 * none. */
static long quota_in(const char *dir, bool v2)
{
	char file[PATH_MAX + 32], buf[128];
	long long quota = -1, period = 0;
	if (v2) {
		snprintf(file, sizeof(file), "%s/cpu.max", dir);
		if (read_line("", file, buf, sizeof(buf)) &&
		    sscanf(buf, "%lld %lld", &quota, &period) == 2)
			return quota_cpus(quota, period);
		return -1;
	}
	snprintf(file, sizeof(file), "%s/cpu.cfs_quota_us", dir);
	if (!read_line("", file, buf, sizeof(buf)) || sscanf(buf, "%lld", &quota) != 1)
		return -1;
	snprintf(file, sizeof(file), "%s/cpu.cfs_period_us", dir);
	if (!read_line("", file, buf, sizeof(buf)) || sscanf(buf, "%lld", &period) != 1)
		return -1;
	return quota_cpus(quota, period);
}

static void at_most(long *n, long bound)
{
	if (bound > 0 && (*n <= 0 || bound < *n))
		*n = bound;
}

/* The tightest CPU quota on the cgroup or any above it, v2 and v1; -1 if
 * none. */
static long cgroup_quota(const char *root)
{
	char dir[PATH_MAX];
	size_t top;
	long best = -1;
	for (int v2 = 1; v2 >= 0; v2--)
		if (cgroup_dir(root, v2 ? NULL : "cpu", dir, sizeof(dir), &top))
			do
				at_most(&best, quota_in(dir, v2));
			while (cgroup_up(dir, top));
	return best;
}

/* CPUs in the launcher's affinity mask and this process's together; -1 if
 * unknown. */
static long launcher_cpus(pid_t launcher)
{
	cpu_set_t theirs, mine;
	if (launcher <= 0 || sched_getaffinity(launcher, sizeof(theirs), &theirs) != 0 ||
	    sched_getaffinity(0, sizeof(mine), &mine) != 0)
		return -1;
	CPU_OR(&theirs, &theirs, &mine);
	return CPU_COUNT(&theirs);
}

/* The CPUs the job may use on this node (see above); at least 1. */
static long job_cpus(const char *root, pid_t launcher)
{
	char buf[4096];
	long n = -1;
	if (read_line(root, "/sys/devices/system/cpu/online", buf, sizeof(buf)))
		n = cpu_list_count(buf);
	else if (!*root)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	at_most(&n, cgroup_cpuset(root));
	at_most(&n, cgroup_quota(root));
	const char *slurm = getenv("SLURM_CPUS_ON_NODE");
	if (slurm)
		at_most(&n, atol(slurm));
	at_most(&n, launcher_cpus(launcher));
	return n > 0 ? n : 1;
}

/*
 * A rank waiting in MPI spins.  With more ranks on a node than CPUs for them,
 * spinning ranks take the CPU from the ones doing the work: under Slurm,
 * which tells Open MPI the node has the CPUs it advertises, 16 ranks on 2
 * cores took 20-36 s instead of 0.2 s for the Brown corpus.  Open MPI only
 * yields by itself when mpirun knows it oversubscribes, so say so here.
 * Where the ranks fit, they keep spinning: yielding there costs system time
 * (sched_yield in every wait) and buys nothing.
 */
static void yield_when_oversubscribed(void)
{
	long ranks = local_ranks();
	if (ranks > 1 && ranks > job_cpus("", getppid()))
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
