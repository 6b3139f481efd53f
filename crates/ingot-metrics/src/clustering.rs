//! Clustering metrics: inertia (within-cluster sum of squares) and the silhouette score.
//!
//! Points are a row-major `n × dims` matrix; cluster labels are arbitrary `usize` values.

use crate::{check_finite, check_pair, Error, Result};

fn check_points(points: &[f64], dims: usize, labels: &[usize]) -> Result<usize> {
    if dims == 0 {
        return Err(Error::InvalidParameter {
            name: "dims",
            reason: "points need at least one dimension".to_string(),
        });
    }
    check_pair(labels.len() * dims, points.len(), "points")?;
    check_finite(points, dims, "point")?;
    Ok(labels.len())
}

/// Sum over points of the squared Euclidean distance to the centroid of their cluster
/// (scikit-learn's `KMeans.inertia_`). `centroids` is row-major `clusters × dims`.
pub fn inertia(points: &[f64], dims: usize, labels: &[usize], centroids: &[f64]) -> Result<f64> {
    check_points(points, dims, labels)?;
    if centroids.is_empty() || !centroids.len().is_multiple_of(dims) {
        return Err(Error::InvalidParameter {
            name: "centroids",
            reason: format!("{} values are not whole rows of {dims}", centroids.len()),
        });
    }
    check_finite(centroids, dims, "centroid")?;
    let clusters = centroids.len() / dims;
    let mut total = 0.0;
    for (row, (point, &label)) in points.chunks_exact(dims).zip(labels).enumerate() {
        if label >= clusters {
            return Err(Error::ClassOutOfRange {
                row,
                index: label,
                classes: clusters,
            });
        }
        let centroid = &centroids[label * dims..(label + 1) * dims];
        total += squared_distance(point, centroid);
    }
    Ok(total)
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Per-point silhouette coefficients with Euclidean distance, as scikit-learn's
/// `silhouette_samples`: `(b − a) / max(a, b)` where `a` is the mean distance to the other
/// members of the point's cluster and `b` the smallest mean distance to another cluster; 0 for
/// points alone in their cluster. Needs 2 ≤ clusters ≤ n − 1, as in scikit-learn.
pub fn silhouette_samples(points: &[f64], dims: usize, labels: &[usize]) -> Result<Vec<f64>> {
    let n = check_points(points, dims, labels)?;
    let mut distinct = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let clusters = distinct.len();
    if clusters < 2 || clusters > n - 1 {
        return Err(Error::InvalidParameter {
            name: "labels",
            reason: format!(
                "silhouette needs between 2 and n_samples - 1 = {} clusters, got {clusters}",
                n.saturating_sub(1)
            ),
        });
    }
    let index: Vec<usize> = labels
        .iter()
        .map(|l| distinct.binary_search(l).unwrap_or(0))
        .collect();
    let mut sizes = vec![0usize; clusters];
    for &c in &index {
        sizes[c] += 1;
    }
    let mut sums = vec![0.0; clusters];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        sums.iter_mut().for_each(|s| *s = 0.0);
        let a_point = &points[i * dims..(i + 1) * dims];
        for (j, b_point) in points.chunks_exact(dims).enumerate() {
            if i != j {
                sums[index[j]] += squared_distance(a_point, b_point).sqrt();
            }
        }
        let own = index[i];
        if sizes[own] <= 1 {
            out.push(0.0);
            continue;
        }
        let a = sums[own] / (sizes[own] - 1) as f64;
        let b = (0..clusters)
            .filter(|&c| c != own)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let s = (b - a) / a.max(b);
        out.push(if s.is_nan() { 0.0 } else { s });
    }
    Ok(out)
}

/// Mean silhouette coefficient over all points (scikit-learn's `silhouette_score`).
pub fn silhouette_score(points: &[f64], dims: usize, labels: &[usize]) -> Result<f64> {
    let samples = silhouette_samples(points, dims, labels)?;
    Ok(samples.iter().sum::<f64>() / samples.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn inertia_by_hand() {
        let points = [0.0, 0.0, 2.0, 0.0, 10.0, 10.0];
        let centroids = [1.0, 0.0, 10.0, 10.0];
        close(inertia(&points, 2, &[0, 0, 1], &centroids).unwrap(), 2.0);
        assert!(matches!(
            inertia(&points, 2, &[0, 0, 2], &centroids),
            Err(Error::ClassOutOfRange { row: 2, .. })
        ));
        assert!(inertia(&points, 2, &[0, 0], &centroids).is_err());
    }

    #[test]
    fn silhouette_by_hand() {
        // 1-D points 0, 1 in cluster 7 and 5 in cluster 3.
        let points = [0.0, 1.0, 5.0, 6.0];
        let s = silhouette_samples(&points, 1, &[7, 7, 3, 3]).unwrap();
        // point 0: a = 1, b = (5 + 6)/2 = 5.5 -> 4.5/5.5
        close(s[0], 4.5 / 5.5);
        // point 1: a = 1, b = (4 + 5)/2 = 4.5 -> 3.5/4.5
        close(s[1], 3.5 / 4.5);
        let singleton = silhouette_samples(&[0.0, 1.0, 5.0], 1, &[0, 0, 1]).unwrap();
        close(singleton[2], 0.0);
        assert!(silhouette_score(&points, 1, &[0, 0, 0, 0]).is_err());
        assert!(silhouette_score(&points, 1, &[0, 1, 2, 3]).is_err());
    }
}
