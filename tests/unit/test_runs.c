/*
 * Unit tests for runs (src/runs.c) and the spill store (src/spill.c).
 *
 * A run of random pairs (empty, short and long keys; empty, word and byte
 * values; some bigger than a reader's block) reads back exactly, whether it
 * stays in memory, is flushed to the spill store once, or many times at
 * random points (so frames span extents and the tail), with read blocks from
 * 7 bytes up.  A merge of k sorted runs gives every pair of all runs, in
 * order, equal keys in run order, for k from 0 to 33, against qsort of the
 * same pairs.  A damaged run (a cut frame) ends its reader with an error.
 *
 * Local only: no MPI call is made; spill files go to $TMPDIR (or /tmp).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/runs.h"

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A pair the test owns: key and value bytes. */
struct own {
	char *key, *val;
	uint32_t klen, vlen;
	size_t run, seq; /* which run it went to, and its place there */
};

static void make_pair(uint64_t *seed, unsigned unit, struct own *o)
{
	uint64_t r = splitmix64(seed);
	o->klen = (uint32_t)(r % 7 == 0 ? r % 3000 : r % 20);
	o->vlen = (uint32_t)(unit == 8 ? 8 * (r >> 8 & 3) : (r >> 8) % 50);
	if (r % 97 == 0)
		o->vlen = unit * 5000; /* bigger than the smallest blocks */
	o->key = malloc(o->klen + 1);
	o->val = malloc(o->vlen + 1);
	for (uint32_t i = 0; i < o->klen; i++)
		o->key[i] = (char)(splitmix64(seed) % 4 + 'a'); /* many shared prefixes */
	for (uint32_t i = 0; i < o->vlen; i++)
		o->val[i] = (char)splitmix64(seed);
}

static void free_pairs(struct own *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].key);
		free(o[i].val);
	}
	free(o);
}

static mr_pair as_pair(const struct own *o)
{
	return (mr_pair){.key = o->key, .klen = o->klen, .val = o->val, .vlen = o->vlen};
}

static void assert_same(const mr_pair *got, const struct own *want)
{
	assert_int_equal(got->klen, want->klen);
	assert_int_equal(got->vlen, want->vlen);
	assert_memory_equal(got->key, want->key, want->klen);
	assert_memory_equal(got->val, want->val, want->vlen);
}

/* Writes n pairs, flushing with probability 1/every (0: never), then reads
 * them back with the given block size. */
static void round_trip(unsigned unit, size_t n, unsigned every, size_t block, uint64_t seed)
{
	mr_spill sp = MR_SPILL_INIT(NULL);
	mr_frames run;
	mr_frames_init(&run, unit);
	struct own *o = calloc(n + 1, sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		make_pair(&seed, unit, &o[i]);
		mr_pair p = as_pair(&o[i]);
		mr_frames_add(&run, &p);
		if (every && splitmix64(&seed) % every == 0)
			assert_int_equal(mr_frames_flush(&run, &sp), MR_OK);
	}
	assert_int_equal(run.pairs, n);
	mr_frames_reader rd;
	mr_frames_reader_init(&rd, &run, &sp, block);
	mr_pair got;
	for (size_t i = 0; i < n; i++) {
		assert_true(mr_frames_read(&rd, &got));
		assert_same(&got, &o[i]);
	}
	assert_false(mr_frames_read(&rd, &got));
	assert_int_equal(rd.status, MR_OK);
	mr_frames_reader_release(&rd);
	mr_frames_release(&run, &sp);
	mr_spill_close(&sp);
	free_pairs(o, n);
}

static void test_memory_run(void **state)
{
	(void)state;
	round_trip(8, 0, 0, 0, 1);
	round_trip(8, 2000, 0, 0, 2);
	round_trip(1, 2000, 0, 64, 3);
}

static void test_spilled_run(void **state)
{
	(void)state;
	static const size_t blocks[] = {7, 64, 4096, 1 << 20};
	for (size_t b = 0; b < 4; b++) {
		round_trip(8, 3000, 1, blocks[b], 10 + b);    /* every pair its own extent */
		round_trip(8, 3000, 50, blocks[b], 20 + b);   /* extents of many pairs */
		round_trip(1, 3000, 13, blocks[b], 30 + b);   /* byte values */
		round_trip(1, 3000, 4000, blocks[b], 40 + b); /* mostly one tail */
	}
}

static int cmp_own(const void *x, const void *y)
{
	const struct own *a = x, *b = y;
	int c = mr_key_cmp(a->key, a->klen, b->key, b->klen);
	if (c)
		return c;
	if (a->run != b->run)
		return a->run < b->run ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static void merge_case(size_t k, size_t per, uint64_t seed)
{
	mr_spill sp = MR_SPILL_INIT(NULL);
	mr_frames *runs = calloc(k + 1, sizeof(*runs));
	mr_frames **ptrs = calloc(k + 1, sizeof(*ptrs));
	size_t n = k * per;
	struct own *o = calloc(n + 1, sizeof(*o));
	for (size_t i = 0; i < n; i++) {
		make_pair(&seed, 8, &o[i]);
		o[i].run = i / per;
		o[i].seq = i % per;
	}
	/* each run sorted by key, equal keys in the order added */
	for (size_t r = 0; r < k; r++) {
		qsort(o + r * per, per, sizeof(*o), cmp_own);
		mr_frames_init(&runs[r], 8);
		ptrs[r] = &runs[r];
		for (size_t i = 0; i < per; i++) {
			o[r * per + i].seq = i;
			mr_pair p = as_pair(&o[r * per + i]);
			mr_frames_add(&runs[r], &p);
			if (i % 37 == 36)
				assert_int_equal(mr_frames_flush(&runs[r], &sp), MR_OK);
		}
	}
	qsort(o, n, sizeof(*o), cmp_own);
	mr_merge m;
	mr_merge_init(&m, ptrs, k, &sp, 512, mr_pair_cmp_key);
	mr_pair got;
	size_t src;
	for (size_t i = 0; i < n; i++) {
		assert_true(mr_merge_next(&m, &got, &src));
		assert_same(&got, &o[i]);
		assert_int_equal(src, o[i].run);
	}
	assert_false(mr_merge_next(&m, &got, &src));
	assert_int_equal(m.status, MR_OK);
	mr_merge_release(&m);
	for (size_t r = 0; r < k; r++)
		mr_frames_release(&runs[r], &sp);
	mr_spill_close(&sp);
	free_pairs(o, n);
	free(runs);
	free(ptrs);
}

static void test_merge(void **state)
{
	(void)state;
	for (size_t k = 0; k <= 33; k++)
		merge_case(k, k % 5 == 0 ? 0 : 300, 100 + k);
	merge_case(2, 5000, 7);
}

static void test_damaged_run(void **state)
{
	(void)state;
	mr_frames run;
	mr_frames_init(&run, 8);
	mr_pair p = {.key = "hello", .klen = 5, .val = "12345678", .vlen = 8};
	mr_frames_add(&run, &p);
	mr_frames_add(&run, &p);
	run.tail.len -= 3; /* the second frame cut short */
	mr_frames_reader rd;
	mr_frames_reader_init(&rd, &run, NULL, 0);
	mr_pair got;
	assert_true(mr_frames_read(&rd, &got));
	assert_false(mr_frames_read(&rd, &got));
	assert_int_equal(rd.status, MR_ERR_LIMIT);
	mr_frames_reader_release(&rd);
	mr_frames_release(&run, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_run),
		cmocka_unit_test(test_spilled_run),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_damaged_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
