#!/usr/bin/env bash
# Re-creates this sample of DuckDB's reader test files from a git copy of duckdb/duckdb
# (bare or not): GIT_DIR=/path/to/duckdb.git ./vendor.sh [COMMIT]
# Rule (README.md): every file under data/csv of at most 65,536 bytes whose name ends in
# .csv/.tsv/.txt (optionally .gz/.zst), and every file under data/json; objects missing from the
# copy are skipped (and listed).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
COMMIT=${1:-HEAD}
: "${GIT_DIR:?set GIT_DIR to a git copy of duckdb/duckdb}"
rm -rf "$HERE/data"
git --git-dir="$GIT_DIR" show "$COMMIT:LICENSE" > "$HERE/LICENSE"
git --git-dir="$GIT_DIR" -c core.quotepath=off ls-tree -r -l "$COMMIT" data/csv data/json | while read -r mode type sha size path; do
  [ "$type" = blob ] && [ "$mode" != 120000 ] || continue   # no symbolic links
  case "$path" in
    data/json/*) ;;
    data/csv/*) [ "$size" -le 65536 ] && [[ "$path" =~ \.(csv|tsv|txt)(\.gz|\.zst)?$ ]] || continue ;;
  esac
  if ! git --git-dir="$GIT_DIR" cat-file -e "$sha" 2>/dev/null; then echo "missing from the copy: $path" >&2; continue; fi
  mkdir -p "$HERE/$(dirname "$path")"
  git --git-dir="$GIT_DIR" cat-file blob "$sha" > "$HERE/$path"
done
echo "csv: $(find "$HERE/data/csv" -type f | wc -l) files, json: $(find "$HERE/data/json" -type f | wc -l) files"
