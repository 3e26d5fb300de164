/*
 * Unit tests for the table's values of several words and sets, and the
 * emitter that applies pairs in batches.
 *
 * Values of several words and sets: width 3 with a different combine per
 * field, 30k keys through many grows, words given aligned and not, read back
 * exactly, changed in place and combined into again; sets of uint64 members
 * (single members out of order, repeated, appended, and whole sorted lists
 * merged at once) over thousands of keys against a reference sorted and made
 * distinct here, three of them grown past many doublings of their blocks,
 * and each kind of merge once on its own.  The emitter, which applies pairs
 * in batches, fills the same table as upserting them one at a time.
 *
 * Local only: no MPI call is made.
 */
#include "table_util.h"

/* ---- values of several fields ------------------------------------------ */

#define W 3

static unsigned long fields_calls;

/* A different rule per field, so that fields that were swapped, shifted or
 * left uncombined show: a sum, a maximum, and a minimum of doubles. */
static int combine3(mr_value *acc, const mr_value *in)
{
	fields_calls++;
	if (in[0].u == BAD_VALUE)
		return MR_ERR_JOB;
	acc[0].u += in[0].u;
	if (in[1].u > acc[1].u)
		acc[1].u = in[1].u;
	if (in[2].f < acc[2].f)
		acc[2].f = in[2].f;
	return MR_OK;
}

static void ref_combine3(mr_value *acc, const mr_value *in)
{
	unsigned long calls = fields_calls;
	assert_int_equal(combine3(acc, in), MR_OK);
	fields_calls = calls;
}

/* Key i: distinct_key's, and every fifth one made longer than 16 bytes so
 * that it lives in the key arena. */
static size_t value_key(uint32_t i, char *k)
{
	size_t len = distinct_key(i, k);
	if (i % 5 == 0) {
		memset(k + len, (int)(i & 0xff), 20 + i % 23);
		len += 20 + i % 23;
	}
	return len;
}

static mr_table *new_values_table(enum mr_vkind kind, uint32_t width, mr_combine_fn fn)
{
	mr_values vals = {.kind = kind, .width = width, .combine = fn};
	mr_table *t = mr_table_new(0, &vals); /* forces many grows */
	assert_non_null(t);
	return t;
}

/* Every key of t once, each i < n with seen[i] set, its value ref[i]. */
static void check_fields(mr_table *t, const mr_value (*ref)[W], const bool *seen, uint32_t n)
{
	size_t pos = 0, len, found = 0;
	const char *key;
	mr_value *vals;
	uint32_t nvals;
	char k[64];
	char *done = calloc(n, 1);
	assert_non_null(done);
	while (mr_table_next(t, &pos, &key, &len, &vals, &nvals)) {
		uint32_t i;
		assert_true(len >= 4);
		memcpy(&i, key, 4);
		assert_true(i < n && seen[i]);
		if (done[i]++)
			fail_msg("key %u: seen twice", i);
		size_t want = value_key(i, k);
		assert_int_equal(len, want);
		assert_memory_equal(key, k, len);
		assert_int_equal(nvals, W);
		assert_int_equal((uintptr_t)vals % 8, 0);
		if (memcmp(vals, ref[i], sizeof(ref[i])) != 0)
			fail_msg("key %u: fields %llu %llu %g, want %llu %llu %g", i,
				 (unsigned long long)vals[0].u, (unsigned long long)vals[1].u,
				 vals[2].f, (unsigned long long)ref[i][0].u,
				 (unsigned long long)ref[i][1].u, ref[i][2].f);
		found++;
	}
	size_t want = 0;
	for (uint32_t i = 0; i < n; i++)
		want += seen[i];
	assert_int_equal(found, want);
	assert_int_equal(mr_table_count(t), want);
	free(done);
}

static void random_fields(uint64_t *s, mr_value *v)
{
	v[0].u = splitmix64(s) % 1000000;
	v[1].u = splitmix64(s);
	v[2].f = (double)(int64_t)(splitmix64(s) % 2000001) - 1000000.0;
}

/* Width 3: 120k upserts over 30k keys, their words given aligned and not,
 * through many grows of the slots and of the value arena; then every value
 * read back exactly, changed in place, and combined into again. */
static void test_fields(void **state)
{
	MR_UNUSED(state);
	enum { N = 30000, OPS = 120000 };
	static mr_value ref[N][W];
	static bool seen[N];
	memset(seen, 0, sizeof(seen));
	mr_table *t = new_values_table(MR_VK_FIELDS, W, combine3);
	size_t mem0 = mr_table_memory(t);
	uint64_t s = 21;
	char k[64];
	unsigned long merges = 0;
	fields_calls = 0;
	for (int op = 0; op < OPS; op++) {
		uint32_t i = (uint32_t)(splitmix64(&s) % N);
		mr_value v[W];
		random_fields(&s, v);
		char raw[8 * W + 8];
		char *at = raw + op % 8; /* every alignment */
		memcpy(at, v, sizeof(v));
		size_t len = value_key(i, k);
		assert_int_equal(mr_table_upsert(t, k, len, mr_hash(k, len), at, W), MR_OK);
		if (seen[i]) {
			ref_combine3(ref[i], v);
			merges++;
		} else {
			memcpy(ref[i], v, sizeof(v));
			seen[i] = true;
		}
	}
	assert_int_equal(fields_calls, merges);
	assert_true(mr_table_memory(t) > mem0);
	check_fields(t, (const mr_value(*)[W])ref, seen, N);

	/* The values may be changed in place, and combining goes on from there. */
	size_t pos = 0, len;
	const char *key;
	mr_value *vals;
	uint32_t nvals;
	while (mr_table_next(t, &pos, &key, &len, &vals, &nvals)) {
		uint32_t i;
		memcpy(&i, key, 4);
		vals[0].u = i;
		vals[1].u = 0;
		vals[2].f = 0.0;
		ref[i][0].u = i;
		ref[i][1].u = 0;
		ref[i][2].f = 0.0;
	}
	for (uint32_t i = 0; i < N; i++) {
		if (!seen[i])
			continue;
		mr_value v[W] = {{.u = 1}, {.u = i % 7}, {.f = -(double)(i % 3)}};
		len = value_key(i, k);
		assert_int_equal(mr_table_upsert(t, k, len, mr_hash(k, len), v, W), MR_OK);
		ref_combine3(ref[i], v);
	}
	check_fields(t, (const mr_value(*)[W])ref, seen, N);

	/* The combine's failure comes back, and the value is as it left it. */
	mr_value bad[W] = {{.u = BAD_VALUE}, {.u = UINT64_MAX}, {.f = -1e300}};
	uint32_t i = 0;
	while (!seen[i])
		i++;
	len = value_key(i, k);
	assert_int_equal(mr_table_upsert(t, k, len, mr_hash(k, len), bad, W), MR_ERR_JOB);
	check_fields(t, (const mr_value(*)[W])ref, seen, N);
	mr_table_free(&t);
	assert_null(t);
}

/* ---- sets ------------------------------------------------------------------ */

/* A key's members as inserted, duplicates and all; sorted at the end. */
struct members {
	uint64_t *m;
	size_t n, cap;
	uint64_t max; /* the largest so far, when n > 0 */
};

static void members_add(struct members *r, const uint64_t *m, size_t n)
{
	if (r->n + n > r->cap) {
		r->cap = (r->n + n) * 2;
		r->m = realloc(r->m, r->cap * sizeof(uint64_t));
		assert_non_null(r->m);
	}
	for (size_t j = 0; j < n; j++) {
		if (r->n == 0 || m[j] > r->max)
			r->max = m[j];
		r->m[r->n++] = m[j];
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Sorts m[0..n) and drops duplicates; returns the new count. */
static size_t sort_distinct(uint64_t *m, size_t n)
{
	qsort(m, n, sizeof(*m), cmp_u64);
	size_t k = 0;
	for (size_t j = 0; j < n; j++)
		if (k == 0 || m[j] != m[k - 1])
			m[k++] = m[j];
	return k;
}

/* A member: from a small range (so that keys repeat members), anywhere in
 * 64 bits, or one of the extremes. */
static uint64_t random_member(uint64_t *s)
{
	uint64_t r = splitmix64(s);
	switch (r % 8) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2:
	case 3: return splitmix64(s);
	default: return splitmix64(s) % 200;
	}
}

/* Fills m with a sorted, distinct list of about n members, some of them
 * already in r; returns how many. */
static size_t random_list(uint64_t *s, const struct members *r, uint64_t *m, size_t n)
{
	for (size_t j = 0; j < n; j++)
		m[j] = r->n && splitmix64(s) % 3 == 0 ? r->m[splitmix64(s) % r->n]
						      : random_member(s);
	return sort_distinct(m, n);
}

/* Every key i < n with refs[i].n > 0 holds exactly the sorted, distinct
 * members of refs[i] (sorted in place here). */
static void check_sets(mr_table *t, struct members *refs, uint32_t n,
		       size_t (*keyfn)(uint32_t, char *))
{
	size_t want = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (refs[i].n) {
			refs[i].n = sort_distinct(refs[i].m, refs[i].n);
			want++;
		}
	}
	char *done = calloc(n, 1);
	assert_non_null(done);
	size_t pos = 0, len, found = 0;
	const char *key;
	mr_value *vals;
	uint32_t nvals;
	char k[64];
	while (mr_table_next(t, &pos, &key, &len, &vals, &nvals)) {
		uint32_t i;
		assert_true(len >= 4);
		memcpy(&i, key, 4);
		assert_true(i < n && refs[i].n > 0);
		if (done[i]++)
			fail_msg("key %u: seen twice", i);
		assert_int_equal(len, keyfn(i, k));
		assert_memory_equal(key, k, len);
		assert_int_equal((uintptr_t)vals % 8, 0);
		if (nvals != refs[i].n)
			fail_msg("key %u: %u members, want %zu", i, nvals, refs[i].n);
		for (uint32_t j = 0; j < nvals; j++)
			if (vals[j].u != refs[i].m[j])
				fail_msg("key %u: member %u is %llu, want %llu", i, j,
					 (unsigned long long)vals[j].u,
					 (unsigned long long)refs[i].m[j]);
		found++;
	}
	assert_int_equal(found, want);
	assert_int_equal(mr_table_count(t), want);
	free(done);
}

static void free_members(struct members *refs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(refs[i].m);
}

static int set_upsert(mr_table *t, uint32_t i, const uint64_t *m, size_t n, bool unaligned)
{
	char k[64];
	size_t len = value_key(i, k);
	static char raw[8 * 512 + 8];
	assert_true(n <= 512);
	const void *v = m;
	if (unaligned) {
		memcpy(raw + 3, m, n * 8);
		v = raw + 3;
	}
	return mr_table_upsert(t, k, len, mr_hash(k, len), v, (uint32_t)n);
}

/*
 * Random members in random order over 3000 keys: single members anywhere
 * (mostly out of order, often already there), the set's last member again,
 * one past it, and whole sorted lists merged at once (nvals > 1, overlapping
 * what the key has).  Keys 0 to 2 grow big, past many doublings of their
 * blocks: key 0 by ascending single members, key 1 by single members in
 * random order, key 2 by lists of up to 300.  The table grows meanwhile.
 */
static void test_sets_random(void **state)
{
	MR_UNUSED(state);
	enum { N = 3000, OPS = 150000 };
	static struct members refs[N];
	memset(refs, 0, sizeof(refs));
	mr_table *t = new_values_table(MR_VK_SET, 1, NULL);
	size_t mem0 = mr_table_memory(t);
	uint64_t s = 33, list[512];
	for (int op = 0; op < OPS; op++) {
		uint64_t r = splitmix64(&s) % 100;
		uint32_t i = 3 + (uint32_t)(splitmix64(&s) % (N - 3));
		bool unaligned = op % 2;
		size_t n = 1;
		if (r < 4) { /* key 0: ascending, with repeats */
			i = 0;
			list[0] = refs[0].n ? refs[0].max + splitmix64(&s) % 3 : 5;
		} else if (r < 9) { /* key 1: anywhere */
			i = 1;
			list[0] = splitmix64(&s) % 100000;
		} else if (r < 10) { /* key 2: long lists */
			i = 2;
			n = random_list(&s, &refs[2], list, 1 + splitmix64(&s) % 300);
		} else if (r < 50) { /* a single member anywhere */
			list[0] = random_member(&s);
		} else if (r < 65) { /* the last member again, or one past it */
			list[0] = refs[i].n ? refs[i].max : 7;
			if (refs[i].max < UINT64_MAX && splitmix64(&s) % 2)
				list[0]++;
		} else { /* a sorted list of 2 to 40 */
			n = random_list(&s, &refs[i], list, 2 + splitmix64(&s) % 39);
		}
		assert_int_equal(set_upsert(t, i, list, n, unaligned), MR_OK);
		members_add(&refs[i], list, n);
	}
	assert_true(mr_table_memory(t) > mem0);
	check_sets(t, refs, N, value_key);
	/* The big ones are big: blocks from 2 members doubled many times. */
	assert_true(refs[0].n > 3000);
	assert_true(refs[1].n > 5000);
	assert_true(refs[2].n > 20000);
	free_members(refs, N);
	mr_table_free(&t);
}

/* The cases one at a time, on a key of its own each, checked against the
 * members listed here. */
static void test_set_cases(void **state)
{
	MR_UNUSED(state);
	enum { N = 12 };
	static struct members refs[N];
	memset(refs, 0, sizeof(refs));
	mr_table *t = new_values_table(MR_VK_SET, 1, NULL);
	static const uint64_t one[] = {7};
	static const uint64_t ends[] = {0, UINT64_MAX};
	static const uint64_t mid[] = {3, 5, 9, 11, 1000};
	static const uint64_t low[] = {0, 1, 2};
	static const uint64_t high[] = {2000, 3000, UINT64_MAX - 1, UINT64_MAX};
	static const uint64_t same[] = {3, 5, 9};
	struct {
		uint32_t key;
		const uint64_t *m;
		size_t n;
	} steps[] = {
		/* a single member, then the same again (the last member) */
		{0, one, 1},
		{0, one, 1},
		{0, one, 1},
		/* a list, then lists wholly below, wholly above, inside (all
		 * there already), one member in the middle already there, the
		 * extremes already there */
		{1, mid, 5},
		{1, low, 3},
		{1, high, 4},
		{1, same, 3},
		{1, mid + 2, 1},
		{1, ends, 2},
		/* the extremes, then members between them, and an empty list */
		{2, ends, 2},
		{2, mid, 5},
		{2, one, 1},
		{2, one, 0},
		/* a list, then single members below it, one already there, and
		 * the last member again */
		{3, high, 4},
		{3, mid, 1},
		{3, low, 1},
		{3, ends, 1},
		{3, ends + 1, 1},
		{3, high + 3, 1},
		/* the whole set again */
		{4, mid, 5},
		{4, mid, 5},
	};
	for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++) {
		assert_int_equal(set_upsert(t, steps[j].key, steps[j].m, steps[j].n, j % 2), MR_OK);
		members_add(&refs[steps[j].key], steps[j].m, steps[j].n);
	}
	/* Key 5: a set built from a descending run of single members, each one
	 * inserted before all the others. */
	for (uint64_t x = 600; x-- > 0;) {
		assert_int_equal(set_upsert(t, 5, &x, 1, x % 2), MR_OK);
		members_add(&refs[5], &x, 1);
	}
	check_sets(t, refs, N, value_key);
	free_members(refs, N);
	mr_table_free(&t);
}

/* ---- batches, and the emitter ------------------------------------------------ */

/* Reads a table into a key-sorted list of entries, for comparing two. */
struct entry {
	char key[64];
	size_t len;
	uint32_t nvals;
	mr_value *vals;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static struct entry *snapshot(mr_table *t)
{
	size_t n = mr_table_count(t), k = 0, pos = 0, len;
	struct entry *e = calloc(n ? n : 1, sizeof(*e));
	assert_non_null(e);
	const char *key;
	mr_value *vals;
	uint32_t nvals;
	while (mr_table_next(t, &pos, &key, &len, &vals, &nvals)) {
		assert_true(k < n && len <= sizeof(e[k].key));
		memcpy(e[k].key, key, len);
		e[k].len = len;
		e[k].nvals = nvals;
		e[k].vals = malloc(nvals ? nvals * 8 : 1);
		assert_non_null(e[k].vals);
		memcpy(e[k].vals, vals, nvals * 8);
		k++;
	}
	assert_int_equal(k, n);
	qsort(e, n, sizeof(*e), cmp_entry);
	return e;
}

static void assert_same_tables(mr_table *a, mr_table *b)
{
	assert_int_equal(mr_table_count(a), mr_table_count(b));
	assert_int_equal(mr_table_key_bytes(a), mr_table_key_bytes(b));
	size_t n = mr_table_count(a);
	struct entry *x = snapshot(a), *y = snapshot(b);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(x[i].len, y[i].len);
		assert_memory_equal(x[i].key, y[i].key, x[i].len);
		assert_int_equal(x[i].nvals, y[i].nvals);
		if (x[i].nvals)
			assert_memory_equal(x[i].vals, y[i].vals, x[i].nvals * 8);
		free(x[i].vals);
		free(y[i].vals);
	}
	free(x);
	free(y);
}

/* mr_table_upsert_batch applies pending upserts in order (keys padded with
 * zeros, as the header asks) and stops at the first failure: the pairs after
 * it are not applied. */
static void test_batch_stops_at_failure(void **state)
{
	MR_UNUSED(state);
	mr_values fv = {.kind = MR_VK_FIELDS, .width = W, .combine = combine3};
	mr_table *t = mr_table_new(0, &fv);
	static const char keys[4][32] = {"a", "b", "a", "a-key-longer-than-16-bytes"};
	mr_value v[4][W] = {{{.u = 1}, {.u = 10}, {.f = 5.0}},
			    {{.u = 2}, {.u = 20}, {.f = 6.0}},
			    {{.u = BAD_VALUE}, {.u = 0}, {.f = 0.0}},
			    {{.u = 4}, {.u = 40}, {.f = 8.0}}};
	mr_pending p[4];
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 4; i++) {
		p[i].key = keys[i];
		p[i].len = strlen(keys[i]);
		p[i].hash = mr_hash(keys[i], p[i].len);
		p[i].vals = v[i];
		p[i].nvals = W;
		mr_table_prefetch(t, p[i].hash);
	}
	assert_int_equal(mr_table_upsert_batch(t, p, 2), MR_OK);
	assert_int_equal(mr_table_upsert_batch(t, p + 2, 2), MR_ERR_JOB);
	assert_int_equal(mr_table_count(t), 2); /* the long key was not added */
	v[2][0].u = 3;
	assert_int_equal(mr_table_upsert_batch(t, p + 2, 2), MR_OK);
	assert_int_equal(mr_table_count(t), 3);
	mr_value want[3][W] = {{{.u = 4}, {.u = 10}, {.f = 0.0}},
			       {{.u = 2}, {.u = 20}, {.f = 6.0}},
			       {{.u = 4}, {.u = 40}, {.f = 8.0}}};
	size_t pos = 0, len;
	const char *key;
	mr_value *vals;
	uint32_t nvals;
	unsigned seen = 0;
	while (mr_table_next(t, &pos, &key, &len, &vals, &nvals)) {
		int i = len == 1 ? key[0] - 'a' : 2;
		assert_true(i >= 0 && i < 3 && !(seen & (1u << i)));
		seen |= 1u << i;
		assert_int_equal(nvals, W);
		assert_memory_equal(vals, want[i], sizeof(want[i]));
	}
	assert_int_equal(seen, 7);
	mr_table_free(&t);
}

/* The emitter queues pairs and applies them in batches
 * (mr_table_upsert_batch, padded keys); the table it fills is the one that
 * upserting the same pairs one at a time gives.  Width 3 by mr_emit_fields
 * and mr_emit (field 0 only), sets by mr_emit (one member) and mr_emit_words
 * (whole lists); keys short and long, so that batches hold several long
 * keys. */
static void test_emitter_batches(void **state)
{
	MR_UNUSED(state);
	enum { KEYS = 2000, OPS = 20000 };
	char k[64];
	/* fields */
	mr_values fv = {.kind = MR_VK_FIELDS, .width = W, .combine = combine3};
	mr_table *a = mr_table_new(0, &fv), *b = mr_table_new(0, &fv);
	mr_emitter *e = malloc(sizeof(*e));
	assert_non_null(e);
	mr_emitter_init(e, a, &fv);
	uint64_t s = 77;
	for (int op = 0; op < OPS; op++) {
		uint32_t i = (uint32_t)(splitmix64(&s) % KEYS);
		size_t len = value_key(i, k);
		mr_value v[W];
		random_fields(&s, v);
		if (op % 4 == 0) {
			assert_int_equal(mr_emit(e, k, len, v[0]), MR_OK);
			v[1].u = 0;
			v[2].f = 0.0;
		} else {
			assert_int_equal(mr_emit_fields(e, k, len, v), MR_OK);
		}
		assert_int_equal(mr_table_upsert(b, k, len, mr_hash(k, len), v, W), MR_OK);
	}
	assert_int_equal(mr_emitter_finish(e), MR_OK);
	assert_int_equal(e->pairs, OPS);
	assert_same_tables(a, b);
	mr_table_free(&a);
	mr_table_free(&b);

	/* sets: each list stays where it is until the emitter is finished */
	mr_values sv = {.kind = MR_VK_SET, .width = 1};
	a = mr_table_new(0, &sv);
	b = mr_table_new(0, &sv);
	mr_emitter_init(e, a, &sv);
	static struct members none;
	uint64_t *lists = malloc(OPS * 16 * sizeof(uint64_t));
	assert_non_null(lists);
	for (int op = 0; op < OPS; op++) {
		uint32_t i = (uint32_t)(splitmix64(&s) % KEYS);
		size_t len = value_key(i, k);
		uint64_t *m = lists + (size_t)op * 16;
		size_t n = 1;
		if (op % 3 == 0) {
			n = random_list(&s, &none, m, 1 + splitmix64(&s) % 16);
			assert_int_equal(mr_emit_words(e, k, len, m, (uint32_t)n), MR_OK);
		} else {
			m[0] = random_member(&s);
			assert_int_equal(mr_emit(e, k, len, (mr_value){.u = m[0]}), MR_OK);
		}
		assert_int_equal(mr_table_upsert(b, k, len, mr_hash(k, len), m, (uint32_t)n),
				 MR_OK);
	}
	assert_int_equal(mr_emitter_finish(e), MR_OK);
	assert_same_tables(a, b);
	free(lists);
	mr_table_free(&a);
	mr_table_free(&b);

	/* A combine's failure in a batch comes back from the emit that applies
	 * the batch (the MR_EMIT_BATCH-th), and from finish. */
	a = mr_table_new(0, &fv);
	mr_emitter_init(e, a, &fv);
	mr_value v[W] = {{.u = 1}, {.u = 2}, {.f = 3.0}};
	assert_int_equal(mr_emit_fields(e, "k", 1, v), MR_OK);
	v[0].u = BAD_VALUE;
	int rc = mr_emit_fields(e, "k", 1, v);
	v[0].u = 1;
	for (int i = 2; rc == MR_OK && i < MR_EMIT_BATCH; i++)
		rc = mr_emit_fields(e, "j", 1, v);
	assert_int_equal(rc, MR_ERR_JOB);
	assert_int_equal(mr_emitter_finish(e), MR_ERR_JOB);
	mr_table_free(&a);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_sets_random),
		cmocka_unit_test(test_set_cases),
		cmocka_unit_test(test_batch_stops_at_failure),
		cmocka_unit_test(test_emitter_batches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
