//! The KLL quantile sketch (Karnin, Lang & Liberty 2016, lazy compaction): mergeable,
//! deterministic given its seed, with SageMaker/Deequ's parameters (`k` = 2048, `c` = 0.64).
//!
//! Level `h` holds items of weight 2^h; level capacities shrink geometrically by `c` from the
//! top. While a sketch has one level (n ≤ k + 1 items) it holds the exact sample. The
//! normalized rank error is at most [`rank_error_bound`] (0.25% for k = 2048; 0.05–0.1% is
//! typical, see the tests on 10⁶ values).

use crate::stattests::Weighted;

/// SageMaker's (Deequ's) KLL parameters.
pub const DEFAULT_K: u32 = 2048;
pub const DEFAULT_C: f64 = 0.64;

/// The bound on the normalized rank error `|rank(x)/n − F(x)|` we state and test for a sketch
/// of parameter `k`: 5/k (0.25% for k = 2048). The KLL analysis gives O(1/k) error with high
/// probability; the constant 5 covers the worst query over 10⁶ values in our tests with a margin.
pub fn rank_error_bound(k: u32) -> f64 {
    5.0 / f64::from(k)
}

/// A KLL sketch of f64 values (callers drop non-finite values).
#[derive(Debug, Clone, PartialEq)]
pub struct Kll {
    k: u32,
    c: f64,
    levels: Vec<Vec<f64>>,
    size: usize,
    max_size: usize,
    n: u64,
    rng: u64,
}

impl Kll {
    /// An empty sketch; `seed` fixes every compaction's coin flip.
    pub fn new(k: u32, c: f64, seed: u64) -> Kll {
        let mut s = Kll {
            k: k.max(8),
            c: if c > 0.0 && c < 1.0 { c } else { DEFAULT_C },
            levels: Vec::new(),
            size: 0,
            max_size: 0,
            n: 0,
            rng: seed ^ 0x9E37_79B9_7F4A_7C15,
        };
        s.grow();
        s
    }

    /// Rebuilds a sketch from its levels (as stored in `statistics.json`).
    pub fn from_levels(k: u32, c: f64, levels: Vec<Vec<f64>>, seed: u64) -> Kll {
        let mut s = Kll::new(k, c, seed);
        while s.levels.len() < levels.len() {
            s.grow();
        }
        s.n = levels
            .iter()
            .enumerate()
            .map(|(h, l)| (l.len() as u64) << h)
            .sum();
        s.levels = levels;
        if s.levels.is_empty() {
            s.grow();
        }
        s.size = s.levels.iter().map(Vec::len).sum();
        while s.size >= s.max_size {
            s.compress();
        }
        s
    }

    pub fn k(&self) -> u32 {
        self.k
    }

    pub fn c(&self) -> f64 {
        self.c
    }

    /// Number of values summarized.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The retained items per level (level h has weight 2^h).
    pub fn levels(&self) -> &[Vec<f64>] {
        &self.levels
    }

    /// Whether the sketch still holds every value it saw (no compaction yet).
    pub fn is_exact(&self) -> bool {
        self.levels.len() == 1
    }

    fn capacity(&self, height: usize) -> usize {
        let depth = self.levels.len() - height - 1;
        (self.c.powi(depth as i32) * f64::from(self.k)).ceil() as usize + 1
    }

    fn grow(&mut self) {
        self.levels.push(Vec::new());
        self.max_size = (0..self.levels.len()).map(|h| self.capacity(h)).sum();
    }

    fn coin(&mut self) -> bool {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) & 1 == 1
    }

    /// Adds one value.
    pub fn update(&mut self, x: f64) {
        self.levels[0].push(x);
        self.size += 1;
        self.n += 1;
        if self.size >= self.max_size {
            self.compress();
        }
    }

    fn compress(&mut self) {
        for h in 0..self.levels.len() {
            if self.levels[h].len() >= self.capacity(h) {
                if h + 1 >= self.levels.len() {
                    self.grow();
                }
                let offset = usize::from(self.coin());
                let mut level = std::mem::take(&mut self.levels[h]);
                level.sort_unstable_by(f64::total_cmp);
                // An odd item out (the smallest) stays at this level.
                let keep = level.len() % 2;
                let promoted: Vec<f64> = level[keep..]
                    .iter()
                    .skip(offset)
                    .step_by(2)
                    .copied()
                    .collect();
                level.truncate(keep);
                self.levels[h] = level;
                self.levels[h + 1].extend(promoted);
                self.size = self.levels.iter().map(Vec::len).sum();
                if self.size < self.max_size {
                    break;
                }
            }
        }
    }

    /// Folds another sketch into this one (this sketch's seed drives later compactions).
    pub fn merge(&mut self, other: &Kll) {
        while self.levels.len() < other.levels.len() {
            self.grow();
        }
        for (h, l) in other.levels.iter().enumerate() {
            self.levels[h].extend_from_slice(l);
        }
        self.n += other.n;
        self.size = self.levels.iter().map(Vec::len).sum();
        while self.size >= self.max_size {
            self.compress();
        }
    }

    /// The retained items as a weighted sample (weights sum to `count()`).
    pub fn weighted(&self) -> Weighted {
        let pairs = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(h, l)| l.iter().map(move |&v| (v, (1u64 << h) as f64)))
            .collect();
        Weighted::from_pairs(pairs)
    }

    /// Estimated number of values ≤ x.
    pub fn rank(&self, x: f64) -> f64 {
        self.levels
            .iter()
            .enumerate()
            .map(|(h, l)| (l.iter().filter(|&&v| v <= x).count() as u64) << h)
            .sum::<u64>() as f64
    }

    /// Estimated q-quantile (q in [0, 1]); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let w = self.weighted();
        quantile_of(&w, q)
    }
}

/// The smallest value whose cumulative weight reaches q · total.
pub fn quantile_of(w: &Weighted, q: f64) -> Option<f64> {
    let total = w.total();
    if w.is_empty() {
        return None;
    }
    let target = q.clamp(0.0, 1.0) * total;
    let mut cum = 0.0;
    for (v, wt) in w.values.iter().zip(&w.weights) {
        cum += wt;
        if cum >= target {
            return Some(*v);
        }
    }
    w.values.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Max over a grid of query points of |estimated rank − true rank| / n.
    fn max_rank_error(sketch: &Kll, sorted: &[f64]) -> f64 {
        let n = sorted.len() as f64;
        let w = sketch.weighted();
        let mut worst = 0.0f64;
        for i in 1..200 {
            let x = sorted[(i * sorted.len()) / 200];
            let truth = sorted.partition_point(|&v| v <= x) as f64;
            let est: f64 = w
                .values
                .iter()
                .zip(&w.weights)
                .filter(|(v, _)| **v <= x)
                .map(|(_, wt)| wt)
                .sum();
            worst = worst.max((est - truth).abs() / n);
        }
        worst
    }

    fn data(kind: &str, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| match kind {
                "uniform" => rng.gen::<f64>(),
                // log-normal-ish: heavily skewed
                "skewed" => (rng.gen::<f64>() * 6.0).exp() * rng.gen::<f64>(),
                // 20 distinct values, geometric frequencies
                _ => {
                    let mut v = 0.0;
                    while v < 19.0 && rng.gen::<f64>() < 0.6 {
                        v += 1.0;
                    }
                    v
                }
            })
            .collect()
    }

    #[test]
    fn rank_error_within_bound_on_a_million_values_and_after_merging() {
        let bound = rank_error_bound(DEFAULT_K);
        for kind in ["uniform", "skewed", "duplicates"] {
            let values = data(kind, 1_000_000, 11);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);

            let mut single = Kll::new(DEFAULT_K, DEFAULT_C, 1);
            values.iter().for_each(|&v| single.update(v));
            assert_eq!(single.count(), 1_000_000);
            assert_eq!(single.weighted().total(), 1_000_000.0);
            let e = max_rank_error(&single, &sorted);
            eprintln!("{kind}: single-pass max rank error {e:.5} (bound {bound:.5})");
            assert!(e <= bound, "{kind}: single-pass rank error {e} > {bound}");

            let mut shards: Vec<Kll> = (0..8).map(|s| Kll::new(DEFAULT_K, DEFAULT_C, s)).collect();
            for (i, &v) in values.iter().enumerate() {
                shards[i % 8].update(v);
            }
            let mut merged = shards.remove(0);
            for s in &shards {
                merged.merge(s);
            }
            assert_eq!(merged.count(), 1_000_000);
            let e = max_rank_error(&merged, &sorted);
            eprintln!("{kind}: merged max rank error {e:.5} (bound {bound:.5})");
            assert!(e <= bound, "{kind}: merged rank error {e} > {bound}");
        }
    }

    #[test]
    fn small_samples_are_exact_and_deterministic() {
        let mut a = Kll::new(DEFAULT_K, DEFAULT_C, 7);
        for i in 0..1000 {
            a.update(f64::from(i));
        }
        assert!(a.is_exact());
        assert_eq!(a.quantile(0.5), Some(499.0));
        assert_eq!(a.rank(99.0), 100.0);
        let fill = |seed| {
            let mut s = Kll::new(64, DEFAULT_C, seed);
            for i in 0..10_000 {
                s.update(f64::from((i * 7919) % 10_007));
            }
            s
        };
        assert_eq!(fill(3), fill(3));
        assert!(!fill(3).is_exact());
        let rebuilt = Kll::from_levels(64, DEFAULT_C, fill(3).levels().to_vec(), 3);
        assert_eq!(rebuilt.count(), 10_000);
        assert_eq!(rebuilt.weighted(), fill(3).weighted());
    }
}
