/*
 * groupby: per key, the count, sum, min, max, mean, median and number of
 * distinct values of a numeric column, like SQL's GROUP BY, over CSV files
 * with a header row or JSON Lines.
 *
 *   mpimr groupby --key home_team --value home_goals --op sum,mean results/ -o g.h5
 *
 * A record is a line.  The key is the --key columns' values joined by a TAB
 * byte, in --key order.  Every value is a float64 with seven fields, count,
 * sum, min, max, mean, median and distinct; only the asked-for ops are
 * written, each as /groupby/values/<op>, and --order count sorts by count.
 *
 * Two ways to get them.  Without median or distinct, each row's value is
 * combined at once (count 1, sum x, min x, max x) and finish makes the mean.
 * With either, a key needs all of its values: map emits each as 8 bytes that
 * sort in numeric order (reduce plan), the engine hands reduce a key's
 * values ascending, streamed past memory, and one pass gives every op; the
 * sum is then added in ascending order, the same at every rank count.
 *
 * CSV is RFC 4180 within a line: comma separators, double-quoted fields with
 * "" for a quote, a final '\r' dropped.  Every file's first line is its header
 * (a UTF-8 byte order mark before it is dropped); the columns are resolved per
 * file, since map sees ranges that need not hold the header, and files may
 * order their columns differently.  Blank lines are skipped, as Python's
 * csv.DictReader skips them.  JSON Lines are one object per non-blank line,
 * read with jansson.  A row that cannot be read is rejected (mr_reject) with
 * the reason, never dropped silently; its file and line are the engine's.
 */
#include "jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The value's fields, in this order; field 0 is what --order count sorts by. */
enum { F_COUNT, F_SUM, F_MIN, F_MAX, F_MEAN, F_MEDIAN, F_DISTINCT, NFIELDS };
static const char *const op_names[NFIELDS] = {"count", "sum",	 "min",	    "max",
					      "mean",  "median", "distinct"};

enum format { FMT_AUTO, FMT_CSV, FMT_JSONL };

/* A growable scratch area: one allocation reused by every record. */
struct scratch {
	void *p;
	size_t cap;
};

/* One input file's columns, as this rank resolved them from its header. */
struct file_cols {
	enum format format;
	size_t nfields; /* CSV: the header's field count */
	size_t *key_col;
	size_t value_col;
	/* Not NULL: the file cannot be read for this reason (its header lacks
	 * a column, or is malformed: header_bad), which fails the run. */
	char *why;
};

struct groupby {
	char **keys; /* the --key names, pointing into key_spec */
	size_t nkeys;
	char *key_spec;
	const char *value; /* --value, or NULL: count rows */
	bool want[NFIELDS];
	bool reduces; /* median or distinct: every value of a key is needed */
	enum format format;
	struct file_cols **files; /* by input number; NULL until first seen */
	size_t nfiles;
	struct scratch text, spans, key, num;
	char why[320]; /* a reject reason being built */
};

struct span {
	size_t at, len; /* a field's bytes in text */
};

static const mr_option options[] = {
	{"key", 1, "group by these columns; a row without one is malformed", "COL[,COL...]"},
	{"value", 1, "the numeric column (not needed for --op count)", "COL"},
	{"op", 1,
	 "count, sum, mean, min, max, median (the mean of the middle two for an even "
	 "count, as pandas), distinct (how many different values): any, comma-separated "
	 "or repeated (default count)",
	 "OP[,OP...]"},
	{"format", 1, "csv or jsonl (default: .jsonl and .ndjson files JSONL, others CSV)",
	 "FORMAT"},
	{NULL, 0, NULL, NULL},
};

/* Makes s hold n bytes at least; false when they cannot be had. */
static bool reserve(struct scratch *s, size_t n)
{
	return mr_reserve(&s->p, &s->cap, n) == MR_OK;
}

/* ---- options ----------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static int usage_error(int is_rank0, const char *fmt, ...)
{
	if (is_rank0) {
		va_list ap;
		va_start(ap, fmt);
		fprintf(stderr, "mpimr: groupby: ");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	return MR_ERR_USAGE;
}

/* Splits the --key list at commas into gb->keys: MR_OK, MR_ERR_USAGE for an
 * empty name, or MR_ERR_NOMEM. */
static int parse_keys(struct groupby *gb, const char *spec)
{
	free(gb->key_spec);
	free(gb->keys);
	gb->key_spec = strdup(spec);
	gb->keys = calloc(strlen(spec) + 1, sizeof(char *));
	gb->nkeys = 0;
	if (!gb->key_spec || !gb->keys)
		return MR_ERR_NOMEM;
	for (char *s = gb->key_spec, *comma;; s = comma + 1) {
		comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		if (!*s)
			return MR_ERR_USAGE;
		gb->keys[gb->nkeys++] = s;
		if (!comma)
			return MR_OK;
	}
}

/* Adds the --op list to gb->want; the length of an unknown op at *bad, or 0. */
static size_t parse_ops(struct groupby *gb, const char *list, const char **bad)
{
	for (const char *s = list;; s++) {
		size_t n = strcspn(s, ",");
		int f = 0;
		while (f < NFIELDS && (strlen(op_names[f]) != n || strncmp(s, op_names[f], n)))
			f++;
		if (f == NFIELDS) {
			*bad = s;
			return n ? n : 1;
		}
		gb->want[f] = true;
		s += n;
		if (!*s)
			return 0;
	}
}

static void teardown(void *state);

/* Reads one option into gb: MR_OK, MR_ERR_USAGE (said why) or MR_ERR_NOMEM. */
static int parse_option(struct groupby *gb, const char *name, const char *arg, int is_rank0)
{
	const char *bad;
	size_t n;
	int rc = MR_OK;
	if (!strcmp(name, "--key")) {
		rc = parse_keys(gb, arg);
		if (rc == MR_ERR_USAGE)
			usage_error(is_rank0, "bad --key '%s': give COL[,COL...]", arg);
	} else if (!strcmp(name, "--value")) {
		gb->value = arg;
	} else if (!strcmp(name, "--op")) {
		if ((n = parse_ops(gb, arg, &bad)) != 0)
			rc = usage_error(is_rank0,
					 "unknown op '%.*s' (count, sum, mean, min, max, median or "
					 "distinct)",
					 (int)(n < 64 ? n : 64), bad);
	} else if (!strcmp(name, "--format")) {
		if (!strcmp(arg, "csv"))
			gb->format = FMT_CSV;
		else if (!strcmp(arg, "jsonl"))
			gb->format = FMT_JSONL;
		else
			rc = usage_error(is_rank0, "unknown format '%s' (csv or jsonl)", arg);
	}
	return rc;
}

/* Reads argv ("--name" "VALUE" pairs: every option takes a value) into gb. */
static int parse_args(struct groupby *gb, int argc, char **argv, int is_rank0)
{
	bool any_op = false;
	for (int i = 0; i + 1 < argc; i += 2) {
		int rc = parse_option(gb, argv[i], argv[i + 1], is_rank0);
		if (rc != MR_OK)
			return rc;
		any_op |= !strcmp(argv[i], "--op");
	}
	if (!gb->nkeys)
		return usage_error(is_rank0, "no key: give --key COL[,COL...]");
	if (!any_op)
		gb->want[F_COUNT] = true;
	gb->reduces = gb->want[F_MEDIAN] || gb->want[F_DISTINCT];
	for (int f = F_SUM; f < NFIELDS; f++)
		if (gb->want[f] && !gb->value)
			return usage_error(is_rank0, "--op %s needs --value COL", op_names[f]);
	return MR_OK;
}

static int setup(int argc, char **argv, int is_rank0, void **state)
{
	struct groupby *gb = calloc(1, sizeof(*gb));
	if (!gb)
		return MR_ERR_NOMEM;
	int rc = parse_args(gb, argc, argv, is_rank0);
	if (rc != MR_OK) {
		teardown(gb);
		return rc;
	}
	*state = gb;
	return MR_OK;
}

static void free_cols(struct file_cols *fc)
{
	if (fc) {
		free(fc->key_col);
		free(fc->why);
		free(fc);
	}
}

static void teardown(void *state)
{
	struct groupby *gb = state;
	if (!gb)
		return;
	for (size_t i = 0; i < gb->nfiles; i++)
		free_cols(gb->files[i]);
	free(gb->files);
	free(gb->keys);
	free(gb->key_spec);
	free(gb->text.p);
	free(gb->spans.p);
	free(gb->key.p);
	free(gb->num.p);
	free(gb);
}

/* ---- reasons ----------------------------------------------------------- */

/* Reasons are built in gb->why from pieces: reason(gb, "literal", NULL, 0), or
 * reason(gb, NULL, text, len) for user text, which is quoted, cut to 40 bytes
 * with "..." and has control bytes as '?', so that a reason stays one short
 * line.  Returns gb->why. */
static const char *reason(struct groupby *gb, const char *lit, const char *text, size_t len)
{
	char *w = gb->why;
	size_t cap = sizeof(gb->why), at = strlen(w);
	if (lit) {
		snprintf(w + at, cap - at, "%s", lit);
		return w;
	}
	size_t n = len > 40 ? 40 : len;
	if (at + 1 < cap)
		w[at++] = '\'';
	for (size_t i = 0; i < n && at + 1 < cap; i++) {
		unsigned char c = (unsigned char)text[i];
		w[at++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	snprintf(w + at, cap - at, "%s'", n < len ? "..." : "");
	return w;
}

static const char *reason_start(struct groupby *gb, const char *lit)
{
	gb->why[0] = '\0';
	return reason(gb, lit, NULL, 0);
}

/* ---- CSV --------------------------------------------------------------- */

/*
 * Splits line[0..len) into fields as RFC 4180 does: comma separators, a field
 * that starts with '"' runs to the closing '"', and "" inside is one quote.
 * The unquoted bytes go to gb->text, the fields to gb->spans.  Sets *why for
 * a line that is not CSV (as Python's csv with strict=True refuses it).
 */
static int split_csv(struct groupby *gb, const char *line, size_t len, size_t *nfields,
		     const char **why)
{
	if (len >= SIZE_MAX / sizeof(struct span) || !reserve(&gb->text, len + 1) ||
	    !reserve(&gb->spans, (len + 1) * sizeof(struct span)))
		return MR_ERR_NOMEM;
	char *t = gb->text.p;
	struct span *f = gb->spans.p;
	size_t n = 0, o = 0, i = 0;
	*why = NULL;
	for (;;) {
		size_t start = o;
		if (i < len && line[i] == '"') {
			for (i++;; i++) {
				if (i >= len) {
					*why = "a quoted field has no closing quote";
					return MR_OK;
				}
				if (line[i] == '"' && (i + 1 >= len || line[i + 1] != '"'))
					break;
				t[o++] = line[i];
				i += line[i] == '"'; /* "" is one quote */
			}
			if (++i < len && line[i] != ',') {
				*why = "text after a closing quote";
				return MR_OK;
			}
		} else {
			const char *comma = memchr(line + i, ',', len - i);
			size_t n_ = comma ? (size_t)(comma - line) - i : len - i;
			memcpy(t + o, line + i, n_);
			o += n_;
			i += n_;
		}
		f[n++] = (struct span){start, o - start};
		if (i >= len)
			break;
		i++; /* the comma */
	}
	*nfields = n;
	return MR_OK;
}

/* The last header field named name (as csv.DictReader keeps the last), or
 * nfields when there is none. */
static size_t find_column(const struct groupby *gb, size_t nfields, const char *name)
{
	const char *t = gb->text.p;
	const struct span *f = gb->spans.p;
	size_t len = strlen(name), found = nfields;
	for (size_t i = 0; i < nfields; i++)
		if (f[i].len == len && !memcmp(t + f[i].at, name, len))
			found = i;
	return found;
}

/* A reason that fails every row of a file, copied into fc->why. */
static int set_why(struct file_cols *fc, const char *why)
{
	fc->why = strdup(why);
	return fc->why ? MR_OK : MR_ERR_NOMEM;
}

/* Resolves the --key and --value columns from the file's header line. */
static int resolve_header(struct groupby *gb, struct file_cols *fc, const char *line, size_t len)
{
	if (len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) { /* a UTF-8 byte order mark */
		line += 3;
		len -= 3;
	}
	len -= len > 0 && line[len - 1] == '\r';
	const char *bad = len == 0 ? "the header line is blank" : NULL;
	int rc = bad ? MR_OK : split_csv(gb, line, len, &fc->nfields, &bad);
	if (rc != MR_OK || bad) {
		reason_start(gb, "bad header (line 1): ");
		return rc != MR_OK ? rc : set_why(fc, reason(gb, bad, NULL, 0));
	}
	for (size_t k = 0; k <= gb->nkeys; k++) {
		const char *name = k < gb->nkeys ? gb->keys[k] : gb->value;
		if (!name)
			break;
		size_t col = find_column(gb, fc->nfields, name);
		if (col == fc->nfields) {
			reason_start(gb, "no column ");
			reason(gb, NULL, name, strlen(name));
			return set_why(fc, reason(gb, " in the header (line 1)", NULL, 0));
		}
		*(k < gb->nkeys ? &fc->key_col[k] : &fc->value_col) = col;
	}
	return MR_OK;
}

/* Reads the first line of path (however long) into gb->num, NUL-free length
 * in *len.  An I/O failure is printed and is MR_ERR_IO. */
static int read_first_line(struct groupby *gb, const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	size_t have = 0;
	while (fd >= 0) {
		if (!reserve(&gb->num, have + 65536)) {
			close(fd);
			return MR_ERR_NOMEM;
		}
		ssize_t got = pread(fd, (char *)gb->num.p + have, 65536, (off_t)have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		char *nl = memchr((char *)gb->num.p + have, '\n', (size_t)got);
		have += (size_t)got;
		if (nl || got == 0) {
			*len = nl ? (size_t)(nl - (char *)gb->num.p) : have;
			close(fd);
			return MR_OK;
		}
	}
	fprintf(stderr, "mpimr: groupby: cannot read the header of '%s': %s\n", path,
		strerror(errno));
	if (fd >= 0)
		close(fd);
	return MR_ERR_IO;
}

static bool has_suffix(const char *path, const char *suffix)
{
	size_t n = strlen(path), m = strlen(suffix);
	return n >= m && !strcasecmp(path + n - m, suffix);
}

/* Makes the file's entry: its format, and for CSV its columns, from rec
 * when rec is the header (offset 0), else from reading the file. */
static int new_file(struct groupby *gb, struct file_cols *fc, mr_origin at, const char *rec,
		    size_t len)
{
	fc->format = gb->format;
	if (fc->format == FMT_AUTO)
		fc->format = has_suffix(at.path, ".jsonl") || has_suffix(at.path, ".ndjson")
				     ? FMT_JSONL
				     : FMT_CSV;
	fc->key_col = calloc(gb->nkeys, sizeof(size_t));
	if (!fc->key_col)
		return MR_ERR_NOMEM;
	if (fc->format != FMT_CSV)
		return MR_OK;
	if (at.offset != 0) {
		int rc = read_first_line(gb, at.path, &len);
		if (rc != MR_OK)
			return rc;
		/* split_csv reuses gb->text, not gb->num: the line stays put. */
		rec = gb->num.p;
	}
	return resolve_header(gb, fc, rec, len);
}

/* The entry for the record's file, made on the first record seen from it. */
static int cols_of(struct groupby *gb, mr_origin at, const char *rec, size_t len,
		   struct file_cols **out)
{
	if (at.file >= SIZE_MAX / 4 / sizeof(struct file_cols *))
		return MR_ERR_LIMIT;
	if (at.file >= gb->nfiles) {
		size_t bytes = gb->nfiles * sizeof(*gb->files);
		void *p = gb->files;
		if (mr_reserve(&p, &bytes, (at.file + 1) * sizeof(*gb->files)) != MR_OK)
			return MR_ERR_NOMEM;
		gb->files = p;
		size_t n = bytes / sizeof(*gb->files);
		memset(gb->files + gb->nfiles, 0, (n - gb->nfiles) * sizeof(*gb->files));
		gb->nfiles = n;
	}
	if (!gb->files[at.file]) {
		struct file_cols *fc = calloc(1, sizeof(*fc));
		int rc = fc ? new_file(gb, fc, at, rec, len) : MR_ERR_NOMEM;
		if (rc != MR_OK) {
			free_cols(fc);
			return rc;
		}
		gb->files[at.file] = fc;
	}
	*out = gb->files[at.file];
	return MR_OK;
}

/* ---- values and keys --------------------------------------------------- */

/* Whether s[0..len) is a decimal number: [+-] digits [. digits] [e [+-] digits],
 * with a digit before or after the point. */
static bool decimal(const char *s, size_t len)
{
	size_t i = 0, digits = 0;
	i += i < len && (s[i] == '+' || s[i] == '-');
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		i += i < len && (s[i] == '+' || s[i] == '-');
		if (i >= len || s[i] < '0' || s[i] > '9')
			return false;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == len;
}

/* Reads a CSV value: a decimal number, spaces and tabs around it allowed,
 * finite; hex, inf and nan are not numbers.  False when it is not one. */
static int parse_value(struct groupby *gb, const char *s, size_t len, double *x, bool *ok)
{
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	*ok = false;
	if (!decimal(s, len))
		return MR_OK;
	if (!reserve(&gb->num, len + 1))
		return MR_ERR_NOMEM;
	char *buf = gb->num.p;
	memcpy(buf, s, len); /* strtod needs a NUL */
	buf[len] = '\0';
	*x = strtod(buf, NULL);
	*ok = isfinite(*x); /* an underflow to 0 or a subnormal is a value */
	return MR_OK;
}

/* Appends part[0..len) to the key being built in gb->key, of *klen bytes, after
 * a TAB unless it is the first part. */
static int add_key(struct groupby *gb, size_t *klen, bool first, const char *part, size_t len)
{
	size_t need = *klen + 1 + len;
	if (need < len || !reserve(&gb->key, need))
		return MR_ERR_NOMEM;
	char *k = gb->key.p;
	if (!first)
		k[(*klen)++] = '\t';
	if (len)
		memcpy(k + *klen, part, len);
	*klen += len;
	return MR_OK;
}

/* x as 8 bytes whose byte order is the numbers' order (-0 as 0). */
static void sortable(double x, unsigned char b[8])
{
	if (x == 0)
		x = 0;
	uint64_t u;
	memcpy(&u, &x, 8);
	u = u >> 63 ? ~u : u | UINT64_C(1) << 63;
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(u >> (56 - 8 * i));
}

static double unsortable(const unsigned char b[8])
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | b[i];
	u = u >> 63 ? u & ~(UINT64_C(1) << 63) : ~u;
	double x;
	memcpy(&x, &u, 8);
	return x;
}

/* Emits the key with a value of one row: combined, count 1 and x for the
 * others; reduced, x's sortable bytes. */
static int emit_row(mr_emitter *out, struct groupby *gb, size_t klen, double x)
{
	if (gb->reduces) {
		unsigned char b[8];
		sortable(x, b);
		return mr_emit_bytes(out, gb->key.p, klen, b, 8);
	}
	mr_value v[NFIELDS] = {{.f = 1}, {.f = x}, {.f = x}, {.f = x}};
	return mr_emit_fields(out, gb->key.p, klen, v);
}

/* Builds the key from the row's CSV fields (unquoted in gb->text). */
static int csv_key(struct groupby *gb, const struct file_cols *fc, size_t *klen)
{
	const char *t = gb->text.p;
	const struct span *f = gb->spans.p;
	*klen = 0;
	for (size_t k = 0; k < gb->nkeys; k++) {
		const struct span *s = &f[fc->key_col[k]];
		int rc = add_key(gb, klen, k == 0, t + s->at, s->len);
		if (rc != MR_OK)
			return rc;
	}
	return MR_OK;
}

/* A file whose header has no --key or --value column, or is malformed: no
 * row of it is at fault, the command line or the file is, so the run fails,
 * naming the file and the column (a rejected row would be skipped). */
static int file_failed(mr_emitter *out, mr_origin at, const char *why)
{
	mr_log_once(out, "cannot read '%s': %s", at.path, why);
	return MR_ERR_INPUT;
}

static int map_csv(struct groupby *gb, const struct file_cols *fc, mr_origin at, const char *rec,
		   size_t len, mr_emitter *out)
{
	if (fc->why)
		return file_failed(out, at, fc->why);
	if (at.offset == 0) /* the header */
		return MR_OK;
	len -= len > 0 && rec[len - 1] == '\r';
	if (len == 0)
		return MR_OK; /* a blank line */
	size_t n = 0, klen;
	const char *why;
	int rc = split_csv(gb, rec, len, &n, &why);
	if (rc != MR_OK)
		return rc;
	if (why)
		return mr_reject(out, why);
	if (n != fc->nfields) {
		snprintf(gb->why, sizeof(gb->why), "expected %zu fields, found %zu", fc->nfields,
			 n);
		return mr_reject(out, gb->why);
	}
	double x = 0;
	if (gb->value) {
		const struct span *s = (const struct span *)gb->spans.p + fc->value_col;
		const char *v = (const char *)gb->text.p + s->at;
		bool ok;
		if ((rc = parse_value(gb, v, s->len, &x, &ok)) != MR_OK)
			return rc;
		if (!ok) {
			reason_start(gb, "column ");
			reason(gb, NULL, gb->value, strlen(gb->value));
			reason(gb, " is not a number: ", NULL, 0);
			return mr_reject(out, reason(gb, NULL, v, s->len));
		}
	}
	if ((rc = csv_key(gb, fc, &klen)) != MR_OK)
		return rc;
	return emit_row(out, gb, klen, x);
}

/* ---- JSON Lines -------------------------------------------------------- */

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	default: return "null";
	}
}

/* Starts a reason about member name: "PRE'name'". */
static void member_reason(struct groupby *gb, const char *pre, const char *name)
{
	reason_start(gb, pre);
	reason(gb, NULL, name, strlen(name));
}

/* Appends the key member m's text to the key: a string's bytes, an integer
 * in decimal, true or false; *ok false for any other type. */
static int json_key_part(struct groupby *gb, const json_t *m, bool first, size_t *klen, bool *ok)
{
	char num[32];
	*ok = true;
	switch (json_typeof(m)) {
	case JSON_STRING:
		return add_key(gb, klen, first, json_string_value(m), json_string_length(m));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(m));
		return add_key(gb, klen, first, num, strlen(num));
	case JSON_TRUE: return add_key(gb, klen, first, "true", 4);
	case JSON_FALSE: return add_key(gb, klen, first, "false", 5);
	default: *ok = false; return MR_OK;
	}
}

/* Emits the pair of one JSON object, or rejects it. */
static int jsonl_row(struct groupby *gb, const json_t *o, mr_emitter *out)
{
	size_t klen = 0;
	for (size_t k = 0; k < gb->nkeys; k++) {
		const json_t *m = json_object_get(o, gb->keys[k]);
		bool ok;
		if (!m) {
			member_reason(gb, "no member ", gb->keys[k]);
			return mr_reject(out, gb->why);
		}
		int rc = json_key_part(gb, m, k == 0, &klen, &ok);
		if (rc != MR_OK)
			return rc;
		if (!ok) {
			member_reason(gb, "key member ", gb->keys[k]);
			reason(gb, " is ", NULL, 0);
			reason(gb, type_name(m), NULL, 0);
			return mr_reject(out,
					 reason(gb, ", not a string, integer or boolean", NULL, 0));
		}
	}
	double x = 0;
	if (gb->value) {
		const json_t *m = json_object_get(o, gb->value);
		member_reason(gb, m ? "member " : "no member ", gb->value);
		if (!m)
			return mr_reject(out, gb->why);
		if (!json_is_number(m)) {
			reason(gb, " is ", NULL, 0);
			reason(gb, type_name(m), NULL, 0);
			return mr_reject(out, reason(gb, ", not a number", NULL, 0));
		}
		x = json_number_value(m); /* an integer is converted, to nearest */
	}
	return emit_row(out, gb, klen, x);
}

static int map_jsonl(struct groupby *gb, mr_origin at, const char *rec, size_t len, mr_emitter *out)
{
	if (at.offset == 0 && len >= 3 && !memcmp(rec, "\xef\xbb\xbf", 3)) {
		rec += 3; /* a UTF-8 byte order mark */
		len -= 3;
	}
	size_t i = 0;
	while (i < len && (rec[i] == ' ' || rec[i] == '\t' || rec[i] == '\r'))
		i++;
	if (i == len)
		return MR_OK; /* a blank line */
	json_error_t err;
	json_t *o = json_loadb(rec, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!o) {
		reason_start(gb, "invalid JSON: ");
		return mr_reject(out, reason(gb, err.text, NULL, 0));
	}
	int rc = json_is_object(o) ? jsonl_row(gb, o, out) : mr_reject(out, "not a JSON object");
	json_decref(o);
	return rc;
}

/* ---- the job ----------------------------------------------------------- */

static int map(const char *rec, size_t len, mr_emitter *out)
{
	struct groupby *gb = mr_state(out);
	mr_origin at = mr_record_origin(out);
	struct file_cols *fc;
	int rc = cols_of(gb, at, rec, len, &fc);
	if (rc != MR_OK)
		return rc;
	if (fc->format == FMT_JSONL)
		return map_jsonl(gb, at, rec, len, out);
	return map_csv(gb, fc, at, rec, len, out);
}

static int combine(mr_value *acc, const mr_value *in)
{
	acc[F_COUNT].f += in[F_COUNT].f;
	acc[F_SUM].f += in[F_SUM].f;
	if (in[F_MIN].f < acc[F_MIN].f)
		acc[F_MIN].f = in[F_MIN].f;
	if (in[F_MAX].f > acc[F_MAX].f)
		acc[F_MAX].f = in[F_MAX].f;
	return MR_OK;
}

static int finish(void *state, mr_value *v)
{
	(void)state;
	v[F_MEAN].f = v[F_SUM].f / v[F_COUNT].f; /* a key has one row at least */
	return MR_OK;
}

/* Every op from a key's values, which come in ascending order. */
static int reduce(void *state, const char *key, size_t len, mr_iter *values, mr_emitter *out)
{
	(void)state;
	uint64_t n = mr_iter_count(values), i = 0;
	mr_value v[NFIELDS] = {{.f = (double)n}};
	const void *b;
	size_t blen;
	double last = 0;
	while (mr_iter_next(values, &b, &blen)) {
		double x = unsortable(b);
		if (i == 0)
			v[F_MIN].f = x;
		if (i == 0 || x != last)
			v[F_DISTINCT].f += 1;
		if (i == (n - 1) / 2)
			v[F_MEDIAN].f = x;
		if (i == n / 2 && n % 2 == 0) /* the mean of the middle two */
			v[F_MEDIAN].f = (v[F_MEDIAN].f + x) / 2;
		v[F_SUM].f += x;
		last = x;
		i++;
	}
	v[F_MAX].f = last;
	v[F_MEAN].f = v[F_SUM].f / (double)n;
	return mr_emit_fields(out, key, len, v);
}

static int uses_reduce(void *state)
{
	return ((const struct groupby *)state)->reduces;
}

/* Only the asked-for ops are written. */
static const char *field_name(void *state, int field)
{
	const struct groupby *gb = state;
	if (field < 0 || field >= NFIELDS)
		return NULL;
	return !gb || gb->want[field] ? op_names[field] : NULL;
}

const mr_job mr_job_groupby = {
	.name = "groupby",
	.summary = "per key of CSV (with a header) or JSON Lines rows: count, sum, mean, min, "
		   "max, median and distinct values of a column",
	.record = MR_RECORD_LINE,
	.value_type = MR_F64,
	.width = NFIELDS,
	.options = options,
	.setup = setup,
	.teardown = teardown,
	.map = map,
	.combine = combine,
	.field_name = field_name,
	.finish = finish,
	.reduce = reduce,
	.uses_reduce = uses_reduce,
};
