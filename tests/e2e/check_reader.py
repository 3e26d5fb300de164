#!/usr/bin/python3
"""The Python reader (python/mpimr): mpimr.read, read_dict and read_inputs
against h5py reading the same files directly (craft.Reference).

Files: real results of wordcount, invindex, groupby and grep --lines over
inputs whose keys hold quotes, commas, tabs, "NA", "null", NUL and bytes
that are not UTF-8 (format 1, as the engine writes them today); crafted
files of every kind in format 1 and format 2 (one number, float64 with
inf/nan/-0, sets, fields in creation and in name order, byte strings,
records) over keys with quotes, commas, tabs, newlines, CR, "NA", the empty
key and invalid UTF-8.  For each: the columns and their order, one row per
key in file order, keys as str that encode back (surrogateescape) to the
file's bytes, values bit for bit (dtype kept), sets as lists of int, bytes
as bytes, records; read_dict the same as {bytes: value}.

Refused, with FormatError naming the file: no complete=1 or complete=0
(IncompleteError; incomplete=True reads it after a warning), format 3, an
unknown layout or value_kind, damaged offsets, values shorter than the
keys, a file that is not a result, a file that is not HDF5, read_dict of
records; a missing file raises FileNotFoundError.

With --readme: the README's Python snippets, run as they are: the pandas
one (mpimr.read of counts.h5) and the four lines of h5py give the table
h5py reads; the invindex example (three files in docs/) prints what the
README says, from `mpimr show --top 3` and from both snippets.  With --build-dir: `cmake --install` of that
build into a fresh prefix puts the package where the README says, and it
imports from there.

Usage:
  PYTHONPATH=python tests/e2e/check_reader.py --mpimr build/mpimr \\
      [--readme README.md] [--build-dir build [--cmake cmake]]
"""

import argparse
import contextlib
import glob
import io
import os
import re
import subprocess
import sys
import tempfile
import warnings

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import craft  # noqa: E402
import mrtest  # noqa: E402

try:
    import mpimr
except ImportError as e:  # the failure, not a crash, where there is no package
    mpimr = None
    IMPORT_ERROR = e

FAILURES = []


def expect(name, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        FAILURES.append(name)
        if detail:
            print("    " + str(detail).replace("\n", "\n    ")[:4000])


def same_numbers(a, b):
    """Bit for bit: NaN equals NaN, -0.0 differs from 0.0."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def frame_errors(df, ref):
    """Where mpimr.read's DataFrame differs from the h5py reading."""
    e = []
    if ref.kind == "records":
        want_cols = ["record"]
    else:
        want_cols = ["key"] + (ref.fields if ref.kind == "fields" else ["value"])
    if list(df.columns) != want_cols:
        return ["columns %s, want %s" % (list(df.columns), want_cols)]
    if len(df) != len(ref.rows):
        return ["%d rows, want %d" % (len(df), len(ref.rows))]
    col = df[want_cols[0]].tolist()
    if not all(isinstance(k, str) for k in col):
        e.append("%s column holds non-str values" % want_cols[0])
    elif [k.encode("utf-8", "surrogateescape") for k in col] != ref.rows:
        bad = next(i for i, k in enumerate(col)
                   if k.encode("utf-8", "surrogateescape") != ref.rows[i])
        e.append("row %d: %r does not encode back to %r" % (bad, col[bad], ref.rows[bad]))
    if ref.kind == "records":
        return e
    if ref.kind == "fields":
        for j, name in enumerate(ref.fields):
            want = np.array([row[j][1] for row in ref.values],
                            dtype=df[name].dtype if len(ref.values) else None)
            file_dtype = np.dtype(np.float64) if any(
                isinstance(row[j][1], float) for row in ref.values) else np.dtype(np.uint64)
            if df[name].dtype != file_dtype or not same_numbers(df[name].to_numpy(), want):
                e.append("field %s: %s %s, want %s" % (name, df[name].dtype,
                                                       df[name].tolist()[:5], want[:5]))
        return e
    got = df["value"].tolist()
    if ref.kind in ("uint64", "float64"):
        dtype = np.uint64 if ref.kind == "uint64" else np.float64
        if df["value"].dtype != dtype or not same_numbers(df["value"].to_numpy(),
                                                          np.array(ref.values, dtype=dtype)):
            e.append("values %s %s, want %s %s" % (df["value"].dtype, got[:5],
                                                   np.dtype(dtype), ref.values[:5]))
    elif ref.kind == "uint64-set":
        if got != ref.values or not all(isinstance(v, list) and
                                        all(type(m) is int for m in v) for v in got):
            e.append("sets %s, want lists of int %s" % (got[:5], ref.values[:5]))
    elif got != ref.values or not all(isinstance(v, bytes) for v in got):
        e.append("byte values %s, want %s" % (got[:5], ref.values[:5]))
    return e


def dict_errors(d, ref):
    if ref.kind == "records":
        return ["a records file read as a dict"]
    items = list(d.items())
    if [k for k, _ in items] != ref.rows:
        return ["keys %s, want %s" % ([k for k, _ in items][:5], ref.rows[:5])]
    for (k, v), want in zip(items, ref.values):
        if ref.kind == "fields":
            want = dict(want)
            ok = list(v) == list(want) and all(
                type(v[n]) is type(want[n]) and same_numbers(v[n], want[n]) for n in want)
        elif ref.kind in ("uint64", "float64"):
            ok = type(v) is type(want) and same_numbers(v, want)
        else:
            ok = v == want and type(v) is type(want)
        if not ok:
            return ["key %r: %r, want %r" % (k, v, want)]
    return []


def check_file(label, path):
    ref = craft.Reference(path)
    try:
        df = mpimr.read(path)
        expect("%s: mpimr.read gives the file's table (%s, %d rows)" % (
            label, ref.kind, len(ref.rows)), not frame_errors(df, ref), frame_errors(df, ref))
    except Exception as x:  # noqa: BLE001 - any failure is the test's finding
        expect("%s: mpimr.read" % label, False, repr(x))
    if ref.kind == "records":
        return
    try:
        d = mpimr.read_dict(path)
        expect("%s: mpimr.read_dict gives {key bytes: value}" % label,
               not dict_errors(d, ref), dict_errors(d, ref))
    except Exception as x:  # noqa: BLE001
        expect("%s: mpimr.read_dict" % label, False, repr(x))


def write_inputs(tmp):
    """Inputs whose keys are hard to read back, for the four jobs."""
    words = os.path.join(tmp, "words.txt")
    with open(words, "wb") as f:
        f.write(b'say "hi" a,b NA null NaN "" x\x00y caf\xc3\xa9 \xff caf\xc3 \xed\xa0\x80 '
                b"1e5 -0 = key value NA NA\n")
    docs = []
    for i, data in enumerate((b"a,b NA x\n", b"", b'NA "q" \xff\n')):
        docs.append(os.path.join(tmp, "doc%d.txt" % i))
        with open(docs[-1], "wb") as f:
            f.write(data)
    table = os.path.join(tmp, "t.csv")
    with open(table, "wb") as f:
        f.write(b'city,temp\n"a,b",1\n"q""uote",2\nNA,3\nnull,4.5\n\xff\xfe,6\n'
                b'"tab\there",7\nNA,8\n')
    lines = os.path.join(tmp, "lines.txt")
    with open(lines, "wb") as f:
        f.write(b'a\tb\n"quoted, with comma"\nNA\n\n\xff\xfe\nNA\ncr\r\n')
    return words, docs, table, lines


def real_results(mpimr_bin, tmp):
    """Runs the four jobs (one rank); returns [(label, path)]."""
    words, docs, table, lines = write_inputs(tmp)
    runs = [("wordcount", ["wordcount", words]),
            ("invindex", ["invindex"] + docs),
            ("groupby", ["groupby", "--key", "city", "--value", "temp",
                         "--op", "count,sum,mean,max", table]),
            ("grep --lines", ["grep", "--lines", "", lines])]
    out = []
    for label, argv in runs:
        path = os.path.join(tmp, label.split()[0] + ".h5")
        r = mrtest.run([mpimr_bin] + argv[:1] + ["-q"] + argv[1:] + ["-o", path])
        expect("%s runs" % label, r.rc == 0, r.describe())
        if r.rc == 0:
            out.append((label + " (a run)", path))
    return out


def raises(label, fn, error, text):
    """fn() raises error (a FormatError) whose message holds text."""
    try:
        fn()
    except error as x:
        expect(label, text in str(x), "message %r lacks %r" % (str(x), text))
        return
    except Exception as x:  # noqa: BLE001
        expect(label, False, "raised %r, want %s" % (x, error.__name__))
        return
    expect(label, False, "no exception")


def check_refusals(tmp, good):
    """Files that are not whole results: clear exceptions naming the file."""
    def copy(name, edit):
        path = os.path.join(tmp, name + ".h5")
        with open(good, "rb") as a, open(path, "wb") as b:
            b.write(a.read())
        with h5py.File(path, "r+") as f:
            edit(f)
        return path

    for label, edit in (("no complete attribute", lambda f: f.attrs.__delitem__("complete")),
                        ("complete=0", lambda f: f.attrs.__setitem__("complete",
                                                                     np.uint64(0)))):
        path = copy(label.replace(" ", "_").replace("=", ""), edit)
        for fn in (mpimr.read, mpimr.read_dict):
            raises("%s: %s raises IncompleteError" % (label, fn.__name__),
                   lambda: fn(path), mpimr.IncompleteError,
                   "cannot read '%s': incomplete result" % path)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            df = mpimr.read(path, incomplete=True)
        expect("%s: incomplete=True reads it after one warning" % label,
               len(df) == len(craft.Reference(good).rows) and len(w) == 1 and
               "incomplete" in str(w[0].message), [str(x.message) for x in w])
    expect("IncompleteError is a FormatError and a ValueError",
           issubclass(mpimr.IncompleteError, mpimr.FormatError) and
           issubclass(mpimr.FormatError, ValueError))

    def set_attr(where, name, value):
        return lambda f: (f[where] if where else f).attrs.__setitem__(name, value)

    def offsets(f):
        ko = f["crafted/key_offsets"]
        ko[1], ko[2] = 5, 2

    def short(f):
        del f["crafted/values"]
        f["crafted/values"] = np.arange(3, dtype=np.uint64)

    cases = [("format 3", set_attr(None, "format", np.uint64(3)), "format 3"),
             ("layout 'columns'", set_attr("crafted", "layout", "columns"),
              "layout 'columns'"),
             ("value_kind 'int128'", set_attr("crafted", "value_kind", "int128"),
              "kind 'int128'"),
             ("decreasing key_offsets", offsets, "damaged table in group 'crafted'"),
             ("values shorter than the keys", short, "3 values for"),
             ("value_kind uint64 over a set's shape", lambda f: f["crafted"].__setitem__(
                 "value_offsets", np.arange(len(craft.AWKWARD) + 1, dtype=np.uint64)),
              "the values have offsets"),
             ("no job attribute", lambda f: f.attrs.__delitem__("job"),
              "not an mpimr result file")]
    for label, edit, text in cases:
        path = copy(re.sub(r"\W+", "_", label), edit)
        raises("%s: refused with FormatError" % label, lambda: mpimr.read(path),
               mpimr.FormatError, text)
    text = os.path.join(tmp, "not-hdf5.h5")
    with open(text, "wb") as f:
        f.write(b"the\t3\nword\t1\n")
    for fn in (mpimr.read, mpimr.read_dict, mpimr.read_inputs):
        raises("a text file: %s raises FormatError" % fn.__name__, lambda: fn(text),
               mpimr.FormatError, "cannot read '%s': not an HDF5 file" % text)
    gone = os.path.join(tmp, "no-such-file.h5")
    raises("a missing file: FileNotFoundError", lambda: mpimr.read(gone),
           FileNotFoundError, "no-such-file.h5")
    records = os.path.join(tmp, "records-f2.h5")
    raises("read_dict of a records file: refused", lambda: mpimr.read_dict(records),
           mpimr.FormatError, "records")


def check_inputs(path, want):
    df = mpimr.read_inputs(path)
    got = [(p.encode("utf-8", "surrogateescape"), s) for p, s in zip(df["path"], df["size"])]
    expect("read_inputs lists /inputs (path, size) in order", got == want, (got, want))


def readme_block(readme, needle):
    """The README's ```python block that contains needle."""
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        if needle in block:
            return block
    return None


def check_readme(readme, counts, tmp):
    block = readme_block(readme, 'mpimr.read("counts.h5")')
    expect("README has a python block reading counts.h5 with mpimr.read", block is not None)
    if block is None:
        return
    here = os.path.join(tmp, "readme")
    os.makedirs(here)
    os.symlink(counts, os.path.join(here, "counts.h5"))
    try:
        ns, _ = run_block(block, here)
    except Exception as x:  # noqa: BLE001
        expect("the README's snippet runs", False, "%r\n%s" % (x, block))
        return
    ref = craft.Reference(counts)
    expect("the README's snippet: df is the table", "df" in ns and
           not frame_errors(ns["df"], ref), frame_errors(ns["df"], ref) if "df" in ns else ns)
    expect("the README's snippet: counts is {key bytes: value}", "counts" in ns and
           not dict_errors(ns["counts"], ref), dict_errors(ns.get("counts", {}), ref))


def run_block(block, here):
    """Runs a README block in folder here; (its namespace, what it printed)."""
    ns, cwd, out = {}, os.getcwd(), io.StringIO()
    os.chdir(here)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(block, "README.md", "exec"), ns)  # noqa: S102 - our own README
    finally:
        os.chdir(cwd)
    return ns, out.getvalue()


def check_readme_h5py(readme, counts, tmp):
    """The README's four lines of h5py give the table."""
    block = readme_block(readme, 'g = h5py.File("counts.h5")')
    expect("README has the h5py snippet reading counts.h5", block is not None)
    if block is None:
        return
    ns, _ = run_block(block, os.path.join(tmp, "readme"))
    ref = craft.Reference(counts)
    expect("the README's h5py snippet: counts is {key bytes: value}",
           not dict_errors(ns.get("counts", {}), ref), dict_errors(ns.get("counts", {}), ref))


def check_readme_invindex(mpimr_bin, readme, tmp):
    """The README's invindex example: docs/ of three files, show --top 3 and
    both snippets print what the README says."""
    here = os.path.join(tmp, "readme-invindex")
    os.makedirs(os.path.join(here, "docs"))
    for name, text in (("intro.txt", b"the MapReduce MPI engine\n"),
                       ("jobs.txt", b"the MapReduce jobs\n"), ("notes.txt", b"the notes\n")):
        with open(os.path.join(here, "docs", name), "wb") as f:
            f.write(text)
    r = mrtest.run([mpimr_bin, "invindex", "-q", "docs/", "-o", "index.h5"], cwd=here)
    expect("the README's invindex example runs", r.rc == 0, r.describe())
    with open(readme, encoding="utf-8") as f:
        m = re.search(r"mpimr show index.h5 --top 3\n(.*?)```", f.read(), re.S)
    r = mrtest.run([mpimr_bin, "show", "index.h5", "--top", "3"], cwd=here)
    expect("mpimr show index.h5 --top 3 prints what the README shows",
           m is not None and r.out.decode() == m.group(1), "README %r\n%s" % (
               m.group(1) if m else None, r.describe()))
    for needle in ('f = h5py.File("index.h5")', 'mpimr.read_inputs("index.h5")'):
        block = readme_block(readme, needle)
        expect("README has the invindex snippet with %s" % needle, block is not None)
        if block:
            _, out = run_block(block, here)
            expect("the invindex snippet with %s prints ['docs/intro.txt', "
                   "'docs/jobs.txt']" % needle,
                   out == "['docs/intro.txt', 'docs/jobs.txt']\n", out)


def check_install(cmake, build, tmp, source):
    """cmake --install puts the package under PREFIX/lib/python3.X/..."""
    prefix = os.path.join(tmp, "prefix")
    r = mrtest.run([cmake, "--install", build, "--prefix", prefix])
    expect("cmake --install into a fresh prefix", r.rc == 0, r.describe())
    v = "python%d.%d" % sys.version_info[:2]
    found = glob.glob(os.path.join(prefix, "lib", v, "*-packages", "mpimr", "__init__.py"))
    expect("the package is in PREFIX/lib/%s/site-packages" % v,
           [os.path.relpath(p, prefix) for p in found] ==
           [os.path.join("lib", v, "site-packages", "mpimr", "__init__.py")], found)
    if not found:
        return
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(found[0])))
    p = subprocess.run([sys.executable, "-c", "import mpimr; print(mpimr.__file__)"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp)
    expect("with PYTHONPATH=PREFIX/lib/%s/site-packages it imports from there" % v,
           p.returncode == 0 and p.stdout.decode().strip() == found[0],
           p.stdout + p.stderr)
    with open(found[0], "rb") as a, open(source, "rb") as b:
        expect("the installed module is the source's", a.read() == b.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--readme")
    ap.add_argument("--build-dir")
    ap.add_argument("--cmake", default="cmake")
    a = ap.parse_args()
    a.mpimr = os.path.abspath(a.mpimr)  # some runs are in folders of their own
    expect("import mpimr (PYTHONPATH=python)", mpimr is not None,
           None if mpimr else IMPORT_ERROR)
    if mpimr is None:
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        files = real_results(a.mpimr, tmp)
        files += craft.crafted(tmp) + craft.crafted(tmp, fmt=1)
        name_order = os.path.join(tmp, "fields-name-order.h5")
        craft.write(name_order, "crafted", "fields", keys=[b"b", b"a"], track_order=False,
                    values=[("sum", np.array([1.5, 2.5])),
                            ("count", np.array([3, 4], dtype=np.uint64))])
        files.append(("fields in name order (no creation order kept)", name_order))
        empty = os.path.join(tmp, "empty.h5")
        craft.write(empty, "crafted", "uint64", keys=[], values=[])
        files.append(("no keys at all", empty))
        for label, path in files:
            check_file(label, path)
        df = mpimr.read(name_order)
        expect("fields without creation order come by name", list(df.columns) ==
               ["key", "count", "sum"], list(df.columns))
        check_refusals(tmp, os.path.join(tmp, "uint64-f2.h5"))
        inv = os.path.join(tmp, "invindex.h5")
        if os.path.exists(inv):
            docs = [os.path.join(tmp, "doc%d.txt" % i) for i in range(3)]
            check_inputs(inv, [(os.fsencode(d), os.path.getsize(d)) for d in docs])
        counts = os.path.join(tmp, "wordcount.h5")
        if a.readme and os.path.exists(counts):
            check_readme(a.readme, counts, tmp)
            check_readme_h5py(a.readme, counts, tmp)
        if a.readme:
            check_readme_invindex(a.mpimr, a.readme, tmp)
        if a.build_dir:
            check_install(a.cmake, a.build_dir, tmp, mpimr.__file__)
    print("%d failures" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
