//! Router tests: the real `/api/v1` and endpoint routes driven with `oneshot`, over an
//! in-memory metadata store and a temporary artifact directory.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use ingot_artifacts::ArtifactStore;
use ingot_server::{router, AppState};
use ingot_service::{Platform, PlatformConfig};
use ingot_store::SqliteStore;
use serde_json::{json, Value};
use tower::ServiceExt;

struct TestApp {
    router: Router,
    token: String,
    _home: tempfile::TempDir,
}

async fn app() -> TestApp {
    let home = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let artifacts =
        ArtifactStore::open(&home.path().join("artifacts").display().to_string()).unwrap();
    let config = PlatformConfig::new(home.path());
    let platform = Platform::with_stores(store, artifacts, &config)
        .await
        .unwrap();
    let token = platform.ensure_admin_token().await.unwrap().unwrap().token;
    TestApp {
        router: router(AppState {
            platform,
            auth: true,
        }),
        token,
        _home: home,
    }
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn error_message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestApp {
    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            content_type,
            body,
        }
    }

    fn request(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(self.request(Method::GET, uri).body(Body::empty()).unwrap())
            .await
    }

    async fn post_json(&self, uri: &str, body: Value) -> Reply {
        let request = self
            .request(Method::POST, uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    async fn upload(&self, name: &str, bytes: &[u8]) -> Reply {
        let request = self
            .request(
                Method::POST,
                &format!("/api/v1/datasets/{name}/versions?format=csv"),
            )
            .body(Body::from(bytes.to_vec()))
            .unwrap();
        self.send(request).await
    }

    async fn invoke(
        &self,
        endpoint: &str,
        content_type: &str,
        accept: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut request = self
            .request(Method::POST, &format!("/endpoints/{endpoint}/invocations"))
            .header(header::CONTENT_TYPE, content_type);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    async fn wait_job(&self, id: &str) -> Value {
        for _ in 0..600 {
            let job = self
                .get(&format!("/api/v1/training-jobs/{id}"))
                .await
                .json();
            if ["Completed", "Failed", "Stopped"].contains(&job["status"].as_str().unwrap()) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("job {id} did not finish");
    }

    async fn wait_endpoint(&self, name: &str) -> Value {
        for _ in 0..600 {
            let endpoint = self.get(&format!("/api/v1/endpoints/{name}")).await.json();
            if endpoint["status"] != "Creating" {
                return endpoint;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("endpoint {name} stayed Creating");
    }
}

/// A small binary-classification table: y depends on x and on the colour.
fn training_csv(rows: usize) -> String {
    let mut csv = String::from("x,colour,size,y\n");
    for i in 0..rows {
        let x = (i as f64 * 0.37).sin() * 3.0;
        let colour = ["red", "green", "blue"][i % 3];
        let size = if i % 7 == 0 {
            String::new()
        } else {
            (i % 11).to_string()
        };
        let y = i64::from(x + if colour == "red" { 1.0 } else { -0.5 } > 0.0);
        csv.push_str(&format!("{x},{colour},{size},{y}\n"));
    }
    csv
}

#[tokio::test]
async fn api_requires_a_valid_bearer_token() {
    let app = app().await;
    let anonymous = app
        .send(
            Request::get("/api/v1/datasets")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json()["error"]["code"], "unauthenticated");
    let wrong = app
        .send(
            Request::get("/api/v1/datasets")
                .header(header::AUTHORIZATION, "Bearer ingot_wrong")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let invocation = app
        .send(
            Request::post("/endpoints/x/invocations")
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from("1,2"))
                .unwrap(),
        )
        .await;
    assert_eq!(invocation.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/datasets").await.status, StatusCode::OK);
}

#[tokio::test]
async fn openapi_document_lists_the_routes() {
    let app = app().await;
    let doc = app
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.json();
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/datasets/{name}/versions",
        "/api/v1/training-jobs",
        "/api/v1/training-jobs/{id}/stop",
        "/api/v1/models/{name}/versions/{version}",
        "/api/v1/endpoints/{name}",
    ] {
        assert!(
            paths.contains_key(path),
            "missing {path} in {:?}",
            paths.keys()
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn unknown_routes_and_bad_json_get_json_errors() {
    let app = app().await;
    let missing = app.get("/api/v1/nothing-here").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");
    let bad = app
        .send(
            app.request(Method::POST, "/api/v1/training-jobs")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"dataset\": 3"))
                .unwrap(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"]["code"], "bad_request");
    let wrong_field = app
        .post_json("/api/v1/training-jobs", json!({"dataset": 1}))
        .await;
    assert!(
        wrong_field.status.is_client_error(),
        "{}",
        wrong_field.text()
    );
    assert!(
        wrong_field.error_message().contains("dataset"),
        "{}",
        wrong_field.error_message()
    );
}

#[tokio::test]
async fn bad_dataset_uploads_name_line_and_column() {
    let app = app().await;
    let cases: [(&[u8], &[&str]); 5] = [
        (b"", &["empty"]),
        (
            b"a,b,c\n1,2,3\n4,5\n",
            &["line 3", "expected 3 fields, found 2"],
        ),
        (b"a,b\n1,ok\n2,\xff\xfe\n", &["line 3", "\"b\"", "UTF-8"]),
        (b"a,b,a\n1,2,3\n", &["duplicate", "\"a\""]),
        (b"a,b\n1,2\n3,4,5\n", &["line 3"]),
    ];
    for (body, expected) in cases {
        let reply = app.upload("bad", body).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
        let message = reply.error_message();
        for fragment in expected {
            assert!(
                message.contains(fragment),
                "{message:?} should contain {fragment:?}"
            );
        }
    }
    let invalid_name = app.upload("..%2Fetc", b"a\n1\n").await;
    assert_eq!(
        invalid_name.status,
        StatusCode::BAD_REQUEST,
        "{}",
        invalid_name.text()
    );
    let unknown_format = app
        .send(
            app.request(Method::POST, "/api/v1/datasets/d/versions?format=xlsx")
                .body(Body::from("a\n1\n"))
                .unwrap(),
        )
        .await;
    assert_eq!(unknown_format.status, StatusCode::BAD_REQUEST);
    let relative = app
        .post_json(
            "/api/v1/datasets/d/versions/from-path",
            json!({"path": "../secret.csv"}),
        )
        .await;
    assert_eq!(relative.status, StatusCode::BAD_REQUEST);
    assert!(relative.error_message().contains("absolute"));
}

#[tokio::test]
async fn dataset_versions_are_immutable_and_profiled() {
    let app = app().await;
    let csv = training_csv(100);
    let first = app.upload("shapes", csv.as_bytes()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let first = first.json();
    assert_eq!(first["version"], 1);
    assert_eq!(first["row_count"], 100);
    let types: Vec<&str> = first["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["float", "string", "integer", "integer"]);
    let size = &first["profile"]["columns"][2];
    assert_eq!(
        size["missing"], 15,
        "every 7th of 100 rows is blank: {size}"
    );
    assert_eq!(size["nullable"], true);

    let again = app.upload("shapes", csv.as_bytes()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["version"], 1);
    assert_eq!(again.json()["created"], false);

    let second = app
        .upload("shapes", training_csv(50).as_bytes())
        .await
        .json();
    assert_eq!(second["version"], 2);
    assert_ne!(second["content_hash"], first["content_hash"]);
    assert_eq!(
        app.get("/api/v1/datasets/shapes").await.json()["version"],
        2
    );
    assert_eq!(
        app.get("/api/v1/datasets/shapes/versions/1").await.json()["row_count"],
        100
    );
    assert_eq!(
        app.get("/api/v1/datasets/shapes/versions/9").await.status,
        StatusCode::NOT_FOUND
    );
}

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
