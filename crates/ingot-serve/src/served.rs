//! A served model: one loaded model, or an inference pipeline of several where each step's
//! predictions become the next step's input columns. Also slicing predictions back into the
//! per-request pieces of a dynamically batched call.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema};
use ingot_catalog::{LoadedModel, Predictions};
use ingot_core::Schema;

use crate::replica::ResolvedModel;
use crate::{Error, Result};

/// A loaded pipeline, first step first. A plain model is a one-step pipeline.
pub struct Served {
    steps: Vec<(ResolvedModel, LoadedModel)>,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .steps
            .iter()
            .map(|(m, _)| format!("{}:{}", m.model, m.version))
            .collect();
        f.debug_struct("Served").field("steps", &names).finish()
    }
}

impl Served {
    /// Decodes every step's model file (CPU work: call from a blocking context).
    pub fn decode(steps: Vec<(ResolvedModel, Vec<u8>)>) -> Result<Served> {
        if steps.is_empty() {
            return Err(Error::BadConfig(
                "a served pipeline needs at least one step".into(),
            ));
        }
        let steps = steps
            .into_iter()
            .map(|(model, bytes)| {
                let loaded = LoadedModel::from_bytes(&bytes).map_err(|e| {
                    Error::BadConfig(format!("model {}:{}: {e}", model.model, model.version))
                })?;
                Ok((model, loaded))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Served { steps })
    }

    /// The columns clients send: the first step's input schema.
    pub fn input_schema(&self) -> &Schema {
        &self.steps[0].1.manifest.input_schema
    }

    /// Number of pipeline steps.
    pub fn steps(&self) -> usize {
        self.steps.len()
    }

    /// The model that answers: the last step.
    pub fn answering(&self) -> &ResolvedModel {
        &self.steps[self.steps.len() - 1].0
    }

    /// The last step's loaded model (task, classes, output names).
    pub fn last(&self) -> &LoadedModel {
        &self.steps[self.steps.len() - 1].1
    }

    /// Runs the pipeline on a batch already conformed to [`Served::input_schema`].
    pub fn predict(&self, batch: &RecordBatch) -> Result<Predictions> {
        let mut current = batch.clone();
        let last = self.steps.len() - 1;
        for (i, (model, loaded)) in self.steps.iter().enumerate() {
            let predictions = loaded.predict(&current).map_err(|e| {
                if self.steps.len() > 1 {
                    Error::BadBody(format!(
                        "pipeline step {} ({}:{}): {e}",
                        i + 1,
                        model.model,
                        model.version
                    ))
                } else {
                    Error::Model(e)
                }
            })?;
            if i == last {
                return Ok(predictions);
            }
            current = as_next_input(&predictions, &self.steps[i + 1].1.manifest.input_schema)?;
        }
        unreachable!("a pipeline has at least one step")
    }

    /// Whether [`Served::predict_dense`] answers: the pipeline is one model reading dense rows
    /// (see [`LoadedModel::reads_dense_rows`]).
    pub fn reads_dense_rows(&self) -> bool {
        self.steps.len() == 1 && self.steps[0].1.reads_dense_rows()
    }

    /// The pipeline's predictions for rows read by [`ingot_data::read_csv_dense`] against
    /// [`Served::input_schema`]: those [`Served::predict`] gives for the same rows as a batch.
    pub fn predict_dense(&self, rows: &ingot_data::DenseRows) -> Result<Predictions> {
        let answer = match self.steps.as_slice() {
            [(_, loaded)] => loaded.predict_dense(&rows.values, rows.rows),
            _ => None,
        };
        answer
            .ok_or_else(|| Error::Internal("this pipeline does not read dense rows".into()))?
            .map_err(Error::Model)
    }
}

/// Turns one step's predictions into the next step's input: output columns are matched to
/// the next schema by name, or by position when the counts agree.
fn as_next_input(predictions: &Predictions, next: &Schema) -> Result<RecordBatch> {
    let (names, values, width) = output_columns(predictions);
    let rows = predictions.len();
    let by_name = next.fields.iter().all(|f| names.contains(&f.name));
    if !by_name && names.len() != next.len() {
        return Err(Error::BadConfig(format!(
            "pipeline step outputs {} columns ({}) but the next step expects {} ({})",
            names.len(),
            names.join(", "),
            next.len(),
            next.fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut fields = Vec::with_capacity(next.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(next.len());
    for (position, field) in next.fields.iter().enumerate() {
        let index = if by_name {
            names
                .iter()
                .position(|n| *n == field.name)
                .unwrap_or(position)
        } else {
            position
        };
        let column: Float64Array = (0..rows).map(|r| Some(values[r * width + index])).collect();
        fields.push(ArrowField::new(&field.name, DataType::Float64, true));
        columns.push(Arc::new(column));
    }
    let batch = RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns)
        .map_err(|e| Error::BadConfig(format!("pipeline step output: {e}")))?;
    Ok(ingot_data::conform_batch(&batch, next)?)
}

/// Named numeric output columns of a prediction, row-major.
fn output_columns(predictions: &Predictions) -> (Vec<String>, Vec<f64>, usize) {
    match predictions {
        Predictions::Regression { values } => (vec!["prediction".into()], values.clone(), 1),
        Predictions::Classification {
            classes,
            probabilities,
        } => (classes.clone(), probabilities.clone(), classes.len()),
        Predictions::Clustering { k, distances, .. } => (
            (0..*k).map(|j| format!("distance_{j}")).collect(),
            distances.clone(),
            *k,
        ),
        Predictions::Projection { components, values } => (
            (0..*components).map(|j| format!("component_{j}")).collect(),
            values.clone(),
            *components,
        ),
        Predictions::Anomaly { scores, .. } => (vec!["score".into()], scores.clone(), 1),
    }
}

/// Rows `start..start + len` of a prediction (the share of one request in a batched call).
pub fn slice_predictions(predictions: &Predictions, start: usize, len: usize) -> Predictions {
    let rows = |values: &[f64], width: usize| values[start * width..(start + len) * width].to_vec();
    match predictions {
        Predictions::Regression { values } => Predictions::Regression {
            values: rows(values, 1),
        },
        Predictions::Classification {
            classes,
            probabilities,
        } => Predictions::Classification {
            classes: classes.clone(),
            probabilities: rows(probabilities, classes.len()),
        },
        Predictions::Clustering {
            k,
            clusters,
            distances,
        } => Predictions::Clustering {
            k: *k,
            clusters: clusters[start..start + len].to_vec(),
            distances: rows(distances, *k),
        },
        Predictions::Projection { components, values } => Predictions::Projection {
            components: *components,
            values: rows(values, *components),
        },
        Predictions::Anomaly { scores, threshold } => Predictions::Anomaly {
            scores: rows(scores, 1),
            threshold: *threshold,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slicing_keeps_row_widths() {
        let p = Predictions::Classification {
            classes: vec!["a".into(), "b".into()],
            probabilities: vec![0.1, 0.9, 0.2, 0.8, 0.3, 0.7],
        };
        assert_eq!(
            slice_predictions(&p, 1, 2),
            Predictions::Classification {
                classes: vec!["a".into(), "b".into()],
                probabilities: vec![0.2, 0.8, 0.3, 0.7],
            }
        );
        let r = Predictions::Regression {
            values: vec![1.0, 2.0, 3.0],
        };
        assert_eq!(
            slice_predictions(&r, 2, 1),
            Predictions::Regression { values: vec![3.0] }
        );
    }

    #[test]
    fn next_input_matches_by_name_then_position() {
        use ingot_core::{ColumnType, Field};
        let p = Predictions::Projection {
            components: 2,
            values: vec![1.0, 2.0, 3.0, 4.0],
        };
        let by_name = Schema::new(vec![
            Field::new("component_1", ColumnType::Float, true),
            Field::new("component_0", ColumnType::Float, true),
        ]);
        let batch = as_next_input(&p, &by_name).unwrap();
        let first = batch
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(first.values(), &[2.0, 4.0]);
        let by_position = Schema::new(vec![
            Field::new("x", ColumnType::Float, true),
            Field::new("y", ColumnType::Float, true),
        ]);
        let batch = as_next_input(&p, &by_position).unwrap();
        let first = batch
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(first.values(), &[1.0, 3.0]);
        let three = Schema::new(vec![
            Field::new("x", ColumnType::Float, true),
            Field::new("y", ColumnType::Float, true),
            Field::new("z", ColumnType::Float, true),
        ]);
        let err = as_next_input(&p, &three).unwrap_err().to_string();
        assert!(err.contains("outputs 2 columns"), "{err}");
    }
}
