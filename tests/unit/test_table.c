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
 * The fused count path (mr_emit_count_short, mr_table_count_find) against
 * mr_emit into a second table and a sorted-and-counted oracle: keys of 0 to
 * 16 bytes followed by non-zero garbage (the masks), the queued words, tag
 * and home, grows in the middle of a batch, a limit whose full clears the
 * table, keys mixed with mr_emit's in one table, slack nobody wrote, and
 * tags forced to collide so that only the key's words tell keys apart.
 *
 * Local only: no MPI call is made.
 */
#include "table_util.h"

#include <stdio.h>

#include "core/records.h" /* MR_SPAN_SLACK */

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

/* Keys 0..n-1 (distinct_key), key i with the value i. */
static void fill_distinct(mr_table *t, uint32_t n)
{
	char k[32];
	for (uint32_t i = 0; i < n; i++) {
		size_t len = distinct_key(i, k);
		assert_int_equal(upsert(t, k, len, i), MR_OK);
	}
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

/*
 * Past 2^22 slots (128 MiB) a table grows by a quarter, to sizes that are
 * not powers of two: 3.8 M keys take two such grows (5.24 M, then 6.55 M
 * slots, 210 MB; doubling would have made 8 M, 256 MB).  Every key is still
 * found and its value right, and iterating on after mr_table_release_below
 * gave back the slots already passed yields every key left.
 */
static void test_grows_by_a_quarter(void **state)
{
	MR_UNUSED(state);
	const uint32_t n = 3800000;
	mr_table *t = new_table(0, sum);
	fill_distinct(t, n);
	char k[32];
	assert_int_equal(mr_table_count(t), n);
	size_t slots = mr_table_memory(t) / 32; /* slots, and arenas far smaller */
	if (slots < 6553600 || slots >= 6553600 + 65536)
		fail_msg("%zu keys in about %zu slots, want 6553600", (size_t)n, slots);
	check_distinct(t, n, 1);
	for (uint32_t i = n; i-- > 0;) {
		size_t len = distinct_key(i, k);
		assert_int_equal(upsert(t, k, len, (uint64_t)i * 1000003u + 7u), MR_OK);
	}
	check_distinct(t, n, 2);

	size_t pos = 0, len, seen = 0;
	const char *key;
	mr_value v;
	char *done = calloc(n, 1);
	assert_non_null(done);
	while (next1(t, &pos, &key, &len, &v)) {
		uint32_t i;
		memcpy(&i, key, 4);
		assert_true(i < n && !done[i]);
		done[i] = 1;
		assert_int_equal(v.u, (uint64_t)i + (uint64_t)i * 1000003u + 7u);
		if (++seen % 1000 == 0)
			mr_table_release_below(t, pos);
	}
	assert_int_equal(seen, n);
	free(done);
	mr_table_free(&t);
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
	fill_distinct(a, n);
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

/* ---- the fused count path (mr_emit_count_short) ----------------------------
 * Keys of up to 16 bytes counted through mr_emit_count_short (two masked
 * loads, the tag and home computed at queue, mr_table_count_find) must give
 * the table that mr_emit's generic path gives, and both the counts of an
 * oracle that knows nothing of hashes: every emitted key sorted, runs
 * counted. */

enum { CK_MAX = 40 }; /* the longest key of the mixed case */
typedef struct ckey {
	uint32_t len;
	unsigned char b[CK_MAX]; /* the key, then zeros */
} ckey;
typedef struct centry {
	ckey k;
	uint64_t n;
} centry;

static int ckey_cmp(const void *x, const void *y)
{
	const ckey *a = x, *b = y;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->b, b->b, CK_MAX);
}

static int centry_cmp(const void *x, const void *y)
{
	return ckey_cmp(&((const centry *)x)->k, &((const centry *)y)->k);
}

static void ckey_show(const ckey *k, char *out, size_t cap)
{
	size_t at = (size_t)snprintf(out, cap, "len %u:", k->len);
	for (uint32_t i = 0; i < k->len && at + 4 < cap; i++)
		at += (size_t)snprintf(out + at, cap - at, " %02x", k->b[i]);
}

/* One emitted key.  Its kind, by r: a small alphabet, so that short keys
 * repeat and long ones mostly do not; NUL, 0xff, 0x80 and 'a'; one of a
 * family of keys of 8 to 16 bytes that differ from a base in one byte at
 * 6, 7, 8, 9, 14 or 15 only; an earlier key again; random bytes. */
static void gen_key(uint64_t *s, ckey *k, const ckey *prev, size_t nprev, uint32_t maxlen)
{
	static const unsigned char abc[3] = {'a', 'b', 'c'};
	static const unsigned char odd[4] = {0x00, 0xff, 0x80, 'a'};
	static const unsigned char base[16] = "abcdefghijklmnop";
	static const uint32_t near[6] = {6, 7, 8, 9, 14, 15};
	static const unsigned char swap[4] = {0x00, 0xff, 'y', 0x01};
	memset(k, 0, sizeof(*k));
	uint64_t r = splitmix64(s) % 8;
	if (r == 6 && nprev > 0) {
		*k = prev[splitmix64(s) % nprev];
		return;
	}
	if (r == 5) {
		k->len = 8 + (uint32_t)(splitmix64(s) % 9);
		memcpy(k->b, base, k->len);
		uint32_t p = near[splitmix64(s) % 6];
		if (p < k->len && splitmix64(s) % 4 != 0)
			k->b[p] = swap[splitmix64(s) % 4];
		return;
	}
	k->len = (uint32_t)(splitmix64(s) % (MR_SHORT_KEY + 1));
	if (r == 7 && maxlen > MR_SHORT_KEY && splitmix64(s) % 2)
		k->len = (uint32_t)(splitmix64(s) % (maxlen + 1));
	for (uint32_t j = 0; j < k->len; j++) {
		uint64_t x = splitmix64(s);
		k->b[j] = r <= 2 ? abc[x % 3] : r <= 4 ? odd[x % 4] : (unsigned char)x;
	}
}

/* What a table held, and what the full callback took out of it. */
typedef struct drain {
	mr_table *t;
	centry *e;
	size_t n, cap;
	unsigned calls;
} drain;

/* Appends t's entries to d, checking each slot's tag against mr_hash and
 * that a short key is followed by zeros in its slot; within one table a key
 * appears once, and mr_table_count and mr_table_key_bytes agree. */
static void drain_take(drain *d, mr_table *t)
{
	size_t pos = 0, len, from = d->n, bytes = 0;
	const char *key;
	mr_value v;
	while (next1(t, &pos, &key, &len, &v)) {
		assert_true(len <= CK_MAX);
		const struct mr_slot *s = &t->slots[pos - 1];
		if (s->tag != mr_table_tag(mr_hash(key, len), len))
			fail_msg("slot %zu: tag %016llx, want %016llx", pos - 1,
				 (unsigned long long)s->tag,
				 (unsigned long long)mr_table_tag(mr_hash(key, len), len));
		for (size_t j = len; len <= MR_SHORT_KEY && j < MR_SHORT_KEY; j++)
			if (s->k.key[j] != 0)
				fail_msg("slot %zu: a key of %zu bytes, byte %zu is %02x, not 0",
					 pos - 1, len, j, (unsigned char)s->k.key[j]);
		assert_true(v.u > 0);
		if (d->n == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 4096;
			d->e = realloc(d->e, d->cap * sizeof(*d->e));
			assert_non_null(d->e);
		}
		centry *c = &d->e[d->n++];
		memset(c, 0, sizeof(*c));
		c->k.len = (uint32_t)len;
		if (len)
			memcpy(c->k.b, key, len);
		c->n = v.u;
		bytes += len;
	}
	assert_int_equal(d->n - from, mr_table_count(t));
	assert_int_equal(bytes, mr_table_key_bytes(t));
	qsort(d->e + from, d->n - from, sizeof(*d->e), centry_cmp);
	for (size_t i = from + 1; i < d->n; i++) {
		if (centry_cmp(&d->e[i - 1], &d->e[i]) == 0) {
			char show[200];
			ckey_show(&d->e[i].k, show, sizeof(show));
			fail_msg("a key twice in one table: %s", show);
		}
	}
}

/* The emitter's full: what the table holds is taken, and it is cleared. */
static int drain_full(void *arg)
{
	drain *d = arg;
	d->calls++;
	drain_take(d, d->t);
	mr_table_clear(d->t);
	return MR_OK;
}

/* d's entries, a key's counts from several clears summed, against want. */
static void drain_check(drain *d, const centry *want, size_t nwant, const char *which)
{
	qsort(d->e, d->n, sizeof(*d->e), centry_cmp);
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (k > 0 && centry_cmp(&d->e[k - 1], &d->e[i]) == 0)
			d->e[k - 1].n += d->e[i].n;
		else
			d->e[k++] = d->e[i];
	}
	char show[200];
	for (size_t i = 0; i < k || i < nwant; i++) {
		if (i >= k || i >= nwant || centry_cmp(&d->e[i], &want[i]) != 0) {
			const ckey *at = i < nwant ? &want[i].k : &d->e[i].k;
			ckey_show(at, show, sizeof(show));
			fail_msg("%s: keys differ at %zu of %zu (want %zu): %s %s", which, i, k,
				 nwant, i < nwant ? "missing, or another instead of," : "extra",
				 show);
		}
		if (d->e[i].n != want[i].n) {
			ckey_show(&want[i].k, show, sizeof(show));
			fail_msg("%s: %s counted %llu, want %llu", which, show,
				 (unsigned long long)d->e[i].n, (unsigned long long)want[i].n);
		}
	}
}

/*
 * n keys (gen_key), each copied into one buffer followed by 16 bytes of
 * garbage (random, non-zero: a mask that keeps a byte too many shows), the
 * buffer exactly as long as that (AddressSanitizer sees a read past the last
 * key's slack).  Emitter a counts keys of up to 16 bytes with
 * mr_emit_count_short (mixed: every third with mr_emit instead, and longer
 * keys with mr_emit, as map's on_counted does); emitter b emits all with
 * mr_emit.  limit: both tables' (mr_table_set_limit), with a full that
 * takes out and clears.  Returns the number of distinct keys; *grows: how
 * often a's table grew in a count batch with new keys inserted after the
 * grow, in the same batch.
 */
static size_t run_count_case(uint64_t seed, size_t n, size_t limit, bool mixed, unsigned *grows,
			     unsigned *fulls)
{
	uint64_t s = seed;
	uint32_t maxlen = mixed ? CK_MAX : MR_SHORT_KEY;
	ckey *keys = calloc(n, sizeof(*keys));
	size_t *off = malloc(n * sizeof(*off));
	assert_non_null(keys);
	assert_non_null(off);
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		gen_key(&s, &keys[i], keys, i, maxlen);
		off[i] = total;
		total += keys[i].len + MR_SPAN_SLACK;
	}
	char *buf = malloc(total);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + off[i], keys[i].b, keys[i].len);
		for (size_t j = 0; j < MR_SPAN_SLACK; j++)
			buf[off[i] + keys[i].len + j] = (char)(1 + splitmix64(&s) % 255);
	}

	/* The oracle: sorted, runs counted. */
	ckey *sorted = malloc(n * sizeof(*sorted));
	centry *want = malloc(n * sizeof(*want));
	assert_non_null(sorted);
	assert_non_null(want);
	memcpy(sorted, keys, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), ckey_cmp);
	size_t nwant = 0;
	for (size_t i = 0; i < n; i++) {
		if (nwant > 0 && ckey_cmp(&want[nwant - 1].k, &sorted[i]) == 0) {
			want[nwant - 1].n++;
		} else {
			want[nwant].k = sorted[i];
			want[nwant++].n = 1;
		}
	}
	free(sorted);

	/* As map sets up a counting job (map.c): one-word values, summed. */
	mr_values vals = {.kind = MR_VK_ONE, .width = 1, .combine = mr_combine_sum};
	mr_emitter *ea = calloc(1, sizeof(*ea)), *eb = calloc(1, sizeof(*eb));
	assert_non_null(ea);
	assert_non_null(eb);
	mr_emitter_init(ea, mr_table_new(0, &vals), &vals);
	mr_emitter_init(eb, mr_table_new(0, &vals), &vals);
	drain da = {.t = ea->table}, db = {.t = eb->table};
	if (limit) {
		mr_table_set_limit(ea->table, limit);
		mr_table_set_limit(eb->table, limit);
		ea->full = drain_full;
		ea->full_arg = &da;
		eb->full = drain_full;
		eb->full_arg = &db;
	}
	*grows = 0;
	for (size_t i = 0; i < n; i++) {
		const char *key = buf + off[i];
		size_t len = keys[i].len;
		if (len > MR_SHORT_KEY || (mixed && i % 3 == 0)) {
			assert_int_equal(mr_emit(ea, key, len, (mr_value){.u = 1}), MR_OK);
		} else {
			/* What the queue must store: the key's words, zero-padded,
			 * the tag of its mr_hash, its home in the table as it is. */
			uint64_t h = mr_hash(key, len), w[2];
			mr_key_words(key, len, w);
			mr_table *t = ea->table;
			size_t at = ea->ctail & (MR_COUNT_RING - 1);
			const struct mr_slot *slots = t->slots;
			assert_int_equal(mr_emit_count_short(ea, key, len), MR_OK);
			/* in the table as it is after the call, which may have
			 * grown it: a queued key's home follows */
			size_t home = mr_table_home(t, h);
			const mr_counted *q = &ea->counts[at];
			if (q->tag != mr_table_tag(h, len) || q->w[0] != w[0] || q->w[1] != w[1] ||
			    q->home != home) {
				char show[200];
				ckey_show(&keys[i], show, sizeof(show));
				fail_msg("emit %zu (%s): queued tag %016llx words %016llx %016llx "
					 "home %zu; want %016llx %016llx %016llx %zu",
					 i, show, (unsigned long long)q->tag,
					 (unsigned long long)q->w[0], (unsigned long long)q->w[1],
					 q->home, (unsigned long long)mr_table_tag(h, len),
					 (unsigned long long)w[0], (unsigned long long)w[1], home);
			}
			/* Grown while MR_COUNT_AHEAD keys were queued: their
			 * homes had to move. */
			if (!mixed && t->slots != slots && !limit)
				(*grows)++;
		}
		assert_int_equal(mr_emit(eb, key, len, (mr_value){.u = 1}), MR_OK);
	}
	assert_int_equal(mr_emitter_finish(ea), MR_OK);
	assert_int_equal(mr_emitter_finish(eb), MR_OK);
	assert_int_equal(ea->pairs, n);
	assert_int_equal(eb->pairs, n);
	drain_take(&da, ea->table);
	drain_take(&db, eb->table);
	drain_check(&da, want, nwant, "mr_emit_count_short");
	drain_check(&db, want, nwant, "mr_emit");
	*fulls = da.calls < db.calls ? da.calls : db.calls;

	mr_table_free(&ea->table);
	mr_table_free(&eb->table);
	free(ea);
	free(eb);
	free(da.e);
	free(db.e);
	free(want);
	free(buf);
	free(off);
	free(keys);
	return nwant;
}

static void test_count_short(void **state)
{
	MR_UNUSED(state);
	unsigned grows, fulls;
	/* Enough distinct keys that the table grows many times, some of them
	 * in the middle of a count batch. */
	size_t distinct = run_count_case(21, 400000, 0, false, &grows, &fulls);
	assert_true(distinct > 100000);
	assert_true(grows >= 3);
	/* Keys longer than 16 bytes, and short ones through mr_emit too, in
	 * the same table as the counted ones: each finds the other's. */
	distinct = run_count_case(22, 200000, 0, true, &grows, &fulls);
	assert_true(distinct > 50000);
}

static void test_count_short_limit(void **state)
{
	MR_UNUSED(state);
	unsigned grows, fulls;
	/* Over its limit the table stops growing and is over after the batch:
	 * full empties it, many times; what it took out adds up. */
	run_count_case(23, 300000, 256 * 1024, false, &grows, &fulls);
	assert_true(fulls >= 10);
	run_count_case(24, 200000, 256 * 1024, true, &grows, &fulls);
	assert_true(fulls >= 5);
	/* A limit below the empty table's: emptied at every new key. */
	run_count_case(25, 20000, 1, false, &grows, &fulls);
	assert_true(fulls >= 20000 / MR_EMIT_BATCH);
}

/* A key's slack may be bytes nobody wrote (a block's tail): the masks keep
 * none of them, so the table is the same (and valgrind, running this, sees
 * no decision made on them). */
static void test_count_short_unwritten_slack(void **state)
{
	MR_UNUSED(state);
	mr_values vals = {.kind = MR_VK_ONE, .width = 1, .combine = mr_combine_sum};
	mr_emitter *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	mr_emitter_init(e, mr_table_new(0, &vals), &vals);
	uint64_t s = 31;
	char want[MR_SHORT_KEY + 1][MR_SHORT_KEY];
	for (int round = 0; round < 3; round++) {
		for (size_t len = 0; len <= MR_SHORT_KEY; len++) {
			char *k = malloc(len + MR_SPAN_SLACK);
			assert_non_null(k);
			if (round == 0)
				for (size_t j = 0; j < len; j++)
					want[len][j] = (char)('a' + splitmix64(&s) % 26);
			memcpy(k, want[len], len);
			assert_int_equal(mr_emit_count_short(e, k, len), MR_OK);
			assert_int_equal(mr_emitter_flush(e), MR_OK);
			free(k);
		}
	}
	mr_table *t = e->table;
	assert_int_equal(mr_emitter_finish(e), MR_OK);
	assert_int_equal(mr_table_count(t), MR_SHORT_KEY + 1);
	for (size_t len = 0; len <= MR_SHORT_KEY; len++) {
		mr_value one = {.u = 0};
		/* Found, not added: upserting 0 leaves the count at 3. */
		assert_int_equal(
			mr_table_upsert(t, want[len], len, mr_hash(want[len], len), &one, 1),
			MR_OK);
	}
	assert_int_equal(mr_table_count(t), MR_SHORT_KEY + 1);
	size_t pos = 0, len;
	const char *key;
	mr_value v;
	while (next1(t, &pos, &key, &len, &v)) {
		assert_true(len <= MR_SHORT_KEY);
		if (len)
			assert_memory_equal(key, want[len], len);
		assert_int_equal(v.u, 3);
	}
	mr_table_free(&t);
	free(e);
}

/* Colliding key i: odd ones are distinct_key's; even ones share their first
 * 8 bytes, then a group number (i / 10) and 0 to 4 zeros, so that five keys
 * have the same words and differ in length only, and keys of a length
 * differ in their second word only.  4 to 16 bytes; returns the length. */
static size_t collide_key(uint32_t i, char *k)
{
	if (i % 2)
		return distinct_key(i, k);
	uint32_t g = i / 10;
	size_t len = 12 + (i % 10) / 2;
	memcpy(k, "common!!", 8);
	memcpy(k + 8, &g, 4);
	memset(k + 12, 0, len - 12);
	return len;
}

/* Checks a table of collide_key's keys against want[0..n), and that each
 * slot's tag is mr_table_tag(h, len). */
static void check_collided(mr_table *t, const uint64_t *want, uint32_t n, uint64_t h)
{
	size_t pos = 0, len, seen = 0, expect = 0;
	const char *key;
	mr_value v;
	char k[32];
	bool *done = calloc(n, sizeof(*done));
	assert_non_null(done);
	while (next1(t, &pos, &key, &len, &v)) {
		uint32_t i;
		assert_true(len >= 4 && len <= MR_SHORT_KEY);
		if (len >= 12 && memcmp(key, "common!!", 8) == 0) {
			memcpy(&i, key + 8, 4);
			i = i * 10 + 2 * (uint32_t)(len - 12);
		} else {
			memcpy(&i, key, 4);
		}
		assert_true(i < n);
		if (done[i])
			fail_msg("key %u: twice", i);
		done[i] = true;
		size_t want_len = collide_key(i, k);
		if (len != want_len || memcmp(key, k, len) != 0)
			fail_msg("key %u: wrong key (len %zu, want %zu)", i, len, want_len);
		if (v.u != want[i])
			fail_msg("key %u: counted %llu, want %llu", i, (unsigned long long)v.u,
				 (unsigned long long)want[i]);
		assert_int_equal(t->slots[pos - 1].tag, mr_table_tag(h, len));
		seen++;
	}
	for (uint32_t i = 0; i < n; i++)
		expect += want[i] > 0;
	assert_int_equal(seen, expect);
	assert_int_equal(mr_table_count(t), expect);
	free(done);
}

/* Counts q[0..n) as the emitter does (mr_emitter_count_one): each key's
 * slot found from its home, or filled, and the homes of those after it
 * renewed when that grows the table. */
static void count_batch(mr_table *t, mr_counted *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mr_slot *s = mr_table_count_find(t, &q[i]);
		if (s->tag) {
			s->value.u++;
			continue;
		}
		const struct mr_slot *before = t->slots;
		mr_table_count_new(t, &q[i], s);
		for (size_t j = i + 1; t->slots != before && j < n; j++)
			q[j].home = mr_table_home(t, q[j].tag);
	}
}

/* Counting keys whose tags are all the same (the hash forced,
 * which mr_emit_count_short cannot do): only the key's words tell them
 * apart, also across grows in the middle of a batch; against the generic
 * upsert given the same hash, and a plain array of counts. */
static void test_count_batch_colliding_tags(void **state)
{
	MR_UNUSED(state);
	const uint32_t n = 3000;
	const uint64_t h = UINT64_C(0x0123456789abcdef);
	mr_table *t = new_table(0, mr_combine_sum), *g = new_table(0, mr_combine_sum);
	uint64_t *want = calloc(n, sizeof(*want));
	assert_non_null(want);
	mr_counted q[MR_EMIT_BATCH];
	size_t nq = 0;
	char k[32];
	uint64_t s = 41;
	for (uint32_t op = 0; op < 3 * n; op++) {
		/* every key at least once, then random ones again */
		uint32_t i = op < n ? op : (uint32_t)(splitmix64(&s) % n);
		size_t len = collide_key(i, k);
		mr_key_words(k, len, q[nq].w);
		q[nq].tag = mr_table_tag(h, len);
		q[nq].home = mr_table_home(t, h);
		if (++nq == MR_EMIT_BATCH) {
			count_batch(t, q, nq);
			nq = 0;
		}
		assert_int_equal(upsert_h(g, k, len, h, 1), MR_OK);
		want[i]++;
	}
	count_batch(t, q, nq);
	check_collided(t, want, n, h);
	check_collided(g, want, n, h);
	mr_table_free(&t);
	mr_table_free(&g);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_many_distinct),
		cmocka_unit_test(test_grows_by_a_quarter),
		cmocka_unit_test(test_random_binary_keys),
		cmocka_unit_test(test_same_hash_for_all),
		cmocka_unit_test(test_colliding_hashes_grow),
		cmocka_unit_test(test_lengths_and_empty_key),
		cmocka_unit_test(test_long_keys),
		cmocka_unit_test(test_float_values),
		cmocka_unit_test(test_combine_error),
		cmocka_unit_test(test_key_words_and_hash),
		cmocka_unit_test(test_refill_in_iteration_order),
		cmocka_unit_test(test_count_short),
		cmocka_unit_test(test_count_short_limit),
		cmocka_unit_test(test_count_short_unwritten_slack),
		cmocka_unit_test(test_count_batch_colliding_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
