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
 *
 * Refused, with one line naming the file and exit status 1: a file open(2)
 * will not open (the system's reason), one a writer holds locked, one that
 * is not HDF5 or not a result, one without the root attribute complete=1
 * (unless --incomplete), and a damaged table: offsets out of order or out of
 * range, a field shorter than the keys, or a dataset that claims more bytes
 * than the file holds (checked before anything is allocated for it).  A
 * failed write to standard output is an error too.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The file show reads, as the command gave it. */
struct source {
	const char *path;
	uint64_t size;	 /* its bytes: no dataset holds more */
	bool incomplete; /* print it even without complete=1 (after a warning) */
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

/* Whether the root attribute complete is 1: a run writes it last. */
static bool is_complete(hid_t file)
{
	if (H5Aexists(file, "complete") <= 0)
		return false;
	hid_t a = H5Aopen(file, "complete", H5P_DEFAULT);
	hid_t type = H5Aget_type(a), space = H5Aget_space(a);
	uint64_t v = 0;
	bool one = H5Tget_class(type) == H5T_INTEGER && H5Sget_simple_extent_npoints(space) == 1 &&
		   H5Aread(a, H5T_NATIVE_UINT64, &v) >= 0 && v == 1;
	H5Sclose(space);
	H5Tclose(type);
	H5Aclose(a);
	return one;
}

/* Prints rows [0, t->n); returns 0, or the errno of the first write to
 * standard output that failed, where it stops. */
static int print_rows(const struct table *t)
{
	errno = 0;
	for (uint64_t i = 0; i < t->n; i++) {
		print_row(t, i);
		if (ferror(stdout))
			return errno ? errno : EIO;
	}
	return 0;
}

/* Flushes and closes standard output, so that a write that failed (a full
 * disk) is an error rather than a silently short table.  A reader that went
 * away (EPIPE, as with `| head`) is a normal end. */
static int close_stdout(int err)
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

/* Prints the first t->n rows of group g, named job, once the file is found
 * to hold every dataset in g and the rows read back whole. */
static int show_table(const struct source *src, hid_t g, const char *job, struct table *t)
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
	if (read_table(g, t) < 0) {
		fprintf(stderr, "mpimr: cannot read '%s': damaged table in group '%s'\n", src->path,
			job);
		return MR_ERR_INPUT;
	}
	return close_stdout(print_rows(t));
}

static int print_table(const struct source *src, hid_t file, long long top)
{
	char job[256] = "";
	if (read_attr_str(file, "job", job, sizeof(job)) < 0 ||
	    H5Lexists(file, job, H5P_DEFAULT) <= 0) {
		fprintf(stderr, "mpimr: cannot read '%s': not an mpimr result file\n", src->path);
		return MR_ERR_INPUT;
	}
	if (!is_complete(file)) {
		if (!src->incomplete) {
			fprintf(stderr,
				"mpimr: cannot read '%s': incomplete result (no complete=1: the run "
				"writing it did not finish)\n",
				src->path);
			return MR_ERR_INPUT;
		}
		fprintf(stderr,
			"mpimr: warning: '%s' is incomplete (no complete=1: the run writing it did "
			"not finish); printing what it holds\n",
			src->path);
	}
	hid_t g = H5Gopen2(file, job, H5P_DEFAULT);
	struct table t = {.n = dataset_length(g, "key_offsets")};
	t.n = t.n > 0 ? t.n - 1 : 0;
	if (top >= 0 && (uint64_t)top < t.n)
		t.n = (uint64_t)top;
	int rc = show_table(src, g, job, &t);
	table_free(&t);
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

int mr_show(const char *path, long long top, bool incomplete)
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
		struct source src = {path, (uint64_t)st.st_size, incomplete};
		rc = print_table(&src, file, top);
		H5Fclose(file);
	}
	close(fd);
	return rc;
}
