/*
 * sumprod: for every key, the sum of a*b over the input lines "key,a,b".
 * A job written outside mpimr's tree and built against the installed
 * library (see ../README.md).  Run it as
 *
 *   mpirun -np 4 ./sumprod sumprod data.csv -o out.h5
 *
 * Input: one record per line, three fields separated by commas (no quoting:
 * a key holds no comma).  The key is the bytes before the first comma, as
 * they are (spaces kept; not empty); a and b are finite numbers as C's
 * strtod reads them ("3", "-0.5", "1e3"), blanks around them allowed.  A '\r'
 * ending the line (a Windows file) is ignored.  Empty lines and lines
 * starting with '#' (a header, say) are skipped.
 *
 * Any other line fails the whole run: a sum that silently left lines out
 * would look right and be wrong.  map prints the line and returns an error;
 * the engine then stops every rank, exits with status 1 and writes no file.
 */
#include <math.h>
#include <mpimr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the number in s[0..len) into *x; false unless that is all there is. */
static int parse_number(const char *s, size_t len, double *x)
{
	char buf[64], *end;
	if (len >= sizeof buf)
		return 0;
	memcpy(buf, s, len); /* strtod needs a NUL, and records have none */
	buf[len] = '\0';
	*x = strtod(buf, &end);
	if (end == buf) /* no number at all */
		return 0;
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	return *end == '\0' && isfinite(*x);
}

/* Called once for every line, on the rank that reads it: rec[0..len) is the
 * line without its '\n', lent to us until we return. */
static int map(const char *rec, size_t len, mr_emitter *out)
{
	if (len == 0 || rec[0] == '#' || (len == 1 && rec[0] == '\r'))
		return MR_OK; /* an empty line or a comment */
	const char *end = rec + len;
	const char *c1 = memchr(rec, ',', len);
	const char *c2 = c1 ? memchr(c1 + 1, ',', (size_t)(end - c1 - 1)) : NULL;
	double a, b;
	if (!c2 || c1 == rec || !parse_number(c1 + 1, (size_t)(c2 - c1 - 1), &a) ||
	    !parse_number(c2 + 1, (size_t)(end - c2 - 1), &b)) {
		fprintf(stderr, "sumprod: not a line KEY,A,B: '%.*s'\n",
			(int)(len < 200 ? len : 200), rec);
		return MR_ERR_JOB;
	}
	/* mr_emit copies the key, so it may point into rec. */
	return mr_emit(out, rec, (size_t)(c1 - rec), (mr_value){.f = a * b});
}

/* Adds the value *in to the sum *acc for one key.  The engine calls it while
 * mapping and again after the shuffle, in no fixed order, so it must be
 * associative and commutative.  A float sum is, up to rounding: the last
 * bits of a sum may differ with the number of ranks. */
static int sum(mr_value *acc, const mr_value *in)
{
	acc->f += in->f;
	return MR_OK;
}

static const mr_job sumprod = {
	.name = "sumprod", /* the subcommand: ./sumprod sumprod INPUT... */
	.summary = "for each key, the sum of a*b over lines KEY,A,B",
	.record = MR_RECORD_LINE,
	.value_type = MR_F64,
	.map = map,
	.combine = sum,
};

int main(int argc, char **argv)
{
	/* mpimr's whole command line (options, `jobs`, `show`, --help) over our
	 * own table of jobs, which ends with NULL. */
	static const mr_job *const jobs[] = {&sumprod, NULL};
	return mr_main(argc, argv, jobs);
}
