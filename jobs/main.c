/* The mpimr program: the library's command line over the built-in jobs. */
#include "jobs.h"

int main(int argc, char **argv)
{
	return mr_main(argc, argv, mr_builtin_jobs);
}
