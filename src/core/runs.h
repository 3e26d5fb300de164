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

#include "core/table.h"
#include "core/util.h"

/* ---- frames (runs.c) ---------------------------------------------------
 * A frame is: u32 key length, u32 value words n, n 8-byte words, the key. */
#define MR_FRAME_HEADER 8
static inline size_t mr_frame_size(size_t keylen, uint32_t nvals)
{
	return MR_FRAME_HEADER + 8 * (size_t)nvals + keylen;
}
char *mr_frame_put(char *p, const char *key, uint32_t len, const void *vals, uint32_t nvals);
/* Reads the frame at *p (within end); returns false if none is complete.
 * *vals points at the frame's words, which may be unaligned. */
bool mr_frame_get(const char **p, const char *end, const char **key, uint32_t *len,
		  const char **vals, uint32_t *nvals);

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
	size_t n = na < nb ? na : nb;
	int c = n ? memcmp(a, b, n) : 0; /* an empty one may be NULL */
	return c ? c : (na > nb) - (na < nb);
}
/* A key's first 8 bytes, big-endian, zero-padded: where two keys' prefixes
 * differ, they order as the keys do (mr_key_cmp); equal prefixes say
 * nothing. */
static inline uint64_t mr_key_prefix(const char *key, size_t len)
{
	unsigned char b[8] = {0};
	if (len)
		memcpy(b, key, len < 8 ? len : 8);
	uint64_t v;
	memcpy(&v, b, 8);
	return __builtin_bswap64(v);
}
typedef int (*mr_pair_cmp)(const mr_pair *a, const mr_pair *b);
int mr_pair_cmp_key(const mr_pair *a, const mr_pair *b);
/* By key, then value bytes (as keys compare). */
int mr_pair_cmp_key_value(const mr_pair *a, const mr_pair *b);

/* The spill store (spill.c): one unnamed file per rank. */
typedef struct mr_spill {
	const char *dir; /* --tmp, or NULL */
	int fd;		 /* -1 until first written */
	uint64_t end;
	uint64_t written; /* bytes, for the statistics */
	bool failed;	  /* said already */
} mr_spill;

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
	size_t ext_cap;			      /* of ext, in words */
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
/* What sorting the pairs of a run held in memory takes: each pair's array
 * entry and the radix sort's two arrays (partition.c), 64 bytes a pair. */
#define MR_SORT_BYTES_PER_PAIR 64
/* Bytes of memory the run's tail holds and sorting it would take. */
static inline uint64_t mr_frames_to_sort(const mr_frames *r)
{
	return r->tail.len + MR_SORT_BYTES_PER_PAIR * r->pairs;
}
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
	/* Each head's key's first 8 bytes, big-endian, zero-padded, where
	 * cmp orders by key first (mr_key_prefix): most comparisons end on
	 * them, without a call or a memcmp.  NULL for other orders. */
	uint64_t *prefix;
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

/* A key's values, as reduce sees them: copied from the merge into a run of
 * their own first, so that their number is known. */
struct mr_iter {
	mr_frames_reader rd;
	uint64_t count;
};

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

#endif
