/*
 * The hash table that map combines into and reduce merges into.
 *
 * Open addressing with linear probing over 32-byte slots, two to a cache
 * line.  A slot holds a tag (the key's hash with its low byte replaced by a
 * code for the key's length), the value, and the key itself when it is at
 * most 16 bytes long, zero-padded.  Nearly every word is that short, so a hit
 * costs one cache line and no pointer chase.  A longer key lives in an arena
 * and the slot holds its offset and length.  Nothing is deleted; there is no
 * per-key allocation.
 */
#include "core/table.h"

#include <stdlib.h>

#define INLINE_MAX MR_SHORT_KEY
#define LONG_CODE  (INLINE_MAX + 2) /* length codes: 1 + len inline, this for long */
#define NO_BLOCK   UINT64_MAX

#define MAX_LOAD_NUM 7 /* grow past 70% full */
#define MAX_LOAD_DEN 10
/* Tables double up to this many slots (128 MiB, far past the caches), then
 * grow by a quarter, in whole 2 MiB pages: a big table then has at most
 * 1.25 times the slots its keys need, where doubling gives up to twice. */
#define DOUBLE_BELOW ((size_t)1 << 22)
#define PAGE_SLOTS   (((size_t)2 << 20) / sizeof(struct mr_slot))

#define load64 mr_load64

/* Whether long slot s holds key, which has len bytes.  A padded key is
 * followed by zeros to a multiple of 8, as the arena's keys are. */
static bool same_long_key(const mr_table *t, const struct mr_slot *s, const char *key, size_t len,
			  bool padded)
{
	if (s->k.far.len != len)
		return false;
	const char *a = t->arena.data + s->k.far.off;
	if (!padded)
		return memcmp(a, key, len) == 0;
	for (size_t i = 0; i < len; i += 8)
		if (load64(a + i) != load64(key + i))
			return false;
	return true;
}

static size_t next_size(size_t nslots)
{
	if (nslots < DOUBLE_BELOW)
		return mr_mul(nslots, 2);
	size_t n = mr_mul(nslots, 5) / 4 + PAGE_SLOTS - 1;
	return n / PAGE_SLOTS * PAGE_SLOTS;
}

static size_t slot_bytes(size_t nslots)
{
	return mr_mul(nslots, sizeof(struct mr_slot));
}

static void alloc_slots(mr_table *t, size_t nslots)
{
	t->slots = mr_alloc_zeroed_large(slot_bytes(nslots), __FILE__, __LINE__);
	t->nslots = nslots;
	t->released = 0;
}

mr_table *mr_table_new(size_t expected_keys, const mr_values *vals)
{
	size_t nslots = 1024;
	while (nslots / MAX_LOAD_DEN * MAX_LOAD_NUM < expected_keys)
		nslots = next_size(nslots);
	static uint64_t tables_made; /* salts differ, and runs repeat */
	mr_table *t = mr_calloc(1, sizeof(*t));
	/* splitmix64's step: unrelated salts (multiples of one would not be) */
	uint64_t z = ++tables_made * UINT64_C(0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	t->salt = (z ^ (z >> 31)) | 1;
	t->vals = *vals;
	for (size_t i = 0; i < sizeof(t->free_blocks) / sizeof(t->free_blocks[0]); i++)
		t->free_blocks[i] = NO_BLOCK;
	alloc_slots(t, nslots);
	return t;
}

void mr_table_free(mr_table **t)
{
	if (!*t)
		return;
	mr_free_large((*t)->slots, slot_bytes((*t)->nslots));
	mr_buf_release(&(*t)->arena);
	mr_buf_release(&(*t)->varena);
	mr_buf_release(&(*t)->scratch);
	free(*t);
	*t = NULL;
}

/*
 * Grows the table in place: its memory is extended (mr_grow_zeroed_large
 * moves the pages, it copies nothing), then every key moves to its slot in
 * the bigger table, from the last slot down.  A key's new home is at or past
 * its old one (homes scale with the size, see mr_table_home), and when the
 * key in slot i moves, every slot from i up holds only moved keys or none.
 * So a key whose probe starts at i or above, and does not run off the end,
 * goes straight to its slot; the few others (in the first slots, or
 * wrapped around) wait in later and go in once every key has moved.  Only
 * the new part of the table is fresh memory, and the old and new tables
 * are never both held.
 */
static void grow(mr_table *t)
{
	size_t n = t->nslots, m = next_size(n);
	struct mr_slot *s =
		mr_grow_zeroed_large(t->slots, slot_bytes(n), slot_bytes(m), __FILE__, __LINE__);
	t->slots = s;
	t->nslots = m;
	t->released = 0;
	mr_buf later = {0};
	for (size_t i = n; i-- > 0;) {
		if (!s[i].tag)
			continue;
		struct mr_slot e = s[i];
		memset(&s[i], 0, sizeof(s[i]));
		size_t j = mr_table_home(t, e.tag);
		while (j >= i && j < m && s[j].tag)
			j++;
		if (j >= i && j < m)
			s[j] = e;
		else
			memcpy(mr_buf_tail(&later, sizeof(e)), &e, sizeof(e));
	}
	for (size_t k = 0; k < later.len; k += sizeof(struct mr_slot)) {
		struct mr_slot e;
		memcpy(&e, later.data + k, sizeof(e));
		size_t j = mr_table_home(t, e.tag);
		while (s[j].tag)
			j = mr_table_after(t, j);
		s[j] = e;
	}
	mr_buf_release(&later);
}

void mr_table_release_below(mr_table *t, size_t pos)
{
	if (pos > t->nslots)
		pos = t->nslots;
	if (pos <= t->released)
		return;
	mr_release_large(t->slots, slot_bytes(t->nslots), t->released * sizeof(struct mr_slot),
			 pos * sizeof(struct mr_slot));
	t->released = pos / PAGE_SLOTS * PAGE_SLOTS;
}

/* ---- values of several words, and sets, in the value arena ---------------- */

static inline mr_value *varena_at(const mr_table *t, uint64_t off)
{
	return (mr_value *)(void *)(t->varena.data + off);
}

/* A new block of n words, aligned (the arena only ever holds whole words,
 * and its data comes from malloc); returns its offset. */
static uint64_t varena_new(mr_table *t, size_t n)
{
	uint64_t off = t->varena.len;
	mr_buf_tail(&t->varena, mr_mul(n, 8));
	return off;
}

/* A set block's header word: the count in bits 0-31, log2 of the capacity in
 * bits 32-37, and bit 40 set while members were appended out of order (they
 * are sorted and made distinct before anyone reads the set, see set_tidy). */
#define SET_COUNT(h)	((uint32_t)(h).u)
#define SET_CAP(h)	((uint64_t)1 << (((h).u >> 32) & 63))
#define SET_UNSORTED(h) (((h).u >> 40) & 1)
static inline mr_value set_head(uint64_t n, uint64_t cap, bool unsorted)
{
	return (mr_value){.u = (uint64_t)__builtin_ctzll(cap) << 32 | (uint64_t)unsorted << 40 | n};
}

/* A set block of cap members (a power of two, at most 2^31), from the free
 * list of its size or new; its header is the caller's to set. */
static uint64_t block_take(mr_table *t, uint64_t cap)
{
	unsigned k = (unsigned)__builtin_ctzll(cap);
	uint64_t off = t->free_blocks[k];
	if (off == NO_BLOCK)
		return varena_new(t, (size_t)cap + 1);
	t->free_blocks[k] = varena_at(t, off)[0].u;
	return off;
}

static void block_give(mr_table *t, uint64_t off, uint64_t cap)
{
	unsigned k = (unsigned)__builtin_ctzll(cap);
	varena_at(t, off)[0].u = t->free_blocks[k];
	t->free_blocks[k] = off;
}

/* The capacity for n members: a power of two, 2 at least; 0 if too many. */
static uint64_t set_cap(uint64_t n)
{
	if (n > (UINT64_C(1) << 31))
		return 0;
	uint64_t cap = 2;
	while (cap < n)
		cap *= 2;
	return cap;
}

static uint64_t set_new(mr_table *t, const char *in, uint32_t m)
{
	uint64_t cap = set_cap(m);
	uint64_t off = block_take(t, cap);
	mr_value *b = varena_at(t, off);
	b[0] = set_head(m, cap, false);
	memcpy(b + 1, in, (size_t)m * 8);
	return off;
}

/* The set at *off, with room for n members: moved to a bigger block if it
 * has less.  NULL if n is more than a set may hold. */
static mr_value *set_room(mr_table *t, uint64_t *off, uint64_t n)
{
	mr_value *b = varena_at(t, *off);
	uint64_t count = SET_COUNT(b[0]), cap = SET_CAP(b[0]);
	bool unsorted = SET_UNSORTED(b[0]);
	if (n <= cap)
		return b;
	uint64_t want = set_cap(n);
	if (want == 0)
		return NULL;
	uint64_t to = block_take(t, want);
	b = varena_at(t, *off); /* the arena may have moved */
	mr_value *nb = varena_at(t, to);
	memcpy(nb + 1, b + 1, (size_t)count * 8);
	nb[0] = set_head(count, want, unsorted);
	block_give(t, *off, cap);
	*off = to;
	return nb;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

/* Sorts the set at b and makes its members distinct, if members were
 * appended out of order. */
static void set_tidy(mr_value *b)
{
	if (!SET_UNSORTED(b[0]))
		return;
	uint64_t n = SET_COUNT(b[0]), k = 0;
	qsort(b + 1, n, sizeof(*b), cmp_u64);
	for (uint64_t i = 0; i < n; i++)
		if (k == 0 || b[i + 1].u != b[k].u)
			b[++k] = b[i + 1];
	b[0] = set_head(k, SET_CAP(b[0]), false);
}

/*
 * Adds member x to the set at *off.  It is appended: a member above the last
 * keeps the set sorted (members from one rank's ranges come in ascending
 * order, so that is the rule); one below marks it unsorted, and the set is
 * tidied when it is full or read.  A full set grows when tidying leaves it
 * over half full, so a tidy costs at most a sort per cap/2 appends.
 */
static int set_add(mr_table *t, uint64_t *off, uint64_t x)
{
	mr_value *b = varena_at(t, *off);
	uint64_t n = SET_COUNT(b[0]);
	if (n > 0 && b[n].u == x)
		return MR_OK; /* the usual case: the member it added last */
	if (n == SET_CAP(b[0])) {
		set_tidy(b);
		n = SET_COUNT(b[0]);
		if (b[n].u == x)
			return MR_OK; /* tidied, x is now the last */
		if (n * 2 >= SET_CAP(b[0]) && !(b = set_room(t, off, SET_CAP(b[0]) + 1))) {
			mr_rank_error("a set of more than 2^31 members");
			return MR_ERR_LIMIT;
		}
	}
	bool unsorted = SET_UNSORTED(b[0]) || (n > 0 && b[n].u > x);
	b[n + 1].u = x;
	b[0] = set_head(n + 1, SET_CAP(b[0]), unsorted);
	return MR_OK;
}

/* Adds the sorted, distinct members in[0..m) to the set at *off. */
static int set_merge(mr_table *t, uint64_t *off, const char *in, uint32_t m)
{
	if (m == 0)
		return MR_OK;
	if (m == 1)
		return set_add(t, off, mr_load64(in));
	mr_value *b = varena_at(t, *off);
	set_tidy(b);
	uint32_t n = SET_COUNT(b[0]);
	/* The general case: merge into scratch, then copy back. */
	t->scratch.len = 0;
	uint64_t *out = (uint64_t *)(void *)mr_buf_tail(&t->scratch, mr_mul((size_t)n + m, 8));
	size_t i = 0, j = 0, k = 0;
	while (i < n || j < m) {
		uint64_t a = i < n ? b[i + 1].u : UINT64_MAX;
		uint64_t c = j < m ? mr_load64(in + 8 * j) : UINT64_MAX;
		if (i < n && (j >= m || a <= c)) {
			out[k++] = a;
			i++;
			if (j < m && a == c)
				j++;
		} else {
			out[k++] = c;
			j++;
		}
	}
	if (!(b = set_room(t, off, k)))
		goto too_big;
	memcpy(b + 1, out, k * 8);
	b[0] = set_head(k, SET_CAP(b[0]), false);
	return MR_OK;
too_big:
	mr_rank_error("a set of more than 2^31 members");
	return MR_ERR_LIMIT;
}

/* Merges v (nvals words) into slot s's value.  kind is t->vals.kind, given
 * as a constant where it is known, so that the switch folds away. */
static MR_ALWAYS_INLINE int merge_value(mr_table *t, enum mr_vkind kind, mr_combine_fn combine,
					struct mr_slot *s, const void *v, uint32_t nvals)
{
	switch (kind) {
	case MR_VK_ONE: /* v is a pending's value: aligned */ return combine(&s->value, v);
	case MR_VK_FIELDS: {
		mr_value in[MR_MAX_FIELDS];
		memcpy(in, v, (size_t)t->vals.width * 8);
		return combine(varena_at(t, s->value.u), in);
	}
	case MR_VK_SET: return set_merge(t, &s->value.u, v, nvals);
	case MR_VK_BYTES: break; /* never in a table: such jobs reduce */
	}
	return MR_ERR_LIMIT;
}

/* Stores v (nvals words) as new slot s's value. */
static MR_ALWAYS_INLINE void store_value(mr_table *t, enum mr_vkind kind, struct mr_slot *s,
					 const void *v, uint32_t nvals)
{
	switch (kind) {
	case MR_VK_ONE: memcpy(&s->value, v, 8); return;
	case MR_VK_FIELDS:
		s->value.u = varena_new(t, t->vals.width);
		memcpy(varena_at(t, s->value.u), v, (size_t)t->vals.width * 8);
		return;
	case MR_VK_SET: s->value.u = set_new(t, v, nvals); return;
	case MR_VK_BYTES: return;
	}
}

/* The slot that holds key, or the empty one where it would go.  w[0..1] is
 * a short key (len <= 16) as two zero-padded words. */
static MR_ALWAYS_INLINE struct mr_slot *find(const mr_table *t, uint64_t tag, const char *key,
					     size_t len, bool padded, const uint64_t w[2])
{
	size_t i = mr_table_home(t, tag);
	for (;;) {
		struct mr_slot *s = &t->slots[i];
		if (!s->tag)
			return s;
		if (s->tag == tag) {
			bool same = len <= INLINE_MAX ? load64(s->k.key) == w[0] &&
								load64(s->k.key + 8) == w[1]
						      : same_long_key(t, s, key, len, padded);
			if (same)
				return s;
		}
		i = mr_table_after(t, i);
	}
}

/* A key of len bytes was added: counted, and the table grown past 70%. */
static inline void added(mr_table *t, size_t len)
{
	t->count++;
	t->key_bytes += len;
	if (t->count * MAX_LOAD_DEN > t->nslots * MAX_LOAD_NUM) {
		/* Past its limit it says so instead of growing; at 70% full it
		 * has room for the rest of a batch before it is emptied. */
		if (t->limit &&
		    slot_bytes(next_size(t->nslots)) + t->arena.len + t->varena.len > t->limit)
			t->over = true;
		else
			grow(t);
	}
}

/* kind and combine are t's, passed in so that a batch loads them once. */
static MR_ALWAYS_INLINE int upsert(mr_table *t, enum mr_vkind kind, mr_combine_fn combine,
				   const char *key, size_t len, uint64_t hash, const void *v,
				   uint32_t nvals, bool padded, const uint64_t w[2])
{
	uint64_t tag = mr_table_tag(hash, len);
	struct mr_slot *s = find(t, tag, key, len, padded, w);
	if (s->tag)
		return merge_value(t, kind, combine, s, v, nvals);
	if (len <= INLINE_MAX) {
		memcpy(s->k.key, w, INLINE_MAX);
	} else {
		if (len > UINT32_MAX) {
			mr_rank_error("a key of %zu bytes is longer than 4 GiB", len);
			return MR_ERR_LIMIT;
		}
		s->k.far.off = t->arena.len;
		s->k.far.len = len;
		char *a = mr_buf_tail(&t->arena, MR_PAD8(len));
		memset(a + (len & ~(size_t)7), 0, len % 8 ? 8 : 0);
		memcpy(a, key, len);
	}
	if (kind == MR_VK_SET && set_cap(nvals) == 0) {
		mr_rank_error("a set of more than 2^31 members");
		return MR_ERR_LIMIT;
	}
	s->tag = tag;
	store_value(t, kind, s, v, nvals);
	added(t, len);
	return MR_OK;
}

int mr_table_upsert(mr_table *t, const void *key, size_t len, uint64_t hash, const void *v,
		    uint32_t nvals)
{
	mr_value one; /* combine takes an aligned value */
	if (t->vals.kind == MR_VK_ONE) {
		memcpy(&one, v, sizeof(one));
		v = &one;
	}
	uint64_t w[2] = {0, 0};
	if (len <= INLINE_MAX)
		mr_key_words(key, len, w);
	return upsert(t, t->vals.kind, t->vals.combine, key, len, hash, v, nvals, false, w);
}

/* A pending key's words: padded keys of up to 16 bytes are followed by
 * zeros to 16. */
static MR_ALWAYS_INLINE void pending_words(const mr_pending *p, uint64_t w[2])
{
	w[0] = w[1] = 0;
	if (p->len <= INLINE_MAX) {
		w[0] = load64(p->key);
		w[1] = load64(p->key + 8);
	}
}

/* kind and combine are t's, given as constants where they are known, so
 * that the switch folds away and a built-in combine inlines. */
static MR_ALWAYS_INLINE int upsert_batch(mr_table *t, enum mr_vkind kind, mr_combine_fn combine,
					 const mr_pending *p, size_t n)
{
	if (kind != MR_VK_ONE) {
		/* A value in the arena is a second cache miss after the slot's:
		 * find the batch's slots first (their lines were prefetched)
		 * and prefetch the values of those that hold one, so that
		 * these misses overlap too. */
		for (size_t i = 0; i < n; i++) {
			uint64_t w[2];
			pending_words(&p[i], w);
			const struct mr_slot *s = find(t, mr_table_tag(p[i].hash, p[i].len),
						       p[i].key, p[i].len, true, w);
			if (s->tag) {
				const char *b = t->varena.data + s->value.u;
				__builtin_prefetch(b);
				__builtin_prefetch(b + 64);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t w[2];
		pending_words(&p[i], w);
		/* A one-word value is the pending's own. */
		const void *v = kind == MR_VK_ONE ? (const void *)&p[i].value : p[i].vals;
		int rc = upsert(t, kind, combine, p[i].key, p[i].len, p[i].hash, v, p[i].nvals,
				true, w);
		if (rc != MR_OK)
			return rc;
	}
	return MR_OK;
}

int mr_table_upsert_batch(mr_table *t, const mr_pending *p, size_t n)
{
	/* A copy of the loop for counts, one for other one-word values, one
	 * for the rest. */
	if (t->vals.kind == MR_VK_ONE && t->vals.combine == mr_combine_sum)
		return upsert_batch(t, MR_VK_ONE, mr_combine_sum, p, n);
	if (t->vals.kind == MR_VK_ONE)
		return upsert_batch(t, MR_VK_ONE, t->vals.combine, p, n);
	return upsert_batch(t, t->vals.kind, t->vals.combine, p, n);
}

void mr_table_count_new(mr_table *t, const mr_counted *q, struct mr_slot *s)
{
	memcpy(s->k.key, q->w, INLINE_MAX);
	s->tag = q->tag;
	s->value.u = 1;
	added(t, (size_t)(q->tag & 0xff) - 1);
}

int mr_combine_sum(mr_value *acc, const mr_value *in)
{
	acc->u += in->u;
	return MR_OK;
}

/* The bytes of a key of n bytes in one word: n < 8 of them, or all 8. */
#define MASK(n) ((n) >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * (n))) - 1)
#define MASKS(n)                                   \
	{                                          \
		MASK(n), (n) > 8 ? MASK((n)-8) : 0 \
	}
const uint64_t mr_key_masks[MR_SHORT_KEY + 1][2] = {
	MASKS(0),  MASKS(1),  MASKS(2),	 MASKS(3),  MASKS(4),  MASKS(5),
	MASKS(6),  MASKS(7),  MASKS(8),	 MASKS(9),  MASKS(10), MASKS(11),
	MASKS(12), MASKS(13), MASKS(14), MASKS(15), MASKS(16),
};

void mr_table_set_limit(mr_table *t, size_t bytes)
{
	t->limit = bytes;
}

bool mr_table_over(const mr_table *t)
{
	/* The arenas' bytes in use: what they keep for reuse after a clear
	 * is no reason to spill again. */
	size_t used = slot_bytes(t->nslots) + t->arena.len + t->varena.len;
	return t->over || (t->limit && used > t->limit);
}

void mr_table_clear(mr_table *t)
{
	memset(t->slots, 0, slot_bytes(t->nslots));
	t->released = 0;
	t->count = 0;
	t->key_bytes = 0;
	t->arena.len = 0;
	t->varena.len = 0;
	t->over = false;
	for (size_t i = 0; i < sizeof(t->free_blocks) / sizeof(t->free_blocks[0]); i++)
		t->free_blocks[i] = NO_BLOCK;
}

size_t mr_table_count(const mr_table *t)
{
	return t->count;
}

size_t mr_table_key_bytes(const mr_table *t)
{
	return t->key_bytes;
}

size_t mr_table_memory(const mr_table *t)
{
	return slot_bytes(t->nslots) + t->arena.cap + t->varena.cap + t->scratch.cap;
}

bool mr_table_next(mr_table *t, size_t *pos, const char **key, size_t *len, mr_value **vals,
		   uint32_t *nvals)
{
	size_t nslots = t->nslots;
	while (*pos < nslots && !t->slots[*pos].tag)
		(*pos)++;
	if (*pos >= nslots)
		return false;
	struct mr_slot *s = &t->slots[(*pos)++];
	size_t code = (size_t)(s->tag & 0xff);
	if (code == LONG_CODE) {
		*key = t->arena.data + s->k.far.off;
		*len = (size_t)s->k.far.len;
	} else {
		*key = s->k.key;
		*len = code - 1;
	}
	switch (t->vals.kind) {
	case MR_VK_ONE:
		*vals = &s->value;
		*nvals = 1;
		break;
	case MR_VK_FIELDS:
		*vals = varena_at(t, s->value.u);
		*nvals = t->vals.width;
		break;
	case MR_VK_SET:
		*vals = varena_at(t, s->value.u) + 1;
		set_tidy(varena_at(t, s->value.u));
		*nvals = SET_COUNT(varena_at(t, s->value.u)[0]);
		break;
	case MR_VK_BYTES: *vals = &s->value, *nvals = 0; break;
	}
	return true;
}
