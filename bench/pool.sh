#!/usr/bin/env bash
# Pool benchmark (issue 15 point 8): what the pool kind costs, and what sharding gains.
#   1. The same extraction (`lakeport extract --full`) into an embedded pool (SQLite + local
#      folder) and into a REST-catalog pool (tables in an Iceberg REST catalog, files on S3), side
#      by side: 200 CSVs and 10,000 small CSVs.
#   2. 4 sharded workers (`extract --delta --shard I/4`, four processes at once, each with its own
#      pool directory joined to the REST pool, as four machines would) vs 1 worker (`--delta`) on
#      the 10,000 small CSVs.
# The server for this section is ministack (the test server: S3 + IAM + a Glue-style Iceberg REST
# catalog, AUTH=true, in one Python process), the source objects are on it too, so both pools read
# the same bytes from the same server; the REST pool also writes its data files, manifests and
# ledger files to it and commits through its catalog. Before measuring, its per-request costs are
# measured and reported (as bench/run.sh does for s3s-fs): one kept-alive connection, 200 GETs of a
# small object, 200 PUTs of one, 200 LoadTable calls; and 8 at a time, 1,000 GETs and 1,000 PUTs
# (requests/s). One more run of the REST load of the small files, untimed, goes through
# lakeport-faultproxy at fault rate 0 and counts its requests by kind: requests ÷ the server's rate
# is the part of the wall time that is ministack's, so the reader sees whether the ratio measures
# lakeport or ministack.
#
#   bench/pool.sh                      # POOL_ROWS=200000 (20 rows a small file), POOL_RUNS=3
#   POOL_RUNS=1 bench/pool.sh
# bench/run.sh runs it at the end (POOL_BENCH=0 skips it) with the same release binaries; alone it
# uses target/release/lakeport (LAKEPORT_BIN, PROXY_BIN: others). Writes $WORK/out/pool.tsv, which
# report.py turns into the pool section of bench/results/latest.md (run.sh) or, alone, of
# bench/results/pool.md. Needs the bench venv (polars for bench/gen.py) and the test venv
# (ministack, boto3; scripts/test-env.sh installs it). Minutes, not tens of minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
POOL_ROWS=${POOL_ROWS:-200000}
POOL_RUNS=${POOL_RUNS:-3}
POOL_SMALL_RUNS=${POOL_SMALL_RUNS:-1}
WORK=${BENCH_DIR:-${WORK:-"$ROOT/target/bench"}}
PY=${PY:-"$ROOT/.venv-bench/bin/python"}
export ROOT LAKEPORT_VENV=${LAKEPORT_VENV:-"$ROOT/.venv-test"}
say() { echo "==> $*" >&2; }
mkdir -p "$WORK/out"
if [ -z "${LAKEPORT:-}" ]; then
  LAKEPORT=${LAKEPORT_BIN:-"$ROOT/target/release/lakeport"}
  PROXY=${PROXY_BIN:-"$(dirname "$LAKEPORT")/lakeport-faultproxy"}
fi
[ -x "$LAKEPORT" ] && [ -x "$PROXY" ] || { say "no release binaries at $LAKEPORT / $PROXY (cargo build --release -p lakeport-cli -p lakeport-faultproxy)"; exit 1; }
"$PY" -c "import polars, numpy" 2>/dev/null || { say "no bench venv at $PY (bench/run.sh makes it)"; exit 1; }

# ---- data: bench/gen.py's event log at POOL_ROWS rows; the variants used here ------------------
DATA="$WORK/pool-data"
if [ ! -f "$DATA/.rows-$POOL_ROWS" ]; then
  say "generating $POOL_ROWS rows into $DATA"
  rm -rf "$DATA"; mkdir -p "$DATA"
  "$PY" "$ROOT/bench/gen.py" --rows "$POOL_ROWS" "$DATA" >&2
  rm -f "$DATA"/events.* && rm -rf "$DATA/parquet_parts"
  touch "$DATA/.rows-$POOL_ROWS"
fi
declare -A ITEM=([csv200]="--folder csv_parts/" [small]="--folder small/")
declare -A DIR=([csv200]=csv_parts [small]=small)

# ---- the server: ministack (scripts/test-env.sh starts it, seeds the IAM users, stops it on exit)
source "$ROOT/scripts/test-env.sh"
EP=$LAKEPORT_TEST_S3_ENDPOINT
MINISTACK_VERSION="ministack $("$LAKEPORT_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("ministack"))')"
PROXY_PID=
trap 'kill $S3_PID $PROXY_PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$S3_WORK"' EXIT
say "uploading the source objects to ministack (s3://src/)"
"$LAKEPORT_VENV/bin/python" - "$EP" "$DATA" <<'PY'
import os, sys
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config
ep, data = sys.argv[1:3]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
                  config=Config(max_pool_connections=16, retries={"max_attempts": 5}))
for b in ("src", "pool-wh", "scratch"):  # S3 bucket names: 3 to 63 characters
    s3.create_bucket(Bucket=b)
keys = [os.path.relpath(os.path.join(r, f), data) for r, _, fs in os.walk(data) for f in fs if not f.startswith(".")]
with ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda k: s3.upload_file(os.path.join(data, k), "src", k), keys))
print(f"{len(keys)} objects", file=sys.stderr)
PY

# ---- the server check: ministack's cost per request ---------------------------------------------
RKEY=$LAKEPORT_TEST_READER_KEY RSECRET=$LAKEPORT_TEST_READER_SECRET
WKEY=$LAKEPORT_TEST_GLUEWRITER_KEY WSECRET=$LAKEPORT_TEST_GLUEWRITER_SECRET
sigv4() { local service=$1 key=$2 secret=$3; shift 3
  curl -sSf --aws-sigv4 "aws:amz:us-east-1:$service" --user "$key:$secret" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
SMALLEST=$(cd "$DATA" && find small -type f -printf '%s %P\n' | sort -n | awk 'NR == 1 { print "small/" $2 }')
head -c 2048 /dev/zero | tr '\0' x > "$WORK/out/put.body"
serial_ms() {  # service key secret curl-config-lines… → mean ms a request, 200 on one connection
  local service=$1 key=$2 secret=$3 line=$4 start
  for i in $(seq 200); do printf "$line\n" "$i"; done > "$WORK/out/pool.serial.cfg"
  start=$(date +%s.%N)
  sigv4 "$service" "$key" "$secret" -K "$WORK/out/pool.serial.cfg" || return 1
  echo "($(date +%s.%N) - $start) * 1000 / 200" | bc -l | xargs printf '%.2f'
}
parallel_rps() {  # key secret line n → requests/s, n requests 8 at a time
  local key=$1 secret=$2 line=$3 n=$4 start
  for i in $(seq "$n"); do printf "$line\n" "$i"; done > "$WORK/out/pool.par.cfg"
  start=$(date +%s.%N)
  sigv4 s3 "$key" "$secret" --parallel --parallel-max 8 -K "$WORK/out/pool.par.cfg" || return 1
  echo "$n / ($(date +%s.%N) - $start)" | bc -l | xargs printf '%.0f'
}
GET_MS=$(serial_ms s3 "$RKEY" "$RSECRET" "url = \"$EP/src/$SMALLEST\"\noutput = \"/dev/null\"")
PUT_MS=$(serial_ms s3 "$WKEY" "$WSECRET" "url = \"$EP/scratch/serial-%s\"\nupload-file = \"$WORK/out/put.body\"\noutput = \"/dev/null\"")
GET_RPS=$(parallel_rps "$RKEY" "$RSECRET" "url = \"$EP/src/small/part-%05d.csv\"\noutput = \"/dev/null\"" 1000)
PUT_RPS=$(parallel_rps "$WKEY" "$WSECRET" "url = \"$EP/scratch/par-%s\"\nupload-file = \"$WORK/out/put.body\"\noutput = \"/dev/null\"" 1000)

# ---- the pools -----------------------------------------------------------------------------------
RES="$WORK/out/pool.tsv"
SRC_SECRET=$RSECRET CAT_SECRET=$WSECRET
export SRC_SECRET CAT_SECRET
# `lp DIR args…` in the shell; timed runs (/usr/bin/time runs programs, not functions) use
# "${LP[@]}" DIR args… — the same command.
LP=("$LAKEPORT" --pool bench --pool-dir)
lp() { "${LP[@]}" "$@"; }
source_connection() {  # dir [endpoint]
  lp "$1" connection add src --region us-east-1 --bucket src --access-key-id "$RKEY" --secret-env SRC_SECRET \
    --endpoint "${2:-$EP}" --path-style --allow-http --skip-test >/dev/null
}
rest_pool() {  # dir [endpoint]: create or join the REST pool `bench` (namespace bench, files in s3://pool-wh/pools)
  local ep=${2:-$EP}
  lp "$1" pool create bench --catalog-url "$ep/iceberg" --warehouse 123456789012 --location s3://pool-wh/pools \
    --region us-east-1 --access-key-id "$WKEY" --secret-env CAT_SECRET --endpoint "$ep" --path-style --allow-http >/dev/null
  source_connection "$1" "$ep"
}
P="$WORK/pool-dirs"
rm -rf "$P"; mkdir -p "$P"
lp "$P/embedded" pool create bench >/dev/null
source_connection "$P/embedded"
rest_pool "$P/rest"
for i in 0 1 2 3; do rest_pool "$P/worker-$i"; done
LOADTABLE_MS=
count() { lp "$1" query "SELECT count(*) AS n FROM $2" --format csv | tail -1; }
timed() {  # log command… → wall s; peak RSS MiB on the last line of log.time
  /usr/bin/time -v -o "$1.time" "${@:2}" > "$1" 2>&1 || { say "FAILED: ${*:2} (see $1)"; tail -5 "$1" >&2; return 1; }
}
wall_of() { awk -F': ' '/Elapsed \(wall/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$1.time"; }
rss_of() { awk -F': ' '/Maximum resident/ {print $2/1024}' "$1.time"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
record() {  # full|delta variant pool workers files rows walls… (peaks in PEAKS)
  local kind=$1 v=$2 pool=$3 workers=$4 files=$5 rows=$6; shift 6
  printf 'load\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$v" "$pool" "$workers" "$files" "$(du -sb --apparent-size "$DATA/${DIR[$v]}" | cut -f1)" \
    "$rows" "$(printf '%s\n' "$@" | median)" "$(printf '%s\n' "${PEAKS[@]}" | median)" "$*" >> "$RES"
  say "pool bench: $(tail -1 "$RES")"
}
: > "$RES"
printf 'data\t%s\n' "$POOL_ROWS" >> "$RES"

# 1. The same full load into each pool.
for v in csv200 small; do
  files=$(find "$DATA/${DIR[$v]}" -type f | wc -l)
  runs=$POOL_RUNS; [ "$v" = small ] && runs=$POOL_SMALL_RUNS
  for pool in embedded rest; do
    walls=() PEAKS=()
    for r in $(seq "$runs"); do
      log="$WORK/out/pool.$pool.$v.$r"
      # shellcheck disable=SC2086
      timed "$log" "${LP[@]}" "$P/$pool" extract -c src --full ${ITEM[$v]} --json
      walls+=("$(wall_of "$log")"); PEAKS+=("$(rss_of "$log")")
    done
    record full "$v" "$pool" 1 "$files" "$(count "$P/$pool" "${DIR[$v]}")" "${walls[@]}"
    [ -z "$LOADTABLE_MS" ] && [ "$pool" = rest ] &&
      { LOADTABLE_MS=$(serial_ms glue "$WKEY" "$WSECRET" "url = \"$EP/iceberg/v1/catalogs/123456789012/namespaces/bench/tables/${DIR[$v]}\"\noutput = \"/dev/null\"") || LOADTABLE_MS=failed; }
  done
done

# 2. 1 worker vs 4 sharded workers, delta loads of the small files into the REST pool; each run
#    into a new table, so every run loads all 10,000 objects.
files=$(find "$DATA/small" -type f | wc -l)
walls=() PEAKS=()
for r in $(seq "$POOL_SMALL_RUNS"); do
  log="$WORK/out/pool.w1.$r"
  timed "$log" "${LP[@]}" "$P/rest" extract -c src --delta --folder small/ --table "small_w1_$r" --json
  walls+=("$(wall_of "$log")"); PEAKS+=("$(rss_of "$log")")
  rows=$(count "$P/rest" "small_w1_$r")
done
record delta small rest 1 "$files" "$rows" "${walls[@]}"
walls=() PEAKS=()
for r in $(seq "$POOL_SMALL_RUNS"); do
  start=$(date +%s.%N) pids=()
  for i in 0 1 2 3; do
    timed "$WORK/out/pool.w4.$r.$i" "${LP[@]}" "$P/worker-$i" extract -c src --delta --folder small/ --table "small_w4_$r" --shard "$i/4" --json &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  walls+=("$(echo "$(date +%s.%N) - $start" | bc -l | xargs printf '%.2f')")
  # The largest of the four processes (each its own machine in a real deployment).
  PEAKS+=("$(for i in 0 1 2 3; do rss_of "$WORK/out/pool.w4.$r.$i"; done | sort -g | tail -1)")
  rows=$(count "$P/rest" "small_w4_$r")
done
record delta small rest 4 "$files" "$rows" "${walls[@]}"

# 3. The requests the REST load of the small files sends, counted by lakeport-faultproxy (rate 0)
#    in front of ministack (catalog and S3 both through it); untimed.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PROXY" --upstream "$EP" --port "$port" --rate 0 > "$WORK/out/pool.proxy.log" 2>&1 &
PROXY_PID=$!
COUNTED="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -s -o /dev/null "$COUNTED/" && break; sleep 0.1; done
rest_pool "$P/counted" "$COUNTED"
curl -s "$COUNTED/_proxy/reset" >/dev/null
lp "$P/counted" extract -c src --full --folder small/ --table small_counted --json > "$WORK/out/pool.counted.json"
COUNTS=$(curl -s "$COUNTED/_proxy/stats")

printf 'server\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$MINISTACK_VERSION" "$SMALLEST" "$GET_MS" "$PUT_MS" "${LOADTABLE_MS:--}" "$GET_RPS" "$PUT_RPS" "$COUNTS" >> "$RES"
say "ministack: $GET_MS ms a GET, $PUT_MS ms a PUT, $LOADTABLE_MS ms a LoadTable on one connection; 8 at a time $GET_RPS GET/s, $PUT_RPS PUT/s; the REST load of the small files sent $COUNTS"
if [ "${POOL_REPORT:-1}" = 1 ]; then
  "$PY" "$ROOT/bench/report.py" --pool "$RES" | tee "$ROOT/bench/results/pool.md"
fi
