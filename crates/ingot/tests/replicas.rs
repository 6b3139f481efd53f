//! Endpoint replicas as child processes (`ingot_replicas`) with the real `ingot replica` child:
//! answers byte-identical to the in-process pool, a SIGKILLed replica restarted while its
//! requests are retried once, scale-in without dropped requests, scale to zero and cold start,
//! multi-model targets, and children that exit when their parent goes away.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ingot_artifacts::ArtifactStore;
use ingot_core::endpoint_config::MultiModelConfig;
use ingot_replicas::{ArtifactSource, ProcessFactory, ProcessPool};
use ingot_serve::{
    InProcessFactory, InvokeRequest, PoolFactory, Protocol, ReplicaPool, ReplicaSpec, ResolvedModel,
};
use support::BIN;

/// A small binary-classification table with a categorical column.
fn training_csv() -> String {
    let mut csv = String::from("x1,x2,color,y\n");
    for i in 0..240u32 {
        let x1 = f64::from(i * 37 % 100) / 10.0;
        let x2 = f64::from((i * 53) % 71) / 7.0 - 5.0;
        let color = ["red", "green", "blue"][i as usize % 3];
        let bonus = if color == "red" { 2.0 } else { 0.0 };
        let mut y = u8::from(x1 - x2 + bonus > 3.0);
        if i % 13 == 0 {
            y = 1 - y;
        }
        csv.push_str(&format!("{x1},{x2},{color},{y}\n"));
    }
    csv
}

/// A home with a training file, an artifact store and a runtime directory.
struct Home {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: ArtifactStore,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        std::fs::write(path.join("train.csv"), training_csv()).unwrap();
        let store = ArtifactStore::open(path.join("artifacts").to_str().unwrap()).unwrap();
        Home {
            _dir: dir,
            path,
            store,
        }
    }

    fn artifacts(&self) -> String {
        self.path.join("artifacts").display().to_string()
    }

    /// Trains with `ingot train --local` and stores the model file.
    async fn model(&self, name: &str, algorithm: &str, hps: &[&str]) -> ResolvedModel {
        let out = self.path.join(format!("{name}.ingot"));
        let mut args = vec!["train", "--local", "--file", "train.csv", "--target", "y"];
        args.extend(["--algorithm", algorithm, "--out", out.to_str().unwrap()]);
        for hp in hps {
            args.extend(["--hp", hp]);
        }
        let output = Command::new(BIN)
            .args(&args)
            .current_dir(&self.path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        let stored = self.store.put(Bytes::from(bytes)).await.unwrap();
        ResolvedModel {
            model: name.to_string(),
            version: 1,
            artifact_hash: stored.digest,
            size_bytes: stored.size,
        }
    }

    fn factory(&self) -> ProcessFactory {
        ProcessFactory::new(BIN, self.path.join("run/replicas"), self.artifacts())
            .unwrap()
            .with_start_timeout(Duration::from_secs(30))
    }

    async fn in_process(&self, spec: &ReplicaSpec) -> Arc<dyn ReplicaPool> {
        let source = Arc::new(ArtifactSource(self.store.clone()));
        InProcessFactory
            .create(spec.clone(), 1, source)
            .await
            .unwrap()
    }
}

fn spec(steps: Vec<ResolvedModel>, multi_model: Option<MultiModelConfig>) -> ReplicaSpec {
    ReplicaSpec {
        endpoint: "scores".into(),
        variant: "main".into(),
        steps,
        multi_model,
        batching: None,
        explain_background: None,
        memory_limit_mib: None,
    }
}

fn request(body: &str, content_type: Option<&str>, accept: Option<&str>) -> InvokeRequest {
    InvokeRequest {
        body: Bytes::from(body.to_string()),
        content_type: content_type.map(str::to_string),
        accept: accept.map(str::to_string),
        protocol: Protocol::Invocations,
        target: None,
        endpoint: "scores".into(),
        request_id: "req-1".into(),
        explain: false,
    }
}

fn oip(body: &str) -> InvokeRequest {
    InvokeRequest {
        protocol: Protocol::Oip,
        ..request(body, None, None)
    }
}

const CSV_ROWS: &str = "1.5,-2.0,red\n7.25,3.5,blue\n";
const OIP_BODY: &str = r#"{"id":"abc","inputs":[
    {"name":"x1","shape":[2],"datatype":"FP64","data":[1.5,7.25]},
    {"name":"x2","shape":[2],"datatype":"FP64","data":[-2.0,3.5]},
    {"name":"color","shape":[2],"datatype":"BYTES","data":["red","blue"]}]}"#;

/// The request shapes compared between the two pools.
fn cases() -> Vec<(&'static str, InvokeRequest)> {
    vec![
        ("csv", request(CSV_ROWS, Some("text/csv"), None)),
        (
            "csv with header, JSON answer",
            request(
                "color,x2,x1\nred,-2.0,1.5\n",
                Some("text/csv; header=present"),
                Some("application/json"),
            ),
        ),
        (
            "json instances",
            request(
                r#"{"instances":[[1.5,-2.0,"red"],[7.25,3.5,"blue"]]}"#,
                Some("application/json"),
                None,
            ),
        ),
        (
            "json records, CSV answer",
            request(
                r#"[{"x1":1.5,"x2":-2.0,"color":"red"}]"#,
                Some("application/json"),
                Some("text/csv"),
            ),
        ),
        (
            "dataframe_split",
            request(
                r#"{"dataframe_split":{"columns":["x1","x2","color"],"data":[[1.5,-2.0,"red"]]}}"#,
                Some("application/json"),
                None,
            ),
        ),
        (
            "json lines",
            request(
                "{\"x1\":1.5,\"x2\":-2.0,\"color\":\"red\"}\n{\"x1\":7.25,\"x2\":3.5,\"color\":\"blue\"}\n",
                Some("application/jsonlines"),
                None,
            ),
        ),
        ("oip", oip(OIP_BODY)),
    ]
}

async fn eventually(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kill9(pid: u32) {
    signal(pid, "9");
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn child_replicas_answer_exactly_like_the_in_process_pool() {
    let home = Home::new();
    let model = home.model("churn", "linear-learner", &[]).await;
    let spec = spec(vec![model], None);
    let local = home.in_process(&spec).await;
    let pool = home.factory().start_pool(spec, 2).await.unwrap();
    eventually("two replicas", Duration::from_secs(30), || {
        pool.healthy() == 2
    })
    .await;
    assert_eq!(pool.replicas(), 2);
    assert_eq!(pool.loaded_models(), 2, "one fixed model per replica");

    for (case, request) in cases() {
        let want = local.invoke(request.clone()).await.unwrap();
        // Several times, so both replicas answer.
        for _ in 0..4 {
            let got = pool.invoke(request.clone()).await.unwrap();
            assert_eq!(got.body, want.body, "{case}");
            assert_eq!(got.content_type, want.content_type, "{case}");
            assert_eq!((got.model.as_str(), got.version), ("churn", 1), "{case}");
        }
    }

    let bad = [
        request("1.5,oops,red\n", Some("text/csv"), None),
        request("{\"instances\": 3}", Some("application/json"), None),
        request(CSV_ROWS, Some("application/xml"), None),
        request(CSV_ROWS, Some("text/csv"), Some("image/png")),
        oip("{\"inputs\": []}"),
    ];
    for request in bad {
        let want = local.invoke(request.clone()).await.unwrap_err();
        let got = pool.invoke(request.clone()).await.unwrap_err();
        assert_eq!(got.status(), want.status(), "{want}");
        assert!((400..500).contains(&got.status()), "{got}");
        assert_eq!(got.code(), want.code(), "{want}");
        assert_eq!(got.to_string(), want.to_string());
    }
    assert_eq!(pool.retries(), 0, "model errors are never retried");
    assert_eq!(pool.restarts(), 0);
    assert_eq!(pool.in_flight(), 0);

    let pids = pool.pids();
    let dir = pool.socket_dir().to_path_buf();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dir).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700, "the socket directory is private");
    pool.shutdown().await;
    assert_eq!(pool.replicas(), 0);
    for pid in pids {
        assert!(!alive(pid), "replica {pid} still running after shutdown");
    }
    assert!(!dir.exists(), "socket directory removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_that_cannot_load_its_model_fails_creation_with_its_stderr() {
    let home = Home::new();
    let missing = ResolvedModel {
        model: "ghost".into(),
        version: 1,
        artifact_hash: "0".repeat(64),
        size_bytes: 10,
    };
    let error = home
        .factory()
        .start_pool(spec(vec![missing], None), 1)
        .await
        .err()
        .expect("start fails");
    let message = error.to_string();
    assert_eq!(error.status(), 503, "{message}");
    assert!(message.contains("not found"), "{message}");
}

/// Runs `tasks` concurrent streams of `per_task` CSV requests; every one must succeed. Calls
/// `during` once `trigger` requests have completed.
async fn steady_load(
    pool: &Arc<ProcessPool>,
    tasks: usize,
    per_task: usize,
    trigger: u64,
    during: impl FnOnce() + Send + 'static,
) {
    let done = Arc::new(AtomicU64::new(0));
    let expected = {
        let request = request(CSV_ROWS, Some("text/csv"), None);
        pool.invoke(request).await.unwrap().body
    };
    let mut handles = Vec::new();
    for task in 0..tasks {
        let pool = pool.clone();
        let done = done.clone();
        let expected = expected.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                let mut request = request(CSV_ROWS, Some("text/csv"), None);
                request.request_id = format!("t{task}-{i}");
                let answer = pool.invoke(request).await;
                let answer = answer.unwrap_or_else(|e| panic!("request t{task}-{i} failed: {e}"));
                assert_eq!(answer.body, expected);
                done.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let watcher = {
        let done = done.clone();
        tokio::spawn(async move {
            while done.load(Ordering::SeqCst) < trigger {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            during();
        })
    };
    for handle in handles {
        handle.await.unwrap();
    }
    watcher.await.unwrap();
    assert_eq!(done.load(Ordering::SeqCst), (tasks * per_task) as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_replica_is_restarted_and_its_requests_retried_once() {
    let home = Home::new();
    let model = home.model("churn", "linear-learner", &[]).await;
    let pool = Arc::new(
        home.factory()
            .start_pool(spec(vec![model], None), 2)
            .await
            .unwrap(),
    );
    eventually("two replicas", Duration::from_secs(30), || {
        pool.healthy() == 2
    })
    .await;
    let victim = pool.pids()[0];

    steady_load(&pool, 8, 300, 600, move || kill9(victim)).await;

    eventually("the restart", Duration::from_secs(30), || {
        pool.restarts() == 1 && pool.healthy() == 2
    })
    .await;
    assert!(!pool.pids().contains(&victim), "{:?}", pool.pids());
    assert!(!alive(victim));
    assert_eq!(pool.replicas(), 2);
    // Each request retries at most once (a second failure would have failed the request);
    // only requests already sent to the dead replica are retried.
    let retries = pool.retries();
    assert!(retries <= 8, "{retries} retries for 8 concurrent streams");
    eprintln!("retried requests after kill -9: {retries}");

    // With a single replica, a request waits for its restart.
    pool.scale(1).await.unwrap();
    eventually("one replica", Duration::from_secs(30), || {
        pool.pids().len() == 1
    })
    .await;
    kill9(pool.pids()[0]);
    pool.invoke(request(CSV_ROWS, Some("text/csv"), None))
        .await
        .unwrap();
    eventually("the second restart", Duration::from_secs(30), || {
        pool.restarts() == 2 && pool.healthy() == 1
    })
    .await;
    pool.shutdown().await;
}

/// `rows` rows of the model's inputs as headerless CSV.
fn many_rows(rows: usize) -> String {
    let mut csv = String::with_capacity(rows * 16);
    for i in 0..rows {
        let color = ["red", "green", "blue"][i % 3];
        csv.push_str(&format!("{}.5,{}.25,{color}\n", i % 10, i % 7));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_past_its_memory_limit_is_stopped_and_restarted() {
    const MIB: u64 = 1024 * 1024;
    let home = Home::new();
    let model = home.model("churn", "linear-learner", &[]).await;
    let factory = home.factory();

    // No process fits in 1 MiB: the first start fails and says why.
    let mut tiny = spec(vec![model.clone()], None);
    tiny.memory_limit_mib = Some(1);
    let error = factory.start_pool(tiny, 1).await.err().unwrap();
    let message = error.to_string();
    assert_eq!(error.status(), 503, "{message}");
    assert!(
        message.contains("exceeded its memory limit of 1 MiB (resident "),
        "{message}"
    );

    // Room for a replica at rest and small requests, not for a 2M-row request.
    let unlimited = factory
        .start_pool(spec(vec![model.clone()], None), 1)
        .await
        .unwrap();
    let idle = ingot_replicas::memory::resident_bytes(unlimited.pids()[0]).unwrap();
    // Under memory pressure the kernel picks a replica before the server.
    let adj = std::fs::read_to_string(format!("/proc/{}/oom_score_adj", unlimited.pids()[0]));
    assert_eq!(adj.unwrap().trim(), "500");
    unlimited.shutdown().await;
    let mut limited = spec(vec![model], None);
    limited.memory_limit_mib = Some(idle / MIB + 48);
    let pool = factory.start_pool(limited, 1).await.unwrap();
    let small = || request(CSV_ROWS, Some("text/csv"), None);
    let expected = pool.invoke(small()).await.unwrap().body;

    let huge = request(&many_rows(2_000_000), Some("text/csv"), None);
    let error = pool.invoke(huge).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("exceeded its memory limit of"),
        "{message}"
    );
    eventually("the restart", Duration::from_secs(30), || {
        pool.restarts() >= 1 && pool.healthy() == 1
    })
    .await;
    assert_eq!(pool.invoke(small()).await.unwrap().body, expected);
    pool.shutdown().await;
}

fn signal(pid: u32, name: &str) {
    assert!(pid > 1, "refusing to signal pid {pid}");
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_that_stops_answering_times_out_and_is_replaced() {
    let home = Home::new();
    let model = home.model("churn", "linear-learner", &[]).await;
    let pool = home
        .factory()
        .start_pool(spec(vec![model], None), 1)
        .await
        .unwrap();
    let small = || request(CSV_ROWS, Some("text/csv"), None);
    let expected = pool.invoke(small()).await.unwrap().body;
    let frozen = pool.pids()[0];
    // A hung model, as far as the front can tell.
    signal(frozen, "STOP");
    let started = std::time::Instant::now();
    let error = pool
        .invoke_within(small(), Duration::from_secs(1))
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert_eq!(error.status(), 504, "{error}");
    assert_eq!(
        error.to_string(),
        "scores/main did not answer within 1 s (the endpoint's invocation_timeout_secs)"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // Its health check gets no answer either: it is killed and replaced.
    eventually("the replacement", Duration::from_secs(30), || {
        pool.restarts() == 1 && pool.healthy() == 1
    })
    .await;
    assert!(!pool.pids().contains(&frozen));
    assert!(!alive(frozen));
    let answer = pool.invoke_within(small(), Duration::from_secs(30)).await;
    assert_eq!(answer.unwrap().body, expected);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scale_in_under_load_drops_no_request() {
    let home = Home::new();
    let model = home.model("churn", "linear-learner", &[]).await;
    let pool = Arc::new(
        home.factory()
            .start_pool(spec(vec![model], None), 3)
            .await
            .unwrap(),
    );
    eventually("three replicas", Duration::from_secs(30), || {
        pool.healthy() == 3
    })
    .await;
    let scaler = pool.clone();
    let handle = tokio::runtime::Handle::current();
    steady_load(&pool, 8, 200, 300, move || {
        handle.spawn(async move { scaler.scale(1).await.unwrap() });
    })
    .await;
    eventually("one replica left", Duration::from_secs(30), || {
        pool.pids().len() == 1
    })
    .await;
    assert_eq!(pool.replicas(), 1);
    assert_eq!(pool.retries(), 0, "drained replicas never failed a request");
    assert_eq!(pool.restarts(), 0, "stopping is not crashing");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scaled_to_zero_a_request_cold_starts_one_replica() {
    let home = Home::new();
    let model = home.model("churn", "linear-learner", &[]).await;
    let spec_one = spec(vec![model], None);
    let want = home
        .in_process(&spec_one)
        .await
        .invoke(request(CSV_ROWS, Some("text/csv"), None))
        .await
        .unwrap();
    let pool = home.factory().start_pool(spec_one, 2).await.unwrap();
    let old = pool.pids();
    pool.scale(0).await.unwrap();
    assert_eq!(pool.replicas(), 0);
    eventually("all stopped", Duration::from_secs(10), || {
        pool.pids().is_empty() && old.iter().all(|pid| !alive(*pid))
    })
    .await;
    assert_eq!(pool.loaded_models(), 0);

    let started = Instant::now();
    let answer = pool
        .invoke(request(CSV_ROWS, Some("text/csv"), None))
        .await
        .unwrap();
    eprintln!("cold start + first request: {:?}", started.elapsed());
    assert_eq!(answer.body, want.body);
    assert_eq!(pool.replicas(), 1);
    assert_eq!(pool.pids().len(), 1);
    assert_eq!(pool.restarts(), 0);
    pool.shutdown().await;

    // Created empty, the pool also starts on first use.
    let model = home.model("churn2", "linear-learner", &["l2=0.5"]).await;
    let pool = home
        .factory()
        .start_pool(spec(vec![model], None), 0)
        .await
        .unwrap();
    assert_eq!((pool.replicas(), pool.pids().len()), (0, 0));
    pool.ready().await.unwrap();
    assert_eq!(pool.replicas(), 1);
    // Dropped without `shutdown`, the pool still ends its children.
    let pid = pool.pids()[0];
    drop(pool);
    eventually("the orphan's end", Duration::from_secs(10), || !alive(pid)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multi_model_targets_are_served_by_the_child() {
    let home = Home::new();
    let linear = home.model("m-linear", "linear-learner", &[]).await;
    let trees = home.model("m-trees", "gbdt", &["num_iterations=5"]).await;
    // Room for the bigger model only, so switching models evicts.
    let budget = linear.size_bytes.max(trees.size_bytes);
    let multi = MultiModelConfig {
        model_prefix: "m-".into(),
        memory_budget_bytes: budget,
    };
    let spec = spec(Vec::new(), Some(multi));
    let local = home.in_process(&spec).await;
    let pool = home.factory().start_pool(spec, 1).await.unwrap();
    assert_eq!(pool.loaded_models(), 0, "multi-model replicas start empty");

    for target in [&linear, &trees, &linear, &linear] {
        for (case, mut request) in cases() {
            request.target = Some(target.clone());
            let want = local.invoke(request.clone()).await.unwrap();
            let got = pool.invoke(request).await.unwrap();
            assert_eq!(got.body, want.body, "{case} on {}", target.model);
            assert_eq!(got.model, target.model);
        }
    }
    assert_eq!(pool.evictions(), local.evictions());
    assert_eq!(
        pool.evictions(),
        2,
        "trees evicted linear, linear evicted trees"
    );
    assert_eq!(pool.loaded_models(), local.loaded_models());

    let untargeted = request(CSV_ROWS, Some("text/csv"), None);
    let want = local.invoke(untargeted.clone()).await.unwrap_err();
    let got = pool.invoke(untargeted).await.unwrap_err();
    assert_eq!(
        (got.status(), got.to_string()),
        (want.status(), want.to_string())
    );
    pool.shutdown().await;
}

#[test]
fn a_replica_exits_when_its_parent_closes_stdin() {
    let home = tempfile::tempdir().unwrap();
    let spec_file = home.path().join("spec.json");
    let spec = spec(
        Vec::new(),
        Some(MultiModelConfig {
            model_prefix: String::new(),
            memory_budget_bytes: 1 << 20,
        }),
    );
    std::fs::write(&spec_file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let socket = home.path().join("r.sock");
    let mut child = Command::new(BIN)
        .arg("replica")
        .arg("--socket")
        .arg(&socket)
        .arg("--spec")
        .arg(&spec_file)
        .arg("--artifacts")
        .arg(home.path().join("artifacts"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "READY");
    assert!(socket.exists());
    assert!(child.try_wait().unwrap().is_none(), "still serving");
    // What a dying parent does: its end of the pipe closes.
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "replica outlived its parent");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
    assert!(!socket.exists(), "socket removed on exit");
}
