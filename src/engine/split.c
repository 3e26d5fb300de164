/*
 * Phase 1, split.  Rank 0 walks the inputs (directories recursively, entries
 * in byte order), checks that every file can be opened before any map work,
 * and cuts the total into byte ranges: one contiguous share of about equal
 * bytes per mapping rank, each cut further into ranges of at most --chunk
 * bytes, and no range spanning two files.  Every rank gets the file table by
 * MPI_Bcast and its own ranges by MPI_Scatterv.
 *
 * Every rank maps, except on a node running more ranks than it has CPUs:
 * there only as many ranks as CPUs do (--mappers all overrides).  Ranks
 * taking turns on a CPU would each build a table of much the same keys, and
 * ship them all in the shuffle, for no more speed.  Every rank still owns its
 * share of the keys in reduce, order and write.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_OR */
#include "engine/run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DEFAULT_CHUNK (UINT64_C(64) << 20)

/* Directories on the current path, to refuse a symlink loop. */
struct walk {
	const mr_ctx *c;
	mr_files *files;
	dev_t devs[256];
	ino_t inos[256];
	int depth;
	size_t skipped; /* mpimr's own files met in directories */
	/* The files added so far, by device and inode, so that a file named
	 * twice, or reached twice, is read once: an open-addressing set. */
	struct file_id {
		dev_t dev;
		ino_t ino;
	} * seen;
	size_t seen_cap, nseen;
	/* The output paths that exist (-o, --stats), which no input may be. */
	const char *outs[2];
	struct stat out_st[2];
};

static void find_outputs(struct walk *w)
{
	const char *outs[2] = {w->c->cfg->output, w->c->cfg->stats_json};
	for (int i = 0; i < 2; i++)
		if (outs[i] && stat(outs[i], &w->out_st[i]) == 0)
			w->outs[i] = outs[i];
}

/* Whether the file st is met the first time; if so it is remembered. */
static bool first_time(struct walk *w, const struct stat *st)
{
	if (2 * (w->nseen + 1) > w->seen_cap) { /* grow, keeping it half empty */
		size_t cap = w->seen_cap ? 2 * w->seen_cap : 1024;
		struct file_id *old = w->seen, *t = mr_calloc(cap, sizeof(*t));
		for (size_t i = 0; i < w->seen_cap; i++) {
			if (!old[i].ino)
				continue;
			size_t j = (size_t)mr_mix(old[i].ino + 1, old[i].dev + 1) & (cap - 1);
			while (t[j].ino)
				j = (j + 1) & (cap - 1);
			t[j] = old[i];
		}
		free(old);
		w->seen = t;
		w->seen_cap = cap;
	}
	size_t j = (size_t)mr_mix(st->st_ino + 1, st->st_dev + 1) & (w->seen_cap - 1);
	for (; w->seen[j].ino; j = (j + 1) & (w->seen_cap - 1))
		if (w->seen[j].ino == st->st_ino && w->seen[j].dev == st->st_dev)
			return false;
	w->seen[j] = (struct file_id){st->st_dev, st->st_ino ? st->st_ino : 1};
	w->nseen++;
	return true;
}

/* MR_ERR_USAGE, said, if the input path (stat says st) is an output. */
static int check_alias(const struct walk *w, const char *path, const struct stat *st)
{
	for (int i = 0; i < 2; i++) {
		if (w->outs[i] && w->out_st[i].st_dev == st->st_dev &&
		    w->out_st[i].st_ino == st->st_ino) {
			mr_error("cannot write '%s': it is the input '%s'; the result would "
				 "replace what it is made from",
				 w->outs[i], path);
			return MR_ERR_USAGE;
		}
	}
	return MR_OK;
}

static uint64_t ns_of(struct timespec t)
{
	return (uint64_t)t.tv_sec * UINT64_C(1000000000) + (uint64_t)t.tv_nsec;
}

static void add_file(mr_files *f, const char *path, const struct stat *st, int unsized)
{
	size_t cap = f->cap;
	MR_GROW(f->offsets, cap, f->n + 2);
	cap = f->cap;
	MR_GROW(f->sizes, cap, f->n + 2);
	cap = f->cap;
	MR_GROW(f->stamps, f->cap, f->n + 2); /* the three grow together */
	if (f->n == 0)
		f->offsets[0] = 0;
	size_t len = strlen(path);
	mr_buf_add(&f->paths, path, len + 1);
	f->offsets[f->n + 1] = f->offsets[f->n] + len;
	f->sizes[f->n] = unsized ? 0 : (uint64_t)st->st_size;
	f->stamps[f->n] = (mr_file_stamp){ns_of(st->st_mtim), ns_of(st->st_ctim),
					  (uint64_t)st->st_size, (uint64_t)unsized};
	f->nunsized += unsized != MR_INPUT_FILE;
	f->total += f->sizes[f->n];
	f->n++;
}

/* A directory's child: its path and what stat said of it. */
struct child {
	char *path;
	int err;   /* lstat's errno, or 0 */
	bool link; /* a symlink: left out, as grep -r does */
	struct stat st;
};

static int cmp_children(const void *a, const void *b)
{
	return strcmp(((const struct child *)a)->path, ((const struct child *)b)->path);
}

/*
 * The children of directory path, lstat'ed once, sorted so that full paths
 * come in byte order: a directory sorts as its name plus '/', as every path
 * under it begins (walk_dir drops that '/' again).
 */
static struct child *list_dir(const char *path, DIR *d, size_t *count)
{
	struct child *c = NULL;
	size_t n = 0, cap = 0, plen = strlen(path);
	bool slash = plen > 0 && path[plen - 1] == '/';
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		MR_GROW(c, cap, n + 1);
		size_t len = strlen(e->d_name);
		char *p = mr_malloc(plen + len + 3);
		memcpy(p, path, plen);
		size_t at = plen;
		if (!slash)
			p[at++] = '/';
		memcpy(p + at, e->d_name, len + 1);
		c[n].path = p;
		c[n].err = lstat(p, &c[n].st) == 0 ? 0 : errno;
		c[n].link = !c[n].err && S_ISLNK(c[n].st.st_mode);
		if (!c[n].err && S_ISDIR(c[n].st.st_mode))
			strcpy(p + at + len, "/");
		n++;
	}
	if (n > 1) /* c is NULL when there are none */
		qsort(c, n, sizeof(*c), cmp_children);
	*count = n;
	return c;
}

static int walk_stat(struct walk *w, const char *path, int err, const struct stat *st, bool named);

static int walk_dir(struct walk *w, const char *path, const struct stat *st)
{
	for (int i = 0; i < w->depth; i++) {
		if (w->devs[i] == st->st_dev && w->inos[i] == st->st_ino) {
			mr_error("cannot read '%s': directory loop", path);
			return MR_ERR_INPUT;
		}
	}
	if (w->depth == (int)(sizeof(w->devs) / sizeof(w->devs[0]))) {
		mr_error("cannot read '%s': directories nested too deep", path);
		return MR_ERR_INPUT;
	}
	DIR *d = opendir(path);
	if (!d) {
		mr_error("cannot read '%s': %s", path, strerror(errno));
		return MR_ERR_INPUT;
	}
	size_t n;
	struct child *c = list_dir(path, d, &n);
	closedir(d);

	w->devs[w->depth] = st->st_dev;
	w->inos[w->depth] = st->st_ino;
	w->depth++;
	int rc = MR_OK;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(c[i].path);
		if (c[i].path[len - 1] == '/')
			c[i].path[len - 1] = '\0';
		if (rc == MR_OK && c[i].link)
			mr_verbose("split: skipped '%s': a symlink met in a directory (name it on "
				   "the command line to follow it)",
				   c[i].path);
		else if (rc == MR_OK)
			rc = walk_stat(w, c[i].path, c[i].err, &c[i].st, false);
		free(c[i].path);
	}
	free(c);
	w->depth--;
	return rc;
}

/*
 * Whether the open file fd must be read whole, its size unknown before: a
 * file whose stat size is 0 but that holds bytes (/proc, FUSE), and any file
 * of /proc or sysfs, whose stat size says nothing (4096 for sysfs's).
 */
static bool unsized_file(int fd, const struct stat *st)
{
	struct statfs fs;
	if (fstatfs(fd, &fs) == 0 && (fs.f_type == PROC_SUPER_MAGIC || fs.f_type == SYSFS_MAGIC))
		return true;
	char byte;
	return st->st_size == 0 && pread(fd, &byte, 1, 0) == 1;
}

/* The compression an open regular file's first bytes say, or MR_INPUT_FILE. */
static int compression(int fd)
{
	unsigned char head[4];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	return n > 0 ? (int)mr_compression_of(head, (size_t)n) : MR_INPUT_FILE;
}

/* Rank 0: a compressed file is read by one rank, so one that holds most of
 * the input makes the run wait for that rank: say so. */
static void warn_compressed(const mr_files *f, int mappers)
{
	uint64_t disk = 0;
	for (size_t i = 0; i < f->n; i++)
		disk += f->stamps[i].size;
	for (size_t i = 0; i < f->n && mappers > 1; i++) {
		uint64_t k = f->stamps[i].unsized;
		if ((k == MR_INPUT_GZIP || k == MR_INPUT_ZSTD) && 2 * f->stamps[i].size > disk)
			mr_error("warning: '%s' holds %.0f%% of the input and, compressed, is read "
				 "by one rank alone; split it into several files to read it in "
				 "parallel",
				 mr_file_path(f, i),
				 100.0 * (double)f->stamps[i].size / (double)disk);
	}
}

/* What the open file fd is to mpimr: not HDF5 (or HDF5 but not a result),
 * a result (an HDF5 file whose root has the attribute mpimr_version), or
 * HDF5 that HDF5 cannot open, cut short or damaged, which fails the run as
 * a damaged gzip file does, rather than be read as text. */
enum hdf5_kind { NOT_RESULT, RESULT, DAMAGED_HDF5 };
static enum hdf5_kind hdf5_kind(int fd, const char *path)
{
	static const char sig[8] = "\x89HDF\r\n\x1a\n";
	char head[8];
	if (pread(fd, head, 8, 0) != 8 || memcmp(head, sig, 8) != 0)
		return NOT_RESULT;
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	H5Pset_file_locking(fapl, 0, 1);
	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
	H5Pclose(fapl);
	if (f < 0)
		return DAMAGED_HDF5;
	bool ours = H5Aexists(f, "mpimr_version") > 0;
	H5Fclose(f);
	return ours ? RESULT : NOT_RESULT;
}

static int damaged(const char *path)
{
	mr_error("cannot read '%s': an HDF5 file that HDF5 cannot open (cut short or damaged?)",
		 path);
	return MR_ERR_INPUT;
}

/* A directory walk leaves out mpimr's own files: temporary ones, and
 * results (the output of an earlier run, or this run's, in an input
 * directory).  Named on the command line, a file is read whatever it is. */
static bool skip_own(struct walk *w, const char *path, enum hdf5_kind hdf5)
{
	const char *slash = strrchr(path, '/');
	const char *what = mr_is_temp_name(slash ? slash + 1 : path) ? "a temporary file of mpimr"
			   : hdf5 == RESULT			     ? "an mpimr result"
								     : NULL;
	if (!what)
		return false;
	if (w->skipped++ < 5)
		mr_info("mpimr: note: skipped '%s': %s (name it to read it)", path, what);
	return true;
}

/* One input, given what stat said of it (err: its errno, or 0); named: it
 * was given on the command line, not met in a directory. */
static int walk_stat(struct walk *w, const char *path, int err, const struct stat *st, bool named)
{
	if (err) {
		mr_error("cannot read '%s': %s", path, strerror(err));
		return MR_ERR_INPUT;
	}
	if (S_ISDIR(st->st_mode))
		return walk_dir(w, path, st);
	if (!S_ISREG(st->st_mode)) {
		mr_error("cannot read '%s': not a regular file or directory", path);
		return MR_ERR_INPUT;
	}
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		mr_error("cannot read '%s': %s", path, strerror(errno));
		return MR_ERR_INPUT;
	}
	int rc = MR_OK;
	enum hdf5_kind hdf5 = hdf5_kind(fd, path);
	if (named || !skip_own(w, path, hdf5)) {
		rc = hdf5 == DAMAGED_HDF5 ? damaged(path) : check_alias(w, path, st);
		/* A result named as an input is read as the lines `mpimr show`
		 * prints: a chained pass. */
		int kind = named && hdf5 == RESULT ? MR_INPUT_RESULT
			   : unsized_file(fd, st)  ? MR_INPUT_UNSIZED
						   : compression(fd);
		if (rc == MR_OK && first_time(w, st))
			add_file(w->files, path, st, kind);
		else if (rc == MR_OK)
			mr_verbose("split: '%s' is a file read already; read once", path);
	}
	close(fd);
	return rc;
}

static int walk_path(struct walk *w, const char *path)
{
	struct stat st;
	int err = stat(path, &st) == 0 ? 0 : errno;
	return walk_stat(w, path, err, &st, true);
}

void mr_plan_ranges(const mr_files *f, int nranks, uint64_t chunk, mr_range **ranges,
		    size_t *nranges, uint64_t *counts)
{
	size_t cap = 64, n = 0;
	mr_range *r = mr_malloc(mr_mul(cap, sizeof(*r)));
	memset(counts, 0, mr_mul((size_t)nranks, sizeof(*counts)));
	if (chunk == 0)
		chunk = DEFAULT_CHUNK;
	uint64_t g = 0; /* global byte offset over all files */
	int rank = 0;
	for (size_t i = 0; i < f->n; i++) {
		if (f->stamps && f->stamps[i].unsized) {
			/* Read whole, by the rank whose share it falls in; its length
			 * 0 says "to the end" (map.c). */
			MR_GROW(r, cap, n + 1);
			r[n++] = (mr_range){.file = i, .offset = 0, .length = 0};
			counts[rank]++;
			continue;
		}
		for (uint64_t fo = 0; fo < f->sizes[i];) {
			/* Rank k's share is [total*k/nranks, total*(k+1)/nranks). */
			uint64_t share_end;
			for (;;) {
				share_end = (uint64_t)((unsigned __int128)f->total *
						       (unsigned)(rank + 1) / (unsigned)nranks);
				if (g < share_end || rank == nranks - 1)
					break;
				rank++;
			}
			uint64_t piece = f->sizes[i] - fo;
			if (piece > share_end - g && rank < nranks - 1)
				piece = share_end - g;
			if (piece > chunk)
				piece = chunk;
			MR_GROW(r, cap, n + 1);
			r[n++] = (mr_range){.file = i, .offset = fo, .length = piece};
			counts[rank]++;
			fo += piece;
			g += piece;
		}
	}
	*ranges = r;
	*nranges = n;
}

/* Rank 0 has the table; every other rank receives it. */
static void bcast_files(MPI_Comm comm, int rank, mr_files *f)
{
	uint64_t head[2] = {f->n, f->paths.len};
	MR_MPI(MPI_Bcast(head, 2, MPI_UINT64_T, 0, comm));
	if (rank != 0) {
		f->n = (size_t)head[0];
		f->paths.len = 0;
		mr_buf_reserve(&f->paths, (size_t)head[1]);
		f->paths.len = (size_t)head[1];
		f->offsets = mr_malloc(mr_mul(f->n + 1, sizeof(uint64_t)));
		f->sizes = mr_malloc(mr_mul(f->n + 1, sizeof(uint64_t)));
		f->stamps = mr_malloc(mr_mul(f->n + 1, sizeof(mr_file_stamp)));
		f->offsets[0] = 0;
	}
	if (head[1] > 0)
		MR_MPI(MPI_Bcast(f->paths.data, mr_int_count(head[1]), MPI_CHAR, 0, comm));
	int n = mr_int_count(head[0]);
	MR_MPI(MPI_Bcast(f->offsets, n + 1, MPI_UINT64_T, 0, comm));
	if (n > 0) {
		MR_MPI(MPI_Bcast(f->sizes, n, MPI_UINT64_T, 0, comm));
		MR_MPI(MPI_Bcast(f->stamps, mr_int_count((uint64_t)n * (sizeof(mr_file_stamp) / 8)),
				 MPI_UINT64_T, 0, comm));
	}
	f->total = 0;
	f->nunsized = 0;
	for (size_t i = 0; i < f->n; i++) {
		f->total += f->sizes[i];
		f->nunsized += f->stamps[i].unsized != 0;
	}
}

/* Whether this rank maps: on its node, the first ranks, as many as the CPUs
 * its node's ranks may run on together.  Collective. */
static int maps_input(const mr_ctx *c)
{
	if (c->cfg->map_all || c->nranks == 1)
		return 1;
	MPI_Comm node;
	int local;
	MR_MPI(MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node));
	MR_MPI(MPI_Comm_rank(node, &local));
	cpu_set_t mine, all;
	CPU_ZERO(&mine);
	if (sched_getaffinity(0, sizeof(mine), &mine) != 0)
		for (int i = 0; i < CPU_SETSIZE; i++) /* unknown: assume plenty */
			CPU_SET(i, &mine);
	MR_MPI(MPI_Allreduce(&mine, &all, (int)sizeof(all), MPI_BYTE, MPI_BOR, node));
	MR_MPI(MPI_Comm_free(&node));
	return local < CPU_COUNT(&all);
}

static void scatter_ranges(mr_ctx *c, const mr_range *all, const uint64_t *counts, mr_range **mine,
			   size_t *nmine)
{
	MPI_Datatype t;
	MR_MPI(MPI_Type_contiguous(3, MPI_UINT64_T, &t));
	MR_MPI(MPI_Type_commit(&t));
	int *cnt = NULL, *displ = NULL;
	if (c->rank == 0) {
		cnt = mr_malloc(mr_mul((size_t)c->nranks, sizeof(int)));
		displ = mr_malloc(mr_mul((size_t)c->nranks, sizeof(int)));
		uint64_t at = 0;
		for (int i = 0; i < c->nranks; i++) {
			cnt[i] = mr_int_count(counts[i]);
			displ[i] = mr_int_count(at);
			at += counts[i];
		}
	}
	int n = 0;
	MR_MPI(MPI_Scatter(cnt, 1, MPI_INT, &n, 1, MPI_INT, 0, c->comm));
	*mine = mr_malloc(mr_mul((size_t)n + 1, sizeof(mr_range)));
	*nmine = (size_t)n;
	MR_MPI(MPI_Scatterv(all, cnt, displ, t, *mine, n, t, 0, c->comm));
	MR_MPI(MPI_Type_free(&t));
	free(cnt);
	free(displ);
}

int mr_split(mr_ctx *c, mr_range **ranges, size_t *nranges)
{
	int rc = MR_OK;
	mr_files *f = &c->files;
	if (c->rank == 0) {
		struct walk w = {.c = c, .files = f};
		find_outputs(&w);
		for (size_t i = 0; i < c->cfg->ninputs && rc == MR_OK; i++)
			rc = walk_path(&w, c->cfg->inputs[i]);
		if (f->n == 0) { /* keep offsets[0] valid for the broadcast */
			f->offsets = mr_calloc(1, sizeof(uint64_t));
			f->sizes = mr_calloc(1, sizeof(uint64_t));
			f->stamps = mr_calloc(1, sizeof(mr_file_stamp));
		}
		free(w.seen);
		if (w.skipped > 5)
			mr_info("mpimr: note: skipped %zu of mpimr's own files in all", w.skipped);
	}
	rc = mr_agree(c->comm, rc);
	if (rc != MR_OK)
		return rc;
	bcast_files(c->comm, c->rank, f);

	int maps = maps_input(c);
	int *mapper = c->rank == 0 ? mr_malloc(mr_mul((size_t)c->nranks, sizeof(int))) : NULL;
	MR_MPI(MPI_Gather(&maps, 1, MPI_INT, mapper, 1, MPI_INT, 0, c->comm));

	mr_range *all = NULL;
	size_t nall = 0;
	uint64_t *counts = NULL;
	if (c->rank == 0) {
		/* Shares for the mappers, then spread over the ranks: a rank
		 * that does not map gets no range. */
		int nmappers = 0;
		for (int i = 0; i < c->nranks; i++)
			nmappers += mapper[i] != 0;
		counts = mr_calloc((size_t)c->nranks, sizeof(uint64_t));
		uint64_t *shares = mr_malloc(mr_mul((size_t)nmappers, sizeof(uint64_t)));
		mr_plan_ranges(f, nmappers, c->cfg->chunk, &all, &nall, shares);
		for (int i = 0, k = 0; i < c->nranks; i++)
			if (mapper[i])
				counts[i] = shares[k++];
		free(shares);
		c->mappers = nmappers;
		warn_compressed(f, nmappers);
	}
	free(mapper);
	scatter_ranges(c, all, counts, ranges, nranges);
	free(all);
	free(counts);
	return MR_OK;
}
