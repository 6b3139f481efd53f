//! The pure end-to-end training pipeline shared by the server's job runner and
//! `ingot train --local`: validate the request, resolve the task and classes, split, fit,
//! evaluate, and package the model file.

mod loaded;
mod target;
mod unsupervised;

use arrow_array::RecordBatch;
use ingot_core::{Field, Hyperparameters, Metrics, Schema};
use ingot_data::Table;
use ingot_model_format::{Manifest, ModelFile, FORMAT_VERSION};

use ingot_algo::{
    check_hyperparameter_keys, Error, FitContext, Result, Target, TrainEvent, TrainingData,
};

use crate::registry::{algorithm, algorithms};

pub use ingot_algo::evaluate;
pub use loaded::LoadedModel;
use target::{PredictorType, TargetColumn};
use unsupervised::Prepared;

/// What to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRequest {
    /// Target column name; `None` for unsupervised algorithms.
    pub target: Option<String>,
    /// Columns excluded from the features.
    pub drop_columns: Vec<String>,
    /// Registered algorithm name.
    pub algorithm: String,
    /// User hyperparameters (the algorithm's plus `predictor_type` and `drop_missing_target`).
    pub hyperparameters: Hyperparameters,
    /// Fraction of rows held out when no validation table is given (default 0.2).
    pub validation_fraction: f64,
    /// Seed of the split and of any algorithm randomness.
    pub seed: u64,
}

impl TrainRequest {
    /// A request without a target (for unsupervised algorithms), otherwise like [`TrainRequest::new`].
    pub fn unsupervised(algorithm: impl Into<String>) -> TrainRequest {
        TrainRequest {
            target: None,
            ..TrainRequest::new("", algorithm)
        }
    }

    /// A request with no dropped columns, no hyperparameters, a 0.2 split and seed 0.
    pub fn new(target: impl Into<String>, algorithm: impl Into<String>) -> TrainRequest {
        TrainRequest {
            target: Some(target.into()),
            drop_columns: Vec::new(),
            algorithm: algorithm.into(),
            hyperparameters: Hyperparameters::new(),
            validation_fraction: 0.2,
            seed: 0,
        }
    }
}

/// The result of [`train`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    /// The model file.
    pub model: ModelFile,
    /// `model.encode()`.
    pub bytes: Vec<u8>,
    /// Validation metrics (empty without validation rows), plus the training metrics of
    /// algorithms that report them, prefixed `training_` (e.g. `training_inertia`).
    pub metrics: Metrics,
    /// Rows fitted on.
    pub training_rows: u64,
    /// Rows evaluated on.
    pub validation_rows: u64,
}

/// Trains a model on `data` (validating on `validation`, or on a seeded split of `data`).
pub fn train(
    data: &Table,
    validation: Option<&Table>,
    request: &TrainRequest,
    ctx: &mut FitContext,
) -> Result<TrainOutcome> {
    ctx.check_cancelled()?;
    let algo = algorithm(&request.algorithm).ok_or_else(|| Error::UnknownAlgorithm {
        name: request.algorithm.clone(),
        available: algorithms()
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let hp = &request.hyperparameters;
    check_hyperparameter_keys(algo, hp)?;
    let predictor = PredictorType::parse(hp.get("predictor_type").unwrap_or("auto"))?;
    let drop_missing = hp.bool_or("drop_missing_target", false)?;
    let fraction = request.validation_fraction;
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::InvalidOption {
            name: "validation fraction",
            reason: format!("must be in [0, 1), got {fraction}"),
        });
    }

    let Prepared {
        task,
        target_name,
        input_schema,
        train_data,
        validation_data,
    } = match algo.unsupervised_task() {
        Some(task) => unsupervised::prepare(algo.name(), task, data, validation, request, ctx)?,
        None => {
            let target = request
                .target
                .as_deref()
                .ok_or_else(|| Error::TargetRequired {
                    algorithm: algo.name().to_string(),
                })?;
            prepare_supervised(
                target,
                data,
                validation,
                request,
                predictor,
                drop_missing,
                ctx,
            )?
        }
    };
    let training_rows = train_data.target.len() as u64;
    let validation_rows = validation_data.as_ref().map_or(0, |v| v.target.len()) as u64;
    if training_rows == 0 {
        return Err(Error::EmptyTrainingData);
    }
    let of_target = target_name
        .as_ref()
        .map_or(String::new(), |t| format!(" of {t:?}"));
    ctx.log(format!(
        "training {} for {}{of_target} on {training_rows} rows ({} features), validating on \
         {validation_rows} rows",
        algo.name(),
        task.as_str(),
        input_schema.len()
    ));

    let estimator = algo.fit(&train_data, validation_data.as_ref(), hp, ctx)?;
    ctx.check_cancelled()?;
    let mut metrics = match &validation_data {
        Some(v) => evaluate(&v.target, &estimator.predict(&v.features)?),
        None => Metrics::default(),
    };
    for (name, value) in &metrics.0 {
        ctx.log(format!("validation {name}: {value:.6}"));
        ctx.emit(TrainEvent::Metric {
            name: format!("validation_{name}"),
            step: 0,
            value: *value,
        });
    }
    // Metrics measured while fitting (k-means inertia, PCA explained variance, …).
    for (name, value) in estimator.training_metrics().0 {
        if value.is_finite() {
            ctx.log(format!("training {name}: {value:.6}"));
            let name = format!("training_{name}");
            ctx.emit(TrainEvent::Metric {
                name: name.clone(),
                step: 0,
                value,
            });
            metrics.insert(name, value);
        }
    }

    let mut resolved = estimator.resolved_parameters();
    if let Some(object) = resolved.as_object_mut().filter(|_| task.is_supervised()) {
        let predictor_type = hp.get("predictor_type").unwrap_or("auto");
        object.insert("predictor_type".into(), predictor_type.into());
        object.insert("drop_missing_target".into(), drop_missing.into());
    }
    let classes = match &train_data.target {
        Target::Classification { classes, .. } => Some(classes.clone()),
        Target::Regression(_) | Target::Unsupervised { .. } => None,
    };
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        algorithm: algo.name().to_string(),
        algorithm_version: algo.version(),
        task,
        target: target_name,
        input_schema,
        classes,
        hyperparameters: hp.clone(),
        resolved_parameters: resolved,
        preprocessing: estimator.preprocessing(),
        metrics: metrics.clone(),
        training_rows,
        validation_rows,
        feature_importance: estimator.feature_importance(),
    };
    let model = ModelFile {
        manifest,
        payload: estimator.payload(),
    };
    let bytes = model.encode();
    Ok(TrainOutcome {
        model,
        bytes,
        metrics,
        training_rows,
        validation_rows,
    })
}

/// Reads the target, resolves the task and classes, and splits features and target into
/// training and validation data.
fn prepare_supervised(
    target: &str,
    data: &Table,
    validation: Option<&Table>,
    request: &TrainRequest,
    predictor: PredictorType,
    drop_missing: bool,
    ctx: &mut FitContext,
) -> Result<Prepared> {
    let (target_field, input_schema) = split_schema(&data.schema, target, request)?;
    let target_array = column(&data.batch, &target_field.name)?;
    let target_column = TargetColumn::read(
        &target_field.name,
        target_field.column_type,
        target_array.as_ref(),
    )?;
    let present = target_column.present_rows(drop_missing)?;
    if present.len() < target_column.values.len() {
        ctx.log(format!(
            "dropped {} rows with a missing target",
            target_column.values.len() - present.len()
        ));
    }
    let (task, target) = target_column.resolve(predictor, &present)?;
    let features = select(&data.batch, &input_schema)?;
    let features = if present.len() < features.num_rows() {
        ingot_data::take_rows(&features, &present)?
    } else {
        features
    };

    let (train_data, validation_data) = match validation {
        Some(table) => {
            let mut columns = input_schema.fields.clone();
            columns.push(target_field.clone());
            let conformed = ingot_data::conform_batch(&table.batch, &Schema::new(columns))?;
            let array = column(&conformed, &target_field.name)?;
            let column = TargetColumn::read(&target_field.name, target_field.column_type, array)?;
            let rows = column.present_rows(drop_missing)?;
            let target_values = match &target {
                Target::Regression(_) | Target::Unsupervised { .. } => {
                    Target::Regression(column.numbers(&rows))
                }
                Target::Classification { classes, .. } => Target::Classification {
                    classes: classes.clone(),
                    labels: column.labels_for(&rows, classes)?,
                },
            };
            let selected = select(&conformed, &input_schema)?;
            let validation_features = ingot_data::take_rows(&selected, &rows)?;
            let train_data = TrainingData { features, target };
            let validation_data = TrainingData {
                features: validation_features,
                target: target_values,
            };
            (train_data, Some(validation_data))
        }
        None => {
            let (train_rows, validation_rows) =
                ingot_data::split_indices(present.len(), request.validation_fraction, request.seed);
            let subset = |rows: &[usize]| -> Result<TrainingData> {
                Ok(TrainingData {
                    features: ingot_data::take_rows(&features, rows)?,
                    target: target.take(rows),
                })
            };
            let validation_data = if validation_rows.is_empty() {
                None
            } else {
                Some(subset(&validation_rows)?)
            };
            (subset(&train_rows)?, validation_data)
        }
    };
    Ok(Prepared {
        task,
        target_name: Some(target_field.name),
        input_schema,
        train_data,
        validation_data,
    })
}

/// Validates target and drop columns; returns the target field and the input schema.
fn split_schema(schema: &Schema, target: &str, request: &TrainRequest) -> Result<(Field, Schema)> {
    let target_name = target;
    let target = schema
        .field(target_name)
        .ok_or_else(|| Error::TargetNotFound {
            column: target_name.to_string(),
            available: schema.names().collect::<Vec<_>>().join(", "),
        })?;
    for drop in &request.drop_columns {
        if drop == target_name {
            return Err(Error::TargetDropped {
                column: drop.clone(),
            });
        }
        if schema.field(drop).is_none() {
            return Err(Error::DropColumnNotFound {
                column: drop.clone(),
            });
        }
    }
    let inputs: Vec<Field> = schema
        .fields
        .iter()
        .filter(|f| f.name != target_name && !request.drop_columns.contains(&f.name))
        .cloned()
        .collect();
    if inputs.is_empty() {
        return Err(Error::NoFeatures);
    }
    Ok((target.clone(), Schema::new(inputs)))
}

pub(crate) fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a arrow_array::ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::MissingColumn {
            column: name.to_string(),
        })
}

/// The batch's columns named in `schema`, in schema order.
pub(crate) fn select(batch: &RecordBatch, schema: &Schema) -> Result<RecordBatch> {
    let arrow = batch.schema();
    let indices = schema
        .fields
        .iter()
        .map(|f| {
            arrow.index_of(&f.name).map_err(|_| Error::MissingColumn {
                column: f.name.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(batch.project(&indices)?)
}
