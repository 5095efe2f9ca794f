#!/usr/bin/env bash
# Builds s3s-fs 0.14.1 (the Rust crate registry) with a small benchmark patch (s3s-fs-fair.patch beside this file):
#  - an object without its .internal.json sidecar (written into the folder directly) gets an ETag
#    from its size and mtime, instead of an MD5 of the whole file on every GET and HEAD;
#  - bodies are read in 1 MiB chunks bounded to the requested range (stock: 4 KiB, unbounded);
#  - TCP_NODELAY on every connection (stock: none, so each request after the first on a kept-alive
#    connection waited ~26 ms for the client's delayed ACK: 240 requests/s at 8 connections).
# Measured here: ~1.4 GB/s for one GET of a 200 MB object, ~1 ms to first byte of a ranged GET at
# its end (stock, files in the folder: ~0.15 GB/s and 0.5–0.8 s).
# No third-party source is copied anywhere: cargo fetches the crate, the patch is applied to a copy.
#   bench/fair-server/install-s3s-fs-fair.sh ROOT   -> ROOT/bin/s3s-fs   (bench/tools.sh runs it)
set -euo pipefail
PATCH=$(cd "$(dirname "$0")" && pwd)/s3s-fs-fair.patch
ROOT=$(mkdir -p "$1" && cd "$1" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/fetch/src" && cd "$T/fetch"
printf '[package]\nname = "fetch-s3s-fs"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\ns3s-fs = "=0.14.1"\n[workspace]\n' > Cargo.toml
echo 'fn main() {}' > src/main.rs
cargo fetch -q
SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/s3s-fs-0.14.1 | head -1)
cp -r "$SRC" "$T/s3s-fs" && cd "$T/s3s-fs"
patch -p1 < "$PATCH"
cargo install --path . --features binary --locked --root "$ROOT" ${CARGO_TARGET_DIR:+--target-dir "$CARGO_TARGET_DIR"}
