/*
 * Unit tests for the planners: how split cuts the inputs into ranges
 * (mr_plan_ranges), how the shuffle cuts its sends into rounds
 * (mr_round_per_peer, mr_rounds_needed, mr_round_slice), and the size
 * parser (mr_parse_size).
 *
 * (a) Ranges, over hand-made file tables (zero sizes included, totals above
 *     2^32 and near 2^63; no file is read), nranks 1..9, chunks 1, 3, 1000,
 *     the default and huge: ranges come in rank order, each non-empty, at
 *     most chunk, inside one file; each file's ranges tile it in order; rank
 *     r gets exactly the bytes of its share [total*r/n, total*(r+1)/n); and a
 *     range ends only at a chunk, a file end or a share end.
 * (b) Rounds, for per-peer totals above INT_MAX and nranks 1..64: per_peer is
 *     in [1, INT_MAX/nranks]; the slices of rounds 0..rounds-1 each fit an
 *     int, are contiguous, never grow, and add up to the total; slices past
 *     the end (even at r = UINT64_MAX) are 0.
 * (c) Sizes: K, M, G, T suffixes with an optional B; junk and overflow are
 *     refused.
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

#include <limits.h>

#include <cmocka.h>

#include "engine/run.h"

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* ---- (a) ranges ---------------------------------------------------------- */

#define DEFAULT_CHUNK (UINT64_C(64) << 20) /* what chunk 0 means */

static uint64_t share_edge(uint64_t total, int r, int nranks)
{
	return (uint64_t)((unsigned __int128)total * (unsigned)r / (unsigned)nranks);
}

/* Plans f and checks every property; returns the number of ranges. */
static size_t check_plan(const uint64_t *sizes, size_t nfiles, int nranks, uint64_t chunk)
{
	mr_files f = {0};
	f.n = nfiles;
	f.sizes = (uint64_t *)sizes;
	for (size_t i = 0; i < nfiles; i++)
		f.total += sizes[i];

	uint64_t *counts = malloc(sizeof(uint64_t) * (size_t)nranks);
	assert_non_null(counts);
	for (int k = 0; k < nranks; k++)
		counts[k] = UINT64_C(0xdeadbeef); /* must be overwritten */
	mr_range *r = NULL;
	size_t n = 99999;
	mr_plan_ranges(&f, nranks, chunk, &r, &n, counts);
	assert_non_null(r);
	uint64_t lim = chunk ? chunk : DEFAULT_CHUNK;

	uint64_t sum = 0;
	for (int k = 0; k < nranks; k++)
		sum += counts[k];
	if (sum != n)
		fail_msg("counts add up to %llu, want %zu ranges", (unsigned long long)sum, n);

	size_t i = 0;
	uint64_t g = 0; /* global offset of range i */
	size_t file = 0;
	uint64_t fo = 0; /* next expected offset in file */
	for (int k = 0; k < nranks; k++) {
		uint64_t lo = share_edge(f.total, k, nranks);
		uint64_t hi = share_edge(f.total, k + 1, nranks);
		uint64_t bytes = 0;
		for (uint64_t c = 0; c < counts[k]; c++, i++) {
			/* Skip files that are done (or empty). */
			while (file < nfiles && fo == sizes[file]) {
				file++;
				fo = 0;
			}
			assert_true(file < nfiles);
			const mr_range *x = &r[i];
			if (x->file != file || x->offset != fo)
				fail_msg("range %zu is file %llu at %llu, want "
					 "file %zu at %llu",
					 i, (unsigned long long)x->file,
					 (unsigned long long)x->offset, file,
					 (unsigned long long)fo);
			if (x->length == 0 || x->length > lim)
				fail_msg("range %zu has %llu bytes (chunk %llu)", i,
					 (unsigned long long)x->length, (unsigned long long)lim);
			if (x->length > sizes[file] - fo)
				fail_msg("range %zu runs past its file", i);
			/* Inside this rank's share. */
			if (g < lo || g + x->length > hi)
				fail_msg("range %zu [%llu, +%llu) is outside "
					 "rank %d's share [%llu, %llu)",
					 i, (unsigned long long)g, (unsigned long long)x->length, k,
					 (unsigned long long)lo, (unsigned long long)hi);
			/* Cut only where it must be. */
			bool at_chunk = x->length == lim;
			bool at_file = fo + x->length == sizes[file];
			bool at_share = g + x->length == hi;
			if (!at_chunk && !at_file && !at_share)
				fail_msg("range %zu was cut for no reason", i);
			fo += x->length;
			g += x->length;
			bytes += x->length;
		}
		if (bytes != hi - lo)
			fail_msg("rank %d of %d gets %llu bytes, its share is "
				 "%llu",
				 k, nranks, (unsigned long long)bytes,
				 (unsigned long long)(hi - lo));
	}
	assert_int_equal(i, n);
	/* Every file fully covered: only finished or empty files remain. */
	while (file < nfiles && fo == sizes[file]) {
		file++;
		fo = 0;
	}
	if (file != nfiles)
		fail_msg("file %zu not covered (%llu of %llu bytes)", file, (unsigned long long)fo,
			 (unsigned long long)sizes[file]);
	assert_true(g == f.total);
	free(r);
	free(counts);
	return n;
}

static const uint64_t chunks[] = {1, 3, 1000, 0, UINT64_MAX};
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static void test_plan_fixed(void **state)
{
	MR_UNUSED(state);
	static const uint64_t a[] = {10};
	static const uint64_t b[] = {0, 0, 0};
	static const uint64_t c[] = {0, 7, 0, 0, 1, 1, 0, 13};
	static const uint64_t d[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	static const uint64_t e[] = {2999, 1, 0, 4000, 3};
	static const struct {
		const uint64_t *s;
		size_t n;
	} cases[] = {
		{a, 1}, {b, 3}, {c, 8}, {d, 11}, {e, 5}, {a, 0},
	};
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
		for (int nr = 1; nr <= 9; nr++)
			for (size_t k = 0; k < NCHUNKS; k++)
				check_plan(cases[ci].s, cases[ci].n, nr, chunks[k]);
	/* Spot checks. */
	assert_int_equal(check_plan(a, 1, 1, 1), 10);
	assert_int_equal(check_plan(a, 1, 1, 3), 4);
	assert_int_equal(check_plan(a, 1, 3, UINT64_MAX), 3);
	assert_int_equal(check_plan(a, 1, 9, UINT64_MAX), 9);
	assert_int_equal(check_plan(b, 3, 4, 1), 0);
	assert_int_equal(check_plan(a, 0, 4, 1), 0);
	/* 11 one-byte files on 9 ranks: one range each. */
	assert_int_equal(check_plan(d, 11, 9, 1000), 11);
	/* 7003 bytes on 2 ranks: the 4000-byte file is cut at 3501. */
	assert_int_equal(check_plan(e, 5, 2, UINT64_MAX), 5);
}

static void test_plan_exact_counts(void **state)
{
	MR_UNUSED(state);
	/* 10 bytes on 3 ranks: shares 3, 3, 4 at [0,3) [3,6) [6,10). */
	static const uint64_t s[] = {4, 6};
	mr_files f = {.n = 2, .sizes = (uint64_t *)s, .total = 10};
	uint64_t counts[3];
	mr_range *r;
	size_t n;
	mr_plan_ranges(&f, 3, UINT64_MAX, &r, &n, counts);
	static const mr_range want[] = {{0, 0, 3}, {0, 3, 1}, {1, 0, 2}, {1, 2, 4}};
	assert_int_equal(n, 4);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 2);
	assert_int_equal(counts[2], 1);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(r[i].file, want[i].file);
		assert_int_equal(r[i].offset, want[i].offset);
		assert_int_equal(r[i].length, want[i].length);
	}
	free(r);
}

static void test_plan_random(void **state)
{
	MR_UNUSED(state);
	uint64_t s = 99;
	uint64_t sizes[12];
	for (int iter = 0; iter < 150; iter++) {
		size_t nf = (size_t)(splitmix64(&s) % 13);
		for (size_t i = 0; i < nf; i++) {
			uint64_t x = splitmix64(&s);
			sizes[i] = x % 4 == 0 ? 0 : (x >> 8) % (iter % 2 ? 20 : 300);
		}
		for (int nr = 1; nr <= 9; nr++)
			for (size_t k = 0; k < NCHUNKS; k++)
				check_plan(sizes, nf, nr, chunks[k]);
	}
}

static void test_plan_large(void **state)
{
	MR_UNUSED(state);
	/* Totals past 2^32 (and near 2^63): the shares need 128-bit products. */
	static const uint64_t a[] = {UINT64_C(3000000000),    0, UINT64_C(5000000000),
				     (UINT64_C(1) << 33) + 7, 1, UINT64_C(4294967295)};
	static const uint64_t b[] = {UINT64_C(1) << 32};
	static const uint64_t c[] = {UINT64_C(1) << 62, (UINT64_C(1) << 62) + 3, 0,
				     UINT64_C(1) << 40};
	static const uint64_t big_chunks[] = {UINT64_C(1) << 30, UINT64_C(1000000007), 0,
					      UINT64_MAX};
	for (int nr = 1; nr <= 9; nr++) {
		for (size_t k = 0; k < 4; k++) {
			check_plan(a, 6, nr, big_chunks[k]);
			check_plan(b, 1, nr, big_chunks[k]);
		}
		check_plan(c, 4, nr, UINT64_MAX);
		check_plan(c, 4, nr, UINT64_C(1) << 60);
	}
	/* The share edges really are 128-bit: total*r overflows 64 bits. */
	check_plan(c, 4, 7, UINT64_MAX);
	check_plan(c, 4, 1000, UINT64_MAX);
}

/* ---- (b) rounds ---------------------------------------------------------- */

static void test_round_per_peer(void **state)
{
	MR_UNUSED(state);
	static const uint64_t rbs[] = {0,
				       1,
				       2,
				       63,
				       64,
				       65,
				       1000,
				       UINT64_C(1) << 20,
				       UINT64_C(256) << 20,
				       (uint64_t)INT_MAX,
				       (uint64_t)INT_MAX + 1,
				       UINT64_C(1) << 40,
				       UINT64_MAX};
	for (int n = 1; n <= 64; n++) {
		uint64_t most = (uint64_t)INT_MAX / (uint64_t)n;
		for (size_t i = 0; i < sizeof(rbs) / sizeof(rbs[0]); i++) {
			uint64_t p = mr_round_per_peer(rbs[i], n);
			if (p == 0 || p > most)
				fail_msg("per_peer(%llu, %d) = %llu", (unsigned long long)rbs[i], n,
					 (unsigned long long)p);
			/* A whole round, n peers, fits an int. */
			assert_true(p * (uint64_t)n <= (uint64_t)INT_MAX);
			if (rbs[i] == 0)
				continue; /* the default */
			uint64_t want = rbs[i] / (uint64_t)n;
			if (want > most)
				want = most;
			if (want == 0)
				want = 1;
			assert_int_equal(p, want);
		}
	}
}

/* Walks rounds 0..rounds-1 of one peer's total and checks every slice. */
static void check_slices(uint64_t total, uint64_t per, uint64_t rounds)
{
	uint64_t at = 0;
	int prev = INT_MAX;
	for (uint64_t r = 0; r < rounds; r++) {
		uint64_t off = UINT64_C(0x5555);
		int k = mr_round_slice(total, per, r, &off);
		if (k < 0 || (uint64_t)k > per || k > prev)
			fail_msg("total %llu per %llu round %llu: slice %d",
				 (unsigned long long)total, (unsigned long long)per,
				 (unsigned long long)r, k);
		if (k > 0 && off != at)
			fail_msg("total %llu round %llu: off %llu, want %llu",
				 (unsigned long long)total, (unsigned long long)r,
				 (unsigned long long)off, (unsigned long long)at);
		if (k == 0 && off != total)
			fail_msg("total %llu round %llu: empty slice at %llu",
				 (unsigned long long)total, (unsigned long long)r,
				 (unsigned long long)off);
		at += (uint64_t)k;
		prev = k;
	}
	if (at != total)
		fail_msg("total %llu per %llu: slices add up to %llu", (unsigned long long)total,
			 (unsigned long long)per, (unsigned long long)at);
	/* Past the end: nothing, however far. */
	const uint64_t past[] = {rounds,	   rounds + 1,		 rounds + 1000,
				 UINT64_MAX / per, UINT64_MAX / per + 1, UINT64_MAX / 2,
				 UINT64_MAX};
	for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
		uint64_t off = 0;
		if (past[i] < rounds)
			continue;
		int k = mr_round_slice(total, per, past[i], &off);
		if (k != 0 || off != total)
			fail_msg("total %llu per %llu round %llu (of %llu): "
				 "slice %d at %llu",
				 (unsigned long long)total, (unsigned long long)per,
				 (unsigned long long)past[i], (unsigned long long)rounds, k,
				 (unsigned long long)off);
	}
}

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static void run_rounds(const uint64_t *totals, size_t nt, uint64_t round_bytes, int n)
{
	uint64_t per = mr_round_per_peer(round_bytes, n);
	uint64_t *counts = calloc((size_t)n, sizeof(uint64_t));
	assert_non_null(counts);
	/* Each peer gets one of the totals, the big ones spread about. */
	uint64_t want_rounds = 0;
	for (int i = 0; i < n; i++) {
		counts[i] = totals[((size_t)i * 7 + (size_t)n) % nt];
		uint64_t q = ceil_div(counts[i], per);
		if (q > want_rounds)
			want_rounds = q;
	}
	uint64_t rounds = mr_rounds_needed(counts, n, per);
	assert_int_equal(rounds, want_rounds);
	/* Every peer's total fits the rounds the exchange will run. */
	for (int i = 0; i < n; i++)
		check_slices(counts[i], per, rounds);
	/* And each total alone, in just its own rounds (the slices depend on
	 * the total and per_peer only). */
	for (size_t t = 0; t < nt; t++) {
		uint64_t own = mr_rounds_needed(&totals[t], 1, per);
		assert_int_equal(own, ceil_div(totals[t], per));
		check_slices(totals[t], per, own);
	}
	free(counts);
}

static void test_round_slices_big(void **state)
{
	MR_UNUSED(state);
	static const uint64_t totals[] = {
		UINT64_C(5000000000),
		(UINT64_C(1) << 33) + 7,
		(UINT64_C(1) << 40) - 1,
		UINT64_C(1) << 40,
		(UINT64_C(1) << 40) + 12345,
		(uint64_t)INT_MAX,
		(uint64_t)INT_MAX + 1,
		UINT32_MAX,
		0,
		1,
	};
	const size_t nt = sizeof(totals) / sizeof(totals[0]);
	for (int n = 1; n <= 64; n++) {
		run_rounds(totals, nt, UINT64_MAX, n);
		run_rounds(totals, nt, (UINT64_C(1) << 31) + 5, n);
		if (n <= 4 || n % 13 == 0) /* the default: more rounds */
			run_rounds(totals, nt, 0, n);
	}
}

static void test_round_slices_small(void **state)
{
	MR_UNUSED(state);
	static const uint64_t totals[] = {0, 1, 2, 63, 64, 65, 1000, 12345, 10000003};
	const size_t nt = sizeof(totals) / sizeof(totals[0]);
	for (int n = 1; n <= 64; n++) {
		run_rounds(totals, nt - 1, 1, n);
		run_rounds(totals, nt - 1, 64, n);
		run_rounds(totals, nt, UINT64_C(1) << 20, n);
	}
	/* One peer, per_peer 1: a round per byte. */
	assert_int_equal(mr_round_per_peer(1, 64), 1);
	uint64_t c[2] = {5, 3};
	assert_int_equal(mr_rounds_needed(c, 2, 1), 5);
	assert_int_equal(mr_rounds_needed(c, 2, 2), 3);
	assert_int_equal(mr_rounds_needed(c, 2, 5), 1);
	assert_int_equal(mr_rounds_needed(c, 2, 100), 1);
	uint64_t z[3] = {0, 0, 0};
	assert_int_equal(mr_rounds_needed(z, 3, 7), 0);
	uint64_t off;
	assert_int_equal(mr_round_slice(10, 4, 0, &off), 4);
	assert_int_equal(off, 0);
	assert_int_equal(mr_round_slice(10, 4, 2, &off), 2);
	assert_int_equal(off, 8);
	assert_int_equal(mr_round_slice(10, 4, 3, &off), 0);
	assert_int_equal(off, 10);
	/* The largest per_peer with a total past UINT64_MAX / per_peer. */
	uint64_t per = mr_round_per_peer(UINT64_MAX, 1);
	assert_int_equal(per, INT_MAX);
	assert_int_equal(mr_round_slice(UINT64_MAX, per, 0, &off), INT_MAX);
	assert_int_equal(off, 0);
	uint64_t last = UINT64_MAX / per; /* the final, partial round */
	int k = mr_round_slice(UINT64_MAX, per, last, &off);
	assert_int_equal(off, last * per);
	assert_int_equal((uint64_t)k, UINT64_MAX - last * per);
	assert_int_equal(mr_round_slice(UINT64_MAX, per, last + 1, &off), 0);
	assert_int_equal(off, UINT64_MAX);
}

/* ---- (c) sizes ----------------------------------------------------------- */

static void test_parse_size_good(void **state)
{
	MR_UNUSED(state);
	static const struct {
		const char *s;
		uint64_t v;
	} good[] = {
		{"0", 0},
		{"1", 1},
		{"123456789", 123456789},
		{"64K", UINT64_C(64) << 10},
		{"64k", UINT64_C(64) << 10},
		{"64M", UINT64_C(64) << 20},
		{"64m", UINT64_C(64) << 20},
		{"2G", UINT64_C(2) << 30},
		{"2g", UINT64_C(2) << 30},
		{"3T", UINT64_C(3) << 40},
		{"1kB", 1024},
		{"64MiB", UINT64_C(64) << 20},
		{"2GiB", UINT64_C(2) << 30},
		{"1KB", 1024},
		{"1Mb", UINT64_C(1) << 20},
		{"7B", 7},
		{"18446744073709551615", UINT64_MAX},
		{"17179869183G", (UINT64_C(17179869183)) << 30},
		{"16777215T", UINT64_C(16777215) << 40},
		{"0G", 0},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t v = 42;
		if (!mr_parse_size(good[i].s, &v))
			fail_msg("'%s' was refused", good[i].s);
		if (v != good[i].v)
			fail_msg("'%s' is %llu, want %llu", good[i].s, (unsigned long long)v,
				 (unsigned long long)good[i].v);
	}
}

static void test_parse_size_bad(void **state)
{
	MR_UNUSED(state);
	static const char *const bad[] = {
		"",
		"-1",
		"-0",
		"12X",
		"1.5M",
		"1,5M",
		"99999999999999999999",
		"18446744073709551616",
		"17179869184G",
		"16777216T",
		"64i",
		"64MiX",
		"99999999999999999999K",
		"K",
		"M",
		"kB",
		"B",
		"1MBB",
		"1KM",
		"1 M",
		"1M ",
		"1P",
		"0x10",
		"1e6",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 42;
		if (mr_parse_size(bad[i], &v))
			fail_msg("'%s' was taken, as %llu", bad[i], (unsigned long long)v);
	}
	uint64_t v;
	assert_false(mr_parse_size(NULL, &v));
}

/* A minus sign after leading blanks is still a negative number: strtoull
 * accepts " -1" and negates it to 2^64-1. */
static void test_parse_size_blank_minus(void **state)
{
	MR_UNUSED(state);
	static const char *const bad[] = {" -1", "\t-5", "  -64M", " -0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 42;
		if (mr_parse_size(bad[i], &v))
			fail_msg("'%s' was taken, as %llu", bad[i], (unsigned long long)v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_fixed),
		cmocka_unit_test(test_plan_exact_counts),
		cmocka_unit_test(test_plan_random),
		cmocka_unit_test(test_plan_large),
		cmocka_unit_test(test_round_per_peer),
		cmocka_unit_test(test_round_slices_big),
		cmocka_unit_test(test_round_slices_small),
		cmocka_unit_test(test_parse_size_good),
		cmocka_unit_test(test_parse_size_bad),
		cmocka_unit_test(test_parse_size_blank_minus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
