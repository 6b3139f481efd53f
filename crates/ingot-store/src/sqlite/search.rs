//! Compiles a [`Search`] into a SQL `WHERE` fragment and `ORDER BY` list with bound parameters.
//!
//! Every clause on a metric, param, tag or dataset becomes one correlated `EXISTS` subquery on
//! an indexed child table, so a search never loads rows into memory to filter them. Values and
//! keys are always bound parameters; the only text spliced into SQL comes from the static
//! [`Target`] tables below, chosen by matching the canonical key, never from user input.

use ingot_core::search::{Clause, Entity, Op, OrderKey, Search, Value};
use sqlx::sqlite::SqliteArguments;
use sqlx::Arguments;

use super::keyset::{Nulls, Order, Term};
use crate::{Error, Result};

/// The type of an attribute column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Int,
    /// An integer column that may be NULL (sorted last, as MLflow does).
    NullableInt,
}

/// A child table holding key/value pairs of the searched record, aliased `c`:
/// `(table, condition joining c to the searched row)`.
pub(crate) type ChildTable = (&'static str, &'static str);

/// What can be searched for one record type.
pub(crate) struct Target {
    /// The searched record's key column, e.g. `r.run_uuid`.
    pub id: &'static str,
    /// Canonical attribute name → column expression and type.
    pub attributes: &'static [(&'static str, &'static str, Kind)],
    pub tags: Option<ChildTable>,
    pub params: Option<ChildTable>,
    /// Latest-metric table with `key`, `value`, `is_nan` columns.
    pub metrics: Option<ChildTable>,
    /// Whether `dataset.name` / `dataset.digest` clauses apply (runs only).
    pub datasets: bool,
    /// Whether `tags.k != 'v'` also matches records without the tag (MLflow's registry
    /// semantics, which its client relies on to hide prompts), rather than only records whose
    /// tag has another value (its tracking semantics).
    pub tag_ne_matches_missing: bool,
}

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Real(f64),
}

/// SQL text with its bound values, in placeholder order.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Fragment {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl Fragment {
    /// Appends the binds to sqlx arguments.
    pub(crate) fn bind_into(&self, args: &mut SqliteArguments<'static>) -> Result<()> {
        for bind in &self.binds {
            let added = match bind {
                Bind::Text(s) => args.add(s.clone()),
                Bind::Int(i) => args.add(*i),
                Bind::Real(f) => args.add(*f),
            };
            added.map_err(|e| Error::Invalid {
                what: "search".to_string(),
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::Invalid {
        what: "filter".to_string(),
        reason: reason.into(),
    }
}

/// `AND`-joined conditions (each starting with ` AND `), or an empty fragment.
pub(crate) fn compile_where(target: &Target, search: &Search) -> Result<Fragment> {
    let mut out = Fragment::default();
    // Equality clauses usually reject the most rows; SQLite evaluates conditions in order, so
    // testing them first saves the other subqueries for the rows that survive.
    let mut clauses: Vec<&Clause> = search.clauses.iter().collect();
    clauses.sort_by_key(|c| !matches!(c.op, Op::Eq | Op::In));
    for clause in clauses {
        out.sql.push_str(" AND ");
        compile_clause(target, clause, &mut out)?;
    }
    Ok(out)
}

fn attribute(target: &Target, key: &str) -> Result<(&'static str, Kind)> {
    target
        .attributes
        .iter()
        .find(|(name, _, _)| *name == key)
        .map(|(_, column, kind)| (*column, *kind))
        .ok_or_else(|| {
            let known: Vec<&str> = target.attributes.iter().map(|a| a.0).collect();
            invalid(format!(
                "unknown attribute {key:?}; valid attributes: {}",
                known.join(", ")
            ))
        })
}

fn compile_clause(target: &Target, clause: &Clause, out: &mut Fragment) -> Result<()> {
    match clause.entity {
        Entity::Attribute => {
            let (column, kind) = attribute(target, &clause.key)?;
            match kind {
                Kind::Text => string_condition(column, clause, out),
                Kind::Int | Kind::NullableInt => int_condition(column, clause, out),
            }
        }
        Entity::Tag | Entity::Param => {
            let (table, fk) = if clause.entity == Entity::Tag {
                target.tags
            } else {
                target.params
            }
            .ok_or_else(|| {
                invalid(format!(
                    "{:?} clauses are not supported here",
                    clause.entity
                ))
            })?;
            let prefix = format!("SELECT 1 FROM {table} c WHERE {fk} AND c.key = ?");
            if clause.entity == Entity::Tag && clause.op == Op::Ne && target.tag_ne_matches_missing
            {
                let Value::Str(value) = &clause.value else {
                    return Err(invalid(format!(
                        "tag {:?} needs a string value",
                        clause.key
                    )));
                };
                out.sql
                    .push_str(&format!("NOT EXISTS ({prefix} AND c.value = ?)"));
                out.binds.push(Bind::Text(clause.key.clone()));
                out.binds.push(Bind::Text(value.clone()));
                return Ok(());
            }
            match clause.op {
                Op::IsNull => out.sql.push_str(&format!("NOT EXISTS ({prefix})")),
                Op::IsNotNull => out.sql.push_str(&format!("EXISTS ({prefix})")),
                _ => out.sql.push_str(&format!("EXISTS ({prefix} AND ")),
            }
            out.binds.push(Bind::Text(clause.key.clone()));
            if !matches!(clause.op, Op::IsNull | Op::IsNotNull) {
                string_condition("c.value", clause, out)?;
                out.sql.push(')');
            }
            Ok(())
        }
        Entity::Metric => {
            let (table, fk) = target
                .metrics
                .ok_or_else(|| invalid("metric clauses are not supported here"))?;
            let Value::Num(number) = clause.value else {
                return Err(invalid(format!(
                    "metric {:?} must be compared with a number",
                    clause.key
                )));
            };
            let op = comparison(clause.op).ok_or_else(|| {
                invalid(format!(
                    "operator {:?} does not apply to metrics",
                    clause.op
                ))
            })?;
            out.sql.push_str(&format!(
                "EXISTS (SELECT 1 FROM {table} c WHERE {fk} AND c.key = ? \
                 AND c.is_nan = 0 AND c.value {op} ?)"
            ));
            out.binds.push(Bind::Text(clause.key.clone()));
            out.binds.push(Bind::Real(number));
            Ok(())
        }
        Entity::Dataset => {
            if !target.datasets {
                return Err(invalid("dataset clauses are not supported here"));
            }
            let column = match clause.key.as_str() {
                "name" => "d.name",
                "digest" => "d.digest",
                "context" => "i.tags_json",
                other => return Err(invalid(format!("unknown dataset attribute {other:?}"))),
            };
            out.sql.push_str(&format!(
                "EXISTS (SELECT 1 FROM run_inputs i JOIN datasets_tracked d \
                 ON d.dataset_uuid = i.dataset_uuid WHERE i.run_uuid = {} AND ",
                target.id
            ));
            if clause.key == "context" {
                // Context lives in the input tags as JSON; match the serialized pair exactly.
                let Value::Str(context) = &clause.value else {
                    return Err(invalid("dataset.context must be compared with a string"));
                };
                if clause.op != Op::Eq {
                    return Err(invalid("dataset.context supports only ="));
                }
                let needle = serde_json::to_string(&("mlflow.data.context", context))
                    .map_err(|e| invalid(e.to_string()))?;
                out.sql.push_str("instr(i.tags_json, ?) > 0)");
                out.binds.push(Bind::Text(needle));
                return Ok(());
            }
            string_condition(column, clause, out)?;
            out.sql.push(')');
            Ok(())
        }
    }
}

fn comparison(op: Op) -> Option<&'static str> {
    Some(match op {
        Op::Eq => "=",
        Op::Ne => "<>",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        _ => return None,
    })
}

/// Translates a LIKE pattern (`%`, `_`) into a case-sensitive GLOB pattern, escaping GLOB's own
/// metacharacters with brackets.
pub(crate) fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' | '?' | '[' | ']' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

fn string_condition(column: &str, clause: &Clause, out: &mut Fragment) -> Result<()> {
    let text = |v: &Value| match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Num(n) => Ok(n.to_string()),
        _ => Err(invalid(format!("{:?} needs a string value", clause.key))),
    };
    match clause.op {
        Op::Eq | Op::Ne => {
            out.sql.push_str(&format!(
                "{column} {} ?",
                comparison(clause.op).unwrap_or("=")
            ));
            out.binds.push(Bind::Text(text(&clause.value)?));
        }
        Op::Like => {
            out.sql.push_str(&format!("{column} GLOB ?"));
            out.binds
                .push(Bind::Text(like_to_glob(&text(&clause.value)?)));
        }
        Op::ILike => {
            out.sql.push_str(&format!("LOWER({column}) LIKE LOWER(?)"));
            out.binds.push(Bind::Text(text(&clause.value)?));
        }
        Op::In | Op::NotIn => {
            let Value::List(items) = &clause.value else {
                return Err(invalid(format!("{:?} IN needs a list", clause.key)));
            };
            if items.is_empty() {
                return Err(invalid(format!(
                    "{:?} IN needs a non-empty list",
                    clause.key
                )));
            }
            let marks = vec!["?"; items.len()].join(", ");
            let not = if clause.op == Op::NotIn { "NOT " } else { "" };
            out.sql.push_str(&format!("{column} {not}IN ({marks})"));
            out.binds.extend(items.iter().cloned().map(Bind::Text));
        }
        Op::IsNull => out.sql.push_str(&format!("{column} IS NULL")),
        Op::IsNotNull => out.sql.push_str(&format!("{column} IS NOT NULL")),
        op => {
            return Err(invalid(format!(
                "operator {op:?} does not apply to {:?}, a string",
                clause.key
            )))
        }
    }
    Ok(())
}

fn int_condition(column: &str, clause: &Clause, out: &mut Fragment) -> Result<()> {
    let number = |v: &Value| -> Result<i64> {
        match v {
            Value::Num(n) if n.fract() == 0.0 => Ok(*n as i64),
            Value::Str(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| invalid(format!("{:?} must be an integer, got {s:?}", clause.key))),
            _ => Err(invalid(format!("{:?} must be an integer", clause.key))),
        }
    };
    match clause.op {
        Op::In | Op::NotIn => {
            let Value::List(items) = &clause.value else {
                return Err(invalid(format!("{:?} IN needs a list", clause.key)));
            };
            if items.is_empty() {
                return Err(invalid(format!(
                    "{:?} IN needs a non-empty list",
                    clause.key
                )));
            }
            let marks = vec!["?"; items.len()].join(", ");
            let not = if clause.op == Op::NotIn { "NOT " } else { "" };
            out.sql.push_str(&format!("{column} {not}IN ({marks})"));
            for item in items {
                out.binds
                    .push(Bind::Int(number(&Value::Str(item.clone()))?));
            }
        }
        Op::IsNull => out.sql.push_str(&format!("{column} IS NULL")),
        Op::IsNotNull => out.sql.push_str(&format!("{column} IS NOT NULL")),
        op => {
            let sql_op = comparison(op).ok_or_else(|| {
                invalid(format!(
                    "operator {op:?} does not apply to {:?}, a number",
                    clause.key
                ))
            })?;
            out.sql.push_str(&format!("{column} {sql_op} ?"));
            out.binds.push(Bind::Int(number(&clause.value)?));
        }
    }
    Ok(())
}

/// `ORDER BY` terms for the requested keys (nulls last, as MLflow sorts), followed by the
/// given tie-breakers (NOT NULL columns) unless a key already orders on that column.
pub(crate) fn compile_order(
    target: &Target,
    order: &[OrderKey],
    tie_breakers: &[(&'static str, bool)],
) -> Result<Order> {
    let mut out = Order::default();
    let mut used_columns: Vec<&str> = Vec::new();
    for key in order {
        match key.entity {
            Entity::Attribute => {
                let (column, kind) = attribute(target, &key.key)?;
                // Only nullable columns get the nulls-last term: on NOT NULL columns it would
                // stop SQLite from reading an index in order.
                let nulls = match kind {
                    Kind::NullableInt => Nulls::Last,
                    Kind::Int => Nulls::Never,
                    Kind::Text => Nulls::Native,
                };
                out.terms.push(Term::column(column, key.ascending, nulls));
                used_columns.push(column);
            }
            Entity::Metric | Entity::Param | Entity::Tag => {
                let table = match key.entity {
                    Entity::Metric => target.metrics,
                    Entity::Param => target.params,
                    _ => target.tags,
                }
                .ok_or_else(|| invalid(format!("cannot order by {:?} here", key.entity)))?;
                let (table, fk) = table;
                let nan = if key.entity == Entity::Metric {
                    " AND c.is_nan = 0"
                } else {
                    ""
                };
                out.terms.push(Term {
                    expr: format!("(SELECT c.value FROM {table} c WHERE {fk} AND c.key = ?{nan})"),
                    binds: vec![Bind::Text(key.key.clone())],
                    ascending: key.ascending,
                    nulls: Nulls::Last,
                });
            }
            Entity::Dataset => return Err(invalid("cannot order by a dataset field")),
        }
    }
    for (column, ascending) in tie_breakers {
        if !used_columns.contains(column) {
            out.terms
                .push(Term::column(column, *ascending, Nulls::Never));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
