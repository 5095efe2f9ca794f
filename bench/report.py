#!/usr/bin/env python3
"""Turns bench/run.sh's measurements into one Markdown table with ratios, and checks the targets.

  report.py RESULTS.tsv NOOP.tsv SERVER.tsv ROWS RUNS [POOL.tsv]
  report.py --pool POOL.tsv           (only the pool section: bench/pool.sh alone)
RESULTS.tsv: profile, variant, tool, files, bytes, rows, median wall s, median peak RSS MiB, the walls.
NOOP.tsv: variant, files, seconds, request counts (JSON from the counting proxy).
SERVER.tsv: the server check (`server`, name, object, bytes, GET MB/s, ranged first byte ms, fair,
smallest object, ms a request on one kept-alive connection), the proxy's ceiling (`proxy`, name,
one GET MB/s, 8 at a time MB/s, the shaped total, ms a request on one connection) and the
s3like profile (`s3like`, MB/s per connection, first-byte latency ms).
POOL.tsv (bench/pool.sh): `data` (rows generated), `load` rows (full/delta, variant, pool, workers, files, bytes, rows, median wall s,
median peak RSS MiB, the walls) and one `server` row (ministack's version, the small object, ms a
GET / PUT / LoadTable on one connection, GET/s and PUT/s 8 at a time, the request counts of the
REST load of the small files as JSON).
"""
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone



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


def pool_section(path):
    """The pool section (bench/pool.sh's POOL.tsv) as Markdown lines."""
    loads, srv, rows_expected = [], None, None
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "load":
            kind, v, pool, workers, files, size, rows, wall, peak, walls = f[1:]
            loads.append(dict(kind=kind, v=v, pool=pool, workers=int(workers), files=int(files), mb=int(size) / 1e6, rows=rows,
                              wall=float(wall), peak=float(peak), runs=len(walls.split())))
        elif f[0] == "server":
            srv = f[1:]
        elif f[0] == "data":
            rows_expected = int(f[1])
    out = ["", "## Pools: embedded vs REST catalog + S3; 4 sharded workers vs 1", "",
           f"bench/pool.sh: bench/gen.py's event log at {rows_expected:,} rows (200 CSVs; 10,000 small CSVs). "
           "`--full` loads into each pool; then delta loads of the small files into the REST pool, each run into a new "
           "table: one worker, and four sharded workers.", ""]
    counts = json.loads(srv[7]) if srv else {}
    if srv:
        out.append(f"- Server for this section: **{srv[0]}** (S3 + IAM + Glue-style Iceberg REST catalog in one Python "
                   "process, AUTH=true, SigV4 checked; the test server, not s3s-fs), on loopback, on the same 2 cores. "
                   "The source objects are on it for both pools; the REST pool also writes its files to it and commits "
                   f"through its catalog. One kept-alive connection: **{srv[2]} ms** a GET of `{srv[1]}`, **{srv[3]} ms** "
                   f"a PUT of 2 KB, **{srv[4]} ms** a LoadTable; 8 at a time: **{srv[5]} GET/s**, **{srv[6]} PUT/s**.")
    out.append("")
    out.append("| files | MB | load | pool | workers | rows | runs | wall s | peak RSS MiB | ratio |")
    out.append("|---:|---:|---|---|---:|---:|---:|---:|---:|---|")
    for l in loads:
        rows = l["rows"]
        if rows.isdigit() and int(rows) != rows_expected:
            rows = f"{rows} ✗ (expected {rows_expected})"
        ratio = ""
        if l["kind"] == "full" and l["pool"] == "rest":
            emb = next((e for e in loads if e["v"] == l["v"] and e["pool"] == "embedded" and e["kind"] == "full"), None)
            if emb:
                ratio = f"REST / embedded wall: **{l['wall'] / emb['wall']:.2f}**"
        if l["kind"] == "delta" and l["workers"] > 1:
            one = next((e for e in loads if e["v"] == l["v"] and e["kind"] == "delta" and e["workers"] == 1), None)
            if one:
                ratio = f"speed-up over 1 worker: **{one['wall'] / l['wall']:.2f}×**"
        load = "`--full`" if l["kind"] == "full" else ("`--delta`" if l["workers"] == 1 else f"`--delta --shard I/{l['workers']}`")
        out.append(f"| {l['files']:,} | {l['mb']:.0f} | {load} | {l['pool']} | {l['workers']} | {rows} | {l['runs']} | "
                   f"{l['wall']:.2f} | {l['peak']:.0f} | {ratio} |")
    if srv and counts:
        rest_small = next((l for l in loads if l["v"] == "small" and l["pool"] == "rest" and l["kind"] == "full"), None)
        emb_small = next((l for l in loads if l["v"] == "small" and l["pool"] == "embedded"), None)
        get_rps, put_rps = float(srv[5]), float(srv[6])
        if emb_small:
            gets = emb_small["files"] / get_rps
            out += ["", f"Both pools GET the {emb_small['files']:,} small source objects from ministack: ≥ **{gets:.1f} s** of its "
                    f"time at {get_rps:.0f} GET/s ({gets / emb_small['wall'] * 100:.0f}% of the embedded load's {emb_small['wall']:.1f} s)."]
        # GETs (source objects, catalog GETs, metadata reads), LIST, HEAD at the GET rate; PUTs and POSTs at the PUT rate.
        busy = (counts["get"] + counts["list"] + counts["head"]) / get_rps + counts["other"] / put_rps
        out += ["", f"The REST load of the {rest_small['files'] if rest_small else 0:,} small files sent {counts['requests']:,} requests "
                f"to ministack (counted through lakeport-faultproxy at fault rate 0, untimed run: {counts['get']:,} GET — source "
                f"objects and catalog reads —, {counts['list']} LIST, {counts['head']} HEAD, {counts['other']:,} PUT/POST/DELETE). "
                f"At ministack's rates 8 at a time that is ≥ **{busy:.1f} s** of its time"
                + (f", {busy / rest_small['wall'] * 100:.0f}% of that load's {rest_small['wall']:.1f} s wall: "
                   + ("the REST/embedded ratio of the small files measures ministack more than lakeport."
                      if busy / rest_small['wall'] > 0.5 else "the ratio is mostly lakeport's own cost.")
                   if rest_small else ".")]
    out += ["", "Sharded workers: four `lakeport` processes at once, each with its own pool directory joined to the REST "
            "pool (as four machines would), on the same 2 cores as ministack; peak RSS is the largest of the four. "
            "On real S3 and separate machines the workers do not share cores or one single-process server."]
    return out


if len(sys.argv) > 1 and sys.argv[1] == "--pool":
    print("\n".join(["# lakeport pool benchmark", "",
                     f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · lakeport {git_rev()} (release) · {os.cpu_count()} cores, {cpu()}"]
                     + pool_section(sys.argv[2])))
    sys.exit(0)
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
if len(sys.argv) > 6 and os.path.exists(sys.argv[6]):
    out += pool_section(sys.argv[6])
print("\n".join(out))
