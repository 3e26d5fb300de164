/*
 * The exchange under MPI: every rank sends seeded random frames to random
 * ranks (some ranks send nothing, some frames are empty or long, with no
 * value words, one or several), with round caps from 1 byte per peer to the
 * default, and checks that what arrives is, byte for byte, what each source
 * sent it, sources in rank order, and that it reads back as whole frames:
 * as many as were sent to this rank, ending at the buffer's end.  Run at
 * several process counts by ctest.
 */
#include "engine/run.h"

#include <stdio.h>
#include <stdlib.h>

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The frames rank src sends to rank dst, in order, appended to out;
 * returns how many. */
static size_t frames_for(int src, int dst, int nranks, mr_buf *out)
{
	uint64_t s = (uint64_t)src * 7919 + 1;
	int nframes = src == 1 ? 0 : 200 + (int)(next(&s) % 300);
	char key[3000];
	size_t sent = 0;
	for (int i = 0; i < nframes; i++) {
		int to = (int)(next(&s) % (uint64_t)nranks);
		uint32_t len = (uint32_t)(next(&s) % 16);
		if (next(&s) % 50 == 0)
			len = 2000 + (uint32_t)(next(&s) % 900);
		for (uint32_t k = 0; k < len; k++)
			key[k] = (char)next(&s);
		/* mostly one word, as most jobs have; sometimes none or several */
		uint32_t nvals = next(&s) % 4 ? 1 : (uint32_t)(next(&s) % 6);
		mr_value v[5];
		for (uint32_t k = 0; k < nvals; k++)
			v[k].u = next(&s);
		if (to != dst)
			continue;
		mr_frame_put(mr_buf_tail(out, mr_frame_size(len, nvals)), key, len, v, nvals);
		sent++;
	}
	return sent;
}

/* How many whole frames buf[0..n) holds, or -1 if bytes are left over. */
static long count_frames(const char *buf, size_t n)
{
	if (n == 0)
		return 0; /* buf may be NULL */
	const char *p = buf, *end = buf + n, *key, *vals;
	uint32_t len, nvals;
	long frames = 0;
	while (mr_frame_get(&p, end, &key, &len, &vals, &nvals))
		frames++;
	return p == end ? frames : -1;
}

static int check(MPI_Comm comm, uint64_t round_bytes)
{
	int rank, n;
	MPI_Comm_rank(comm, &rank);
	MPI_Comm_size(comm, &n);
	mr_buf send = {0}, expect = {0}, recv = {0};
	uint64_t *counts = mr_calloc((size_t)n, sizeof(uint64_t));
	for (int d = 0; d < n; d++) {
		size_t before = send.len;
		frames_for(rank, d, n, &send);
		counts[d] = send.len - before;
	}
	size_t nexpect = 0;
	for (int s = 0; s < n; s++)
		nexpect += frames_for(s, rank, n, &expect);
	uint64_t got = 0;
	int rc = mr_exchange(comm, send.data ? send.data : "", counts, round_bytes, &recv, &got);
	int bad = rc != MR_OK || got != expect.len || recv.len != expect.len ||
		  (expect.len && memcmp(recv.data, expect.data, expect.len)) ||
		  count_frames(recv.data, recv.len) != (long)nexpect;
	if (bad)
		fprintf(stderr,
			"rank %d: round_bytes %llu: got %zu bytes, "
			"expected %zu%s\n",
			rank, (unsigned long long)round_bytes, recv.len, expect.len,
			rc == MR_OK ? " (contents differ)" : "");
	mr_buf_release(&send);
	mr_buf_release(&expect);
	mr_buf_release(&recv);
	free(counts);
	int anybad = 0;
	MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, comm);
	return anybad;
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int rank;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	mr_log_setup(rank, MR_NORMAL);
	static const uint64_t caps[] = {1, 7, 100, 1024, 65536, 0};
	int failed = 0, passed = 0;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (check(MPI_COMM_WORLD, caps[i]))
			failed++;
		else
			passed++;
	}
	if (rank == 0)
		printf("exchange: %d passed, %d failed\n", passed, failed);
	MPI_Finalize();
	return failed ? 1 : 0;
}
