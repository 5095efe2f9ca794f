//! Filter pushdown into the Iceberg scan that never changes or breaks a query.
//!
//! Fills a gap in iceberg-datafusion 0.10.1: its table providers answer `Inexact` for *every*
//! filter (`supports_filters_pushdown`), and its converter (`expr_to_predicate.rs`) turns what
//! it can into an Iceberg predicate, which the scan binds to the table schema and evaluates on
//! files and rows. "Inexact" makes DataFusion re-check the rows the scan keeps, but nothing
//! brings back rows the scan drops, and a predicate that does not bind fails the query. Seen
//! (crates/lakeport-extract/tests/it/pushdown.rs):
//!
//! * `IS [NOT] NULL` on a struct, list or map column, alone or inside `OR`/`AND`: Iceberg has
//!   accessors only for primitive fields ("Accessor for Field address not found");
//! * casts are dropped, so the column meets a literal of another type: `int_col < 4.5`,
//!   `CAST(dec AS DOUBLE) < 2.0`, `date_col < TIMESTAMP '…'` fail ("Can't convert datum from
//!   double type to int type");
//! * a `float` (Float32) column gets a `double` literal, which does not bind;
//! * `LIKE 'a\b%'`: DataFusion reads `\` as an escape (matches `ab…`), the converter keeps it as
//!   text: rows lost.
//!
//! [`PushdownGuard`] wraps any table provider and passes down only the filters the converter
//! translates *completely*, into a predicate that binds and keeps every row the filter keeps: a
//! tree of `AND`/`OR`/`NOT` over comparisons, `IN` lists, `IS [NOT] NULL`, prefix `LIKE` and
//! `isnan` on top-level primitive columns, with literals of the column's own type. (Completely:
//! the converter silently drops the parts of an `AND` it cannot convert, which is unsound under
//! a `NOT`.) Every other filter is reported `Unsupported`, so DataFusion keeps it in its own
//! `FilterExec`. [`PushdownGuardCatalog`] applies the guard to every table of a catalog whose
//! providers are built upstream (the pool's `IcebergCatalogProvider`).
//!
//! A crate of its own because both sides of a query need it and neither may depend on the
//! other: the pool wraps its Iceberg catalog in [`PushdownGuardCatalog`], and lakeport-zerocopy's
//! scan decides what it pushes down with [`is_pushable`].

#![warn(missing_docs)]

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{CatalogProvider, SchemaProvider, Session, TableProvider};
use datafusion::common::{Constraints, Statistics};
use datafusion::datasource::TableType;
use datafusion::error::Result;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::expr::{InList, ScalarFunction};
use datafusion::logical_expr::{BinaryExpr, Expr, Like, LogicalPlan, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::scalar::ScalarValue;

/// A table provider that hands the wrapped provider (an Iceberg one) only the filters that
/// [`is_pushable`] accepts; everything else about the table is the wrapped provider's.
#[derive(Debug)]
pub struct PushdownGuard {
    inner: Arc<dyn TableProvider>,
}

impl PushdownGuard {
    /// Wraps `inner`; the guard answers `supports_filters_pushdown` for it.
    pub fn new(inner: Arc<dyn TableProvider>) -> PushdownGuard {
        PushdownGuard { inner }
    }
}

#[async_trait]
impl TableProvider for PushdownGuard {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.inner.constraints()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn get_table_definition(&self) -> Option<&str> {
        self.inner.get_table_definition()
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        self.inner.get_logical_plan()
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.inner.get_column_default(column)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.inner.statistics()
    }

    /// Unsupported for filters [`is_pushable`] rejects; the wrapped provider's answer for the rest.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        let schema = self.inner.schema();
        let pushable: Vec<bool> = filters.iter().map(|f| is_pushable(f, &schema)).collect();
        let passed: Vec<&Expr> = filters.iter().zip(&pushable).filter(|(_, p)| **p).map(|(f, _)| *f).collect();
        let mut inner = self.inner.supports_filters_pushdown(&passed)?.into_iter();
        Ok(pushable
            .iter()
            .map(|p| {
                if *p {
                    inner.next().unwrap_or(TableProviderFilterPushDown::Unsupported)
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // DataFusion only passes filters reported pushable; filtering again keeps the converter
        // away from the others whichever way a scan is planned.
        let schema = self.inner.schema();
        let filters: Vec<Expr> = filters.iter().filter(|f| is_pushable(f, &schema)).cloned().collect();
        self.inner.scan(state, projection, &filters, limit).await
    }

    async fn insert_into(&self, state: &dyn Session, input: Arc<dyn ExecutionPlan>, insert_op: InsertOp) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.insert_into(state, input, insert_op).await
    }

    async fn delete_from(&self, state: &dyn Session, filters: Vec<Expr>) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.delete_from(state, filters).await
    }

    async fn update(&self, state: &dyn Session, assignments: Vec<(String, Expr)>, filters: Vec<Expr>) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.update(state, assignments, filters).await
    }

    async fn truncate(&self, state: &dyn Session) -> Result<Arc<dyn ExecutionPlan>> {
        self.inner.truncate(state).await
    }
}

/// Whether iceberg-datafusion 0.10.1's converter turns all of `filter` into an Iceberg predicate
/// that binds to the table and keeps every row `filter` keeps (DataFusion re-checks the rows).
/// `schema` is the table's Arrow schema as iceberg-datafusion builds it from the Iceberg schema.
pub fn is_pushable(filter: &Expr, schema: &Schema) -> bool {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::And | Operator::Or, right }) => {
            is_pushable(left, schema) && is_pushable(right, schema)
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq,
            right,
        }) => match (primitive_column(left, schema), primitive_column(right, schema)) {
            (Some(t), None) => literal_fits(right, t),
            (None, Some(t)) => literal_fits(left, t),
            _ => false,
        },
        Expr::Not(inner) => is_pushable(inner, schema),
        // A bare column is a boolean test; the converter makes it `col = true` (`false` under NOT).
        Expr::Column(_) => primitive_column(filter, schema) == Some(&DataType::Boolean),
        Expr::IsNull(e) | Expr::IsNotNull(e) => primitive_column(e, schema).is_some(),
        Expr::InList(InList { expr, list, .. }) => {
            primitive_column(expr, schema).is_some_and(|t| !list.is_empty() && list.iter().all(|l| literal_fits(l, t)))
        }
        // Only `LIKE 'prefix%'` becomes STARTS WITH. DataFusion's LIKE reads `\` as an escape
        // even without an ESCAPE clause, the converter does not, so a prefix with `\` stays here.
        Expr::Like(Like { expr, pattern, escape_char: None, case_insensitive: false, .. }) => {
            let prefix = match pattern.as_ref() {
                Expr::Literal(ScalarValue::Utf8(Some(p)) | ScalarValue::LargeUtf8(Some(p)), _) => p.strip_suffix('%'),
                _ => None,
            };
            prefix.is_some_and(|p| !p.contains(['%', '_', '\\'])) && primitive_column(expr, schema) == Some(&DataType::Utf8)
        }
        // `isnan(col)` binds as IS NAN; the converter's arithmetic forms are left to DataFusion.
        Expr::ScalarFunction(ScalarFunction { func, args }) if func.name() == "isnan" => {
            matches!(args.as_slice(), [a] if matches!(primitive_column(a, schema), Some(DataType::Float32 | DataType::Float64)))
        }
        _ => false,
    }
}

/// The type of `e` when it is a top-level column of a primitive type: Iceberg binds predicates
/// only to primitive fields (no accessor for structs, lists, maps); a struct field reaches here
/// as `get_field(…)`, never as a column.
fn primitive_column<'a>(e: &Expr, schema: &'a Schema) -> Option<&'a DataType> {
    let Expr::Column(c) = e else { return None };
    let t = schema.field_with_name(&c.name).ok()?.data_type();
    (!t.is_nested()).then_some(t)
}

/// Whether literal `e` converts to an Iceberg datum that binds to a column of type `column` with
/// the same value. Needs the literal's type to be the column's: DataFusion's type coercion makes
/// it so where that is lossless (`int_col = 4` gets an Int32 4), and otherwise casts the column,
/// which is then not a plain column. Left out: `float` (the converter makes a `double` datum,
/// which does not bind to a float field), decimal, time and fixed (the converter has no datum
/// for their literals), nanosecond timestamps (a `timestamp_ns` datum does not bind to
/// `timestamptz_ns`), NaN literals (Iceberg wants IS NAN) and NULL literals.
fn literal_fits(e: &Expr, column: &DataType) -> bool {
    let Expr::Literal(v, _) = e else { return false };
    match (column, v) {
        (DataType::Boolean, ScalarValue::Boolean(Some(_)))
        | (DataType::Int32, ScalarValue::Int32(Some(_)))
        | (DataType::Int64, ScalarValue::Int64(Some(_)))
        | (DataType::Date32, ScalarValue::Date32(Some(_)))
        | (DataType::Utf8, ScalarValue::Utf8(Some(_)) | ScalarValue::LargeUtf8(Some(_)))
        | (DataType::Binary | DataType::LargeBinary, ScalarValue::Binary(Some(_)) | ScalarValue::LargeBinary(Some(_))) => true,
        (DataType::Float64, ScalarValue::Float64(Some(x))) => !x.is_nan(),
        // Microseconds since the epoch (UTC for a zone), whatever zone name the literal carries;
        // with and without zone must not mix.
        (DataType::Timestamp(TimeUnit::Microsecond, column_zone), ScalarValue::TimestampMicrosecond(Some(_), zone)) => {
            column_zone.is_some() == zone.is_some()
        }
        _ => false,
    }
}

/// A catalog whose tables are all wrapped in [`PushdownGuard`].
#[derive(Debug)]
pub struct PushdownGuardCatalog {
    inner: Arc<dyn CatalogProvider>,
}

impl PushdownGuardCatalog {
    /// Wraps `inner`; each table it returns is wrapped in a [`PushdownGuard`].
    pub fn new(inner: Arc<dyn CatalogProvider>) -> PushdownGuardCatalog {
        PushdownGuardCatalog { inner }
    }
}

impl CatalogProvider for PushdownGuardCatalog {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema_names(&self) -> Vec<String> {
        self.inner.schema_names()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.inner.schema(name).map(|inner| Arc::new(PushdownGuardSchema { inner }) as Arc<dyn SchemaProvider>)
    }

    fn register_schema(&self, name: &str, schema: Arc<dyn SchemaProvider>) -> Result<Option<Arc<dyn SchemaProvider>>> {
        self.inner.register_schema(name, schema)
    }

    fn deregister_schema(&self, name: &str, cascade: bool) -> Result<Option<Arc<dyn SchemaProvider>>> {
        self.inner.deregister_schema(name, cascade)
    }
}

#[derive(Debug)]
struct PushdownGuardSchema {
    inner: Arc<dyn SchemaProvider>,
}

#[async_trait]
impl SchemaProvider for PushdownGuardSchema {
    fn owner_name(&self) -> Option<&str> {
        self.inner.owner_name()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(self.inner.table(name).await?.map(|t| Arc::new(PushdownGuard::new(t)) as Arc<dyn TableProvider>))
    }

    async fn table_type(&self, name: &str) -> Result<Option<TableType>> {
        self.inner.table_type(name).await
    }

    fn register_table(&self, name: String, table: Arc<dyn TableProvider>) -> Result<Option<Arc<dyn TableProvider>>> {
        self.inner.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        self.inner.deregister_table(name)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}
