/*
 * Compressed inputs: gzip (zlib) and zstd (libzstd), known by their magic
 * bytes, read as the text they hold.  A compressed file cannot be cut at
 * byte offsets, so it is one range read whole by one rank; the reader asks
 * for its bytes with offsets that only move forward (records.c), which a
 * window of decompressed bytes serves: what is before the offset asked for
 * is dropped, what is after it is decompressed as needed.  Concatenated
 * members (gzip -c a b) and frames (zstd) are read one after the other.
 */
#include "core/records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_BLOCK  ((size_t)1 << 20) /* compressed bytes read at a time */
#define OUT_BLOCK ((size_t)1 << 20) /* decompressed bytes made at a time */

struct mr_decoder {
	enum mr_input_kind kind;
	int fd;
	const char *path;
	uint64_t in_off; /* compressed bytes read so far */
	char *in;
	size_t in_len, in_pos;
	bool in_eof;
	mr_buf win; /* decompressed bytes [win_off, win_off + win.len) */
	uint64_t win_off;
	bool done;	 /* the compressed data ended, whole */
	bool member_end; /* gzip: a member ended, perhaps another follows */
	z_stream z;
	ZSTD_DStream *zs;
	size_t zs_last; /* zstd's last return: 0 at a frame's end */
	char why[160];
};

enum mr_input_kind mr_compression_of(const unsigned char *head, size_t n)
{
	if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		return MR_INPUT_GZIP;
	if (n >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
		return MR_INPUT_ZSTD;
	return MR_INPUT_FILE;
}

mr_decoder *mr_decoder_new(enum mr_input_kind kind, int fd, const char *path)
{
	mr_decoder *d = mr_calloc(1, sizeof(*d));
	d->kind = kind;
	d->fd = fd;
	d->path = path;
	d->in = mr_malloc(IN_BLOCK);
	if (kind == MR_INPUT_GZIP) {
		if (inflateInit2(&d->z, 15 + 32) != Z_OK) /* gzip, with its header */
			snprintf(d->why, sizeof(d->why), "zlib cannot start");
	} else {
		d->zs = ZSTD_createDStream();
		if (!d->zs || ZSTD_isError(ZSTD_initDStream(d->zs)))
			snprintf(d->why, sizeof(d->why), "libzstd cannot start");
	}
	return d;
}

void mr_decoder_free(mr_decoder **d)
{
	if (!*d)
		return;
	if ((*d)->kind == MR_INPUT_GZIP)
		inflateEnd(&(*d)->z);
	else
		ZSTD_freeDStream((*d)->zs);
	free((*d)->in);
	mr_buf_release(&(*d)->win);
	free(*d);
	*d = NULL;
}

/* More compressed bytes, when all read so far are used: false at the end
 * of the file or on an error (d->why). */
static bool refill(mr_decoder *d)
{
	if (d->in_pos < d->in_len)
		return true;
	if (d->in_eof)
		return false;
	ssize_t k;
	while ((k = pread(d->fd, d->in, IN_BLOCK, (off_t)d->in_off)) < 0 && errno == EINTR)
		;
	if (k < 0) {
		snprintf(d->why, sizeof(d->why), "%s", strerror(errno));
		return false;
	}
	d->in_len = (size_t)k;
	d->in_pos = 0;
	d->in_off += (uint64_t)k;
	d->in_eof = k == 0;
	mr_progress();
	return k > 0;
}

/* Up to OUT_BLOCK more decompressed bytes at the window's end. */
static int inflate_some(mr_decoder *d)
{
	char *out = mr_buf_tail(&d->win, OUT_BLOCK);
	size_t made = 0;
	while (made == 0 && !d->done) {
		if (!refill(d)) {
			if (d->why[0])
				return MR_ERR_IO;
			/* the file ended: whole only at a member's or frame's end */
			if (d->kind == MR_INPUT_GZIP ? !d->member_end : d->zs_last != 0) {
				snprintf(d->why, sizeof(d->why),
					 "the %s data ends early (cut short?)",
					 d->kind == MR_INPUT_GZIP ? "gzip" : "zstd");
				return MR_ERR_IO;
			}
			d->done = true;
			break;
		}
		if (d->kind == MR_INPUT_GZIP) {
			if (d->member_end) { /* another member follows */
				inflateReset(&d->z);
				d->member_end = false;
			}
			d->z.next_in = (Bytef *)d->in + d->in_pos;
			d->z.avail_in = (uInt)(d->in_len - d->in_pos);
			d->z.next_out = (Bytef *)out + made;
			d->z.avail_out = (uInt)(OUT_BLOCK - made);
			int zr = inflate(&d->z, Z_NO_FLUSH);
			d->in_pos = d->in_len - d->z.avail_in;
			made = OUT_BLOCK - d->z.avail_out;
			if (zr == Z_STREAM_END)
				d->member_end = true;
			else if (zr != Z_OK && zr != Z_BUF_ERROR) {
				snprintf(d->why, sizeof(d->why), "damaged gzip data (%s)",
					 d->z.msg ? d->z.msg : "zlib error");
				return MR_ERR_IO;
			}
		} else {
			ZSTD_inBuffer ib = {d->in, d->in_len, d->in_pos};
			ZSTD_outBuffer ob = {out, OUT_BLOCK, made};
			d->zs_last = ZSTD_decompressStream(d->zs, &ob, &ib);
			if (ZSTD_isError(d->zs_last)) {
				snprintf(d->why, sizeof(d->why), "damaged zstd data (%s)",
					 ZSTD_getErrorName(d->zs_last));
				return MR_ERR_IO;
			}
			d->in_pos = ib.pos;
			made = ob.pos;
		}
	}
	d->win.len -= OUT_BLOCK - made;
	return MR_OK;
}

ssize_t mr_decoder_read(mr_decoder *d, uint64_t off, char *buf, size_t want)
{
	if (d->why[0])
		return -1;
	if (off < d->win_off) { /* never asked: the reader only moves forward */
		snprintf(d->why, sizeof(d->why), "read backwards at %llu", (unsigned long long)off);
		return -1;
	}
	/* Drop what is before off. */
	uint64_t drop = off - d->win_off;
	if (drop > d->win.len)
		drop = d->win.len;
	memmove(d->win.data, d->win.data + drop, d->win.len - (size_t)drop);
	d->win.len -= (size_t)drop;
	d->win_off += drop;
	while (d->win_off + d->win.len < off + want && !d->done) {
		if (inflate_some(d) != MR_OK)
			return -1;
		if (d->win_off < off) { /* skipping ahead: drop again */
			uint64_t k = off - d->win_off < d->win.len ? off - d->win_off : d->win.len;
			memmove(d->win.data, d->win.data + k, d->win.len - (size_t)k);
			d->win.len -= (size_t)k;
			d->win_off += k;
		}
	}
	if (off >= d->win_off + d->win.len)
		return 0;
	size_t n = d->win_off + d->win.len - off < want ? (size_t)(d->win_off + d->win.len - off)
							: want;
	memcpy(buf, d->win.data + (off - d->win_off), n);
	return (ssize_t)n;
}

const char *mr_decoder_error(const mr_decoder *d)
{
	return d->why;
}
