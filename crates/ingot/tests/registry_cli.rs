//! One registry through the CLI: a model registered through the MLflow REST API shows up in
//! `ingot model list` and `ingot model show` with its source, stage, approval and its run's
//! lineage, and `ingot model approve NAME VERSION` is seen by MLflow clients.

use serde_json::{json, Value};

mod support;

use support::Server;

const API: &str = "/api/2.0/mlflow";

fn mlflow(server: &Server, path: &str, body: Value) -> Value {
    let token = server.admin_token();
    let url = format!("{}{API}/{path}", server.url);
    let path = path.to_string();
    support::block_on(async move {
        let client = reqwest::Client::new();
        let request = if body.is_null() {
            client.get(&url)
        } else {
            client.post(&url).json(&body)
        };
        let reply = request.bearer_auth(token).send().await.unwrap();
        let status = reply.status();
        let text = reply.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    })
}

fn tag<'a>(version: &'a Value, key: &str) -> Option<&'a str> {
    version["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .and_then(|t| t["value"].as_str())
}

#[test]
fn mlflow_registered_models_are_listed_shown_and_approved_natively() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("home"));
    let run = mlflow(&server, "runs/create", json!({"experiment_id": "0"}));
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_string();
    mlflow(
        &server,
        "runs/log-batch",
        json!({"run_id": run_id,
               "metrics": [{"key": "r2", "value": 0.875, "timestamp": 1, "step": 0}]}),
    );
    mlflow(
        &server,
        "runs/log-inputs",
        json!({"run_id": run_id, "datasets": [{
            "tags": [{"key": "mlflow.data.context", "value": "training"}],
            "dataset": {"name": "houses-2024", "digest": "9f8e7d", "source_type": "local",
                        "source": "/data/houses.csv"}}]}),
    );
    mlflow(
        &server,
        "registered-models/create",
        json!({"name": "houses"}),
    );
    mlflow(
        &server,
        "model-versions/create",
        json!({"name": "houses", "source": format!("runs:/{run_id}/model"), "run_id": run_id}),
    );
    mlflow(
        &server,
        "registered-models/alias",
        json!({"name": "houses", "alias": "champion", "version": "1"}),
    );

    let listed = server.json(&["model", "list"]);
    let houses = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "houses")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(houses["origin"], "mlflow");
    assert_eq!(houses["latest_version"], 1);
    let table = server.ok(&["model", "list"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("houses") && l.contains("mlflow")),
        "{table}"
    );

    let shown = server.ok(&["model", "show", "houses"]);
    for expected in [
        "model houses:1 (mlflow)",
        &format!("source runs:/{run_id}/model"),
        "aliases champion",
        "approval PendingManualApproval",
        &format!("run {run_id}"),
        "r2=0.8750",
        "input dataset houses-2024 (digest 9f8e7d",
        "context training",
        "versions:",
    ] {
        assert!(
            shown.contains(expected),
            "{expected:?} missing from:\n{shown}"
        );
    }

    let versions_line = shown
        .lines()
        .find(|l| l.trim_start().starts_with("1 "))
        .unwrap_or_else(|| panic!("no version row in:\n{shown}"));
    for column in ["mlflow", "None", "PendingManualApproval", "champion"] {
        assert!(
            versions_line.contains(column),
            "{column:?} in {versions_line:?}"
        );
    }

    let approved = server.json(&["model", "approve", "houses", "1"]);
    assert_eq!(approved["approval_status"], "Approved");
    let seen = mlflow(
        &server,
        "model-versions/get?name=houses&version=1",
        Value::Null,
    );
    assert_eq!(
        tag(&seen["model_version"], "ingot.approval_status"),
        Some("Approved")
    );
    let shown = server.ok(&["model", "show", "houses:1"]);
    assert!(shown.contains("approval Approved (by admin"), "{shown}");
}
