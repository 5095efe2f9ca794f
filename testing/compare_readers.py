"""Compares what lakeport loaded from reader-test files with what DuckDB and pyarrow read from them.

Usage: compare_readers.py MANIFEST.json
MANIFEST: {"root": corpus dir, "files": [{"path": path under root, "format": "csv"|"json",
           "lakeport": {"parquet": file with the table's rows} | {"error": message}
                       | {"unreadable": why the loaded table cannot be read back}}]}
Prints one JSON object: {"files": [{"path", "verdict", "detail", "references"}], "seconds": n}.

Verdicts:
  same        lakeport loaded the file and holds what DuckDB or pyarrow read from it
              (row count, column count and names, every value compared as text, see `same`)
  both-refuse lakeport and every reference refused the file
  refused     lakeport refused a file a reference reads
  loaded      lakeport loaded a file every reference refuses
  unreadable  lakeport loaded the file, but its table cannot be read back with SQL
  differs     lakeport loaded the file and holds something else than each reference that read it
              (detail: the first difference from DuckDB's reading, or else pyarrow's)

Values are compared as text, with these equivalences (each keeps the value; none loses it):
a number equals a number or a number's spelling of the same value (`00123` = 123, `1.50` = 1.5,
a decimal = the double it rounds to); a date or timestamp equals its ISO text (`T` or space, `Z` =
`+00:00`, instants compared in UTC); `true`/`t` = true; JSON text equals the nested value it
spells; NULL equals the empty string (lakeport reads an empty CSV field as NULL; DuckDB reads a
quoted "" as an empty string).
"""
import datetime as dt
import decimal
import json
import math
import re
import sys
import time
import uuid

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

D = decimal.Decimal


def norm(v):
    """A value as a comparable Python value: None, bool, Decimal, str, list or dict."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return D(v)
    if isinstance(v, float):
        return str(v) if math.isnan(v) or math.isinf(v) else D(repr(v))
    if isinstance(v, D):
        return v
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            return v.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ") + "+00:00"
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in v.items()}
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, uuid.UUID):
        return str(v)
    return str(v)


def as_number(s):
    try:
        return D(s.strip())
    except (decimal.InvalidOperation, ValueError):
        return None


TS = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)(Z|[+-]\d\d(?::?\d\d)?)?$")


def as_instant(s):
    """A date or timestamp text as (naive UTC datetime or date, zoned?), else None."""
    s = s.strip()
    try:
        if len(s) == 10:
            return (dt.date.fromisoformat(s), False)
        m = TS.match(s)
        if not m:
            return None
        day, clock, zone = m.groups()
        frac = ""
        if "." in clock:
            clock, frac = clock.split(".")
            frac = "." + (frac + "000000")[:6]
        t = dt.datetime.fromisoformat(f"{day} {clock}{frac}")
        if zone:
            zone = "+00:00" if zone == "Z" else zone
            if len(zone) == 3:
                zone += ":00"
            t = dt.datetime.fromisoformat(f"{day} {clock}{frac}{zone}").astimezone(dt.timezone.utc).replace(tzinfo=None)
        return (t, bool(zone))
    except ValueError:
        return None


def same(a, b):
    a, b = norm(a), norm(b)
    if a == b:
        return True
    if a is None or b is None:
        return (a if b is None else b) == ""
    if isinstance(a, str) and not isinstance(b, str):
        a, b = b, a
    # a is not a string here unless both are.
    if isinstance(b, str) and not isinstance(a, str):
        # A typed value's text has no surrounding spaces (readers trim them before typing).
        b = b.strip()
        if isinstance(a, bool):
            return b.strip().lower() in (("true", "t") if a else ("false", "f"))
        if isinstance(a, D):
            n = as_number(b)
            return n is not None and (n == a or float(n) == float(a))
        if isinstance(a, (list, dict)):
            try:
                return same(json.loads(b, parse_float=D, parse_int=D), a)
            except (ValueError, RecursionError):
                return False
        return False
    if isinstance(a, D) and isinstance(b, D):
        return float(a) == float(b)
    if isinstance(a, str) and isinstance(b, str):
        if re.fullmatch(r"\d\d:\d\d(:\d\d(\.\d+)?)?", a.strip()) and re.fullmatch(r"\d\d:\d\d(:\d\d(\.\d+)?)?", b.strip()):
            # Times of day: 05:40 = 05:40:00.
            pad = lambda t: (t.strip() + ":00")[:8] if len(t.strip()) == 5 else t.strip()
            return pad(a) == pad(b)
        x, y = as_instant(a), as_instant(b)
        if x is not None and y is not None:
            # A date equals the same day's midnight (a column mixing dates and timestamps).
            def day(t):
                return t if isinstance(t, dt.datetime) else dt.datetime.combine(t, dt.time())
            return x[1] == y[1] and day(x[0]) == day(y[0])
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        # Missing struct members are NULL.
        keys = set(a) | set(b)
        return all(same(a.get(k), b.get(k)) for k in keys)
    return False


GENERATED = re.compile(r"^(column_?\d+|f\d+|)$")
DEDUP = re.compile(r"_\d+$")


def same_name(ours, ref, seen):
    """Column names: as in the file; generated names (no header, an empty name) match any
    generated name; a name made unique with a numeric suffix matches another such suffix."""
    if ours == ref or ours == ref.strip() or (GENERATED.match(ours) and GENERATED.match(ref.strip())):
        return True
    # Case-insensitive readers (DuckDB) also make `id` after `ID` unique; lakeport keeps both.
    base, seen = DEDUP.sub("", ours), {s.lower() for s in seen}
    return base.lower() in seen and base == DEDUP.sub("", ref) or (base.lower() in seen and ref == base) or (
        ours.lower() in seen and DEDUP.sub("", ref) == ours)


def compare(ours, ref):
    """The first difference between two tables (names, rows), or None."""
    (on, orows), (rn, rrows) = ours, ref
    if len(on) != len(rn):
        return f"{len(on)} columns {on[:8]} vs {len(rn)} {rn[:8]}"
    for i, (x, y) in enumerate(zip(on, rn)):
        if not same_name(x, y, set(on[:i])):
            return f"column {i + 1} is named {x!r} vs {y!r}"
    if len(orows) != len(rrows):
        return f"{len(orows)} rows vs {len(rrows)}"
    for r, (x, y) in enumerate(zip(orows, rrows)):
        for c, (u, v) in enumerate(zip(x, y)):
            if not same(u, v):
                return f"row {r + 1}, column {on[c]!r}: {short(u)} vs {short(v)}"
    return None


def short(v):
    s = repr(v)
    return s if len(s) <= 300 else s[:297] + "..."


def rows_of(table):
    cols = [c.to_pylist() for c in table.columns]
    return [list(r) for r in zip(*cols)] if cols else []


def read_duckdb(con, path, fmt):
    fn = "read_csv" if fmt == "csv" else "read_json"
    args = ""
    with open(path, "rb") as f:
        start = f.read(2)
    if fmt == "csv" and start in (b"\xff\xfe", b"\xfe\xff"):
        # DuckDB reads UTF-16 only when told (lakeport decides by the byte order mark).
        args = ", encoding = 'utf-16'"
    source = f"{fn}(?{args})"
    # TIMESTAMPTZ values reach Python only through pytz; their text (UTC, DuckDB's session zone)
    # is compared instead.
    columns = con.execute(f"DESCRIBE SELECT * FROM {source}", [path]).fetchall()
    select = ", ".join(
        f'CAST("{c[0].replace(chr(34), chr(34) * 2)}" AS VARCHAR)' if c[1] == "TIMESTAMP WITH TIME ZONE" else f'"{c[0].replace(chr(34), chr(34) * 2)}"'
        for c in columns
    )
    rel = con.execute(f"SELECT {select or '*'} FROM {source}", [path])
    names = [c[0] for c in columns] if columns else [d[0] for d in rel.description]
    return names, [list(r) for r in rel.fetchall()]


def read_pyarrow(path, fmt):
    if fmt == "csv":
        parse = pacsv.ParseOptions(delimiter="\t") if re.search(r"\.tsv(\.|$)", path) else None
        t = pacsv.read_csv(path, parse_options=parse)
    else:
        t = pajson.read_json(path)
    return t.column_names, rows_of(t)


def main():
    manifest = json.load(open(sys.argv[1]))
    root = manifest["root"]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET threads = 1")
    started = time.time()
    out = []
    for f in manifest["files"]:
        path = f"{root}/{f['path']}"
        refs = {}
        for name, read in (("duckdb", lambda: read_duckdb(con, path, f["format"])), ("pyarrow", lambda: read_pyarrow(path, f["format"]))):
            try:
                refs[name] = read()
            except Exception as e:  # a refusal: the reader's own error
                refs[name] = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        read_by = {k: v for k, v in refs.items() if not isinstance(v, str)}
        summary = {k: (f"{len(v[1])} rows x {len(v[0])} columns" if not isinstance(v, str) else f"refused: {v}") for k, v in refs.items()}
        lp = f["lakeport"]
        if "unreadable" in lp:
            verdict, detail = "unreadable", "loaded, but the table cannot be read back: " + lp["unreadable"]
        elif "error" in lp:
            verdict, detail = ("refused", lp["error"]) if read_by else ("both-refuse", lp["error"])
        else:
            t = pq.read_table(lp["parquet"])
            ours = (t.column_names, rows_of(t))
            if not read_by:
                verdict, detail = "loaded", f"{len(ours[1])} rows x {len(ours[0])} columns"
            else:
                diffs = {k: compare(ours, v) for k, v in read_by.items()}
                if any(d is None for d in diffs.values()):
                    verdict, detail = "same", "as " + ", ".join(k for k, d in diffs.items() if d is None)
                else:
                    verdict = "differs"
                    detail = "; ".join(f"{k}: {d}" for k, d in diffs.items())
        out.append({"path": f["path"], "verdict": verdict, "detail": detail, "references": summary})
    print(json.dumps({"files": out, "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
