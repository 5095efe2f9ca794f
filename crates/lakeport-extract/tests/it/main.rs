//! lakeport-extract's integration tests, one test binary: each module was a test binary of its own, and
//! every binary links the whole dependency graph again (8–10 s of a debug build each, a few
//! minutes of CI). nextest still runs every test in a process of its own.

mod common;
mod corpus;
mod credential_refresh;
mod delta_ledger;
mod exact_values;
mod faults;
mod object_keys;
mod orchestration;
mod parquet_corpus;
mod parquet_points;
mod pushdown;
mod ranged_reads;
mod reader_corpus;
mod s3_extract;
mod schema_evolution;
