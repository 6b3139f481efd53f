//! MLflow conformance: starts the real `ingot server` and runs the pytest suite in
//! `tests/mlflow/` with the official `mlflow` client against it (and, for subtle behaviours,
//! against a real `mlflow server` started by the suite). Runs when `INGOT_PEER_PYTHON` names a
//! Python with `mlflow` and `pytest` (`.ci/run` installs them); otherwise it says it skipped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ingot");

#[test]
fn mlflow_client_conformance() {
    let Some(python) = std::env::var_os("INGOT_PEER_PYTHON").map(PathBuf::from) else {
        eprintln!("skipped: INGOT_PEER_PYTHON is not set (mlflow client unavailable)");
        return;
    };
    let check = Command::new(&python)
        .args(["-c", "import mlflow, pytest, sklearn"])
        .output()
        .expect("run the peer python");
    assert!(
        check.status.success(),
        "INGOT_PEER_PYTHON lacks mlflow/pytest (install them as .ci/run does): {}",
        String::from_utf8_lossy(&check.stderr)
    );

    let home = tempfile::tempdir().unwrap();
    let mut server = Command::new(BIN)
        .args(["server", "--port", "0", "--home"])
        .arg(home.path())
        .env("INGOT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ingot server");
    let stdout = server.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Ingot server listening on ") {
                let _ = sender.send(url.trim().to_string());
            }
        }
    });
    let url = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("server announced its URL");
    let token = std::fs::read_to_string(home.path().join("admin-token")).unwrap();

    let suite = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/mlflow");
    let work = tempfile::tempdir().unwrap();
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"])
        .arg(&suite)
        .current_dir(work.path())
        .env("MLFLOW_TRACKING_URI", &url)
        .env("MLFLOW_TRACKING_TOKEN", token.trim())
        .env("GIT_PYTHON_REFRESH", "quiet")
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .output()
        .expect("run pytest");
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The summary line ("N passed, M failed in Xs") is printed by the test harness on failure
    // and with --nocapture; nextest shows it for failing tests.
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "the MLflow conformance suite failed (see the pytest output above)"
    );
    assert!(
        stdout.contains(" passed") && !stdout.contains(" failed"),
        "unexpected pytest summary: {stdout}"
    );
}
