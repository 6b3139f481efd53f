//! Training jobs: up-front validation, stopping, and regression with a validation dataset.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::*;

#[tokio::test]
async fn bad_training_requests_are_rejected_up_front() {
    let app = app().await;
    app.upload("shapes", training_csv(60).as_bytes()).await;
    let base = json!({"dataset": "shapes", "target": "y", "algorithm": "linear-learner"});
    let cases = [
        (
            json!({"algorithm": "nope"}),
            StatusCode::BAD_REQUEST,
            "unknown algorithm",
        ),
        (
            json!({"target": "missing"}),
            StatusCode::BAD_REQUEST,
            "target column",
        ),
        (
            json!({"dataset": "absent"}),
            StatusCode::NOT_FOUND,
            "absent",
        ),
        (
            json!({"drop_columns": ["zzz"]}),
            StatusCode::BAD_REQUEST,
            "zzz",
        ),
        (
            json!({"validation_fraction": 1.5}),
            StatusCode::BAD_REQUEST,
            "validation_fraction",
        ),
    ];
    for (patch, status, fragment) in cases {
        let mut body = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = app.post_json("/api/v1/training-jobs", body).await;
        assert_eq!(reply.status, status, "{}", reply.text());
        assert!(
            reply.error_message().contains(fragment),
            "{}",
            reply.error_message()
        );
    }
    // A hyperparameter typo is accepted at submission but fails the job with a named reason.
    let mut body = base.clone();
    body["hyperparameters"] = json!({"l2_typo": "1"});
    let job = app.post_json("/api/v1/training-jobs", body).await.json();
    let job = app.wait_job(job["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "Failed");
    assert!(
        job["failure_reason"].as_str().unwrap().contains("l2_typo"),
        "{job}"
    );
}

#[tokio::test]
async fn running_jobs_can_be_stopped() {
    let app = app().await;
    app.upload("big", training_csv(20_000).as_bytes()).await;
    let job = app
        .post_json(
            "/api/v1/training-jobs",
            json!({"dataset": "big", "target": "y", "algorithm": "linear-learner",
                   "hyperparameters": {"max_iter": "1000000", "tol": "0"}}),
        )
        .await
        .json();
    let id = job["id"].as_str().unwrap();
    let stopped = app
        .post_json(&format!("/api/v1/training-jobs/{id}/stop"), json!({}))
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());
    let job = app.wait_job(id).await;
    assert_eq!(job["status"], "Stopped", "{job}");
    assert!(job["model_version"].is_null());
    let again = app
        .post_json(&format!("/api/v1/training-jobs/{id}/stop"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

/// A regression table: z = 3x − 2·[colour = blue] + noise-free.
fn regression_csv(rows: usize) -> String {
    let mut csv = String::from("x,colour,z\n");
    for i in 0..rows {
        let x = (i as f64 * 0.61).cos() * 5.0;
        let colour = ["red", "blue"][i % 2];
        let z = 3.0 * x - if colour == "blue" { 2.0 } else { 0.0 } + 1.0;
        csv.push_str(&format!("{x},{colour},{z}\n"));
    }
    csv
}

#[tokio::test]
async fn regression_with_a_validation_dataset() {
    let app = app().await;
    app.upload("reg-train", regression_csv(300).as_bytes())
        .await;
    app.upload("reg-valid", regression_csv(77).as_bytes()).await;
    let job = app
        .post_json(
            "/api/v1/training-jobs",
            json!({"dataset": "reg-train", "target": "z", "algorithm": "linear-learner",
                   "validation_dataset": "reg-valid:1", "hyperparameters": {"l2": "0"}}),
        )
        .await;
    assert_eq!(job.status, StatusCode::CREATED, "{}", job.text());
    let job = app.wait_job(job.json()["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "Completed", "{job}");
    assert_eq!(job["validation_dataset"], "reg-valid");
    assert_eq!(job["validation_dataset_version"], 1);
    let metrics = &job["metrics"];
    assert!(metrics["rmse"].as_f64().unwrap() < 1e-4, "{metrics}");
    assert!(metrics["mae"].as_f64().unwrap() < 1e-4, "{metrics}");
    assert!(metrics["r2"].as_f64().unwrap() > 0.999_999, "{metrics}");
    let version = app.get("/api/v1/models/reg-train/versions/1").await.json();
    assert_eq!(version["task"], "regression");

    app.post_json(
        "/api/v1/endpoints",
        json!({"name": "reg", "model": "reg-train"}),
    )
    .await;
    assert_eq!(app.wait_endpoint("reg").await["status"], "InService");
    let answer = app
        .invoke(
            "reg",
            "application/jsonlines",
            None,
            "{\"x\": 1.0, \"colour\": \"blue\"}\n[2.0, \"red\"]\n",
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let lines: Vec<Value> = answer
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        (lines[0]["score"].as_f64().unwrap() - 2.0).abs() < 1e-6,
        "{lines:?}"
    );
    assert!(
        (lines[1]["score"].as_f64().unwrap() - 7.0).abs() < 1e-6,
        "{lines:?}"
    );
    let csv = app.invoke("reg", "text/csv", None, "1.0,blue\n").await;
    assert_eq!(csv.text().lines().next(), Some("prediction"));
}
