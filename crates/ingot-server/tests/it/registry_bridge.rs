//! One registry seen from both sides, through the real router: MLflow-registered models in
//! `/api/v1/models` with their run's lineage, native approval visible through MLflow, lineage
//! of trained versions as MLflow tags, reserved tags, run outputs, `IN` lists MLflow refuses,
//! and jobs stopped before they start.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::{app, app_with, training_csv, TestApp};

const API: &str = "/api/2.0/mlflow";

async fn ok(app: &TestApp, path: &str, body: Value) -> Value {
    let reply = app.post_json(&format!("{API}/{path}"), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
    reply.json()
}

fn tag<'a>(version: &'a Value, key: &str) -> Option<&'a str> {
    version["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .and_then(|t| t["value"].as_str())
}

/// An MLflow run with a metric and an input dataset, registered as `houses` version 1.
async fn mlflow_registered(app: &TestApp) -> String {
    let run = ok(app, "runs/create", json!({"experiment_id": "0"})).await;
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    ok(
        app,
        "runs/log-batch",
        json!({"run_id": run_id,
               "metrics": [{"key": "rmse", "value": 0.5, "timestamp": 1, "step": 0},
                           {"key": "rmse", "value": 0.25, "timestamp": 2, "step": 1}]}),
    )
    .await;
    ok(
        app,
        "runs/log-inputs",
        json!({"run_id": run_id, "datasets": [{
            "tags": [{"key": "mlflow.data.context", "value": "train"}],
            "dataset": {"name": "houses-2024", "digest": "abc123", "source_type": "local",
                        "source": "{\"uri\": \"/data/houses.csv\"}"}}]}),
    )
    .await;
    ok(app, "registered-models/create", json!({"name": "houses"})).await;
    ok(
        app,
        "model-versions/create",
        json!({"name": "houses", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    )
    .await;
    run_id
}

#[tokio::test]
async fn an_mlflow_registered_model_is_a_native_model_with_lineage_and_approval() {
    let app = app().await;
    let run_id = mlflow_registered(&app).await;

    let models = app.get("/api/v1/models").await.json();
    let houses = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "houses")
        .unwrap_or_else(|| panic!("houses missing from {models}"));
    assert_eq!(houses["origin"], "mlflow");
    assert_eq!(
        (
            houses["latest_version"].as_i64(),
            houses["version_count"].as_i64()
        ),
        (Some(1), Some(1))
    );

    let version = app.get("/api/v1/models/houses/versions/1").await;
    assert_eq!(version.status, StatusCode::OK, "{}", version.text());
    let version = version.json();
    assert_eq!(version["origin"], "mlflow");
    assert_eq!(
        version["registry"]["source"],
        format!("runs:/{run_id}/model")
    );
    assert_eq!(version["registry"]["stage"], "None");
    assert_eq!(
        version["registry"]["approval_status"],
        "PendingManualApproval"
    );
    let lineage = &version["lineage"];
    assert_eq!(lineage["run_id"], run_id.as_str());
    assert_eq!(lineage["metrics"]["rmse"], 0.25, "the run's latest value");
    assert_eq!(lineage["input_datasets"][0]["name"], "houses-2024");
    assert_eq!(lineage["input_datasets"][0]["digest"], "abc123");
    assert_eq!(lineage["input_datasets"][0]["context"], "train");
    let listed = app.get("/api/v1/models/houses/versions").await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // It has no Ingot model file to download.
    let artifact = app.get("/api/v1/models/houses/versions/1/artifact").await;
    assert_eq!(artifact.status, StatusCode::NOT_FOUND);

    // Native approval, seen through MLflow as a model-version tag.
    let approved = app
        .post_json(
            "/api/v1/registry/models/houses/versions/1/approval",
            json!({"approve": true}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    let mlflow = app
        .get(&format!("{API}/model-versions/get?name=houses&version=1"))
        .await
        .json();
    assert_eq!(
        tag(&mlflow["model_version"], "ingot.approval_status"),
        Some("Approved")
    );
    assert_eq!(
        tag(&mlflow["model_version"], "ingot.metric.rmse"),
        Some("0.25")
    );
    let found = app
        .get(&format!(
            "{API}/model-versions/search?filter={}",
            urlencode("tags.`ingot.approval_status` = 'Approved'")
        ))
        .await
        .json();
    assert_eq!(found["model_versions"][0]["name"], "houses", "{found}");
    let native = app
        .get("/api/v1/models/houses/versions/latest")
        .await
        .json();
    assert_eq!(native["registry"]["approval_status"], "Approved");
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn ingot_tags_are_reserved_for_ingot() {
    let app = app().await;
    mlflow_registered(&app).await;
    for path in ["model-versions/set-tag", "model-versions/delete-tag"] {
        let reply = app
            .post_json(
                &format!("{API}/{path}"),
                json!({"name": "houses", "version": "1", "key": "ingot.approval_status",
                       "value": "Approved"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(reply.json()["error_code"], "INVALID_PARAMETER_VALUE");
        assert!(
            reply.text().contains("ingot.approval_status"),
            "{}",
            reply.text()
        );
    }
    let create = app
        .post_json(
            &format!("{API}/model-versions/create"),
            json!({"name": "houses", "source": "s3://x",
                   "tags": [{"key": "ingot.model_version", "value": "1"}]}),
        )
        .await;
    assert_eq!(create.status, StatusCode::BAD_REQUEST, "{}", create.text());
    let mlflow = app
        .get(&format!("{API}/model-versions/get?name=houses&version=1"))
        .await
        .json();
    assert_eq!(tag(&mlflow["model_version"], "ingot.approval_status"), None);
}

#[tokio::test]
async fn a_trained_version_carries_its_lineage_on_both_sides() {
    let app = app().await;
    app.upload("churn", training_csv(200).as_bytes()).await;
    let job = app
        .post_json(
            "/api/v1/training-jobs",
            json!({"dataset": "churn", "target": "y", "algorithm": "linear-learner"}),
        )
        .await
        .json();
    let id = job["id"].as_str().unwrap().to_string();
    let job = app.wait_job(&id).await;
    assert_eq!(job["status"], "Completed", "{job}");
    let version = app.get("/api/v1/models/churn/versions/1").await.json();
    assert_eq!(version["origin"], "ingot");
    let lineage = &version["lineage"];
    assert_eq!(lineage["dataset"], "churn");
    assert_eq!(lineage["dataset_version"], 1);
    assert_eq!(lineage["job_id"], id.as_str());
    assert_eq!(lineage["run_id"], id.as_str(), "the job's run");
    let accuracy = version["metrics"]["accuracy"].as_f64().unwrap();
    assert_eq!(lineage["metrics"]["accuracy"].as_f64(), Some(accuracy));
    assert_eq!(version["registry"]["version"], 1);

    let mlflow = app
        .get(&format!("{API}/model-versions/get?name=churn&version=1"))
        .await
        .json();
    let mv = &mlflow["model_version"];
    assert_eq!(mv["run_id"], id.as_str());
    assert_eq!(tag(mv, "ingot.dataset"), Some("churn:1"));
    assert_eq!(tag(mv, "ingot.job_id"), Some(id.as_str()));
    assert_eq!(tag(mv, "ingot.model_version"), Some("1"));
    let tagged: f64 = tag(mv, "ingot.metric.accuracy").unwrap().parse().unwrap();
    assert_eq!(tagged, accuracy);
    // MLflow cannot pull the mirror or the model out from under the native registry.
    for (path, body) in [
        (
            "model-versions/delete",
            json!({"name": "churn", "version": "1"}),
        ),
        ("registered-models/delete", json!({"name": "churn"})),
        (
            "registered-models/rename",
            json!({"name": "churn", "new_name": "other"}),
        ),
    ] {
        let refused = app.post_json(&format!("{API}/{path}"), body).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            refused.text()
        );
        assert!(
            refused.text().contains("Ingot model version"),
            "{}",
            refused.text()
        );
    }
    // The run's final metric is the same number.
    let run = app.get(&format!("{API}/runs/get?run_id={id}")).await.json();
    let final_accuracy = run["run"]["data"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "final_accuracy")
        .map(|m| m["value"].as_f64().unwrap());
    assert_eq!(final_accuracy, Some(accuracy));
}

#[tokio::test]
async fn run_outputs_are_returned_by_get_run() {
    let app = app().await;
    let run = ok(&app, "runs/create", json!({"experiment_id": "0"})).await;
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    ok(
        &app,
        "runs/outputs",
        json!({"run_id": run_id, "models": [{"model_id": "m-1", "step": 3}]}),
    )
    .await;
    let got = app
        .get(&format!("{API}/runs/get?run_id={run_id}"))
        .await
        .json();
    assert_eq!(
        got["run"]["outputs"],
        json!({"model_outputs": [{"model_id": "m-1", "step": 3}]})
    );
    let bad = app
        .post_json(
            &format!("{API}/runs/outputs"),
            json!({"run_id": run_id, "models": [{"step": 1}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("model_id"), "{}", bad.text());
}

#[tokio::test]
async fn param_lists_are_refused_like_mlflow() {
    let app = app().await;
    let reply = app
        .post_json(
            &format!("{API}/runs/search"),
            json!({"experiment_ids": ["0"], "filter": "params.x IN ('1','2')"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error_code"], "INVALID_PARAMETER_VALUE");
    assert_eq!(
        reply.json()["message"],
        "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('1','2')"
    );
}

#[tokio::test]
async fn a_job_stopped_before_it_starts_gets_a_killed_run() {
    let app = app_with(|config| config.job_workers = 1).await;
    app.upload("big", training_csv(20_000).as_bytes()).await;
    let long = json!({"dataset": "big", "target": "y", "algorithm": "linear-learner",
                      "hyperparameters": {"max_iter": "1000000", "tol": "0"}});
    let first = app
        .post_json("/api/v1/training-jobs", long.clone())
        .await
        .json();
    let queued = app.post_json("/api/v1/training-jobs", long).await.json();
    let queued_id = queued["id"].as_str().unwrap();
    let stopped = app
        .post_json(
            &format!("/api/v1/training-jobs/{queued_id}/stop"),
            json!({}),
        )
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());
    assert_eq!(stopped.json()["status"], "Stopped");
    assert!(
        stopped.json()["started_at"].is_null(),
        "it never ran: {}",
        stopped.text()
    );
    let run = app.get(&format!("{API}/runs/get?run_id={queued_id}")).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text());
    let info = &run.json()["run"]["info"];
    assert_eq!(info["status"], "KILLED");
    assert!(info["end_time"].as_i64().is_some());
    let first_id = first["id"].as_str().unwrap();
    app.post_json(&format!("/api/v1/training-jobs/{first_id}/stop"), json!({}))
        .await;
    app.wait_job(first_id).await;
}

#[tokio::test]
async fn logged_models_are_searched_by_params_tags_and_linked_metrics() {
    let app = app().await;
    let run = ok(&app, "runs/create", json!({"experiment_id": "0"})).await;
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for (lr, team) in [("0.1", "a"), ("0.2", "b")] {
        let created = ok(
            &app,
            "logged-models",
            json!({"experiment_id": "0", "params": [{"key": "lr", "value": lr}],
                   "tags": [{"key": "team", "value": team}]}),
        )
        .await;
        ids.push(
            created["model"]["info"]["model_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ok(
        &app,
        "runs/log-batch",
        json!({"run_id": run_id, "metrics": [
            {"key": "acc", "value": 0.25, "timestamp": 5, "step": 0, "model_id": ids[0]},
            {"key": "acc", "value": 0.75, "timestamp": 5, "step": 0, "model_id": ids[1]},
            {"key": "loss", "value": 1.0, "timestamp": 5, "step": 0}]}),
    )
    .await;
    let search = |body: Value| {
        let app = &app;
        async move {
            let mut body = body;
            body["experiment_ids"] = json!(["0"]);
            app.post_json(&format!("{API}/logged-models/search"), body)
                .await
        }
    };
    let names = |reply: &Value| -> Vec<String> {
        reply["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["info"]["model_id"].as_str().unwrap().to_string())
            .collect()
    };
    let by_param = search(json!({"filter": "params.lr = '0.2'"})).await.json();
    assert_eq!(names(&by_param), vec![ids[1].clone()]);
    let by_tag = search(json!({"filter": "tags.team = 'a'"})).await.json();
    assert_eq!(names(&by_tag), vec![ids[0].clone()]);
    let by_metric = search(json!({"filter": "metrics.acc < 0.5"})).await.json();
    assert_eq!(names(&by_metric), vec![ids[0].clone()]);
    let ordered = search(json!({"order_by": [{"field_name": "metrics.acc", "ascending": false}]}))
        .await
        .json();
    assert_eq!(names(&ordered), vec![ids[1].clone(), ids[0].clone()]);
    let metrics = &ordered["models"][0]["data"]["metrics"];
    assert_eq!(metrics[0]["key"], "acc");
    assert_eq!(metrics[0]["value"], 0.75);
    assert_eq!(metrics[0]["run_id"], run_id.as_str());
    assert_eq!(metrics.as_array().unwrap().len(), 1, "loss named no model");
    let refused =
        search(json!({"order_by": [{"field_name": "params.lr", "ascending": true}]})).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.text().contains("Only metrics are supported"),
        "{}",
        refused.text()
    );
    let missing = app
        .post_json(
            &format!("{API}/runs/log-metric"),
            json!({"run_id": run_id, "key": "acc", "value": 1.0, "timestamp": 1,
                   "model_id": "m-missing"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text());
}
