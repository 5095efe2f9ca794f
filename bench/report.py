#!/usr/bin/env python3
"""Turns bench/run.sh's measurements into one Markdown table with ratios, and checks the targets.

  report.py RESULTS.tsv NOOP.tsv ROWS RUNS
RESULTS.tsv: variant, tool, files, bytes, rows, median wall s, median peak RSS MiB, the walls.
NOOP.tsv: variant, files, seconds, request counts (JSON from the counting proxy).
"""
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone

res_path, noop_path, rows_expected, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
results = {}
order = []
for line in open(res_path):
    v, tool, files, size, rows, wall, peak, walls = line.rstrip("\n").split("\t")
    if v not in order:
        order.append(v)
    ok = rows != "FAIL"
    results[(v, tool)] = dict(files=int(files), bytes=int(size), rows=rows, ok=ok,
                              wall=float(wall) if ok else None, peak=float(peak) if ok else None, walls=walls)
noop = []
if os.path.exists(noop_path):
    for line in open(noop_path):
        v, files, secs, counts = line.rstrip("\n").split("\t")
        noop.append((v, int(files), float(secs), json.loads(counts)))


def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_rev():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    except Exception:
        return "?"


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


out = ["# lakeport peer benchmark", ""]
out.append(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · lakeport {git_rev()} (release) · {os.cpu_count()} cores, {cpu()} · "
           f"{rows_expected:,} rows · median of {runs} runs (column runs) · s3s-fs 0.14.1 on loopback (SigV4) · "
           "peers: DuckDB 1.5.5 (httpfs), polars, pyarrow (versions in bench/run.sh)")
out.append("")
out.append("`× raw GET`: the tool's throughput as a fraction of GETting the same objects (curl, 8 at a time, bytes "
           "discarded). `× DuckDB`: DuckDB's wall time over the tool's (above 1: faster than DuckDB). "
           "Peak RSS: the largest process of the run.")
out.append("")
out.append("| variant | files | MB | tool | rows | runs | wall s | MB/s | peak RSS MiB | × raw GET | × DuckDB |")
out.append("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for v in order:
    raw = results.get((v, "rawget"), {}).get("wall")
    duck = results.get((v, "duckdb"), {}).get("wall")
    for (rv, tool), r in results.items():
        if rv != v:
            continue
        mb = r["bytes"] / 1e6
        if not r["ok"]:
            out.append(f"| {v} | {r['files']} | {mb:.0f} | {tool} | FAILED | | | | | | |")
            continue
        rows = r["rows"]
        if rows not in ("-", "?") and int(rows) != rows_expected:
            rows = f"{rows} ✗ (expected {rows_expected})"
        out.append(f"| {v} | {r['files']} | {mb:.0f} | {tool} | {rows} | {len(r['walls'].split())} | {r['wall']:.2f} | {mb / r['wall']:.0f} | "
                   f"{r['peak']:.0f} | {ratio(raw, r['wall']) if tool != 'rawget' else '1'} | {ratio(duck, r['wall'])} |")

if noop:
    out += ["", "## Delta no-op (everything loaded already)", "",
            "Requests as the server saw them (through lakeport-faultproxy at fault rate 0).", "",
            "| variant | objects | seconds | LIST | HEAD | GET (objects) | other |", "|---|---:|---:|---:|---:|---:|---:|"]
    for v, files, secs, c in noop:
        out.append(f"| {v} | {files} | {secs:.2f} | {c['list']} | {c['head']} | {c['get']} | {c['other']} |")

# Targets (issue 5), checked on what was measured.
checks = []
def lp(v):
    return results.get((v, "lakeport"))
for v in ("pq1", "pq50"):
    if lp(v) and lp(v)["ok"] and (v, "rawget") in results:
        f = results[(v, "rawget")]["wall"] / lp(v)["wall"]
        checks.append((f"{v}: Parquet extraction ≥ 0.8× raw GET", f >= 0.8, f"{f:.2f}×"))
for v in ("csv1", "csv200", "ndjson"):
    if lp(v) and lp(v)["ok"]:
        if (v, "polars") in results and results[(v, "polars")]["ok"]:
            f = results[(v, "polars")]["wall"] / lp(v)["wall"]
            checks.append((f"{v}: at least as fast as polars", f >= 1.0, f"{f:.2f}× polars"))
        if (v, "duckdb") in results and results[(v, "duckdb")]["ok"]:
            f = results[(v, "duckdb")]["wall"] / lp(v)["wall"]
            checks.append((f"{v}: ≥ 2× DuckDB", f >= 2.0, f"{f:.2f}× DuckDB"))
if lp("small") and lp("small")["ok"] and ("small", "duckdb") in results and results[("small", "duckdb")]["ok"]:
    f = results[("small", "duckdb")]["wall"] / lp("small")["wall"]
    checks.append(("small: 10,000 files ≥ 2× DuckDB", f >= 2.0, f"{f:.2f}× DuckDB"))
peaks = [(v, r["peak"]) for (v, t), r in results.items() if t == "lakeport" and r["ok"]]
if peaks:
    worst = max(peaks, key=lambda p: p[1])
    checks.append(("peak RSS ≤ 256 MiB on every variant", worst[1] <= 256, f"max {worst[1]:.0f} MiB ({worst[0]})"))
for v, files, secs, c in noop:
    checks.append((f"{v}: delta no-op issues no GETs", c["get"] == 0, f"{c['get']} GET, {c['head']} HEAD, {c['list']} LIST"))
failed = [r for r in results.values() if not r["ok"]]
if checks:
    out += ["", "## Targets", "", "| target | met | measured |", "|---|---|---|"]
    for name, ok, measured in checks:
        out.append(f"| {name} | {'yes' if ok else '**no**'} | {measured} |")
if failed:
    out += ["", f"{len(failed)} measurement(s) FAILED: see target/bench/out/*.time and the logs beside them."]
print("\n".join(out))
