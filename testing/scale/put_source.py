"""Writes the source objects of the scale test's sharded load: OBJECTS small CSV files under
PREFIX in BUCKET of the test server's S3 (created if missing), uploaded 16 at a time with the
admin key. Every file holds ROWS_PER_OBJECT rows of id, grp, qty, amount, ts (ids
0..OBJECTS*ROWS_PER_OBJECT-1 across the files).

Usage: put_source.py ENDPOINT BUCKET PREFIX OBJECTS ROWS_PER_OBJECT
Prints the reference figures computed here, from the generating loop itself (no reader in between):
JSON {"count": n, "groups": {grp: [count, sum_qty, sum_amount]}}, the shape daft_read.py
compares with. amount is a multiple of 0.25, so the double sums are exact.
"""
import datetime
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

endpoint, bucket, prefix, objects, per = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                  aws_secret_access_key="test", config=Config(max_pool_connections=16, retries={"max_attempts": 5}))
try:
    s3.create_bucket(Bucket=bucket)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
base = datetime.datetime(2024, 1, 1)
groups = {}


def body(k):
    lines = ["id,grp,qty,amount,ts"]
    for i in range(k * per, (k + 1) * per):
        ts = (base + datetime.timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S")
        lines.append(f"{i},g{i % 7},{i % 100},{(i % 1000) / 4},{ts}")
    return ("\n".join(lines) + "\n").encode()


for i in range(objects * per):
    c = groups.setdefault(f"g{i % 7}", [0, 0, 0.0])
    c[0] += 1
    c[1] += i % 100
    c[2] += (i % 1000) / 4


def put(k):
    s3.put_object(Bucket=bucket, Key=f"{prefix}part-{k:05d}.csv", Body=body(k))


with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, range(objects)))
print(json.dumps({"count": objects * per, "groups": dict(sorted(groups.items()))}))
