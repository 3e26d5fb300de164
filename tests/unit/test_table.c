/*
 * Unit tests for the combining hash table (mr_table_*).
 *
 * Checked against references written here: 200k distinct binary keys inserted
 * (through many grows) and upserted again with a summing combine, read back
 * by mr_table_next (each exactly once, in any order); random short keys over an alphabet of
 * NUL, 0x80, 0xff and 'a' against a naive first-seen list; the empty key; keys
 * that differ only in length ("a", "a\0", "a\0\0"); different keys given the
 * same or clustered hash values (they must stay distinct); mr_table_count and
 * mr_table_key_bytes; the combine's error status coming back from upsert.
 *
 *
 * Local only: no MPI call is made.
 */
#include "table_util.h"

static void test_empty(void **state)
{
	MR_UNUSED(state);
	mr_table *t = new_table(0, sum);
	assert_non_null(t);
	assert_int_equal(mr_table_count(t), 0);
	assert_int_equal(mr_table_key_bytes(t), 0);
	assert_true(mr_table_memory(t) > 0);
	size_t pos = 0, len;
	const char *key;
	mr_value v;
	assert_false(next1(t, &pos, &key, &len, &v));
	mr_table_free(&t);
	assert_null(t);
	mr_table_free(&t); /* NULL is fine */
}

static void check_distinct(mr_table *t, uint32_t n, int passes)
{
	char k[32];
	size_t pos = 0, len;
	const char *key;
	mr_value v;
	uint32_t seen = 0;
	char *done = calloc(n, 1);
	assert_non_null(done);
	while (next1(t, &pos, &key, &len, &v)) {
		uint32_t i;
		assert_true(len >= 4);
		memcpy(&i, key, 4);
		assert_true(i < n);
		if (done[i]++)
			fail_msg("entry %u: seen twice", i);
		size_t want = distinct_key(i, k);
		if (len != want || memcmp(key, k, len) != 0)
			fail_msg("entry %u: wrong key (len %zu, want %zu)", i, len, want);
		uint64_t ev = i;
		if (passes > 1)
			ev += (uint64_t)i * 1000003u + 7u;
		if (v.u != ev)
			fail_msg("entry %u: value %llu, want %llu", i, (unsigned long long)v.u,
				 (unsigned long long)ev);
		seen++;
	}
	assert_int_equal(seen, n);
	free(done);
}

static void test_many_distinct(void **state)
{
	MR_UNUSED(state);
	const uint32_t n = 200000;
	mr_table *t = new_table(0, sum); /* forces many grows */
	size_t mem0 = mr_table_memory(t);
	char k[32];
	size_t bytes = 0;
	combine_calls = 0;
	for (uint32_t i = 0; i < n; i++) {
		size_t len = distinct_key(i, k);
		bytes += len;
		assert_int_equal(upsert(t, k, len, i), MR_OK);
	}
	assert_int_equal(combine_calls, 0);
	assert_int_equal(mr_table_count(t), n);
	assert_int_equal(mr_table_key_bytes(t), bytes);
	assert_true(mr_table_memory(t) > mem0);
	check_distinct(t, n, 1);

	/* Again, in reverse: every key is found and combined, none added. */
	for (uint32_t i = n; i-- > 0;) {
		size_t len = distinct_key(i, k);
		assert_int_equal(upsert(t, k, len, (uint64_t)i * 1000003u + 7u), MR_OK);
	}
	assert_int_equal(combine_calls, n);
	assert_int_equal(mr_table_count(t), n);
	assert_int_equal(mr_table_key_bytes(t), bytes);
	check_distinct(t, n, 2);
	mr_table_free(&t);
	assert_null(t);
}

/* The reference: distinct keys in first-seen order, found by linear search. */
struct ref {
	size_t n;
	char key[400][8];
	size_t len[400];
	uint64_t sum[400];
};

static void ref_add(struct ref *r, const char *k, size_t len, uint64_t v)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->len[i] == len && memcmp(r->key[i], k, len) == 0) {
			r->sum[i] += v;
			return;
		}
	}
	assert_true(r->n < 400);
	memcpy(r->key[r->n], k, len);
	r->len[r->n] = len;
	r->sum[r->n] = v;
	r->n++;
}

static void check_ref(mr_table *t, const struct ref *r)
{
	size_t pos = 0, len, seen = 0, bytes = 0;
	const char *key;
	mr_value v;
	bool done[400] = {false};
	while (next1(t, &pos, &key, &len, &v)) {
		size_t i = 0;
		while (i < r->n && (r->len[i] != len || memcmp(r->key[i], key, len) != 0))
			i++;
		assert_true(i < r->n);
		assert_false(done[i]);
		done[i] = true;
		assert_int_equal(v.u, r->sum[i]);
		bytes += len;
		seen++;
	}
	assert_int_equal(seen, r->n);
	assert_int_equal(mr_table_count(t), r->n);
	assert_int_equal(mr_table_key_bytes(t), bytes);
}

/* hashmode 0: the real hash; 1: one hash for all; 2: a few low-bit values
 * (the table indexes by the top bits, so these all land on slot 0). */
static void run_random(uint64_t seed, int hashmode, int nops)
{
	static const char alpha[4] = {'\0', (char)0x80, (char)0xff, 'a'};
	static struct ref r;
	memset(&r, 0, sizeof(r));
	uint64_t s = seed;
	mr_table *t = new_table(hashmode ? 3 : 100, sum);
	for (int op = 0; op < nops; op++) {
		char k[8];
		size_t len = (size_t)(splitmix64(&s) % 5);
		for (size_t j = 0; j < len; j++)
			k[j] = alpha[splitmix64(&s) % 4];
		uint64_t v = splitmix64(&s) % 1000;
		uint64_t h = mr_hash(k, len);
		if (hashmode == 1)
			h = UINT64_C(0xdeadbeefcafef00d);
		else if (hashmode == 2)
			h = len;
		assert_int_equal(upsert_h(t, k, len, h, v), MR_OK);
		ref_add(&r, k, len, v);
	}
	assert_int_equal(r.n, 1 + 4 + 16 + 64 + 256);
	check_ref(t, &r);
	mr_table_free(&t);
}

static void test_random_binary_keys(void **state)
{
	MR_UNUSED(state);
	run_random(1, 0, 100000);
	run_random(2, 0, 20000);
}

static void test_same_hash_for_all(void **state)
{
	MR_UNUSED(state);
	run_random(3, 1, 20000);
	run_random(4, 2, 20000);
}

static void test_colliding_hashes_grow(void **state)
{
	MR_UNUSED(state);
	/* 3000 distinct keys all given hash 5, through several grows. */
	const uint32_t n = 3000;
	mr_table *t = new_table(0, sum);
	char k[32];
	for (int pass = 1; pass <= 2; pass++) {
		for (uint32_t i = 0; i < n; i++) {
			size_t len = distinct_key(i, k);
			uint64_t v = pass == 1 ? i : (uint64_t)i * 1000003u + 7u;
			assert_int_equal(upsert_h(t, k, len, 5, v), MR_OK);
		}
		assert_int_equal(mr_table_count(t), n);
		check_distinct(t, n, pass);
	}
	mr_table_free(&t);
}

static void test_lengths_and_empty_key(void **state)
{
	MR_UNUSED(state);
	static const char z[4] = {'a', 0, 0, 0};
	for (int useh = 0; useh < 2; useh++) {
		mr_table *t = new_table(4, sum);
		/* "", "a", "a\0", "a\0\0", "\0", with the real hash or one
		 * shared hash. */
		const char *keys[5] = {"", z, z, z, z + 1};
		size_t lens[5] = {0, 1, 2, 3, 1};
		for (int round = 0; round < 3; round++) {
			for (int i = 0; i < 5; i++) {
				uint64_t h = useh ? 77 : mr_hash(keys[i], lens[i]);
				assert_int_equal(upsert_h(t, keys[i], lens[i], h, 1u << i), MR_OK);
			}
		}
		assert_int_equal(mr_table_count(t), 5);
		assert_int_equal(mr_table_key_bytes(t), 7);
		size_t pos = 0, len;
		const char *key;
		mr_value v;
		unsigned seen = 0;
		while (next1(t, &pos, &key, &len, &v)) {
			int i = 0;
			while (i < 5 && (lens[i] != len || memcmp(keys[i], key, len) != 0))
				i++;
			assert_true(i < 5);
			assert_false(seen & (1u << i));
			seen |= 1u << i;
			assert_int_equal(v.u, 3u << i);
		}
		assert_int_equal(seen, 31);
		mr_table_free(&t);
	}
}

static void test_long_keys(void **state)
{
	MR_UNUSED(state);
	/* Keys of every length up to 2000, each a prefix of the next. */
	enum { N = 2000 };
	char *k = malloc(N);
	assert_non_null(k);
	uint64_t s = 9;
	for (size_t i = 0; i < N; i++)
		k[i] = (char)splitmix64(&s);
	mr_table *t = new_table(0, sum);
	for (size_t len = 0; len < N; len++)
		assert_int_equal(upsert(t, k, len, len), MR_OK);
	for (size_t len = N; len-- > 0;)
		assert_int_equal(upsert(t, k, len, 1), MR_OK);
	assert_int_equal(mr_table_count(t), N);
	assert_int_equal(mr_table_key_bytes(t), (size_t)N * (N - 1) / 2);
	size_t pos = 0, len, seen = 0;
	const char *key;
	mr_value v;
	bool done[N] = {false};
	while (next1(t, &pos, &key, &len, &v)) {
		assert_true(len < N); /* each length once: the key is k's prefix */
		assert_false(done[len]);
		done[len] = true;
		if (len)
			assert_memory_equal(key, k, len);
		assert_int_equal(v.u, len + 1);
		seen++;
	}
	assert_int_equal(seen, N);
	mr_table_free(&t);
	free(k);
}

static void test_float_values(void **state)
{
	MR_UNUSED(state);
	mr_table *t = new_table(0, fsum);
	mr_value q = {.f = 0.25};
	for (int i = 0; i < 8; i++)
		assert_int_equal(mr_table_upsert(t, "x", 1, mr_hash("x", 1), &q, 1), MR_OK);
	size_t pos = 0, len;
	const char *key;
	mr_value v;
	assert_true(next1(t, &pos, &key, &len, &v));
	assert_true(v.f == 2.0); /* exact in binary */
	assert_false(next1(t, &pos, &key, &len, &v));
	mr_table_free(&t);
}

static void test_combine_error(void **state)
{
	MR_UNUSED(state);
	mr_table *t = new_table(0, sum_or_fail);
	assert_int_equal(upsert(t, "k", 1, 5), MR_OK);
	assert_int_equal(upsert(t, "j", 1, BAD_VALUE), MR_OK);
	/* The first value of a key is stored, not combined: no error. */
	assert_int_equal(upsert(t, "k", 1, BAD_VALUE), MR_ERR_JOB);
	assert_int_equal(upsert(t, "j", 1, BAD_VALUE), MR_ERR_JOB);
	assert_int_equal(mr_table_count(t), 2);
	/* The table still works. */
	assert_int_equal(upsert(t, "k", 1, 2), MR_OK);
	assert_int_equal(upsert(t, "m", 1, 1), MR_OK);
	assert_int_equal(mr_table_count(t), 3);
	size_t pos = 0, len;
	const char *key;
	mr_value v;
	while (next1(t, &pos, &key, &len, &v) && memcmp(key, "k", 1) != 0)
		;
	assert_int_equal(len, 1);
	assert_memory_equal(key, "k", 1);
	assert_int_equal(v.u, 7);
	mr_table_free(&t);

	/* The same in a bigger table that has grown. */
	t = new_table(0, sum_or_fail);
	char k[32];
	for (uint32_t i = 0; i < 5000; i++) {
		size_t len2 = distinct_key(i, k);
		assert_int_equal(upsert(t, k, len2, 1), MR_OK);
	}
	size_t len2 = distinct_key(4321, k);
	assert_int_equal(upsert(t, k, len2, BAD_VALUE), MR_ERR_JOB);
	assert_int_equal(mr_table_count(t), 5000);
	mr_table_free(&t);
}

/* Reduce fills a table with keys in another table's iteration order.  Each
 * table orders its slots by its own salt, so the two orders are unrelated
 * (the same order would pile keys into one run of full slots); the copy holds
 * every key with its value. */
static void test_refill_in_iteration_order(void **state)
{
	MR_UNUSED(state);
	const uint32_t n = 100000;
	mr_table *a = new_table(0, sum);
	char k[32];
	for (uint32_t i = 0; i < n; i++) {
		size_t len = distinct_key(i, k);
		assert_int_equal(upsert(a, k, len, i), MR_OK);
	}
	mr_table *b = new_table(0, sum);
	size_t pos = 0, len;
	const char *key;
	mr_value v;
	while (next1(a, &pos, &key, &len, &v))
		assert_int_equal(upsert(b, key, len, v.u), MR_OK);
	check_distinct(b, n, 1);
	/* The first 1000 keys of each, in order: not the same sequence. */
	size_t pa = 0, pb = 0, same = 0, la, lb;
	const char *ka, *kb;
	for (int i = 0; i < 1000; i++) {
		assert_true(next1(a, &pa, &ka, &la, &v));
		assert_true(next1(b, &pb, &kb, &lb, &v));
		same += la == lb && memcmp(ka, kb, la) == 0;
	}
	assert_true(same < 100);
	mr_table_free(&a);
	mr_table_free(&b);
}

/* mr_key_words gives the key zero-padded to 16 bytes, for every length and
 * alignment, reading nothing past the key (the key ends its allocation, so
 * AddressSanitizer would see an overread); mr_hash depends on the bytes only,
 * and spreads keys evenly over owner ranks. */
static void test_key_words_and_hash(void **state)
{
	MR_UNUSED(state);
	uint64_t s = 11;
	for (size_t len = 0; len <= MR_SHORT_KEY; len++) {
		for (int trial = 0; trial < 64; trial++) {
			char *k = malloc(len ? len : 1);
			char *k2 = malloc(len + 3);
			assert_non_null(k);
			assert_non_null(k2);
			uint64_t w[2], want[2] = {splitmix64(&s), splitmix64(&s)};
			memset((char *)want + len, 0, 16 - len);
			memcpy(k, want, len);
			memcpy(k2 + 3, want, len);
			mr_key_words(k, len, w);
			assert_memory_equal(w, want, 16);
			assert_int_equal(mr_hash(k, len), mr_hash(k2 + 3, len));
			free(k);
			free(k2);
		}
	}
	/* Keys that differ in one byte or in length only hash apart. */
	assert_int_not_equal(mr_hash("a", 1), mr_hash("a\0", 2));
	assert_int_not_equal(mr_hash("", 0), mr_hash("\0", 1));
	assert_int_not_equal(mr_hash("abcdefgh", 8), mr_hash("abcdefgi", 8));

	/* Keys whose second word is crafted to zero a multiplicand still hash
	 * apart by their first word. */
	uint64_t crafted[2][2] = {{1, UINT64_C(0xe7037ed1a0b428db) ^ MR_HASH_SEED},
				  {2, UINT64_C(0xe7037ed1a0b428db) ^ MR_HASH_SEED}};
	assert_int_not_equal(mr_hash_words(crafted[0], 16), mr_hash_words(crafted[1], 16));

	/* 300k distinct short keys over 7 owners: each within 2% of even. */
	enum { KEYS = 300000, OWNERS = 7 };
	size_t per[OWNERS] = {0};
	char k[32];
	for (uint32_t i = 0; i < KEYS; i++) {
		size_t len = distinct_key(i, k);
		per[mr_owner(mr_hash(k, len), OWNERS)]++;
	}
	for (int o = 0; o < OWNERS; o++)
		assert_true(per[o] > KEYS / OWNERS * 98 / 100 &&
			    per[o] < KEYS / OWNERS * 102 / 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_many_distinct),
		cmocka_unit_test(test_random_binary_keys),
		cmocka_unit_test(test_same_hash_for_all),
		cmocka_unit_test(test_colliding_hashes_grow),
		cmocka_unit_test(test_lengths_and_empty_key),
		cmocka_unit_test(test_long_keys),
		cmocka_unit_test(test_float_values),
		cmocka_unit_test(test_combine_error),
		cmocka_unit_test(test_key_words_and_hash),
		cmocka_unit_test(test_refill_in_iteration_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
