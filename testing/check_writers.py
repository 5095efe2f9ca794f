"""Reads a lakeport table the way another engine would, to check what several writers left:
pyiceberg through the pool's SQLite catalog for the rows, the snapshots and the data files, and
pyarrow for the ledger files the current snapshot's summary lists (`lakeport.ledger`, applied
oldest first: an entry replaces the key's earlier one, a tombstone removes it).
Prints JSON: rows, sum and distinct count of column ID_COLUMN, sum of SUM_COLUMN, rows per
`_source_key`, the parent chain of the current snapshot and the number of snapshots, the data
files of the current snapshot, the ledger (key -> version, rows, data files) and how many
entries the chain's files hold for each key, and the files under the table's metadata/ that
nothing of the table refers to (stray_metadata).
Usage: check_writers.py POOL_DIR POOL TABLE ID_COLUMN SUM_COLUMN
"""
import collections
import json
import os
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog

root, pool, table, id_column, sum_column = os.path.abspath(sys.argv[1]), *sys.argv[2:6]
catalog = SqlCatalog("lakeport", uri=f"sqlite:///{root}/catalog.db", warehouse=f"file://{root}/warehouse")
t = catalog.load_table(f"{pool}.{table}")
data = t.scan().to_arrow()

snapshots = {s.snapshot_id: s for s in t.metadata.snapshots}
chain = [t.metadata.current_snapshot_id]
while snapshots[chain[-1]].parent_snapshot_id is not None:
    chain.append(snapshots[chain[-1]].parent_snapshot_id)

ledger, entries = {}, collections.Counter()
for link in json.loads(t.current_snapshot().summary["lakeport.ledger"]):
    rows = pq.read_table(link["path"].removeprefix("file://")).to_pylist()
    for r in rows:
        entries[r["key"]] += 1
        if r["removed"]:
            ledger.pop(r["key"], None)
        else:
            ledger[r["key"]] = {"version": r["version"], "rows": r["rows"], "files": r["data_files"]}

# Files under the table's metadata/ that nothing of the table refers to (the metadata log, the
# snapshots' manifest lists and manifests, their ledger files): what a commit that met a
# conflict left behind.
def local(p):
    return p.removeprefix("file://")
referenced = {local(t.metadata_location)} | {local(e.metadata_file) for e in t.metadata.metadata_log}
for s in t.metadata.snapshots:
    referenced.add(local(s.manifest_list))
    referenced |= {local(m.manifest_path) for m in s.manifests(t.io)}
    if "lakeport.ledger" in s.summary.additional_properties:
        referenced |= {local(link["path"]) for link in json.loads(s.summary["lakeport.ledger"])}
# Listed on the local file system only (the embedded pool's warehouse); a table elsewhere
# (an object store) is not listed here and reports none.
metadata_dir = os.path.join(local(t.metadata.location), "metadata")
stray = []
if "://" not in t.metadata.location.removeprefix("file://"):
    stray = sorted(f for f in os.listdir(metadata_dir) if os.path.join(metadata_dir, f) not in referenced)

per_key = collections.Counter(data.column("_source_key").to_pylist()) if "_source_key" in data.column_names else {}
print(json.dumps({
    "rows": data.num_rows,
    "id_sum": pc.sum(data.column(id_column)).as_py() or 0,
    "distinct_ids": len(set(data.column(id_column).to_pylist())),
    "value_sum": pc.sum(data.column(sum_column)).as_py() or 0,
    "per_key": per_key,
    "chain": chain,
    "snapshots": len(snapshots),
    "files": sorted(task.file.file_path for task in t.scan().plan_files()),
    "ledger": ledger,
    "ledger_entries": entries,
    "stray_metadata": stray,
}))
