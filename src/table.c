/*
 * The hash table that map combines into and reduce merges into.
 *
 * Open addressing with linear probing.  A slot is 16 bytes: the key's 64-bit
 * hash and the offset of its entry in one arena.  An entry is the value, the key
 * length and the key bytes, padded to 8, so a hit touches the slot and one line
 * of the arena.  Entries are never moved or deleted, so the arena in order is
 * the iteration order and no per-key allocation happens.
 */
#include "internal.h"

#include <stdlib.h>

struct slot {
	uint64_t hash;
	uint64_t ref; /* arena offset + 1; 0 marks an empty slot */
};

struct entry {
	mr_value value;
	uint64_t len;
	char key[]; /* len bytes, then zeros to a multiple of 8 */
};

struct mr_table {
	struct slot *slots;
	size_t mask;	/* slots - 1; slots is a power of two */
	unsigned shift; /* 64 - log2(slots): index = hash >> shift */
	size_t count;
	size_t key_bytes;
	mr_buf arena;
};

#define MAX_LOAD_NUM 7 /* grow past 70% full */
#define MAX_LOAD_DEN 10

static size_t entry_size(size_t len)
{
	return sizeof(struct entry) + MR_PAD8(len);
}

/* Whether entry e holds key.  A padded key is followed by zeros to a
 * multiple of 8, as every entry's key is, so whole words compare. */
static inline bool same_key(const struct entry *e, const char *key, size_t len, bool padded)
{
	if (e->len != len)
		return false;
	if (!padded)
		return memcmp(e->key, key, len) == 0;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t a, b;
		memcpy(&a, e->key + i, 8);
		memcpy(&b, key + i, 8);
		if (a != b)
			return false;
	}
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
	mr_table *t = mr_calloc(1, sizeof(*t));
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
		if (!old[i].ref)
			continue;
		size_t j = (size_t)(old[i].hash >> t->shift);
		while (t->slots[j].ref)
			j = (j + 1) & t->mask;
		t->slots[j] = old[i];
	}
	free(old);
}

static inline int upsert(mr_table *t, const char *key, size_t len, uint64_t hash, mr_value v,
			 mr_combine_fn combine, bool padded)
{
	size_t i = (size_t)(hash >> t->shift);
	for (;;) {
		struct slot *s = &t->slots[i];
		if (!s->ref)
			break;
		if (s->hash == hash) {
			struct entry *e = (struct entry *)(t->arena.data + s->ref - 1);
			if (same_key(e, key, len, padded))
				return combine(&e->value, v);
		}
		i = (i + 1) & t->mask;
	}
	if (len > UINT32_MAX) {
		mr_rank_error("a key of %zu bytes is longer than 4 GiB", len);
		return MR_ERR_LIMIT;
	}
	size_t off = t->arena.len;
	struct entry *e = (struct entry *)mr_buf_tail(&t->arena, entry_size(len));
	e->value = v;
	e->len = len;
	if (len % 8)
		memset(e->key + (len & ~(size_t)7), 0, 8);
	if (len)
		memcpy(e->key, key, len);
	t->slots[i].hash = hash;
	t->slots[i].ref = off + 1;
	t->count++;
	t->key_bytes += len;
	if (t->count * MAX_LOAD_DEN > (t->mask + 1) * MAX_LOAD_NUM)
		grow(t);
	return MR_OK;
}

int mr_table_upsert(mr_table *t, const void *key, size_t len, uint64_t hash, mr_value v,
		    mr_combine_fn combine)
{
	return upsert(t, key, len, hash, v, combine, false);
}

void mr_table_prefetch(const mr_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->slots[hash >> t->shift]);
}

int mr_table_upsert_batch(mr_table *t, const mr_pending *p, size_t n, mr_combine_fn combine)
{
	/* The slots were prefetched as the batch filled; now the entries
	 * they point at, so that both misses of a hit are in flight at once. */
	for (size_t i = 0; i < n; i++) {
		const struct slot *s = &t->slots[p[i].hash >> t->shift];
		if (s->ref)
			__builtin_prefetch(t->arena.data + s->ref - 1);
	}
	for (size_t i = 0; i < n; i++) {
		int rc = upsert(t, p[i].key, p[i].len, p[i].hash, p[i].value, combine, true);
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
	if (*pos >= t->arena.len)
		return false;
	const struct entry *e = (const struct entry *)(t->arena.data + *pos);
	*key = e->key;
	*len = e->len;
	*v = e->value;
	*pos += entry_size(e->len);
	return true;
}
