//! Deterministic, seeded train/validation splits (a self-contained splitmix64 generator, so the
//! same seed gives the same split on every platform and version).

/// The splitmix64 generator: tiny, fast and good enough for shuffling.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (multiply-shift; the bias is negligible for dataset sizes).
    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

/// Splits `0..n` into `(train, validation)` by a seeded shuffle. The validation set has
/// `round(n * validation_fraction)` rows (the fraction is clamped to `[0, 1]`; NaN means 0);
/// both lists are sorted ascending and together cover every index exactly once.
pub fn split_indices(n: usize, validation_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let fraction = if validation_fraction.is_nan() {
        0.0
    } else {
        validation_fraction.clamp(0.0, 1.0)
    };
    let validation_len = ((n as f64 * fraction).round() as usize).min(n);
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64(seed);
    // A partial Fisher-Yates shuffle: only the validation prefix needs to be random.
    for i in 0..validation_len {
        let j = i + rng.below(n - i);
        order.swap(i, j);
    }
    let mut train = order.split_off(validation_len);
    let mut validation = order;
    train.sort_unstable();
    validation.sort_unstable();
    (train, validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // First output of splitmix64 seeded with 0 (a widely published test value).
        assert_eq!(SplitMix64(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn sizes_disjointness_and_order() {
        let (train, validation) = split_indices(10, 0.25, 7);
        assert_eq!(validation.len(), 3, "round(2.5) = 3");
        assert_eq!(train.len(), 7);
        let mut all: Vec<usize> = train.iter().chain(&validation).copied().collect();
        assert!(train.windows(2).all(|w| w[0] < w[1]));
        assert!(validation.windows(2).all(|w| w[0] < w[1]));
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(split_indices(1000, 0.2, 42), split_indices(1000, 0.2, 42));
        assert_ne!(
            split_indices(1000, 0.2, 42).1,
            split_indices(1000, 0.2, 43).1
        );
        let (_, v) = split_indices(1000, 0.2, 42);
        assert_eq!(v.len(), 200);
        // Not just the first or last rows.
        assert!(v.iter().any(|&i| i < 500) && v.iter().any(|&i| i >= 500));
    }

    #[test]
    fn edge_fractions() {
        assert_eq!(split_indices(5, 0.0, 1), (vec![0, 1, 2, 3, 4], vec![]));
        assert_eq!(split_indices(5, 1.0, 1), (vec![], vec![0, 1, 2, 3, 4]));
        assert_eq!(split_indices(5, 7.0, 1).1.len(), 5);
        assert_eq!(split_indices(5, -1.0, 1).1.len(), 0);
        assert_eq!(split_indices(5, f64::NAN, 1).1.len(), 0);
        assert_eq!(split_indices(0, 0.5, 1), (vec![], vec![]));
    }
}
