/*
 * Messages, MPI error checks, and the agreement on success at phase boundaries.
 */
#include "core/util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int log_rank;
static enum mr_verbosity log_level = MR_NORMAL;

void mr_log_setup(int rank, enum mr_verbosity v)
{
	log_rank = rank;
	log_level = v;
}

int mr_log_rank(void)
{
	return log_rank;
}

static void vprint(FILE *f, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vprint(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	/* One fprintf of a whole line, so lines from ranks do not interleave. */
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(f, "%s%s\n", prefix, msg);
	fflush(f);
}

void mr_info(const char *fmt, ...)
{
	if (log_rank != 0 || log_level < MR_NORMAL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprint(stderr, "", fmt, ap);
	va_end(ap);
}

void mr_verbose(const char *fmt, ...)
{
	if (log_rank != 0 || log_level < MR_VERBOSE)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprint(stderr, "", fmt, ap);
	va_end(ap);
}

void mr_error(const char *fmt, ...)
{
	if (log_rank != 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vprint(stderr, "mpimr: ", fmt, ap);
	va_end(ap);
}

void mr_rank_error(const char *fmt, ...)
{
	char host[256] = "?";
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	char prefix[320];
	snprintf(prefix, sizeof(prefix), "mpimr: rank %d on %s: ", log_rank, host);
	va_list ap;
	va_start(ap, fmt);
	vprint(stderr, prefix, fmt, ap);
	va_end(ap);
}

/* Whether the reason of a failure was said already (mr_log, mr_defer). */
static bool said;

void mr_said_mark(void)
{
	said = true;
}

bool mr_said_take(void)
{
	bool was = said;
	said = false;
	return was;
}

/* The first error this rank deferred, to be said once for all ranks. */
static char deferred[4096];

void mr_defer(const char *fmt, ...)
{
	said = true;
	if (deferred[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(deferred, sizeof(deferred), fmt, ap);
	va_end(ap);
}

void mr_deferred_say(MPI_Comm comm)
{
	int rank, size;
	MR_MPI(MPI_Comm_rank(comm, &rank));
	MR_MPI(MPI_Comm_size(comm, &size));
	int mine[2] = {deferred[0] ? rank : INT_MAX, deferred[0] != 0}, first[2];
	MR_MPI(MPI_Allreduce(&mine[0], &first[0], 1, MPI_INT, MPI_MIN, comm));
	MR_MPI(MPI_Allreduce(&mine[1], &first[1], 1, MPI_INT, MPI_SUM, comm));
	/* Line by line, each with the rank's prefix; the first says how many
	 * other ranks had one. */
	for (char *line = deferred, *nl; first[0] == rank && line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (line == deferred && first[1] > 1)
			mr_rank_error("%s (and on %d other rank%s)", line, first[1] - 1,
				      first[1] > 2 ? "s" : "");
		else
			mr_rank_error("%s", line);
	}
	deferred[0] = '\0';
}

void mr_mpi_fail(const char *call, int code, const char *file, int line)
{
	char text[MPI_MAX_ERROR_STRING] = "";
	int n = 0;
	MPI_Error_string(code, text, &n);
	mr_rank_error("%s failed at %s:%d: %s", call, file, line, text);
	mr_abort();
}

void mr_abort(void)
{
	mr_cleanup_now();
	int up = 0, down = 0;
	MPI_Initialized(&up);
	MPI_Finalized(&down);
	if (up && !down)
		MPI_Abort(MPI_COMM_WORLD, 1);
	abort();
}

void mr_wait(MPI_Request *req)
{
	/* Ranks that finish a phase early would otherwise spin in MPI for the
	 * others, taking the CPU from the ranks still working whenever ranks
	 * outnumber cores.  Sleeps grow from 10 us to 0.5 ms, so a short wait
	 * stays short. */
	struct timespec nap = {0, 10000};
	int done = 0;
	MR_MPI(MPI_Test(req, &done, MPI_STATUS_IGNORE));
	while (!done) {
		nanosleep(&nap, NULL);
		nap.tv_nsec = nap.tv_nsec < 250000 ? nap.tv_nsec * 2 : 500000;
		MR_MPI(MPI_Test(req, &done, MPI_STATUS_IGNORE));
	}
}

char *mr_bcast_text(MPI_Comm comm, const char *mine)
{
	int rank;
	MR_MPI(MPI_Comm_rank(comm, &rank));
	uint64_t n = rank == 0 && mine ? strlen(mine) : 0;
	MR_MPI(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, comm));
	char *s = mr_malloc((size_t)n + 1);
	if (rank == 0)
		memcpy(s, mine, (size_t)n);
	MR_MPI(MPI_Bcast(s, mr_int_count(n), MPI_CHAR, 0, comm));
	s[n] = '\0';
	return s;
}

int mr_agree(MPI_Comm comm, int status)
{
	int worst = status;
	MPI_Request req;
	MR_MPI(MPI_Iallreduce(&status, &worst, 1, MPI_INT, MPI_MIN, comm, &req));
	mr_wait(&req);
	/* Ranks that were fine learn that another failed, and why is already
	 * printed by the rank that saw it. */
	if (worst != MR_OK && status == MR_OK)
		return MR_ERR_REMOTE;
	return worst == MR_OK ? MR_OK : status;
}

int mr_int_count_at(uint64_t n, const char *file, int line)
{
	if (n > INT_MAX) {
		mr_rank_error("count %llu does not fit an MPI int at %s:%d", (unsigned long long)n,
			      file, line);
		mr_abort();
	}
	return (int)n;
}

const char *mr_strerror(int status)
{
	switch (status) {
	case MR_OK: return "success";
	case MR_ERR_NOMEM: return "out of memory";
	case MR_ERR_IO: return "input/output error";
	case MR_ERR_MPI: return "MPI error";
	case MR_ERR_HDF5: return "HDF5 error";
	case MR_ERR_USAGE: return "bad usage";
	case MR_ERR_INPUT: return "bad input";
	case MR_ERR_OUTPUT: return "bad output path";
	case MR_ERR_JOB: return "a job callback failed";
	case MR_ERR_LIMIT: return "size limit exceeded";
	case MR_ERR_REMOTE: return "another rank failed";
	default: return "unknown error";
	}
}

const char *mr_human_bytes(double bytes, char *buf, size_t size)
{
	static const char *const unit[] = {"B", "KB", "MB", "GB", "TB", "PB"};
	int u = 0;
	while (bytes >= 1000.0 && u < 5) {
		bytes /= 1000.0;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
	return buf;
}

uint64_t mr_peak_rss(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
}

double mr_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
