//! The 21 SageMaker Clarify bias metrics as pure functions over boolean masks: `facet[i]` is
//! true when row `i` is in the disadvantaged facet *d* (the rest is *a*), `label[i]` when its
//! observed label is positive, `predicted[i]` when its predicted label is positive.
//!
//! Definitions, signs and edge cases follow Clarify (`smclarify`, reimplemented from its
//! documented definitions):
//! * `divide(a, b)` is 0 when both are 0 and ±∞ when only `b` is; where both compared rates
//!   are +∞ the difference is 0 (DCA, DCR, RD, SD, DAR, DRR, AD, TE).
//! * KL, JS, LP, TVD and KS compare the distributions of the (binary) positive-label indicator
//!   in *a* and *d* over the outcomes present (non-zero) in **both** facets, as Clarify does:
//!   when *d* is all positive only the positive outcome is compared.
//! * A metric that Clarify answers with an error (an empty facet, no positive or no negative
//!   label for CDD, zero mean benefit for GE) returns `Err(reason)`; the report carries it.
//!
//! Degenerate cases, per metric:
//! * CI, DPL, DPPL, DI, DCA, DCR, RD, SD, DAR, DRR, AD, TE, FT: no value if either facet is
//!   empty; FT also needs at least one numeric feature column.
//! * KL, JS, LP, TVD, KS: no value when no outcome occurs in both facets (an empty facet, or
//!   one facet all positive and the other all negative).
//! * CDDL, CDDPL: no value without a group column, or when the outcomes are all positive or
//!   all negative; an empty facet gives 0.
//! * GE: no value on empty data or when every prediction is a false negative.
//! * DI is +∞ when only *d* has positive predictions (0 when neither has); DCA, DCR and TE are
//!   ±∞ when one facet's denominator is 0 (0 when both are +∞); RD, SD, DAR, DRR and AD treat a
//!   0/0 rate as 0, so they are always finite.

/// A metric value, or why it cannot be computed on this data.
pub type Outcome = std::result::Result<f64, String>;

/// Clarify's division: `0/0 = 0`, `x/0 = ±∞`.
pub fn divide(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        if a == 0.0 {
            0.0
        } else if a < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    } else {
        a / b
    }
}

/// `x - y`, except 0 when both are +∞ (Clarify's rule for rate differences).
fn difference(x: f64, y: f64) -> f64 {
    if x == y && x == f64::INFINITY {
        0.0
    } else {
        x - y
    }
}

/// Rows in *a* and in *d*.
fn sizes(facet: &[bool]) -> (usize, usize) {
    let nd = facet.iter().filter(|&&f| f).count();
    (facet.len() - nd, nd)
}

/// Both facets must hold rows.
fn require_facets(facet: &[bool]) -> std::result::Result<(usize, usize), String> {
    let (na, nd) = sizes(facet);
    if nd == 0 {
        return Err("facet set is empty: no row has the selected facet value".into());
    }
    if na == 0 {
        return Err("negated facet set is empty: every row has the selected facet value".into());
    }
    Ok((na, nd))
}

/// Rows of one facet (`d = true` for *d*) where `mask` holds.
fn count(facet: &[bool], d: bool, mask: impl Fn(usize) -> bool) -> f64 {
    facet
        .iter()
        .enumerate()
        .filter(|(i, &f)| f == d && mask(*i))
        .count() as f64
}

/// The confusion counts of one facet.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Confusion {
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
    pub tn: f64,
}

fn confusion(facet: &[bool], d: bool, label: &[bool], predicted: &[bool]) -> Confusion {
    Confusion {
        tp: count(facet, d, |i| label[i] && predicted[i]),
        fp: count(facet, d, |i| !label[i] && predicted[i]),
        fn_: count(facet, d, |i| label[i] && !predicted[i]),
        tn: count(facet, d, |i| !label[i] && !predicted[i]),
    }
}

/// Class imbalance: `CI = (n_a − n_d) / (n_a + n_d)`.
pub fn ci(facet: &[bool]) -> Outcome {
    let (na, nd) = require_facets(facet)?;
    Ok((na as f64 - nd as f64) / (na + nd) as f64)
}

/// Difference in positive proportions: `q_a − q_d` with `q = n⁽¹⁾ / n` (DPL on labels, DPPL on
/// predicted labels).
pub fn dpl(facet: &[bool], positive: &[bool]) -> Outcome {
    let (na, nd) = require_facets(facet)?;
    let qa = count(facet, false, |i| positive[i]) / na as f64;
    let qd = count(facet, true, |i| positive[i]) / nd as f64;
    Ok(qa - qd)
}

/// The label distributions of *a* and *d* over the outcomes (negative, positive) that both
/// facets contain, as Clarify's aligned non-zero PDFs.
fn aligned_pdfs(
    facet: &[bool],
    label: &[bool],
) -> std::result::Result<(Vec<f64>, Vec<f64>), String> {
    let (na, nd) = sizes(facet);
    let mut pa = Vec::new();
    let mut pd = Vec::new();
    for outcome in [false, true] {
        let a = count(facet, false, |i| label[i] == outcome);
        let d = count(facet, true, |i| label[i] == outcome);
        if a > 0.0 && d > 0.0 {
            pa.push(a / na as f64);
            pd.push(d / nd as f64);
        }
    }
    if pa.is_empty() {
        return Err("no label outcome is present in both facets (or a facet is empty)".into());
    }
    Ok((pa, pd))
}

/// Kullback-Leibler divergence `Σ P_a log(P_a / P_d)`.
pub fn kl(facet: &[bool], label: &[bool]) -> Outcome {
    let (pa, pd) = aligned_pdfs(facet, label)?;
    Ok(pa.iter().zip(&pd).map(|(a, d)| a * (a / d).ln()).sum())
}

/// Jensen-Shannon divergence `½ [KL(P_a, P) + KL(P_d, P)]`, `P = ½ (P_a + P_d)`.
pub fn js(facet: &[bool], label: &[bool]) -> Outcome {
    let (pa, pd) = aligned_pdfs(facet, label)?;
    let p: Vec<f64> = pa.iter().zip(&pd).map(|(a, d)| 0.5 * (a + d)).collect();
    let kl = |x: &[f64]| -> f64 { x.iter().zip(&p).map(|(x, p)| x * (x / p).ln()).sum() };
    Ok(0.5 * (kl(&pa) + kl(&pd)))
}

/// The differences `P_a − P_d` over the aligned outcomes.
fn pdf_differences(facet: &[bool], label: &[bool]) -> std::result::Result<Vec<f64>, String> {
    let (pa, pd) = aligned_pdfs(facet, label)?;
    Ok(pa.iter().zip(&pd).map(|(a, d)| a - d).collect())
}

/// Lp-norm with p = 2: `√Σ (P_a − P_d)²`.
pub fn lp(facet: &[bool], label: &[bool]) -> Outcome {
    Ok(pdf_differences(facet, label)?
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt())
}

/// Total variation distance: `½ Σ |P_a − P_d|`.
pub fn tvd(facet: &[bool], label: &[bool]) -> Outcome {
    Ok(0.5
        * pdf_differences(facet, label)?
            .iter()
            .map(|x| x.abs())
            .sum::<f64>())
}

/// Kolmogorov-Smirnov distance: `max |P_a − P_d|`.
pub fn ks(facet: &[bool], label: &[bool]) -> Outcome {
    Ok(pdf_differences(facet, label)?
        .iter()
        .fold(0.0, |m: f64, x| m.max(x.abs())))
}

/// Conditional demographic disparity (CDDL on labels, CDDPL on predicted labels):
/// `Σ_g n_g · DD_g / n`, where in group `g`
/// `DD_g = n_d⁽⁰⁾_g / n⁽⁰⁾_g − n_d⁽¹⁾_g / n⁽¹⁾_g` (the share of *d* among the rejected minus its
/// share among the accepted; a share with an empty denominator is 0). `groups` holds one group
/// code per row; without groups the metric cannot be computed.
pub fn cdd(facet: &[bool], positive: &[bool], groups: Option<&[usize]>) -> Outcome {
    let Some(groups) = groups.filter(|g| !g.is_empty()) else {
        return Err(
            "no group variable was given (it is needed for conditional demographic disparity)"
                .into(),
        );
    };
    if !positive.iter().any(|&p| p) {
        return Err("no positive labels in the data".into());
    }
    if positive.iter().all(|&p| p) {
        return Err("no negative labels in the data".into());
    }
    let mut distinct: Vec<usize> = groups.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mut weighted = 0.0;
    for &g in &distinct {
        let in_g = |i: usize| groups[i] == g;
        let n_g = groups.iter().filter(|&&x| x == g).count() as f64;
        let accepted = (0..facet.len()).filter(|&i| in_g(i) && positive[i]).count() as f64;
        let accepted_d = count(facet, true, |i| in_g(i) && positive[i]);
        let rejected = (0..facet.len())
            .filter(|&i| in_g(i) && !positive[i])
            .count() as f64;
        let rejected_d = count(facet, true, |i| in_g(i) && !positive[i]);
        let a = if accepted > 0.0 {
            accepted_d / accepted
        } else {
            0.0
        };
        let d = if rejected > 0.0 {
            rejected_d / rejected
        } else {
            0.0
        };
        weighted += n_g * (d - a);
    }
    Ok(divide(weighted, groups.len() as f64))
}

/// Disparate impact: `q̂_d / q̂_a` with `q̂ = n̂⁽¹⁾ / n`.
pub fn di(facet: &[bool], predicted: &[bool]) -> Outcome {
    let (na, nd) = require_facets(facet)?;
    let qa = count(facet, false, |i| predicted[i]) / na as f64;
    let qd = count(facet, true, |i| predicted[i]) / nd as f64;
    Ok(divide(qd, qa))
}

/// Difference in conditional acceptance: `c_a − c_d` with `c = n⁽¹⁾ / n̂⁽¹⁾` (observed over
/// predicted positives).
pub fn dca(facet: &[bool], label: &[bool], predicted: &[bool]) -> Outcome {
    require_facets(facet)?;
    let c = |d| {
        divide(
            count(facet, d, |i| label[i]),
            count(facet, d, |i| predicted[i]),
        )
    };
    Ok(difference(c(false), c(true)))
}

/// Difference in conditional rejection: `r_d − r_a` with `r = n⁽⁰⁾ / n̂⁽⁰⁾` (observed over
/// predicted negatives).
pub fn dcr(facet: &[bool], label: &[bool], predicted: &[bool]) -> Outcome {
    require_facets(facet)?;
    let r = |d| {
        divide(
            count(facet, d, |i| !label[i]),
            count(facet, d, |i| !predicted[i]),
        )
    };
    let (ra, rd) = (r(false), r(true));
    Ok(if ra == rd && ra == f64::INFINITY {
        0.0
    } else {
        rd - ra
    })
}

fn both_confusions(
    facet: &[bool],
    label: &[bool],
    predicted: &[bool],
) -> std::result::Result<(Confusion, Confusion), String> {
    require_facets(facet)?;
    Ok((
        confusion(facet, false, label, predicted),
        confusion(facet, true, label, predicted),
    ))
}

/// Recall difference: `TP_a/(TP_a+FN_a) − TP_d/(TP_d+FN_d)`.
pub fn rd(facet: &[bool], label: &[bool], predicted: &[bool]) -> Outcome {
    let (a, d) = both_confusions(facet, label, predicted)?;
    let recall = |c: Confusion| divide(c.tp, c.tp + c.fn_);
    Ok(difference(recall(a), recall(d)))
}

/// Specificity difference: `TN_d/(TN_d+FP_d) − TN_a/(TN_a+FP_a)`.
pub fn sd(facet: &[bool], label: &[bool], predicted: &[bool]) -> Outcome {
    let (a, d) = both_confusions(facet, label, predicted)?;
    let specificity = |c: Confusion| divide(c.tn, c.tn + c.fp);
    Ok(difference(specificity(d), specificity(a)))
}

/// Difference in acceptance rates (precision): `TP_a/n̂_a⁽¹⁾ − TP_d/n̂_d⁽¹⁾`.
pub fn dar(facet: &[bool], label: &[bool], predicted: &[bool]) -> Outcome {
    let (a, d) = both_confusions(facet, label, predicted)?;
    let rate = |c: Confusion| divide(c.tp, c.tp + c.fp);
    Ok(difference(rate(a), rate(d)))
}

/// Difference in rejection rates: `TN_d/n̂_d⁽⁰⁾ − TN_a/n̂_a⁽⁰⁾`.
pub fn drr(facet: &[bool], label: &[bool], predicted: &[bool]) -> Outcome {
    let (a, d) = both_confusions(facet, label, predicted)?;
    let rate = |c: Confusion| divide(c.tn, c.tn + c.fn_);
    Ok(difference(rate(d), rate(a)))
}

/// Accuracy difference: `ACC_a − ACC_d`.
pub fn ad(facet: &[bool], label: &[bool], predicted: &[bool]) -> Outcome {
    let (a, d) = both_confusions(facet, label, predicted)?;
    let accuracy = |c: Confusion| divide(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn_);
    Ok(difference(accuracy(a), accuracy(d)))
}

/// Treatment equality: `FN_d/FP_d − FN_a/FP_a`.
pub fn te(facet: &[bool], label: &[bool], predicted: &[bool]) -> Outcome {
    let (a, d) = both_confusions(facet, label, predicted)?;
    let tau = |c: Confusion| divide(c.fn_, c.fp);
    let (ta, td) = (tau(a), tau(d));
    Ok(if ta == td && ta == f64::INFINITY {
        0.0
    } else {
        td - ta
    })
}

/// Generalized entropy with α = 2 over the benefits `b_i = ŷ_i − y_i + 1`:
/// `GE = Σ ((b_i / μ)² − 1) / (2n)`, μ the mean benefit.
pub fn ge(label: &[bool], predicted: &[bool]) -> Outcome {
    let n = label.len();
    if n == 0 {
        return Err("the dataset is empty".into());
    }
    let benefit =
        |i: usize| f64::from(u8::from(predicted[i])) - f64::from(u8::from(label[i])) + 1.0;
    let mean = (0..n).map(benefit).sum::<f64>() / n as f64;
    if mean == 0.0 {
        return Err("every prediction is a false negative (mean benefit 0)".into());
    }
    const ALPHA: f64 = 2.0;
    let sum: f64 = (0..n).map(|i| (benefit(i) / mean).powf(ALPHA) - 1.0).sum();
    Ok(sum / (n as f64 * ALPHA * (ALPHA - 1.0)))
}

/// Numeric features for the flip test: `rows × columns`, row-major, no missing values.
#[derive(Debug, Clone, Copy)]
pub struct Features<'a> {
    pub values: &'a [f64],
    pub columns: usize,
}

/// Flip test, as Clarify approximates Black et al.'s FlipTest for tabular data: a k-nearest-
/// neighbour classifier (Euclidean, uniform votes; k = 5 when *a* has more than 9 rows, else 1)
/// is fitted on *a*'s feature rows with *a*'s **predicted** labels as targets, and predicts each
/// *d* row "as if it were in *a*". With `F⁺` the *d* rows the model accepts but the neighbours
/// reject and `F⁻` the converse, `FT = (|F⁺| − |F⁻|) / n_d`.
/// Distance ties go to the earlier row; a tied vote (even k cannot occur) would go to negative.
/// `features` excludes the facet, label and predicted-label columns.
pub fn ft(facet: &[bool], predicted: &[bool], features: Option<Features<'_>>) -> Outcome {
    let (na, nd) = require_facets(facet)?;
    let Some(features) = features else {
        return Err("the flip test needs the numeric feature columns".into());
    };
    let m = features.columns;
    if m == 0 {
        return Err("the flip test needs at least one numeric feature column".into());
    }
    let row = |i: usize| &features.values[i * m..(i + 1) * m];
    let a_rows: Vec<usize> = (0..facet.len()).filter(|&i| !facet[i]).collect();
    let k = if na > 9 { 5 } else { 1 };
    let mut flipped_positive = 0i64;
    let mut flipped_negative = 0i64;
    let mut distances: Vec<(f64, usize)> = Vec::with_capacity(na);
    for i in (0..facet.len()).filter(|&i| facet[i]) {
        distances.clear();
        distances.extend(a_rows.iter().map(|&j| {
            let d2: f64 = row(i)
                .iter()
                .zip(row(j))
                .map(|(x, y)| (x - y) * (x - y))
                .sum();
            (d2, j)
        }));
        distances.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let votes = distances
            .iter()
            .take(k)
            .filter(|(_, j)| predicted[*j])
            .count();
        let as_if_a = 2 * votes > k.min(na);
        match (predicted[i], as_if_a) {
            (true, false) => flipped_positive += 1,
            (false, true) => flipped_negative += 1,
            _ => {}
        }
    }
    Ok(divide(
        (flipped_positive - flipped_negative) as f64,
        nd as f64,
    ))
}
