/*
 * libFuzzer harness for the groupby job's map (jobs/groupby.c: the CSV
 * splitter, the number reader, the header's columns, JSON Lines through
 * jansson) on arbitrary bytes, through a real emitter over a real table of
 * its five-field values, then the job's finish, as one rank's map and reduce
 * would run them.
 *
 * The input: byte 0 picks the setup, bit 0: --format jsonl (else csv), bit 1:
 * --strict, bit 2: --op count with no --value (else --value c --op
 * count,sum,min,max,mean), bit 3: --key a (else --key a,b).  Byte 1, bits 0-1:
 * how many lines the range skips (0: it starts at offset 0, so map is given
 * the CSV header as a record; else map reads the header from the file with
 * pread, as on a rank whose ranges start past it); bits 2-7: the file's input
 * number.  The rest is the file.  The harness writes it to a memfd, whose
 * /proc/self/fd path is what mr_record_origin names, and cuts it into lines
 * as the line rule does ('\r' kept, no empty record after a final '\n'),
 * each copied to a buffer of its exact size so that AddressSanitizer sees a
 * read past the record.
 *
 * What is checked, besides no crash and no UBSan report:
 *   - every record is rejected or emits exactly one pair, except the blank
 *     lines and a CSV header, which may do neither (a bad header is rejected);
 *     map returns MR_OK, or with --strict MR_ERR_INPUT exactly when it
 *     rejected, and the run stops there as map does; or MR_ERR_INPUT with
 *     neither, having said why, for a file whose header lacks a --key or
 *     --value column (the file fails the run, not the row), and it stops;
 *   - a pair is one row: count 1, sum = min = max, finite (0 with no --value);
 *   - a rejected CSV header means every later non-blank row is rejected;
 *   - the table after mr_emitter_finish holds exactly the keys emitted, each
 *     with the count, sum, min and max of its rows combined in emit order
 *     (the same arithmetic, so equal exactly); counts are whole and positive
 *     and add up to the pairs emitted;
 *   - after finish, min <= mean <= max, up to the rounding of the sum (an
 *     infinite sum, from values near DBL_MAX, is left out);
 *   - the rejected records named are the first MR_REJECT_SHOW, in order, each
 *     with a reason of 1 to 150 bytes and no control bytes (one line).
 *
 * No MPI call is made (log.c and buf.c call MPI only to abort), so MPI_Init
 * is never needed.
 */
#define _GNU_SOURCE /* memfd_create */
#include "engine/run.h"
#include "jobs.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum { F_COUNT, F_SUM, F_MIN, F_MAX, F_MEAN, F_MEDIAN, F_DISTINCT, NFIELDS }; /* groupby's fields */
#define NFILES 64

static _Noreturn void fail(const char *what, uint64_t offset, double got, double want)
{
	fprintf(stderr, "fuzz_groupby: %s: record at %" PRIu64 ": got %.17g, want %.17g\n", what,
		offset, got, want);
	abort();
}

/* One key's rows as the harness saw them emitted, in order. */
struct ref {
	uint64_t hash;
	size_t len;
	double count, sum, min, max;
	bool seen; /* found in the table */
};

/* An open-addressing set of refs by (hash, len), sized for every line. */
struct refs {
	struct ref *r;
	size_t mask, n;
};

static struct ref *ref_find(struct refs *s, uint64_t hash, size_t len, bool add)
{
	for (size_t i = hash & s->mask;; i = (i + 1) & s->mask) {
		struct ref *r = &s->r[i];
		if (r->count == 0) {
			if (!add)
				return NULL;
			s->n++;
			*r = (struct ref){.hash = hash, .len = len};
			return r;
		}
		if (r->hash == hash && r->len == len)
			return r;
	}
}

/* The input file: a memfd reused across inputs, NFILES input numbers that
 * all name it, and the reader fields mr_record_origin reads. */
static int file_fd = -1;
static mr_files files;

static void files_init(void)
{
	file_fd = memfd_create("fuzz_groupby", 0);
	if (file_fd < 0) {
		perror("fuzz_groupby: memfd");
		abort();
	}
	char path[64];
	size_t len = (size_t)snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);
	files.n = NFILES;
	files.offsets = mr_calloc(NFILES + 1, sizeof(uint64_t));
	files.sizes = mr_calloc(NFILES, sizeof(uint64_t));
	for (size_t i = 0; i < NFILES; i++) {
		mr_buf_add(&files.paths, path, len + 1);
		files.offsets[i + 1] = files.offsets[i] + len;
	}
}

static void file_write(const char *data, size_t n)
{
	if (ftruncate(file_fd, 0) != 0 || (n && pwrite(file_fd, data, n, 0) != (ssize_t)n)) {
		perror("fuzz_groupby: memfd");
		abort();
	}
}

struct run {
	bool jsonl, strict, count_only;
	mr_emitter em;
	mr_rejects rejects;
	mr_reader reader;
	struct refs refs;
	uint64_t rejected[MR_REJECT_SHOW]; /* offsets of the first rejects */
	bool header_rejected;
};

/* Whether map may skip the record at offset off without a pair or a reject:
 * a blank line, or a CSV header (which is rejected if bad). */
static bool may_skip(const struct run *r, uint64_t off, const char *rec, size_t len)
{
	if (!r->jsonl)
		return off == 0 || len == 0 || (len == 1 && rec[0] == '\r');
	size_t i = off == 0 && len >= 3 && !memcmp(rec, "\xef\xbb\xbf", 3) ? 3 : 0;
	while (i < len && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\r'))
		i++;
	return i == len;
}

/* The pair the last map call emitted, at index at of the emitter's batch
 * (which mr_emit_fields filled even if it then applied the batch). */
static void check_row(struct run *r, size_t at, uint64_t off)
{
	const mr_value *v = r->em.fields[at];
	const mr_pending *p = &r->em.pending[at];
	double x = v[F_SUM].f;
	if (v[F_COUNT].f != 1)
		fail("a row's count", off, v[F_COUNT].f, 1);
	if (!isfinite(x) || (r->count_only && x != 0))
		fail("a row's value", off, x, 0);
	if (v[F_MIN].f != x || v[F_MAX].f != x)
		fail("a row's min and max", off, v[F_MIN].f, x);
	struct ref *ref = ref_find(&r->refs, p->hash, p->len, true);
	if (ref->count == 0) {
		ref->min = ref->max = x;
		ref->sum = x;
	} else {
		ref->sum += x; /* as groupby's combine does, in the same order */
		ref->min = x < ref->min ? x : ref->min;
		ref->max = x > ref->max ? x : ref->max;
	}
	ref->count += 1;
}

/* Calls map on one record; false when the run stops (--strict). */
static bool map_one(struct run *r, uint64_t off, const char *data, size_t len)
{
	char *rec = mr_malloc(len ? len : 1);
	memcpy(rec, data, len);
	r->reader.span = rec;
	r->reader.span_off = off;
	r->em.rec = rec;
	size_t at = r->em.n;
	uint64_t pairs = r->em.pairs, rejected = r->rejects.count;
	int rc = mr_job_groupby.map(rec, len, &r->em);
	uint64_t emitted = r->em.pairs - pairs, rejects = r->rejects.count - rejected;
	bool skip = may_skip(r, off, rec, len);
	free(rec);

	/* A file whose header has no --key or --value column, or cannot be
	 * read, is not a row's fault: map fails the run (groupby's
	 * file_failed), with no pair and no reject, having said why. */
	if (rc == MR_ERR_INPUT && emitted + rejects == 0) {
		if (!mr_said_take())
			fail("a failed file's reason, said", off, 0, 1);
		return false;
	}
	if (emitted + rejects > 1 || (emitted + rejects == 0 && !skip))
		fail("pairs and rejects of one record", off, (double)(emitted + rejects), 1);
	if (rc != (r->strict && rejects ? MR_ERR_INPUT : MR_OK))
		fail("map's status", off, rc, 0);
	if (emitted)
		check_row(r, at, off);
	if (rejects && rejected < MR_REJECT_SHOW)
		r->rejected[rejected] = off;
	if (off == 0 && !r->jsonl)
		r->header_rejected = rejects;
	else if (r->header_rejected && !skip && !rejects)
		fail("a row of a file whose header was rejected", off, 0, 1);
	return rc == MR_OK;
}

static void check_rejects(const struct run *r, uint64_t file)
{
	size_t want = r->rejects.count < MR_REJECT_SHOW ? (size_t)r->rejects.count : MR_REJECT_SHOW;
	if (r->rejects.nshown != want)
		fail("rejects named", 0, (double)r->rejects.nshown, (double)want);
	for (size_t i = 0; i < want; i++) {
		const mr_reject_at *s = &r->rejects.shown[i];
		size_t n = strnlen(s->why, sizeof(s->why));
		if (s->file != file || s->offset != r->rejected[i])
			fail("a named reject's place", r->rejected[i], (double)s->offset,
			     (double)r->rejected[i]);
		if (n == 0 || n >= sizeof(s->why))
			fail("a reject reason's length", s->offset, (double)n, 150);
		for (size_t j = 0; j < n; j++) {
			unsigned char c = (unsigned char)s->why[j];
			if (c < 0x20 || c == 0x7f) {
				fprintf(stderr, "fuzz_groupby: reason: %.*s\\x%02x%s\n", (int)j,
					s->why, c, s->why + j + 1);
				fail("a control byte in a reject reason", s->offset, c, '?');
			}
		}
	}
}

/* The table against the refs, then finish on every value. */
static void check_table(struct run *r, void *state)
{
	size_t pos = 0, len, keys = 0;
	const char *key;
	mr_value *v;
	uint32_t nv;
	double rows = 0;
	while (mr_table_next(r->em.table, &pos, &key, &len, &v, &nv)) {
		struct ref *ref = ref_find(&r->refs, mr_hash(key, len), len, false);
		if (nv != NFIELDS || !ref || ref->seen)
			fail("a key in the table", 0, (double)len, nv);
		ref->seen = true;
		keys++;
		double count = v[F_COUNT].f;
		if (count != ref->count || !(count >= 1) || count != floor(count))
			fail("a key's count", 0, count, ref->count);
		if (v[F_SUM].f != ref->sum || isnan(ref->sum))
			fail("a key's sum", 0, v[F_SUM].f, ref->sum);
		if (v[F_MIN].f != ref->min || v[F_MAX].f != ref->max)
			fail("a key's min", 0, v[F_MIN].f, ref->min);
		rows += count;
		if (mr_job_groupby.finish(state, v) != MR_OK)
			fail("finish's status", 0, 1, 0);
		double mean = v[F_MEAN].f, lo = v[F_MIN].f, hi = v[F_MAX].f;
		/* The sum of count rows is off by at most count ulps of the
		 * largest, and the mean likewise. */
		double tol = (count + 1) * DBL_EPSILON * fmax(fabs(lo), fabs(hi));
		if (isfinite(v[F_SUM].f) && !(mean >= lo - tol && mean <= hi + tol))
			fail("a key's mean out of [min, max]", 0, mean, lo);
	}
	if (keys != r->refs.n)
		fail("keys in the table", 0, (double)keys, (double)r->refs.n);
	if (rows != (double)r->em.pairs)
		fail("rows counted", 0, rows, (double)r->em.pairs);
}

/* groupby's setup with the options byte 0 picks. */
static void *setup(const struct run *r, bool one_key)
{
	char *argv[8] = {"--key",    one_key ? "a" : "a,b",
			 "--format", r->jsonl ? "jsonl" : "csv",
			 "--op",     "count",
			 "--value",  "c"};
	int argc = 6;
	if (!r->count_only) {
		argv[5] = "count,sum,min,max,mean";
		argc = 8;
	}
	void *state = NULL;
	if (mr_job_groupby.setup(argc, argv, 1, &state) != MR_OK)
		abort();
	return state;
}

/* Cuts data[0..n) into lines and maps those after the first skip ones. */
static void map_lines(struct run *r, const char *data, size_t n, unsigned skip)
{
	size_t i = 0;
	for (; skip > 0 && i < n; skip--) {
		const char *nl = memchr(data + i, '\n', n - i);
		i = nl ? (size_t)(nl - data) + 1 : n;
	}
	while (i < n) {
		const char *nl = memchr(data + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - data) : n;
		if (!map_one(r, i, data + i, e - i))
			return;
		i = e + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (size < 2)
		return 0;
	if (file_fd < 0)
		files_init();
	struct run r = {.jsonl = in[0] & 1, .strict = in[0] & 2, .count_only = in[0] & 4};
	uint64_t file = in[1] >> 2;
	const char *data = (const char *)in + 2;
	size_t n = size - 2;
	file_write(data, n);
	files.sizes[file] = n;

	void *state = setup(&r, in[0] & 8);
	mr_values vals = mr_values_of(&mr_job_groupby);
	mr_emitter_init(&r.em, mr_table_new(0, &vals), &vals);
	r.em.state = state;
	r.rejects.strict = r.strict;
	r.em.rejects = &r.rejects;
	r.em.reader = &r.reader;
	r.em.files = &files;
	r.em.file = file;
	r.reader.fd = -1;
	size_t slots = 16;
	while (slots < 2 * n)
		slots *= 2;
	r.refs.r = mr_calloc(slots, sizeof(struct ref));
	r.refs.mask = slots - 1;

	map_lines(&r, data, n, in[1] & 3);
	if (mr_emitter_finish(&r.em) != MR_OK)
		fail("mr_emitter_finish", 0, 1, 0);
	check_rejects(&r, file);
	check_table(&r, state);

	mr_table_free(&r.em.table);
	free(r.refs.r);
	mr_job_groupby.teardown(state);
	return 0;
}
