/*
 * The record rule: reading one byte range of a file so that every record is
 * read by exactly one range.  (The tokenizer in records.h cuts spans into records.)
 *
 * A record belongs to the range that holds its first byte.  A range starting at
 * off > 0 skips the tail of a record that began before it (byte off-1 is not a
 * delimiter), and it finishes the last record it starts even past its end.
 * Files are read with pread in blocks; each block is handed out up to its last
 * delimiter, and the next read starts just after it.  A record longer than a
 * block is gathered in a carry buffer, so memory is one block plus the longest
 * record.
 */
#define _GNU_SOURCE /* memrchr */
#include "core/records.h"

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

/* The last delimiter in p[0..n), or SIZE_MAX. */
static size_t last_delim(const char *p, size_t n, enum mr_record_rule rule)
{
	if (rule == MR_RECORD_LINE) {
		const char *q = memrchr(p, '\n', n);
		return q ? (size_t)(q - p) : SIZE_MAX;
	}
	while (n > 0 && !mr_is_space((unsigned char)p[n - 1]))
		n--;
	return n > 0 ? n - 1 : SIZE_MAX;
}

int mr_scan_records(const char *buf, size_t n, enum mr_record_rule rule, mr_record_fn fn, void *arg,
		    size_t *tail)
{
	size_t last = last_delim(buf, n, rule);
	size_t whole = last == SIZE_MAX ? 0 : last + 1;
	*tail = whole < n ? whole : n;
	return mr_each_record(buf, whole, rule, fn, arg);
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
	mr_buf_reserve(&r->block, want + MR_SPAN_SLACK);
	size_t got = 0;
	while (got < want) {
		ssize_t k =
			r->dec ? mr_decoder_read(r->dec, off + got, r->block.data + got, want - got)
			       : pread(r->fd, r->block.data + got, want - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR && !r->dec)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			if (r->file_size != UINT64_MAX) {
				r->changed = true; /* shorter than split saw it */
				errno = 0;
				return -1;
			}
			break;
		}
		got += (size_t)k;
	}
	r->block.len = got;
	r->bytes_read += got;
	mr_progress();
	return (ssize_t)got;
}

/*
 * Finishes a record whose first bytes are in r->carry: gathers bytes from pos
 * on until a delimiter or the end of the file.  *next is the position after
 * the delimiter.  Reads grow from a page, so a range of a few bytes does not
 * read a whole block to finish its last record.
 */
static int finish_record(mr_reader *r, uint64_t pos, uint64_t *next)
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
			return MR_OK;
		}
		if (k == 0) {
			*next = r->eof = pos;
			return MR_OK;
		}
		pos += (uint64_t)k;
		if (want < r->block_size)
			want *= 2;
	}
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
		/* A delimiter at end-1 or later starts no record of ours. */
		size_t n = end - pos < want ? (size_t)(end - pos) : want;
		ssize_t k = read_at(r, pos, n);
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

int mr_reader_start(mr_reader *r, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	if (end > r->file_size || end < off)
		end = r->file_size;
	r->end = end;
	uint64_t start;
	int rc = first_record(r, off, end, &start);
	r->pos = rc == MR_OK ? start : end; /* UINT64_MAX: none is ours */
	return rc;
}

int mr_reader_next(mr_reader *r, const char **span, size_t *n)
{
	*span = NULL;
	*n = 0;
	if (r->pos >= r->end)
		return MR_OK;
	uint64_t want = r->end - r->pos;
	if (want > r->block_size)
		want = r->block_size;
	ssize_t k = read_at(r, r->pos, (size_t)want);
	if (k < 0)
		return MR_ERR_IO;
	size_t got = (size_t)k;
	r->span_off = r->pos;
	if (r->pos + got >= r->file_size || got < want) {
		/* The end of the file: its last record ends here. */
		r->eof = r->pos + got;
		r->pos = r->end;
		*span = r->span = got ? r->block.data : NULL;
		*n = got;
		return MR_OK;
	}
	size_t last = last_delim(r->block.data, got, r->rule);
	if (last != SIZE_MAX) {
		r->pos += last + 1;
		*span = r->span = r->block.data;
		*n = last + 1;
		return MR_OK;
	}
	/* One record fills the block and goes on past it: gather it. */
	r->carry.len = 0;
	mr_buf_add(&r->carry, r->block.data, got);
	int rc = finish_record(r, r->pos + got, &r->pos);
	mr_buf_reserve(&r->carry, MR_SPAN_SLACK);
	*span = r->span = r->carry.data;
	*n = r->carry.len;
	return rc;
}

int mr_read_range(mr_reader *r, uint64_t off, uint64_t len, mr_record_fn fn, void *arg)
{
	return mr_each_record_in_range(r, off, len, fn, arg);
}

void mr_reader_release(mr_reader *r)
{
	mr_buf_release(&r->block);
	mr_buf_release(&r->carry);
}
