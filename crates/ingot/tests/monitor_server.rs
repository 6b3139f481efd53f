//! `ingot monitor` against the real server: a baseline of a dataset version, a data-quality
//! schedule run over shifted captured traffic, the executions table and an HTML report, then
//! ground truth and a model-quality run whose accuracy matches a hand count.

mod support;

use support::Server;

/// Invokes an endpoint; returns the event id and the CSV answer.
fn invoke(server: &Server, token: &str, body: &str) -> (String, String) {
    let url = format!("{}/endpoints/watched/invocations", server.url);
    let (token, body) = (token.to_string(), body.to_string());
    support::block_on(async move {
        let response = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let id = response.headers()["x-ingot-event-id"]
            .to_str()
            .unwrap()
            .to_string();
        (id, response.text().await.unwrap())
    })
}

fn predicted(answer: &str) -> String {
    let mut lines = answer.lines();
    let classes: Vec<&str> = lines.next().unwrap().split(',').collect();
    let p: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
    classes[best].to_string()
}

#[test]
fn baselines_schedules_executions_reports_and_ground_truth_through_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path());
    server.train_shapes("shapes");
    let data = home.path().join("shapes.csv");
    let baseline = server.json(&[
        "monitor",
        "baseline",
        "--dataset",
        "shapes:1",
        "--name",
        "base",
    ]);
    assert_eq!(baseline["statistics"]["dataset"]["item_count"], 300);
    // The local form still works beside it.
    let out = home.path().join("local-baseline");
    server.ok(&[
        "monitor",
        "baseline",
        "--file",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(out.join("constraints.json").exists());
    assert!(!server
        .cli(&["monitor", "baseline", "--name", "empty"])
        .status
        .success());

    server.ok(&[
        "deploy",
        "shapes:1",
        "--endpoint",
        "watched",
        "--capture-percent",
        "100",
        "--wait",
    ]);
    let admin = server.admin_token();
    let answers: Vec<(String, String)> = (0..30)
        .map(|i| {
            let (id, answer) = invoke(&server, &admin, &format!("{}.5,violet\n", 9 + i % 4));
            (id, predicted(&answer))
        })
        .collect();

    let created = server.json(&[
        "monitor",
        "schedule",
        "create",
        "watched",
        "dq",
        "--baseline",
        "base",
        "--every",
        "*/10 * * * *",
    ]);
    assert_eq!(created["type"], "data_quality");
    let listed = server.json(&["monitor", "schedule", "list", "watched"]);
    assert_eq!(listed[0]["settings"]["every"], "*/10 * * * *");
    let run = server.json(&["monitor", "schedule", "run", "watched", "dq"]);
    assert_eq!(run["status"], "CompletedWithViolations", "{run}");
    assert_eq!(run["summary"]["rows"], 30);
    let id = run["id"].as_str().unwrap().to_string();
    let table = server.ok(&["monitor", "executions", "watched"]);
    assert!(
        table.contains(&id) && table.contains("CompletedWithViolations"),
        "{table}"
    );
    let html = home.path().join("report.html");
    let report = server.ok(&[
        "monitor",
        "report",
        "watched",
        &id,
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(report.contains("categorical_values_check"), "{report}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("colour"));

    // Ground truth: every label "1"; accuracy is the share predicted "1".
    let labels = home.path().join("labels.csv");
    let mut text = String::from("event_id,label\n");
    for (id, _) in &answers {
        text.push_str(&format!("{id},1\n"));
    }
    std::fs::write(&labels, text).unwrap();
    let stored = server.json(&[
        "monitor",
        "ground-truth",
        "watched",
        "--file",
        labels.to_str().unwrap(),
    ]);
    assert_eq!(stored["rows"], 30);
    let thresholds = home.path().join("quality.json");
    std::fs::write(
        &thresholds,
        r#"{"accuracy": {"threshold": 1.01, "comparison": "LessThanThreshold"}}"#,
    )
    .unwrap();
    server.ok(&[
        "monitor",
        "baseline",
        "--name",
        "quality",
        "--model-quality",
        thresholds.to_str().unwrap(),
    ]);
    server.ok(&[
        "monitor",
        "schedule",
        "create",
        "watched",
        "mq",
        "--type",
        "model_quality",
        "--baseline",
        "quality",
        "--every",
        "daily",
    ]);
    let quality = server.json(&["monitor", "schedule", "run", "watched", "mq"]);
    let hand = answers.iter().filter(|(_, p)| p == "1").count() as f64 / answers.len() as f64;
    let accuracy = quality["summary"]["metrics"]["accuracy"].as_f64().unwrap();
    assert!((accuracy - hand).abs() < 1e-12, "{accuracy} vs {hand}");
    assert_eq!(quality["status"], "CompletedWithViolations");

    server.ok(&["monitor", "schedule", "delete", "watched", "mq"]);
    let left = server.json(&["monitor", "schedule", "list", "watched"]);
    assert_eq!(left.as_array().unwrap().len(), 1);
}
