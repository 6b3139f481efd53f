//! The k-means numerics shared by `kmeans` and the k-NN IVF index: greedy k-means++ seeding,
//! Lloyd iterations, mini-batch updates and parallel nearest-centroid assignment. Parallel
//! work is split into fixed row chunks reduced in order, so results ignore the thread count.

use std::sync::atomic::{AtomicBool, Ordering};

use ingot_algo::preprocess::Matrix;
use ingot_algo::{Error, Result};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::common::{squared_euclidean, Pool, CHUNK_ROWS};

/// Fitted centroids and their quality on the data they were fitted to.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// `k × d`, row-major.
    pub centroids: Vec<f64>,
    /// Sum of squared distances of every row to its nearest centroid.
    pub inertia: f64,
    /// Iterations (Lloyd) or mini-batch steps run.
    pub iterations: usize,
}

fn cancelled(cancel: &AtomicBool) -> Result<()> {
    if cancel.load(Ordering::Relaxed) {
        Err(Error::Cancelled)
    } else {
        Ok(())
    }
}

/// Index and squared distance of the nearest of `k` centroids.
#[inline]
pub fn nearest(row: &[f64], centroids: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, c) in centroids.chunks_exact(d.max(1)).enumerate() {
        let dist = squared_euclidean(row, c);
        if dist < best.1 {
            best = (j, dist);
        }
    }
    best
}

/// Nearest centroid and squared distance of every row.
pub fn assign(x: &Matrix, centroids: &[f64]) -> (Vec<usize>, Vec<f64>) {
    let d = x.cols;
    let pairs: Vec<(usize, f64)> = x
        .data
        .par_chunks(d.max(1) * CHUNK_ROWS)
        .flat_map_iter(|chunk| {
            chunk
                .chunks_exact(d.max(1))
                .map(|row| nearest(row, centroids, d))
                .collect::<Vec<_>>()
        })
        .collect();
    pairs.into_iter().unzip()
}

/// Sum of squared distances to the nearest centroid.
pub fn inertia(x: &Matrix, centroids: &[f64]) -> f64 {
    let d = x.cols;
    let partial: Vec<f64> = x
        .data
        .par_chunks(d.max(1) * CHUNK_ROWS)
        .map(|chunk| {
            chunk
                .chunks_exact(d.max(1))
                .map(|row| nearest(row, centroids, d).1)
                .sum::<f64>()
        })
        .collect();
    partial.iter().sum()
}

/// Sum over rows of `min(closest[i], |x_i - c|²)`: the potential if `c` joined the centres.
fn potential_with(x: &Matrix, closest: &[f64], c: &[f64]) -> f64 {
    let d = x.cols;
    let partial: Vec<f64> = x
        .data
        .par_chunks(d * CHUNK_ROWS)
        .zip(closest.par_chunks(CHUNK_ROWS))
        .map(|(rows, best)| {
            rows.chunks_exact(d)
                .zip(best)
                .map(|(row, b)| b.min(squared_euclidean(row, c)))
                .sum::<f64>()
        })
        .collect();
    partial.iter().sum()
}

/// Draws a row with probability proportional to `weights` (uniformly when they sum to 0).
fn sample_weighted(weights: &[f64], chunk_sums: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let total: f64 = chunk_sums.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return rng.gen_range(0..weights.len());
    }
    let mut r = rng.gen::<f64>() * total;
    for (c, s) in chunk_sums.iter().enumerate() {
        if r < *s {
            let start = c * CHUNK_ROWS;
            let end = (start + CHUNK_ROWS).min(weights.len());
            for (i, w) in weights[start..end].iter().enumerate() {
                if r < *w {
                    return start + i;
                }
                r -= w;
            }
            return end - 1;
        }
        r -= s;
    }
    weights.len() - 1
}

/// Greedy k-means++ seeding: each new centre is the best (lowest potential) of
/// `2 + ln k` candidates drawn with probability proportional to the squared distance to the
/// centres chosen so far.
pub fn kmeans_plus_plus(
    x: &Matrix,
    k: usize,
    rng: &mut ChaCha8Rng,
    cancel: &AtomicBool,
) -> Result<Vec<f64>> {
    let (n, d) = (x.rows, x.cols);
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centroids = Vec::with_capacity(k * d);
    let first = rng.gen_range(0..n);
    centroids.extend_from_slice(x.row(first));
    let mut closest: Vec<f64> = x
        .data
        .par_chunks(d)
        .map(|row| squared_euclidean(row, x.row(first)))
        .collect();
    while centroids.len() < k * d {
        cancelled(cancel)?;
        let chunk_sums: Vec<f64> = closest
            .par_chunks(CHUNK_ROWS)
            .map(|c| c.iter().sum::<f64>())
            .collect();
        let candidates: Vec<usize> = (0..trials)
            .map(|_| sample_weighted(&closest, &chunk_sums, rng))
            .collect();
        let mut best = (candidates[0], f64::INFINITY);
        for &c in &candidates {
            let potential = potential_with(x, &closest, x.row(c));
            if potential < best.1 {
                best = (c, potential);
            }
        }
        let chosen = x.row(best.0);
        centroids.extend_from_slice(chosen);
        closest
            .par_chunks_mut(CHUNK_ROWS)
            .zip(x.data.par_chunks(d * CHUNK_ROWS))
            .for_each(|(best, rows)| {
                for (b, row) in best.iter_mut().zip(rows.chunks_exact(d)) {
                    *b = b.min(squared_euclidean(row, chosen));
                }
            });
    }
    Ok(centroids)
}

/// `k` distinct rows chosen uniformly (the `random` initialisation).
pub fn random_rows(x: &Matrix, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let picks = rand::seq::index::sample(rng, x.rows, k.min(x.rows));
    let mut indices = picks.into_vec();
    indices.sort_unstable();
    let mut centroids = Vec::with_capacity(k * x.cols);
    for i in indices {
        centroids.extend_from_slice(x.row(i));
    }
    centroids
}

/// Mean of the per-feature variances (scikit-learn's scale for the tolerance).
pub fn mean_variance(x: &Matrix) -> f64 {
    let (n, d) = (x.rows as f64, x.cols);
    let mut sum = vec![0.0; d];
    let mut sq = vec![0.0; d];
    for row in x.data.chunks_exact(d) {
        for j in 0..d {
            sum[j] += row[j];
            sq[j] += row[j] * row[j];
        }
    }
    (0..d)
        .map(|j| (sq[j] / n - (sum[j] / n).powi(2)).max(0.0))
        .sum::<f64>()
        / d as f64
}

/// Lloyd's algorithm from `centroids` until the squared centre shift is at most `tol_abs` or
/// no label changes, accelerated with Hamerly's bounds: each row keeps an upper bound on the
/// distance to its centre and a lower bound on the distance to any other, and rows whose
/// bounds prove the assignment cannot change skip the distance computations. The clustering
/// is Lloyd's. An empty cluster takes the row farthest from its centre. `on_iteration` sees
/// (iteration, the sum of the squared upper bounds: the inertia or a little above).
pub fn lloyd(
    pool: &Pool,
    x: &Matrix,
    mut centroids: Vec<f64>,
    max_iter: usize,
    tol_abs: f64,
    cancel: &AtomicBool,
    mut on_iteration: impl FnMut(usize, f64),
) -> Result<Clustering> {
    let d = x.cols;
    let k = centroids.len() / d;
    let n = x.rows;
    let mut labels: Vec<u32> = vec![u32::MAX; n];
    let mut upper = vec![f64::INFINITY; n];
    let mut lower = vec![0.0f64; n];
    let mut iterations = 0;
    for iteration in 1..=max_iter {
        cancelled(cancel)?;
        iterations = iteration;
        // Half the distance from each centre to its nearest other centre.
        let half: Vec<f64> = (0..k)
            .map(|j| {
                (0..k)
                    .filter(|&o| o != j)
                    .map(|o| {
                        squared_euclidean(
                            &centroids[j * d..(j + 1) * d],
                            &centroids[o * d..(o + 1) * d],
                        )
                    })
                    .fold(f64::INFINITY, f64::min)
                    .sqrt()
                    / 2.0
            })
            .collect();
        type Partial = (Vec<f64>, Vec<usize>, f64, usize);
        let (current, half) = (&centroids, &half);
        let (labels_ref, upper_ref, lower_ref) = (&mut labels, &mut upper, &mut lower);
        let partial: Vec<Partial> = pool.run(|| {
            labels_ref
                .par_chunks_mut(CHUNK_ROWS)
                .zip(upper_ref.par_chunks_mut(CHUNK_ROWS))
                .zip(lower_ref.par_chunks_mut(CHUNK_ROWS))
                .zip(x.data.par_chunks(d * CHUNK_ROWS))
                .map(|(((labels, upper), lower), rows)| {
                    let mut sums = vec![0.0; k * d];
                    let mut counts = vec![0usize; k];
                    let (mut inertia, mut changed) = (0.0, 0usize);
                    for (((label, u), l), row) in labels
                        .iter_mut()
                        .zip(upper.iter_mut())
                        .zip(lower.iter_mut())
                        .zip(rows.chunks_exact(d))
                    {
                        let assigned = *label as usize;
                        let bound = if assigned < k {
                            half[assigned].max(*l)
                        } else {
                            -1.0
                        };
                        if *u > bound && assigned < k {
                            *u = squared_euclidean(row, &current[assigned * d..(assigned + 1) * d])
                                .sqrt();
                        }
                        if *u > bound {
                            let (mut first, mut second) = ((0usize, f64::INFINITY), f64::INFINITY);
                            for (j, c) in current.chunks_exact(d).enumerate() {
                                let dist = squared_euclidean(row, c);
                                if dist < first.1 {
                                    second = first.1;
                                    first = (j, dist);
                                } else if dist < second {
                                    second = dist;
                                }
                            }
                            if first.0 != assigned {
                                *label = first.0 as u32;
                                changed += 1;
                            }
                            *u = first.1.sqrt();
                            *l = second.sqrt();
                        }
                        let j = *label as usize;
                        for (s, v) in sums[j * d..(j + 1) * d].iter_mut().zip(row) {
                            *s += v;
                        }
                        counts[j] += 1;
                        inertia += *u * *u;
                    }
                    (sums, counts, inertia, changed)
                })
                .collect()
        });
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0usize; k];
        let (mut total, mut changed) = (0.0, 0usize);
        for (s, c, i, ch) in partial {
            for (a, b) in sums.iter_mut().zip(&s) {
                *a += b;
            }
            for (a, b) in counts.iter_mut().zip(&c) {
                *a += b;
            }
            total += i;
            changed += ch;
        }
        on_iteration(iteration, total);
        if changed == 0 {
            break;
        }
        let empty = counts.contains(&0);
        let dists = if empty {
            pool.run(|| assign(x, &centroids).1)
        } else {
            Vec::new()
        };
        let mut taken: Vec<usize> = Vec::new();
        let mut shift = 0.0;
        let mut moved = vec![0.0; k];
        for j in 0..k {
            let new: Vec<f64> = if counts[j] == 0 {
                // Relocate an empty cluster to the farthest row not used yet.
                let far = (0..n).filter(|i| !taken.contains(i)).fold(0, |b, i| {
                    if dists[i] > dists[b] {
                        i
                    } else {
                        b
                    }
                });
                taken.push(far);
                x.row(far).to_vec()
            } else {
                sums[j * d..(j + 1) * d]
                    .iter()
                    .map(|s| s / counts[j] as f64)
                    .collect()
            };
            let step = squared_euclidean(&new, &centroids[j * d..(j + 1) * d]);
            shift += step;
            moved[j] = step.sqrt();
            centroids[j * d..(j + 1) * d].copy_from_slice(&new);
        }
        if shift <= tol_abs {
            break;
        }
        // Keep the bounds valid for the moved centres (or reset them after a relocation).
        let (far_j, far) =
            moved
                .iter()
                .enumerate()
                .fold((0, 0.0f64), |b, (j, m)| if *m > b.1 { (j, *m) } else { b });
        let runner_up = moved
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != far_j)
            .fold(0.0f64, |b, (_, m)| b.max(*m));
        let moved = &moved;
        let (labels_ref, upper_ref, lower_ref) = (&labels, &mut upper, &mut lower);
        pool.run(|| {
            upper_ref
                .par_iter_mut()
                .zip(lower_ref.par_iter_mut())
                .zip(labels_ref.par_iter())
                .for_each(|((u, l), &label)| {
                    let j = label as usize;
                    if empty {
                        *u = f64::INFINITY;
                        *l = 0.0;
                    } else {
                        *u += moved[j];
                        *l -= if j == far_j { runner_up } else { far };
                    }
                });
        });
    }
    let inertia = pool.run(|| inertia(x, &centroids));
    Ok(Clustering {
        centroids,
        inertia,
        iterations,
    })
}

/// Mini-batch k-means (per-centre learning rate 1/count) for `steps` batches of
/// `batch_size` rows drawn with replacement; stops early when a step moves the centres by at
/// most `tol_abs` (squared).
pub fn minibatch(
    x: &Matrix,
    mut centroids: Vec<f64>,
    steps: usize,
    batch_size: usize,
    tol_abs: f64,
    rng: &mut ChaCha8Rng,
    cancel: &AtomicBool,
) -> Result<Clustering> {
    let d = x.cols;
    let k = centroids.len() / d;
    let mut counts = vec![0usize; k];
    let mut iterations = 0;
    for step in 1..=steps {
        cancelled(cancel)?;
        iterations = step;
        let batch: Vec<usize> = (0..batch_size).map(|_| rng.gen_range(0..x.rows)).collect();
        let labels: Vec<usize> = batch
            .par_iter()
            .map(|&i| nearest(x.row(i), &centroids, d).0)
            .collect();
        let before = centroids.clone();
        for (&i, &j) in batch.iter().zip(&labels) {
            counts[j] += 1;
            let eta = 1.0 / counts[j] as f64;
            for (c, v) in centroids[j * d..(j + 1) * d].iter_mut().zip(x.row(i)) {
                *c += eta * (v - *c);
            }
        }
        if squared_euclidean(&before, &centroids) <= tol_abs && step > 1 {
            break;
        }
    }
    let inertia = inertia(x, &centroids);
    Ok(Clustering {
        centroids,
        inertia,
        iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::rng;

    /// Three tight blobs around (0,0), (10,0) and (0,10).
    fn blobs(per: usize) -> Matrix {
        let mut data = Vec::new();
        let mut r = rng(7, 0);
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for _ in 0..per {
                data.push(cx + r.gen::<f64>() - 0.5);
                data.push(cy + r.gen::<f64>() - 0.5);
            }
        }
        Matrix {
            rows: 3 * per,
            cols: 2,
            data,
        }
    }

    #[test]
    fn lloyd_finds_the_blobs() {
        let x = blobs(200);
        let stop = AtomicBool::new(false);
        let init = kmeans_plus_plus(&x, 3, &mut rng(1, 0), &stop).unwrap();
        let fit = lloyd(&Pool::default(), &x, init, 100, 1e-10, &stop, |_, _| {}).unwrap();
        let mut centres: Vec<(i64, i64)> = fit
            .centroids
            .chunks(2)
            .map(|c| (c[0].round() as i64, c[1].round() as i64))
            .collect();
        centres.sort_unstable();
        assert_eq!(centres, vec![(0, 0), (0, 10), (10, 0)]);
        // Uniform noise in a unit square has variance 1/12 per axis.
        let per_row = fit.inertia / x.rows as f64;
        assert!((per_row - 2.0 / 12.0).abs() < 0.03, "{per_row}");
        assert!((inertia(&x, &fit.centroids) - fit.inertia).abs() < 1e-9);
    }

    #[test]
    fn minibatch_gets_close_to_lloyd() {
        let x = blobs(300);
        let stop = AtomicBool::new(false);
        let init = kmeans_plus_plus(&x, 3, &mut rng(2, 0), &stop).unwrap();
        let full = lloyd(
            &Pool::default(),
            &x,
            init.clone(),
            100,
            0.0,
            &stop,
            |_, _| {},
        )
        .unwrap();
        let mb = minibatch(&x, init, 200, 64, 0.0, &mut rng(2, 1), &stop).unwrap();
        assert!(
            mb.inertia < full.inertia * 1.05,
            "{} vs {}",
            mb.inertia,
            full.inertia
        );
    }

    #[test]
    fn assignment_and_cancellation() {
        let x = blobs(10);
        let (labels, dists) = assign(&x, &[0.0, 0.0, 10.0, 0.0, 0.0, 10.0]);
        assert_eq!(labels[0], 0);
        assert_eq!(labels[15], 1);
        assert_eq!(labels[25], 2);
        assert!(dists.iter().all(|d| *d < 0.5));
        let stop = AtomicBool::new(true);
        let err = lloyd(
            &Pool::default(),
            &x,
            vec![0.0; 6],
            10,
            0.0,
            &stop,
            |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(err, Error::Cancelled));
    }
}
