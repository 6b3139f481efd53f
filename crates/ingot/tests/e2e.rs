//! End-to-end tests: the real `ingot server` process on a free port, driven by the real CLI
//! through dataset → training job → registered model → endpoint → predictions, plus the
//! crash-recovery guarantee (SIGKILL during training).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod support;

use support::{Server, BIN};

const ID_COLUMNS: [&str; 3] = ["RowNumber", "CustomerId", "Surname"];

fn churn_file(dir: &Path, rows: usize) -> PathBuf {
    let path = dir.join(format!("churn-{rows}.csv"));
    let output = Command::new(BIN)
        .args(["sample", "churn", "--rows", &rows.to_string(), "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

fn drop_args() -> Vec<&'static str> {
    ID_COLUMNS.iter().flat_map(|c| ["--drop", *c]).collect()
}

#[test]
fn the_cli_carries_a_model_through_its_whole_life_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let server = Server::start(&home);
    let token = std::fs::read_to_string(home.join("admin-token")).unwrap();
    assert!(token.trim().starts_with("ingot_"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.join("admin-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let data = churn_file(dir.path(), 4000);
    let data_arg = data.to_str().unwrap();

    // Dataset.
    assert_eq!(
        server
            .ok(&["dataset", "create", "churn", "--file", data_arg])
            .trim(),
        "churn:1"
    );
    let profile = server.json(&["dataset", "show", "churn"]);
    assert_eq!(profile["row_count"], 4000);
    assert_eq!(profile["schema"].as_array().unwrap().len(), 14);
    let geography = profile["profile"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Geography")
        .unwrap()
        .clone();
    assert_eq!(geography["distinct"], 3);
    let local_profile = server.json(&["dataset", "profile", "--file", data_arg]);
    assert_eq!(
        local_profile["profile"], profile["profile"],
        "local and server profiles agree"
    );
    let listed = server.json(&["dataset", "list"]);
    assert_eq!(listed[0]["name"], "churn");

    // Training job, waited on.
    let mut train = vec![
        "train",
        "--dataset",
        "churn",
        "--target",
        "Exited",
        "--algorithm",
        "linear-learner",
        "--model",
        "churn",
        "--wait",
    ];
    train.extend(drop_args());
    let job = server.json(&train);
    assert_eq!(job["status"], "Completed", "{job}");
    let auc = job["metrics"]["auc"].as_f64().unwrap();
    assert!(auc > 0.7, "held-out AUC {auc}");
    assert_eq!(job["model_version"], 1);
    let job_id = job["id"].as_str().unwrap().to_string();
    let text = server.ok(&train);
    assert!(text.contains("model version: churn:2"), "{text}");

    // Jobs.
    let jobs = server.json(&["job", "list"]);
    assert_eq!(jobs.as_array().unwrap().len(), 2);
    assert_eq!(
        server.json(&["job", "show", &job_id])["status"],
        "Completed"
    );
    let logs = server.ok(&["job", "logs", &job_id]);
    assert!(logs.contains("registered model churn:1"), "{logs}");
    let stop = server.cli(&["job", "stop", &job_id]);
    assert!(!stop.status.success());
    assert!(String::from_utf8_lossy(&stop.stderr).contains("already Completed"));

    // Registry and lineage.
    let models = server.json(&["model", "list"]);
    assert_eq!(models[0]["name"], "churn");
    assert_eq!(models[0]["latest_version"], 2);
    let version = server.json(&["model", "show", "churn:1"]);
    assert_eq!(version["lineage"]["job_id"], job_id.as_str());
    assert_eq!(version["lineage"]["dataset"], "churn");
    assert_eq!(version["lineage"]["dataset_version"], 1);
    let names: Vec<&str> = version["input_schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"Exited") && !names.contains(&"Surname") && names.contains(&"Age"));
    assert!(server
        .ok(&["model", "show", "churn"])
        .contains("model churn:2"));

    // The same training locally gives the same model, byte for byte in its predictions.
    let model_file = dir.path().join("churn.ingot");
    let mut local = vec![
        "train",
        "--local",
        "--file",
        data_arg,
        "--target",
        "Exited",
        "--algorithm",
        "linear-learner",
        "--out",
        model_file.to_str().unwrap(),
    ];
    local.extend(drop_args());
    let local_result = server.json(&local);
    assert_eq!(
        local_result["metrics"]["auc"].as_f64().unwrap(),
        auc,
        "local and server training agree"
    );
    let local_predictions = server.ok(&[
        "predict",
        "--local",
        "--model",
        model_file.to_str().unwrap(),
        "--file",
        data_arg,
    ]);
    let local_lines: Vec<&str> = local_predictions.lines().collect();
    assert_eq!(local_lines[0], "0,1");
    assert_eq!(local_lines.len(), 4001);
    for line in &local_lines[1..] {
        let p: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        assert!((p[0] + p[1] - 1.0).abs() < 1e-9, "{line}");
    }

    // Endpoint.
    let deployed = server.ok(&["deploy", "churn:1", "--endpoint", "churn-ep", "--wait"]);
    assert!(deployed.contains("InService"), "{deployed}");
    assert!(deployed.contains("/endpoints/churn-ep/invocations"));
    let remote_predictions = server.ok(&["predict", "--endpoint", "churn-ep", "--file", data_arg]);
    assert_eq!(
        remote_predictions, local_predictions,
        "endpoint and local model agree"
    );
    let endpoints = server.json(&["endpoint", "list"]);
    assert_eq!(endpoints[0]["status"], "InService");
    assert_eq!(
        server.json(&["endpoint", "show", "churn-ep"])["model_version"],
        1
    );
    server.ok(&["endpoint", "delete", "churn-ep"]);
    let gone = server.cli(&["endpoint", "show", "churn-ep"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("404"));

    // Clear CLI errors.
    let missing = server.cli(&["dataset", "create", "x", "--file", "/nonexistent.csv"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.csv"));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n3\n").unwrap();
    let ragged = server.cli(&["dataset", "create", "bad", "--file", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&ragged.stderr);
    assert!(
        !ragged.status.success() && stderr.contains("line 3"),
        "{stderr}"
    );
    let by_path = server.json(&["dataset", "create", "churn-by-path", "--path", data_arg]);
    assert_eq!(by_path["row_count"], 4000);
    assert_eq!(
        by_path["content_hash"], profile["content_hash"],
        "same bytes, same identity"
    );
    let unauthorized = Command::new(BIN)
        .args([
            "model",
            "list",
            "--token",
            "ingot_wrong",
            "--server",
            &server.url,
        ])
        .output()
        .unwrap();
    assert!(!unauthorized.status.success());
    assert!(String::from_utf8_lossy(&unauthorized.stderr).contains("401"));
}

#[test]
fn sigkill_during_training_keeps_records_and_fails_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let server = Server::start(&home);
    let small = churn_file(dir.path(), 1000);
    let large = churn_file(dir.path(), 60_000);
    server.ok(&[
        "dataset",
        "create",
        "small",
        "--file",
        small.to_str().unwrap(),
    ]);
    let mut train = vec![
        "train",
        "--dataset",
        "small",
        "--target",
        "Exited",
        "--algorithm",
        "linear-learner",
        "--wait",
    ];
    train.extend(drop_args());
    assert_eq!(server.json(&train)["status"], "Completed");
    server.ok(&[
        "dataset",
        "create",
        "large",
        "--file",
        large.to_str().unwrap(),
    ]);

    let mut long = vec![
        "train",
        "--dataset",
        "large",
        "--target",
        "Exited",
        "--algorithm",
        "linear-learner",
        "--hp",
        "max_iter=100000000",
        "--hp",
        "tol=0",
    ];
    long.extend(drop_args());
    let job_id = server.ok(&long).trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = server.json(&["job", "show", &job_id])["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "Running" {
            break;
        }
        assert_eq!(status, "Pending", "the long job must not end by itself");
        assert!(Instant::now() < deadline, "job never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();

    let restarted = Server::start(&home);
    let job = restarted.json(&["job", "show", &job_id]);
    assert_eq!(job["status"], "Failed", "{job}");
    assert_eq!(job["failure_reason"], "interrupted by restart");
    assert!(job["model_version"].is_null());
    let datasets = restarted.json(&["dataset", "list"]);
    let names: Vec<&str> = datasets
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{datasets}");
    assert!(names.contains(&"small") && names.contains(&"large"));
    assert_eq!(
        restarted.json(&["dataset", "show", "large"])["row_count"],
        60_000
    );
    let model = restarted.json(&["model", "show", "small:1"]);
    assert_eq!(model["lineage"]["dataset"], "small");
    // The platform still works after the crash.
    assert_eq!(restarted.json(&train)["status"], "Completed");
}

#[test]
fn a_non_loopback_bind_without_auth_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args([
            "server",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--no-auth",
            "--home",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("non-loopback"), "{stderr}");
}
