/*
 * Partitioning by sampled key ranges, for the phases that stream runs
 * (once data outgrows memory, and for jobs that reduce all of a key's
 * values).  The TeraSort shape:
 *
 *   - every sorted run gives a few evenly spaced samples, each weighing the
 *     pairs it stands for;
 *   - every rank gets every sample and picks the same nranks-1 splitters, at
 *     equal steps of weight;
 *   - each rank merges its sorted runs (combining equal keys where the job
 *     combines) and cuts the merged stream at the splitters into one run per
 *     rank: rank d gets the keys above splitter d-1 and up to splitter d;
 *   - the runs go to their ranks in rounds of a bounded size.
 *
 * So the ranks' ranges are in key order and, after a last merge on each,
 * rank order is output order: no second exchange is needed for key order.
 * The splitters only balance the work; any splitters give the same result.
 */
#define _GNU_SOURCE /* qsort_r */
#include "engine/stream.h"

#include <stdlib.h>

#define SAMPLES	   64  /* per sorted run */
#define SAMPLE_KEY 256 /* bytes of a sample's key that go to every rank */

static int cmp_for_qsort(const void *x, const void *y, void *arg)
{
	return ((mr_pair_cmp)arg)(x, y);
}

struct ranked {
	uint64_t prefix;
	size_t i; /* the pair's place in the input */
};

/*
 * Sorting pairs: an LSD radix sort of (prefix, place) by the prefix, a byte
 * a pass (a pass where every prefix has the same byte is skipped), then each
 * run of equal prefixes sorted by cmp in full (keys that share 8 bytes, or
 * equal keys whose values decide).  A key's first 8 bytes decide most
 * comparisons, so this is a few linear passes where a comparison sort spent
 * most of its time in memcmp.
 */
void mr_pairs_sort(mr_pair *p, size_t n, mr_pair_cmp cmp)
{
	if (n < 2)
		return;
	struct ranked *a = mr_malloc(mr_mul(n, sizeof(*a))), *b = mr_malloc(mr_mul(n, sizeof(*b)));
	/* Every pass's counts in one pass over the pairs. */
	size_t(*counts)[257] = mr_calloc(8, sizeof(*counts));
	for (size_t i = 0; i < n; i++) {
		uint64_t x = mr_key_prefix(p[i].key, p[i].klen);
		a[i] = (struct ranked){x, i};
		for (int d = 0; d < 8; d++)
			counts[d][(x >> (8 * d) & 0xff) + 1]++;
	}
	for (int shift = 0; shift < 64; shift += 8) {
		size_t *count = counts[shift / 8];
		if (count[(a[0].prefix >> shift & 0xff) + 1] == n)
			continue; /* every prefix has this byte */
		for (int k = 0; k < 256; k++)
			count[k + 1] += count[k];
		for (size_t i = 0; i < n; i++)
			b[count[a[i].prefix >> shift & 0xff]++] = a[i];
		struct ranked *t = a;
		a = b;
		b = t;
	}
	free(b);
	free(counts);
	/* The runs of equal prefixes, to sort in full once p is in order. */
	size_t *runs = NULL, cap = 0, k = 0;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && a[j].prefix == a[i].prefix; j++)
			;
		if (j - i > 1) {
			MR_GROW(runs, cap, k + 2);
			runs[k++] = i;
			runs[k++] = j;
		}
	}
	/* p[j] becomes the old p[a[j].i], cycle by cycle, in place: no third
	 * array of pairs while the table being spilled is still held. */
	for (size_t j = 0; j < n; j++) {
		if (a[j].i == SIZE_MAX)
			continue;
		mr_pair first = p[j];
		for (size_t at = j;;) {
			size_t from = a[at].i;
			a[at].i = SIZE_MAX;
			if (from == j) {
				p[at] = first;
				break;
			}
			p[at] = p[from];
			at = from;
		}
	}
	free(a);
	for (size_t r = 0; r < k; r += 2) /* a function pointer through void *: POSIX */
		qsort_r(p + runs[r], runs[r + 1] - runs[r], sizeof(*p), cmp_for_qsort,
			__extension__(void *) cmp);
	free(runs);
}

void mr_sample(mr_buf *samples, const mr_pair *sorted, size_t n)
{
	size_t k = n < SAMPLES ? n : SAMPLES;
	for (size_t i = 0; i < k; i++) {
		const mr_pair *p = &sorted[(i * 2 + 1) * n / (2 * k)];
		/* A prefix splits as well as its key: cutting keys keeps the
		 * splitters in order. */
		uint64_t weight = (uint64_t)(n / k + (i < n % k));
		mr_pair s = {.key = p->key,
			     .klen = p->klen < SAMPLE_KEY ? p->klen : SAMPLE_KEY,
			     .val = (const char *)&weight,
			     .vlen = 8};
		mr_pair_put(mr_buf_tail(samples, mr_pair_size(8, s.klen, 8)), 8, &s);
	}
}

void mr_splitters_pick(mr_ctx *c, const mr_buf *mine, mr_splitters *out)
{
	int nr = c->nranks;
	int *cnt = mr_malloc(mr_mul((size_t)nr, 2 * sizeof(int)));
	int *displ = cnt + nr;
	int len = mr_int_count(mine->len);
	MR_MPI(MPI_Allgather(&len, 1, MPI_INT, cnt, 1, MPI_INT, c->comm));
	uint64_t at = 0;
	for (int i = 0; i < nr; i++) {
		displ[i] = mr_int_count(at);
		at += (uint64_t)cnt[i];
	}
	memset(out, 0, sizeof(*out));
	mr_buf_reserve(&out->store, (size_t)at + 1);
	out->store.len = (size_t)at;
	MR_MPI(MPI_Allgatherv(mine->data ? mine->data : "", len, MPI_BYTE, out->store.data, cnt,
			      displ, MPI_BYTE, c->comm));
	free(cnt);

	size_t ns = 0, cap = 64;
	mr_pair *s = mr_malloc(mr_mul(cap, sizeof(*s)));
	const char *p = out->store.data, *end = p + out->store.len;
	uint64_t total = 0;
	while (mr_pair_get(&p, end, 8, &s[ns])) {
		total += mr_load64(s[ns].val);
		ns++;
		MR_GROW(s, cap, ns + 1);
	}
	mr_pairs_sort(s, ns, mr_pair_cmp_key);
	out->at = mr_malloc(mr_mul((size_t)nr, sizeof(*out->at)));
	uint64_t sum = 0;
	size_t i = 0;
	for (int j = 1; j < nr && ns > 0; j++) {
		uint64_t goal = (uint64_t)((unsigned __int128)total * (unsigned)j / (unsigned)nr);
		while (i + 1 < ns && sum + mr_load64(s[i].val) <= goal)
			sum += mr_load64(s[i++].val);
		out->at[out->n++] = s[i];
	}
	free(s);
}

void mr_splitters_release(mr_splitters *sp)
{
	mr_buf_release(&sp->store);
	free(sp->at);
	memset(sp, 0, sizeof(*sp));
}

int mr_partition(mr_ctx *c, mr_frames *const *in, size_t k, const mr_splitters *sp, mr_combiner *cb,
		 mr_pair_cmp cmp, mr_frames *out, size_t flush)
{
	mr_merge m;
	mr_merge_init(&m, in, k, &c->spill, mr_block_for(c, k), cmp);
	int rc = MR_OK;
	size_t d = 0;
	mr_pair p;
	bool more = mr_merge_next(&m, &p, NULL);
	while (more && rc == MR_OK) {
		mr_pair q = p;
		if (cb) { /* all of one key, combined */
			mr_combiner_start(cb, &p);
			while ((more = mr_merge_next(&m, &p, NULL)) && mr_combiner_same(cb, &p))
				if ((rc = mr_combiner_add(cb, &p)) != MR_OK)
					break;
			q = mr_combiner_pair(cb);
		}
		/* Keys come in order, so the rank only goes up. */
		while (d < sp->n && mr_pair_cmp_key(&q, &sp->at[d]) > 0)
			d++;
		mr_frames_add(&out[d], &q);
		if (out[d].tail.len > flush && rc == MR_OK)
			rc = mr_frames_flush(&out[d], &c->spill);
		if (!cb)
			more = mr_merge_next(&m, &p, NULL);
	}
	if (rc == MR_OK && m.status != MR_OK)
		rc = m.status;
	mr_merge_release(&m);
	return rc;
}

/* ---- the exchange of runs ------------------------------------------------ */

/*
 * One round: up to per bytes of out[d] to each rank d, what each rank sent
 * here appended to in[s].  Counts go by MPI_Alltoall, the data by one
 * MPI_Alltoallv whose counts and displacements fit an int (per is at most
 * INT_MAX / nranks).  Returns whether any rank has more to send.
 */
static bool exchange_round(mr_ctx *c, mr_frames_reader *rd, mr_frames *in, uint64_t per, char *sbuf,
			   char *rbuf, int *ic, uint64_t *u, size_t flush, int *rc)
{
	int nr = c->nranks;
	int *sc = ic, *sd = ic + nr, *rcn = ic + 2 * nr, *rdp = ic + 3 * nr;
	uint64_t *scount = u, *rcount = u + nr;
	int at = 0;
	for (int d = 0; d < nr; d++) {
		size_t got = mr_frames_read_raw(&rd[d], sbuf + at, (size_t)per);
		if (rd[d].status != MR_OK && *rc == MR_OK)
			*rc = rd[d].status;
		scount[d] = got;
		sc[d] = (int)got;
		sd[d] = at;
		at += (int)got;
	}
	MR_MPI(MPI_Alltoall(scount, 1, MPI_UINT64_T, rcount, 1, MPI_UINT64_T, c->comm));
	at = 0;
	for (int s = 0; s < nr; s++) {
		rcn[s] = (int)rcount[s];
		rdp[s] = at;
		at += rcn[s];
	}
	MR_MPI(MPI_Alltoallv(sbuf, sc, sd, MPI_BYTE, rbuf, rcn, rdp, MPI_BYTE, c->comm));
	mr_progress();
	uint64_t full = 0;
	for (int s = 0; s < nr; s++) {
		mr_frames_add_bytes(&in[s], rbuf + rdp[s], (size_t)rcn[s]);
		if (in[s].tail.len > flush && *rc == MR_OK)
			*rc = mr_frames_flush(&in[s], &c->spill);
		full |= rcount[s] == per; /* a full slice: perhaps more behind */
	}
	/* Sent everything is when every slice of every rank was short. */
	uint64_t any = 0;
	for (int d = 0; d < nr; d++)
		full |= scount[d] == per;
	MR_MPI(MPI_Allreduce(&full, &any, 1, MPI_UINT64_T, MPI_BOR, c->comm));
	return any != 0;
}

int mr_exchange_runs(mr_ctx *c, mr_frames *out, mr_frames *in, size_t flush)
{
	int nr = c->nranks;
	uint64_t round = c->cfg->shuffle_round ? c->cfg->shuffle_round : c->budget / 8;
	if (round > c->budget / 8)
		round = c->budget / 8; /* a round's send and receive buffers */
	uint64_t per = mr_round_per_peer(round, nr);
	char *sbuf = mr_malloc(mr_mul((size_t)per, (size_t)nr));
	char *rbuf = mr_malloc(mr_mul((size_t)per, (size_t)nr));
	int *ic = mr_malloc(mr_mul((size_t)nr, 4 * sizeof(int)));
	uint64_t *u = mr_malloc(mr_mul((size_t)nr, 2 * sizeof(uint64_t)));
	mr_frames_reader *rd = mr_calloc((size_t)nr, sizeof(*rd));
	for (int d = 0; d < nr; d++) {
		c->count[MR_C_BYTES_SENT] += out[d].bytes;
		c->count[MR_C_PAIRS_SENT] += out[d].pairs;
		mr_frames_reader_init(&rd[d], &out[d], &c->spill, 0);
	}
	int rc = MR_OK;
	while (exchange_round(c, rd, in, per, sbuf, rbuf, ic, u, flush, &rc))
		;
	for (int d = 0; d < nr; d++) {
		mr_frames_reader_release(&rd[d]);
		mr_frames_release(&out[d], &c->spill);
		c->count[MR_C_BYTES_RECEIVED] += in[d].bytes;
	}
	free(rd);
	free(u);
	free(ic);
	free(sbuf);
	free(rbuf);
	return rc;
}
