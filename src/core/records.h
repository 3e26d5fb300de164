/*
 * The inputs and their records: the file table, byte ranges, the record
 * rule (records.c) and the tokenizer.
 */
#ifndef MR_RECORDS_H
#define MR_RECORDS_H

#include "core/util.h"

#include <sys/types.h>

/* What split saw of an input file, to tell whether it changed since. */
typedef struct mr_file_stamp {
	uint64_t mtime_ns, ctime_ns;
	uint64_t size;	  /* on disk (compressed files: what sizes[] is not) */
	uint64_t unsized; /* an mr_input_kind other than MR_INPUT_FILE: its size
			   * is not known before it is read whole */
} mr_file_stamp;
enum mr_input_kind {
	MR_INPUT_FILE = 0,    /* a file of the size stat says */
	MR_INPUT_UNSIZED = 1, /* /proc, sysfs, a stat size of 0 that holds bytes */
	MR_INPUT_RESULT = 2,  /* an mpimr result: read as `mpimr show` prints it */
	MR_INPUT_GZIP = 3,    /* gzip: read as the bytes it holds (decode.c) */
	MR_INPUT_ZSTD = 4,    /* zstd: likewise */
};

/* ---- compressed inputs (decode.c) ----------------------------------------
 * A decoder serves the decompressed bytes of one compressed file to a
 * reader whose offsets only move forward. */
typedef struct mr_decoder mr_decoder;
/* The compression the first n bytes of a file say (MR_INPUT_FILE: none). */
enum mr_input_kind mr_compression_of(const unsigned char *head, size_t n);
mr_decoder *mr_decoder_new(enum mr_input_kind kind, int fd, const char *path);
void mr_decoder_free(mr_decoder **d);
/* Like pread over the decompressed bytes: bytes read, 0 at their end, -1 on
 * an error (mr_decoder_error says what, naming no file). */
ssize_t mr_decoder_read(mr_decoder *d, uint64_t off, char *buf, size_t want);
const char *mr_decoder_error(const mr_decoder *d);

/* The input files, identical on every rank after split (and sizes after
 * map, which learns the sizes of unsized files). */
typedef struct mr_files {
	size_t n;
	mr_buf paths;	       /* NUL-terminated paths, concatenated */
	uint64_t *offsets;     /* [n+1] into paths, NULs not counted in lengths */
	uint64_t *sizes;       /* [n] */
	mr_file_stamp *stamps; /* [n] */
	size_t cap;	       /* of offsets (n+1 used), sizes and stamps */
	size_t nunsized;       /* how many are unsized */
	uint64_t total;	       /* sum of sizes */
} mr_files;
static inline const char *mr_file_path(const mr_files *f, size_t i)
{
	return f->paths.data + f->offsets[i] + i;
}

/* One byte range of one file. */
typedef struct mr_range {
	uint64_t file;
	uint64_t offset;
	uint64_t length;
} mr_range;

/* ---- records (records.c) ----------------------------------------------
 * The record rule and the tokenizer.  A sink returns MR_OK or a status. */
typedef int (*mr_record_fn)(void *arg, const char *rec, size_t len);

static inline bool mr_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}
/* Calls fn for every complete record in buf[0..n), which starts at a record
 * boundary.  A trailing record with no delimiter after it is not passed; its
 * start is returned in *tail (n if none).  Returns MR_OK or fn's status. */
int mr_scan_records(const char *buf, size_t n, enum mr_record_rule rule, mr_record_fn fn, void *arg,
		    size_t *tail);

/*
 * Reads the records of one byte range of an open file, by the boundary rule:
 * those that start in [off, off + len), the last one finished past the end.
 * It hands out spans of whole records (the tokenizer below cuts them): from a block,
 * everything up to its last delimiter; a record longer than a block is
 * gathered in carry.  Memory is one block plus the longest record.  Each
 * span is followed by MR_SPAN_SLACK readable bytes.
 */
/* Readable bytes that follow every span a reader hands out, past its end
 * (their values are unspecified): a key of up to 16 bytes in it may be
 * read as two whole words (mr_emit_count_short). */
#define MR_SPAN_SLACK 16
typedef struct mr_reader {
	int fd;
	mr_decoder *dec; /* a compressed file's bytes come from it, not fd */
	uint64_t file_size;
	enum mr_record_rule rule;
	size_t block_size;
	mr_buf block; /* scratch */
	mr_buf carry; /* a record that spans blocks */
	uint64_t bytes_read;
	uint64_t pos;	  /* where the next span starts */
	const char *span; /* the last span handed out, and its file offset */
	uint64_t span_off;
	uint64_t end; /* the range's end: no record starting here is ours */
	uint64_t eof; /* where the file ended, once a read met its end */
	/* A read ended before file_size (which split saw): the file changed.
	 * file_size UINT64_MAX: read to the end, whatever it is. */
	bool changed;
} mr_reader;
/* Starts a range: finds its first record.  MR_OK or MR_ERR_IO (errno set). */
int mr_reader_start(mr_reader *r, uint64_t off, uint64_t len);
/* The next span, valid until the next call; *span is NULL at the range's
 * end.  MR_OK or MR_ERR_IO (errno set). */
int mr_reader_next(mr_reader *r, const char **span, size_t *n);
/* Both, calling fn for each record: MR_OK, MR_ERR_IO or fn's status. */
int mr_read_range(mr_reader *r, uint64_t off, uint64_t len, mr_record_fn fn, void *arg);
void mr_reader_release(mr_reader *r);

/* ---- the tokenizer, inline --------------------------------------------
 * Cutting a span of whole records into records lives in the header, so
 * that a caller's per-record function is inlined into the loop (map.c
 * calls it on every word of the input). */
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Bit i is set when p[i] is whitespace (space, \t \n \v \f \r), i < 64. */
static MR_ALWAYS_INLINE uint64_t mr_space_mask64(const unsigned char *p)
{
#ifdef __SSE2__
	const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
	const __m128i span = _mm_set1_epi8('\r' - '\t');
	uint64_t m = 0;
	for (int j = 0; j < 4; j++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * j));
		/* \t..\r: x - '\t' is at most 4 as an unsigned byte */
		__m128i d = _mm_sub_epi8(x, tab);
		__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(d, span), d);
		__m128i s = _mm_or_si128(ctl, _mm_cmpeq_epi8(x, space));
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(s) << (16 * j);
	}
	return m;
#else
	uint64_t m = 0;
	for (int j = 0; j < 64; j++)
		m |= (uint64_t)mr_is_space(p[j]) << j;
	return m;
#endif
}

/*
 * The words of span[0..n), 64 bytes at a time: a mask of the whitespace
 * bytes, and in it the bits where a word starts or ends, so the loop runs
 * once per word instead of once per byte, and branches little.
 */
static MR_ALWAYS_INLINE int mr_each_word(const char *span, size_t n, mr_record_fn fn, void *arg)
{
	const unsigned char *p = (const unsigned char *)span;
	uint64_t before = 1; /* whether the byte before the chunk is whitespace */
	size_t start = 0;
	bool in_word = false;
	for (size_t base = 0; base < n; base += 64) {
		uint64_t space;
		if (n - base >= 64) {
			space = mr_space_mask64(p + base);
		} else {
			/* The last chunk, padded with spaces: a word running to
			 * n ends there. */
			unsigned char last[64];
			memset(last, ' ', sizeof(last));
			memcpy(last, p + base, n - base);
			space = mr_space_mask64(last);
		}
		uint64_t edges = space ^ ((space << 1) | before);
		before = space >> 63;
		while (edges) {
			size_t i = base + (size_t)__builtin_ctzll(edges);
			edges &= edges - 1;
			if (!in_word) {
				start = i;
				in_word = true;
				continue;
			}
			in_word = false;
			int rc = fn(arg, span + start, i - start);
			if (rc != MR_OK)
				return rc;
		}
	}
	return in_word ? fn(arg, span + start, n - start) : MR_OK;
}

/*
 * Calls fn for every record of span[0..n), which holds whole records: it
 * starts where a record may start, and its last record ends at n, with or
 * without a delimiter after it.  Returns MR_OK or fn's first other status.
 */
static MR_ALWAYS_INLINE int mr_each_record(const char *span, size_t n, enum mr_record_rule rule,
					   mr_record_fn fn, void *arg)
{
	if (rule == MR_RECORD_WORD)
		return mr_each_word(span, n, fn, arg);
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(span + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - span) : n;
		int rc = fn(arg, span + i, e - i);
		if (rc != MR_OK)
			return rc;
		i = e + 1;
	}
	return MR_OK;
}

/* Calls fn for the records of one byte range of r's file (the boundary rule
 * of records.c).  Returns MR_OK, MR_ERR_IO (errno set) or fn's status. */
static MR_ALWAYS_INLINE int mr_each_record_in_range(mr_reader *r, uint64_t off, uint64_t len,
						    mr_record_fn fn, void *arg)
{
	int rc = mr_reader_start(r, off, len);
	const char *span;
	size_t n;
	while (rc == MR_OK && (rc = mr_reader_next(r, &span, &n)) == MR_OK && span)
		rc = mr_each_record(span, n, r->rule, fn, arg);
	return rc;
}

#endif /* MR_RECORDS_H */
