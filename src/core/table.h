/*
 * Values, the hash table that combines them, and the emitter that feeds it
 * (or a run) in batches.
 */
#ifndef MR_TABLE_H
#define MR_TABLE_H

#include "core/util.h"

/* ---- values ------------------------------------------------------------
 * How the engine holds a job's values: one 8-byte word (most jobs), a fixed
 * number of words (mr_job.width > 1), or a sorted set of distinct words
 * (MR_U64_SET).  Everywhere below a value is nvals words. */
enum mr_vkind { MR_VK_ONE, MR_VK_FIELDS, MR_VK_SET, MR_VK_BYTES };
typedef int (*mr_combine_fn)(mr_value *acc, const mr_value *in);
typedef struct mr_values {
	enum mr_vkind kind;
	uint32_t width; /* words of a value; 1 for a set's single member */
	mr_combine_fn combine;
	bool number; /* MR_NUMBER: fields (the number, its kind) */
} mr_values;
static inline mr_values mr_values_of(const mr_job *job)
{
	if (job->value_type == MR_U64_SET)
		return (mr_values){.kind = MR_VK_SET, .width = 1};
	if (job->value_type == MR_BYTES)
		return (mr_values){.kind = MR_VK_BYTES, .width = 1};
	if (job->value_type == MR_NUMBER)
		return (mr_values){MR_VK_FIELDS, 2, job->combine, true};
	if (job->width > 1)
		return (mr_values){MR_VK_FIELDS, (uint32_t)job->width, job->combine, false};
	return (mr_values){MR_VK_ONE, 1, job->combine, false};
}

/* An MR_NUMBER value (its two words at v, perhaps unaligned) as a double,
 * as order "count" compares them. */
static inline double mr_number_double(const void *v)
{
	mr_value w[2];
	memcpy(w, v, sizeof(w));
	return w[1].u == MR_NUMBER_FLOAT ? w[0].f : (double)w[0].i;
}

/* ---- hash table (table.c) ---------------------------------------------
 * Open addressing with linear probing; a slot holds a key of up to 16 bytes
 * itself and a one-word value; longer keys, and values of several words or
 * sets, live in arenas. */
typedef struct mr_table mr_table;

/* Its insides are here, not in table.c, only so that the emitter's queue
 * and the fused count loop below inline (mr_table_prefetch,
 * mr_table_count_find): nothing else outside table.c reads them. */
struct mr_slot {
	uint64_t tag; /* 0 marks an empty slot: a length code is never 0 */
	mr_value value;
	union {
		char key[MR_SHORT_KEY]; /* inline: the key, then zeros */
		struct {
			uint64_t off; /* long: the key's bytes in the arena */
			uint64_t len;
		} far;
	} k;
};

struct mr_table {
	struct mr_slot *slots;
	size_t nslots;
	size_t released; /* slots [0, released) were given back */
	uint64_t salt;	 /* this table's own slot order: see mr_table_home() */
	size_t count;
	size_t key_bytes;
	mr_buf arena; /* long keys, each zero-padded to 8 bytes */
	mr_values vals;
	mr_buf varena;		  /* values of several words, and sets */
	mr_buf scratch;		  /* a merged set, being built */
	size_t limit;		  /* bytes it may hold, or 0: see mr_table_set_limit */
	bool over;		  /* it needs more than limit */
	uint64_t free_blocks[33]; /* by log2(capacity): a list through the
				   * blocks' header words; NO_BLOCK ends it */
};

/*
 * A key's first slot: the top bits of its hash mixed with the table's salt,
 * scaled to the table's size (nslots need not be a power of two).
 * Without a salt, iterating one table gives keys in slot order, and filling
 * another table in that order (reduce does, with what the shuffle sends)
 * piles them into one ever-growing run of full slots: quadratic time.  Each
 * table gets its own salt, so its order says nothing about another's.
 * Within a table, homes keep the order of the mixed hash whatever its size,
 * so a key's home never moves down when the table grows, which lets it
 * grow in place (table.c).
 */
static inline size_t mr_table_home(const mr_table *t, uint64_t hash)
{
	return (size_t)(((unsigned __int128)mr_mix(hash >> 8, t->salt) * t->nslots) >> 64);
}
/* The slot after slot j, the last one followed by the first. */
static inline size_t mr_table_after(const mr_table *t, size_t j)
{
	return j + 1 < t->nslots ? j + 1 : 0;
}

mr_table *mr_table_new(size_t expected_keys, const mr_values *vals);
void mr_table_free(mr_table **t);
/* Inserts key with the value v[0..nvals) (nvals words, possibly unaligned:
 * 1 or the width, or a sorted set's members), or merges it into the value
 * the key has.  key and v are copied. */
int mr_table_upsert(mr_table *t, const void *key, size_t len, uint64_t hash, const void *v,
		    uint32_t nvals);
/* Pending upserts, applied together so that their cache misses overlap:
 * mr_table_prefetch on each as it is queued, then mr_table_upsert_batch. */
#define MR_PAD8(n) (((n) + 7) & ~(size_t)7)
typedef struct mr_pending {
	uint64_t hash;
	const char *key; /* borrowed until the batch is applied; followed by
			  * zeros to a multiple of 8 bytes, and to 16 */
	size_t len;
	const void *vals; /* nvals words, borrowed likewise */
	uint32_t nvals;
	mr_value value; /* a one-word value's own storage */
} mr_pending;
static inline void mr_table_prefetch(const mr_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->slots[mr_table_home(t, hash)]);
}
/* Upserts p[0..n) in order; stops at the first status that is not MR_OK. */
int mr_table_upsert_batch(mr_table *t, const mr_pending *p, size_t n);
/* A key of at most 16 bytes to count once, in a table of one-word values
 * that mr_combine_sum combines: its words, its tag (mr_table_tag) and its
 * home slot in the table as it is (renewed when the table grows). */
typedef struct mr_counted {
	uint64_t w[2];
	uint64_t tag;
	size_t home;
} mr_counted;
static inline uint64_t mr_table_tag(uint64_t hash, size_t len)
{
	/* the hash with its low byte a code for the length, never 0: 1 + len
	 * for a key of up to 16 bytes, MR_SHORT_KEY + 2 for a longer one */
	uint64_t code = len <= MR_SHORT_KEY ? (uint64_t)len + 1 : MR_SHORT_KEY + 2;
	return (hash & ~UINT64_C(0xff)) | code;
}
/* The slot that holds q's key, or the empty one where it goes, from q's
 * home (which must be the table's as it is). */
static MR_ALWAYS_INLINE struct mr_slot *mr_table_count_find(mr_table *t, const mr_counted *q)
{
	for (size_t j = q->home;; j = mr_table_after(t, j)) {
		struct mr_slot *s = &t->slots[j];
		if ((s->tag == q->tag && mr_load64(s->k.key) == q->w[0] &&
		     mr_load64(s->k.key + 8) == q->w[1]) ||
		    !s->tag)
			return s;
	}
}
/* Puts q's key, counted once, in the empty slot s that mr_table_count_find
 * gave; the table may grow. */
void mr_table_count_new(mr_table *t, const mr_counted *q, struct mr_slot *s);
/* A table with a limit (bytes; 0: none) does not grow past it: it is then
 * over (mr_table_over), and whoever fills it empties it (mr_table_clear,
 * which keeps its slots for reuse). */
void mr_table_set_limit(mr_table *t, size_t bytes);
bool mr_table_over(const mr_table *t);
void mr_table_clear(mr_table *t);
size_t mr_table_count(const mr_table *t);
/* Gives back the memory of slots [0, pos) (whole pages of them), which
 * mr_table_next has passed and nobody reads again: only mr_table_next past
 * them, and mr_table_free, may follow. */
void mr_table_release_below(mr_table *t, size_t pos);
size_t mr_table_key_bytes(const mr_table *t); /* sum of key lengths */
size_t mr_table_memory(const mr_table *t);    /* bytes held, slots + arenas */
/* Iterates in slot order, which depends on the hashes and on the order keys
 * came in: start with *pos = 0; returns false at the end.  *key and *vals
 * (*nvals words, aligned, which the caller may change in place) are the
 * table's until it changes or is freed. */
bool mr_table_next(mr_table *t, size_t *pos, const char **key, size_t *len, mr_value **vals,
		   uint32_t *nvals);

/* ---- the emitter (emit.c) --------------------------------------------
 * Emits are queued and applied to a table in batches of MR_EMIT_BATCH, so
 * that the cache misses of many keys overlap; the key bytes are copied. */
#define MR_EMIT_BATCH 32
/* Counted keys are applied one at a time, each MR_COUNT_AHEAD keys after
 * its slot was prefetched, so that a steady number of misses overlap. */
#define MR_COUNT_AHEAD 48
#define MR_COUNT_RING  64  /* a power of two above MR_COUNT_AHEAD */
#define MR_REJECT_SHOW 5   /* malformed records named, per rank and per run */
#define MR_REJECT_WHY  151 /* 150 bytes and a NUL */
struct mr_reader;
typedef struct mr_reject_at {
	uint64_t file, offset, line; /* line: rank 0 counts it, 0 if it cannot */
	char why[MR_REJECT_WHY];
} mr_reject_at;
/* The file of a line a job's command wrote (mr_reject_output): offset is
 * then the rank, line the line's number in the command's output. */
#define MR_REJECT_OUTPUT (UINT64_MAX - 1)
/* Where an emitter's pairs go: into its table, combined (the fast path), or
 * appended to its run (map of a job that reduces all values, or of a
 * map-only job; and reduce's result). */
enum mr_emit_mode { MR_EMIT_COMBINE, MR_EMIT_COLLECT, MR_EMIT_OUTPUT };
/* The records a job rejected on this rank (mr_reject): how many, and the
 * first few in input order.  The run owns it; map's emitter points at it. */
typedef struct mr_rejects {
	bool strict; /* --strict: the first fails the run */
	uint64_t count;
	size_t nshown;
	mr_reject_at shown[MR_REJECT_SHOW];
} mr_rejects;

struct mr_emitter {
	mr_table *table;
	mr_values vals;
	enum mr_emit_mode mode;
	bool special; /* not the fast path of mr_emit: fields, or a run */
	struct mr_frames *run;
	size_t run_limit; /* bytes (mr_frames_to_sort) before full is called */
	/* Called when the table is over its limit, or the run past run_limit:
	 * it empties them (spills).  MR_OK or a failure. */
	int (*full)(void *arg);
	void *full_arg;
	const char *job; /* its name, for mr_log */
	void *state;	 /* the job's, for mr_state() */
	uint64_t pairs;
	int status; /* the first failure of an applied batch */
	size_t n;
	mr_pending pending[MR_EMIT_BATCH];
	/* The pending keys' bytes, zero-padded: keys of up to 16 bytes (nearly
	 * all) as their words in place, longer ones in long_keys. */
	uint64_t short_keys[MR_EMIT_BATCH][2];
	mr_buf long_keys;
	mr_value fields[MR_EMIT_BATCH][MR_MAX_FIELDS]; /* mr_emit_fields's values */
	/* Keys counted once (mr_emit_count_short), queued apart in a ring:
	 * counts[chead..ctail), indices taken modulo MR_COUNT_RING. */
	size_t chead, ctail;
	mr_counted counts[MR_COUNT_RING];
	/* Where the record map was given lives (map only; see map.c). */
	const char *rec;
	const struct mr_reader *reader;
	uint64_t file;
	const struct mr_files *files;
	/* Records the job rejected (map only): the run's, which it owns. */
	struct mr_rejects *rejects;
};
void mr_emitter_init(mr_emitter *e, mr_table *t, const mr_values *vals);
/* Applies what is queued: MR_OK or the first failure (as mr_emit's). */
int mr_emitter_flush(mr_emitter *e);

/* The bytes of a key of len <= 16 bytes, as two little-endian words, are
 * its first two words masked by mr_key_masks[len]. */
extern const uint64_t mr_key_masks[MR_SHORT_KEY + 1][2];

/* Puts the counted key q in the empty slot s (mr_table_count_new), renews
 * the homes of the keys still queued if that grew the table, and empties
 * a table over its limit (full): MR_OK or the emitter's status. */
int mr_emitter_count_new(mr_emitter *e, const mr_counted *q, struct mr_slot *s);
/* The oldest counted key applied: MR_OK or the emitter's status. */
static MR_ALWAYS_INLINE int mr_emitter_count_one(mr_emitter *e)
{
	const mr_counted *q = &e->counts[e->chead++ & (MR_COUNT_RING - 1)];
	struct mr_slot *s = mr_table_count_find(e->table, q);
	if (s->tag) {
		s->value.u++;
		return MR_OK;
	}
	return mr_emitter_count_new(e, q, s);
}

/*
 * mr_emit(e, key, len, 1) for the engine's fused count loop (map.c), into a
 * table of one-word values: key has at most 16 bytes, and at least
 * MR_SPAN_SLACK readable bytes follow it (a reader's span), so that its
 * words come from two loads and masks, without a branch on its length.
 */
static MR_ALWAYS_INLINE int mr_emit_count_short(mr_emitter *e, const char *key, size_t len)
{
	mr_counted *q = &e->counts[e->ctail++ & (MR_COUNT_RING - 1)];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	q->w[0] = mr_load64(key) & mr_key_masks[len][0];
	q->w[1] = mr_load64(key + 8) & mr_key_masks[len][1];
#else
	mr_key_words(key, len, q->w);
#endif
	uint64_t h = mr_hash_words(q->w, len);
	q->tag = mr_table_tag(h, len);
	q->home = mr_table_home(e->table, h);
	__builtin_prefetch(&e->table->slots[q->home]);
	e->pairs++;
	return e->ctail - e->chead > MR_COUNT_AHEAD ? mr_emitter_count_one(e) : e->status;
}

/* Sends the emitter's pairs to run instead (mode COLLECT or OUTPUT). */
void mr_emitter_to_run(mr_emitter *e, enum mr_emit_mode mode, struct mr_frames *run);
/* Queues a value of nvals words at v, which stays valid until the batch is
 * applied (reduce's, from received frames).  As mr_emit otherwise. */
int mr_emit_words(mr_emitter *e, const void *key, size_t len, const void *v, uint32_t nvals);
/* Applies what is queued and frees the scratch: MR_OK or the first failure
 * (a combine's status, or MR_ERR_LIMIT). */
int mr_emitter_finish(mr_emitter *e);

#endif /* MR_TABLE_H */
