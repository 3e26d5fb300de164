/*
 * invindex: the inverted index.  For every word (the word record rule, as
 * wordcount's), the sorted list of the input files that contain it, as file
 * numbers: indices into /inputs, whose paths come in input order (each
 * directory walked in byte order).  Each word emits its record's file
 * number; the engine's set values keep each word's numbers sorted and
 * distinct.
 */
#include "jobs.h"

static int map(const char *word, size_t len, mr_emitter *out)
{
	return mr_emit(out, word, len, (mr_value){.u = mr_record_origin(out).file});
}

const mr_job mr_job_invindex = {
	.name = "invindex",
	.summary = "for every word, the sorted list of input files that contain it",
	.record = MR_RECORD_WORD,
	.value_type = MR_U64_SET,
	.map = map,
};
