/*
 * The utilities every part of mpimr stands on: allocation and the growable
 * buffer, the hash of keys, messages and MPI checks, agreement at phase
 * boundaries, what a failed run removes, and the memory budget.  Not
 * installed; jobs see include/mpimr.h only.
 */
#ifndef MR_UTIL_H
#define MR_UTIL_H

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
 * kernel gives them); free with mr_free_large(p, n). */
void *mr_alloc_zeroed_large(size_t n, const char *file, int line);
/* p (n bytes from mr_alloc_zeroed_large) grown to m > n bytes: the first n
 * as they were, the rest zero.  p's pages move rather than being copied
 * where the kernel allows, so that only the new ones are fresh memory. */
void *mr_grow_zeroed_large(void *p, size_t n, size_t m, const char *file, int line);
void mr_free_large(void *p, size_t n);
/* Gives the whole pages of bytes [from, to) of such a block back to the
 * system: they read as zeros after, and cost no memory until written. */
void mr_release_large(void *p, size_t n, size_t from, size_t to);
#define mr_malloc(n)	 mr_malloc_at((n), __FILE__, __LINE__)
#define mr_calloc(n, s)	 mr_calloc_at((n), (s), __FILE__, __LINE__)
#define mr_realloc(p, n) mr_realloc_at((p), (n), __FILE__, __LINE__)
#define mr_strdup(s)	 mr_strdup_at((s), __FILE__, __LINE__)
/* n * size, or abort with a message naming file:line if it overflows size_t. */
size_t mr_mul_at(size_t n, size_t size, const char *file, int line);
#define mr_mul(n, s) mr_mul_at((n), (s), __FILE__, __LINE__)

/* The one growth helper of arrays: p (of *cap elements of size bytes, or
 * NULL) grown to hold need elements at least, by half again or more; *cap
 * updated.  Aborts naming file:line if that cannot be had. */
void *mr_grow_at(void *p, size_t *cap, size_t need, size_t size, const char *file, int line);
#define MR_GROW(p, cap, need) \
	((p) = mr_grow_at((p), &(cap), (need), sizeof(*(p)), __FILE__, __LINE__))

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

/* ---- hashing ---------------------------------------------------------
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
/* A failure whose reason has been said (by the job's mr_log, or deferred):
 * mr_said_take tells it once, and forgets. */
void mr_said_mark(void);
bool mr_said_take(void);
/* An error that many ranks may see at once (a full or missing --tmp):
 * kept, the first only, and said once by mr_deferred_say. */
void mr_defer(const char *fmt, ...) MR_PRINTF(1, 2);
/* Collective, after a failure is agreed on: the lowest rank that deferred an
 * error says it, with how many other ranks had one. */
void mr_deferred_say(MPI_Comm comm);
/* Prints an MPI failure with the call, rank and place, then aborts the job. */
_Noreturn void mr_mpi_fail(const char *call, int code, const char *file, int line);
#define MR_MPI(call)                                                    \
	do {                                                            \
		int mr_rc_ = (call);                                    \
		if (mr_rc_ != MPI_SUCCESS)                              \
			mr_mpi_fail(#call, mr_rc_, __FILE__, __LINE__); \
	} while (0)
/* Starts this rank's --timeout watchdog (watchdog.c); seconds 0: none. */
void mr_watchdog_start(double seconds, int rank);
/* The command this rank waits on now (mr_spawn; NULL: none), for the
 * watchdog's message.  cmd must live until it is cleared. */
void mr_watchdog_command(const char *cmd);
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
 * A default budget below MR_MEM_MIN is refused (what a rank sees is too
 * little to run in); --mem may ask for as little as MR_MEM_LEAST (the
 * tests spill with it). */
#define MR_MEM_FIXED (UINT64_C(32) << 20)
#define MR_MEM_MIN   (UINT64_C(8) << 20)
#define MR_MEM_LEAST (UINT64_C(1) << 20)
/* The least memory this process can see (cgroup limit, rlimits,
 * MemAvailable), and which it was, in what; UINT64_MAX if none says. */
uint64_t mr_memory_visible(char *what, size_t size);
/* The budget of one of node_ranks ranks sharing visible bytes. */
uint64_t mr_memory_share(uint64_t visible, int node_ranks);

/* ---- time and memory use (log.c) ---------------------------------------- */
/* Current and peak resident memory of this process, in bytes (0 if unknown). */
uint64_t mr_peak_rss(void);
double mr_now(void);

#endif /* MR_UTIL_H */
