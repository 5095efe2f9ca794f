//! Zero-copy's view of the AWS layer's Iceberg FileIO over object_store
//! (`lakeport_aws::s3_file_io`): read-only, with the connection's S3 settings.

use lakeport_aws::{AwsCredentialProvider, S3IoSettings};
use object_store::ObjectStore;
use std::sync::Arc;

use crate::ZeroCopyConfig;

fn settings(config: &ZeroCopyConfig, credentials: AwsCredentialProvider) -> S3IoSettings {
    S3IoSettings {
        region: config.region.clone(),
        endpoint: config.s3_endpoint.clone(),
        path_style: config.s3_path_style,
        http: config.http_policy(),
        max_retries: lakeport_source::DEFAULT_MAX_RETRIES,
        credentials,
        writable: false,
    }
}

/// The store of one bucket a zero-copy connection reads (Test Connection's listing).
pub(crate) fn store_for(
    config: &ZeroCopyConfig,
    bucket: &str,
    credentials: AwsCredentialProvider,
) -> Result<Arc<dyn ObjectStore>, lakeport_aws::AwsError> {
    settings(config, credentials).store(bucket)
}

/// A FileIO that reads `s3://` paths through object_store with the given credentials; writes are
/// refused (zero-copy never writes to the source).
pub fn file_io(config: &ZeroCopyConfig, credentials: AwsCredentialProvider) -> iceberg::io::FileIO {
    lakeport_aws::s3_file_io(settings(config, credentials))
}
