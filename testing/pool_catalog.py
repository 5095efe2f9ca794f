"""The Iceberg catalog of a lakeport pool, opened the way another engine would open it: for an
embedded pool pyiceberg's SqlCatalog on the pool directory's `catalog.db`; for a REST-catalog pool
pyiceberg's RestCatalog with the pool's stored settings (`lakeport_pools.catalog`) and its stored
secret (`secrets/<pool>/.catalog.secret`), SigV4-signed with the pool's signing name. Used by the
test scripts that read or maintain pool tables (read_with_pyiceberg.py, iceberg_engines.py), so
one test body serves both pool kinds.
"""
import json
import os
import sqlite3


def open_catalog(root, pool):
    """(catalog, kind) of pool `pool` in the pool directory `root`; kind is "embedded" or "rest"."""
    root = os.path.abspath(root)
    db = sqlite3.connect(f"file:{root}/catalog.db?mode=ro", uri=True)
    try:
        row = db.execute("SELECT catalog FROM lakeport_pools WHERE name = ?", (pool,)).fetchone()
    finally:
        db.close()
    if row is None:
        raise SystemExit(f"no pool {pool!r} in {root}")
    settings = json.loads(row[0]) if row[0] else {"kind": "embedded"}
    if settings["kind"] == "embedded":
        from pyiceberg.catalog.sql import SqlCatalog

        return SqlCatalog("lakeport", uri=f"sqlite:///{root}/catalog.db", warehouse=f"file://{root}/warehouse"), "embedded"
    from pyiceberg.catalog.rest import RestCatalog

    auth = settings["auth"]
    if auth.get("method") != "access-key":
        raise SystemExit(f"the test scripts read REST pools with an access key only, not {auth!r}")
    with open(os.path.join(root, "secrets", pool, ".catalog.secret")) as f:
        secret = f.read()
    props = {
        "uri": settings["catalog_url"], "warehouse": settings["warehouse"],
        "s3.region": settings["region"], "client.region": settings["region"],
        "rest.sigv4-enabled": "true", "rest.signing-name": settings.get("signing_name", "glue"),
        "rest.signing-region": settings["region"],
        "client.access-key-id": auth["access_key_id"], "client.secret-access-key": secret,
    }
    if settings.get("s3_endpoint"):
        props["s3.endpoint"] = settings["s3_endpoint"]
    if settings.get("s3_path_style"):
        props["s3.path-style-access"] = "true"
    return RestCatalog("lakeport", **props), "rest"
