/*
 * The memory budget: how many bytes of data a rank may hold (--mem, or what
 * it can see).  Past it, the engine spills sorted runs to disk (runs.c)
 * rather than being killed: under a cgroup limit the kernel's OOM killer
 * ends a rank with no word at all.
 *
 * What a rank can see is the least of: the memory limit of its cgroup (v2
 * memory.max, v1 memory.limit_in_bytes, the smallest along the path to the
 * root), RLIMIT_AS and RLIMIT_DATA (less what the process already maps),
 * and the machine's MemAvailable.  The node's share is divided among the
 * ranks on the node; three quarters of that, less what MPI, HDF5 and the
 * libraries take anyway (MR_MEM_FIXED), is the budget.
 */
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* A number from a one-line file ("max" or absent: UINT64_MAX). */
static uint64_t read_limit(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return UINT64_MAX;
	char line[64] = "";
	uint64_t v = UINT64_MAX;
	if (fgets(line, sizeof(line), f) && line[0] >= '0' && line[0] <= '9')
		v = strtoull(line, NULL, 10);
	fclose(f);
	return v;
}

/* The cgroup limit: for each line of /proc/self/cgroup that names the
 * memory controller (v1) or the unified tree (v2), the smallest limit from
 * this cgroup up to the root. */
static uint64_t cgroup_limit(char *what, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return UINT64_MAX;
	uint64_t best = UINT64_MAX;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		ctl++;
		bool v2 = *ctl == '\0';
		if (!v2 && !strstr(ctl, "memory"))
			continue;
		/* the limit of this cgroup and of every one above it */
		for (;;) {
			char file[4200];
			snprintf(file, sizeof(file), "/sys/fs/cgroup/%s%s/%s",
				 v2 ? (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
					       ? ""
					       : "unified")
				    : "memory",
				 path, v2 ? "memory.max" : "memory.limit_in_bytes");
			uint64_t v = read_limit(file);
			if (v < best) {
				best = v;
				snprintf(what, size, "the cgroup limit (%s)", file);
			}
			char *slash = strrchr(path, '/');
			if (!slash || slash == path)
				break;
			*slash = '\0';
		}
	}
	fclose(f);
	return best;
}

/* MemAvailable from /proc/meminfo, in bytes. */
static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return UINT64_MAX;
	char line[256];
	uint64_t kb = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", (unsigned long long *)&kb) == 1)
			break;
	fclose(f);
	return kb ? kb * 1024 : UINT64_MAX;
}

/* What this process already maps, for the rlimits. */
static uint64_t mapped_now(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long pages = 0;
	if (f) {
		if (fscanf(f, "%llu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t mr_memory_visible(char *what, size_t size)
{
	snprintf(what, size, "MemAvailable");
	uint64_t best = mem_available();
	char cg[4300] = "";
	uint64_t v = cgroup_limit(cg, sizeof(cg));
	if (v < best) {
		best = v;
		snprintf(what, size, "%s", cg);
	}
	static const int res[] = {RLIMIT_AS, RLIMIT_DATA};
	for (size_t i = 0; i < 2; i++) {
		struct rlimit rl;
		if (getrlimit(res[i], &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
			continue;
		uint64_t used = mapped_now(), left = rl.rlim_cur > used ? rl.rlim_cur - used : 0;
		if (left < best) {
			best = left;
			snprintf(what, size, "%s", i == 0 ? "RLIMIT_AS" : "RLIMIT_DATA");
		}
	}
	return best;
}

uint64_t mr_memory_share(uint64_t visible, int node_ranks)
{
	if (visible == UINT64_MAX)
		return UINT64_MAX;
	uint64_t share = visible / (uint64_t)(node_ranks > 0 ? node_ranks : 1) / 4 * 3;
	return share > MR_MEM_FIXED ? share - MR_MEM_FIXED : 0;
}
