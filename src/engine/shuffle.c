/*
 * Phase 3, shuffle, and the exchange it shares with order.
 *
 * Each key goes to rank hash(key) % nranks.  Byte counts travel as 64-bit
 * integers by MPI_Alltoall; the data by MPI_Alltoallv in rounds, each rank
 * sending at most a fixed number of bytes to each peer per round, so every
 * int count and displacement handed to MPI fits, however large the data.
 */
#include "engine/run.h"

#include <limits.h>
#include <stdlib.h>

#define DEFAULT_ROUND (UINT64_C(256) << 20)

uint64_t mr_round_per_peer(uint64_t round_bytes, int nranks)
{
	if (round_bytes == 0)
		round_bytes = DEFAULT_ROUND;
	uint64_t per = round_bytes / (uint64_t)nranks;
	/* The whole round's buffer is indexed by int displacements. */
	uint64_t most = (uint64_t)INT_MAX / (uint64_t)nranks;
	if (per > most)
		per = most;
	return per ? per : 1;
}

uint64_t mr_rounds_needed(const uint64_t *counts, int nranks, uint64_t per_peer)
{
	uint64_t rounds = 0;
	for (int i = 0; i < nranks; i++) {
		uint64_t r = counts[i] / per_peer + (counts[i] % per_peer != 0);
		if (r > rounds)
			rounds = r;
	}
	return rounds;
}

int mr_round_slice(uint64_t total, uint64_t per_peer, uint64_t r, uint64_t *off)
{
	uint64_t at = r * per_peer;
	if (r != 0 && at / r != per_peer)
		at = total; /* overflow: past any total */
	*off = at < total ? at : total;
	uint64_t left = total - *off;
	return (int)(left < per_peer ? left : per_peer);
}

static uint64_t prefix(const uint64_t *counts, int n, uint64_t *displ)
{
	uint64_t at = 0;
	for (int i = 0; i < n; i++) {
		displ[i] = at;
		at += counts[i];
	}
	return at;
}

/* What both sides of an exchange know: counts and displacements per peer,
 * 64-bit, and int scratch for the MPI call. */
struct plan {
	int n;
	const uint64_t *scount, *rcount;
	uint64_t *sdispl, *rdispl, *off;
	int *sc, *sd, *rc, *rd;
};

/* One round: every count is at most per_peer, so the whole buffers'
 * displacements fit an int and no staging is needed. */
static void exchange_once(MPI_Comm comm, const struct plan *p, const char *send, char *recv)
{
	for (int i = 0; i < p->n; i++) {
		p->sc[i] = (int)p->scount[i];
		p->sd[i] = (int)p->sdispl[i];
		p->rc[i] = (int)p->rcount[i];
		p->rd[i] = (int)p->rdispl[i];
	}
	MR_MPI(MPI_Alltoallv(send, p->sc, p->sd, MPI_BYTE, recv, p->rc, p->rd, MPI_BYTE, comm));
}

/* Many rounds: each copies its slices into staging buffers, whose offsets fit
 * an int because a round holds at most INT_MAX bytes.  Round 0 is the largest. */
static void exchange_rounds(MPI_Comm comm, const struct plan *p, uint64_t per, uint64_t rounds,
			    const char *send, char *recv)
{
	uint64_t sbytes = 0, rbytes = 0;
	for (int i = 0; i < p->n; i++) {
		sbytes += p->scount[i] < per ? p->scount[i] : per;
		rbytes += p->rcount[i] < per ? p->rcount[i] : per;
	}
	char *sstage = mr_malloc((size_t)sbytes);
	char *rstage = mr_malloc((size_t)rbytes);
	for (uint64_t r = 0; r < rounds; r++) {
		int sat = 0, rat = 0;
		for (int i = 0; i < p->n; i++) {
			p->sc[i] = mr_round_slice(p->scount[i], per, r, &p->off[i]);
			p->sd[i] = sat;
			memcpy(sstage + sat, send + p->sdispl[i] + p->off[i], (size_t)p->sc[i]);
			sat += p->sc[i];
		}
		for (int i = 0; i < p->n; i++) {
			p->rc[i] = mr_round_slice(p->rcount[i], per, r, &p->off[i]);
			p->rd[i] = rat;
			rat += p->rc[i];
		}
		MR_MPI(MPI_Alltoallv(sstage, p->sc, p->sd, MPI_BYTE, rstage, p->rc, p->rd, MPI_BYTE,
				     comm));
		mr_progress();
		for (int i = 0; i < p->n; i++)
			memcpy(recv + p->rdispl[i] + p->off[i], rstage + p->rd[i],
			       (size_t)p->rc[i]);
	}
	free(sstage);
	free(rstage);
}

int mr_exchange(MPI_Comm comm, const char *send, const uint64_t *sendcounts, uint64_t round_bytes,
		mr_buf *recv, uint64_t *bytes_received)
{
	struct plan p = {.scount = sendcounts};
	MR_MPI(MPI_Comm_size(comm, &p.n));
	size_t nn = (size_t)p.n;
	uint64_t *u = mr_malloc(mr_mul(nn, 4 * sizeof(uint64_t)));
	int *ic = mr_malloc(mr_mul(nn, 4 * sizeof(int)));
	p.rcount = u;
	p.sdispl = u + nn, p.rdispl = u + 2 * nn, p.off = u + 3 * nn;
	p.sc = ic, p.sd = ic + nn, p.rc = ic + 2 * nn, p.rd = ic + 3 * nn;

	MR_MPI(MPI_Alltoall(sendcounts, 1, MPI_UINT64_T, u, 1, MPI_UINT64_T, comm));
	prefix(sendcounts, p.n, p.sdispl);
	uint64_t total = prefix(p.rcount, p.n, p.rdispl);
	recv->len = 0;
	mr_buf_reserve(recv, (size_t)total + 1); /* never NULL */
	recv->len = (size_t)total;
	*bytes_received = total;

	uint64_t per = mr_round_per_peer(round_bytes, p.n);
	uint64_t mine = mr_rounds_needed(sendcounts, p.n, per), rounds = 0;
	uint64_t theirs = mr_rounds_needed(p.rcount, p.n, per);
	if (theirs > mine)
		mine = theirs;
	MR_MPI(MPI_Allreduce(&mine, &rounds, 1, MPI_UINT64_T, MPI_MAX, comm));
	if (rounds <= 1)
		exchange_once(comm, &p, send, recv->data);
	else
		exchange_rounds(comm, &p, per, rounds, send, recv->data);
	free(u);
	free(ic);
	return MR_OK;
}

int mr_shuffle(mr_ctx *c, mr_table **t, mr_buf *recv)
{
	/* The phase's fault point, for tests (fault.c). */
	int fault = mr_fault(c, MR_PHASE_SHUFFLE);
	if (fault != MR_OK)
		return fault;
	size_t nn = (size_t)c->nranks;
	size_t nkeys = mr_table_count(*t);
	uint64_t *counts = mr_calloc(nn, 2 * sizeof(uint64_t));
	uint64_t *at = counts + nn;
	uint32_t *dest = mr_malloc(mr_mul(nkeys + 1, sizeof(uint32_t)));

	/* Two passes over the table: sizes per owner, then the frames. */
	const char *key;
	size_t len, pos = 0, k = 0;
	mr_value *v;
	uint32_t nv;
	while (mr_table_next(*t, &pos, &key, &len, &v, &nv)) {
		int d = mr_owner(mr_hash(key, len), c->nranks);
		dest[k++] = (uint32_t)d;
		counts[d] += mr_frame_size(len, nv);
	}
	uint64_t total = prefix(counts, c->nranks, at);
	/* Fresh 2 MiB pages (mr_alloc_zeroed_large): the frames fill them front
	 * to back, one fault per 2 MiB instead of per 4 KiB. */
	char *send = mr_alloc_zeroed_large((size_t)total, __FILE__, __LINE__);
	pos = k = 0;
	while (mr_table_next(*t, &pos, &key, &len, &v, &nv)) {
		uint32_t d = dest[k++];
		mr_frame_put(send + at[d], key, (uint32_t)len, v, nv);
		at[d] += mr_frame_size(len, nv);
		/* The table's pages go back as the frames fill theirs: the two
		 * are never both whole. */
		if (k % 4096 == 0)
			mr_table_release_below(*t, pos);
	}
	free(dest);
	mr_table_free(t);

	c->count[MR_C_PAIRS_SENT] = nkeys;
	c->count[MR_C_BYTES_SENT] = total;
	int rc = mr_exchange(c->comm, send, counts, c->cfg->shuffle_round, recv,
			     &c->count[MR_C_BYTES_RECEIVED]);
	mr_free_large(send, (size_t)total);
	free(counts);
	return rc;
}
