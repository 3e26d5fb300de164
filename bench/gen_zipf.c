/*
 * gen_zipf: write a synthetic text corpus whose words follow a Zipf law.
 *
 *   gen_zipf --bytes SIZE --vocab N --files F --seed S [--exponent E]
 *            --out DIR [-v]
 *
 * Writes F files DIR/part-00000.txt, DIR/part-00001.txt, ... that together
 * hold about SIZE bytes (K, M, G, T suffixes are powers of 1024; plain bytes
 * are allowed).  Each word is drawn independently from a Zipf(E)
 * distribution over N distinct words: the word of rank r (1-based) has
 * probability proportional to 1 / r^E (E defaults to 1.0; 0 is uniform).
 * Lines hold 8 to 16 words separated by single spaces and end with '\n'.
 *
 * The word of a rank is a fixed function of the rank alone (not of the seed):
 * lowercase letters, 1 to 12 of them, with lengths mixed so that the average
 * word in the text is about 5 to 7 bytes; different ranks always give
 * different words.  The text is a fixed function of the arguments: the
 * random numbers come from xoshiro256** seeded by splitmix64 from the seed
 * and the file number, so the same arguments give the same bytes.
 *
 * Sampling precomputes the CDF over the N ranks and finds each word by
 * binary search (narrowed by a guide table), so 200 MB take a few seconds.
 *
 * Prints nothing on success unless -v (then one summary line on stderr).
 * Exit status: 0 done, 1 a failure (cannot write, out of memory), 2 bad usage.
 *
 * Built by CMake as mpimr-gen-zipf; sizes parse as mpimr's own (mr_parse_size).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "mpimr.h"
#include <unistd.h>

#define MAXLEN 12	  /* longest word */
#define STRIDE 16	  /* bytes per word slot in the vocabulary */
#define BUFSZ  (1u << 20) /* output buffer */

static const char *usage_line = "usage: gen_zipf --bytes SIZE --vocab N --files F --seed S "
				"[--exponent E] --out DIR [-v]";

/* ---- random numbers ---------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

typedef struct {
	uint64_t s[4];
} rng_t;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

static void rng_seed(rng_t *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ splitmix64(&stream);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

/* uniform double in [0, 1) */
static double rng_u01(rng_t *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- vocabulary ---------------------------------------------------------- */

/*
 * Wanted length of a rank's word, from a hash of the rank.  The weights
 * (per 64) loosely follow English word lengths, shifted a little longer.
 */
static const unsigned char length_weights[MAXLEN + 1] = {
	0, 2, 6, 9, 9, 8, 7, 6, 5, 4, 3, 3, 2 /* sum 64 */
};

static unsigned wanted_length(uint64_t rank)
{
	uint64_t x = rank * 0xD1B54A32D192ED03ull;
	unsigned h = (unsigned)(splitmix64(&x) & 63);
	for (unsigned len = 1; len <= MAXLEN; len++) {
		if (h < length_weights[len])
			return len;
		h -= length_weights[len];
	}
	return MAXLEN;
}

/* (a * b) mod m for a, b < m < 2^62, without 128-bit integers */
static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
	uint64_t r = 0;
	a %= m;
	while (b) {
		if (b & 1) {
			r += a;
			if (r >= m)
				r -= m;
		}
		a += a;
		if (a >= m)
			a -= m;
		b >>= 1;
	}
	return r;
}

/*
 * Build the words of ranks 1..n into vocab (STRIDE bytes each) and their
 * lengths into lens.  Ranks are taken in order; each gets the next free
 * index in the class of its wanted length (or of the next longer length
 * when that class is full), and the index is spread over the 26^len words
 * of the class by a bijection: multiply by a unit mod 26^len (odd, not a
 * multiple of 13, near 0.618 * 26^len so that neighbours differ in every
 * letter) and add a constant of the class.  Same class and different index, or different
 * length: the words differ.
 */
static void build_vocab(uint64_t n, char *vocab, unsigned char *lens)
{
	uint64_t cap[MAXLEN + 1], used[MAXLEN + 1], mul[MAXLEN + 1], add[MAXLEN + 1];
	uint64_t x = 0x2545F4914F6CDD1Dull;
	cap[0] = 1;
	used[0] = 0;
	mul[0] = add[0] = 1;
	for (unsigned len = 1; len <= MAXLEN; len++) {
		cap[len] = cap[len - 1] * 26;
		used[len] = 0;
		mul[len] = (uint64_t)((double)cap[len] * 0.6180339887498949);
		while (mul[len] % 2 == 0 || mul[len] % 13 == 0)
			mul[len]++;
		add[len] = splitmix64(&x) % cap[len];
	}
	for (uint64_t i = 0; i < n; i++) {
		unsigned len = wanted_length(i + 1);
		while (used[len] >= cap[len])
			len++; /* 26^12 > any n we accept */
		uint64_t idx = used[len]++;
		uint64_t v = (mulmod(idx, mul[len], cap[len]) + add[len]) % cap[len];
		char *w = vocab + i * STRIDE;
		for (unsigned j = 0; j < len; j++) {
			w[j] = (char)('a' + v % 26);
			v /= 26;
		}
		lens[i] = (unsigned char)len;
	}
}

/* ---- sampling -------------------------------------------------------------- */

typedef struct {
	double *cdf;	 /* cdf[i] = P(rank <= i + 1); cdf[n - 1] = 1 */
	uint32_t *guide; /* guide[g] = first i with cdf[i] > g / ng */
	uint64_t n, ng;
} sampler_t;

static int sampler_init(sampler_t *s, uint64_t n, double exponent)
{
	s->n = n;
	s->ng = n < (1u << 20) ? n : (1u << 20);
	s->cdf = malloc(n * sizeof *s->cdf);
	s->guide = malloc((s->ng + 1) * sizeof *s->guide);
	if (!s->cdf || !s->guide)
		return -1;
	/* Sum from the smallest terms up for accuracy, then normalise. */
	double total = 0;
	for (uint64_t i = n; i-- > 0;)
		total += pow((double)(i + 1), -exponent);
	double acc = 0;
	for (uint64_t i = 0; i < n; i++) {
		acc += pow((double)(i + 1), -exponent);
		s->cdf[i] = acc / total;
	}
	s->cdf[n - 1] = 1.0;
	uint64_t i = 0;
	for (uint64_t g = 0; g <= s->ng; g++) {
		double t = (double)g / (double)s->ng;
		while (i < n - 1 && s->cdf[i] <= t)
			i++;
		s->guide[g] = (uint32_t)i;
	}
	return 0;
}

/* 0-based rank of the first cdf entry above u, u in [0, 1) */
static uint64_t sample(const sampler_t *s, double u)
{
	uint64_t g = (uint64_t)(u * (double)s->ng);
	if (g >= s->ng)
		g = s->ng - 1;
	while (g > 0 && u < (double)g / (double)s->ng)
		g--; /* guard against rounding up */
	uint64_t lo = s->guide[g], hi = s->guide[g + 1];
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (s->cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* ---- arguments ------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static void usage_error(const char *why, const char *arg)
{
	if (arg)
		fprintf(stderr, "gen_zipf: %s '%s'\n", why, arg);
	else
		fprintf(stderr, "gen_zipf: %s\n", why);
	fprintf(stderr, "%s\n", usage_line);
	exit(2);
}

/* ---- output ---------------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char *p = strdup(path);
	if (!p)
		return -1;
	for (char *c = p + 1;; c++) {
		if (*c == '/' || *c == '\0') {
			char keep = *c;
			*c = '\0';
			if (mkdir(p, 0777) != 0 && errno != EEXIST) {
				free(p);
				return -1;
			}
			*c = keep;
			if (!keep)
				break;
		}
	}
	free(p);
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, buf, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

typedef struct {
	const sampler_t *sampler;
	const char *vocab;
	const unsigned char *lens;
	uint64_t seed;
	uint64_t words; /* words written, all files */
	uint64_t bytes; /* bytes written, all files */
} job_t;

/* Write one file of about target bytes; 0 or -1 with errno set. */
static int write_file(job_t *job, const char *path, uint64_t fileno, uint64_t target, char *buf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0)
		return -1;
	rng_t r;
	rng_seed(&r, job->seed, fileno);
	uint64_t written = 0;
	size_t used = 0;
	while (written < target) {
		unsigned nw = 8 + (unsigned)(rng_next(&r) % 9); /* 8..16 words */
		for (unsigned k = 0; k < nw; k++) {
			uint64_t rank = sample(job->sampler, rng_u01(&r));
			unsigned len = job->lens[rank];
			memcpy(buf + used, job->vocab + rank * STRIDE, len);
			used += len;
			buf[used++] = k + 1 < nw ? ' ' : '\n';
			written += len + 1;
		}
		job->words += nw;
		if (used > BUFSZ - 16 * (MAXLEN + 1)) {
			if (write_all(fd, buf, used) != 0)
				goto fail;
			used = 0;
		}
	}
	if (write_all(fd, buf, used) != 0)
		goto fail;
	if (close(fd) != 0)
		return -1;
	job->bytes += written;
	return 0;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

int main(int argc, char **argv)
{
	uint64_t bytes = 0, vocab_n = 0, files = 0, seed = 0;
	int have_bytes = 0, have_vocab = 0, have_files = 0, have_seed = 0;
	double exponent = 1.0;
	const char *out = NULL;
	int verbose = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			verbose = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			printf("%s\n", usage_line);
			return 0;
		}
		/* --opt VALUE or --opt=VALUE */
		const char *val = NULL;
		char name[32];
		const char *eq = strchr(a, '=');
		if (strncmp(a, "--", 2) == 0 && eq && (size_t)(eq - a) < sizeof name) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			val = eq + 1;
		} else if (strlen(a) < sizeof name) {
			strcpy(name, a);
			if (i + 1 < argc && strncmp(a, "--", 2) == 0)
				val = argv[++i];
		} else {
			usage_error("unknown argument", a);
		}
		if (strcmp(name, "--bytes") == 0 && val) {
			if (!mr_parse_size(val, &bytes))
				usage_error("bad --bytes", val);
			have_bytes = 1;
		} else if (strcmp(name, "--vocab") == 0 && val) {
			if (parse_u64(val, &vocab_n) != 0 || vocab_n == 0 || vocab_n > UINT32_MAX)
				usage_error("bad --vocab (want 1 to 4294967295)", val);
			have_vocab = 1;
		} else if (strcmp(name, "--files") == 0 && val) {
			if (parse_u64(val, &files) != 0 || files == 0 || files > 10000000)
				usage_error("bad --files (want 1 to 10000000)", val);
			have_files = 1;
		} else if (strcmp(name, "--seed") == 0 && val) {
			if (parse_u64(val, &seed) != 0)
				usage_error("bad --seed", val);
			have_seed = 1;
		} else if (strcmp(name, "--exponent") == 0 && val) {
			char *end;
			errno = 0;
			exponent = strtod(val, &end);
			if (errno || *end || end == val || !isfinite(exponent) || exponent < 0 ||
			    exponent > 100)
				usage_error("bad --exponent (want 0 to 100)", val);
		} else if (strcmp(name, "--out") == 0 && val) {
			if (!*val)
				usage_error("bad --out", val);
			out = val;
		} else if (strncmp(a, "--", 2) == 0 && !val &&
			   (strcmp(name, "--bytes") == 0 || strcmp(name, "--vocab") == 0 ||
			    strcmp(name, "--files") == 0 || strcmp(name, "--seed") == 0 ||
			    strcmp(name, "--exponent") == 0 || strcmp(name, "--out") == 0)) {
			usage_error("missing value for", a);
		} else {
			usage_error("unknown argument", a);
		}
	}
	if (!have_bytes || !have_vocab || !have_files || !have_seed || !out)
		usage_error("--bytes, --vocab, --files, --seed and --out are required", NULL);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (mkdir_p(out) != 0) {
		fprintf(stderr, "gen_zipf: cannot create directory '%s': %s\n", out,
			strerror(errno));
		return 1;
	}
	char *vocab = malloc(vocab_n * STRIDE);
	unsigned char *lens = malloc(vocab_n);
	char *buf = malloc(BUFSZ);
	sampler_t sampler;
	if (!vocab || !lens || !buf || sampler_init(&sampler, vocab_n, exponent) != 0) {
		fprintf(stderr, "gen_zipf: out of memory for a vocabulary of %llu words\n",
			(unsigned long long)vocab_n);
		return 1;
	}
	build_vocab(vocab_n, vocab, lens);

	job_t job = {&sampler, vocab, lens, seed, 0, 0};
	size_t plen = strlen(out) + 32;
	char *path = malloc(plen);
	if (!path) {
		fprintf(stderr, "gen_zipf: out of memory\n");
		return 1;
	}
	for (uint64_t f = 0; f < files; f++) {
		uint64_t target = bytes / files + (f < bytes % files ? 1 : 0);
		snprintf(path, plen, "%s/part-%05llu.txt", out, (unsigned long long)f);
		if (write_file(&job, path, f, target, buf) != 0) {
			fprintf(stderr, "gen_zipf: cannot write '%s': %s\n", path, strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (verbose)
		fprintf(stderr,
			"gen_zipf: %llu files, %llu bytes, %llu words, vocab %llu, "
			"exponent %g, seed %llu, %.2f s\n",
			(unsigned long long)files, (unsigned long long)job.bytes,
			(unsigned long long)job.words, (unsigned long long)vocab_n, exponent,
			(unsigned long long)seed,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
	free(path);
	free(buf);
	free(vocab);
	free(lens);
	free(sampler.cdf);
	free(sampler.guide);
	return 0;
}
