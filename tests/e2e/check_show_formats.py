#!/usr/bin/python3
"""`mpimr show --format tsv|csv|jsonl`, and show on format-2 files: each
output read back (Python's csv and json modules; tsv by its escapes)
against h5py reading the same file (craft.Reference).

Files: real results of wordcount, invindex, groupby and grep --lines (format
1) over inputs with quotes, commas, tabs, "NA", NUL and invalid UTF-8; and
crafted files of every kind, in format 1 and format 2 (craft.crafted): one
number (uint64 up to 2^64-1, float64 with inf, nan, -0), sets, fields,
byte-string values and records, over keys with quotes, commas, tabs,
newlines, CR, "NA", the empty key and bytes that are not UTF-8.

  tsv    (the default): the exact bytes (keys and byte values escaped,
         records as they are, one per line);
  csv    RFC 4180: CRLF after every row, the header (key,value; key and
         the field names; record), and csv.reader gives back every key's
         bytes (surrogateescape) and every value exactly;
  jsonl  every line valid UTF-8 and strict JSON (no NaN or Infinity
         tokens), "key" for UTF-8 keys and "key_b64" (base64) for the
         others (likewise value and record), numbers exact, non-finite
         floats as "inf", "-inf", "nan", sets as arrays.

--top applies to every format (csv keeps its header); an empty table is a
header alone (csv) or nothing; a bad --format is a usage error (exit 2);
files of format 3, an unknown layout or value_kind are refused with one
message (exit 1).  With --readme: the README's read_csv snippet and its
jsonl snippet, run as they are on show's output of a wordcount result,
give the file's table.

Usage:
  tests/e2e/check_show_formats.py --mpimr build/mpimr [--readme README.md]
"""

import argparse
import base64
import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import craft  # noqa: E402
import mrtest  # noqa: E402

FAILURES = []
ESCAPES = {b"\t": b"\\t", b"\n": b"\\n", b"\r": b"\\r", b"\\": b"\\\\"}


def expect(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        FAILURES.append(name)
        if detail:
            print("    " + str(detail).replace("\n", "\n    ")[:4000])


def escaped(b):
    return b"".join(ESCAPES.get(b[i:i + 1], b[i:i + 1]) for i in range(len(b)))


def number(x):
    return b"%.17g" % x if isinstance(x, float) else b"%d" % x


def same(a, b):
    """Numbers bit for bit (a float NaN equals NaN; -0.0 is not 0.0)."""
    if isinstance(b, float):
        return isinstance(a, float) and (math.isnan(a) and math.isnan(b) or
                                         np.float64(a).tobytes() == np.float64(b).tobytes())
    return type(a) is int and a == b


def tsv_want(ref):
    if ref.kind == "records":
        return b"".join(r + b"\n" for r in ref.rows)
    out = []
    for k, v in zip(ref.rows, ref.values):
        if ref.kind == "fields":
            val = b"\t".join(n.encode() + b"=" + number(x) for n, x in v)
        elif ref.kind == "uint64-set":
            val = b",".join(b"%d" % m for m in v)
        elif ref.kind == "bytes":
            val = escaped(v)
        else:
            val = number(v)
        out.append(escaped(k) + b"\t" + val + b"\n")
    return b"".join(out)


def text(b):
    return b.decode("utf-8", "surrogateescape")


def csv_float(c):
    """A float as show's csv writes one: it always looks like a float."""
    return float(c) if ("." in c or "e" in c or c in ("inf", "-inf", "nan")) else None


def csv_errors(out, ref):
    """Where show's csv differs from the file: format, header, rows."""
    e = []
    header = (["record"] if ref.kind == "records" else
              ["key"] + (ref.fields if ref.kind == "fields" else ["value"]))
    head = ",".join(header).encode() + b"\r\n"
    if not out.startswith(head):
        return ["does not start with the header %r: %r" % (head, out[:80])]
    rows = list(csv.reader(io.StringIO(text(out), newline=""), strict=True))
    if rows[0] != header:
        e.append("header %r" % rows[0])
    rows = rows[1:]
    if len(rows) != len(ref.rows):
        return e + ["%d rows, want %d" % (len(rows), len(ref.rows))]
    # RFC 4180: CRLF ends every row; count those outside quotes.
    ends = len(re.findall(rb'\r\n', re.sub(rb'"(?:[^"]|"")*"', b"", out)))
    if ends != len(rows) + 1 or not out.endswith(b"\r\n"):
        e.append("%d CRLF row ends for %d rows and the header" % (ends, len(rows)))
    for i, (row, key) in enumerate(zip(rows, ref.rows)):
        want_len = len(header)
        if len(row) != want_len or row[0].encode("utf-8", "surrogateescape") != key:
            e.append("row %d: %r, want key %r in %d fields" % (i, row, key, want_len))
            break
        if ref.kind == "records":
            continue
        v = ref.values[i]
        if ref.kind == "fields":
            ok = all(same(csv_float(c) if isinstance(x, float) else int(c), x)
                     for c, (_, x) in zip(row[1:], v))
        elif ref.kind == "uint64-set":
            ok = row[1] == ",".join(map(str, v))
        elif ref.kind == "bytes":
            ok = row[1].encode("utf-8", "surrogateescape") == v
        else:
            ok = same(csv_float(row[1]) if isinstance(v, float) else int(row[1]), v)
        if not ok:
            e.append("row %d (key %r): %r, want %r" % (i, key, row[1:], v))
            break
    return e


def json_string(o, name):
    """(bytes, how): o[name] as UTF-8, or o[name + "_b64"] decoded."""
    if name in o and name + "_b64" not in o:
        return o[name].encode("utf-8"), "text"
    if name + "_b64" in o and name not in o:
        return base64.b64decode(o[name + "_b64"], validate=True), "b64"
    return None, "neither or both of %s and %s_b64" % (name, name)


def strict_constant(c):
    raise ValueError("JSON has no %s" % c)


def json_number(x, want):
    if isinstance(want, float) and isinstance(x, str):
        return float(x) if x in ("inf", "-inf", "nan") and not math.isfinite(want) else None
    return x  # a float must come as one ("2.0", "-0.0"), an int as an int


def jsonl_errors(out, ref):
    e = []
    try:
        lines = out.decode("utf-8").split("\n")
    except UnicodeDecodeError as x:
        return ["not UTF-8: %s" % x]
    if lines[-1] != "" and ref.rows:
        e.append("no final newline")
    lines = lines[:-1]
    if len(lines) != len(ref.rows):
        return e + ["%d lines, want %d" % (len(lines), len(ref.rows))]
    first = "record" if ref.kind == "records" else "key"
    for i, (line, key) in enumerate(zip(lines, ref.rows)):
        try:
            o = json.loads(line, parse_constant=strict_constant)
        except ValueError as x:
            return e + ["line %d is not strict JSON (%s): %r" % (i, x, line)]
        got, how = json_string(o, first)
        want_how = "text" if _utf8(key) else "b64"
        if got != key or how != want_how:
            return e + ["line %d: %s, want %r as %s" % (i, line, key, want_how)]
        if ref.kind == "records":
            ok = len(o) == 1
        elif ref.kind == "fields":
            names = [n for n, _ in ref.values[i]]
            ok = list(o)[1:] == names and all(
                same(json_number(o[n], x), x) for n, x in ref.values[i])
        elif ref.kind == "bytes":
            val, how = json_string(o, "value")
            ok = len(o) == 2 and val == ref.values[i] and how == (
                "text" if _utf8(ref.values[i]) else "b64")
        elif ref.kind == "uint64-set":
            ok = list(o)[1:] == ["value"] and o["value"] == ref.values[i]
        else:
            ok = list(o)[1:] == ["value"] and same(json_number(o["value"], ref.values[i]),
                                                      ref.values[i])
        if not ok:
            return e + ["line %d: %s, want value %r" % (i, line, ref.values[i])]
    return e


def _utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def show(mpimr, path, *extra):
    return mrtest.run([mpimr, "show", path] + list(extra))


def check_file(mpimr, label, path):
    ref = craft.Reference(path)
    want = tsv_want(ref)
    for argv in ([], ["--format", "tsv"]):
        r = show(mpimr, path, *argv)
        expect("%s: show %s prints the table as tsv" % (label, " ".join(argv) or "(default)"),
               r.rc == 0 and r.out == want and not r.err,
               "want %r\n%s" % (want[:300], r.describe()))
    r = show(mpimr, path, "--format", "csv")
    errors = csv_errors(r.out, ref) if r.rc == 0 else [r.describe()]
    expect("%s: --format csv reads back with Python's csv" % label, not errors, errors)
    r = show(mpimr, path, "--format=jsonl")
    errors = jsonl_errors(r.out, ref) if r.rc == 0 else [r.describe()]
    expect("%s: --format jsonl reads back with Python's json" % label, not errors, errors)
    return ref


def check_top(mpimr, path):
    """--top N in every format: the first N rows (csv: and the header)."""
    whole = {f: show(mpimr, path, "--format", f).out for f in ("tsv", "csv", "jsonl")}
    for fmt, cut in (("tsv", lambda o: b"".join(o.splitlines(True)[:2])),
                     ("jsonl", lambda o: b"".join(o.splitlines(True)[:2])),
                     ("csv", lambda o: b"".join(o.split(b"\r\n")[i] + b"\r\n"
                                                for i in range(3)))):
        r = show(mpimr, path, "--format", fmt, "--top", "2")
        expect("--format %s --top 2: the first two rows" % fmt,
               r.rc == 0 and r.out == cut(whole[fmt]), r.describe())


def check_refused(mpimr, tmp, good):
    def copy(name, edit):
        path = os.path.join(tmp, name + ".h5")
        with open(good, "rb") as a, open(path, "wb") as b:
            b.write(a.read())
        with h5py.File(path, "r+") as f:
            edit(f)
        return path

    cases = [("format 3", lambda f: f.attrs.__setitem__("format", np.uint64(3)),
              "it is in format 3, and this mpimr reads formats 1 to 2"),
             ("layout 'columns'", lambda f: f["crafted"].attrs.__setitem__("layout", "columns"),
              "group 'crafted' has layout 'columns', which this mpimr does not know"),
             ("value_kind 'int128'",
              lambda f: f["crafted"].attrs.__setitem__("value_kind", "int128"),
              "group 'crafted' has values of kind 'int128'"),
             ("value_kind float64 over uint64 values",
              lambda f: f["crafted"].attrs.__setitem__("value_kind", "float64"),
              "damaged table in group 'crafted'"),
             ("value_kind bytes over uint64 values",
              lambda f: f["crafted"].attrs.__setitem__("value_kind", "bytes"),
              "damaged table in group 'crafted'")]
    # A set's shape (N members, N+1 offsets) declared as one number per key.
    cases.append(("value_kind uint64 over a set", lambda f: f["crafted"].__setitem__(
        "value_offsets", np.arange(len(craft.AWKWARD) + 1, dtype=np.uint64)),
        "damaged table in group 'crafted'"))
    for label, edit, reason in cases:
        path = copy(re.sub(r"\W+", "_", label), edit)
        for argv in ([], ["--format", "csv"], ["--format", "jsonl"]):
            r = show(mpimr, path, *argv)
            lines = r.err_lines()
            expect("%s (%s): refused, one message" % (label, " ".join(argv) or "tsv"),
                   r.rc == 1 and not r.out and len(lines) == 1 and
                   lines[0].startswith("mpimr: cannot read '%s': %s" % (path, reason)),
                   r.describe())
    for argv in (["--format", "xml"], ["--format"], ["--format="], ["--format", "CSV"]):
        r = show(mpimr, good, *argv)
        expect("bad usage %s: exit 2, nothing printed" % argv, r.rc == 2 and not r.out and
               r.err.startswith(b"mpimr: "), r.describe())
    r = mrtest.run([mpimr, "show", "--help"])
    expect("show --help documents --format", r.rc == 0 and b"--format" in r.out and
           b"jsonl" in r.out and b"_b64" in r.out, r.describe())


def readme_block(readme, needle):
    with open(readme, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    return next((b for b in blocks if needle in b), None)


def run_block(block, here):
    ns, cwd = {}, os.getcwd()
    os.chdir(here)
    try:
        exec(compile(block, "README.md", "exec"), ns)  # noqa: S102 - our own README
    finally:
        os.chdir(cwd)
    return ns


def check_readme(mpimr, readme, counts, tmp):
    """The README's snippets for show's csv and jsonl, as they are."""
    here = os.path.join(tmp, "readme")
    os.makedirs(here)
    for fmt in ("csv", "jsonl"):
        with open(os.path.join(here, "counts." + fmt), "wb") as f:
            subprocess.run([mpimr, "show", counts, "--format", fmt], stdout=f, check=True,
                           env=mrtest.mpi_env())
    ref = craft.Reference(counts)
    want = dict(zip(ref.rows, ref.values))
    block = readme_block(readme, 'pd.read_csv("counts.csv"')
    expect("README has a read_csv snippet for show's csv", block is not None)
    if block:
        try:
            df = run_block(block, here)["df"]
            got = dict(zip((k.encode("utf-8", "surrogateescape") for k in df["key"]),
                           (int(v) for v in df["value"])))
            expect("the README's read_csv snippet gives every key and value",
                   len(df) == len(ref.rows) and got == want,
                   "%d rows for %d; differences: %s" % (len(df), len(ref.rows), sorted(
                       set(got.items()) ^ set(want.items()))[:6]))
        except Exception as x:  # noqa: BLE001 - any failure is the finding
            expect("the README's read_csv snippet runs", False, "%r\n%s" % (x, block))
    block = readme_block(readme, 'open("counts.jsonl"')
    expect("README has a snippet for show's jsonl", block is not None)
    if block:
        try:
            table = run_block(block, here)["table"]
            expect("the README's jsonl snippet gives {key bytes: value}", table == want,
                   sorted(set(table.items()) ^ set(want.items()))[:6])
        except Exception as x:  # noqa: BLE001
            expect("the README's jsonl snippet runs", False, "%r\n%s" % (x, block))


def real_results(mpimr, tmp):
    words = os.path.join(tmp, "words.txt")
    with open(words, "wb") as f:
        f.write(b'say "hi" a,b NA null NaN "" x\x00y caf\xc3\xa9 \xff caf\xc3 \xed\xa0\x80 '
                b"1e5 -0 = key value NA back\\slash NA\n")
    docs = []
    for i, data in enumerate((b"a,b NA x\n", b"", b'NA "q" \xff\n')):
        docs.append(os.path.join(tmp, "doc%d.txt" % i))
        with open(docs[-1], "wb") as f:
            f.write(data)
    table = os.path.join(tmp, "t.csv")
    with open(table, "wb") as f:
        f.write(b'city,temp\n"a,b",1\n"q""uote",2\nNA,3\nnull,4.5\n\xff\xfe,6\n'
                b'"tab\there",7\nNA,-8e300\n')
    lines = os.path.join(tmp, "lines.txt")
    with open(lines, "wb") as f:
        f.write(b'a\tb\n"quoted, with comma"\nNA\n\n\xff\xfe\nNA\ncr\r\nback\\slash\n')
    out = []
    for name, argv in (("wordcount", ["wordcount", words]), ("invindex", ["invindex"] + docs),
                       ("groupby", ["groupby", "--key", "city", "--value", "temp", "--op",
                                    "count,sum,mean,min", table]),
                       ("grep", ["grep", "--lines", "", lines])):
        path = os.path.join(tmp, name + ".h5")
        r = mrtest.run([mpimr] + argv[:1] + ["-q"] + argv[1:] + ["-o", path])
        expect("%s runs" % name, r.rc == 0, r.describe())
        if r.rc == 0:
            out.append(("%s (a run)" % name, path))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--readme")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = real_results(a.mpimr, tmp) + craft.crafted(tmp) + craft.crafted(tmp, fmt=1)
        empty = os.path.join(tmp, "empty.h5")
        craft.write(empty, "crafted", "uint64", keys=[], values=[])
        files.append(("no keys at all", empty))
        for label, path in files:
            check_file(a.mpimr, label, path)
        r = show(a.mpimr, empty, "--format", "csv")
        expect("an empty table in csv: the header alone", r.rc == 0 and
               r.out == b"key,value\r\n", r.describe())
        check_top(a.mpimr, os.path.join(tmp, "records-f2.h5"))
        check_top(a.mpimr, os.path.join(tmp, "fields-f2.h5"))
        check_refused(a.mpimr, tmp, os.path.join(tmp, "uint64-f2.h5"))
        counts = os.path.join(tmp, "wordcount.h5")
        if a.readme and os.path.exists(counts):
            check_readme(a.mpimr, a.readme, counts, tmp)
    print("%d failures" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
