/*
 * What the phases share: the run's context, the phases themselves (one file
 * each), the output paths, the exchange and the fault points of tests.
 */
#ifndef MR_RUN_H
#define MR_RUN_H

#include "core/records.h"
#include "core/runs.h"
#include "core/table.h"
#include "core/util.h"

/* ---- the run's shared state -------------------------------------------- */
enum mr_phase {
	MR_PHASE_SPLIT,
	MR_PHASE_MAP,
	MR_PHASE_SHUFFLE,
	MR_PHASE_REDUCE,
	MR_PHASE_ORDER,
	MR_PHASE_WRITE,
	MR_NPHASES
};
extern const char *const mr_phase_names[MR_NPHASES];

/* Per-rank counters, in the file as /stats/<name>[nranks]. */
enum mr_counter {
	MR_C_BYTES_READ,
	MR_C_RECORDS,
	MR_C_PAIRS_EMITTED,
	MR_C_KEYS_MAPPED,
	MR_C_PAIRS_SENT,
	MR_C_BYTES_SENT,
	MR_C_PAIRS_RECEIVED,
	MR_C_BYTES_RECEIVED,
	MR_C_KEYS_OUT,
	MR_C_PEAK_RSS,
	MR_C_REJECTED,
	MR_C_RUNS_SPILLED,
	MR_C_BYTES_SPILLED,
	MR_NCOUNTERS
};
extern const char *const mr_counter_names[MR_NCOUNTERS];

typedef struct mr_ctx {
	MPI_Comm comm;
	int rank;
	int nranks;
	const mr_job *job;
	const mr_config *cfg;
	mr_files files;
	int mappers;	 /* how many ranks read input (rank 0 knows) */
	int node_ranks;	 /* ranks on this rank's node */
	uint64_t budget; /* bytes of data this rank may hold */
	mr_spill spill;
	double phase[MR_NPHASES];
	uint64_t count[MR_NCOUNTERS];
	double write_start;
	/* Records the job rejected: this rank's count and first few (map's
	 * emitter fills it), then the run's count and first few as text, the
	 * same on every rank. */
	mr_rejects rejects;
	uint64_t rejected;
	char *rejected_first; /* "PATH:LINE: why" lines */
	uint64_t changed;     /* the first input this rank saw change, or
			       * UINT64_MAX */
	char tmp_path[4096];  /* the output's temporary name */
	char stats_tmp[4096]; /* the statistics' temporary name, or "" */
} mr_ctx;

/* ---- --progress (progress.c) ---------------------------------------------
 * Collective in effect: every rank begins and ends it in map; in between,
 * tick as bytes are read.  Rank 0 prints map's progress over all ranks. */
typedef struct mr_progress_state mr_progress_state;
mr_progress_state *mr_progress_begin(mr_ctx *c);
void mr_progress_tick(mr_ctx *c, mr_progress_state *p, uint64_t bytes);
void mr_progress_end(mr_ctx *c, mr_progress_state **p, uint64_t bytes);

/* ---- fault injection for tests (fault.c) ------------------------------
 * MPIMR_FAULT=RANK:PHASE:ACTION: at phase's fault point, that rank does
 * ACTION (exit, kill, fail, mpi, pause, sleep).  Returns MR_OK, or MR_ERR_IO
 * for "fail".  mr_fault_is asks for other actions (hdf5, in write). */
int mr_fault(mr_ctx *c, enum mr_phase phase);
bool mr_fault_is(const mr_ctx *c, enum mr_phase phase, const char *action);

/* ---- the phases, one file each ----------------------------------------- */
/* Collective: rank 0 walks the inputs and cuts ranges; every rank gets the
 * file table and its own ranges (free with free()). */
int mr_split(mr_ctx *c, mr_range **ranges, size_t *nranges);
/* Cuts files into ranges of at most chunk bytes, nranks contiguous shares of
 * about equal bytes.  *counts[nranks] says how many ranges share i gets.
 * Local; used by split on rank 0, and by tests. */
void mr_plan_ranges(const mr_files *f, int nranks, uint64_t chunk, mr_range **ranges,
		    size_t *nranges, uint64_t *counts);
/* Local: reads this rank's ranges into a new combined table.  An input that
 * changed while it was read gives MR_ERR_INPUT, unsaid: see mr_map_agree. */
struct mr_stream;
int mr_map(mr_ctx *c, const mr_range *ranges, size_t nranges, mr_table **out, struct mr_stream *st);
/* Ends a phase: its time on this rank into c->phase[p], then the agreement
 * on success (collective); *t becomes the next phase's start. */
int mr_end_phase(mr_ctx *c, enum mr_phase p, double *t, int rc);
/* Collective, after map, given this rank's map status: rank 0 names the first
 * input that changed while it was read (and every rank fails), and every
 * rank learns the sizes of the unsized inputs.  Returns the status. */
int mr_map_agree(mr_ctx *c, int map_status);
/* Collective: the shuffle.  Sends each key of *t to its owner; consumes *t.
 * The received records come back in *recv (framed, see mr_frame_*). */
int mr_shuffle(mr_ctx *c, mr_table **t, mr_buf *recv);
/* Local: merges received records into a new table. */
int mr_reduce(mr_ctx *c, const mr_buf *recv, mr_table **out);
/* Local: calls the job's finish, if any, on every value of t. */
int mr_finish(mr_ctx *c, mr_table *t);
/* Collective, after map, given this rank's map status: gathers the records
 * the job rejected to rank 0, which names the first few (with line numbers);
 * every rank learns the count.  With --strict, any rejection fails the run
 * (MR_ERR_INPUT).  Says nothing if map failed anywhere for another reason. */
int mr_rejects_gather(mr_ctx *c, int map_status);
/* Collective: orders the table globally as cfg->order says; consumes *t. */
int mr_order(mr_ctx *c, mr_table **t, struct mr_frames *out);
/* The order the result is in, as the file (write.c) and the summary line
 * (report.c) name it and the streaming phases make it: --order, except for
 * records (input order, or key order from a reduce) and byte values (key
 * order: they have no count to order by). */
enum mr_result_order { MR_IN_COUNT, MR_IN_KEY, MR_IN_NONE, MR_IN_INPUT };
enum mr_result_order mr_result_order(const mr_ctx *c);
/* ---- the output paths (output.c) and writing (write.c) ------------------ */
/* Collective: rank 0 checks, before any work, that cfg->output and
 * cfg->stats_json can be written (output.c says what that means), and every
 * rank learns their temporary names. */
int mr_output_check(mr_ctx *c);
/* Whether a file name is one of mpimr's temporary names (.X.mpimr-PID.tmp). */
bool mr_is_temp_name(const char *name);
/* fsync of a file or a directory by its path: 0 or an errno value. */
int mr_sync_path(const char *path, bool dir);
/* Collective: writes the output under its temporary name, to the disk. */
int mr_write(mr_ctx *c, const struct mr_frames *res);
/* Collective, given every rank's status so far: if all succeeded, rank 0
 * renames the temporary files into place; then what is left of them is
 * removed.  Returns the run's status. */
int mr_commit(mr_ctx *c, int status);
/* Collective: gathers the statistics, writes the JSON file (if asked) under
 * its temporary name, commits, and has rank 0 print the summary lines. */
int mr_report(mr_ctx *c, double wall_seconds);

/* ---- the exchange (shuffle.c), used by shuffle and order ---------------- */
/* Moves send[] (sendcounts[d] bytes for rank d, in rank order) so that every
 * rank receives, in *recv, what each rank sent it, sources in rank order.
 * Counts go by MPI_Alltoall as uint64; data by MPI_Alltoallv in rounds of at
 * most round_bytes sent per rank.  Collective. */
int mr_exchange(MPI_Comm comm, const char *send, const uint64_t *sendcounts, uint64_t round_bytes,
		mr_buf *recv, uint64_t *bytes_received);
/* The round plan: each peer gets at most per_peer bytes a round, where
 * per_peer = max(1, min(INT_MAX / nranks, round_bytes / nranks)), so a whole
 * round's buffer is indexed by int displacements.  Local, pure. */
uint64_t mr_round_per_peer(uint64_t round_bytes, int nranks);
uint64_t mr_rounds_needed(const uint64_t *counts, int nranks, uint64_t per_peer);
/* The bytes [*off, *off + return) of a total that round r moves. */
int mr_round_slice(uint64_t total, uint64_t per_peer, uint64_t r, uint64_t *off);

#endif /* MR_RUN_H */
