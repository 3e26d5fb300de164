/*
 * libFuzzer harness for the exchange's frames (shuffle.c, mr_frame_get) on
 * arbitrary bytes, and for merging them into a table as reduce does.
 *
 * The input: byte 0 picks the table's values, bit 0: five fields combined
 * as groupby's are (else one word, added); the rest is a received buffer,
 * copied to an allocation of its exact size so that AddressSanitizer sees
 * any read past it.  A frame is u32 key length, u32 word count n, n 8-byte
 * words, the key (engine/run.h).
 *
 * What is checked:
 *   - mr_frame_get takes exactly the frames a naive reader written here with
 *     64-bit sizes takes, one after the other from the start, and stops where
 *     it does, leaving the position alone when it says no frame is complete;
 *   - every frame it returns lies within the buffer: header, words and key,
 *     contiguous, each frame starting where the last one ended;
 *   - mr_frame_put of what it returned gives back the same bytes;
 *   - the frames whose word count is the table's width (reduce refuses the
 *     others) merge into a table through mr_emit_words: no more keys than
 *     frames, and with one word, the values add up to the frames' sum.
 *
 * No MPI call is made (the code calls MPI only to abort), so MPI_Init is never
 * needed.  shuffle.c comes whole, with the shuffle itself, which is never
 * called here: its fault point is a stub below rather than fault.c, which
 * would bring the run's phase names and with them the whole engine.
 */
#include "engine/run.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static _Noreturn void fail(const char *what, size_t at, uint64_t got, uint64_t want)
{
	fprintf(stderr, "fuzz_frames: %s: at byte %zu got %" PRIu64 ", want %" PRIu64 "\n", what,
		at, got, want);
	abort();
}

/* The size of the complete frame at p[0..left), or 0 if there is none. */
static uint64_t naive_frame(const unsigned char *p, size_t left)
{
	if (left < 8)
		return 0;
	uint32_t len, nvals;
	memcpy(&len, p, 4);
	memcpy(&nvals, p + 4, 4);
	uint64_t size = 8 + 8 * (uint64_t)nvals + len; /* < 2^36: no overflow */
	return size <= left ? size : 0;
}

/* groupby's combine, restated (count, sum, min, max; the mean is finish's). */
static int fields_combine(mr_value *acc, const mr_value *in)
{
	acc[0].f += in[0].f;
	acc[1].f += in[1].f;
	if (in[2].f < acc[2].f)
		acc[2].f = in[2].f;
	if (in[3].f > acc[3].f)
		acc[3].f = in[3].f;
	return MR_OK;
}

static int add_combine(mr_value *acc, const mr_value *in)
{
	acc->u += in->u;
	return MR_OK;
}

int mr_fault(mr_ctx *c, enum mr_phase phase)
{
	MR_UNUSED(c);
	MR_UNUSED(phase);
	abort(); /* mr_shuffle's, never reached */
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (size < 1)
		return 0;
	mr_values vals = in[0] & 1 ? (mr_values){MR_VK_FIELDS, 5, fields_combine, false}
				   : (mr_values){MR_VK_ONE, 1, add_combine, false};
	size_t n = size - 1;
	char *buf = mr_malloc(n ? n : 1), *copy = mr_malloc(n ? n : 1);
	memcpy(buf, in + 1, n);
	const char *end = buf + n, *p = buf;

	mr_emitter em;
	mr_emitter_init(&em, mr_table_new(0, &vals), &vals);
	uint64_t merged = 0, sum = 0;
	for (;;) {
		size_t at = (size_t)(p - buf);
		uint64_t want = naive_frame((const unsigned char *)p, n - at);
		const char *key = NULL, *v = NULL, *was = p;
		uint32_t len = 0, nv = 0;
		bool got = mr_frame_get(&p, end, &key, &len, &v, &nv);
		if (got != (want != 0))
			fail("a frame taken", at, got, want != 0);
		if (!got) {
			if (p != was)
				fail("the position after no frame", at, (uint64_t)(p - buf), at);
			break;
		}
		if (v != was + MR_FRAME_HEADER || key != v + 8 * (size_t)nv || p != key + len ||
		    key < buf || p > end)
			fail("a frame's bounds", at, (uint64_t)(p - buf), at + want);
		if ((uint64_t)(p - was) != want || mr_frame_size(len, nv) != want)
			fail("a frame's size", at, (uint64_t)(p - was), want);
		if (mr_frame_put(copy + at, key, len, v, nv) != copy + at + want ||
		    memcmp(copy + at, was, want))
			fail("a frame put back", at, 0, 0);
		if (nv == vals.width) {
			if (vals.kind == MR_VK_ONE)
				sum += mr_load64(v);
			if (mr_emit_words(&em, key, len, v, nv) != MR_OK)
				fail("mr_emit_words", at, 1, 0);
			merged++;
		}
	}
	if (mr_emitter_finish(&em) != MR_OK)
		fail("mr_emitter_finish", n, 1, 0);
	if (em.pairs != merged || mr_table_count(em.table) > merged)
		fail("keys merged", n, mr_table_count(em.table), merged);

	size_t pos = 0, len;
	const char *key;
	mr_value *v;
	uint32_t nv;
	uint64_t table_sum = 0, keys = 0;
	while (mr_table_next(em.table, &pos, &key, &len, &v, &nv)) {
		if (nv != vals.width)
			fail("a value's width", n, nv, vals.width);
		table_sum += v[0].u;
		keys++;
	}
	if (keys != mr_table_count(em.table))
		fail("keys iterated", n, keys, mr_table_count(em.table));
	if (vals.kind == MR_VK_ONE && table_sum != sum)
		fail("the sum of the values", n, table_sum, sum);

	mr_table_free(&em.table);
	free(buf);
	free(copy);
	return 0;
}
