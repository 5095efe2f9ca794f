//! The source side of lakeport: an S3 (or S3-compatible) bucket.
//!
//! * [`S3Config`] and [`Secret`]: what a saved extraction connection holds (`Secret` and the
//!   signing, store, HTTP-policy and verdict primitives live in `lakeport-aws`).
//! * [`S3Source`]: lists (ListObjectsV2, keys exactly as stored), heads and reads objects (through
//!   `object_store`); read-only by construction: nothing in this crate issues a PUT, POST or DELETE
//!   to the bucket.
//! * [`probe`]: "Test Connection" — checks each permission the extraction mode needs, one by one.
#![warn(missing_docs)]

mod config;
mod error;
mod listing;
pub mod probe;
mod store;

pub use config::{S3Auth, S3Config, DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES};
pub use lakeport_aws::DEFAULT_SESSION_SECONDS;
pub use error::SourceError;
pub use lakeport_error::ErrorKind;
// The AWS layer's primitives, re-exported where they were first defined, so callers that name
// them through this crate keep compiling.
pub use lakeport_aws::{describe_reqwest_error, static_provider, xml_tag, Secret, SignedClient, SignedResponse};
pub use store::{ObjectInfo, S3Source, RANGED_READ_CHUNK};
