//! lakeport-core's integration tests, one test binary: each module was a test binary of its own, and
//! every binary links the whole dependency graph again (8–10 s of a debug build each, a few
//! minutes of CI). nextest still runs every test in a process of its own.

mod runs;
mod saved_extractions;
mod stored_connections;
