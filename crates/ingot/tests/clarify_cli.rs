//! `ingot clarify bias` and `ingot clarify explain` on local files: bias JSON against values
//! derived by hand from Clarify's definitions, `--model` against the same model's predictions
//! passed as a predicted-label column, and KernelSHAP's efficiency on a trained model.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ingot");

fn ingot(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("INGOT_LOG", "warn")
        .output()
        .expect("spawn")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The metric `name` of the first facet entry of a section.
fn metric(report: &Value, section: &str, facet: &str, name: &str) -> Value {
    let entry = &report[section]["facets"][facet][0];
    entry["metrics"]
        .as_array()
        .unwrap_or_else(|| panic!("no {section}/{facet} in {report}"))
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {entry}"))["value"]
        .clone()
}

fn close(report: &Value, section: &str, name: &str, expected: f64) {
    let value = metric(report, section, "sex", name);
    let value = value.as_f64().unwrap_or_else(|| panic!("{name}: {value}"));
    assert!(
        (value - expected).abs() < 1e-12,
        "{name}: {value} vs hand-derived {expected}"
    );
}

/// 16 rows; d = sex F (6 rows), a = M (10 rows).
/// a: 6 labels positive, 7 predicted positive; TP 4, FN 2, FP 3, TN 1.
/// d: 2 labels positive, 2 predicted positive; TP 1, FN 1, FP 1, TN 3.
const TABLE: &str = "sex,y,yhat,g,x
M,1,1,G1,1
M,1,1,G1,2
M,1,0,G1,3
M,0,0,G1,4
M,0,1,G2,5
M,1,1,G2,6
M,0,1,G2,7
M,0,1,G2,8
M,1,1,G2,9
M,1,0,G1,10
F,1,1,G1,1.5
F,0,1,G1,2.5
F,0,0,G2,5.5
F,0,0,G2,6.5
F,1,0,G2,8.5
F,0,0,G1,9.5
";

#[test]
fn bias_json_matches_hand_derived_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("t.csv"), TABLE).unwrap();
    let out = ok(ingot(
        &[
            "clarify",
            "bias",
            "--file",
            "t.csv",
            "--label",
            "y",
            "--facet",
            "sex",
            "--facet-value",
            "F",
            "--group",
            "g",
            "--predicted-label",
            "yhat",
            "--output",
            "json",
        ],
        d,
    ));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["version"], "1.0");
    // The positive label defaults to the larger of the two label values.
    assert_eq!(
        report["pre_training_bias_metrics"]["label_value_or_threshold"],
        "1"
    );
    assert_eq!(
        report["pre_training_bias_metrics"]["facets"]["sex"][0]["value_or_threshold"],
        "F"
    );
    let pre = "pre_training_bias_metrics";
    let post = "post_training_bias_metrics";
    // CI = (10 − 6)/16; DPL = 6/10 − 2/6.
    close(&report, pre, "CI", 0.25);
    close(&report, pre, "DPL", 0.6 - 1.0 / 3.0);
    // P_a = (0.4, 0.6), P_d = (2/3, 1/3): KL = 0.4 ln(0.4/(2/3)) + 0.6 ln(0.6/(1/3)).
    close(
        &report,
        pre,
        "KL",
        0.4 * (0.6f64).ln() + 0.6 * (1.8f64).ln(),
    );
    close(&report, pre, "TVD", 4.0 / 15.0);
    // CDDL = (8·(2/3 − 1/5) + 8·(2/5 − 1/3))/16 (per-group rejected and accepted shares of d).
    close(&report, pre, "CDDL", 4.0 / 15.0);
    // DPPL = 7/10 − 2/6; DI = (2/6)/(7/10).
    close(&report, post, "DPPL", 0.7 - 1.0 / 3.0);
    close(&report, post, "DI", (1.0 / 3.0) / 0.7);
    // DCA = 6/7 − 2/2; DCR = 4/4 − 4/3; RD = 4/6 − 1/2; SD = 3/4 − 1/4.
    close(&report, post, "DCA", 6.0 / 7.0 - 1.0);
    close(&report, post, "DCR", 1.0 - 4.0 / 3.0);
    close(&report, post, "RD", 4.0 / 6.0 - 0.5);
    close(&report, post, "SD", 0.5);
    // DAR = 4/7 − 1/2; DRR = 3/4 − 1/3; AD = 5/10 − 4/6; TE = 1/1 − 2/3.
    close(&report, post, "DAR", 4.0 / 7.0 - 0.5);
    close(&report, post, "DRR", 0.75 - 1.0 / 3.0);
    close(&report, post, "AD", 0.5 - 4.0 / 6.0);
    close(&report, post, "TE", 1.0 / 3.0);
    // CDDPL = (8·(1/4 − 1/2) + 8·(1 − 0))/16; GE = 111/578 (benefits 1,1,2,0 ×5,4,4,3).
    close(&report, post, "CDDPL", 3.0 / 8.0);
    close(&report, post, "GE", 111.0 / 578.0);
    // FT on x (the only numeric column left): 4 of the 6 d rows rejected by the model are
    // accepted by their 5 nearest a rows; none the other way: (0 − 4)/6.
    close(&report, post, "FT", -4.0 / 6.0);

    // Without a group: CDDL has no value but a reason.
    let out = ok(ingot(
        &[
            "clarify",
            "bias",
            "--file",
            "t.csv",
            "--label",
            "y",
            "--facet",
            "sex",
            "--facet-value",
            "F",
            "--output",
            "json",
        ],
        d,
    ));
    let report: Value = serde_json::from_str(&out).unwrap();
    assert!(report.get(post).is_none());
    let cddl = &report[pre]["facets"]["sex"][0]["metrics"][0];
    assert_eq!(cddl["name"], "CDDL");
    assert!(
        cddl["value"].is_null() && cddl["error"].is_string(),
        "{cddl}"
    );

    // Text output names every metric.
    let text = ok(ingot(
        &[
            "clarify",
            "bias",
            "--file",
            "t.csv",
            "--label",
            "y",
            "--facet",
            "sex",
            "--facet-value",
            "F",
            "--predicted-label",
            "yhat",
        ],
        d,
    ));
    for name in ["CI", "KS", "TVD", "DPPL", "FT", "GE", "TE"] {
        assert!(
            text.contains(&format!("    {name:<6} ")),
            "{name} missing:\n{text}"
        );
    }
}

#[test]
fn model_predictions_and_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(ingot(
        &[
            "sample",
            "churn",
            "--rows",
            "400",
            "--seed",
            "5",
            "--out",
            "churn.csv",
        ],
        d,
    ));
    ok(ingot(
        &[
            "train",
            "--local",
            "--file",
            "churn.csv",
            "--algorithm",
            "linear-learner",
            "--target",
            "Exited",
            "--drop",
            "RowNumber",
            "--drop",
            "CustomerId",
            "--drop",
            "Surname",
            "--out",
            "m.ingot",
            "--output",
            "json",
        ],
        d,
    ));
    // The model's predicted labels (P(1) ≥ 0.5) written as a column next to the data.
    let probabilities = ok(ingot(
        &[
            "predict",
            "--local",
            "--model",
            "m.ingot",
            "--file",
            "churn.csv",
        ],
        d,
    ));
    let mut lines = probabilities.lines();
    assert_eq!(lines.next(), Some("0,1"));
    let yhat: Vec<&str> = lines
        .map(|l| {
            let p1: f64 = l.split(',').nth(1).unwrap().parse().unwrap();
            if p1 >= 0.5 {
                "1"
            } else {
                "0"
            }
        })
        .collect();
    let data = std::fs::read_to_string(d.join("churn.csv")).unwrap();
    let mut with_predictions = String::new();
    for (i, line) in data.lines().enumerate() {
        let extra = if i == 0 { "yhat" } else { yhat[i - 1] };
        with_predictions.push_str(&format!("{line},{extra}\n"));
    }
    std::fs::write(d.join("with_yhat.csv"), with_predictions).unwrap();
    let common = [
        "clarify",
        "bias",
        "--label",
        "Exited",
        "--facet",
        "Gender",
        "--facet-value",
        "Female",
        "--group",
        "Geography",
        "--output",
        "json",
    ];
    let run = |extra: &[&str]| -> Value {
        let mut args = common.to_vec();
        args.extend(extra);
        serde_json::from_str(&ok(ingot(&args, d))).unwrap()
    };
    let by_model = run(&["--file", "churn.csv", "--model", "m.ingot"]);
    let by_column = run(&["--file", "with_yhat.csv", "--predicted-label", "yhat"]);
    assert!(
        by_model["post_training_bias_metrics"].is_object(),
        "{by_model}"
    );
    assert_eq!(by_model, by_column);

    // KernelSHAP: efficiency per row and output, and the same answer twice.
    let explain = [
        "clarify",
        "explain",
        "--model",
        "m.ingot",
        "--file",
        "churn.csv",
        "--rows",
        "3",
        "--background",
        "8",
        "--nsamples",
        "200",
        "--output",
        "json",
    ];
    let first = ok(ingot(&explain, d));
    assert_eq!(first, ok(ingot(&explain, d)));
    let report: Value = serde_json::from_str(&first).unwrap();
    let features = report["features"].as_array().unwrap();
    assert!(!features.iter().any(|f| f == "Exited" || f == "RowNumber"));
    let local = report["local"].as_array().unwrap();
    assert_eq!(local.len(), 3);
    for output in ["0", "1"] {
        let expected = report["explanations"]["kernel_shap"][output]["expected_value"]
            .as_f64()
            .unwrap();
        for row in local {
            let sum: f64 = features
                .iter()
                .map(|f| {
                    row["shap_values"][output][f.as_str().unwrap()]
                        .as_f64()
                        .unwrap()
                })
                .sum();
            let prediction = row["prediction"][output].as_f64().unwrap();
            assert!(
                (sum - (prediction - expected)).abs() < 1e-9,
                "output {output}: Σφ {sum} vs {prediction} − {expected}"
            );
        }
        let global = &report["explanations"]["kernel_shap"][output]["global_shap_values"];
        assert!(features
            .iter()
            .all(|f| global[f.as_str().unwrap()].as_f64().unwrap() >= 0.0));
    }
}
