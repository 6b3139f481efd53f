//! A restart loses no acknowledged async invocation: payloads accepted (202) while the async
//! endpoint's replica is frozen with SIGSTOP stay queued; the server is then killed with
//! SIGKILL, and after a restart on the same home every one of them is answered, each with the
//! real-time endpoint's answer for its own payload.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Server;

/// One HTTP call: `(status, body)`.
fn http(method: &str, url: &str, token: &str, body: Option<String>) -> (u16, String) {
    let (method, url, token) = (method.to_string(), url.to_string(), token.to_string());
    support::block_on(async move {
        let client = reqwest::Client::new();
        let mut request = client
            .request(method.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.header("content-type", "text/csv").body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

/// Pids of the replica child processes serving from `home`.
fn replica_pids(home: &Path) -> Vec<u32> {
    let home = home.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.iter().any(|a| a == "replica") && args.iter().any(|a| a.starts_with(home))
        })
        .collect()
}

fn signal(pid: u32, signal: &str) {
    assert!(pid > 1, "refusing to signal pid {pid}");
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

/// Polls an async invocation until it leaves the queue (or `deadline`).
fn settled(url: &str, token: &str, id: &str, deadline: Instant) -> Value {
    loop {
        let (status, body) = http(
            "GET",
            &format!("{url}/endpoints/queued/async-invocations/{id}"),
            token,
            None,
        );
        assert_eq!(status, 200, "{body}");
        let record: Value = serde_json::from_str(&body).unwrap();
        if record["status"] != "queued" || Instant::now() > deadline {
            return record;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn queued_async_invocations_survive_a_sigkill_of_the_server() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path());
    server.train_shapes("shapes");
    let token = server.admin_token();
    server.ok(&[
        "deploy",
        "shapes:1",
        "--endpoint",
        "queued",
        "--async",
        "--wait",
    ]);
    let submit = |url: &str, body: &str| -> String {
        let (status, answer) = http(
            "POST",
            &format!("{url}/endpoints/queued/async-invocations"),
            &token,
            Some(body.to_string()),
        );
        assert_eq!(status, 202, "{answer}");
        let record: Value = serde_json::from_str(&answer).unwrap();
        record["id"].as_str().unwrap().to_string()
    };

    // One answered invocation proves the replica is up; then it is frozen.
    let first = submit(&server.url, "0.5,red\n");
    let deadline = Instant::now() + Duration::from_secs(60);
    assert_eq!(
        settled(&server.url, &token, &first, deadline)["status"],
        "completed"
    );
    let replicas = replica_pids(home.path());
    assert_eq!(replicas.len(), 1, "one replica serves the async endpoint");
    signal(replicas[0], "-STOP");

    let payloads: Vec<String> = (0..12)
        .map(|i| {
            let colour = ["red", "green", "blue"][i % 3];
            format!(
                "{},{colour}\n{},blue\n",
                i as f64 * 0.7 - 4.0,
                i as f64 / 3.0
            )
        })
        .collect();
    let ids: Vec<String> = payloads.iter().map(|p| submit(&server.url, p)).collect();
    for id in &ids {
        let (_, body) = http(
            "GET",
            &format!("{}/endpoints/queued/async-invocations/{id}", server.url),
            &token,
            None,
        );
        let record: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(record["status"], "queued", "{record}");
    }

    // SIGKILL: no shutdown path runs. The frozen replica cannot notice its parent is gone.
    server.kill();
    signal(replicas[0], "-KILL");

    let server = Server::start(home.path());
    let deadline = Instant::now() + Duration::from_secs(120);
    let outputs: Vec<String> = ids
        .iter()
        .map(|id| {
            let record = settled(&server.url, &token, id, deadline);
            assert_eq!(record["status"], "completed", "{record}");
            let (status, output) = http(
                "GET",
                &format!(
                    "{}/endpoints/queued/async-invocations/{id}/output",
                    server.url
                ),
                &token,
                None,
            );
            assert_eq!(status, 200, "{output}");
            output
        })
        .collect();

    server.ok(&["deploy", "shapes:1", "--endpoint", "live", "--wait"]);
    for (payload, output) in payloads.iter().zip(&outputs) {
        let (status, realtime) = http(
            "POST",
            &format!("{}/endpoints/live/invocations", server.url),
            &token,
            Some(payload.clone()),
        );
        assert_eq!(status, 200, "{realtime}");
        assert_eq!(output, &realtime, "payload {payload:?}");
    }
}
