/*
 * The spill store: where a rank's runs go when they outgrow its memory
 * budget.  One file per rank in --tmp (default $TMPDIR, else /tmp), opened
 * unnamed (O_TMPFILE) or unlinked at once, so that nothing of it outlives
 * the process, however it ends: kill -9 included.  Runs are appended to it
 * as extents and read back with pread; the space of a run that has been
 * read for the last time is given back (a punched hole).  A full or missing
 * --tmp is met by many ranks at once: its error is said once (mr_defer).
 */
#define _GNU_SOURCE /* O_TMPFILE, fallocate */
#include "core/runs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *spill_dir(const mr_spill *s)
{
	if (s->dir && *s->dir)
		return s->dir;
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

int mr_spill_tmpfile(const mr_spill *s)
{
	const char *dir = spill_dir(s);
	int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* No O_TMPFILE here: a named file, unlinked before it holds anything. */
		char path[4200];
		snprintf(path, sizeof(path), "%s/.mpimr-spill-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	return fd;
}

static int spill_open(mr_spill *s)
{
	const char *dir = spill_dir(s);
	s->fd = mr_spill_tmpfile(s);
	if (s->fd < 0) {
		mr_defer("cannot make a spill file in '%s' (--tmp): %s", dir, strerror(errno));
		s->failed = true;
		return MR_ERR_IO;
	}
	return MR_OK;
}

int mr_spill_write(mr_spill *s, const void *p, size_t n, uint64_t *off)
{
	if (s->failed)
		return MR_ERR_IO;
	if (s->fd < 0 && spill_open(s) != MR_OK)
		return MR_ERR_IO;
	*off = s->end;
	for (size_t done = 0; done < n;) {
		ssize_t k = pwrite(s->fd, (const char *)p + done, n - done, (off_t)(s->end + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			mr_defer("cannot write a spill file in '%s' (--tmp): %s", spill_dir(s),
				 k < 0 ? strerror(errno) : "no progress");
			s->failed = true;
			return MR_ERR_IO;
		}
		done += (size_t)k;
	}
	s->end += n;
	s->written += n;
	return MR_OK;
}

int mr_spill_read(mr_spill *s, uint64_t off, void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t k = pread(s->fd, (char *)p + done, n - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			mr_defer("cannot read a spill file in '%s' (--tmp): %s", spill_dir(s),
				 k < 0 ? strerror(errno) : "it is shorter than written");
			s->failed = true;
			return MR_ERR_IO;
		}
		done += (size_t)k;
	}
	return MR_OK;
}

void mr_spill_release(mr_spill *s, uint64_t off, uint64_t n)
{
	/* Best effort: a filesystem that cannot punch holes keeps the bytes
	 * until the process ends. */
	if (s->fd >= 0 && n > 0)
		fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)n);
}

void mr_spill_close(mr_spill *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
