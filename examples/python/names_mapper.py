#!/usr/bin/env python3
"""Names in text, a paragraph at a time: a stand-in for a spaCy entity
extractor (`[ent.text for ent in nlp(paragraph).ents if ent.label_ ==
"PERSON"]`) by a regular expression: a name is a run of capitalised words
("Fulton County", "Mrs. Ann Smith" gives "Ann Smith"), less a leading word
that is only capitalised because it starts a sentence ("The", "In", ...).

A paragraph is a line (the usual shape of text exported for NLP: one
paragraph per line).  For each paragraph the mapper counts its names and
writes `NAME<TAB>N`, N the times the paragraph names it; `--combine sum`
adds them up over the whole input.

    cat texts/* | python3 names_mapper.py
    mpirun -np 4 mpimr stream --map 'python3 names_mapper.py' --combine sum texts/ -o names.h5

Standard library only.
"""
import collections
import re
import sys

# Capitalised words (a capital, then lowercase letters), joined by single
# spaces; a name ends at anything else.
NAME = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*\b")
# Words capitalised only because a sentence starts with them.
STARTERS = {
    "A", "An", "And", "As", "At", "But", "By", "For", "From", "He", "Her", "His", "How",
    "I", "If", "In", "It", "Its", "Mr", "Mrs", "Miss", "Dr", "No", "Not", "Of", "On",
    "One", "Or", "She", "So", "Some", "That", "The", "Their", "There", "These", "They",
    "This", "Those", "To", "We", "What", "When", "Where", "Which", "While", "Who",
    "With", "You", "Then", "Now", "All", "After", "Yet", "Even", "Each", "Our", "My",
    "Most", "Many", "Such", "Like", "Although", "Because", "Before", "Since", "Here", "Yes",
}


def names(paragraph):
    for m in NAME.finditer(paragraph):
        words = m.group().split(" ")
        while words and words[0] in STARTERS:
            words.pop(0)
        if words:
            yield " ".join(words)


def main():
    inp = open(sys.stdin.fileno(), encoding="utf-8", errors="surrogateescape", newline="\n")
    out = open(sys.stdout.fileno(), "w", encoding="utf-8", errors="surrogateescape",
               newline="\n", buffering=1 << 16)
    for paragraph in inp:
        for name, n in collections.Counter(names(paragraph)).items():
            out.write("%s\t%d\n" % (name, n))
    out.flush()


if __name__ == "__main__":
    main()
