/*
 * Malformed records.  A job's map rejects a record it cannot use
 * (mr_reject); after map, rank 0 gathers every rank's count and first few,
 * keeps the first few of the run in input order, counts their line numbers,
 * and names them: as a warning, or with --strict as the run's error.
 */
#include "engine/run.h"

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
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return (a->line > b->line) - (a->line < b->line);
}

/* The line numbers of at[0..n), all in one file and in offset order: 1 + the
 * newlines before each offset, counted in one pass over the file up to the
 * last of them; 0 where the file cannot be read. */
static void count_lines(const char *path, mr_reject_at *at, size_t n)
{
	int fd = open(path, O_RDONLY);
	enum { BLOCK = 1 << 20 };
	char *buf = mr_malloc(BLOCK);
	uint64_t line = 1, pos = 0;
	for (size_t i = 0; i < n; i++) {
		while (fd >= 0 && pos < at[i].offset) {
			uint64_t left = at[i].offset - pos;
			ssize_t k = pread(fd, buf, left < BLOCK ? (size_t)left : BLOCK, (off_t)pos);
			if (k <= 0) {
				close(fd);
				fd = -1;
				break;
			}
			for (const char *p = buf, *end = buf + k;
			     (p = memchr(p, '\n', (size_t)(end - p))); p++)
				line++;
			pos += (uint64_t)k;
		}
		at[i].line = fd >= 0 ? line : 0;
	}
	free(buf);
	if (fd >= 0)
		close(fd);
}

/* Rank 0: the run's first few, as "PATH:LINE: why" lines. */
static char *describe(const mr_ctx *c, mr_reject_at *all, size_t n)
{
	qsort(all, n, sizeof(*all), cmp_at);
	if (n > MR_REJECT_SHOW)
		n = MR_REJECT_SHOW;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && all[j].file == all[i].file; j++)
			;
		if (all[i].file != MR_REJECT_OUTPUT)
			count_lines(mr_file_path(&c->files, (size_t)all[i].file), all + i, j - i);
	}
	mr_buf text = {0};
	for (size_t i = 0; i < n; i++) {
		const char *path = all[i].file == MR_REJECT_OUTPUT
					   ? "map output"
					   : mr_file_path(&c->files, (size_t)all[i].file);
		char head[64];
		if (all[i].file == MR_REJECT_OUTPUT)
			snprintf(head, sizeof(head),
				 " of rank %llu, line %llu: ", (unsigned long long)all[i].offset,
				 (unsigned long long)all[i].line);
		else if (all[i].line)
			snprintf(head, sizeof(head), ":%llu: ", (unsigned long long)all[i].line);
		else
			snprintf(head, sizeof(head),
				 ": byte %llu: ", (unsigned long long)all[i].offset);
		if (i)
			mr_buf_add(&text, "\n", 1);
		mr_buf_add(&text, path, strlen(path));
		mr_buf_add(&text, head, strlen(head));
		mr_buf_add(&text, all[i].why, strnlen(all[i].why, sizeof(all[i].why)));
	}
	mr_buf_add(&text, "", 1);
	return text.data;
}

int mr_rejects_gather(mr_ctx *c, int map_status)
{
	/* How many, and whether map failed anywhere for another reason (its
	 * rank said why; a partial count would only mislead). */
	bool strict_stop = c->cfg->strict && c->count[MR_C_REJECTED] > 0;
	uint64_t mine[3] = {c->count[MR_C_REJECTED], map_status != MR_OK && !strict_stop,
			    c->count[MR_C_PAIRS_EMITTED]};
	uint64_t all2[3];
	MR_MPI(MPI_Allreduce(mine, all2, 3, MPI_UINT64_T, MPI_SUM, c->comm));
	uint64_t total = all2[0];
	c->rejected = total;
	if (total == 0 || all2[1] > 0)
		return MR_OK;
	/* Rejects and nothing else: a header line, say, is not a result. */
	bool all_rejected = all2[2] == 0 && !c->cfg->all_rejected_ok;

	/* Every rank's first few to rank 0: MR_REJECT_SHOW slots each, the
	 * unused ones marked by file UINT64_MAX. */
	mr_reject_at slots[MR_REJECT_SHOW];
	memset(slots, 0, sizeof(slots));
	for (size_t i = 0; i < MR_REJECT_SHOW; i++)
		if (i < c->rejects.nshown)
			slots[i] = c->rejects.shown[i];
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
	c->rejected_first = mr_bcast_text(c->comm, text);
	free(text);
	text = c->rejected_first;

	if (all_rejected && !c->cfg->strict) {
		const char *nl = strchr(text, '\n');
		mr_error("no record gave a result: %llu were rejected, the first: %.*s "
			 "(--all-rejected-ok makes that a result with no keys)",
			 (unsigned long long)total, (int)(nl ? (size_t)(nl - text) : strlen(text)),
			 text);
		return MR_ERR_INPUT;
	}
	if (c->cfg->strict) {
		const char *nl = strchr(text, '\n');
		mr_error("%.*s (a malformed record; without --strict it would be skipped)",
			 (int)(nl ? (size_t)(nl - text) : strlen(text)), text);
		return MR_ERR_INPUT;
	}
	/* A warning, not information: -q keeps it, as data was left out. */
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
