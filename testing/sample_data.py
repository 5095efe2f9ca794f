"""Uploads a small purchase-to-pay event log to an S3 bucket, in every format lakeport reads.

Usage: sample_data.py ENDPOINT BUCKET [--day N]
Without --day: creates the bucket and uploads
  events/p2p_events.csv, events/p2p_events_json.ndjson, events/p2p_events_parquet.parquet
  (one event log in three formats, three tables)
  events/daily/2024-01-01.csv … 2024-01-05.csv (a folder: one table)
With --day N: uploads one more daily file, events/daily/2024-01-NN.csv (for a delta load).
"""
import argparse
import csv
import datetime as dt
import io
import json
import random

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

p = argparse.ArgumentParser()
p.add_argument("endpoint")
p.add_argument("bucket")
p.add_argument("--day", type=int)
p.add_argument("--counts", action="store_true", help="print the expected figures as shell variables")
a = p.parse_args()
s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")

ACTIVITIES = ["Create Purchase Requisition", "Approve Requisition", "Create Purchase Order",
              "Receive Goods", "Receive Invoice", "Clear Invoice"]
RESOURCES = ["R001", "R002", "R017", "R042", "R099"]


def events(day, cases, first_case):
    rnd = random.Random(day)
    start = dt.datetime(2024, 1, day, 8, 0, 0)
    rows = []
    for c in range(first_case, first_case + cases):
        t = start + dt.timedelta(minutes=rnd.randint(0, 600))
        for step, activity in enumerate(ACTIVITIES[: rnd.randint(3, len(ACTIVITIES))]):
            t += dt.timedelta(minutes=rnd.randint(5, 240))
            rows.append({
                "case_id": f"PO-{c:06d}",
                "activity": activity,
                "timestamp": t.strftime("%Y-%m-%d %H:%M:%S"),
                "resource": rnd.choice(RESOURCES),
                "cost": round(rnd.uniform(5, 500), 2),
                "vendor": f"V{rnd.randint(1, 40):03d}",
                "step": step + 1,
            })
    return rows


def to_csv(rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


def put(key, body):
    s3.put_object(Bucket=a.bucket, Key=key, Body=body)
    print(f"  uploaded s3://{a.bucket}/{key} ({len(body)} bytes)")


if a.counts:
    daily = [r for d in range(1, 6) for r in events(d, 40, d * 1000)]
    print(f"EXPECTED_DAILY_ROWS={len(daily)}")
    print(f"EXPECTED_DAILY_CASES={len({r['case_id'] for r in daily})}")
    print(f"EXPECTED_P2P_ROWS={len(events(1, 500, 1))}")
elif a.day:
    put(f"events/daily/2024-01-{a.day:02d}.csv", to_csv(events(a.day, 40, a.day * 1000)))
else:
    try:
        s3.create_bucket(Bucket=a.bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    log = events(1, 500, 1)
    put("events/p2p_events.csv", to_csv(log))
    put("events/p2p_events_json.ndjson", "".join(json.dumps(r) + "\n" for r in log).encode())
    table = pa.Table.from_pylist(log)
    table = table.set_column(2, "timestamp", pa.array([dt.datetime.fromisoformat(r["timestamp"]) for r in log], pa.timestamp("us")))
    buf = io.BytesIO()
    pq.write_table(table, buf)
    put("events/p2p_events_parquet.parquet", buf.getvalue())
    for day in range(1, 6):
        put(f"events/daily/2024-01-{day:02d}.csv", to_csv(events(day, 40, day * 1000)))
    # A table whose later files bring a new column (the console shows the schema-drift report).
    put("drift/v1/a.csv", b"case_id,activity\n1,create\n2,approve\n")
    put("drift/v2/b.csv", b"case_id,activity,priority\n3,pay,7\n")
