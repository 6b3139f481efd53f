//! Model monitoring end to end through the router: a baseline of the training data, shifted
//! captured traffic, a data-quality execution with stored reports, a signed alert and
//! `/metrics` gauges; then ground truth joined by event id and a model-quality execution whose
//! accuracy is checked against a hand count and raises a threshold violation.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::serving::{deploy, train};
use crate::serving_jobs::webhook_receiver;
use crate::{app_with, TestApp};

async fn put_json(app: &TestApp, uri: &str, body: Value) -> crate::Reply {
    app.send(
        app.request(Method::PUT, uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// The predicted class of a CSV answer (header of class labels, one row of probabilities).
fn predicted_label(answer: &str) -> String {
    let mut lines = answer.lines();
    let classes: Vec<&str> = lines.next().unwrap().split(',').collect();
    let probabilities: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|p| p.parse().unwrap())
        .collect();
    let best = (0..classes.len())
        .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
        .unwrap();
    classes[best].to_string()
}

#[tokio::test]
async fn data_and_model_quality_executions_report_alert_and_export_metrics() {
    let app = app_with(|c| c.monitoring_interval = std::time::Duration::from_secs(3600)).await;
    let version = train(&app, "shapes", json!({})).await;

    // A baseline of the training dataset (it also holds the target, which is not captured).
    let baseline = app
        .post_json(
            "/api/v1/monitoring/baselines",
            json!({"name": "shapes-base", "dataset": "shapes"}),
        )
        .await;
    assert_eq!(baseline.status, StatusCode::CREATED, "{}", baseline.text());
    let features: Vec<String> = baseline.json()["statistics"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(features, ["x", "colour", "size", "y"]);
    let stored = app.get("/api/v1/monitoring/baselines/shapes-base").await;
    assert_eq!(stored.json()["constraints"], baseline.json()["constraints"]);
    assert_eq!(
        app.get("/api/v1/monitoring/baselines/none").await.status,
        StatusCode::NOT_FOUND
    );

    deploy(
        &app,
        "watched",
        json!({"variants": [{"name": "a", "steps": [{"model": "shapes", "version": version}]}],
               "data_capture": {"sample_percent": 100.0}}),
    )
    .await;
    // Shifted traffic: x far outside the training range [-3, 3], a colour never seen.
    let mut answers: Vec<(String, String)> = Vec::new();
    for i in 0..40 {
        let colour = if i % 2 == 0 { "purple" } else { "red" };
        let row = format!("{},{colour},{}\n", 12.0 + (i % 5) as f64 * 0.5, i % 11);
        let reply = app.invoke("watched", "text/csv", None, &row).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let event_id = reply.header("x-ingot-event-id");
        assert!(!event_id.is_empty());
        answers.push((event_id, predicted_label(&reply.text())));
    }

    let (url, received) = webhook_receiver().await;
    let schedule = app
        .post_json(
            "/api/v1/endpoints/watched/monitoring-schedules",
            json!({"name": "dq", "type": "data_quality", "baseline": "shapes-base",
                   "every": "0 * * * *", "webhook_url": url}),
        )
        .await;
    assert_eq!(schedule.status, StatusCode::CREATED, "{}", schedule.text());
    let bad = app
        .post_json(
            "/api/v1/endpoints/watched/monitoring-schedules",
            json!({"name": "bad", "type": "data_quality", "baseline": "shapes-base", "every": "61 * * * *"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.error_message().contains("minute"), "{}", bad.text());

    let run = app
        .post_json(
            "/api/v1/endpoints/watched/monitoring-schedules/dq/run",
            json!({}),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text());
    let execution = run.json();
    assert_eq!(
        execution["status"], "CompletedWithViolations",
        "{execution}"
    );
    assert_eq!(execution["summary"]["rows"], 40);
    let id = execution["id"].as_str().unwrap().to_string();

    let violations = app
        .get(&format!(
            "/api/v1/endpoints/watched/monitoring-executions/{id}/constraint_violations.json"
        ))
        .await
        .json();
    let violations = violations["violations"].as_array().unwrap().clone();
    assert_eq!(execution["violations"], violations.len());
    let checks: Vec<(String, String)> = violations
        .iter()
        .map(|v| {
            (
                v["feature_name"].as_str().unwrap().to_string(),
                v["constraint_check_type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        checks.contains(&("colour".into(), "categorical_values_check".into())),
        "{checks:?}"
    );
    assert!(
        checks.contains(&("x".into(), "baseline_drift_check".into())),
        "{checks:?}"
    );
    // The target is in the baseline but is no model input: no missing-column violation.
    assert!(!checks.iter().any(|(f, _)| f == "y"), "{checks:?}");
    let report = app
        .get(&format!(
            "/api/v1/endpoints/watched/monitoring-executions/{id}/report.json"
        ))
        .await
        .json();
    let x = report["drift"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == "x")
        .unwrap()
        .clone();
    assert_eq!(x["drifted"], true, "{x}");
    let html = app
        .get(&format!(
            "/api/v1/endpoints/watched/monitoring-executions/{id}/report.html"
        ))
        .await;
    assert!(html.content_type.starts_with("text/html"));
    assert!(html.text().contains("colour"));

    // The alert: delivered, signed over the exact body with the platform's secret.
    assert!(execution["webhook_status"]
        .as_str()
        .unwrap()
        .starts_with("delivered"));
    let (signature, body) = received.lock().unwrap()[0].clone();
    let secret = std::fs::read_to_string(app.home.path().join("webhook-secret")).unwrap();
    let expected =
        ingot_service::webhook::hmac_sha256_hex(secret.trim().as_bytes(), body.as_bytes());
    assert_eq!(signature, format!("sha256={expected}"));
    let alert: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alert["execution_id"], id.as_str());
    assert_eq!(
        alert["violations"].as_array().unwrap().len(),
        violations.len()
    );

    let metrics = app.get("/metrics").await.text();
    assert!(
        metrics.contains(&format!(
            "ingot_monitoring_violations{{endpoint=\"watched\",schedule=\"dq\",type=\"all\"}} {}",
            violations.len()
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("ingot_monitoring_executions_total{status=\"CompletedWithViolations\"} 1")
    );
    assert!(
        metrics.contains("ingot_monitoring_drifted_share{endpoint=\"watched\",schedule=\"dq\"}")
    );

    // Nothing new was captured since: the next window is empty.
    let again = app
        .post_json(
            "/api/v1/endpoints/watched/monitoring-schedules/dq/run",
            json!({}),
        )
        .await
        .json();
    assert_eq!(again["status"], "NoData", "{again}");
    assert_eq!(again["window_start"], execution["window_end"]);

    // Ground truth by event id: the first half labelled as predicted, the rest the opposite.
    let mut labels = String::from("event_id,label\n");
    let mut truth = BTreeMap::new();
    for (i, (event_id, predicted)) in answers.iter().enumerate() {
        let label = if i < 10 {
            predicted.clone()
        } else if predicted == "1" {
            "0".to_string()
        } else {
            "1".to_string()
        };
        labels.push_str(&format!("{event_id},{label}\n"));
        truth.insert(event_id.clone(), label);
    }
    let posted = app
        .send(
            app.request(Method::POST, "/api/v1/endpoints/watched/ground-truth")
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from(labels))
                .unwrap(),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.text());
    assert_eq!(posted.json()["rows"], 40);
    let hand_accuracy = answers
        .iter()
        .filter(|(id, predicted)| &truth[id] == predicted)
        .count() as f64
        / answers.len() as f64;

    let thresholds = put_json(
        &app,
        "/api/v1/monitoring/baselines/shapes-quality",
        json!({"model_quality": {"accuracy": {"threshold": 0.8, "comparison": "LessThanThreshold"}}}),
    )
    .await;
    assert_eq!(thresholds.status, StatusCode::OK, "{}", thresholds.text());
    let created = app
        .post_json(
            "/api/v1/endpoints/watched/monitoring-schedules",
            json!({"name": "mq", "type": "model_quality", "baseline": "shapes-quality", "every": "daily"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let quality = app
        .post_json(
            "/api/v1/endpoints/watched/monitoring-schedules/mq/run",
            json!({}),
        )
        .await
        .json();
    assert_eq!(quality["status"], "CompletedWithViolations", "{quality}");
    assert_eq!(quality["summary"]["rows"], 40);
    let accuracy = quality["summary"]["metrics"]["accuracy"].as_f64().unwrap();
    assert!(
        (accuracy - hand_accuracy).abs() < 1e-12,
        "{accuracy} vs {hand_accuracy}"
    );
    for metric in ["precision", "recall", "f1", "roc_auc", "log_loss"] {
        assert!(
            quality["summary"]["metrics"][metric].is_number(),
            "{metric}: {quality}"
        );
    }
    let mq_id = quality["id"].as_str().unwrap();
    let mq_violations = app
        .get(&format!(
            "/api/v1/endpoints/watched/monitoring-executions/{mq_id}/constraint_violations.json"
        ))
        .await
        .json();
    assert_eq!(mq_violations["violations"][0]["metric_name"], "accuracy");
    let metrics = app.get("/metrics").await.text();
    assert!(metrics.contains(&format!(
        "ingot_monitoring_model_quality{{endpoint=\"watched\",schedule=\"mq\",metric=\"accuracy\"}} {accuracy}"
    )), "{metrics}");

    let executions = app
        .get("/api/v1/endpoints/watched/monitoring-executions")
        .await
        .json();
    assert_eq!(executions.as_array().unwrap().len(), 3);
    let schedules = app
        .get("/api/v1/endpoints/watched/monitoring-schedules")
        .await
        .json();
    assert_eq!(schedules.as_array().unwrap().len(), 2);
    let deleted = app
        .send(
            app.request(
                Method::DELETE,
                "/api/v1/endpoints/watched/monitoring-schedules/dq",
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let executions = app
        .get("/api/v1/endpoints/watched/monitoring-executions")
        .await
        .json();
    assert_eq!(executions.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn feature_attribution_drift_compares_shap_rankings_by_ndcg() {
    let app = app_with(|c| c.monitoring_interval = std::time::Duration::from_secs(3600)).await;
    let version = train(&app, "trees", json!({"algorithm": "gbdt"})).await;
    let baseline = app
        .post_json(
            "/api/v1/monitoring/baselines",
            json!({"name": "trees-base", "dataset": "shapes", "model": format!("trees:{version}")}),
        )
        .await;
    assert_eq!(baseline.status, StatusCode::CREATED, "{}", baseline.text());
    let attributions = baseline.json()["attributions"]["features"].clone();
    let names: Vec<&String> = attributions.as_object().unwrap().keys().collect();
    assert_eq!(names, ["colour", "size", "x"], "{attributions}");

    deploy(
        &app,
        "trees",
        json!({"variants": [{"name": "a", "steps": [{"model": "trees", "version": version}]}],
               "data_capture": {"sample_percent": 100.0}}),
    )
    .await;
    for row in crate::training_csv(60).lines().skip(1) {
        let features: Vec<&str> = row.split(',').take(3).collect();
        let reply = app
            .invoke(
                "trees",
                "text/csv",
                None,
                &format!("{}\n", features.join(",")),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let created = app
        .post_json(
            "/api/v1/endpoints/trees/monitoring-schedules",
            json!({"name": "fa", "type": "feature_attribution_drift", "baseline": "trees-base", "every_seconds": 3600}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let run = app
        .post_json(
            "/api/v1/endpoints/trees/monitoring-schedules/fa/run",
            json!({}),
        )
        .await
        .json();
    assert!(
        run["status"].as_str().unwrap().starts_with("Completed"),
        "{run}"
    );
    let report = |id: &str| {
        let app = &app;
        let path = format!("/api/v1/endpoints/trees/monitoring-executions/{id}/report.json");
        async move { app.get(&path).await.json() }
    };
    let first = report(run["id"].as_str().unwrap()).await;
    assert_eq!(first["rows"], 60);
    let vector = |v: &Value| -> Vec<f64> {
        ["colour", "size", "x"]
            .iter()
            .map(|f| v[*f].as_f64().unwrap_or(0.0))
            .collect()
    };
    let expected = ingot_explain::drift::attribution_ndcg(
        &vector(&first["baseline"]),
        &vector(&first["current"]),
    )
    .unwrap();
    assert!((first["ndcg"].as_f64().unwrap() - expected).abs() < 1e-12);
    assert_eq!(run["status"] == "CompletedWithViolations", expected < 0.9);

    // A baseline ranking the features in the opposite order of what the traffic shows.
    let current = vector(&first["current"]);
    let mut order: Vec<usize> = (0..3).collect();
    order.sort_by(|&a, &b| current[a].total_cmp(&current[b]));
    let mut reversed = serde_json::Map::new();
    for (rank, &feature) in order.iter().enumerate() {
        let name = ["colour", "size", "x"][feature];
        reversed.insert(name.to_string(), json!([1.0, 0.1, 0.01][rank]));
    }
    let put = put_json(
        &app,
        "/api/v1/monitoring/baselines/reversed",
        json!({"attributions": {"features": reversed}}),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    app.post_json(
        "/api/v1/endpoints/trees/monitoring-schedules",
        json!({"name": "fa-rev", "type": "feature_attribution_drift", "baseline": "reversed", "every": "daily"}),
    )
    .await;
    let drifted = app
        .post_json(
            "/api/v1/endpoints/trees/monitoring-schedules/fa-rev/run",
            json!({}),
        )
        .await
        .json();
    let second = report(drifted["id"].as_str().unwrap()).await;
    assert_eq!(second["current"], first["current"]);
    let ndcg = second["ndcg"].as_f64().unwrap();
    let expected = ingot_explain::drift::attribution_ndcg(
        &vector(&second["baseline"]),
        &vector(&second["current"]),
    )
    .unwrap();
    assert!((ndcg - expected).abs() < 1e-12);
    assert!(ndcg < 0.9, "{second}");
    assert_eq!(drifted["status"], "CompletedWithViolations", "{drifted}");
    assert_eq!(drifted["violations"], 1);
}

#[tokio::test]
async fn bias_drift_recomputes_clarify_metrics_on_captured_traffic() {
    let app = app_with(|c| c.monitoring_interval = std::time::Duration::from_secs(3600)).await;
    let version = train(&app, "fair", json!({})).await;
    let baseline = app
        .post_json(
            "/api/v1/monitoring/baselines",
            json!({"name": "fair-base", "dataset": "shapes", "model": format!("fair:{version}"),
                   "bias": {"facet": "colour", "facet_values": ["red"], "positive_label": "1"}}),
        )
        .await;
    assert_eq!(baseline.status, StatusCode::CREATED, "{}", baseline.text());
    let bias = baseline.json()["bias"].clone();
    assert_eq!(bias["facet"], "colour");
    for metric in ["DPPL", "DI", "AD", "RD"] {
        assert!(
            bias["metrics"][metric]["value"].is_number(),
            "{metric}: {bias}"
        );
        assert_eq!(bias["metrics"][metric]["threshold"], 0.1);
    }

    deploy(
        &app,
        "fair",
        json!({"variants": [{"name": "a", "steps": [{"model": "fair", "version": version}]}],
               "data_capture": {"sample_percent": 100.0}}),
    )
    .await;
    // Red rows get low x, the others high x: the model's positives move away from red.
    let (mut facet, mut positive) = (Vec::new(), Vec::new());
    for i in 0..30 {
        let colour = ["red", "green", "blue"][i % 3];
        let x = if colour == "red" { -8.0 } else { 8.0 };
        let reply = app
            .invoke("fair", "text/csv", None, &format!("{x},{colour},3\n"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        facet.push(colour == "red");
        positive.push(predicted_label(&reply.text()) == "1");
    }
    let rate = |d: bool| {
        let rows: Vec<bool> = (0..facet.len())
            .filter(|&i| facet[i] == d)
            .map(|i| positive[i])
            .collect();
        rows.iter().filter(|p| **p).count() as f64 / rows.len() as f64
    };
    let hand_dppl = rate(false) - rate(true);

    let created = app
        .post_json(
            "/api/v1/endpoints/fair/monitoring-schedules",
            json!({"name": "bias", "type": "bias_drift", "baseline": "fair-base", "every": "hourly"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let run = app
        .post_json(
            "/api/v1/endpoints/fair/monitoring-schedules/bias/run",
            json!({}),
        )
        .await
        .json();
    let dppl = run["summary"]["bias_metrics"]["DPPL"].as_f64().unwrap();
    assert!((dppl - hand_dppl).abs() < 1e-12, "{dppl} vs {hand_dppl}");
    // Without ground truth only the prediction-based metrics exist.
    assert!(run["summary"]["bias_metrics"]["AD"].is_null(), "{run}");
    let base_dppl = bias["metrics"]["DPPL"]["value"].as_f64().unwrap();
    assert!(
        (dppl - base_dppl).abs() > 0.1,
        "traffic did not move DPPL: {dppl} vs {base_dppl}"
    );
    assert_eq!(run["status"], "CompletedWithViolations", "{run}");
    let id = run["id"].as_str().unwrap();
    let violations = app
        .get(&format!(
            "/api/v1/endpoints/fair/monitoring-executions/{id}/constraint_violations.json"
        ))
        .await
        .json();
    let names: Vec<&str> = violations["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["metric_name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"DPPL"), "{violations}");
}
