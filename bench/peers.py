#!/usr/bin/env python3
"""The peers of the benchmark, each loading one variant from S3 into a local table or file.

  peers.py run TOOL VARIANT GLOB     the timed load (run by bench/load.sh)
  peers.py count TOOL VARIANT GLOB   rows in what that load wrote
TOOL: duckdb (CREATE TABLE AS SELECT from read_csv/read_json/read_parquet into a DuckDB file;
httpfs loaded offline from its PyPI wheel), polars (scan from S3 → sink_parquet), pyarrow
(S3FileSystem dataset → write_dataset as Parquet). Settings come from the environment bench/run.sh
exports: S3_ENDPOINT, S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, BENCH_WORK,
DATA (the folder s3s-fs serves).
"""
import glob
import os
import shutil
import sys

E = os.environ
ENDPOINT, BUCKET = E["S3_ENDPOINT"], E["S3_BUCKET"]
HOSTPORT = ENDPOINT.split("://", 1)[1]
KEY, SECRET, REGION = E["AWS_ACCESS_KEY_ID"], E["AWS_SECRET_ACCESS_KEY"], E["AWS_REGION"]
OUT = os.path.join(E["BENCH_WORK"], "out")
EXT_DIR = os.path.join(E["BENCH_WORK"], "duckdb_ext")
FORMAT = {"csv1": "csv", "csv200": "csv", "small": "csv", "ndjson": "json", "pq1": "parquet", "pq50": "parquet"}


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def duck(path=":memory:", read_only=False):
    import duckdb
    c = duckdb.connect(path, read_only=read_only)
    c.execute(f"SET extension_directory='{EXT_DIR}'; SET autoinstall_known_extensions=false")
    return c


def duck_with_httpfs(path):
    import duckdb
    if not glob.glob(f"{EXT_DIR}/**/httpfs.duckdb_extension", recursive=True):
        wheel = glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_extension_httpfs",
                                       "extensions", "*", "httpfs.duckdb_extension"))
        duck().execute(f"INSTALL '{wheel[0]}'")
    c = duck(path)
    c.execute("LOAD httpfs")
    c.execute(f"SET s3_endpoint='{HOSTPORT}'; SET s3_url_style='path'; SET s3_use_ssl=false; SET s3_region='{REGION}';"
              f"SET s3_access_key_id='{KEY}'; SET s3_secret_access_key='{SECRET}'")
    return c


def run(tool, variant, key):
    fmt, url = FORMAT[variant], f"s3://{BUCKET}/{key}"
    out = os.path.join(OUT, f"{tool}.{variant}")
    if tool == "duckdb":
        remove(out + ".duckdb")
        c = duck_with_httpfs(out + ".duckdb")
        reader = {"csv": f"read_csv('{url}')", "json": f"read_json('{url}', format='newline_delimited')",
                  "parquet": f"read_parquet('{url}')"}[fmt]
        c.execute(f"CREATE TABLE t AS SELECT * FROM {reader}")
        c.close()
    elif tool == "polars":
        import polars as pl
        so = {"aws_endpoint_url": ENDPOINT, "aws_access_key_id": KEY, "aws_secret_access_key": SECRET,
              "aws_region": REGION, "aws_allow_http": "true"}
        lf = {"csv": lambda: pl.scan_csv(url, storage_options=so, try_parse_dates=True),
              "json": lambda: pl.scan_ndjson(url, storage_options=so),
              "parquet": lambda: pl.scan_parquet(url, storage_options=so)}[fmt]()
        remove(out + ".parquet")
        lf.sink_parquet(out + ".parquet")
    elif tool == "pyarrow":
        import pyarrow.dataset as ds
        import pyarrow.fs as pafs
        s3 = pafs.S3FileSystem(endpoint_override=HOSTPORT, scheme="http", access_key=KEY, secret_key=SECRET,
                               region=REGION, request_timeout=60, connect_timeout=10)
        # The explicit list of objects (from the folder s3s-fs serves): dataset discovery on a folder
        # HEADs the folder key, which s3s-fs answers with 500.
        bucket_dir = os.path.join(E["DATA"], BUCKET)
        source = sorted(f"{BUCKET}/{os.path.relpath(p, bucket_dir)}" for p in glob.glob(os.path.join(bucket_dir, key)))
        remove(out)
        # 64 MiB read blocks: pyarrow reads an object by ranged GETs of one block each, and s3s-fs
        # serves a ranged GET by reading the file from its start, so 1 MiB blocks (the default)
        # turn a 266 MB CSV into minutes of server time, a property of the server, not of pyarrow.
        import pyarrow.csv as pacsv
        import pyarrow.json as pajson
        block = 64 << 20
        file_format = {"csv": lambda: ds.CsvFileFormat(read_options=pacsv.ReadOptions(block_size=block)),
                       "json": lambda: ds.JsonFileFormat(read_options=pajson.ReadOptions(block_size=block)),
                       "parquet": lambda: ds.ParquetFileFormat()}[fmt]()
        ds.write_dataset(ds.dataset(source, filesystem=s3, format=file_format), out, format="parquet")
    else:
        sys.exit(f"unknown tool {tool}")


def count(tool, variant):
    out = os.path.join(OUT, f"{tool}.{variant}")
    if tool == "duckdb":
        return duck(out + ".duckdb", read_only=True).sql("SELECT count(*) FROM t").fetchone()[0]
    import pyarrow.dataset as ds
    return ds.dataset(out + ".parquet" if tool == "polars" else out, format="parquet").count_rows()


if __name__ == "__main__":
    mode, tool, variant, key = sys.argv[1:5]
    if mode == "run":
        run(tool, variant, key)
    else:
        print(count(tool, variant))
