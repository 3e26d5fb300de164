/*
 * mrmpi_wordfreq: word frequencies with MR-MPI (Debian's libmrmpi-dev), the
 * MapReduce-on-MPI peer that bench/run.py compares mpimr with.
 *
 *   mpirun -np N mrmpi_wordfreq [--chunk BYTES] [--combine] [--memsize MB]
 *                               -o PREFIX FILE...
 *
 * Shape of MR-MPI's own examples/wordfreq: map (emit word -> nothing, once per
 * word), collate (aggregate by key hash + convert), reduce (count).  With
 * --combine, MR-MPI's compress() first counts each rank's words locally, as
 * mpimr's in-mapper combining does.  Each rank writes its words to
 * PREFIX.<rank>.tsv as "count<TAB>word" lines; rank 0 prints one summary line
 * on stderr.  --memsize sets MR-MPI's page size (default 64 MB); small pages
 * force the out-of-core and multi-page paths, for testing.
 *
 * Differences from the MR-MPI example, so that the counts can be compared
 * with mpimr's byte for byte:
 *   - a word is a maximal run of bytes that are not one of " \t\n\v\f\r"
 *     (the example uses strtok without \v, and stops a word at a NUL byte);
 *   - keys are the word's bytes without a trailing NUL;
 *   - map tasks are byte ranges of the files (at most --chunk bytes, default
 *     about a quarter of a rank's share, 64 KiB to 16 MiB) cut by mpimr's
 *     record rule: a range skips a word begun before it and finishes its last
 *     word past its end.  The example reads whole files into one buffer,
 *     which does not scale to files of hundreds of MB;
 *   - a word whose values fill more than one page reaches reduce() with
 *     nvalues == 0; it is counted through multivalue_blocks(), where the
 *     example would report 0.
 *
 * Debian's libMapReduceMPI.so exports only the C++ API (its cmapreduce.h
 * declares the C interface, but the MR_* functions are not in the library),
 * so this driver is C++ written like C.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mpi.h>
#include <mrmpi/keyvalue.h>
#include <mrmpi/mapreduce.h>

using namespace MAPREDUCE_NS;

struct task {
	const char *path;
	uint64_t start, end; /* bytes [start, end) of path */
};

struct plan {
	struct task *tasks;
	int ntasks;
};

static int rank;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "mrmpi_wordfreq: rank %d: %s '%s': %s\n", rank, what, path,
		strerror(errno));
	MPI_Abort(MPI_COMM_WORLD, 1);
}

static inline int is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r'); /* \t \n \v \f \r */
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, "mrmpi_wordfreq: rank %d: out of memory (%zu bytes)\n", rank, n);
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	return q;
}

/* Every rank builds the same plan, so MR-MPI can hand out task numbers. */
static struct plan make_plan(int nfiles, char **files, int nprocs, uint64_t chunk)
{
	struct plan p = {NULL, 0};
	uint64_t *sizes = (uint64_t *)xrealloc(NULL, sizeof(uint64_t) * (nfiles + 1));
	uint64_t total = 0;
	for (int i = 0; i < nfiles; i++) {
		struct stat st;
		if (stat(files[i], &st) != 0)
			die("cannot stat", files[i]);
		sizes[i] = (uint64_t)st.st_size;
		total += sizes[i];
	}
	if (chunk == 0) {
		chunk = total / (4 * (uint64_t)nprocs) + 1;
		if (chunk < (64u << 10))
			chunk = 64u << 10;
		if (chunk > (16u << 20))
			chunk = 16u << 20;
	}
	for (int i = 0; i < nfiles; i++)
		p.ntasks += (int)((sizes[i] + chunk - 1) / chunk);
	p.tasks = (struct task *)xrealloc(NULL, sizeof(struct task) * (p.ntasks + 1));
	int t = 0;
	for (int i = 0; i < nfiles; i++)
		for (uint64_t a = 0; a < sizes[i]; a += chunk) {
			uint64_t b = sizes[i] - a < chunk ? sizes[i] : a + chunk;
			p.tasks[t++] = (struct task){files[i], a, b};
		}
	free(sizes);
	return p;
}

/* Reads up to n bytes at offset from into buf; fewer only at the end of the file. */
static size_t read_at(int fd, const char *path, char *buf, size_t n, uint64_t from)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(from + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("cannot read", path);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* map(): one byte range, by mpimr's record rule, one key per word. */
static void map_range(int itask, KeyValue *kv, void *ptr)
{
	const struct task *t = &((const struct plan *)ptr)->tasks[itask];
	int fd = open(t->path, O_RDONLY);
	if (fd < 0)
		die("cannot open", t->path);
	/* One byte before the range tells whether its first word began earlier. */
	uint64_t from = t->start > 0 ? t->start - 1 : 0;
	size_t cap = (size_t)(t->end - from) + (64u << 10);
	char *buf = (char *)xrealloc(NULL, cap);
	size_t n = read_at(fd, t->path, buf, (size_t)(t->end - from), from);
	/* Finish the last word past the end: read on until whitespace or EOF. */
	for (size_t seen = n; n > 0 && !is_space((unsigned char)buf[n - 1]);) {
		if (cap - n < (64u << 10))
			buf = (char *)xrealloc(buf, cap *= 2);
		size_t r = read_at(fd, t->path, buf + n, 64u << 10, from + n);
		if (r == 0)
			break;
		n += r;
		while (seen < n && !is_space((unsigned char)buf[seen]))
			seen++;
		if (seen < n)
			break;
	}
	close(fd);

	size_t i = 0;
	if (t->start > 0)
		while (i < n && !is_space((unsigned char)buf[i]))
			i++;
	size_t limit = (size_t)(t->end - from); /* words must start before it */
	for (;;) {
		while (i < n && is_space((unsigned char)buf[i]))
			i++;
		if (i >= n || i >= limit)
			break;
		size_t w = i;
		while (i < n && !is_space((unsigned char)buf[i]))
			i++;
		kv->add(buf + w, (int)(i - w), NULL, 0);
	}
	free(buf);
}

/* A value is either empty (one word, from map) or a uint64 count (compress). */
static uint64_t add_values(const char *mv, int nvalues, const int *valuebytes)
{
	uint64_t total = 0;
	for (int i = 0; i < nvalues; i++) {
		if (valuebytes[i] == 0) {
			total++;
		} else {
			uint64_t c;
			memcpy(&c, mv, sizeof c);
			total += c;
		}
		mv += valuebytes[i];
	}
	return total;
}

/* reduce() and compress(): key -> its total count as a uint64. */
static void sum(char *key, int keybytes, char *mv, int nvalues, int *valuebytes, KeyValue *kv,
		void *ptr)
{
	MapReduce *mr = (MapReduce *)ptr;
	uint64_t total;
	if (nvalues > 0) {
		total = add_values(mv, nvalues, valuebytes);
	} else {
		/* The multivalue spans pages: walk them block by block. */
		int nblock;
		mr->multivalue_blocks(nblock);
		total = 0;
		for (int b = 0; b < nblock; b++) {
			char *bmv;
			int *bvb;
			int bn = mr->multivalue_block(b, &bmv, &bvb);
			total += add_values(bmv, bn, bvb);
		}
	}
	kv->add(key, keybytes, (char *)&total, (int)sizeof total);
}

static void write_row(char *key, int keybytes, char *value, int valuebytes, void *ptr)
{
	FILE *fp = (FILE *)ptr;
	uint64_t c;
	(void)valuebytes;
	memcpy(&c, value, sizeof c);
	fprintf(fp, "%llu\t", (unsigned long long)c);
	fwrite(key, 1, (size_t)keybytes, fp);
	fputc('\n', fp);
}

static void usage(void)
{
	if (rank == 0)
		fprintf(stderr, "usage: mrmpi_wordfreq [--chunk BYTES] [--combine] [--memsize MB] "
				"-o PREFIX FILE...\n");
	MPI_Finalize();
	exit(2);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	int nprocs;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nprocs);

	const char *prefix = NULL;
	uint64_t chunk = 0;
	int combine = 0, memsize = 0, a = 1;
	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "-o") && a + 1 < argc)
			prefix = argv[++a];
		else if (!strcmp(argv[a], "--chunk") && a + 1 < argc)
			chunk = strtoull(argv[++a], NULL, 10);
		else if (!strcmp(argv[a], "--memsize") && a + 1 < argc)
			memsize = atoi(argv[++a]);
		else if (!strcmp(argv[a], "--combine"))
			combine = 1;
		else
			usage();
	}
	if (!prefix || a == argc)
		usage();

	double t0 = MPI_Wtime();
	struct plan plan = make_plan(argc - a, argv + a, nprocs, chunk);

	MapReduce *mr = new MapReduce(MPI_COMM_WORLD);
	if (memsize > 0)
		mr->memsize = memsize;
	/* Out-of-core pages go beside the output, not into the working directory. */
	char *dir = strdup(prefix), *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mr->set_fpath(dir);
	}
	free(dir);

	uint64_t nwords = mr->map(plan.ntasks, map_range, &plan);
	if (combine)
		mr->compress(sum, mr);
	mr->collate(NULL);
	uint64_t nunique = mr->reduce(sum, mr);

	char path[4096];
	snprintf(path, sizeof path, "%s.%d.tsv", prefix, rank);
	FILE *fp = fopen(path, "w");
	if (!fp)
		die("cannot create", path);
	mr->scan(write_row, fp);
	if (fclose(fp) != 0)
		die("cannot write", path);
	delete mr;

	MPI_Barrier(MPI_COMM_WORLD);
	if (rank == 0)
		fprintf(stderr,
			"mrmpi_wordfreq: %llu words, %llu distinct, %d map tasks, %.3f s on %d ranks\n",
			(unsigned long long)nwords, (unsigned long long)nunique, plan.ntasks,
			MPI_Wtime() - t0, nprocs);
	free(plan.tasks);
	MPI_Finalize();
	return 0;
}
