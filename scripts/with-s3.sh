#!/usr/bin/env bash
# Runs one command with the local S3 test server up and its variables exported, e.g.
#   ./scripts/with-s3.sh cargo test -p lakeport-extract --test it s3_extract::
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/test-env.sh"
"$@"
