"""Creates the table the scale test reads: NAMESPACE.TABLE in the Glue-style Iceberg REST endpoint of
the test server (ministack), data files on its S3, written with pyiceberg (SigV4, signing name `glue`).

Usage: write_table.py ENDPOINT NAMESPACE TABLE ROWS FILES
Schema: id long (0..ROWS-1), grp string ("g0".."g6", id % 7), qty long (id % 100),
amount double (id % 1000 / 4: quarters, so float sums are exact up to 2^53), ts timestamp.
ROWS rows in FILES appends (one data file and one snapshot each). Prints JSON: snapshot count,
data file paths, rows. Stand-in until lakeport itself writes a REST-catalog pool (issue 15 point 1).
"""
import datetime
import json
import sys

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog

endpoint, namespace, name, rows, files = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
# The root key (test/test) may write; ministack never checks its signature. Readers use an IAM user.
catalog = RestCatalog("scale", **{
    "uri": f"{endpoint}/iceberg", "warehouse": "123456789012",
    "rest.sigv4-enabled": "true", "rest.signing-name": "glue", "rest.signing-region": "us-east-1",
    "client.access-key-id": "test", "client.secret-access-key": "test", "client.region": "us-east-1",
})
schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("grp", pa.string()),
                    pa.field("qty", pa.int64()), pa.field("amount", pa.float64()),
                    pa.field("ts", pa.timestamp("us"))])
catalog.create_namespace_if_not_exists(namespace)
# No explicit location: ministack puts metadata under s3://ministack-glue-warehouse/<ns>/<table>/ anyway.
table = catalog.create_table((namespace, name), schema=schema)
base = datetime.datetime(2024, 1, 1)
bounds = [rows * k // files for k in range(files + 1)]
for lo, hi in zip(bounds, bounds[1:]):
    ids = pa.array(range(lo, hi), pa.int64())
    table.append(pa.table({
        "id": ids,
        "grp": pa.array([f"g{i % 7}" for i in range(lo, hi)]),
        "qty": pa.array([i % 100 for i in range(lo, hi)], pa.int64()),
        "amount": pa.array([(i % 1000) / 4 for i in range(lo, hi)]),
        "ts": pa.array([base + datetime.timedelta(seconds=i) for i in range(lo, hi)], pa.timestamp("us")),
    }, schema=schema))
table = catalog.load_table((namespace, name))
tasks = list(table.scan().plan_files())
print(json.dumps({"snapshots": len(table.metadata.snapshots), "files": [t.file.file_path for t in tasks],
                  "rows": sum(t.file.record_count for t in tasks)}))
