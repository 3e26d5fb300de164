/*
 * What the phases share.  Not installed; user jobs see include/mpimr.h only.
 */
#ifndef MR_INTERNAL_H
#define MR_INTERNAL_H

#include "mpimr.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define MR_PRINTF(f, a)	 __attribute__((format(printf, f, a)))
#define MR_UNUSED(x)	 ((void)(x))
#define MR_ALWAYS_INLINE inline __attribute__((always_inline))

/* ---- memory (buf.c) ---------------------------------------------------
 * Allocation failure is a fault only this rank sees: the wrappers print the
 * size, rank, host and file:line, then abort the job.  They never return NULL. */
void *mr_malloc_at(size_t n, const char *file, int line);
void *mr_calloc_at(size_t n, size_t size, const char *file, int line);
void *mr_realloc_at(void *p, size_t n, const char *file, int line);
char *mr_strdup_at(const char *s, const char *file, int line);
/* n zeroed bytes for a large, randomly probed table (huge pages where the
 * kernel gives them); free with free(). */
void *mr_alloc_zeroed_large(size_t n, const char *file, int line);
#define mr_malloc(n)	 mr_malloc_at((n), __FILE__, __LINE__)
#define mr_calloc(n, s)	 mr_calloc_at((n), (s), __FILE__, __LINE__)
#define mr_realloc(p, n) mr_realloc_at((p), (n), __FILE__, __LINE__)
#define mr_strdup(s)	 mr_strdup_at((s), __FILE__, __LINE__)
/* n * size, or abort with a message naming file:line if it overflows size_t. */
size_t mr_mul_at(size_t n, size_t size, const char *file, int line);
#define mr_mul(n, s) mr_mul_at((n), (s), __FILE__, __LINE__)

/* A growable byte buffer.  Zero-initialised is empty; owns data. */
typedef struct mr_buf {
	char *data;
	size_t len;
	size_t cap;
} mr_buf;

/* Makes room for extra more bytes (len + extra must fit size_t). */
void mr_buf_reserve(mr_buf *b, size_t extra);
void mr_buf_add(mr_buf *b, const void *p, size_t n);
/* Frees data and leaves b empty. */
void mr_buf_release(mr_buf *b);
static inline char *mr_buf_tail(mr_buf *b, size_t n)
{
	mr_buf_reserve(b, n);
	char *p = b->data + b->len;
	b->len += n;
	return p;
}

/* ---- hashing (internal.h) --------------------------------------------
 * One fixed, seeded 64-bit hash of a key's bytes only.  Owner ranks use it
 * modulo nranks; hash tables use its top bits, so the two do not correlate.
 *
 * Keys of up to 16 bytes (nearly every word) are read as two zero-padded
 * little-endian words, without reading past the key, and hashed with two
 * 64x64->128 multiplies (as wyhash does); the same words then serve the table's
 * compare, so the key is read once.  Longer keys go to XXH3. */
#define MR_HASH_SEED UINT64_C(0x6d70696d72000001)
#define MR_SHORT_KEY 16
static inline uint64_t mr_load64(const void *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return w;
}
static inline uint64_t mr_load32(const void *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}
static inline void mr_key_words(const void *key, size_t len, uint64_t w[2])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const unsigned char *p = key;
	w[1] = 0;
	if (len >= 8) {
		w[0] = mr_load64(p);
		if (len > 8)
			w[1] = mr_load64(p + len - 8) >> (8 * (16 - len));
	} else if (len >= 4) {
		w[0] = mr_load32(p) | mr_load32(p + len - 4) << (8 * (len - 4));
	} else if (len > 0) {
		/* bytes 0, len/2 and len-1 cover lengths 1 to 3 */
		w[0] = p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) |
		       (uint64_t)p[len - 1] << (8 * (len - 1));
	} else {
		w[0] = 0;
	}
#else
	w[0] = w[1] = 0;
	if (len)
		memcpy(w, key, len);
#endif
}
static inline uint64_t mr_mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}
/* The hash of a short key from its words.  The sum keeps every key word in
 * the result even where a crafted word zeroes a multiplicand. */
static inline uint64_t mr_hash_words(const uint64_t w[2], size_t len)
{
	uint64_t a = w[0], b = w[1];
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	/* the same hash on every host, so mixed jobs agree on owners */
	a = __builtin_bswap64(a);
	b = __builtin_bswap64(b);
#endif
	uint64_t lo = a ^ UINT64_C(0xa0761d6478bd642f);
	uint64_t hi = b ^ UINT64_C(0xe7037ed1a0b428db) ^ MR_HASH_SEED;
	uint64_t h = len + lo + ((hi << 29) | (hi >> 35)) + mr_mix(lo, hi);
	return mr_mix(h ^ UINT64_C(0x8ebc6af09c88c6e3), UINT64_C(0x589965cc75374cc3));
}
static inline uint64_t mr_hash(const void *key, size_t len)
{
	if (len > MR_SHORT_KEY)
		return XXH3_64bits_withSeed(key, len, MR_HASH_SEED);
	uint64_t w[2];
	mr_key_words(key, len, w);
	return mr_hash_words(w, len);
}
static inline int mr_owner(uint64_t hash, int nranks)
{
	return (int)(hash % (uint64_t)nranks);
}

/* ---- values ------------------------------------------------------------
 * How the engine holds a job's values: one 8-byte word (most jobs), a fixed
 * number of words (mr_job.width > 1), or a sorted set of distinct words
 * (MR_U64_SET).  Everywhere below a value is nvals words. */
enum mr_vkind { MR_VK_ONE, MR_VK_FIELDS, MR_VK_SET, MR_VK_BYTES };
typedef int (*mr_combine_fn)(mr_value *acc, const mr_value *in);
typedef struct mr_values {
	enum mr_vkind kind;
	uint32_t width; /* words of a value; 1 for a set's single member */
	mr_combine_fn combine;
	bool number; /* MR_NUMBER: fields (the number, its kind) */
} mr_values;
static inline mr_values mr_values_of(const mr_job *job)
{
	if (job->value_type == MR_U64_SET)
		return (mr_values){.kind = MR_VK_SET, .width = 1};
	if (job->value_type == MR_BYTES)
		return (mr_values){.kind = MR_VK_BYTES, .width = 1};
	if (job->value_type == MR_NUMBER)
		return (mr_values){MR_VK_FIELDS, 2, job->combine, true};
	if (job->width > 1)
		return (mr_values){MR_VK_FIELDS, (uint32_t)job->width, job->combine, false};
	return (mr_values){MR_VK_ONE, 1, job->combine, false};
}

/* An MR_NUMBER value (its two words at v, perhaps unaligned) as a double,
 * as order "count" compares them. */
static inline double mr_number_double(const void *v)
{
	mr_value w[2];
	memcpy(w, v, sizeof(w));
	return w[1].u == MR_NUMBER_FLOAT ? w[0].f : (double)w[0].i;
}

/* ---- hash table (table.c) ---------------------------------------------
 * Open addressing with linear probing; a slot holds a key of up to 16 bytes
 * itself and a one-word value; longer keys, and values of several words or
 * sets, live in arenas. */
typedef struct mr_table mr_table;

mr_table *mr_table_new(size_t expected_keys, const mr_values *vals);
void mr_table_free(mr_table **t);
/* Inserts key with the value v[0..nvals) (nvals words, possibly unaligned:
 * 1 or the width, or a sorted set's members), or merges it into the value
 * the key has.  key and v are copied. */
int mr_table_upsert(mr_table *t, const void *key, size_t len, uint64_t hash, const void *v,
		    uint32_t nvals);
/* Pending upserts, applied together so that their cache misses overlap:
 * mr_table_prefetch on each as it is queued, then mr_table_upsert_batch. */
#define MR_PAD8(n) (((n) + 7) & ~(size_t)7)
typedef struct mr_pending {
	uint64_t hash;
	const char *key; /* borrowed until the batch is applied; followed by
			  * zeros to a multiple of 8 bytes, and to 16 */
	size_t len;
	const void *vals; /* nvals words, borrowed likewise */
	uint32_t nvals;
	mr_value value; /* a one-word value's own storage */
} mr_pending;
void mr_table_prefetch(const mr_table *t, uint64_t hash);
/* Upserts p[0..n) in order; stops at the first status that is not MR_OK. */
int mr_table_upsert_batch(mr_table *t, const mr_pending *p, size_t n);
/* A table with a limit (bytes; 0: none) does not grow past it: it is then
 * over (mr_table_over), and whoever fills it empties it (mr_table_clear,
 * which keeps its slots for reuse). */
void mr_table_set_limit(mr_table *t, size_t bytes);
bool mr_table_over(const mr_table *t);
void mr_table_clear(mr_table *t);
size_t mr_table_count(const mr_table *t);
size_t mr_table_key_bytes(const mr_table *t); /* sum of key lengths */
size_t mr_table_memory(const mr_table *t);    /* bytes held, slots + arenas */
/* Iterates in slot order, which depends on the hashes and on the order keys
 * came in: start with *pos = 0; returns false at the end.  *key and *vals
 * (*nvals words, aligned, which the caller may change in place) are the
 * table's until it changes or is freed. */
bool mr_table_next(mr_table *t, size_t *pos, const char **key, size_t *len, mr_value **vals,
		   uint32_t *nvals);

/* ---- the emitter (emit.c) --------------------------------------------
 * Emits are queued and applied to a table in batches of MR_EMIT_BATCH, so
 * that the cache misses of many keys overlap; the key bytes are copied. */
#define MR_EMIT_BATCH  32
#define MR_REJECT_SHOW 5   /* malformed records named, per rank and per run */
#define MR_REJECT_WHY  151 /* 150 bytes and a NUL */
struct mr_reader;
typedef struct mr_reject_at {
	uint64_t file, offset, line; /* line: rank 0 counts it, 0 if it cannot */
	char why[MR_REJECT_WHY];
} mr_reject_at;
/* Where an emitter's pairs go: into its table, combined (the fast path), or
 * appended to its run (map of a job that reduces all values, or of a
 * map-only job; and reduce's result). */
enum mr_emit_mode { MR_EMIT_COMBINE, MR_EMIT_COLLECT, MR_EMIT_OUTPUT };
struct mr_emitter {
	mr_table *table;
	mr_values vals;
	enum mr_emit_mode mode;
	bool special; /* not the fast path of mr_emit: fields, or a run */
	struct mr_frames *run;
	size_t run_limit; /* bytes of run memory before full is called */
	/* Called when the table is over its limit, or the run past run_limit:
	 * it empties them (spills).  MR_OK or a failure. */
	int (*full)(void *arg);
	void *full_arg;
	const char *job; /* its name, for mr_log */
	void *state;	 /* the job's, for mr_state() */
	uint64_t pairs;
	int status; /* the first failure of an applied batch */
	size_t n;
	mr_pending pending[MR_EMIT_BATCH];
	/* The pending keys' bytes, zero-padded: keys of up to 16 bytes (nearly
	 * all) as their words in place, longer ones in long_keys. */
	uint64_t short_keys[MR_EMIT_BATCH][2];
	mr_buf long_keys;
	mr_value fields[MR_EMIT_BATCH][MR_MAX_FIELDS]; /* mr_emit_fields's values */
	/* Where the record map was given lives (map only; see map.c). */
	const char *rec;
	const struct mr_reader *reader;
	uint64_t file;
	const struct mr_files *files;
	/* Records the job rejected: how many, and the first few. */
	int strict;
	uint64_t rejected;
	size_t nshown;
	mr_reject_at shown[MR_REJECT_SHOW];
};
void mr_emitter_init(mr_emitter *e, mr_table *t, const mr_values *vals);
/* Sends the emitter's pairs to run instead (mode COLLECT or OUTPUT). */
void mr_emitter_to_run(mr_emitter *e, enum mr_emit_mode mode, struct mr_frames *run);
/* Queues a value of nvals words at v, which stays valid until the batch is
 * applied (reduce's, from received frames).  As mr_emit otherwise. */
int mr_emit_words(mr_emitter *e, const void *key, size_t len, const void *v, uint32_t nvals);
/* Applies what is queued and frees the scratch: MR_OK or the first failure
 * (a combine's status, or MR_ERR_LIMIT). */
int mr_emitter_finish(mr_emitter *e);

/* ---- records (records.c) ----------------------------------------------
 * The record rule and the tokenizer.  A sink returns MR_OK or a status. */
typedef int (*mr_record_fn)(void *arg, const char *rec, size_t len);

static inline bool mr_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}
/* Calls fn for every complete record in buf[0..n), which starts at a record
 * boundary.  A trailing record with no delimiter after it is not passed; its
 * start is returned in *tail (n if none).  Returns MR_OK or fn's status. */
int mr_scan_records(const char *buf, size_t n, enum mr_record_rule rule, mr_record_fn fn, void *arg,
		    size_t *tail);

/*
 * Reads the records of one byte range of an open file, by the boundary rule:
 * those that start in [off, off + len), the last one finished past the end.
 * It hands out spans of whole records (scan.h cuts them): from a block,
 * everything up to its last delimiter; a record longer than a block is
 * gathered in carry.  Memory is one block plus the longest record.
 */
typedef struct mr_reader {
	int fd;
	uint64_t file_size;
	enum mr_record_rule rule;
	size_t block_size;
	mr_buf block; /* scratch */
	mr_buf carry; /* a record that spans blocks */
	uint64_t bytes_read;
	uint64_t pos;	  /* where the next span starts */
	const char *span; /* the last span handed out, and its file offset */
	uint64_t span_off;
	uint64_t end; /* the range's end: no record starting here is ours */
	uint64_t eof; /* where the file ended, once a read met its end */
	/* A read ended before file_size (which split saw): the file changed.
	 * file_size UINT64_MAX: read to the end, whatever it is. */
	bool changed;
} mr_reader;
/* Starts a range: finds its first record.  MR_OK or MR_ERR_IO (errno set). */
int mr_reader_start(mr_reader *r, uint64_t off, uint64_t len);
/* The next span, valid until the next call; *span is NULL at the range's
 * end.  MR_OK or MR_ERR_IO (errno set). */
int mr_reader_next(mr_reader *r, const char **span, size_t *n);
/* Both, calling fn for each record: MR_OK, MR_ERR_IO or fn's status. */
int mr_read_range(mr_reader *r, uint64_t off, uint64_t len, mr_record_fn fn, void *arg);
void mr_reader_release(mr_reader *r);

/* ---- logging and errors (log.c) ---------------------------------------- */
void mr_log_setup(int rank, enum mr_verbosity v);
int mr_log_rank(void);
/* Rank 0 only, unless quiet. */
void mr_info(const char *fmt, ...) MR_PRINTF(1, 2);
/* Rank 0 only, with -v. */
void mr_verbose(const char *fmt, ...) MR_PRINTF(1, 2);
/* An error every rank knows: printed by rank 0 only, as "mpimr: ...". */
void mr_error(const char *fmt, ...) MR_PRINTF(1, 2);
/* A job callback (what: "map", "reduce", "finish") failed with rc: says
 * so naming the job, unless the job said why itself with mr_log. */
void mr_job_failed(const char *job, const char *what, int rc);
/* An error only this rank knows: "mpimr: rank R on HOST: ...". */
void mr_rank_error(const char *fmt, ...) MR_PRINTF(1, 2);
/* Ends the whole job from this rank alone, for a fault only it sees (print
 * why first): removes what mr_cleanup_add registered, then MPI_Abort. */
_Noreturn void mr_abort(void);
/* Prints an MPI failure with the call, rank and place, then aborts the job. */
_Noreturn void mr_mpi_fail(const char *call, int code, const char *file, int line);
#define MR_MPI(call)                                                    \
	do {                                                            \
		int mr_rc_ = (call);                                    \
		if (mr_rc_ != MPI_SUCCESS)                              \
			mr_mpi_fail(#call, mr_rc_, __FILE__, __LINE__); \
	} while (0)
/* Chooses Open MPI settings from the launcher's environment; call before
 * MPI_Init (launch.c). */
void mr_tune_open_mpi(void);
/* Starts this rank's --timeout watchdog (watchdog.c); seconds 0: none. */
void mr_watchdog_start(double seconds, int rank);
/* Waits for a nonblocking MPI request, sleeping rather than spinning. */
void mr_wait(MPI_Request *req);
/* Rank 0's text (mine, which only rank 0 reads), as a new string on every
 * rank: collective.  Free it with free(). */
char *mr_bcast_text(MPI_Comm comm, const char *mine);
/* The worst (most negative) status over all ranks: collective. */
int mr_agree(MPI_Comm comm, int status);
/* A C int count for MPI, or abort naming the place if n does not fit. */
int mr_int_count_at(uint64_t n, const char *file, int line);
#define mr_int_count(n) mr_int_count_at((n), __FILE__, __LINE__)
/* "1.5 MB" style, into buf of at least 32 bytes. */
const char *mr_human_bytes(double bytes, char *buf, size_t size);

/* ---- what a failed or stopped run removes (cleanup.c) ------------------
 * Paths this rank made and must remove unless the run succeeds: registered
 * once made (copied; at most a few at once), forgotten once committed.
 * mr_cleanup_on_signals removes them on SIGINT, SIGTERM and SIGHUP, then
 * lets the signal end the process. */
int mr_cleanup_add(const char *path);
void mr_cleanup_forget(const char *path);
void mr_cleanup_now(void);
/* A command's pid, killed by mr_cleanup_now until forgotten. */
int mr_cleanup_child(int pid);
void mr_cleanup_forget_child(int pid);
void mr_cleanup_on_signals(void);

/* ---- the memory budget (memory.c) --------------------------------------
 * MR_MEM_FIXED: what a rank takes besides its data (MPI, HDF5, libraries,
 * I/O blocks): measured at 22-25 MB of resident memory here, with room.
 * A budget below MR_MEM_MIN cannot run. */
#define MR_MEM_FIXED (UINT64_C(32) << 20)
#define MR_MEM_MIN   (UINT64_C(8) << 20)
/* The least memory this process can see (cgroup limit, rlimits,
 * MemAvailable), and which it was, in what; UINT64_MAX if none says. */
uint64_t mr_memory_visible(char *what, size_t size);
/* The budget of one of node_ranks ranks sharing visible bytes. */
uint64_t mr_memory_share(uint64_t visible, int node_ranks);

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

/* What split saw of an input file, to tell whether it changed since. */
typedef struct mr_file_stamp {
	uint64_t mtime_ns, ctime_ns;
	uint64_t unsized; /* an mr_input_kind other than MR_INPUT_FILE: its size
			   * is not known before it is read whole */
} mr_file_stamp;
enum mr_input_kind {
	MR_INPUT_FILE = 0,    /* a file of the size stat says */
	MR_INPUT_UNSIZED = 1, /* /proc, sysfs, a stat size of 0 that holds bytes */
	MR_INPUT_RESULT = 2,  /* an mpimr result: read as `mpimr show` prints it */
};

/* The input files, identical on every rank after split (and sizes after
 * map, which learns the sizes of unsized files). */
typedef struct mr_files {
	size_t n;
	mr_buf paths;	       /* NUL-terminated paths, concatenated */
	uint64_t *offsets;     /* [n+1] into paths, NULs not counted in lengths */
	uint64_t *sizes;       /* [n] */
	mr_file_stamp *stamps; /* [n] */
	size_t nunsized;       /* how many are unsized */
	uint64_t total;	       /* sum of sizes */
} mr_files;
static inline const char *mr_file_path(const mr_files *f, size_t i)
{
	return f->paths.data + f->offsets[i] + i;
}

/* One byte range of one file. */
typedef struct mr_range {
	uint64_t file;
	uint64_t offset;
	uint64_t length;
} mr_range;

/* The spill store of a rank (spill.c, runs.h): one unnamed file. */
typedef struct mr_spill {
	const char *dir; /* --tmp, or NULL */
	int fd;		 /* -1 until first written */
	uint64_t end;
	uint64_t written; /* bytes, for the statistics */
	bool failed;	  /* said already */
} mr_spill;
struct mr_frames;

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
	/* Records the job rejected: this rank's first few (map), then the
	 * run's count and first few as text, the same on every rank. */
	size_t nshown;
	mr_reject_at shown[MR_REJECT_SHOW];
	uint64_t rejected;
	char *rejected_first; /* "PATH:LINE: why" lines */
	uint64_t changed;     /* the first input this rank saw change, or
			       * UINT64_MAX */
	char tmp_path[4096];  /* the output's temporary name */
	char stats_tmp[4096]; /* the statistics' temporary name, or "" */
} mr_ctx;

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

/* ---- the exchange (shuffle.c), used by shuffle and order ----------------
 * A frame is: u32 key length, u32 value words n, n 8-byte words, the key. */
#define MR_FRAME_HEADER 8
static inline size_t mr_frame_size(size_t keylen, uint32_t nvals)
{
	return MR_FRAME_HEADER + 8 * (size_t)nvals + keylen;
}
char *mr_frame_put(char *p, const char *key, uint32_t len, const void *vals, uint32_t nvals);
/* Reads the frame at *p (within end); returns false if none is complete.
 * *vals points at the frame's words, which may be unaligned. */
bool mr_frame_get(const char **p, const char *end, const char **key, uint32_t *len,
		  const char **vals, uint32_t *nvals);

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

/* ---- reading a result file (show.c) ------------------------------------ */
/* How show prints rows: key<TAB>value lines, RFC 4180 CSV with a header,
 * or one JSON object per line. */
typedef enum { MR_SHOW_TSV, MR_SHOW_CSV, MR_SHOW_JSONL } mr_show_format;
/* Prints result file path's table (its first top rows; all when top < 0) on
 * standard output in format, then closes standard output.  A file without
 * complete=1 is refused unless incomplete.  Local, serial; returns MR_OK,
 * or an MR_ERR_* after one message on stderr. */
int mr_show(const char *path, long long top, bool incomplete, mr_show_format format);
/* The lines mr_show prints (tsv, every row) into f instead: a chained
 * pass reads a result so.  Messages as mr_show's.  Local. */
#include <stdio.h>
int mr_show_into(FILE *f, const char *path);

/* ---- the command line (cli.c) ----------------------------------------------- */
/* Parses "64M"-style sizes; returns false on junk or overflow. */
bool mr_parse_size(const char *s, uint64_t *out);

/* Current and peak resident memory of this process, in bytes (0 if unknown). */
uint64_t mr_peak_rss(void);
double mr_now(void);

#endif /* MR_INTERNAL_H */
