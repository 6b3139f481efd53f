//! Run search: filters compiled to one `EXISTS` per clause, orderings that let SQLite read an
//! index in order and stop at the page size.
//!
//! The default order (newest first) walks `runs_search_idx`. A search ordered first by a metric
//! walks `run_latest_metrics_key_idx` (key, value) in order and joins each run, so a top-k
//! query touches about k runs instead of sorting the experiment; runs whose metric is NaN or
//! missing follow, as in MLflow, from a second query that is only run when the first one does
//! not fill the page.

use ingot_core::search::{Entity, OrderKey};
use sqlx::sqlite::SqliteArguments;
use sqlx::{Arguments, SqlitePool};

use super::experiments::stage_condition;
use super::keyset::{self, Key, Nulls, Order, Term};
use super::runs::{decode, hydrate, COLUMNS, TARGET};
use super::search::{self, Bind, Fragment};
use crate::tracking::{Page, Run, RunInfo, SearchRequest};
use crate::{Error, Result};

/// Tie-breakers of every run ordering: newest first, then run id.
const TIE_BREAKERS: &[(&str, bool)] = &[("r.start_time", false), ("r.run_uuid", true)];

/// The WHERE conditions shared by every query of one search (after `WHERE`).
struct Common {
    sql: String,
    ids: Vec<i64>,
    filter: Fragment,
}

impl Common {
    fn bind(&self, args: &mut SqliteArguments<'static>) -> Result<()> {
        for id in &self.ids {
            args.add(*id).map_err(sqlx::Error::Encode)?;
        }
        self.filter.bind_into(args)
    }
}

fn add<T>(args: &mut SqliteArguments<'static>, value: T) -> Result<()>
where
    T: 'static + Send + sqlx::Encode<'static, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    args.add(value).map_err(sqlx::Error::Encode)?;
    Ok(())
}

pub(crate) async fn search(
    pool: &SqlitePool,
    experiment_ids: &[i64],
    request: &SearchRequest,
) -> Result<Page<Run>> {
    if experiment_ids.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_page_token: None,
        });
    }
    let filter = search::compile_where(&TARGET, &request.search)?;
    let query = keyset::fingerprint(&("runs", experiment_ids, request.view, &request.search));
    let cursor = keyset::decode(request.page_token.as_deref(), &query)?;
    let marks = vec!["?"; experiment_ids.len()].join(", ");
    let common = Common {
        sql: format!(
            "r.experiment_id IN ({marks}){}{}",
            stage_condition("r.lifecycle_stage", request.view),
            filter.sql
        ),
        ids: experiment_ids.to_vec(),
        filter,
    };
    let wanted = request.max_results + 1;
    let rows = match request.search.order.split_first() {
        Some((first, rest)) if first.entity == Entity::Metric => {
            metric_ordered(pool, &common, first, rest, wanted, cursor).await?
        }
        _ => {
            let order = search::compile_order(&TARGET, &request.search.order, TIE_BREAKERS)?;
            fetch(pool, &order, &common, None, cursor.as_deref(), wanted).await?
        }
    };
    let (infos, keys): (Vec<RunInfo>, Vec<Vec<Key>>) = rows.into_iter().unzip();
    let next_page_token = keyset::next_token(&query, &keys, request.max_results);
    let page: Vec<RunInfo> = infos
        .into_iter()
        .take(request.max_results as usize)
        .collect();
    Ok(Page {
        items: hydrate(pool, page).await?,
        next_page_token,
    })
}

/// Rows of `runs r` (joined to `source`, if given) matching `common` and sorting after
/// `cursor`, in `order`, each with its sort key.
async fn fetch(
    pool: &SqlitePool,
    order: &Order,
    common: &Common,
    source: Option<(&str, Fragment)>,
    cursor: Option<&[Key]>,
    limit: i64,
) -> Result<Vec<(RunInfo, Vec<Key>)>> {
    let after = order.after(cursor)?;
    let (select, by) = (order.select(), order.by());
    let (from, source_where) = source.unwrap_or(("FROM runs r WHERE ", Fragment::default()));
    let sql = format!(
        "SELECT {COLUMNS}{} {from}{}{}{} ORDER BY {} LIMIT ?",
        select.sql, source_where.sql, common.sql, after.sql, by.sql
    );
    let mut args = SqliteArguments::default();
    select.bind_into(&mut args)?;
    source_where.bind_into(&mut args)?;
    common.bind(&mut args)?;
    after.bind_into(&mut args)?;
    by.bind_into(&mut args)?;
    add(&mut args, limit)?;
    let rows = sqlx::query_with(&sql, args).fetch_all(pool).await?;
    rows.iter()
        .map(|row| Ok((decode(row)?, order.keys(row)?)))
        .collect()
}

/// Prepends the phase (0: finite metric, 1: NaN or missing) to every row's key.
fn in_phase(rows: Vec<(RunInfo, Vec<Key>)>, phase: i64) -> Vec<(RunInfo, Vec<Key>)> {
    rows.into_iter()
        .map(|(info, keys)| {
            let mut with_phase = Vec::with_capacity(keys.len() + 1);
            with_phase.push(Key::I(phase));
            with_phase.extend(keys);
            (info, with_phase)
        })
        .collect()
}

/// Runs ordered first by a metric: runs with a finite value in index order, then runs whose
/// value is NaN, then runs without the metric. The key of each row starts with its phase.
async fn metric_ordered(
    pool: &SqlitePool,
    common: &Common,
    first: &OrderKey,
    rest: &[OrderKey],
    wanted: i64,
    cursor: Option<Vec<Key>>,
) -> Result<Vec<(RunInfo, Vec<Key>)>> {
    let rest_order = search::compile_order(&TARGET, rest, TIE_BREAKERS)?;
    let (phase, cursor) = match cursor.as_deref() {
        None => (0, None),
        Some([Key::I(phase @ (0 | 1)), keys @ ..]) => (*phase, Some(keys)),
        Some(_) => {
            return Err(Error::Invalid {
                what: "page_token".to_string(),
                reason: "not a page token issued for this search".to_string(),
            })
        }
    };
    let mut rows = Vec::new();
    if phase == 0 {
        let mut order = Order {
            terms: vec![Term::column("o.value", first.ascending, Nulls::Never)],
        };
        order.terms.extend(rest_order.terms.iter().cloned());
        // CROSS JOIN fixes the join order in SQLite: read the metric index, then look up runs.
        let source = Fragment {
            sql: "o.key = ? AND o.is_nan = 0 AND r.run_uuid = o.run_uuid AND ".to_string(),
            binds: vec![Bind::Text(first.key.clone())],
        };
        let from = "FROM run_latest_metrics o CROSS JOIN runs r WHERE ";
        // Correlating the clauses with the index row rather than the run lets SQLite test
        // them before looking the run up, which most candidate rows then never need.
        let early = Common {
            sql: common
                .sql
                .replace("c.run_uuid = r.run_uuid", "c.run_uuid = o.run_uuid"),
            ids: common.ids.clone(),
            filter: common.filter.clone(),
        };
        rows = in_phase(
            fetch(pool, &order, &early, Some((from, source)), cursor, wanted).await?,
            0,
        );
        if rows.len() as i64 >= wanted {
            return Ok(rows);
        }
    }
    // The page continues into the runs without a finite value: NaN first, then missing.
    let mut order = Order {
        terms: vec![Term {
            // Parenthesized: `NOT` binds more loosely than the comparisons of the predicate.
            expr: "(NOT EXISTS (SELECT 1 FROM run_latest_metrics c WHERE c.run_uuid = r.run_uuid \
                   AND c.key = ?))"
                .to_string(),
            binds: vec![Bind::Text(first.key.clone())],
            ascending: true,
            nulls: Nulls::Never,
        }],
    };
    order.terms.extend(rest_order.terms);
    let source = Fragment {
        sql: "NOT EXISTS (SELECT 1 FROM run_latest_metrics c WHERE c.run_uuid = r.run_uuid \
              AND c.key = ? AND c.is_nan = 0) AND "
            .to_string(),
        binds: vec![Bind::Text(first.key.clone())],
    };
    let cursor = if phase == 1 { cursor } else { None };
    let more = fetch(
        pool,
        &order,
        common,
        Some(("FROM runs r WHERE ", source)),
        cursor,
        wanted - rows.len() as i64,
    )
    .await?;
    rows.extend(in_phase(more, 1));
    Ok(rows)
}
