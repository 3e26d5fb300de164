/*
 * `mpimr show`: prints a result file's table as key<TAB>value lines, in file
 * order.  Reads serially (no MPI) with the HDF5 library's default driver.
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

static bool is_float(hid_t g)
{
	hid_t d = H5Dopen2(g, "values", H5P_DEFAULT);
	hid_t t = H5Dget_type(d);
	bool f = H5Tget_class(t) == H5T_FLOAT;
	H5Tclose(t);
	H5Dclose(d);
	return f;
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
	uint64_t n = dataset_length(g, "values");
	if (top >= 0 && (uint64_t)top < n)
		n = (uint64_t)top;
	uint64_t *off = mr_malloc(mr_mul((size_t)n + 1, sizeof(uint64_t)));
	mr_value *val = mr_malloc(mr_mul((size_t)n + 1, sizeof(mr_value)));
	bool f64 = is_float(g);
	int rc = read_head(g, "key_offsets", H5T_NATIVE_UINT64, n + 1, off) |
		 read_head(g, "values", f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_UINT64, n, val);
	if (rc == 0 && !offsets_valid(off, n, dataset_length(g, "key_bytes")))
		rc = -1;
	char *keys = NULL;
	if (rc == 0) {
		keys = mr_malloc((size_t)off[n] + 1);
		rc = read_head(g, "key_bytes", H5T_NATIVE_UINT8, off[n], keys);
	}
	if (rc == 0) {
		for (uint64_t i = 0; i < n; i++) {
			print_key(keys + off[i], (size_t)(off[i + 1] - off[i]));
			if (f64)
				printf("\t%.17g\n", val[i].f);
			else
				printf("\t%llu\n", (unsigned long long)val[i].u);
		}
	} else {
		fprintf(stderr, "mpimr: cannot read '%s': damaged table in group '%s'\n", path,
			job);
	}
	free(keys);
	free(off);
	free(val);
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
