//! Preparing data for training: the shape both paths produce, and the unsupervised path
//! (every non-dropped column is a feature; no target, no task inference).

use ingot_core::{Field, Schema, Task};
use ingot_data::Table;

use ingot_algo::{Error, FitContext, Result, Target, TrainingData};

use super::{select, TrainRequest};

/// Features and targets ready for fitting, with what the manifest records about them.
pub(crate) struct Prepared {
    pub task: Task,
    /// The target column (`None` when unsupervised).
    pub target_name: Option<String>,
    pub input_schema: Schema,
    pub train_data: TrainingData,
    pub validation_data: Option<TrainingData>,
}

/// The unsupervised path: rejects a target, selects the input columns, and splits rows (or
/// conforms the validation table to the input schema).
pub(crate) fn prepare(
    algorithm: &str,
    task: Task,
    data: &Table,
    validation: Option<&Table>,
    request: &TrainRequest,
    ctx: &mut FitContext,
) -> Result<Prepared> {
    if let Some(column) = &request.target {
        return Err(Error::TargetNotAllowed {
            algorithm: algorithm.to_string(),
            column: column.clone(),
        });
    }
    for drop in &request.drop_columns {
        if data.schema.field(drop).is_none() {
            return Err(Error::DropColumnNotFound {
                column: drop.clone(),
            });
        }
    }
    let inputs: Vec<Field> = data
        .schema
        .fields
        .iter()
        .filter(|f| !request.drop_columns.contains(&f.name))
        .cloned()
        .collect();
    if inputs.is_empty() {
        return Err(Error::NoFeatures);
    }
    let input_schema = Schema::new(inputs);
    let features = select(&data.batch, &input_schema)?;
    let unsupervised = |features: ingot_data::RecordBatch| TrainingData {
        target: Target::Unsupervised {
            rows: features.num_rows(),
        },
        features,
    };
    let (train_data, validation_data) = match validation {
        Some(table) => {
            let conformed = ingot_data::conform_batch(&table.batch, &input_schema)?;
            let selected = select(&conformed, &input_schema)?;
            (unsupervised(features), Some(unsupervised(selected)))
        }
        None => {
            let (train_rows, validation_rows) = ingot_data::split_indices(
                features.num_rows(),
                request.validation_fraction,
                request.seed,
            );
            let validation_data = if validation_rows.is_empty() {
                None
            } else {
                Some(unsupervised(ingot_data::take_rows(
                    &features,
                    &validation_rows,
                )?))
            };
            let train = if train_rows.len() == features.num_rows() {
                features
            } else {
                ingot_data::take_rows(&features, &train_rows)?
            };
            (unsupervised(train), validation_data)
        }
    };
    ctx.log(format!(
        "unsupervised {algorithm}: {} input columns, no target",
        input_schema.len()
    ));
    Ok(Prepared {
        task,
        target_name: None,
        input_schema,
        train_data,
        validation_data,
    })
}
