"""Reads a lakeport table with pyiceberg through the same SQLite catalog, to prove the pool is
plain Iceberg that other engines can read. Prints JSON: row count, columns and their types.
Usage: read_with_pyiceberg.py POOL_DIR POOL TABLE
"""
import json
import os
import sys

from pyiceberg.catalog.sql import SqlCatalog

root, pool, table = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3]
catalog = SqlCatalog("lakeport", uri=f"sqlite:///{root}/catalog.db", warehouse=f"file://{root}/warehouse")
t = catalog.load_table(f"{pool}.{table}")
data = t.scan().to_arrow()
print(json.dumps({
    "rows": data.num_rows,
    "columns": {f.name: str(f.type) for f in data.schema},
    "snapshots": len(t.metadata.snapshots),
}))
