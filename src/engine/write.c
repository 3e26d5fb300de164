/*
 * Phase 6, write.  One HDF5 file, format 1 (DESIGN.md), written with
 * collective parallel HDF5: MPI_Exscan gives each rank its offset and each rank
 * writes its slice of every dataset by hyperslab.  The file is created under
 * its temporary name (output.c) and renamed by mr_commit only once every rank
 * has succeeded and the file has reached the disk.
 *
 * A write can fail (a full disk, a quota, an I/O error) on any rank, and only
 * the ranks whose part failed see it, often while the others wait for them
 * inside the same collective call (HDF5 returns early from a failed write,
 * skipping the MPI-IO calls that follow it; seen in H5Dwrite and in the
 * metadata flush of H5Fclose).  No agreement can reach ranks stuck there, so
 * the rank that sees a failed write ends the job itself (mr_abort, which
 * removes the temporary file; the others remove it when mpirun stops them),
 * after naming the output and the system's reason.  To make that rare, rank
 * 0 checks the room first and reserves the file's blocks before anything is
 * written.  The checks the file must pass before it is renamed: every rank's
 * close succeeded, fsync succeeded, and the file opens again with the
 * attribute complete=1 that is written last.
 *
 * MPI-IO's own errors decide nothing here: OMPIO's collective writer was seen
 * to drop ENOSPC at 3 ranks (launch.c prefers ROMIO, which reports it).
 *
 * HDF5's automatic error printing is off.  A call that cannot fail for want
 * of space (creating a dataset, an attribute: metadata is written at flush)
 * failing means HDF5 itself is broken: that prints its error stack and aborts
 * the job (after removing the temporary file).
 */
#define _GNU_SOURCE /* fallocate */
#include "engine/run.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#if !defined(H5_HAVE_PARALLEL)
#error "mpimr needs the parallel (MPI) build of HDF5"
#endif

static _Noreturn void h5_fail(const char *what, const char *file, int line)
{
	mr_rank_error("HDF5 %s failed at %s:%d; its error stack:", what, file, line);
	H5Eprint2(H5E_DEFAULT, stderr);
	mr_abort();
}
/* For calls that return an id or a negative status. */
#define MR_H5(expr)                                         \
	__extension__({                                     \
		__typeof__(expr) h5_r_ = (expr);            \
		if (h5_r_ < 0)                              \
			h5_fail(#expr, __FILE__, __LINE__); \
		h5_r_;                                      \
	})

struct out {
	mr_ctx *c;
	hid_t file;
	hid_t dxpl;    /* collective transfer */
	int number;    /* MR_NUMBER values: 0 all integers, 1 some float; -1 no */
	bool reserved; /* rank 0 reserved the file's blocks */
};

static _Noreturn void write_failed(mr_ctx *c, const char *what);

/* Writes elements [start, start+count) of a new 1-D dataset of total
 * elements.  Collective: every rank calls it, count may be 0. */
static void write_1d(struct out *o, hid_t loc, const char *name, hid_t type, uint64_t total,
		     uint64_t start, uint64_t count, const void *data)
{
	hsize_t dims[1] = {total};
	hid_t fspace = MR_H5(H5Screate_simple(1, dims, NULL));
	hid_t d = MR_H5(H5Dcreate2(loc, name, type, fspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
	if (total > 0) {
		hsize_t one = count ? count : 1, s = start, n = count;
		hid_t mspace = MR_H5(H5Screate_simple(1, &one, NULL));
		if (count) {
			MR_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &s, NULL, &n, NULL));
		} else {
			MR_H5(H5Sselect_none(fspace));
			MR_H5(H5Sselect_none(mspace));
		}
		static const uint64_t dummy;
		if (H5Dwrite(d, type, mspace, fspace, o->dxpl, count ? data : &dummy) < 0)
			write_failed(o->c, "H5Dwrite");
		H5Sclose(mspace);
	}
	H5Dclose(d);
	H5Sclose(fspace);
}

static void attr_write(hid_t loc, const char *name, hid_t type, const void *value)
{
	hid_t space = MR_H5(H5Screate(H5S_SCALAR));
	hid_t a = MR_H5(H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT));
	MR_H5(H5Awrite(a, type, value));
	H5Aclose(a);
	H5Sclose(space);
}

static void attr_u64(hid_t loc, const char *name, uint64_t v)
{
	attr_write(loc, name, H5T_NATIVE_UINT64, &v);
}

static void attr_str(hid_t loc, const char *name, const char *s)
{
	hid_t t = MR_H5(H5Tcopy(H5T_C_S1));
	MR_H5(H5Tset_size(t, H5T_VARIABLE));
	MR_H5(H5Tset_cset(t, H5T_CSET_UTF8));
	attr_write(loc, name, t, &s);
	H5Tclose(t);
}

static void write_root_attrs(struct out *o)
{
	mr_ctx *c = o->c;
	mr_buf argv = {0};
	for (int i = 0; i < c->cfg->argc; i++) {
		if (i)
			mr_buf_add(&argv, " ", 1);
		mr_buf_add(&argv, c->cfg->argv[i], strlen(c->cfg->argv[i]));
	}
	mr_buf_add(&argv, "", 1);
	char now[32];
	time_t t = time(NULL);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	char *args = mr_bcast_text(c->comm, argv.data);
	char *created = mr_bcast_text(c->comm, now);

	attr_u64(o->file, "format", MR_FORMAT);
	attr_str(o->file, "mpimr_version", MR_VERSION);
	attr_str(o->file, "job", c->job->name);
	attr_str(o->file, "argv", args);
	attr_u64(o->file, "nranks", (uint64_t)c->nranks);
	attr_str(o->file, "created_utc", created);
	/* For a reader with h5dump or h5ls only (h5dump -A shows it). */
	attr_str(
		o->file, "description",
		c->job->result == MR_RESULT_RECORDS
			? "an mpimr result: records; record i is /JOB/record_bytes[record_offsets[i]:"
			  "record_offsets[i+1]]; read it with `mpimr show FILE` or, in Python, "
			  "mpimr.read(FILE) (python/mpimr)"
			: "an mpimr result: a table; key i is /JOB/key_bytes[key_offsets[i]:"
			  "key_offsets[i+1]], its value row i of /JOB/values (see the group's "
			  "value_kind); read it with `mpimr show FILE` or, in Python, "
			  "mpimr.read(FILE) (python/mpimr)");
	free(args);
	free(created);
	mr_buf_release(&argv);
}

/* ---- the result: a run, written piece by piece -------------------------- */

/* A 1-D dataset of total elements, of which this rank writes [start, ...)
 * as the pairs stream by: buffered, and written a piece at a time. */
struct sink {
	struct out *o;
	hid_t d, type;
	size_t size; /* bytes an element */
	uint64_t at; /* the next element this rank writes */
	mr_buf buf;
};

#define SINK_PIECE ((size_t)1 << 20)

static void sink_open(struct out *o, struct sink *k, hid_t loc, const char *name, hid_t type,
		      uint64_t total, uint64_t start)
{
	*k = (struct sink){.o = o, .type = type, .size = H5Tget_size(type), .at = start};
	mr_buf_reserve(&k->buf, SINK_PIECE);
	hsize_t dims[1] = {total};
	hid_t space = MR_H5(H5Screate_simple(1, dims, NULL));
	k->d = MR_H5(H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
	H5Sclose(space);
}

static void sink_flush(struct sink *k)
{
	size_t n = k->buf.len / k->size;
	if (n == 0)
		return;
	hid_t fspace = MR_H5(H5Dget_space(k->d));
	hsize_t start = k->at, count = n;
	MR_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL));
	hid_t mspace = MR_H5(H5Screate_simple(1, &count, NULL));
	if (H5Dwrite(k->d, k->type, mspace, fspace, k->o->dxpl, k->buf.data) < 0)
		write_failed(k->o->c, "H5Dwrite");
	H5Sclose(mspace);
	H5Sclose(fspace);
	k->at += n;
	k->buf.len = 0;
	mr_progress();
}

static inline void sink_put(struct sink *k, const void *p, size_t n)
{
	size_t bytes = n * k->size;
	if (k->buf.len + bytes > k->buf.cap) {
		sink_flush(k);
		if (bytes > k->buf.cap)
			mr_buf_reserve(&k->buf, bytes);
	}
	memcpy(k->buf.data + k->buf.len, p, bytes);
	k->buf.len += bytes;
}

/* Collective: every rank closes every dataset it opened. */
static void sink_close(struct sink *k)
{
	sink_flush(k);
	mr_buf_release(&k->buf);
	H5Dclose(k->d);
}

/* What the result holds on this rank, and before it and in all. */
struct counts {
	uint64_t n;  /* keys or records */
	uint64_t kb; /* key (record) bytes */
	uint64_t vn; /* value elements: members, bytes, or n */
};

static void count_all(mr_ctx *c, const mr_frames *res, struct counts *before, struct counts *all)
{
	mr_values v = mr_values_of(c->job);
	struct counts mine = {res->pairs, res->key_bytes,
			      v.kind == MR_VK_SET     ? res->val_bytes / 8
			      : v.kind == MR_VK_BYTES ? res->val_bytes
						      : res->pairs};
	MR_MPI(MPI_Exscan(&mine, before, 3, MPI_UINT64_T, MPI_SUM, c->comm));
	if (c->rank == 0)
		*before = (struct counts){0}; /* Exscan leaves rank 0's undefined */
	MR_MPI(MPI_Allreduce(&mine, all, 3, MPI_UINT64_T, MPI_SUM, c->comm));
}

/* The value datasets of a table: one, a group of fields, or a set's or a
 * byte string's elements with their offsets.  vals[] gets the sinks, nv
 * how many (fields not written are NULL sinks, d < 0). */
struct value_sinks {
	int number;			  /* as struct out's */
	struct sink one;		  /* values, or a set's/bytes' elements */
	struct sink offsets;		  /* value_offsets, for sets and bytes */
	struct sink field[MR_MAX_FIELDS]; /* one per field written */
	bool has_field[MR_MAX_FIELDS];
	hid_t group; /* /<job>/values for fields */
};

static void open_values(struct out *o, hid_t g, struct value_sinks *vs, const struct counts *b,
			const struct counts *all)
{
	mr_ctx *c = o->c;
	mr_values v = mr_values_of(c->job);
	hid_t vt = c->job->value_type == MR_F64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_UINT64;
	memset(vs, 0, sizeof(*vs));
	vs->group = -1;
	vs->number = o->number;
	if (v.number) {
		sink_open(o, &vs->one, g, "values",
			  o->number ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, all->n, b->n);
		return;
	}
	if (v.kind == MR_VK_SET || v.kind == MR_VK_BYTES) {
		sink_open(o, &vs->one, g, "values",
			  v.kind == MR_VK_SET ? H5T_NATIVE_UINT64 : H5T_NATIVE_UINT8, all->vn,
			  b->vn);
		sink_open(o, &vs->offsets, g, "value_offsets", H5T_NATIVE_UINT64, all->n + 1, b->n);
		return;
	}
	if (v.width == 1) {
		sink_open(o, &vs->one, g, "values", vt, all->n, b->n);
		return;
	}
	/* Fields keep the job's order for readers that ask (h5py, show). */
	hid_t gcpl = MR_H5(H5Pcreate(H5P_GROUP_CREATE));
	MR_H5(H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED));
	vs->group = MR_H5(H5Gcreate2(g, "values", H5P_DEFAULT, gcpl, H5P_DEFAULT));
	H5Pclose(gcpl);
	for (uint32_t f = 0; f < v.width; f++) {
		char num[16];
		snprintf(num, sizeof(num), "%u", f);
		const char *name =
			c->job->field_name ? c->job->field_name(c->cfg->job_state, (int)f) : num;
		if (name) {
			vs->has_field[f] = true;
			sink_open(o, &vs->field[f], vs->group, name, vt, all->n, b->n);
		}
	}
}

/* One pair's value into its datasets; *elems counts a set's members or a
 * byte string's bytes, for the offsets; the sum for "total" goes to *sum. */
static void put_value(const mr_ctx *c, struct value_sinks *vs, const mr_pair *p, uint64_t *elems,
		      mr_value *sum)
{
	mr_values v = mr_values_of(c->job);
	if (v.kind == MR_VK_SET || v.kind == MR_VK_BYTES) {
		sink_put(&vs->offsets, elems, 1);
		size_t n = v.kind == MR_VK_SET ? p->vlen / 8 : p->vlen;
		sink_put(&vs->one, p->val, n);
		*elems += n;
		sum->u += n;
		return;
	}
	mr_value first;
	memcpy(&first, p->val, 8);
	if (v.number) { /* one type for the whole file */
		mr_value x = {.f = mr_number_double(p->val)};
		if (!vs->number)
			x = first;
		sink_put(&vs->one, &x, 1);
		if (vs->number)
			sum->f += x.f;
		else if (__builtin_add_overflow(sum->i, x.i, &sum->i))
			sum->i = x.i < 0 ? INT64_MIN : INT64_MAX; /* the total, not the values */
		return;
	}
	if (c->job->value_type == MR_F64)
		sum->f += first.f;
	else
		sum->u += first.u;
	if (v.width == 1) {
		sink_put(&vs->one, p->val, 1);
		return;
	}
	for (uint32_t f = 0; f < v.width; f++)
		if (vs->has_field[f])
			sink_put(&vs->field[f], p->val + 8 * f, 1);
}

static void close_values(struct out *o, struct value_sinks *vs, uint64_t elems)
{
	mr_values v = mr_values_of(o->c->job);
	if (v.number) {
		sink_close(&vs->one);
		return;
	}
	if (v.kind == MR_VK_SET || v.kind == MR_VK_BYTES) {
		if (o->c->rank == o->c->nranks - 1) /* the final offset */
			sink_put(&vs->offsets, &elems, 1);
		sink_close(&vs->offsets);
		sink_close(&vs->one);
		return;
	}
	if (v.width == 1) {
		sink_close(&vs->one);
		return;
	}
	for (uint32_t f = 0; f < v.width; f++)
		if (vs->has_field[f])
			sink_close(&vs->field[f]);
	H5Gclose(vs->group);
}

static const char *value_kind_name(const struct out *o)
{
	const mr_job *job = o->c->job;
	if (o->number >= 0)
		return o->number ? "float64" : "int64";
	switch (mr_values_of(job).kind) {
	case MR_VK_SET: return "uint64-set";
	case MR_VK_BYTES: return "bytes";
	case MR_VK_FIELDS: return "fields";
	default: return job->value_type == MR_F64 ? "float64" : "uint64";
	}
}

/* Whether the "total" attribute is a float64. */
static bool total_is_f64(const struct out *o)
{
	mr_values v = mr_values_of(o->c->job);
	if (v.number)
		return o->number == 1;
	return o->c->job->value_type == MR_F64 && v.kind != MR_VK_SET && v.kind != MR_VK_BYTES;
}

/* MR_NUMBER: whether any value of the result, on any rank, is a float;
 * else -1.  Collective. */
static int number_kind(mr_ctx *c, const mr_frames *res)
{
	if (!mr_values_of(c->job).number)
		return -1;
	mr_frames_reader rd;
	mr_frames_reader_init(&rd, res, &c->spill, SINK_PIECE);
	mr_pair p;
	int mine = 0, any = 0;
	while (!mine && mr_frames_read(&rd, &p))
		mine = p.vlen == 16 && mr_load64(p.val + 8) == MR_NUMBER_FLOAT;
	mr_frames_reader_release(&rd);
	MR_MPI(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_LOR, c->comm));
	return any;
}

/* Streams the run res into /<job>'s datasets.  Returns the "total". */
static mr_value stream_result(struct out *o, hid_t g, const mr_frames *res, const struct counts *b,
			      const struct counts *all)
{
	mr_ctx *c = o->c;
	bool records = c->job->result == MR_RESULT_RECORDS;
	struct sink keys, offs;
	struct value_sinks vs;
	sink_open(o, &keys, g, records ? "record_bytes" : "key_bytes", H5T_NATIVE_UINT8, all->kb,
		  b->kb);
	sink_open(o, &offs, g, records ? "record_offsets" : "key_offsets", H5T_NATIVE_UINT64,
		  all->n + 1, b->n);
	if (!records)
		open_values(o, g, &vs, b, all);
	mr_frames_reader rd;
	mr_frames_reader_init(&rd, res, &c->spill, SINK_PIECE);
	mr_pair p;
	uint64_t kat = b->kb, vat = b->vn;
	mr_value sum = {0};
	while (mr_frames_read(&rd, &p)) {
		sink_put(&offs, &kat, 1);
		sink_put(&keys, p.key, p.klen);
		kat += p.klen;
		if (!records)
			put_value(c, &vs, &p, &vat, &sum);
	}
	if (rd.status != MR_OK) {
		mr_rank_error("cannot read the result back from '%s' (%s)",
			      c->spill.dir ? c->spill.dir : "the spill store",
			      mr_strerror(rd.status));
		mr_abort();
	}
	mr_frames_reader_release(&rd);
	if (c->rank == c->nranks - 1)
		sink_put(&offs, &kat, 1);
	sink_close(&keys);
	sink_close(&offs);
	if (!records)
		close_values(o, &vs, vat);
	bool f64 = !records && total_is_f64(o);
	if (records)
		sum.u = res->pairs;
	mr_value total = {0};
	MPI_Datatype t = f64 ? MPI_DOUBLE : o->number == 0 ? MPI_INT64_T : MPI_UINT64_T;
	MR_MPI(MPI_Allreduce(&sum, &total, 1, t, MPI_SUM, c->comm));
	return total;
}

/* /<job>: the result's datasets, and its totals as attributes. */
static void write_table(struct out *o, const mr_frames *res)
{
	mr_ctx *c = o->c;
	struct counts before, all;
	count_all(c, res, &before, &all);
	o->number = number_kind(c, res);
	hid_t g = MR_H5(H5Gcreate2(o->file, c->job->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
	mr_value total = stream_result(o, g, res, &before, &all);
	bool records = c->job->result == MR_RESULT_RECORDS;
	bool f64 = !records && total_is_f64(o);
	uint64_t recs = 0;
	MR_MPI(MPI_Allreduce(&c->count[MR_C_RECORDS], &recs, 1, MPI_UINT64_T, MPI_SUM, c->comm));
	static const char *const order_names[] = {[MR_IN_COUNT] = "count",
						  [MR_IN_KEY] = "key",
						  [MR_IN_NONE] = "none",
						  [MR_IN_INPUT] = "input"};
	attr_str(g, "layout", records ? "records" : "table");
	if (!records)
		attr_str(g, "value_kind", value_kind_name(o));
	attr_str(g, "order", order_names[mr_result_order(c)]);
	attr_u64(g, records ? "records_out" : "distinct_keys", all.n);
	attr_write(g, "total",
		   f64		    ? H5T_NATIVE_DOUBLE
		   : o->number == 0 ? H5T_NATIVE_INT64
				    : H5T_NATIVE_UINT64,
		   &total);
	attr_u64(g, "records", recs);
	attr_u64(g, "input_bytes", c->files.total);
	attr_u64(g, "input_files", c->files.n);
	attr_u64(g, "rejected", c->rejected);
	attr_str(g, "rejected_first", c->rejected_first ? c->rejected_first : "");
	H5Gclose(g);
}

/* /inputs: the file table, written by rank 0 alone. */
static void write_inputs(struct out *o)
{
	mr_ctx *c = o->c;
	const mr_files *f = &c->files;
	uint64_t n = f->n, bytes = f->offsets[f->n];
	bool me = c->rank == 0;
	char *paths = mr_malloc((size_t)bytes + 1);
	for (size_t i = 0; i < f->n; i++)
		memcpy(paths + f->offsets[i], mr_file_path(f, i),
		       (size_t)(f->offsets[i + 1] - f->offsets[i]));
	hid_t g = MR_H5(H5Gcreate2(o->file, "inputs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
	write_1d(o, g, "path_bytes", H5T_NATIVE_UINT8, bytes, 0, me ? bytes : 0, paths);
	write_1d(o, g, "path_offsets", H5T_NATIVE_UINT64, n + 1, 0, me ? n + 1 : 0, f->offsets);
	write_1d(o, g, "sizes", H5T_NATIVE_UINT64, n, 0, me ? n : 0, f->sizes);
	H5Gclose(g);
	free(paths);
}

static void attr_names(hid_t loc, const char *name, const char *const *names, int n)
{
	hid_t t = MR_H5(H5Tcopy(H5T_C_S1));
	MR_H5(H5Tset_size(t, H5T_VARIABLE));
	hsize_t dims[1] = {(hsize_t)n};
	hid_t space = MR_H5(H5Screate_simple(1, dims, NULL));
	hid_t a = MR_H5(H5Acreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT));
	MR_H5(H5Awrite(a, t, names));
	H5Aclose(a);
	H5Sclose(space);
	H5Tclose(t);
}

/* /stats: per-rank phase times and counters, each rank its own row. */
static void write_stats(struct out *o)
{
	mr_ctx *c = o->c;
	hid_t g = MR_H5(H5Gcreate2(o->file, "stats", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
	hsize_t dims[2] = {(hsize_t)c->nranks, MR_NPHASES};
	hid_t fspace = MR_H5(H5Screate_simple(2, dims, NULL));
	hid_t d = MR_H5(H5Dcreate2(g, "phase_seconds", H5T_NATIVE_DOUBLE, fspace, H5P_DEFAULT,
				   H5P_DEFAULT, H5P_DEFAULT));
	hsize_t start[2] = {(hsize_t)c->rank, 0}, count[2] = {1, MR_NPHASES};
	MR_H5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL));
	hid_t mspace = MR_H5(H5Screate_simple(2, count, NULL));
	if (H5Dwrite(d, H5T_NATIVE_DOUBLE, mspace, fspace, o->dxpl, c->phase) < 0)
		write_failed(c, "H5Dwrite");
	attr_names(d, "phase_names", mr_phase_names, MR_NPHASES);
	H5Sclose(mspace);
	H5Dclose(d);
	H5Sclose(fspace);
	for (int k = 0; k < MR_NCOUNTERS; k++)
		write_1d(o, g, mr_counter_names[k], H5T_NATIVE_UINT64, (uint64_t)c->nranks,
			 (uint64_t)c->rank, 1, &c->count[k]);
	H5Gclose(g);
}

/* The file's size, a little over: its data, and room for HDF5's metadata
 * (17 KiB for a result with no keys, here; a little more for many ranks). */
static uint64_t expected_size(mr_ctx *c, const mr_frames *res)
{
	/* A value of words takes its words; of several fields no more; a set's
	 * or a byte string's elements take theirs and an offset. */
	uint64_t mine = res->key_bytes + res->val_bytes + 16 * (res->pairs + 1), all = 0;
	MR_MPI(MPI_Allreduce(&mine, &all, 1, MPI_UINT64_T, MPI_SUM, c->comm));
	const mr_files *f = &c->files;
	uint64_t stats = 8 * (uint64_t)c->nranks * (MR_NPHASES + MR_NCOUNTERS);
	uint64_t data = all + f->paths.len + 16 * (uint64_t)f->n + stats;
	return data + data / 32 + (UINT64_C(64) << 10);
}

/* Rank 0: whether the output's filesystem has room for size bytes, so that a
 * full disk is found before anything is written. */
static int check_room(mr_ctx *c, uint64_t size)
{
	char dir[sizeof(c->tmp_path)];
	snprintf(dir, sizeof(dir), "%s", c->tmp_path);
	*strrchr(dir, '/') = '\0'; /* the temporary name is DIR/.NAME... */
	struct statvfs fs;
	if (statvfs(dir, &fs) != 0)
		return MR_OK; /* cannot tell: the write will */
	uint64_t blocks = geteuid() == 0 ? fs.f_bfree : fs.f_bavail;
	uint64_t room = blocks * fs.f_frsize;
	if (room >= size)
		return MR_OK;
	char need[32], have[32];
	mr_error("cannot write '%s': %s (it needs about %s, %s free)", c->cfg->output,
		 strerror(ENOSPC), mr_human_bytes((double)size, need, sizeof(need)),
		 mr_human_bytes((double)room, have, sizeof(have)));
	return MR_ERR_IO;
}

/* Creates the temporary file; every rank learns whether it worked. */
static int create_file(struct out *o)
{
	mr_ctx *c = o->c;
	hid_t fapl = MR_H5(H5Pcreate(H5P_FILE_ACCESS));
	MR_H5(H5Pset_fapl_mpio(fapl, c->comm, MPI_INFO_NULL));
	MR_H5(H5Pset_all_coll_metadata_ops(fapl, 1));
	MR_H5(H5Pset_coll_metadata_write(fapl, 1));
	o->file = H5Fcreate(c->tmp_path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
	H5Pclose(fapl);
	int rc = MR_OK;
	if (o->file < 0) {
		mr_rank_error("cannot create '%s'; the HDF5 error stack:", c->tmp_path);
		H5Eprint2(H5E_DEFAULT, stderr);
		rc = MR_ERR_HDF5;
	}
	rc = mr_agree(c->comm, rc);
	if (rc != MR_OK) {
		if (o->file >= 0)
			H5Fclose(o->file);
		MR_MPI(MPI_Barrier(c->comm));
		if (c->rank == 0)
			unlink(c->tmp_path); /* ours: the name has our pid */
		return rc;
	}
	return mr_cleanup_add(c->tmp_path);
}

/*
 * Rank 0: reserves the file's blocks before anything is written, without
 * changing its size (FALLOC_FL_KEEP_SIZE), so that no later write, on any
 * rank, finds the disk full.  This matters most for HDF5's metadata: a flush
 * that fails on one rank only leaves the others waiting for it in MPI-IO.
 * Where the filesystem cannot reserve (NFS, some parallel filesystems), the
 * writes are checked as they go.  A full disk here is found before any
 * collective write has begun, by rank 0 alone: it says so and ends the job.
 */
static bool reserve(mr_ctx *c, uint64_t size)
{
	int fd = open(c->tmp_path, O_WRONLY);
	if (fd < 0)
		return false; /* the writes will say why */
	int err = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)size) == 0 ? 0 : errno;
	close(fd);
	if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
		mr_error("cannot write '%s': %s", c->cfg->output, strerror(err));
		mr_abort();
	}
	return err == 0;
}

/*
 * Without a reservation, before the close: HDF5 writes its metadata in
 * H5Fclose, and a rank whose part of it fails goes on into the collective
 * close while the others still wait in the flush (seen: MPI_File_close
 * against MPI_File_set_view), where nothing can reach them.  So rank 0 looks
 * at the room first, and if the disk filled up meanwhile every rank ends the
 * job here, saying so once.  What is left: a disk that fills in the moment
 * between this look and the close, on a filesystem that cannot reserve.
 */
static void check_room_to_close(struct out *o)
{
	mr_ctx *c = o->c;
	/* Once every rank's writes are done: the pieces are independent, so a
	 * rank may reach here while another still writes. */
	MR_MPI(MPI_Barrier(c->comm));
	int full = c->rank == 0 && check_room(c, UINT64_C(1) << 20) != MR_OK;
	MR_MPI(MPI_Bcast(&full, 1, MPI_INT, 0, c->comm));
	if (full)
		mr_abort(); /* rank 0 said why; the temporary file goes */
}

/* A write failed on this rank: says why, found by asking the filesystem for
 * a little more room, and ends the job (see the top of this file).  A full
 * disk often fails several ranks' writes at once, and each would say so:
 * every rank but 0 first waits a little, longer the higher its rank (a
 * quarter of a second each, at most 4 s), so that the lowest failing rank
 * speaks and its abort stops the others before they do.  (Seen at 3 ranks:
 * ranks 0 and 1 both said it, rank 1 with "No such file or directory", as
 * rank 0's abort had already removed the temporary file.) */
static _Noreturn void write_failed(mr_ctx *c, const char *what)
{
	if (c->rank > 0) {
		int quarters = c->rank < 16 ? c->rank : 16;
		struct timespec wait = {quarters / 4, (long)(quarters % 4) * 250000000L};
		while (nanosleep(&wait, &wait) != 0 && errno == EINTR)
			;
	}
	if (c->cfg->verbosity >= MR_VERBOSE) {
		mr_rank_error("HDF5 %s failed writing '%s'; its error stack:", what, c->tmp_path);
		H5Eprint2(H5E_DEFAULT, stderr);
	}
	int fd = open(c->tmp_path, O_WRONLY);
	int err = fd < 0 ? errno : 0;
	if (fd >= 0) {
		struct stat st;
		err = fstat(fd, &st) == 0 ? posix_fallocate(fd, st.st_size, 1 << 20) : errno;
		close(fd);
	}
	mr_rank_error("cannot write '%s': %s", c->cfg->output,
		      err ? strerror(err) : "a write failed (input/output error)");
	mr_abort();
}

/* Rank 0, once every rank has closed the file: it reached the disk, and it
 * reads back whole. */
static int check_written(mr_ctx *c)
{
	/* The blocks reserved past the end go back (truncating to the size
	 * the file has frees them). */
	struct stat st;
	if (stat(c->tmp_path, &st) == 0)
		truncate(c->tmp_path, st.st_size);
	int err = mr_sync_path(c->tmp_path, false);
	if (err) {
		mr_error("cannot write '%s': %s", c->cfg->output, strerror(err));
		return MR_ERR_IO;
	}
	hid_t fapl = MR_H5(H5Pcreate(H5P_FILE_ACCESS));
	H5Pset_file_locking(fapl, 0, 1); /* filesystems without flock too */
	hid_t f = H5Fopen(c->tmp_path, H5F_ACC_RDONLY, fapl);
	H5Pclose(fapl);
	uint64_t complete = 0;
	if (f >= 0) {
		hid_t a = H5Aopen(f, "complete", H5P_DEFAULT);
		if (a < 0 || H5Aread(a, H5T_NATIVE_UINT64, &complete) < 0)
			complete = 0;
		if (a >= 0)
			H5Aclose(a);
		H5Fclose(f);
	}
	if (complete != 1) {
		mr_error("cannot write '%s': the file written does not read back whole "
			 "(the filesystem lost a write)",
			 c->cfg->output);
		return MR_ERR_IO;
	}
	return MR_OK;
}

/* Closes the file on every rank (HDF5 writes its metadata here), then rank
 * 0 checks what was written. */
static int close_file(struct out *o)
{
	mr_ctx *c = o->c;
	if (!o->reserved)
		check_room_to_close(o);
	H5Pclose(o->dxpl);
	if (H5Fclose(o->file) < 0)
		write_failed(c, "H5Fclose");
	int rc = c->rank == 0 ? check_written(c) : MR_OK;
	return mr_agree(c->comm, rc);
}

int mr_write(mr_ctx *c, const mr_frames *res)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	uint64_t size = expected_size(c, res);
	int rc = mr_agree(c->comm, c->rank == 0 ? check_room(c, size) : MR_OK);
	struct out o = {.c = c};
	if (rc == MR_OK)
		rc = create_file(&o);
	if (rc != MR_OK)
		return rc;
	/* MPIMR_TEST_NO_RESERVE: as on a filesystem that cannot reserve, for
	 * the tests of the checked writes. */
	int reserved = c->rank == 0 && !getenv("MPIMR_TEST_NO_RESERVE") && reserve(c, size);
	MR_MPI(MPI_Bcast(&reserved, 1, MPI_INT, 0, c->comm));
	o.reserved = reserved;
	/* Each rank writes its pieces when it has them: independent transfers
	 * (every dataset is created, so allocated, collectively first). */
	o.dxpl = MR_H5(H5Pcreate(H5P_DATASET_XFER));
	MR_H5(H5Pset_dxpl_mpio(o.dxpl, H5FD_MPIO_INDEPENDENT));

	write_root_attrs(&o);
	write_table(&o, res);
	/* Half-written: the fault point of tests (fault.c). */
	if (mr_fault_is(c, MR_PHASE_WRITE, "hdf5"))
		MR_H5(H5Dopen2(o.file, "/no such dataset", H5P_DEFAULT));
	if (mr_fault_is(c, MR_PHASE_WRITE, "full"))
		write_failed(c, "H5Dwrite (MPIMR_FAULT)");
	int frc = mr_fault(c, MR_PHASE_WRITE);
	write_inputs(&o);
	c->phase[MR_PHASE_WRITE] = mr_now() - c->write_start;
	c->count[MR_C_PEAK_RSS] = mr_peak_rss();
	c->count[MR_C_BYTES_SPILLED] = c->spill.written;
	write_stats(&o);
	/* Last, so a file that has it was written whole. */
	attr_u64(o.file, "complete", 1);
	rc = close_file(&o);
	return mr_agree(c->comm, rc != MR_OK ? rc : frc);
}
