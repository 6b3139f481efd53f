//! The background (reference) dataset of KernelSHAP: the rows whose values stand in for
//! "missing" features, with weights. It can be given whole, sampled to `k` rows, or summarized
//! by `k` weighted k-means centroids the way `shap.kmeans` does (each centroid coordinate
//! snapped to the nearest value the feature really takes, weights = cluster sizes).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Error, Result};

/// Weighted background rows, row-major `rows × features`; weights sum to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Background {
    data: Vec<f64>,
    features: usize,
    weights: Vec<f64>,
}

fn check_shape(data: &[f64], features: usize) -> Result<usize> {
    if features == 0 {
        return Err(Error::Empty("the feature list"));
    }
    if data.is_empty() {
        return Err(Error::Empty("the background data"));
    }
    if !data.len().is_multiple_of(features) {
        return Err(Error::Invalid {
            what: "background",
            message: format!("{} values are not rows of {features} features", data.len()),
        });
    }
    Ok(data.len() / features)
}

impl Background {
    /// Every row, equally weighted.
    pub fn new(data: Vec<f64>, features: usize) -> Result<Background> {
        let rows = check_shape(&data, features)?;
        Background::weighted(data, features, vec![1.0; rows])
    }

    /// Rows with weights (normalized to sum to 1).
    pub fn weighted(data: Vec<f64>, features: usize, weights: Vec<f64>) -> Result<Background> {
        let rows = check_shape(&data, features)?;
        if weights.len() != rows {
            return Err(Error::LengthMismatch {
                what: "background weights",
                expected: rows,
                actual: weights.len(),
            });
        }
        let total: f64 = weights.iter().sum();
        if total.is_nan() || total <= 0.0 || weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(Error::Invalid {
                what: "background weights",
                message: "weights must be finite, non-negative and not all zero".into(),
            });
        }
        let weights = weights.iter().map(|w| w / total).collect();
        Ok(Background {
            data,
            features,
            weights,
        })
    }

    /// `k` rows drawn without replacement (all rows when `k ≥ rows`), in their original order.
    pub fn sample(data: &[f64], features: usize, k: usize, seed: u64) -> Result<Background> {
        let rows = check_shape(data, features)?;
        let picked = sample_indices(rows, k, seed);
        let mut out = Vec::with_capacity(picked.len() * features);
        for i in picked {
            out.extend_from_slice(&data[i * features..(i + 1) * features]);
        }
        Background::new(out, features)
    }

    /// `k` k-means centroids (k-means++ seeding, Lloyd iterations), each coordinate replaced by
    /// the nearest value of that feature in the data, weighted by cluster size. Empty clusters
    /// are dropped. With `k ≥ rows` the rows themselves are returned.
    pub fn kmeans(data: &[f64], features: usize, k: usize, seed: u64) -> Result<Background> {
        let rows = check_shape(data, features)?;
        if k == 0 {
            return Err(Error::Invalid {
                what: "k",
                message: "k-means needs at least one cluster".into(),
            });
        }
        if k >= rows {
            return Background::new(data.to_vec(), features);
        }
        let row = |i: usize| &data[i * features..(i + 1) * features];
        let dist =
            |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum() };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // k-means++ seeding.
        let mut centers: Vec<f64> = row(rng.gen_range(0..rows)).to_vec();
        let mut nearest: Vec<f64> = (0..rows)
            .map(|i| dist(row(i), &centers[..features]))
            .collect();
        while centers.len() / features < k {
            let total: f64 = nearest.iter().sum();
            let pick = if total > 0.0 {
                let mut target = rng.gen::<f64>() * total;
                let mut chosen = rows - 1;
                for (i, d) in nearest.iter().enumerate() {
                    if target < *d {
                        chosen = i;
                        break;
                    }
                    target -= d;
                }
                chosen
            } else {
                rng.gen_range(0..rows)
            };
            let start = centers.len();
            centers.extend_from_slice(row(pick));
            for (i, n) in nearest.iter_mut().enumerate() {
                *n = n.min(dist(row(i), &centers[start..]));
            }
        }
        // Lloyd iterations until the assignment is stable.
        let mut labels = vec![usize::MAX; rows];
        for _ in 0..300 {
            let mut changed = false;
            for (i, label) in labels.iter_mut().enumerate() {
                let best = (0..k)
                    .min_by(|&a, &b| {
                        dist(row(i), &centers[a * features..(a + 1) * features])
                            .total_cmp(&dist(row(i), &centers[b * features..(b + 1) * features]))
                    })
                    .unwrap_or(0);
                changed |= *label != best;
                *label = best;
            }
            if !changed {
                break;
            }
            let mut sums = vec![0.0; k * features];
            let mut counts = vec![0usize; k];
            for (i, &c) in labels.iter().enumerate() {
                counts[c] += 1;
                for (s, x) in sums[c * features..(c + 1) * features]
                    .iter_mut()
                    .zip(row(i))
                {
                    *s += x;
                }
            }
            for c in 0..k {
                if counts[c] > 0 {
                    for j in 0..features {
                        centers[c * features + j] = sums[c * features + j] / counts[c] as f64;
                    }
                }
            }
        }
        let mut counts = vec![0usize; k];
        for &c in &labels {
            counts[c] += 1;
        }
        let mut out = Vec::new();
        let mut weights = Vec::new();
        for c in (0..k).filter(|&c| counts[c] > 0) {
            for j in 0..features {
                let target = centers[c * features + j];
                let snapped = (0..rows)
                    .map(|i| data[i * features + j])
                    .min_by(|a, b| (a - target).abs().total_cmp(&(b - target).abs()))
                    .unwrap_or(target);
                out.push(snapped);
            }
            weights.push(counts[c] as f64);
        }
        Background::weighted(out, features, weights)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.weights.len()
    }

    /// Number of features per row.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The rows, row-major.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The normalized weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
}

/// `k` of `rows` indices drawn without replacement with `seed`, sorted; all when `k ≥ rows`.
pub fn sample_indices(rows: usize, k: usize, seed: u64) -> Vec<usize> {
    if k >= rows {
        return (0..rows).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut picked = rand::seq::index::sample(&mut rng, rows, k).into_vec();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmeans_finds_separated_clusters_with_their_sizes() {
        // Three rows near (0, 0) and two near (10, 10).
        let data = [0.0, 0.0, 0.2, 0.0, 0.0, 0.4, 10.0, 10.0, 10.2, 10.0];
        let bg = Background::kmeans(&data, 2, 2, 7).unwrap();
        assert_eq!(bg.rows(), 2);
        let mut rows: Vec<(Vec<f64>, f64)> = (0..2)
            .map(|i| (bg.data()[i * 2..i * 2 + 2].to_vec(), bg.weights()[i]))
            .collect();
        rows.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]));
        // Centroid (0.0667, 0.1333) snaps to the data values 0.0 and 0.0; (10.1, 10) to
        // 10.0 (first of the equally near 10.0 and 10.2) and 10.0.
        assert_eq!(rows[0], (vec![0.0, 0.0], 0.6));
        assert_eq!(rows[1], (vec![10.0, 10.0], 0.4));
    }

    #[test]
    fn sampling_is_seeded_and_bad_shapes_are_errors() {
        let data: Vec<f64> = (0..20).map(f64::from).collect();
        let a = Background::sample(&data, 2, 4, 1).unwrap();
        assert_eq!(a, Background::sample(&data, 2, 4, 1).unwrap());
        assert_eq!(a.rows(), 4);
        assert_eq!(Background::sample(&data, 2, 50, 1).unwrap().rows(), 10);
        assert!(Background::new(vec![1.0, 2.0, 3.0], 2).is_err());
        assert!(Background::new(vec![], 2).is_err());
        assert!(Background::weighted(vec![1.0], 1, vec![0.0]).is_err());
    }
}
