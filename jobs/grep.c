/*
 * grep PATTERN: how often each match of a POSIX extended regular expression
 * occurs, like `grep -ohE PATTERN FILES | sort | uniq -c`; with --lines, how
 * often each whole matching line occurs, like `grep -hE PATTERN FILES | sort |
 * uniq -c`.  Lines are the engine's line records, so no match spans two.
 * Matching is byte-wise, in the C locale, as with LC_ALL=C grep -a: '.'
 * matches any byte, NUL too.
 */
#define _GNU_SOURCE /* re_compile_pattern, re_syntax_options */
#include "jobs.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct grep {
	regex_t re;
	int lines; /* count whole lines, not matches */
};

static const mr_option options[] = {
	{"lines", 0, "count each whole matching line instead of each match", NULL},
	{NULL, 0, NULL, NULL},
};

static int setup(int argc, char **argv, int is_rank0, void **state)
{
	struct grep *g = calloc(1, sizeof(*g));
	if (!g)
		return MR_ERR_NOMEM;
	const char *pattern = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--lines"))
			g->lines = 1;
		else
			pattern = argv[i]; /* the one positional argument, last */
	}
	/* What regcomp(REG_EXTENDED) does, but for one syntax bit: POSIX's
	 * '.' does not match NUL (RE_DOT_NOT_NULL), grep -a's does, and lines
	 * may hold NUL bytes.  Newlines are moot (a line holds none); matches
	 * need the offsets, so no REG_NOSUB; the fastmap speeds the search,
	 * and regfree frees it. */
	if (!pattern)
		pattern = "";
	g->re.fastmap = malloc(256);
	if (!g->re.fastmap) {
		free(g);
		return MR_ERR_NOMEM;
	}
	reg_syntax_t was = re_syntax_options;
	re_syntax_options = RE_SYNTAX_POSIX_EXTENDED & ~RE_DOT_NOT_NULL;
	const char *why = re_compile_pattern(pattern, strlen(pattern), &g->re);
	re_syntax_options = was;
	if (why) {
		if (is_rank0)
			fprintf(stderr, "mpimr: grep: bad pattern '%s': %s\n", pattern, why);
		regfree(&g->re);
		free(g);
		return MR_ERR_USAGE;
	}
	g->re.newline_anchor = 0;
	re_compile_fastmap(&g->re);
	*state = g;
	return MR_OK;
}

static void teardown(void *state)
{
	struct grep *g = state;
	if (g) {
		regfree(&g->re);
		free(g);
	}
}

/*
 * Every match in the line, left to right and not overlapping, as grep -o
 * finds them: the next search starts where a match ended, and an empty match
 * is not counted (the search moves on one byte).  REG_STARTEND bounds the
 * search by offsets, so the line needs no NUL and may hold NUL bytes.
 */
static int map(const char *line, size_t len, mr_emitter *out)
{
	const struct grep *g = mr_state(out);
	size_t at = 0;
	while (at <= len) {
		regmatch_t m = {.rm_so = (regoff_t)at, .rm_eo = (regoff_t)len};
		if (regexec(&g->re, line, 1, &m, REG_STARTEND | (at > 0 ? REG_NOTBOL : 0)) != 0)
			return MR_OK;
		if (g->lines)
			return mr_emit(out, line, len, (mr_value){.u = 1});
		size_t so = (size_t)m.rm_so, eo = (size_t)m.rm_eo;
		if (eo > so) {
			int rc = mr_emit(out, line + so, eo - so, (mr_value){.u = 1});
			if (rc != MR_OK)
				return rc;
			at = eo;
		} else {
			at = so + 1;
		}
	}
	return MR_OK;
}

const mr_job mr_job_grep = {
	.name = "grep",
	.summary = "count every match of a POSIX extended regular expression (or, with "
		   "--lines, every matching line)",
	.record = MR_RECORD_LINE,
	.value_type = MR_U64,
	.args = "PATTERN",
	.nargs = 1,
	.options = options,
	.setup = setup,
	.teardown = teardown,
	.map = map,
	.combine = mr_combine_sum,
};
