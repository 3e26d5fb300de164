/*
 * `mpimr show`: prints a result file's table as text, one line per key, in
 * file order.  The line is the key, a tab, then the value as the file holds
 * it:
 *
 *   key<TAB>value                      one number per key
 *   key<TAB>m1,m2,m3                   a set (/<job>/value_offsets): its
 *                                      members, ascending, comma-separated
 *   key<TAB>name=value<TAB>name=value  several fields (/<job>/values is a
 *                                      group): one per dataset, in the order
 *                                      the file lists them (creation order
 *                                      where the file keeps it, else by name)
 *
 * Keys and field names print with tab, newline, CR and backslash escaped as
 * \t \n \r \\; uint64 numbers in decimal, float64 as %.17g, which reads
 * back exactly.  Reads serially (no MPI) with the HDF5 library's default
 * driver.
 */
#include "internal.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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

/* The offsets a file claims: non-decreasing, and within key_bytes. */
static bool offsets_valid(const uint64_t *off, uint64_t n, uint64_t key_bytes)
{
	for (uint64_t i = 0; i < n; i++)
		if (off[i] > off[i + 1])
			return false;
	return off[n] <= key_bytes;
}

static void print_key(const char *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (k[i]) {
		case '\t': fputs("\\t", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		case '\\': fputs("\\\\", stdout); break;
		default: putchar(k[i]);
		}
	}
}

static bool is_float(hid_t d)
{
	hid_t t = H5Dget_type(d);
	bool f = H5Tget_class(t) == H5T_FLOAT;
	H5Tclose(t);
	return f;
}

/* One column of values: the value, or one field of several. */
struct column {
	char *name; /* the field's dataset, or NULL for a value of one field */
	bool f64;
	mr_value *val; /* one per row printed */
};

/* The rows of a result that show prints, read from the group. */
struct table {
	uint64_t n;    /* rows */
	uint64_t *off; /* n + 1 key offsets into keys */
	char *keys;
	uint64_t *voff; /* a set's n + 1 offsets into members, else NULL */
	uint64_t *members;
	struct column *cols; /* the value or the fields; none for a set */
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
}

/* Reads rows [0, n) of dataset name in loc (g, or a field group) into col. */
static int read_column(hid_t loc, const char *name, uint64_t n, struct column *col)
{
	hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
	if (d < 0)
		return -1;
	col->f64 = is_float(d);
	H5Dclose(d);
	if (dataset_length(loc, name) < n)
		return -1;
	col->val = mr_malloc(mr_mul((size_t)n + 1, sizeof(mr_value)));
	return read_head(loc, name, col->f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_UINT64, n, col->val);
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
static int read_fields(hid_t fg, struct table *t)
{
	H5G_info_t info;
	if (H5Gget_info(fg, &info) < 0)
		return -1;
	H5_index_t index = H5_INDEX_CRT_ORDER;
	if (info.nlinks > 0 &&
	    H5Lget_name_by_idx(fg, ".", index, H5_ITER_INC, 0, NULL, 0, H5P_DEFAULT) < 0)
		index = H5_INDEX_NAME;
	t->cols = mr_malloc(mr_mul((size_t)info.nlinks + 1, sizeof(*t->cols)));
	for (hsize_t i = 0; i < info.nlinks; i++) {
		struct column *c = &t->cols[t->ncols++];
		*c = (struct column){.name = link_name(fg, index, i)};
		if (!c->name || read_column(fg, c->name, t->n, c) < 0)
			return -1;
	}
	return 0;
}

/* A set: the offsets of the first n rows' members, and the members. */
static int read_set(hid_t g, struct table *t)
{
	t->voff = mr_malloc(mr_mul((size_t)t->n + 1, sizeof(uint64_t)));
	if (read_head(g, "value_offsets", H5T_NATIVE_UINT64, t->n + 1, t->voff) < 0 ||
	    dataset_length(g, "value_offsets") < t->n + 1 ||
	    !offsets_valid(t->voff, t->n, dataset_length(g, "values")))
		return -1;
	t->members = mr_malloc(mr_mul((size_t)t->voff[t->n] + 1, sizeof(uint64_t)));
	return read_head(g, "values", H5T_NATIVE_UINT64, t->voff[t->n], t->members);
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

/* Reads the first t->n rows of group g: keys, then values of any shape. */
static int read_table(hid_t g, struct table *t)
{
	t->off = mr_malloc(mr_mul((size_t)t->n + 1, sizeof(uint64_t)));
	if (read_head(g, "key_offsets", H5T_NATIVE_UINT64, t->n + 1, t->off) < 0 ||
	    !offsets_valid(t->off, t->n, dataset_length(g, "key_bytes")))
		return -1;
	t->keys = mr_malloc((size_t)t->off[t->n] + 1);
	if (read_head(g, "key_bytes", H5T_NATIVE_UINT8, t->off[t->n], t->keys) < 0)
		return -1;
	if (values_is_group(g)) {
		hid_t fg = H5Gopen2(g, "values", H5P_DEFAULT);
		int rc = read_fields(fg, t);
		H5Gclose(fg);
		return rc;
	}
	if (H5Lexists(g, "value_offsets", H5P_DEFAULT) > 0)
		return read_set(g, t);
	t->cols = mr_malloc(sizeof(*t->cols));
	t->cols[0] = (struct column){.name = NULL};
	t->ncols = 1;
	return read_column(g, "values", t->n, &t->cols[0]);
}

static void print_value(const struct column *c, uint64_t i)
{
	if (c->f64)
		printf("%.17g", c->val[i].f);
	else
		printf("%llu", (unsigned long long)c->val[i].u);
}

static void print_row(const struct table *t, uint64_t i)
{
	print_key(t->keys + t->off[i], (size_t)(t->off[i + 1] - t->off[i]));
	putchar('\t');
	if (t->voff) {
		for (uint64_t j = t->voff[i]; j < t->voff[i + 1]; j++)
			printf(j > t->voff[i] ? ",%llu" : "%llu",
			       (unsigned long long)t->members[j]);
	}
	for (size_t c = 0; c < t->ncols; c++) {
		if (t->cols[c].name) {
			if (c > 0)
				putchar('\t');
			print_key(t->cols[c].name, strlen(t->cols[c].name));
			putchar('=');
		}
		print_value(&t->cols[c], i);
	}
	putchar('\n');
}

static int print_table(const char *path, hid_t file, long long top)
{
	char job[256] = "";
	if (read_attr_str(file, "job", job, sizeof(job)) < 0 ||
	    H5Lexists(file, job, H5P_DEFAULT) <= 0) {
		fprintf(stderr, "mpimr: cannot read '%s': not an mpimr result file\n", path);
		return MR_ERR_INPUT;
	}
	hid_t g = H5Gopen2(file, job, H5P_DEFAULT);
	struct table t = {.n = dataset_length(g, "key_offsets")};
	t.n = t.n > 0 ? t.n - 1 : 0;
	if (top >= 0 && (uint64_t)top < t.n)
		t.n = (uint64_t)top;
	int rc = read_table(g, &t);
	if (rc == 0) {
		for (uint64_t i = 0; i < t.n; i++)
			print_row(&t, i);
	} else {
		fprintf(stderr, "mpimr: cannot read '%s': damaged table in group '%s'\n", path,
			job);
	}
	table_free(&t);
	H5Gclose(g);
	return rc == 0 ? MR_OK : MR_ERR_INPUT;
}

int mr_show(const char *path, long long top)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "mpimr: cannot read '%s': %s\n", path, strerror(errno));
		return MR_ERR_INPUT;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "mpimr: cannot read '%s': %s\n", path,
			S_ISDIR(st.st_mode) ? "Is a directory" : "not a regular file");
		return MR_ERR_INPUT;
	}
	hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (file < 0) {
		fprintf(stderr, "mpimr: cannot read '%s': not an HDF5 file\n", path);
		return MR_ERR_INPUT;
	}
	int rc = print_table(path, file, top);
	H5Fclose(file);
	return rc;
}
