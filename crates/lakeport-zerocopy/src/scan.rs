//! The table provider and scan of a zero-copy table: iceberg-datafusion 0.10.1's
//! `IcebergStaticTableProvider` with two additions it cannot take from outside (its scan's
//! constructor is crate-private):
//!
//! * **Decimal filters reach the Iceberg scan.** Its converter has no datum for decimal literals,
//!   so `amount > 50000.50` ran with `predicate:[]` (every file read). [`filter_predicate`] turns
//!   comparisons, `IN` lists and `BETWEEN` (which DataFusion rewrites to two comparisons) on a
//!   decimal column into Iceberg predicates with the literal at the column's own precision and
//!   scale — only when the literal is exactly representable there; otherwise the filter stays
//!   with DataFusion (no rounding into a different predicate). Everything else goes through the
//!   upstream converter under [`is_pushable`]'s rules.
//! * **Pruning is visible.** `EXPLAIN ANALYZE` shows, for each scan, the data files of the
//!   snapshot (`data_files_in_snapshot`), the files left after Iceberg's partition and column-
//!   statistics pruning and read (`data_files_scanned`), and the difference (`data_files_pruned`),
//!   beside `output_rows` and `bytes_scanned`.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties};
use datafusion::scalar::ScalarValue;
use futures::{StreamExt, TryStreamExt};
use iceberg::expr::{Predicate, Reference};
use iceberg::spec::{Datum, ManifestContentType, PrimitiveType, Type};
use iceberg::table::Table;
use iceberg_datafusion::physical_plan::convert_filters_to_predicate;

use crate::is_pushable;

fn df(e: iceberg::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// A zero-copy table at its current snapshot (read in the current schema) or at `snapshot_id`
/// (in that snapshot's schema).
#[derive(Debug)]
pub struct ZeroCopyTable {
    table: Table,
    snapshot_id: Option<i64>,
    schema: SchemaRef,
}

impl ZeroCopyTable {
    /// The provider of `table` at its current snapshot (`snapshot_id` `None`) or at `snapshot_id`,
    /// with that snapshot's Arrow schema.
    ///
    /// # Errors
    /// `DataFusionError::Plan` when the snapshot does not exist; `DataFusionError::External`
    /// (an iceberg error) when its schema is not in the metadata or has no Arrow equivalent.
    pub fn try_new(table: Table, snapshot_id: Option<i64>) -> Result<ZeroCopyTable> {
        let iceberg_schema = match snapshot_id {
            None => table.metadata().current_schema().clone(),
            Some(id) => {
                let snapshot = table.metadata().snapshot_by_id(id).ok_or_else(|| DataFusionError::Plan(format!("snapshot {id} does not exist")))?;
                snapshot.schema(table.metadata()).map_err(df)?
            }
        };
        let schema = Arc::new(iceberg::arrow::schema_to_arrow_schema(&iceberg_schema).map_err(df)?);
        Ok(ZeroCopyTable { table, snapshot_id, schema })
    }
}

#[async_trait]
impl TableProvider for ZeroCopyTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// Inexact (DataFusion re-checks the rows) for filters that become a complete Iceberg
    /// predicate, Unsupported (DataFusion alone filters) for the rest.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| if filter_predicate(f, &self.schema).is_some() { TableProviderFilterPushDown::Inexact } else { TableProviderFilterPushDown::Unsupported })
            .collect())
    }

    async fn scan(&self, _state: &dyn Session, projection: Option<&Vec<usize>>, filters: &[Expr], limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let predicate = filters.iter().filter_map(|f| filter_predicate(f, &self.schema)).reduce(Predicate::and);
        let output = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let columns = projection.map(|p| p.iter().map(|i| self.schema.field(*i).name().clone()).collect());
        Ok(Arc::new(ZeroCopyScan::new(self.table.clone(), self.snapshot_id, output, columns, predicate, limit)))
    }
}

/// The Iceberg predicate for all of `filter`, or `None` when some part of it cannot be given to
/// the scan without changing which rows it keeps.
pub fn filter_predicate(filter: &Expr, schema: &Schema) -> Option<Predicate> {
    // Without a decimal column, the upstream converter as the pool's own tables use it.
    let decimal = filter.column_refs().iter().any(|c| matches!(schema.field_with_name(&c.name).map(|f| f.data_type()), Ok(DataType::Decimal128(..))));
    if !decimal {
        return is_pushable(filter, schema).then(|| convert_filters_to_predicate(std::slice::from_ref(filter))).flatten();
    }
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::And, right }) => Some(filter_predicate(left, schema)?.and(filter_predicate(right, schema)?)),
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => Some(filter_predicate(left, schema)?.or(filter_predicate(right, schema)?)),
        Expr::Not(inner) => Some(!filter_predicate(inner, schema)?),
        _ if touches_decimal(filter, schema) => decimal_predicate(filter, schema),
        _ if is_pushable(filter, schema) => convert_filters_to_predicate(std::slice::from_ref(filter)),
        _ => None,
    }
}

fn touches_decimal(filter: &Expr, schema: &Schema) -> bool {
    let column = match filter {
        Expr::BinaryExpr(BinaryExpr { left, right, .. }) => decimal_column(left, schema).or_else(|| decimal_column(right, schema)),
        Expr::InList(InList { expr, .. }) => decimal_column(expr, schema),
        Expr::Between(b) => decimal_column(&b.expr, schema),
        _ => None,
    };
    column.is_some()
}

/// A top-level decimal column, bare or under a cast to a decimal that holds every value of it
/// (DataFusion widens both sides of a comparison to a common decimal type when the literal does
/// not fit the column's): its name, precision and scale.
fn decimal_column<'a>(e: &'a Expr, schema: &Schema) -> Option<(&'a str, u8, i8)> {
    let (Expr::Column(c), wider) = (match e {
        Expr::Cast(Cast { expr, data_type }) => (expr.as_ref(), Some(data_type)),
        other => (other, None),
    }) else {
        return None;
    };
    let DataType::Decimal128(p, s) = schema.field_with_name(&c.name).ok()?.data_type() else { return None };
    match wider {
        None => Some((c.name.as_str(), *p, *s)),
        // Value-preserving: at least as many digits before and after the point.
        Some(DataType::Decimal128(wp, ws)) if *ws >= *s && (*wp as i16 - *ws as i16) >= (*p as i16 - *s as i16) => Some((c.name.as_str(), *p, *s)),
        Some(_) => None,
    }
}

/// A literal as an Iceberg decimal datum of exactly the column's precision and scale, if it is
/// one exactly: integers and decimals of any scale whose value has no more fractional digits than
/// the column's scale and no more digits than its precision. Floats are left to DataFusion (their
/// decimal value is not the one written in the query).
fn decimal_datum(e: &Expr, precision: u8, scale: i8) -> Option<Datum> {
    let Expr::Literal(v, _) = e else { return None };
    let (mantissa, literal_scale): (i128, i8) = match v {
        ScalarValue::Decimal128(Some(m), _, s) => (*m, *s),
        ScalarValue::Int8(Some(i)) => (*i as i128, 0),
        ScalarValue::Int16(Some(i)) => (*i as i128, 0),
        ScalarValue::Int32(Some(i)) => (*i as i128, 0),
        ScalarValue::Int64(Some(i)) => (*i as i128, 0),
        ScalarValue::UInt8(Some(i)) => (*i as i128, 0),
        ScalarValue::UInt16(Some(i)) => (*i as i128, 0),
        ScalarValue::UInt32(Some(i)) => (*i as i128, 0),
        ScalarValue::UInt64(Some(i)) => (*i as i128, 0),
        _ => return None,
    };
    // Rescale to the column's scale without losing a digit.
    let at_scale = if literal_scale <= scale {
        mantissa.checked_mul(10i128.checked_pow((scale - literal_scale) as u32)?)?
    } else {
        let divisor = 10i128.checked_pow((literal_scale - scale) as u32)?;
        if mantissa % divisor != 0 {
            return None;
        }
        mantissa / divisor
    };
    if at_scale.unsigned_abs().checked_ilog10().map_or(1, |d| d + 1) > precision as u32 {
        return None;
    }
    let text = {
        let digits = at_scale.unsigned_abs().to_string();
        let s = scale.max(0) as usize;
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (int, frac) = padded.split_at(padded.len() - s);
        format!("{}{int}{}{frac}", if at_scale < 0 { "-" } else { "" }, if s > 0 { "." } else { "" })
    };
    // The datum at the column's type, so that binding it to the column cannot fail.
    let column_type = Type::Primitive(PrimitiveType::Decimal { precision: precision as u32, scale: scale.max(0) as u32 });
    let datum = Datum::decimal_from_str(&text).ok()?.to(&column_type).ok()?;
    (scale >= 0).then_some(datum)
}

/// Comparisons, `IN`, `BETWEEN` of a decimal column with literals, when every literal is exact
/// at the column's scale.
fn decimal_predicate(filter: &Expr, schema: &Schema) -> Option<Predicate> {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (column, literal, op) = match (decimal_column(left, schema), decimal_column(right, schema)) {
                (Some(c), None) => (c, right.as_ref(), *op),
                (None, Some(c)) => (c, left.as_ref(), op.swap()?),
                _ => return None,
            };
            let (name, p, s) = column;
            let datum = decimal_datum(literal, p, s)?;
            let r = Reference::new(name);
            Some(match op {
                Operator::Eq => r.equal_to(datum),
                Operator::NotEq => r.not_equal_to(datum),
                Operator::Lt => r.less_than(datum),
                Operator::LtEq => r.less_than_or_equal_to(datum),
                Operator::Gt => r.greater_than(datum),
                Operator::GtEq => r.greater_than_or_equal_to(datum),
                _ => return None,
            })
        }
        Expr::InList(InList { expr, list, negated }) if !list.is_empty() => {
            let (name, p, s) = decimal_column(expr, schema)?;
            let datums: Vec<Datum> = list.iter().map(|l| decimal_datum(l, p, s)).collect::<Option<_>>()?;
            let r = Reference::new(name);
            Some(if *negated { r.is_not_in(datums) } else { r.is_in(datums) })
        }
        Expr::Between(b) => {
            let (name, p, s) = decimal_column(&b.expr, schema)?;
            let (low, high) = (decimal_datum(&b.low, p, s)?, decimal_datum(&b.high, p, s)?);
            let inside = Reference::new(name).greater_than_or_equal_to(low).and(Reference::new(name).less_than_or_equal_to(high));
            Some(if b.negated { !inside } else { inside })
        }
        _ => None,
    }
}

/// The scan of one zero-copy table (one partition): plans the files with Iceberg (partition and
/// column-statistics pruning, deletes), counts them, and reads them with Iceberg's Arrow reader.
pub struct ZeroCopyScan {
    table: Table,
    snapshot_id: Option<i64>,
    columns: Option<Vec<String>>,
    predicate: Option<Predicate>,
    limit: Option<usize>,
    output: SchemaRef,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl fmt::Debug for ZeroCopyScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZeroCopyScan({})", self.table.identifier())
    }
}

impl ZeroCopyScan {
    fn new(table: Table, snapshot_id: Option<i64>, output: SchemaRef, columns: Option<Vec<String>>, predicate: Option<Predicate>, limit: Option<usize>) -> ZeroCopyScan {
        let properties = Arc::new(PlanProperties::new(EquivalenceProperties::new(output.clone()), Partitioning::UnknownPartitioning(1), EmissionType::Incremental, Boundedness::Bounded));
        ZeroCopyScan { table, snapshot_id, columns, predicate, limit, output, properties, metrics: ExecutionPlanMetricsSet::new() }
    }
}

impl DisplayAs for ZeroCopyScan {
    // As iceberg-datafusion's scan prints itself, so plans read the same.
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "IcebergTableScan projection:[{}] predicate:[{}]",
            self.columns.as_ref().map_or(String::new(), |c| c.join(",")),
            self.predicate.as_ref().map_or(String::new(), |p| p.to_string())
        )?;
        if let Some(limit) = self.limit {
            write!(f, " limit:[{limit}]")?;
        }
        Ok(())
    }
}

/// The data files of a snapshot, from its manifest list (added + existing files of the data
/// manifests); the snapshot summary's `total-data-files` when a manifest does not count them.
async fn data_files_in_snapshot(table: &Table, snapshot: &iceberg::spec::SnapshotRef) -> iceberg::Result<Option<u64>> {
    let list = table.manifest_list_reader(snapshot).load().await?;
    let mut total = 0u64;
    for m in list.entries().iter().filter(|m| m.content == ManifestContentType::Data) {
        match (m.added_files_count, m.existing_files_count) {
            (Some(a), Some(e)) => total += a as u64 + e as u64,
            _ => return Ok(snapshot.summary().additional_properties.get("total-data-files").and_then(|v| v.parse().ok())),
        }
    }
    Ok(Some(total))
}

impl ExecutionPlan for ZeroCopyScan {
    fn name(&self) -> &str {
        "IcebergTableScan"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(self: Arc<Self>, _children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        let in_snapshot = MetricBuilder::new(&self.metrics).global_counter("data_files_in_snapshot");
        let scanned = MetricBuilder::new(&self.metrics).global_counter("data_files_scanned");
        let pruned = MetricBuilder::new(&self.metrics).global_counter("data_files_pruned");
        let bytes = MetricBuilder::new(&self.metrics).global_gauge("bytes_scanned");
        let output_rows = MetricBuilder::new(&self.metrics).output_rows(partition);
        let (table, snapshot_id, columns, predicate) = (self.table.clone(), self.snapshot_id, self.columns.clone(), self.predicate.clone());
        let batches = async move {
            let builder = match snapshot_id {
                Some(id) => table.scan().snapshot_id(id),
                None => table.scan(),
            };
            let mut builder = match columns {
                Some(c) => builder.select(c),
                None => builder.select_all(),
            };
            if let Some(p) = predicate {
                builder = builder.with_filter(p);
            }
            let scan = builder.build().map_err(df)?;
            let Some(snapshot) = scan.snapshot().cloned() else {
                // No snapshot yet: an empty table.
                return Ok(futures::stream::empty().boxed());
            };
            let tasks: Vec<_> = scan.plan_files().await.map_err(df)?.try_collect().await.map_err(df)?;
            let total = data_files_in_snapshot(&table, &snapshot).await.map_err(df)?;
            scanned.add(tasks.len());
            if let Some(total) = total {
                in_snapshot.add(total as usize);
                pruned.add((total as usize).saturating_sub(tasks.len()));
            }
            let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
            let read = table
                .reader_builder()
                .with_data_file_concurrency_limit(parallel)
                .with_row_group_filtering_enabled(true)
                .build()
                .read(futures::stream::iter(tasks.into_iter().map(Ok)).boxed())
                .map_err(df)?;
            let scan_metrics = read.metrics().clone();
            let stream = read.stream().map_err(df).inspect(move |_| {
                bytes.set(scan_metrics.bytes_read() as usize);
            });
            Ok::<_, DataFusionError>(stream.boxed())
        };
        let mut remaining = self.limit;
        let stream = futures::stream::once(batches).try_flatten().try_filter_map(move |batch| {
            // A LIMIT stops the scan once enough rows came (DataFusion stops pulling too).
            let out = match &mut remaining {
                None => Some(batch),
                Some(0) => None,
                Some(r) if batch.num_rows() <= *r => {
                    *r -= batch.num_rows();
                    Some(batch)
                }
                Some(r) => {
                    let b = batch.slice(0, *r);
                    *r = 0;
                    Some(b)
                }
            };
            if let Some(b) = &out {
                output_rows.add(b.num_rows());
            }
            futures::future::ready(Ok(out))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.output.clone(), stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;
    use datafusion::prelude::{col, lit};

    fn schema() -> Schema {
        Schema::new(vec![Field::new("amount", DataType::Decimal128(9, 2), true), Field::new("id", DataType::Int64, false)])
    }

    fn dec(m: i128, p: u8, s: i8) -> Expr {
        lit(ScalarValue::Decimal128(Some(m), p, s))
    }

    #[test]
    fn decimal_literals_are_pushed_only_when_exact_at_the_column_scale() {
        let s = schema();
        let p = |e: Expr| filter_predicate(&e, &s).map(|p| p.to_string());
        assert_eq!(p(col("amount").gt(dec(5000050, 9, 2))).as_deref(), Some("amount > 50000.50"));
        // Another scale, exact: rescaled; an integer literal: scaled up.
        assert_eq!(p(col("amount").gt(dec(500005000, 12, 4))).as_deref(), Some("amount > 50000.50"));
        assert_eq!(p(col("amount").lt_eq(lit(7i64))).as_deref(), Some("amount <= 7.00"));
        assert_eq!(p(dec(-5, 9, 2).lt(col("amount"))).as_deref(), Some("amount > -0.05"));
        // Not exact at scale 2 (50000.505), too many digits for precision 9, a float: not pushed.
        assert_eq!(p(col("amount").gt(dec(50000505, 10, 3))), None);
        assert_eq!(p(col("amount").gt(dec(123456789012, 12, 0))), None);
        assert_eq!(p(col("amount").gt(lit(1.5f64))), None);
        // Under a widening cast (what DataFusion leaves when the literal does not fit): same rules.
        let wide = Expr::Cast(Cast::new(Box::new(col("amount")), DataType::Decimal128(30, 15)));
        assert_eq!(p(wide.clone().gt(dec(50000_500000000000000, 30, 15))).as_deref(), Some("amount > 50000.50"));
        assert_eq!(p(wide.gt(dec(50000_505000000000000, 30, 15))), None);
        // IN, NOT IN, BETWEEN, inside AND/OR/NOT with other columns.
        assert_eq!(p(col("amount").in_list(vec![dec(100, 9, 2), lit(3i64)], false)).as_deref(), Some("amount IN (1.00, 3.00)"));
        assert_eq!(p(col("amount").in_list(vec![dec(100, 9, 2), dec(1001, 9, 3)], false)), None, "one inexact member keeps the whole list out");
        assert!(p(col("amount").between(dec(100, 9, 2), dec(200, 9, 2))).is_some());
        assert!(p(col("amount").gt(dec(1, 9, 2)).and(col("id").eq(lit(3i64)))).is_some());
        assert_eq!(p(col("amount").gt(dec(1, 9, 2)).or(col("id").eq(lit(3i32)))), None, "an Int32 literal does not bind to a long column");
        assert!(p(Expr::Not(Box::new(col("amount").gt(dec(1, 9, 2))))).is_some());
    }
}
