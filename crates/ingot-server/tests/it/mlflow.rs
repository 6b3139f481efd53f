//! The MLflow-compatible routes through the real router: tracking, search, error shapes,
//! auth, streamed artifacts and the registry (the Python suite in crates/ingot/tests/mlflow
//! drives the same routes with the official client).

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{app, Reply, TestApp};

const API: &str = "/api/2.0/mlflow";

async fn call(app: &TestApp, method: Method, path: &str, body: Value) -> Reply {
    let request = app
        .request(method, &format!("{API}/{path}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    app.send(request).await
}

#[tokio::test]
async fn experiments_runs_logging_and_search() {
    let app = app().await;
    let created = app
        .post_json(&format!("{API}/experiments/create"), json!({"name": "exp"}))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let exp = created.json()["experiment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let dup = app
        .post_json(&format!("{API}/experiments/create"), json!({"name": "exp"}))
        .await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    assert_eq!(dup.json()["error_code"], "RESOURCE_ALREADY_EXISTS");
    let by_name = app
        .get(&format!(
            "{API}/experiments/get-by-name?experiment_name=exp"
        ))
        .await;
    assert_eq!(by_name.json()["experiment"]["experiment_id"], exp.as_str());

    let mut ids = Vec::new();
    for i in 0..3 {
        let run = app
            .post_json(
                &format!("{API}/runs/create"),
                json!({"experiment_id": exp, "start_time": 100 + i, "run_name": format!("r{i}")}),
            )
            .await
            .json();
        let id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
        let logged = app
            .post_json(
                &format!("{API}/runs/log-batch"),
                json!({"run_id": id,
                       "metrics": [{"key": "acc", "value": i as f64 / 10.0, "timestamp": 1, "step": 0}],
                       "params": [{"key": "depth", "value": (i + 3).to_string()}]}),
            )
            .await;
        assert_eq!(logged.status, StatusCode::OK, "{}", logged.text());
        ids.push(id);
    }
    let changed = app
        .post_json(
            &format!("{API}/runs/log-parameter"),
            json!({"run_id": ids[0], "key": "depth", "value": "9"}),
        )
        .await;
    assert_eq!(changed.json()["error_code"], "INVALID_PARAMETER_VALUE");
    let found = app
        .post_json(
            &format!("{API}/runs/search"),
            json!({"experiment_ids": [exp], "filter": "metrics.acc >= 0.1 AND params.depth != '5'",
                   "order_by": ["metrics.acc DESC"]}),
        )
        .await
        .json();
    let found: Vec<&str> = found["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["info"]["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(found, vec![ids[1].as_str()]);
    let injected = app
        .post_json(
            &format!("{API}/runs/search"),
            json!({"experiment_ids": [exp], "filter": "params.depth = '3' OR 1=1"}),
        )
        .await;
    assert_eq!(injected.status, StatusCode::BAD_REQUEST);
    assert_eq!(injected.json()["error_code"], "INVALID_PARAMETER_VALUE");
    let missing = app.get(&format!("{API}/runs/get?run_id=nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error_code"], "RESOURCE_DOES_NOT_EXIST");
    let history = app
        .get(&format!(
            "{API}/metrics/get-history?run_id={}&metric_key=acc",
            ids[2]
        ))
        .await
        .json();
    assert_eq!(history["metrics"][0]["value"], 0.2);
}

#[tokio::test]
async fn auth_is_required_and_errors_are_mlflow_shaped() {
    let app = app().await;
    let request = axum::http::Request::builder()
        .uri(format!("{API}/experiments/get?experiment_id=0"))
        .body(Body::empty())
        .unwrap();
    let anonymous = app.send(request).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json()["error_code"], "UNAUTHENTICATED");
    let default = app
        .get(&format!("{API}/experiments/get?experiment_id=0"))
        .await;
    assert_eq!(default.json()["experiment"]["name"], "Default");
    let malformed = call(
        &app,
        Method::POST,
        "runs/log-batch",
        json!({"run_id": "x", "metrics": [{"key": "a", "value": "high"}]}),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json()["error_code"], "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn artifacts_stream_round_trip_and_refuse_traversal() {
    let app = app().await;
    let path = "/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/dir/model.bin";
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let put = app
        .send(
            app.request(Method::PUT, path)
                .body(Body::from(bytes.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let got = app.get(path).await;
    assert_eq!(got.body, bytes);
    let listing = app
        .get("/api/2.0/mlflow-artifacts/artifacts?path=1/run/artifacts")
        .await
        .json();
    assert_eq!(listing["files"], json!([{"path": "dir", "is_dir": true}]));
    let evil = app
        .send(
            app.request(
                Method::PUT,
                "/api/2.0/mlflow-artifacts/artifacts/1/%2E%2E/%2E%2E/x",
            )
            .body(Body::from("x"))
            .unwrap(),
        )
        .await;
    assert_eq!(evil.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn registry_versions_and_aliases() {
    let app = app().await;
    let created = call(
        &app,
        Method::POST,
        "registered-models/create",
        json!({"name": "m"}),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    for _ in 0..2 {
        let v = call(
            &app,
            Method::POST,
            "model-versions/create",
            json!({"name": "m", "source": "s3://b/k"}),
        )
        .await;
        assert_eq!(v.status, StatusCode::OK, "{}", v.text());
    }
    let alias = call(
        &app,
        Method::POST,
        "registered-models/alias",
        json!({"name": "m", "alias": "champion", "version": "2"}),
    )
    .await;
    assert_eq!(alias.status, StatusCode::OK, "{}", alias.text());
    let resolved = app
        .get(&format!(
            "{API}/registered-models/alias?name=m&alias=champion"
        ))
        .await
        .json();
    assert_eq!(resolved["model_version"]["version"], "2");
    let reserved = call(
        &app,
        Method::POST,
        "registered-models/alias",
        json!({"name": "m", "alias": "latest", "version": "1"}),
    )
    .await;
    assert_eq!(reserved.json()["error_code"], "INVALID_PARAMETER_VALUE");
    let uri = app
        .get(&format!(
            "{API}/model-versions/get-download-uri?name=m&version=1"
        ))
        .await
        .json();
    assert_eq!(uri["artifact_uri"], "s3://b/k");
    let deleted = call(
        &app,
        Method::DELETE,
        "registered-models/delete",
        json!({"name": "m"}),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let gone = app
        .get(&format!("{API}/model-versions/get?name=m&version=1"))
        .await;
    assert_eq!(gone.json()["error_code"], "RESOURCE_DOES_NOT_EXIST");
}
