//! The `text-classifier` algorithm, fastText/BlazingText-style: a document is the average of
//! the embeddings of its hashed features (lower-cased words, word n-grams up to
//! `word_ngrams`, and character n-grams `minn..=maxn` of `<word>`), a linear softmax layer
//! maps that average to class probabilities, and SGD with a linearly decaying rate fits both
//! in a seeded order. Embedding rows are created on first use with values drawn from their
//! own bucket's seed, and only rows seen in training are stored; unseen features are ignored.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use ingot_algo::preprocess::string_values;
use ingot_algo::{
    Algorithm, Error, Estimator, FitContext, HyperparameterSpec, Predictions, Result, Target,
    TrainEvent, TrainingData,
};
use ingot_core::{Hyperparameters, Task};
use ingot_model_format::Manifest;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::common::{self, invalid};

/// Registry name.
pub const NAME: &str = "text-classifier";
const VERSION: u32 = 1;

const HYPERPARAMETERS: &[HyperparameterSpec] = &[
    HyperparameterSpec {
        name: "text_column",
        default: "",
        description: "the text column (default: the only string column); other columns are \
                      ignored",
    },
    HyperparameterSpec {
        name: "dim",
        default: "32",
        description: "embedding dimension",
    },
    HyperparameterSpec {
        name: "epochs",
        default: "10",
        description: "passes over the documents",
    },
    HyperparameterSpec {
        name: "learning_rate",
        default: "0.3",
        description: "initial SGD step, decaying linearly to 0",
    },
    HyperparameterSpec {
        name: "word_ngrams",
        default: "2",
        description: "longest word n-gram (1: words only)",
    },
    HyperparameterSpec {
        name: "minn",
        default: "3",
        description: "shortest character n-gram (0 with maxn=0: none)",
    },
    HyperparameterSpec {
        name: "maxn",
        default: "5",
        description: "longest character n-gram",
    },
    HyperparameterSpec {
        name: "buckets",
        default: "2000000",
        description: "hash buckets shared by all features",
    },
];

/// Resolved parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextParams {
    pub text_column: String,
    pub dim: usize,
    pub epochs: usize,
    pub learning_rate: f64,
    pub word_ngrams: usize,
    pub minn: usize,
    pub maxn: usize,
    pub buckets: u64,
}

/// The `text-classifier` algorithm.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextClassifier;

/// A fitted classifier (also its JSON payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextModel {
    pub params: TextParams,
    pub classes: Vec<String>,
    /// Buckets with an embedding, ascending.
    pub buckets: Vec<u64>,
    /// `buckets.len() × dim`, row-major.
    pub embeddings: Vec<f64>,
    /// `classes × dim`, row-major.
    pub output: Vec<f64>,
}

/// 64-bit FNV-1a.
fn fnv(bytes: &[u8], seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The hashed feature buckets of a document.
pub fn features(text: &str, params: &TextParams) -> Vec<u64> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        out.push(fnv(word.as_bytes(), 1) % params.buckets);
        for n in 2..=params.word_ngrams {
            if i + n <= words.len() {
                let gram = words[i..i + n].join(" ");
                out.push(fnv(gram.as_bytes(), n as u64) % params.buckets);
            }
        }
        if params.maxn > 0 {
            let chars: Vec<char> = format!("<{word}>").chars().collect();
            for n in params.minn.max(1)..=params.maxn {
                for window in chars.windows(n) {
                    let gram: String = window.iter().collect();
                    out.push(fnv(gram.as_bytes(), 100 + n as u64) % params.buckets);
                }
            }
        }
    }
    out
}

impl Algorithm for TextClassifier {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "fastText-style text classification (hashed word/char n-grams, averaged embeddings, softmax)"
    }

    fn hyperparameters(&self) -> &'static [HyperparameterSpec] {
        HYPERPARAMETERS
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn supports(&self, task: Task) -> bool {
        matches!(
            task,
            Task::BinaryClassification | Task::MulticlassClassification
        )
    }

    fn fit(
        &self,
        train: &TrainingData,
        _validation: Option<&TrainingData>,
        params: &Hyperparameters,
        ctx: &mut FitContext,
    ) -> Result<Box<dyn Estimator>> {
        ingot_algo::check_hyperparameter_keys(self, params)?;
        let schema = train.features.schema();
        let text_column = match params.get("text_column").filter(|c| !c.is_empty()) {
            Some(c) => c.to_string(),
            None => {
                let strings: Vec<&str> = schema
                    .fields()
                    .iter()
                    .filter(|f| {
                        matches!(
                            f.data_type(),
                            arrow_schema::DataType::Utf8
                                | arrow_schema::DataType::LargeUtf8
                                | arrow_schema::DataType::Utf8View
                        )
                    })
                    .map(|f| f.name().as_str())
                    .collect();
                match strings.as_slice() {
                    [one] => one.to_string(),
                    _ => {
                        return Err(invalid(
                            "text_column",
                            format!(
                                "name the text column; string columns are: {}",
                                strings.join(", ")
                            ),
                        ))
                    }
                }
            }
        };
        let (minn, maxn) = (params.usize_or("minn", 3)?, params.usize_or("maxn", 5)?);
        if maxn > 0 && (minn == 0 || minn > maxn) {
            return Err(invalid(
                "minn",
                format!("need 1 <= minn <= maxn, got {minn} and {maxn}"),
            ));
        }
        let params = TextParams {
            text_column,
            dim: common::positive(params, "dim", 32)?,
            epochs: common::positive(params, "epochs", 10)?,
            learning_rate: common::nonnegative(params, "learning_rate", 0.3, false)?,
            word_ngrams: common::positive(params, "word_ngrams", 2)?,
            minn,
            maxn,
            buckets: common::positive(params, "buckets", 2_000_000)? as u64,
        };
        Ok(Box::new(fit_text(train, params, ctx)?))
    }

    fn load(&self, manifest: &Manifest, payload: &[u8]) -> Result<Box<dyn Estimator>> {
        common::check_version(manifest, NAME, VERSION)?;
        let model: TextModel = common::from_json(NAME, payload)?;
        let d = model.params.dim;
        let sorted = model.buckets.windows(2).all(|w| w[0] < w[1]);
        if !sorted
            || model.embeddings.len() != model.buckets.len() * d
            || model.output.len() != model.classes.len() * d
        {
            return Err(Error::InvalidPayload {
                algorithm: NAME,
                reason: "embedding or output shapes do not match".to_string(),
            });
        }
        Ok(Box::new(model))
    }
}

fn documents<'a>(features: &'a RecordBatch, column: &str) -> Result<Vec<Option<&'a str>>> {
    let array = features
        .column_by_name(column)
        .ok_or_else(|| Error::MissingColumn {
            column: column.to_string(),
        })?;
    string_values(column, array.as_ref())
}

/// Fits the classifier (the typed entry point behind [`Algorithm::fit`]).
pub fn fit_text(
    train: &TrainingData,
    params: TextParams,
    ctx: &mut FitContext,
) -> Result<TextModel> {
    ctx.check_cancelled()?;
    let (classes, labels) = match &train.target {
        Target::Classification { classes, labels } => (classes.clone(), labels.clone()),
        _ => {
            return Err(Error::InvalidTarget {
                column: "target".to_string(),
                reason: format!("{NAME} needs a class label target (classification)"),
            })
        }
    };
    let docs: Vec<Vec<u64>> = documents(&train.features, &params.text_column)?
        .into_iter()
        .map(|t| features(t.unwrap_or(""), &params))
        .collect();
    let n = docs.len();
    if n == 0 {
        return Err(Error::EmptyTrainingData);
    }
    let (d, c) = (params.dim, classes.len());
    let mut rows: HashMap<u64, usize> = HashMap::new();
    let mut embeddings: Vec<f64> = Vec::new();
    let mut output = vec![0.0; c * d];
    let mut rng = common::rng(ctx.seed, 31);
    let mut order: Vec<usize> = (0..n).collect();
    let total = (params.epochs * n) as f64;
    let mut seen = 0usize;
    let (mut hidden, mut grad_hidden, mut logits) = (vec![0.0; d], vec![0.0; d], vec![0.0; c]);
    ctx.log(format!(
        "{NAME}: {n} documents, {c} classes, {d} dimensions"
    ));
    for epoch in 0..params.epochs {
        ctx.check_cancelled()?;
        order.shuffle(&mut rng);
        let mut loss = 0.0;
        for &i in &order {
            let lr = params.learning_rate * (1.0 - seen as f64 / total);
            seen += 1;
            let doc = &docs[i];
            if doc.is_empty() {
                continue;
            }
            let slots: Vec<usize> = doc
                .iter()
                .map(|&b| {
                    *rows.entry(b).or_insert_with(|| {
                        let mut r =
                            common::rng(ctx.seed ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15), 32);
                        embeddings.extend((0..d).map(|_| (r.gen::<f64>() * 2.0 - 1.0) / d as f64));
                        embeddings.len() / d - 1
                    })
                })
                .collect();
            hidden.iter_mut().for_each(|h| *h = 0.0);
            for &s in &slots {
                for (h, e) in hidden.iter_mut().zip(&embeddings[s * d..(s + 1) * d]) {
                    *h += e;
                }
            }
            let inv = 1.0 / slots.len() as f64;
            hidden.iter_mut().for_each(|h| *h *= inv);
            for (z, w) in logits.iter_mut().zip(output.chunks_exact(d)) {
                *z = w.iter().zip(&hidden).map(|(a, b)| a * b).sum();
            }
            softmax(&mut logits);
            loss -= logits[labels[i]].max(1e-15).ln();
            grad_hidden.iter_mut().for_each(|g| *g = 0.0);
            for (k, w) in output.chunks_exact_mut(d).enumerate() {
                let g = logits[k] - if k == labels[i] { 1.0 } else { 0.0 };
                for ((gh, wj), hj) in grad_hidden.iter_mut().zip(w.iter_mut()).zip(&hidden) {
                    *gh += g * *wj;
                    *wj -= lr * g * hj;
                }
            }
            for &s in &slots {
                for (e, g) in embeddings[s * d..(s + 1) * d].iter_mut().zip(&grad_hidden) {
                    *e -= lr * inv * g;
                }
            }
        }
        ctx.emit(TrainEvent::Progress {
            done: epoch as u64 + 1,
            total: params.epochs as u64,
        });
        ctx.emit(TrainEvent::Metric {
            name: "training_loss".to_string(),
            step: epoch as u64 + 1,
            value: loss / n as f64,
        });
    }
    if !embeddings.iter().chain(&output).all(|v| v.is_finite()) {
        return Err(invalid(
            "learning_rate",
            "training diverged; try a smaller value",
        ));
    }
    let mut buckets: Vec<(u64, usize)> = rows.into_iter().collect();
    buckets.sort_unstable();
    let sorted_embeddings = buckets
        .iter()
        .flat_map(|&(_, s)| embeddings[s * d..(s + 1) * d].to_vec())
        .collect();
    Ok(TextModel {
        params,
        classes,
        buckets: buckets.into_iter().map(|(b, _)| b).collect(),
        embeddings: sorted_embeddings,
        output,
    })
}

fn softmax(z: &mut [f64]) {
    let max = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

impl Estimator for TextModel {
    fn predict(&self, features_batch: &RecordBatch) -> Result<Predictions> {
        let d = self.params.dim;
        let c = self.classes.len();
        let mut probabilities = Vec::with_capacity(features_batch.num_rows() * c);
        for text in documents(features_batch, &self.params.text_column)? {
            let mut hidden = vec![0.0; d];
            let mut count = 0usize;
            for b in features(text.unwrap_or(""), &self.params) {
                if let Ok(s) = self.buckets.binary_search(&b) {
                    count += 1;
                    for (h, e) in hidden.iter_mut().zip(&self.embeddings[s * d..(s + 1) * d]) {
                        *h += e;
                    }
                }
            }
            let inv = 1.0 / count.max(1) as f64;
            let mut z: Vec<f64> = self
                .output
                .chunks_exact(d)
                .map(|w| w.iter().zip(&hidden).map(|(a, b)| a * b * inv).sum())
                .collect();
            softmax(&mut z);
            probabilities.extend(z);
        }
        Ok(Predictions::Classification {
            classes: self.classes.clone(),
            probabilities,
        })
    }

    fn preprocessing(&self) -> serde_json::Value {
        serde_json::json!({
            "text_column": self.params.text_column,
            "tokens": "lower-cased alphanumeric words",
            "features": format!(
                "words, word n-grams up to {}, char n-grams {}..={} hashed into {} buckets",
                self.params.word_ngrams, self.params.minn, self.params.maxn, self.params.buckets
            ),
        })
    }

    fn resolved_parameters(&self) -> serde_json::Value {
        serde_json::to_value(&self.params).unwrap_or_default()
    }

    fn payload(&self) -> Vec<u8> {
        common::to_json(self)
    }
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
