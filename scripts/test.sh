#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests against a real S3 server on loopback.
# Works on a fresh machine with Rust and python3: it installs the test server from PyPI.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
source "$ROOT/scripts/test-env.sh"
# One cargo build at a time; tests share the machine's 2 cores.
cargo test --workspace --locked -- --test-threads=4 "$@"
