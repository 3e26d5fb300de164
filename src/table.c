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
#include "internal.h"

#include <stdlib.h>

#define INLINE_MAX MR_SHORT_KEY
#define LONG_CODE  (INLINE_MAX + 2) /* length codes: 1 + len inline, this for long */

struct slot {
	uint64_t tag; /* 0 marks an empty slot: a length code is never 0 */
	mr_value value;
	union {
		char key[INLINE_MAX]; /* inline: the key, then zeros */
		struct {
			uint64_t off; /* long: the key's bytes in the arena */
			uint64_t len;
		} far;
	} k;
};

struct mr_table {
	struct slot *slots;
	size_t mask;	/* slots - 1; slots is a power of two */
	unsigned shift; /* 64 - log2(slots) */
	uint64_t salt;	/* this table's own slot order: see home() */
	size_t count;
	size_t key_bytes;
	mr_buf arena; /* long keys, each zero-padded to 8 bytes */
};

#define MAX_LOAD_NUM 7 /* grow past 70% full */
#define MAX_LOAD_DEN 10

/*
 * A key's first slot: the top bits of its hash mixed with the table's salt.
 * Without a salt, iterating one table gives keys in slot order, and filling
 * another table in that order (reduce does, with what the shuffle sends)
 * piles them into one ever-growing run of full slots: quadratic time.  Each
 * table gets its own salt, so its order says nothing about another's.
 */
static inline size_t home(const mr_table *t, uint64_t hash)
{
	return (size_t)(mr_mix(hash >> 8, t->salt) >> t->shift);
}

static inline uint64_t make_tag(uint64_t hash, size_t len)
{
	uint64_t code = len <= INLINE_MAX ? (uint64_t)len + 1 : LONG_CODE;
	return (hash & ~UINT64_C(0xff)) | code;
}

#define load64 mr_load64

/* Whether long slot s holds key, which has len bytes.  A padded key is
 * followed by zeros to a multiple of 8, as the arena's keys are. */
static bool same_long_key(const mr_table *t, const struct slot *s, const char *key, size_t len,
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

static void alloc_slots(mr_table *t, size_t nslots)
{
	t->slots = mr_alloc_zeroed_large(mr_mul(nslots, sizeof(struct slot)), __FILE__, __LINE__);
	t->mask = nslots - 1;
	t->shift = 64u - (unsigned)__builtin_ctzll((unsigned long long)nslots);
}

mr_table *mr_table_new(size_t expected_keys)
{
	size_t nslots = 1024;
	while (nslots / MAX_LOAD_DEN * MAX_LOAD_NUM < expected_keys)
		nslots *= 2;
	static uint64_t tables_made; /* salts differ, and runs repeat */
	mr_table *t = mr_calloc(1, sizeof(*t));
	/* splitmix64's step: unrelated salts (multiples of one would not be) */
	uint64_t z = ++tables_made * UINT64_C(0x9e3779b97f4a7c15);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	t->salt = (z ^ (z >> 31)) | 1;
	alloc_slots(t, nslots);
	return t;
}

void mr_table_free(mr_table **t)
{
	if (!*t)
		return;
	free((*t)->slots);
	mr_buf_release(&(*t)->arena);
	free(*t);
	*t = NULL;
}

static void grow(mr_table *t)
{
	struct slot *old = t->slots;
	size_t n = t->mask + 1;
	alloc_slots(t, mr_mul(n, 2));
	for (size_t i = 0; i < n; i++) {
		if (!old[i].tag)
			continue;
		size_t j = home(t, old[i].tag);
		while (t->slots[j].tag)
			j = (j + 1) & t->mask;
		t->slots[j] = old[i];
	}
	free(old);
}

/* w[0..1] is the key of a short key (len <= 16) as two zero-padded words. */
static inline int upsert(mr_table *t, const char *key, size_t len, uint64_t hash, mr_value v,
			 mr_combine_fn combine, bool padded, const uint64_t w[2])
{
	uint64_t tag = make_tag(hash, len);
	size_t i = home(t, tag);
	for (;;) {
		struct slot *s = &t->slots[i];
		if (!s->tag)
			break;
		if (s->tag == tag) {
			bool same = len <= INLINE_MAX ? load64(s->k.key) == w[0] &&
								load64(s->k.key + 8) == w[1]
						      : same_long_key(t, s, key, len, padded);
			if (same)
				return combine(&s->value, v);
		}
		i = (i + 1) & t->mask;
	}
	struct slot *s = &t->slots[i];
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
	s->tag = tag;
	s->value = v;
	t->count++;
	t->key_bytes += len;
	if (t->count * MAX_LOAD_DEN > (t->mask + 1) * MAX_LOAD_NUM)
		grow(t);
	return MR_OK;
}

int mr_table_upsert(mr_table *t, const void *key, size_t len, uint64_t hash, mr_value v,
		    mr_combine_fn combine)
{
	uint64_t w[2] = {0, 0};
	if (len <= INLINE_MAX)
		mr_key_words(key, len, w);
	return upsert(t, key, len, hash, v, combine, false, w);
}

void mr_table_prefetch(const mr_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->slots[home(t, hash)]);
}

int mr_table_upsert_batch(mr_table *t, const mr_pending *p, size_t n, mr_combine_fn combine)
{
	for (size_t i = 0; i < n; i++) {
		/* Padded keys of up to 16 bytes are followed by zeros to 16. */
		uint64_t w[2] = {0, 0};
		if (p[i].len <= INLINE_MAX) {
			w[0] = load64(p[i].key);
			w[1] = load64(p[i].key + 8);
		}
		int rc = upsert(t, p[i].key, p[i].len, p[i].hash, p[i].value, combine, true, w);
		if (rc != MR_OK)
			return rc;
	}
	return MR_OK;
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
	return (t->mask + 1) * sizeof(struct slot) + t->arena.cap;
}

bool mr_table_next(const mr_table *t, size_t *pos, const char **key, size_t *len, mr_value *v)
{
	size_t nslots = t->mask + 1;
	while (*pos < nslots && !t->slots[*pos].tag)
		(*pos)++;
	if (*pos >= nslots)
		return false;
	const struct slot *s = &t->slots[(*pos)++];
	size_t code = (size_t)(s->tag & 0xff);
	if (code == LONG_CODE) {
		*key = t->arena.data + s->k.far.off;
		*len = (size_t)s->k.far.len;
	} else {
		*key = s->k.key;
		*len = code - 1;
	}
	*v = s->value;
	return true;
}
