/*
 * libFuzzer harness for the record rule: the tokenizer (scan.h,
 * mr_scan_records) and the range reader (mr_read_range over a file cut into
 * ranges), on arbitrary bytes, checked against a naive reference written here.
 *
 * The input: byte 0 picks the rule (bit 0: line, else word); byte 1 the
 * reader's block size (bit 7: 1 MiB, else 1 to 128 bytes); byte 2 how many
 * range sizes follow (1 to 8), each one byte (1 to 255 bytes, 0: the rest of
 * the file, passed as a length that overflows off + len); the rest is the
 * file.  The ranges cut the file in order, the sizes taken in turn.
 *
 * The reference: words are Python's bytes.split() (maximal runs of bytes
 * none of " \t\n\v\f\r"); lines are the bytes between '\n's, a last line
 * without '\n' included, no empty record after a final '\n'.  The record
 * rule: a record belongs to the range that holds its first byte.  So:
 *   - mr_each_record(buf, n) gives the reference records of buf, in order,
 *     each at its own place in buf;
 *   - mr_scan_records(buf, n) gives those that end with a delimiter inside
 *     buf, and *tail is just past the last delimiter (0 if none);
 *   - mr_read_range over each range gives exactly the reference records of
 *     the whole file that start in that range, in order, with one reader
 *     reused for every range (as map does).
 * Every buffer handed to the code under test is allocated to its exact size,
 * so AddressSanitizer sees any read past it.
 *
 * No MPI call is made (the code under test calls MPI only to abort on a
 * failed allocation), so MPI_Init is never needed.
 */
#define _GNU_SOURCE /* memfd_create */
#include "core/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* A list of records: offsets and lengths (offsets only where they mean
 * something), and their bytes. */
struct recs {
	size_t n, cap;
	size_t *off, *len;
	mr_buf bytes;
	const char *base; /* records are expected to point into it, if set */
};

static void recs_add(struct recs *r, size_t off, const char *rec, size_t len)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->off = mr_realloc(r->off, r->cap * sizeof(size_t));
		r->len = mr_realloc(r->len, r->cap * sizeof(size_t));
	}
	r->off[r->n] = off;
	r->len[r->n] = len;
	r->n++;
	mr_buf_add(&r->bytes, rec, len);
}

static void recs_clear(struct recs *r)
{
	r->n = 0;
	r->bytes.len = 0;
	r->base = NULL;
}

static void recs_free(struct recs *r)
{
	free(r->off);
	free(r->len);
	mr_buf_release(&r->bytes);
	memset(r, 0, sizeof(*r));
}

static int sink(void *arg, const char *rec, size_t len)
{
	struct recs *r = arg;
	recs_add(r, r->base ? (size_t)(rec - r->base) : 0, rec, len);
	return MR_OK;
}

static _Noreturn void fail(const char *what, size_t i, size_t got, size_t want)
{
	fprintf(stderr, "fuzz_records: %s: at %zu got %zu, want %zu\n", what, i, got, want);
	abort();
}

/* The two lists hold the same records (and offsets, if with_offsets). */
static void same(const char *what, const struct recs *got, const struct recs *want,
		 bool with_offsets)
{
	if (got->n != want->n)
		fail(what, 0, got->n, want->n);
	if (got->bytes.len != want->bytes.len ||
	    (want->bytes.len && memcmp(got->bytes.data, want->bytes.data, want->bytes.len)))
		fail(what, 0, got->bytes.len, want->bytes.len);
	for (size_t i = 0; i < want->n; i++) {
		if (got->len[i] != want->len[i])
			fail(what, i, got->len[i], want->len[i]);
		if (with_offsets && got->off[i] != want->off[i])
			fail(what, i, got->off[i], want->off[i]);
	}
}

/* The reference records of p[0..n) as a whole file, with their offsets. */
static void reference(const char *p, size_t n, enum mr_record_rule rule, struct recs *out)
{
	recs_clear(out);
	size_t i = 0;
	if (rule == MR_RECORD_LINE) {
		while (i < n) {
			size_t e = i;
			while (e < n && p[e] != '\n')
				e++;
			recs_add(out, i, p + i, e - i);
			i = e + 1;
		}
		return;
	}
	while (i < n) {
		while (i < n && mr_is_space((unsigned char)p[i]))
			i++;
		size_t e = i;
		while (e < n && !mr_is_space((unsigned char)p[e]))
			e++;
		if (e > i)
			recs_add(out, i, p + i, e - i);
		i = e;
	}
}

static bool is_delim(unsigned char c, enum mr_record_rule rule)
{
	return rule == MR_RECORD_LINE ? c == '\n' : mr_is_space(c);
}

/* mr_each_record and mr_scan_records on an exact-size copy of the file. */
static void check_tokenizer(const char *data, size_t n, enum mr_record_rule rule, struct recs *got,
			    struct recs *want)
{
	char *buf = mr_malloc(n);
	if (n)
		memcpy(buf, data, n);

	reference(buf, n, rule, want);
	recs_clear(got);
	got->base = buf;
	if (mr_each_record(buf, n, rule, sink, got) != MR_OK)
		fail("mr_each_record status", 0, 1, 0);
	same("mr_each_record", got, want, true);

	/* Complete records only: those before the last delimiter. */
	size_t j = n;
	while (j > 0 && !is_delim((unsigned char)buf[j - 1], rule))
		j--;
	reference(buf, j, rule, want);
	recs_clear(got);
	got->base = buf;
	size_t tail = SIZE_MAX;
	if (mr_scan_records(buf, n, rule, sink, got, &tail) != MR_OK)
		fail("mr_scan_records status", 0, 1, 0);
	same("mr_scan_records", got, want, true);
	if (tail != j)
		fail("mr_scan_records tail", 0, tail, j);
	free(buf);
}

/* The file in an anonymous in-memory file, reused across inputs. */
static int file_of(const char *data, size_t n)
{
	static int fd = -1;
	if (fd < 0)
		fd = memfd_create("fuzz_records", 0);
	if (fd < 0 || ftruncate(fd, 0) != 0 || (n && pwrite(fd, data, n, 0) != (ssize_t)n)) {
		perror("fuzz_records: memfd");
		abort();
	}
	return fd;
}

static void check_ranges(const uint8_t *sizes, size_t nsizes, size_t block, const char *data,
			 size_t n, enum mr_record_rule rule, struct recs *got, struct recs *want)
{
	struct recs all = {0};
	reference(data, n, rule, &all);
	mr_reader r = {.fd = file_of(data, n), .file_size = n, .rule = rule, .block_size = block};
	size_t next = 0; /* the first reference record not yet read */
	uint64_t off = 0;
	for (size_t k = 0; off < n || (n == 0 && k == 0); k++) {
		uint8_t s = sizes[k % nsizes];
		uint64_t len = s ? s : UINT64_MAX - off / 2;
		uint64_t end = s && off + len < n ? off + len : n;

		recs_clear(want);
		while (next < all.n && all.off[next] < end) {
			recs_add(want, all.off[next], data + all.off[next], all.len[next]);
			next++;
		}
		recs_clear(got);
		if (mr_read_range(&r, off, len, sink, got) != MR_OK) {
			perror("fuzz_records: mr_read_range");
			abort();
		}
		same("mr_read_range", got, want, false);
		off = end;
	}
	if (next != all.n)
		fail("records never read", next, next, all.n);
	mr_reader_release(&r);
	recs_free(&all);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (size < 3)
		return 0;
	enum mr_record_rule rule = (in[0] & 1) ? MR_RECORD_LINE : MR_RECORD_WORD;
	size_t block = (in[1] & 0x80) ? (size_t)1 << 20 : 1 + (size_t)(in[1] & 0x7f);
	size_t nsizes = 1 + in[2] % 8;
	if (size < 3 + nsizes)
		return 0;
	const uint8_t *sizes = in + 3;
	const char *data = (const char *)in + 3 + nsizes;
	size_t n = size - 3 - nsizes;

	struct recs got = {0}, want = {0};
	check_tokenizer(data, n, rule, &got, &want);
	check_ranges(sizes, nsizes, block, data, n, rule, &got, &want);
	recs_free(&got);
	recs_free(&want);
	return 0;
}
