//! Imported models answer like their own libraries, on every serving path: XGBoost JSON,
//! LightGBM text and scikit-learn ONNX models (a churn-like classifier and a house-price-like
//! regressor each) are trained in Python, imported with `ingot model import`, and their
//! predictions from the real-time endpoint, a batch transform job and an async endpoint must
//! equal the library's own `predict` to 1e-6 relative (absolute below 1). Runs when `INGOT_PEER_PYTHON` names a
//! Python with xgboost, lightgbm, scikit-learn, skl2onnx and onnxruntime. `tritonclient`, the
//! usual Open Inference Protocol client, must read the same answers over OIP.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::Server;

fn peer_python() -> Option<PathBuf> {
    match std::env::var_os("INGOT_PEER_PYTHON") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!(
                "skipped: INGOT_PEER_PYTHON is not set (xgboost/lightgbm/onnx peers unavailable)"
            );
            None
        }
    }
}

fn close(what: &str, ours: &[f64], theirs: &[f64]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: row counts");
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        // Relative to the value, or to 1 for values below 1 (probabilities): ONNX Runtime's
        // logistic is MLAS's approximation, so a probability of 0.002 can differ by 1e-5
        // relative while staying within 3e-8 absolute.
        assert!(
            (a - b).abs() <= 1e-6 * b.abs().max(1.0),
            "{what} row {i}: ingot {a} vs library {b}"
        );
    }
}

/// The positive-class probability (classifiers) or the value (regressors) per row.
fn from_json_predictions(answer: &Value) -> Vec<f64> {
    answer["predictions"]
        .as_array()
        .unwrap_or_else(|| panic!("no predictions: {answer}"))
        .iter()
        .map(|p| match p.get("probabilities") {
            Some(probabilities) => probabilities["1"].as_f64().unwrap(),
            None => p["score"].as_f64().unwrap_or_else(|| panic!("{p}")),
        })
        .collect()
}

fn token(home: &Path) -> String {
    std::fs::read_to_string(home.join("admin-token"))
        .unwrap()
        .trim()
        .to_string()
}

async fn async_answer(server: &Server, endpoint: &str, csv: &str) -> Value {
    let client = reqwest::Client::new();
    let token = token(&server.home);
    let queued: Value = client
        .post(format!(
            "{}/endpoints/{endpoint}/async-invocations",
            server.url
        ))
        .bearer_auth(&token)
        // As MLflow's and pandas' clients send CSV: a header line, no `header=present`.
        .header("content-type", "text/csv")
        .header("accept", "application/json")
        .body(csv.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = queued["id"].as_str().unwrap_or_else(|| panic!("{queued}"));
    for _ in 0..400 {
        let status: Value = client
            .get(format!(
                "{}/endpoints/{endpoint}/async-invocations/{id}",
                server.url
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match status["status"].as_str() {
            Some("completed") => {
                return client
                    .get(format!(
                        "{}{}",
                        server.url,
                        status["output_location"].as_str().unwrap()
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
            }
            Some("failed") => panic!("async invocation failed: {status}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("async invocation {id} never completed");
}

/// The batch transform output's prediction column.
async fn transformed(server: &Server, output: &str, column: &str) -> Vec<f64> {
    let version = server.json(&["dataset", "show", output]);
    let digest = version["content_hash"].as_str().unwrap();
    let store =
        ingot_artifacts::ArtifactStore::open(&server.home.join("artifacts").display().to_string())
            .unwrap();
    let bytes = store.get(digest).await.unwrap();
    let table = ingot_data::read_table(&bytes, ingot_data::DataFormat::Parquet).unwrap();
    let index = table.schema.index_of(column).unwrap_or_else(|| {
        panic!(
            "no column {column} in {:?}",
            table.schema.names().collect::<Vec<_>>()
        )
    });
    table
        .batch
        .column(index)
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .unwrap()
        .values()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_models_match_their_libraries_in_real_time_batch_and_async() {
    let Some(python) = peer_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/serving/peer_models.py"
        ))
        .arg(dir.path())
        .status()
        .expect("run the peer script");
    assert!(status.success(), "peer_models.py failed");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("expected.json")).unwrap())
            .unwrap();
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path());
    let schema = "tenure:float,monthly:float,calls:float,usage:float,age:float,rooms:float,area:float,score:float";
    let cases = [
        ("churn_xgb", "xgboost", "json", "churn.csv", true),
        ("house_xgb", "xgboost", "json", "house.csv", false),
        ("churn_lgb", "lightgbm", "txt", "churn.csv", true),
        ("house_lgb", "lightgbm", "txt", "house.csv", false),
        ("churn_onnx", "onnx", "onnx", "churn_filled.csv", true),
        ("house_onnx", "onnx", "onnx", "house.csv", false),
    ];
    for (name, format, extension, data, classifier) in cases {
        let model = dir.path().join(format!("{name}.{extension}"));
        let csv_path = dir.path().join(data);
        let csv = std::fs::read_to_string(&csv_path).unwrap();
        let mut import = vec![
            "model",
            "import",
            name,
            "--file",
            model.to_str().unwrap(),
            "--format",
            format,
        ];
        if format == "onnx" {
            import.extend(["--schema", schema]);
        }
        let version = server.json(&import);
        assert_eq!(version["version"], 1, "{version}");
        let library: Vec<f64> = expected[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();

        // Real time.
        let endpoint = format!("{name}-rt");
        server.ok(&["deploy", name, "--endpoint", &endpoint, "--wait"]);
        let answer = server.json(&[
            "predict",
            "--endpoint",
            &endpoint,
            "--file",
            csv_path.to_str().unwrap(),
        ]);
        close(
            &format!("{name} real-time"),
            &from_json_predictions(&answer),
            &library,
        );

        // Batch transform.
        let dataset = format!("{name}-rows");
        server.ok(&[
            "dataset",
            "create",
            &dataset,
            "--file",
            csv_path.to_str().unwrap(),
        ]);
        let output = format!("{name}-scored");
        server.ok(&[
            "transform",
            "--model",
            name,
            "--dataset",
            &dataset,
            "--output-dataset",
            &output,
            "--workers",
            "2",
            "--wait",
        ]);
        let column = if classifier {
            "probability_1"
        } else {
            "prediction"
        };
        close(
            &format!("{name} batch"),
            &transformed(&server, &output, column).await,
            &library,
        );

        // Asynchronous.
        let queued = format!("{name}-async");
        server.ok(&["deploy", name, "--endpoint", &queued, "--async", "--wait"]);
        let answer = async_answer(&server, &queued, &csv).await;
        close(
            &format!("{name} async"),
            &from_json_predictions(&answer),
            &library,
        );
    }
}

/// The answers `/invocations` gives one variant for `rows`, as positive-class probabilities.
fn invocations_answer(
    server: &Server,
    endpoint: &str,
    variant: &str,
    rows: &[(f64, &str)],
) -> Vec<f64> {
    let csv: String = std::iter::once("x,colour\n".to_string())
        .chain(rows.iter().map(|(x, colour)| format!("{x},{colour}\n")))
        .collect();
    let url = format!("{}/endpoints/{endpoint}/invocations", server.url);
    let (token, variant) = (token(&server.home), variant.to_string());
    let answer: Value = support::block_on(async move {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .header("accept", "application/json")
            .header("x-ingot-target-variant", variant)
            .body(csv)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    from_json_predictions(&answer)
}

/// `tritonclient`, the usual Open Inference Protocol client, with its defaults (binary tensors
/// both ways) and with JSON tensors, on the unversioned and versioned paths; its errors carry
/// the server's message.
#[test]
fn tritonclient_infers_with_binary_and_json_tensors() {
    let Some(python) = peer_python() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path());
    server.train_shapes("shapes");
    server.train_on_shapes("shapes", &["--hp", "l2=5"]);
    server.ok(&["deploy", "shapes:1", "--endpoint", "oip", "--wait"]);
    server.ok(&[
        "endpoint",
        "update",
        "oip",
        "--variant",
        "blue=shapes:1,weight=1",
        "--variant",
        "green=shapes:2,weight=0",
    ]);
    let rows = [
        (1.5, "red"),
        (-0.25, "green"),
        (2.75, "blue"),
        (-3.0, "red"),
    ];
    let blue = invocations_answer(&server, "oip", "blue", &rows);
    let green = invocations_answer(&server, "oip", "green", &rows);
    assert!(
        blue.iter().zip(&green).any(|(a, b)| (a - b).abs() > 1e-9),
        "two different models"
    );
    let rows_json = serde_json::to_string(
        &rows
            .iter()
            .map(|(x, colour)| serde_json::json!({"x": x, "colour": colour}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let output = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serving/oip_client.py"))
        .args([
            server.url.trim_start_matches("http://"),
            "oip",
            &token(home.path()),
            &rows_json,
            "shapes:2",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(read["live"], true);
    assert_eq!(read["model_ready"], true);
    assert_eq!(read["version_ready"], true);
    assert_eq!(
        read["metadata"]["versions"],
        serde_json::json!(["shapes:1", "shapes:2"])
    );
    assert_eq!(
        read["server_extensions"],
        serde_json::json!(["binary_tensor_data"])
    );
    let numbers = |key: &str| -> Vec<f64> {
        read[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {read}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    // Weight 0 on green: unversioned requests go to blue; `shapes:2` names green.
    close("tritonclient JSON tensors", &numbers("json"), &blue);
    close("tritonclient binary tensors", &numbers("binary"), &blue);
    close(
        "tritonclient at version shapes:2",
        &numbers("at_version"),
        &green,
    );
    let refused = |key: &str, status: &str, says: &str| {
        let refusal = &read[key];
        assert_eq!(refusal["status"], status, "{key}: {refusal}");
        let message = refusal["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{key}: {message}");
    };
    refused("unknown_input", "400", "unknown input \"z\"");
    refused(
        "unknown_version",
        "404",
        "serves no model version \"9\"; it serves shapes:1, shapes:2",
    );
    refused("no_token", "401", "missing Authorization");
}
