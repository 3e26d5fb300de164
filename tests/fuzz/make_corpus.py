#!/usr/bin/python3
"""Write the seed corpora of the fuzz harnesses: make_corpus.py [HARNESS] [DIR]
writes HARNESS's seeds (records, groupby or frames; default records) into DIR
(default: corpus/, corpus_groupby/ or corpus_frames/ here).

fuzz_records.c: a rule byte
(bit 0: line rule, else words), a block-size byte (bit 7: 1 MiB, else 1 to
128 bytes), a count of range sizes and the sizes (0: the rest of the file),
then the file's bytes.  The seeds are the shapes the unit tests care about:
empty and whitespace-only files, no final newline, CRLF, empty lines, a word
longer than the block, NUL, bytes >= 0x80, UTF-8 and invalid UTF-8.

fuzz_groupby.c: a setup byte (bit 0: JSON Lines, bit 1: --strict, bit 2:
--op count alone, bit 3: --key a alone), a range byte (bits 0-1: lines
skipped, so the CSV header is read from the file; bits 2-7: the input number),
then the file.  The seeds: CSV with quoted fields, "" and commas inside
quotes, CRLF, a BOM, blank lines, bad numbers (hex, inf, nan, 1e999, empty),
wrong field counts, an unclosed quote, a bad or missing header column; JSON
Lines with string, integer and boolean keys, bad members, invalid JSON.

fuzz_frames.c: a value byte (bit 0: five fields, else one word), then frames
(u32 key length, u32 word count, the words, the key), whole or cut short.
"""

import struct

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


JSONL, STRICT, COUNT_ONLY, ONE_KEY = 1, 2, 4, 8


def groupby(flags, skip, file, data):
    return bytes([flags, skip | file << 2]) + data


def groupby_seeds():
    csv = (b"a,b,c\n"
           b"x,y,1\n"
           b"x,y,2.5\n"
           b'"x","y",-3e2\n'
           b'"q,""uoted""",y, 4 \n'
           b"\n"
           b"x,,0.0\n")
    yield "csv", groupby(0, 0, 0, csv)
    yield "csv_past_header", groupby(0, 1, 5, csv)
    yield "csv_strict", groupby(STRICT, 0, 0, b"a,b,c\nx,y,1\nx,y,one\nx,y,2\n")
    yield "csv_count_one_key", groupby(COUNT_ONLY | ONE_KEY, 2, 63, csv)
    yield "crlf_bom", groupby(0, 0, 1, b"\xef\xbb\xbfc,b,a\r\n7,k,l\r\n\r\n8,k,l\r\n")
    yield "bad_numbers", groupby(0, 0, 0, b"a,b,c\n" + b"".join(
        b"k,k," + v + b"\n" for v in [b"0x10", b"inf", b"nan", b"1e999", b"", b"1e",
                                       b".", b"+.5", b"-5.", b"1e-400", b"1,5",
                                       b"1.7976931348623157e308", b"\t2\t",
                                       b"\xc2\xa01"]))
    yield "bad_rows", groupby(0, 0, 0, b'a,b,c\nx,y\nx,y,1,2\n"x,y,1\nx"z,y,1\n'
                                        b'"x"z,y,1\nx,y,"1"\n\x00,\x1b,3\n')
    yield "bad_header", groupby(0, 0, 0, b'a,"b,c\nx,y,1\n')
    yield "missing_column", groupby(0, 1, 0, b"a,b,d\nx,y,1\n\nz,y,2")
    yield "blank_header", groupby(0, 1, 0, b"\r\nx,y,1\n")
    jsonl = (b'{"a": "x", "b": "y", "c": 1}\n'
             b'{"a": 1, "b": true, "c": 2.5}\r\n'
             b'  \t\n'
             b'{"a": false, "b": "y", "c": -1e300}\n'
             b'{"a": "x\\u0000y", "b": "\xc3\xa9", "c": 3}\n'
             b'{"a": null, "b": "y", "c": 1}\n'
             b'{"a": "x", "b": [], "c": 1}\n'
             b'{"a": "x", "b": "y", "c": "1"}\n'
             b'{"a": "x", "b": "y"}\n'
             b'[1, 2]\n'
             b'{"a": "x", "b": "y", "c": 1\n'
             b'{"a": "x", "b": "y", "c": 1e999}\n'
             b'{"a": "x", "b": "y", "c": 123456789012345678901234567890}\n'
             b'{"a": "\x01", "b": "y", "c": 1}\n'
             b'"just a string"\n')
    yield "jsonl", groupby(JSONL, 0, 0, jsonl)
    yield "jsonl_bom", groupby(JSONL | ONE_KEY, 0, 3, b"\xef\xbb\xbf" + jsonl)
    yield "jsonl_strict", groupby(JSONL | STRICT, 1, 0, jsonl)
    yield "jsonl_count", groupby(JSONL | COUNT_ONLY, 0, 0, jsonl)


def frame(key, words, cut=None):
    data = struct.pack("<II", len(key), len(words)) + b"".join(
        struct.pack("<d", w) if isinstance(w, float) else struct.pack("<Q", w)
        for w in words) + key
    return data[:cut] if cut is not None else data


def frames_seeds():
    yield "one_word", bytes([0]) + frame(b"the", [3]) + frame(b"cat", [1]) + \
        frame(b"the", [2]) + frame(b"", [7]) + frame(b"x" * 40, [1])
    yield "fields", bytes([1]) + frame(b"k\tl", [1.0, 2.0, 2.0, 2.0, 0.0]) + \
        frame(b"k\tl", [1.0, -1.0, -1.0, -1.0, 0.0]) + frame(b"a" * 17, [1.0] * 5)
    yield "wrong_width", bytes([1]) + frame(b"k", [1]) + frame(b"k", [1.0] * 5)
    yield "truncated", bytes([0]) + frame(b"word", [1]) + frame(b"word", [1], cut=13)
    yield "huge_counts", bytes([0]) + struct.pack("<II", 0xffffffff, 0xffffffff) + \
        b"\0" * 16
    yield "empty", bytes([0])


HARNESSES = {"records": ("corpus", seeds), "groupby": ("corpus_groupby", groupby_seeds),
             "frames": ("corpus_frames", frames_seeds)}


def main():
    args = sys.argv[1:]
    harness = args.pop(0) if args and args[0] in HARNESSES else "records"
    name, make = HARNESSES[harness]
    out = args[0] if args else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), name)
    os.makedirs(out, exist_ok=True)
    for name, data in make():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
