//! The random forest through the server: a classification and a regression job, each deployed
//! to an endpoint, with the out-of-bag score recorded and answers in the usual shapes.

use axum::http::StatusCode;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn random_forests_train_as_jobs_and_serve() {
    let app = app().await;
    app.upload("shapes", training_csv(400).as_bytes()).await;

    let classifier = app
        .post_json(
            "/api/v1/training-jobs",
            json!({"dataset": "shapes", "target": "y", "algorithm": "random-forest",
                   "model_name": "forest", "hyperparameters": {"num_trees": "30"}}),
        )
        .await;
    assert_eq!(
        classifier.status,
        StatusCode::CREATED,
        "{}",
        classifier.text()
    );
    let job = app
        .wait_job(classifier.json()["id"].as_str().unwrap())
        .await;
    assert_eq!(job["status"], "Completed", "{job}");
    assert!(job["metrics"]["accuracy"].as_f64().unwrap() > 0.85, "{job}");
    let oob = job["metrics"]["training_oob_score"].as_f64().unwrap();
    assert!((0.7..=1.0).contains(&oob), "out-of-bag accuracy {oob}");

    app.post_json(
        "/api/v1/endpoints",
        json!({"name": "forest", "model": "forest"}),
    )
    .await;
    assert_eq!(app.wait_endpoint("forest").await["status"], "InService");
    let reply = app
        .invoke(
            "forest",
            "text/csv",
            Some("text/csv"),
            "2.5,red,3\n-2.5,blue,\n",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let text = reply.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0,1");
    let positive: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(positive[0] > 0.5 && positive[1] < 0.5, "{positive:?}");

    // Regression of x on colour and size (weakly related here): the job completes, records
    // R², deploys and answers with one `prediction` column.
    let regressor = app
        .post_json(
            "/api/v1/training-jobs",
            json!({"dataset": "shapes", "target": "x", "algorithm": "random-forest",
                   "drop_columns": ["y"], "model_name": "forest-reg",
                   "hyperparameters": {"num_trees": "20", "predictor_type": "regressor"}}),
        )
        .await;
    assert_eq!(
        regressor.status,
        StatusCode::CREATED,
        "{}",
        regressor.text()
    );
    let job = app.wait_job(regressor.json()["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "Completed", "{job}");
    assert!(job["metrics"]["r2"].is_number(), "{job}");
    app.post_json(
        "/api/v1/endpoints",
        json!({"name": "forest-reg", "model": "forest-reg"}),
    )
    .await;
    assert_eq!(app.wait_endpoint("forest-reg").await["status"], "InService");
    let reply = app
        .invoke(
            "forest-reg",
            "application/json",
            Some("text/csv"),
            r#"[{"colour": "red", "size": 3}]"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text().lines().next(), Some("prediction"));
}
