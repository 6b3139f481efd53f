//! Serving beyond one request: asynchronous invocations with signed webhooks, batch
//! transform parity with the endpoint and stopping, inference pipelines, small multi-model
//! endpoints and autoscaling to zero and back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use ingot_serve::batch_transform::{TransformRunner, TransformSpec};
use serde_json::{json, Value};

use crate::serving::{deploy, train};
use crate::*;

fn variant(name: &str, model: &str, version: i64) -> Value {
    json!({"name": name, "steps": [{"model": model, "version": version}]})
}

/// A webhook receiver on a free loopback port; returns its URL and what it received.
pub(crate) async fn webhook_receiver() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let signature = headers
                    .get("x-ingot-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                sink.lock().unwrap().push((signature, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/hook"), received)
}

#[tokio::test]
async fn async_invocations_are_queued_answered_and_signed() {
    let app = app().await;
    train(&app, "shapes", json!({})).await;
    deploy(
        &app,
        "realtime",
        json!({"variants": [variant("a", "shapes", 1)]}),
    )
    .await;
    deploy(
        &app,
        "queued",
        json!({"variants": [variant("a", "shapes", 1)], "mode": "async"}),
    )
    .await;
    let (url, received) = webhook_receiver().await;
    let body = "1.5,red,3\n-2,blue,\n";
    let submitted = app
        .send(
            app.request(
                Method::POST,
                &format!("/endpoints/queued/async-invocations?webhook_url={url}"),
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(body))
            .unwrap(),
        )
        .await;
    assert_eq!(
        submitted.status,
        StatusCode::ACCEPTED,
        "{}",
        submitted.text()
    );
    let id = submitted.json()["id"].as_str().unwrap().to_string();
    let mut status = Value::Null;
    for _ in 0..200 {
        status = app
            .get(&format!("/endpoints/queued/async-invocations/{id}"))
            .await
            .json();
        if status["status"] != "queued" && status["webhook_status"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["webhook_status"], "delivered (200)", "{status}");
    let output = app
        .get(&format!("/endpoints/queued/async-invocations/{id}/output"))
        .await;
    let realtime = app.invoke("realtime", "text/csv", None, body).await;
    assert_eq!(
        output.text(),
        realtime.text(),
        "async answers equal real-time ones"
    );

    let deliveries = received.lock().unwrap().clone();
    assert_eq!(deliveries.len(), 1);
    let secret = std::fs::read_to_string(app.home.path().join("webhook-secret")).unwrap();
    let expected = ingot_service::webhook::hmac_sha256_hex(
        secret.trim().as_bytes(),
        deliveries[0].1.as_bytes(),
    );
    assert_eq!(deliveries[0].0, format!("sha256={expected}"));
    let event: Value = serde_json::from_str(&deliveries[0].1).unwrap();
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["status"], "completed");

    // Real-time and async endpoints refuse each other's routes by name.
    let wrong = app.invoke("queued", "text/csv", None, body).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.error_message().contains("async-invocations"));
    let bad_hook = app
        .send(
            app.request(
                Method::POST,
                "/endpoints/queued/async-invocations?webhook_url=file:///etc/passwd",
            )
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(body))
            .unwrap(),
        )
        .await;
    assert_eq!(bad_hook.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn batch_transform_predicts_what_the_endpoint_predicts() {
    let app = app().await;
    train(&app, "shapes", json!({})).await;
    deploy(
        &app,
        "live",
        json!({"variants": [variant("a", "shapes", 1)]}),
    )
    .await;
    let job = app
        .post_json(
            "/api/v1/transform-jobs",
            json!({"model": "shapes", "dataset": "shapes", "output_dataset": "shapes-scored", "join_input": true, "workers": 3}),
        )
        .await;
    assert_eq!(job.status, StatusCode::CREATED, "{}", job.text());
    let submitted = job.json();
    // The job starts with nothing scored out of the dataset's rows.
    assert_eq!(submitted["progress"], json!({"done": 0, "total": 300}));
    let id = submitted["id"].as_str().unwrap().to_string();
    let mut job = Value::Null;
    for _ in 0..200 {
        job = app
            .get(&format!("/api/v1/transform-jobs/{id}"))
            .await
            .json();
        if job["status"] != "Running" {
            break;
        }
        let progress = &job["progress"];
        assert_eq!(progress["total"], 300, "{job}");
        assert!(progress["done"].as_u64().unwrap() <= 300, "{job}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(job["status"], "Completed", "{job}");
    assert_eq!(job["rows"], 300);
    assert!(
        job["progress"].is_null(),
        "a finished job has no progress: {job}"
    );
    let version = app.get("/api/v1/datasets/shapes-scored").await.json();
    let digest = version["content_hash"].as_str().unwrap();
    let store = ingot_artifacts::ArtifactStore::open(
        &app.home.path().join("artifacts").display().to_string(),
    )
    .unwrap();
    let bytes = store.get(digest).await.unwrap();
    let table = ingot_data::read_table(&bytes, ingot_data::DataFormat::Parquet).unwrap();
    let names: Vec<&str> = table.schema.names().collect();
    assert_eq!(
        names,
        [
            "x",
            "colour",
            "size",
            "y",
            "predicted_label",
            "probability_0",
            "probability_1"
        ]
    );
    let ones = table
        .batch
        .column(6)
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .unwrap()
        .values()
        .to_vec();
    // The same rows through the endpoint, as CSV with a header (y is ignored).
    let csv = training_csv(300);
    let reply = app
        .invoke(
            "live",
            "text/csv; header=present",
            Some("application/json"),
            &csv,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let online: Vec<f64> = reply.json()["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["probabilities"]["1"].as_f64().unwrap())
        .collect();
    assert_eq!(
        online, ones,
        "batch and real-time predictions are identical"
    );
}

/// A transform runner whose jobs run until they are stopped (dropped), like a long job in a
/// worker process: what stopping is tested against, whatever the machine's speed.
struct UntilStopped(Arc<std::sync::atomic::AtomicBool>);

#[async_trait::async_trait]
impl TransformRunner for UntilStopped {
    async fn run(
        &self,
        _spec: TransformSpec,
        done: &std::sync::atomic::AtomicU64,
    ) -> ingot_serve::Result<(Vec<u8>, usize)> {
        done.store(42, std::sync::atomic::Ordering::Relaxed);
        /// Marks the job's future dropped, as a worker process is killed with it.
        struct Dropped(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let _dropped = Dropped(self.0.clone());
        std::future::pending().await
    }
}

#[tokio::test]
async fn a_stopped_transform_ends_stopped_and_writes_nothing() {
    let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = Arc::new(UntilStopped(dropped.clone()));
    let app = app_with(|config| config.transform_runner = Some(runner)).await;
    train(&app, "shapes", json!({})).await;
    let job = app
        .post_json(
            "/api/v1/transform-jobs",
            json!({"model": "shapes", "dataset": "shapes", "output_dataset": "never"}),
        )
        .await
        .json();
    let id = job["id"].as_str().unwrap().to_string();
    // The runner's progress shows while it runs.
    let mut running = Value::Null;
    for _ in 0..200 {
        running = app
            .get(&format!("/api/v1/transform-jobs/{id}"))
            .await
            .json();
        if running["progress"]["done"] == 42 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        running["progress"],
        json!({"done": 42, "total": 300}),
        "{running}"
    );
    let stopped = app
        .post_json(&format!("/api/v1/transform-jobs/{id}/stop"), json!({}))
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());
    let stopped = stopped.json();
    assert_eq!(stopped["status"], "Stopped", "{stopped}");
    assert_eq!(stopped["failure_reason"], "stopped by request");
    assert!(stopped["progress"].is_null() && stopped["output_version"].is_null());
    assert!(
        dropped.load(std::sync::atomic::Ordering::Relaxed),
        "the work was dropped"
    );
    let missing = app.get("/api/v1/datasets/never").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    // Stopping again, or stopping a job that does not exist, is refused by name.
    let again = app
        .post_json(&format!("/api/v1/transform-jobs/{id}/stop"), json!({}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.text().contains("already Stopped"), "{}", again.text());
    let unknown = app
        .post_json("/api/v1/transform-jobs/no-such-job/stop", json!({}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text());
}

#[tokio::test]
async fn pipelines_feed_each_step_into_the_next() {
    let app = app().await;
    // Step 1 predicts a score from the features; step 2 maps that score to y.
    train(
        &app,
        "scorer",
        json!({"hyperparameters": {"predictor_type": "regressor"}}),
    )
    .await;
    let mut second = String::from("prediction,y\n");
    for i in 0..200 {
        let p = i as f64 / 100.0 - 1.0;
        second.push_str(&format!("{p},{}\n", i64::from(p > 0.2)));
    }
    app.upload("scores", second.as_bytes()).await;
    let job = app
        .post_json(
            "/api/v1/training-jobs",
            json!({"dataset": "scores", "target": "y", "algorithm": "linear-learner", "model_name": "decider"}),
        )
        .await
        .json();
    assert_eq!(
        app.wait_job(job["id"].as_str().unwrap()).await["status"],
        "Completed"
    );
    deploy(
        &app,
        "first",
        json!({"variants": [variant("a", "scorer", 1)]}),
    )
    .await;
    deploy(
        &app,
        "second",
        json!({"variants": [variant("a", "decider", 1)]}),
    )
    .await;
    deploy(
        &app,
        "chain",
        json!({"variants": [{"name": "a", "steps": [{"model": "scorer", "version": 1}, {"model": "decider", "version": 1}]}]}),
    )
    .await;
    let rows = "1.5,red,3\n-2,blue,\n";
    let chained = app
        .invoke("chain", "text/csv", Some("application/json"), rows)
        .await;
    assert_eq!(chained.status, StatusCode::OK, "{}", chained.text());
    assert_eq!(chained.header("x-ingot-model"), "decider:1");
    let scores = app.invoke("first", "text/csv", None, rows).await.text();
    let by_hand = app
        .invoke(
            "second",
            "text/csv; header=present",
            Some("application/json"),
            scores.as_str(),
        )
        .await;
    assert_eq!(by_hand.status, StatusCode::OK, "{}", by_hand.text());
    assert_eq!(chained.json(), by_hand.json());
}

#[tokio::test]
async fn multi_model_endpoints_route_by_header_and_evict() {
    let app = app().await;
    let mut expected = Vec::new();
    for i in 0..4 {
        let name = format!("tenant-{i}");
        train(
            &app,
            &name,
            json!({"hyperparameters": {"l2": format!("{}", i as f64 * 5.0)}}),
        )
        .await;
        deploy(
            &app,
            &format!("single-{i}"),
            json!({"variants": [variant("a", &name, 1)]}),
        )
        .await;
        expected.push(
            app.invoke(&format!("single-{i}"), "text/csv", None, "1.5,red,3\n")
                .await
                .text(),
        );
    }
    let model_file =
        std::fs::metadata(walk_one(&app.home.path().join("artifacts/sha256"))).unwrap();
    // Room for about two model files.
    let budget = model_file.len() * 2 + model_file.len() / 2;
    deploy(
        &app,
        "many",
        json!({"variants": [{"name": "all", "steps": []}], "multi_model": {"model_prefix": "tenant-", "memory_budget_bytes": budget}}),
    )
    .await;
    for round in 0..3 {
        for (i, want) in expected.iter().enumerate() {
            let reply = app
                .send(
                    app.request(Method::POST, "/endpoints/many/invocations")
                        .header(header::CONTENT_TYPE, "text/csv")
                        .header("x-ingot-target-model", format!("tenant-{i}"))
                        .body(Body::from("1.5,red,3\n"))
                        .unwrap(),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "round {round}: {}",
                reply.text()
            );
            assert_eq!(&reply.text(), want, "tenant-{i}");
            assert_eq!(reply.header("x-ingot-model"), format!("tenant-{i}:1"));
        }
    }
    let endpoint = app.get("/api/v1/endpoints/many").await.json();
    let stats = &endpoint["variants"][0];
    assert!(stats["loaded_models"].as_u64().unwrap() <= 2, "{stats}");
    assert!(stats["evictions"].as_u64().unwrap() >= 8, "{stats}");

    let cases = [
        (None, StatusCode::BAD_REQUEST, "X-Ingot-Target-Model"),
        (Some("tenant-9"), StatusCode::NOT_FOUND, "tenant-9"),
        (Some("shapes"), StatusCode::NOT_FOUND, "tenant-"),
    ];
    for (target, status, needle) in cases {
        let mut request = app
            .request(Method::POST, "/endpoints/many/invocations")
            .header(header::CONTENT_TYPE, "text/csv");
        if let Some(target) = target {
            request = request.header("x-ingot-target-model", target);
        }
        let reply = app
            .send(request.body(Body::from("1.5,red,3\n")).unwrap())
            .await;
        assert_eq!(reply.status, status, "{target:?}: {}", reply.text());
        assert!(reply.error_message().contains(needle), "{}", reply.text());
    }
}

fn walk_one(dir: &std::path::Path) -> std::path::PathBuf {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).unwrap().starts_with(b"INGOTMDL") {
                found.push(path);
            }
        }
    }
    found.sort();
    found.pop().expect("a model file")
}

#[tokio::test]
async fn autoscaling_tracks_traffic_scales_to_zero_and_cold_starts() {
    let app = app_with(|config| config.autoscale_interval = Duration::from_millis(100)).await;
    train(&app, "shapes", json!({})).await;
    deploy(
        &app,
        "elastic",
        json!({
            "variants": [{"name": "a", "steps": [{"model": "shapes", "version": 1}], "min_replicas": 0, "max_replicas": 3}],
            "autoscaling": {"target_value": 600.0, "scale_out_cooldown_secs": 0, "scale_in_cooldown_secs": 1},
        }),
    )
    .await;
    async fn replicas(app: &TestApp) -> u64 {
        app.get("/api/v1/endpoints/elastic").await.json()["variants"][0]["replicas"]
            .as_u64()
            .unwrap()
    }
    // Heavy traffic (far above 600 per replica per minute) scales out to the maximum.
    let mut peak = 0;
    for _ in 0..60 {
        for _ in 0..30 {
            let reply = app.invoke("elastic", "text/csv", None, "1.5,red,3\n").await;
            assert_eq!(reply.status, StatusCode::OK);
        }
        peak = peak.max(replicas(&app).await);
        if peak == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(peak, 3);
    // Idle for longer than the scale-in cooldown: down to zero.
    let mut now = peak;
    for _ in 0..100 {
        now = replicas(&app).await;
        if now == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(now, 0);
    // The next request starts a replica and succeeds.
    let reply = app.invoke("elastic", "text/csv", None, "1.5,red,3\n").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(replicas(&app).await >= 1);
    // Each change is kept with its reason; the cold start is noticed at the next tick (the
    // deploy's own first request made one too).
    let reason = |e: &Value| e["reason"].as_str().unwrap().to_string();
    let mut events = Vec::new();
    for _ in 0..50 {
        let view = app.get("/api/v1/endpoints/elastic").await.json();
        events = view["variants"][0]["scaling_events"]
            .as_array()
            .unwrap()
            .clone();
        if events
            .last()
            .is_some_and(|e| reason(e).starts_with("cold start"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = events
        .iter()
        .position(|e| e["to"] == 3)
        .expect("a scale-out to 3");
    assert!(
        reason(&events[out]).contains("invocations per minute for a target of 600 per replica"),
        "{events:?}"
    );
    let to_zero = events
        .iter()
        .position(|e| e["to"] == 0)
        .expect("a scale-in to 0");
    assert!(out < to_zero, "{events:?}");
    assert_eq!(
        reason(&events[to_zero]),
        "no request for the scale-in cooldown of 1 s"
    );
    let cold = events
        .iter()
        .rposition(|e| reason(e).starts_with("cold start"))
        .expect("a cold start");
    assert!(to_zero < cold, "{events:?}");
    assert_eq!(
        (&events[cold]["from"], &events[cold]["to"]),
        (&json!(0), &json!(1))
    );
    assert!(events
        .iter()
        .all(|e| e["at"].as_i64().unwrap() > 1_700_000_000_000));
}

#[tokio::test]
async fn concurrency_tracking_counts_the_mean_in_flight_between_ticks() {
    let app = app_with(|config| config.autoscale_interval = Duration::from_millis(100)).await;
    train(&app, "shapes", json!({})).await;
    deploy(
        &app,
        "busy",
        json!({
            "variants": [{"name": "a", "steps": [{"model": "shapes", "version": 1}], "min_replicas": 1, "max_replicas": 2}],
            "autoscaling": {"metric": "concurrency_per_replica", "target_value": 0.01, "scale_out_cooldown_secs": 0},
        }),
    )
    .await;
    // Requests one after another are never in flight at the moment of a tick (they are
    // scored inline on this test's one thread), but they keep the variant busy a few percent
    // of the time: a mean above 0.01 per replica asks for the maximum.
    let mut events = Vec::new();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        for _ in 0..10 {
            let reply = app.invoke("busy", "text/csv", None, "1.5,red,3\n").await;
            assert_eq!(reply.status, StatusCode::OK);
        }
        // Lets the autoscaler's tick run on this test's runtime.
        tokio::time::sleep(Duration::from_millis(1)).await;
        let view = app.get("/api/v1/endpoints/busy").await.json();
        events = view["variants"][0]["scaling_events"]
            .as_array()
            .unwrap()
            .clone();
        if events.iter().any(|e| e["to"] == 2) {
            break;
        }
    }
    let out = events
        .iter()
        .find(|e| e["from"] == 1 && e["to"] == 2)
        .unwrap_or_else(|| panic!("no scale-out in {events:?}"));
    let reason = out["reason"].as_str().unwrap();
    assert!(
        reason.contains("requests in flight on average for a target of 0.01 per replica"),
        "{reason}"
    );
}
