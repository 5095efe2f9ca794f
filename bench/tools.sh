# Sourced by the benchmarks (bench/run.sh, bench/ledger.sh): the local S3 server and lakeport's
# release binaries. Needs ROOT and WORK; sets S3S, S3S_VERSION, LAKEPORT and PROXY.
#
# The server is s3s-fs 0.14.1 built with bench/fair-server/s3s-fs-fair.patch: stock s3s-fs reads a
# whole file for an MD5 ETag on every GET and HEAD of a file written into its folder and streams in
# 4 KiB reads, so tools that read by ranges paid the whole object per request and the "raw GET"
# ceiling was the server's (~0.15 GB/s). bench/run.sh checks the server before measuring.
S3S="$WORK/tools-fair/bin/s3s-fs"
S3S_VERSION="s3s-fs 0.14.1 + bench/fair-server/s3s-fs-fair.patch"
# Rebuilt when the patch changes (its checksum is kept beside the binary).
S3S_PATCH_SUM=$(sha256sum "$ROOT/bench/fair-server/s3s-fs-fair.patch" | cut -d' ' -f1)
if [ ! -x "$S3S" ] || [ "$(cat "$WORK/tools-fair/patch.sha256" 2>/dev/null)" != "$S3S_PATCH_SUM" ]; then
  echo "==> building $S3S_VERSION (release build: a few minutes)" >&2
  bash "$ROOT/bench/fair-server/install-s3s-fs-fair.sh" "$WORK/tools-fair" >&2
  echo "$S3S_PATCH_SUM" > "$WORK/tools-fair/patch.sha256"
fi
if [ -n "${LAKEPORT_BIN:-}" ]; then
  # A dry run of the scripts with a given binary (figures from a debug build mean nothing).
  LAKEPORT="$LAKEPORT_BIN"
  PROXY="${PROXY_BIN:-$(dirname "$LAKEPORT_BIN")/lakeport-faultproxy}"
else
  echo "==> building lakeport (release)" >&2
  cargo build --release --locked -p lakeport-cli -p lakeport-faultproxy
  LAKEPORT="$ROOT/target/release/lakeport"
  PROXY="$ROOT/target/release/lakeport-faultproxy"
fi
