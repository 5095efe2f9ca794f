use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::prelude::{SessionConfig, SessionContext};
use iceberg::Catalog;
use iceberg_datafusion::IcebergCatalogProvider;

use crate::{Pool, PoolError, CATALOG_NAME};

/// The rows of a query, with their schema.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

impl Pool {
    /// A DataFusion session over the pool: its tables resolve unqualified (`SELECT … FROM events`),
    /// other pools as `<pool>.<table>`. Built per call, because the Iceberg catalog provider
    /// snapshots the table list when it is created (so a table loaded a moment ago is seen).
    pub async fn session(&self) -> Result<SessionContext, PoolError> {
        let config = SessionConfig::new().with_default_catalog_and_schema(CATALOG_NAME, self.name()).with_information_schema(true);
        let ctx = SessionContext::new_with_config(config);
        let catalog: Arc<dyn Catalog> = self.catalog();
        let provider = IcebergCatalogProvider::try_new(catalog).await?;
        ctx.register_catalog(CATALOG_NAME, Arc::new(provider));
        Ok(ctx)
    }

    /// Runs one SQL statement and collects its result.
    pub async fn query(&self, sql: &str) -> Result<QueryResult, PoolError> {
        let ctx = self.session().await?;
        let df = ctx.sql(sql).await?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok(QueryResult { schema, batches })
    }
}
