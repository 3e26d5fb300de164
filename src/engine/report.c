/*
 * The run's report: per-phase, per-rank times and counters gathered to rank 0,
 * one summary line per phase (with -v, min/mean/max over ranks to show
 * imbalance), and the same figures as JSON with --stats.
 */
#include "engine/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct gathered {
	int n;
	double *phase;	 /* [n][MR_NPHASES] */
	uint64_t *count; /* [n][MR_NCOUNTERS] */
	double wall;
};

static double phase_at(const struct gathered *g, int rank, int p)
{
	return g->phase[(size_t)rank * MR_NPHASES + (size_t)p];
}

static uint64_t count_sum(const struct gathered *g, int k)
{
	uint64_t s = 0;
	for (int r = 0; r < g->n; r++)
		s += g->count[(size_t)r * MR_NCOUNTERS + (size_t)k];
	return s;
}

/* min, mean and max of one phase over ranks */
static void phase_spread(const struct gathered *g, int p, double out[3])
{
	out[0] = out[2] = phase_at(g, 0, p);
	double sum = 0;
	for (int r = 0; r < g->n; r++) {
		double v = phase_at(g, r, p);
		out[0] = v < out[0] ? v : out[0];
		out[2] = v > out[2] ? v : out[2];
		sum += v;
	}
	out[1] = sum / g->n;
}

/* The plural ending for a count: "1 file", "2 files", "0 files". */
static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static void phase_line(const struct gathered *g, int p, const char *what, double bytes)
{
	double s[3];
	phase_spread(g, p, s);
	char b[32], rate[48] = "";
	if (bytes > 0 && s[2] > 0)
		snprintf(rate, sizeof(rate), ", %s/s", mr_human_bytes(bytes / s[2], b, sizeof(b)));
	mr_info("%-8s %s, %.3f s%s", mr_phase_names[p], what, s[2], rate);
	mr_verbose("         min/mean/max over %d rank%s: %.3f / %.3f / %.3f s", g->n,
		   plural((uint64_t)g->n), s[0], s[1], s[2]);
}

static void summary(const mr_ctx *c, const struct gathered *g)
{
	char what[160], b1[32];
	int n = snprintf(what, sizeof(what), "%zu file%s, %s", c->files.n, plural(c->files.n),
			 mr_human_bytes((double)c->files.total, b1, sizeof(b1)));
	if (c->mappers < g->n && n > 0 && (size_t)n < sizeof(what))
		snprintf(what + n, sizeof(what) - (size_t)n,
			 ", read by %d of %d ranks (one per CPU)", c->mappers, g->n);
	phase_line(g, MR_PHASE_SPLIT, what, 0);
	uint64_t records = count_sum(g, MR_C_RECORDS), keys = count_sum(g, MR_C_KEYS_OUT);
	snprintf(what, sizeof(what), "%llu record%s, %s read", (unsigned long long)records,
		 plural(records),
		 mr_human_bytes((double)count_sum(g, MR_C_BYTES_READ), b1, sizeof(b1)));
	phase_line(g, MR_PHASE_MAP, what, (double)c->files.total);
	if (g->n > 1) {
		double sent = (double)count_sum(g, MR_C_BYTES_SENT);
		uint64_t pairs = count_sum(g, MR_C_PAIRS_SENT);
		snprintf(what, sizeof(what), "%llu pair%s, %s", (unsigned long long)pairs,
			 plural(pairs), mr_human_bytes(sent, b1, sizeof(b1)));
		phase_line(g, MR_PHASE_SHUFFLE, what, sent);
		pairs = count_sum(g, MR_C_PAIRS_RECEIVED);
		snprintf(what, sizeof(what), "%llu pair%s in", (unsigned long long)pairs,
			 plural(pairs));
		phase_line(g, MR_PHASE_REDUCE, what, 0);
	}
	static const char *const order[] = {[MR_IN_COUNT] = "by count",
					    [MR_IN_KEY] = "by key",
					    [MR_IN_NONE] = "none",
					    [MR_IN_INPUT] = "in input order"};
	bool records_out = c->job->result == MR_RESULT_RECORDS;
	const char *noun = records_out ? "record" : "key";
	snprintf(what, sizeof(what), "%llu %s%s %s", (unsigned long long)keys, noun, plural(keys),
		 order[mr_result_order(c)]);
	phase_line(g, MR_PHASE_ORDER, what, 0);
	struct stat st;
	double size = stat(c->cfg->output, &st) == 0 ? (double)st.st_size : 0;
	snprintf(what, sizeof(what), "%s", mr_human_bytes(size, b1, sizeof(b1)));
	phase_line(g, MR_PHASE_WRITE, what, 0);
	mr_info("%s: %llu record%s%s, %llu %s%s in %.3f s on %d rank%s; wrote %s", c->job->name,
		(unsigned long long)records, plural(records), records_out ? " in" : "",
		(unsigned long long)keys, records_out ? "out" : "distinct key",
		records_out ? "" : plural(keys), g->wall, g->n, plural((uint64_t)g->n),
		c->cfg->output);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void json_write(FILE *f, const mr_ctx *c, const struct gathered *g)
{
	fprintf(f, "{\n  \"mpimr_version\": ");
	json_str(f, MR_VERSION);
	fprintf(f, ",\n  \"job\": ");
	json_str(f, c->job->name);
	fprintf(f, ",\n  \"output\": ");
	json_str(f, c->cfg->output);
	fprintf(f,
		",\n  \"nranks\": %d,\n  \"mappers\": %d,\n  \"input_files\": %zu,\n"
		"  \"input_bytes\": %llu,\n  \"wall_seconds\": %.6f,\n",
		g->n, c->mappers, c->files.n, (unsigned long long)c->files.total, g->wall);
	fprintf(f, "  \"phase_names\": [");
	for (int p = 0; p < MR_NPHASES; p++)
		fprintf(f, "%s\"%s\"", p ? ", " : "", mr_phase_names[p]);
	fprintf(f, "],\n  \"phase_seconds\": [");
	for (int r = 0; r < g->n; r++) {
		fprintf(f, "%s\n    [", r ? "," : "");
		for (int p = 0; p < MR_NPHASES; p++)
			fprintf(f, "%s%.6f", p ? ", " : "", phase_at(g, r, p));
		fputc(']', f);
	}
	fprintf(f, "\n  ],\n  \"imbalance\": {");
	for (int p = 0; p < MR_NPHASES; p++) {
		double s[3];
		phase_spread(g, p, s);
		fprintf(f, "%s\"%s\": %.4f", p ? ", " : "", mr_phase_names[p],
			s[1] > 0 ? s[2] / s[1] : 1.0);
	}
	fprintf(f, "},\n  \"per_rank\": {");
	for (int k = 0; k < MR_NCOUNTERS; k++) {
		fprintf(f, "%s\n    \"%s\": [", k ? "," : "", mr_counter_names[k]);
		for (int r = 0; r < g->n; r++)
			fprintf(f, "%s%llu", r ? ", " : "",
				(unsigned long long)g->count[(size_t)r * MR_NCOUNTERS + k]);
		fputc(']', f);
	}
	fprintf(f, "\n  },\n  \"totals\": {");
	for (int k = 0; k < MR_NCOUNTERS; k++)
		fprintf(f, "%s\n    \"%s\": %llu", k ? "," : "", mr_counter_names[k],
			(unsigned long long)count_sum(g, k));
	fprintf(f, "\n  }\n}\n");
}

/* Rank 0: the JSON file, under its temporary name, to the disk. */
static int write_json(const mr_ctx *c, const struct gathered *g)
{
	const char *path = c->cfg->stats_json;
	int rc = mr_cleanup_add(c->stats_tmp);
	FILE *f = rc == MR_OK ? fopen(c->stats_tmp, "wx") : NULL;
	if (!f) {
		mr_error("cannot write '%s': %s", path, strerror(errno));
		return MR_ERR_IO;
	}
	json_write(f, c, g);
	int err = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0 ? errno : 0;
	if (fclose(f) != 0 && !err)
		err = errno;
	if (err) {
		mr_error("cannot write '%s': %s", path, strerror(err));
		return MR_ERR_IO;
	}
	return MR_OK;
}

int mr_report(mr_ctx *c, double wall_seconds)
{
	struct gathered g = {.n = c->nranks, .wall = wall_seconds};
	if (c->rank == 0) {
		g.phase = mr_malloc(mr_mul((size_t)g.n, sizeof(c->phase)));
		g.count = mr_malloc(mr_mul((size_t)g.n, sizeof(c->count)));
	}
	c->count[MR_C_PEAK_RSS] = mr_peak_rss();
	c->count[MR_C_BYTES_SPILLED] = c->spill.written;
	MR_MPI(MPI_Gather(c->phase, MR_NPHASES, MPI_DOUBLE, g.phase, MR_NPHASES, MPI_DOUBLE, 0,
			  c->comm));
	MR_MPI(MPI_Gather(c->count, MR_NCOUNTERS, MPI_UINT64_T, g.count, MR_NCOUNTERS, MPI_UINT64_T,
			  0, c->comm));
	int rc = MR_OK;
	if (c->rank == 0 && c->cfg->stats_json)
		rc = write_json(c, &g);
	rc = mr_commit(c, rc);
	if (c->rank == 0) {
		if (rc == MR_OK)
			summary(c, &g);
		free(g.phase);
		free(g.count);
	}
	return rc;
}
