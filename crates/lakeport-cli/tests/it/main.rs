//! lakeport-cli's integration tests, one test binary: each module was a test binary of its own, and
//! every binary links the whole dependency graph again (8–10 s of a debug build each, a few
//! minutes of CI). nextest still runs every test in a process of its own.

mod common;
mod auth_methods;
mod catalog_down;
mod cli;
mod column_names;
mod crash;
mod rest_commit_unknown;
mod rest_pool;
mod rest_pool_oauth2;
mod runs;
mod secrets;
mod writers;
mod zero_copy;
mod zero_copy_living;
