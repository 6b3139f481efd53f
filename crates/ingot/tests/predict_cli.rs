//! `ingot predict` against endpoints through the real CLI and server: real time (CSV, and
//! Parquet sent as CSV), and async invocations queued then awaited (`--async --wait`) or
//! polled (`--async-result`), with the same answers; failures name their reason.

mod support;

use support::Server;

#[test]
fn async_predictions_equal_real_time_ones_through_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path());
    server.train_shapes("shapes");
    server.ok(&["deploy", "shapes:1", "--endpoint", "live", "--wait"]);
    server.ok(&[
        "deploy",
        "shapes:1",
        "--endpoint",
        "queued",
        "--async",
        "--wait",
    ]);
    let rows = home.path().join("rows.csv");
    std::fs::write(&rows, "x,colour\n1.5,red\n-2.0,blue\n0.25,green\n").unwrap();
    let rows = rows.to_str().unwrap();

    let real_time = server.ok(&["predict", "--endpoint", "live", "--file", rows]);
    assert_eq!(
        real_time.lines().count(),
        4,
        "a header and three rows: {real_time}"
    );

    // The same rows as Parquet (columns in another order) get the same answer.
    let table = ingot_data::read_table(
        b"colour,x\nred,1.5\nblue,-2.0\ngreen,0.25\n",
        ingot_data::DataFormat::Csv,
    )
    .unwrap();
    let parquet = home.path().join("rows.parquet");
    std::fs::write(&parquet, ingot_data::write_parquet(&table.batch).unwrap()).unwrap();
    let from_parquet = server.ok(&[
        "predict",
        "--endpoint",
        "live",
        "--file",
        parquet.to_str().unwrap(),
    ]);
    assert_eq!(from_parquet, real_time);

    // Awaited: the answer itself, the same as in real time.
    let awaited = server.ok(&[
        "predict",
        "--endpoint",
        "queued",
        "--file",
        rows,
        "--async",
        "--wait",
    ]);
    assert_eq!(awaited, real_time);

    // Queued: an id to poll with, then the same answer, in the format asked for at submission
    // (JSON here).
    let real_time_json = server.ok(&[
        "predict",
        "--endpoint",
        "live",
        "--file",
        rows,
        "--output",
        "json",
    ]);
    let queued = server.json(&["predict", "--endpoint", "queued", "--file", rows, "--async"]);
    let id = queued["id"].as_str().unwrap().to_string();
    assert!(
        ["queued", "completed"].contains(&queued["status"].as_str().unwrap()),
        "{queued}"
    );
    let mut polled = String::new();
    for _ in 0..200 {
        polled = server.ok(&["predict", "--endpoint", "queued", "--async-result", &id]);
        if !polled.starts_with("async invocation") {
            break;
        }
        assert!(polled.contains(&format!("--async-result {id}")), "{polled}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(polled, real_time_json);

    // Rows the model cannot read fail the invocation, and the CLI says why.
    let bad = home.path().join("bad.csv");
    std::fs::write(&bad, "x,shape\n1.5,round\n").unwrap();
    let failed = server.cli(&[
        "predict",
        "--endpoint",
        "queued",
        "--file",
        bad.to_str().unwrap(),
        "--async",
        "--wait",
    ]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("failed") && stderr.contains("colour"),
        "{stderr}"
    );

    // Async options make no sense without --async.
    let refused = server.cli(&[
        "predict",
        "--endpoint",
        "live",
        "--file",
        rows,
        "--webhook-url",
        "http://127.0.0.1:9/hook",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--async"));
}
