//! Native tracking end to end: a training job becomes a run (params, per-iteration metric
//! histories, final metrics), runs compare side by side, the trained model is visible in the
//! MLflow-compatible registry, and a model that requires approval cannot be deployed until a
//! version is approved.

use std::process::Command;

mod support;

use support::{Server, BIN};

#[test]
fn training_jobs_are_tracked_runs_and_approval_gates_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("home"));
    let data = dir.path().join("churn.csv");
    let sample = Command::new(BIN)
        .args(["sample", "churn", "--rows", "1500", "--out"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(sample.status.success());
    server.json(&[
        "dataset",
        "create",
        "churn",
        "--file",
        data.to_str().unwrap(),
    ]);
    let train = |l2: &str| {
        server.json(&[
            "train",
            "--dataset",
            "churn",
            "--target",
            "Exited",
            "--algorithm",
            "linear-learner",
            "--drop",
            "RowNumber",
            "--drop",
            "CustomerId",
            "--drop",
            "Surname",
            "--model",
            "churn",
            "--hp",
            &format!("l2={l2}"),
            "--wait",
        ])
    };
    let first = train("0.01");
    let second = train("0.1");
    assert_eq!(first["status"], "Completed", "{first}");
    let job_id = first["id"].as_str().unwrap();

    // The job is a run: hyperparameters and inputs as params, metrics per iteration and final.
    let run = server.json(&["run", "show", job_id]);
    assert_eq!(run["status"], "FINISHED");
    assert_eq!(run["params"]["l2"], "0.01");
    assert_eq!(run["params"]["algorithm"], "linear-learner");
    assert_eq!(run["params"]["dataset"], "churn:1");
    let auc = first["metrics"]["auc"].as_f64().unwrap();
    assert_eq!(run["metrics"]["final_auc"].as_f64().unwrap(), auc);
    assert_eq!(run["tags"]["ingot.registered_model"], "churn:1");
    let experiment = server.json(&["experiment", "show", "ingot-jobs"]);
    let experiment_id = experiment["id"].as_str().unwrap();
    let listed = server.json(&["run", "list", "--experiment", experiment_id]);
    let ids: Vec<&str> = listed["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![second["id"].as_str().unwrap(), job_id],
        "newest first"
    );
    let filtered = server.json(&[
        "run",
        "list",
        "--experiment",
        experiment_id,
        "--filter",
        "params.l2 = '0.1'",
    ]);
    assert_eq!(filtered["runs"].as_array().unwrap().len(), 1);

    // Comparison: every metric's history, per run, side by side.
    let comparison = server.json(&["run", "compare", job_id, second["id"].as_str().unwrap()]);
    let metrics = comparison["metrics"].as_object().unwrap();
    let iterative = metrics
        .iter()
        .find(|(key, _)| !key.starts_with("final_"))
        .map(|(_, histories)| histories.as_array().unwrap().clone())
        .expect("the job logged a per-iteration metric");
    assert_eq!(iterative.len(), 2);
    assert!(
        iterative[0]["points"].as_array().unwrap().len() > 1,
        "{iterative:?}"
    );

    // The natively trained model is in the registry, versions mirrored with lineage.
    let registry = server.json(&["model", "require-approval", "churn"]);
    assert_eq!(registry["require_approval"], true);
    let versions = registry["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["native_version"], 1);
    assert_eq!(versions[0]["run_id"], job_id);
    assert_eq!(versions[0]["approval_status"], "PendingManualApproval");

    // Deployment requires approval now.
    let refused = server.cli(&["deploy", "churn:1", "--endpoint", "churn"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("requires approval"), "{message}");
    let approved = server.json(&["model", "approve", "churn:1"]);
    assert_eq!(approved["approval_status"], "Approved");
    assert_eq!(approved["approved_by"], "admin");
    assert!(approved["approved_at"].as_i64().unwrap() > 0);
    let deployed = server.cli(&["deploy", "churn:1", "--endpoint", "churn"]);
    assert!(
        deployed.status.success(),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    let rejected = server.json(&["model", "reject", "churn:2"]);
    assert_eq!(rejected["approval_status"], "Rejected");
    let refused = server.cli(&["deploy", "churn:2", "--endpoint", "churn2"]);
    assert!(!refused.status.success());
}
