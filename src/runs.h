/*
 * Runs: the currency between the phases once data outgrows memory.
 *
 * A pair is a key and a value of vlen bytes (a value of words is 8 bytes a
 * word; a job's byte values are any bytes).  A run is a sequence of pairs as
 * frames, in the order they were added (sorted, where its maker sorted
 * them), held in memory and, past a size its maker chooses, in the rank's
 * spill store (spill.c) as extents.  A reader streams a run's pairs in
 * blocks, whole frames at a time; a merge streams the smallest head of many
 * sorted runs.  Nothing here is collective.
 */
#ifndef MR_RUNS_H
#define MR_RUNS_H

#include "internal.h"

typedef struct mr_pair {
	const char *key;
	const char *val; /* vlen bytes, possibly unaligned */
	size_t vlen;
	uint32_t klen;
} mr_pair;

/* A frame: u32 key length, u32 value length in units (8-byte words, or
 * bytes), the value, the key: mr_frame_put's format, with unit 8. */
static inline size_t mr_pair_size(unsigned unit, size_t klen, size_t vlen)
{
	MR_UNUSED(unit);
	return MR_FRAME_HEADER + vlen + klen;
}
char *mr_pair_put(char *p, unsigned unit, const mr_pair *pair);
/* The frame at *p, within end; false if none is whole there. */
bool mr_pair_get(const char **p, const char *end, unsigned unit, mr_pair *out);

/* Key bytes ascending (memcmp, a shorter key first on a tie). */
static inline int mr_key_cmp(const char *a, size_t na, const char *b, size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);
	return c ? c : (na > nb) - (na < nb);
}
typedef int (*mr_pair_cmp)(const mr_pair *a, const mr_pair *b);
int mr_pair_cmp_key(const mr_pair *a, const mr_pair *b);
/* By key, then value bytes (as keys compare). */
int mr_pair_cmp_key_value(const mr_pair *a, const mr_pair *b);

/* The spill store (spill.c): one unnamed file per rank (mr_spill). */
#define MR_SPILL_INIT(d) ((mr_spill){.dir = (d), .fd = -1})
/* Appends n bytes, at *off.  MR_OK, or MR_ERR_IO (said, with the rank). */
int mr_spill_write(mr_spill *s, const void *p, size_t n, uint64_t *off);
int mr_spill_read(mr_spill *s, uint64_t off, void *p, size_t n);
/* Gives back the space of bytes [off, off+n), read for the last time. */
void mr_spill_release(mr_spill *s, uint64_t off, uint64_t n);
void mr_spill_close(mr_spill *s);
/* A new unnamed file in the spill directory (read and write), or -1 with
 * errno set. */
int mr_spill_tmpfile(const mr_spill *s);

typedef struct mr_frames {
	unsigned unit;			      /* 8: the values are words; 1: bytes */
	mr_buf tail;			      /* frames not (yet) in the spill store */
	uint64_t *ext;			      /* extents in the spill store: offset, length pairs */
	size_t next;			      /* extents */
	uint64_t bytes;			      /* all of it, extents and tail */
	uint64_t pairs, key_bytes, val_bytes; /* of the pairs added one by one */
} mr_frames;
void mr_frames_init(mr_frames *r, unsigned unit);
/* Appends a pair (copied). */
void mr_frames_add(mr_frames *r, const mr_pair *p);
/* Appends n bytes of whole or partial frames (what an exchange received). */
void mr_frames_add_bytes(mr_frames *r, const void *p, size_t n);
/* Moves the tail to the spill store, as one extent.  MR_OK or MR_ERR_IO. */
int mr_frames_flush(mr_frames *r, mr_spill *s);
/* Frees the run's memory and its space in the store; it is empty after. */
void mr_frames_release(mr_frames *r, mr_spill *s);
/* Bytes of memory the run holds. */
static inline size_t mr_frames_memory(const mr_frames *r)
{
	return r->tail.cap + r->next * 2 * sizeof(uint64_t);
}

typedef struct mr_frames_reader {
	const mr_frames *run;
	mr_spill *spill;
	size_t block; /* bytes read from the store at a time */
	size_t ext;   /* the next extent to read */
	uint64_t ext_pos;
	size_t tail_pos;
	mr_buf buf; /* what was read and not yet handed out, from pos */
	size_t pos;
	int status; /* MR_OK, or why reading stopped early */
} mr_frames_reader;
void mr_frames_reader_init(mr_frames_reader *rd, const mr_frames *r, mr_spill *s, size_t block);
/* The next pair, valid until the next call; false at the end, or on an
 * error (rd->status: MR_ERR_IO, said; MR_ERR_LIMIT for a damaged run). */
bool mr_frames_read(mr_frames_reader *rd, mr_pair *out);
/* Up to n of the run's next bytes into dst, frames or not (an exchange
 * sends them so); returns how many, 0 at the end or on an error. */
size_t mr_frames_read_raw(mr_frames_reader *rd, char *dst, size_t n);
void mr_frames_reader_release(mr_frames_reader *rd);

/* The merge of k sorted runs: the smallest head first, equal heads in run
 * order, so that the result does not depend on timing. */
typedef struct mr_merge {
	size_t k;
	mr_frames_reader *rd;
	mr_pair *head;
	size_t *heap;  /* run numbers, a binary heap on (head, run) */
	size_t n;      /* runs not yet at their end */
	size_t popped; /* the run of the pair last handed out, or SIZE_MAX */
	mr_pair_cmp cmp;
	int status;
} mr_merge;
void mr_merge_init(mr_merge *m, mr_frames *const *runs, size_t k, mr_spill *s, size_t block,
		   mr_pair_cmp cmp);
/* The next pair in order, valid until the next call; *src its run (may be
 * NULL).  False at the end or on an error (m->status). */
bool mr_merge_next(mr_merge *m, mr_pair *out, size_t *src);
void mr_merge_release(mr_merge *m);

/* ---- partitioning by sampled key ranges (partition.c) ---------------------- */
/* Sorts n pairs in place. */
void mr_pairs_sort(mr_pair *p, size_t n, mr_pair_cmp cmp);
/* Appends to samples a few evenly spaced keys of sorted[0..n), each with
 * the number of pairs it stands for. */
void mr_sample(mr_buf *samples, const mr_pair *sorted, size_t n);
/* The nranks-1 keys that cut the key space into ranges of about equal
 * weight: the same on every rank.  at[d] is the last key rank d owns. */
typedef struct mr_splitters {
	mr_buf store; /* every rank's samples; at[] points into it */
	mr_pair *at;
	size_t n;
} mr_splitters;
/* Collective: from every rank's samples (mine). */
void mr_splitters_pick(mr_ctx *c, const mr_buf *mine, mr_splitters *out);
void mr_splitters_release(mr_splitters *sp);
struct mr_combiner;
/* Merges the sorted runs in[0..k) by cmp, combining the values of equal keys
 * with cb (NULL: every pair kept), and appends each pair to out[d], the run
 * of the rank whose range holds its key; a run's tail past flush bytes goes
 * to the spill store.  Local.  MR_OK or the first failure. */
int mr_partition(mr_ctx *c, mr_frames *const *in, size_t k, const mr_splitters *sp,
		 struct mr_combiner *cb, mr_pair_cmp cmp, mr_frames *out, size_t flush);
/* Collective: sends out[d] to rank d and receives in[s] from rank s, in
 * rounds of at most --shuffle-round bytes (and an eighth of the budget)
 * per rank; received tails past flush bytes go to the spill store.  out's
 * runs are released.  A failure is returned on every rank it happened on,
 * after the last round (agree on it). */
int mr_exchange_runs(mr_ctx *c, mr_frames *out, mr_frames *in, size_t flush);
/* The read block for a merge of k runs within the budget. */
static inline size_t mr_block_for(const mr_ctx *c, size_t k)
{
	uint64_t b = c->budget / 8 / (k + 1);
	return b > (1u << 20) ? (size_t)1 << 20 : b < (64u << 10) ? (size_t)64 << 10 : (size_t)b;
}

/* A key's values combined as its pairs stream by, in key order (combine.c). */
typedef struct mr_combiner {
	mr_values vals;
	bool have; /* a key is held */
	mr_buf key;
	mr_value acc[MR_MAX_FIELDS]; /* one word, or fields */
	mr_buf set;		     /* a set's members */
	mr_buf scratch;
} mr_combiner;
void mr_combiner_init(mr_combiner *cb, const mr_values *vals);
/* Whether p has the key held. */
bool mr_combiner_same(const mr_combiner *cb, const mr_pair *p);
/* Holds p's key and value (copied), as the first of a key. */
void mr_combiner_start(mr_combiner *cb, const mr_pair *p);
/* Combines p's value into the value held: MR_OK or combine's status. */
int mr_combiner_add(mr_combiner *cb, const mr_pair *p);
/* The key and value held, valid until the next start or add. */
mr_pair mr_combiner_pair(const mr_combiner *cb);
void mr_combiner_release(mr_combiner *cb);

/* ---- the streaming phases (stream.c) ------------------------------------ */
/* How a job runs: combined in a table (its runs, if it spills, are combined
 * again as they merge), reduced over all of a key's values, or map only
 * (records in input order). */
enum mr_plan { MR_PLAN_COMBINE, MR_PLAN_REDUCE, MR_PLAN_MAP_ONLY };
enum mr_plan mr_plan_of(const mr_ctx *c);

/* What map hands the streaming phases: sorted runs with their samples, or
 * (map only) one run in input order. */
typedef struct mr_stream {
	unsigned unit;	 /* of every run below: 8 for words, 1 for bytes */
	mr_frames *runs; /* sorted by key (and value, for REDUCE) */
	size_t nruns;
	mr_buf samples;	   /* of every run */
	mr_frames collect; /* map's pairs not yet sorted into a run */
	bool spilled;	   /* something went to the spill store */
} mr_stream;
void mr_stream_init(mr_stream *st, unsigned unit);
void mr_stream_release(mr_ctx *c, mr_stream *st);
/* Map: the table's pairs, sorted by key, as a run (in the spill store if
 * to_disk), sampled; the table is emptied. */
int mr_stream_table(mr_ctx *c, mr_stream *st, mr_table *t, bool to_disk);
/* Map: the collected pairs, sorted (by key and value), as a run. */
int mr_stream_collected(mr_ctx *c, mr_stream *st, bool to_disk);
/* Collective: the streaming phases after map, each ending in agreement
 * (*clock: when the phase began, and then when the last one ended); *result
 * gets the rank's slice of the result, in output order. */
int mr_stream_phases(mr_ctx *c, mr_stream *st, double *clock, mr_frames *result);

#endif
