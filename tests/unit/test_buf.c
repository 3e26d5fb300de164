/*
 * Unit tests for the growable buffer (mr_buf_*) and the shuffle's frames
 * (mr_frame_put / mr_frame_get).
 *
 * mr_buf: reserve, add and tail keep what the buffer held while it grows;
 * release leaves it empty and reusable; many small appends and one large one
 * read back byte for byte.  Frames: a stream of frames with empty, short, long
 * and binary keys and 0, 1 or several value words, most of them unaligned,
 * reads back exactly; a frame cut at any byte, or whose header claims more
 * words (or a longer key) than the bytes left hold, is refused without moving
 * the cursor.  Large zeroed blocks: one grown (mr_grow_zeroed_large) from
 * small to small, small to large and large to larger, twice in a row, keeps
 * its bytes, is zero past them, and a large one starts on a 2 MiB boundary.
 * It does so too when the kernel will not move it (mremap, replaced here,
 * fails), and a late failure, after the kernel cleared the target, leaves
 * alone what another thread mapped into the hole.
 *
 * Local only: no MPI call is made.
 */
#define _GNU_SOURCE /* mremap */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/run.h"

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The byte at position i of a known pattern. */
static char pat(size_t i)
{
	return (char)((i * 131u + (i >> 8) * 7u + 3u) & 0xff);
}

static void check_pattern(const mr_buf *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (b->data[i] != pat(i))
			fail_msg("byte %zu is %d, want %d", i, b->data[i], pat(i));
}

static void test_zero_is_empty(void **state)
{
	MR_UNUSED(state);
	mr_buf b = {0};
	mr_buf_add(&b, "", 0); /* adding nothing keeps it empty */
	assert_int_equal(b.len, 0);
	mr_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	mr_buf_release(&b); /* twice is harmless */
	assert_null(b.data);
}

static void test_reserve(void **state)
{
	MR_UNUSED(state);
	mr_buf b = {0};
	mr_buf_reserve(&b, 10);
	assert_non_null(b.data);
	assert_true(b.cap >= 10);
	assert_int_equal(b.len, 0);

	mr_buf_add(&b, "hello", 5);
	size_t grown = 0;
	for (size_t want = 1; want < (1u << 20); want = want * 3 + 1) {
		size_t cap = b.cap;
		mr_buf_reserve(&b, want);
		assert_true(b.cap >= b.len + want);
		assert_int_equal(b.len, 5);
		assert_memory_equal(b.data, "hello", 5);
		if (b.cap != cap)
			grown++;
	}
	assert_true(grown > 0);
	/* Reserving what is already there does not move the data. */
	char *was = b.data;
	size_t cap = b.cap;
	mr_buf_reserve(&b, cap - b.len);
	assert_ptr_equal(b.data, was);
	assert_int_equal(b.cap, cap);
	mr_buf_reserve(&b, 0);
	assert_ptr_equal(b.data, was);
	mr_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len + b.cap, 0);
}

static void test_add_grows_and_keeps(void **state)
{
	MR_UNUSED(state);
	mr_buf b = {0};
	size_t n = 300000;
	size_t moves = 0;
	for (size_t i = 0; i < n; i++) {
		char c = pat(i);
		char *was = b.data;
		mr_buf_add(&b, &c, 1);
		assert_true(b.len <= b.cap);
		if (b.data != was)
			moves++;
	}
	assert_int_equal(b.len, n);
	check_pattern(&b, 0, n);
	/* Growth is geometric: few reallocations for many appends. */
	assert_true(moves < 64);
	mr_buf_release(&b);
}

static void test_add_random_sizes(void **state)
{
	MR_UNUSED(state);
	uint64_t s = 42;
	mr_buf b = {0};
	char chunk[1000];
	size_t at = 0;
	for (int k = 0; k < 2000; k++) {
		size_t n = (size_t)(splitmix64(&s) % sizeof(chunk));
		for (size_t i = 0; i < n; i++)
			chunk[i] = pat(at + i);
		mr_buf_add(&b, chunk, n);
		at += n;
		assert_int_equal(b.len, at);
	}
	check_pattern(&b, 0, at);
	mr_buf_release(&b);
}

static void test_large_add(void **state)
{
	MR_UNUSED(state);
	size_t n = (size_t)24 << 20;
	char *big = malloc(n);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = pat(i + 3);
	mr_buf b = {0};
	mr_buf_add(&b, "abc", 3);
	mr_buf_add(&b, big, n);
	assert_int_equal(b.len, n + 3);
	assert_true(b.cap >= n + 3);
	assert_memory_equal(b.data, "abc", 3);
	assert_memory_equal(b.data + 3, big, n);
	mr_buf_add(&b, "xyz", 3);
	assert_memory_equal(b.data + 3 + n, "xyz", 3);
	free(big);
	mr_buf_release(&b);
}

static void test_tail(void **state)
{
	MR_UNUSED(state);
	mr_buf b = {0};
	size_t at = 0;
	for (size_t n = 0; n < 5000; n += 37) {
		char *p = mr_buf_tail(&b, n);
		assert_ptr_equal(p, b.data + at);
		for (size_t i = 0; i < n; i++)
			p[i] = pat(at + i);
		at += n;
		assert_int_equal(b.len, at);
		assert_true(b.cap >= b.len);
	}
	check_pattern(&b, 0, at);
	/* A zero-byte tail changes nothing. */
	char *p = mr_buf_tail(&b, 0);
	assert_ptr_equal(p, b.data + at);
	assert_int_equal(b.len, at);
	check_pattern(&b, 0, at);
	mr_buf_release(&b);
}

static void test_release_and_reuse(void **state)
{
	MR_UNUSED(state);
	mr_buf b = {0};
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 1000; i++)
			mr_buf_add(&b, "0123456789", 10);
		assert_int_equal(b.len, 10000);
		for (int i = 0; i < 1000; i++)
			assert_memory_equal(b.data + 10 * i, "0123456789", 10);
		mr_buf_release(&b);
		assert_null(b.data);
		assert_int_equal(b.len, 0);
		assert_int_equal(b.cap, 0);
	}
	/* Resetting len alone keeps the capacity for reuse. */
	mr_buf_add(&b, "abc", 3);
	size_t cap = b.cap;
	b.len = 0;
	mr_buf_add(&b, "de", 2);
	assert_int_equal(b.cap, cap);
	assert_memory_equal(b.data, "de", 2);
	mr_buf_release(&b);
}

/* ---- frames ------------------------------------------------------------ */

#define MAX_WORDS 9

struct frame {
	char key[300];
	uint32_t len;
	uint32_t nvals;
	mr_value v[MAX_WORDS];
};

/* Frames of 0, 1 or several words (up to MAX_WORDS), keys of 0 to 299
 * bytes; the frames start at every alignment, so their words often do not
 * sit on 8-byte boundaries. */
static void make_frames(struct frame *f, size_t n, uint64_t seed)
{
	uint64_t s = seed;
	for (size_t i = 0; i < n; i++) {
		f[i].len =
			(uint32_t)(splitmix64(&s) % 4 == 0 ? 0 : splitmix64(&s) % sizeof(f[i].key));
		for (uint32_t j = 0; j < f[i].len; j++)
			f[i].key[j] = (char)splitmix64(&s); /* NUL and 0x80+ too */
		f[i].nvals = (uint32_t)(splitmix64(&s) % (MAX_WORDS + 1));
		for (uint32_t j = 0; j < MAX_WORDS; j++)
			f[i].v[j].u = splitmix64(&s);
	}
	f[0].len = 0; /* the empty key first, with one word */
	f[0].nvals = 1;
	f[0].v[0].u = UINT64_MAX;
	f[1].len = 1;
	f[1].key[0] = '\0';
	f[1].nvals = 1;
	f[1].v[0].f = -0.5;
	f[2].len = 3; /* no words */
	f[2].nvals = 0;
	f[3].len = 0; /* no key and no words: a header alone */
	f[3].nvals = 0;
	f[4].nvals = MAX_WORDS;
}

/* Reads one frame at *p and checks it is f; the words through memcpy. */
static void check_frame(const char **p, const char *end, const struct frame *f)
{
	const char *at = *p, *key = NULL, *vals = NULL;
	uint32_t len = 12345, nvals = 12345;
	assert_true(mr_frame_get(p, end, &key, &len, &vals, &nvals));
	assert_int_equal(len, f->len);
	assert_int_equal(nvals, f->nvals);
	assert_ptr_equal(vals, at + MR_FRAME_HEADER);
	assert_ptr_equal(key, vals + 8 * (size_t)nvals);
	assert_ptr_equal(*p, key + len);
	for (uint32_t j = 0; j < nvals; j++) {
		mr_value w;
		memcpy(&w, vals + 8 * j, 8);
		if (w.u != f->v[j].u)
			fail_msg("word %u is %llx, want %llx", j, (unsigned long long)w.u,
				 (unsigned long long)f->v[j].u);
	}
	if (len)
		assert_memory_equal(key, f->key, len);
}

static void test_frame_round_trip(void **state)
{
	MR_UNUSED(state);
	enum { N = 500 };
	static struct frame f[N];
	make_frames(f, N, 7);
	mr_buf b = {0};
	size_t misaligned = 0;
	for (size_t i = 0; i < N; i++) {
		size_t before = b.len;
		size_t size = mr_frame_size(f[i].len, f[i].nvals);
		assert_int_equal(size, MR_FRAME_HEADER + 8 * (size_t)f[i].nvals + f[i].len);
		char *p = mr_buf_tail(&b, size);
		char *end = mr_frame_put(p, f[i].key, f[i].len, f[i].v, f[i].nvals);
		assert_ptr_equal(end, b.data + b.len);
		assert_int_equal(b.len - before, size);
		misaligned += before % 8 != 0;
	}
	assert_true(misaligned > N / 2); /* unaligned words were read */
	/* The header is the key length, then the word count, as u32s. */
	uint32_t h[2];
	memcpy(h, b.data, 8);
	assert_int_equal(h[0], 0);
	assert_int_equal(h[1], 1);
	const char *p = b.data, *end = b.data + b.len;
	for (size_t i = 0; i < N; i++)
		check_frame(&p, end, &f[i]);
	assert_ptr_equal(p, end);
	const char *key, *vals;
	uint32_t len, nvals;
	assert_false(mr_frame_get(&p, end, &key, &len, &vals, &nvals));
	assert_ptr_equal(p, end);
	mr_buf_release(&b);
}

static void test_frame_empty_key(void **state)
{
	MR_UNUSED(state);
	char buf[MR_FRAME_HEADER + 8];
	mr_value in = {.u = 99};
	char *e = mr_frame_put(buf, "", 0, &in, 1);
	assert_ptr_equal(e, buf + sizeof(buf));
	assert_int_equal(mr_frame_size(0, 1), MR_FRAME_HEADER + 8);
	assert_int_equal(mr_frame_size(0, 0), MR_FRAME_HEADER);
	const char *p = buf, *key, *vals;
	uint32_t len = 7, nvals = 7;
	assert_true(mr_frame_get(&p, buf + sizeof(buf), &key, &len, &vals, &nvals));
	assert_int_equal(len, 0);
	assert_int_equal(nvals, 1);
	mr_value v;
	memcpy(&v, vals, 8);
	assert_int_equal(v.u, 99);
	assert_ptr_equal(p, buf + sizeof(buf));

	/* No key and no words: the header alone is a whole frame. */
	e = mr_frame_put(buf, "", 0, &in, 0);
	assert_ptr_equal(e, buf + MR_FRAME_HEADER);
	p = buf;
	assert_true(mr_frame_get(&p, buf + MR_FRAME_HEADER, &key, &len, &vals, &nvals));
	assert_int_equal(len, 0);
	assert_int_equal(nvals, 0);
	assert_ptr_equal(p, buf + MR_FRAME_HEADER);
}

/* Every proper prefix of the frame at buf[0..full) is refused, the cursor
 * staying put, and the whole frame reads. */
static void check_every_cut(const char *buf, size_t full, const struct frame *f)
{
	for (size_t cut = 0; cut < full; cut++) {
		const char *p = buf, *key = NULL, *vals = NULL;
		uint32_t len = 0, nvals = 0;
		if (mr_frame_get(&p, buf + cut, &key, &len, &vals, &nvals))
			fail_msg("a frame of %zu bytes (key %u, %u words) cut to %zu was read",
				 full, f->len, f->nvals, cut);
		assert_ptr_equal(p, buf);
	}
	const char *p = buf;
	check_frame(&p, buf + full, f);
	assert_ptr_equal(p, buf + full);
}

/* Returns whether the frame at buf, with its header's word count changed to
 * nvals, reads within buf[0..size). */
static bool reads_with_words(char *buf, size_t size, uint32_t nvals)
{
	memcpy(buf + 4, &nvals, 4);
	const char *p = buf, *key, *vals;
	uint32_t len, nv;
	bool ok = mr_frame_get(&p, buf + size, &key, &len, &vals, &nv);
	if (!ok)
		assert_ptr_equal(p, buf);
	return ok;
}

static void test_frame_truncated(void **state)
{
	MR_UNUSED(state);
	static const uint32_t keylens[] = {0, 1, 7, 8, 20};
	static const uint32_t counts[] = {0, 1, 2, 3, MAX_WORDS};
	char buf[MR_FRAME_HEADER + 8 * MAX_WORDS + 32];
	struct frame f;
	uint64_t s = 5;
	for (size_t a = 0; a < sizeof(keylens) / sizeof(keylens[0]); a++) {
		for (size_t b = 0; b < sizeof(counts) / sizeof(counts[0]); b++) {
			f.len = keylens[a];
			f.nvals = counts[b];
			for (uint32_t j = 0; j < f.len; j++)
				f.key[j] = (char)('a' + j);
			for (uint32_t j = 0; j < MAX_WORDS; j++)
				f.v[j].u = splitmix64(&s);
			char *e = mr_frame_put(buf, f.key, f.len, f.v, f.nvals);
			size_t full = (size_t)(e - buf);
			assert_int_equal(full, mr_frame_size(f.len, f.nvals));
			check_every_cut(buf, full, &f);
			/* Also from an odd address: nothing depends on alignment. */
			char odd[sizeof(buf) + 1];
			memcpy(odd + 1, buf, full);
			check_every_cut(odd + 1, full, &f);

			/* A word count claiming more than the bytes left holds:
			 * one word more, a few, and counts whose size overflows
			 * 32 bits, is refused; the true count reads. */
			static const uint32_t more[] = {
				1, 2, 5, 0x1fffffff, 0x20000000, 0x20000001, 0x7fffffff};
			for (size_t m = 0; m < sizeof(more) / sizeof(more[0]); m++)
				if (reads_with_words(buf, full, f.nvals + more[m]))
					fail_msg("%u words claimed in a frame with %u read",
						 f.nvals + more[m], f.nvals);
			assert_false(reads_with_words(buf, full, UINT32_MAX));
			assert_true(reads_with_words(buf, full, f.nvals));
		}
	}

	/* A header claiming a huge key with a short body is refused. */
	mr_value in = {.u = UINT64_C(0x0123456789abcdef)};
	char hdr[MR_FRAME_HEADER + 8 + 4];
	mr_frame_put(hdr, "abcd", 4, &in, 1);
	uint32_t huge = UINT32_MAX;
	memcpy(hdr, &huge, 4);
	const char *p = hdr, *key, *vals;
	uint32_t len, nvals;
	assert_false(mr_frame_get(&p, hdr + sizeof(hdr), &key, &len, &vals, &nvals));
	assert_ptr_equal(p, hdr);
	/* A key length taking the place of the words it lacks is refused: one
	 * word and a 4-byte key, read as no words and a 12-byte key, reads;
	 * as one word and a 12-byte key does not. */
	mr_frame_put(hdr, "abcd", 4, &in, 1);
	uint32_t twelve = 12;
	memcpy(hdr, &twelve, 4);
	p = hdr;
	assert_false(mr_frame_get(&p, hdr + sizeof(hdr), &key, &len, &vals, &nvals));
	assert_ptr_equal(p, hdr);
	assert_true(reads_with_words(hdr, sizeof(hdr), 0));

	/* Two frames, the second one cut: the first reads, then false. */
	mr_value two_words[2] = {{.u = 1}, {.u = 2}};
	char two[2 * MR_FRAME_HEADER + 16 + 6];
	char *q = mr_frame_put(two, "abc", 3, two_words, 2);
	mr_frame_put(q, "xyz", 3, &in, 0);
	p = two;
	const char *end = two + sizeof(two) - 1;
	assert_true(mr_frame_get(&p, end, &key, &len, &vals, &nvals));
	assert_int_equal(len, 3);
	assert_int_equal(nvals, 2);
	assert_memory_equal(key, "abc", 3);
	assert_memory_equal(vals, two_words, 16);
	assert_false(mr_frame_get(&p, end, &key, &len, &vals, &nvals));
	assert_ptr_equal(p, q);
}

/* A block of n bytes grown to m: the first n hold the pattern, the rest
 * is zero; large blocks are aligned to 2 MiB. */
static char *grown(char *p, size_t n, size_t m)
{
	p = mr_grow_zeroed_large(p, n, m, __FILE__, __LINE__);
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(i))
			fail_msg("%zu -> %zu bytes: byte %zu is %d, want %d", n, m, i, p[i],
				 pat(i));
	for (size_t i = n; i < m; i++)
		if (p[i] != 0)
			fail_msg("%zu -> %zu bytes: new byte %zu is %d, not 0", n, m, i, p[i]);
	if (m >= ((size_t)4 << 20))
		assert_int_equal((uintptr_t)p % ((size_t)2 << 20), 0);
	for (size_t i = n; i < m; i++)
		p[i] = pat(i);
	return p;
}

static void test_grow_zeroed_large(void **state)
{
	MR_UNUSED(state);
	const size_t mib = (size_t)1 << 20;
	const size_t sizes[] = {1000, 3 * mib, 5 * mib + 12345, 32 * mib, 40 * mib + 8, 96 * mib};
	size_t n = sizes[0];
	char *p = mr_alloc_zeroed_large(n, __FILE__, __LINE__);
	for (size_t i = 0; i < n; i++)
		p[i] = pat(i);
	for (size_t k = 1; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		p = grown(p, n, sizes[k]);
		n = sizes[k];
	}
	mr_free_large(p, n);
}

/* How this file's mremap, which the engine's calls reach, behaves. */
static enum { REMAP_REAL, REMAP_FAIL_EARLY, REMAP_FAIL_LATE } remap_mode;
static char *squatter; /* REMAP_FAIL_LATE: another thread's page in the hole */
#define SQUAT_BYTE 0x5a

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *to = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		to = va_arg(ap, void *);
		va_end(ap);
	}
	if (remap_mode == REMAP_REAL || !(flags & MREMAP_FIXED))
		return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, to);
	if (remap_mode == REMAP_FAIL_LATE) {
		/* As the kernel's mremap_to: the target is unmapped, then a
		 * check fails; meanwhile a page is mapped into the hole. */
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		munmap(to, new_len);
		squatter = mmap((char *)to + new_len / 2, page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		assert_true(squatter != MAP_FAILED);
		memset(squatter, SQUAT_BYTE, page);
	}
	errno = ENOMEM;
	return MAP_FAILED;
}

static void test_grow_when_remap_fails(void **state)
{
	MR_UNUSED(state);
	const size_t mib = (size_t)1 << 20, n = 5 * mib + 77, m = 40 * mib;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	for (int mode = REMAP_FAIL_EARLY; mode <= REMAP_FAIL_LATE; mode++) {
		char *p = mr_alloc_zeroed_large(n, __FILE__, __LINE__);
		for (size_t i = 0; i < n; i++)
			p[i] = pat(i);
		squatter = NULL;
		remap_mode = mode;
		p = grown(p, n, m);
		remap_mode = REMAP_REAL;
		if (mode == REMAP_FAIL_LATE) {
			unsigned char resident;
			assert_non_null(squatter);
			if (mincore(squatter, page, &resident) != 0)
				fail_msg("the page mapped into the hole was unmapped (%s)",
					 strerror(errno));
			for (size_t i = 0; i < page; i++)
				assert_int_equal(squatter[i], SQUAT_BYTE);
			munmap(squatter, page);
		}
		mr_free_large(p, m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_is_empty),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_add_grows_and_keeps),
		cmocka_unit_test(test_add_random_sizes),
		cmocka_unit_test(test_large_add),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_release_and_reuse),
		cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_frame_empty_key),
		cmocka_unit_test(test_frame_truncated),
		cmocka_unit_test(test_grow_zeroed_large),
		cmocka_unit_test(test_grow_when_remap_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
