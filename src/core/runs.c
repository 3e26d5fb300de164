/*
 * Runs, their readers and the merge of sorted runs (runs.h).
 */
#include "core/runs.h"

#include <stdlib.h>

char *mr_frame_put(char *p, const char *key, uint32_t len, const void *vals, uint32_t nvals)
{
	memcpy(p, &len, 4);
	memcpy(p + 4, &nvals, 4);
	p += MR_FRAME_HEADER;
	memcpy(p, vals, (size_t)nvals * 8);
	p += (size_t)nvals * 8;
	memcpy(p, key, len);
	return p + len;
}

bool mr_frame_get(const char **p, const char *end, const char **key, uint32_t *len,
		  const char **vals, uint32_t *nvals)
{
	size_t left = (size_t)(end - *p);
	if (left < MR_FRAME_HEADER)
		return false;
	memcpy(len, *p, 4);
	memcpy(nvals, *p + 4, 4);
	left -= MR_FRAME_HEADER;
	if (left / 8 < *nvals || left - (size_t)*nvals * 8 < *len)
		return false;
	*vals = *p + MR_FRAME_HEADER;
	*key = *vals + (size_t)*nvals * 8;
	*p = *key + *len;
	return true;
}

char *mr_pair_put(char *p, unsigned unit, const mr_pair *pair)
{
	uint32_t n = (uint32_t)(pair->vlen / unit);
	memcpy(p, &pair->klen, 4);
	memcpy(p + 4, &n, 4);
	p += MR_FRAME_HEADER;
	memcpy(p, pair->val, pair->vlen);
	p += pair->vlen;
	memcpy(p, pair->key, pair->klen);
	return p + pair->klen;
}

bool mr_pair_get(const char **p, const char *end, unsigned unit, mr_pair *out)
{
	size_t left = (size_t)(end - *p);
	uint32_t n;
	if (left < MR_FRAME_HEADER)
		return false;
	memcpy(&out->klen, *p, 4);
	memcpy(&n, *p + 4, 4);
	left -= MR_FRAME_HEADER;
	if (left / unit < n || left - (size_t)n * unit < out->klen)
		return false;
	out->vlen = (size_t)n * unit;
	out->val = *p + MR_FRAME_HEADER;
	out->key = out->val + out->vlen;
	*p = out->key + out->klen;
	return true;
}

int mr_pair_cmp_key(const mr_pair *a, const mr_pair *b)
{
	return mr_key_cmp(a->key, a->klen, b->key, b->klen);
}

int mr_pair_cmp_key_value(const mr_pair *a, const mr_pair *b)
{
	int c = mr_key_cmp(a->key, a->klen, b->key, b->klen);
	return c ? c : mr_key_cmp(a->val, a->vlen, b->val, b->vlen);
}

/* ---- runs ----------------------------------------------------------------- */

void mr_frames_init(mr_frames *r, unsigned unit)
{
	memset(r, 0, sizeof(*r));
	r->unit = unit;
}

void mr_frames_add(mr_frames *r, const mr_pair *p)
{
	size_t n = mr_pair_size(r->unit, p->klen, p->vlen);
	mr_pair_put(mr_buf_tail(&r->tail, n), r->unit, p);
	r->bytes += n;
	r->pairs++;
	r->key_bytes += p->klen;
	r->val_bytes += p->vlen;
}

void mr_frames_add_bytes(mr_frames *r, const void *p, size_t n)
{
	mr_buf_add(&r->tail, p, n);
	r->bytes += n;
}

int mr_frames_flush(mr_frames *r, mr_spill *s)
{
	if (r->tail.len == 0)
		return MR_OK;
	uint64_t off;
	int rc = mr_spill_write(s, r->tail.data, r->tail.len, &off);
	if (rc != MR_OK)
		return rc;
	MR_GROW(r->ext, r->ext_cap, 2 * r->next + 2);
	r->ext[2 * r->next] = off;
	r->ext[2 * r->next + 1] = r->tail.len;
	mr_progress();
	r->next++;
	r->tail.len = 0;
	return MR_OK;
}

void mr_frames_release(mr_frames *r, mr_spill *s)
{
	for (size_t i = 0; s && i < r->next; i++)
		mr_spill_release(s, r->ext[2 * i], r->ext[2 * i + 1]);
	free(r->ext);
	r->ext_cap = 0;
	mr_buf_release(&r->tail);
	mr_frames_init(r, r->unit);
}

/* ---- reading a run --------------------------------------------------------- */

void mr_frames_reader_init(mr_frames_reader *rd, const mr_frames *r, mr_spill *s, size_t block)
{
	memset(rd, 0, sizeof(*rd));
	rd->run = r;
	rd->spill = s;
	rd->block = block ? block : (size_t)1 << 20;
}

/* Makes at least want bytes available from rd->pos, reading the next
 * extents (a block at a time, or more for a frame bigger than a block) and
 * then the tail.  False if the run ends first. */
static bool fill(mr_frames_reader *rd, size_t want)
{
	const mr_frames *r = rd->run;
	size_t have = rd->buf.len - rd->pos;
	if (rd->pos > 0) { /* keep what is left at the front */
		memmove(rd->buf.data, rd->buf.data + rd->pos, have);
		rd->buf.len = have;
		rd->pos = 0;
	}
	size_t goal = want > rd->block ? want : rd->block;
	while (rd->buf.len < want || (rd->buf.len < goal && rd->ext < r->next)) {
		if (rd->ext < r->next) {
			uint64_t left = r->ext[2 * rd->ext + 1] - rd->ext_pos;
			size_t n = goal - rd->buf.len;
			if (n > left)
				n = (size_t)left;
			char *dst = mr_buf_tail(&rd->buf, n);
			if (mr_spill_read(rd->spill, r->ext[2 * rd->ext] + rd->ext_pos, dst, n) !=
			    MR_OK) {
				rd->status = MR_ERR_IO;
				return false;
			}
			rd->ext_pos += n;
			if (rd->ext_pos == r->ext[2 * rd->ext + 1]) {
				rd->ext++;
				rd->ext_pos = 0;
			}
			continue;
		}
		size_t left = r->tail.len - rd->tail_pos;
		if (left == 0)
			return false;
		size_t n = want - rd->buf.len < left ? want - rd->buf.len : left;
		mr_buf_add(&rd->buf, r->tail.data + rd->tail_pos, n);
		rd->tail_pos += n;
	}
	return true;
}

bool mr_frames_read(mr_frames_reader *rd, mr_pair *out)
{
	const mr_frames *r = rd->run;
	if (rd->status != MR_OK)
		return false;
	if (rd->pos == rd->buf.len && rd->ext == r->next) {
		/* Only the tail is left: read it where it lies. */
		const char *p = r->tail.data + rd->tail_pos, *end = r->tail.data + r->tail.len;
		if (p == end)
			return false;
		if (!mr_pair_get(&p, end, r->unit, out)) {
			rd->status = MR_ERR_LIMIT;
			return false;
		}
		rd->tail_pos = (size_t)(p - r->tail.data);
		return true;
	}
	if (rd->buf.len - rd->pos < MR_FRAME_HEADER && !fill(rd, MR_FRAME_HEADER)) {
		if (rd->status == MR_OK && rd->buf.len > rd->pos)
			rd->status = MR_ERR_LIMIT; /* a frame cut short */
		return false;
	}
	uint32_t klen, n;
	memcpy(&klen, rd->buf.data + rd->pos, 4);
	memcpy(&n, rd->buf.data + rd->pos + 4, 4);
	size_t need = MR_FRAME_HEADER + (size_t)n * r->unit + klen;
	if (rd->buf.len - rd->pos < need && !fill(rd, need)) {
		if (rd->status == MR_OK)
			rd->status = MR_ERR_LIMIT;
		return false;
	}
	const char *p = rd->buf.data + rd->pos;
	mr_pair_get(&p, rd->buf.data + rd->buf.len, r->unit, out);
	rd->pos = (size_t)(p - rd->buf.data);
	return true;
}

size_t mr_frames_read_raw(mr_frames_reader *rd, char *dst, size_t n)
{
	const mr_frames *r = rd->run;
	size_t got = 0;
	while (got < n && rd->status == MR_OK) {
		if (rd->pos < rd->buf.len) { /* what a frame read left buffered */
			size_t k =
				rd->buf.len - rd->pos < n - got ? rd->buf.len - rd->pos : n - got;
			memcpy(dst + got, rd->buf.data + rd->pos, k);
			rd->pos += k;
			got += k;
		} else if (rd->ext < r->next) {
			uint64_t left = r->ext[2 * rd->ext + 1] - rd->ext_pos;
			size_t k = left < n - got ? (size_t)left : n - got;
			if (mr_spill_read(rd->spill, r->ext[2 * rd->ext] + rd->ext_pos, dst + got,
					  k) != MR_OK) {
				rd->status = MR_ERR_IO;
				return 0;
			}
			got += k;
			rd->ext_pos += k;
			if (rd->ext_pos == r->ext[2 * rd->ext + 1]) {
				rd->ext++;
				rd->ext_pos = 0;
			}
		} else {
			size_t left = r->tail.len - rd->tail_pos;
			if (left == 0)
				break;
			size_t k = left < n - got ? left : n - got;
			memcpy(dst + got, r->tail.data + rd->tail_pos, k);
			rd->tail_pos += k;
			got += k;
		}
	}
	return got;
}

void mr_frames_reader_release(mr_frames_reader *rd)
{
	mr_buf_release(&rd->buf);
}

int mr_iter_next(mr_iter *it, const void **val, size_t *len)
{
	mr_pair p = {0};
	if (!mr_frames_read(&it->rd, &p))
		return 0;
	*val = p.val;
	*len = p.vlen;
	return 1;
}

uint64_t mr_iter_count(const mr_iter *it)
{
	return it->count;
}

/* ---- the merge ----------------------------------------------------------- */

static inline bool before(const mr_merge *m, size_t a, size_t b)
{
	if (m->prefix && m->prefix[a] != m->prefix[b])
		return m->prefix[a] < m->prefix[b];
	int c = m->cmp(&m->head[a], &m->head[b]);
	return c < 0 || (c == 0 && a < b);
}

static void sift_down(mr_merge *m, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, best = i;
		if (l < m->n && before(m, m->heap[l], m->heap[best]))
			best = l;
		if (l + 1 < m->n && before(m, m->heap[l + 1], m->heap[best]))
			best = l + 1;
		if (best == i)
			return;
		size_t t = m->heap[i];
		m->heap[i] = m->heap[best];
		m->heap[best] = t;
		i = best;
	}
}

/* Reads run i's next head: false at its end. */
static bool read_head(mr_merge *m, size_t i)
{
	if (!mr_frames_read(&m->rd[i], &m->head[i]))
		return false;
	if (m->prefix)
		m->prefix[i] = mr_key_prefix(m->head[i].key, m->head[i].klen);
	return true;
}

/* Reads run i's next head; drops the run from the heap top at its end. */
static void advance_top(mr_merge *m)
{
	size_t i = m->heap[0];
	if (!read_head(m, i)) {
		if (m->rd[i].status != MR_OK)
			m->status = m->rd[i].status;
		m->heap[0] = m->heap[--m->n];
	}
	if (m->n > 0)
		sift_down(m, 0);
}

void mr_merge_init(mr_merge *m, mr_frames *const *runs, size_t k, mr_spill *s, size_t block,
		   mr_pair_cmp cmp)
{
	memset(m, 0, sizeof(*m));
	m->k = k;
	m->cmp = cmp;
	m->popped = SIZE_MAX;
	m->rd = mr_calloc(k + 1, sizeof(*m->rd));
	m->head = mr_calloc(k + 1, sizeof(*m->head));
	m->heap = mr_calloc(k + 1, sizeof(*m->heap));
	if (cmp == mr_pair_cmp_key || cmp == mr_pair_cmp_key_value)
		m->prefix = mr_calloc(k + 1, sizeof(*m->prefix));
	for (size_t i = 0; i < k; i++) {
		mr_frames_reader_init(&m->rd[i], runs[i], s, block);
		if (read_head(m, i))
			m->heap[m->n++] = i;
		else if (m->rd[i].status != MR_OK)
			m->status = m->rd[i].status;
	}
	for (size_t i = m->n / 2; i-- > 0;)
		sift_down(m, i);
}

bool mr_merge_next(mr_merge *m, mr_pair *out, size_t *src)
{
	if (m->popped != SIZE_MAX) {
		advance_top(m); /* the pair handed out last is done with */
		m->popped = SIZE_MAX;
	}
	if (m->n == 0 || m->status != MR_OK)
		return false;
	size_t i = m->heap[0];
	*out = m->head[i];
	if (src)
		*src = i;
	m->popped = i;
	return true;
}

void mr_merge_release(mr_merge *m)
{
	for (size_t i = 0; i < m->k; i++)
		mr_frames_reader_release(&m->rd[i]);
	free(m->rd);
	free(m->head);
	free(m->heap);
	free(m->prefix);
	memset(m, 0, sizeof(*m));
}
