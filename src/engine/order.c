/*
 * Phase 5, order.  Sorts the reduced table globally so that the output file
 * is the same whatever the number of ranks: a sample sort.  Every rank sorts
 * its keys, sends a few evenly spaced samples to all, all pick the same
 * nranks-1 splitters, and one more exchange sends each key to the rank whose
 * interval holds it.  Rank order then is output order.  Keys are unique after
 * reduce, so the comparison is a total order and the result is exact.
 */
#include "engine/run.h"

#include <stdlib.h>

#define SAMPLES_PER_RANK 64
#define MAX_SPLITTER_KEY 256 /* bytes of a sampled key that go to every rank */

/*
 * 40 bytes, so that a million sort in a few cache-friendly megabytes.  A
 * one-word value is the item's own value; a value of several words (or a
 * set) is in a frame, its words just before the key: see item_vals.  A key
 * of up to 16 bytes is the item's own too (prefix and rest), so that items
 * made from a table outlive its slots, which go back to the system as the
 * items are made: key is then NULL.
 */
struct item {
	mr_value value;	 /* what order "count" sorts by: field 0, or a set's size */
	uint64_t prefix; /* the key's bytes 0-7, big-endian, zero-padded */
	uint64_t rest;	 /* its bytes 8-15 likewise */
	const char *key; /* its bytes; NULL for a short key of a table's */
	uint32_t len;
	uint32_t nvals;
};

/* The item's value words: its own value (one_word), or the frame's. */
static inline const char *item_vals(const struct item *it, bool one_word)
{
	return one_word ? (const char *)&it->value : it->key - 8 * (size_t)it->nvals;
}

/* The item's key bytes: its own pointer, or its words written into buf. */
static inline const char *item_key(const struct item *it, char buf[MR_SHORT_KEY])
{
	if (it->key)
		return it->key;
	for (int i = 0; i < 8; i++) {
		buf[i] = (char)(it->prefix >> (56 - 8 * i));
		buf[8 + i] = (char)(it->rest >> (56 - 8 * i));
	}
	return buf;
}

/* Items live in memory that gives its pages back as it is read
 * (mr_release_large): n of them, and one more. */
static struct item *items_new(size_t n)
{
	return mr_alloc_zeroed_large(mr_mul(n + 1, sizeof(struct item)), __FILE__, __LINE__);
}

static void items_free(struct item *it, size_t n)
{
	mr_free_large(it, mr_mul(n + 1, sizeof(*it)));
}

/* Items [0, i) of n are read for the last time. */
static void items_done(struct item *it, size_t n, size_t i)
{
	if (i % 4096 == 0)
		mr_release_large(it, mr_mul(n + 1, sizeof(*it)), 0, i * sizeof(*it));
}

/* Whether the job's values are MR_NUMBER: they sort as doubles. */
static bool number_values;

/* sorts_by: whether vals[0] is what order "count" sorts by, as it is for
 * every value but a set, and for the splitters' samples. */
static struct item make_item(const char *key, uint32_t len, const char *vals, uint32_t nvals,
			     bool sorts_by)
{
	mr_value v = {.u = nvals};
	if (sorts_by && nvals == 2 && number_values)
		v.f = mr_number_double(vals); /* a sample carries the double */
	else if (sorts_by)
		memcpy(&v, vals, 8);
	return (struct item){.value = v,
			     .prefix = mr_key_prefix(key, len),
			     .rest = len > 8 ? mr_key_prefix(key + 8, len - 8) : 0,
			     .key = key,
			     .len = len,
			     .nvals = nvals};
}

/* Key bytes ascending, as memcmp with the shorter first on a tie.  Equal
 * zero-padded first 16 bytes mean that the first min(len) bytes are equal,
 * and past 16 only keys longer than 16 (which keep their pointers) differ. */
static inline int cmp_key(const struct item *a, const struct item *b)
{
	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	if (a->rest != b->rest)
		return a->rest < b->rest ? -1 : 1;
	uint32_t n = a->len < b->len ? a->len : b->len;
	if (n > MR_SHORT_KEY) {
		int c = memcmp(a->key + MR_SHORT_KEY, b->key + MR_SHORT_KEY, n - MR_SHORT_KEY);
		if (c)
			return c;
	}
	return (a->len > b->len) - (a->len < b->len);
}

static inline int cmp_by_key(const void *x, const void *y)
{
	return cmp_key(x, y);
}

static inline int cmp_count_u64(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	if (a->value.u != b->value.u)
		return a->value.u > b->value.u ? -1 : 1;
	return cmp_key(a, b);
}

static inline int cmp_count_f64(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	if (a->value.f != b->value.f)
		return a->value.f > b->value.f ? -1 : 1;
	return cmp_key(a, b);
}

typedef int (*cmp_fn)(const void *, const void *);

/*
 * The sort itself: a quicksort with the comparison inlined, one copy per
 * order, since a comparison through a function pointer costs more than the
 * comparison.  Pivots are the median of three pseudo-random elements, so no
 * input order makes it quadratic in expectation; small parts are finished by
 * insertion sort.
 */
static inline void swap_items(struct item *a, struct item *b)
{
	struct item t = *a;
	*a = *b;
	*b = t;
}

#define DEFINE_SORT(name, cmp)                                                                     \
	static void name(struct item *a, size_t n, uint64_t *seed)                                 \
	{                                                                                          \
		while (n > 16) {                                                                   \
			size_t p[3];                                                               \
			for (int k = 0; k < 3; k++) {                                              \
				*seed = *seed * 6364136223846793005u + 1442695040888963407u;       \
				p[k] = (size_t)((*seed >> 33) % n);                                \
			}                                                                          \
			size_t m =                                                                 \
				cmp(&a[p[0]], &a[p[1]]) < 0                                        \
					? (cmp(&a[p[1]], &a[p[2]]) < 0                             \
						   ? p[1]                                          \
						   : (cmp(&a[p[0]], &a[p[2]]) < 0 ? p[2] : p[0]))  \
					: (cmp(&a[p[0]], &a[p[2]]) < 0                             \
						   ? p[0]                                          \
						   : (cmp(&a[p[1]], &a[p[2]]) < 0 ? p[2] : p[1])); \
			/* The pivot first, so that Hoare's j ends below n - 1. */                 \
			swap_items(&a[0], &a[m]);                                                  \
			struct item pivot = a[0];                                                  \
			size_t i = 0, j = n - 1;                                                   \
			for (;;) { /* Hoare: a[0..j] <= pivot <= a[j+1..n) */                      \
				while (cmp(&a[i], &pivot) < 0)                                     \
					i++;                                                       \
				while (cmp(&pivot, &a[j]) < 0)                                     \
					j--;                                                       \
				if (i >= j)                                                        \
					break;                                                     \
				swap_items(&a[i++], &a[j--]);                                      \
			}                                                                          \
			/* Recurse into the smaller part, loop on the larger. */                   \
			if (j + 1 < n - j - 1) {                                                   \
				name(a, j + 1, seed);                                              \
				a += j + 1, n -= j + 1;                                            \
			} else {                                                                   \
				name(a + j + 1, n - j - 1, seed);                                  \
				n = j + 1;                                                         \
			}                                                                          \
		}                                                                                  \
		for (size_t i = 1; i < n; i++)                                                     \
			for (size_t k = i; k > 0 && cmp(&a[k], &a[k - 1]) < 0; k--)                \
				swap_items(&a[k], &a[k - 1]);                                      \
	}

DEFINE_SORT(sort_by_key, cmp_by_key)
DEFINE_SORT(sort_count_u64, cmp_count_u64)
DEFINE_SORT(sort_count_f64, cmp_count_f64)

/*
 * Many items are sorted by radix first (in place, most significant byte
 * first: an American flag sort), on the words whose order is the
 * comparison's: the count complemented (largest first), then the key's
 * first 16 bytes as prefix and rest.  A part smaller than RADIX_MIN, or
 * one whose radix words are all equal (keys that differ past 16 bytes, or
 * only in length), is finished by the comparison sort, so the order is
 * exactly the comparison's.  Bytes that every item of a part shares are
 * skipped in one pass, not one pass each: counts are small numbers, whose
 * high bytes are all zero.
 */
#define RADIX_MIN 64

static inline uint64_t radix_count_word(const struct item *it, unsigned w)
{
	return w == 0 ? ~it->value.u : w == 1 ? it->prefix : it->rest;
}

static inline uint64_t radix_key_word(const struct item *it, unsigned w)
{
	return w == 0 ? it->prefix : it->rest;
}

/* The digit d's byte of word x: byte 0 the most significant. */
static inline unsigned radix_byte(uint64_t x, unsigned d)
{
	return (unsigned)(x >> (56 - 8 * (d & 7))) & 0xff;
}

#define DEFINE_RADIX(name, word, nwords, finish)                                       \
	static void name(struct item *a, size_t n, unsigned d, uint64_t *seed)         \
	{                                                                              \
		for (;;) {                                                             \
			if (n < RADIX_MIN || d >= 8 * (nwords)) {                      \
				finish(a, n, seed);                                    \
				return;                                                \
			}                                                              \
			/* Past the bytes the part shares, in the word of digit d. */  \
			unsigned w = d / 8;                                            \
			uint64_t first = word(&a[0], w), differ = 0;                   \
			for (size_t i = 1; i < n; i++)                                 \
				differ |= word(&a[i], w) ^ first;                      \
			differ &= UINT64_MAX >> (8 * (d & 7));                         \
			if (!differ) {                                                 \
				d = 8 * (w + 1);                                       \
				continue;                                              \
			}                                                              \
			d = 8 * w + (unsigned)__builtin_clzll(differ) / 8;             \
			size_t count[256] = {0}, head[256], end[256];                  \
			for (size_t i = 0; i < n; i++)                                 \
				count[radix_byte(word(&a[i], w), d)]++;                \
			for (size_t b = 0, at = 0; b < 256; b++) {                     \
				head[b] = at;                                          \
				at += count[b];                                        \
				end[b] = at;                                           \
			}                                                              \
			/* Each item swapped straight into its bucket's next place. */ \
			for (size_t b = 0; b < 256; b++)                               \
				while (head[b] < end[b]) {                             \
					struct item v = a[head[b]];                    \
					unsigned k = radix_byte(word(&v, w), d);       \
					while (k != b) {                               \
						struct item t = a[head[k]];            \
						a[head[k]++] = v;                      \
						v = t;                                 \
						k = radix_byte(word(&v, w), d);        \
					}                                              \
					a[head[b]++] = v;                              \
				}                                                      \
			for (size_t b = 0, at = 0; b < 256; at += count[b++])          \
				if (count[b] > 1)                                      \
					name(a + at, count[b], d + 1, seed);           \
			return;                                                        \
		}                                                                      \
	}

DEFINE_RADIX(radix_by_key, radix_key_word, 2, sort_by_key)
DEFINE_RADIX(radix_count_u64, radix_count_word, 3, sort_count_u64)

static cmp_fn comparator(const mr_ctx *c)
{
	if (c->cfg->order == MR_ORDER_KEY)
		return cmp_by_key;
	return c->job->value_type == MR_F64 || number_values ? cmp_count_f64 : cmp_count_u64;
}

static void sort_items(const mr_ctx *c, struct item *it, size_t n)
{
	uint64_t seed = 0x6d70696d72;
	if (c->cfg->order == MR_ORDER_KEY)
		radix_by_key(it, n, 0, &seed);
	else if (c->job->value_type == MR_F64 || number_values)
		sort_count_f64(it, n, &seed);
	else
		radix_count_u64(it, n, 0, &seed);
}

static struct item *items_of_frames(const mr_buf *b, bool sorts_by, size_t *n);

/* Whether the job's values are one word, which items hold themselves. */
static bool one_word(const mr_ctx *c)
{
	return mr_values_of(c->job).kind == MR_VK_ONE;
}

/* Items of the table's keys.  One-word values and keys of up to 16 bytes
 * are copied into the items, and the table's slots go back to the system
 * as they are read (longer keys stay in its arena); other values are first
 * laid out as frames in *flat (the caller frees it), which the items point
 * into. */
static struct item *items_of_table(const mr_ctx *c, mr_table *t, mr_buf *flat, size_t *n)
{
	const char *key;
	size_t len, pos = 0, i = 0;
	mr_value *v;
	uint32_t nv;
	if (!one_word(c)) {
		while (mr_table_next(t, &pos, &key, &len, &v, &nv)) {
			char *p = mr_buf_tail(flat, mr_frame_size(len, nv));
			mr_frame_put(p, key, (uint32_t)len, v, nv);
		}
		return items_of_frames(flat, c->job->value_type != MR_U64_SET, n);
	}
	*n = mr_table_count(t);
	struct item *it = items_new(*n);
	while (mr_table_next(t, &pos, &key, &len, &v, &nv)) {
		it[i] = make_item(key, (uint32_t)len, (const char *)v, nv, true);
		if (len <= MR_SHORT_KEY)
			it[i].key = NULL;
		if (++i % 4096 == 0)
			mr_table_release_below(t, pos);
	}
	return it;
}

static struct item *items_of_frames(const mr_buf *b, bool sorts_by, size_t *n)
{
	const char *p = b->data, *end = b->data + b->len, *key, *v;
	uint32_t len, nv;
	size_t count = 0;
	while (mr_frame_get(&p, end, &key, &len, &v, &nv))
		count++;
	struct item *it = items_new(count);
	for (p = b->data, *n = 0; mr_frame_get(&p, end, &key, &len, &v, &nv);)
		it[(*n)++] = make_item(key, len, v, nv, sorts_by);
	return it;
}

/* one_word: the items' values are their own (see item_vals).  release:
 * the items are read for the last time. */
static void frames_of_items(struct item *it, size_t n, bool one_word, bool release, mr_buf *out)
{
	char buf[MR_SHORT_KEY];
	for (size_t i = 0; i < n; i++) {
		char *p = mr_buf_tail(out, mr_frame_size(it[i].len, it[i].nvals));
		mr_frame_put(p, item_key(&it[i], buf), it[i].len, item_vals(&it[i], one_word),
			     it[i].nvals);
		if (release)
			items_done(it, n, i + 1);
	}
}

/* Every rank gets the same nranks-1 splitters, as items pointing into
 * *store (which the caller frees). */
static struct item *pick_splitters(mr_ctx *c, const struct item *it, size_t n, cmp_fn cmp,
				   mr_buf *store)
{
	size_t k = n < SAMPLES_PER_RANK ? n : SAMPLES_PER_RANK;
	struct item *mine = mr_malloc(mr_mul(k + 1, sizeof(*mine)));
	for (size_t i = 0; i < k; i++) {
		mine[i] = it[(i * 2 + 1) * n / (2 * k)];
		/* Every rank gets every sample, so a sampled key of 100 MB
		 * would be copied to all.  A prefix splits as well: cutting
		 * keys keeps the splitters in order (a prefix of a key sorts
		 * no later than the key, and prefixes keep their keys' order). */
		if (mine[i].len > MAX_SPLITTER_KEY)
			mine[i].len = MAX_SPLITTER_KEY;
		/* Of the value, only what the order sorts by. */
		mine[i].nvals = 1;
	}
	mr_buf local = {0};
	frames_of_items(mine, k, true, false, &local);
	free(mine);

	int nr = c->nranks;
	int *cnt = mr_malloc(mr_mul((size_t)nr, 2 * sizeof(int)));
	int *displ = cnt + nr;
	int len = mr_int_count(local.len);
	MR_MPI(MPI_Allgather(&len, 1, MPI_INT, cnt, 1, MPI_INT, c->comm));
	uint64_t at = 0;
	for (int i = 0; i < nr; i++) {
		displ[i] = mr_int_count(at);
		at += (uint64_t)cnt[i];
	}
	store->len = 0;
	mr_buf_reserve(store, (size_t)at + 1);
	store->len = (size_t)at;
	MR_MPI(MPI_Allgatherv(local.data ? local.data : "", len, MPI_BYTE, store->data, cnt, displ,
			      MPI_BYTE, c->comm));
	free(cnt);
	mr_buf_release(&local);

	size_t ns;
	struct item *samples = items_of_frames(store, true, &ns);
	qsort(samples, ns, sizeof(*samples), cmp);
	struct item *split = mr_malloc(mr_mul((size_t)nr, sizeof(*split)));
	for (int j = 1; j < nr && ns > 0; j++)
		split[j - 1] = samples[(size_t)j * ns / (size_t)nr];
	items_free(samples, ns);
	return split;
}

/* Sends each sorted item to the rank whose splitter interval holds it,
 * and receives this rank's interval, framed, into *recv.  Frees the items
 * (as it frames them) and the table, so that neither is held with the
 * frames sent and received. */
static int sample_sort(mr_ctx *c, mr_table **t, struct item *it, size_t n, cmp_fn cmp, mr_buf *recv)
{
	int nr = c->nranks;
	mr_buf store = {0}, send = {0};
	struct item *split = pick_splitters(c, it, n, cmp, &store);
	uint64_t *counts = mr_calloc((size_t)nr, sizeof(uint64_t));
	bool any = store.len > 0;
	int d = 0;
	for (size_t i = 0; i < n; i++) {
		/* A key equal to splitter j goes to rank j. */
		while (any && d < nr - 1 && cmp(&it[i], &split[d]) > 0)
			d++;
		counts[d] += mr_frame_size(it[i].len, it[i].nvals);
	}
	free(split);
	mr_buf_release(&store);
	/* The frames take all of it: reserved at once, not grown by copies. */
	uint64_t total = 0;
	for (int i = 0; i < nr; i++)
		total += counts[i];
	mr_buf_reserve(&send, (size_t)total);
	frames_of_items(it, n, one_word(c), true, &send);
	items_free(it, n);
	mr_table_free(t);
	int rc = mr_exchange(c->comm, send.data ? send.data : "", counts, c->cfg->shuffle_round,
			     recv, &(uint64_t){0});
	mr_buf_release(&send);
	free(counts);
	return rc;
}

/* The ordered items as this rank's result: a run of their pairs.  The
 * items are read for the last time. */
static void fill_result(const mr_ctx *c, struct item *it, size_t n, mr_frames *out)
{
	bool one = one_word(c);
	char buf[MR_SHORT_KEY];
	for (size_t i = 0; i < n; i++) {
		/* Sorted, long keys are in the table at random: fetch ahead. */
		if (i + 16 < n && it[i + 16].key)
			__builtin_prefetch(it[i + 16].key);
		mr_pair p = {.key = item_key(&it[i], buf),
			     .klen = it[i].len,
			     .val = item_vals(&it[i], one),
			     .vlen = 8 * it[i].nvals};
		mr_frames_add(out, &p);
		items_done(it, n, i + 1);
	}
}

/*
 * What a rank receives in the sample sort is one sorted run from each
 * sender: they are merged straight into the result, a heap of runs keyed
 * by each run's first frame left.  Runs are found where the order breaks,
 * so nothing is assumed.
 */
struct run_head {
	const char *p, *end; /* the frames left after head */
	struct item head;
	const char *vals; /* head's value words */
};

static bool run_next(struct run_head *r, bool sorts_by)
{
	const char *key, *v;
	uint32_t len, nv;
	if (!mr_frame_get(&r->p, r->end, &key, &len, &v, &nv))
		return false;
	r->head = make_item(key, len, v, nv, sorts_by);
	r->vals = v;
	return true;
}

static void heap_down(struct run_head **h, size_t n, size_t i, cmp_fn cmp)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && cmp(&h[l]->head, &h[m]->head) < 0)
			m = l;
		if (l + 1 < n && cmp(&h[l + 1]->head, &h[m]->head) < 0)
			m = l + 1;
		if (m == i)
			return;
		struct run_head *x = h[i];
		h[i] = h[m];
		h[m] = x;
		i = m;
	}
}

static void merge_result(const mr_ctx *c, const mr_buf *b, cmp_fn cmp, mr_frames *out)
{
	bool sorts_by = c->job->value_type != MR_U64_SET;
	const char *p = b->data, *end = b->data + b->len, *key, *v;
	uint32_t len, nv;
	size_t nruns = 0, cap = 16;
	struct run_head *runs = mr_malloc(mr_mul(cap, sizeof(*runs)));
	struct item prev = {0};
	for (const char *at = p; mr_frame_get(&p, end, &key, &len, &v, &nv); at = p) {
		struct item cur = make_item(key, len, v, nv, sorts_by);
		if (nruns == 0 || cmp(&prev, &cur) >= 0) {
			MR_GROW(runs, cap, nruns + 1);
			if (nruns > 0)
				runs[nruns - 1].end = at;
			runs[nruns++] = (struct run_head){.p = at};
		}
		prev = cur;
	}
	struct run_head **h = mr_malloc(mr_mul(nruns + 1, sizeof(*h)));
	size_t nh = 0;
	for (size_t r = 0; r < nruns; r++) {
		if (r + 1 == nruns)
			runs[r].end = end;
		if (run_next(&runs[r], sorts_by))
			h[nh++] = &runs[r];
	}
	for (size_t i = nh / 2; i-- > 0;)
		heap_down(h, nh, i, cmp);
	while (nh > 0) {
		struct run_head *r = h[0];
		mr_pair q = {.key = r->head.key,
			     .klen = r->head.len,
			     .val = r->vals,
			     .vlen = 8 * r->head.nvals};
		mr_frames_add(out, &q);
		if (!run_next(r, sorts_by))
			h[0] = h[--nh];
		heap_down(h, nh, 0, cmp);
	}
	free(h);
	free(runs);
}

enum mr_result_order mr_result_order(const mr_ctx *c)
{
	if (c->job->result == MR_RESULT_RECORDS)
		return c->job->reduce ? MR_IN_KEY : MR_IN_INPUT;
	if (mr_values_of(c->job).kind == MR_VK_BYTES)
		return MR_IN_KEY;
	switch (c->cfg->order) {
	case MR_ORDER_COUNT: return MR_IN_COUNT;
	case MR_ORDER_KEY: return MR_IN_KEY;
	default: return MR_IN_NONE;
	}
}

int mr_order(mr_ctx *c, mr_table **t, mr_frames *out)
{
	/* The phase's fault point, for tests (fault.c). */
	int fault = mr_fault(c, MR_PHASE_ORDER);
	if (fault != MR_OK)
		return fault;
	size_t n;
	mr_buf flat = {0};
	number_values = c->job->value_type == MR_NUMBER;
	struct item *it = items_of_table(c, *t, &flat, &n);
	if (!one_word(c))
		mr_table_free(t); /* the items point into flat only */
	if (c->cfg->order == MR_ORDER_NONE || c->nranks == 1) {
		if (c->cfg->order != MR_ORDER_NONE)
			sort_items(c, it, n);
		fill_result(c, it, n, out);
		items_free(it, n);
		mr_buf_release(&flat);
		mr_table_free(t);
		return MR_OK;
	}
	cmp_fn cmp = comparator(c);
	sort_items(c, it, n);
	mr_buf recv = {0};
	int rc = sample_sort(c, t, it, n, cmp, &recv);
	mr_buf_release(&flat);
	if (rc == MR_OK)
		merge_result(c, &recv, cmp, out);
	mr_buf_release(&recv);
	return rc;
}
