//! Tests of the SageMaker file formats: field names, round trips, tolerance of edits.

use super::*;
use crate::stats::StatsOptions;
use ingot_data::{read_table, DataFormat};
use serde_json::Value;

fn sample_stats() -> DatasetStats {
    let mut csv = String::from("age,income,city,member\n");
    for i in 0..3000 {
        let city = ["paris", "lyon", "nice"][i % 3];
        let income = if i % 10 == 0 {
            String::new()
        } else {
            format!("{}.5", 1000 + (i * 37) % 5000)
        };
        csv.push_str(&format!("{},{income},{city},{}\n", 18 + i % 60, i % 2 == 0));
    }
    let t = read_table(csv.as_bytes(), DataFormat::Csv).unwrap();
    DatasetStats::of_table(&t, &StatsOptions::default()).unwrap()
}

/// The key paths of a JSON document, e.g. `features[].numerical_statistics.common.num_present`.
fn paths(v: &Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(p.clone());
                paths(v, &p, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                paths(v, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// Equal JSON documents, numbers to 1e-15 relative.
fn same_json(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-15 * y.abs().max(1e-300),
                "{at}: {x} vs {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                same_json(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, x) in x {
                same_json(x, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn statistics_json_has_sagemakers_field_names() {
    let stats = Statistics::from_stats(&sample_stats());
    let v: Value = serde_json::from_str(&stats.to_json()).unwrap();
    let mut p = std::collections::BTreeSet::new();
    paths(&v, "", &mut p);
    // Every path of the documented format (anchors §1.3).
    for expected in [
        "version",
        "dataset.item_count",
        "features[].name",
        "features[].inferred_type",
        "features[].numerical_statistics.common.num_present",
        "features[].numerical_statistics.common.num_missing",
        "features[].numerical_statistics.mean",
        "features[].numerical_statistics.sum",
        "features[].numerical_statistics.std_dev",
        "features[].numerical_statistics.min",
        "features[].numerical_statistics.max",
        "features[].numerical_statistics.distribution.kll.buckets[].lower_bound",
        "features[].numerical_statistics.distribution.kll.buckets[].upper_bound",
        "features[].numerical_statistics.distribution.kll.buckets[].count",
        "features[].numerical_statistics.distribution.kll.sketch.parameters.c",
        "features[].numerical_statistics.distribution.kll.sketch.parameters.k",
        "features[].numerical_statistics.distribution.kll.sketch.data",
        "features[].string_statistics.common.num_present",
        "features[].string_statistics.common.num_missing",
        "features[].string_statistics.distinct_count",
        "features[].string_statistics.distribution.categorical.buckets[].value",
        "features[].string_statistics.distribution.categorical.buckets[].count",
    ] {
        assert!(p.contains(expected), "missing {expected}; have {p:?}");
    }
    let features = v["features"].as_array().unwrap();
    assert_eq!(features[0]["inferred_type"], "Integral");
    assert_eq!(features[1]["inferred_type"], "Fractional");
    assert_eq!(features[2]["inferred_type"], "String");
    assert_eq!(features[3]["inferred_type"], "String");
    assert_eq!(
        features[0]["numerical_statistics"]["distribution"]["kll"]["buckets"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(v["dataset"]["item_count"], 3000);
    assert_eq!(
        features[1]["numerical_statistics"]["common"]["num_missing"],
        300
    );
}

#[test]
fn constraints_json_has_sagemakers_field_names_and_defaults() {
    let b = Baseline::from_stats(&sample_stats());
    let v: Value = serde_json::from_str(&b.constraints.to_json()).unwrap();
    let mc = &v["monitoring_config"];
    assert_eq!(mc["evaluate_constraints"], "Enabled");
    assert_eq!(mc["emit_metrics"], "Enabled");
    assert_eq!(mc["datatype_check_threshold"], 0.1);
    assert_eq!(mc["domain_content_threshold"], 0.1);
    let dc = &mc["distribution_constraints"];
    assert_eq!(dc["perform_comparison"], "Enabled");
    assert_eq!(dc["comparison_threshold"], 0.1);
    assert_eq!(dc["comparison_method"], "Simple");
    assert_eq!(dc["categorical_comparison_threshold"], 0.1);
    assert_eq!(dc["categorical_drift_method"], "LInfinity");
    let f = &v["features"];
    assert_eq!(f[0]["name"], "age");
    assert_eq!(f[0]["completeness"], 1.0);
    assert_eq!(f[0]["num_constraints"]["is_non_negative"], true);
    assert_eq!(f[1]["completeness"], 0.9);
    assert_eq!(
        f[2]["string_constraints"]["domains"],
        serde_json::json!(["lyon", "nice", "paris"])
    );
    assert_eq!(
        f[3]["string_constraints"]["domains"],
        serde_json::json!(["false", "true"])
    );
}

#[test]
fn files_round_trip_and_tolerate_edits() {
    let b = Baseline::from_stats(&sample_stats());
    let s2 = Statistics::parse(&b.statistics.to_json()).unwrap();
    // serde_json's default float parser may differ from the printed value in the last bit.
    same_json(
        &serde_json::to_value(&s2).unwrap(),
        &serde_json::to_value(&b.statistics).unwrap(),
        "statistics",
    );
    let c2 = Constraints::parse(&b.constraints.to_json()).unwrap();
    assert_eq!(c2, b.constraints);
    // The rebuilt sketches hold the same weighted items.
    let back = s2.to_stats();
    let orig = sample_stats();
    let (wb, wo) = (
        back.columns[1].kll.as_ref().unwrap().weighted(),
        orig.columns[1].kll.as_ref().unwrap().weighted(),
    );
    assert_eq!(wb.weights, wo.weights);
    for (a, b) in wb.values.iter().zip(&wo.values) {
        assert!((a - b).abs() <= 1e-15 * b.abs());
    }
    assert!((back.columns[1].moments.std() - orig.columns[1].moments.std()).abs() < 1e-9);

    // A hand-written constraints file: unknown fields, no monitoring_config, integer numbers.
    let edited = r#"{"version": 0, "note": "edited by hand",
        "features": [{"name": "age", "inferred_type": "Integral", "completeness": 1,
                      "monitoringConfigOverrides": {"comparison_threshold": 0.3}, "x": 1}]}"#;
    let c = Constraints::parse(edited).unwrap();
    assert_eq!(c.monitoring_config, MonitoringConfig::default());
    assert_eq!(
        c.features[0]
            .monitoring_config_overrides
            .as_ref()
            .unwrap()
            .comparison_threshold,
        Some(0.3)
    );
}

#[test]
fn parse_errors_name_the_field() {
    let err = Constraints::parse(r#"{"features": [{"inferred_type": "String"}]}"#).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("constraints.json") && msg.contains("name"),
        "{msg}"
    );
    let err = Constraints::parse(r#"{"features": [{"name": "a", "inferred_type": "Text"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Text") && err.contains("Integral"), "{err}");
    let err = Statistics::parse(
        r#"{"dataset": {"item_count": 1}, "features": [{"name": "a", "inferred_type": "Integral"}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("feature a") && err.contains("numerical_statistics"),
        "{err}"
    );
}
