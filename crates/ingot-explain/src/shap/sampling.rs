//! KernelSHAP's coalition plan, the `shap` library's scheme: the Shapley kernel's weight is
//! split over coalition sizes; sizes (with their complements) are enumerated completely,
//! smallest first, while the remaining budget covers them; the rest of the budget is drawn at
//! random by size (with the kernel's remaining weights) as paired complementary samples, a
//! repeated draw adding weight to the earlier sample; the random samples share the weight left
//! after the enumerated sizes.

use std::collections::HashMap;

use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;

/// The coalitions to evaluate: row-major `len × m` masks (true = the feature takes the explained
/// row's value) and their kernel weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Features per coalition.
    pub m: usize,
    /// Row-major `len × m` masks.
    pub masks: Vec<bool>,
    /// Kernel weights (summing to 1).
    pub weights: Vec<f64>,
    /// How many leading coalitions come from complete enumeration (the rest are drawn).
    pub enumerated: usize,
}

impl Plan {
    /// Number of coalitions.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// Whether the plan has no coalition.
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Coalition `i`.
    pub fn mask(&self, i: usize) -> &[bool] {
        &self.masks[i * self.m..(i + 1) * self.m]
    }

    fn push(&mut self, mask: &[bool], weight: f64) {
        self.masks.extend_from_slice(mask);
        self.weights.push(weight);
    }
}

/// `n choose k` as a float.
fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The budget actually used for `m` varying features: capped at `2^m − 2` (every proper,
/// non-empty coalition) when `m ≤ 30`.
pub fn effective_samples(m: usize, nsamples: usize) -> usize {
    if m <= 30 {
        nsamples.min((1usize << m) - 2)
    } else {
        nsamples
    }
}

/// Every `k`-subset of `0..m` in lexicographic order (as `itertools.combinations`).
fn for_each_combination(m: usize, k: usize, mut f: impl FnMut(&[usize])) {
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        f(&idx);
        let Some(i) = (0..k).rev().find(|&i| idx[i] != i + m - k) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

/// Builds the plan for `m ≥ 2` varying features and a budget of `nsamples` coalitions.
pub fn plan(m: usize, nsamples: usize, rng: &mut impl Rng) -> Plan {
    let nsamples = effective_samples(m, nsamples);
    let mut plan = Plan {
        m,
        masks: Vec::with_capacity(nsamples * m),
        weights: Vec::with_capacity(nsamples),
        enumerated: 0,
    };
    let num_subset_sizes = (m - 1).div_ceil(2);
    let num_paired = (m - 1) / 2;
    let mut weight_vector: Vec<f64> = (1..=num_subset_sizes)
        .map(|i| (m as f64 - 1.0) / (i as f64 * (m - i) as f64))
        .collect();
    for w in weight_vector.iter_mut().take(num_paired) {
        *w *= 2.0;
    }
    let total: f64 = weight_vector.iter().sum();
    for w in &mut weight_vector {
        *w /= total;
    }

    let mut num_full_subsets = 0;
    let mut samples_left = nsamples as f64;
    let mut remaining = weight_vector.clone();
    let mut mask = vec![false; m];
    for size in 1..=num_subset_sizes {
        let paired = size <= num_paired;
        let mut nsubsets = binomial(m, size);
        if paired {
            nsubsets *= 2.0;
        }
        if samples_left * remaining[size - 1] / nsubsets < 1.0 - 1e-8 {
            break;
        }
        num_full_subsets += 1;
        samples_left -= nsubsets;
        if remaining[size - 1] < 1.0 {
            let scale = 1.0 - remaining[size - 1];
            for w in &mut remaining {
                *w /= scale;
            }
        }
        let mut w = weight_vector[size - 1] / binomial(m, size);
        if paired {
            w /= 2.0;
        }
        for_each_combination(m, size, |inds| {
            mask.iter_mut().for_each(|x| *x = false);
            for &i in inds {
                mask[i] = true;
            }
            plan.push(&mask, w);
            if paired {
                mask.iter_mut().for_each(|x| *x = !*x);
                plan.push(&mask, w);
            }
        });
    }

    let fixed = plan.len();
    plan.enumerated = fixed;
    let mut left = nsamples.saturating_sub(fixed);
    if num_full_subsets == num_subset_sizes || left == 0 {
        return plan;
    }
    let mut weights: Vec<f64> = weight_vector.clone();
    for w in weights.iter_mut().take(num_paired) {
        *w /= 2.0;
    }
    let weights = &weights[num_full_subsets..];
    let Ok(sizes) = WeightedIndex::new(weights) else {
        return plan;
    };
    let mut used: HashMap<Vec<bool>, usize> = HashMap::new();
    let draws = 4 * left;
    for _ in 0..draws {
        if left == 0 {
            break;
        }
        let size = sizes.sample(rng) + num_full_subsets + 1;
        mask.iter_mut().for_each(|x| *x = false);
        for i in rand::seq::index::sample(rng, m, size) {
            mask[i] = true;
        }
        let paired = size <= num_paired;
        let new_index = match used.get(&mask) {
            Some(&index) => {
                plan.weights[index] += 1.0;
                if left > 0 && paired {
                    plan.weights[index + 1] += 1.0;
                }
                continue;
            }
            None => plan.len(),
        };
        used.insert(mask.clone(), new_index);
        left -= 1;
        plan.push(&mask, 1.0);
        if left > 0 && paired {
            mask.iter_mut().for_each(|x| *x = !*x);
            left -= 1;
            plan.push(&mask, 1.0);
        }
    }
    let weight_left: f64 = weight_vector[num_full_subsets..].iter().sum();
    let random_total: f64 = plan.weights[fixed..].iter().sum();
    if random_total > 0.0 {
        for w in &mut plan.weights[fixed..] {
            *w *= weight_left / random_total;
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn a_full_budget_enumerates_every_proper_coalition_once() {
        for m in 2..=8 {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            let plan = plan(m, 1 << 20, &mut rng);
            assert_eq!(plan.len(), (1 << m) - 2, "m = {m}");
            let mut seen: Vec<Vec<bool>> = (0..plan.len()).map(|i| plan.mask(i).to_vec()).collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), (1 << m) - 2);
            // The Shapley kernel: weight ∝ (m − 1) / (C(m, s) s (m − s)) for size s.
            let kernel = |s: usize| (m as f64 - 1.0) / (binomial(m, s) * (s * (m - s)) as f64);
            let ratio = plan.weights[0] / kernel(plan.mask(0).iter().filter(|&&b| b).count());
            for i in 0..plan.len() {
                let s = plan.mask(i).iter().filter(|&&b| b).count();
                let r = plan.weights[i] / kernel(s);
                assert!((r - ratio).abs() < 1e-12 * ratio, "m {m} size {s}");
            }
        }
    }

    #[test]
    fn a_small_budget_mixes_enumeration_and_paired_draws() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let m = 12;
        let plan = plan(m, 2 * m + 100, &mut rng);
        assert_eq!(plan.len(), 2 * m + 100);
        // Size 1 and its complements (2m samples) are enumerated first.
        for i in 0..m {
            assert_eq!(plan.mask(2 * i).iter().filter(|&&b| b).count(), 1);
            assert_eq!(plan.mask(2 * i + 1).iter().filter(|&&b| b).count(), m - 1);
        }
        let total: f64 = plan.weights.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }
}
