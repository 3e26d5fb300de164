/*
 * wordcount: how often each word occurs.  A word is a maximal run of bytes
 * that are none of the six ASCII whitespace bytes; the engine's word record
 * rule cuts them, so map emits each record once.
 */
#include "jobs.h"

static int map(const char *word, size_t len, mr_emitter *out)
{
	return mr_emit(out, word, len, (mr_value){.u = 1});
}

static int sum(mr_value *acc, const mr_value *in)
{
	acc->u += in->u;
	return MR_OK;
}

const mr_job mr_job_wordcount = {
	.name = "wordcount",
	.summary = "count every word (runs of non-whitespace bytes)",
	.record = MR_RECORD_WORD,
	.value_type = MR_U64,
	.map = map,
	.combine = sum,
};
