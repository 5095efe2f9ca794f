#!/usr/bin/env python3
"""Synthetic process-mining event log (purchase-to-pay style) for the peer benchmark.

Writes the variants into OUT (a bucket folder that s3s-fs serves as-is):
  events.csv                         one CSV (header, RFC 4180 quoting only where needed)
  csv_parts/part-000..199.csv        200 CSVs, each with a header
  events.ndjson                      one NDJSON file (timestamps as ISO strings)
  events.parquet                     one Parquet file (zstd, 1M-row row groups)
  parquet_parts/part-00..49.parquet  50 Parquet files
  small/part-00000..09999.csv        10,000 small CSVs (ROWS / 10,000 rows each)
Columns: event_id, case_id, activity, timestamp, resource, cost (3% empty), lifecycle,
department, channel, region, vendor (some with commas), comment (mostly empty, some quoted).

Usage: gen.py [--rows N] OUT        (default 2,000,000 rows; the same seed gives the same bytes)
"""
import argparse
import os
import time

import numpy as np
import polars as pl

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=2_000_000)
ap.add_argument("out")
args = ap.parse_args()
ROWS, OUT = args.rows, args.out
rng = np.random.default_rng(42)
t0 = time.time()

STEPS = ["Create Purchase Requisition", "Approve Requisition", "Create Purchase Order",
         "Send PO to Vendor", "Vendor Confirms Order", "Record Goods Receipt",
         "Receive Invoice", "Check Invoice", "Clear Invoice", "Pay Invoice"]
DETOURS = ["Change Price", "Change Quantity", "Cancel Order Item", "Block Payment",
           "Remove Payment Block", "Request Clarification", "Vendor Reminder",
           "Record Service Entry", "Reverse Goods Receipt", "Set Payment Block"]
DEPTS = ["Finance", "Procurement", "Logistics", "Sales", "IT", "HR", "Legal", "Operations"]
CHANNELS = ["web", "email", "edi", "phone", "portal"]
REGIONS = ["EMEA-North", "EMEA-South", "AMER-East", "AMER-West", "APAC", "LATAM"]
VENDORS = [f"{a} {b}" for a in ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne",
                                "Hooli", "Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Wonka"]
           for b in ["GmbH", "Ltd", "Inc.", "S.A.", "B.V.", "AG", "LLC", "& Co, KG"]]
COMMENTS = ["", "", "", "", "ok", "urgent", "see ticket", "price mismatch, re-check",
            'vendor said "next week"', "partial delivery", "duplicate?", "auto-approved"]

# Cases of variable length; events numbered within their case.
n_cases_est = ROWS // 9 + 1000
lens = np.clip(rng.poisson(8.5, n_cases_est) + 1, 2, 40)
cum = np.cumsum(lens)
n_cases = int(np.searchsorted(cum, ROWS) + 1)
lens = lens[:n_cases].copy()
lens[-1] -= int(cum[n_cases - 1] - ROWS)
case_idx = np.repeat(np.arange(n_cases), lens)
starts = np.repeat(np.cumsum(lens) - lens, lens)
pos = np.arange(ROWS) - starts

# Activity: mostly the happy path by position, ~18% detours.
detour = rng.random(ROWS) < 0.18
step = np.minimum(pos, len(STEPS) - 1)
act_codes = np.where(detour, len(STEPS) + rng.integers(0, len(DETOURS), ROWS), step)
activity = np.array(STEPS + DETOURS, dtype=object)[act_codes]

# Timestamps: case start uniform over two years, exponential gaps (mean 7 h) within a case.
base = np.datetime64("2023-01-01T00:00:00", "ms").astype(np.int64)
case_start = base + rng.integers(0, 730 * 86400_000, n_cases)
gaps = rng.exponential(7 * 3600_000, ROWS).astype(np.int64)
gaps[pos == 0] = 0
cg = np.cumsum(gaps)
ts = case_start[case_idx] + (cg - cg[starts])

resource = rng.integers(0, 600, ROWS)
cost = np.round(rng.lognormal(3.5, 1.2, ROWS), 2)
cost[rng.random(ROWS) < 0.03] = np.nan

df = pl.DataFrame({
    "event_id": pl.Series(np.arange(1, ROWS + 1, dtype=np.int64)),
    "case_id": pl.Series(case_idx + 10_000_000, dtype=pl.Int64),
    "activity": pl.Series(activity, dtype=pl.Utf8),
    "timestamp": pl.Series(ts, dtype=pl.Int64).cast(pl.Datetime("ms")),
    "resource": pl.Series(resource, dtype=pl.Int32),
    "cost": pl.Series(cost),
    "lifecycle": pl.Series(np.where(rng.random(ROWS) < 0.9, "complete", "start")),
    "department": pl.Series(np.array(DEPTS)[rng.integers(0, len(DEPTS), ROWS)]),
    "channel": pl.Series(np.array(CHANNELS)[rng.integers(0, len(CHANNELS), ROWS)]),
    "region": pl.Series(np.array(REGIONS)[rng.integers(0, len(REGIONS), n_cases)][case_idx]),
    "vendor": pl.Series(np.array(VENDORS)[rng.integers(0, len(VENDORS), n_cases)][case_idx]),
    "comment": pl.Series(np.array(COMMENTS, dtype=object)[rng.integers(0, len(COMMENTS), ROWS)], dtype=pl.Utf8),
}).with_columns(
    ("CASE-" + pl.col("case_id").cast(pl.Utf8)).alias("case_id"),
    ("user_" + pl.col("resource").cast(pl.Utf8).str.zfill(4)).alias("resource"),
    pl.when(pl.col("comment") == "").then(None).otherwise(pl.col("comment")).alias("comment"),
    pl.col("cost").fill_nan(None),
)

for d in ("csv_parts", "parquet_parts", "small"):
    os.makedirs(f"{OUT}/{d}", exist_ok=True)
TSFMT = "%Y-%m-%dT%H:%M:%S%.3f"
df.write_csv(f"{OUT}/events.csv", datetime_format=TSFMT)
df.write_ndjson(f"{OUT}/events.ndjson")
df.write_parquet(f"{OUT}/events.parquet", compression="zstd", row_group_size=1_000_000)
for i, part in enumerate(df.iter_slices(n_rows=-(-ROWS // 200))):
    part.write_csv(f"{OUT}/csv_parts/part-{i:03d}.csv", datetime_format=TSFMT)
for i, part in enumerate(df.iter_slices(n_rows=-(-ROWS // 50))):
    part.write_parquet(f"{OUT}/parquet_parts/part-{i:02d}.parquet", compression="zstd")
for i, part in enumerate(df.iter_slices(n_rows=-(-ROWS // 10_000))):
    part.write_csv(f"{OUT}/small/part-{i:05d}.csv", datetime_format=TSFMT)
print(f"rows={ROWS} cases={n_cases} in {time.time() - t0:.1f}s")
for root, _, files in sorted(os.walk(OUT)):
    total = sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"  {root}: {len(files)} files, {total / 1e6:.1f} MB")
