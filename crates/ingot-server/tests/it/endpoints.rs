//! The whole flow to an endpoint, invocation formats and their errors, failed loads, and
//! registry and deploy errors.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::*;

#[tokio::test]
async fn dataset_to_job_to_model_to_endpoint_to_predictions() {
    let app = app().await;
    app.upload("shapes", training_csv(400).as_bytes()).await;
    let job = app
        .post_json(
            "/api/v1/training-jobs",
            json!({"dataset": "shapes", "target": "y", "algorithm": "linear-learner", "model_name": "shape-model"}),
        )
        .await;
    assert_eq!(job.status, StatusCode::CREATED, "{}", job.text());
    let id = job.json()["id"].as_str().unwrap().to_string();
    let job = app.wait_job(&id).await;
    assert_eq!(job["status"], "Completed", "{job}");
    assert!(job["metrics"]["auc"].as_f64().unwrap() > 0.9, "{job}");
    for metric in ["accuracy", "auc", "log_loss", "f1"] {
        assert!(
            job["metrics"][metric].is_number(),
            "missing {metric}: {job}"
        );
    }
    assert_eq!(job["model_name"], "shape-model");
    let logs = app
        .get(&format!("/api/v1/training-jobs/{id}/logs"))
        .await
        .json();
    assert!(logs.as_array().unwrap().len() >= 3, "{logs}");
    let metrics = app
        .get(&format!("/api/v1/training-jobs/{id}/metrics"))
        .await
        .json();
    assert!(
        !metrics.as_array().unwrap().is_empty(),
        "per-iteration metrics are stored"
    );

    let version = app
        .get("/api/v1/models/shape-model/versions/latest")
        .await
        .json();
    assert_eq!(version["version"], 1);
    assert_eq!(version["lineage"]["job_id"], id.as_str());
    assert_eq!(version["lineage"]["dataset"], "shapes");
    assert_eq!(version["lineage"]["dataset_version"], 1);
    let names: Vec<&str> = version["input_schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x", "colour", "size"]);

    let endpoint = app
        .post_json(
            "/api/v1/endpoints",
            json!({"name": "shapes-ep", "model": "shape-model"}),
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::CREATED, "{}", endpoint.text());
    assert_eq!(app.wait_endpoint("shapes-ep").await["status"], "InService");
    let duplicate = app
        .post_json(
            "/api/v1/endpoints",
            json!({"name": "shapes-ep", "model": "shape-model"}),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);

    let ping = app
        .send(
            app.request(Method::GET, "/endpoints/shapes-ep/ping")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(ping.status, StatusCode::OK);

    // CSV without a header, in schema order; the answer comes back in the request's type.
    let csv = app
        .invoke("shapes-ep", "text/csv", None, "2.5,red,3\n-2.5,blue,\n")
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert!(csv.content_type.starts_with("text/csv"));
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "0,1");
    let positive: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(positive[0] > 0.5 && positive[1] < 0.5, "{positive:?}");

    // JSON instances (arrays and objects) and records, answered as JSON or CSV per Accept.
    let instances = app
        .invoke(
            "shapes-ep",
            "application/json",
            None,
            r#"{"instances": [[2.5, "red", 3], {"x": -2.5, "colour": "blue"}]}"#,
        )
        .await;
    assert_eq!(instances.status, StatusCode::OK, "{}", instances.text());
    let predictions = instances.json()["predictions"].as_array().unwrap().clone();
    assert_eq!(predictions[0]["predicted_label"], "1");
    assert_eq!(predictions[1]["predicted_label"], "0");
    let from_json = predictions[0]["probabilities"]["1"].as_f64().unwrap();
    assert!(
        (from_json - positive[0]).abs() < 1e-12,
        "CSV and JSON score the same row alike"
    );
    let records = app
        .invoke(
            "shapes-ep",
            "application/json",
            Some("text/csv"),
            r#"[{"x": 2.5, "colour": "red", "size": 3}]"#,
        )
        .await;
    assert_eq!(records.status, StatusCode::OK);
    assert!(records.content_type.starts_with("text/csv"));
    // A key absent from one record is a null; a column no record gives is a 400 naming it.
    let misspelled = app
        .invoke(
            "shapes-ep",
            "application/json",
            None,
            r#"{"dataframe_records": [{"x": 2.5, "colour": "red", "sise": 3}]}"#,
        )
        .await;
    assert_eq!(misspelled.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        misspelled.json()["error"]["message"],
        "missing column \"size\": no row names it; send null for a missing value"
    );
    let with_header = app
        .invoke(
            "shapes-ep",
            "text/csv; header=present",
            Some("application/json"),
            "y,size,colour,x\n1,3,red,2.5\n",
        )
        .await;
    assert_eq!(with_header.status, StatusCode::OK, "{}", with_header.text());
    let by_name = with_header.json()["predictions"][0]["probabilities"]["1"]
        .as_f64()
        .unwrap();
    assert!((by_name - positive[0]).abs() < 1e-12);

    // Bad invocations are 4xx with the row and column named.
    let wrong_type = app
        .invoke("shapes-ep", "text/csv", None, "2.5,red,3\nabc,red,1\n")
        .await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    let message = wrong_type.error_message();
    assert!(
        message.contains("line 2") && message.contains("\"x\""),
        "{message}"
    );
    let ragged = app.invoke("shapes-ep", "text/csv", None, "2.5,red\n").await;
    assert_eq!(ragged.status, StatusCode::BAD_REQUEST);
    assert!(
        ragged.error_message().contains("line 1"),
        "{}",
        ragged.error_message()
    );
    let media = app
        .invoke("shapes-ep", "application/xml", None, "<x/>")
        .await;
    assert_eq!(media.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let accept = app
        .invoke("shapes-ep", "text/csv", Some("image/png"), "1,red,2\n")
        .await;
    assert_eq!(accept.status, StatusCode::NOT_ACCEPTABLE);
    let unknown = app.invoke("nope", "text/csv", None, "1,red,2\n").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let deleted = app
        .send(
            app.request(Method::DELETE, "/api/v1/endpoints/shapes-ep")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = app.invoke("shapes-ep", "text/csv", None, "1,red,2\n").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_model_that_cannot_load_leaves_the_endpoint_failed() {
    let app = app().await;
    app.upload("shapes", training_csv(200).as_bytes()).await;
    let job = app
        .post_json(
            "/api/v1/training-jobs",
            json!({"dataset": "shapes", "target": "y", "algorithm": "linear-learner"}),
        )
        .await
        .json();
    app.wait_job(job["id"].as_str().unwrap()).await;
    let version = app.get("/api/v1/models/shapes/versions/1").await.json();
    let digest = version["artifact_hash"].as_str().unwrap();
    let blob = app
        .home
        .path()
        .join("artifacts/sha256")
        .join(&digest[..2])
        .join(digest);
    assert!(blob.is_file(), "artifact at {}", blob.display());
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&blob, bytes).unwrap();

    app.post_json(
        "/api/v1/endpoints",
        json!({"name": "broken", "model": "shapes"}),
    )
    .await;
    let endpoint = app.wait_endpoint("broken").await;
    assert_eq!(endpoint["status"], "Failed", "{endpoint}");
    assert!(!endpoint["failure_reason"].as_str().unwrap().is_empty());
    let invoked = app.invoke("broken", "text/csv", None, "1,red,2\n").await;
    assert_eq!(invoked.status, StatusCode::CONFLICT, "{}", invoked.text());
    assert!(invoked.error_message().contains("failed"));
}

#[tokio::test]
async fn bad_registry_and_deploy_requests_are_4xx() {
    let app = app().await;
    let cases = [
        (
            app.get("/api/v1/models/none/versions/latest").await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.get("/api/v1/models/none/versions/abc").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.get("/api/v1/models/none/versions/0").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.get("/api/v1/training-jobs/no-such-job").await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.get("/api/v1/training-jobs?limit=abc").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.get("/api/v1/datasets/none/versions/x").await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.post_json("/api/v1/endpoints", json!({"name": "ep", "model": "none"}))
                .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.post_json(
                "/api/v1/endpoints",
                json!({"name": "bad/name", "model": "none"}),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.post_json("/api/v1/endpoints", json!({"model": "none"}))
                .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            app.send(
                app.request(Method::DELETE, "/api/v1/endpoints/none")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        (
            app.post_json("/api/v1/training-jobs/none/stop", json!({}))
                .await,
            StatusCode::NOT_FOUND,
        ),
    ];
    for (index, (reply, status)) in cases.into_iter().enumerate() {
        assert_eq!(reply.status, status, "case {index}: {}", reply.text());
        assert!(reply.json()["error"]["message"].is_string(), "case {index}");
    }
}
