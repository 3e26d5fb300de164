/*
 * Commands beside a rank (mr_spawn), for jobs in other languages: one
 * long-lived process per rank, fed and read through pipes.
 *
 * posix_spawn, not fork: glibc's posix_spawn starts the child with
 * CLONE_VM|CLONE_VFORK, so nothing of the MPI process is copied (fork would
 * duplicate memory that Open MPI may have registered with a network card,
 * which it warns about, and every thread's state), and the child does
 * nothing but set up its standard streams and exec /bin/sh.  The pipes are
 * close-on-exec on our side, so the command holds none of MPI's sockets or
 * files open, and its ends are the only ones it gets.
 *
 * We keep a read end of the command's input too: when it ends, what is left
 * in that pipe is what it never read.  A command that stops reading early
 * (head -1) with all its input already in the pipe would otherwise pass
 * unnoticed, as no write fails.
 */
#define _GNU_SOURCE /* pipe2, F_SETPIPE_SZ */
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MR_PIPE_BYTES (1 << 20)

/* This process's environment plus extra, and MPIMR_RANK, MPIMR_NRANKS. */
static char **child_env(const char *const *extra, char rank[32], char nranks[32])
{
	int r, n;
	MPI_Comm_rank(MPI_COMM_WORLD, &r);
	MPI_Comm_size(MPI_COMM_WORLD, &n);
	snprintf(rank, 32, "MPIMR_RANK=%d", r);
	snprintf(nranks, 32, "MPIMR_NRANKS=%d", n);
	size_t ne = 0, nx = 0;
	while (environ[ne])
		ne++;
	while (extra && extra[nx])
		nx++;
	char **env = mr_malloc(mr_mul(ne + nx + 3, sizeof(char *)));
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "MPIMR_RANK=", 11) &&
		    strncmp(environ[i], "MPIMR_NRANKS=", 13))
			env[k++] = environ[i];
	for (size_t i = 0; i < nx; i++)
		env[k++] = (char *)extra[i];
	env[k++] = rank;
	env[k++] = nranks;
	env[k] = NULL;
	return env;
}

int mr_spawn(const char *cmd, const char *const *env, mr_child *child)
{
	int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	for (int i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) != 0) {
			mr_rank_error("cannot start '%s': %s", cmd, strerror(errno));
			for (int j = 0; j < i; j++)
				close(p[j][0]), close(p[j][1]);
			return MR_ERR_JOB;
		}
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0][0], 0);
	posix_spawn_file_actions_adddup2(&fa, p[1][1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[2][1], 2);
	/* The command gets the default signal dispositions, SIGPIPE
	 * included, whatever this process set. */
	posix_spawnattr_t sa;
	posix_spawnattr_init(&sa);
	sigset_t all;
	sigfillset(&all);
	posix_spawnattr_setsigdefault(&sa, &all);
	sigemptyset(&all);
	posix_spawnattr_setsigmask(&sa, &all);
	/* Its own process group, so that ending it ends what it started too
	 * (sh -c does not always exec its last command). */
	posix_spawnattr_setpgroup(&sa, 0);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETPGROUP);
	char rank[32], nranks[32];
	char **e = child_env(env, rank, nranks);
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/sh", &fa, &sa, argv, e);
	free(e);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(p[1][1]);
	close(p[2][1]);
	if (err) {
		mr_rank_error("cannot start '%s': %s", cmd, strerror(err));
		close(p[0][0]), close(p[0][1]), close(p[1][0]), close(p[2][0]);
		return MR_ERR_JOB;
	}
	mr_watchdog_command(cmd);
	*child = (mr_child){
		.pid = pid, .in = p[0][1], .out = p[1][0], .err = p[2][0], .in_unread = p[0][0]};
	for (int i = 0; i < 3; i++) {
		int fd = i == 0 ? child->in : i == 1 ? child->out : child->err;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	}
	/* Its input and output pipes as large as an unprivileged process may
	 * make them (Linux's pipe-max-size, 1 MiB by default) rather than
	 * 64 KiB: fewer wake-ups of it and of us per byte moved.  A smaller
	 * limit just leaves the default. */
	fcntl(child->in, F_SETPIPE_SZ, MR_PIPE_BYTES);
	fcntl(child->out, F_SETPIPE_SZ, MR_PIPE_BYTES);
	return mr_cleanup_child(pid) == MR_OK ? MR_OK : MR_ERR_JOB;
}

int mr_child_ended(mr_child *child)
{
	if (!child->ended && waitpid(child->pid, &child->status, WNOHANG) == child->pid)
		child->ended = 1;
	return child->ended;
}

int mr_child_wait(mr_child *child, int *status)
{
	if (child->in >= 0)
		close(child->in);
	child->in = -1;
	pid_t r = child->pid;
	while (!child->ended && (r = waitpid(child->pid, &child->status, 0)) < 0 && errno == EINTR)
		;
	mr_cleanup_forget_child(child->pid);
	mr_watchdog_command(NULL);
	int left = 0;
	if (child->in_unread >= 0) {
		if (ioctl(child->in_unread, FIONREAD, &left) != 0)
			left = 0;
		close(child->in_unread);
		child->in_unread = -1;
	}
	child->unread = left > 0 ? (size_t)left : 0;
	if (r < 0) {
		mr_rank_error("cannot wait for a command: %s", strerror(errno));
		return MR_ERR_JOB;
	}
	child->ended = 1;
	*status = child->status;
	return MR_OK;
}
