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
use super::runs::{decode, hydrate, COLUMNS, TARGET};
use super::search::{self, Fragment};
use crate::tracking::{Page, Run, RunInfo, SearchRequest};
use crate::Result;

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

async fn fetch_infos(
    pool: &SqlitePool,
    sql: &str,
    args: SqliteArguments<'static>,
) -> Result<Vec<RunInfo>> {
    let rows = sqlx::query_with(sql, args).fetch_all(pool).await?;
    rows.iter().map(decode).collect()
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
    let offset = search::parse_page_token(request.page_token.as_deref())?;
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
    let infos = match request.search.order.split_first() {
        Some((first, rest)) if first.entity == Entity::Metric => {
            metric_ordered(pool, &common, first, rest, wanted, offset).await?
        }
        _ => {
            let order = search::compile_order(&TARGET, &request.search.order, TIE_BREAKERS)?;
            let sql = format!(
                "SELECT {COLUMNS} FROM runs r WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
                common.sql, order.sql
            );
            let mut args = SqliteArguments::default();
            common.bind(&mut args)?;
            order.bind_into(&mut args)?;
            add(&mut args, wanted)?;
            add(&mut args, offset)?;
            fetch_infos(pool, &sql, args).await?
        }
    };
    let next_page_token = search::next_page_token(offset, infos.len(), request.max_results);
    let page: Vec<RunInfo> = infos
        .into_iter()
        .take(request.max_results as usize)
        .collect();
    Ok(Page {
        items: hydrate(pool, page).await?,
        next_page_token,
    })
}

/// Runs ordered first by a metric: runs with a finite value in index order, then runs whose
/// value is NaN, then runs without the metric.
async fn metric_ordered(
    pool: &SqlitePool,
    common: &Common,
    first: &OrderKey,
    rest: &[OrderKey],
    wanted: i64,
    offset: i64,
) -> Result<Vec<RunInfo>> {
    let rest_order = search::compile_order(&TARGET, rest, TIE_BREAKERS)?;
    let direction = if first.ascending { "ASC" } else { "DESC" };
    // CROSS JOIN fixes the join order in SQLite: read the metric index, then look up runs.
    let with_metric = format!(
        "FROM run_latest_metrics o CROSS JOIN runs r WHERE o.key = ? AND o.is_nan = 0 \
         AND r.run_uuid = o.run_uuid AND {}",
        common.sql
    );
    let sql = format!(
        "SELECT {COLUMNS} {with_metric} ORDER BY o.value {direction}, {} LIMIT ? OFFSET ?",
        rest_order.sql
    );
    let mut args = SqliteArguments::default();
    add(&mut args, first.key.clone())?;
    common.bind(&mut args)?;
    rest_order.bind_into(&mut args)?;
    add(&mut args, wanted)?;
    add(&mut args, offset)?;
    let mut infos = fetch_infos(pool, &sql, args).await?;
    if infos.len() as i64 >= wanted {
        return Ok(infos);
    }
    // The page continues into the runs without a finite value; skip the part of the offset
    // that the runs with one used up.
    let with_count = if infos.is_empty() && offset > 0 {
        let mut args = SqliteArguments::default();
        add(&mut args, first.key.clone())?;
        common.bind(&mut args)?;
        let count: i64 = sqlx::query_scalar_with(&format!("SELECT COUNT(*) {with_metric}"), args)
            .fetch_one(pool)
            .await?;
        count
    } else {
        offset + infos.len() as i64
    };
    let rest_offset = (offset - with_count).max(0);
    let sql = format!(
        "SELECT {COLUMNS} FROM runs r WHERE {} AND NOT EXISTS (SELECT 1 FROM run_latest_metrics c \
         WHERE c.run_uuid = r.run_uuid AND c.key = ? AND c.is_nan = 0) \
         ORDER BY EXISTS (SELECT 1 FROM run_latest_metrics c WHERE c.run_uuid = r.run_uuid \
         AND c.key = ?) DESC, {} LIMIT ? OFFSET ?",
        common.sql, rest_order.sql
    );
    let mut args = SqliteArguments::default();
    common.bind(&mut args)?;
    add(&mut args, first.key.clone())?;
    add(&mut args, first.key.clone())?;
    rest_order.bind_into(&mut args)?;
    add(&mut args, wanted - infos.len() as i64)?;
    add(&mut args, rest_offset)?;
    infos.extend(fetch_infos(pool, &sql, args).await?);
    Ok(infos)
}
