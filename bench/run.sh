#!/usr/bin/env bash
# Peer benchmark: lakeport side by side with raw GET, DuckDB, polars and pyarrow, on the same data,
# the same local S3 server (s3s-fs over a local folder, SigV4 checked, patched to be fair), in one
# run, in two network profiles:
#   loopback  the server directly: what the tools themselves can do;
#   s3like    through lakeport-faultproxy shaping every connection like real S3 (a bandwidth cap per
#             connection, S3LIKE_MBPS MB/s, default 90; first-byte latency S3LIKE_LATENCY_MS, default
#             30): the profile users live in, where parallel connections pay.
#
#   bench/run.sh                 # 2,000,000 rows, 3 runs each, every variant, tool and profile
#   ROWS=200000 RUNS=1 bench/run.sh
#   VARIANTS="csv1 pq1" TOOLS="rawget lakeport polars" PROFILES=loopback bench/run.sh
#   SMALL_RUNS=1 bench/run.sh    # one run on the 10,000 small files (DuckDB takes minutes per run)
#   POOL_BENCH=0 bench/run.sh    # without the pool section (bench/pool.sh: embedded vs REST pool,
#                                # 4 sharded workers vs 1; ministack is its server)
#
# Installs what it needs on first use: the fair s3s-fs (bench/fair-server, cargo, release), the
# peers (PyPI, pinned, into .venv-bench) and builds lakeport in release mode. Before measuring it
# checks the server (raw GET of the largest object >= 1 GB/s, first byte of a ranged GET at its end
# < 10 ms; ALLOW_UNFAIR=1 measures anyway and says so) and the shaping proxy's own ceiling.
# Writes bench/results/latest.md.
# Each measurement: median of RUNS runs of wall time (/usr/bin/time -v) and the peak RSS of that
# command (children included); MB/s over the variant's object bytes; row counts checked against ROWS.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${ROWS:-2000000}
RUNS=${RUNS:-3}
VARIANTS=${VARIANTS:-"csv1 csv200 ndjson pq1 pq50 small"}
TOOLS=${TOOLS:-"rawget lakeport duckdb polars pyarrow"}
PROFILES=${PROFILES:-"loopback s3like"}
S3LIKE_MBPS=${S3LIKE_MBPS:-90}
S3LIKE_LATENCY_MS=${S3LIKE_LATENCY_MS:-30}
TIMEOUT=${TIMEOUT:-1200}
WORK=${BENCH_DIR:-"$ROOT/target/bench"}
VENV="$ROOT/.venv-bench"
KEY=AKIDBENCH SECRET=benchsecretbenchsecret BUCKET=bench REGION=us-east-1
export AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=$REGION S3_BUCKET=$BUCKET BENCH_WORK=$WORK
mkdir -p "$WORK/tools" "$WORK/out" "$ROOT/bench/results"
say() { echo "==> $*" >&2; }

# ---- tools -------------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import duckdb, polars, pyarrow, numpy" 2>/dev/null; then
  say "installing the peers into $VENV (PyPI)"
  python3 -m venv "$VENV"
  # duckdb 1.5.5: the last line with an httpfs extension wheel (loaded offline, no download).
  "$VENV/bin/pip" install -q --disable-pip-version-check "duckdb==1.5.5" "duckdb-extension-httpfs==1.5.5" \
    "polars==1.40.1" "pyarrow==24.0.0" "numpy==2.4.1"
fi
PY="$VENV/bin/python"
source "$ROOT/bench/tools.sh"

# ---- data --------------------------------------------------------------------------------------
DATA="$WORK/data"
if [ ! -f "$DATA/$BUCKET/.rows-$ROWS" ]; then
  say "generating $ROWS rows of event log into $DATA/$BUCKET"
  rm -rf "$DATA/$BUCKET"; mkdir -p "$DATA/$BUCKET"
  "$PY" "$ROOT/bench/gen.py" --rows "$ROWS" "$DATA/$BUCKET" >&2
  touch "$DATA/.rows-tmp" && mv "$DATA/.rows-tmp" "$DATA/$BUCKET/.rows-$ROWS"
fi
# The marker is a hidden object: s3s-fs lists it, lakeport ignores hidden objects, the peers read
# explicit keys or globs that do not match it.

# ---- servers -----------------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
"$S3S" --host 127.0.0.1 --port "$PORT" --access-key "$KEY" --secret-key "$SECRET" "$DATA" > "$WORK/s3s-fs.log" 2>&1 &
S3S_PID=$!
PROXY_PIDS=
cleanup() { kill $S3S_PID ${PROXY_PIDS:-} 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
export S3_ENDPOINT="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -s -o /dev/null "$S3_ENDPOINT/" && break; sleep 0.1; done
say "s3s-fs on $S3_ENDPOINT serving $DATA"
DIRECT_ENDPOINT=$S3_ENDPOINT

# ---- the server check: a ratio against raw GET means nothing on a server slower than the tools ---
sigv4() { curl -sS --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY:$SECRET" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
BIG=$(cd "$DATA/$BUCKET" && ls -S | grep -v '^\.' | while read -r f; do [ -f "$f" ] && echo "$f" && break; done)
BIG_SIZE=$(stat -c %s "$DATA/$BUCKET/$BIG")
get_mbps() {  # endpoint → MB/s of one GET of the largest object (best of 3)
  for _ in 1 2 3; do sigv4 -o /dev/null -w '%{size_download} %{time_total}\n' "$1/$BUCKET/$BIG"; done |
    awk '{ r = $1 / $2 / 1e6; if (r > best) best = r } END { printf "%.0f", best }'
}
ranged_ttfb_ms() {  # endpoint → median ms to the first byte of a GET of the object's last 8 bytes
  for _ in 1 2 3 4 5; do sigv4 -o /dev/null -r "$((BIG_SIZE - 8))-$((BIG_SIZE - 1))" -w '%{time_starttransfer}\n' "$1/$BUCKET/$BIG"; done |
    sort -g | awk '{ a[NR] = $1 } END { printf "%.1f", a[3] * 1000 }'
}
# The per-request cost on ONE kept-alive connection, as the tools' pooled clients pay it: the
# server without TCP_NODELAY answered every request after a connection's first ~26 ms late (the
# client's delayed ACK), which made the 10,000 small files measure the server (240 requests/s).
SMALLEST=$(cd "$DATA/$BUCKET" && find . -type f ! -name '.*' -printf '%s %P\n' | sort -n | awk 'NR == 1 { sub(/^[^ ]* /, ""); print }')  # (head would end sort early: SIGPIPE under pipefail)
request_ms() {  # endpoint → mean ms of 200 GETs of the smallest object, one after another, one connection
  local start; start=$(date +%s.%N)
  for _ in $(seq 200); do printf 'url = "%s/%s/%s"\noutput = "/dev/null"\n' "$1" "$BUCKET" "$SMALLEST"; done > "$WORK/out/curl.serial.cfg"
  sigv4 -f -K "$WORK/out/curl.serial.cfg"
  echo "($(date +%s.%N) - $start) * 1000 / 200" | bc -l | xargs printf '%.2f'
}
SERVER_GET=$(get_mbps "$S3_ENDPOINT")
SERVER_TTFB=$(ranged_ttfb_ms "$S3_ENDPOINT")
SERVER_REQ=$(request_ms "$S3_ENDPOINT")
FAIR=yes
awk -v g="$SERVER_GET" -v t="$SERVER_TTFB" -v r="$SERVER_REQ" 'BEGIN { exit !(g >= 1000 && t < 10 && r < 2) }' || FAIR=no
SERVER="$WORK/out/server.tsv"
printf 'server\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$S3S_VERSION" "$BIG" "$BIG_SIZE" "$SERVER_GET" "$SERVER_TTFB" "$FAIR" "$SMALLEST" "$SERVER_REQ" > "$SERVER"
say "server check: $S3S_VERSION, GET $BIG ($BIG_SIZE bytes) $SERVER_GET MB/s, ranged first byte $SERVER_TTFB ms, $SERVER_REQ ms a request on one connection: fair=$FAIR"
if [ "$FAIR" = no ] && [ "${ALLOW_UNFAIR:-0}" != 1 ]; then
  say "the server is slower than the targets (GET >= 1000 MB/s, ranged first byte < 10 ms, < 2 ms a request on a kept-alive connection): the ratios would measure it. Stop (ALLOW_UNFAIR=1 measures anyway)."
  exit 1
fi
if [ "$BIG_SIZE" -lt 100000000 ]; then
  say "note: the largest object is under 100 MB (ROWS=$ROWS): the GET figure is rough"
fi

# The shaping proxy of the s3like profile must itself be far faster than what it shapes: its
# ceiling (unshaped, one GET; and 8 at a time over csv_parts) is measured and reported.
proxy_start() {  # extra proxy args… → sets PROXY_ENDPOINT and PROXY_PIDS
  local port; port=$(free_port)
  "$PROXY" --upstream "$DIRECT_ENDPOINT" --port "$port" --rate 0 "$@" > "$WORK/out/proxy.$port.log" 2>&1 &
  PROXY_PIDS="${PROXY_PIDS:-} $!"
  PROXY_ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -s -o /dev/null "$PROXY_ENDPOINT/" && break; sleep 0.1; done
}

# ---- the variants ------------------------------------------------------------------------------
source "$ROOT/bench/variants.sh"
bytes() { (cd "$DATA/$BUCKET" && keys "$1" | xargs stat -c %s | awk '{ s += $1 } END { print s }'); }

if [[ " $PROFILES " == *" s3like "* ]]; then
  proxy_start
  PROXY_GET=$(get_mbps "$PROXY_ENDPOINT")
  PROXY_REQ=$(request_ms "$PROXY_ENDPOINT")
  # 8 GETs of the largest object at once: the proxy's bandwidth, not its per-request cost.
  for _ in 1 2 3 4 5 6 7 8; do printf 'url = "%s/%s/%s"\noutput = "/dev/null"\n' "$PROXY_ENDPOINT" "$BUCKET" "$BIG"; done > "$WORK/out/curl.proxycheck.cfg"
  start=$(date +%s.%N)
  curl -sSf --parallel --parallel-max 8 --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY:$SECRET" \
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -K "$WORK/out/curl.proxycheck.cfg"
  PROXY_PAR=$(echo "8 * $BIG_SIZE / ($(date +%s.%N) - $start) / 1000000" | bc -l | xargs printf '%.0f')
  printf 'proxy\tlakeport-faultproxy, unshaped\t%s\t%s\t%s\t%s\n' "$PROXY_GET" "$PROXY_PAR" "$((8 * S3LIKE_MBPS))" "$PROXY_REQ" >> "$SERVER"
  printf 's3like\t%s\t%s\n' "$S3LIKE_MBPS" "$S3LIKE_LATENCY_MS" >> "$SERVER"
  say "proxy ceiling: one GET $PROXY_GET MB/s, 8 at a time $PROXY_PAR MB/s, $PROXY_REQ ms a request on one connection (the s3like profile shapes 8 connections to $((8 * S3LIKE_MBPS)) MB/s)"
fi

# ---- lakeport pool and connections (set up once; only the extraction is timed) ------------------
export LAKEPORT_DIR="$WORK/pool" LAKEPORT_POOL=bench BENCH_SECRET=$SECRET
rm -rf "$LAKEPORT_DIR"
"$LAKEPORT" pool create bench >/dev/null
declare -A ENDPOINT=([loopback]="$DIRECT_ENDPOINT")
if [[ " $PROFILES " == *" s3like "* ]]; then
  proxy_start --bandwidth-per-connection "$S3LIKE_MBPS" --first-byte-latency "$S3LIKE_LATENCY_MS"
  ENDPOINT[s3like]=$PROXY_ENDPOINT
fi
for p in loopback $PROFILES; do   # s3-loopback always: the no-op below loads through it
  [ -n "${ENDPOINT[$p]:-}" ] || { say "unknown profile $p (loopback, s3like)"; exit 2; }
  "$LAKEPORT" connection list --json | grep -q "\"s3-$p\"" && continue
  "$LAKEPORT" connection add "s3-$p" --region "$REGION" --bucket "$BUCKET" --access-key-id "$KEY" \
    --secret-env BENCH_SECRET --endpoint "${ENDPOINT[$p]}" --path-style --allow-http >/dev/null
done

# ---- measurements ------------------------------------------------------------------------------
export ROOT WORK DATA BUCKET S3_ENDPOINT LAKEPORT PY
count_rows() {  # tool variant → the row count the tool's output holds
  case $1 in
    rawget) echo "-" ;;
    lakeport) "$LAKEPORT" query "SELECT count(*) AS n FROM ${TABLE[$2]}" --format csv | tail -1 ;;
    # (the peers count what they wrote, from local files)
    *) "$PY" "$ROOT/bench/peers.py" count "$1" "$2" "${GLOB[$2]}" ;;
  esac
}

RES="$WORK/out/results.tsv"
: > "$RES"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for p in $PROFILES; do
export S3_ENDPOINT=${ENDPOINT[$p]} LP_CONNECTION="s3-$p"
for v in $VARIANTS; do
  size=$(bytes "$v")
  nfiles=$(keys "$v" | wc -l)
  for k in $(keys "$v"); do printf 'url = "%s/%s/%s"\noutput = "/dev/null"\n' "$S3_ENDPOINT" "$BUCKET" "$k"; done > "$WORK/out/curl.$v.cfg"
  for tool in $TOOLS; do
    walls=() rss=() ok=1
    runs=$RUNS; [ "$v" = small ] && runs=${SMALL_RUNS:-$RUNS}
    for r in $(seq "$runs"); do
      log="$WORK/out/$p.$tool.$v.$r"
      if ! /usr/bin/time -v -o "$log.time" timeout "$TIMEOUT" "$ROOT/bench/load.sh" "$tool" "$v" > "$log" 2>&1; then
        ok=0; say "FAILED: $tool $v (see $log)"; tail -5 "$log" >&2; break
      fi
      walls+=("$(awk -F': ' '/Elapsed \(wall/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$log.time")")
      rss+=("$(awk -F': ' '/Maximum resident/ {print $2/1024}' "$log.time")")
    done
    if [ $ok = 1 ]; then
      rows=$(count_rows "$tool" "$v" 2>>"$WORK/out/count.log" || echo "?")
      wall=$(printf '%s\n' "${walls[@]}" | median)
      peak=$(printf '%s\n' "${rss[@]}" | median)
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$v" "$tool" "$nfiles" "$size" "$rows" "$wall" "$peak" "${walls[*]}" >> "$RES"
    else
      printf '%s\t%s\t%s\t%s\t%s\tFAIL\t-\t-\t-\n' "$p" "$v" "$tool" "$nfiles" "$size" >> "$RES"
    fi
    say "$(tail -1 "$RES")"
  done
done
done
export S3_ENDPOINT=$DIRECT_ENDPOINT

# ---- delta no-op: everything loaded already; count the requests it sends ------------------------
# Through the counting proxy (lakeport-faultproxy at fault rate 0), so the count is the server's view.
NOOP="$WORK/out/noop.tsv"
: > "$NOOP"
if [[ " $TOOLS " == *" lakeport "* ]]; then
  proxy_start
  COUNTED=$PROXY_ENDPOINT
  "$LAKEPORT" connection add s3-counted --region "$REGION" --bucket "$BUCKET" --access-key-id "$KEY" \
    --secret-env BENCH_SECRET --endpoint "$COUNTED" --path-style --allow-http >/dev/null
  for v in $VARIANTS; do
    # shellcheck disable=SC2086
    "$LAKEPORT" extract -c s3-loopback --full ${ITEM[$v]} >/dev/null 2>&1   # the table holds exactly this variant
    curl -s "$COUNTED/_proxy/reset" >/dev/null
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$LAKEPORT" extract -c s3-counted --delta ${ITEM[$v]} --json > "$WORK/out/noop.$v.json"
    secs=$(echo "$(date +%s.%N) - $start" | bc -l)
    counts=$(curl -s "$COUNTED/_proxy/stats")
    printf '%s\t%s\t%s\t%s\n' "$v" "$(keys "$v" | wc -l)" "$secs" "$counts" >> "$NOOP"
    say "delta no-op $v: $counts"
  done
fi

# ---- pools: embedded vs REST catalog + S3 (ministack), 4 sharded workers vs 1 (bench/pool.sh) ----
POOL_TSV="$WORK/out/pool.tsv"
rm -f "$POOL_TSV"
if [ "${POOL_BENCH:-1}" = 1 ]; then
  PROXY="$PROXY" POOL_REPORT=0 bash "$ROOT/bench/pool.sh" || { say "the pool section FAILED (see above): latest.md has none"; rm -f "$POOL_TSV"; }
fi

"$PY" "$ROOT/bench/report.py" "$RES" "$NOOP" "$SERVER" "$ROWS" "$RUNS" "$POOL_TSV" | tee "$ROOT/bench/results/latest.md"
