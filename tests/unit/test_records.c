/*
 * Unit tests for the record rule: the tokenizer (mr_scan_records) and the
 * range reader (mr_read_range).
 *
 * Both are checked against a naive splitter written here: lines are the bytes
 * between '\n's (empty lines are records, '\r' is kept, a final line without
 * '\n' is a record); words are maximal runs of bytes that are none of
 * " \t\n\v\f\r" (NUL and 0x80..0xff are word bytes).
 *
 * (a) mr_scan_records on many seeded random buffers, heavy in whitespace,
 *     NUL and high bytes: the complete records in order, at the right place,
 *     and *tail at the start of an unterminated trailing record (or n).
 * (b) mr_read_range on temporary files cut into consecutive ranges of
 *     1..17, 100, 4095, 4096, 4097 and 70000 bytes (and random cuts), read
 *     with blocks of 1, 2, 3, 7, 64 and 1 MiB bytes by one reused reader:
 *     all ranges' records together must be exactly the file's records, none
 *     lost, none read twice, in order.  Awkward files: empty, no final
 *     newline, trailing or only whitespace, a word longer than the block, a
 *     word at every range boundary, CRLF.
 * (c) A sink's error status stops both and comes back.
 *
 * Local only: no MPI call is made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/records.h"

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static const char *rule_name(enum mr_record_rule rule)
{
	return rule == MR_RECORD_LINE ? "line" : "word";
}

/* ---- a list of records, and the reference splitter --------------------- */

struct recs {
	mr_buf bytes; /* the records, concatenated */
	mr_buf lens;  /* size_t each */
	mr_buf offs;  /* size_t each: rec - base, when base is set */
	size_t n;
	const char *base;
	size_t fail_at; /* the sink fails on this call (1-based); 0: never */
	size_t calls;
};

static void recs_add(struct recs *r, const char *rec, size_t len)
{
	mr_buf_add(&r->bytes, rec, len);
	mr_buf_add(&r->lens, &len, sizeof(len));
	if (r->base) {
		size_t off = (size_t)(rec - r->base);
		mr_buf_add(&r->offs, &off, sizeof(off));
	}
	r->n++;
}

static void recs_reset(struct recs *r)
{
	r->bytes.len = r->lens.len = r->offs.len = 0;
	r->n = r->calls = r->fail_at = 0;
	r->base = NULL;
}

static void recs_release(struct recs *r)
{
	mr_buf_release(&r->bytes);
	mr_buf_release(&r->lens);
	mr_buf_release(&r->offs);
	r->n = 0;
}

static size_t recs_len(const struct recs *r, size_t i)
{
	size_t len;
	memcpy(&len, r->lens.data + i * sizeof(len), sizeof(len));
	return len;
}

static size_t recs_off(const struct recs *r, size_t i)
{
	size_t off;
	memcpy(&off, r->offs.data + i * sizeof(off), sizeof(off));
	return off;
}

static int sink(void *arg, const char *rec, size_t len)
{
	struct recs *r = arg;
	r->calls++;
	if (r->fail_at && r->calls == r->fail_at)
		return MR_ERR_JOB;
	assert_true(rec != NULL || len == 0);
	recs_add(r, rec, len);
	return MR_OK;
}

static bool ref_space(unsigned char c)
{
	return memchr(" \t\n\v\f\r", c, 6) != NULL;
}

/* The complete records of buf[0..n) into out; returns where an unterminated
 * trailing record starts, or n. */
static size_t ref_scan(const char *buf, size_t n, enum mr_record_rule rule, struct recs *out)
{
	size_t start = 0;
	bool in = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (rule == MR_RECORD_LINE) {
			if (c == '\n') {
				recs_add(out, buf + start, i - start);
				start = i + 1;
			}
		} else if (ref_space(c)) {
			if (in)
				recs_add(out, buf + start, i - start);
			in = false;
		} else if (!in) {
			in = true;
			start = i;
		}
	}
	if (rule == MR_RECORD_LINE)
		return start;
	return in ? start : n;
}

/* All the records of a whole file. */
static void ref_file(const char *buf, size_t n, enum mr_record_rule rule, struct recs *out)
{
	size_t tail = ref_scan(buf, n, rule, out);
	if (tail < n)
		recs_add(out, buf + tail, n - tail);
}

static void show_rec(const char *what, const struct recs *r, size_t i, size_t at)
{
	size_t len = recs_len(r, i);
	fprintf(stderr, "  %s record %zu: %zu bytes:", what, i, len);
	for (size_t j = 0; j < len && j < 24; j++)
		fprintf(stderr, " %02x", (unsigned char)r->bytes.data[at + j]);
	fprintf(stderr, "%s\n", len > 24 ? " ..." : "");
}

/* Fails, saying where, unless got holds exactly the records of want. */
static void check_same(const struct recs *got, const struct recs *want, const char *ctx)
{
	size_t at = 0;
	size_t n = got->n < want->n ? got->n : want->n;
	for (size_t i = 0; i < n; i++) {
		size_t gl = recs_len(got, i), wl = recs_len(want, i);
		if (gl != wl ||
		    (gl > 0 && memcmp(got->bytes.data + at, want->bytes.data + at, gl))) {
			show_rec("got", got, i, at);
			show_rec("want", want, i, at);
			fail_msg("%s: record %zu of %zu differs", ctx, i, want->n);
		}
		at += gl;
	}
	if (got->n != want->n) {
		if (got->n > n)
			show_rec("extra", got, n, at);
		else
			show_rec("missing", want, n, at);
		fail_msg("%s: %zu records, want %zu", ctx, got->n, want->n);
	}
}

/* ---- (a) the tokenizer --------------------------------------------------- */

/* Random bytes: mostly the six spaces, NUL, high bytes and a few letters. */
static void random_bytes(uint64_t *s, char *buf, size_t n, int newline_heavy)
{
	static const char sp[] = " \t\n\v\f\r";
	for (size_t i = 0; i < n; i++) {
		uint64_t x = splitmix64(s);
		unsigned k = (unsigned)(x % 10);
		if (newline_heavy && k < 2)
			buf[i] = '\n';
		else if (k < 4)
			buf[i] = sp[(x >> 8) % 6];
		else if (k == 4)
			buf[i] = '\0';
		else if (k < 7)
			buf[i] = (char)(0x80 + (x >> 8) % 0x80);
		else
			buf[i] = (char)('a' + (x >> 8) % 3);
	}
}

static void scan_one(const char *buf, size_t n, enum mr_record_rule rule, struct recs *got,
		     struct recs *want, const char *ctx)
{
	recs_reset(got);
	recs_reset(want);
	got->base = want->base = buf;
	size_t tail = 12345678, wtail = ref_scan(buf, n, rule, want);
	int rc = mr_scan_records(buf, n, rule, sink, got, &tail);
	assert_int_equal(rc, MR_OK);
	check_same(got, want, ctx);
	for (size_t i = 0; i < got->n; i++)
		if (recs_off(got, i) != recs_off(want, i))
			fail_msg("%s: record %zu at %zu, want %zu", ctx, i, recs_off(got, i),
				 recs_off(want, i));
	if (tail != wtail)
		fail_msg("%s: tail %zu, want %zu (n %zu)", ctx, tail, wtail, n);
}

static void test_scan_fixed(void **state)
{
	MR_UNUSED(state);
	static const struct {
		const char *s;
		size_t n;
	} cases[] = {
#define C(lit) {lit, sizeof(lit) - 1}
		C(""),
		C(" "),
		C("\n"),
		C("a"),
		C("a\n"),
		C("\na"),
		C("one two\nthree"),
		C("one two\nthree\n"),
		C("\n\n\n"),
		C("a\r\nb\r\n\r\nc"),
		C(" \t\n\v\f\r"),
		C("x \t\n\v\f\ry"),
		C("x\0y z\0"),
		C("\x80\xff \x85\xa0\n\xc2\xa0"), /* not spaces in C */
		C("\x1c\x1d\x1e\x1f word\x7f"),
#undef C
	};
	struct recs got = {0}, want = {0};
	char ctx[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int rule = 0; rule < 2; rule++) {
			snprintf(ctx, sizeof(ctx), "case %zu, %s", i,
				 rule_name((enum mr_record_rule)rule));
			scan_one(cases[i].s, cases[i].n, (enum mr_record_rule)rule, &got, &want,
				 ctx);
		}
	}
	/* Spot checks of the reference itself. */
	recs_reset(&want);
	size_t t = ref_scan("a\r\nb\r\n\r\nc", 9, MR_RECORD_LINE, &want);
	assert_int_equal(want.n, 3);
	assert_int_equal(t, 8);
	assert_memory_equal(want.bytes.data, "a\rb\r\r", 5);
	recs_reset(&want);
	t = ref_scan("x\0y z\0", 6, MR_RECORD_WORD, &want);
	assert_int_equal(want.n, 1);
	assert_int_equal(t, 4);
	recs_release(&got);
	recs_release(&want);
}

static void test_scan_random(void **state)
{
	MR_UNUSED(state);
	uint64_t s = 2024;
	char buf[300];
	struct recs got = {0}, want = {0};
	char ctx[96];
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(splitmix64(&s) % sizeof(buf));
		if (iter < 300)
			n = (size_t)iter % 8;
		random_bytes(&s, buf, n, iter % 2);
		for (int rule = 0; rule < 2; rule++) {
			snprintf(ctx, sizeof(ctx), "buffer %d (n %zu), %s", iter, n,
				 rule_name((enum mr_record_rule)rule));
			scan_one(buf, n, (enum mr_record_rule)rule, &got, &want, ctx);
		}
	}
	recs_release(&got);
	recs_release(&want);
}

static void test_scan_error_stops(void **state)
{
	MR_UNUSED(state);
	const char *s = "a b\nc d\ne f\n";
	size_t n = strlen(s);
	struct recs got = {0};
	for (int rule = 0; rule < 2; rule++) {
		size_t total = rule == MR_RECORD_LINE ? 3 : 6;
		for (size_t k = 1; k <= total; k++) {
			recs_reset(&got);
			got.fail_at = k;
			size_t tail = 0;
			int rc =
				mr_scan_records(s, n, (enum mr_record_rule)rule, sink, &got, &tail);
			assert_int_equal(rc, MR_ERR_JOB);
			assert_int_equal(got.calls, k);
			assert_int_equal(got.n, k - 1);
		}
	}
	recs_release(&got);
}

/* ---- (b) the range reader ------------------------------------------------ */

static int tmp_fd = -1;

static int setup_file(void **state)
{
	MR_UNUSED(state);
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/mpimr-test-records-XXXXXX", dir && *dir ? dir : "/tmp");
	tmp_fd = mkstemp(path);
	if (tmp_fd < 0)
		return -1;
	unlink(path); /* nothing left behind; the descriptor keeps it */
	return 0;
}

static int teardown_file(void **state)
{
	MR_UNUSED(state);
	if (tmp_fd >= 0)
		close(tmp_fd);
	tmp_fd = -1;
	return 0;
}

static void put_file(const char *buf, size_t n)
{
	assert_int_equal(ftruncate(tmp_fd, 0), 0);
	size_t done = 0;
	while (done < n) {
		ssize_t k = pwrite(tmp_fd, buf + done, n - done, (off_t)done);
		assert_true(k > 0);
		done += (size_t)k;
	}
}

static const size_t all_blocks[] = {1, 2, 3, 7, 64, (size_t)1 << 20};
#define NBLOCKS (sizeof(all_blocks) / sizeof(all_blocks[0]))

/* Reads the file as consecutive ranges of chunk bytes into got.  cuts, if
 * given, are the range lengths to use in turn instead.  Returns the first
 * status that is not MR_OK, or MR_OK. */
static int read_ranges(mr_reader *r, uint64_t size, uint64_t chunk, const uint64_t *cuts,
		       size_t ncuts, struct recs *got)
{
	uint64_t before = r->bytes_read;
	size_t ci = 0;
	for (uint64_t off = 0; off < size;) {
		uint64_t len = cuts ? cuts[ci++ % ncuts] : chunk;
		int rc = mr_read_range(r, off, len, sink, got);
		if (rc != MR_OK)
			return rc;
		off += len;
	}
	assert_true(r->bytes_read >= before);
	if (size > 0 && got->n > 0)
		assert_true(r->bytes_read > before);
	return MR_OK;
}

/* Checks every (chunk, block) pair on content buf[0..n), both rules. */
static void check_file(const char *name, const char *buf, size_t n, const uint64_t *chunks,
		       size_t nchunks, const size_t *blocks, size_t nblocks)
{
	put_file(buf, n);
	struct recs got = {0}, want = {0};
	char ctx[160];
	for (int rule = 0; rule < 2; rule++) {
		recs_reset(&want);
		ref_file(buf, n, (enum mr_record_rule)rule, &want);
		for (size_t bi = 0; bi < nblocks; bi++) {
			mr_reader r = {.fd = tmp_fd,
				       .file_size = n,
				       .rule = (enum mr_record_rule)rule,
				       .block_size = blocks[bi]};
			for (size_t ci = 0; ci < nchunks; ci++) {
				snprintf(ctx, sizeof(ctx),
					 "file %s (%zu bytes), %s, range %llu, "
					 "block %zu",
					 name, n, rule_name((enum mr_record_rule)rule),
					 (unsigned long long)chunks[ci], blocks[bi]);
				recs_reset(&got);
				int rc = read_ranges(&r, n, chunks[ci], NULL, 0, &got);
				if (rc != MR_OK)
					fail_msg("%s: status %d", ctx, rc);
				check_same(&got, &want, ctx);
			}
			/* One range past the end of the file, and the
			 * whole file as one range. */
			recs_reset(&got);
			assert_int_equal(mr_read_range(&r, 0, (uint64_t)n + 100, sink, &got),
					 MR_OK);
			snprintf(ctx, sizeof(ctx), "file %s, %s, one range", name,
				 rule_name((enum mr_record_rule)rule));
			check_same(&got, &want, ctx);
			/* Two ranges, the second with a length that overflows
			 * off + len: it runs to the end of the file. */
			recs_reset(&got);
			uint64_t half = (uint64_t)n / 2;
			if (half > 0)
				assert_int_equal(mr_read_range(&r, 0, half, sink, &got), MR_OK);
			assert_int_equal(mr_read_range(&r, half, UINT64_MAX, sink, &got), MR_OK);
			snprintf(ctx, sizeof(ctx), "file %s, %s, two halves", name,
				 rule_name((enum mr_record_rule)rule));
			check_same(&got, &want, ctx);
			mr_reader_release(&r);
		}
	}
	recs_release(&got);
	recs_release(&want);
}

/* clang-format off */
static const uint64_t small_chunks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					17, 100, 4095, 4096, 4097, 70000};
/* clang-format on */
#define NSMALL (sizeof(small_chunks) / sizeof(small_chunks[0]))
static const uint64_t big_chunks[] = {4095, 4096, 4097, 70000, 1u << 20};
#define NBIG (sizeof(big_chunks) / sizeof(big_chunks[0]))

static void check_small(const char *name, const char *buf, size_t n)
{
	check_file(name, buf, n, small_chunks, NSMALL, all_blocks, NBLOCKS);
}

static void test_read_awkward_files(void **state)
{
	MR_UNUSED(state);
#define S(name, lit) check_small(name, lit, sizeof(lit) - 1)
	S("no-final-newline", "hello world\nfoo bar");
	S("final-newline", "hello world\nfoo bar\n");
	S("trailing-space", "a b c \n\t ");
	S("trailing-spaces-no-newline", "alpha beta   ");
	S("only-whitespace", " \t\n\v\f\r  \n\n \r\n");
	S("only-newlines", "\n\n\n\n\n");
	S("one-byte", "x");
	S("one-newline", "\n");
	S("one-space", " ");
	S("crlf", "one two\r\nthree\r\n\r\nfour");
	S("crlf-final", "one two\r\nthree\r\n\r\nfour\r\n");
	S("leading-space", "   lead\n\n  two words\n");
	S("nul-and-high", "a\0b \x80\xff\n\xc2\xa0x\0\0\n\0");
	S("words-at-4", "aaa bbb ccc ddd eee fff ggg"); /* starts at 4k */
	S("lines-at-4", "aaa\nbbb\nccc\nddd\neee\nfff\n");
	S("words-at-3", "aa\tbb\vcc\fdd\ree\nff gg");
	S("long-spaces", "w                                  x          ");
#undef S
}

static void test_read_empty_file(void **state)
{
	MR_UNUSED(state);
	put_file("", 0);
	struct recs got = {0};
	for (int rule = 0; rule < 2; rule++) {
		for (size_t bi = 0; bi < NBLOCKS; bi++) {
			mr_reader r = {.fd = tmp_fd,
				       .file_size = 0,
				       .rule = (enum mr_record_rule)rule,
				       .block_size = all_blocks[bi]};
			recs_reset(&got);
			assert_int_equal(read_ranges(&r, 0, 1, NULL, 0, &got), MR_OK);
			assert_int_equal(mr_read_range(&r, 0, 10, sink, &got), MR_OK);
			assert_int_equal(mr_read_range(&r, 0, 0, sink, &got), MR_OK);
			assert_int_equal(got.n, 0);
			mr_reader_release(&r);
		}
	}
	recs_release(&got);
}

/* Words (or lines) each exactly c-1 bytes plus one delimiter, so a record
 * starts at every multiple of c: every range starts exactly on a record. */
static void test_read_records_on_boundaries(void **state)
{
	MR_UNUSED(state);
	char buf[2000];
	for (size_t c = 2; c <= 17; c++) {
		for (int nl = 0; nl < 2; nl++) {
			size_t n = 0;
			for (size_t w = 0; n + c <= sizeof(buf) && w < 40; w++) {
				for (size_t j = 0; j + 1 < c; j++)
					buf[n++] = (char)('a' + (w + j) % 26);
				buf[n++] = nl ? '\n' : " \t\v\f\r"[w % 5];
			}
			uint64_t chunks[3] = {c, c * 2, c * 3};
			char name[32];
			snprintf(name, sizeof(name), "boundary-%zu-%d", c, nl);
			check_file(name, buf, n, chunks, 3, all_blocks, NBLOCKS);
			/* And without the last delimiter. */
			check_file(name, buf, n - 1, chunks, 3, all_blocks, NBLOCKS);
		}
	}
}

static void test_read_long_word(void **state)
{
	MR_UNUSED(state);
	/* A word longer than every small block, and than a page. */
	size_t n = 9000;
	char *buf = malloc(n + 64);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + i % 26);
	check_file("long-word", buf, n, small_chunks, NSMALL, all_blocks, NBLOCKS);
	memcpy(buf, "x y\n", 4);
	buf[n - 5] = ' ';
	buf[n - 1] = '\n';
	check_file("long-word-inside", buf, n, small_chunks, NSMALL, all_blocks, NBLOCKS);
	free(buf);

	/* A word longer than a 1 MiB block. */
	n = ((size_t)1 << 20) + 5000;
	buf = malloc(n);
	assert_non_null(buf);
	memset(buf, 'q', n);
	memcpy(buf, "w1 w2\nw3 ", 9);
	memcpy(buf + n - 3, " z\n", 3);
	const size_t blocks[] = {64, (size_t)1 << 20};
	check_file("huge-word", buf, n, big_chunks + 2, NBIG - 2, blocks, 2);
	free(buf);
}

static void test_read_random_files(void **state)
{
	MR_UNUSED(state);
	uint64_t s = 777;
	static const size_t sizes[] = {1, 2, 3, 5, 8, 13, 31, 64, 65, 200, 1500};
	char *buf = malloc(200000);
	assert_non_null(buf);
	char name[48];
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int nl = 0; nl < 2; nl++) {
			random_bytes(&s, buf, sizes[i], nl);
			snprintf(name, sizeof(name), "random-%zu-%d", sizes[i], nl);
			check_small(name, buf, sizes[i]);
		}
	}
	/* Bigger files, sparse delimiters: records span blocks and pages. */
	for (int k = 0; k < 4; k++) {
		size_t n = 150000 + (size_t)k * 1001;
		for (size_t j = 0; j < n; j++) {
			uint64_t x = splitmix64(&s);
			unsigned m = (unsigned)(x % (k < 2 ? 40 : 3000));
			buf[j] = m == 0 ? "\n \t\r"[(x >> 20) % 4] : (char)(x >> 24);
			if (ref_space((unsigned char)buf[j]) && m != 0)
				buf[j] = 'z';
		}
		snprintf(name, sizeof(name), "big-random-%d", k);
		check_file(name, buf, n, big_chunks, NBIG, all_blocks + 3, NBLOCKS - 3);
	}
	free(buf);
}

/* Random cut points instead of equal ranges. */
static void test_read_random_cuts(void **state)
{
	MR_UNUSED(state);
	uint64_t s = 31337;
	char buf[3000];
	struct recs got = {0}, want = {0};
	char ctx[96];
	for (int iter = 0; iter < 60; iter++) {
		size_t n = 1 + (size_t)(splitmix64(&s) % sizeof(buf));
		random_bytes(&s, buf, n, iter % 2);
		put_file(buf, n);
		uint64_t cuts[64];
		for (size_t i = 0; i < 64; i++)
			cuts[i] = 1 + splitmix64(&s) % (iter % 3 ? 20 : 400);
		for (int rule = 0; rule < 2; rule++) {
			recs_reset(&want);
			ref_file(buf, n, (enum mr_record_rule)rule, &want);
			for (size_t bi = 0; bi < NBLOCKS; bi++) {
				mr_reader r = {.fd = tmp_fd,
					       .file_size = n,
					       .rule = (enum mr_record_rule)rule,
					       .block_size = all_blocks[bi]};
				recs_reset(&got);
				assert_int_equal(read_ranges(&r, n, 0, cuts, 64, &got), MR_OK);
				snprintf(ctx, sizeof(ctx), "random cuts %d, %s, block %zu", iter,
					 rule_name((enum mr_record_rule)rule), all_blocks[bi]);
				check_same(&got, &want, ctx);
				mr_reader_release(&r);
			}
		}
	}
	recs_release(&got);
	recs_release(&want);
}

/* ---- (c) errors ---------------------------------------------------------- */

static void test_read_error_stops(void **state)
{
	MR_UNUSED(state);
	/* Short and long records, and a last one without a delimiter, so the
	 * failing record is passed from a block, from the carry, and at the
	 * end of the file. */
	char buf[400];
	size_t n = 0;
	const char *parts[] = {"ab", " ", "cd\n", "\n", "", "efgh ij"};
	for (size_t i = 0; i < 6; i++) {
		memcpy(buf + n, parts[i], strlen(parts[i]));
		n += strlen(parts[i]);
	}
	memset(buf + n, 'L', 150);
	n += 150;
	memcpy(buf + n, "\nlast", 5);
	n += 5;
	put_file(buf, n);
	struct recs got = {0}, want = {0};
	char ctx[96];
	for (int rule = 0; rule < 2; rule++) {
		recs_reset(&want);
		ref_file(buf, n, (enum mr_record_rule)rule, &want);
		for (size_t bi = 0; bi < NBLOCKS; bi++) {
			for (uint64_t chunk = 1; chunk <= 1024; chunk *= 4) {
				for (size_t k = 1; k <= want.n; k++) {
					snprintf(ctx, sizeof(ctx),
						 "%s, block %zu, range %llu, "
						 "fail at %zu",
						 rule_name((enum mr_record_rule)rule),
						 all_blocks[bi], (unsigned long long)chunk, k);
					mr_reader r = {.fd = tmp_fd,
						       .file_size = n,
						       .rule = (enum mr_record_rule)rule,
						       .block_size = all_blocks[bi]};
					recs_reset(&got);
					got.fail_at = k;
					int rc = read_ranges(&r, n, chunk, NULL, 0, &got);
					if (rc != MR_ERR_JOB)
						fail_msg("%s: status %d", ctx, rc);
					if (got.calls != k)
						fail_msg("%s: %zu calls", ctx, got.calls);
					mr_reader_release(&r);
				}
			}
		}
	}
	recs_release(&got);
	recs_release(&want);
}

static void test_read_bad_fd(void **state)
{
	MR_UNUSED(state);
	struct recs got = {0};
	mr_reader r = {.fd = -1, .file_size = 100, .rule = MR_RECORD_LINE, .block_size = 64};
	assert_int_equal(mr_read_range(&r, 0, 100, sink, &got), MR_ERR_IO);
	assert_int_equal(mr_read_range(&r, 50, 10, sink, &got), MR_ERR_IO);
	assert_int_equal(got.n, 0);
	mr_reader_release(&r);
	recs_release(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_fixed),
		cmocka_unit_test(test_scan_random),
		cmocka_unit_test(test_scan_error_stops),
		cmocka_unit_test(test_read_awkward_files),
		cmocka_unit_test(test_read_empty_file),
		cmocka_unit_test(test_read_records_on_boundaries),
		cmocka_unit_test(test_read_long_word),
		cmocka_unit_test(test_read_random_files),
		cmocka_unit_test(test_read_random_cuts),
		cmocka_unit_test(test_read_error_stops),
		cmocka_unit_test(test_read_bad_fd),
	};
	return cmocka_run_group_tests(tests, setup_file, teardown_file);
}
