/*
 * What the table tests share: a seeded generator, combines, distinct keys
 * and one-word upserts.  Included by test_table.c and test_values.c only.
 */
#ifndef MR_TEST_TABLE_UTIL_H
#define MR_TEST_TABLE_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/table.h"

static inline uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static unsigned long combine_calls;

static inline int sum(mr_value *acc, const mr_value *in)
{
	combine_calls++;
	acc->u += in->u;
	return MR_OK;
}

static inline int fsum(mr_value *acc, const mr_value *in)
{
	acc->f += in->f;
	return MR_OK;
}

#define BAD_VALUE UINT64_C(666)

static inline int sum_or_fail(mr_value *acc, const mr_value *in)
{
	if (in->u == BAD_VALUE)
		return MR_ERR_JOB;
	acc->u += in->u;
	return MR_OK;
}

/* Key i: its index as 4 bytes (so keys are distinct), then i % 13 bytes of
 * noise; NUL and 0x80+ bytes occur throughout. */
static inline size_t distinct_key(uint32_t i, char *k)
{
	memcpy(k, &i, 4);
	uint64_t s = i;
	size_t extra = i % 13;
	for (size_t j = 0; j < extra; j++)
		k[4 + j] = (char)splitmix64(&s);
	return 4 + extra;
}

/* A table of one-word values merged by fn. */
static inline mr_table *new_table(size_t expected, mr_combine_fn fn)
{
	mr_values vals = {.kind = MR_VK_ONE, .width = 1, .combine = fn};
	mr_table *t = mr_table_new(expected, &vals);
	assert_non_null(t);
	return t;
}

/* Upserts the one-word value v with hash h. */
static inline int upsert_h(mr_table *t, const void *k, size_t len, uint64_t h, uint64_t v)
{
	mr_value w = {.u = v};
	return mr_table_upsert(t, k, len, h, &w, 1);
}

static inline int upsert(mr_table *t, const void *k, size_t len, uint64_t v)
{
	return upsert_h(t, k, len, mr_hash(k, len), v);
}

/* mr_table_next for a table of one-word values: *v is the value. */
static inline bool next1(mr_table *t, size_t *pos, const char **key, size_t *len, mr_value *v)
{
	mr_value *vals = NULL;
	uint32_t nvals = 0;
	if (!mr_table_next(t, pos, key, len, &vals, &nvals))
		return false;
	assert_int_equal(nvals, 1);
	assert_non_null(vals);
	*v = vals[0];
	return true;
}

#endif
