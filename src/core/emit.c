/*
 * The emitter: pairs combined into a table, in batches.  Map's emits go
 * through it, and reduce merges what it received through it too.  Map also
 * asks it where the record comes from, and tells it of malformed records.
 */
#include "core/records.h"
#include "core/runs.h"
#include "core/table.h"

#include <stdarg.h>
#include <stdio.h>

int mr_emitter_flush(mr_emitter *e)
{
	/* The counted keys first: their homes are for the table as it is,
	 * and applying the batch below may grow it. */
	while (e->chead != e->ctail && e->status == MR_OK)
		e->status = mr_emitter_count_one(e);
	e->chead = e->ctail;
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
		e->status = mr_table_upsert_batch(e->table, e->pending, e->n);
	if (e->status == MR_OK && e->full && mr_table_over(e->table))
		e->status = e->full(e->full_arg);
	e->n = 0;
	e->long_keys.len = 0;
	return e->status;
}

int mr_emitter_count_new(mr_emitter *e, const mr_counted *q, struct mr_slot *s)
{
	mr_table *t = e->table;
	const struct mr_slot *before = t->slots;
	mr_table_count_new(t, q, s);
	if (t->slots != before) /* grown: the queued keys' homes moved */
		for (size_t i = e->chead; i != e->ctail; i++) {
			mr_counted *p = &e->counts[i & (MR_COUNT_RING - 1)];
			p->home = mr_table_home(t, p->tag);
		}
	if (e->status == MR_OK && e->full && mr_table_over(t))
		e->status = e->full(e->full_arg);
	return e->status;
}

/* Queues key; the caller sets the value of the slot it returns. */
static inline mr_pending *queue(mr_emitter *out, const void *key, size_t len)
{
	size_t i = out->n++;
	mr_pending *p = &out->pending[i];
	uint64_t h;
	if (len <= MR_SHORT_KEY) {
		uint64_t *w = out->short_keys[i];
		mr_key_words(key, len, w);
		h = mr_hash_words(w, len);
		p->key = (const char *)w;
	} else {
		h = mr_hash(key, len);
		char *k = mr_buf_tail(&out->long_keys, MR_PAD8(len));
		memset(k + (len & ~(size_t)7), 0, len % 8 ? 8 : 0);
		memcpy(k, key, len);
	}
	mr_table_prefetch(out->table, h);
	p->hash = h;
	p->len = len;
	out->pairs++;
	return p;
}

static inline int queued(mr_emitter *out)
{
	return out->n == MR_EMIT_BATCH ? mr_emitter_flush(out) : out->status;
}

/* A pair appended to the emitter's run: every emit of a job that does not
 * combine. */
static int append(mr_emitter *out, const void *key, size_t len, const void *val, size_t vlen)
{
	if (out->status != MR_OK)
		return out->status;
	if (len > UINT32_MAX || vlen > UINT32_MAX) {
		mr_rank_error("job '%s': a key or value of more than 4 GiB", out->job);
		return out->status = MR_ERR_LIMIT;
	}
	mr_pair p = {
		.key = len ? key : "", .klen = (uint32_t)len, .val = vlen ? val : "", .vlen = vlen};
	mr_frames_add(out->run, &p);
	out->pairs++;
	if (out->full && mr_frames_to_sort(out->run) > out->run_limit)
		out->status = out->full(out->full_arg);
	return out->status;
}

int mr_emit(mr_emitter *out, const void *key, size_t len, mr_value v)
{
	if (out->special) {
		if (out->mode != MR_EMIT_COMBINE)
			return append(out, key, len, &v, 8);
		mr_value f[MR_MAX_FIELDS] = {v};
		return mr_emit_fields(out, key, len, f);
	}
	mr_pending *p = queue(out, key, len);
	p->value = v;
	p->vals = &p->value; /* for sets; a one-word table reads value itself */
	p->nvals = 1;
	return queued(out);
}

int mr_emit_fields(mr_emitter *out, const void *key, size_t len, const mr_value *v)
{
	if (out->mode != MR_EMIT_COMBINE)
		return append(out, key, len, v, 8 * (size_t)out->vals.width);
	if (out->vals.kind != MR_VK_FIELDS)
		return mr_emit(out, key, len, v[0]);
	size_t i = out->n;
	mr_pending *p = queue(out, key, len);
	memcpy(out->fields[i], v, (size_t)out->vals.width * sizeof(*v));
	p->vals = out->fields[i];
	p->nvals = out->vals.width;
	return queued(out);
}

int mr_emit_bytes(mr_emitter *out, const void *key, size_t klen, const void *val, size_t vlen)
{
	if (out->mode == MR_EMIT_COMBINE ||
	    (out->mode == MR_EMIT_OUTPUT && out->vals.kind != MR_VK_BYTES)) {
		mr_rank_error("job '%s': mr_emit_bytes in a job whose values are not bytes",
			      out->job);
		return MR_ERR_JOB;
	}
	return append(out, key, klen, val, vlen);
}

int mr_emit_record(mr_emitter *out, const void *rec, size_t len)
{
	if (out->mode == MR_EMIT_COMBINE) {
		mr_rank_error("job '%s': mr_emit_record in a job that combines", out->job);
		return MR_ERR_JOB;
	}
	return append(out, rec, len, NULL, 0);
}

void mr_job_failed(const char *job, const char *what, int rc)
{
	if (!mr_said_take())
		mr_rank_error("job '%s': %s failed: %s", job, what, mr_strerror(rc));
}

/* A job's line, now (mr_rank_error) or once for all ranks (mr_defer). */
static void vlog(const mr_emitter *out, bool once, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void vlog(const mr_emitter *out, bool once, const char *fmt, va_list ap)
{
	mr_said_mark();
	char msg[4096];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	const char *job = out && out->job ? out->job : NULL;
	void (*say)(const char *, ...) = once ? mr_defer : mr_rank_error;
	say("%s%s%s%s", job ? "job '" : "", job ? job : "", job ? "': " : "", msg);
}

void mr_log(const mr_emitter *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(out, false, fmt, ap);
	va_end(ap);
}

void mr_log_once(const mr_emitter *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(out, true, fmt, ap);
	va_end(ap);
}

int mr_emit_words(mr_emitter *e, const void *key, size_t len, const void *v, uint32_t nvals)
{
	mr_pending *p = queue(e, key, len);
	if (e->vals.kind == MR_VK_ONE) {
		memcpy(&p->value, v, 8);
		p->vals = &p->value;
	} else {
		p->vals = v;
	}
	p->nvals = nvals;
	return queued(e);
}

int mr_map_count(const char *rec, size_t len, mr_emitter *out)
{
	return mr_emit(out, rec, len, (mr_value){.u = 1});
}

void *mr_state(const mr_emitter *out)
{
	return out->state;
}

mr_origin mr_record_origin(const mr_emitter *out)
{
	if (!out->reader || !out->files)
		return (mr_origin){.path = ""};
	if (!out->rec) /* map_end: past the rank's last record */
		return (mr_origin){.file = out->file, .path = mr_file_path(out->files, out->file)};
	return (mr_origin){
		.file = out->file,
		.path = mr_file_path(out->files, (size_t)out->file),
		.offset = out->reader->span_off + (uint64_t)(out->rec - out->reader->span),
	};
}

/* Drops a UTF-8 sequence cut short at the end of s (by snprintf's limit),
 * so that the text stays valid where the job's was. */
static void cut_utf8(char *s)
{
	size_t n = strlen(s), i = n, back = 0;
	while (i > 0 && back < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--, back++;
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	if (want > 1 && back + 1 < want)
		s[i - 1] = '\0';
}

/* Counts a rejected record or line, and keeps it if it is among the rank's
 * first few by (file, offset, line). */
static int reject_at(mr_emitter *out, uint64_t file, uint64_t offset, uint64_t line,
		     const char *why)
{
	mr_rejects *rj = out->rejects;
	if (!rj) {
		mr_rank_error("job '%s': mr_reject outside map", out->job ? out->job : "?");
		return MR_ERR_JOB;
	}
	rj->count++;
	size_t k = rj->nshown;
	while (k > 0 && (rj->shown[k - 1].file > file ||
			 (rj->shown[k - 1].file == file && rj->shown[k - 1].offset > offset)))
		k--;
	if (k < MR_REJECT_SHOW) {
		size_t last = rj->nshown < MR_REJECT_SHOW ? rj->nshown : MR_REJECT_SHOW - 1;
		memmove(&rj->shown[k + 1], &rj->shown[k], (last - k) * sizeof(rj->shown[0]));
		mr_reject_at *r = &rj->shown[k];
		r->file = file;
		r->offset = offset;
		r->line = line;
		/* One line, whatever the job passed: control bytes become '?'. */
		snprintf(r->why, sizeof(r->why), "%s", why && *why ? why : "malformed");
		for (char *c = r->why; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		cut_utf8(r->why);
		if (rj->nshown < MR_REJECT_SHOW)
			rj->nshown++;
	}
	return rj->strict ? MR_ERR_INPUT : MR_OK;
}

int mr_reject(mr_emitter *out, const char *why)
{
	mr_origin o = mr_record_origin(out);
	return reject_at(out, o.file, o.offset, 0, why);
}

int mr_reject_output(mr_emitter *out, uint64_t line, const char *why)
{
	int rank;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	return reject_at(out, MR_REJECT_OUTPUT, (uint64_t)rank, line, why);
}

void mr_emitter_init(mr_emitter *e, mr_table *t, const mr_values *vals)
{
	memset(e, 0, sizeof(*e));
	e->table = t;
	e->vals = *vals;
	e->special = vals->kind == MR_VK_FIELDS;
}

void mr_emitter_to_run(mr_emitter *e, enum mr_emit_mode mode, struct mr_frames *run)
{
	e->mode = mode;
	e->run = run;
	e->special = true;
}

int mr_emitter_finish(mr_emitter *e)
{
	int rc = mr_emitter_flush(e);
	mr_buf_release(&e->long_keys);
	return rc;
}
