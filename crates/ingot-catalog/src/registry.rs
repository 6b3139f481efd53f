//! The registry: every built-in algorithm by its stable name.

use ingot_algo::Algorithm;

static LINEAR_LEARNER: ingot_algo::linear::LinearLearner = ingot_algo::linear::LinearLearner;
static GBDT: ingot_gbdt::Gbdt = ingot_gbdt::Gbdt;
static RANDOM_FOREST: ingot_gbdt::RandomForest = ingot_gbdt::RandomForest;
static KNN: ingot_learners::Knn = ingot_learners::Knn;
static KMEANS: ingot_learners::KMeans = ingot_learners::KMeans;
static PCA: ingot_learners::Pca = ingot_learners::Pca;
static RANDOM_CUT_FOREST: ingot_learners::RandomCutForest = ingot_learners::RandomCutForest;
static FACTORIZATION_MACHINES: ingot_learners::FactorizationMachines =
    ingot_learners::FactorizationMachines;
static TEXT_CLASSIFIER: ingot_learners::TextClassifier = ingot_learners::TextClassifier;

/// Every built-in algorithm, in catalogue order.
pub fn algorithms() -> Vec<&'static dyn Algorithm> {
    vec![
        &LINEAR_LEARNER,
        &GBDT,
        &RANDOM_FOREST,
        &KNN,
        &FACTORIZATION_MACHINES,
        &TEXT_CLASSIFIER,
        &KMEANS,
        &PCA,
        &RANDOM_CUT_FOREST,
    ]
}

/// An algorithm by name; `None` when unknown.
pub fn algorithm(name: &str) -> Option<&'static dyn Algorithm> {
    algorithms().into_iter().find(|a| a.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_resolvable() {
        let names: Vec<&str> = algorithms().iter().map(|a| a.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicate names in {names:?}");
        for name in names {
            assert_eq!(algorithm(name).map(|a| a.name()), Some(name));
        }
        assert!(algorithm("no-such-algorithm").is_none());
    }
}
