/*
 * Phase 4, reduce.  Every rank merges the pairs it received into one table
 * with the job's combine.  After this each key lives on exactly one rank.
 */
#include "internal.h"

int mr_reduce(mr_ctx *c, const mr_buf *recv, mr_table **out)
{
	/* The phase's fault point, for tests (fault.c). */
	int fault = mr_fault(c, MR_PHASE_REDUCE);
	if (fault != MR_OK)
		return fault;
	const char *p = recv->data, *end = recv->data + recv->len;
	const char *key;
	uint32_t len;
	mr_value v;
	uint64_t pairs = 0;
	while (mr_frame_get(&p, end, &key, &len, &v))
		pairs++;
	c->count[MR_C_PAIRS_RECEIVED] = pairs;

	/* Pairs from different ranks share keys: with many ranks, most keys
	 * come from every one of them, so the pairs over-count the keys by up
	 * to nranks.  Start from the low guess and let the table grow: an
	 * oversized table costs more, in pages to zero, than growing. */
	mr_table *t = mr_table_new((size_t)(pairs / (uint64_t)c->nranks));
	mr_emitter em;
	mr_emitter_init(&em, t, c->job->combine);
	int rc = MR_OK;
	p = recv->data;
	while (rc == MR_OK && mr_frame_get(&p, end, &key, &len, &v))
		rc = mr_emit(&em, key, len, v);
	int frc = mr_emitter_finish(&em);
	if (rc == MR_OK)
		rc = frc;
	if (rc == MR_OK && p != end) {
		mr_rank_error("shuffle delivered a truncated pair (%zu bytes left)",
			      (size_t)(end - p));
		rc = MR_ERR_MPI;
	}
	*out = t;
	return rc;
}
