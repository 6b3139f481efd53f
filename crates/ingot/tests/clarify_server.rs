//! The server forms of `ingot clarify` and explanations on endpoints, through the real CLI and
//! the real server (whose replicas are child processes): `clarify bias --dataset` equals the
//! local `--file` form on the same data, `clarify explain --dataset` gives TreeSHAP for a tree
//! model, `--report` writes self-contained HTML whose size does not grow with the rows, and
//! `?explain=true` crosses the child-replica boundary (base + Σ SHAP = logit of the returned
//! probability; the refusal for a linear model keeps its status and message; a configured
//! KernelSHAP background is loaded by the child and its values add up to the probabilities).

mod support;

use serde_json::Value;
use support::Server;

fn shapes_csv(rows: usize) -> String {
    let mut csv = String::from("x,colour,size,y\n");
    for i in 0..rows {
        let x = (i as f64 * 0.37).sin() * 3.0;
        let colour = ["red", "green", "blue"][i % 3];
        let size = i % 11;
        let y = i64::from(x + if colour == "red" { 1.0 } else { -0.5 } > 0.0);
        csv.push_str(&format!("{x},{colour},{size},{y}\n"));
    }
    csv
}

/// `POST /endpoints/{endpoint}/invocations?explain=true` with a CSV body.
fn explain(server: &Server, endpoint: &str, body: &str) -> (u16, Value) {
    let url = format!(
        "{}/endpoints/{endpoint}/invocations?explain=true",
        server.url
    );
    let token = server.admin_token();
    let body = body.to_string();
    support::block_on(async move {
        let response = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    })
}

fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(!html.contains("<script"), "no scripts");
    let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!stripped.contains("http://") && !stripped.contains("https://"));
    assert!(html.contains("<svg"), "charts are inline SVG");
}

#[test]
fn server_forms_reports_and_explained_invocations() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path());
    let data = home.path().join("shapes.csv");
    std::fs::write(&data, shapes_csv(300)).unwrap();
    let data = data.to_str().unwrap();
    server.ok(&["dataset", "create", "shapes", "--file", data]);
    for (model, algorithm) in [("trees", "gbdt"), ("lin", "linear-learner")] {
        server.ok(&[
            "train",
            "--dataset",
            "shapes",
            "--target",
            "y",
            "--algorithm",
            algorithm,
            "--model",
            model,
            "--wait",
        ]);
    }

    // Bias: the server form equals the local form on the same data.
    let common = ["--label", "y", "--facet", "colour", "--facet-value", "red"];
    let mut remote = vec!["clarify", "bias", "--dataset", "shapes:1"];
    remote.extend(common);
    let bias_html = home.path().join("bias.html");
    let mut with_report = remote.clone();
    with_report.extend(["--report", bias_html.to_str().unwrap()]);
    let on_server = server.json(&with_report);
    let mut local = vec!["clarify", "bias", "--file", data];
    local.extend(common);
    assert_eq!(on_server, server.json(&local));
    assert!(on_server["post_training_bias_metrics"].is_null());
    let html = std::fs::read_to_string(&bias_html).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("Class Imbalance (CI)"));
    let mut with_model = remote.clone();
    with_model.extend(["--model", "lin"]);
    let post = server.json(&with_model);
    let metrics = post["post_training_bias_metrics"]["facets"]["colour"][0]["metrics"]
        .as_array()
        .unwrap();
    assert_eq!(metrics.len(), 13, "{post}");

    // Explain: TreeSHAP on the server, with a SHAP summary page of constant size.
    let mut sizes = Vec::new();
    for rows in ["3", "60"] {
        let page = home.path().join(format!("shap-{rows}.html"));
        let report = server.json(&[
            "clarify",
            "explain",
            "--model",
            "trees",
            "--dataset",
            "shapes",
            "--rows",
            rows,
            "--report",
            page.to_str().unwrap(),
        ]);
        assert_eq!(report["method"], "tree_shap", "{report}");
        assert_eq!(report["local"].as_array().unwrap().len().to_string(), rows);
        let html = std::fs::read_to_string(&page).unwrap();
        assert_self_contained(&html);
        for feature in ["x", "colour", "size"] {
            assert!(html.contains(&format!(">{feature}<")), "{feature}");
        }
        sizes.push(html.len());
    }
    assert!(
        sizes[1] < sizes[0] + 200,
        "the page must not grow with rows: {sizes:?}"
    );

    // Explained invocations through child replicas.
    server.ok(&["deploy", "trees:1", "--endpoint", "trees", "--wait"]);
    server.ok(&["deploy", "lin:1", "--endpoint", "lin", "--wait"]);
    let (status, body) = explain(&server, "trees", "2.5,red,3\n-2.5,blue,4\n");
    assert_eq!(status, 200, "{body}");
    let predictions = body["predictions"].as_array().unwrap();
    let explanations = body["explanations"].as_array().unwrap();
    assert_eq!(explanations.len(), 2, "{body}");
    for (prediction, explanation) in predictions.iter().zip(explanations) {
        let shap = explanation["shap_values"].as_object().unwrap();
        let (output, values) = shap.iter().next().unwrap();
        let total = explanation["base_values"][output].as_f64().unwrap()
            + values
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_f64().unwrap())
                .sum::<f64>();
        let p = prediction["probabilities"][output].as_f64().unwrap();
        assert!(
            ((p / (1.0 - p)).ln() - total).abs() < 1e-6,
            "{p} vs {total}"
        );
    }
    let (status, body) = explain(&server, "lin", "2.5,red,3\n");
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("explanations for linear-learner models need a background"),
        "{message}"
    );

    // With a configured background the child replica loads it from the artifact store and
    // answers KernelSHAP values that add up to the returned probabilities.
    server.ok(&[
        "deploy",
        "lin:1",
        "--endpoint",
        "lin-bg",
        "--explain-background",
        "shapes:1",
        "--wait",
    ]);
    let (status, body) = explain(&server, "lin-bg", "2.5,red,3\n-2.5,blue,4\n");
    assert_eq!(status, 200, "{body}");
    let predictions = body["predictions"].as_array().unwrap();
    let explanations = body["explanations"].as_array().unwrap();
    assert_eq!(explanations.len(), 2, "{body}");
    for (prediction, explanation) in predictions.iter().zip(explanations) {
        for class in ["0", "1"] {
            let total = explanation["base_values"][class].as_f64().unwrap()
                + explanation["shap_values"][class]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_f64().unwrap())
                    .sum::<f64>();
            let p = prediction["probabilities"][class].as_f64().unwrap();
            assert!((total - p).abs() < 1e-9, "{class}: {total} vs {p}");
        }
    }
}
