/* The built-in jobs, one per file in jobs/, listed in jobs.c. */
#ifndef MR_JOBS_H
#define MR_JOBS_H

#include "mpimr.h"

extern const mr_job mr_job_wordcount;
extern const mr_job mr_job_grep;
extern const mr_job mr_job_invindex;
extern const mr_job mr_job_groupby;
extern const mr_job mr_job_sort;
extern const mr_job mr_job_stream;
extern const mr_job mr_job_null;

/* NULL-terminated, in the order `mpimr jobs` lists them. */
extern const mr_job *const mr_builtin_jobs[];

#endif
