/*
 * wordcount: how often each word occurs.  A word is a maximal run of bytes
 * that are none of the six ASCII whitespace bytes; the engine's word record
 * rule cuts them, and the built-in count callbacks count each once (the
 * engine runs them as one fused loop).
 */
#include "jobs.h"

const mr_job mr_job_wordcount = {
	.name = "wordcount",
	.summary = "count every word (runs of non-whitespace bytes)",
	.record = MR_RECORD_WORD,
	.value_type = MR_U64,
	.map = mr_map_count,
	.combine = mr_combine_sum,
};
