"""Reference figures for the scale test, computed without Daft: pyiceberg (0.12, the test venv)
loads NAMESPACE.TABLE through the REST catalog (SigV4 as the IAM user in LAKEPORT_TEST_GLUE_KEY /
_SECRET) and scans it to Arrow; DuckDB computes the figures over that Arrow table.

Usage: reference.py ENDPOINT NAMESPACE TABLE  → prints JSON {"count": n, "groups": {grp: [count,
sum_qty, sum_amount]}}. The same shape daft_read.py computes.
"""
import json
import os
import sys

import duckdb
from pyiceberg.catalog.rest import RestCatalog

endpoint, namespace, name = sys.argv[1:4]
key, secret = os.environ["LAKEPORT_TEST_GLUE_KEY"], os.environ["LAKEPORT_TEST_GLUE_SECRET"]
catalog = RestCatalog("scale", **{
    "uri": f"{endpoint}/iceberg", "warehouse": "123456789012",
    "rest.sigv4-enabled": "true", "rest.signing-name": "glue", "rest.signing-region": "us-east-1",
    "client.access-key-id": key, "client.secret-access-key": secret, "client.region": "us-east-1",
})
arrow = catalog.load_table((namespace, name)).scan().to_arrow()
con = duckdb.connect()
con.register("t", arrow)
count = con.sql("SELECT count(*) FROM t").fetchone()[0]
groups = {g: [c, q, a] for g, c, q, a in con.sql(
    "SELECT grp, count(*), sum(qty), sum(amount) FROM t GROUP BY grp ORDER BY grp").fetchall()}
print(json.dumps({"count": count, "groups": groups}))
