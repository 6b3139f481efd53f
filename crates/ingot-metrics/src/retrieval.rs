//! Ranking (retrieval) metrics over queries: Precision@K, MRR@K and NDCG@K.
//!
//! Inputs are row-major `queries × items` matrices of true relevance (non-negative; an item
//! is relevant when its relevance is > 0) and predicted scores; each metric is the mean over
//! queries. NDCG follows scikit-learn's `ndcg_score` (tied scores share the average gain of
//! their group). Precision@K and MRR@K, which scikit-learn lacks, rank items by decreasing
//! score with ties broken by item position (stable), so they are deterministic.

use crate::{check_finite, check_pair, Error, Result};

fn check(relevance: &[f64], scores: &[f64], items: usize, k: Option<usize>) -> Result<()> {
    if items == 0 {
        return Err(Error::InvalidParameter {
            name: "items",
            reason: "every query needs at least one item".to_string(),
        });
    }
    if k == Some(0) {
        return Err(Error::InvalidParameter {
            name: "k",
            reason: "must be at least 1".to_string(),
        });
    }
    check_pair(relevance.len(), scores.len(), "scores")?;
    if !relevance.len().is_multiple_of(items) {
        return Err(Error::InvalidParameter {
            name: "items",
            reason: format!(
                "{} relevance values are not a whole number of queries of {items} items",
                relevance.len()
            ),
        });
    }
    check_finite(relevance, items, "relevance")?;
    check_finite(scores, items, "score")?;
    if let Some(i) = relevance.iter().position(|&r| r < 0.0) {
        return Err(Error::OutOfRange {
            what: "relevance",
            row: i / items,
            reason: "relevance must be non-negative",
        });
    }
    Ok(())
}

/// Item indices of one query by decreasing score, ties in item order.
fn ranked(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    order
}

/// Mean over queries of (relevant items among the top `k`) / `k`. A query with fewer than `k`
/// items still divides by `k`.
pub fn precision_at_k(relevance: &[f64], scores: &[f64], items: usize, k: usize) -> Result<f64> {
    check(relevance, scores, items, Some(k))?;
    let queries = relevance.len() / items;
    let mut total = 0.0;
    for (rel, sc) in relevance
        .chunks_exact(items)
        .zip(scores.chunks_exact(items))
    {
        let hits = ranked(sc).iter().take(k).filter(|&&i| rel[i] > 0.0).count();
        total += hits as f64 / k as f64;
    }
    Ok(total / queries as f64)
}

/// Mean over queries of 1 / (rank of the first relevant item), or 0 when none is in the top `k`.
pub fn mrr_at_k(relevance: &[f64], scores: &[f64], items: usize, k: usize) -> Result<f64> {
    check(relevance, scores, items, Some(k))?;
    let queries = relevance.len() / items;
    let mut total = 0.0;
    for (rel, sc) in relevance
        .chunks_exact(items)
        .zip(scores.chunks_exact(items))
    {
        if let Some(rank) = ranked(sc).iter().take(k).position(|&i| rel[i] > 0.0) {
            total += 1.0 / (rank + 1) as f64;
        }
    }
    Ok(total / queries as f64)
}

/// Normalized discounted cumulative gain at `k` (all items when `None`), as scikit-learn's
/// `ndcg_score(y_true, y_score, k=k)`: gain = relevance, discount = 1 / log2(rank + 1), tied
/// scores averaged, and a query whose items are all irrelevant scores 0. Like scikit-learn,
/// it needs more than one item per query.
pub fn ndcg_at_k(relevance: &[f64], scores: &[f64], items: usize, k: Option<usize>) -> Result<f64> {
    check(relevance, scores, items, k)?;
    if items < 2 {
        return Err(Error::InvalidParameter {
            name: "items",
            reason: "NDCG is only meaningful with more than one item per query".to_string(),
        });
    }
    let cut = k.unwrap_or(items).min(items);
    let discount: Vec<f64> = (0..items)
        .map(|i| {
            if i < cut {
                1.0 / ((i + 2) as f64).log2()
            } else {
                0.0
            }
        })
        .collect();
    let queries = relevance.len() / items;
    let mut total = 0.0;
    for (rel, sc) in relevance
        .chunks_exact(items)
        .zip(scores.chunks_exact(items))
    {
        let ideal = ideal_dcg(rel, &discount);
        if ideal != 0.0 {
            total += tie_averaged_dcg(rel, sc, &discount) / ideal;
        }
    }
    Ok(total / queries as f64)
}

/// DCG of the relevances sorted decreasingly.
fn ideal_dcg(relevance: &[f64], discount: &[f64]) -> f64 {
    let mut sorted = relevance.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted.iter().zip(discount).map(|(r, d)| r * d).sum()
}

/// DCG where each group of tied scores gets its mean relevance over its positions' discounts.
fn tie_averaged_dcg(relevance: &[f64], scores: &[f64], discount: &[f64]) -> f64 {
    let order = ranked(scores);
    let mut dcg = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let gain: f64 =
            order[start..end].iter().map(|&i| relevance[i]).sum::<f64>() / (end - start) as f64;
        let discounts: f64 = discount[start..end].iter().sum();
        dcg += gain * discounts;
        start = end;
    }
    dcg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn precision_and_mrr_by_hand() {
        // Query 1 ranks items 2, 0, 1, 3: relevant items 0 and 3.
        // Query 2 ranks items 0, 1, 2, 3: relevant item 2.
        let rel = [1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0];
        let sc = [0.8, 0.5, 0.9, 0.1, 0.4, 0.3, 0.2, 0.1];
        close(precision_at_k(&rel, &sc, 4, 2).unwrap(), (0.5 + 0.0) / 2.0);
        close(
            precision_at_k(&rel, &sc, 4, 3).unwrap(),
            (1.0 / 3.0 + 1.0 / 3.0) / 2.0,
        );
        close(mrr_at_k(&rel, &sc, 4, 2).unwrap(), (0.5 + 0.0) / 2.0);
        close(mrr_at_k(&rel, &sc, 4, 4).unwrap(), (0.5 + 1.0 / 3.0) / 2.0);
        assert!(precision_at_k(&rel, &sc, 3, 2).is_err());
        assert!(mrr_at_k(&rel, &sc, 4, 0).is_err());
    }

    #[test]
    fn ndcg_of_docs_example() {
        // scikit-learn's docs: ndcg_score([[10, 0, 0, 1, 5]], [[.1, .2, .3, 4, 70]]) == 0.695...
        let rel = [10.0, 0.0, 0.0, 1.0, 5.0];
        let sc = [0.1, 0.2, 0.3, 4.0, 70.0];
        let d = |i: f64| 1.0 / (i + 1.0).log2();
        let dcg = 5.0 * d(1.0) + 1.0 * d(2.0) + 10.0 * d(5.0);
        let ideal = 10.0 * d(1.0) + 5.0 * d(2.0) + 1.0 * d(3.0);
        close(ndcg_at_k(&rel, &sc, 5, None).unwrap(), dcg / ideal);
        // Ties: scores all equal -> every position gets the mean gain.
        let tied = ndcg_at_k(&rel, &[1.0; 5], 5, Some(2)).unwrap();
        close(
            tied,
            (16.0 / 5.0) * (d(1.0) + d(2.0)) / (10.0 * d(1.0) + 5.0 * d(2.0)),
        );
        // All irrelevant: 0.
        close(ndcg_at_k(&[0.0, 0.0], &[1.0, 2.0], 2, None).unwrap(), 0.0);
        assert!(ndcg_at_k(&[1.0], &[1.0], 1, None).is_err());
        assert!(ndcg_at_k(&[-1.0, 1.0], &[1.0, 2.0], 2, None).is_err());
    }
}
