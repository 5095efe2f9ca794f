#!/usr/bin/env python3
"""Turns bench/run.sh's measurements into one Markdown table with ratios, and checks the targets.

  report.py RESULTS.tsv NOOP.tsv SERVER.tsv ROWS RUNS
RESULTS.tsv: profile, variant, tool, files, bytes, rows, median wall s, median peak RSS MiB, the walls.
NOOP.tsv: variant, files, seconds, request counts (JSON from the counting proxy).
SERVER.tsv: the server check (`server`, name, object, bytes, GET MB/s, ranged first byte ms, fair,
smallest object, ms a request on one kept-alive connection), the proxy's ceiling (`proxy`, name,
one GET MB/s, 8 at a time MB/s, the shaped total, ms a request on one connection) and the
s3like profile (`s3like`, MB/s per connection, first-byte latency ms).
"""
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone

res_path, noop_path, server_path, rows_expected, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
PEERS = ("duckdb", "polars", "pyarrow")
results = {}
order = []
profiles = []
for line in open(res_path):
    prof, v, tool, files, size, rows, wall, peak, walls = line.rstrip("\n").split("\t")
    if v not in order:
        order.append(v)
    if prof not in profiles:
        profiles.append(prof)
    ok = rows != "FAIL"
    results[(prof, v, tool)] = dict(files=int(files), bytes=int(size), rows=rows, ok=ok,
                                    wall=float(wall) if ok else None, peak=float(peak) if ok else None, walls=walls)
noop = []
if os.path.exists(noop_path):
    for line in open(noop_path):
        v, files, secs, counts = line.rstrip("\n").split("\t")
        noop.append((v, int(files), float(secs), json.loads(counts)))
server = {}
for line in open(server_path):
    f = line.rstrip("\n").split("\t")
    server[f[0]] = f[1:]


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


srv = server["server"]
out = ["# lakeport peer benchmark", ""]
out.append(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · lakeport {git_rev()} (release) · {os.cpu_count()} cores, {cpu()} · "
           f"{rows_expected:,} rows · median of {runs} runs (column runs) · {srv[0]} on loopback (SigV4) · "
           "peers: DuckDB 1.5.5 (httpfs), polars, pyarrow (versions in bench/run.sh)")
out += ["", "## The instrument", ""]
out.append(f"- Server: {srv[0]}. One GET of `{srv[1]}` ({int(srv[2]) / 1e6:.0f} MB): **{srv[3]} MB/s** (target ≥ 1000); "
           f"first byte of a ranged GET of its last 8 bytes: **{srv[4]} ms** (target < 10); "
           f"200 GETs of `{srv[6]}` one after another on one kept-alive connection: **{srv[7]} ms** a request (target < 2). "
           f"Fair: **{srv[5]}**.")
if "proxy" in server:
    px, sh = server["proxy"], server["s3like"]
    out.append(f"- s3like profile: lakeport-faultproxy caps each connection at {sh[0]} MB/s and waits {sh[1]} ms before each "
               f"answer. Its own ceiling, unshaped: one GET {px[1]} MB/s, 8 at a time {px[2]} MB/s "
               f"(the profile shapes 8 connections to {px[3]} MB/s), {px[4]} ms a request on one connection. "
               "The proxy runs on the same 2 cores as the tool.")
out.append("")
out.append("`× raw GET`: the tool's throughput as a fraction of GETting the same objects (curl, 8 at a time, bytes "
           "discarded). `× fastest peer`: the fastest of DuckDB, polars and pyarrow, its wall time over the tool's "
           "(≥ 1: at least as fast). Peak RSS: the largest process of the run.")
for prof in profiles:
    out += ["", f"## Profile: {prof}", ""]
    out.append("| variant | files | MB | tool | rows | runs | wall s | MB/s | peak RSS MiB | × raw GET | × fastest peer |")
    out.append("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for v in order:
        raw = results.get((prof, v, "rawget"), {}).get("wall")
        peer_walls = [results[(prof, v, t)]["wall"] for t in PEERS if results.get((prof, v, t), {}).get("ok")]
        fastest = min(peer_walls) if peer_walls else None
        for (rp, rv, tool), r in results.items():
            if (rp, rv) != (prof, v):
                continue
            mb = r["bytes"] / 1e6
            if not r["ok"]:
                out.append(f"| {v} | {r['files']} | {mb:.0f} | {tool} | FAILED | | | | | | |")
                continue
            rows = r["rows"]
            if rows not in ("-", "?") and int(rows) != rows_expected:
                rows = f"{rows} ✗ (expected {rows_expected})"
            out.append(f"| {v} | {r['files']} | {mb:.0f} | {tool} | {rows} | {len(r['walls'].split())} | {r['wall']:.2f} | {mb / r['wall']:.0f} | "
                       f"{r['peak']:.0f} | {ratio(raw, r['wall']) if tool != 'rawget' else '1'} | {ratio(fastest, r['wall']) if tool != 'rawget' else '-'} |")

if noop:
    out += ["", "## Delta no-op (everything loaded already)", "",
            "Requests as the server saw them (through lakeport-faultproxy at fault rate 0).", "",
            "| variant | objects | seconds | LIST | HEAD | GET (objects) | other |", "|---|---:|---:|---:|---:|---:|---:|"]
    for v, files, secs, c in noop:
        out.append(f"| {v} | {files} | {secs:.2f} | {c['list']} | {c['head']} | {c['get']} | {c['other']} |")

# Targets (issue 14), checked on what was measured, per profile and variant.
checks = []
for prof in profiles:
    for v in order:
        lp = results.get((prof, v, "lakeport"))
        if not lp or not lp["ok"]:
            continue
        peers = {t: results[(prof, v, t)] for t in PEERS if results.get((prof, v, t), {}).get("ok")}
        if peers:
            t, fastest = min(peers.items(), key=lambda kv: kv[1]["wall"])
            f = fastest["wall"] / lp["wall"]
            checks.append((f"{prof} {v}: at least as fast as the fastest peer", f >= 1.0, f"{f:.2f}× {t}"))
            lower = all(lp["peak"] < p["peak"] for p in peers.values())
            least = min(peers.items(), key=lambda kv: kv[1]["peak"])
            checks.append((f"{prof} {v}: peak RSS below every peer and ≤ 256 MiB", lower and lp["peak"] <= 256,
                           f"{lp['peak']:.0f} MiB (lowest peer: {least[0]} {least[1]['peak']:.0f} MiB)"))
        raw = results.get((prof, v, "rawget"))
        if prof == "loopback" and v in ("pq1", "pq50") and raw and raw["ok"]:
            f = raw["wall"] / lp["wall"]
            checks.append((f"{prof} {v}: Parquet ≥ 0.5× raw GET", f >= 0.5, f"{f:.2f}×"))
for v, files, secs, c in noop:
    checks.append((f"{v}: delta no-op issues no GETs", c["get"] == 0, f"{c['get']} GET, {c['head']} HEAD, {c['list']} LIST"))
failed = [r for r in results.values() if not r["ok"]]
if checks:
    met = sum(1 for _, ok, _ in checks if ok)
    out += ["", "## Targets", "", f"{met} of {len(checks)} met.", "", "| target | met | measured |", "|---|---|---|"]
    for name, ok, measured in checks:
        out.append(f"| {name} | {'yes' if ok else '**no**'} | {measured} |")
if srv[5] != "yes":
    out += ["", "**The server check failed: these figures measure the server as much as the tools.**"]
if failed:
    out += ["", f"{len(failed)} measurement(s) FAILED: see target/bench/out/*.time and the logs beside them."]
print("\n".join(out))
