/*
 * --timeout SECONDS: a run that makes no progress ends.  Each rank's
 * watchdog thread looks, every second or so, at a counter the engine moves
 * whenever the rank gets something done: a block read, a phase ended, an
 * exchange round, a run spilled, a piece written, a job's command heard
 * from (mr_progress).  If it has not moved for SECONDS, the rank says so,
 * removes what it made (cleanup.c: temporary files, its commands) and
 * exits; mpirun then ends the other ranks.  Waiting for another rank is no
 * progress of one's own: a lost host, or a command that never answers,
 * ends the run so, and the limit must exceed the longest wait the user
 * expects (the slowest rank's phase).
 */
#include "core/util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_uint_fast64_t ticks;
static _Atomic(const char *) command;
static double limit;
static int wd_rank;

void mr_watchdog_command(const char *cmd)
{
	atomic_store(&command, cmd);
}

void mr_progress(void)
{
	atomic_fetch_add_explicit(&ticks, 1, memory_order_relaxed);
}

static void *watch(void *arg)
{
	(void)arg;
	uint_fast64_t seen = atomic_load(&ticks);
	double since = mr_now();
	for (;;) {
		struct timespec nap = {1, 0};
		if (limit < 4)
			nap = (struct timespec){0, (long)(limit * 2.5e8)};
		nanosleep(&nap, NULL);
		uint_fast64_t now = atomic_load(&ticks);
		if (now != seen) {
			seen = now;
			since = mr_now();
			continue;
		}
		if (mr_now() - since < limit)
			continue;
		char host[256] = "?";
		gethostname(host, sizeof(host) - 1);
		host[sizeof(host) - 1] = '\0';
		const char *cmd = atomic_load(&command);
		fprintf(stderr,
			"mpimr: rank %d on %s: no progress for %.0f s (--timeout)%s%s%s; "
			"ending the run\n",
			wd_rank, host, limit, cmd ? ", waiting on command '" : "", cmd ? cmd : "",
			cmd ? "'" : "");
		fflush(stderr);
		mr_cleanup_now();
		_exit(1);
	}
	return NULL;
}

void mr_watchdog_start(double seconds, int rank)
{
	if (seconds <= 0)
		return;
	limit = seconds;
	wd_rank = rank;
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, watch, NULL) != 0)
		mr_rank_error("cannot start the --timeout watchdog; the run goes on without it");
	pthread_attr_destroy(&a);
}
