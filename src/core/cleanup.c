/*
 * What a run made and must not leave behind: the output's temporary file,
 * the statistics' temporary file, and the commands a job started (spill
 * files are unnamed: nothing of them is left).  Each is registered while it
 * exists and is removed on every exit this rank can see: a failed run, an
 * abort (mr_abort), and the signals a batch system or a user sends to stop a
 * job (Slurm's time limit and scancel send SIGTERM, Ctrl-C SIGINT).
 *
 * The signal handler may only call async-signal-safe functions, so the
 * registry is fixed storage filled before the files are made, and the
 * handler does nothing but unlink(2) and re-raise the signal with
 * its default action, so that the exit status says which signal ended the
 * run.  SIGKILL cannot be caught: a run killed so leaves its temporary file,
 * which the next run writing the same output names (write.c).
 */
#include "core/util.h"

#include <signal.h>
#include <unistd.h>

#define MAX_PATHS 8

static char paths[MAX_PATHS][4096];
static volatile sig_atomic_t used[MAX_PATHS];
/* Commands jobs started (mr_spawn): killed, not waited for. */
static volatile sig_atomic_t children[MAX_PATHS];
int mr_cleanup_add(const char *path)
{
	size_t n = strlen(path);
	if (n >= sizeof(paths[0]))
		return MR_ERR_LIMIT;
	for (int i = 0; i < MAX_PATHS; i++) {
		if (used[i])
			continue;
		memcpy(paths[i], path, n + 1);
		used[i] = 1;
		return MR_OK;
	}
	mr_rank_error("more than %d temporary files at once", MAX_PATHS);
	return MR_ERR_LIMIT;
}

void mr_cleanup_forget(const char *path)
{
	for (int i = 0; i < MAX_PATHS; i++)
		if (used[i] && strcmp(paths[i], path) == 0)
			used[i] = 0;
}

int mr_cleanup_child(int pid)
{
	for (int i = 0; i < MAX_PATHS; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return MR_OK;
		}
	}
	mr_rank_error("more than %d commands at once", MAX_PATHS);
	return MR_ERR_LIMIT;
}

void mr_cleanup_forget_child(int pid)
{
	for (int i = 0; i < MAX_PATHS; i++)
		if (children[i] == pid)
			children[i] = 0;
}

void mr_cleanup_now(void)
{
	for (int i = 0; i < MAX_PATHS; i++) {
		if (children[i] > 0) {
			kill(-children[i], SIGKILL); /* its process group; async-signal-safe */
			children[i] = 0;
		}
	}
	for (int i = 0; i < MAX_PATHS; i++) {
		if (used[i]) {
			unlink(paths[i]); /* async-signal-safe; a missing file is fine */
			used[i] = 0;
		}
	}
}

/* Silent: the same SIGTERM reaches every rank when mpirun ends a job whose
 * one rank failed (and that rank said why), as when a user stops it. */
static void on_stop(int sig)
{
	mr_cleanup_now();
	/* SA_RESETHAND restored the default action: on return the signal,
	 * raised again here, ends the process as it would have without us. */
	raise(sig);
}

void mr_cleanup_on_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		/* A signal the user's shell ignores (nohup) stays ignored. */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}
