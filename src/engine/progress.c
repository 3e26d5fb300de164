/*
 * --progress: map's progress over all ranks, shown by rank 0.
 *
 * Every rank tells rank 0 how many bytes it has read, at most every half
 * second, by a small message of its own tag on the run's communicator
 * (MPI_Isend, one in flight at a time, so a rank never waits for rank 0),
 * and once more when its map is done.  Rank 0 takes what has come whenever
 * it looks (MPI_Iprobe), and, having finished its own ranges, waits for
 * every rank's last message before map's agreement: so no message is left
 * over for a later phase to trip on, and the last line says 100%.
 *
 * The line is bytes read of the input, the rate since map began, and the
 * time left at that rate.  On a terminal (a run without mpirun) it is
 * rewritten in place; otherwise (under mpirun, whose forwarding turns
 * rank 0's stderr into a pipe) it is a new line every 2 seconds.
 */
#include "engine/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_TAG 7351
#define SEND_EVERY   0.5

struct mr_progress_state {
	bool on, tty;
	double start, last_send, last_print;
	uint64_t msg[2]; /* bytes read, done; the buffer of the Isend in flight */
	MPI_Request req;
	uint64_t *bytes; /* rank 0: every rank's last word */
	int done;	 /* rank 0: ranks whose last word came */
};

mr_progress_state *mr_progress_begin(mr_ctx *c)
{
	mr_progress_state *p = mr_calloc(1, sizeof(*p));
	p->on = c->cfg->progress && c->cfg->verbosity > MR_QUIET;
	p->tty = isatty(2);
	p->start = p->last_send = p->last_print = mr_now();
	p->req = MPI_REQUEST_NULL;
	if (p->on && c->rank == 0)
		p->bytes = mr_calloc((size_t)c->nranks, sizeof(uint64_t));
	return p;
}

static void print_line(const mr_ctx *c, mr_progress_state *p, bool final)
{
	uint64_t got = 0, total = c->files.total;
	for (int r = 0; r < c->nranks; r++)
		got += p->bytes[r];
	double secs = mr_now() - p->start, rate = secs > 0 ? (double)got / secs : 0;
	double pct = total ? 100.0 * (double)got / (double)total : 100.0;
	if (pct > 100 || final)
		pct = 100;
	char b1[32], b2[32], left[48] = "";
	if (!final && rate > 0 && got < total)
		snprintf(left, sizeof(left), ", about %.0f s left", (double)(total - got) / rate);
	fprintf(stderr, "%smap: %5.1f%% of %s, %s/s%s%s", p->tty ? "\r" : "", pct,
		mr_human_bytes((double)total, b1, sizeof(b1)), mr_human_bytes(rate, b2, sizeof(b2)),
		left, p->tty && !final ? "   " : "\n");
	fflush(stderr);
}

/* Rank 0: takes every message that has come. */
static void take(mr_ctx *c, mr_progress_state *p)
{
	for (;;) {
		int flag = 0;
		MPI_Status st;
		MR_MPI(MPI_Iprobe(MPI_ANY_SOURCE, PROGRESS_TAG, c->comm, &flag, &st));
		if (!flag)
			return;
		uint64_t m[2];
		MR_MPI(MPI_Recv(m, 2, MPI_UINT64_T, st.MPI_SOURCE, PROGRESS_TAG, c->comm,
				MPI_STATUS_IGNORE));
		p->bytes[st.MPI_SOURCE] = m[0];
		p->done += m[1] != 0;
	}
}

void mr_progress_tick(mr_ctx *c, mr_progress_state *p, uint64_t bytes)
{
	if (!p->on)
		return;
	double now = mr_now();
	if (c->rank == 0) {
		p->bytes[0] = bytes;
		if (now - p->last_print < (p->tty ? 0.5 : 2.0))
			return;
		take(c, p);
		print_line(c, p, false);
		p->last_print = now;
		return;
	}
	if (now - p->last_send < SEND_EVERY)
		return;
	int done = 1;
	if (p->req != MPI_REQUEST_NULL)
		MR_MPI(MPI_Test(&p->req, &done, MPI_STATUS_IGNORE));
	if (!done)
		return; /* rank 0 has not taken the last one yet */
	p->msg[0] = bytes;
	p->msg[1] = 0;
	MR_MPI(MPI_Isend(p->msg, 2, MPI_UINT64_T, 0, PROGRESS_TAG, c->comm, &p->req));
	p->last_send = now;
}

void mr_progress_end(mr_ctx *c, mr_progress_state **pp, uint64_t bytes)
{
	mr_progress_state *p = *pp;
	if (p->on && c->rank != 0) {
		if (p->req != MPI_REQUEST_NULL)
			MR_MPI(MPI_Wait(&p->req, MPI_STATUS_IGNORE));
		uint64_t m[2] = {bytes, 1};
		MR_MPI(MPI_Send(m, 2, MPI_UINT64_T, 0, PROGRESS_TAG, c->comm));
	} else if (p->on) {
		p->bytes[0] = bytes;
		while (p->done < c->nranks - 1) { /* every rank's last word */
			take(c, p);
			double now = mr_now();
			if (now - p->last_print >= (p->tty ? 0.5 : 2.0)) {
				print_line(c, p, false);
				p->last_print = now;
			}
			struct timespec nap = {0, 5000000};
			nanosleep(&nap, NULL);
		}
		print_line(c, p, true);
	}
	free(p->bytes);
	free(p);
	*pp = NULL;
}
