/*
 * Phase 3, shuffle, and the exchange it shares with order.
 *
 * Each key goes to rank hash(key) % nranks.  Byte counts travel as 64-bit
 * integers by MPI_Alltoall; the data by MPI_Alltoallv in rounds, each rank
 * sending at most a fixed number of bytes to each peer per round, so every
 * int count and displacement handed to MPI fits, however large the data.
 */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>

#define DEFAULT_ROUND (UINT64_C(256) << 20)

char *mr_frame_put(char *p, const char *key, uint32_t len, mr_value v)
{
	memcpy(p, &len, 4);
	memcpy(p + 4, &v, 8);
	memcpy(p + MR_FRAME_HEADER, key, len);
	return p + MR_FRAME_HEADER + len;
}

bool mr_frame_get(const char **p, const char *end, const char **key, uint32_t *len, mr_value *v)
{
	if ((size_t)(end - *p) < MR_FRAME_HEADER)
		return false;
	memcpy(len, *p, 4);
	if ((size_t)(end - *p) - MR_FRAME_HEADER < *len)
		return false;
	memcpy(v, *p + 4, 8);
	*key = *p + MR_FRAME_HEADER;
	*p += MR_FRAME_HEADER + *len;
	return true;
}

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

int mr_exchange(MPI_Comm comm, const char *send, const uint64_t *sendcounts, uint64_t round_bytes,
		mr_buf *recv, uint64_t *bytes_received)
{
	int n;
	MR_MPI(MPI_Comm_size(comm, &n));
	size_t nn = (size_t)n;
	uint64_t *recvcounts = mr_malloc(mr_mul(nn, 4 * sizeof(uint64_t)));
	uint64_t *sdispl = recvcounts + nn, *rdispl = sdispl + nn;
	uint64_t *off = rdispl + nn;
	int *ic = mr_malloc(mr_mul(nn, 4 * sizeof(int)));
	int *sc = ic, *sd = ic + nn, *rc = sd + nn, *rd = rc + nn;

	MR_MPI(MPI_Alltoall(sendcounts, 1, MPI_UINT64_T, recvcounts, 1, MPI_UINT64_T, comm));
	prefix(sendcounts, n, sdispl);
	uint64_t total = prefix(recvcounts, n, rdispl);
	recv->len = 0;
	mr_buf_reserve(recv, (size_t)total + 1); /* never NULL */
	recv->len = (size_t)total;
	*bytes_received = total;

	uint64_t per = mr_round_per_peer(round_bytes, n);
	uint64_t mine = mr_rounds_needed(sendcounts, n, per), rounds = 0;
	uint64_t rr = mr_rounds_needed(recvcounts, n, per);
	if (rr > mine)
		mine = rr;
	MR_MPI(MPI_Allreduce(&mine, &rounds, 1, MPI_UINT64_T, MPI_MAX, comm));

	if (rounds <= 1) {
		/* One round: every count is at most per, so the whole
		 * buffers' displacements fit an int; no staging. */
		for (int i = 0; i < n; i++) {
			sc[i] = (int)sendcounts[i];
			sd[i] = (int)sdispl[i];
			rc[i] = (int)recvcounts[i];
			rd[i] = (int)rdispl[i];
		}
		MR_MPI(MPI_Alltoallv(send, sc, sd, MPI_BYTE, recv->data, rc, rd, MPI_BYTE, comm));
		free(recvcounts);
		free(ic);
		return MR_OK;
	}
	/* Each round copies its slices into staging buffers, whose offsets
	 * fit an int because a round holds at most INT_MAX bytes.  Round 0
	 * is the largest. */
	uint64_t sbytes = 0, rbytes = 0;
	for (int i = 0; i < n; i++) {
		sbytes += sendcounts[i] < per ? sendcounts[i] : per;
		rbytes += recvcounts[i] < per ? recvcounts[i] : per;
	}
	char *sstage = mr_malloc((size_t)sbytes);
	char *rstage = mr_malloc((size_t)rbytes);
	for (uint64_t r = 0; r < rounds; r++) {
		int sat = 0, rat = 0;
		for (int i = 0; i < n; i++) {
			sc[i] = mr_round_slice(sendcounts[i], per, r, &off[i]);
			sd[i] = sat;
			memcpy(sstage + sat, send + sdispl[i] + off[i], (size_t)sc[i]);
			sat += sc[i];
		}
		for (int i = 0; i < n; i++) {
			rc[i] = mr_round_slice(recvcounts[i], per, r, &off[i]);
			rd[i] = rat;
			rat += rc[i];
		}
		MR_MPI(MPI_Alltoallv(sstage, sc, sd, MPI_BYTE, rstage, rc, rd, MPI_BYTE, comm));
		for (int i = 0; i < n; i++)
			memcpy(recv->data + rdispl[i] + off[i], rstage + rd[i], (size_t)rc[i]);
	}
	free(sstage);
	free(rstage);
	free(recvcounts);
	free(ic);
	return MR_OK;
}

int mr_shuffle(mr_ctx *c, mr_table **t, mr_buf *recv)
{
	size_t nn = (size_t)c->nranks;
	size_t nkeys = mr_table_count(*t);
	uint64_t *counts = mr_calloc(nn, 2 * sizeof(uint64_t));
	uint64_t *at = counts + nn;
	uint32_t *dest = mr_malloc(mr_mul(nkeys + 1, sizeof(uint32_t)));

	/* Two passes over the table: sizes per owner, then the frames. */
	const char *key;
	size_t len, pos = 0, k = 0;
	mr_value v;
	while (mr_table_next(*t, &pos, &key, &len, &v)) {
		int d = mr_owner(mr_hash(key, len), c->nranks);
		dest[k++] = (uint32_t)d;
		counts[d] += mr_frame_size(len);
	}
	uint64_t total = prefix(counts, c->nranks, at);
	char *send = mr_malloc((size_t)total);
	pos = k = 0;
	while (mr_table_next(*t, &pos, &key, &len, &v)) {
		uint32_t d = dest[k++];
		mr_frame_put(send + at[d], key, (uint32_t)len, v);
		at[d] += mr_frame_size(len);
	}
	free(dest);
	mr_table_free(t);

	c->count[MR_C_PAIRS_SENT] = nkeys;
	c->count[MR_C_BYTES_SENT] = total;
	int rc = mr_exchange(c->comm, send, counts, c->cfg->shuffle_round, recv,
			     &c->count[MR_C_BYTES_RECEIVED]);
	free(send);
	free(counts);
	return rc;
}
