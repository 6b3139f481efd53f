//! Ingot's non-linear built-in learners, each an [`ingot_algo::Algorithm`] over the shared
//! preprocessing:
//!
//! * [`knn::Knn`] (`knn`): k-nearest-neighbour classification (vote) and regression (mean)
//!   with Euclidean, cosine or Manhattan distance over an exact or an IVF index.
//! * [`fm::FactorizationMachines`] (`factorization-machines`): binary classification and
//!   regression with pairwise factorized interactions on sparse one-hot input.
//! * [`text::TextClassifier`] (`text-classifier`): fastText-style supervised text
//!   classification (hashed word and character n-grams, averaged embeddings, softmax, SGD).
//! * [`kmeans::KMeans`] (`kmeans`), [`pca::Pca`] (`pca`) and [`rcf::RandomCutForest`]
//!   (`random-cut-forest`): the unsupervised learners (no target column).
//!
//! Pure and deterministic like `ingot-algo`: same data, hyperparameters and seed give the
//! same model bytes whatever the thread count.

pub mod common;
pub mod fm;
pub mod kmeans;
pub mod knn;
pub mod linalg;
pub mod pca;
pub mod rcf;
pub mod text;

#[cfg(test)]
mod testing;

pub use fm::FactorizationMachines;
pub use kmeans::KMeans;
pub use knn::Knn;
pub use pca::Pca;
pub use rcf::RandomCutForest;
pub use text::TextClassifier;
