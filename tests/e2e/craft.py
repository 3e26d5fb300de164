#!/usr/bin/python3
"""Result files made with h5py, for the tests of the readers (`mpimr show`,
python/mpimr): every layout and value kind of format 2 (README, "The output
file"), written as the spec says rather than by the engine, and a reference
reading of any result straight from h5py.

Not run on its own; imported by check_reader.py and check_show_formats.py.
"""

import h5py
import numpy as np

# Keys that break naive readers: CSV's and TSV's specials, what pandas reads
# as missing, JSON's escapes, and bytes that are not UTF-8 (a lone
# continuation byte, a cut sequence, an overlong '/', an encoded surrogate,
# a code point past U+10FFFF).
AWKWARD = [b'say "hi"', b"a,b", b"tab\there", b"new\nline", b"cr\rlf\r\n", b"NA", b"",
           b"null", b"NaN", b"nan", b"#comment", b"  spaced  ", b'"', b"back\\slash",
           b"x\x00y", b"\x01\x1f\x7f", b"caf\xc3\xa9", b"\xf0\x9f\x98\x80", b"\xe2\x80\xa8",
           b"\xff", b"caf\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"key", b"value", b"=", b"1e5", b"-0"]

ROOT_ATTRS = {"mpimr_version": "0.2.0", "argv": "crafted by tests/e2e/craft.py",
              "nranks": np.uint64(1), "created_utc": "2026-01-01T00:00:00Z"}


def _strings(g, data, offsets, items):
    g[data] = np.frombuffer(b"".join(items), dtype=np.uint8)
    g[offsets] = np.cumsum([0] + [len(x) for x in items]).astype(np.uint64)


def write(path, job, kind, keys=None, values=None, records=None, fmt=2, complete=True,
          track_order=True, attrs=None):
    """A result file at path.  kind: "uint64", "float64", "uint64-set",
    "bytes", "fields" (values: [(name, array)]) or "records" (records: a
    list of bytes).  fmt=1 leaves out layout and value_kind."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = np.uint64(fmt)
        f.attrs["job"] = job
        for k, v in ROOT_ATTRS.items():
            f.attrs[k] = v
        g = f.create_group(job)
        if fmt >= 2:
            g.attrs["layout"] = "records" if kind == "records" else "table"
            if kind != "records":
                g.attrs["value_kind"] = kind
        rows = len(records if kind == "records" else keys)
        if kind == "records":
            _strings(g, "record_bytes", "record_offsets", records)
        else:
            _strings(g, "key_bytes", "key_offsets", keys)
        if kind in ("uint64", "float64"):
            g["values"] = np.asarray(values, dtype=np.uint64 if kind == "uint64" else np.float64)
        elif kind == "uint64-set":
            g["values"] = np.asarray([m for v in values for m in v], dtype=np.uint64)
            g["value_offsets"] = np.cumsum([0] + [len(v) for v in values]).astype(np.uint64)
        elif kind == "bytes":
            _strings(g, "values", "value_offsets", values)
        elif kind == "fields":
            vg = g.create_group("values", track_order=track_order)
            for name, arr in values:
                vg[name] = arr
        ga = {"order": "none", "distinct_keys": np.uint64(rows), "records": np.uint64(rows),
              "input_bytes": np.uint64(0), "input_files": np.uint64(0),
              "rejected": np.uint64(0), "rejected_first": ""}
        ga.update(attrs or {})
        for k, v in ga.items():
            g.attrs[k] = v
        i = f.create_group("inputs")
        _strings(i, "path_bytes", "path_offsets", [b"in.txt"])
        i["sizes"] = np.array([0], dtype=np.uint64)
        if complete:
            f.attrs["complete"] = np.uint64(1)


class Reference:
    """A result read straight from h5py, independently of the readers under
    test: job, kind, rows (keys or records, bytes) and values per row (a
    number; a list of ints; bytes; for fields a list of (name, number) in
    the file's order), and field names."""

    def __init__(self, path):
        with h5py.File(path, "r") as f:
            job = f.attrs["job"]
            self.job = job.decode() if isinstance(job, bytes) else job
            g = f[self.job]
            layout = g.attrs.get("layout", "table")
            self.kind = g.attrs.get("value_kind")
            if layout == "records":
                self.kind = "records"
                self.rows = self._split(g["record_bytes"], g["record_offsets"])
                self.values = [None] * len(self.rows)
                self.fields = []
                return
            self.rows = self._split(g["key_bytes"], g["key_offsets"])
            v = g["values"]
            if self.kind is None:  # format 1: by shape
                self.kind = ("fields" if isinstance(v, h5py.Group) else
                             "uint64-set" if "value_offsets" in g else
                             "float64" if v.dtype.kind == "f" else "uint64")
            n = len(self.rows)
            if self.kind == "fields":
                cols = [(name, v[name][()].tolist()) for name in v]
                self.fields = [name for name, _ in cols]
                self.values = [[(name, c[i]) for name, c in cols] for i in range(n)]
                return
            self.fields = []
            if self.kind == "bytes":
                self.values = self._split(v, g["value_offsets"])
            elif self.kind == "uint64-set":
                vo, m = g["value_offsets"][()].tolist(), v[()].tolist()
                self.values = [m[vo[i]:vo[i + 1]] for i in range(n)]
            else:
                self.values = v[()].tolist()

    @staticmethod
    def _split(data, offsets):
        b, o = data[()].tobytes(), offsets[()].tolist()
        return [b[o[i]:o[i + 1]] for i in range(len(o) - 1)]


def crafted(tmp, fmt=2):
    """One file per kind over the awkward keys, at tmp/KIND.h5: a list of
    (label, path)."""
    n = len(AWKWARD)
    floats = [0.1, -0.0, 1e-300, -1e300, float("inf"), float("-inf"), float("nan"), 2.5,
              2.2250738585072014e-308, 123456789.125]
    sets = [[], [0], [1, 2, 3], [2**64 - 1], list(range(0, 40, 7))]
    byte_values = AWKWARD[::-1]
    out = []

    def add(kind, **kw):
        path = "%s/%s-f%d.h5" % (tmp, kind, fmt)
        write(path, "crafted", kind, fmt=fmt, **kw)
        out.append(("%s (format %d)" % (kind, fmt), path))

    add("uint64", keys=AWKWARD, values=[2**64 - 1 - i for i in range(n)])
    add("float64", keys=AWKWARD, values=[floats[i % len(floats)] for i in range(n)])
    add("uint64-set", keys=AWKWARD, values=[sets[i % len(sets)] for i in range(n)])
    add("fields", keys=AWKWARD, values=[
        ("sum", np.array([floats[i % len(floats)] for i in range(n)])),
        ("count", np.arange(n, dtype=np.uint64) * np.uint64(2**58)),
        ("mean", np.linspace(-1, 1, n))])
    if fmt >= 2:
        add("bytes", keys=AWKWARD, values=byte_values)
        add("records", records=AWKWARD + [b"x" * 3000])
    return out
