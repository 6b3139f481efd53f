//! Batch transform: a dataset version scored by a model version, split across worker threads,
//! written as a new dataset version (Parquet) of predictions, optionally joined with the input
//! columns. Scoring is the same `LoadedModel::predict` the endpoints run, so predictions equal
//! the real-time ones for the same rows.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field as ArrowField, Schema as ArrowSchema};
use bytes::Bytes;
use ingot_catalog::{LoadedModel, Predictions};
use ingot_core::records::TransformJob;
use ingot_core::{validate_name, JobStatus};

use crate::{Error, Platform, Result};

/// What a transform job is asked to do.
#[derive(Debug, Clone)]
pub struct TransformRequest {
    pub model: String,
    pub model_version: Option<i64>,
    pub dataset: String,
    pub dataset_version: Option<i64>,
    pub output_dataset: String,
    pub join_input: bool,
    pub workers: Option<usize>,
}

impl Platform {
    /// Records and starts a transform job; it runs in the background.
    pub async fn submit_transform(
        self: &Arc<Self>,
        request: TransformRequest,
    ) -> Result<TransformJob> {
        validate_name(&request.output_dataset)?;
        let model = self
            .store
            .model_version(&request.model, request.model_version)
            .await?;
        let dataset = self
            .store
            .dataset_version(&request.dataset, request.dataset_version)
            .await?;
        let workers = request
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, 64);
        let now = ingot_store::now_millis();
        let job = TransformJob {
            id: uuid::Uuid::new_v4().to_string(),
            model: model.model.clone(),
            model_version: model.version,
            dataset: dataset.dataset.clone(),
            dataset_version: dataset.version,
            output_dataset: request.output_dataset,
            output_version: None,
            join_input: request.join_input,
            workers: workers as i64,
            status: JobStatus::Running,
            failure_reason: None,
            rows: None,
            created_at: now,
            updated_at: now,
        };
        self.store.create_transform_job(&job).await?;
        let platform = self.clone();
        let running = job.clone();
        tokio::spawn(async move {
            let outcome = platform.run_transform(&running).await;
            let recorded = match outcome {
                Ok((version, rows)) => {
                    platform
                        .store
                        .finish_transform_job(
                            &running.id,
                            JobStatus::Completed,
                            Some(version),
                            Some(rows),
                            None,
                        )
                        .await
                }
                Err(e) => {
                    platform
                        .store
                        .finish_transform_job(
                            &running.id,
                            JobStatus::Failed,
                            None,
                            None,
                            Some(&e.message),
                        )
                        .await
                }
            };
            if let Err(e) = recorded {
                tracing::error!(job = %running.id, error = %e, "cannot record transform outcome");
            }
        });
        Ok(job)
    }

    /// One transform job.
    pub async fn transform_job(&self, id: &str) -> Result<TransformJob> {
        Ok(self.store.transform_job(id).await?)
    }

    /// Every transform job, newest first.
    pub async fn list_transform_jobs(&self) -> Result<Vec<TransformJob>> {
        Ok(self.store.list_transform_jobs().await?)
    }

    async fn run_transform(&self, job: &TransformJob) -> Result<(i64, i64)> {
        let model = self
            .store
            .model_version(&job.model, Some(job.model_version))
            .await?;
        let dataset = self
            .store
            .dataset_version(&job.dataset, Some(job.dataset_version))
            .await?;
        let model_bytes = self.artifacts.get(&model.artifact_hash).await?;
        let data_bytes = self.artifacts.get(&dataset.content_hash).await?;
        let format: ingot_data::DataFormat = dataset.format.parse()?;
        let workers = job.workers.max(1) as usize;
        let join = job.join_input;
        let (parquet, rows) = tokio::task::spawn_blocking(move || -> Result<(Vec<u8>, usize)> {
            let loaded = LoadedModel::from_bytes(&model_bytes)?;
            let table = ingot_data::read_table(&data_bytes, format)?;
            let output = transform_batch(&loaded, &table.batch, workers, join)?;
            Ok((ingot_data::write_parquet(&output)?, table.num_rows()))
        })
        .await??;
        let source = format!("transform job {}", job.id);
        let (version, _) = self
            .create_dataset(
                &job.output_dataset,
                Bytes::from(parquet),
                Some("parquet"),
                &source,
            )
            .await?;
        Ok((version.version, rows as i64))
    }
}

/// Scores `input` in `workers` contiguous slices in parallel and assembles the output table.
pub(crate) fn transform_batch(
    loaded: &LoadedModel,
    input: &RecordBatch,
    workers: usize,
    join_input: bool,
) -> Result<RecordBatch> {
    let rows = input.num_rows();
    let chunk = rows.div_ceil(workers.max(1)).max(1);
    let slices: Vec<(usize, usize)> = (0..rows)
        .step_by(chunk)
        .map(|start| (start, chunk.min(rows - start)))
        .collect();
    let parts: Vec<Result<Predictions>> = std::thread::scope(|scope| {
        let handles: Vec<_> = slices
            .iter()
            .map(|&(start, len)| {
                let slice = input.slice(start, len);
                scope.spawn(move || loaded.predict(&slice).map_err(Error::from))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::internal("a transform worker panicked")))
            })
            .collect()
    });
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    if join_input {
        for (field, column) in input.schema().fields().iter().zip(input.columns()) {
            columns.push((field.name().clone(), column.clone()));
        }
    }
    let parts = parts.into_iter().collect::<Result<Vec<_>>>()?;
    for (name, column) in prediction_columns(&parts) {
        let mut name = name;
        while columns.iter().any(|(n, _)| *n == name) {
            name = format!("{name}_pred");
        }
        columns.push((name, column));
    }
    let fields: Vec<ArrowField> = columns
        .iter()
        .map(|(name, column)| ArrowField::new(name, column.data_type().clone(), true))
        .collect();
    let arrays: Vec<ArrayRef> = columns.into_iter().map(|(_, c)| c).collect();
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), arrays)
        .map_err(|e| Error::internal(format!("cannot assemble transform output: {e}")))
}

/// The prediction columns of the concatenated parts.
fn prediction_columns(parts: &[Predictions]) -> Vec<(String, ArrayRef)> {
    let Some(first) = parts.first() else {
        return Vec::new();
    };
    let floats = |values: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(values)) };
    let gather = |width: usize, pick: &dyn Fn(&Predictions) -> &[f64], j: usize| -> ArrayRef {
        floats(
            parts
                .iter()
                .flat_map(|p| pick(p).chunks(width.max(1)).map(move |row| row[j]))
                .collect(),
        )
    };
    match first {
        Predictions::Regression { .. } => vec![(
            "prediction".into(),
            gather(
                1,
                &|p| match p {
                    Predictions::Regression { values } => values,
                    _ => &[],
                },
                0,
            ),
        )],
        Predictions::Classification { classes, .. } => {
            let labels: Vec<String> = parts
                .iter()
                .flat_map(|p| {
                    p.predicted_labels()
                        .unwrap_or_default()
                        .into_iter()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut out: Vec<(String, ArrayRef)> = vec![(
                "predicted_label".into(),
                Arc::new(StringArray::from(labels)) as ArrayRef,
            )];
            for (j, class) in classes.iter().enumerate() {
                out.push((
                    format!("probability_{class}"),
                    gather(
                        classes.len(),
                        &|p| match p {
                            Predictions::Classification { probabilities, .. } => probabilities,
                            _ => &[],
                        },
                        j,
                    ),
                ));
            }
            out
        }
        Predictions::Clustering { k, .. } => {
            let clusters: Vec<i64> = parts
                .iter()
                .flat_map(|p| match p {
                    Predictions::Clustering { clusters, .. } => {
                        clusters.iter().map(|c| *c as i64).collect::<Vec<_>>()
                    }
                    _ => Vec::new(),
                })
                .collect();
            let mut out: Vec<(String, ArrayRef)> = vec![(
                "cluster".into(),
                Arc::new(Int64Array::from(clusters)) as ArrayRef,
            )];
            for j in 0..*k {
                out.push((
                    format!("distance_{j}"),
                    gather(
                        *k,
                        &|p| match p {
                            Predictions::Clustering { distances, .. } => distances,
                            _ => &[],
                        },
                        j,
                    ),
                ));
            }
            out
        }
        Predictions::Projection { components, .. } => (0..*components)
            .map(|j| {
                (
                    format!("component_{j}"),
                    gather(
                        *components,
                        &|p| match p {
                            Predictions::Projection { values, .. } => values,
                            _ => &[],
                        },
                        j,
                    ),
                )
            })
            .collect(),
        Predictions::Anomaly { threshold, .. } => {
            let score = gather(
                1,
                &|p| match p {
                    Predictions::Anomaly { scores, .. } => scores,
                    _ => &[],
                },
                0,
            );
            let flags: BooleanArray = parts
                .iter()
                .flat_map(|p| match p {
                    Predictions::Anomaly { scores, .. } => scores
                        .iter()
                        .map(|s| Some(s > threshold))
                        .collect::<Vec<_>>(),
                    _ => Vec::new(),
                })
                .collect();
            vec![
                ("score".into(), score),
                ("is_anomaly".into(), Arc::new(flags) as ArrayRef),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prediction_columns_concatenate_parts_in_order() {
        let parts = vec![
            Predictions::Classification {
                classes: vec!["no".into(), "yes".into()],
                probabilities: vec![0.9, 0.1, 0.2, 0.8],
            },
            Predictions::Classification {
                classes: vec!["no".into(), "yes".into()],
                probabilities: vec![0.4, 0.6],
            },
        ];
        let columns = prediction_columns(&parts);
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["predicted_label", "probability_no", "probability_yes"]
        );
        let labels = columns[0].1.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            labels.iter().flatten().collect::<Vec<_>>(),
            ["no", "yes", "yes"]
        );
        let yes = columns[2]
            .1
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(yes.values(), &[0.1, 0.8, 0.6]);
    }
}
