/*
 * The emitter: pairs combined into a table, in batches.  Map's emits go
 * through it, and reduce merges what it received through it too.
 */
#include "internal.h"

static int flush(mr_emitter *e)
{
	if (e->n == 0)
		return e->status;
	/* Long keys were appended to e->long_keys, which may have moved:
	 * point at them only now. */
	size_t at = 0;
	for (size_t i = 0; i < e->n; i++) {
		if (e->pending[i].len > MR_SHORT_KEY) {
			e->pending[i].key = e->long_keys.data + at;
			at += MR_PAD8(e->pending[i].len);
		}
	}
	if (e->status == MR_OK)
		e->status = mr_table_upsert_batch(e->table, e->pending, e->n, e->combine);
	e->n = 0;
	e->long_keys.len = 0;
	return e->status;
}

int mr_emit(mr_emitter *out, const void *key, size_t len, mr_value v)
{
	size_t i = out->n++;
	uint64_t h;
	if (len <= MR_SHORT_KEY) {
		uint64_t *w = out->short_keys[i];
		mr_key_words(key, len, w);
		h = mr_hash_words(w, len);
		out->pending[i].key = (const char *)w;
	} else {
		h = mr_hash(key, len);
		char *k = mr_buf_tail(&out->long_keys, MR_PAD8(len));
		memset(k + (len & ~(size_t)7), 0, len % 8 ? 8 : 0);
		memcpy(k, key, len);
	}
	mr_table_prefetch(out->table, h);
	out->pending[i].hash = h;
	out->pending[i].len = len;
	out->pending[i].value = v;
	out->pairs++;
	return out->n == MR_EMIT_BATCH ? flush(out) : out->status;
}

void *mr_state(const mr_emitter *out)
{
	return out->state;
}

void mr_emitter_init(mr_emitter *e, mr_table *t, mr_combine_fn combine)
{
	memset(e, 0, sizeof(*e));
	e->table = t;
	e->combine = combine;
}

int mr_emitter_finish(mr_emitter *e)
{
	int rc = flush(e);
	mr_buf_release(&e->long_keys);
	return rc;
}
