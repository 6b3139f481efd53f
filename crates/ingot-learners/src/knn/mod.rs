//! The `knn` algorithm: k-nearest-neighbour classification (class shares among the k
//! neighbours, i.e. a vote) and regression (their mean), with Euclidean, cosine or Manhattan
//! distance. The index keeps the preprocessed training rows, either scanned exhaustively
//! (`exact`) or grouped by k-means centroids into inverted lists (`ivf`): a query scans only
//! the `nprobe` lists whose centroids are nearest.

mod index;

use arrow_array::RecordBatch;
use ingot_algo::preprocess::Preprocessor;
use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Predictions, Result, Target,
    TrainingData,
};
use ingot_core::Hyperparameters;
use ingot_model_format::Manifest;
use serde::{Deserialize, Serialize};

use crate::common::{self, invalid, Pool, Preprocessing};
pub use index::{Index, Metric};

/// Registry name.
pub const NAME: &str = "knn";
const VERSION: u32 = 1;

const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "k",
        default: "5",
        description: "neighbours consulted per prediction",
    },
    HyperparameterSpec {
        name: "metric",
        default: "euclidean",
        description: "distance: euclidean, cosine or manhattan",
    },
    HyperparameterSpec {
        name: "index_type",
        default: "auto",
        description: "exact (scan every row), ivf (k-means inverted lists) or auto (ivf from \
                      50000 training rows)",
    },
    HyperparameterSpec {
        name: "nlist",
        default: "0",
        description: "ivf: number of lists (0: about sqrt(rows))",
    },
    HyperparameterSpec {
        name: "nprobe",
        default: "8",
        description: "ivf: lists scanned per query",
    },
    HyperparameterSpec {
        name: "standardize",
        default: "true",
        description: "standardize every feature with the training mean and deviation",
    },
    common::ENCODING,
    common::MAX_CATEGORIES,
];

/// Resolved k-NN parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnParams {
    pub k: usize,
    pub metric: Metric,
    pub index_type: String,
    pub nlist: usize,
    pub nprobe: usize,
    pub preprocessing: Preprocessing,
}

/// The `knn` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct Knn;

/// What the neighbours vote on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Mean of the neighbours' values.
    Regression,
    /// Share of each class among the neighbours.
    Classification { classes: Vec<String> },
}

/// Everything but the big arrays (the payload's JSON header).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    params: KnnParams,
    response: Response,
    preprocessor: Preprocessor,
    /// Number of IVF lists (0: exact index).
    lists: usize,
}

/// A fitted k-NN model.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnModel {
    pub params: KnnParams,
    pub response: Response,
    pub preprocessor: Preprocessor,
    pub index: Index,
    /// One value per indexed row (class index for classification), in index order.
    pub targets: Vec<f64>,
}

impl KnnParams {
    /// Reads and validates the hyperparameters.
    pub fn from_hyperparameters(params: &Hyperparameters) -> Result<KnnParams> {
        let metric = match common::choice(
            params,
            "metric",
            "euclidean",
            &["euclidean", "cosine", "manhattan"],
        )? {
            "cosine" => Metric::Cosine,
            "manhattan" => Metric::Manhattan,
            _ => Metric::Euclidean,
        };
        Ok(KnnParams {
            k: common::positive(params, "k", 5)?,
            metric,
            index_type: common::choice(params, "index_type", "auto", &["auto", "exact", "ivf"])?
                .into(),
            nlist: params.usize_or("nlist", 0)?,
            nprobe: common::positive(params, "nprobe", 8)?,
            preprocessing: Preprocessing::from_hyperparameters(params, true)?,
        })
    }
}

impl Algorithm for Knn {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "k-nearest neighbours (vote or mean; euclidean, cosine, manhattan; exact or IVF index)"
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
        _validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>> {
        ingot_algo::check_hyperparameter_keys(self, params)?;
        let params = KnnParams::from_hyperparameters(params)?;
        Ok(Box::new(fit_knn(train, params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        common::check_version(manifest, NAME, VERSION)?;
        let (header, arrays): (Header, _) = common::unpack(NAME, payload)?;
        common::check_preprocessor(NAME, &header.preprocessor)?;
        let bad = |reason: String| Error::InvalidPayload {
            algorithm: NAME,
            reason,
        };
        let [points, targets, centroids, offsets]: [Vec<f64>; 4] = arrays
            .try_into()
            .map_err(|_| bad("expected 4 arrays".to_string()))?;
        let d = header.preprocessor.n_features();
        let index =
            Index::from_parts(header.params.metric, d, points, centroids, offsets).map_err(bad)?;
        if targets.len() != index.len() {
            return Err(bad("one target per indexed row expected".to_string()));
        }
        if let Response::Classification { classes } = &header.response {
            let c = classes.len() as f64;
            if targets
                .iter()
                .any(|t| !(t.fract() == 0.0 && *t >= 0.0 && *t < c))
            {
                return Err(bad("class indices out of range".to_string()));
            }
        }
        Ok(Box::new(KnnModel {
            params: header.params,
            response: header.response,
            preprocessor: header.preprocessor,
            index,
            targets,
        }))
    }
}

/// Fits a k-NN model (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_knn(train: &TrainingData, params: KnnParams, ctx: &mut FitContext) -> Result<KnnModel> {
    ctx.check_cancelled()?;
    let (response, targets) = match &train.target {
        Target::Regression(y) => (Response::Regression, y.clone()),
        Target::Classification { classes, labels } => (
            Response::Classification {
                classes: classes.clone(),
            },
            labels.iter().map(|&l| l as f64).collect(),
        ),
        Target::Unsupervised { .. } => {
            return Err(Error::TargetRequired {
                algorithm: NAME.to_string(),
            })
        }
    };
    let (preprocessor, x) = params.preprocessing.fit(&train.features)?;
    if targets.len() != x.rows {
        return Err(Error::LengthMismatch {
            features: x.rows,
            target: targets.len(),
        });
    }
    let ivf = match params.index_type.as_str() {
        "ivf" => true,
        "exact" => false,
        _ => x.rows >= 50_000,
    };
    let pool = Pool::new(ctx.threads);
    let (index, order) = if ivf {
        let nlist = match params.nlist {
            0 => ((x.rows as f64).sqrt() as usize).clamp(1, x.rows),
            n if n > x.rows => {
                return Err(invalid(
                    "nlist",
                    format!("at most the {} training rows, got {n}", x.rows),
                ))
            }
            n => n,
        };
        ctx.log(format!(
            "{NAME}: building an IVF index of {nlist} lists over {} rows",
            x.rows
        ));
        Index::ivf(&pool, x, params.metric, nlist, ctx.seed, ctx.cancel)?
    } else {
        ctx.log(format!(
            "{NAME}: exact index over {} rows x {} features",
            x.rows, x.cols
        ));
        Index::exact(x, params.metric)
    };
    let targets = order.iter().map(|&i| targets[i]).collect();
    Ok(KnnModel {
        params,
        response,
        preprocessor,
        index,
        targets,
    })
}

impl Estimator for KnnModel {
    fn predict(&self, features: &RecordBatch) -> Result<Predictions> {
        let x = self.preprocessor.transform(features)?;
        let k = self.params.k.min(self.index.len());
        let nprobe = self.params.nprobe;
        let neighbours = self.index.search_all(&x, k, nprobe);
        Ok(match &self.response {
            Response::Regression => Predictions::Regression {
                values: neighbours
                    .iter()
                    .map(|n| {
                        n.iter().map(|&j| self.targets[j]).sum::<f64>() / n.len().max(1) as f64
                    })
                    .collect(),
            },
            Response::Classification { classes } => {
                let c = classes.len();
                let mut probabilities = vec![0.0; x.rows * c];
                for (row, n) in probabilities.chunks_exact_mut(c.max(1)).zip(&neighbours) {
                    for &j in n {
                        row[self.targets[j] as usize] += 1.0 / n.len() as f64;
                    }
                }
                Predictions::Classification {
                    classes: classes.clone(),
                    probabilities,
                }
            }
        })
    }

    fn preprocessing(&self) -> serde_json::Value {
        serde_json::to_value(&self.preprocessor).unwrap_or_default()
    }

    fn resolved_parameters(&self) -> serde_json::Value {
        serde_json::to_value(&self.params).unwrap_or_default()
    }

    fn payload(&self) -> Vec<u8> {
        let header = Header {
            params: self.params.clone(),
            response: self.response.clone(),
            preprocessor: self.preprocessor.clone(),
            lists: self.index.lists(),
        };
        let (points, centroids, offsets) = self.index.parts();
        common::pack(&header, &[points, &self.targets, centroids, &offsets])
    }
}

#[cfg(test)]
mod tests;
