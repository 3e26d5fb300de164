/*
 * The paths a run writes: the HDF5 output (-o) and the statistics (--stats).
 * Both obey the same rules, checked by rank 0 before any work:
 *
 *   - what is at the path is nothing, a regular file (replaced only with
 *     --force), or a symlink (the link is replaced, never written through);
 *     a directory, a device or a FIFO is refused;
 *   - its directory exists and is writable, and its name fits the filesystem;
 *   - it is not an input (the same file, by device and inode; split checks
 *     that once the inputs are walked), nor the other output path.
 *
 * Each is written under a temporary name beside it, .NAME.mpimr-PID.tmp
 * (shortened to fit NAME_MAX), registered for removal on failure and
 * signals (cleanup.c), and renamed into place by mr_commit only after every
 * rank has succeeded and the data has reached the disk.
 */
#define _GNU_SOURCE /* renameat2 */
#include "engine/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* dirname and basename of path, as new strings. */
static void split_path(const char *path, char **dir, char **base)
{
	char *a = mr_strdup(path), *b = mr_strdup(path);
	*dir = mr_strdup(dirname(a));
	*base = mr_strdup(basename(b));
	free(a);
	free(b);
}

static int check_parent(const char *out, const char *dir, const char *base)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		mr_error("cannot write '%s': %s", out, strerror(errno));
		return MR_ERR_OUTPUT;
	}
	if (!S_ISDIR(st.st_mode)) {
		mr_error("cannot write '%s': '%s' is not a directory", out, dir);
		return MR_ERR_OUTPUT;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		mr_error("cannot write '%s': %s", out, strerror(errno));
		return MR_ERR_OUTPUT;
	}
	long max = pathconf(dir, _PC_NAME_MAX);
	if (strlen(base) > (size_t)(max > 0 ? max : NAME_MAX)) {
		mr_error("cannot write '%s': %s", out, strerror(ENAMETOOLONG));
		return MR_ERR_OUTPUT;
	}
	return MR_OK;
}

/* What is at path now may be replaced by a result: nothing, or a regular
 * file (with --force), or a symlink. */
static int check_target(const char *path, bool force)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? MR_OK
				       : (mr_error("cannot write '%s': %s", path, strerror(errno)),
					  MR_ERR_OUTPUT);
	struct stat to;
	bool link = S_ISLNK(st.st_mode), dangling = link && stat(path, &to) != 0;
	if (dangling)
		return MR_OK; /* a link to nothing: nothing is there */
	if (S_ISDIR(st.st_mode) || (link && S_ISDIR(to.st_mode))) {
		mr_error("cannot write '%s': Is a directory", path);
		return MR_ERR_OUTPUT;
	}
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		mr_error("cannot write '%s': not a regular file (mpimr replaces only regular "
			 "files)",
			 path);
		return MR_ERR_OUTPUT;
	}
	if (!force) {
		mr_error("output '%s' exists; use --force to replace it", path);
		return MR_ERR_OUTPUT;
	}
	return MR_OK;
}

/* The temporary name of path: .BASE.mpimr-PID.tmp in its directory, BASE
 * cut so that the name fits NAME_MAX.  Leftovers of killed runs are found
 * by that prefix (name_leftovers). */
static int temp_name(const char *path, char *tmp, size_t size)
{
	char *dir, *base;
	split_path(path, &dir, &base);
	char tail[48];
	snprintf(tail, sizeof(tail), ".mpimr-%ld.tmp", (long)getpid());
	size_t keep = strlen(base), most = NAME_MAX - 1 - strlen(tail);
	if (keep > most)
		keep = most;
	int n = snprintf(tmp, size, "%s/.%.*s%s", dir, (int)keep, base, tail);
	free(dir);
	free(base);
	if (n < 0 || (size_t)n >= size) {
		mr_error("cannot write '%s': %s", path, strerror(ENAMETOOLONG));
		return MR_ERR_OUTPUT;
	}
	return MR_OK;
}

/* A run killed while writing leaves its temporary file beside the output;
 * say so, so the user can delete it.  It is not deleted here: another run
 * may be writing it now. */
static void name_leftovers(const char *path)
{
	char *dir, *base;
	split_path(path, &dir, &base);
	DIR *d = opendir(dir);
	size_t blen = strlen(base);
	if (blen > NAME_MAX - 24)
		blen = NAME_MAX - 24; /* as temp_name cuts it, at least */
	struct dirent *e;
	while (d && (e = readdir(d))) {
		const char *n = e->d_name;
		if (n[0] == '.' && !strncmp(n + 1, base, blen) && mr_is_temp_name(n))
			mr_info("mpimr: note: '%s/%s' is the temporary file of an earlier run that "
				"did not finish; delete it unless a run is writing '%s' now",
				dir, n, path);
	}
	if (d)
		closedir(d);
	free(dir);
	free(base);
}

bool mr_is_temp_name(const char *name)
{
	/* .ANYTHING.mpimr-DIGITS.tmp */
	size_t n = strlen(name);
	if (n < 12 || name[0] != '.' || strcmp(name + n - 4, ".tmp") != 0)
		return false;
	size_t i = n - 4;
	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	return i < n - 4 && i >= 8 && strncmp(name + i - 7, ".mpimr-", 7) == 0;
}

/* The directory of path resolved, and its base name: two spellings of one
 * path that does not exist yet give the same pair. */
static bool same_path(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	char *da, *ba, *db, *bb;
	split_path(a, &da, &ba);
	split_path(b, &db, &bb);
	char ra[PATH_MAX], rb[PATH_MAX];
	bool same = realpath(da, ra) && realpath(db, rb) && !strcmp(ra, rb) && !strcmp(ba, bb);
	free(da);
	free(ba);
	free(db);
	free(bb);
	return same;
}

static int check_one(const char *path, bool force)
{
	char *dir, *base;
	split_path(path, &dir, &base);
	int rc = check_target(path, force);
	if (rc == MR_OK)
		rc = check_parent(path, dir, base);
	free(dir);
	free(base);
	return rc;
}

static int check_outputs(mr_ctx *c)
{
	const mr_config *cfg = c->cfg;
	/* An empty name is bad usage, known before any work; left to the
	 * end it would fail only at the rename, after the whole run. */
	if (!*cfg->output || (cfg->stats_json && !*cfg->stats_json)) {
		mr_error("%s is empty: give the %s file a name", *cfg->output ? "--stats" : "-o",
			 *cfg->output ? "statistics" : "output");
		return MR_ERR_USAGE;
	}
	int rc = check_one(cfg->output, cfg->force);
	if (rc == MR_OK && cfg->stats_json) {
		if (same_path(cfg->output, cfg->stats_json)) {
			mr_error("--stats '%s' is the output file '%s'; give it a name of its own",
				 cfg->stats_json, cfg->output);
			return MR_ERR_USAGE;
		}
		rc = check_one(cfg->stats_json, cfg->force);
	}
	if (rc == MR_OK)
		rc = temp_name(cfg->output, c->tmp_path, sizeof(c->tmp_path));
	if (rc == MR_OK && cfg->stats_json)
		rc = temp_name(cfg->stats_json, c->stats_tmp, sizeof(c->stats_tmp));
	if (rc == MR_OK)
		name_leftovers(cfg->output);
	return rc;
}

int mr_output_check(mr_ctx *c)
{
	int rc = c->rank == 0 ? check_outputs(c) : MR_OK;
	rc = mr_agree(c->comm, rc);
	if (rc == MR_OK) {
		MR_MPI(MPI_Bcast(c->tmp_path, sizeof(c->tmp_path), MPI_CHAR, 0, c->comm));
		MR_MPI(MPI_Bcast(c->stats_tmp, sizeof(c->stats_tmp), MPI_CHAR, 0, c->comm));
	}
	return rc;
}

/* fsync of a path, opened for reading (enough on Linux). */
int mr_sync_path(const char *path, bool dir)
{
	int fd = open(path, O_RDONLY | (dir ? O_DIRECTORY : 0));
	if (fd < 0)
		return errno;
	int err = fsync(fd) == 0 ? 0 : errno;
	close(fd);
	/* Some filesystems cannot sync a directory: that is no failure. */
	return dir && (err == EINVAL || err == EBADF) ? 0 : err;
}

static int appeared(const char *path)
{
	mr_error("output '%s' appeared during the run; use --force to replace it", path);
	return MR_ERR_OUTPUT;
}

static int rename_failed(const char *tmp, const char *path)
{
	mr_error("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
	return MR_ERR_OUTPUT;
}

/* tmp renamed to path.  Without --force, path held nothing (or a link to
 * nothing) when the run began: a file there now is someone else's, made
 * since, and is not replaced.  The rename itself refuses it where the
 * filesystem can (RENAME_NOREPLACE); elsewhere a look just before. */
static int rename_into_place(const char *tmp, const char *path, bool force)
{
	struct stat st, to;
	bool replace = force;
	if (!replace && lstat(path, &st) == 0) {
		if (!S_ISLNK(st.st_mode) || stat(path, &to) == 0)
			return appeared(path);
		replace = true; /* a link to nothing, as check_target allows */
	}
#ifdef RENAME_NOREPLACE
	if (!replace) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
			return MR_OK;
		if (errno == EEXIST)
			return appeared(path);
		if (errno != EINVAL && errno != ENOSYS)
			return rename_failed(tmp, path);
		/* The filesystem lacks the flag: the look above stands. */
	}
#endif
	return rename(tmp, path) == 0 ? MR_OK : rename_failed(tmp, path);
}

static int rename_synced(const char *tmp, const char *path, bool force)
{
	int rc = rename_into_place(tmp, path, force);
	if (rc != MR_OK)
		return rc;
	char *dir, *base;
	split_path(path, &dir, &base);
	int err = mr_sync_path(dir, true);
	free(dir);
	free(base);
	if (err) {
		mr_error("cannot write '%s': %s", path, strerror(err));
		return MR_ERR_OUTPUT;
	}
	return MR_OK;
}

int mr_commit(mr_ctx *c, int rc)
{
	rc = mr_agree(c->comm, rc);
	if (c->rank == 0 && rc == MR_OK) {
		/* The statistics first: a run that cannot give them leaves no
		 * output either. */
		bool force = c->cfg->force;
		if (c->cfg->stats_json)
			rc = rename_synced(c->stats_tmp, c->cfg->stats_json, force);
		if (rc == MR_OK) {
			rc = rename_synced(c->tmp_path, c->cfg->output, force);
			/* Without --force the statistics went where nothing was:
			 * they go again with the output they describe. */
			if (rc != MR_OK && c->cfg->stats_json && !force)
				unlink(c->cfg->stats_json);
		}
	}
	MR_MPI(MPI_Bcast(&rc, 1, MPI_INT, 0, c->comm));
	/* What was renamed is no longer ours to remove; what was not goes. */
	if (rc == MR_OK) {
		mr_cleanup_forget(c->tmp_path);
		mr_cleanup_forget(c->stats_tmp);
	}
	mr_cleanup_now();
	return rc;
}
