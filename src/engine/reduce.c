/*
 * Phase 4, reduce.  Every rank merges the pairs it received into one table
 * with the job's combine.  After this each key lives on exactly one rank,
 * and the job's finish, if any, turns each combined value into its result.
 */
#include "engine/run.h"

int mr_reduce(mr_ctx *c, const mr_buf *recv, mr_table **out)
{
	/* The phase's fault point, for tests (fault.c). */
	int fault = mr_fault(c, MR_PHASE_REDUCE);
	if (fault != MR_OK)
		return fault;
	const char *p = recv->data, *end = recv->data + recv->len;
	const char *key, *v;
	uint32_t len, nv;
	uint64_t pairs = 0;
	while (mr_frame_get(&p, end, &key, &len, &v, &nv))
		pairs++;
	c->count[MR_C_PAIRS_RECEIVED] = pairs;

	/* Pairs from different ranks share keys: with many ranks, most keys
	 * come from every one of them, so the pairs over-count the keys by up
	 * to nranks.  Start from the low guess and let the table grow: an
	 * oversized table costs more, in pages to zero, than growing. */
	mr_values vals = mr_values_of(c->job);
	mr_table *t = mr_table_new((size_t)(pairs / (uint64_t)c->nranks), &vals);
	mr_emitter em;
	mr_emitter_init(&em, t, &vals);
	int rc = MR_OK;
	p = recv->data;
	while (rc == MR_OK && mr_frame_get(&p, end, &key, &len, &v, &nv)) {
		if (vals.kind == MR_VK_SET ? nv == 0 : nv != vals.width) {
			mr_rank_error("shuffle delivered a value of %u words, not %u", nv,
				      vals.kind == MR_VK_SET ? 1 : vals.width);
			rc = MR_ERR_MPI;
			break;
		}
		rc = mr_emit_words(&em, key, len, v, nv);
	}
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

int mr_finish(mr_ctx *c, mr_table *t)
{
	if (!c->job->finish || c->job->value_type == MR_U64_SET)
		return MR_OK;
	const char *key;
	size_t len, pos = 0;
	mr_value *v;
	uint32_t nv;
	while (mr_table_next(t, &pos, &key, &len, &v, &nv)) {
		int rc = c->job->finish(c->cfg->job_state, v);
		if (rc != MR_OK) {
			mr_job_failed(c->job->name, "finish", rc);
			return MR_ERR_JOB;
		}
	}
	return MR_OK;
}
