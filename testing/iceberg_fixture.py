"""Creates or appends to an Iceberg table through the Glue-style Iceberg REST endpoint of the test
server (ministack), signed with SigV4 like AWS Glue; the data files land in its S3.

Usage: iceberg_fixture.py ENDPOINT NAMESPACE [--table T] [--rows N] [--append] [--parquet FILE]...
Without --append: creates NAMESPACE.T (id long, name string, amount double, ts timestamp) with two
appends of N/2 rows (two snapshots). With --append: appends N more rows (one more snapshot).
With --parquet: creates NAMESPACE.T with the schema of the first file instead and appends each
file's rows as one snapshot (one data file each).
Prints JSON: snapshot ids (oldest first), row count, data file paths.
"""
import argparse
import datetime
import json

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError

p = argparse.ArgumentParser()
p.add_argument("endpoint")
p.add_argument("namespace")
p.add_argument("--table", default="events")
p.add_argument("--rows", type=int, default=2000)
p.add_argument("--append", action="store_true")
p.add_argument("--parquet", action="append", default=[])
a = p.parse_args()

catalog = RestCatalog("fixture", **{
    "uri": f"{a.endpoint}/iceberg", "warehouse": "123456789012",
    "s3.endpoint": a.endpoint, "s3.path-style-access": "true", "s3.region": "us-east-1",
    "s3.access-key-id": "test", "s3.secret-access-key": "test",
    "rest.sigv4-enabled": "true", "rest.signing-name": "glue", "rest.signing-region": "us-east-1",
    "client.access-key-id": "test", "client.secret-access-key": "test", "client.region": "us-east-1",
})
schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("name", pa.string()),
                    pa.field("amount", pa.float64()), pa.field("ts", pa.timestamp("us"))])
ident = (a.namespace, a.table)


def batch(lo, hi):
    base = datetime.datetime(2024, 1, 1)
    return pa.table({
        "id": pa.array(range(lo, hi), pa.int64()),
        "name": pa.array([f"name-{i}" for i in range(lo, hi)]),
        "amount": pa.array([i * 0.5 for i in range(lo, hi)]),
        "ts": pa.array([base + datetime.timedelta(seconds=i) for i in range(lo, hi)], pa.timestamp("us")),
    }, schema=schema)


if a.parquet:
    import pyarrow.parquet as pq
    parts = [pq.read_table(f) for f in a.parquet]
    try:
        catalog.create_namespace(a.namespace)
    except NamespaceAlreadyExistsError:
        pass
    table = catalog.create_table(ident, schema=parts[0].schema)
    for part in parts:
        table.append(part)
elif a.append:
    table = catalog.load_table(ident)
    start = table.scan().to_arrow().num_rows
    table.append(batch(start, start + a.rows))
else:
    try:
        catalog.create_namespace(a.namespace)
    except NamespaceAlreadyExistsError:
        pass
    table = catalog.create_table(ident, schema=schema)
    half = a.rows // 2
    table.append(batch(0, half))
    table.append(batch(half, a.rows))
table = catalog.load_table(ident)
print(json.dumps({
    "snapshots": [s.snapshot_id for s in sorted(table.metadata.snapshots, key=lambda s: s.sequence_number)],
    "rows": table.scan().to_arrow().num_rows,
    "files": [t.file.file_path for t in table.scan().plan_files()],
}))
