#!/usr/bin/env python3
"""Word count's mapper, after PyMOTW's SimpleMapReduce example
(multiprocessing_wordcount.py): punctuation becomes spaces, words are
lowercased, stop words and anything not alphabetic are dropped, and every
word left is written as `WORD<TAB>1`.  Lines starting with `..` (reST
comments, as in PyMOTW) are skipped.

    cat texts/* | python3 wordcount_mapper.py
    mpirun -np 4 mpimr stream --map 'python3 wordcount_mapper.py' --combine sum texts/ -o words.h5

Standard library only.
"""
import string
import sys

STOP_WORDS = {
    "a", "an", "and", "are", "as", "be", "by", "for", "if", "in", "is", "it",
    "of", "or", "py", "rst", "that", "the", "to", "with",
}
TR = str.maketrans(string.punctuation, " " * len(string.punctuation))


def main():
    # Bytes that are not UTF-8 become lone surrogates and go back out as the
    # same bytes: the mapper never fails on odd input.
    inp = open(sys.stdin.fileno(), encoding="utf-8", errors="surrogateescape", newline="\n")
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", errors="surrogateescape",
               newline="\n", buffering=1 << 16)
    for line in inp:
        if line.lstrip().startswith(".."):
            continue
        for word in line.translate(TR).split():
            word = word.lower()
            if word.isalpha() and word not in STOP_WORDS:
                out.write(word + "\t1\n")
    out.flush()


if __name__ == "__main__":
    main()
