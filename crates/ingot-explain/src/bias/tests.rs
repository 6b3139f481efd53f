//! Hand-derived checks of every bias metric on a 16-row table, and Clarify's degenerate cases.

use super::*;

/// The table: facet `sex` (d = "F"), label `y` (positive "1"), predicted `yhat`, group `g`,
/// one numeric feature `x`.
///
/// ```text
///  row sex y yhat g   x   |  row sex y yhat g   x
///   1   M  1  1   G1  1   |   11  F  1  1   G1  1.5
///   2   M  1  1   G1  2   |   12  F  0  1   G1  2.5
///   3   M  1  0   G1  3   |   13  F  0  0   G2  5.5
///   4   M  0  0   G1  4   |   14  F  0  0   G2  6.5
///   5   M  0  1   G2  5   |   15  F  1  0   G2  8.5
///   6   M  1  1   G2  6   |   16  F  0  0   G1  9.5
///   7   M  0  1   G2  7   |
///   8   M  0  1   G2  8   |
///   9   M  1  1   G2  9   |
///  10   M  1  0   G1  10  |
/// ```
/// a (M, n_a = 10): 6 labels positive, 7 predicted positive; TP 4, FN 2, FP 3, TN 1.
/// d (F, n_d = 6): 2 labels positive, 2 predicted positive; TP 1, FN 1, FP 1, TN 3.
struct Table {
    sex: Vec<String>,
    y: Vec<String>,
    yhat: Vec<String>,
    g: Vec<String>,
    x: Vec<f64>,
}

fn strings(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn table() -> Table {
    Table {
        sex: strings("M M M M M M M M M M F F F F F F"),
        y: strings("1 1 1 0 0 1 0 0 1 1 1 0 0 0 1 0"),
        yhat: strings("1 1 0 0 1 1 1 1 1 0 1 1 0 0 0 0"),
        g: strings("G1 G1 G1 G1 G2 G2 G2 G2 G2 G1 G1 G1 G2 G2 G2 G1"),
        x: vec![
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 1.5, 2.5, 5.5, 6.5, 8.5, 9.5,
        ],
    }
}

fn report_of(t: &Table, predicted: Option<&[String]>, facet: &str) -> BiasReport {
    let positive = Selection::Values(vec!["1".into()]);
    let facet_selection = Selection::Values(vec![facet.into()]);
    bias_report(&BiasInput {
        label_name: "y",
        label: Column::Text(&t.y),
        positive: &positive,
        facet_name: "sex",
        facet: Column::Text(&t.sex),
        facet_selection: Some(&facet_selection),
        group: Some(Column::Text(&t.g)),
        predicted: predicted.map(|p| Predicted::Labels(Column::Text(p))),
        features: Some(Features {
            values: &t.x,
            columns: 1,
        }),
    })
    .unwrap()
}

fn close(what: &str, actual: Option<f64>, expected: f64) {
    let actual = actual.unwrap_or_else(|| panic!("{what}: no value"));
    assert!(
        (actual - expected).abs() < 1e-12,
        "{what}: {actual} vs hand-derived {expected}"
    );
}

#[test]
fn pre_training_metrics_match_hand_derivations() {
    let t = table();
    let r = report_of(&t, None, "F");
    let v = |name| r.value(false, "sex", "F", name);
    // CI = (n_a − n_d)/(n_a + n_d) = (10 − 6)/16.
    close("CI", v("CI"), 0.25);
    // q_a = 6/10, q_d = 2/6: DPL = 0.6 − 1/3 = 4/15.
    close("DPL", v("DPL"), 4.0 / 15.0);
    // P_a = (0.4, 0.6), P_d = (2/3, 1/3) over (negative, positive).
    close(
        "KL",
        v("KL"),
        0.4 * (0.4f64 / (2.0 / 3.0)).ln() + 0.6 * (0.6f64 / (1.0 / 3.0)).ln(),
    );
    // P = (8/15, 7/15); JS = ½ [0.4 ln(3/4) + 0.6 ln(9/7) + ⅔ ln(5/4) + ⅓ ln(5/7)].
    let js = 0.5
        * (0.4 * (0.75f64).ln()
            + 0.6 * (9.0f64 / 7.0).ln()
            + 2.0 / 3.0 * (1.25f64).ln()
            + 1.0 / 3.0 * (5.0f64 / 7.0).ln());
    close("JS", v("JS"), js);
    // |P_a − P_d| = (4/15, 4/15): LP = √2·4/15, TVD = ½·8/15, KS = 4/15.
    close("LP", v("LP"), 2f64.sqrt() * 4.0 / 15.0);
    close("TVD", v("TVD"), 4.0 / 15.0);
    close("KS", v("KS"), 4.0 / 15.0);
    // G1 (8 rows): accepted 1,2,3,10,11 (d: 11) → 1/5; rejected 4,12,16 (d: 12,16) → 2/3.
    // G2 (8 rows): accepted 6,9,15 (d: 15) → 1/3; rejected 5,7,8,13,14 (d: 13,14) → 2/5.
    // CDDL = (8·(2/3 − 1/5) + 8·(2/5 − 1/3)) / 16 = (8·7/15 + 8·1/15)/16 = 4/15.
    close("CDDL", v("CDDL"), 4.0 / 15.0);
    assert!(r.post_training_bias_metrics.is_none());
    let names: Vec<&str> = r.pre_training_bias_metrics.as_ref().unwrap().facets["sex"][0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]);
}

#[test]
fn post_training_metrics_match_hand_derivations() {
    let t = table();
    let r = report_of(&t, Some(&t.yhat), "F");
    let v = |name| r.value(true, "sex", "F", name);
    // q̂_a = 7/10, q̂_d = 2/6.
    close("DPPL", v("DPPL"), 0.7 - 1.0 / 3.0);
    close("DI", v("DI"), (1.0 / 3.0) / 0.7);
    // c = n⁽¹⁾/n̂⁽¹⁾: c_a = 6/7, c_d = 2/2; DCA = c_a − c_d.
    close("DCA", v("DCA"), 6.0 / 7.0 - 1.0);
    // r = n⁽⁰⁾/n̂⁽⁰⁾: r_a = 4/3, r_d = 4/4; DCR = r_d − r_a.
    close("DCR", v("DCR"), 1.0 - 4.0 / 3.0);
    // recall_a = 4/6, recall_d = 1/2.
    close("RD", v("RD"), 4.0 / 6.0 - 0.5);
    // specificity_d = 3/4, specificity_a = 1/4.
    close("SD", v("SD"), 0.75 - 0.25);
    // TP/n̂⁽¹⁾: a 4/7, d 1/2.
    close("DAR", v("DAR"), 4.0 / 7.0 - 0.5);
    // TN/n̂⁽⁰⁾: d 3/4, a 1/3; DRR = d − a.
    close("DRR", v("DRR"), 0.75 - 1.0 / 3.0);
    // accuracy_a = 5/10, accuracy_d = 4/6.
    close("AD", v("AD"), 0.5 - 4.0 / 6.0);
    // FN/FP: d 1/1, a 2/3; TE = d − a.
    close("TE", v("TE"), 1.0 - 2.0 / 3.0);
    // Predicted: G1 accepted 1,2,11,12 (d: 11,12) → 1/2, rejected 3,4,10,16 (d: 16) → 1/4;
    // G2 accepted 5..9 (d: none) → 0, rejected 13,14,15 (all d) → 1.
    // CDDPL = (8·(1/4 − 1/2) + 8·(1 − 0)) / 16 = 3/8.
    close("CDDPL", v("CDDPL"), 3.0 / 8.0);
    // Benefits ŷ − y + 1: TP 5 → 1, TN 4 → 1, FP 4 → 2, FN 3 → 0; μ = 17/16.
    // GE = (Σ (b/μ)² − n) / (2n) = (9·(16/17)² + 4·(32/17)² − 16) / 32 = 111/578.
    close("GE", v("GE"), 111.0 / 578.0);
    // FT: k = 5 (n_a = 10 > 9) neighbours on x among a with a's predictions. Row 11 (x 1.5):
    // rows 1,2,3,4,5 → 3 of 5 accept, model accepts: no flip. Row 12 (2.5): rows 2,3,1,4,5 →
    // 3 accept, model accepts. Rows 13 (5.5), 14 (6.5), 15 (8.5), 16 (9.5): at least 3 of the
    // 5 neighbours accept, the model rejects: 4 negative flips. FT = (0 − 4)/6.
    close("FT", v("FT"), -4.0 / 6.0);
    let names: Vec<&str> = r.post_training_bias_metrics.as_ref().unwrap().facets["sex"][0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names.len(), 13);
    assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
}

#[test]
fn an_absent_facet_value_gives_reasons_not_panics() {
    let t = table();
    let r = report_of(&t, Some(&t.yhat), "X");
    for name in ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS"] {
        let m = r.metric(false, "sex", "X", name).unwrap();
        assert_eq!(m.value, None, "{name}");
        assert!(m.error.is_some(), "{name}");
    }
    for name in [
        "DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "FT",
    ] {
        let m = r.metric(true, "sex", "X", name).unwrap();
        assert_eq!(m.value, None, "{name}");
        assert!(m.error.as_deref().unwrap().contains("facet"), "{name}");
    }
    // GE does not depend on the facet; CDD with an empty d has D = A = 0 in every group.
    close("GE", r.value(true, "sex", "X", "GE"), 111.0 / 578.0);
    close("CDDL", r.value(false, "sex", "X", "CDDL"), 0.0);
}

#[test]
fn one_label_class_only() {
    let mut t = table();
    t.y = vec!["1".to_string(); 16];
    let r = report_of(&t, None, "F");
    let v = |name| r.value(false, "sex", "F", name);
    // Both facets are all positive: only the positive outcome is compared, P_a = P_d = (1).
    close("DPL", v("DPL"), 0.0);
    close("KL", v("KL"), 0.0);
    close("LP", v("LP"), 0.0);
    let cddl = r.metric(false, "sex", "F", "CDDL").unwrap();
    assert_eq!(cddl.value, None);
    assert!(cddl.error.as_deref().unwrap().contains("negative"));
    // One facet all positive, the other all negative: no common outcome.
    let mut t = table();
    t.y = strings("1 1 1 1 1 1 1 1 1 1 0 0 0 0 0 0");
    let r = report_of(&t, None, "F");
    assert_eq!(r.value(false, "sex", "F", "KL"), None);
    close("DPL", r.value(false, "sex", "F", "DPL"), 1.0);
}

#[test]
fn all_positive_predictions() {
    let t = table();
    let all = vec!["1".to_string(); 16];
    let r = report_of(&t, Some(&all), "F");
    let v = |name| r.value(true, "sex", "F", name);
    close("DI", v("DI"), 1.0);
    close("DPPL", v("DPPL"), 0.0);
    // r_a = 4/0 and r_d = 4/0 are both +∞: Clarify reports 0.
    close("DCR", v("DCR"), 0.0);
    // c_a = 6/10, c_d = 2/6.
    close("DCA", v("DCA"), 0.6 - 1.0 / 3.0);
    // No predicted negatives: TN/n̂⁽⁰⁾ = 0/0 = 0 on both sides.
    close("DRR", v("DRR"), 0.0);
    close("RD", v("RD"), 0.0);
    // No FN: τ = 0/FP = 0 on both sides.
    close("TE", v("TE"), 0.0);
    // Benefits 2 − y: 8 rows of 1, 8 of 2, μ = 3/2; GE = (8·(2/3)² + 8·(4/3)² − 16)/32 = 1/18.
    close("GE", v("GE"), 1.0 / 18.0);
    let cddpl = r.metric(true, "sex", "F", "CDDPL").unwrap();
    assert!(cddpl.error.as_deref().unwrap().contains("negative"));
}

#[test]
fn infinite_values_are_written_as_clarify_writes_them() {
    let t = table();
    // Only d gets positive predictions: q̂_a = 0, so DI = q̂_d / 0 = +∞.
    let yhat = strings("0 0 0 0 0 0 0 0 0 0 1 1 0 0 0 0");
    let r = report_of(&t, Some(&yhat), "F");
    assert_eq!(r.value(true, "sex", "F", "DI"), Some(f64::INFINITY));
    let json = serde_json::to_value(&r).unwrap();
    let metrics = &json["post_training_bias_metrics"]["facets"]["sex"][0]["metrics"];
    let di = metrics
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "DI")
        .unwrap();
    assert_eq!(di["value"], "Infinity");
    let back: BiasReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn missing_group_and_thresholds() {
    let t = table();
    let positive = Selection::Values(vec!["1".into()]);
    // Facet by threshold on x: d = x > 8 (rows 9, 10, 15, 16), reported as (8.0, 10.0].
    let threshold = Selection::Threshold(8.0);
    let r = bias_report(&BiasInput {
        label_name: "y",
        label: Column::Text(&t.y),
        positive: &positive,
        facet_name: "x",
        facet: Column::Numeric(&t.x),
        facet_selection: Some(&threshold),
        group: None,
        predicted: None,
        features: None,
    })
    .unwrap();
    // n_d = 4, n_a = 12: CI = 8/16; q_d = 3/4 (rows 9, 10, 15), q_a = 5/12: DPL = 5/12 − 3/4.
    close("CI", r.value(false, "x", "(8.0, 10.0]", "CI"), 0.5);
    close(
        "DPL",
        r.value(false, "x", "(8.0, 10.0]", "DPL"),
        5.0 / 12.0 - 0.75,
    );
    let cddl = r.metric(false, "x", "(8.0, 10.0]", "CDDL").unwrap();
    assert!(cddl.error.as_deref().unwrap().contains("group"));
}

#[test]
fn every_facet_value_against_the_rest_without_a_selection() {
    let t = table();
    let positive = Selection::Values(vec!["1".into()]);
    let r = bias_report(&BiasInput {
        label_name: "y",
        label: Column::Text(&t.y),
        positive: &positive,
        facet_name: "sex",
        facet: Column::Text(&t.sex),
        facet_selection: None,
        group: None,
        predicted: None,
        features: None,
    })
    .unwrap();
    let facets = &r.pre_training_bias_metrics.as_ref().unwrap().facets["sex"];
    let values: Vec<&str> = facets
        .iter()
        .map(|f| f.value_or_threshold.as_str())
        .collect();
    assert_eq!(values, ["M", "F"]);
    // With d = M: CI = (6 − 10)/16.
    close("CI(M)", r.value(false, "sex", "M", "CI"), -0.25);
    close("CI(F)", r.value(false, "sex", "F", "CI"), 0.25);
}

#[test]
fn scores_are_thresholded_and_lengths_checked() {
    let t = table();
    // Scores that reproduce yhat at threshold 0.5 (0.5 itself counts as positive).
    let scores: Vec<f64> = t
        .yhat
        .iter()
        .map(|p| if p == "1" { 0.5 } else { 0.49 })
        .collect();
    let positive = Selection::Values(vec!["1".into()]);
    let facet = Selection::Values(vec!["F".into()]);
    let mut input = BiasInput {
        label_name: "y",
        label: Column::Text(&t.y),
        positive: &positive,
        facet_name: "sex",
        facet: Column::Text(&t.sex),
        facet_selection: Some(&facet),
        group: None,
        predicted: Some(Predicted::Scores {
            scores: &scores,
            threshold: 0.5,
        }),
        features: None,
    };
    let r = bias_report(&input).unwrap();
    close("DI", r.value(true, "sex", "F", "DI"), (1.0 / 3.0) / 0.7);
    assert!(r.metric(true, "sex", "F", "FT").unwrap().error.is_some());
    input.facet = Column::Text(&t.sex[..3]);
    assert!(matches!(
        bias_report(&input),
        Err(Error::LengthMismatch { .. })
    ));
}
