# Sourced by the benchmarks (bench/run.sh, bench/ledger.sh): the local S3 server and lakeport's
# release binaries. Needs ROOT and WORK; sets S3S, LAKEPORT and PROXY.
S3S="$WORK/tools/bin/s3s-fs"
if [ ! -x "$S3S" ]; then
  echo "==> installing s3s-fs 0.14.1 (cargo install, release build: a few minutes)" >&2
  cargo install s3s-fs --version 0.14.1 --features binary --locked --root "$WORK/tools"
fi
echo "==> building lakeport (release)" >&2
cargo build --release --locked -p lakeport-cli -p lakeport-faultproxy
LAKEPORT="$ROOT/target/release/lakeport"
PROXY="$ROOT/target/release/lakeport-faultproxy"
