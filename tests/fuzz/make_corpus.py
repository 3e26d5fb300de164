#!/usr/bin/python3
"""Write the seed corpus of fuzz_records into DIR (default: corpus/ here).

Each seed is the harness's input format (see fuzz_records.c): a rule byte
(bit 0: line rule, else words), a block-size byte (bit 7: 1 MiB, else 1 to
128 bytes), a count of range sizes and the sizes (0: the rest of the file),
then the file's bytes.  The seeds are the shapes the unit tests care about:
empty and whitespace-only files, no final newline, CRLF, empty lines, a word
longer than the block, NUL, bytes >= 0x80, UTF-8 and invalid UTF-8.
"""

import os
import random
import sys

WORD, LINE = 0, 1
MIB_BLOCK = 0x80


def seed(rule, block, sizes, data):
    return bytes([rule, block, len(sizes) - 1]) + bytes(sizes) + data


def seeds():
    rng = random.Random(7)
    text = b" ".join(bytes(rng.choice(b"abcde") for _ in range(rng.randint(1, 9)))
                     for _ in range(60))
    yield "words", seed(WORD, 0, [1, 2, 3],
                        b"the quick  brown\tfox\n\njumps\r\nover")
    yield "lines", seed(LINE, 2, [5, 0],
                        b"line one\nline two\n\n\nlast, no newline")
    yield "whole_file", seed(WORD, MIB_BLOCK, [0], b"one two three\n")
    yield "empty_lines", seed(LINE, 1, [1], b"\n\n\n")
    yield "odd_bytes", seed(WORD, 6, [4, 1, 7],
                            b"in\x00side \x85\xa0 caf\xc3\xa9 \xe6\x97\xa5 "
                            b"\xf0\x9f\x98\x80 \xc3 \xed\xa0\x80 \xff\xfe\x80\n")
    yield "long_word", seed(WORD, 3, [3], b"a " + b"x" * 40 + b" b\n")
    yield "crlf", seed(LINE, 0, [2, 3], b"one\r\ntwo\r\n\r\nthree\r\n")
    yield "text", seed(WORD, 63, [255, 17], text)
    yield "empty", seed(WORD, 0, [1], b"")
    yield "whitespace", seed(WORD, 1, [1, 2], b" \t\n\v\f\r\r\n  ")
    yield "no_final_newline", seed(LINE, 4, [6], b"first\nsecond")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
