"""Reads a table of a lakeport REST-catalog pool with pyiceberg through the same Iceberg REST
catalog (the test server's Glue-style endpoint, SigV4 `glue`, as the IAM user given), to prove
that other engines see what lakeport committed. Prints JSON: rows, sum of a column, columns and
their types, and the snapshots as (id, parent id) oldest first.

Usage: read_rest_pool.py ENDPOINT NAMESPACE TABLE SUM_COLUMN   (keys: LAKEPORT_TEST_GLUEWRITER_KEY/SECRET)
"""
import json
import os
import sys

import pyarrow.compute as pc
from pyiceberg.catalog.rest import RestCatalog

endpoint, namespace, table, column = sys.argv[1:5]
key, secret = os.environ["LAKEPORT_TEST_GLUEWRITER_KEY"], os.environ["LAKEPORT_TEST_GLUEWRITER_SECRET"]
catalog = RestCatalog("reader", **{
    "uri": f"{endpoint}/iceberg", "warehouse": "123456789012",
    "s3.endpoint": endpoint, "s3.path-style-access": "true", "s3.region": "us-east-1",
    "rest.sigv4-enabled": "true", "rest.signing-name": "glue", "rest.signing-region": "us-east-1",
    "client.access-key-id": key, "client.secret-access-key": secret, "client.region": "us-east-1",
})
t = catalog.load_table((namespace, table))
data = t.scan().to_arrow()
snapshots = sorted(t.metadata.snapshots, key=lambda s: s.sequence_number)
print(json.dumps({
    "rows": data.num_rows,
    "sum": pc.sum(data[column]).as_py(),
    "columns": {f.name: str(f.type) for f in data.schema},
    "snapshots": [[s.snapshot_id, s.parent_snapshot_id] for s in snapshots],
    "location": t.metadata.location,
}))
