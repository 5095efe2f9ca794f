//! Number literals compared with a decimal column keep the value written in the query.
//!
//! DataFusion 53 parses `201000.25` as a Float64 and, compared with a decimal column, casts that
//! double to the common decimal type (Decimal128(30, 15)): 201000.249999999991808, so
//! `amount = 201000.25` found no row. (Parsing every such literal as a decimal —
//! `parse_float_as_decimal` — breaks float columns instead: they are then cast to a decimal, and
//! a NaN makes the query fail.) This analyzer rule runs before type coercion and replaces a
//! Float64 literal compared with (`=`, `<>`, `<`, `<=`, `>`, `>=`, `IN`, `BETWEEN`) a decimal
//! expression by the decimal with the literal's shortest round-trip digits (`201000.25`), which is
//! the number written in the query for every literal of up to 15 significant digits. Literals
//! that do not fit 38 digits, NaN and infinities are left as they are.

use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::AnalyzerRule;
use datafusion::scalar::ScalarValue;

/// The analyzer rule of the module doc (DataFusion `AnalyzerRule`, named `exact_decimal_literals`).
#[derive(Debug, Default)]
pub struct ExactDecimalLiterals;

impl AnalyzerRule for ExactDecimalLiterals {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|plan| {
            // The expressions of a node refer to its inputs' columns.
            let inputs = plan.inputs();
            let schema = match inputs.as_slice() {
                [one] => one.schema().as_ref().clone(),
                [left, right] => {
                    let mut s = left.schema().as_ref().clone();
                    s.merge(right.schema());
                    s
                }
                _ => return Ok(Transformed::no(plan)),
            };
            plan.map_expressions(|e| e.transform_up(|e| rewrite(e, &schema)))
        })
        .data()
    }

    fn name(&self) -> &str {
        "exact_decimal_literals"
    }
}

fn is_decimal(e: &Expr, schema: &DFSchema) -> bool {
    matches!(e.get_type(schema), Ok(DataType::Decimal128(..) | DataType::Decimal256(..)))
}

/// A Float64 literal as the decimal of its shortest round-trip digits.
fn exact(e: &Expr) -> Option<Expr> {
    let Expr::Literal(ScalarValue::Float64(Some(v)), meta) = e else { return None };
    if !v.is_finite() {
        return None;
    }
    // Rust prints the shortest digits that read back as the same double, never an exponent.
    let text = format!("{v}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = format!("{}{frac}", int.trim_start_matches('-'));
    let significant = digits.trim_start_matches('0').len().max(1);
    if significant > 38 || frac.len() > 38 {
        return None;
    }
    let mantissa: i128 = format!("{}{digits}", if v.is_sign_negative() && *v != 0.0 { "-" } else { "" }).parse().ok()?;
    let scale = frac.len() as i8;
    let precision = (significant.max(scale as usize + 1)).min(38) as u8;
    Some(Expr::Literal(ScalarValue::Decimal128(Some(mantissa), precision, scale), meta.clone()))
}

fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    Ok(match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(op, Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq) =>
        {
            let (l, r) = match (exact(&left), exact(&right)) {
                (None, Some(r)) if is_decimal(&left, schema) => (left, Box::new(r)),
                (Some(l), None) if is_decimal(&right, schema) => (Box::new(l), right),
                _ => return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr { left, op, right }))),
            };
            Transformed::yes(Expr::BinaryExpr(BinaryExpr { left: l, op, right: r }))
        }
        Expr::InList(InList { expr, list, negated }) if is_decimal(&expr, schema) && list.iter().any(|l| exact(l).is_some()) => {
            let list = list.into_iter().map(|l| exact(&l).unwrap_or(l)).collect();
            Transformed::yes(Expr::InList(InList { expr, list, negated }))
        }
        Expr::Between(Between { expr, negated, low, high }) if is_decimal(&expr, schema) && (exact(&low).is_some() || exact(&high).is_some()) => {
            let low = Box::new(exact(&low).unwrap_or(*low));
            let high = Box::new(exact(&high).unwrap_or(*high));
            Transformed::yes(Expr::Between(Between { expr, negated, low, high }))
        }
        other => Transformed::no(other),
    })
}

/// DataFusion's analyzer rules with [`ExactDecimalLiterals`] first (before type coercion).
pub(crate) fn analyzer_rules() -> Vec<Arc<dyn AnalyzerRule + Send + Sync>> {
    let mut rules = datafusion::optimizer::Analyzer::new().rules;
    rules.insert(0, Arc::new(ExactDecimalLiterals));
    rules
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::lit;

    #[test]
    fn floats_become_their_written_decimal() {
        let d = |v: f64| match exact(&lit(v)) {
            Some(Expr::Literal(ScalarValue::Decimal128(Some(m), p, s), _)) => Some((m, p, s)),
            _ => None,
        };
        assert_eq!(d(201000.25), Some((20100025, 8, 2)));
        assert_eq!(d(-0.05), Some((-5, 3, 2)));
        assert_eq!(d(0.1), Some((1, 2, 1)));
        assert_eq!(d(7.0), Some((7, 1, 0)));
        assert_eq!(d(1e300), None);
        assert_eq!(d(f64::NAN), None);
    }
}
