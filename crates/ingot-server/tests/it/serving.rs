//! Serving through the real router: weighted variants and target-variant routing, weight
//! shifts under load with zero failures, shadows, Open Inference Protocol v2, MLflow JSON
//! shapes, invoke keys, data capture, metrics, pipelines and bad payloads.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::*;

/// Trains a model on the shapes table and returns its version.
pub(crate) async fn train(app: &TestApp, model: &str, extra: Value) -> i64 {
    if app.get("/api/v1/datasets/shapes").await.status != StatusCode::OK {
        app.upload("shapes", training_csv(300).as_bytes()).await;
    }
    let mut body = json!({"dataset": "shapes", "target": "y", "algorithm": "linear-learner", "model_name": model});
    if let Value::Object(extra) = extra {
        body.as_object_mut().unwrap().extend(extra);
    }
    let job = app.post_json("/api/v1/training-jobs", body).await;
    assert_eq!(job.status, StatusCode::CREATED, "{}", job.text());
    let job = app.wait_job(job.json()["id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "Completed", "{job}");
    app.get(&format!("/api/v1/models/{model}/versions/latest"))
        .await
        .json()["version"]
        .as_i64()
        .unwrap()
}

pub(crate) async fn deploy(app: &TestApp, name: &str, config: Value) -> Value {
    let created = app
        .post_json("/api/v1/endpoints", json!({"name": name, "config": config}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let endpoint = app.wait_endpoint(name).await;
    assert_eq!(endpoint["status"], "InService", "{endpoint}");
    endpoint
}

fn variant(name: &str, model: &str, version: i64, weight: f64) -> Value {
    json!({"name": name, "steps": [{"model": model, "version": version}], "weight": weight})
}

async fn put_config(app: &TestApp, name: &str, config: Value) -> Reply {
    app.send(
        app.request(Method::PUT, &format!("/api/v1/endpoints/{name}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(config.to_string()))
            .unwrap(),
    )
    .await
}

fn share(counts: &std::collections::HashMap<String, usize>, variant: &str) -> f64 {
    let total: usize = counts.values().sum();
    *counts.get(variant).unwrap_or(&0) as f64 / total as f64
}

#[tokio::test]
async fn weighted_variants_split_traffic_and_shift_under_load_without_failures() {
    let app = std::sync::Arc::new(app().await);
    let blue = train(&app, "shapes", json!({})).await;
    let green = train(&app, "shapes", json!({"hyperparameters": {"l2": "1.0"}})).await;
    assert_eq!((blue, green), (1, 2));
    deploy(
        &app,
        "ab",
        json!({"variants": [variant("blue", "shapes", 1, 3.0), variant("green", "shapes", 2, 1.0)]}),
    )
    .await;

    let mut counts = std::collections::HashMap::new();
    for _ in 0..4000 {
        let reply = app.invoke("ab", "text/csv", None, "1.5,red,3\n").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        *counts.entry(reply.header("x-ingot-variant")).or_insert(0) += 1;
    }
    assert!((share(&counts, "blue") - 0.75).abs() < 0.03, "{counts:?}");
    assert!((share(&counts, "green") - 0.25).abs() < 0.03, "{counts:?}");

    // X-Ingot-Target-Variant pins a request; an unknown one is named in a 404.
    let pinned = app
        .send(
            app.request(Method::POST, "/endpoints/ab/invocations")
                .header(header::CONTENT_TYPE, "text/csv")
                .header("x-ingot-target-variant", "green")
                .body(Body::from("1.5,red,3\n"))
                .unwrap(),
        )
        .await;
    assert_eq!(pinned.header("x-ingot-variant"), "green");
    assert_eq!(pinned.header("x-ingot-model"), "shapes:2");
    let unknown = app
        .send(
            app.request(Method::POST, "/endpoints/ab/invocations")
                .header(header::CONTENT_TYPE, "text/csv")
                .header("x-ingot-target-variant", "purple")
                .body(Body::from("1.5,red,3\n"))
                .unwrap(),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(
        unknown.error_message().contains("blue, green"),
        "{}",
        unknown.text()
    );

    // A canary ramp under steady load: 4 clients keep invoking while weights move; nothing
    // fails, and after the last shift the split follows the new weights.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let app = app.clone();
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0usize, 0usize);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = app.invoke("ab", "text/csv", None, "1.5,red,3\n").await;
                if reply.status == StatusCode::OK {
                    ok += 1;
                } else {
                    failed += 1;
                }
                tokio::task::yield_now().await;
            }
            (ok, failed)
        }));
    }
    for (blue_weight, green_weight) in [(0.5, 0.5), (0.1, 0.9), (0.0, 1.0), (1.0, 3.0)] {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let reply = put_config(
            &app,
            "ab",
            json!({"variants": [variant("blue", "shapes", 1, blue_weight), variant("green", "shapes", 2, green_weight)]}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    // Swap the blue variant's model (blue/green deployment) while traffic flows.
    let reply = put_config(
        &app,
        "ab",
        json!({"variants": [variant("blue", "shapes", 2, 1.0), variant("green", "shapes", 2, 3.0)]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed) = (0, 0);
    for client in clients {
        let (o, f) = client.await.unwrap();
        ok += o;
        failed += f;
    }
    assert_eq!(failed, 0, "{failed} of {} requests failed", ok + failed);
    assert!(ok > 100, "too little load: {ok}");

    let mut counts = std::collections::HashMap::new();
    for _ in 0..4000 {
        let reply = app.invoke("ab", "text/csv", None, "1.5,red,3\n").await;
        assert_eq!(reply.header("x-ingot-model"), "shapes:2");
        *counts.entry(reply.header("x-ingot-variant")).or_insert(0) += 1;
    }
    assert!((share(&counts, "green") - 0.75).abs() < 0.03, "{counts:?}");
}

#[tokio::test]
async fn shadows_see_traffic_but_never_answer() {
    let app = app().await;
    train(&app, "shapes", json!({})).await;
    train(&app, "shapes", json!({"hyperparameters": {"l2": "1.0"}})).await;
    deploy(
        &app,
        "shadowed",
        json!({
            "variants": [variant("prod", "shapes", 1, 1.0)],
            "shadow": {"variant": variant("candidate", "shapes", 2, 1.0), "sample_percent": 50.0},
        }),
    )
    .await;
    for _ in 0..400 {
        let reply = app
            .invoke("shadowed", "text/csv", None, "1.5,red,3\n")
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("x-ingot-variant"), "prod");
        assert_eq!(reply.header("x-ingot-model"), "shapes:1");
    }
    // The shadow's numbers sit beside production's. Its copies are answered in the
    // background, so wait until its count has stopped moving with nothing in flight.
    let mut shadow_calls = u64::MAX;
    let mut unchanged_polls = 0;
    for _ in 0..500 {
        let endpoint = app.get("/api/v1/endpoints/shadowed").await.json();
        let variants = endpoint["variants"].as_array().unwrap().clone();
        let shadow = variants.iter().find(|v| v["shadow"] == true).unwrap();
        let prod = variants.iter().find(|v| v["variant"] == "prod").unwrap();
        assert_eq!(prod["invocations"], 400);
        let calls = shadow["invocations"].as_u64().unwrap();
        let idle = shadow["in_flight"] == 0;
        unchanged_polls = if calls == shadow_calls && idle {
            unchanged_polls + 1
        } else {
            0
        };
        shadow_calls = calls;
        if unchanged_polls >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // 50 % of 400, give or take sampling noise (σ = 10).
    assert!((150..=250).contains(&shadow_calls), "{shadow_calls}");
}

#[tokio::test]
async fn open_inference_protocol_and_mlflow_shapes_answer_like_invocations() {
    let app = app().await;
    train(&app, "shapes", json!({})).await;
    deploy(
        &app,
        "oip",
        json!({"variants": [variant("a", "shapes", 1, 1.0)]}),
    )
    .await;

    let live = app.get("/v2/health/live").await;
    assert_eq!(live.json()["live"], true);
    let ready = app.get("/v2/models/oip/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    let metadata = app.get("/v2/models/oip").await.json();
    assert_eq!(metadata["name"], "oip");
    assert_eq!(metadata["versions"], json!(["shapes:1"]));
    assert_eq!(
        metadata["inputs"][0],
        json!({"name": "x", "datatype": "FP64", "shape": [-1]})
    );
    assert_eq!(metadata["inputs"][1]["datatype"], "BYTES");

    let reference = app
        .invoke(
            "oip",
            "application/json",
            None,
            r#"{"instances": [[1.5, "red", 3], [-2.0, "blue", null]]}"#,
        )
        .await
        .json();
    let expected: Vec<f64> = reference["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["probabilities"]["1"].as_f64().unwrap())
        .collect();

    let infer = app
        .post_json(
            "/v2/models/oip/infer",
            json!({"id": "r1", "inputs": [
                {"name": "x", "shape": [2], "datatype": "FP64", "data": [1.5, -2.0]},
                {"name": "colour", "shape": [2], "datatype": "BYTES", "data": ["red", "blue"]},
                {"name": "size", "shape": [2, 1], "datatype": "INT64", "data": [[3], [null]]},
            ]}),
        )
        .await;
    assert_eq!(infer.status, StatusCode::OK, "{}", infer.text());
    let body = infer.json();
    assert_eq!(body["id"], "r1");
    assert_eq!(body["model_name"], "oip");
    assert_eq!(body["model_version"], "shapes:1");
    let probabilities = &body["outputs"][1];
    assert_eq!(probabilities["name"], "probabilities");
    assert_eq!(probabilities["shape"], json!([2, 2]));
    let data: Vec<f64> = probabilities["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!([data[1], data[3]], [expected[0], expected[1]]);

    let bad = app
        .post_json(
            "/v2/models/oip/infer",
            json!({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // OIP errors are the protocol's `{"error": "<message>"}`.
    assert!(
        bad.json()["error"]
            .as_str()
            .is_some_and(|m| m.contains("2 columns but the model takes 3")),
        "{}",
        bad.text()
    );

    for body in [
        r#"{"dataframe_split": {"columns": ["x", "colour", "size"], "data": [[1.5, "red", 3], [-2.0, "blue", null]]}}"#,
        r#"{"dataframe_records": [{"x": 1.5, "colour": "red", "size": 3}, {"x": -2.0, "colour": "blue"}]}"#,
    ] {
        let reply = app.invoke("oip", "application/json", None, body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.json(), reference, "{body}");
    }
}

#[tokio::test]
async fn invoke_keys_open_one_endpoint_only() {
    let app = app().await;
    train(&app, "shapes", json!({})).await;
    deploy(
        &app,
        "one",
        json!({"variants": [variant("a", "shapes", 1, 1.0)]}),
    )
    .await;
    deploy(
        &app,
        "two",
        json!({"variants": [variant("a", "shapes", 1, 1.0)]}),
    )
    .await;
    let created = app
        .post_json("/api/v1/endpoints/one/keys", json!({"name": "webapp"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let key = created.json()["key"].as_str().unwrap().to_string();
    let id = created.json()["id"].as_str().unwrap().to_string();
    let listed = app.get("/api/v1/endpoints/one/keys").await.json();
    assert_eq!(listed[0]["name"], "webapp");
    assert!(listed[0].get("key").is_none(), "secrets are never listed");

    let call = |uri: &str, token: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from("1.5,red,3\n"))
            .unwrap()
    };
    assert_eq!(
        app.send(call("/endpoints/one/invocations", &key))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.send(call("/endpoints/two/invocations", &key))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let control = Request::builder()
        .uri("/api/v1/endpoints")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(control).await.status, StatusCode::UNAUTHORIZED);
    let revoked = app
        .send(
            app.request(Method::DELETE, &format!("/api/v1/endpoints/one/keys/{id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.send(call("/endpoints/one/invocations", &key))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn capture_metrics_and_bad_payloads() {
    let app = app().await;
    train(&app, "shapes", json!({})).await;
    deploy(
        &app,
        "captured",
        json!({"variants": [variant("a", "shapes", 1, 1.0)], "data_capture": {"sample_percent": 100.0}}),
    )
    .await;
    let mut event_ids = Vec::new();
    for i in 0..5 {
        let reply = app
            .invoke("captured", "text/csv", None, &format!("{i}.5,red,3\n"))
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        event_ids.push(reply.header("x-ingot-event-id"));
    }
    let errors = [
        ("text/csv", "1.5,red\n", StatusCode::BAD_REQUEST, "line 1"),
        ("text/csv", "abc,red,3\n", StatusCode::BAD_REQUEST, "\"x\""),
        (
            "application/json",
            r#"{"instances": [[1, 2]]}"#,
            StatusCode::BAD_REQUEST,
            "2",
        ),
    ];
    for (content_type, body, status, needle) in errors {
        let reply = app.invoke("captured", content_type, None, body).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text());
        assert!(
            reply.error_message().contains(needle),
            "{body}: {}",
            reply.text()
        );
    }
    let huge = "1.5,red,3\n".repeat(1_800_000);
    let reply = app.invoke("captured", "text/csv", None, &huge).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply
            .error_message()
            .contains("too large: the limit is 16 MiB"),
        "{}",
        reply.text()
    );
    assert_eq!(reply.json()["error"]["code"], "payload_too_large");

    // Captured records land in hourly JSON Lines files within about a second.
    let root = app.home.path().join("artifacts/capture/captured");
    let mut lines = Vec::new();
    for _ in 0..100 {
        lines = walk(&root)
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        if lines.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lines.len(), 5, "only answered requests are captured");
    let mut captured: Vec<String> = lines
        .iter()
        .map(|l| l["eventMetadata"]["eventId"].as_str().unwrap().to_string())
        .collect();
    captured.sort();
    event_ids.sort();
    assert_eq!(captured, event_ids);
    let first = &lines[0];
    assert_eq!(first["eventMetadata"]["variant"], "a");
    assert_eq!(first["eventMetadata"]["modelVersion"], 1);
    assert_eq!(first["captureData"]["endpointInput"]["encoding"], "CSV");
    assert!(first["captureData"]["endpointOutput"]["data"]
        .as_str()
        .unwrap()
        .starts_with("0,1\n"));

    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.text();
    assert!(
        text.contains("ingot_invocations_total{endpoint=\"captured\",variant=\"a\"} 8"),
        "{text}"
    );
    assert!(
        text.contains("ingot_invocation_4xx_errors_total{endpoint=\"captured\",variant=\"a\"} 3")
    );
    assert!(text.contains("ingot_replicas{endpoint=\"captured\",variant=\"a\"} 1"));
    assert!(
        text.contains("ingot_model_latency_seconds_count{endpoint=\"captured\",variant=\"a\"} 5")
    );
    let anonymous = app
        .send(
            Request::builder()
                .uri("/metrics")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn max_concurrency_throttles_the_request_past_the_cap() {
    let app = app().await;
    train(&app, "shapes", json!({})).await;
    // Batching with a long wait for company keeps the first request in flight for a second.
    deploy(
        &app,
        "capped",
        json!({
            "variants": [variant("a", "shapes", 1, 1.0)],
            "batching": {"max_batch_size": 64, "max_delay_us": 1_000_000},
            "max_concurrency": 1,
        }),
    )
    .await;
    let (first, second) = tokio::join!(
        app.invoke("capped", "text/csv", None, "1.5,red,3\n"),
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            app.invoke("capped", "text/csv", None, "1.5,red,3\n").await
        }
    );
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(
        second.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        second.text()
    );
    assert_eq!(second.json()["error"]["code"], "throttled");
    assert_eq!(second.headers["retry-after"], "1");
    assert_eq!(
        second.error_message(),
        "endpoint capped already answers its max_concurrency of 1 at once; retry with backoff"
    );
    // The place is free again once the first answer is out; the refusal counted as a 4xx.
    let third = app.invoke("capped", "text/csv", None, "1.5,red,3\n").await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.text());
    let stats = app.get("/api/v1/endpoints/capped").await.json();
    assert_eq!(stats["variants"][0]["errors_4xx"], 1, "{stats}");
}
