/*
 * null: reads every line and emits nothing, so the engine can be tested and
 * timed on its own (split, read, and the collectives with empty data).
 */
#include "jobs.h"

static int map(const char *rec, size_t len, mr_emitter *out)
{
	(void)rec;
	(void)len;
	(void)out;
	return MR_OK;
}

static int keep(mr_value *acc, const mr_value *in)
{
	(void)acc;
	(void)in;
	return MR_OK;
}

const mr_job mr_job_null = {
	.name = "null",
	.summary = "read every line and emit nothing (tests the engine alone)",
	.record = MR_RECORD_LINE,
	.value_type = MR_U64,
	.map = map,
	.combine = keep,
};
