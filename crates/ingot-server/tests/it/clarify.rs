//! Explanations and Clarify through the real router: `?explain=true` and OIP
//! `parameters.explain` on a GBDT endpoint (base + Σ SHAP equals the logit of the returned
//! probability), the refusal for a model without exact attributions, and
//! `POST /api/v1/clarify/bias|explain` against computations made here on the same data.

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use ingot_catalog::{LoadedModel, Predictions};
use ingot_explain::bias::{bias_report, BiasInput, Column, Predicted, Selection};
use serde_json::{json, Value};

use crate::serving::train;
use crate::*;

const ROWS: &str = "2.5,red,3\n-2.5,blue,\n0.1,purple,4\n1.0,green,7\n";

async fn gbdt(app: &TestApp, model: &str) {
    train(
        app,
        model,
        json!({"algorithm": "gbdt", "hyperparameters": {"num_trees": "20", "num_leaves": "8", "min_data_in_leaf": "5"}}),
    )
    .await;
}

async fn endpoint(app: &TestApp, name: &str, model: &str) {
    let created = app
        .post_json("/api/v1/endpoints", json!({"name": name, "model": model}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(app.wait_endpoint(name).await["status"], "InService");
}

async fn explain(app: &TestApp, endpoint: &str, accept: Option<&str>) -> Reply {
    let mut request = app
        .request(
            Method::POST,
            &format!("/endpoints/{endpoint}/invocations?explain=true"),
        )
        .header(header::CONTENT_TYPE, "text/csv");
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    app.send(request.body(Body::from(ROWS)).unwrap()).await
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// The single output of a binary model's explanation and `base + Σ shap` for it.
fn margin(explanation: &Value) -> (String, f64) {
    let shap = explanation["shap_values"].as_object().unwrap();
    assert_eq!(
        shap.len(),
        1,
        "a binary model explains one margin: {explanation}"
    );
    let (output, values) = shap.iter().next().unwrap();
    let values = values.as_object().unwrap();
    assert_eq!(values.len(), 3, "one value per input column: {explanation}");
    let sum: f64 = values.values().map(|v| v.as_f64().unwrap()).sum();
    let base = explanation["base_values"][output].as_f64().unwrap();
    (output.clone(), base + sum)
}

#[tokio::test]
async fn explained_invocations_add_up_to_the_margin() {
    let app = app().await;
    gbdt(&app, "trees").await;
    endpoint(&app, "trees-ep", "trees").await;

    // Whatever the Accept, explanations come back as JSON.
    for accept in [None, Some("text/csv")] {
        let reply = explain(&app, "trees-ep", accept).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.content_type, "application/json");
        let body = reply.json();
        let predictions = body["predictions"].as_array().unwrap();
        let explanations = body["explanations"].as_array().unwrap();
        assert_eq!((predictions.len(), explanations.len()), (4, 4), "{body}");
        let mut margins = Vec::new();
        for (prediction, explanation) in predictions.iter().zip(explanations) {
            let (output, total) = margin(explanation);
            let p = prediction["probabilities"][&output].as_f64().unwrap();
            assert!((logit(p) - total).abs() < 1e-6, "logit({p}) vs {total}");
            margins.push(total);
        }
        assert!(margins.iter().any(|m| *m > 0.0) && margins.iter().any(|m| *m < 0.0));
    }
    // The same predictions as without explanations.
    let plain = app
        .invoke("trees-ep", "text/csv", Some("application/json"), ROWS)
        .await
        .json();
    let explained = explain(&app, "trees-ep", None).await.json();
    assert_eq!(plain["predictions"], explained["predictions"]);
    assert!(plain.get("explanations").is_none());

    // OIP: `parameters.explain`, answered in the response's parameters.
    let infer = app
        .post_json(
            "/v2/models/trees-ep/infer",
            json!({"inputs": [
                {"name": "x", "shape": [2], "datatype": "FP64", "data": [2.5, -2.5]},
                {"name": "colour", "shape": [2], "datatype": "BYTES", "data": ["red", "blue"]},
                {"name": "size", "shape": [2], "datatype": "INT64", "data": [3, null]},
            ], "parameters": {"explain": true}}),
        )
        .await;
    assert_eq!(infer.status, StatusCode::OK, "{}", infer.text());
    let body = infer.json();
    let explanations = body["parameters"]["explanations"].as_array().unwrap();
    assert_eq!(explanations.len(), 2);
    let probabilities = body["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "probabilities")
        .unwrap()["data"]
        .clone();
    for (r, explanation) in explanations.iter().enumerate() {
        let (_, total) = margin(explanation);
        let p = probabilities[r * 2 + 1].as_f64().unwrap();
        assert!(
            (logit(p) - total).abs() < 1e-6,
            "row {r}: logit({p}) vs {total}"
        );
    }
    assert_eq!(
        margin(&explanations[0]).1,
        margin(&explained["explanations"][0]).1
    );
}

#[tokio::test]
async fn models_without_exact_attributions_are_refused_with_a_reason() {
    let app = app().await;
    train(&app, "linear", json!({})).await;
    endpoint(&app, "linear-ep", "linear").await;
    let reply = explain(&app, "linear-ep", None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    let message = reply.error_message();
    assert!(
        message.contains("explanations for linear-learner models need a background"),
        "{message}"
    );
    assert!(message.contains("/api/v1/clarify/explain"), "{message}");
    // Without the flag the endpoint answers as always.
    let plain = app.invoke("linear-ep", "text/csv", None, ROWS).await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text());
    // A malformed flag is a 400, not a silent false.
    let bad = app
        .send(
            app.request(
                Method::POST,
                "/endpoints/linear-ep/invocations?explain=maybe",
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(ROWS))
            .unwrap(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());
}

async fn model(app: &TestApp, name: &str) -> LoadedModel {
    let artifact = app
        .get(&format!("/api/v1/models/{name}/versions/latest/artifact"))
        .await;
    assert_eq!(artifact.status, StatusCode::OK);
    LoadedModel::from_bytes(&artifact.body).unwrap()
}

fn shapes() -> ingot_data::RecordBatch {
    ingot_data::read_table(training_csv(300).as_bytes(), ingot_data::DataFormat::Csv)
        .unwrap()
        .batch
}

fn text_column(batch: &ingot_data::RecordBatch, name: &str) -> Vec<String> {
    match ingot_explain::table::column(batch, name).unwrap().0 {
        ingot_explain::table::OwnedColumn::Text(v) => v,
        ingot_explain::table::OwnedColumn::Numeric(v) => v.iter().map(|x| format!("{x}")).collect(),
    }
}

#[tokio::test]
async fn clarify_bias_matches_the_metrics_computed_here() {
    let app = app().await;
    train(&app, "linear", json!({})).await;
    let reply = app
        .post_json(
            "/api/v1/clarify/bias",
            json!({"dataset": "shapes", "label": "y", "facet": "colour",
                   "facet_values": ["red"], "positive_label": ["1"], "model": "linear:1"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let got = reply.json();
    assert_eq!(got["dropped_rows"], 0);

    let batch = shapes();
    let label = text_column(&batch, "y");
    let facet = text_column(&batch, "colour");
    let n = label.len() as f64;
    // Class imbalance and the difference in positive proportions, by hand.
    let d: Vec<bool> = facet.iter().map(|f| f == "red").collect();
    let nd = d.iter().filter(|&&x| x).count() as f64;
    let ci = (n - nd - nd) / n;
    let positive = |pick: bool| {
        label
            .iter()
            .zip(&d)
            .filter(|(l, &x)| x == pick && *l == "1")
            .count() as f64
    };
    let dpl = positive(false) / (n - nd) - positive(true) / nd;
    let pre = |name: &str| {
        got["pre_training_bias_metrics"]["facets"]["colour"][0]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert!((pre("CI") - ci).abs() < 1e-12, "CI {} vs {ci}", pre("CI"));
    assert!(
        (pre("DPL") - dpl).abs() < 1e-12,
        "DPL {} vs {dpl}",
        pre("DPL")
    );

    // The whole report equals the library's on the model's predictions computed here.
    let loaded = model(&app, "linear").await;
    let scores: Vec<f64> = match loaded.predict(&batch).unwrap() {
        Predictions::Classification {
            classes,
            probabilities,
        } => {
            let one = classes.iter().position(|c| c == "1").unwrap();
            probabilities.chunks(2).map(|p| p[one]).collect()
        }
        other => panic!("{other:?}"),
    };
    let positive = Selection::Values(vec!["1".into()]);
    let facet_selection = Selection::Values(vec!["red".into()]);
    let local = bias_report(&BiasInput {
        label_name: "y",
        label: Column::Text(&label),
        positive: &positive,
        facet_name: "colour",
        facet: Column::Text(&facet),
        facet_selection: Some(&facet_selection),
        group: None,
        predicted: Some(Predicted::Scores {
            scores: &scores,
            threshold: 0.5,
        }),
        features: None,
    })
    .unwrap();
    let mut local = serde_json::to_value(&local).unwrap();
    // The server adds the flip test's numeric neighbours (x, size); compare every other metric.
    let strip_ft = |report: &mut Value| {
        for section in ["pre_training_bias_metrics", "post_training_bias_metrics"] {
            if let Some(metrics) = report[section]["facets"]["colour"][0]["metrics"].as_array_mut()
            {
                metrics.retain(|m| m["name"] != "FT");
            }
        }
    };
    let mut got = got;
    strip_ft(&mut got);
    strip_ft(&mut local);
    got.as_object_mut().unwrap().remove("dropped_rows");
    assert_eq!(got, local);

    let missing = app
        .post_json(
            "/api/v1/clarify/bias",
            json!({"dataset": "shapes", "label": "nope", "facet": "colour"}),
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::BAD_REQUEST,
        "{}",
        missing.text()
    );
    assert!(
        missing.error_message().contains("nope"),
        "{}",
        missing.text()
    );
    let unknown = app
        .post_json(
            "/api/v1/clarify/bias",
            json!({"dataset": "shapes", "label": "y", "facet": "colour", "model": "ghost"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text());
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_object()
        .unwrap()
        .values()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[tokio::test]
async fn clarify_explain_uses_tree_shap_for_trees_and_kernel_shap_otherwise() {
    let app = app().await;
    gbdt(&app, "trees").await;
    train(&app, "linear", json!({})).await;
    let batch = shapes();

    // Trees: TreeSHAP of the margin; equal to the model's own attributions computed here.
    let reply = app
        .post_json(
            "/api/v1/clarify/explain",
            json!({"model": "trees", "dataset": "shapes", "rows": 5}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let report = reply.json();
    assert_eq!(report["method"], "tree_shap");
    let trees = model(&app, "trees").await;
    let conformed = ingot_data::conform_batch(&batch, &trees.manifest.input_schema).unwrap();
    let first = ingot_data::take_rows(&conformed, &[0, 1, 2, 3, 4]).unwrap();
    let attributions = trees.estimator().shap_values(&first).unwrap().unwrap();
    let output = &attributions.outputs[0];
    let local = report["local"].as_array().unwrap();
    assert_eq!(local.len(), 5);
    let probabilities = match trees.predict(&first).unwrap() {
        Predictions::Classification { probabilities, .. } => probabilities,
        other => panic!("{other:?}"),
    };
    for (r, row) in local.iter().enumerate() {
        for (f, feature) in attributions.features.iter().enumerate() {
            let got = row["shap_values"][output][feature].as_f64().unwrap();
            assert!((got - attributions.value(r, 0, f)).abs() < 1e-12);
        }
        let total = report["explanations"]["tree_shap"][output]["expected_value"]
            .as_f64()
            .unwrap()
            + numbers(&row["shap_values"][output]).iter().sum::<f64>();
        assert!((total - logit(probabilities[r * 2 + 1])).abs() < 1e-6);
    }

    // Linear learner: KernelSHAP of the probabilities; efficiency against predictions made
    // here, and global importance = mean |SHAP| of the local values.
    let reply = app
        .post_json(
            "/api/v1/clarify/explain",
            json!({"model": "linear", "dataset": "shapes", "rows": 4, "background": 20}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let report = reply.json();
    assert_eq!(report["method"], "kernel_shap");
    assert_eq!(report["background_rows"], 20);
    let linear = model(&app, "linear").await;
    let first = ingot_data::take_rows(&batch, &[0, 1, 2, 3]).unwrap();
    let (classes, probabilities) = match linear.predict(&first).unwrap() {
        Predictions::Classification {
            classes,
            probabilities,
        } => (classes, probabilities),
        other => panic!("{other:?}"),
    };
    let local = report["local"].as_array().unwrap();
    for (c, class) in classes.iter().enumerate() {
        let summary = &report["explanations"]["kernel_shap"][class];
        let base = summary["expected_value"].as_f64().unwrap();
        let mut mean_abs = [0.0; 3];
        for (r, row) in local.iter().enumerate() {
            let values = numbers(&row["shap_values"][class]);
            let total = base + values.iter().sum::<f64>();
            assert!((total - probabilities[r * classes.len() + c]).abs() < 1e-9);
            for (m, v) in mean_abs.iter_mut().zip(&values) {
                *m += v.abs() / local.len() as f64;
            }
        }
        let global = numbers(&summary["global_shap_values"]);
        for (g, m) in global.iter().zip(&mean_abs) {
            assert!((g - m).abs() < 1e-12);
        }
    }

    let bad = app
        .post_json(
            "/api/v1/clarify/explain",
            json!({"model": "linear", "dataset": "shapes", "method": "magic"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let openapi = app.get("/api/v1/openapi.json").await.json();
    for path in ["/api/v1/clarify/bias", "/api/v1/clarify/explain"] {
        assert!(
            openapi["paths"][path]["post"].is_object(),
            "{path} documented"
        );
    }
}

#[tokio::test]
async fn a_configured_background_explains_other_models_with_kernel_shap() {
    let app = app().await;
    train(&app, "linear", json!({})).await;
    let variant =
        json!({"name": "main", "steps": [{"model": "linear", "version": 1}], "weight": 1.0});
    let bad = app
        .post_json(
            "/api/v1/endpoints",
            json!({"name": "bad", "config": {"variants": [variant.clone()],
                   "explain": {"background_dataset": "shapes", "background_rows": 0}}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());
    assert!(
        bad.text().contains("explain.background_rows"),
        "{}",
        bad.text()
    );
    crate::serving::deploy(
        &app,
        "linear-bg",
        json!({"variants": [variant],
               "explain": {"background_dataset": "shapes", "background_rows": 20, "seed": 4}}),
    )
    .await;
    let reply = explain(&app, "linear-bg", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();

    // The base value is the mean prediction over the background: 20 rows of the dataset
    // sampled with the configured seed.
    let linear = model(&app, "linear").await;
    let batch = shapes();
    let picked = ingot_explain::shap::sample_indices(batch.num_rows(), 20, 4);
    let background = ingot_data::take_rows(&batch, &picked).unwrap();
    let (classes, mean) = match linear.predict(&background).unwrap() {
        Predictions::Classification {
            classes,
            probabilities,
        } => {
            let k = classes.len();
            let mean: Vec<f64> = (0..k)
                .map(|c| probabilities.iter().skip(c).step_by(k).sum::<f64>() / 20.0)
                .collect();
            (classes, mean)
        }
        other => panic!("{other:?}"),
    };
    let predictions = body["predictions"].as_array().unwrap();
    let explanations = body["explanations"].as_array().unwrap();
    assert_eq!(explanations.len(), 4);
    for (prediction, explanation) in predictions.iter().zip(explanations) {
        for (c, class) in classes.iter().enumerate() {
            let base = explanation["base_values"][class].as_f64().unwrap();
            assert!((base - mean[c]).abs() < 1e-12, "{base} vs {}", mean[c]);
            let total = base
                + numbers(&explanation["shap_values"][class])
                    .iter()
                    .sum::<f64>();
            let p = prediction["probabilities"][class].as_f64().unwrap();
            assert!((total - p).abs() < 1e-9, "{total} vs {p}");
        }
    }
}
