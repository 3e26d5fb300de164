#!/usr/bin/python3
"""Write a deterministic set of awkward word-count inputs into DIR.

The set (about 25 MB in all) exercises the word rule "words are
bytes.split(), per file":
  crlf.txt              CRLF line ends, and a lone CR inside a line
  separators.txt        \\v, \\f, tab, runs of mixed separators, leading ones
  nul.txt               NUL bytes inside words, between words, alone
  no_final_newline.txt  the last word ends at end of file
  one_byte_word.txt     a single 1-byte word, nothing else
  whitespace_only.txt   only the six whitespace bytes, no word
  empty.txt             0 bytes
  format_chars.txt      words with %n, %s, %d, %%, backslashes, quotes
  utf8.txt              multibyte UTF-8, a BOM, U+00A0 and U+2003 (which are
                        word bytes under this rule, not separators), U+0085
  long_line.txt         one ~3 MB line of many words, no newline at all
  long_word.txt         one word of 1 MiB + 7 bytes between two short words
  repeated.txt          one word repeated 2,400,000 times (~15 MB)
  binary.bin            1 MiB of seeded random bytes
  name with spaces.txt  a file name with spaces
  nested/...            files three directory levels deep, and an empty dir
  ties.txt              ties that order's radix sort leaves to comparison:
                        keys equal in their first 16 bytes and their count,
                        keys that differ only in length (trailing NULs), and
                        counts that differ only above their low byte

Everything comes from a fixed seed, so the bytes are the same on every run.
DIR is created if needed; it must be empty or hold only files this script
writes (so that re-running it is safe).

Usage:
  tests/e2e/make_awkward.py DIR [--seed N]
"""

import argparse
import os
import random
import sys

LONG_LINE_BYTES = 3 * 1024 * 1024
LONG_WORD_BYTES = 1024 * 1024 + 7
REPEATS = 2_400_000
BINARY_BYTES = 1024 * 1024


def files(seed):
    """Yield (relative path, bytes) for every file of the set."""
    rng = random.Random(seed)

    yield "crlf.txt", (b"first line of text\r\nsecond line\r\n"
                       b"the\r\nthe quick\r\n\r\nlone\rcarriage return\r\n"
                       b"trailing spaces   \r\n")

    yield "separators.txt", (b"\v\f\t leading\tseparators\vvertical\ftab"
                             b"\t\tand\f\fform\v\v\vfeeds\n"
                             b"mixed \t\n\v\f\r run \t\n\v\f\r of \t\n\v\f\r "
                             b"all six\x0b\x0cend\t")

    yield "nul.txt", (b"in\x00side word\x00 \x00 \x00\x00 between\x00\x00words"
                      b" \x00lead trail\x00\n\x00\n")

    yield "no_final_newline.txt", b"the last word has no newline after it"

    yield "one_byte_word.txt", b"x"

    yield "whitespace_only.txt", b" \t\n\v\f\r\r\n  \n\t\t\v\f  \n"

    yield "empty.txt", b""

    yield "format_chars.txt", (b"%n %s %d %x%n%s %% %%n %1$s %*d %p\n"
                               b"back\\slash \\ \\\\ \\n \\t \\0 C:\\path\\to\\file\n"
                               b"'single' \"double\" `tick` $HOME ${x} %n %s\n"
                               b"tab\\tin\\tword %s%s%s%s%s%s%s%s%s%s\n")

    utf8 = ("caf\u00e9 na\u00efve \u00fcber stra\u00dfe \u65e5\u672c\u8a9e "
            "\u0440\u0443\u0441\u0441\u043a\u0438\u0439 emoji\U0001F600 "
            "\U0001F600 \u00e9\u00e9\u00e9\n"
            "no\u00a0break\u00a0space em\u2003space \u00a0 \u2003 "
            "next\u0085line e\u0301 combining\n"
            "caf\u00e9 caf\u00e9 \u65e5\u672c\u8a9e")
    yield "utf8.txt", b"\xef\xbb\xbfbom " + utf8.encode("utf-8") + b"\n"

    vocab = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz")
                   for _ in range(rng.randint(1, 10))) for _ in range(5000)]
    parts, size = [], 0
    while size < LONG_LINE_BYTES:
        w = rng.choice(vocab)
        parts.append(w)
        size += len(w) + 1
    yield "long_line.txt", b" ".join(parts)

    yield "long_word.txt", (b"before " + bytes(rng.choice(b"ab") for _ in
                                              range(LONG_WORD_BYTES))
                            + b" after\n")

    # "again" repeated, 16 to a line; plus a few other words.
    line = b" ".join([b"again"] * 16) + b"\n"
    yield "repeated.txt", (b"start " + line * (REPEATS // 16) + b"stop\n")

    yield "binary.bin", rng.randbytes(BINARY_BYTES)

    yield "name with spaces.txt", b"spaces in the file name\n"

    yield "nested/top.txt", b"level one the\n"
    yield "nested/a/mid.txt", b"level two the the\n"
    yield "nested/a/b/deep.txt", b"level three the the the\n"
    yield "nested/a/b/c/deepest.txt", b"level four the the the the\n"
    yield "nested/z/also.txt", b"another branch the\n"

    # Its own generator, so that the files above keep their bytes.
    tie = random.Random(seed + 1)
    words = [b"tiestiestiestiesties%04d" % i for i in range(300)] * 3
    words += [b"k" + b"\x00" * n for n in range(100)] * 2
    for n in (255, 256, 257, 511, 65539):
        words += [b"c%d" % n] * n
    tie.shuffle(words)
    yield "ties.txt", b"\n".join(b" ".join(words[i:i + 12])
                                  for i in range(0, len(words), 12)) + b"\n"


EMPTY_DIRS = ("nested/empty_dir",)


def main():
    ap = argparse.ArgumentParser(description="Write awkward word-count inputs.")
    ap.add_argument("dir", metavar="DIR")
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()

    todo = list(files(a.seed))
    ours = {os.path.normpath(p) for p, _ in todo}
    ours_dirs = set(EMPTY_DIRS)
    for p in ours | ours_dirs:
        d = os.path.dirname(p)
        while d:
            ours_dirs.add(d)
            d = os.path.dirname(d)
    if os.path.isdir(a.dir):
        for dirpath, dirnames, filenames in os.walk(a.dir):
            rel = os.path.relpath(dirpath, a.dir)
            for n in filenames + dirnames:
                r = os.path.normpath(os.path.join(rel, n))
                if r not in ours and r not in ours_dirs:
                    print("make_awkward: %s holds %r, which this script does not "
                          "write; use an empty directory" % (a.dir, r),
                          file=sys.stderr)
                    return 2
    total = 0
    for rel, data in todo:
        path = os.path.join(a.dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        total += len(data)
    for rel in EMPTY_DIRS:
        os.makedirs(os.path.join(a.dir, rel), exist_ok=True)
    print("wrote %d files, %d bytes, into %s" % (len(todo), total, a.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
