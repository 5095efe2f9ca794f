#!/usr/bin/env bash
# One timed load: bench/load.sh TOOL VARIANT (run by bench/run.sh, which exports the settings).
set -euo pipefail
source "$ROOT/bench/variants.sh"
tool=$1 v=$2
case $tool in
  rawget)
    # The physical limit: GET every object of the variant (SigV4, 8 at a time), bytes discarded.
    # (bench/run.sh writes the list of URLs, outside the timing.)
    exec curl -sSf --parallel --parallel-max 8 --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
      --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -K "$WORK/out/curl.$v.cfg" ;;
  lakeport)
    # A full load into the pool: typed inference, Iceberg data files, one atomic commit.
    # shellcheck disable=SC2086
    exec "$LAKEPORT" extract -c "$LP_CONNECTION" --full ${ITEM[$v]} --json > "$WORK/out/lakeport.$v.json" ;;
  *)
    exec "$PY" "$ROOT/bench/peers.py" run "$tool" "$v" "${GLOB[$v]}" ;;
esac
