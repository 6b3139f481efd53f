//! Pieces every learner here shares: the preprocessing hyperparameters, validation helpers,
//! seeded randomness, thread pools, distances, and a compact binary payload for large arrays.

use ingot_algo::preprocess::{Encoding, Matrix, PreprocessOptions, Preprocessor};
use ingot_algo::{Error, HyperparameterSpec, Result};
use ingot_core::Hyperparameters;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// `encoding` (shared preprocessing).
pub const ENCODING: HyperparameterSpec = HyperparameterSpec {
    name: "encoding",
    default: "onehot",
    description: "string column encoding: onehot or ordinal",
};
/// `max_categories` (shared preprocessing).
pub const MAX_CATEGORIES: HyperparameterSpec = HyperparameterSpec {
    name: "max_categories",
    default: "100",
    description: "most frequent categories kept per string column (one-hot/ordinal)",
};

/// The shared preprocessing choices, as resolved parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    pub encoding: Encoding,
    pub standardize: bool,
    pub max_categories: usize,
}

impl Preprocessing {
    /// Reads `encoding`, `standardize` (default `standardize`) and `max_categories`.
    pub fn from_hyperparameters(params: &Hyperparameters, standardize: bool) -> Result<Self> {
        Ok(Preprocessing {
            encoding: Encoding::parse(params.get("encoding").unwrap_or("onehot"))?,
            standardize: params.bool_or("standardize", standardize)?,
            max_categories: params.usize_or("max_categories", 100)?,
        })
    }

    /// Fits the shared preprocessing and transforms the training features.
    pub fn fit(&self, features: &arrow_array::RecordBatch) -> Result<(Preprocessor, Matrix)> {
        let options = PreprocessOptions {
            encoding: self.encoding,
            standardize: self.standardize,
            max_categories: self.max_categories,
        };
        let (preprocessor, matrix) = Preprocessor::fit_transform(features, &options)?;
        if matrix.rows == 0 {
            return Err(Error::EmptyTrainingData);
        }
        if matrix.cols == 0 {
            return Err(Error::NoFeatures);
        }
        Ok((preprocessor, matrix))
    }
}

/// An `InvalidHyperparameter` error.
pub fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidHyperparameter {
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// A positive integer hyperparameter.
pub fn positive(params: &Hyperparameters, name: &str, default: usize) -> Result<usize> {
    let value = params.usize_or(name, default)?;
    if value == 0 {
        return Err(invalid(name, "must be at least 1"));
    }
    Ok(value)
}

/// A finite real hyperparameter with `value > 0` (or `>= 0` when `zero_ok`).
pub fn nonnegative(
    params: &Hyperparameters,
    name: &str,
    default: f64,
    zero_ok: bool,
) -> Result<f64> {
    let value = params.f64_or(name, default)?;
    let ok = value.is_finite() && (value > 0.0 || (zero_ok && value == 0.0));
    if !ok {
        let bound = if zero_ok { ">= 0" } else { "> 0" };
        return Err(invalid(
            name,
            format!("must be a finite number {bound}, got {value}"),
        ));
    }
    Ok(value)
}

/// One of the listed words.
pub fn choice<'a>(
    params: &'a Hyperparameters,
    name: &str,
    default: &'a str,
    allowed: &[&str],
) -> Result<&'a str> {
    let value = params.get(name).unwrap_or(default);
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(invalid(
            name,
            format!("expected one of {}, got {value:?}", allowed.join(", ")),
        ))
    }
}

pub use ingot_algo::check_version;

/// The seeded generator of one purpose (`stream` separates independent uses of one seed).
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A standard normal draw (Box-Muller) from a seeded generator.
pub fn standard_normal(rng: &mut impl rand::Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Where parallel work runs: a pool of `FitContext::threads` workers, or rayon's global pool
/// (threads = 0, and at prediction time). Results never depend on it: parallel code here only
/// maps independent items or reduces fixed chunks in a fixed order.
#[derive(Debug, Default)]
pub struct Pool(Option<rayon::ThreadPool>);

impl Pool {
    /// A pool of `threads` workers (0: the global pool).
    pub fn new(threads: usize) -> Pool {
        if threads == 0 {
            return Pool(None);
        }
        Pool(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .ok(),
        )
    }

    /// Runs `f` (which may use rayon's parallel iterators) on this pool.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.0 {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}

/// Rows per parallel work item: fixed, so reductions are independent of the thread count.
pub const CHUNK_ROWS: usize = 4096;

/// Squared Euclidean distance. Four independent partial sums (added in a fixed order) let
/// the compiler use SIMD; the result is still deterministic.
#[inline]
pub fn squared_euclidean(a: &[f64], b: &[f64]) -> f64 {
    lanes(a, b, |x, y| (x - y) * (x - y))
}

/// Manhattan distance (four partial sums, like [`squared_euclidean`]).
#[inline]
pub fn manhattan(a: &[f64], b: &[f64]) -> f64 {
    lanes(a, b, |x, y| (x - y).abs())
}

/// Dot product (four partial sums, like [`squared_euclidean`]).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    lanes(a, b, |x, y| x * y)
}

#[inline(always)]
fn lanes(a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += f(x[l], y[l]);
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += f(*x, *y);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Index of the smallest value (first on ties).
pub fn argmin(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v < values[best] {
            best = i;
        }
    }
    best
}

/// A payload of a JSON header followed by raw little-endian f64 arrays, for models whose
/// arrays would make JSON slow (k-NN keeps its training rows).
pub fn pack<H: Serialize>(header: &H, arrays: &[&[f64]]) -> Vec<u8> {
    // Plain structs of numbers and strings always serialize.
    let header = serde_json::to_vec(header).unwrap_or_default();
    let size: usize = arrays.iter().map(|a| 8 + 8 * a.len()).sum();
    let mut out = Vec::with_capacity(12 + header.len() + size);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&(arrays.len() as u32).to_le_bytes());
    for array in arrays {
        out.extend_from_slice(&(array.len() as u64).to_le_bytes());
        for v in *array {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// Reverses [`pack`]; errors name what is malformed.
pub fn unpack<H: for<'de> Deserialize<'de>>(
    algorithm: &'static str,
    payload: &[u8],
) -> Result<(H, Vec<Vec<f64>>)> {
    let bad = |reason: &str| Error::InvalidPayload {
        algorithm,
        reason: reason.to_string(),
    };
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let end = at.checked_add(n).filter(|&e| e <= payload.len());
        let end = end.ok_or_else(|| bad("truncated"))?;
        let slice = &payload[at..end];
        at = end;
        Ok(slice)
    };
    let header_len = u64::from_le_bytes(take(8)?.try_into().map_err(|_| bad("length"))?);
    let header_len = usize::try_from(header_len).map_err(|_| bad("header length"))?;
    let header: H =
        serde_json::from_slice(take(header_len)?).map_err(|e| bad(&format!("header: {e}")))?;
    let count = u32::from_le_bytes(take(4)?.try_into().map_err(|_| bad("count"))?);
    let mut arrays = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = u64::from_le_bytes(take(8)?.try_into().map_err(|_| bad("length"))?);
        let bytes = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_mul(8))
            .ok_or_else(|| bad("array length"))?;
        let raw = take(bytes)?;
        arrays.push(
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        );
    }
    if at != payload.len() {
        return Err(bad("trailing bytes"));
    }
    Ok((header, arrays))
}

/// Parses a JSON payload, naming the algorithm on failure.
pub fn from_json<T: for<'de> Deserialize<'de>>(
    algorithm: &'static str,
    payload: &[u8],
) -> Result<T> {
    serde_json::from_slice(payload).map_err(|e| Error::InvalidPayload {
        algorithm,
        reason: e.to_string(),
    })
}

/// Serializes a payload (plain structs of numbers and strings always serialize).
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Checks a fitted preprocessor loaded from a payload.
pub fn check_preprocessor(algorithm: &'static str, preprocessor: &Preprocessor) -> Result<()> {
    preprocessor
        .validate()
        .map_err(|reason| Error::InvalidPayload { algorithm, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_payloads_round_trip_and_reject_damage() {
        let header = vec!["a".to_string()];
        let bytes = pack(&header, &[&[1.5, -0.0, f64::MAX], &[]]);
        let (h, arrays): (Vec<String>, _) = unpack("t", &bytes).unwrap();
        assert_eq!(h, header);
        assert_eq!(arrays, vec![vec![1.5, -0.0, f64::MAX], vec![]]);
        for cut in [0, 5, bytes.len() - 1] {
            let err = unpack::<Vec<String>>("t", &bytes[..cut]).unwrap_err();
            assert!(err.to_string().contains("invalid t model payload"), "{err}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(unpack::<Vec<String>>("t", &longer).is_err());
    }

    #[test]
    fn hyperparameter_helpers_name_the_key() {
        let hp = Hyperparameters::parse_pairs(["k=0", "lr=-1", "metric=hamming"]).unwrap();
        assert!(positive(&hp, "k", 5).unwrap_err().to_string().contains('k'));
        let err = nonnegative(&hp, "lr", 0.1, false).unwrap_err().to_string();
        assert!(err.contains("lr"), "{err}");
        let err = choice(&hp, "metric", "euclidean", &["euclidean", "cosine"]).unwrap_err();
        assert!(err.to_string().contains("hamming"), "{err}");
        assert_eq!(positive(&hp, "absent", 5).unwrap(), 5);
    }

    #[test]
    fn distances() {
        assert_eq!(squared_euclidean(&[0.0, 3.0], &[4.0, 0.0]), 25.0);
        assert_eq!(manhattan(&[0.0, 3.0], &[4.0, 0.0]), 7.0);
        assert_eq!(argmin(&[3.0, 1.0, 1.0]), 1);
    }
}
