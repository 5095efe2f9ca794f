"""Uploads tests/browser/fixtures/hostile_payloads.json to a bucket as hostile/payloads.csv (the
payloads as values, one as a column name) and as an object whose key is itself a payload.

Usage: hostile_data.py ENDPOINT BUCKET   (the bucket exists; the test server's root key signs)
"""
import csv
import io
import json
import pathlib
import sys

import boto3

endpoint, bucket = sys.argv[1], sys.argv[2]
payloads = json.loads((pathlib.Path(__file__).parent.parent / "tests/browser/fixtures/hostile_payloads.json").read_text())
buf = io.StringIO()
w = csv.writer(buf, lineterminator="\n")
w.writerow(["id", "payload", payloads["column"]])
for i, value in enumerate(payloads["values"]):
    w.writerow([i, value, value])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
s3.put_object(Bucket=bucket, Key="hostile/payloads.csv", Body=buf.getvalue().encode())
s3.put_object(Bucket=bucket, Key=payloads["key"], Body=b"id\n1\n")
