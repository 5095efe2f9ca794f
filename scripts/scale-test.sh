#!/usr/bin/env bash
# Scale test (issue 15 points 4 + 5): SCALE_SHARDS lakeport workers load one folder of
# SCALE_OBJECTS small CSVs into one table of a REST-catalog pool — the tables in the test server's
# Glue-style Iceberg REST catalog (SigV4, signing name `glue`), their files on its S3 — each worker
# a Ray task on a 2-node Ray cluster (the scheduling is Ray's, not lakeport's), each with a pool
# directory of its own that joins the pool (`pool create --join`: same catalog, same namespace),
# each running `lakeport extract --delta --shard I/N`. The table must end exact: `lakeport query`
# figures equal to those computed while generating the objects. Then a second table (8 CSVs of
# 25,000 rows, a full load from the driver) is checked the same way, and Daft on the same Ray
# cluster reads it through the REST catalog (pyiceberg RestCatalog, SigV4 → daft.read_iceberg): its
# count, distinct ids and per-group aggregate must equal both the generated figures and `lakeport
# query`'s. (Daft reads the sharded 10,000-file table only with SCALE_DAFT_EVENTS=1: one partition
# per data file, it did not finish in 10 minutes here.) Exits non-zero on any mismatch.
#
# Usage: scripts/scale-test.sh   (as root: it makes a network + PID namespace)
#   env: SCALE_OBJECTS=10000 SCALE_ROWS_PER_OBJECT=20 SCALE_SHARDS=4
#        LAKEPORT_BIN (default target/debug/lakeport; build it first)
#        SCALE_VENV (default .venv-scale), LAKEPORT_VENV (default .venv-test, as scripts/test-env.sh)
# Needs: python3 (3.10+, with venv), util-linux unshare, iproute2 ip, curl; PyPI on the first run.
# CI: NOT run there. It needs root for the namespaces, ~1.5 GB more venv (1.0 GB daft/ray) and
# ~75 s of pip on a cold machine, ~1.4 GB RAM while it runs, and it would add minutes to a 2-core
# job that the suite already fills; a Daft/Ray release can break it without lakeport changing.
#
# What it does
# 1. On the host (network needed once): venv .venv-scale with daft + ray (pins below); the test
#    venv ($LAKEPORT_VENV: ministack, pyiceberg 0.12, DuckDB) by sourcing scripts/test-env.sh.
# 2. Runs itself again inside `unshare --net --pid --fork --mount-proc`: a network namespace with
#    only `lo` (brought up by hand), so Ray, ministack and the drivers can reach nothing but
#    127.0.0.1, and a PID namespace with its own /proc, so (a) `ray stop` sees only this run's Ray
#    processes (it finds them by name, host-wide otherwise) and (b) the kernel kills all that is
#    left when the script ends. (`ip netns add X; ip netns exec X ip link set lo up` works as root
#    here too, but a named namespace outlives a crashed script and has no PID isolation.)
# 3. Inside: ministack (AUTH=true, IAM users from testing/seed_iam.py), the source objects
#    (testing/scale/put_source.py, figures computed as they are generated), the pool created from
#    the driver's pool directory (IAM user `gluewriter`: catalog writes + the warehouse bucket), a
#    Ray head and a worker node (1 CPU, 300 MB object store each; own worker-port ranges
#    20000-20999 / 21000-21999), one Ray task per shard (testing/scale/ray_shards.py) running
#    $WORK/shard.sh: its own pool directory, `pool create scale --join`, its own source
#    connection, the sharded delta load; then `lakeport query` from the driver's pool directory
#    against the generated figures; then the Daft driver (testing/scale/daft_read.py: DataFrame
#    API, Daft SQL, rows per node, a reader without s3:GetObject refused). Cleanup on any exit (trap): ray stop, ministack, temp dirs (kept, with Ray's logs,
#    when the test failed).
#
# Versions that work (python 3.11.7, 2026-11-30): daft 0.7.26, ray 2.59.0 (daft 0.7.26 wants
# ray<2.60), pyiceberg 0.11.1 + pyarrow 25.0.1 in .venv-scale (daft wants pyiceberg<=0.11.1,
# pyarrow<26 — hence a venv apart from the test venv's pyiceberg 0.12 / pyarrow 26); ministack 1.5.33.
#
# What Daft needs to read a SigV4 REST catalog: Daft 0.7.26 has no REST-catalog client of its own;
# it reads a pyiceberg table (daft.read_iceberg) or a pyiceberg catalog attached to its session
# (daft.Catalog.from_iceberg, then daft.sql). pyiceberg's RestCatalog signs with
# `rest.sigv4-enabled=true`, `rest.signing-name=glue`, `rest.signing-region`, and the keys in
# `client.access-key-id` / `client.secret-access-key` / `client.region` (not s3.*). ministack's
# GET /v1/config answers `overrides` {s3.endpoint, s3.access-key-id=test, s3.secret-access-key=test,
# s3.path-style-access, s3.region}; they win over the client's s3.* settings, and Daft turns the
# table's FileIO properties into its IOConfig when none is given — so read_iceberg gets an explicit
# IOConfig(s3=S3Config(endpoint_url, key_id, access_key, region_name, force_virtual_addressing=False,
# use_ssl=False)) with the reader's own key (the refused-reader check proves the workers use it).
# The catalog/SQL path takes no IOConfig: against ministack it reads S3 with the root key; and it
# reads one partition per data file — lakeport's sharded load writes one per source object, and a
# group-by over those 10,000 partitions did not finish in minutes — so daft_read.py reads through
# read_iceberg, coalesced (into_partitions), and runs Daft SQL over that DataFrame.
#
# Measured here (2 cores shared with cargo builds), before the sharded load: warm 30–36 s wall (ministack 1.5 s, write 400k
# rows 2.5 s, reference 1 s, Ray head 5 s, worker 6 s, Daft checks 8 s, shards 5 s, teardown 2 s);
# cold 109 s (pip from a warm pip cache). Peak memory (PSS of everything in the namespace)
# 1.35 GB at 400k rows, 1.41 GB at 3 M rows / 16 files (53 s).
# With the sharded load (10,000 objects of 20 rows, 4 workers on the 2 nodes, debug binary):
# 218 s wall cold (venv install included), of it 29 s to put the objects into the test server,
# 74 s for the four workers; 1.35 GB peak. Each worker committed its own appends, every object once.
#
# Last runs (2026-11-30, debug binary, 2 cores shared with builds): the lakeport part passed 3 times
# — shards 90–114 s, 2448/2452/2570/2530 objects, 0–1 commit retries each, `lakeport query`
# 200,000 rows / 200,000 distinct ids / 7 groups = generated (the query itself 110–126 s over
# 10,000 data files on ministack). Daft on that table had not finished after 10 minutes (count,
# distinct ids and group-by done after ~10 min; then killed), hence the second, 8-file table.
# 2026-12-01 (debug binary, a release build beside it): passed, 297 s wall — shards 139 s (1
# commit retry on two of them, nothing loaded twice), query over 10,000 files ~100 s, the bulk
# table's load + check 5 s, Daft on it (a partition on each node, SQL too) a few seconds; 1.39 GB.
#
# Gotchas
# - ministack checks the SigV4 signature but not its scope: signing name `execute-api` or a wrong
#   region pass as well as `glue` (AWS Glue would refuse them); a wrong secret gets 403.
# - Daft's count_rows() can answer from the manifests' record counts without reading data files;
#   only an aggregate over a column proves the data reads (and their credentials).
# - Ray's driver looks up its own IP by "connecting" to 8.8.8.8:53; in the namespace that fails at
#   once and it falls back to the hostname (the warning in the output is expected).
# - unshare --fork ignores INT/TERM, and bash as PID 1 has no default signal actions and runs a trap
#   only after the foreground command: hence the forwarding below, the explicit traps and `run`.
# - Ray tasks that finish at once may all land on one node even with SPREAD (seen with `echo`);
#   the shards' loads take long enough that both nodes take some (ray_shards.py checks it).
# - Daft imports ping a telemetry service (scarf) unless DO_NOT_TRACK / DAFT_ANALYTICS_ENABLED=0.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCALE_VENV=${SCALE_VENV:-"$ROOT/.venv-scale"}
export ROOT LAKEPORT_VENV=${LAKEPORT_VENV:-"$ROOT/.venv-test"}
export SCALE_SHARDS=${SCALE_SHARDS:-4}
export SCALE_OBJECTS=${SCALE_OBJECTS:-10000} SCALE_ROWS_PER_OBJECT=${SCALE_ROWS_PER_OBJECT:-20}
export LAKEPORT_BIN=${LAKEPORT_BIN:-"$ROOT/target/debug/lakeport"}
# Daft's import pings a telemetry service (scarf) and Ray reports usage unless told not to.
export DO_NOT_TRACK=1 SCARF_NO_ANALYTICS=true DAFT_ANALYTICS_ENABLED=0 RAY_USAGE_STATS_ENABLED=0
# Daft's progress bars (forwarded from the Ray workers) would bury the figures.
export DAFT_PROGRESS_BAR=0

if [ "${1:-}" != "--inside" ]; then
  START=$(date +%s.%N)
  [ "$(id -u)" = 0 ] || { echo "scale-test: needs root (unshare --net --pid)" >&2; exit 1; }
  [ -x "$LAKEPORT_BIN" ] || { echo "scale-test: no lakeport binary at $LAKEPORT_BIN (cargo build -p lakeport-cli, or set LAKEPORT_BIN)" >&2; exit 1; }
  if ! "$SCALE_VENV/bin/python" -c "import daft, ray, pyiceberg, boto3" 2>/dev/null; then
    echo "==> installing daft + ray into $SCALE_VENV"
    python3 -m venv "$SCALE_VENV"
    "$SCALE_VENV/bin/pip" install -q --disable-pip-version-check "daft[ray,iceberg,aws]==0.7.26" \
      "ray[default]==2.59.0" "pyiceberg[pyarrow,rest-sigv4]==0.11.1" "pyarrow==25.0.1" "boto3==1.43.127"
  fi
  if [ ! -x "$LAKEPORT_VENV/bin/ministack" ] || ! "$LAKEPORT_VENV/bin/python" -c "import pyiceberg, boto3, duckdb" 2>/dev/null; then
    # test-env.sh holds the test venv's pins; sourcing it installs them (and starts + stops a
    # ministack on the host's loopback, harmless). Inside the namespace there is no PyPI.
    (source "$ROOT/scripts/test-env.sh")
  fi
  export SCALE_START=$START
  # unshare --fork ignores INT and TERM itself, so this shell stays and hands a TERM to the
  # namespace's init (this script again, unshare's only child), which cleans up and exits; the
  # kernel then kills whatever is left in the PID namespace. --kill-child=TERM covers a killed unshare.
  unshare --net --pid --fork --mount-proc --kill-child=TERM bash "${BASH_SOURCE[0]}" --inside &
  UNSHARE_PID=$!
  trap 'kill -TERM $(cat /proc/$UNSHARE_PID/task/$UNSHARE_PID/children) 2>/dev/null' INT TERM
  rc=0
  while kill -0 $UNSHARE_PID 2>/dev/null; do wait $UNSHARE_PID && rc=0 || rc=$?; done
  exit $rc
fi

# ---- inside the namespaces: PID 1, only `lo` ----
ip link set lo up
WORK=$(mktemp -d /tmp/lp-scale.XXXXXX)
RAY="$SCALE_VENV/bin/ray"
SAMPLER_PID=
cleanup() {
  rc=$?
  set +e
  trap - EXIT INT TERM
  "$RAY" stop --force >/dev/null 2>&1 || true
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
  [ -n "${S3_PID:-}" ] && { kill "$S3_PID" 2>/dev/null; wait "$S3_PID" 2>/dev/null; }
  if [ -f "$WORK/peak" ]; then echo "peak memory (PSS of all processes in the namespace): $(cat "$WORK/peak") MB"; fi
  echo "total wall time: $(python3 -c "import time; print(f'{time.time() - $SCALE_START:.0f}')") s"
  if [ $rc = 0 ]; then
    echo "==> scale test passed"
    rm -rf "$WORK"
  else
    echo "==> scale test FAILED (rc $rc); logs (Ray's under ray/session_latest/logs) kept in $WORK" >&2
  fi
  rm -rf "${S3_WORK:-}"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # PID 1 gets no default signal handling: exit through cleanup
# bash runs a trap only after the foreground command ends; long steps run in the background and
# are waited for, so a TERM/INT cuts them short.
run() { "$@" & wait $!; }

# Peak memory: every 0.5 s, the sum of the proportional set sizes of all processes in this PID
# namespace (its /proc shows only them; Ray's shared object store is counted once).
python3 - "$WORK/peak" <<'PY' &
import glob, sys, time
peak = 0
while True:
    total = 0
    for f in glob.glob("/proc/[0-9]*/smaps_rollup"):
        try:
            total += sum(int(l.split()[1]) for l in open(f) if l.startswith("Pss:"))
        except OSError:
            pass
    if total > peak:
        peak = total
        open(sys.argv[1], "w").write(str(peak // 1024))
    time.sleep(0.5)
PY
SAMPLER_PID=$!

step() { echo "==> [$(python3 -c "import time; print(f'{time.time() - $SCALE_START:5.1f}')") s] $*"; }

step "ministack (S3 + IAM + Glue-style Iceberg REST, AUTH=true) in the namespace"
# Starts ministack on a random loopback port, seeds the IAM users (LAKEPORT_TEST_GLUE_KEY…), and sets
# its own EXIT trap — replaced by ours again below (cleanup stops $S3_PID and removes $S3_WORK).
source "$ROOT/scripts/test-env.sh"
trap cleanup EXIT
EP=$LAKEPORT_TEST_S3_ENDPOINT

step "source: $SCALE_OBJECTS small CSVs ($SCALE_ROWS_PER_OBJECT rows each) in s3://scale-src/events/; warehouse bucket scale-wh"
run "$LAKEPORT_VENV/bin/python" "$ROOT/testing/scale/put_source.py" "$EP" scale-src events/ "$SCALE_OBJECTS" "$SCALE_ROWS_PER_OBJECT" > "$WORK/events.source.json"
"$LAKEPORT_VENV/bin/python" -c "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket='scale-wh')" "$EP"

# The pool: tables in ministack's Glue-style REST catalog (namespace `scale`), files under
# s3://scale-wh/pools/, every catalog call and warehouse object signed as the IAM user gluewriter.
# Secrets go to files (0600) that the shards' commands read, never onto a command line.
(umask 077; printf '%s\n' "$LAKEPORT_TEST_GLUEWRITER_SECRET" > "$WORK/catalog.secret"; printf '%s\n' "$LAKEPORT_TEST_READER_SECRET" > "$WORK/src.secret")
cat > "$WORK/pool.sh" <<SH
#!/bin/sh
# lakeport with pool directory \$1 on pool scale: "pool.sh DIR create [--join]" creates or joins
# the REST-catalog pool and adds the source connection; "pool.sh DIR ARGS…" runs lakeport.
dir=\$1; shift
lp() { "$LAKEPORT_BIN" --pool-dir "\$dir" --pool scale "\$@"; }
if [ "\$1" = create ]; then
  shift
  lp pool create scale --catalog-url "$EP/iceberg" --warehouse 123456789012 --location s3://scale-wh/pools \
    --region us-east-1 --access-key-id "$LAKEPORT_TEST_GLUEWRITER_KEY" --secret-file "$WORK/catalog.secret" \
    --endpoint "$EP" --path-style --allow-http "\$@" &&
  lp connection add src --region us-east-1 --bucket scale-src --access-key-id "$LAKEPORT_TEST_READER_KEY" \
    --secret-file "$WORK/src.secret" --endpoint "$EP" --path-style --allow-http --skip-test >/dev/null
else
  lp "\$@"
fi
SH
step "pool scale created from the driver's pool directory (REST catalog $EP/iceberg, files in s3://scale-wh/pools)"
sh "$WORK/pool.sh" "$WORK/driver" create | sed 's/^/    /'

step "Ray: head node on 127.0.0.1"
COMMON=(--node-ip-address=127.0.0.1 --num-cpus=1 --object-store-memory=300000000 --disable-usage-stats)
"$RAY" start --head --port=6379 --include-dashboard=false --temp-dir="$WORK/ray" \
  --min-worker-port=20000 --max-worker-port=20999 "${COMMON[@]}" > "$WORK/ray-head.log" 2>&1 \
  || { cat "$WORK/ray-head.log"; exit 1; }
step "Ray: worker node joins"
"$RAY" start --address=127.0.0.1:6379 \
  --min-worker-port=21000 --max-worker-port=21999 "${COMMON[@]}" > "$WORK/ray-worker.log" 2>&1 \
  || { cat "$WORK/ray-worker.log"; exit 1; }

# Issue 15 point 4: the workers are scheduled by Ray (one task per shard, SPREAD over the nodes),
# not by lakeport; each is a machine of its own as far as lakeport knows (its own pool directory,
# joined to the pool), runs the lakeport binary on its shard of the folder's keys and commits its
# own appends (delta, same ledger rules; conflicts between the workers are retried).
step "one Ray task per shard ($SCALE_SHARDS shards): own pool directory, pool create --join, lakeport extract --delta --folder events/ --shard I/N"
cat > "$WORK/shard.sh" <<SH
#!/bin/sh
# One shard's work, run by a Ray task with SHARD=I/N: join the pool, load, print the report's figures.
set -e
name=\$(echo "\$SHARD" | tr / -)
dir="$WORK/worker-\$name"
joined=\$(sh "$WORK/pool.sh" "\$dir" create --join --json)
sh "$WORK/pool.sh" "\$dir" extract -c src --delta --folder events/ --shard "\$SHARD" --json > "\$dir.json"
python3 -c 'import json, sys; j = json.loads(sys.argv[2]); r = json.load(open(sys.argv[1])); t = r["tables"][0]; print("joined" if j["joined"] else "CREATED (expected: joined)", "the pool;", len(t["loaded"]), "objects,", r["rows"], "rows,", t["other_shards"], "left to the other shards,", t["commit_retries"], "commit retries,", len(t["already_loaded"]), "already loaded by another")' "\$dir.json" "\$joined"
python3 -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1])["joined"] else 1)' "\$joined"
SH
run "$SCALE_VENV/bin/python" "$ROOT/testing/scale/ray_shards.py" 127.0.0.1:6379 "$SCALE_SHARDS" "sh $WORK/shard.sh"

# check_table TABLE: lakeport query (driver's pool directory) of TABLE against the figures generated
# for it ($WORK/TABLE.source.json); writes lakeport's figures to $WORK/TABLE.lakeport.json.
check_table() {
  LQ=(sh "$WORK/pool.sh" "$WORK/driver" query --format csv)
  "${LQ[@]}" "SELECT grp, count(*) AS n, sum(qty) AS q, sum(amount) AS a FROM $1 GROUP BY grp ORDER BY grp" > "$WORK/$1.groups.csv"
  "${LQ[@]}" "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM $1" > "$WORK/$1.count.csv"
  python3 - "$WORK/$1.source.json" "$WORK/$1.groups.csv" "$WORK/$1.count.csv" "$WORK/$1.lakeport.json" <<'PY'
import csv, json, sys
ref = json.load(open(sys.argv[1]))
got = {r["grp"]: [int(r["n"]), int(r["q"]), float(r["a"])] for r in csv.DictReader(open(sys.argv[2]))}
count = next(csv.DictReader(open(sys.argv[3])))
# lakeport's figures, in the shape daft_read.py compares with.
json.dump({"count": int(count["n"]), "ids": int(count["ids"]), "groups": got}, open(sys.argv[4], "w"))
print(f"    lakeport query: {count['n']} rows, {count['ids']} distinct ids, {len(got)} groups; generated: {ref['count']} rows")
bad = [] if got == ref["groups"] else [f"groups differ: {got} vs {ref['groups']}"]
if int(count["n"]) != ref["count"] or int(count["ids"]) != ref["count"]:
    bad.append(f"rows {count['n']} / distinct ids {count['ids']}, expected {ref['count']}")
for b in bad:
    print(f"MISMATCH: {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}
step "the sharded table ends exact: lakeport query (driver's pool directory) against the generated figures"
check_table events

# Daft reads a lakeport table of few data files: lakeport writes one data file (or more) per
# source object, and Daft plans one partition per data file — over the 10,000-file table its read
# did not finish in 10 minutes on 2 shared cores (SCALE_DAFT_EVENTS=1 tries it anyway).
step "a second table for Daft: 8 CSVs of 25,000 rows in s3://scale-src/bulk/, a full load from the driver"
run "$LAKEPORT_VENV/bin/python" "$ROOT/testing/scale/put_source.py" "$EP" scale-src bulk/ 8 25000 > "$WORK/bulk.source.json"
sh "$WORK/pool.sh" "$WORK/driver" extract -c src --full --folder bulk/ --json > "$WORK/bulk.extract.json"
check_table bulk

for t in bulk $([ "${SCALE_DAFT_EVENTS:-0}" = 1 ] && echo events); do
  step "Daft on Ray reads lakeport's table scale.$t through the REST catalog"
  run "$SCALE_VENV/bin/python" "$ROOT/testing/scale/daft_read.py" 127.0.0.1:6379 "$EP" scale "$t" \
    "generated=$WORK/$t.source.json" "lakeport query=$WORK/$t.lakeport.json"
done
