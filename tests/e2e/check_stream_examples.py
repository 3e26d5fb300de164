#!/usr/bin/python3
"""Run each examples/python/ script under `mpimr stream` and serially, and
compare: the parallel run must give what `cat FILES | python3 SCRIPT` gives.

  json       json_mapper.py, map only, over 60,000 generated JSON Lines rows
             in 4 files (make_data.py json): the records equal the serial
             output line for line, in input order; `mpimr show` prints the
             same bytes; again with --mappers all --chunk 64K (every rank
             maps, ranges cut mid-file)
  wordcount  wordcount_mapper.py --combine sum over the Brown corpus: the
             table equals Counter of the serial output's keys, summed
  names      names_mapper.py --combine sum over the Brown corpus (a
             paragraph a line): the same
  football   football_mapper.py --combine sum over 20,000 generated matches
             in 3 CSV files (make_data.py football): the same, and the
             derived figures (home wins at home over matches at home)
  median     goals_mapper.py with --reduce median_reducer.py: the rows, in
             order, equal `cat FILES | goals_mapper.py | LC_ALL=C sort |
             median_reducer.py`, line for line
The combining tables must be int64 and exact.  Each run's file is also
compared with a damaged copy of the answer (a record dropped, a count off
by one), which the comparison must report.

Usage: check_stream_examples.py --mpimr build/mpimr --launch "mpiexec -n 3 ..."
           --examples examples/python --brown data/brown --workdir DIR
"""

import argparse
import collections
import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mrtest  # noqa: E402
from check_stream import diff_table, first_diff, ok_run, show  # noqa: E402

PY = sys.executable


def serial(files, *commands):
    """stdout of `cat FILES | CMD1 | CMD2 ...` (LC_ALL=C), as bytes."""
    for p in files:
        with open(p, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() and (fh.seek(-1, os.SEEK_END), fh.read(1))[1] != b"\n":
                raise mrtest.TestFailure("%s lacks a final newline: cat would join it to "
                                         "the next file's first line" % p)
    pipe = " | ".join(commands)
    r = subprocess.run(["sh", "-c", 'cat "$@" | ' + pipe, "sh", *files], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=dict(os.environ, LC_ALL="C"), timeout=600)
    if r.returncode != 0:
        raise mrtest.TestFailure("serial run failed: %s\n%s" % (pipe, r.stderr.decode()[-2000:]))
    return r.stdout


def lines(data):
    return data.split(b"\n")[:-1] if data else []


def summed(data):
    """{key: sum of int values} of KEY<TAB>VALUE lines."""
    c = collections.Counter()
    for line in lines(data):
        k, _, v = line.partition(b"\t")
        c[k] += int(v)
    return dict(c)


def script(a, name, *args):
    return " ".join([shlex.quote(PY), shlex.quote(os.path.join(a.examples, name)),
                     *map(shlex.quote, args)])


def make_data(a, what, d, *args):
    if not os.path.isdir(d):
        subprocess.run([PY, os.path.join(a.examples, "make_data.py"), what, d + ".tmp", *args],
                       check=True, timeout=300)
        os.rename(d + ".tmp", d)
    return [os.path.join(d, n) for n in sorted(os.listdir(d))]


def check_json(a):
    files = make_data(a, "json", os.path.join(a.data, "json"), "--lines", "60000")
    cmd = script(a, "json_mapper.py")
    want = serial(files, cmd)
    e = []
    out = os.path.join(a.workdir, "json.h5")
    for extra in ([], ["--mappers", "all", "--chunk", "64K"]):
        res, err = ok_run(a.mpimr, a.launch, ["--map", cmd, *extra, *files], out)
        if not err:
            err = first_diff(res["records"], lines(want))
            if show(a.mpimr, out) != want:
                err.append("mpimr show does not print the serial output byte for byte")
            if not first_diff(res["records"][1:], lines(want)):
                err.append("the comparison missed a dropped record")
        e += ["%s: %s" % (" ".join(extra) or "defaults", x) for x in err]
    if len(lines(want)) < 30000:
        e.append("the filter kept %d of 60000 rows, want most" % len(lines(want)))
    return e


def check_combine(a, name, mapper, files):
    cmd = script(a, mapper)
    want = summed(serial(files, cmd))
    out = os.path.join(a.workdir, name + ".h5")
    res, err = ok_run(a.mpimr, a.launch, ["--map", cmd, "--combine", "sum", *files], out)
    if err:
        return err, None
    err = diff_table(res["items"], want)
    if res.get("dtype") != "int64":
        err.append("values are %s, want int64" % res.get("dtype"))
    k, v = res["items"][0]
    if not diff_table([(k, v + 1)] + res["items"][1:], want):
        err.append("the comparison missed a count off by one")
    return err, dict(res["items"])


def check_football(a):
    files = make_data(a, "football", os.path.join(a.data, "football"), "--matches", "20000")
    e, got = check_combine(a, "football", "football_mapper.py", files)
    if got:
        if got.get(b"matches:home", 0) + got.get(b"matches:neutral", 0) != 20000:
            e.append("matches:home + matches:neutral is not 20000: %s"
                     % {k: v for k, v in got.items() if k.startswith(b"matches:")})
        rate = got.get(b"home_wins:home", 0) / max(got.get(b"matches:home", 0), 1)
        print("football: home side wins %.3f at home, %.3f on neutral ground" % (
            rate, got.get(b"home_wins:neutral", 0) / max(got.get(b"matches:neutral", 0), 1)))
    return e


def check_median(a):
    files = make_data(a, "football", os.path.join(a.data, "football"), "--matches", "20000")
    mapper, reducer = script(a, "goals_mapper.py"), script(a, "median_reducer.py")
    want = [tuple(x.split(b"\t", 1)) for x in lines(serial(files, mapper, "sort", reducer))]
    out = os.path.join(a.workdir, "median.h5")
    res, err = ok_run(a.mpimr, a.launch, ["--map", mapper, "--reduce", reducer, *files], out)
    if err:
        return err
    e = first_diff(res["items"], want, "row")
    if len(want) < 20:
        e.append("the serial pipeline gave %d rows, want one per team" % len(want))
    if not first_diff(res["items"][::-1], want, "row"):
        e.append("the comparison missed rows out of order")
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpimr", required=True)
    ap.add_argument("--launch", default="")
    ap.add_argument("--examples", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "..", "..", "examples", "python"))
    ap.add_argument("--brown", required=True, help="the Brown corpus (scripts/fetch-brown.sh)")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--data", help="where the generated inputs go (default WORKDIR/data)")
    a = ap.parse_args()
    a.mpimr, a.examples = os.path.abspath(a.mpimr), os.path.abspath(a.examples)
    a.data = a.data or os.path.join(a.workdir, "data")
    os.makedirs(a.data, exist_ok=True)
    brown = [os.path.join(a.brown, n) for n in sorted(os.listdir(a.brown)) if not n.startswith(".")]
    checks = [("json (map only)", lambda: check_json(a)),
              ("wordcount (--combine sum, Brown)",
               lambda: check_combine(a, "wordcount", "wordcount_mapper.py", brown)[0]),
              ("names (--combine sum, Brown)",
               lambda: check_combine(a, "names", "names_mapper.py", brown)[0]),
              ("football (--combine sum)", lambda: check_football(a)),
              ("median (--reduce)", lambda: check_median(a))]
    ok = True
    for label, fn in checks:
        try:
            errors = fn()
        except (mrtest.TestFailure, subprocess.SubprocessError) as x:
            errors = [str(x)]
        ok &= mrtest.report(label, errors)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
