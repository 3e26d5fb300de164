/*
 * mpimr: MapReduce for MPI clusters.  The one public header.
 *
 * A job is a const struct of callbacks (see struct mr_job).  The engine cuts the
 * inputs into records, calls map on every record, combines what map emits into a
 * per-rank table at once, routes each key to the rank that owns it, merges the
 * values there with the same combine, optionally sorts the result globally and
 * writes one HDF5 file.  A program that defines jobs hands them to mr_main(), which
 * gives it the whole mpimr command line; mr_run() runs one job from C directly.
 *
 * Conventions: functions return MR_OK (0) or a negative MR_ERR_* code, which
 * mr_strerror() names.  "Collective" means every rank of the communicator must
 * call it with the same arguments; "local" means any rank may call it alone.
 */
#ifndef MPIMR_H
#define MPIMR_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MR_VERSION "0.1.0"
#define MR_FORMAT  2 /* the output file's format number, attribute "format" */

enum mr_status {
	MR_OK = 0,
	MR_ERR_NOMEM = -1,   /* an allocation failed */
	MR_ERR_IO = -2,	     /* reading an input or writing the output failed */
	MR_ERR_MPI = -3,     /* an MPI call failed */
	MR_ERR_HDF5 = -4,    /* an HDF5 call failed */
	MR_ERR_USAGE = -5,   /* bad options or arguments */
	MR_ERR_INPUT = -6,   /* an input is missing, unreadable or not a file */
	MR_ERR_OUTPUT = -7,  /* the output path cannot be used */
	MR_ERR_JOB = -8,     /* a job callback returned an error */
	MR_ERR_LIMIT = -9,   /* a size exceeds what the engine can represent */
	MR_ERR_REMOTE = -10, /* another rank failed; it printed why */
};

/* A short lowercase description of an MR_* status.  Local; never NULL. */
const char *mr_strerror(int status);

/* How the engine cuts input bytes into records before calling map. */
enum mr_record_rule {
	/* A record is a line: the bytes up to, not including, '\n'.  A final line
	 * without '\n' is a record; '\r' is kept. */
	MR_RECORD_LINE = 0,
	/* A record is a maximal run of bytes that are none of the six ASCII
	 * whitespace bytes (space, \t, \n, \v, \f, \r): a word. */
	MR_RECORD_WORD = 1,
};

enum mr_value_type {
	MR_U64 = 0, /* values are uint64_t, written as uint64 */
	MR_F64 = 1, /* values are double, written as float64 */
	/*
	 * A set of uint64_t per key (input file numbers, node ids...): map emits
	 * one member at a time as v.u, and the engine keeps each key's members
	 * sorted ascending and distinct, merging sets itself: combine is not
	 * called and may be NULL.  Written as one list per key, in the
	 * offsets-plus-data layout of keys (README, "The output file").
	 */
	MR_U64_SET = 2,
	/* Values of any bytes, written as one byte string per key in the
	 * offsets-plus-data layout of keys.  Jobs with a reduce only: reduce
	 * gives each key's result with mr_emit_bytes(). */
	MR_BYTES = 3,
	/*
	 * A number per key, exact while it can be: a signed 64-bit integer
	 * while every value combined into it is one, else a float64.  A value
	 * is two words: v[0] the number (.i or .f), v[1].u its kind,
	 * MR_NUMBER_INT or MR_NUMBER_FLOAT; map emits them with
	 * mr_emit_fields, and combine merges them (width is left 0).  The file
	 * holds one int64 dataset, or, if any key's value is a float, one
	 * float64 dataset for all.  --order count compares them as float64.
	 */
	MR_NUMBER = 4,
};
#define MR_NUMBER_INT	0
#define MR_NUMBER_FLOAT 1

/* What a job's result is. */
enum mr_result_kind {
	MR_RESULT_TABLE = 0,   /* keys, each with a value (the default) */
	MR_RESULT_RECORDS = 1, /* records in order, with no keys or values: a
				* sort's lines, a map-only job's output */
};

/* A key's values, for reduce: handed out one at a time, in order of their
 * bytes (memcmp, shorter first), streamed from memory or disk. */
typedef struct mr_iter mr_iter;

/* The most fields a value may have (mr_job.width). */
#define MR_MAX_FIELDS 16

typedef union mr_value {
	uint64_t u;
	int64_t i;
	double f;
} mr_value;

/* Where map sends its pairs; owned by the engine, valid during map only. */
typedef struct mr_emitter mr_emitter;

/* An option a job takes on the command line, besides the engine's own. */
typedef struct mr_option {
	const char *name;	/* without the dashes: "lines" is --lines */
	int takes_value;	/* --name VALUE (or --name=VALUE) rather than a flag */
	const char *help;	/* one line for --help, e.g. "count whole lines" */
	const char *value_name; /* what --help calls the value, e.g. "COL";
				 * NULL: VALUE */
} mr_option;

typedef struct mr_job {
	const char *name;    /* as typed on the command line, e.g. "wordcount" */
	const char *summary; /* one line for `mpimr jobs` */
	enum mr_record_rule record;
	enum mr_value_type value_type;
	/*
	 * Optional: how many fields a value has, each of value_type (MR_U64 or
	 * MR_F64), from 1 (also meant by 0) to MR_MAX_FIELDS.  With more than
	 * one, map emits with mr_emit_fields(), combine gets arrays of width
	 * fields, each field is written as its own dataset, and order "count"
	 * sorts by field 0.
	 */
	int width;

	/*
	 * Optional: what the job takes on the command line.  args names its
	 * positional arguments for --help (e.g. "PATTERN"); nargs of them come
	 * first, before the inputs.  options, if any, ends with a {NULL} entry.
	 */
	const char *args;
	int nargs;
	const mr_option *options;

	/*
	 * Optional: called on every rank before the run, with the job's own
	 * options as given ("--name" or "--name" "VALUE", in order) followed by
	 * its nargs positional arguments.  Set *state to what map needs (map
	 * gets it from mr_state()).  Return MR_OK, or print why on stderr from
	 * rank 0 only (mr_main passes the rank as is_rank0) and return
	 * MR_ERR_USAGE: the command then exits with status 2.
	 */
	int (*setup)(int argc, char **argv, int is_rank0, void **state);
	/* Optional: frees what setup made, after the run, on every rank. */
	void (*teardown)(void *state);

	/* Called once for every record, on the rank that reads it.  rec is
	 * borrowed until the call returns; it is not NUL-terminated.  Emit pairs
	 * with mr_emit().  Return MR_OK, or a negative status to fail the run
	 * (every rank then ends, and this rank's message names the job). */
	int (*map)(const char *rec, size_t len, mr_emitter *out);

	/* Merges in into acc, two values of the same key (width fields each;
	 * acc[0] and in[0] for most jobs).  Must be associative and
	 * commutative: the engine calls it while mapping (combining), and on
	 * the key's owner rank after the shuffle (reducing), in no fixed order.
	 * Return MR_OK or a negative status.  Not used for MR_U64_SET. */
	int (*combine)(mr_value *acc, const mr_value *in);

	/*
	 * Optional, with width > 1: the name of field's dataset in the output
	 * (/<job>/values/<name>), or NULL to leave that field out of the file.
	 * Called on every rank with the job's state; the names must be the same
	 * on every rank and outlive the run.  Without it fields are "0", "1"...
	 */
	const char *(*field_name)(void *state, int field);
	/*
	 * Optional: turns a key's combined value (width fields) into the value
	 * written, on the key's owner rank after every value of the key has been
	 * combined and before the output is ordered: for example a mean from a
	 * sum and a count.  Return MR_OK or a negative status, which fails the
	 * run like map's.  Not called for MR_U64_SET.
	 */
	int (*finish)(void *state, mr_value *value);

	/* Optional: MR_RESULT_RECORDS for a job whose result is records. */
	enum mr_result_kind result;
	/*
	 * Optional: a reduce that sees every value of a key at once (a median,
	 * a sort, a join), instead of combine.  Then map emits byte values
	 * (mr_emit_bytes; mr_emit's value counts as its 8 bytes), nothing is
	 * combined, and reduce is called once per key, on its owner rank, in
	 * key order, with an iterator over all of the key's values, sorted by
	 * their bytes.  It writes the key's result with mr_emit, mr_emit_fields
	 * or mr_emit_bytes (a value of value_type; the key it emits is kept as
	 * given) or mr_emit_record (for MR_RESULT_RECORDS), any number of times.
	 * key and the values are borrowed until reduce returns.  Return MR_OK
	 * or a negative status, which fails the run like map's.  Keys are
	 * given to ranks by sampled key ranges, so the result is in key order
	 * across ranks.
	 */
	int (*reduce)(void *state, const char *key, size_t len, mr_iter *values, mr_emitter *out);
	/* Optional, with reduce: whether this run uses it (a job that offers
	 * both, as groupby does, decides from its options); without it, reduce
	 * is used whenever it is set. */
	int (*uses_reduce)(void *state);

	/* Optional: called on every rank once its last record has been mapped
	 * (also on a rank that mapped none), with map's emitter, to emit what
	 * the job held back.  Return MR_OK or a negative status. */
	int (*map_end)(void *state, mr_emitter *out);
	/* Optional, with reduce: the same once a rank's last key is reduced. */
	int (*reduce_end)(void *state, mr_emitter *out);

	/* Optional: the job to run instead, chosen from the options setup read
	 * (one command with several shapes, such as stream); it shares this
	 * job's options, setup and teardown. */
	const struct mr_job *(*variant)(void *state);
} mr_job;

/* The next value of the key being reduced: 1 with *val and *len set (the
 * bytes are borrowed until the next call), or 0 at the end.  Local. */
int mr_iter_next(mr_iter *it, const void **val, size_t *len);
/* How many values the key has in all.  Local. */
uint64_t mr_iter_count(const mr_iter *it);

/*
 * Emits one pair from map.  Local.  key[0..len) is copied (key may be NULL
 * when len is 0).  Emits are queued and applied in batches of 32, so that
 * the cache misses of many keys overlap: v is combined with the value this
 * rank holds for key when its batch is applied, at the latest when map's
 * last record is done, and combine may be called for an earlier emit than
 * this one.  Returns MR_OK, or the first failure of an applied batch: what
 * the job's combine returned, or MR_ERR_LIMIT (a key of more than 4 GiB, a
 * set of more than 2^31 members).  An allocation that fails ends the job
 * (the rank says so, then MPI_Abort): it is never returned.  In a job that
 * reduces, or is map-only, the pair is kept instead, for reduce.
 */
int mr_emit(mr_emitter *out, const void *key, size_t len, mr_value v);

/*
 * Built-in callbacks for the most common job, counting: mr_map_count emits
 * (record, 1) for every record, and mr_combine_sum adds MR_U64 values.  A
 * job whose map and combine are these two (word count) runs a loop of the
 * engine's own, fused with the tokenizer, instead of a map call and an emit
 * per record; its result is the same.  Either also works alone, as any
 * callback of its kind does.
 */
int mr_map_count(const char *rec, size_t len, mr_emitter *out);
int mr_combine_sum(mr_value *acc, const mr_value *in);

/* Emits one pair whose value has the job's width fields, v[0..width).  Local;
 * otherwise as mr_emit(), which emits v[0] only. */
int mr_emit_fields(mr_emitter *out, const void *key, size_t len, const mr_value *v);

/* Emits one pair whose value is the bytes val[0..vlen): from map in a job
 * with a reduce, or from reduce in a job whose value_type is MR_BYTES.
 * Local; both are copied.  As mr_emit otherwise. */
int mr_emit_bytes(mr_emitter *out, const void *key, size_t klen, const void *val, size_t vlen);

/* Emits one record of an MR_RESULT_RECORDS job (from reduce, or from map
 * in a job with neither combine nor reduce: then records are written in
 * input order).  Local; rec is copied. */
int mr_emit_record(mr_emitter *out, const void *rec, size_t len);

/* A line on stderr from a job, as "mpimr: rank R on HOST: job 'NAME': ...",
 * so that a message from one of many ranks says where it comes from (out
 * may be NULL: then without the job's name, for combine, which has no
 * emitter).  A callback that fails after saying why with mr_log gets no
 * second line from the engine.  Local.  fmt is a printf format: user text
 * belongs in its arguments. */
void mr_log(const mr_emitter *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As mr_log, for a failure that many ranks may meet at once (the same
 * command failing on every rank): the rank's first is kept, and the run
 * says it once, from the lowest rank that had one, with "(and on N other
 * ranks)", when the failure is agreed on.  fmt may make several lines. */
void mr_log_once(const mr_emitter *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tells the engine that the job is getting something done (a command it
 * runs answered), for --timeout.  Local; cheap. */
void mr_progress(void);

/* A command a job runs beside a rank, with pipes to it (mr_spawn). */
typedef struct mr_child {
	int pid;
	int in;	 /* its standard input, to write (non-blocking) */
	int out; /* its standard output, to read (non-blocking) */
	int err; /* its standard error, to read (non-blocking) */
	/* The engine's: a read end of its input, so that what it leaves
	 * unread can be counted; its status once it has ended. */
	int in_unread;
	int status;
	int ended;
	/* After mr_child_wait: bytes written to its input that it never read
	 * (a command that stops early, like head -1). */
	size_t unread;
} mr_child;

/*
 * Starts `/bin/sh -c cmd` beside this rank, its standard streams piped to
 * *child (close-on-exec here), its environment this process's plus env
 * (NAME=VALUE strings, NULL-terminated; may be NULL) plus MPIMR_RANK and
 * MPIMR_NRANKS, in a process group of its own.  Local.  If the run fails or
 * is stopped, the engine kills that process group (SIGKILL) before it ends;
 * a rank killed outright (kill -9) cannot, and leaves the command to its
 * input's end of file.  cmd must stay valid until mr_child_wait (--timeout
 * names it).  Returns MR_OK, or MR_ERR_JOB with the reason printed.
 */
int mr_spawn(const char *cmd, const char *const *env, mr_child *child);
/* Waits for a command mr_spawn started to end, after closing its input;
 * *status as waitpid gives it, child->unread what it left of its input.
 * Local.  MR_OK or MR_ERR_JOB. */
int mr_child_wait(mr_child *child, int *status);
/* Whether the command has ended (1) or not (0), without waiting for it (mr_child_wait
 * still follows).  Its input's pipe stays open while it runs and after (so
 * writing to a command that ended does not fail with EPIPE but fills the
 * pipe): a job that waits to write asks this.  Local. */
int mr_child_ended(mr_child *child);

/* The job's state (what its setup made, or mr_config.job_state), for map. */
void *mr_state(const mr_emitter *out);

/* Where the record map was given comes from.  Local, during map only
 * (elsewhere it is file 0, path "", offset 0). */
typedef struct mr_origin {
	uint64_t file;	  /* its input's number: the index in /inputs, from 0 */
	const char *path; /* that input's path, as in /inputs; borrowed */
	uint64_t offset;  /* its first byte's offset in the file */
} mr_origin;
mr_origin mr_record_origin(const mr_emitter *out);

/*
 * Rejects the record map was given as malformed, for the reason why (one
 * short line, copied: cut at 150 bytes, control bytes shown as '?'),
 * instead of emitting pairs from it; call it once per record.  Local.  The
 * run counts rejected records and names the first few as FILE:LINE: why, in
 * the order of the inputs, on stderr and in the output file; nothing is
 * dropped silently.  Returns MR_OK, for map to go on with the next record,
 * or, with --strict (mr_config.strict), MR_ERR_INPUT, for map to return: the
 * run then fails naming the first malformed record and writes no output.
 */
int mr_reject(mr_emitter *out, const char *why);
/* As mr_reject, for a line that a command the job runs wrote (its output
 * line number line, from 1) rather than a record of the input, which the
 * run names as "map output of rank R, line N: why".  During map only. */
int mr_reject_output(mr_emitter *out, uint64_t line, const char *why);

/* Which global order the output file is written in. */
enum mr_order {
	MR_ORDER_COUNT = 0, /* value descending, then key bytes ascending */
	MR_ORDER_KEY = 1,   /* key bytes ascending (memcmp, shorter first) */
	MR_ORDER_NONE = 2,  /* as the ranks hold them: fastest, depends on nranks */
};

enum mr_verbosity { MR_QUIET = 0, MR_NORMAL = 1, MR_VERBOSE = 2 };

/* What mr_run() does.  Zero-initialise, then set inputs, ninputs and output. */
typedef struct mr_config {
	const char *const *inputs; /* files and directories, borrowed */
	size_t ninputs;
	const char *output; /* the HDF5 file to write, borrowed */
	int force;	    /* replace an existing output (only on success) */
	enum mr_order order;
	uint64_t chunk;		/* bytes per input range; 0: the default */
	uint64_t shuffle_round; /* bytes a rank sends per exchange round; 0: default */
	const char *stats_json; /* also write the statistics here, or NULL */
	enum mr_verbosity verbosity;
	int progress; /* show map progress on a terminal */
	/* Every rank reads input.  By default, a node running more ranks than
	 * it has CPUs has only as many of them read: the others would only
	 * take turns on the same CPUs, each building its own table. */
	int map_all;
	/* A record the job rejects (mr_reject) fails the run. */
	int strict;
	/* A run whose records were rejected and gave nothing else is a result
	 * of no keys (by default it fails: a pipeline would not notice). */
	int all_rejected_ok;
	/* Bytes of data a rank may hold (--mem); past them it spills sorted
	 * runs to disk.  0: from what the rank can see (its cgroup's limit,
	 * RLIMIT_AS, MemAvailable), shared among the ranks of its node. */
	uint64_t mem;
	/* Where spill files go (--tmp); NULL: $TMPDIR, else /tmp. */
	const char *tmpdir;
	/* Seconds a rank may make no progress before the run ends (--timeout);
	 * 0: no limit. */
	double timeout;
	void *job_state; /* given to map through mr_state(); mr_main sets it */
	int argc;	 /* the command line, recorded in the file */
	char **argv;
} mr_config;

/*
 * Runs job over cfg's inputs and writes cfg->output.  Collective over comm,
 * which is duplicated (the caller's error handler is left alone).  MPI must be
 * initialised.  Every rank returns the same status; on failure no file is left
 * at cfg->output and the reason has been printed once.
 */
int mr_run(const mr_job *job, const mr_config *cfg, MPI_Comm comm);

/* For a job's own buffers: makes *p (of *cap bytes, or NULL) hold need
 * bytes at least, grown by half again or more with realloc; *cap updated.
 * MR_OK, or MR_ERR_NOMEM with *p and *cap as they were.  Local. */
int mr_reserve(void **p, size_t *cap, size_t need);

/* Parses a size as mpimr's options take them ("64M", "1G", "4096": K, M, G,
 * T powers of 1024, an optional "iB" or "B"): 1 with *out set, or 0 for junk
 * or overflow.  Local. */
int mr_parse_size(const char *s, uint64_t *out);

/*
 * The mpimr command line over the NULL-terminated table jobs: the job
 * subcommands, `jobs`, `show`, --help and --version.  Initialises and finalises
 * MPI itself when a job runs.  Returns the process exit status: 0 done, 1 the
 * job failed, 2 bad usage.
 */
int mr_main(int argc, char **argv, const mr_job *const *jobs);

#ifdef __cplusplus
}
#endif
#endif /* MPIMR_H */
