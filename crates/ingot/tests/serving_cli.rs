//! The serving commands through the real CLI and server: `ingot deploy` with capture and
//! replica flags, `ingot endpoint update` moving weights and adding a shadow, `ingot endpoint
//! show` with live numbers, invoke keys, multi-model deploys, `ingot transform` (submit,
//! list, show, stop), the invocation timeout of a replica that stops answering, and the
//! autoscaling and concurrency-cap flags with the scaling history `endpoint show` prints.

mod support;

use serde_json::{json, Value};
use support::Server;

fn invoke(server: &Server, endpoint: &str, token: &str, body: &str) -> (u16, String, String) {
    let url = format!("{}/endpoints/{endpoint}/invocations", server.url);
    let (token, body) = (token.to_string(), body.to_string());
    support::block_on(invoke_async(url, token, body, None))
}

async fn invoke_async(
    url: String,
    token: String,
    body: String,
    target_model: Option<&str>,
) -> (u16, String, String) {
    let mut request = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body);
    if let Some(target) = target_model {
        request = request.header("x-ingot-target-model", target);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let answered_by = if target_model.is_some() {
        header("x-ingot-model")
    } else {
        header("x-ingot-variant")
    };
    (status, answered_by, response.text().await.unwrap())
}

#[test]
fn deploy_update_show_keys_and_transform_through_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path());
    server.upload_shapes();
    for l2 in ["0", "1"] {
        server.train_on_shapes("shapes", &["--hp", &format!("l2={l2}")]);
    }
    let admin = server.admin_token();

    let endpoint = server.json(&[
        "deploy",
        "shapes:1",
        "--endpoint",
        "churn",
        "--capture-percent",
        "100",
        "--max-replicas",
        "2",
        "--memory-limit-mib",
        "2048",
        "--wait",
    ]);
    assert_eq!(endpoint["status"], "InService", "{endpoint}");
    assert_eq!(endpoint["config"]["data_capture"]["sample_percent"], 100.0);
    assert_eq!(endpoint["config"]["variants"][0]["max_replicas"], 2);
    assert_eq!(endpoint["config"]["variants"][0]["memory_limit_mib"], 2048);
    // The replica's resident memory is shown beside its limit.
    let live = server.json(&["endpoint", "show", "churn"]);
    let resident = live["variants"][0]["resident_bytes"].as_u64().unwrap();
    assert!((1 << 20..2048 << 20).contains(&resident), "{live}");
    let shown = server.ok(&["endpoint", "show", "churn"]);
    let row = shown.lines().find(|l| l.starts_with("primary")).unwrap();
    assert!(
        row.contains(" MiB (limit 2048 MiB each)") && shown.contains("MEMORY"),
        "{shown}"
    );

    // Canary: 0 % then 100 % to version 2, plus a shadow; every answer comes from a
    // production variant.
    server.ok(&[
        "endpoint",
        "update",
        "churn",
        "--variant",
        "blue=shapes:1,weight=1",
        "--variant",
        "green=shapes:2,weight=0",
    ]);
    for _ in 0..20 {
        let (status, variant, _) = invoke(&server, "churn", &admin, "1.5,red\n");
        assert_eq!((status, variant.as_str()), (200, "blue"));
    }
    server.ok(&[
        "endpoint",
        "update",
        "churn",
        "--variant",
        "green=shapes:2",
        "--shadow",
        "blue=shapes:1",
    ]);
    for _ in 0..20 {
        let (status, variant, _) = invoke(&server, "churn", &admin, "1.5,red\n");
        assert_eq!((status, variant.as_str()), (200, "green"));
    }
    let shown = server.ok(&["endpoint", "show", "churn"]);
    assert!(shown.contains("green"), "{shown}");
    assert!(shown.contains("blue (shadow)"), "{shown}");
    assert!(shown.contains("data capture 100%"), "{shown}");
    let live = server.json(&["endpoint", "show", "churn"]);
    let green = live["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variant"] == "green")
        .cloned()
        .unwrap();
    assert_eq!(green["invocations"], 20, "{live}");
    // Latency percentiles come from the histograms: ordered, and the table shows them.
    let p50 = green["model_latency_p50_us"].as_f64().unwrap();
    let p99 = green["model_latency_p99_us"].as_f64().unwrap();
    assert!(0.0 < p50 && p50 <= p99, "{green}");
    assert!(green["overhead_latency_p99_us"].as_f64().unwrap() > 0.0);
    assert!(shown.contains("MODEL P50 / P99"), "{shown}");
    let green_row = shown.lines().find(|l| l.starts_with("green")).unwrap();
    assert!(
        green_row.matches(" / ").count() >= 2 && !green_row.contains(" - "),
        "{green_row}"
    );
    // The histograms behind them: every answer in one bucket of each, and plotted under the
    // table with a count per bucket that adds up to the answers.
    for key in ["model_latency_buckets", "overhead_latency_buckets"] {
        let counted: u64 = green[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        assert_eq!(counted, 20, "{key}: {green}");
    }
    let plot: Vec<&str> = shown
        .lines()
        .skip_while(|l| *l != "latency of green (20 answers)")
        .skip(2)
        .take_while(|l| l.starts_with("  ≤ ") || l.starts_with("  > "))
        .collect();
    assert!(!plot.is_empty(), "{shown}");
    let model_counts: u64 = plot
        .iter()
        .filter_map(|l| {
            // The model column, after the 12-character label: a bar, then its count.
            let model: String = l.chars().skip(12).take(34).collect();
            model.split_whitespace().last()?.parse::<u64>().ok()
        })
        .sum();
    assert_eq!(model_counts, 20, "{plot:#?}");

    // Keys: a key opens this endpoint only.
    let key = server.json(&["endpoint", "keys", "create", "churn", "webapp"]);
    let secret = key["key"].as_str().unwrap().to_string();
    assert_eq!(invoke(&server, "churn", &secret, "1.5,red\n").0, 200);
    server.ok(&["deploy", "shapes:1", "--endpoint", "other", "--wait"]);
    assert_eq!(invoke(&server, "other", &secret, "1.5,red\n").0, 401);
    let listed = server.json(&["endpoint", "keys", "list", "churn"]);
    assert_eq!(listed[0]["name"], "webapp");
    server.ok(&[
        "endpoint",
        "keys",
        "revoke",
        "churn",
        key["id"].as_str().unwrap(),
    ]);
    assert_eq!(invoke(&server, "churn", &secret, "1.5,red\n").0, 401);

    // A bad variant spec is a CLI error naming the option.
    let bad = server.cli(&[
        "endpoint",
        "update",
        "churn",
        "--variant",
        "x=shapes:1,wieght=2",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("wieght"));

    // Multi-model deploy by prefix.
    server.ok(&[
        "deploy",
        "--endpoint",
        "tenants",
        "--multi-model-prefix",
        "sha",
        "--wait",
    ]);
    let url = format!("{}/endpoints/tenants/invocations", server.url);
    let admin_copy = admin.clone();
    let (status, model, _) = support::block_on(invoke_async(
        url,
        admin_copy,
        "1.5,red\n".into(),
        Some("shapes:2"),
    ));
    assert_eq!((status, model.as_str()), (200, "shapes:2"));

    // `ingot transform` of dataset shapes by shapes:2 into `output`, with more flags.
    let transform = |output: &'static str, flags: &[&'static str]| -> Vec<&'static str> {
        let base = [
            "transform",
            "--model",
            "shapes:2",
            "--dataset",
            "shapes",
            "--output-dataset",
            output,
        ];
        [&base[..], flags].concat()
    };

    // Without --wait, the job is reported as started, with nothing scored yet.
    let started = server.ok(&transform("scored-later", &[]));
    assert!(started.contains("scored 0 of 300 rows so far"), "{started}");
    assert!(
        started.contains("follow with: ingot transform show "),
        "{started}"
    );
    // ... and can be followed later by its id, until it ends.
    let id = started
        .split_whitespace()
        .nth(2)
        .and_then(|id| id.strip_suffix(':'))
        .unwrap_or_else(|| panic!("no job id in {started:?}"))
        .to_string();
    let later = server.json(&["transform", "show", &id, "--wait"]);
    assert_eq!(
        (&later["status"], &later["rows"]),
        (&json!("Completed"), &json!(300))
    );
    assert_eq!(later["output_dataset"], "scored-later");
    let shown = server.ok(&["transform", "show", &id]);
    assert!(
        shown.contains("wrote 300 rows to dataset scored-later:1"),
        "{shown}"
    );
    let listed = server.json(&["transform", "list"]);
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    let table = server.ok(&["transform", "list"]);
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains("scored-later:1") && table.contains("shapes:2"),
        "{table}"
    );
    let stop = server.cli(&["transform", "stop", &id]);
    let said = String::from_utf8_lossy(&stop.stderr);
    assert!(
        !stop.status.success() && said.contains("is already Completed"),
        "{said}"
    );
    let unknown = server.cli(&["transform", "show", "no-such-job"]);
    assert!(!unknown.status.success());
    let missing = server.cli(&["transform", "--model", "shapes:2"]);
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("--dataset, --output-dataset"), "{said}");

    // A job's own memory limit: no worker fits in 1 MiB, so the job fails and says why.
    let tight = server.cli(&transform(
        "scored-tight",
        &["--memory-limit-mib", "1", "--wait"],
    ));
    let said = String::from_utf8_lossy(&tight.stdout);
    assert!(!tight.status.success(), "{said}");
    assert!(said.contains("memory limit 1 MiB"), "{said}");
    assert!(
        said.contains("reason the transform worker exceeded its memory limit of 1 MiB"),
        "{said}"
    );
    let zero = server.cli(&transform("scored-tight", &["--memory-limit-mib", "0"]));
    let said = String::from_utf8_lossy(&zero.stderr);
    assert!(
        said.contains("memory_limit_mib must be between 1 and"),
        "{said}"
    );

    // Batch transform with the input joined.
    let job = server.json(&transform("scored", &["--join-input", "--wait"]));
    assert_eq!(job["status"], "Completed", "{job}");
    assert_eq!(job["rows"], 300);
    let scored: Value = server.json(&["dataset", "show", "scored"]);
    let columns: Vec<&str> = scored["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "x",
            "colour",
            "y",
            "predicted_label",
            "probability_0",
            "probability_1"
        ]
    );
}

#[test]
fn a_replica_that_stops_answering_gets_a_504_and_is_replaced() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path());
    server.train_shapes("shapes");
    let admin = server.admin_token();
    let endpoint = server.json(&[
        "deploy",
        "shapes",
        "--endpoint",
        "slow",
        "--invocation-timeout-secs",
        "1",
        "--wait",
    ]);
    assert_eq!(
        endpoint["config"]["invocation_timeout_secs"], 1,
        "{endpoint}"
    );
    let shown = server.ok(&["endpoint", "show", "slow"]);
    assert!(shown.contains("invocation timeout 1 s"), "{shown}");
    let (status, _, expected) = invoke(&server, "slow", &admin, "1.5,red\n");
    assert_eq!(status, 200, "{expected}");

    let replicas = server.replica_pids();
    assert_eq!(replicas.len(), 1, "{replicas:?}");
    let stop = std::process::Command::new("kill")
        .args(["-STOP", &replicas[0].to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    let (status, _, body) = invoke(&server, "slow", &admin, "1.5,red\n");
    assert_eq!(status, 504, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "timeout", "{body}");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("slow/primary did not answer within 1 s"),
        "{body}"
    );

    // The frozen replica fails its health checks and is replaced; answers come back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, _, body) = invoke(&server, "slow", &admin, "1.5,red\n");
        if status == 200 {
            assert_eq!(body, expected);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{status} {body}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let live = server.json(&["endpoint", "show", "slow"]);
    let variant = &live["variants"][0];
    assert_eq!(variant["restarts"], 1, "{live}");
    let why = "stopped answering its health checks (pinged 3 times) and was killed";
    assert_eq!(variant["last_failure"], why, "{live}");
    let shown = server.ok(&["endpoint", "show", "slow"]);
    assert!(
        shown.contains(&format!("primary: last replica failure: {why}")),
        "{shown}"
    );
    assert!(variant["errors_5xx"].as_u64().unwrap() >= 1, "{live}");
    assert!(!server.replica_pids().contains(&replicas[0]));
}

/// `(from, to, reason)` of each kept replica-count change of an endpoint's first variant.
fn scaling_history(server: &Server, endpoint: &str) -> Vec<(u64, u64, String)> {
    let live = server.json(&["endpoint", "show", endpoint]);
    live["variants"][0]["scaling_events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| {
                    let n = |key: &str| e[key].as_u64().unwrap();
                    (
                        n("from"),
                        n("to"),
                        e["reason"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn autoscaling_the_concurrency_cap_and_the_scaling_history_through_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start_with(home.path(), &["--autoscale-interval-ms", "100"]);
    server.train_shapes("shapes");
    let admin = server.admin_token();
    let endpoint = server.json(&[
        "deploy",
        "shapes",
        "--endpoint",
        "elastic",
        "--min-replicas",
        "0",
        "--max-replicas",
        "2",
        "--target-concurrency",
        "1",
        "--scale-in-cooldown-secs",
        "1",
        "--max-concurrency",
        "25",
        "--wait",
    ]);
    assert_eq!(endpoint["config"]["max_concurrency"], 25, "{endpoint}");
    assert_eq!(
        endpoint["config"]["autoscaling"],
        json!({"metric": "concurrency_per_replica", "target_value": 1.0,
               "scale_out_cooldown_secs": 300, "scale_in_cooldown_secs": 1}),
        "{endpoint}"
    );
    // A request cold-starts a replica; a second of quiet sends the variant back to zero.
    assert_eq!(invoke(&server, "elastic", &admin, "1.5,red\n").0, 200);
    let reasons = || scaling_history(&server, "elastic");
    let started = std::time::Instant::now();
    let mut events = reasons();
    while !events.iter().any(|(from, to, _)| (*from, *to) == (1, 0))
        && started.elapsed() < std::time::Duration::from_secs(20)
    {
        std::thread::sleep(std::time::Duration::from_millis(100));
        events = reasons();
    }
    let cold = events
        .iter()
        .position(|(from, to, why)| (*from, *to) == (0, 1) && why.starts_with("cold start"))
        .unwrap_or_else(|| panic!("no cold start in {events:?}"));
    let idle = events
        .iter()
        .position(|(from, to, _)| (*from, *to) == (1, 0))
        .unwrap_or_else(|| panic!("no scale-in to zero in {events:?}"));
    assert!(cold < idle, "{events:?}");
    assert_eq!(
        events[idle].2,
        "no request for the scale-in cooldown of 1 s"
    );
    let shown = server.ok(&["endpoint", "show", "elastic"]);
    assert!(
        shown.contains(
            "autoscaling on requests in flight per replica, target 1; \
             cooldowns: scale-out 300 s, scale-in 1 s"
        ) && shown.contains("max concurrency 25 (429 throttled beyond)"),
        "{shown}"
    );
    let table: Vec<&str> = shown
        .lines()
        .skip_while(|l| *l != "scaling (newest last)")
        .collect();
    assert!(
        table
            .iter()
            .any(|l| l.contains("0 → 1") && l.contains("cold start")),
        "{shown}"
    );
    assert!(
        table
            .iter()
            .any(|l| l.contains("1 → 0") && l.contains("no request for the scale-in cooldown")),
        "{shown}"
    );

    // An update changes the target (keeping the cooldowns), batching and the timeout.
    let updated = server.json(&[
        "endpoint",
        "update",
        "elastic",
        "--target-invocations",
        "900",
        "--max-batch-size",
        "16",
        "--invocation-timeout-secs",
        "7",
        "--max-concurrency",
        "0",
    ]);
    let config = &updated["config"];
    assert_eq!(config["max_concurrency"], Value::Null, "0 removes the cap");
    assert_eq!(config["autoscaling"]["metric"], "invocations_per_replica");
    assert_eq!(config["autoscaling"]["target_value"], 900.0);
    assert_eq!(config["autoscaling"]["scale_in_cooldown_secs"], 1);
    assert_eq!(
        config["batching"],
        json!({"max_batch_size": 16, "max_delay_us": 1000})
    );
    assert_eq!(config["invocation_timeout_secs"], 7);
    assert_eq!(invoke(&server, "elastic", &admin, "1.5,red\n").0, 200);
    let updated = server.json(&[
        "endpoint",
        "update",
        "elastic",
        "--no-autoscaling",
        "--no-batching",
    ]);
    assert_eq!(updated["config"]["autoscaling"], Value::Null, "{updated}");
    assert_eq!(updated["config"]["batching"], Value::Null, "{updated}");
    assert!(server
        .ok(&["endpoint", "show", "elastic"])
        .contains("autoscaling off"));
    // A cooldown alone needs a policy to change, and one target excludes the other.
    for (flags, says) in [
        (
            &["--scale-in-cooldown-secs", "5"][..],
            "give --target-invocations",
        ),
        (
            &["--target-invocations", "5", "--target-concurrency", "1"][..],
            "cannot be used with",
        ),
    ] {
        let mut args = vec!["endpoint", "update", "elastic"];
        args.extend_from_slice(flags);
        let output = server.cli(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(says),
            "{stderr}"
        );
    }
    // The history outlives the server: after a SIGKILL and a restart on the same home,
    // the endpoint lists the same changes with the same reasons.
    let before = scaling_history(&server, "elastic");
    assert!(before.len() >= 2, "{before:?}");
    server.kill();
    let server = Server::start(home.path());
    let started = std::time::Instant::now();
    let mut after = scaling_history(&server, "elastic");
    while after != before && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = scaling_history(&server, "elastic");
    }
    assert_eq!(after, before);

    // Deploy reads the batching flags as update does: a delay alone is refused, not ignored.
    let output = server.cli(&[
        "deploy",
        "shapes",
        "--endpoint",
        "delayed",
        "--max-delay-us",
        "500",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("give --max-batch-size too"),
        "{stderr}"
    );
}
