//! The `gbdt` algorithm: a pure-Rust, histogram-based gradient-boosted decision tree learner
//! with LightGBM-named hyperparameters and defaults.
//!
//! * [`binning`]: quantile bins per feature (`max_bin`), a missing bin, compact u8/u16 codes.
//! * [`histogram`]: feature-parallel gradient histograms and sibling subtraction.
//! * [`split`]: numeric splits with a learned missing direction, categorical many-vs-many.
//! * [`grow`]: leaf-wise or depth-wise tree growth over an in-place row partition.
//! * [`objective`]: binary, multiclass softmax, L2, L1, Huber, Poisson, quantile.
//! * [`boost`]: the boosting loop (bagging, feature sampling, early stopping, events).
//! * [`tree`] / [`model`]: trees as plain serde data, batch and single-row prediction.
//! * [`forest`]: the `random-forest` algorithm, bagged trees grown by the same machinery.
//! * [`ensemble`]: the block-parallel scorer and importance shared by every tree ensemble
//!   (also imported XGBoost / LightGBM models); [`shap`]: exact TreeSHAP over any of them.
//!
//! Features come from the shared native preprocessing (raw numbers with NaN for missing, string
//! columns as category codes). Everything is deterministic: the same data, parameters, seed and
//! thread count give the same model bytes (per-feature sums never depend on the thread count).

pub mod binning;
pub mod boost;
pub mod ensemble;
pub mod forest;
pub mod grow;
pub mod histogram;
mod model;
pub mod objective;
pub mod packed;
mod params;
pub mod perfect;
pub mod shap;
pub mod split;
pub mod tree;

use ingot_algo::preprocess::{ColumnEncoder, Preprocessor};
use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Result, Target, TrainingData,
};
use ingot_core::Hyperparameters;
use ingot_model_format::Manifest;

pub use forest::RandomForest;
pub use model::GbdtModel;
pub use objective::Objective;
pub use params::{GbdtParams, GrowPolicy, ObjectiveKind, HYPERPARAMETERS};

/// Registry name.
pub const NAME: &str = "gbdt";
/// Payload version written by this build.
pub const VERSION: u32 = 1;

/// The `gbdt` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gbdt;

impl Algorithm for Gbdt {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "histogram gradient-boosted trees (LightGBM-style leaf-wise growth, native missing values and categories)"
    }

    fn hyperparameters(&self) -> &'static [HyperparameterSpec] {
        HYPERPARAMETERS
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn fit(
        &self,
        train: &TrainingData,
        validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>> {
        let params = GbdtParams::from_hyperparameters(params, ctx.seed)?;
        Ok(Box::new(fit_gbdt(train, validation, &params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        ingot_algo::check_version(manifest, NAME, VERSION)?;
        Ok(Box::new(GbdtModel::from_payload(payload)?))
    }
}

/// Labels as f64 (class index or value) and the objective for a target.
fn resolve_objective(target: &Target, params: &GbdtParams) -> Result<(Objective, Vec<f64>)> {
    let mismatch = |reason: String| Error::InvalidHyperparameter {
        name: "objective".to_string(),
        reason,
    };
    match target {
        Target::Classification { classes, labels } => {
            if classes.len() < 2 {
                return Err(Error::InvalidTarget {
                    column: "target".to_string(),
                    reason: format!(
                        "classification needs at least 2 classes, got {}",
                        classes.len()
                    ),
                });
            }
            if let Some(bad) = labels.iter().find(|&&l| l >= classes.len()) {
                return Err(Error::InvalidTarget {
                    column: "target".to_string(),
                    reason: format!("label index {bad} out of range"),
                });
            }
            let kind = if classes.len() == 2 {
                ObjectiveKind::Binary
            } else {
                ObjectiveKind::Multiclass
            };
            match params.objective {
                None => {}
                Some(k) if k == kind => {}
                Some(other) => {
                    return Err(mismatch(format!(
                        "{other:?} does not fit a {}-class target; use {}",
                        classes.len(),
                        if kind == ObjectiveKind::Binary {
                            "binary"
                        } else {
                            "multiclass"
                        }
                    )))
                }
            }
            let outputs = if kind == ObjectiveKind::Binary {
                1
            } else {
                classes.len()
            };
            let y = labels.iter().map(|&l| l as f64).collect();
            Ok((
                Objective {
                    kind,
                    alpha: params.alpha,
                    outputs,
                },
                y,
            ))
        }
        Target::Unsupervised { .. } => Err(Error::InvalidTarget {
            column: "target".to_string(),
            reason: "gbdt is supervised: give a target column".to_string(),
        }),
        Target::Regression(values) => {
            let kind = params.objective.unwrap_or(ObjectiveKind::L2);
            if matches!(kind, ObjectiveKind::Binary | ObjectiveKind::Multiclass) {
                return Err(mismatch(format!(
                    "{kind:?} needs a classification target; this target is numeric \
                     (set predictor_type to a classifier to treat it as classes)"
                )));
            }
            if kind == ObjectiveKind::Poisson {
                if let Some((row, v)) = values.iter().enumerate().find(|(_, v)| **v < 0.0) {
                    return Err(Error::InvalidTarget {
                        column: "target".to_string(),
                        reason: format!(
                            "poisson needs non-negative values; training row {} is {v}",
                            row + 1
                        ),
                    });
                }
            }
            Ok((
                Objective {
                    kind,
                    alpha: params.alpha,
                    outputs: 1,
                },
                values.clone(),
            ))
        }
    }
}

/// Fits a GBDT model (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_gbdt(
    train: &TrainingData,
    validation: Option<&TrainingData>,
    params: &GbdtParams,
    ctx: &mut FitContext,
) -> Result<GbdtModel> {
    ctx.check_cancelled()?;
    let rows = train.features.num_rows();
    if train.target.len() != rows {
        return Err(Error::LengthMismatch {
            features: rows,
            target: train.target.len(),
        });
    }
    if rows == 0 {
        return Err(Error::EmptyTrainingData);
    }
    let (objective, y) = resolve_objective(&train.target, params)?;
    let (preprocessor, x) =
        Preprocessor::fit_transform_native(&train.features, params.max_categories)?;
    let categorical: Vec<Option<usize>> = preprocessor
        .columns
        .iter()
        .map(|c| match c {
            ColumnEncoder::Ordinal { categories, .. } => Some(categories.len()),
            _ => None,
        })
        .collect();
    let valid = match validation {
        Some(v) if v.features.num_rows() > 0 => {
            let (_, vy) = resolve_objective(&v.target, params)?;
            Some((preprocessor.transform(&v.features)?, vy))
        }
        _ => None,
    };
    ctx.log(format!(
        "{NAME}: {:?} objective, {} trees of up to {} leaves, learning rate {}",
        objective.kind, params.num_trees, params.num_leaves, params.learning_rate
    ));
    let run = |ctx: &mut FitContext| {
        boost::boost(
            &x,
            &categorical,
            &y,
            valid
                .as_ref()
                .map(|(vx, vy)| boost::Validation { x: vx, y: vy }),
            params,
            objective,
            ctx,
        )
    };
    let boosted = match ctx.threads {
        0 => run(ctx)?,
        n => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::InvalidOption {
                    name: "threads",
                    reason: e.to_string(),
                })?;
            // The event sink is not Send: train on a pool thread and forward its events here.
            let (sender, receiver) = std::sync::mpsc::channel();
            let (cancel, seed) = (ctx.cancel, ctx.seed);
            std::thread::scope(|scope| {
                let worker = scope.spawn(move || {
                    pool.install(move || {
                        let mut forward = move |event| {
                            // The receiver outlives the worker, so sending cannot fail.
                            let _ = sender.send(event);
                        };
                        let mut inner = FitContext {
                            cancel,
                            threads: n,
                            seed,
                            events: &mut forward,
                        };
                        run(&mut inner)
                    })
                });
                for event in receiver {
                    ctx.emit(event);
                }
                worker.join().unwrap_or_else(|_| {
                    Err(Error::Diverged {
                        reason: "a training thread panicked".to_string(),
                    })
                })
            })?
        }
    };
    ctx.log(format!("{NAME}: kept {} rounds", boosted.rounds));
    let classes = match &train.target {
        Target::Classification { classes, .. } => Some(classes.clone()),
        _ => None,
    };
    Ok(GbdtModel {
        params: params.clone(),
        objective,
        classes,
        preprocessor,
        base_score: boosted.base_score,
        trees: boosted.trees,
        packed: Default::default(),
    })
}

#[cfg(test)]
mod tests;
