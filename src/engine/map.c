/*
 * Phase 2, map.  Every rank reads its ranges with pread in blocks, cuts
 * records by the job's rule, calls the job's map on each, and combines what it
 * emits into one table at once (in-mapper combining): what leaves the rank is
 * one pair per distinct key.
 */
#include "core/show.h"
#include "engine/stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK_SIZE ((size_t)1 << 20)

struct map_state {
	mr_emitter em;
	mr_ctx *c;
	mr_stream *stream;
	const mr_job *job;
	uint64_t records;
	bool counting; /* counts() */
	mr_reader *reader;
	mr_progress_state *progress; /* --progress (progress.c) */
};

/* What map's status rc (not MR_OK) fails the run with. */
static int map_failed(struct map_state *s, int rc)
{
	if (rc == MR_ERR_INPUT && s->em.rejects->strict && s->em.rejects->count > 0)
		return rc; /* a malformed record, named after map (reject.c) */
	if (rc != MR_ERR_NOMEM && rc != MR_ERR_LIMIT) {
		mr_job_failed(s->job->name, "map", rc);
		rc = MR_ERR_JOB;
	}
	return rc;
}

static inline void count_record(struct map_state *s)
{
	s->records++;
	if ((s->records & 0xffff) == 0)
		mr_progress_tick(s->c, s->progress, s->reader->bytes_read);
}

static inline int on_record(void *arg, const char *rec, size_t len)
{
	struct map_state *s = arg;
	count_record(s);
	s->em.rec = rec;
	int rc = s->job->map(rec, len, &s->em);
	return rc == MR_OK ? rc : map_failed(s, rc);
}

/* A counting job's record (see counts()): what mr_map_count does, inline,
 * and without its call. */
static inline int on_counted(void *arg, const char *rec, size_t len)
{
	struct map_state *s = arg;
	count_record(s);
	int rc = len <= MR_SHORT_KEY ? mr_emit_count_short(&s->em, rec, len)
				     : mr_map_count(rec, len, &s->em);
	return rc == MR_OK ? rc : map_failed(s, rc);
}

/* Whether the job counts its records (word count) into the map table: then
 * the tokenizer's loop queues them itself (on_counted). */
static bool counts(const mr_job *job, const mr_emitter *em)
{
	/* A table is there only for a job that combines (set_destination). */
	return job->map == mr_map_count && job->combine == mr_combine_sum && em->table &&
	       em->vals.kind == MR_VK_ONE;
}

/* After this rank's last range of file i, whose open descriptor is fd:
 * whether the file is still as split saw it (size, mtime and ctime).  A
 * file whose size split could not know has nothing to compare. */
static bool unchanged(const mr_ctx *c, uint64_t i, int fd)
{
	const mr_file_stamp *was = &c->files.stamps[i];
	struct stat st;
	if (was->unsized == MR_INPUT_UNSIZED || was->unsized == MR_INPUT_RESULT ||
	    fstat(fd, &st) != 0)
		return true;
	uint64_t m = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	uint64_t t = (uint64_t)st.st_ctim.tv_sec * 1000000000u + (uint64_t)st.st_ctim.tv_nsec;
	return (uint64_t)st.st_size == was->size && m == was->mtime_ns && t == was->ctime_ns;
}

/* Done with the open file, if any: closes it, and notes in c->changed
 * (the lowest such file) if it changed while it was read. */
static int close_input(mr_ctx *c, mr_reader *r, uint64_t file, int rc)
{
	if (r->fd < 0)
		return rc;
	if (r->changed || (rc == MR_OK && !unchanged(c, file, r->fd))) {
		if (file < c->changed)
			c->changed = file;
		rc = MR_ERR_INPUT; /* rank 0 names it, after map (mr_map_agree) */
	}
	mr_decoder_free(&r->dec);
	close(r->fd);
	r->fd = -1;
	r->changed = false;
	return rc;
}

/* One range of the open file; an unsized file's one range, of length 0, is
 * the whole file, and its size is where it ended. */
static int read_range(mr_ctx *c, mr_reader *r, const mr_range *g, struct map_state *s)
{
	bool whole = c->files.stamps[g->file].unsized;
	r->file_size = whole ? UINT64_MAX : c->files.sizes[g->file];
	uint64_t len = whole ? UINT64_MAX : g->length;
	int rc = s->counting ? mr_each_record_in_range(r, g->offset, len, on_counted, s)
			     : mr_each_record_in_range(r, g->offset, len, on_record, s);
	if (whole && rc == MR_OK)
		c->files.sizes[g->file] = r->eof;
	if (rc == MR_ERR_IO && !r->changed)
		mr_rank_error("cannot read '%s': %s", mr_file_path(&c->files, (size_t)g->file),
			      r->dec && *mr_decoder_error(r->dec) ? mr_decoder_error(r->dec)
								  : strerror(errno));
	return rc;
}

/* A result as an input: its lines, as `mpimr show` prints them, written to
 * an unnamed file in the spill directory, which the reader reads instead. */
static int open_result(mr_ctx *c, mr_reader *r, const char *path)
{
	int fd = mr_spill_tmpfile(&c->spill);
	if (fd < 0) {
		mr_rank_error("cannot read '%s': no room for its lines in '%s' (--tmp): %s", path,
			      c->cfg->tmpdir ? c->cfg->tmpdir : "$TMPDIR", strerror(errno));
		return MR_ERR_IO;
	}
	FILE *f = fdopen(dup(fd), "w");
	int rc = f ? mr_show_into(f, path) : MR_ERR_IO;
	if (f && fclose(f) != 0 && rc == MR_OK)
		rc = MR_ERR_IO;
	if (rc != MR_OK) {
		if (rc == MR_ERR_IO)
			mr_rank_error("cannot read '%s': writing its lines failed: %s", path,
				      strerror(errno));
		close(fd);
		return MR_ERR_INPUT;
	}
	r->fd = fd;
	return MR_OK;
}

/* Reads the ranges in order, keeping one file open while its ranges last.
 * The sizes are those split saw, so every rank reads the same bytes. */
static int read_ranges(mr_ctx *c, const mr_range *ranges, size_t nranges, mr_reader *r,
		       struct map_state *s)
{
	int rc = MR_OK;
	uint64_t open_file = UINT64_MAX;
	for (size_t i = 0; i < nranges && rc == MR_OK; i++) {
		const mr_range *g = &ranges[i];
		if (g->file != open_file) {
			rc = close_input(c, r, open_file, rc);
			if (rc != MR_OK)
				break;
			const char *path = mr_file_path(&c->files, (size_t)g->file);
			if (c->files.stamps[g->file].unsized == MR_INPUT_RESULT) {
				if ((rc = open_result(c, r, path)) != MR_OK)
					return rc;
			} else if ((r->fd = open(path, O_RDONLY)) < 0) {
				mr_rank_error("cannot open '%s': %s", path, strerror(errno));
				return MR_ERR_IO;
			}
			uint64_t kind = c->files.stamps[g->file].unsized;
			if (kind == MR_INPUT_GZIP || kind == MR_INPUT_ZSTD)
				r->dec = mr_decoder_new((enum mr_input_kind)kind, r->fd, path);
			open_file = g->file;
			s->em.file = g->file;
			posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		}
		rc = read_range(c, r, g, s);
	}
	return close_input(c, r, open_file, rc);
}

int mr_map_agree(mr_ctx *c, int rc)
{
	uint64_t first = UINT64_MAX;
	MR_MPI(MPI_Allreduce(&c->changed, &first, 1, MPI_UINT64_T, MPI_MIN, c->comm));
	if (first != UINT64_MAX) {
		mr_error("input '%s' changed while it was read", mr_file_path(&c->files, first));
		return rc == MR_OK || c->changed != UINT64_MAX ? MR_ERR_INPUT : rc;
	}
	/* The sizes of unsized files, from the rank that read each (the others
	 * have 0), for /inputs and the totals. */
	mr_files *f = &c->files;
	if (f->nunsized > 0 && f->n > 0) {
		MR_MPI(MPI_Allreduce(MPI_IN_PLACE, f->sizes, mr_int_count(f->n), MPI_UINT64_T,
				     MPI_MAX, c->comm));
		f->total = 0;
		for (size_t i = 0; i < f->n; i++)
			f->total += f->sizes[i];
	}
	return rc;
}

/* The emitter full: the map table spilled as a sorted run. */
static int spill_table(void *arg)
{
	struct map_state *s = arg;
	return mr_stream_table(s->c, s->stream, s->em.table, true);
}

/* The emitter full: the collected pairs sorted and spilled (REDUCE), or
 * spilled as they are, in input order (MAP_ONLY). */
static int spill_collected(void *arg)
{
	struct map_state *s = arg;
	if (mr_plan_of(s->c) == MR_PLAN_REDUCE)
		return mr_stream_collected(s->c, s->stream, true);
	s->stream->spilled = true;
	return mr_frames_flush(&s->stream->collect, &s->c->spill);
}

/* Where map's pairs go, by the job's plan (stream.c): a table that spills
 * past a third of the budget, or the stream's run. */
static void set_destination(mr_ctx *c, struct map_state *s, mr_stream *st)
{
	mr_values vals = mr_values_of(c->job);
	enum mr_plan plan = mr_plan_of(c);
	s->c = c;
	s->stream = st;
	s->em.full_arg = s;
	if (plan == MR_PLAN_COMBINE) {
		/* A third: sorting it for the spill takes about as much again
		 * (64 bytes a key: the pairs, and the radix sort's two arrays). */
		mr_table_set_limit(s->em.table, (size_t)(c->budget / 3));
		s->em.full = spill_table;
		return;
	}
	mr_table_free(&s->em.table);
	mr_emitter_to_run(&s->em, MR_EMIT_COLLECT, &st->collect);
	s->em.full = spill_collected;
	/* Half the budget for the pairs and their sort (REDUCE); a map-only
	 * job's records are not sorted, but counted alike. */
	s->em.run_limit = (size_t)(c->budget / 2);
	MR_UNUSED(vals);
}

static int map_ranges(mr_ctx *c, const mr_range *ranges, size_t nranges, mr_table **out,
		      mr_stream *st, mr_progress_state *progress)
{
	/* The phase's fault point, for tests (fault.c). */
	int fault = mr_fault(c, MR_PHASE_MAP);
	if (fault != MR_OK)
		return fault;
	mr_reader r = {.fd = -1, .rule = c->job->record, .block_size = BLOCK_SIZE};
	struct map_state s = {.job = c->job, .reader = &r, .progress = progress};
	mr_values vals = mr_values_of(c->job);
	mr_emitter_init(&s.em, mr_table_new(0, &vals), &vals);
	set_destination(c, &s, st);
	s.em.state = c->cfg->job_state;
	s.em.job = c->job->name;
	s.em.reader = &r;
	s.em.files = &c->files;
	c->rejects.strict = c->cfg->strict;
	s.em.rejects = &c->rejects;
	s.counting = counts(c->job, &s.em);

	int rc = read_ranges(c, ranges, nranges, &r, &s);
	if (rc == MR_OK && c->job->map_end) {
		s.em.rec = NULL;
		rc = c->job->map_end(c->cfg->job_state, &s.em);
		bool strict_stop = rc == MR_ERR_INPUT && c->rejects.strict && c->rejects.count > 0;
		if (rc != MR_OK && rc != MR_ERR_NOMEM && rc != MR_ERR_LIMIT && !strict_stop) {
			mr_job_failed(c->job->name, "map", rc);
			rc = MR_ERR_JOB;
		}
	}
	int frc = mr_emitter_finish(&s.em);
	if (rc == MR_OK)
		rc = frc;

	c->count[MR_C_BYTES_READ] = r.bytes_read;
	c->count[MR_C_RECORDS] = s.records;
	c->count[MR_C_PAIRS_EMITTED] = s.em.pairs;
	c->count[MR_C_KEYS_MAPPED] = s.em.table ? mr_table_count(s.em.table) : st->collect.pairs;
	c->count[MR_C_REJECTED] = c->rejects.count;
	mr_reader_release(&r);
	*out = s.em.table;
	return rc;
}

int mr_map(mr_ctx *c, const mr_range *ranges, size_t nranges, mr_table **out, mr_stream *st)
{
	mr_progress_state *progress = mr_progress_begin(c);
	int rc = map_ranges(c, ranges, nranges, out, st, progress);
	/* Even after a failure: rank 0 waits for every rank's last word. */
	mr_progress_end(c, &progress, c->count[MR_C_BYTES_READ]);
	return rc;
}
