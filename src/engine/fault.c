/*
 * Fault injection, for the tests: MPIMR_FAULT=RANK:PHASE:ACTION makes one
 * rank (RANK *: every rank) misbehave at one point of one phase, so that tests can check that the
 * others end, the run fails with one message, and nothing is left at the
 * output path.  The points are the start of map, shuffle, reduce and order
 * (the first lines of each phase's function) and half-way through write.
 * Unset (as in every normal run), it costs one getenv a phase.
 *
 * ACTION is one of:
 *   exit   _exit(3): the rank vanishes, no cleanup, no MPI_Finalize
 *   kill   raise(SIGKILL)
 *   fail   the phase fails on this rank with a message (MR_ERR_IO)
 *   mpi    an MPI call fails on this rank (a negative count)
 *   hdf5   an HDF5 call fails on this rank (write only: mr_fault_is)
 *   full   a write fails on this rank as on a full disk (write only:
 *          mr_fault_is; with *, at once on every rank)
 *   pause  prints "paused: rank R pid P in PHASE" and sleeps up to 60 s,
 *          for a test to kill -9 it from outside
 *   sleep  prints "sleeping: rank R pid P in PHASE" and sleeps 2 s, for a
 *          test to change an input meanwhile
 */
#include "engine/run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Whether MPIMR_FAULT names this rank (or * for every rank) and phase;
 * *what gets its action. */
static bool named(const mr_ctx *c, enum mr_phase phase, char what[16])
{
	const char *spec = getenv("MPIMR_FAULT");
	char name[16];
	int rank = c->rank;
	if (!spec)
		return false;
	bool parsed = !strncmp(spec, "*:", 2)
			      ? sscanf(spec + 2, "%15[a-z]:%15[a-z0-9]", name, what) == 2
			      : sscanf(spec, "%d:%15[a-z]:%15[a-z0-9]", &rank, name, what) == 3;
	return parsed && rank == c->rank && strcmp(name, mr_phase_names[phase]) == 0;
}

bool mr_fault_is(const mr_ctx *c, enum mr_phase phase, const char *action)
{
	char what[16];
	return named(c, phase, what) && strcmp(what, action) == 0;
}

int mr_fault(mr_ctx *c, enum mr_phase phase)
{
	char what[16];
	if (!named(c, phase, what))
		return MR_OK;
	const char *name = mr_phase_names[phase];
	if (!strcmp(what, "exit"))
		_exit(3);
	if (!strcmp(what, "kill"))
		raise(SIGKILL);
	if (!strcmp(what, "pause") || !strcmp(what, "sleep")) {
		bool pause = !strcmp(what, "pause");
		fprintf(stderr, "mpimr: fault: %s: rank %d pid %ld in %s\n",
			pause ? "paused" : "sleeping", c->rank, (long)getpid(), name);
		fflush(stderr);
		sleep(pause ? 60 : 2);
	} else if (!strcmp(what, "mpi")) {
		char byte = 0;
		MR_MPI(MPI_Bcast(&byte, -1, MPI_CHAR, 0, c->comm));
	} else if (!strcmp(what, "fail")) {
		mr_rank_error("injected fault in %s (MPIMR_FAULT)", name);
		return MR_ERR_IO;
	}
	return MR_OK;
}
