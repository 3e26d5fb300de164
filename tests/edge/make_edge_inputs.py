#!/usr/bin/python3
"""Write the small inputs of the edge-case tests into DIR.

  DIR/bounds/     a few KB of files cut by ranges of 1 to 7 bytes:
    mixed.txt             seeded words of 1-12 bytes (NUL, DEL, \\x1c-\\x1f,
                          \\x85 and \\xa0 among their bytes: none is a separator)
                          between runs of the six whitespace bytes
    no_final_newline.txt  the last word ends at the end of the file
    crlf.txt              CRLF line ends, empty CRLF lines
    crlf_unterminated.txt CRLF lines, the last one without its CRLF
    lone_cr.txt           a CR alone at the end of the file
    one_long_word.txt     one 61-byte word and nothing else: it crosses every
                          boundary of every range size
    leading_space.txt     a long run of whitespace first, then words
    utf8.txt              words of 2-, 3- and 4-byte UTF-8 characters, and
                          U+00A0, U+0085, U+2028, U+3000 (word bytes here)
    invalid_utf8.txt      lone continuation bytes, overlong and truncated
                          sequences, surrogates, 0xfe 0xff, and a file that
                          ends inside a 4-byte sequence
  DIR/three.txt   3 bytes, one word: more ranks than bytes
  DIR/empty_dir/  an empty directory: more ranks than files

The generator checks its own promise: for every range size from 1 to 7 the
set has a word that crosses a range boundary, a word that starts exactly on
one (after whitespace), a multibyte character cut by one, and an invalid
UTF-8 sequence cut by one.  It exits 1 if not.

Usage: tests/edge/make_edge_inputs.py DIR
"""

import os
import random
import shutil
import sys

SEED = 20240611
CHUNKS = range(1, 8)
SPACE = b" \t\n\v\f\r"
SEPARATORS = [b" ", b" ", b" ", b"\n", b"\r\n", b"\t", b"  ", b" \n\n",
              b"\v", b"\f", b"\r", b" \t\n\v\f\r"]
WORD_BYTES = (b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
              b".,;:!?'\"-_()%\\\x00\x7f\x1c\x1d\x1e\x1f\x85\xa0")
UTF8_CHARS = ["\u00e9", "\u00df", "\u0436", "\u65e5", "\u20ac", "\U0001F600",
              "\U0001D11E", "\u00a0", "\u0085", "\u2028", "\u3000",
              "e\u0301", "a"]
INVALID = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xc3", b"\xe2\x82",
           b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",
           b"\xfe", b"\xff", b"\xf0\x9f\x98"]


def words_and_spaces(rng, n, word, final):
    parts = []
    for i in range(n):
        parts.append(word())
        if i < n - 1 or final:
            parts.append(rng.choice(SEPARATORS))
    return b"".join(parts)


def bounds_files(rng):
    def ascii_word():
        return bytes(rng.choice(WORD_BYTES) for _ in range(rng.randint(1, 12)))

    def utf8_word():
        return "".join(rng.choice(UTF8_CHARS)
                       for _ in range(rng.randint(1, 5))).encode("utf-8")

    def invalid_word():
        parts = [rng.choice(INVALID) if rng.random() < 0.6
                 else bytes([rng.choice(b"xyz")]) for _ in range(rng.randint(1, 4))]
        return b"".join(parts)

    yield "mixed.txt", words_and_spaces(rng, 400, ascii_word, True)
    yield "no_final_newline.txt", words_and_spaces(rng, 60, ascii_word, False)
    lines = []
    for _ in range(40):
        lines.append(b" ".join(ascii_word().replace(b"\r", b"R")
                               for _ in range(rng.randint(0, 6))))
    yield "crlf.txt", b"".join(line + b"\r\n" for line in lines)
    yield "crlf_unterminated.txt", b"\r\n".join(lines[:12])
    yield "lone_cr.txt", b"ends with a carriage return\r"
    yield "one_long_word.txt", bytes(b"abcdefghijklmnopqrstuvwxyz"[i % 26]
                                     for i in range(61))
    yield "leading_space.txt", b" \t\n\v\f\r\r\n  " + words_and_spaces(
        rng, 30, ascii_word, True)
    yield "utf8.txt", words_and_spaces(rng, 300, utf8_word, True)
    yield "invalid_utf8.txt", (words_and_spaces(rng, 300, invalid_word, True)
                               + b"end\xf0\x9f\x98")


def word_spans(data):
    """(start, end) of every word of data, by the bytes.split() rule."""
    spans, i, n = [], 0, len(data)
    while i < n:
        while i < n and data[i] in SPACE:
            i += 1
        if i == n:
            break
        j = i
        while j < n and data[j] not in SPACE:
            j += 1
        spans.append((i, j))
        i = j
    return spans


def seq_spans(data, seqs):
    """(start, end) of every occurrence of each byte sequence in seqs."""
    out = []
    for s in seqs:
        i = data.find(s)
        while i >= 0:
            out.append((i, i + len(s)))
            i = data.find(s, i + 1)
    return out


def cut(spans, c):
    """Whether some span has a multiple of c strictly inside it."""
    return any((a // c + 1) * c < b for a, b in spans)


def coverage(files):
    """Errors where the set misses a boundary case for some range size."""
    missing = []
    multibyte = [ch.encode("utf-8") for ch in UTF8_CHARS if len(ch.encode()) > 1]
    for c in CHUNKS:
        crosses = starts = mb = bad = False
        for name, data in files:
            spans = word_spans(data)
            crosses |= cut(spans, c)
            starts |= any(a > 0 and a % c == 0 for a, _ in spans)
            if name == "utf8.txt":
                mb |= cut(seq_spans(data, multibyte), c)
            if name == "invalid_utf8.txt":
                bad |= cut(seq_spans(data, [s for s in INVALID if len(s) > 1]), c)
        for ok, what in ((crosses, "word across a boundary"),
                         (starts, "word starting on a boundary"),
                         (mb, "multibyte character across a boundary"),
                         (bad, "invalid UTF-8 sequence across a boundary")):
            if not ok:
                missing.append("range size %d: no %s" % (c, what))
    return missing


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    top = sys.argv[1]
    files = list(bounds_files(random.Random(SEED)))
    missing = coverage(files)
    if missing:
        for m in missing:
            print("make_edge_inputs: " + m, file=sys.stderr)
        return 1
    bounds = os.path.join(top, "bounds")
    shutil.rmtree(bounds, ignore_errors=True)
    os.makedirs(bounds)
    for name, data in files:
        with open(os.path.join(bounds, name), "wb") as f:
            f.write(data)
    with open(os.path.join(top, "three.txt"), "wb") as f:
        f.write(b"ab\n")
    empty = os.path.join(top, "empty_dir")
    shutil.rmtree(empty, ignore_errors=True)
    os.makedirs(empty)
    total = sum(len(d) for _, d in files)
    print("wrote %d files, %d bytes, into %s; three.txt and empty_dir/ beside"
          % (len(files), total, bounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
