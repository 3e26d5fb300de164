"""Read mpimr's HDF5 results into pandas and Python.

    import mpimr
    df = mpimr.read("counts.h5")        # a pandas DataFrame, one row per key
    d = mpimr.read_dict("counts.h5")    # {key bytes: value}

mpimr writes keys as one byte array plus offsets (parallel HDF5 cannot write
variable-length strings), which `pandas.read_hdf` does not read ("Dataset(s)
incompatible with Pandas data types"); this module does, for every result
mpimr writes: format 1, and format 2 with its `layout` and `value_kind`
attributes.

`read(path)` gives one row per key, in file order:

  column `key`    the key's bytes decoded as UTF-8 with errors="surrogateescape":
                  every byte that is not UTF-8 becomes one lone surrogate
                  (U+DC80 + byte), so no key is lost or merged, and
                  `key.encode("utf-8", "surrogateescape")` (what os.fsencode
                  does) gives back its bytes
  column `value`  one number per key (uint64, int64 or float64), a set as a Python
                  list of ints (invindex), or bytes (value_kind "bytes")
  a column per field, by the field's name, in the file's field order, where
                  the job writes several (groupby: count, sum, ...)

A record result (layout "records": a sort of lines, a map-only job) has one
column, `record`, decoded like `key`.  `df.attrs` holds the file's root
attributes under "file" and the job's under "job" (`df.attrs["job"]["total"]`).

`read_dict(path)` gives {key bytes: value}: an int or float, a list of ints,
bytes, or for fields a dict {field name: number}.  `read_inputs(path)` gives
the input files (/inputs) as a DataFrame of `path` (decoded like keys) and
`size`: invindex's values are row numbers into it.

A file a run did not finish (no root attribute complete=1) raises
IncompleteError unless `incomplete=True` (then it warns); any other file that
is not a whole mpimr result raises FormatError (a missing one, as open does,
FileNotFoundError).  Both are ValueErrors.

Needs h5py, numpy and pandas (Debian: python3-h5py python3-numpy
python3-pandas); read_dict and read_inputs need no pandas.
"""

import warnings

import h5py
import numpy as np

__all__ = ["read", "read_dict", "read_inputs", "FormatError", "IncompleteError"]

FORMATS = (1, 2)  # the formats this module reads
KINDS = ("uint64", "float64", "int64", "uint64-set", "bytes", "fields")


class FormatError(ValueError):
    """The file is not a result this module can read whole."""


class IncompleteError(FormatError):
    """The file lacks complete=1: the run writing it did not finish."""


def _text(b):
    return b.decode("utf-8", "surrogateescape")


def _plain(v):
    """An HDF5 attribute as a plain Python value."""
    if isinstance(v, bytes):
        return _text(v)
    if isinstance(v, np.ndarray):
        if v.ndim == 0 or v.size == 1:
            return _plain(v.reshape(-1)[0])
        return [_plain(x) for x in v.tolist()]
    if isinstance(v, np.generic):
        return v.item()
    return v


class _File:
    """Reads and checks the datasets of one group of the file at path; its
    errors name the file and the job."""

    def __init__(self, path, job=None):
        self.path = path
        self.job = job

    def _fail(self, why, error=FormatError):
        raise error("cannot read '%s': %s" % (self.path, why))

    def _dataset(self, g, name, kinds, itemsize=None):
        """The 1-D dataset g/name, read whole, of a dtype kind in kinds."""
        d = g.get(name)
        if not isinstance(d, h5py.Dataset) or d.ndim != 1 or d.dtype.kind not in kinds \
                or (itemsize and d.dtype.itemsize != itemsize):
            self._damaged("/%s/%s is missing or not a 1-D array of the right type"
                          % (g.name.strip("/"), name))
        return d[()]

    def _damaged(self, why):
        self._fail("damaged table in group '%s': %s" % (self.job, why))

    def _offsets(self, g, name, nbytes, n=None):
        off = self._dataset(g, name, "iu")
        if len(off) == 0 or (n is not None and len(off) != n + 1):
            self._damaged("%s has %d entries, want %s" % (
                name, len(off), "N+1 = %d" % (n + 1) if n is not None else "N+1"))
        if np.any(off[1:] < off[:-1]) or int(off[0]) < 0 or int(off[-1]) > nbytes:
            self._damaged("%s is not ascending within its %d bytes" % (name, nbytes))
        return off.tolist()

    def _strings(self, g, offsets, data, n=None):
        """The byte strings data[off[i]:off[i+1]] for every row."""
        raw = self._dataset(g, data, "iu", 1).tobytes()
        off = self._offsets(g, offsets, len(raw), n)
        return [raw[a:b] for a, b in zip(off, off[1:])]

    def _numbers(self, g, name, n, kinds="uif"):
        v = self._dataset(g, name, kinds)
        if len(v) != n:
            self._damaged("/%s/%s has %d values for %d keys"
                          % (g.name.strip("/"), name, len(v), n))
        return v


def _open(path):
    """path opened with h5py; a file that is there but is not HDF5 raises
    FormatError naming it (a missing one, FileNotFoundError, as open does)."""
    try:
        return h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as e:
        if e.errno is not None:
            raise
        raise FormatError("cannot read '%s': not an HDF5 file" % path) from None


class _Result(_File):
    """One result file, read whole and checked: keys (bytes), kind, values."""

    def __init__(self, path, incomplete):
        _File.__init__(self, path)
        with _open(path) as f:
            self.file_attrs = {k: _plain(v) for k, v in f.attrs.items()}
            self._check_root(f, incomplete)
            g = f[self.job]
            self.job_attrs = {k: _plain(v) for k, v in g.attrs.items()}
            self.layout = self.job_attrs.get("layout", "table")
            if self.layout == "records":
                self.kind = "records"
                self.keys = self._strings(g, "record_offsets", "record_bytes")
            elif self.layout == "table":
                self.kind = self._kind(g)
                self.keys = self._strings(g, "key_offsets", "key_bytes")
                self.values = self._values(g, len(self.keys))
            else:
                self._fail("group '%s' has layout %r, which this reader does not know "
                           "(a newer mpimr wrote it?)" % (self.job, self.layout))

    def _check_root(self, f, incomplete):
        a = self.file_attrs
        self.job = a.get("job")
        if not isinstance(self.job, str) or self.job not in f or \
                not isinstance(f[self.job], h5py.Group):
            self._fail("not an mpimr result file")
        fmt = a.get("format", 1)
        if isinstance(fmt, int) and fmt not in FORMATS:
            self._fail("it is in format %d, and this reader reads formats %s (a newer "
                       "mpimr wrote it)" % (fmt, " and ".join(map(str, FORMATS))))
        if a.get("complete") != 1:
            why = ("incomplete result (no complete=1: the run writing it did not "
                   "finish)")
            if not incomplete:
                self._fail(why + "; incomplete=True reads it anyway", IncompleteError)
            warnings.warn("'%s': %s; reading what it holds" % (self.path, why))

    def _kind(self, g):
        """value_kind (format 2), else the shape of the values (format 1)."""
        kind = self.job_attrs.get("value_kind")
        if kind is not None:
            if kind not in KINDS:
                self._fail("group '%s' has values of kind %r, which this reader does "
                           "not know (a newer mpimr wrote it?)" % (self.job, kind))
            return kind
        v = g.get("values")
        if isinstance(v, h5py.Group):
            return "fields"
        if "value_offsets" in g:
            return "bytes" if isinstance(v, h5py.Dataset) and v.dtype.itemsize == 1 \
                else "uint64-set"
        return "float64" if isinstance(v, h5py.Dataset) and v.dtype.kind == "f" \
            else "uint64"

    def _values(self, g, n):
        if self.kind == "fields":
            vg = g.get("values")
            if not isinstance(vg, h5py.Group):
                self._damaged("values is not a group of fields")
            # h5py lists a group's members in creation order where the
            # file tracks it (mpimr's files do), else by name, as show does.
            return [(name, self._numbers(vg, name, n)) for name in vg]
        if self.kind == "uint64-set":
            members = self._dataset(g, "values", "u", 8)
            off = self._offsets(g, "value_offsets", len(members), n)
            return [members[a:b].tolist() for a, b in zip(off, off[1:])]
        if self.kind == "bytes":
            return self._strings(g, "value_offsets", "values", n)
        if "value_offsets" in g:
            self._damaged("value_kind %r, but the values have offsets" % self.kind)
        return self._numbers(g, "values", n, "f" if self.kind == "float64" else "iu")


def read(path, incomplete=False):
    """The result at path as a pandas DataFrame, one row per key (or record)."""
    import pandas as pd

    r = _Result(path, incomplete)
    if r.kind == "records":
        df = pd.DataFrame({"record": pd.Series([_text(k) for k in r.keys], dtype=object)})
    else:
        cols = {"key": pd.Series([_text(k) for k in r.keys], dtype=object)}
        if r.kind == "fields":
            for name, v in r.values:
                if name in cols:
                    r._fail("field '%s' has the name of the key column" % name)
                cols[name] = v
        elif r.kind in ("uint64-set", "bytes"):
            cols["value"] = pd.Series(r.values, dtype=object)
        else:
            cols["value"] = r.values
        df = pd.DataFrame(cols)
    df.attrs = {"file": r.file_attrs, "job": r.job_attrs}
    return df


def read_dict(path, incomplete=False):
    """The result at path as {key bytes: value}, in file order."""
    r = _Result(path, incomplete)
    if r.kind == "records":
        r._fail("it holds records, not keys (layout 'records'): use mpimr.read")
    if r.kind == "fields":
        cols = [(name, v.tolist()) for name, v in r.values]
        values = [{name: v[i] for name, v in cols} for i in range(len(r.keys))]
    elif r.kind in ("uint64-set", "bytes"):
        values = r.values
    else:
        values = r.values.tolist()
    d = dict(zip(r.keys, values))
    if len(d) != len(r.keys):
        r._damaged("a key appears more than once")
    return d


def read_inputs(path):
    """The input files of the result at path: a DataFrame of path and size,
    in input order (invindex's file numbers are its row numbers)."""
    import pandas as pd

    with _open(path) as f:
        if "inputs" not in f:
            raise FormatError("cannot read '%s': no /inputs group" % path)
        r = _File(path, "inputs")
        paths = r._strings(f["inputs"], "path_offsets", "path_bytes")
        sizes = r._numbers(f["inputs"], "sizes", len(paths), "iu")
    return pd.DataFrame({"path": pd.Series([_text(p) for p in paths], dtype=object),
                         "size": sizes})
