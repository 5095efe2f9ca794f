"""Changes an Iceberg table's schema the ways Iceberg allows, without writing data, through the
Glue-style Iceberg REST endpoint of the test server (ministack) with pyiceberg; and reads a table
as pyiceberg does, to compare with lakeport.

Usage:
  iceberg_evolve.py ENDPOINT create NAMESPACE TABLE   # id long, qty int, price float,
                                                     # amount decimal(9,2), note string; 2 snapshots
  iceberg_evolve.py ENDPOINT create-empty NAMESPACE TABLE  # id long; no snapshot
  iceberg_evolve.py ENDPOINT create-partitioned NAMESPACE TABLE  # id long, day date, ts
                                                     # timestamptz, amount decimal(12,2); partitioned
                                                     # by day (identity; the day() transform needs
                                                     # pyiceberg-core to write); 4 days, one append
                                                     # (one data file) each
  iceberg_evolve.py ENDPOINT evolve NAMESPACE TABLE STEP
      STEP: add | rename | widen-int | widen-float | widen-decimal | drop | reorder | optional
  iceberg_evolve.py ENDPOINT read NAMESPACE TABLE     # rows (ordered by id) as JSON: decimals
                                                     # as strings, nulls as null
  iceberg_evolve.py ENDPOINT drop-table NAMESPACE TABLE
  iceberg_evolve.py ENDPOINT drop-namespace NAMESPACE  # drops its tables first
Prints JSON (the schema after the change, or the rows).
"""
import decimal
import json
import sys

import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError
from pyiceberg.schema import Schema
from pyiceberg.types import (DecimalType, DoubleType, FloatType, IntegerType, LongType, NestedField,
                             StringType)

endpoint, action, namespace = sys.argv[1], sys.argv[2], sys.argv[3]
table_name = sys.argv[4] if len(sys.argv) > 4 else None
catalog = RestCatalog("fixture", **{
    "uri": f"{endpoint}/iceberg", "warehouse": "123456789012",
    "s3.endpoint": endpoint, "s3.path-style-access": "true", "s3.region": "us-east-1",
    "s3.access-key-id": "test", "s3.secret-access-key": "test",
    "rest.sigv4-enabled": "true", "rest.signing-name": "glue", "rest.signing-region": "us-east-1",
    "client.access-key-id": "test", "client.secret-access-key": "test", "client.region": "us-east-1",
})
ident = (namespace, table_name)


def ensure_namespace():
    try:
        catalog.create_namespace(namespace)
    except NamespaceAlreadyExistsError:
        pass


def schema_json(table):
    return [{"name": f.name, "type": str(f.field_type), "required": f.required} for f in table.schema().fields]


if action == "create-empty":
    ensure_namespace()
    table = catalog.create_table(ident, schema=Schema(NestedField(1, "id", LongType(), required=True)))
    print(json.dumps(schema_json(table)))
elif action == "create":
    ensure_namespace()
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "qty", IntegerType(), required=False),
        NestedField(3, "price", FloatType(), required=False),
        NestedField(4, "amount", DecimalType(9, 2), required=False),
        NestedField(5, "note", StringType(), required=True),
    )
    table = catalog.create_table(ident, schema=schema)
    arrow_schema = table.schema().as_arrow()
    for lo, hi in [(0, 50), (50, 100)]:
        table.append(pa.table({
            "id": pa.array(range(lo, hi), pa.int64()),
            "qty": pa.array([None if i % 7 == 0 else i * 1000 - 2_000_000_000 // (i + 1) for i in range(lo, hi)], pa.int32()),
            "price": pa.array([None if i % 11 == 0 else i * 1.1 for i in range(lo, hi)], pa.float32()),
            "amount": pa.array([None if i % 13 == 0 else decimal.Decimal(f"{i * 12345 - 600000}.{i % 100:02d}") for i in range(lo, hi)], pa.decimal128(9, 2)),
            "note": pa.array([f"note-{i}" for i in range(lo, hi)]),
        }, schema=arrow_schema))
    print(json.dumps(schema_json(table)))
elif action == "create-partitioned":
    import datetime
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import IdentityTransform
    from pyiceberg.types import DateType, TimestamptzType
    ensure_namespace()
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "day", DateType(), required=False),
        NestedField(3, "ts", TimestamptzType(), required=False),
        NestedField(4, "amount", DecimalType(12, 2), required=False),
    )
    spec = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="day"))
    table = catalog.create_table(ident, schema=schema, partition_spec=spec)
    arrow_schema = table.schema().as_arrow()
    utc = datetime.timezone.utc
    # Day d holds amounts d*100000.00 + i*1000.25 (i < 25): each day's file has its own range,
    # so column statistics prune as well as the day partition.
    for day in range(4):
        ids = range(day * 25, day * 25 + 25)
        table.append(pa.table({
            "id": pa.array(ids, pa.int64()),
            "day": pa.array([datetime.date(2024, 6, 1 + day)] * 25, pa.date32()),
            "ts": pa.array([datetime.datetime(2024, 6, 1 + day, i % 24, 30, tzinfo=utc) for i in range(25)], pa.timestamp("us", tz="UTC")),
            "amount": pa.array([None if i == 7 else decimal.Decimal(day * 100000) + decimal.Decimal("1000.25") * i for i in range(25)], pa.decimal128(12, 2)),
        }, schema=arrow_schema))
    print(json.dumps(schema_json(table)))
elif action == "evolve":
    step = sys.argv[5]
    table = catalog.load_table(ident)
    with table.update_schema() as u:
        if step == "add":
            u.add_column("extra", StringType(), doc="added without data")
        elif step == "rename":
            u.rename_column("note", "remark")
        elif step == "widen-int":
            u.update_column("qty", LongType())
        elif step == "widen-float":
            u.update_column("price", DoubleType())
        elif step == "widen-decimal":
            u.update_column("amount", DecimalType(18, 2))
        elif step == "drop":
            u.delete_column("extra")
        elif step == "reorder":
            u.move_first("amount")
        elif step == "optional":
            u.update_column("remark", required=False)
        else:
            sys.exit(f"unknown step {step}")
    table = catalog.load_table(ident)
    print(json.dumps(schema_json(table)))
elif action == "read":
    table = catalog.load_table(ident)
    rows = table.scan().to_arrow().sort_by("id").to_pylist()

    def plain(v):
        if isinstance(v, decimal.Decimal):
            return str(v)
        return v.isoformat() if hasattr(v, "isoformat") else v
    print(json.dumps([{k: plain(v) for k, v in r.items()} for r in rows]))
elif action in ("drop-table", "drop-namespace"):
    # The test server's Iceberg REST endpoint does not implement DROP (501); its catalog is the
    # Glue Data Catalog, so drop through the Glue API, as a data team's AWS tooling would.
    import boto3
    glue = boto3.client("glue", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")
    if action == "drop-table":
        glue.delete_table(DatabaseName=namespace, Name=table_name)
    else:
        for t in catalog.list_tables(namespace):
            glue.delete_table(DatabaseName=namespace, Name=t[-1])
        glue.delete_database(Name=namespace)
    print("{}")
else:
    sys.exit(f"unknown action {action}")
