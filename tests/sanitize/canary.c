/*
 * A deliberately broken MPI program: the checking tests run it under the
 * same launcher, options and suppressions as mpimr and expect the tool to
 * catch it, so that a suppression file or an option that hides everything
 * fails CI instead of passing it.
 *
 *   canary leak      a block of ours, lost after MPI_Init
 *   canary overflow  a heap read one past the end
 *   canary ubsan     a signed integer overflow
 *   canary uninit    a branch on uninitialised heap memory
 */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *volatile lost;

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	const char *what = argc > 1 ? argv[1] : "";
	int rc = 0;
	if (strcmp(what, "leak") == 0) {
		lost = malloc(4242);
		lost = NULL;
	} else if (strcmp(what, "overflow") == 0) {
		char *p = malloc(8);
		volatile size_t i = 8;
		memset(p, 1, 8);
		rc = p[i] == 42;
		free(p);
	} else if (strcmp(what, "ubsan") == 0) {
		volatile int x = INT_MAX;
		rc = x + argc > 0;
	} else if (strcmp(what, "uninit") == 0) {
		int *p = malloc(sizeof(*p));
		if (*(volatile int *)p == 42)
			rc = 1;
		free(p);
	} else {
		fprintf(stderr, "usage: canary leak|overflow|ubsan|uninit\n");
		rc = 2;
	}
	MPI_Finalize();
	return rc;
}
