/*
 * Reading a result file: mpimr show, and a chained pass's input.
 */
#ifndef MR_SHOW_H
#define MR_SHOW_H

#include "core/util.h"

#include <stdio.h>

/* ---- reading a result file (show.c) ------------------------------------ */
/* How show prints rows: key<TAB>value lines, RFC 4180 CSV with a header,
 * or one JSON object per line. */
typedef enum { MR_SHOW_TSV, MR_SHOW_CSV, MR_SHOW_JSONL } mr_show_format;
/* Prints result file path's table (its first top rows; all when top < 0) on
 * standard output in format, then closes standard output.  A file without
 * complete=1 is refused unless incomplete.  Local, serial; returns MR_OK,
 * or an MR_ERR_* after one message on stderr. */
int mr_show(const char *path, long long top, bool incomplete, mr_show_format format);
/* The lines mr_show prints (tsv, every row) into f instead: a chained
 * pass reads a result so.  Messages as mr_show's.  Local. */
int mr_show_into(FILE *f, const char *path);
/* Flushes and closes standard output, so that a write that failed (a full
 * disk), or err (an errno, or 0) from before, is an error rather than a
 * silently short output: MR_OK, or MR_ERR_IO after one message.  A reader
 * that went away (EPIPE, as with `| head`) is a normal end. */
int mr_close_stdout(int err);

#endif /* MR_SHOW_H */
