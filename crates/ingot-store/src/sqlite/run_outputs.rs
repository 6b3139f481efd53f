//! Run outputs (MLflow 3): the logged models a run produced, each at a step.

use std::collections::HashMap;

use sqlx::SqlitePool;

use super::begin_write;
use crate::tracking::{ModelOutput, Run, ACTIVE};
use crate::{Error, Result};

/// Records `outputs` on a live run in one transaction; a model logged again gets the new step.
pub(crate) async fn log(pool: &SqlitePool, run_id: &str, outputs: &[ModelOutput]) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let stage: Option<String> =
        sqlx::query_scalar("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?")
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?;
    match stage.as_deref() {
        None => return Err(Error::not_found("run", run_id)),
        Some(ACTIVE) => {}
        Some(stage) => {
            return Err(Error::Invalid {
                what: "run_id".to_string(),
                reason: format!(
                    "the run {run_id} must be in the 'active' state; current state is {stage}"
                ),
            })
        }
    }
    for output in outputs {
        if output.model_id.is_empty() {
            return Err(Error::Invalid {
                what: "models.model_id".to_string(),
                reason: "every output needs a model_id".to_string(),
            });
        }
        sqlx::query(
            "INSERT INTO run_outputs (run_uuid, model_id, step) VALUES (?, ?, ?) \
             ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step",
        )
        .bind(run_id)
        .bind(&output.model_id)
        .bind(output.step)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Loads the outputs of a page of runs (one query per 500 runs), by step then model id.
pub(crate) async fn fill(pool: &SqlitePool, runs: &mut [Run]) -> Result<()> {
    let index: HashMap<String, usize> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| (r.info.run_id.clone(), i))
        .collect();
    let ids: Vec<&String> = index.keys().collect();
    for chunk in ids.chunks(500) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let sql = format!(
            "SELECT run_uuid, model_id, step FROM run_outputs WHERE run_uuid IN ({marks}) \
             ORDER BY step, model_id"
        );
        let mut query = sqlx::query_as::<_, (String, String, i64)>(&sql);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        for (run_id, model_id, step) in query.fetch_all(pool).await? {
            if let Some(&i) = index.get(&run_id) {
                runs[i].outputs.push(ModelOutput { model_id, step });
            }
        }
    }
    Ok(())
}
