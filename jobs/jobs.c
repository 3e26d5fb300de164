#include "jobs.h"

const mr_job *const mr_builtin_jobs[] = {
	&mr_job_wordcount, &mr_job_grep,   &mr_job_invindex, &mr_job_groupby,
	&mr_job_sort,	   &mr_job_stream, &mr_job_null,     NULL,
};
