/*
 * Allocation wrappers and the growable byte buffer.  The only place that calls
 * malloc, calloc and realloc.
 */
#define _GNU_SOURCE /* mremap */
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static _Noreturn void out_of_memory(size_t n, const char *file, int line)
{
	mr_rank_error("out of memory allocating %zu bytes at %s:%d", n, file, line);
	mr_abort();
}

size_t mr_mul_at(size_t n, size_t size, const char *file, int line)
{
	size_t r;
	if (__builtin_mul_overflow(n, size, &r))
		out_of_memory(SIZE_MAX, file, line);
	return r;
}

void *mr_malloc_at(size_t n, const char *file, int line)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n, file, line);
	return p;
}

void *mr_calloc_at(size_t n, size_t size, const char *file, int line)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(mr_mul_at(n, size, file, line), file, line);
	return p;
}

void *mr_realloc_at(void *p, size_t n, const char *file, int line)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n, file, line);
	return q;
}

#define HUGE_PAGE ((size_t)2 << 20)
#define LARGE_MIN (2 * HUGE_PAGE) /* smaller comes from calloc */

/* n rounded up, and down, to whole huge pages (up wraps to 0 past SIZE_MAX) */
static size_t huge_up(size_t n)
{
	return (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

static size_t huge_down(size_t n)
{
	return n & ~(HUGE_PAGE - 1);
}

void *mr_alloc_zeroed_large(size_t n, const char *file, int line)
{
	if (n < LARGE_MIN)
		return mr_calloc_at(n, 1, file, line);
	/* Fresh pages from mmap are zero, and the kernel zeroes each only when
	 * it is first touched: nothing is written twice, and pages the table
	 * never touches cost nothing.  The mapping is cut to start on a 2 MiB
	 * boundary, so that the kernel can back it with huge pages, which
	 * save most TLB misses of a table probed at random. */
	size_t pages = huge_up(n), len = pages + HUGE_PAGE;
	if (pages < n || len < pages)
		out_of_memory(n, file, line);
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		out_of_memory(n, file, line);
	char *a = (char *)huge_up((uintptr_t)p);
	char *end = a + pages;
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + len > end)
		munmap(end, (size_t)(p + len - end));
#ifdef MADV_HUGEPAGE
	madvise(a, pages, MADV_HUGEPAGE); /* all of it: one mapping, for mremap */
#endif
	return a;
}

#ifdef MREMAP_FIXED
/* p's mapping (n bytes, from mr_alloc_zeroed_large) moved, without copying,
 * to an address aligned as mr_alloc_zeroed_large's and extended to m bytes:
 * the new address, or NULL if the kernel would not. */
static void *remap_large(void *p, size_t n, size_t m)
{
	size_t pages = huge_up(m), len = pages + HUGE_PAGE;
	if (pages < m || len < pages)
		return NULL;
	/* A place for it: a reservation, which mremap replaces. */
	char *r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return NULL;
	char *a = (char *)huge_up((uintptr_t)r);
	void *q = mremap(p, huge_up(n), pages, MREMAP_MAYMOVE | MREMAP_FIXED, a);
	/* The reservation's ends are still ours either way. */
	if (a > r)
		munmap(r, (size_t)(a - r));
	if (r + len > a + pages)
		munmap(a + pages, (size_t)(r + len - (a + pages)));
	if (q == MAP_FAILED)
		/* Its middle may not be: the kernel can unmap the target and then
		 * fail (over RLIMIT_DATA, say), and another thread's mmap can land
		 * there before we look.  It is left as it is; at worst that keeps
		 * a reservation, address space without memory. */
		return NULL;
#ifdef MADV_POPULATE_WRITE
	/* The new pages will all be written (a table that grows fills its
	 * new slots at random): fault them in now, once each, rather than
	 * first as the shared zero page and again when written. */
	madvise(a + huge_up(n), pages - huge_up(n), MADV_POPULATE_WRITE);
#endif
	return a;
}
#endif

void *mr_grow_zeroed_large(void *p, size_t n, size_t m, const char *file, int line)
{
#ifdef MREMAP_FIXED
	if (n >= LARGE_MIN) {
		void *q = remap_large(p, n, m);
		if (q)
			return q;
	}
#endif
	void *q = mr_alloc_zeroed_large(m, file, line);
	memcpy(q, p, n);
	mr_free_large(p, n);
	return q;
}

void mr_free_large(void *p, size_t n)
{
	if (!p)
		return;
	if (n < LARGE_MIN)
		free(p);
	else
		munmap(p, huge_up(n));
}

void mr_release_large(void *p, size_t n, size_t from, size_t to)
{
	if (n < LARGE_MIN)
		return;
	/* Whole huge pages only: p is aligned to one (mr_alloc_zeroed_large). */
	from = huge_up(from);
	to = huge_down(to);
	if (to > from)
		madvise((char *)p + from, to - from, MADV_DONTNEED);
}

char *mr_strdup_at(const char *s, const char *file, int line)
{
	size_t n = strlen(s) + 1;
	return memcpy(mr_malloc_at(n, file, line), s, n);
}

void mr_buf_reserve(mr_buf *b, size_t extra)
{
	size_t need;
	if (__builtin_add_overflow(b->len, extra, &need))
		out_of_memory(SIZE_MAX, __FILE__, __LINE__);
	if (need <= b->cap && b->data)
		return; /* data is never NULL after a reserve, so data + len is valid */
	/* Grow by half again, so appends stay amortised O(1). */
	size_t cap = b->cap + b->cap / 2;
	if (cap < b->cap || cap < need)
		cap = need;
	if (cap < 64)
		cap = 64;
	b->data = mr_realloc(b->data, cap);
	b->cap = cap;
}

void *mr_grow_at(void *p, size_t *cap, size_t need, size_t size, const char *file, int line)
{
	if (need <= *cap && p)
		return p;
	/* Grow by half again, so that growing by one is amortised O(1). */
	size_t n = *cap + *cap / 2;
	if (n < *cap || n < need)
		n = need;
	if (n < 16)
		n = 16;
	p = mr_realloc_at(p, mr_mul_at(n, size, file, line), file, line);
	*cap = n;
	return p;
}

int mr_reserve(void **p, size_t *cap, size_t need)
{
	if (need <= *cap && *p)
		return MR_OK;
	size_t n = *cap + *cap / 2;
	if (n < *cap || n < need)
		n = need;
	if (n < 64)
		n = 64;
	void *q = realloc(*p, n);
	if (!q)
		return MR_ERR_NOMEM;
	*p = q;
	*cap = n;
	return MR_OK;
}

void mr_buf_add(mr_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(mr_buf_tail(b, n), p, n);
}

void mr_buf_release(mr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
