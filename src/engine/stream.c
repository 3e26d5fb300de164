/*
 * The streaming phases: how a job runs once its data outgrows memory, and
 * how every job that reduces all of a key's values runs.  Runs are the
 * currency (runs.h); each phase reads sorted runs and writes sorted runs,
 * in memory where they fit and in the spill store where they do not.
 *
 *   map      the table (or the collected pairs) sorted into runs, sampled
 *   shuffle  splitters from the samples; the runs merged (combined) and cut
 *            by key range, one run per rank; exchanged in bounded rounds
 *   reduce   the received runs merged: combined and finished (COMBINE), or
 *            each key's values handed to the job's reduce (REDUCE)
 *   order    key and none: nothing to do, rank order is key order; count:
 *            each pair's key prefixed with its value (8 bytes, so that byte
 *            order is the count order), sorted, exchanged by range again,
 *            merged, and the prefix dropped
 *
 * The result is the same as the in-memory path's for orders count and key:
 * both are total orders of unique keys.  Order none gives key order here.
 */
#include "engine/stream.h"

#include <math.h>
#include <stdlib.h>

enum mr_plan mr_plan_of(const mr_ctx *c)
{
	const mr_job *job = c->job;
	if (job->reduce && (!job->uses_reduce || job->uses_reduce(c->cfg->job_state)))
		return MR_PLAN_REDUCE;
	if (!job->combine && job->value_type != MR_U64_SET)
		return MR_PLAN_MAP_ONLY;
	return MR_PLAN_COMBINE;
}

void mr_stream_init(mr_stream *st, unsigned unit)
{
	memset(st, 0, sizeof(*st));
	st->unit = unit;
	mr_frames_init(&st->collect, unit);
}

void mr_stream_release(mr_ctx *c, mr_stream *st)
{
	for (size_t i = 0; i < st->nruns; i++)
		mr_frames_release(&st->runs[i], &c->spill);
	free(st->runs);
	st->cap = 0;
	mr_frames_release(&st->collect, &c->spill);
	mr_buf_release(&st->samples);
	memset(st, 0, sizeof(*st));
}

/* Sorted pairs p[0..n) as the stream's next run, and its samples. */
static int add_sorted(mr_ctx *c, mr_stream *st, mr_pair *p, size_t n, bool to_disk)
{
	MR_GROW(st->runs, st->cap, st->nruns + 1);
	mr_frames *r = &st->runs[st->nruns++];
	mr_frames_init(r, st->unit);
	mr_sample(&st->samples, p, n);
	size_t block = mr_block_for(c, 0);
	int rc = MR_OK;
	for (size_t i = 0; i < n && rc == MR_OK; i++) {
		mr_frames_add(r, &p[i]);
		if (to_disk && r->tail.len >= block)
			rc = mr_frames_flush(r, &c->spill);
	}
	if (to_disk && rc == MR_OK) {
		rc = mr_frames_flush(r, &c->spill);
		mr_buf_release(&r->tail); /* it is done: keep no buffer for it */
	}
	st->spilled |= to_disk;
	c->count[MR_C_RUNS_SPILLED] += to_disk;
	return rc;
}

int mr_stream_table(mr_ctx *c, mr_stream *st, mr_table *t, bool to_disk)
{
	size_t n = mr_table_count(t), i = 0, pos = 0, len;
	mr_pair *p = mr_malloc(mr_mul(n + 1, sizeof(*p)));
	const char *key;
	mr_value *v;
	uint32_t nv;
	while (mr_table_next(t, &pos, &key, &len, &v, &nv))
		p[i++] = (mr_pair){.key = key,
				   .klen = (uint32_t)len,
				   .val = (const char *)v,
				   .vlen = 8 * (size_t)nv};
	mr_pairs_sort(p, n, mr_pair_cmp_key);
	int rc = add_sorted(c, st, p, n, to_disk);
	free(p);
	mr_table_clear(t);
	return rc;
}

int mr_stream_collected(mr_ctx *c, mr_stream *st, bool to_disk)
{
	mr_frames *in = &st->collect;
	size_t n = (size_t)in->pairs, i = 0;
	mr_pair *p = mr_malloc(mr_mul(n + 1, sizeof(*p)));
	const char *at = in->tail.data, *end = at + in->tail.len;
	while (i < n && mr_pair_get(&at, end, st->unit, &p[i]))
		i++;
	mr_pairs_sort(p, i, mr_pair_cmp_key_value);
	int rc = add_sorted(c, st, p, i, to_disk);
	free(p);
	mr_frames_release(in, NULL);
	return rc;
}

/* ---- shuffle: by range, combining -------------------------------------- */

/* Runs for every rank, of the given unit. */
static mr_frames *new_runs(size_t n, unsigned unit)
{
	mr_frames *r = mr_calloc(n + 1, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		mr_frames_init(&r[i], unit);
	return r;
}

static void free_runs(mr_ctx *c, mr_frames *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mr_frames_release(&r[i], &c->spill);
	free(r);
}

/* The sorted runs in[0..k), merged (and combined by cb), cut by splitters
 * from samples and exchanged: *recv gets one run from every rank.
 * Collective; the status is every rank's. */
static int by_range(mr_ctx *c, mr_frames *in, size_t k, const mr_buf *samples, unsigned unit,
		    mr_combiner *cb, mr_pair_cmp cmp, mr_frames **recv)
{
	size_t nr = (size_t)c->nranks;
	mr_splitters sp;
	mr_splitters_pick(c, samples, &sp);
	mr_frames **ptrs = mr_malloc(mr_mul(k + 1, sizeof(*ptrs)));
	uint64_t bytes = 0;
	for (size_t i = 0; i < k; i++) {
		ptrs[i] = &in[i];
		bytes += in[i].bytes;
	}
	/* What does not fit a quarter of the budget goes to disk as it is cut. */
	size_t flush = bytes > c->budget / 4 ? mr_block_for(c, nr) : SIZE_MAX;
	mr_frames *out = new_runs(nr, unit);
	int rc = mr_partition(c, ptrs, k, &sp, cb, cmp, out, flush);
	free(ptrs);
	mr_splitters_release(&sp);
	for (size_t i = 0; i < k; i++)
		mr_frames_release(&in[i], &c->spill);
	*recv = new_runs(nr, unit);
	size_t rflush = c->budget / 4 / nr;
	int xrc = mr_exchange_runs(c, out, *recv, rflush > (64u << 10) ? rflush : 64u << 10);
	free(out);
	return mr_agree(c->comm, rc != MR_OK ? rc : xrc);
}

/* ---- reduce ------------------------------------------------------------- */

static int finished(mr_ctx *c, mr_combiner *cb)
{
	if (!c->job->finish || cb->vals.kind == MR_VK_SET)
		return MR_OK;
	int rc = c->job->finish(c->cfg->job_state, cb->acc);
	if (rc != MR_OK) {
		mr_job_failed(c->job->name, "finish", rc);
		return MR_ERR_JOB;
	}
	return MR_OK;
}

/* Appends p to out, to disk past an eighth of the budget (a phase's output
 * is held while the next phase's sorts take their half). */
static int put(mr_ctx *c, mr_frames *out, const mr_pair *p)
{
	mr_frames_add(out, p);
	return out->tail.len > c->budget / 8 ? mr_frames_flush(out, &c->spill) : MR_OK;
}

/* COMBINE: the received runs merged, each key's values combined, finished. */
static int reduce_combined(mr_ctx *c, mr_frames *recv, mr_frames *out)
{
	size_t nr = (size_t)c->nranks;
	mr_frames **ptrs = mr_malloc(mr_mul(nr, sizeof(*ptrs)));
	for (size_t i = 0; i < nr; i++)
		ptrs[i] = &recv[i];
	mr_merge m;
	mr_merge_init(&m, ptrs, nr, &c->spill, mr_block_for(c, nr), mr_pair_cmp_key);
	mr_values vals = mr_values_of(c->job);
	mr_combiner cb;
	mr_combiner_init(&cb, &vals);
	mr_pair p;
	int rc = MR_OK;
	bool more = mr_merge_next(&m, &p, NULL);
	while (more && rc == MR_OK) {
		mr_combiner_start(&cb, &p);
		c->count[MR_C_PAIRS_RECEIVED]++;
		while ((more = mr_merge_next(&m, &p, NULL)) && mr_combiner_same(&cb, &p)) {
			c->count[MR_C_PAIRS_RECEIVED]++;
			if ((rc = mr_combiner_add(&cb, &p)) != MR_OK)
				break;
		}
		if (rc == MR_OK)
			rc = finished(c, &cb);
		if (rc == MR_OK) {
			mr_pair q = mr_combiner_pair(&cb);
			rc = put(c, out, &q);
		}
	}
	if (rc == MR_OK && m.status != MR_OK)
		rc = m.status;
	mr_combiner_release(&cb);
	mr_merge_release(&m);
	free(ptrs);
	return rc;
}

/* REDUCE: the received runs merged by key and value; each key's values to
 * the job's reduce, whose result goes to out. */
static int reduce_all(mr_ctx *c, mr_frames *recv, mr_frames *out)
{
	size_t nr = (size_t)c->nranks;
	mr_frames **ptrs = mr_malloc(mr_mul(nr, sizeof(*ptrs)));
	for (size_t i = 0; i < nr; i++)
		ptrs[i] = &recv[i];
	mr_merge m;
	mr_merge_init(&m, ptrs, nr, &c->spill, mr_block_for(c, nr), mr_pair_cmp_key_value);
	mr_values vals = mr_values_of(c->job);
	mr_emitter em;
	mr_emitter_init(&em, NULL, &vals);
	mr_emitter_to_run(&em, MR_EMIT_OUTPUT, out);
	em.state = c->cfg->job_state;
	em.job = c->job->name;
	mr_frames group;
	mr_frames_init(&group, 1);
	mr_buf key = {0};
	mr_pair p;
	int rc = MR_OK;
	bool more = mr_merge_next(&m, &p, NULL);
	while (more && rc == MR_OK) {
		key.len = 0;
		mr_buf_add(&key, p.key, p.klen);
		do {
			mr_pair v = {.key = "", .klen = 0, .val = p.val, .vlen = p.vlen};
			c->count[MR_C_PAIRS_RECEIVED]++;
			rc = put(c, &group, &v);
		} while (rc == MR_OK && (more = mr_merge_next(&m, &p, NULL)) &&
			 mr_key_cmp(p.key, p.klen, key.data, key.len) == 0);
		struct mr_iter it = {.count = group.pairs};
		mr_frames_reader_init(&it.rd, &group, &c->spill, mr_block_for(c, nr));
		if (rc == MR_OK)
			rc = c->job->reduce(c->cfg->job_state, key.data ? key.data : "", key.len,
					    &it, &em);
		if (rc == MR_OK && it.rd.status != MR_OK)
			rc = it.rd.status;
		else if (rc != MR_OK && rc != MR_ERR_IO && rc != MR_ERR_NOMEM &&
			 rc != MR_ERR_LIMIT) {
			mr_job_failed(c->job->name, "reduce", rc);
			rc = MR_ERR_JOB;
		}
		mr_frames_reader_release(&it.rd);
		mr_frames_release(&group, &c->spill);
		if (rc == MR_OK && out->tail.len > c->budget / 8)
			rc = mr_frames_flush(out, &c->spill);
	}
	if (rc == MR_OK && m.status != MR_OK)
		rc = m.status;
	if (rc == MR_OK && c->job->reduce_end &&
	    (rc = c->job->reduce_end(c->cfg->job_state, &em)) != MR_OK) {
		mr_job_failed(c->job->name, "reduce", rc);
		rc = MR_ERR_JOB;
	}
	mr_buf_release(&key);
	mr_merge_release(&m);
	free(ptrs);
	return rc;
}

/* ---- order count --------------------------------------------------------- */

/* The 8 bytes that sort a pair by value descending: the value made an
 * unsigned number in the value's order, inverted, big-endian. */
static uint64_t count_prefix(const mr_ctx *c, const mr_pair *p)
{
	mr_values v = mr_values_of(c->job);
	uint64_t x = 0;
	if (v.kind == MR_VK_SET) {
		x = p->vlen / 8;
	} else if (v.kind != MR_VK_BYTES && p->vlen >= 8) {
		memcpy(&x, p->val, 8);
		if (v.number) {
			double d = mr_number_double(p->val);
			memcpy(&x, &d, 8);
		}
		if (c->job->value_type == MR_F64 || v.number) {
			double d;
			memcpy(&d, &x, 8);
			if (d == 0)
				d = 0; /* -0 sorts as 0, as the in-memory order has it */
			memcpy(&x, &d, 8);
			x = x >> 63 ? ~x : x ^ (UINT64_C(1) << 63);
		}
	}
	return __builtin_bswap64(~x);
}

/* The result, by key in runs, re-keyed with the count prefix, sorted in
 * chunks of a quarter of the budget; the chunks as a stream's runs. */
static int count_runs(mr_ctx *c, mr_frames *res, mr_stream *st)
{
	mr_frames_reader rd;
	mr_frames_reader_init(&rd, res, &c->spill, mr_block_for(c, 1));
	mr_buf keys = {0};
	mr_frames chunk;
	mr_frames_init(&chunk, res->unit);
	bool to_disk = res->bytes > c->budget / 4;
	int rc = MR_OK;
	mr_pair p;
	bool more = true;
	while (rc == MR_OK && more) {
		more = mr_frames_read(&rd, &p);
		if (more) {
			keys.len = 0;
			uint64_t pre = count_prefix(c, &p);
			mr_buf_add(&keys, &pre, 8);
			mr_buf_add(&keys, p.key, p.klen);
			mr_pair q = {
				.key = keys.data, .klen = p.klen + 8, .val = p.val, .vlen = p.vlen};
			mr_frames_add(&chunk, &q);
		}
		if (chunk.pairs > 0 && (!more || mr_frames_to_sort(&chunk) > c->budget / 2)) {
			mr_frames_release(&st->collect, NULL);
			st->collect = chunk;
			rc = mr_stream_collected(c, st, to_disk);
			mr_frames_init(&chunk, res->unit);
		}
	}
	if (rc == MR_OK && rd.status != MR_OK)
		rc = rd.status;
	mr_frames_reader_release(&rd);
	mr_frames_release(&chunk, NULL);
	mr_buf_release(&keys);
	return rc;
}

/* The received runs merged into the result, the count prefix dropped. */
static int merge_stripped(mr_ctx *c, mr_frames *recv, mr_frames *out)
{
	size_t nr = (size_t)c->nranks;
	mr_frames **ptrs = mr_malloc(mr_mul(nr, sizeof(*ptrs)));
	for (size_t i = 0; i < nr; i++)
		ptrs[i] = &recv[i];
	mr_merge m;
	mr_merge_init(&m, ptrs, nr, &c->spill, mr_block_for(c, nr), mr_pair_cmp_key);
	mr_pair p;
	int rc = MR_OK;
	while (rc == MR_OK && mr_merge_next(&m, &p, NULL)) {
		p.key += 8;
		p.klen -= 8;
		rc = put(c, out, &p);
	}
	if (rc == MR_OK && m.status != MR_OK)
		rc = m.status;
	mr_merge_release(&m);
	free(ptrs);
	return rc;
}

/* ---- the phases ---------------------------------------------------------- */

int mr_stream_phases(mr_ctx *c, mr_stream *st, double *clock, mr_frames *result)
{
	double t = *clock;
	enum mr_plan plan = mr_plan_of(c);
	size_t nr = (size_t)c->nranks;
	unsigned out_unit = mr_values_of(c->job).kind == MR_VK_BYTES ? 1 : 8;
	mr_values vals = mr_values_of(c->job);
	mr_combiner cb;
	mr_combiner_init(&cb, &vals);
	mr_frames *recv = NULL;
	int rc = mr_agree(c->comm, mr_fault(c, MR_PHASE_SHUFFLE));
	if (rc == MR_OK)
		rc = by_range(c, st->runs, st->nruns, &st->samples, st->unit,
			      plan == MR_PLAN_COMBINE ? &cb : NULL,
			      plan == MR_PLAN_COMBINE ? mr_pair_cmp_key : mr_pair_cmp_key_value,
			      &recv);
	mr_combiner_release(&cb);
	st->nruns = 0;
	mr_buf_release(&st->samples);
	rc = mr_end_phase(c, MR_PHASE_SHUFFLE, &t, rc);

	mr_frames reduced;
	mr_frames_init(&reduced, out_unit);
	if (rc == MR_OK) {
		int fault = mr_fault(c, MR_PHASE_REDUCE);
		rc = fault != MR_OK	       ? fault
		     : plan == MR_PLAN_COMBINE ? reduce_combined(c, recv, &reduced)
					       : reduce_all(c, recv, &reduced);
	}
	if (recv)
		free_runs(c, recv, nr);
	recv = NULL;
	rc = mr_end_phase(c, MR_PHASE_REDUCE, &t, rc);

	/* Records, and byte strings, have no count: they stay in key order. */
	bool by_count = mr_result_order(c) == MR_IN_COUNT;
	if (rc == MR_OK)
		rc = mr_agree(c->comm, mr_fault(c, MR_PHASE_ORDER));
	if (rc == MR_OK && by_count) {
		mr_stream_release(c, st);
		mr_stream_init(st, out_unit);
		rc = count_runs(c, &reduced, st);
		mr_frames_release(&reduced, &c->spill);
		rc = mr_agree(c->comm, rc);
		if (rc == MR_OK)
			rc = by_range(c, st->runs, st->nruns, &st->samples, out_unit, NULL,
				      mr_pair_cmp_key, &recv);
		st->nruns = 0;
		if (rc == MR_OK)
			rc = merge_stripped(c, recv, result);
		if (recv)
			free_runs(c, recv, nr);
	} else {
		*result = reduced; /* key order, which is rank order */
	}
	c->count[MR_C_KEYS_OUT] = result->pairs;
	rc = mr_end_phase(c, MR_PHASE_ORDER, &t, rc);
	*clock = t;
	return rc;
}
