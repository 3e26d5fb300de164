/*
 * Malformed records.  A job's map rejects a record it cannot use
 * (mr_reject); after map, rank 0 gathers every rank's count and first few,
 * keeps the first few of the run in input order, counts their line numbers,
 * and names them: as a warning, or with --strict as the run's error.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int cmp_at(const void *x, const void *y)
{
	const mr_reject_at *a = x, *b = y;
	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	return (a->offset > b->offset) - (a->offset < b->offset);
}

/* 1 + the newlines before offset in path, or 0 if the file cannot be read. */
static uint64_t line_of(const char *path, uint64_t offset)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	enum { BLOCK = 1 << 20 };
	char *buf = mr_malloc(BLOCK);
	uint64_t line = 1, at = 0;
	while (at < offset) {
		size_t want = offset - at < BLOCK ? (size_t)(offset - at) : BLOCK;
		ssize_t k = pread(fd, buf, want, (off_t)at);
		if (k <= 0) {
			line = 0;
			break;
		}
		for (const char *p = buf, *end = buf + k; (p = memchr(p, '\n', (size_t)(end - p)));
		     p++)
			line++;
		at += (uint64_t)k;
	}
	free(buf);
	close(fd);
	return line;
}

/* Rank 0: the run's first few, as "PATH:LINE: why" lines. */
static char *describe(const mr_ctx *c, mr_reject_at *all, size_t n)
{
	qsort(all, n, sizeof(*all), cmp_at);
	if (n > MR_REJECT_SHOW)
		n = MR_REJECT_SHOW;
	mr_buf text = {0};
	for (size_t i = 0; i < n; i++) {
		const char *path = mr_file_path(&c->files, (size_t)all[i].file);
		uint64_t line = line_of(path, all[i].offset);
		char head[64];
		if (line)
			snprintf(head, sizeof(head), ":%llu: ", (unsigned long long)line);
		else
			snprintf(head, sizeof(head), ": byte %llu: ",
				 (unsigned long long)all[i].offset);
		if (i)
			mr_buf_add(&text, "\n", 1);
		mr_buf_add(&text, path, strlen(path));
		mr_buf_add(&text, head, strlen(head));
		mr_buf_add(&text, all[i].why, strnlen(all[i].why, sizeof(all[i].why)));
	}
	mr_buf_add(&text, "", 1);
	return text.data;
}

int mr_rejects_gather(mr_ctx *c)
{
	uint64_t mine = c->count[MR_C_REJECTED], total = 0;
	MR_MPI(MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, c->comm));
	c->rejected = total;
	if (total == 0)
		return MR_OK;

	/* Every rank's first few to rank 0: MR_REJECT_SHOW slots each, the
	 * unused ones marked by file UINT64_MAX. */
	mr_reject_at slots[MR_REJECT_SHOW];
	memset(slots, 0, sizeof(slots));
	for (size_t i = 0; i < MR_REJECT_SHOW; i++)
		if (i < c->nshown)
			slots[i] = c->shown[i];
		else
			slots[i].file = UINT64_MAX;
	size_t nn = (size_t)c->nranks * MR_REJECT_SHOW;
	mr_reject_at *all = c->rank == 0 ? mr_malloc(mr_mul(nn, sizeof(*all))) : NULL;
	MR_MPI(MPI_Gather(slots, (int)sizeof(slots), MPI_BYTE, all, (int)sizeof(slots), MPI_BYTE, 0,
			  c->comm));
	char *text = NULL;
	if (c->rank == 0) {
		size_t n = 0;
		for (size_t i = 0; i < nn; i++)
			if (all[i].file != UINT64_MAX)
				all[n++] = all[i];
		text = describe(c, all, n);
		free(all);
	}
	/* The same text everywhere, for the output file's attribute. */
	uint64_t len = text ? strlen(text) : 0;
	MR_MPI(MPI_Bcast(&len, 1, MPI_UINT64_T, 0, c->comm));
	if (c->rank != 0)
		text = mr_malloc((size_t)len + 1);
	MR_MPI(MPI_Bcast(text, mr_int_count(len + 1), MPI_CHAR, 0, c->comm));
	c->rejected_first = text;

	if (c->cfg->strict) {
		const char *nl = strchr(text, '\n');
		mr_error("%.*s (a malformed record; without --strict it would be skipped)",
			 (int)(nl ? (size_t)(nl - text) : strlen(text)), text);
		return MR_ERR_INPUT;
	}
	mr_error("warning: %llu malformed record%s skipped (--strict makes them an error); "
		 "the first:",
		 (unsigned long long)total, total == 1 ? "" : "s");
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		mr_error("  %.*s", (int)n, p);
		p += n + (nl != NULL);
	}
	return MR_OK;
}
