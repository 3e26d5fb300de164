/*
 * `mpimr show`: prints a result file's table as text, one line per key (or
 * per record), in file order, as tsv (the default), csv or jsonl.
 *
 * What a file holds (README, "The output file"): format 1, or format 2,
 * whose /<job> says its layout ("table": keys with values; "records": one
 * byte string per row, no keys) and a table's value_kind ("uint64",
 * "float64", "int64", "uint64-set", "fields" or "bytes").  A format-1 file has
 * neither attribute: its values are told apart by their shape (a group of
 * fields, a set's value_offsets, else one number per key).
 *
 * tsv, a line per row:
 *   key<TAB>value                      one number per key
 *   key<TAB>m1,m2,m3                   a set: its members, ascending
 *   key<TAB>name=value<TAB>name=value  fields: one per dataset, in the order
 *                                      the file lists them (creation order
 *                                      where the file keeps it, else by name)
 *   key<TAB>bytes                      a byte string per key
 *   record                             a record, as it is
 * Keys, byte-string values and field names print with tab, newline, CR and
 * backslash escaped as \t \n \r \\; records print unescaped.
 *
 * csv: RFC 4180, CRLF line ends, a header row (key,value; key then the field
 * names; record); a field holding a comma, a quote, CR or LF is quoted with
 * "" for a quote, and every other byte is written as it is.
 *
 * jsonl: one object per row, {"key": K, "value": V}, fields by name, a set
 * as an array, {"record": R}.  A string that is valid UTF-8 is a JSON
 * string; one that is not goes as "key_b64" (or "value_b64", "record_b64"):
 * its bytes in base64.  Floats that are not finite are the strings "inf",
 * "-inf" and "nan".
 *
 * Numbers: uint64 in decimal, float64 as %.17g, which reads back exactly
 * (in csv and jsonl an integral float gets ".0": "2.0", "-0.0").
 * Reads serially (no MPI) with the HDF5 library's default driver.
 *
 * Refused, with one line naming the file and exit status 1: a file open(2)
 * will not open (the system's reason), one a writer holds locked, one that
 * is not HDF5 or not a result, one of a format newer than 2 or a layout or
 * value kind this reader does not know, one without the root attribute
 * complete=1 (unless --incomplete), and a damaged table: offsets out of
 * order or out of range, values of the wrong type, a field shorter than the
 * keys, or a dataset that claims more bytes than the file holds (checked
 * before anything is allocated for it).  A failed write to standard output
 * is an error too.
 */
#include "core/show.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The newest format this reader knows. */
#define SHOW_FORMAT_MAX 2

static int read_attr_str(hid_t loc, const char *name, char *out, size_t size)
{
	hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
	if (a < 0)
		return -1;
	hid_t t = H5Tcopy(H5T_C_S1);
	H5Tset_size(t, H5T_VARIABLE);
	H5Tset_cset(t, H5T_CSET_UTF8);
	char *s = NULL;
	herr_t rc = H5Aread(a, t, &s);
	if (rc >= 0 && s) {
		snprintf(out, size, "%s", s);
		H5free_memory(s);
	}
	H5Tclose(t);
	H5Aclose(a);
	return rc < 0 ? -1 : 0;
}

/* A scalar integer attribute; -1 when it is missing or not one. */
static int read_attr_u64(hid_t loc, const char *name, uint64_t *v)
{
	if (H5Aexists(loc, name) <= 0)
		return -1;
	hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
	hid_t type = H5Aget_type(a), space = H5Aget_space(a);
	bool ok = H5Tget_class(type) == H5T_INTEGER && H5Sget_simple_extent_npoints(space) == 1 &&
		  H5Aread(a, H5T_NATIVE_UINT64, v) >= 0;
	H5Sclose(space);
	H5Tclose(type);
	H5Aclose(a);
	return ok ? 0 : -1;
}

/* Reads elements [0, n) of a 1-D dataset into buf as type. */
static int read_head(hid_t g, const char *name, hid_t type, uint64_t n, void *buf)
{
	hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
	if (d < 0)
		return -1;
	int rc = 0;
	if (n > 0) {
		hid_t fs = H5Dget_space(d);
		hsize_t start = 0, count = n;
		hid_t ms = H5Screate_simple(1, &count, NULL);
		rc = H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
		     H5Dread(d, type, ms, fs, H5P_DEFAULT, buf) < 0;
		H5Sclose(ms);
		H5Sclose(fs);
	}
	H5Dclose(d);
	return rc ? -1 : 0;
}

static uint64_t dataset_length(hid_t g, const char *name)
{
	hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
	if (d < 0)
		return 0;
	hid_t s = H5Dget_space(d);
	hsize_t n = 0;
	if (H5Sget_simple_extent_ndims(s) == 1)
		H5Sget_simple_extent_dims(s, &n, NULL);
	H5Sclose(s);
	H5Dclose(d);
	return n;
}

/* The class of dataset name's elements, and their size in *size; -1 (and
 * no class) when it is not a dataset. */
static H5T_class_t dataset_class(hid_t g, const char *name, size_t *size)
{
	hid_t o = H5Oopen(g, name, H5P_DEFAULT);
	if (o < 0)
		return H5T_NO_CLASS;
	H5T_class_t c = H5T_NO_CLASS;
	if (H5Iget_type(o) == H5I_DATASET) {
		hid_t t = H5Dget_type(o);
		c = H5Tget_class(t);
		*size = H5Tget_size(t);
		H5Tclose(t);
	}
	H5Oclose(o);
	return c;
}

/* The offsets a file claims: non-decreasing, and within its bytes. */
static bool offsets_valid(const uint64_t *off, uint64_t n, uint64_t bytes)
{
	for (uint64_t i = 0; i < n; i++)
		if (off[i] > off[i + 1])
			return false;
	return off[n] <= bytes;
}

/* What a row's value is: the kinds of DESIGN.md's output file. */
enum kind { KIND_NUMBER, KIND_SET, KIND_BYTES, KIND_FIELDS, KIND_RECORDS };

/* One column of values: the value, or one field of several. */
struct column {
	char *name; /* the field's dataset, or NULL for a value of one field */
	bool f64;
	bool i64;      /* a signed integer (MR_NUMBER's int64) */
	mr_value *val; /* one per row printed */
};

/* The rows of a result that show prints, read from the group. */
struct table {
	enum kind kind;
	uint64_t n;    /* rows */
	uint64_t *off; /* n + 1 offsets into keys: the keys, or the records */
	char *keys;
	uint64_t *voff; /* a set's or a byte string's n + 1 offsets, else NULL */
	uint64_t *members;
	char *vbytes;
	struct column *cols; /* the value or the fields */
	size_t ncols;
};

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].val);
	}
	free(t->cols);
	free(t->off);
	free(t->keys);
	free(t->voff);
	free(t->members);
	free(t->vbytes);
}

/* Reads rows [0, n) of dataset name in loc (g, or a field group) into col:
 * numbers, of the class want (or either, given H5T_NO_CLASS). */
/* Whether an integer dataset is signed. */
static bool dataset_signed(hid_t loc, const char *name)
{
	hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
	if (d < 0)
		return false;
	hid_t t = H5Dget_type(d);
	bool s = H5Tget_sign(t) == H5T_SGN_2;
	H5Tclose(t);
	H5Dclose(d);
	return s;
}

static int read_column(hid_t loc, const char *name, uint64_t n, H5T_class_t want,
		       struct column *col)
{
	size_t size = 0;
	H5T_class_t c = dataset_class(loc, name, &size);
	if ((c != H5T_INTEGER && c != H5T_FLOAT) || (want != H5T_NO_CLASS && c != want))
		return -1;
	col->f64 = c == H5T_FLOAT;
	col->i64 = c == H5T_INTEGER && dataset_signed(loc, name);
	if (dataset_length(loc, name) < n)
		return -1;
	col->val = mr_malloc(mr_mul((size_t)n + 1, sizeof(mr_value)));
	hid_t type = col->f64 ? H5T_NATIVE_DOUBLE : col->i64 ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
	return read_head(loc, name, type, n, col->val);
}

/* The name of link i of group fg in the given index, malloc'd, or NULL. */
static char *link_name(hid_t fg, H5_index_t index, hsize_t i)
{
	ssize_t len = H5Lget_name_by_idx(fg, ".", index, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
	if (len < 0)
		return NULL;
	size_t size = (size_t)len + 1;
	char *name = mr_malloc(size);
	if (H5Lget_name_by_idx(fg, ".", index, H5_ITER_INC, i, name, size, H5P_DEFAULT) < 0) {
		free(name);
		return NULL;
	}
	return name;
}

/* The fields of group /<job>/values, one column each, in creation order if
 * the file tracks it and else by name. */
static int read_fields(hid_t g, struct table *t)
{
	hid_t fg = H5Gopen2(g, "values", H5P_DEFAULT);
	H5G_info_t info;
	if (fg < 0 || H5Gget_info(fg, &info) < 0) {
		if (fg >= 0)
			H5Gclose(fg);
		return -1;
	}
	H5_index_t index = H5_INDEX_CRT_ORDER;
	if (info.nlinks > 0 &&
	    H5Lget_name_by_idx(fg, ".", index, H5_ITER_INC, 0, NULL, 0, H5P_DEFAULT) < 0)
		index = H5_INDEX_NAME;
	t->cols = mr_malloc(mr_mul((size_t)info.nlinks + 1, sizeof(*t->cols)));
	int rc = 0;
	for (hsize_t i = 0; i < info.nlinks && rc == 0; i++) {
		struct column *c = &t->cols[t->ncols++];
		*c = (struct column){.name = link_name(fg, index, i)};
		if (!c->name || read_column(fg, c->name, t->n, H5T_NO_CLASS, c) < 0)
			rc = -1;
	}
	H5Gclose(fg);
	return rc;
}

/* The n + 1 offsets of dataset offsets into dataset bytes (elements of
 * size bytes each, read as type into *data), for the first n rows. */
static int read_strings(hid_t g, const char *offsets, const char *bytes, hid_t type, uint64_t n,
			uint64_t **off, void **data)
{
	size_t size = 0, esize = H5Tget_size(type);
	if (dataset_class(g, bytes, &size) != H5T_INTEGER || size != esize)
		return -1;
	*off = mr_malloc(mr_mul((size_t)n + 1, sizeof(uint64_t)));
	if (dataset_length(g, offsets) < n + 1 ||
	    read_head(g, offsets, H5T_NATIVE_UINT64, n + 1, *off) < 0 ||
	    !offsets_valid(*off, n, dataset_length(g, bytes)))
		return -1;
	*data = mr_malloc(mr_mul((size_t)(*off)[n] + 1, esize));
	return read_head(g, bytes, type, (*off)[n], *data);
}

/* Whether /<job>/values is a group, as a job with several fields writes it. */
static bool values_is_group(hid_t g)
{
	hid_t o = H5Oopen(g, "values", H5P_DEFAULT);
	if (o < 0)
		return false;
	bool group = H5Iget_type(o) == H5I_GROUP;
	H5Oclose(o);
	return group;
}

/* The kind of a table's values: from its value_kind attribute (format 2),
 * else from their shape (format 1; a byte string's values are one byte
 * each).  *want: the class of one number per key the file declares, or
 * H5T_NO_CLASS.  -1 after the message for a kind this reader does not know. */
static int value_kind(const char *path, hid_t g, const char *job, enum kind *kind,
		      H5T_class_t *want)
{
	static const char *const names[] = {"uint64", "float64", "uint64-set",
					    "bytes",  "fields",	 "int64"};
	static const enum kind kinds[] = {KIND_NUMBER, KIND_NUMBER, KIND_SET,
					  KIND_BYTES,  KIND_FIELDS, KIND_NUMBER};
	char s[64];
	size_t size = 0;
	*want = H5T_NO_CLASS;
	if (read_attr_str(g, "value_kind", s, sizeof(s)) < 0) {
		*kind = KIND_NUMBER;
		if (values_is_group(g))
			*kind = KIND_FIELDS;
		else if (H5Lexists(g, "value_offsets", H5P_DEFAULT) > 0)
			*kind = dataset_class(g, "values", &size) == H5T_INTEGER && size == 1
					? KIND_BYTES
					: KIND_SET;
		return 0;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*kind = kinds[i];
			*want = i == 0 ? H5T_INTEGER : i == 1 ? H5T_FLOAT : H5T_NO_CLASS;
			return 0;
		}
	fprintf(stderr,
		"mpimr: cannot read '%s': group '%s' has values of kind '%s', which this mpimr "
		"does not know (a newer mpimr wrote it?)\n",
		path, job, s);
	return -1;
}

/* Reads the values of the first t->n rows of table g, of kind t->kind (one
 * number per key: of class want, or either). */
static int read_values(hid_t g, H5T_class_t want, struct table *t)
{
	switch (t->kind) {
	case KIND_FIELDS: return values_is_group(g) ? read_fields(g, t) : -1;
	case KIND_SET:
		return read_strings(g, "value_offsets", "values", H5T_NATIVE_UINT64, t->n, &t->voff,
				    (void **)&t->members);
	case KIND_BYTES:
		return read_strings(g, "value_offsets", "values", H5T_NATIVE_UINT8, t->n, &t->voff,
				    (void **)&t->vbytes);
	default: break;
	}
	/* A declared number per key whose values have another shape. */
	if (want != H5T_NO_CLASS && H5Lexists(g, "value_offsets", H5P_DEFAULT) > 0)
		return -1;
	t->cols = mr_malloc(sizeof(*t->cols));
	t->cols[0] = (struct column){.name = NULL};
	t->ncols = 1;
	return read_column(g, "values", t->n, want, &t->cols[0]);
}

/* ---- printing ---------------------------------------------------------- */

/* Where rows go: stdout, or the file mr_show_into was given. */
static FILE *out;
static inline void putc_out(int ch)
{
	putc(ch, out);
}

static void put_raw(const char *s, size_t n)
{
	fwrite(s, 1, n, out);
}

static void put_tsv(const char *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (k[i]) {
		case '\t': fputs("\\t", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\\': fputs("\\\\", out); break;
		default: putc_out(k[i]);
		}
	}
}

/* A CSV field: quoted when it holds a comma, a quote, CR or LF, or when it
 * is empty and alone on its row (an empty line would be no row at all). */
static void put_csv(const char *s, size_t n, bool alone)
{
	bool quote = n == 0 && alone;
	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		put_raw(s, n);
		return;
	}
	putc_out('"');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			putc_out('"');
		putc_out(s[i]);
	}
	putc_out('"');
}

/* The length of the UTF-8 sequence at s[0..n), or 0 where it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are not): the
 * rule of Python's strict decoder. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len = c < 0x80		      ? 1
		     : c >= 0xC2 && c <= 0xDF ? 2
		     : c >= 0xE0 && c <= 0xEF ? 3
		     : c >= 0xF0 && c <= 0xF4 ? 4
					      : 0;
	if (len <= 1 || len > n)
		return len <= n ? len : 0;
	uint32_t cp = c & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	bool ok = cp >= least[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
	return ok ? len : 0;
}

static bool utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0, len; i < n; i += len)
		if (!(len = utf8_seq((const unsigned char *)s + i, n - i)))
			return false;
	return true;
}

/* A JSON string of UTF-8 text s[0..n): quote, backslash and control bytes
 * escaped; a byte that is not UTF-8 (field names only) as U+FFFD. */
static void put_json_text(const char *s, size_t n)
{
	putc_out('"');
	for (size_t i = 0, len; i < n; i += len) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = c == '"'    ? "\\\""
				  : c == '\\' ? "\\\\"
				  : c == '\n' ? "\\n"
				  : c == '\t' ? "\\t"
				  : c == '\r' ? "\\r"
					      : NULL;
		len = utf8_seq((const unsigned char *)s + i, n - i);
		if (!len)
			fputs("\\ufffd", out);
		else if (esc)
			fputs(esc, out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			put_raw(s + i, len);
		len = len ? len : 1;
	}
	putc_out('"');
}

static void put_base64(const unsigned char *s, size_t n)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	putc_out('"');
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		putc_out(digits[w >> 18]);
		putc_out(digits[w >> 12 & 63]);
		putc_out(i + 1 < n ? digits[w >> 6 & 63] : '=');
		putc_out(i + 2 < n ? digits[w & 63] : '=');
	}
	putc_out('"');
}

/* "name": "text", or, for bytes that are not UTF-8, "name_b64": "base64". */
static void put_json_member(const char *name, const char *s, size_t n)
{
	bool text = utf8_valid(s, n);
	fprintf(out, "\"%s%s\": ", name, text ? "" : "_b64");
	if (text)
		put_json_text(s, n);
	else
		put_base64((const unsigned char *)s, n);
}

/* A value: uint64 in decimal, float64 as %.17g (which reads back exactly).
 * For csv and jsonl a float always looks like one ("2.0", "-0.0"), so that
 * readers keep its type (and the sign of a zero); jsonl writes non-finite
 * floats, which JSON lacks, as the strings "inf", "-inf" and "nan". */
static void put_number(const struct column *c, uint64_t i, mr_show_format format)
{
	double f = c->val[i].f;
	char s[40];
	if (c->i64) {
		fprintf(out, "%lld", (long long)c->val[i].i);
	} else if (!c->f64) {
		fprintf(out, "%llu", (unsigned long long)c->val[i].u);
	} else if (format == MR_SHOW_JSONL && !isfinite(f)) {
		fputs(isnan(f) ? "\"nan\"" : f > 0 ? "\"inf\"" : "\"-inf\"", out);
	} else {
		snprintf(s, sizeof(s), "%.17g", f);
		bool integral = isfinite(f) && !strpbrk(s, ".e");
		fprintf(out, integral && format != MR_SHOW_TSV ? "%s.0" : "%s", s);
	}
}

static void put_members(const struct table *t, uint64_t i, const char *sep)
{
	for (uint64_t j = t->voff[i]; j < t->voff[i + 1]; j++)
		fprintf(out, "%s%llu", j > t->voff[i] ? sep : "",
			(unsigned long long)t->members[j]);
}

/* Row i's string of p (keys, or byte values) by offsets o: two arguments. */
#define ROW_STR(t, p, o, i) ((t)->p + (o)[i]), ((size_t)((o)[(i) + 1] - (o)[i]))

static void tsv_row(const struct table *t, uint64_t i)
{
	if (t->kind == KIND_RECORDS) {
		put_raw(ROW_STR(t, keys, t->off, i));
		putc_out('\n');
		return;
	}
	put_tsv(ROW_STR(t, keys, t->off, i));
	putc_out('\t');
	if (t->kind == KIND_SET)
		put_members(t, i, ",");
	else if (t->kind == KIND_BYTES)
		put_tsv(ROW_STR(t, vbytes, t->voff, i));
	for (size_t c = 0; c < t->ncols; c++) {
		if (t->cols[c].name) {
			if (c > 0)
				putc_out('\t');
			put_tsv(t->cols[c].name, strlen(t->cols[c].name));
			putc_out('=');
		}
		put_number(&t->cols[c], i, MR_SHOW_TSV);
	}
	putc_out('\n');
}

static void csv_header(const struct table *t)
{
	if (t->kind == KIND_RECORDS) {
		fputs("record\r\n", out);
		return;
	}
	fputs("key", out);
	for (size_t c = 0; c < t->ncols && t->cols[c].name; c++) {
		putc_out(',');
		put_csv(t->cols[c].name, strlen(t->cols[c].name), false);
	}
	fputs(t->kind == KIND_FIELDS ? "\r\n" : ",value\r\n", out);
}

static void csv_row(const struct table *t, uint64_t i)
{
	put_csv(ROW_STR(t, keys, t->off, i), t->kind == KIND_RECORDS);
	if (t->kind == KIND_SET) {
		bool quote = t->voff[i + 1] - t->voff[i] > 1;
		fputs(quote ? ",\"" : ",", out);
		put_members(t, i, ",");
		if (quote)
			putc_out('"');
	} else if (t->kind == KIND_BYTES) {
		putc_out(',');
		put_csv(ROW_STR(t, vbytes, t->voff, i), false);
	}
	for (size_t c = 0; c < t->ncols; c++) {
		putc_out(',');
		put_number(&t->cols[c], i, MR_SHOW_CSV);
	}
	fputs("\r\n", out);
}

static void jsonl_row(const struct table *t, uint64_t i)
{
	putc_out('{');
	put_json_member(t->kind == KIND_RECORDS ? "record" : "key", ROW_STR(t, keys, t->off, i));
	if (t->kind == KIND_SET) {
		fputs(", \"value\": [", out);
		put_members(t, i, ", ");
		putc_out(']');
	} else if (t->kind == KIND_BYTES) {
		fputs(", ", out);
		put_json_member("value", ROW_STR(t, vbytes, t->voff, i));
	}
	for (size_t c = 0; c < t->ncols; c++) {
		fputs(", ", out);
		if (t->cols[c].name)
			put_json_text(t->cols[c].name, strlen(t->cols[c].name));
		else
			fputs("\"value\"", out);
		fputs(": ", out);
		put_number(&t->cols[c], i, MR_SHOW_JSONL);
	}
	fputs("}\n", out);
}

/* Prints rows [0, t->n), after csv's header; returns 0, or the errno of
 * the first write to standard output that failed, where it stops. */
static int print_rows(const struct table *t, mr_show_format format)
{
	void (*row)(const struct table *, uint64_t) = format == MR_SHOW_CSV	? csv_row
						      : format == MR_SHOW_JSONL ? jsonl_row
										: tsv_row;
	errno = 0;
	if (format == MR_SHOW_CSV)
		csv_header(t);
	for (uint64_t i = 0; i < t->n; i++) {
		row(t, i);
		if (ferror(out))
			return errno ? errno : EIO;
	}
	return 0;
}

/* ---- the file ---------------------------------------------------------- */

/* The file show reads, as the command gave it. */
struct source {
	const char *path;
	uint64_t size;	 /* its bytes: no dataset holds more */
	bool incomplete; /* print it even without complete=1 (after a warning) */
	long long top;	 /* rows to print; all when negative */
	mr_show_format format;
};

/* Whether a compressed dataset's chunks are all written: its storage is
 * smaller than its data by design, but a chunk never written is data the
 * file does not hold. */
static bool chunks_written(hid_t d, hid_t dcpl, hid_t space)
{
	hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK], written = 0;
	int rank = H5Sget_simple_extent_ndims(space);
	if (rank < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED ||
	    H5Pget_chunk(dcpl, rank, chunk) != rank ||
	    H5Sget_simple_extent_dims(space, dims, NULL) < 0 ||
	    H5Dget_num_chunks(d, space, &written) < 0)
		return false;
	uint64_t need = 1;
	for (int i = 0; i < rank; i++)
		if (chunk[i] == 0 ||
		    __builtin_mul_overflow(need, (dims[i] + chunk[i] - 1) / chunk[i], &need))
			return false;
	return written >= need;
}

/* Whether the file holds all the bytes dataset d claims (its elements times
 * their size, *claimed): its storage covers them (or, compressed, every
 * chunk is written) and lies within the file's size. */
static bool storage_holds(hid_t d, uint64_t file_size, uint64_t *claimed)
{
	hid_t space = H5Dget_space(d), type = H5Dget_type(d), dcpl = H5Dget_create_plist(d);
	hssize_t n = H5Sget_simple_extent_npoints(space);
	size_t size = H5Tget_size(type);
	uint64_t held = H5Dget_storage_size(d);
	bool ok = n >= 0 && size > 0 && held <= file_size &&
		  !__builtin_mul_overflow((uint64_t)n, (uint64_t)size, claimed);
	if (!ok)
		*claimed = UINT64_MAX;
	else if (H5Pget_nfilters(dcpl) > 0)
		ok = chunks_written(d, dcpl, space);
	else
		ok = *claimed <= held;
	H5Pclose(dcpl);
	H5Tclose(type);
	H5Sclose(space);
	return ok;
}

/* The first dataset under a result's group that claims more than the file
 * holds: found before anything is allocated for it. */
struct unheld {
	uint64_t file_size;
	char *name; /* its path under the group, malloc'd; NULL while none */
	uint64_t claimed;
};

/* An H5Lvisit callback (its signature the same in HDF5 1.10 and later). */
static herr_t find_unheld(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
	struct unheld *u = data;
	hid_t o = info->type == H5L_TYPE_HARD ? H5Oopen(g, name, H5P_DEFAULT) : -1;
	if (o < 0)
		return 0; /* read_table finds what it needs missing */
	bool held = H5Iget_type(o) != H5I_DATASET || storage_holds(o, u->file_size, &u->claimed);
	H5Oclose(o);
	if (held)
		return 0;
	u->name = mr_strdup(name);
	return 1;
}

int mr_close_stdout(int err)
{
	if (fflush(stdout) != 0 && !err)
		err = errno;
	if (ferror(stdout) && !err)
		err = EIO;
	if (fclose(stdout) != 0 && !err)
		err = errno;
	if (!err || err == EPIPE)
		return MR_OK;
	fprintf(stderr, "mpimr: cannot write standard output: %s\n", strerror(err));
	return MR_ERR_IO;
}

/* Reads the first rows (src->top of them, or all) of group g: its layout,
 * the keys or records, then values of any kind.  -1 after a message about
 * a layout or kind unknown here; -2 for a damaged table. */
static int read_table(const struct source *src, hid_t g, const char *job, struct table *t)
{
	char layout[64] = "table";
	read_attr_str(g, "layout", layout, sizeof(layout));
	bool records = !strcmp(layout, "records");
	H5T_class_t want = H5T_NO_CLASS;
	if (!records && strcmp(layout, "table")) {
		fprintf(stderr,
			"mpimr: cannot read '%s': group '%s' has layout '%s', which this mpimr "
			"does not know (a newer mpimr wrote it?)\n",
			src->path, job, layout);
		return -1;
	}
	if (!records && value_kind(src->path, g, job, &t->kind, &want) < 0)
		return -1;
	t->kind = records ? KIND_RECORDS : t->kind;
	const char *offsets = records ? "record_offsets" : "key_offsets";
	t->n = dataset_length(g, offsets);
	t->n = t->n > 0 ? t->n - 1 : 0;
	if (src->top >= 0 && (uint64_t)src->top < t->n)
		t->n = (uint64_t)src->top;
	if (read_strings(g, offsets, records ? "record_bytes" : "key_bytes", H5T_NATIVE_UINT8, t->n,
			 &t->off, (void **)&t->keys) < 0 ||
	    (!records && read_values(g, want, t) < 0))
		return -2;
	return 0;
}

/* Prints the first rows of group g, named job, once the file is found to
 * hold every dataset in g and the rows read back whole. */
static int show_table(const struct source *src, hid_t g, const char *job)
{
	struct unheld u = {.file_size = src->size};
	if (H5Lvisit(g, H5_INDEX_NAME, H5_ITER_INC, find_unheld, &u) > 0) {
		fprintf(stderr,
			"mpimr: cannot read '%s': damaged table in group '%s': dataset '%s' claims "
			"%llu bytes that the file does not hold\n",
			src->path, job, u.name, (unsigned long long)u.claimed);
		free(u.name);
		return MR_ERR_INPUT;
	}
	struct table t = {0};
	int rc = read_table(src, g, job, &t);
	if (rc == -2)
		fprintf(stderr, "mpimr: cannot read '%s': damaged table in group '%s'\n", src->path,
			job);
	if (rc >= 0 && out == stdout)
		rc = mr_close_stdout(print_rows(&t, src->format));
	else if (rc >= 0)
		rc = print_rows(&t, src->format) ? MR_ERR_IO : MR_OK;
	else
		rc = MR_ERR_INPUT;
	table_free(&t);
	return rc;
}

/* Whether the file is a whole result show can read: a job's group, a
 * format it knows, and complete=1 (or --incomplete, after a warning). */
static bool check_file(const struct source *src, hid_t file, char *job, size_t size)
{
	uint64_t format = 0, complete = 0;
	if (read_attr_str(file, "job", job, size) < 0 || H5Lexists(file, job, H5P_DEFAULT) <= 0) {
		fprintf(stderr, "mpimr: cannot read '%s': not an mpimr result file\n", src->path);
		return false;
	}
	if (read_attr_u64(file, "format", &format) == 0 && format > SHOW_FORMAT_MAX) {
		fprintf(stderr,
			"mpimr: cannot read '%s': it is in format %llu, and this mpimr reads formats "
			"1 to %d (a newer mpimr wrote it)\n",
			src->path, (unsigned long long)format, SHOW_FORMAT_MAX);
		return false;
	}
	if (read_attr_u64(file, "complete", &complete) == 0 && complete == 1)
		return true;
	if (!src->incomplete) {
		fprintf(stderr,
			"mpimr: cannot read '%s': incomplete result (no complete=1: the run "
			"writing it did not finish)\n",
			src->path);
		return false;
	}
	fprintf(stderr,
		"mpimr: warning: '%s' is incomplete (no complete=1: the run writing it did "
		"not finish); printing what it holds\n",
		src->path);
	return true;
}

static int print_table(const struct source *src, hid_t file)
{
	char job[256] = "";
	if (!check_file(src, file, job, sizeof(job)))
		return MR_ERR_INPUT;
	hid_t g = H5Gopen2(file, job, H5P_DEFAULT);
	int rc = show_table(src, g, job);
	H5Gclose(g);
	return rc;
}

/* Opens path with open(2), so that a refusal gives the system's reason
 * (EACCES) rather than HDF5's; returns the descriptor, or -1 after the
 * message.  O_NONBLOCK: a FIFO is refused, not waited on. */
static int open_file(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	const char *why = fd < 0		  ? strerror(errno)
			  : fstat(fd, st) != 0	  ? strerror(errno)
			  : S_ISDIR(st->st_mode)  ? "Is a directory"
			  : !S_ISREG(st->st_mode) ? "not a regular file"
						  : NULL;
	if (!why)
		return fd;
	fprintf(stderr, "mpimr: cannot read '%s': %s\n", path, why);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Why H5Fopen refused a file that open(2) took.  HDF5 1.10 flocks the file
 * it opens, LOCK_EX to write and LOCK_SH to read, both with LOCK_NB, and
 * fails when it cannot: so a shared lock we cannot have now means a writer
 * holds it. */
static const char *open_failure(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
		return "locked by a program that has it open for writing";
	return "not an HDF5 file";
}

static int show(const char *path, long long top, bool incomplete, mr_show_format format)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	struct stat st;
	int fd = open_file(path, &st);
	if (fd < 0)
		return MR_ERR_INPUT;
	int rc = MR_ERR_INPUT;
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (file < 0) {
		fprintf(stderr, "mpimr: cannot read '%s': %s\n", path, open_failure(fd));
	} else {
		struct source src = {path, (uint64_t)st.st_size, incomplete, top, format};
		rc = print_table(&src, file);
		H5Fclose(file);
	}
	close(fd);
	return rc;
}

int mr_show(const char *path, long long top, bool incomplete, mr_show_format format)
{
	out = stdout;
	return show(path, top, incomplete, format);
}

int mr_show_into(FILE *f, const char *path)
{
	out = f;
	int rc = show(path, -1, false, MR_SHOW_TSV);
	if (rc == MR_OK && fflush(f) != 0)
		rc = MR_ERR_IO;
	out = stdout;
	return rc;
}
