"""Byte ranges of input files, cut by mpimr's record rule, for the Python peers.

A word is a maximal run of bytes that are none of b" \\t\\n\\v\\f\\r" (exactly
what bytes.split() splits on).  A word belongs to the range that holds its
first byte: a range skips a word begun before it and finishes its last word
past its end.  So the ranges of a file, counted separately, give exactly
Counter(whole_file.split()), whatever the range size.
"""

import os
import re

WHITESPACE = b" \t\n\v\f\r"
_SPACE = re.compile(rb"[ \t\n\v\f\r]")
_BLOCK = 64 << 10


def expand_inputs(paths):
    """Files named, and files under directories named, as mpimr walks them:
    recursively, in byte order of the full path."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            for d, _, names in os.walk(p):
                files.extend(os.path.join(d, n) for n in names)
        else:
            files.append(p)
    return sorted(files, key=os.fsencode)


def plan(files, nworkers, chunk=0):
    """[(path, start, end)]: every file cut into ranges of at most chunk bytes.
    By default about four ranges per worker (64 KiB to 16 MiB each), so that a
    pool keeps every worker busy without reading whole files at once."""
    sizes = [os.path.getsize(f) for f in files]
    if not chunk:
        chunk = min(max(sum(sizes) // (4 * nworkers) + 1, 64 << 10), 16 << 20)
    return [(f, a, min(a + chunk, s)) for f, s in zip(files, sizes) for a in range(0, s, chunk)]


def read_range(path, start, end):
    """The bytes of the words that begin in [start, end) of path, separated
    as in the file (so .split() on the result gives those words)."""
    frm = start - 1 if start > 0 else 0  # one byte before: did a word begin earlier?
    with open(path, "rb") as f:
        f.seek(frm)
        data = f.read(end - frm)
        if data and data[-1] not in WHITESPACE:
            tail = []
            while True:
                block = f.read(_BLOCK)
                m = _SPACE.search(block)
                tail.append(block[: m.start()] if m else block)
                if m or not block:
                    break
            data += b"".join(tail)
    if start > 0:
        m = _SPACE.search(data)
        data = data[m.start() :] if m else b""
    return data
