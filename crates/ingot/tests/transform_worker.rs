//! Batch transforms in worker processes (`ingot_replicas::ProcessTransforms` with the real
//! `ingot transform-worker` child): the output equals scoring in this process for multi-slice
//! CSV and Parquet datasets, progress crosses the process boundary, a scoring error comes
//! back with its message, a dropped job ends its worker, and a killed worker (or one past its
//! memory limit) fails its job with a reason instead of taking the caller down.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ingot_artifacts::ArtifactStore;
use ingot_replicas::ProcessTransforms;
use ingot_serve::batch_transform::{score_spec, TransformRunner, TransformSpec};
use support::BIN;

/// `rows` rows of `x1,x2,y` with y a noisy function of both (a header; `y` only if `label`).
fn table_csv(rows: usize, label: bool) -> String {
    let mut csv = String::from(if label { "x1,x2,y\n" } else { "x1,x2\n" });
    for i in 0..rows {
        let x1 = (i * 37 % 1000) as f64 / 100.0;
        let x2 = (i * 53 % 710) as f64 / 71.0 - 5.0;
        if label {
            let y = u8::from(x1 - x2 + if i % 13 == 0 { 4.0 } else { 0.0 } > 3.0);
            csv.push_str(&format!("{x1},{x2},{y}\n"));
        } else {
            csv.push_str(&format!("{x1},{x2}\n"));
        }
    }
    csv
}

/// A home with an artifact store, a trained GBDT classifier in it, and worker directories.
struct Home {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: ArtifactStore,
    model: String,
}

impl Home {
    async fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        std::fs::write(path.join("train.csv"), table_csv(400, true)).unwrap();
        let out = path.join("model.ingot");
        let output = Command::new(BIN)
            .args(["train", "--local", "--file", "train.csv", "--target", "y"])
            .args(["--algorithm", "gbdt", "--hp", "num_trees=60"])
            .args(["--out", out.to_str().unwrap()])
            .current_dir(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let store = ArtifactStore::open(path.join("artifacts").to_str().unwrap()).unwrap();
        let model = store
            .put(Bytes::from(std::fs::read(&out).unwrap()))
            .await
            .unwrap()
            .digest;
        Home {
            _dir: dir,
            path,
            store,
            model,
        }
    }

    fn runner(&self) -> ProcessTransforms {
        let artifacts = self.path.join("artifacts").display().to_string();
        ProcessTransforms::new(BIN, self.path.join("run/transforms"), artifacts).unwrap()
    }

    /// Stores a dataset file; the spec scoring it with the home's model (with the file's
    /// inferred schema, as a dataset version has it).
    async fn spec(&self, file: Vec<u8>, format: &str) -> TransformSpec {
        let parsed: ingot_data::DataFormat = format.parse().unwrap();
        let schema = ingot_data::read_table(&file, parsed).unwrap().schema;
        let stored = self.store.put(Bytes::from(file)).await.unwrap();
        TransformSpec {
            model_artifact: self.model.clone(),
            dataset_artifact: stored.digest,
            format: format.into(),
            workers: 2,
            join_input: true,
            dataset_schema: Some(schema),
            memory_limit_mib: None,
        }
    }

    /// What scoring `spec` in this process gives.
    async fn in_process(&self, spec: &TransformSpec) -> (Vec<u8>, usize) {
        let model = self.store.get(&spec.model_artifact).await.unwrap();
        let dataset = self.store.get(&spec.dataset_artifact).await.unwrap();
        score_spec(
            spec,
            &model,
            dataset,
            &AtomicU64::new(0),
            &AtomicBool::new(false),
        )
        .unwrap()
    }

    /// Files left in the workers' output directory.
    fn leftovers(&self) -> usize {
        std::fs::read_dir(self.path.join("run/transforms"))
            .map(|entries| entries.count())
            .unwrap_or(0)
    }
}

fn parquet_of(csv: &str) -> Vec<u8> {
    let table = ingot_data::read_table(csv.as_bytes(), ingot_data::DataFormat::Csv).unwrap();
    ingot_data::write_parquet(&table.batch).unwrap()
}

/// The rows of a two-column CSV as JSON Lines objects.
fn jsonl_of(csv: &str) -> Vec<u8> {
    csv.lines()
        .skip(1)
        .map(|line| {
            let (x1, x2) = line.split_once(',').unwrap();
            format!("{{\"x1\": {x1}, \"x2\": {x2}}}\n")
        })
        .collect::<String>()
        .into_bytes()
}

fn decoded(parquet: Vec<u8>) -> ingot_data::RecordBatch {
    ingot_data::read_table_bytes(Bytes::from(parquet), ingot_data::DataFormat::Parquet)
        .unwrap()
        .batch
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_process_scores_exactly_as_this_process_does() {
    let home = Home::new().await;
    let runner = home.runner();
    // 70,000 rows of CSV, JSON Lines or Parquet take two slices (65,536 rows each at most).
    let cases = [
        (table_csv(500, false).into_bytes(), "csv"),
        (table_csv(70_000, false).into_bytes(), "csv"),
        (jsonl_of(&table_csv(70_000, false)), "jsonl"),
        (parquet_of(&table_csv(70_000, false)), "parquet"),
    ];
    for (file, format) in cases {
        let spec = home.spec(file, format).await;
        let done = AtomicU64::new(0);
        let (parquet, rows) = runner.run(spec.clone(), &done).await.unwrap();
        let (expected, expected_rows) = home.in_process(&spec).await;
        assert_eq!(rows, expected_rows, "{format}");
        assert_eq!(done.load(Ordering::Relaxed), rows as u64, "{format}");
        let (ours, theirs) = (decoded(parquet), decoded(expected));
        assert_eq!(ours.schema(), theirs.schema(), "{format}");
        assert_eq!(ours.columns(), theirs.columns(), "{format}");
        assert!(ours.schema().index_of("probability_1").is_ok(), "{format}");
    }
    assert_eq!(home.leftovers(), 0, "output files are removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoring_error_in_the_worker_comes_back_with_its_message() {
    let home = Home::new().await;
    let spec = home.spec(b"x1,z\n1,2\n".to_vec(), "csv").await;
    let error = home
        .runner()
        .run(spec, &AtomicU64::new(0))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("missing column \"x2\""),
        "{error}"
    );
    assert_eq!(home.leftovers(), 0);
}

/// The pid of this process's `transform-worker` child, if one runs.
fn worker_pid() -> Option<u32> {
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Field 4 is the parent pid; the command name (field 2) may hold spaces, so count
        // from its closing parenthesis.
        let after_name = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
        let parent = after_name.split(' ').nth(1);
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if parent == Some(me.as_str()) && cmdline.windows(16).any(|w| w == b"transform-worker") {
            return Some(pid);
        }
    }
    None
}

/// Starts `spec` on a worker and waits until its progress crosses the process boundary.
async fn started(
    home: &Home,
    spec: &TransformSpec,
) -> tokio::task::JoinHandle<ingot_serve::Result<(Vec<u8>, usize)>> {
    let done = Arc::new(AtomicU64::new(0));
    let running = {
        let (runner, done, spec) = (home.runner(), done.clone(), spec.clone());
        tokio::spawn(async move { runner.run(spec, &done).await })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::Relaxed) == 0 {
        assert!(!running.is_finished(), "the job ended before any progress");
        assert!(Instant::now() < deadline, "no progress from the worker");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_or_killed_worker_ends_its_job() {
    let home = Home::new().await;
    // Large enough that scoring outlasts the first progress report (200 ms).
    let spec = home
        .spec(parquet_of(&table_csv(2_000_000, false)), "parquet")
        .await;

    // Dropping the job (how a stopped job ends) ends its worker.
    let running = started(&home, &spec).await;
    let pid = worker_pid().expect("a running transform worker");
    running.abort();
    let deadline = Instant::now() + Duration::from_secs(10);
    while worker_pid().is_some() {
        assert!(Instant::now() < deadline, "worker {pid} outlived its job");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A worker killed mid-job (as the kernel does when memory runs out) fails the job.
    let running = started(&home, &spec).await;
    let pid = worker_pid().expect("a running transform worker");
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let error = running.await.unwrap().unwrap_err();
    assert!(error.to_string().contains("killed (SIGKILL"), "{error}");
    assert!(worker_pid().is_none(), "the killed worker {pid} was reaped");
    assert_eq!(home.leftovers(), 0);

    // A worker past its memory limit is stopped, and the job says so. Scoring these 2M rows
    // holds the file, a slice and the growing output: 66–96 MiB at its peak.
    let limited = home.runner().with_memory_limit_mib(Some(32));
    let error = limited
        .run(spec.clone(), &AtomicU64::new(0))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("the transform worker exceeded its memory limit of 32 MiB (resident "),
        "{message}"
    );
    assert!(worker_pid().is_none(), "the stopped worker was reaped");
    assert_eq!(home.leftovers(), 0);
    // A job's own limit applies on a runner without one...
    let mut own = spec.clone();
    own.memory_limit_mib = Some(32);
    let error = home
        .runner()
        .run(own, &AtomicU64::new(0))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string().split(" (resident").next(),
        message.split(" (resident").next()
    );
    // ...and overrides the runner's: with room enough the job completes.
    let mut roomy = spec;
    roomy.memory_limit_mib = Some(64 * 1024);
    let (_, rows) = limited.run(roomy, &AtomicU64::new(0)).await.unwrap();
    assert_eq!(rows, 2_000_000);
}
