"""Compares what lakeport loaded from each Parquet file with what pyarrow and DuckDB read from it.

Usage: parquet_corpus_compare.py MANIFEST
MANIFEST (JSON): {"pool_dir": DIR, "pool": NAME, "files": [{"file": PATH_IN_REPO, "path": ABS_PATH,
"table": TABLE or null}]} — `table` is the pool table lakeport loaded the file into (null: lakeport
refused it). Prints JSON: {"files": [{"file", "pyarrow": VIEW, "duckdb": VIEW, "lakeport": VIEW,
"findings": [{"reference", "kind", "column", "detail"}]}]}, where a VIEW is {"rows", "columns",
"fingerprints": {column: sha256}} or {"error": TEXT}.

Values are compared as canonical text, so that the same value stored with another type width
(int8 in the file, int in Iceberg; a nanosecond timestamp in the file, microseconds in Iceberg;
a dictionary, a large or view string) compares equal, and a changed value does not:
integers and decimals by their exact decimal value, floats by their shortest round-trip text,
timestamps as the exact count of nanoseconds since the epoch (UTC), dates as days, times as
nanoseconds of the day, binary as hex, lists/structs/maps recursively (a map as its key/value
pairs in order). pyarrow reads INT96 with microsecond units (`coerce_int96_timestamp_unit`): its
default, nanoseconds, overflows for dates past 2262, which is not what the file holds.
lakeport's table is read with pyiceberg, as any Iceberg engine would read it.
"""
import decimal
import hashlib
import json
import math
import sys

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog

UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def canon_array(arr):
    """The canonical text of every value of an Arrow array (a list of JSON-able values)."""
    t = arr.type
    if isinstance(arr, pa.ChunkedArray):
        out = []
        for c in arr.chunks:
            out.extend(canon_array(c))
        return out
    if pa.types.is_dictionary(t):
        return canon_array(arr.dictionary_decode())
    if isinstance(t, pa.ExtensionType):
        return canon_array(arr.storage)
    if pa.types.is_timestamp(t):
        f = UNIT_NS[t.unit]
        return [None if v is None else f"ts:{v * f}" for v in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_time(t):
        f = UNIT_NS[t.unit]
        width = pa.int32() if pa.types.is_time32(t) else pa.int64()
        return [None if v is None else f"time:{v * f}" for v in arr.cast(width).to_pylist()]
    if pa.types.is_date32(t):
        return [None if v is None else f"date:{v}" for v in arr.cast(pa.int32()).to_pylist()]
    if pa.types.is_date64(t):
        return [None if v is None else f"date:{v // 86_400_000}" for v in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_duration(t):
        f = UNIT_NS[t.unit]
        return [None if v is None else f"dur:{v * f}" for v in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_float16(t):
        return canon_array(arr.cast(pa.float32()))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
        if pa.types.is_list_view(t) or pa.types.is_large_list_view(t):
            arr = arr.cast(pa.list_(t.value_type))
        flat = canon_array(arr.flatten()) if len(arr) else []
        out, offsets = [], arr.offsets.to_pylist() if not pa.types.is_fixed_size_list(t) else None
        base = offsets[0] if offsets else 0
        for i in range(len(arr)):
            if not arr[i].is_valid:
                out.append(None)
            elif offsets is not None:
                out.append(flat[offsets[i] - base:offsets[i + 1] - base])
            else:
                out.append(flat[i * t.list_size:(i + 1) * t.list_size])
        return out
    if pa.types.is_map(t):
        keys, items = canon_array(arr.keys), canon_array(arr.items)
        offsets = arr.offsets.to_pylist()
        base = offsets[0] if offsets else 0
        return [None if not arr[i].is_valid else [[keys[j - base], items[j - base]] for j in range(offsets[i], offsets[i + 1])] for i in range(len(arr))]
    if pa.types.is_struct(t):
        children = {t.field(k).name: canon_array(arr.field(k)) for k in range(t.num_fields)}
        valid = arr.is_valid().to_pylist()
        return [None if not valid[i] else {k: children[k][i] for k in sorted(children)} for i in range(len(arr))]
    return [canon_scalar(v) for v in arr.to_pylist()]


def canon_scalar(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"num:{v}"
    if isinstance(v, decimal.Decimal):
        n = v.normalize()
        return f"num:{format(n, 'f') if n != 0 else '0'}"
    if isinstance(v, float):
        if math.isnan(v):
            return "num:NaN"
        if math.isfinite(v) and v == int(v) and not (v == 0 and math.copysign(1, v) < 0):
            return f"num:{int(v)}"  # an integral float equals the integer (a type change is not a value change)
        return f"num:{v!r}"
    if isinstance(v, (bytes, bytearray)):
        return f"bin:{bytes(v).hex()}"
    if isinstance(v, str):
        return f"str:{v}"
    return f"other:{v!r}"


def view(table):
    """Rows, column names and per-column fingerprints of an Arrow table."""
    fps, values = {}, {}
    for name in table.column_names:
        vals = canon_array(table.column(name))
        values[name] = vals
        fps[name] = hashlib.sha256(json.dumps(vals, sort_keys=True).encode()).hexdigest()[:16]
    return {"rows": table.num_rows, "columns": table.column_names, "fingerprints": fps}, values


def read_pyarrow(path):
    return pq.read_table(path, coerce_int96_timestamp_unit="us")


def read_duckdb(path):
    con = duckdb.connect()
    try:
        rel = con.execute("SELECT * FROM read_parquet(?)", [path])
        return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.fetch_arrow_table()
    finally:
        con.close()


def attempt(read):
    try:
        v, values = view(read())
        return v, values
    except Exception as e:  # a reader's refusal is data here, not a failure of the script
        return {"error": f"{type(e).__name__}: {e}"[:400]}, None


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"row {i}: {json.dumps(x)[:160]} vs {json.dumps(y)[:160]}"
    return f"lengths {len(a)} vs {len(b)}"


def main():
    manifest = json.load(open(sys.argv[1]))
    root = manifest["pool_dir"]
    catalog = SqlCatalog("lakeport", uri=f"sqlite:///{root}/catalog.db", warehouse=f"file://{root}/warehouse")
    out = []
    for f in manifest["files"]:
        entry = {"file": f["file"]}
        refs = {}
        for name, read in (("pyarrow", lambda: read_pyarrow(f["path"])), ("duckdb", lambda: read_duckdb(f["path"]))):
            if f.get("skip_references"):
                entry[name], refs[name] = {"skipped": True}, None
            else:
                entry[name], refs[name] = attempt(read)
        findings = []
        if f["table"] is not None:
            table = catalog.load_table(f"{manifest['pool']}.{f['table']}")
            entry["lakeport"], mine = attempt(lambda: table.scan().to_arrow())
            # The data files as lakeport wrote them, read with pyarrow (in scan order): tells a
            # difference lakeport made from one pyiceberg's reading makes.
            entry["lakeport_files"], mine_files = attempt(lambda: pa.concat_tables([pq.read_table(t.file.file_path.removeprefix("file://")) for t in table.scan().plan_files()]) if list(table.scan().plan_files()) else None)
            for ref, values in refs.items():
                v = entry[ref]
                if values is None or mine is None:
                    continue
                if v["rows"] != entry["lakeport"]["rows"]:
                    findings.append({"reference": ref, "kind": "rows", "column": None, "detail": f"{ref} {v['rows']} rows, lakeport {entry['lakeport']['rows']}"})
                if v["columns"] != entry["lakeport"]["columns"]:
                    findings.append({"reference": ref, "kind": "columns", "column": None, "detail": f"{ref} {v['columns']}, lakeport {entry['lakeport']['columns']}"})
                for col in v["columns"]:
                    if col in mine and v["fingerprints"][col] != entry["lakeport"]["fingerprints"][col]:
                        in_files = "" if mine_files is None or col not in mine_files else (
                            "; lakeport's data file holds the reference's values (pyiceberg's reading differs)" if mine_files[col] == values[col] else "; lakeport's data file differs too")
                        findings.append({"reference": ref, "kind": "values", "column": col, "detail": first_difference(values[col], mine[col]) + in_files})
        out.append({**entry, "findings": findings})
    json.dump({"files": out}, sys.stdout)


if __name__ == "__main__":
    main()
