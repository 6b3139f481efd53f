//! The k-NN index: training rows (unit-normalized for cosine) stored contiguously, either as
//! one list scanned exhaustively or grouped into k-means inverted lists (IVF).

use std::sync::atomic::AtomicBool;

use ingot_algo::preprocess::Matrix;
use ingot_algo::Result;
use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use crate::common::{self, manhattan, squared_euclidean, Pool};
use crate::kmeans::core::{assign, kmeans_plus_plus, lloyd};

/// The distance between rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// L2.
    Euclidean,
    /// 1 - cosine similarity.
    Cosine,
    /// L1.
    Manhattan,
}

/// Dot product summed in feature order: the block kernel of [`Index::search_all`] adds the
/// very same terms in the very same order, so both paths rank neighbours identically.
#[inline]
fn ordered_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        s += x * y;
    }
    s
}

/// Queries scored together against each row by the exact index.
const BLOCK: usize = 8;

/// Keeps the `k` lowest `(score, row)` pairs, lower row first on ties.
#[inline]
fn offer(best: &mut Vec<(f64, usize)>, k: usize, score: f64, row: usize) {
    if best.len() == k && score >= best[k - 1].0 {
        return;
    }
    let at = best.partition_point(|b| b.0 <= score);
    best.insert(at, (score, row));
    best.truncate(k);
}

fn normalize(row: &mut [f64]) {
    let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        for v in row {
            *v /= norm;
        }
    }
}

/// Indexed rows and, for IVF, the list centroids and boundaries.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    metric: Metric,
    d: usize,
    /// `n × d`, grouped by list.
    points: Vec<f64>,
    /// `lists × d` (empty for an exact index).
    centroids: Vec<f64>,
    /// `lists + 1` boundaries into the rows (`[0, n]` for an exact index).
    offsets: Vec<usize>,
    /// Squared norm of every row (derived, not stored).
    norms: Vec<f64>,
}

impl Index {
    /// An exhaustive index over `x`; returns the row order (identity).
    pub fn exact(mut x: Matrix, metric: Metric) -> (Index, Vec<usize>) {
        if metric == Metric::Cosine {
            x.data.chunks_exact_mut(x.cols).for_each(normalize);
        }
        let n = x.rows;
        let index = Index::assemble(metric, x.cols, x.data, Vec::new(), vec![0, n]);
        (index, (0..n).collect())
    }

    /// An IVF index: `nlist` k-means centroids fitted on a seeded sample of at most
    /// `32 × nlist` rows (10 Lloyd iterations), every row filed under its nearest centroid.
    /// Returns the original row of every indexed row.
    pub fn ivf(
        pool: &Pool,
        mut x: Matrix,
        metric: Metric,
        nlist: usize,
        seed: u64,
        cancel: &AtomicBool,
    ) -> Result<(Index, Vec<usize>)> {
        if metric == Metric::Cosine {
            x.data.chunks_exact_mut(x.cols).for_each(normalize);
        }
        let (n, d) = (x.rows, x.cols);
        let mut rng = common::rng(seed, 11);
        let sample_size = (32 * nlist).min(n);
        let mut rows = rand::seq::index::sample(&mut rng, n, sample_size).into_vec();
        rows.sort_unstable();
        let sample = Matrix {
            rows: sample_size,
            cols: d,
            data: rows.iter().flat_map(|&i| x.row(i).to_vec()).collect(),
        };
        let init = pool.run(|| kmeans_plus_plus(&sample, nlist, &mut rng, cancel))?;
        let fit = lloyd(pool, &sample, init, 10, 0.0, cancel, |_, _| {})?;
        let (labels, _) = pool.run(|| assign(&x, &fit.centroids));
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (labels[i], i));
        let mut offsets = vec![0usize; nlist + 1];
        for &l in &labels {
            offsets[l + 1] += 1;
        }
        for j in 0..nlist {
            offsets[j + 1] += offsets[j];
        }
        let mut points = Vec::with_capacity(n * d);
        for &i in &order {
            points.extend_from_slice(x.row(i));
        }
        let index = Index::assemble(metric, d, points, fit.centroids, offsets);
        Ok((index, order))
    }

    /// Rebuilds an index from its payload arrays, checking their shapes.
    pub fn from_parts(
        metric: Metric,
        d: usize,
        points: Vec<f64>,
        centroids: Vec<f64>,
        offsets: Vec<f64>,
    ) -> std::result::Result<Index, String> {
        if d == 0 || !points.len().is_multiple_of(d) || !centroids.len().is_multiple_of(d) {
            return Err(format!("arrays are not multiples of {d} features"));
        }
        let n = points.len() / d;
        let offsets: Vec<usize> = offsets.iter().map(|&o| o as usize).collect();
        let lists = centroids.len() / d;
        let expected = if lists == 0 { 2 } else { lists + 1 };
        let monotone = offsets.windows(2).all(|w| w[0] <= w[1]);
        if offsets.len() != expected
            || !monotone
            || offsets.first() != Some(&0)
            || offsets.last() != Some(&n)
        {
            return Err("inconsistent list boundaries".to_string());
        }
        Ok(Index::assemble(metric, d, points, centroids, offsets))
    }

    fn assemble(
        metric: Metric,
        d: usize,
        points: Vec<f64>,
        centroids: Vec<f64>,
        offsets: Vec<usize>,
    ) -> Index {
        let norms = points.chunks_exact(d).map(|p| ordered_dot(p, p)).collect();
        Index {
            metric,
            d,
            points,
            centroids,
            offsets,
            norms,
        }
    }

    /// A monotone stand-in for the distance from `q` to row `i`: `|p|² - 2 p·q` (Euclidean),
    /// `1 - p·q` of unit vectors (cosine), L1 (Manhattan).
    #[inline]
    fn score(&self, q: &[f64], i: usize) -> f64 {
        let p = &self.points[i * self.d..(i + 1) * self.d];
        match self.metric {
            Metric::Euclidean => self.norms[i] - 2.0 * ordered_dot(p, q),
            Metric::Cosine => 1.0 - ordered_dot(p, q),
            Metric::Manhattan => manhattan(p, q),
        }
    }

    /// The `k` nearest rows of every row of `x` (see [`Index::search`]), in parallel. The
    /// exact index scores blocks of queries against each row at once (Euclidean, cosine).
    pub fn search_all(&self, x: &Matrix, k: usize, nprobe: usize) -> Vec<Vec<usize>> {
        let d = self.d;
        let blocked = self.centroids.is_empty() && self.metric != Metric::Manhattan;
        let blocks: Vec<Vec<Vec<usize>>> = x
            .data
            .par_chunks(d * BLOCK)
            .map(|rows| {
                if !blocked {
                    return rows
                        .chunks_exact(d)
                        .map(|q| self.search(q, k, nprobe))
                        .collect();
                }
                let b = rows.len() / d;
                let mut qt = vec![0.0; d * b];
                for (j, q) in rows.chunks_exact(d).enumerate() {
                    let mut q = q.to_vec();
                    if self.metric == Metric::Cosine {
                        normalize(&mut q);
                    }
                    for f in 0..d {
                        qt[f * b + j] = q[f];
                    }
                }
                let mut best: Vec<Vec<(f64, usize)>> = vec![Vec::with_capacity(k + 1); b];
                let mut acc = vec![0.0; b];
                for (i, p) in self.points.chunks_exact(d).enumerate() {
                    acc.iter_mut().for_each(|a| *a = 0.0);
                    for (f, pf) in p.iter().enumerate() {
                        for (a, qf) in acc.iter_mut().zip(&qt[f * b..(f + 1) * b]) {
                            *a += pf * qf;
                        }
                    }
                    for (j, dotj) in acc.iter().enumerate() {
                        let score = match self.metric {
                            Metric::Euclidean => self.norms[i] - 2.0 * dotj,
                            _ => 1.0 - dotj,
                        };
                        offer(&mut best[j], k, score, i);
                    }
                }
                best.into_iter()
                    .map(|b| b.into_iter().map(|(_, i)| i).collect())
                    .collect()
            })
            .collect();
        blocks.into_iter().flatten().collect()
    }

    /// The payload arrays: points, centroids and list boundaries.
    pub fn parts(&self) -> (&[f64], &[f64], Vec<f64>) {
        let offsets = self.offsets.iter().map(|&o| o as f64).collect();
        (&self.points, &self.centroids, offsets)
    }

    /// Number of indexed rows.
    pub fn len(&self) -> usize {
        self.points.len() / self.d.max(1)
    }

    /// Whether no rows are indexed.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Number of inverted lists (0 for an exact index).
    pub fn lists(&self) -> usize {
        self.centroids.len() / self.d.max(1)
    }

    /// The (up to) `k` nearest indexed rows of `query`, nearest first (ties: lower row first).
    /// IVF scans the `nprobe` lists with the nearest centroids.
    pub fn search(&self, query: &[f64], k: usize, nprobe: usize) -> Vec<usize> {
        let mut q = query.to_vec();
        if self.metric == Metric::Cosine {
            normalize(&mut q);
        }
        let ranges: Vec<(usize, usize)> = if self.centroids.is_empty() {
            vec![(0, self.len())]
        } else {
            let mut by_distance: Vec<(f64, usize)> = self
                .centroids
                .chunks_exact(self.d)
                .enumerate()
                .map(|(j, c)| (squared_euclidean(&q, c), j))
                .collect();
            by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut ranges: Vec<(usize, usize)> = by_distance
                .iter()
                .take(nprobe)
                .map(|&(_, j)| (self.offsets[j], self.offsets[j + 1]))
                .collect();
            ranges.sort_unstable();
            ranges
        };
        let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
        for (start, end) in ranges {
            for i in start..end {
                offer(&mut best, k, self.score(&q, i), i);
            }
        }
        best.into_iter().map(|(_, i)| i).collect()
    }
}
