/*
 * Unit tests for the growable buffer (mr_buf_*) and the shuffle's frames
 * (mr_frame_put / mr_frame_get).
 *
 * mr_buf: reserve, add and tail keep what the buffer held while it grows;
 * release leaves it empty and reusable; many small appends and one large one
 * read back byte for byte.  Frames: a stream of frames with empty, short, long
 * and binary keys reads back exactly, and a truncated header or body is
 * refused without moving the cursor.
 *
 * Local only: no MPI call is made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

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

struct frame {
	char key[300];
	uint32_t len;
	mr_value v;
};

static void make_frames(struct frame *f, size_t n, uint64_t seed)
{
	uint64_t s = seed;
	for (size_t i = 0; i < n; i++) {
		f[i].len =
			(uint32_t)(splitmix64(&s) % 4 == 0 ? 0 : splitmix64(&s) % sizeof(f[i].key));
		for (uint32_t j = 0; j < f[i].len; j++)
			f[i].key[j] = (char)splitmix64(&s); /* NUL and 0x80+ too */
		f[i].v.u = splitmix64(&s);
	}
	f[0].len = 0; /* the empty key first */
	f[0].v.u = UINT64_MAX;
	f[1].len = 1;
	f[1].key[0] = '\0';
	f[1].v.f = -0.5;
}

static void test_frame_round_trip(void **state)
{
	MR_UNUSED(state);
	enum { N = 500 };
	static struct frame f[N];
	make_frames(f, N, 7);
	mr_buf b = {0};
	for (size_t i = 0; i < N; i++) {
		size_t before = b.len;
		char *p = mr_buf_tail(&b, mr_frame_size(f[i].len));
		char *end = mr_frame_put(p, f[i].key, f[i].len, f[i].v);
		assert_ptr_equal(end, b.data + b.len);
		assert_int_equal(b.len - before, MR_FRAME_HEADER + f[i].len);
	}
	const char *p = b.data, *end = b.data + b.len;
	for (size_t i = 0; i < N; i++) {
		const char *key = NULL;
		uint32_t len = 12345;
		mr_value v = {.u = 0};
		assert_true(mr_frame_get(&p, end, &key, &len, &v));
		assert_int_equal(len, f[i].len);
		assert_memory_equal(&v, &f[i].v, sizeof(v));
		if (len)
			assert_memory_equal(key, f[i].key, len);
		assert_non_null(key);
	}
	assert_ptr_equal(p, end);
	const char *key;
	uint32_t len;
	mr_value v;
	assert_false(mr_frame_get(&p, end, &key, &len, &v));
	assert_ptr_equal(p, end);
	mr_buf_release(&b);
}

static void test_frame_empty_key(void **state)
{
	MR_UNUSED(state);
	char buf[MR_FRAME_HEADER];
	mr_value in = {.u = 99};
	char *e = mr_frame_put(buf, "", 0, in);
	assert_ptr_equal(e, buf + MR_FRAME_HEADER);
	assert_int_equal(mr_frame_size(0), MR_FRAME_HEADER);
	const char *p = buf, *key;
	uint32_t len = 7;
	mr_value v;
	assert_true(mr_frame_get(&p, buf + sizeof(buf), &key, &len, &v));
	assert_int_equal(len, 0);
	assert_int_equal(v.u, 99);
	assert_ptr_equal(p, buf + sizeof(buf));
}

static void test_frame_truncated(void **state)
{
	MR_UNUSED(state);
	char buf[64];
	mr_value in = {.u = UINT64_C(0x0123456789abcdef)};
	const char *k = "key-of-20-bytes-long";
	char *e = mr_frame_put(buf, k, 20, in);
	size_t full = (size_t)(e - buf);
	assert_int_equal(full, MR_FRAME_HEADER + 20);
	/* Every proper prefix is refused, header or body cut short. */
	for (size_t cut = 0; cut < full; cut++) {
		const char *p = buf, *key = NULL;
		uint32_t len = 0;
		mr_value v;
		assert_false(mr_frame_get(&p, buf + cut, &key, &len, &v));
		assert_ptr_equal(p, buf); /* the cursor stays */
	}
	const char *p = buf, *key;
	uint32_t len;
	mr_value v;
	assert_true(mr_frame_get(&p, buf + full, &key, &len, &v));
	assert_int_equal(len, 20);
	assert_memory_equal(key, k, 20);
	assert_int_equal(v.u, in.u);

	/* A header claiming a huge key with a short body is refused. */
	char hdr[MR_FRAME_HEADER + 4];
	mr_frame_put(hdr, "abcd", 4, in);
	uint32_t huge = UINT32_MAX;
	memcpy(hdr, &huge, 4);
	p = hdr;
	assert_false(mr_frame_get(&p, hdr + sizeof(hdr), &key, &len, &v));
	assert_ptr_equal(p, hdr);
	/* Two frames, the second one cut: the first reads, then false. */
	char two[2 * MR_FRAME_HEADER + 6];
	char *q = mr_frame_put(two, "abc", 3, in);
	mr_frame_put(q, "xyz", 3, in);
	p = two;
	const char *end = two + sizeof(two) - 1;
	assert_true(mr_frame_get(&p, end, &key, &len, &v));
	assert_int_equal(len, 3);
	assert_memory_equal(key, "abc", 3);
	assert_false(mr_frame_get(&p, end, &key, &len, &v));
	assert_ptr_equal(p, q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_is_empty),	    cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_add_grows_and_keeps), cmocka_unit_test(test_add_random_sizes),
		cmocka_unit_test(test_large_add),	    cmocka_unit_test(test_tail),
		cmocka_unit_test(test_release_and_reuse),   cmocka_unit_test(test_frame_round_trip),
		cmocka_unit_test(test_frame_empty_key),	    cmocka_unit_test(test_frame_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
