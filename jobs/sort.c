/*
 * sort: every input line, in byte order (memcmp, a shorter line first on a
 * tie), as `LC_ALL=C sort` orders them, duplicates kept.  The result is
 * records.  Lines are keys with no value; the engine partitions them by
 * sampled key ranges and merges sorted runs, spilling past --mem, so rank
 * r's lines all come before rank r+1's: the TeraSort shape.
 */
#include "jobs.h"

static int map(const char *line, size_t len, mr_emitter *out)
{
	return mr_emit_bytes(out, line, len, NULL, 0);
}

/* A line and how often it came: that many records. */
static int reduce(void *state, const char *line, size_t len, mr_iter *values, mr_emitter *out)
{
	(void)state;
	int rc = MR_OK;
	for (uint64_t n = mr_iter_count(values); n > 0 && rc == MR_OK; n--)
		rc = mr_emit_record(out, line, len);
	return rc;
}

const mr_job mr_job_sort = {
	.name = "sort",
	.summary = "every input line, sorted in byte order (as LC_ALL=C sort), duplicates kept",
	.record = MR_RECORD_LINE,
	.value_type = MR_BYTES,
	.result = MR_RESULT_RECORDS,
	.map = map,
	.reduce = reduce,
};
