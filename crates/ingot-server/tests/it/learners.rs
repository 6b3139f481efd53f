//! The learners of `ingot-learners` through the server: unsupervised jobs without a target,
//! supervised k-NN, each deployed to an endpoint answering in its own shape (clusters and
//! distances, projections, anomaly scores and flags, class probabilities).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::*;

/// Trains `body` on dataset `shapes`, deploys the model to endpoint `name`, returns the job.
async fn train_and_deploy(app: &TestApp, name: &str, mut body: Value) -> Value {
    body["dataset"] = json!("shapes");
    body["model_name"] = json!(name);
    let reply = app.post_json("/api/v1/training-jobs", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let job = app.wait_job(reply.json()["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "Completed", "{job}");
    let endpoint = app
        .post_json("/api/v1/endpoints", json!({"name": name, "model": name}))
        .await;
    assert_eq!(endpoint.status, StatusCode::CREATED, "{}", endpoint.text());
    assert_eq!(app.wait_endpoint(name).await["status"], "InService");
    job
}

const ROWS: &str = "0.5,red,3\n-2.9,blue,\n";

#[tokio::test]
async fn unsupervised_and_knn_models_train_deploy_and_answer() {
    let app = app().await;
    app.upload("shapes", training_csv(300).as_bytes()).await;

    let job = train_and_deploy(
        &app,
        "clusters",
        json!({"algorithm": "kmeans", "drop_columns": ["y"], "hyperparameters": {"k": "3"}}),
    )
    .await;
    assert_eq!(job["target"], Value::Null);
    assert!(
        job["metrics"]["training_inertia"].as_f64().unwrap() > 0.0,
        "{job}"
    );
    let version = app
        .get("/api/v1/models/clusters/versions/latest")
        .await
        .json();
    assert_eq!(version["task"], "clustering", "{version}");
    let reply = app
        .invoke("clusters", "text/csv", Some("text/csv"), ROWS)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let text = reply.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "cluster,distance_0,distance_1,distance_2");
    assert_eq!(lines.len(), 3);
    let reply = app
        .invoke("clusters", "text/csv", Some("application/json"), ROWS)
        .await;
    let rows = reply.json()["predictions"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    let cluster = first["cluster"].as_u64().unwrap() as usize;
    let distances = first["distances"].as_array().unwrap();
    assert_eq!(distances.len(), 3);
    assert_eq!(first["distance"], distances[cluster]);

    train_and_deploy(
        &app,
        "axes",
        json!({"algorithm": "pca", "drop_columns": ["y"], "hyperparameters": {"num_components": "2"}}),
    )
    .await;
    let reply = app
        .invoke("axes", "text/csv", Some("application/jsonlines"), ROWS)
        .await;
    let lines: Vec<Value> = reply
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["components"].as_array().unwrap().len(), 2);

    let job = train_and_deploy(
        &app,
        "odd",
        json!({"algorithm": "random-cut-forest", "drop_columns": ["y"], "hyperparameters": {"num_trees": "20"}}),
    )
    .await;
    assert!(job["metrics"]["training_threshold"].is_number(), "{job}");
    let reply = app
        .invoke("odd", "application/json", None, r#"{"instances": [{"x": 0.1, "colour": "red", "size": 2}, {"x": 900, "colour": "pink", "size": 40}]}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let rows = reply.json()["predictions"].as_array().unwrap().clone();
    assert_eq!(rows[0]["anomaly"], false, "{rows:?}");
    assert_eq!(rows[1]["anomaly"], true, "{rows:?}");
    assert!(rows[1]["score"].as_f64().unwrap() > rows[0]["score"].as_f64().unwrap());

    let job = train_and_deploy(
        &app,
        "neighbours",
        json!({"algorithm": "knn", "target": "y", "hyperparameters": {"k": "7"}}),
    )
    .await;
    assert!(job["metrics"]["accuracy"].as_f64().unwrap() > 0.8, "{job}");
    let reply = app
        .invoke("neighbours", "text/csv", Some("text/csv"), ROWS)
        .await;
    assert_eq!(reply.text().lines().next(), Some("0,1"));

    for (name, algorithm) in [
        ("fm", "factorization-machines"),
        ("words", "text-classifier"),
    ] {
        let job = train_and_deploy(
            &app,
            name,
            json!({"algorithm": algorithm, "target": "y", "hyperparameters": {"epochs": "5"}}),
        )
        .await;
        assert!(job["metrics"]["accuracy"].as_f64().unwrap() > 0.5, "{job}");
        let reply = app.invoke(name, "text/csv", Some("text/csv"), ROWS).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let text = reply.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!((lines[0], lines.len()), ("0,1", 3), "{algorithm}");
    }
}

#[tokio::test]
async fn targets_are_checked_against_the_kind_of_algorithm() {
    let app = app().await;
    app.upload("shapes", training_csv(60).as_bytes()).await;
    let cases = [
        (
            json!({"dataset": "shapes", "algorithm": "linear-learner"}),
            "needs a target",
        ),
        (
            json!({"dataset": "shapes", "algorithm": "knn"}),
            "needs a target",
        ),
        (
            json!({"dataset": "shapes", "algorithm": "kmeans", "target": "y"}),
            "unsupervised",
        ),
    ];
    for (body, fragment) in cases {
        let reply = app.post_json("/api/v1/training-jobs", body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
        assert!(
            reply.error_message().contains(fragment),
            "{}",
            reply.error_message()
        );
    }
}
