"""Daft on a Ray cluster reads NAMESPACE.TABLE — a table lakeport loaded into a REST-catalog pool —
through the Glue-style Iceberg REST catalog (pyiceberg's RestCatalog, SigV4, signing name `glue`)
with its data on S3, computes the row count, the distinct ids and per-group count / sum(qty) /
sum(amount), and compares them with each reference (the figures computed while generating the
source objects, and `lakeport query`'s on the pool).

Usage: daft_read.py RAY_ADDRESS ENDPOINT NAMESPACE TABLE LABEL=REFERENCE_JSON...
REFERENCE_JSON: {"count": n, "groups": {grp: [count, sum_qty, sum_amount]}, "ids": n (optional;
default count: every id once)}.
Keys: LAKEPORT_TEST_GLUE_KEY / _SECRET, an IAM user allowed glue:Get* + s3:GetObject/ListBucket.
Prints the figures and the rows each Ray node scanned; exits 1 on any mismatch, or when the scan
did not run on every node of the cluster.
"""
import json
import os
import re
import sys
import time

import daft
import ray
from daft import col
from daft.io import IOConfig, S3Config
from pyiceberg.catalog.rest import RestCatalog

address, endpoint, namespace, name = sys.argv[1:5]
references = {label: json.load(open(path)) for label, path in (a.split("=", 1) for a in sys.argv[5:])}
key, secret = os.environ["LAKEPORT_TEST_GLUE_KEY"], os.environ["LAKEPORT_TEST_GLUE_SECRET"]

# The catalog: pyiceberg's REST client signs every call (SigV4, service `glue`) with the client.*
# keys. ministack's /v1/config `overrides` replace the s3.* properties (endpoint, and the root keys
# test/test whose signature it never checks), so they are not given here.
catalog = RestCatalog("scale", **{
    "uri": f"{endpoint}/iceberg", "warehouse": "123456789012",
    "rest.sigv4-enabled": "true", "rest.signing-name": "glue", "rest.signing-region": "us-east-1",
    "client.access-key-id": key, "client.secret-access-key": secret, "client.region": "us-east-1",
})
# The data files: an explicit IOConfig, so Daft's readers on the Ray workers use the IAM user's key
# (signature checked). Without it Daft derives one from the table's FileIO properties — ministack's
# overrides, i.e. the root key — and would prove nothing about S3 permissions.
io_config = IOConfig(s3=S3Config(endpoint_url=endpoint, region_name="us-east-1", key_id=key, access_key=secret,
                                 force_virtual_addressing=False, use_ssl=False))

daft.set_runner_ray(address=address)
# One scan task (and partition) per data file is Daft's default: lakeport's sharded load writes a
# data file per source object, 10,000 here, and a group-by over 10,000 partitions made a
# 10,000 × 10,000 shuffle that ran for minutes (split-and-merge of scan tasks still left 1,000).
# The read is coalesced into PARTITIONS partitions (no shuffle), which still spread over both
# nodes (checked below).
PARTITIONS = 4
nodes = sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])
print(f"ray cluster: {len(nodes)} nodes alive: {', '.join(n[:12] for n in nodes)}")

t0 = time.monotonic()
table = catalog.load_table((namespace, name))
df = daft.read_iceberg(table, io_config=io_config).into_partitions(PARTITIONS)
count = df.count_rows()  # may be answered from the manifests' record counts; the group-by reads the data
ids = df.agg(col("id").count_distinct().alias("ids")).to_pydict()["ids"][0]
t1 = time.monotonic()
agg = (df.groupby("grp").agg(col("id").count().alias("n"), col("qty").sum().alias("sum_qty"),
                             col("amount").sum().alias("sum_amount"))
       .sort("grp").to_pydict())
t2 = time.monotonic()


def norm(n, q, a):
    # Counts and integer sums exactly; amount (a multiple of 0.25, whatever type lakeport inferred
    # for it: double or decimal) as a float — its sums are exact in a double (well below 2^53).
    return [int(n), int(q), float(a)]


groups = {g: norm(n, q, a) for g, n, q, a in zip(agg["grp"], agg["n"], agg["sum_qty"], agg["sum_amount"])}
print(f"schema: {', '.join(f'{f.name} {f.dtype}' for f in df.schema())}")


# Which node scanned which rows: a row-wise function that runs where the scan ran (Daft's worker on
# that node) and answers that node's Ray id.
@daft.func
def node_of(_id: int) -> str:
    return ray.get_runtime_context().get_node_id()


per_node = (df.select(node_of(col("id")).alias("node"), col("id")).groupby("node")
            .agg(col("id").count().alias("rows")).to_pydict())
t3 = time.monotonic()
per_node = dict(zip(per_node["node"], per_node["rows"]))

# The same figures through Daft SQL over the (coalesced) DataFrame. Daft's catalog layer
# (daft.attach_catalog(daft.Catalog.from_iceberg(catalog)) + SQL FROM rest.ns.table) reads the
# table uncoalesced — one partition per data file — and its group-by over lakeport's 10,000 data
# files did not finish in minutes, so it is not used here (it gave the same figures on a table
# of 8 files).
events = df
sql = daft.sql("SELECT grp, count(*) AS n, sum(qty) AS sum_qty, sum(amount) AS sum_amount "
               "FROM events GROUP BY grp ORDER BY grp", events=events).to_pydict()
sql_groups = {g: norm(n, q, a) for g, n, q, a in zip(sql["grp"], sql["n"], sql["sum_qty"], sql["sum_amount"])}
t4 = time.monotonic()

labels = list(references)
print(f"daft: {count} rows, {ids} distinct ids   " + "   ".join(f"{l}: {r['count']} rows, {r.get('ids', r['count'])} ids" for l, r in references.items()))
print(f"{'grp':5} {'count':>8} {'sum(qty)':>12} {'sum(amount)':>16}   " + " | ".join(labels))
for g in sorted(set(groups).union(*(r["groups"] for r in references.values()))):
    ours = groups.get(g, ["-"] * 3)
    print(f"{g:5} {str(ours[0]):>8} {str(ours[1]):>12} {str(ours[2]):>16}   "
          + " | ".join(str(r["groups"].get(g)) for r in references.values()))
print("rows scanned per node: " + ", ".join(f"{n[:12]}={c}" for n, c in sorted(per_node.items())))
print(f"daft SQL: {'same figures' if sql_groups == groups else sql_groups}")
print(f"timings: load+count {t1 - t0:.1f} s, group-by {t2 - t1:.1f} s, per-node scan {t3 - t2:.1f} s, "
      f"SQL {t4 - t3:.1f} s")

# The same read with the key of a user that may use the catalog but not s3:GetObject must be refused
# by S3 on the Ray workers: proof that the explicit IOConfig's key is the one the data reads use.
denied = None
try:
    nos3 = IOConfig(s3=S3Config(endpoint_url=endpoint, region_name="us-east-1", key_id=os.environ["LAKEPORT_TEST_GLUENOS3_KEY"],
                                access_key=os.environ["LAKEPORT_TEST_GLUENOS3_SECRET"], force_virtual_addressing=False,
                                use_ssl=False, num_tries=1))
    # An aggregate over a column: count_rows alone may be answered from the manifests' record counts.
    daft.read_iceberg(table, io_config=nos3).agg(col("qty").sum()).to_pydict()
except Exception as e:  # Daft wraps the S3 error in its own exception types
    denied = str(e)
t5 = time.monotonic()
why = re.search(r"[^\n]{0,80}(AccessDenied|403)[^\n]{0,80}", denied or "")
print(f"reader without s3:GetObject: {'refused: ' + (why.group(0).strip() if why else denied[:200]) if denied else 'NOT refused'} "
      f"({t5 - t4:.1f} s)")

errors = []
if denied is None or "403" not in denied and "AccessDenied" not in denied:
    errors.append(f"a reader without s3:GetObject was not refused with 403/AccessDenied: {denied}")
for label, reference in references.items():
    if count != reference["count"]:
        errors.append(f"count {count} != {label} {reference['count']}")
    if ids != reference.get("ids", reference["count"]):
        errors.append(f"distinct ids {ids} != {label} {reference.get('ids', reference['count'])}")
    for g in sorted(set(groups) | set(reference["groups"])):
        ours, ref = groups.get(g), reference["groups"].get(g)
        # Exact comparison, the amount sums too (see norm).
        if ours is None or ref is None or ours != norm(*ref):
            errors.append(f"group {g}: daft {ours} != {label} {ref}")
if sql_groups != groups:
    errors.append(f"daft SQL figures {sql_groups} != daft DataFrame figures {groups}")
if sum(per_node.values()) != count:
    errors.append(f"per-node rows add up to {sum(per_node.values())}, not {count}")
if len(nodes) < 2 or set(per_node) != set(nodes):
    errors.append(f"scan ran on nodes {sorted(per_node)}, cluster has {nodes}")
for e in errors:
    print(f"MISMATCH: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
