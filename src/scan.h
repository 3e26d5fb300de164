/*
 * The tokenizer, inline: cutting a span of whole records into records.  It
 * lives in a header so that a caller's per-record function is inlined into
 * the loop (map.c calls it on every word of the input).
 */
#ifndef MR_SCAN_H
#define MR_SCAN_H

#include "internal.h"

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

#endif
