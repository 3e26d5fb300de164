/*
 * The combiner: a key's values combined as pairs stream by in key order
 * (a merge of sorted runs), outside any table.  One word and fields go
 * through the job's combine; sets are united, as the table does it.
 */
#include "core/runs.h"

#include <stdlib.h>

void mr_combiner_init(mr_combiner *cb, const mr_values *vals)
{
	memset(cb, 0, sizeof(*cb));
	cb->vals = *vals;
}

void mr_combiner_release(mr_combiner *cb)
{
	mr_buf_release(&cb->key);
	mr_buf_release(&cb->set);
	mr_buf_release(&cb->scratch);
	memset(cb, 0, sizeof(*cb));
}

bool mr_combiner_same(const mr_combiner *cb, const mr_pair *p)
{
	return cb->have && cb->key.len == p->klen && memcmp(cb->key.data, p->key, p->klen) == 0;
}

void mr_combiner_start(mr_combiner *cb, const mr_pair *p)
{
	cb->key.len = 0;
	mr_buf_add(&cb->key, p->key, p->klen);
	cb->have = true;
	if (cb->vals.kind == MR_VK_SET) {
		cb->set.len = 0;
		mr_buf_add(&cb->set, p->val, p->vlen);
	} else {
		memcpy(cb->acc, p->val, p->vlen < sizeof(cb->acc) ? p->vlen : sizeof(cb->acc));
	}
}

/* The union of the sorted, distinct members held and those of p. */
static void unite(mr_combiner *cb, const mr_pair *p)
{
	size_t n = cb->set.len / 8, m = p->vlen / 8, i = 0, j = 0;
	cb->scratch.len = 0;
	uint64_t *out = (uint64_t *)(void *)mr_buf_tail(&cb->scratch, mr_mul(n + m, 8));
	const char *a = cb->set.data, *b = p->val;
	size_t k = 0;
	while (i < n || j < m) {
		uint64_t x = i < n ? mr_load64(a + 8 * i) : UINT64_MAX;
		uint64_t y = j < m ? mr_load64(b + 8 * j) : UINT64_MAX;
		if (i < n && (j >= m || x <= y)) {
			out[k++] = x;
			i++;
			j += j < m && x == y;
		} else {
			out[k++] = y;
			j++;
		}
	}
	cb->set.len = 0;
	mr_buf_add(&cb->set, out, k * 8);
}

int mr_combiner_add(mr_combiner *cb, const mr_pair *p)
{
	if (cb->vals.kind == MR_VK_SET) {
		unite(cb, p);
		if (cb->set.len / 8 > (UINT64_C(1) << 31)) {
			mr_rank_error("a set of more than 2^31 members");
			return MR_ERR_LIMIT;
		}
		return MR_OK;
	}
	mr_value in[MR_MAX_FIELDS]; /* combine takes aligned words */
	memcpy(in, p->val, (size_t)cb->vals.width * 8);
	return cb->vals.combine(cb->acc, in);
}

mr_pair mr_combiner_pair(const mr_combiner *cb)
{
	bool set = cb->vals.kind == MR_VK_SET;
	return (mr_pair){
		.key = cb->key.data,
		.klen = (uint32_t)cb->key.len,
		.val = set ? cb->set.data : (const char *)cb->acc,
		.vlen = set ? (uint32_t)cb->set.len : 8 * cb->vals.width,
	};
}
