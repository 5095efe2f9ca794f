use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::prelude::{SessionConfig, SessionContext};
use iceberg::Catalog;
use iceberg_datafusion::IcebergCatalogProvider;

use lakeport_pushdown::PushdownGuardCatalog;

use crate::{Pool, PoolError, QueryLimits, CATALOG_NAME};

/// The rows of a query, with their schema.
pub struct QueryResult {
    /// The result's columns (names as the query gives them, Arrow types).
    pub schema: SchemaRef,
    /// The rows, in the order the query returned them.
    pub batches: Vec<RecordBatch>,
    /// More rows than [`QueryLimits::max_rows`] came; `batches` holds the first `max_rows`.
    pub truncated: bool,
}

impl QueryResult {
    /// Rows in `batches`.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

impl Pool {
    /// A DataFusion session over the pool's own tables: they resolve unqualified (`SELECT … FROM
    /// events`), other pools' as `<pool>.<table>`. Built per call, because the Iceberg catalog
    /// provider snapshots the table list when it is created (so a table loaded a moment ago is
    /// seen). Filters reach the Iceberg scans only where they give the same rows as without
    /// pushdown ([`PushdownGuardCatalog`]); number literals compared with decimals keep their
    /// written value (`decimal_literals.rs`), for every table the session is given later too.
    ///
    /// lakeport-core's `session` adds the zero-copy shares to this one (as
    /// `<connection>.<namespace>.<table>`); that is the session the CLI and the server query.
    ///
    /// # Errors
    ///
    /// [`PoolError::Iceberg`] when the catalog's table list cannot be read.
    pub async fn session(&self) -> Result<SessionContext, PoolError> {
        let config = SessionConfig::new().with_default_catalog_and_schema(CATALOG_NAME, self.name()).with_information_schema(true);
        // Literals compared with decimals keep their written value (decimal_literals.rs).
        let state = datafusion::execution::session_state::SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_analyzer_rules(crate::decimal_literals::analyzer_rules())
            .build();
        let ctx = SessionContext::new_with_state(state);
        let catalog: Arc<dyn Catalog> = self.catalog()?;
        let provider = IcebergCatalogProvider::try_new(catalog).await?;
        ctx.register_catalog(CATALOG_NAME, Arc::new(PushdownGuardCatalog::new(Arc::new(provider))));
        Ok(ctx)
    }

    /// Runs one read-only SQL statement over the pool's own tables ([`Pool::session`]) with the
    /// default [`QueryLimits`] and collects its result (see [`Pool::query_with`]).
    ///
    /// # Errors
    ///
    /// As [`Pool::query_with`].
    pub async fn query(&self, sql: &str) -> Result<QueryResult, PoolError> {
        self.query_with(sql, &QueryLimits::default()).await
    }
}
