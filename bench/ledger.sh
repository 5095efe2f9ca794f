#!/usr/bin/env bash
# Ledger scale: does a delta load stay cheap when a table has loaded many objects?
#
#   bench/ledger.sh                  # 100,000 objects
#   OBJECTS=10000 bench/ledger.sh
#
# A folder of OBJECTS small CSVs (3 rows each) served by s3s-fs (a local S3 server over a folder)
# is loaded once (full load: the table's ledger then holds OBJECTS entries). Then, through the
# counting proxy (lakeport-faultproxy at fault rate 0, so the counts are the server's view):
#   1. a no-op delta: its wall time, peak RSS and the requests it sent (LIST / HEAD / GET);
#   2. DELTAS deltas of one new object each: time, and the bytes of table metadata each commit
#      wrote (new files under metadata/: metadata.json, manifest list, manifests, ledger files),
#      and the size of the current metadata.json.
# Prints a Markdown table and writes it to bench/results/ledger.md. Needs s3s-fs (installed with
# cargo on first use, as bench/run.sh does) and a release build of lakeport.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OBJECTS=${OBJECTS:-100000}
DELTAS=${DELTAS:-5}
WORK=${BENCH_DIR:-"$ROOT/target/bench"}
KEY=AKIDBENCH SECRET=benchsecretbenchsecret BUCKET=ledger REGION=us-east-1
mkdir -p "$WORK/tools" "$WORK/out" "$ROOT/bench/results"
say() { echo "==> $*" >&2; }

source "$ROOT/bench/tools.sh"

DATA="$WORK/ledger-data"
if [ ! -f "$DATA/.objects-$OBJECTS" ]; then
  say "writing $OBJECTS objects"
  rm -rf "$DATA"; mkdir -p "$DATA/$BUCKET/log"
  python3 - "$DATA/$BUCKET/log" "$OBJECTS" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, f"{i // 1000:03d}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"part-{i:06d}.csv"), "w") as f:
        f.write("case_id,activity,cost\n" + "".join(f"{i * 3 + j},step {j},{j}.5\n" for j in range(3)))
EOF
  touch "$DATA/.objects-$OBJECTS"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port) PPORT=$(free_port)
"$S3S" --host 127.0.0.1 --port "$PORT" --access-key "$KEY" --secret-key "$SECRET" "$DATA" > "$WORK/out/ledger-s3s.log" 2>&1 &
S3S_PID=$!
"$PROXY" --upstream "http://127.0.0.1:$PORT" --port "$PPORT" --rate 0 > "$WORK/out/ledger-proxy.log" 2>&1 &
PROXY_PID=$!
trap 'kill $S3S_PID $PROXY_PID 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PPORT/" && break; sleep 0.1; done

export LAKEPORT_DIR="$WORK/ledger-pool" LAKEPORT_POOL=bench BENCH_SECRET=$SECRET
rm -rf "$LAKEPORT_DIR"
"$LAKEPORT" pool create bench >/dev/null
"$LAKEPORT" connection add s3 --region "$REGION" --bucket "$BUCKET" --access-key-id "$KEY" \
  --secret-env BENCH_SECRET --endpoint "http://127.0.0.1:$PPORT" --path-style --allow-http >/dev/null
META="$LAKEPORT_DIR/warehouse/bench/log/metadata"

timed() { # timed NAME CMD…: wall seconds and peak RSS (KiB) of CMD into $WORK/out/ledger-NAME.time
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/out/ledger-$name.time" "$@" > "$WORK/out/ledger-$name.json"
}
stats() { curl -s "http://127.0.0.1:$PPORT/_proxy/stats"; }
files_bytes() { find "$META" -type f -printf '%s %p\n' | LC_ALL=C sort; }

rm -rf "$DATA/$BUCKET/log/new"   # objects an earlier run added
say "full load of $OBJECTS objects"
timed full "$LAKEPORT" extract -c s3 --full --folder log/ --json
read -r full_s full_kb < "$WORK/out/ledger-full.time"

curl -s "http://127.0.0.1:$PPORT/_proxy/reset" >/dev/null
timed noop "$LAKEPORT" extract -c s3 --delta --folder log/ --json
read -r noop_s noop_kb < "$WORK/out/ledger-noop.time"
noop_requests=$(stats)

OUT="$ROOT/bench/results/ledger.md"
{
  echo "# Ledger scale ($(date -u +%Y-%m-%d), release build, $(nproc) cores, s3s-fs)"
  echo
  echo "Table loaded from $OBJECTS objects: full load ${full_s} s, peak RSS $((full_kb / 1024)) MiB."
  echo
  echo "| run | wall (s) | peak RSS (MiB) | requests (server's view) | metadata bytes written | current metadata.json (bytes) |"
  echo "|---|---|---|---|---|---|"
  echo "| no-op delta | $noop_s | $((noop_kb / 1024)) | $noop_requests | - | $(stat -c %s "$(ls -t "$META"/*.metadata.json | head -1)") |"
  for i in $(seq "$DELTAS"); do
    n=$((OBJECTS + i))
    mkdir -p "$DATA/$BUCKET/log/new"
    printf 'case_id,activity,cost\n%s,step 0,0.5\n' "$((n * 3))" > "$DATA/$BUCKET/log/new/part-$n.csv"
    files_bytes > "$WORK/out/ledger-before"
    curl -s "http://127.0.0.1:$PPORT/_proxy/reset" >/dev/null
    timed "delta$i" "$LAKEPORT" extract -c s3 --delta --folder log/ --json
    read -r d_s d_kb < "$WORK/out/ledger-delta$i.time"
    files_bytes > "$WORK/out/ledger-after"
    written=$(LC_ALL=C comm -13 "$WORK/out/ledger-before" "$WORK/out/ledger-after" | awk '{ s += $1 } END { print s + 0 }')
    echo "| delta of 1 new object #$i | $d_s | $((d_kb / 1024)) | $(stats) | $written | $(stat -c %s "$(ls -t "$META"/*.metadata.json | head -1)") |"
  done
} | tee "$OUT"
