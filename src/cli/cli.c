/*
 * The mpimr command line: job subcommands, `jobs`, `show`, --help, --version.
 * Parses options into an mr_config and calls the library; exits nowhere.
 */
#include "cli/cli.h"
#include "core/show.h"
#include "core/util.h"

#include <errno.h>
#include <getopt.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

#define EXIT_USAGE 2

/* The program's name as run (mpimr, or a user's program built on mr_main). */
static const char *prog = "mpimr";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s JOB [OPTIONS] INPUT... -o OUTPUT.h5\n"
		"       mpirun -np N %s JOB [OPTIONS] INPUT... -o OUTPUT.h5\n"
		"       %s jobs                     list the jobs\n"
		"       %s show FILE.h5 [OPTIONS]   print a result as text (tsv, csv, jsonl)\n"
		"       %s --help | --version\n"
		"\n"
		"Run '%s JOB --help' for a job's options.\n",
		prog, prog, prog, prog, prog, prog);
}

static void job_usage(FILE *f, const mr_job *job)
{
	fprintf(f, "usage: %s %s [OPTIONS]%s%s INPUT... -o OUTPUT.h5\n%s.\n", prog, job->name,
		job->args ? " " : "", job->args ? job->args : "", job->summary);
	for (const mr_option *o = job->options; o && o->name; o++) {
		char opt[64];
		snprintf(opt, sizeof(opt), "--%s%s%s", o->name, o->takes_value ? " " : "",
			 !o->takes_value ? ""
			 : o->value_name ? o->value_name
					 : "VALUE");
		fprintf(f, "  %-20s  %s\n", opt, o->help ? o->help : "");
	}
	fprintf(f, "INPUT is a file or a directory (read recursively, in byte order of\n"
		   "full paths). Run under mpirun or srun for more ranks; alone, it is one rank.\n"
		   "\n"
		   "  -o, --output FILE     the HDF5 file to write (required)\n"
		   "      --force           replace FILE if it exists, once the job succeeds\n"
		   "      --order ORDER     count: value (its first field, or a set's size)\n"
		   "                        descending, then key (default);\n"
		   "                        key: key bytes ascending; none: rank order, fastest\n"
		   "                        (sort and stream --reduce write key order, map-only\n"
		   "                        stream input order, whatever this says)\n"
		   "      --chunk SIZE      bytes per input range (default 64M)\n"
		   "      --shuffle-round SIZE  bytes a rank sends per exchange round\n"
		   "                        (default 256M, 1K at least)\n"
		   "      --mappers WHICH   ranks that read input: cores (default): on a node\n"
		   "                        with more ranks than CPUs, as many as it has CPUs;\n"
		   "                        all: every rank\n"
		   "      --mem SIZE        bytes of data a rank may hold before it spills to\n"
		   "                        disk (default: 3/4 of its share of what it can see,\n"
		   "                        cgroup limit, RLIMIT_AS or MemAvailable, over the\n"
		   "                        node's ranks, less 32 MiB; -v prints it)\n"
		   "      --tmp DIR         where spill files go (default $TMPDIR, else /tmp)\n"
		   "      --timeout SECONDS end the run if a rank gets nothing done (reads,\n"
		   "                        sends, writes, finishes no phase) for so long;\n"
		   "                        waiting for other ranks counts as nothing done\n"
		   "                        (default: no limit)\n"
		   "      --stats FILE      also write per-phase, per-rank statistics as JSON\n"
		   "      --progress        show map progress on a terminal\n"
		   "      --strict          a record the job finds malformed fails the run\n"
		   "                        (by default it is counted, named and skipped)\n"
		   "      --all-rejected-ok a run whose records were all rejected (no pair came\n"
		   "                        out) is a result with no keys (by default it fails)\n"
		   "  -q, --quiet           print errors and warnings only\n"
		   "  -v, --verbose         add min/mean/max over ranks to each phase line\n"
		   "  -h, --help            print this help\n"
		   "\n"
		   "SIZE takes a K, M or G suffix (powers of 1024). Exit status: 0 done,\n"
		   "1 the job failed (the message says why), 2 bad usage.\n");
}

int mr_parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (!s || *s < '0' || *s > '9') /* strtoull would skip blanks and take '-' */
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	}
	if (shift && (*end == 'i' || *end == 'I')) /* 64MiB */
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static const mr_job *find_job(const mr_job *const *jobs, const char *name)
{
	for (size_t i = 0; jobs[i]; i++)
		if (strcmp(jobs[i]->name, name) == 0)
			return jobs[i];
	return NULL;
}

/* A usage error, printed by rank 0 only. */
static int bad_usage(const mr_job *job, const char *fmt, ...) MR_PRINTF(2, 3);
static int bad_usage(const mr_job *job, const char *fmt, ...)
{
	if (mr_log_rank() == 0) {
		va_list ap;
		va_start(ap, fmt);
		fputs("mpimr: ", stderr);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, "\nTry '%s %s --help'.\n", prog, job->name);
	}
	return EXIT_USAGE;
}

/* The option getopt just refused: a long one as typed, or a short one alone
 * (inside a group such as -xq, argv[optind - 1] is not the option). */
static const char *option_name(char **argv, char buf[3])
{
	const char *word = argv[optind - 1];
	if (word[0] == '-' && word[1] == '-')
		return word;
	buf[0] = '-';
	buf[1] = (char)optopt;
	return buf;
}

enum {
	OPT_FORCE = 256,
	OPT_ORDER,
	OPT_CHUNK,
	OPT_ROUND,
	OPT_MAPPERS,
	OPT_STATS,
	OPT_PROGRESS,
	OPT_STRICT,
	OPT_MEM,
	OPT_TMP,
	OPT_TIMEOUT,
	OPT_ALL_REJECTED_OK,
	OPT_JOB = 1000
};

/* The exit status of what only prints (help, --version, jobs): 0, or 1
 * when standard output could not take it (mr_close_stdout said why). */
static int printed(void)
{
	return mr_close_stdout(0) == MR_OK ? 0 : 1;
}

static int parse_options(const mr_job *job, int argc, char **argv, mr_config *cfg,
			 const struct option *opts, char **dashed, char **job_argv, int *job_argc);

/* Fills cfg from argv, and job_argv with the job's own options (spelled as
 * in dashed[], "--name") and positional arguments; returns -1 to run, or an
 * exit status. */
static int parse_job_args(const mr_job *job, int argc, char **argv, mr_config *cfg, char **dashed,
			  char **job_argv, int *job_argc)
{
	static const struct option engine_opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, OPT_FORCE},
		{"order", required_argument, NULL, OPT_ORDER},
		{"chunk", required_argument, NULL, OPT_CHUNK},
		{"shuffle-round", required_argument, NULL, OPT_ROUND},
		{"mappers", required_argument, NULL, OPT_MAPPERS},
		{"stats", required_argument, NULL, OPT_STATS},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"mem", required_argument, NULL, OPT_MEM},
		{"tmp", required_argument, NULL, OPT_TMP},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"all-rejected-ok", no_argument, NULL, OPT_ALL_REJECTED_OK},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
	};
	/* The engine's options, then the job's: getopt returns OPT_JOB + i
	 * for the job's option i, which goes to the job's own argv. */
	size_t nengine = sizeof(engine_opts) / sizeof(engine_opts[0]), njob = 0;
	while (job->options && job->options[njob].name)
		njob++;
	struct option *opts = mr_calloc(nengine + njob + 1, sizeof(*opts));
	memcpy(opts, engine_opts, sizeof(engine_opts));
	for (size_t i = 0; i < njob; i++)
		opts[nengine + i] = (struct option){job->options[i].name,
						    job->options[i].takes_value ? required_argument
										: no_argument,
						    NULL, OPT_JOB + (int)i};
	*job_argc = 0;
	int rc = parse_options(job, argc, argv, cfg, opts, dashed, job_argv, job_argc);
	free(opts);
	if (rc >= 0)
		return rc;
	if (!cfg->output)
		return bad_usage(job, "no output file: give -o FILE.h5");
	if (argc - optind < job->nargs)
		return bad_usage(job, "missing %s", job->args ? job->args : "arguments");
	for (int i = 0; i < job->nargs; i++)
		job_argv[(*job_argc)++] = argv[optind++];
	job_argv[*job_argc] = NULL;
	if (optind >= argc)
		return bad_usage(job, "no input files or directories");
	cfg->inputs = (const char *const *)(argv + optind);
	cfg->ninputs = (size_t)(argc - optind);
	return -1;
}

/* The getopt loop of parse_job_args: -1 when all options were fine.  A
 * positional argument that starts with '-' (a pattern) goes after "--". */
static int parse_options(const mr_job *job, int argc, char **argv, mr_config *cfg,
			 const struct option *opts, char **dashed, char **job_argv, int *job_argc)
{
	opterr = 0;
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, ":o:qvh", opts, NULL)) != -1) {
		if (o >= OPT_JOB) {
			job_argv[(*job_argc)++] = dashed[o - OPT_JOB];
			if (optarg)
				job_argv[(*job_argc)++] = optarg;
			continue;
		}
		switch (o) {
		case 'o': cfg->output = optarg; break;
		case OPT_FORCE: cfg->force = 1; break;
		case OPT_ORDER:
			if (!strcmp(optarg, "count"))
				cfg->order = MR_ORDER_COUNT;
			else if (!strcmp(optarg, "key"))
				cfg->order = MR_ORDER_KEY;
			else if (!strcmp(optarg, "none"))
				cfg->order = MR_ORDER_NONE;
			else
				return bad_usage(job, "unknown order '%s' (count, key or none)",
						 optarg);
			break;
		case OPT_CHUNK:
		case OPT_ROUND:
		case OPT_MEM: {
			uint64_t v;
			if (!mr_parse_size(optarg, &v) || v == 0)
				return bad_usage(job, "bad size '%s'", optarg);
			/* Smaller rounds are right but cost a collective each
			 * few bytes: a 3 MB input at np 3 took 6.5 s at 1 byte. */
			if (o == OPT_ROUND && v < 1024)
				return bad_usage(job,
						 "--shuffle-round %s is too small (1K at least)",
						 optarg);
			*(o == OPT_CHUNK ? &cfg->chunk
			  : o == OPT_MEM ? &cfg->mem
					 : &cfg->shuffle_round) = v;
			break;
		}
		case OPT_TMP: cfg->tmpdir = optarg; break;
		case OPT_TIMEOUT: {
			char *end;
			errno = 0;
			cfg->timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(cfg->timeout > 0) ||
			    cfg->timeout > 1e9)
				return bad_usage(job, "bad --timeout '%s' (seconds, more than 0)",
						 optarg);
			break;
		}
		case OPT_MAPPERS:
			if (!strcmp(optarg, "cores") || !strcmp(optarg, "all"))
				cfg->map_all = !strcmp(optarg, "all");
			else
				return bad_usage(job, "unknown mappers '%s' (cores or all)",
						 optarg);
			break;
		case OPT_STATS: cfg->stats_json = optarg; break;
		case OPT_PROGRESS: cfg->progress = 1; break;
		case OPT_STRICT: cfg->strict = 1; break;
		case OPT_ALL_REJECTED_OK: cfg->all_rejected_ok = 1; break;
		case 'q': cfg->verbosity = MR_QUIET; break;
		case 'v': cfg->verbosity = MR_VERBOSE; break;
		case 'h':
			if (mr_log_rank() != 0)
				return 0;
			job_usage(stdout, job);
			return printed();
		case ':':
			return bad_usage(job, "option '%s' needs a value",
					 option_name(argv, (char[3]){0}));
		default:
			return bad_usage(job, "unknown option '%s'",
					 option_name(argv, (char[3]){0}));
		}
	}
	return -1;
}

static int run_job(const mr_job *job, int argc, char **argv)
{
	/* getopt reorders argv: keep the command line as given, for the file. */
	char **given = mr_malloc(mr_mul((size_t)argc + 1, sizeof(char *)));
	memcpy(given, argv, (size_t)argc * sizeof(char *));
	given[argc] = NULL;

	mr_tune_open_mpi();
	MR_MPI(MPI_Init(&argc, &argv));
	int rank;
	MR_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
	mr_log_setup(rank, MR_NORMAL);
	mr_config cfg = {.verbosity = MR_NORMAL, .argc = argc, .argv = given};
	/* The job sees its options spelled "--name", however they were given
	 * (--name=VALUE, or abbreviated). */
	size_t njob = 0;
	while (job->options && job->options[njob].name)
		njob++;
	char **dashed = mr_calloc(njob + 1, sizeof(char *));
	for (size_t i = 0; i < njob; i++) {
		dashed[i] = mr_malloc(strlen(job->options[i].name) + 3);
		sprintf(dashed[i], "--%s", job->options[i].name);
	}
	char **job_argv = mr_calloc((size_t)argc + 1, sizeof(char *));
	int job_argc = 0;
	int status = parse_job_args(job, argc, argv, &cfg, dashed, job_argv, &job_argc);
	if (status < 0 && job->setup &&
	    job->setup(job_argc, job_argv, rank == 0, &cfg.job_state) != MR_OK)
		status = EXIT_USAGE;
	if (status < 0) {
		const mr_job *run = job->variant ? job->variant(cfg.job_state) : job;
		int rc = mr_run(run, &cfg, MPI_COMM_WORLD);
		status = rc == MR_OK ? 0 : rc == MR_ERR_USAGE ? EXIT_USAGE : 1;
		if (job->teardown)
			job->teardown(cfg.job_state);
	}
	MR_MPI(MPI_Finalize());
	for (size_t i = 0; i < njob; i++)
		free(dashed[i]);
	free(dashed);
	free(job_argv);
	free(given);
	return status;
}

#define SHOW_USAGE "show FILE.h5 [--format tsv|csv|jsonl] [--top N] [--incomplete]"

static void show_help(void)
{
	printf("usage: %s " SHOW_USAGE "\n"
	       "Prints a result file's table, one row per key (or per record), in file order.\n"
	       "\n"
	       "      --format FORMAT   tsv (default): key<TAB>value lines; in keys and byte\n"
	       "                        values, tab, newline, carriage return and backslash\n"
	       "                        print as \\t, \\n, \\r, \\\\; records print as they are;\n"
	       "                        csv: RFC 4180 with a header row (key,value; key and\n"
	       "                        the field names; record), bytes as they are;\n"
	       "                        jsonl: one JSON object per row ({\"key\": ..., \"value\":\n"
	       "                        ...}, fields by name, {\"record\": ...}); a string that\n"
	       "                        is not UTF-8 goes as key_b64, value_b64 or record_b64,\n"
	       "                        its bytes in base64\n"
	       "      --top N           print the first N rows only\n"
	       "      --incomplete      print a file that lacks complete=1 (a run that did\n"
	       "                        not finish writes it last), after a warning; without\n"
	       "                        this option such a file is refused\n"
	       "  -h, --help            print this help\n",
	       prog);
}

/* A usage error of `show`: the message, then the usage line. */
static int show_bad_usage(const char *fmt, ...) MR_PRINTF(1, 2);
static int show_bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("mpimr: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s " SHOW_USAGE "\n", prog);
	return EXIT_USAGE;
}

/* --top's count: digits only (strtoll would take blanks and a sign); one
 * past LLONG_MAX is as good as all. */
static bool parse_top(const char *s, long long *top)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	*top = strtoll(s, &end, 10);
	return *end == '\0';
}

/* --format's name; false for any other. */
static bool parse_format(const char *s, mr_show_format *format)
{
	static const char *const names[] = {"tsv", "csv", "jsonl"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i])) {
			*format = (mr_show_format)i;
			return true;
		}
	return false;
}

static int show_command(int argc, char **argv)
{
	static const struct option opts[] = {
		{"top", required_argument, NULL, 't'},
		{"format", required_argument, NULL, 'f'},
		{"incomplete", no_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long long top = -1;
	bool incomplete = false;
	mr_show_format format = MR_SHOW_TSV;
	opterr = 0;
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			if (!parse_top(optarg, &top)) {
				fprintf(stderr, "mpimr: bad count '%s' for --top\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			if (!parse_format(optarg, &format))
				return show_bad_usage("unknown format '%s' for --format (tsv, csv "
						      "or jsonl)",
						      optarg);
			break;
		case 'i': incomplete = true; break;
		case 'h': show_help(); return printed();
		case ':':
			return show_bad_usage("option '%s' needs a value",
					      option_name(argv, (char[3]){0}));
		default:
			return show_bad_usage("unexpected argument '%s'",
					      option_name(argv, (char[3]){0}));
		}
	}
	if (optind + 1 < argc)
		return show_bad_usage("unexpected argument '%s'", argv[optind + 1]);
	if (optind >= argc) {
		fprintf(stderr, "usage: %s " SHOW_USAGE "\n", prog);
		return EXIT_USAGE;
	}
	return mr_show(argv[optind], top, incomplete, format) == MR_OK ? 0 : 1;
}

int mr_main(int argc, char **argv, const mr_job *const *jobs)
{
	if (argc > 0 && argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		prog = slash ? slash + 1 : argv[0];
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return printed();
	}
	if (!strcmp(cmd, "--version")) {
		unsigned maj, min, rel;
		H5get_libversion(&maj, &min, &rel);
		int mv, ms;
		MPI_Get_version(&mv, &ms);
		printf("mpimr %s (output format %d; HDF5 %u.%u.%u; MPI %d.%d)\n", MR_VERSION,
		       MR_FORMAT, maj, min, rel, mv, ms);
		return printed();
	}
	if (!strcmp(cmd, "jobs")) {
		for (size_t i = 0; jobs[i]; i++)
			printf("%-12s %s\n", jobs[i]->name, jobs[i]->summary);
		return printed();
	}
	if (!strcmp(cmd, "show"))
		return show_command(argc - 1, argv + 1);
	const mr_job *job = find_job(jobs, cmd);
	if (!job) {
		fprintf(stderr, "mpimr: unknown job or command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	return run_job(job, argc - 1, argv + 1);
}
