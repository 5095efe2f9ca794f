"""Reads a lakeport table with pyiceberg through the pool's own catalog (the SQLite catalog of an
embedded pool, the REST catalog of a REST-catalog pool: pool_catalog.py), to prove the pool is
plain Iceberg that other engines can read. Prints JSON: row count, columns and their types, the
number of snapshots.
Usage: read_with_pyiceberg.py POOL_DIR POOL TABLE
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pool_catalog import open_catalog  # noqa: E402

root, pool, table = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
catalog, _ = open_catalog(root, pool)
t = catalog.load_table(f"{pool}.{table}")
data = t.scan().to_arrow()
print(json.dumps({
    "rows": data.num_rows,
    "columns": {f.name: str(f.type) for f in data.schema},
    "snapshots": len(t.metadata.snapshots),
}))
