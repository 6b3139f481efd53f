//! Dataset uploads: immutable, profiled versions and errors that name the line and column.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::*;

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
