/*
 * The phases that stream runs (stream.c) and partition them by sampled key
 * ranges (partition.c): how a job runs once its data outgrows memory, and
 * every job that reduces all of a key's values.
 */
#ifndef MR_STREAM_H
#define MR_STREAM_H

#include "engine/run.h"

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
	size_t nruns, cap;
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

#endif /* MR_STREAM_H */
