/*
 * stream: jobs in any language, by Hadoop streaming's contract.
 *
 *   mpirun -np N mpimr stream --map CMD [--combine OP | --reduce CMD] INPUT... -o OUT.h5
 *
 * --map CMD runs once per rank that has records (/bin/sh -c CMD, started at
 * its first record).  The rank's records, lines each with its '\n', go to
 * the command's standard input in input order; its standard output is read
 * while it runs, through non-blocking pipes polled together, so that
 * neither side waits on a full pipe.  Its standard error reaches the user as
 * it comes.  Its environment has MPIMR_RANK, MPIMR_NRANKS, and the path of
 * the rank's first input file as mapreduce_map_input_file, map_input_file
 * (Hadoop streaming's names) and MPIMR_INPUT_FILE.
 *
 * Its output lines are KEY<TAB>VALUE, cut at the first TAB (a line without
 * one is a key with an empty value; any bytes but '\n').  Then:
 *   - neither --combine nor --reduce: a map-only job; every line is kept,
 *     duplicates included, as a record, in input order;
 *   - --combine sum|count|min|max: values are numbers (MR_NUMBER: integers
 *     exact in 64 bits, overflow an error; anything else a float64), a value
 *     that is not one a rejected record; combined as the built-in jobs do;
 *   - --reduce CMD: once per rank after the shuffle, the pairs of the keys
 *     the rank owns as KEY<TAB>VALUE lines, sorted by key (and value), a
 *     key's values together: Hadoop's reducer contract.  Its output lines
 *     are the result: keys with byte values, in the order it writes them,
 *     rank after rank in key-range order.
 * A command that exits non-zero, is killed, or stops reading its input
 * early fails the run, with its status and the last lines of its stderr.
 * One that never ends is stopped by --timeout (a rank that gets nothing
 * from it for so long ends the run) or by the batch system's time limit.
 */
#include "jobs.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum mode { M_MAP_ONLY, M_SUM, M_COUNT, M_MIN, M_MAX, M_REDUCE };
static const char *const mode_names[] = {"", "sum", "count", "min", "max"};

#define FEED	  ((size_t)1 << 20)   /* input held before it is written */
#define READ	  ((size_t)256 << 10) /* bytes read from a command at once */
#define TAIL_KEEP 4096		      /* bytes of stderr kept for a failure */

struct stream;
/* A command and its pipes: what waits to be written, a line being read. */
struct proc {
	const char *cmd;
	const char *what; /* "map" or "reduce" */
	bool started, out_eof, err_eof, stopped_reading;
	mr_child ch;
	char *in; /* in[inat..inlen) waits to be written */
	size_t inat, inlen, incap;
	char *buf; /* what read_some reads into */
	char *line;
	size_t linelen, linecap;
	char tail[TAIL_KEEP];
	size_t taillen;
	int (*on_line)(struct stream *st, mr_emitter *out, const char *l, size_t n);
};

struct stream {
	enum mode mode;
	struct proc mapper, reducer;
	uint64_t lines; /* of the mapper's output, for reasons */
	char why[200];
};

static const mr_option options[] = {
	{"map", 1, "the command each rank runs on its records (sh -c), required", "CMD"},
	{"combine", 1, "sum, count, min or max: combine the values, numbers, per key", "OP"},
	{"reduce", 1, "the command each rank runs on its keys' sorted pairs (sh -c)", "CMD"},
	{NULL, 0, NULL, NULL},
};

/* ---- buffers -------------------------------------------------------------- */

static int grow(char **p, size_t *cap, size_t need)
{
	void *q = *p;
	int rc = mr_reserve(&q, cap, need);
	*p = q;
	return rc;
}

/* Keeps the last TAIL_KEEP bytes of the command's stderr. */
static void keep_tail(struct proc *p, const char *b, size_t n)
{
	if (n >= TAIL_KEEP) {
		memcpy(p->tail, b + n - TAIL_KEEP, TAIL_KEEP);
		p->taillen = TAIL_KEEP;
		return;
	}
	if (p->taillen + n > TAIL_KEEP) {
		size_t drop = p->taillen + n - TAIL_KEEP;
		memmove(p->tail, p->tail + drop, p->taillen - drop);
		p->taillen -= drop;
	}
	memcpy(p->tail + p->taillen, b, n);
	p->taillen += n;
}

/* ---- moving bytes --------------------------------------------------------- */

/* The complete lines in b[0..n) to on_line; the rest waits in p->line. */
static int take_output(struct stream *st, struct proc *p, mr_emitter *out, const char *b, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(b, '\n', n);
		size_t k = nl ? (size_t)(nl - b) : n;
		if (!nl || p->linelen) { /* part of a line, or its end after a part */
			if (grow(&p->line, &p->linecap, p->linelen + k + 1) != MR_OK)
				return MR_ERR_NOMEM;
			memcpy(p->line + p->linelen, b, k);
			p->linelen += k;
		}
		if (!nl)
			return MR_OK;
		int rc = p->linelen ? p->on_line(st, out, p->line, p->linelen)
				    : p->on_line(st, out, b, k);
		p->linelen = 0;
		if (rc != MR_OK)
			return rc;
		b += k + 1;
		n -= k + 1;
	}
	return MR_OK;
}

/* Reads what fd has: false at its end.  Output goes to take_output, errors
 * to our stderr and the tail. */
static int read_some(struct stream *st, struct proc *p, mr_emitter *out, bool err, bool *eof)
{
	if (!p->buf && !(p->buf = malloc(READ)))
		return MR_ERR_NOMEM;
	char *b = p->buf;
	ssize_t k = read(err ? p->ch.err : p->ch.out, b, READ);
	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? MR_OK : MR_ERR_IO;
	if (k == 0) {
		*eof = true;
		return MR_OK;
	}
	mr_progress();
	if (!err)
		return take_output(st, p, out, b, (size_t)k);
	keep_tail(p, b, (size_t)k);
	ssize_t w = write(2, b, (size_t)k);
	(void)w; /* our stderr gone: nothing better to do with it */
	return MR_OK;
}

/* It will not read what is left for it: dropped, its input closed. */
static void stop_feeding(struct proc *p)
{
	p->stopped_reading = true;
	p->inat = p->inlen = 0;
	close(p->ch.in);
	p->ch.in = -1;
}

/* Writes what the pipe takes; what is left stays where it is (no copy). */
static void write_some(struct proc *p)
{
	ssize_t k = write(p->ch.in, p->in + p->inat, p->inlen - p->inat);
	if (k > 0) {
		p->inat += (size_t)k;
		if (p->inat == p->inlen)
			p->inat = p->inlen = 0;
		mr_progress();
	} else if (k < 0 && errno == EPIPE) { /* it stopped reading */
		stop_feeding(p);
	}
}

/*
 * Moves bytes both ways until all that waits is written or, closing,
 * until the command's output and errors end (its input closed once all is
 * written).  poll waits a second at most, so that the --timeout watchdog,
 * not this loop, decides when nothing happens.
 */
static int pump(struct stream *st, struct proc *p, mr_emitter *out, bool closing)
{
	for (;;) {
		if (closing && p->inat == p->inlen && p->ch.in >= 0) {
			close(p->ch.in);
			p->ch.in = -1;
		}
		if (closing ? p->out_eof && p->err_eof : p->inat == p->inlen || p->ch.in < 0)
			return MR_OK;
		struct pollfd f[3];
		int n = 0, iin = -1, iout = -1, ierr = -1;
		if (p->inat < p->inlen && p->ch.in >= 0)
			f[iin = n++] = (struct pollfd){.fd = p->ch.in, .events = POLLOUT};
		if (!p->out_eof)
			f[iout = n++] = (struct pollfd){.fd = p->ch.out, .events = POLLIN};
		if (!p->err_eof)
			f[ierr = n++] = (struct pollfd){.fd = p->ch.err, .events = POLLIN};
		if (n == 0)
			return MR_OK;
		/* Only its input left: it may have ended without reading it all
		 * (our read end keeps the pipe open, so no write fails). */
		bool only_input = p->out_eof && p->err_eof;
		if (poll(f, (nfds_t)n, only_input ? 10 : 1000) <= 0) {
			if (iin >= 0 && mr_child_ended(&p->ch))
				stop_feeding(p);
			continue;
		}
		int rc = MR_OK;
		if (iin >= 0 && f[iin].revents)
			write_some(p);
		if (iout >= 0 && f[iout].revents)
			rc = read_some(st, p, out, false, &p->out_eof);
		if (rc == MR_OK && ierr >= 0 && f[ierr].revents)
			rc = read_some(st, p, out, true, &p->err_eof);
		if (rc != MR_OK)
			return rc;
	}
}

/* Hands bytes to the command, moving some when enough wait. */
static int feed(struct stream *st, struct proc *p, mr_emitter *out, const char *a, size_t na,
		const char *b, size_t nb, char end)
{
	if (p->stopped_reading)
		return MR_OK; /* it will not read it: finish fails the run */
	if (grow(&p->in, &p->incap, p->inlen + na + nb + 2) != MR_OK)
		return MR_ERR_NOMEM;
	memcpy(p->in + p->inlen, a, na);
	p->inlen += na;
	if (b) {
		p->in[p->inlen++] = '\t';
		memcpy(p->in + p->inlen, b, nb);
		p->inlen += nb;
	}
	p->in[p->inlen++] = end;
	/* Written out whole, so that it starts again at in[0]: the pipe (as
	 * large as mr_spawn could make it) holds the command's backlog. */
	return p->inlen >= FEED ? pump(st, p, out, false) : MR_OK;
}

/* ---- starting and ending a command ---------------------------------------- */

static int start(struct proc *p, const char *file)
{
	char f1[4200], f2[4200], f3[4200];
	snprintf(f1, sizeof(f1), "mapreduce_map_input_file=%s", file ? file : "");
	snprintf(f2, sizeof(f2), "map_input_file=%s", file ? file : "");
	snprintf(f3, sizeof(f3), "MPIMR_INPUT_FILE=%s", file ? file : "");
	const char *env[] = {f1, f2, f3, NULL};
	int rc = mr_spawn(p->cmd, file ? env : NULL, &p->ch);
	p->started = rc == MR_OK;
	return rc;
}

/* The failure of a command, in one line, then the last lines of its stderr:
 * said once for all the ranks whose commands failed (mr_log_once), as a
 * command that fails on one rank mostly fails on all. */
static void say_failure(const struct proc *p, int status)
{
	char msg[4096];
	size_t m = 0;
	if (p->stopped_reading && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		m = (size_t)snprintf(msg, sizeof(msg),
				     "%s command '%s' stopped reading its input early", p->what,
				     p->cmd);
	else if (WIFSIGNALED(status))
		m = (size_t)snprintf(msg, sizeof(msg),
				     "%s command '%s' was killed by signal %d (%s)", p->what,
				     p->cmd, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		m = (size_t)snprintf(
			msg, sizeof(msg), "%s command '%s' exited with status %d%s", p->what,
			p->cmd, WEXITSTATUS(status),
			WEXITSTATUS(status) == 127 ? " (the shell found no such command)" : "");
	/* the last five lines of its stderr, again, after the many ranks' */
	size_t n = p->taillen, at = n, lines = 0;
	while (at > 0 && n > 0 && p->tail[n - 1] == '\n')
		n--, at--;
	while (at > 0 && lines < 5)
		if (p->tail[--at] == '\n')
			lines++;
	if (at > 0 || (at == 0 && n > 0 && p->tail[0] == '\n'))
		at++;
	for (const char *s = p->tail + at, *end = p->tail + n; s < end && m < sizeof(msg);) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t k = nl ? (size_t)(nl - s) : (size_t)(end - s);
		if (k)
			m += (size_t)snprintf(msg + m, sizeof(msg) - m, "\n  %s stderr: %.*s",
					      p->what, (int)(k < 600 ? k : 600), s);
		s += k + 1;
	}
	mr_log_once(NULL, "%s", msg);
}

/* Writes what is left, reads to the end, waits: MR_OK if it did its work. */
static int finish(struct stream *st, struct proc *p, mr_emitter *out)
{
	if (!p->started)
		return MR_OK;
	p->started = false;
	int rc = pump(st, p, out, true);
	if (rc == MR_OK && p->linelen) { /* a last line without '\n' */
		rc = p->on_line(st, out, p->line, p->linelen);
		p->linelen = 0;
	}
	int status = 0;
	int wrc = mr_child_wait(&p->ch, &status);
	close(p->ch.out);
	close(p->ch.err);
	if (wrc != MR_OK)
		return wrc;
	if (p->ch.unread > 0)
		p->stopped_reading = true;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || p->stopped_reading) {
		say_failure(p, status);
		return MR_ERR_JOB;
	}
	return rc;
}

/* ---- what the commands write ----------------------------------------------- */

/* Reads a value as a number into v[0..1] (MR_NUMBER); false with st->why. */
static bool parse_number(struct stream *st, const char *s, size_t n, mr_value v[2])
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	char b[64];
	size_t digits = 0, i = n && (s[0] == '-' || s[0] == '+');
	bool dot = false, exp = false, ok = n > 0 && n < sizeof(b);
	for (size_t j = i; ok && j < n; j++) {
		char c = s[j];
		if (c >= '0' && c <= '9')
			digits++;
		else if (c == '.' && !dot && !exp)
			dot = true;
		else if ((c == 'e' || c == 'E') && digits && !exp && j + 1 < n)
			exp = true, j += s[j + 1] == '-' || s[j + 1] == '+';
		else
			ok = false;
	}
	if (!ok || !digits) {
		snprintf(st->why, sizeof(st->why), "value '%.*s' is not a number",
			 (int)(n < 40 ? n : 40), s);
		return false;
	}
	memcpy(b, s, n);
	b[n] = '\0';
	errno = 0;
	if (!dot && !exp) {
		v[0].i = strtoll(b, NULL, 10);
		v[1].u = MR_NUMBER_INT;
		if (errno == ERANGE) {
			snprintf(st->why, sizeof(st->why),
				 "integer '%s' is out of the 64-bit range", b);
			return false;
		}
		return true;
	}
	v[0].f = strtod(b, NULL);
	v[1].u = MR_NUMBER_FLOAT;
	/* Past a double's range is no number; under it (1e-400) is a tiny
	 * one, or 0, as Python's float() has it. */
	if (errno == ERANGE && isinf(v[0].f)) {
		snprintf(st->why, sizeof(st->why), "number '%s' is out of a double's range", b);
		return false;
	}
	return true;
}

static int map_line(struct stream *st, mr_emitter *out, const char *l, size_t n)
{
	st->lines++;
	if (st->mode == M_MAP_ONLY)
		return mr_emit_record(out, l, n);
	const char *tab = memchr(l, '\t', n);
	size_t klen = tab ? (size_t)(tab - l) : n;
	const char *val = tab ? tab + 1 : l + n;
	size_t vlen = n - klen - (tab != NULL);
	if (st->mode == M_REDUCE)
		return mr_emit_bytes(out, l, klen, val, vlen);
	mr_value v[2] = {{.i = 1}, {.u = MR_NUMBER_INT}};
	if (st->mode != M_COUNT && !parse_number(st, val, vlen, v))
		return mr_reject_output(out, st->lines, st->why);
	return mr_emit_fields(out, l, klen, v);
}

static int reduce_line(struct stream *st, mr_emitter *out, const char *l, size_t n)
{
	(void)st;
	const char *tab = memchr(l, '\t', n);
	size_t klen = tab ? (size_t)(tab - l) : n;
	return mr_emit_bytes(out, l, klen, tab ? tab + 1 : l + n, n - klen - (tab != NULL));
}

/* ---- the job's callbacks ----------------------------------------------------- */

static int map(const char *rec, size_t len, mr_emitter *out)
{
	struct stream *st = mr_state(out);
	if (!st->mapper.started) {
		int rc = start(&st->mapper, mr_record_origin(out).path);
		if (rc != MR_OK)
			return rc;
	}
	return feed(st, &st->mapper, out, rec, len, NULL, 0, '\n');
}

static int map_end(void *state, mr_emitter *out)
{
	struct stream *st = state;
	return finish(st, &st->mapper, out);
}

static int reduce(void *state, const char *key, size_t len, mr_iter *values, mr_emitter *out)
{
	struct stream *st = state;
	if (!st->reducer.started) {
		int rc = start(&st->reducer, NULL);
		if (rc != MR_OK)
			return rc;
	}
	const void *v;
	size_t vlen;
	int rc = MR_OK;
	while (rc == MR_OK && mr_iter_next(values, &v, &vlen))
		rc = feed(st, &st->reducer, out, key, len, v, vlen, '\n');
	return rc;
}

static int reduce_end(void *state, mr_emitter *out)
{
	struct stream *st = state;
	return finish(st, &st->reducer, out);
}

static double as_double(const mr_value *v)
{
	return v[1].u == MR_NUMBER_FLOAT ? v[0].f : (double)v[0].i;
}

static int sum(mr_value *acc, const mr_value *in)
{
	if (acc[1].u == MR_NUMBER_INT && in[1].u == MR_NUMBER_INT) {
		if (!__builtin_add_overflow(acc[0].i, in[0].i, &acc[0].i))
			return MR_OK;
		mr_log(NULL, "job 'stream': --combine sum: a key's integer sum leaves the 64-bit "
			     "range");
		return MR_ERR_JOB;
	}
	acc[0].f = as_double(acc) + as_double(in);
	acc[1].u = MR_NUMBER_FLOAT;
	return MR_OK;
}

/* Whether a < b, exactly: two integers as integers, else as long double,
 * which holds every int64 and every double exactly (x86-64). */
static bool less(const mr_value *a, const mr_value *b)
{
	if (a[1].u == MR_NUMBER_INT && b[1].u == MR_NUMBER_INT)
		return a[0].i < b[0].i;
	long double x = a[1].u == MR_NUMBER_INT ? (long double)a[0].i : a[0].f;
	long double y = b[1].u == MR_NUMBER_INT ? (long double)b[0].i : b[0].f;
	return x < y;
}

static int min(mr_value *acc, const mr_value *in)
{
	if (less(in, acc))
		acc[0] = in[0], acc[1] = in[1];
	return MR_OK;
}

static int max(mr_value *acc, const mr_value *in)
{
	if (less(acc, in))
		acc[0] = in[0], acc[1] = in[1];
	return MR_OK;
}

/* ---- options and shapes ------------------------------------------------------- */

/* A usage error, said by rank 0: what is wrong, and what it was given. */
static int usage(int is_rank0, const char *what, const char *arg)
{
	if (is_rank0)
		fprintf(stderr, "mpimr: %s%s%s%s\nTry 'mpimr stream --help'.\n", what,
			arg ? " '" : "", arg ? arg : "", arg ? "' (sum, count, min or max)" : "");
	return MR_ERR_USAGE;
}

static void teardown(void *state)
{
	struct stream *st = state;
	if (!st)
		return;
	struct proc *ps[] = {&st->mapper, &st->reducer};
	for (int i = 0; i < 2; i++) {
		free(ps[i]->in);
		free(ps[i]->line);
		free(ps[i]->buf);
	}
	free(st);
}

static int setup(int argc, char **argv, int is_rank0, void **state)
{
	struct stream *st = calloc(1, sizeof(*st));
	if (!st)
		return MR_ERR_NOMEM;
	*state = st;
	st->mapper = (struct proc){.what = "map", .on_line = map_line};
	st->reducer = (struct proc){.what = "reduce", .on_line = reduce_line};
	const char *combine = NULL;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--map"))
			st->mapper.cmd = argv[i + 1];
		else if (!strcmp(argv[i], "--reduce"))
			st->reducer.cmd = argv[i + 1];
		else if (!strcmp(argv[i], "--combine"))
			combine = argv[i + 1];
	}
	if (!st->mapper.cmd)
		return usage(is_rank0, "no map command: give --map CMD", NULL);
	if (combine && st->reducer.cmd)
		return usage(is_rank0, "give --combine or --reduce, not both", NULL);
	st->mode = st->reducer.cmd ? M_REDUCE : M_MAP_ONLY;
	for (int m = M_SUM; combine && m <= M_MAX; m++)
		if (!strcmp(combine, mode_names[m]))
			st->mode = (enum mode)m;
	if (combine && st->mode == M_MAP_ONLY)
		return usage(is_rank0, "unknown --combine", combine);
	/* A command that stops reading makes our writes fail with EPIPE,
	 * which finish reports, rather than end this rank by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return MR_OK;
}

#define STREAM_COMMON                                                                   \
	.name = "stream", .record = MR_RECORD_LINE, .options = options, .setup = setup, \
	.teardown = teardown, .map = map, .map_end = map_end

static const mr_job map_only = {STREAM_COMMON, .result = MR_RESULT_RECORDS};
static const mr_job by_sum = {STREAM_COMMON, .value_type = MR_NUMBER, .combine = sum};
static const mr_job by_min = {STREAM_COMMON, .value_type = MR_NUMBER, .combine = min};
static const mr_job by_max = {STREAM_COMMON, .value_type = MR_NUMBER, .combine = max};
static const mr_job by_reduce = {STREAM_COMMON, .value_type = MR_BYTES, .reduce = reduce,
				 .reduce_end = reduce_end};

static const mr_job *variant(void *state)
{
	switch (((const struct stream *)state)->mode) {
	case M_MAP_ONLY: return &map_only;
	case M_SUM:
	case M_COUNT: return &by_sum;
	case M_MIN: return &by_min;
	case M_MAX: return &by_max;
	case M_REDUCE: return &by_reduce;
	}
	return &map_only;
}

const mr_job mr_job_stream = {
	STREAM_COMMON,
	.summary = "run any program as the map (and reduce) of each rank, by Hadoop "
		   "streaming's KEY<TAB>VALUE lines",
	.args = NULL,
	.result = MR_RESULT_RECORDS,
	.variant = variant,
};
