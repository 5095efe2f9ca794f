use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use datafusion::prelude::{SessionConfig, SessionContext};
use iceberg::Catalog;
use iceberg_datafusion::IcebergCatalogProvider;

use lakeport_zerocopy::{PushdownGuardCatalog, RestCatalog, ZeroCopyCatalog};

use crate::{table_name_from, ConnectionConfig, Pool, PoolError, QueryLimits, CATALOG_NAME};

/// The rows of a query, with their schema.
pub struct QueryResult {
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// More rows than [`QueryLimits::max_rows`] came; `batches` holds the first `max_rows`.
    pub truncated: bool,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

impl Pool {
    /// A DataFusion session over the pool: its tables resolve unqualified (`SELECT … FROM events`),
    /// other pools as `<pool>.<table>`, and the shares of each zero-copy connection as
    /// `<connection>.<namespace>.<table>` (read in place at query time). Built per call, because the
    /// Iceberg catalog provider snapshots the table list when it is created (so a table loaded a
    /// moment ago is seen). Filters reach the Iceberg scans only where they give the same rows
    /// as without pushdown ([`PushdownGuardCatalog`]; zero-copy tables guard themselves).
    pub async fn session(&self) -> Result<SessionContext, PoolError> {
        let config = SessionConfig::new().with_default_catalog_and_schema(CATALOG_NAME, self.name()).with_information_schema(true);
        // Literals compared with decimals keep their written value (decimal_literals.rs).
        let state = datafusion::execution::session_state::SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_analyzer_rules(crate::decimal_literals::analyzer_rules())
            .build();
        let ctx = SessionContext::new_with_state(state);
        let catalog: Arc<dyn Catalog> = self.catalog();
        let provider = IcebergCatalogProvider::try_new(catalog).await?;
        ctx.register_catalog(CATALOG_NAME, Arc::new(PushdownGuardCatalog::new(Arc::new(provider))));
        for conn in self.connections().await? {
            let ConnectionConfig::ZeroCopy(zc) = &conn.config else { continue };
            let shares = self.shares(&conn.name).await?;
            if shares.is_empty() {
                continue;
            }
            // No network here: tables load when a query names them; a connection that cannot be
            // set up reports why only to the queries that use it.
            let client = self
                .connection_secret_opt(&conn.name)
                .map_err(|e| e.to_string())
                .and_then(|secret| RestCatalog::connect(zc, secret.as_ref()).map_err(|e| e.to_string()))
                .map(Arc::new)
                .map_err(|e| format!("zero-copy connection '{}': {e}", conn.name));
            let name = table_name_from(&conn.name)?;
            ctx.register_catalog(&name, Arc::new(ZeroCopyCatalog::new(client, &name, &shares)));
        }
        Ok(ctx)
    }

    /// Runs one read-only SQL statement with the default [`QueryLimits`] and collects its result
    /// (see [`Pool::query_with`]).
    pub async fn query(&self, sql: &str) -> Result<QueryResult, PoolError> {
        self.query_with(sql, &QueryLimits::default()).await
    }
}
