/*
 * The record rule: cutting bytes into records, and reading one byte range of a
 * file so that every record is read by exactly one range.
 *
 * A record belongs to the range that holds its first byte.  A range starting at
 * off > 0 skips the tail of a record that began before it (byte off-1 is not a
 * delimiter), and it finishes the last record it starts even past its end.
 * Files are read with pread in blocks; a record that spans blocks is gathered
 * in a carry buffer, so memory is one block plus the longest record.
 */
#include "internal.h"

#include <errno.h>
#include <unistd.h>

/* The first delimiter in p[0..n), or n. */
static size_t find_delim(const char *p, size_t n, enum mr_record_rule rule)
{
	if (rule == MR_RECORD_LINE) {
		const char *q = memchr(p, '\n', n);
		return q ? (size_t)(q - p) : n;
	}
	size_t i = 0;
	while (i < n && !mr_is_space((unsigned char)p[i]))
		i++;
	return i;
}

/* The first non-delimiter in p[0..n), or n: where the next word starts. */
static size_t skip_spaces(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && mr_is_space((unsigned char)p[i]))
		i++;
	return i;
}

int mr_scan_records(const char *buf, size_t n, enum mr_record_rule rule, mr_record_fn fn, void *arg,
		    size_t *tail)
{
	size_t i = 0;
	for (;;) {
		if (rule == MR_RECORD_WORD)
			i += skip_spaces(buf + i, n - i);
		if (i >= n)
			break;
		size_t e = i + find_delim(buf + i, n - i, rule);
		if (e == n) {
			*tail = i;
			return MR_OK;
		}
		int rc = fn(arg, buf + i, e - i);
		if (rc != MR_OK)
			return rc;
		i = e + 1;
	}
	*tail = n;
	return MR_OK;
}

/* Reads up to want bytes at off into r->block; returns bytes read, 0 at end
 * of file, or -1 with errno set. */
static ssize_t read_at(mr_reader *r, uint64_t off, size_t want)
{
	if (off >= r->file_size)
		return 0;
	if (want > r->file_size - off)
		want = (size_t)(r->file_size - off);
	r->block.len = 0;
	mr_buf_reserve(&r->block, want);
	size_t got = 0;
	while (got < want) {
		ssize_t k = pread(r->fd, r->block.data + got, want - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break; /* the file shrank; take what is there */
		got += (size_t)k;
	}
	r->block.len = got;
	r->bytes_read += got;
	return (ssize_t)got;
}

/*
 * Finishes a record whose first bytes are in r->carry: gathers bytes from pos
 * on until a delimiter or the end of the file, then passes the whole record.
 * *next is the position after the delimiter.  Reads grow from a page, so a
 * range of a few bytes does not read a whole block to finish its last record.
 */
static int finish_record(mr_reader *r, uint64_t pos, mr_record_fn fn, void *arg, uint64_t *next)
{
	size_t want = 4096;
	for (;;) {
		ssize_t k = read_at(r, pos, want);
		if (k < 0)
			return MR_ERR_IO;
		size_t e = find_delim(r->block.data, (size_t)k, r->rule);
		mr_buf_add(&r->carry, r->block.data, e);
		if (e < (size_t)k) {
			*next = pos + e + 1;
			break;
		}
		if (k == 0) {
			*next = r->file_size;
			break;
		}
		pos += (uint64_t)k;
		if (want < r->block_size)
			want *= 2;
	}
	int rc = fn(arg, r->carry.data ? r->carry.data : "", r->carry.len);
	r->carry.len = 0;
	return rc;
}

/*
 * Where the first record of a range at off starts: off itself when byte off-1
 * is a delimiter, else just past the first delimiter at or after off.
 * UINT64_MAX when no record starts before end.
 */
static int first_record(mr_reader *r, uint64_t off, uint64_t end, uint64_t *start)
{
	*start = off;
	if (off == 0)
		return MR_OK;
	uint64_t pos = off - 1;
	size_t want = 4096;
	while (pos < end) {
		ssize_t k = read_at(r, pos, want);
		if (k < 0)
			return MR_ERR_IO;
		if (k == 0)
			break;
		size_t e = find_delim(r->block.data, (size_t)k, r->rule);
		if (e < (size_t)k) {
			*start = pos + e + 1;
			return MR_OK;
		}
		pos += (uint64_t)k;
		if (want < r->block_size)
			want *= 2;
	}
	*start = UINT64_MAX;
	return MR_OK;
}

/* Passes records to the job's sink until one starts at or past end. */
struct bounded {
	mr_record_fn fn;
	void *arg;
	const char *base; /* the block's first byte, at file offset base_off */
	uint64_t base_off;
	uint64_t end;
	bool past_end;
};

static int bounded_sink(void *arg, const char *rec, size_t len)
{
	struct bounded *b = arg;
	if (b->base_off + (uint64_t)(rec - b->base) >= b->end) {
		b->past_end = true;
		return 1; /* stops the scan; not an error */
	}
	return b->fn(b->arg, rec, len);
}

int mr_read_range(mr_reader *r, uint64_t off, uint64_t len, mr_record_fn fn, void *arg)
{
	uint64_t end = off + len;
	if (end > r->file_size || end < off)
		end = r->file_size;
	uint64_t pos;
	int rc = first_record(r, off, end, &pos);
	struct bounded b = {.fn = fn, .arg = arg, .end = end};
	/* pos is always just after a delimiter (or the range's first record). */
	while (rc == MR_OK && pos < end) {
		uint64_t want = end - pos;
		ssize_t k = read_at(r, pos, want < r->block_size ? (size_t)want : r->block_size);
		if (k <= 0)
			return k < 0 ? MR_ERR_IO : MR_OK;
		b.base = r->block.data;
		b.base_off = pos;
		size_t tail;
		rc = mr_scan_records(r->block.data, (size_t)k, r->rule, bounded_sink, &b, &tail);
		if (b.past_end)
			return MR_OK;
		if (rc != MR_OK || tail == (size_t)k) {
			pos += (uint64_t)k;
			continue;
		}
		/* A record starts at tail and runs past the block. */
		uint64_t rec = pos + tail;
		uint64_t block_end = pos + (uint64_t)k;
		if (rec >= end)
			return MR_OK;
		if (block_end >= r->file_size)
			return fn(arg, r->block.data + tail, (size_t)k - tail);
		if (tail > 0) {
			pos = rec; /* read on from its start */
			continue;
		}
		/* It fills the block: gather it in carry. */
		r->carry.len = 0;
		mr_buf_add(&r->carry, r->block.data, (size_t)k);
		rc = finish_record(r, block_end, fn, arg, &pos);
	}
	return rc;
}

void mr_reader_release(mr_reader *r)
{
	mr_buf_release(&r->block);
	mr_buf_release(&r->carry);
}
