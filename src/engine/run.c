/*
 * The driver: runs the phases of DESIGN.md in order on a duplicated
 * communicator, and makes every rank agree on success at each boundary.
 */
#include "engine/stream.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>

const char *const mr_phase_names[MR_NPHASES] = {
	"split", "map", "shuffle", "reduce", "order", "write",
};

const char *const mr_counter_names[MR_NCOUNTERS] = {
	"bytes_read",	    "records",	      "pairs_emitted",	"keys_mapped", "pairs_sent",
	"bytes_sent",	    "pairs_received", "bytes_received", "keys_out",    "peak_rss_bytes",
	"records_rejected", "runs_spilled",   "bytes_spilled",
};

int mr_end_phase(mr_ctx *c, enum mr_phase p, double *t, int rc)
{
	mr_progress();
	double now = mr_now();
	c->phase[p] = now - *t;
	rc = mr_agree(c->comm, rc);
	if (rc != MR_OK)
		mr_deferred_say(c->comm);
	*t = mr_now();
	return rc;
}

static int check_job(const mr_job *job, const mr_config *cfg)
{
	if (!job || !job->name || !job->map ||
	    (!job->combine && !job->reduce && job->value_type != MR_U64_SET &&
	     job->result != MR_RESULT_RECORDS)) {
		mr_error("a job needs a name, a map, and a combine or a reduce (or records "
			 "for a result)");
		return MR_ERR_USAGE;
	}
	if (job->value_type > MR_NUMBER || job->width < 0 || job->width > MR_MAX_FIELDS ||
	    (job->width > 1 && job->value_type >= MR_U64_SET) ||
	    (job->value_type == MR_BYTES && !job->reduce)) {
		mr_error("job '%s': values are of an unknown type, or have more than %d fields",
			 job->name, MR_MAX_FIELDS);
		return MR_ERR_USAGE;
	}
	if (!cfg->output || (cfg->ninputs > 0 && !cfg->inputs) || cfg->order > MR_ORDER_NONE) {
		mr_error("job '%s': the configuration needs inputs, an output "
			 "and a known order",
			 job->name);
		return MR_ERR_USAGE;
	}
	return MR_OK;
}

/* This rank's memory budget: --mem, or its node's share of what it can
 * see.  Collective (the node's ranks are counted). */
static int set_budget(mr_ctx *c)
{
	MPI_Comm node;
	int node_rank;
	MR_MPI(MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node));
	MR_MPI(MPI_Comm_size(node, &c->node_ranks));
	MR_MPI(MPI_Comm_rank(node, &node_rank));
	MR_MPI(MPI_Comm_free(&node));
	char what[4400] = "--mem";
	uint64_t visible = 0;
	if (c->cfg->mem) {
		c->budget = c->cfg->mem;
	} else {
		visible = mr_memory_visible(what, sizeof(what));
		c->budget = mr_memory_share(visible, c->node_ranks);
	}
	char b[32], v[32];
	if (c->cfg->mem)
		mr_verbose("memory: %s of data per rank (--mem)",
			   mr_human_bytes((double)c->budget, b, sizeof(b)));
	else
		mr_verbose("memory: %s of data per rank, from %s of %s shared by %d rank%s "
			   "on the node",
			   mr_human_bytes((double)c->budget, b, sizeof(b)),
			   mr_human_bytes((double)visible, v, sizeof(v)), what, c->node_ranks,
			   c->node_ranks == 1 ? "" : "s");
	int rc = MR_OK;
	uint64_t least = c->cfg->mem ? MR_MEM_LEAST : MR_MEM_MIN;
	if (c->budget < least && (c->cfg->mem ? c->rank == 0 : node_rank == 0)) {
		mr_human_bytes((double)(c->cfg->mem ? c->budget : visible), v, sizeof(v));
		if (c->cfg->mem)
			mr_rank_error("--mem %s is less than the %s a rank needs", v,
				      mr_human_bytes((double)MR_MEM_LEAST, b, sizeof(b)));
		else
			mr_rank_error("not enough memory: %s allows %s for %d rank%s on this node, "
				      "less than %s each can run in (use fewer ranks per node)",
				      what, v, c->node_ranks, c->node_ranks == 1 ? "" : "s",
				      mr_human_bytes((double)(MR_MEM_FIXED + MR_MEM_MIN) * 4 / 3, b,
						     sizeof(b)));
	}
	if (c->budget < least)
		rc = MR_ERR_NOMEM; /* said once, above, by one rank of each node */
	struct stat st;
	const char *tmp = c->cfg->tmpdir;
	if (rc == MR_OK && tmp) { /* on every rank: it is node-local disk */
		if (stat(tmp, &st) != 0)
			mr_defer("cannot use --tmp '%s': %s", tmp, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			mr_defer("cannot use --tmp '%s': %s", tmp, strerror(ENOTDIR));
		else if (access(tmp, W_OK | X_OK) != 0)
			mr_defer("cannot use --tmp '%s': %s", tmp, strerror(errno));
		else
			tmp = NULL;
		rc = tmp ? MR_ERR_IO : MR_OK;
	}
	return mr_agree(c->comm, rc);
}

/* The in-memory phases of a job that combines: the table shuffled by hash,
 * reduced into a table, finished, sorted. */
static int in_memory(mr_ctx *c, mr_table **table, double *t, mr_frames *res)
{
	int rc = MR_OK;
	if (c->nranks > 1) {
		/* With one rank the map table is already the reduced one. */
		mr_buf recv = {0};
		rc = mr_end_phase(c, MR_PHASE_SHUFFLE, t, mr_shuffle(c, table, &recv));
		if (rc == MR_OK)
			rc = mr_end_phase(c, MR_PHASE_REDUCE, t, mr_reduce(c, &recv, table));
		mr_buf_release(&recv);
	}
	if (rc == MR_OK)
		rc = mr_agree(c->comm, mr_finish(c, *table));
	if (rc == MR_OK) {
		rc = mr_end_phase(c, MR_PHASE_ORDER, t, mr_order(c, table, res));
		c->count[MR_C_KEYS_OUT] = res->pairs;
	}
	return rc;
}

/* After map, by the job's plan: in memory if every rank's table fitted
 * (the fast path), else by streaming runs; a map-only job's collected
 * records are its result. */
static int after_map(mr_ctx *c, mr_table **table, mr_stream *st, double *t, mr_frames *res)
{
	enum mr_plan plan = mr_plan_of(c);
	if (plan == MR_PLAN_MAP_ONLY) {
		*res = st->collect;
		mr_frames_init(&st->collect, st->unit);
		c->count[MR_C_KEYS_OUT] = res->pairs;
		return MR_OK;
	}
	int rc = MR_OK;
	if (plan == MR_PLAN_COMBINE) {
		int spilled = st->spilled, any = 0;
		MR_MPI(MPI_Allreduce(&spilled, &any, 1, MPI_INT, MPI_LOR, c->comm));
		if (!any)
			return in_memory(c, table, t, res);
		mr_verbose("memory: tables outgrew the budget; the job goes on by sorted runs");
		rc = mr_stream_table(c, st, *table, st->spilled);
		mr_table_free(table);
	} else {
		rc = mr_stream_collected(c, st, st->spilled);
	}
	rc = mr_agree(c->comm, rc);
	return rc == MR_OK ? mr_stream_phases(c, st, t, res) : rc;
}

/* The phases, from the inputs to the renamed output file. */
static int run_phases(mr_ctx *c)
{
	double t = mr_now();
	int rc = mr_output_check(c);
	mr_range *ranges = NULL;
	size_t nranges = 0;
	if (rc == MR_OK)
		rc = mr_split(c, &ranges, &nranges);
	rc = mr_end_phase(c, MR_PHASE_SPLIT, &t, rc);

	mr_table *table = NULL;
	mr_stream st;
	enum mr_plan plan = mr_plan_of(c);
	mr_stream_init(&st, plan == MR_PLAN_COMBINE ? 8 : 1);
	if (rc == MR_OK) {
		rc = mr_map_agree(c, mr_map(c, ranges, nranges, &table, &st));
		/* Malformed records are named even if map failed elsewhere; a
		 * rank that failed at once has rejected none. */
		int rrc = mr_rejects_gather(c, rc);
		rc = mr_end_phase(c, MR_PHASE_MAP, &t, rc != MR_OK ? rc : rrc);
	}
	free(ranges);

	mr_frames res;
	mr_frames_init(&res, mr_values_of(c->job).kind == MR_VK_BYTES ? 1 : 8);
	if (rc == MR_OK)
		rc = after_map(c, &table, &st, &t, &res);
	mr_stream_release(c, &st);
	mr_table_free(&table);
	if (rc == MR_OK) {
		c->write_start = t;
		rc = mr_write(c, &res);
		c->phase[MR_PHASE_WRITE] = mr_now() - t;
	}
	mr_frames_release(&res, &c->spill);
	return rc;
}

int mr_run(const mr_job *job, const mr_config *cfg, MPI_Comm comm)
{
	mr_ctx c = {
		.job = job, .cfg = cfg, .changed = UINT64_MAX, .spill = MR_SPILL_INIT(cfg->tmpdir)};
	MR_MPI(MPI_Comm_dup(comm, &c.comm));
	MR_MPI(MPI_Comm_set_errhandler(c.comm, MPI_ERRORS_RETURN));
	MR_MPI(MPI_Comm_rank(c.comm, &c.rank));
	MR_MPI(MPI_Comm_size(c.comm, &c.nranks));
	mr_log_setup(c.rank, cfg->verbosity);
	mr_cleanup_on_signals();
	mr_watchdog_start(cfg->timeout, c.rank);
	double t0 = mr_now();

	int rc = check_job(job, cfg);
	if (rc == MR_OK)
		rc = set_budget(&c);
	if (rc == MR_OK)
		rc = run_phases(&c);
	if (rc == MR_OK)
		rc = mr_report(&c, mr_now() - t0);
	mr_cleanup_now(); /* a failed run's temporary files */
	if (rc != MR_OK)
		mr_deferred_say(c.comm); /* any not said at a phase's end */
	/* The same status on every rank: the failure a rank saw itself, rather
	 * than "another rank failed" (the highest, if several differ). */
	int mine = rc == MR_ERR_REMOTE ? INT_MIN : rc;
	MR_MPI(MPI_Allreduce(&mine, &rc, 1, MPI_INT, MPI_MAX, c.comm));
	if (rc == INT_MIN)
		rc = MR_ERR_REMOTE;

	free(c.rejected_first);
	mr_buf_release(&c.files.paths);
	free(c.files.offsets);
	free(c.files.sizes);
	free(c.files.stamps);
	mr_spill_close(&c.spill);
	MR_MPI(MPI_Comm_free(&c.comm));
	return rc;
}
