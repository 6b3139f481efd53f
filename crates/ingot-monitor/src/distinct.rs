//! Distinct counting: exact (a set of 64-bit hashes) up to [`EXACT_CAP`] values, then a
//! HyperLogLog with 2^14 registers (standard error 1.04/√16384 ≈ 0.81%). Both merge.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Distinct values counted exactly before switching to HyperLogLog.
pub const EXACT_CAP: usize = 10_000;
const P: u32 = 14;
const M: usize = 1 << P;

/// A 64-bit hash of bytes (FNV-1a folded through a splitmix64 finalizer), stable across
/// runs and platforms.
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// splitmix64's finalizer: spreads the bits of an integer (e.g. an f64's bit pattern).
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fast, deterministic hasher for our maps: FNV-1a over bytes, integers xor-ed in, and a
/// splitmix64 finish (keys here are short strings or already-mixed hashes; no DoS exposure:
/// the data is the user's own).
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = self.0.rotate_left(5) ^ v;
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn finish(&self) -> u64 {
        mix(self.0)
    }
}

/// Hash builder of [`FastHasher`].
pub type FastBuild = BuildHasherDefault<FastHasher>;
/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, FastBuild>;

/// Exact-then-approximate distinct counter over hashes.
#[derive(Debug, Clone)]
pub enum Distinct {
    Exact(HashSet<u64, FastBuild>),
    Sketch(Box<[u8]>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(HashSet::default())
    }
}

impl Distinct {
    /// Adds a hashed value.
    pub fn insert(&mut self, hash: u64) {
        match self {
            Distinct::Exact(set) => {
                set.insert(hash);
                if set.len() > EXACT_CAP {
                    let mut registers = vec![0u8; M].into_boxed_slice();
                    for &h in set.iter() {
                        hll_insert(&mut registers, h);
                    }
                    *self = Distinct::Sketch(registers);
                }
            }
            Distinct::Sketch(registers) => hll_insert(registers, hash),
        }
    }

    /// Whether the count is exact.
    pub fn is_exact(&self) -> bool {
        matches!(self, Distinct::Exact(_))
    }

    /// The (estimated) number of distinct values.
    pub fn count(&self) -> u64 {
        match self {
            Distinct::Exact(set) => set.len() as u64,
            Distinct::Sketch(registers) => hll_estimate(registers).round() as u64,
        }
    }

    /// The union with another counter.
    pub fn merge(&mut self, other: &Distinct) {
        match other {
            Distinct::Exact(set) => set.iter().for_each(|&h| self.insert(h)),
            Distinct::Sketch(theirs) => {
                if let Distinct::Exact(set) = self {
                    let mut registers = vec![0u8; M].into_boxed_slice();
                    set.iter().for_each(|&h| hll_insert(&mut registers, h));
                    *self = Distinct::Sketch(registers);
                }
                if let Distinct::Sketch(ours) = self {
                    for (a, b) in ours.iter_mut().zip(theirs.iter()) {
                        *a = (*a).max(*b);
                    }
                }
            }
        }
    }
}

fn hll_insert(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - P)) as usize;
    let rest = hash << P;
    let rank = (rest.leading_zeros() + 1).min(64 - P + 1) as u8;
    if registers[index] < rank {
        registers[index] = rank;
    }
}

fn hll_estimate(registers: &[u8]) -> f64 {
    let m = registers.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
    let raw = alpha * m * m / sum;
    let zeros = registers.iter().filter(|&&r| r == 0).count();
    if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_below_the_cap_and_close_above() {
        let mut d = Distinct::default();
        for i in 0..5_000u64 {
            d.insert(mix(i % 1234));
        }
        assert!(d.is_exact());
        assert_eq!(d.count(), 1234);
        for n in [20_000u64, 300_000] {
            let mut d = Distinct::default();
            for i in 0..n {
                d.insert(mix(i));
            }
            assert!(!d.is_exact());
            let err = (d.count() as f64 - n as f64).abs() / n as f64;
            assert!(err < 0.03, "{n}: {}", d.count());
        }
    }

    #[test]
    fn merge_is_the_union() {
        let (mut a, mut b) = (Distinct::default(), Distinct::default());
        for i in 0..8_000u64 {
            a.insert(mix(i));
            b.insert(mix(i + 4_000));
        }
        let mut exact = a.clone();
        exact.merge(&b);
        // 12 000 distinct: past the cap, so estimated
        let err = (exact.count() as f64 - 12_000.0).abs() / 12_000.0;
        assert!(err < 0.03, "{}", exact.count());
        let (mut c, mut d) = (Distinct::default(), Distinct::default());
        (0..100u64).for_each(|i| c.insert(mix(i)));
        (50..120u64).for_each(|i| d.insert(mix(i)));
        c.merge(&d);
        assert_eq!(c.count(), 120);
        assert_eq!(hash_bytes(b"abc"), hash_bytes(b"abc"));
        assert_ne!(hash_bytes(b"abc"), hash_bytes(b"abd"));
    }
}
