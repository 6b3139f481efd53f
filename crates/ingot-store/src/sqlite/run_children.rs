//! Loads the metrics, params and tags of a page of runs in one query. Params and tags come as
//! one packed row per run and table instead of one row per value: with 100 runs of 20 params
//! that is 100 rows rather than 2,000, and each row costs the driver a copied value per column.
//! Metrics come as plain rows: packing them would make SQLite print every double as text with
//! enough digits to read back (`quote()`), which cost more than the rows it saved.
//!
//! Each packed child row is a run of length-prefixed fields, `<byte length>:<text>`, so keys
//! and values may contain any character.

use std::collections::HashMap;

use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, Row, SqlitePool};

use crate::tracking::{MetricPoint, Run};
use crate::{Error, Result};

/// `<byte length>:<text>` of an SQL expression.
fn field(expr: &str) -> String {
    format!("length(CAST({expr} AS BLOB)) || ':' || {expr}")
}

fn corrupt(reason: impl Into<String>) -> Error {
    Error::Corrupt {
        what: "run values".to_string(),
        reason: reason.into(),
    }
}

/// Splits packed fields off the front of a string.
struct Fields<'a> {
    rest: &'a str,
}

impl<'a> Fields<'a> {
    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn next(&mut self) -> Result<&'a str> {
        let colon = self
            .rest
            .find(':')
            .ok_or_else(|| corrupt("missing length"))?;
        let len: usize = self.rest[..colon]
            .parse()
            .map_err(|_| corrupt("bad length"))?;
        let start = colon + 1;
        let value = self
            .rest
            .get(start..start + len)
            .ok_or_else(|| corrupt("truncated field"))?;
        self.rest = &self.rest[start + len..];
        Ok(value)
    }
}

/// Fills `metrics`, `params` and `tags` of the runs, each sorted by key.
pub(crate) async fn load(pool: &SqlitePool, runs: &mut [Run], ids: &[String]) -> Result<()> {
    let index: HashMap<String, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.info.run_id.clone(), i))
        .collect();
    let mut found: Vec<(usize, i64, String)> = Vec::new();
    for chunk in ids.chunks(300) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let pair = [field("key"), field("value")].join(" || ");
        let sql = format!(
            "SELECT run_uuid, 0 AS kind, key, value, timestamp, step, is_nan \
             FROM run_latest_metrics WHERE run_uuid IN ({marks}) \
             UNION ALL SELECT run_uuid, 1, NULL, group_concat({pair}, ''), 0, 0, 0 \
             FROM run_params WHERE run_uuid IN ({marks}) GROUP BY run_uuid \
             UNION ALL SELECT run_uuid, 2, NULL, group_concat({pair}, ''), 0, 0, 0 \
             FROM run_tags WHERE run_uuid IN ({marks}) GROUP BY run_uuid"
        );
        let mut args = SqliteArguments::default();
        for _ in 0..3 {
            for id in chunk {
                args.add(id.as_str()).map_err(sqlx::Error::Encode)?;
            }
        }
        for row in sqlx::query_with(&sql, args).fetch_all(pool).await? {
            let run: &str = row.try_get(0)?;
            let Some(&i) = index.get(run) else {
                continue;
            };
            let kind: i64 = row.try_get(1)?;
            if kind == 0 {
                let is_nan: i64 = row.try_get(6)?;
                let value: f64 = row.try_get(3)?;
                runs[i].metrics.push(MetricPoint {
                    key: row.try_get(2)?,
                    value: if is_nan != 0 { f64::NAN } else { value },
                    timestamp: row.try_get(4)?,
                    step: row.try_get(5)?,
                });
            } else {
                found.push((i, kind, row.try_get(3)?));
            }
        }
    }
    for (i, kind, packed) in found {
        let run = &mut runs[i];
        let mut fields = Fields { rest: &packed };
        while !fields.is_empty() {
            let key = fields.next()?.to_string();
            let value = fields.next()?.to_string();
            if kind == 1 {
                run.params.push((key, value));
            } else {
                run.tags.push((key, value));
            }
        }
    }
    for run in runs.iter_mut() {
        run.metrics.sort_by(|a, b| a.key.cmp(&b.key));
        run.params.sort_by(|a, b| a.0.cmp(&b.0));
        run.tags.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(())
}
