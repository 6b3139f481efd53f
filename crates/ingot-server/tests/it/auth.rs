//! Authentication, the OpenAPI document, and JSON errors for unknown routes and bad bodies.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::*;

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
async fn the_root_page_names_the_apis_without_a_token() {
    let app = app().await;
    let page = app
        .send(Request::get("/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let html = page.text();
    for named in [
        "/api/v1/openapi.json",
        "/api/2.0/mlflow",
        "MLFLOW_TRACKING_URI",
        "/v2/models/NAME/infer",
        "ingot run show RUN_ID",
    ] {
        assert!(html.contains(named), "{named} missing from {html}");
    }
    // Everything below it still needs a token.
    let api = app
        .send(Request::get("/api/v1/models").body(Body::empty()).unwrap())
        .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
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
