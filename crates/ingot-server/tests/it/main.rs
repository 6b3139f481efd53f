//! Router tests: the real `/api/v1` and endpoint routes driven with `oneshot`, over an
//! in-memory metadata store and a temporary artifact directory. This file holds the
//! harness; each module tests one area.

mod auth;
mod clarify;
mod datasets;
mod endpoints;
mod forest;
mod gbdt;
mod learners;
mod mlflow;
mod monitoring;
mod registry_bridge;
mod serving;
mod serving_jobs;
mod training;

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
use serde_json::Value;
use tower::ServiceExt;

pub(crate) struct TestApp {
    pub(crate) router: Router,
    pub(crate) token: String,
    pub(crate) home: tempfile::TempDir,
}

pub(crate) async fn app() -> TestApp {
    app_with(|_| {}).await
}

/// An app whose platform configuration the test adjusts first.
pub(crate) async fn app_with(adjust: impl FnOnce(&mut PlatformConfig)) -> TestApp {
    let home = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let artifacts =
        ArtifactStore::open(&home.path().join("artifacts").display().to_string()).unwrap();
    let mut config = PlatformConfig::new(home.path());
    adjust(&mut config);
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
        home,
    }
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn error_message(&self) -> String {
        self.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestApp {
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
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
            headers,
            content_type,
            body,
        }
    }

    pub(crate) fn request(&self, method: Method, uri: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
    }

    pub(crate) async fn get(&self, uri: &str) -> Reply {
        self.send(self.request(Method::GET, uri).body(Body::empty()).unwrap())
            .await
    }

    pub(crate) async fn post_json(&self, uri: &str, body: Value) -> Reply {
        let request = self
            .request(Method::POST, uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    pub(crate) async fn upload(&self, name: &str, bytes: &[u8]) -> Reply {
        let request = self
            .request(
                Method::POST,
                &format!("/api/v1/datasets/{name}/versions?format=csv"),
            )
            .body(Body::from(bytes.to_vec()))
            .unwrap();
        self.send(request).await
    }

    pub(crate) async fn invoke(
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

    pub(crate) async fn wait_job(&self, id: &str) -> Value {
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

    pub(crate) async fn wait_endpoint(&self, name: &str) -> Value {
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
pub(crate) fn training_csv(rows: usize) -> String {
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
