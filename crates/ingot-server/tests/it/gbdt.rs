//! The `gbdt` algorithm as a server job: per-round metrics stored, the model registered with
//! its feature importance in the artifact, deployed, and answering invocations (including
//! missing values and an unseen category).

use serde_json::json;

use crate::*;

#[tokio::test]
async fn gbdt_job_trains_registers_and_deploys() {
    let app = app().await;
    app.upload("shapes", training_csv(600).as_bytes()).await;
    let job = app
        .post_json(
            "/api/v1/training-jobs",
            json!({
                "dataset": "shapes",
                "target": "y",
                "algorithm": "gbdt",
                "model_name": "shape-trees",
                "hyperparameters": {"num_trees": "30", "num_leaves": "8", "min_data_in_leaf": "5"}
            }),
        )
        .await;
    assert_eq!(job.status, StatusCode::CREATED, "{}", job.text());
    let id = job.json()["id"].as_str().unwrap().to_string();
    let job = app.wait_job(&id).await;
    assert_eq!(job["status"], "Completed", "{job}");
    assert!(job["metrics"]["auc"].as_f64().unwrap() > 0.9, "{job}");
    let metrics = app
        .get(&format!("/api/v1/training-jobs/{id}/metrics"))
        .await
        .json();
    let per_round = metrics
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"] == "validation_binary_logloss")
        .count();
    assert_eq!(per_round, 30, "{metrics}");

    let artifact = app
        .get("/api/v1/models/shape-trees/versions/latest/artifact")
        .await;
    assert_eq!(artifact.status, StatusCode::OK);
    // The INGOTMDL header: magic, version, reserved, then the manifest length and JSON.
    let body = &artifact.body;
    assert_eq!(&body[..8], b"INGOTMDL");
    let length = u32::from_le_bytes(body[12..16].try_into().unwrap()) as usize;
    let manifest: Value = serde_json::from_slice(&body[16..16 + length]).unwrap();
    assert_eq!(manifest["algorithm"], "gbdt");
    let importance = manifest["feature_importance"]
        .as_array()
        .expect("importance");
    let x = importance.iter().find(|f| f["feature"] == "x").unwrap();
    assert!(x["splits"].as_u64().unwrap() > 0, "{importance:?}");
    assert!(x["gain"].as_f64().unwrap() > 0.0, "{importance:?}");

    let endpoint = app
        .post_json(
            "/api/v1/endpoints",
            json!({"name": "trees-ep", "model": "shape-trees"}),
        )
        .await;
    assert_eq!(endpoint.status, StatusCode::CREATED, "{}", endpoint.text());
    assert_eq!(app.wait_endpoint("trees-ep").await["status"], "InService");
    let reply = app
        .invoke(
            "trees-ep",
            "text/csv",
            Some("application/json"),
            "2.5,red,3\n-2.5,blue,\n0.1,purple,4\n",
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let predictions = reply.json()["predictions"].as_array().unwrap().clone();
    assert_eq!(predictions.len(), 3);
    assert_eq!(predictions[0]["predicted_label"], "1");
    assert_eq!(predictions[1]["predicted_label"], "0");
}
