#!/usr/bin/env bash
# Peer benchmark: lakeport side by side with raw GET, DuckDB, polars and pyarrow, on the same data,
# the same local S3 server (s3s-fs over a local folder, SigV4 checked), in one run.
#
#   bench/run.sh                 # 2,000,000 rows, 3 runs each, every variant and tool
#   ROWS=200000 RUNS=1 bench/run.sh
#   VARIANTS="csv1 pq1" TOOLS="rawget lakeport polars" bench/run.sh
#   SMALL_RUNS=1 bench/run.sh    # one run on the 10,000 small files (DuckDB takes minutes per run)
#
# Installs what it needs on first use: s3s-fs (cargo install, release), the peers (PyPI, pinned,
# into .venv-bench) and builds lakeport in release mode. Writes bench/results/latest.md.
# Each measurement: median of RUNS runs of wall time (/usr/bin/time -v) and the peak RSS of that
# command (children included); MB/s over the variant's object bytes; row counts checked against ROWS.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROWS=${ROWS:-2000000}
RUNS=${RUNS:-3}
VARIANTS=${VARIANTS:-"csv1 csv200 ndjson pq1 pq50 small"}
TOOLS=${TOOLS:-"rawget lakeport duckdb polars pyarrow"}
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
PROXY_PID=
cleanup() { kill $S3S_PID ${PROXY_PID:-} 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
export S3_ENDPOINT="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -s -o /dev/null "$S3_ENDPOINT/" && break; sleep 0.1; done
say "s3s-fs on $S3_ENDPOINT serving $DATA"

# ---- the variants ------------------------------------------------------------------------------
source "$ROOT/bench/variants.sh"
bytes() { (cd "$DATA/$BUCKET" && keys "$1" | xargs stat -c %s | awk '{ s += $1 } END { print s }'); }

# ---- lakeport pool and connection (set up once; only the extraction is timed) -------------------
export LAKEPORT_DIR="$WORK/pool" LAKEPORT_POOL=bench BENCH_SECRET=$SECRET
rm -rf "$LAKEPORT_DIR"
"$LAKEPORT" pool create bench >/dev/null
"$LAKEPORT" connection add s3 --region "$REGION" --bucket "$BUCKET" --access-key-id "$KEY" \
  --secret-env BENCH_SECRET --endpoint "$S3_ENDPOINT" --path-style --allow-http >/dev/null

# ---- measurements ------------------------------------------------------------------------------
export ROOT WORK DATA BUCKET S3_ENDPOINT LAKEPORT PY
count_rows() {  # tool variant → the row count the tool's output holds
  case $1 in
    rawget) echo "-" ;;
    lakeport) "$LAKEPORT" query "SELECT count(*) AS n FROM ${TABLE[$2]}" --format csv | tail -1 ;;
    *) "$PY" "$ROOT/bench/peers.py" count "$1" "$2" "${GLOB[$2]}" ;;
  esac
}

RES="$WORK/out/results.tsv"
: > "$RES"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for v in $VARIANTS; do
  size=$(bytes "$v")
  nfiles=$(keys "$v" | wc -l)
  for k in $(keys "$v"); do printf 'url = "%s/%s/%s"\noutput = "/dev/null"\n' "$S3_ENDPOINT" "$BUCKET" "$k"; done > "$WORK/out/curl.$v.cfg"
  for tool in $TOOLS; do
    walls=() rss=() ok=1
    runs=$RUNS; [ "$v" = small ] && runs=${SMALL_RUNS:-$RUNS}
    for r in $(seq "$runs"); do
      log="$WORK/out/$tool.$v.$r"
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
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$v" "$tool" "$nfiles" "$size" "$rows" "$wall" "$peak" "${walls[*]}" >> "$RES"
    else
      printf '%s\t%s\t%s\t%s\tFAIL\t-\t-\t-\n' "$v" "$tool" "$nfiles" "$size" >> "$RES"
    fi
    say "$(tail -1 "$RES")"
  done
done

# ---- delta no-op: everything loaded already; count the requests it sends ------------------------
# Through the counting proxy (lakeport-faultproxy at fault rate 0), so the count is the server's view.
NOOP="$WORK/out/noop.tsv"
: > "$NOOP"
if [[ " $TOOLS " == *" lakeport "* ]]; then
  PPORT=$(free_port)
  "$PROXY" --upstream "$S3_ENDPOINT" --port "$PPORT" --rate 0 > "$WORK/out/proxy.log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PPORT/" && break; sleep 0.1; done
  "$LAKEPORT" connection add s3-counted --region "$REGION" --bucket "$BUCKET" --access-key-id "$KEY" \
    --secret-env BENCH_SECRET --endpoint "http://127.0.0.1:$PPORT" --path-style --allow-http >/dev/null
  for v in $VARIANTS; do
    # shellcheck disable=SC2086
    "$LAKEPORT" extract -c s3 --full ${ITEM[$v]} >/dev/null 2>&1   # the table holds exactly this variant
    curl -s "http://127.0.0.1:$PPORT/_proxy/reset" >/dev/null
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$LAKEPORT" extract -c s3-counted --delta ${ITEM[$v]} --json > "$WORK/out/noop.$v.json"
    secs=$(echo "$(date +%s.%N) - $start" | bc -l)
    counts=$(curl -s "http://127.0.0.1:$PPORT/_proxy/stats")
    printf '%s\t%s\t%s\t%s\n' "$v" "$(keys "$v" | wc -l)" "$secs" "$counts" >> "$NOOP"
    say "delta no-op $v: $counts"
  done
fi

"$PY" "$ROOT/bench/report.py" "$RES" "$NOOP" "$ROWS" "$RUNS" | tee "$ROOT/bench/results/latest.md"
