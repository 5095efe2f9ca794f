"""Other engines on a lakeport pool, for the delta-ledger tests: reads a table with pyiceberg and
with DuckDB (its iceberg and avro extensions loaded from their PyPI wheels' own files, so nothing
is fetched from the network), and runs the standard Iceberg maintenance an Iceberg user runs, with
pyiceberg through the pool's own catalog (SQLite or REST: pool_catalog.py). Every command prints
one JSON object. DuckDB reads only embedded pools' tables ("duckdb": null for a REST-catalog pool:
its REST ATTACH cannot SigV4-sign for a non-AWS host, see ../shared/TESTING.md).

Usage: iceberg_engines.py POOL_DIR POOL TABLE COMMAND [ARG]
  read COLUMN    {"pyiceberg": [values of COLUMN, sorted], "duckdb": [...], "metadata": path}
  snapshots      {"current": id, "metadata": current metadata file, "snapshots": [ids, oldest first]}
  expire         expires every snapshot older than now (all but the current one)
  rollback ID    rolls the table back to its earlier snapshot ID
  rewrite        rewrites every data file (same rows, new files), as compaction by another engine
                 would: {"files_before": [...], "files_after": [...], "rows": n}
"""
import importlib.util
import json
import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pool_catalog import open_catalog  # noqa: E402

root, pool, table, command, *args = sys.argv[1:]
root = os.path.abspath(root)
catalog, kind = open_catalog(root, pool)
t = catalog.load_table(f"{pool}.{table}")


def data_files(tbl):
    return sorted(task.file.file_path for task in tbl.scan().plan_files())


def duckdb_values(metadata_location, column):
    import duckdb

    con = duckdb.connect()
    # Offline: never try to download an extension.
    con.execute("SET autoinstall_known_extensions = false")
    for name in ("avro", "iceberg"):
        package = importlib.util.find_spec(f"duckdb_extension_{name}").submodule_search_locations[0]
        con.execute(f"LOAD '{package}/extensions/v{duckdb.__version__}/{name}.duckdb_extension'")
    path = metadata_location.removeprefix("file://")
    rows = con.execute(f'SELECT "{column}" FROM iceberg_scan(?) ORDER BY 1', [path]).fetchall()
    return [r[0] for r in rows]


if command == "read":
    column = args[0]
    values = sorted(t.scan(selected_fields=(column,)).to_arrow().column(column).to_pylist())
    duck = duckdb_values(t.metadata_location, column) if kind == "embedded" else None
    out = {"pyiceberg": values, "duckdb": duck, "metadata": t.metadata_location}
elif command == "snapshots":
    out = {"current": t.metadata.current_snapshot_id, "metadata": t.metadata_location, "snapshots": [s.snapshot_id for s in sorted(t.metadata.snapshots, key=lambda s: s.timestamp_ms)]}
elif command == "expire":
    t.maintenance.expire_snapshots().older_than(datetime.now(timezone.utc)).commit()
    t = catalog.load_table(f"{pool}.{table}")
    out = {"snapshots": len(t.metadata.snapshots)}
elif command == "rollback":
    t.manage_snapshots().rollback_to_snapshot(int(args[0])).commit()
    t = catalog.load_table(f"{pool}.{table}")
    out = {"current": t.metadata.current_snapshot_id}
elif command == "rewrite":
    before = data_files(t)
    rows = t.scan().to_arrow()
    t.overwrite(rows)
    t = catalog.load_table(f"{pool}.{table}")
    out = {"files_before": before, "files_after": data_files(t), "rows": rows.num_rows}
else:
    sys.exit(f"unknown command {command!r}")
print(json.dumps(out))
