//! `ingot quickstart`: an embedded server, a generated churn dataset, a trained and registered
//! linear model, a live endpoint, and predictions, all in one command.

use anyhow::{Context, Result};
use ingot_protocol::{CreateEndpoint, CreateTrainingJob};

use crate::cli::{QuickstartArgs, ServerArgs};
use crate::client::Client;
use crate::context::CliContext;
use crate::output::{metrics_line, print_json, print_table};
use crate::sample::{churn_csv, CHURN_ID_COLUMNS};

const DATASET: &str = "churn";
const ENDPOINT: &str = "churn-quickstart";
const ALGORITHM: &str = "linear-learner";

/// Runs the quickstart and stops the embedded server.
pub async fn run(context: &CliContext, args: &QuickstartArgs) -> Result<()> {
    let server_args = ServerArgs {
        host: std::net::Ipv4Addr::LOCALHOST.into(),
        port: 0,
        no_auth: false,
        artifacts: None,
        job_workers: 1,
        replica_mode: crate::cli::ReplicaMode::Process,
        transform_memory_limit_mib: None,
        autoscale_interval_ms: crate::cli::DEFAULT_AUTOSCALE_INTERVAL_MS,
    };
    let server = super::server::start(&context.home, &server_args, false).await?;
    let client = Client::new(&server.url, server.token.clone())?;
    let outcome = walk_through(context, args, &client).await;
    server.stop().await?;
    outcome
}

fn step(context: &CliContext, text: &str) {
    if !context.json() {
        println!("==> {text}");
    }
}

async fn walk_through(context: &CliContext, args: &QuickstartArgs, client: &Client) -> Result<()> {
    step(
        context,
        &format!(
            "embedded Ingot server on {} (home {})",
            client.base(),
            context.home.display()
        ),
    );

    let data_dir = context.home.join("quickstart");
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let csv = churn_csv(args.rows, args.seed);
    let data_path = data_dir.join("churn.csv");
    std::fs::write(&data_path, &csv)
        .with_context(|| format!("cannot write {}", data_path.display()))?;
    let dataset = client
        .create_dataset(DATASET, csv.into_bytes(), Some("csv"), "churn.csv")
        .await?;
    step(
        context,
        &format!(
            "dataset {}:{} registered: {} rows x {} columns ({})",
            dataset.dataset,
            dataset.version,
            dataset.row_count,
            dataset.schema.len(),
            data_path.display()
        ),
    );

    let job = client
        .create_training_job(&CreateTrainingJob {
            dataset: DATASET.to_string(),
            dataset_version: Some(dataset.version),
            target: Some("Exited".to_string()),
            algorithm: ALGORITHM.to_string(),
            hyperparameters: Default::default(),
            drop_columns: CHURN_ID_COLUMNS.iter().map(|c| c.to_string()).collect(),
            validation_dataset: None,
            validation_fraction: Some(0.2),
            seed: Some(args.seed),
            model_name: Some(DATASET.to_string()),
        })
        .await?;
    step(
        context,
        &format!("training {ALGORITHM} on Exited (job {})", job.id),
    );
    let job = super::train::wait_for_job(client, &job.id).await?;
    if job.status != "Completed" {
        anyhow::bail!(
            "training {}: {}",
            job.status,
            job.failure_reason
                .as_deref()
                .unwrap_or("no reason recorded")
        );
    }
    let version = job
        .model_version
        .context("completed job has no model version")?;
    step(context, &format!("model {DATASET}:{version} registered"));
    if !context.json() {
        println!("    held-out metrics: {}", metrics_line(&job.metrics));
    }

    if client.endpoint(ENDPOINT).await.is_ok() {
        client.delete_endpoint(ENDPOINT).await?;
    }
    client
        .deploy(&CreateEndpoint {
            name: ENDPOINT.to_string(),
            model: Some(DATASET.to_string()),
            version: Some(version),
            config: None,
        })
        .await?;
    let endpoint = super::endpoints::wait_for_endpoint(client, ENDPOINT).await?;
    let url = format!("{}{}", client.base(), endpoint.invocations_path);
    step(
        context,
        &format!("endpoint {ENDPOINT} is {}", endpoint.status),
    );

    // Fresh customers the model has never seen, sent as CSV with a header.
    let fresh = churn_csv(5, args.seed.wrapping_add(1_000));
    let answer = client
        .invoke(
            ENDPOINT,
            fresh.clone().into_bytes(),
            "text/csv; header=present",
            "application/json",
        )
        .await?;
    let answer: serde_json::Value =
        serde_json::from_slice(&answer).context("the endpoint sent unreadable JSON")?;
    let predictions = answer
        .get("predictions")
        .and_then(|p| p.as_array())
        .cloned()
        .unwrap_or_default();

    if context.json() {
        return print_json(&serde_json::json!({
            "dataset": format!("{}:{}", dataset.dataset, dataset.version),
            "job_id": job.id,
            "model": format!("{DATASET}:{version}"),
            "metrics": job.metrics,
            "endpoint": ENDPOINT,
            "endpoint_url": url,
            "predictions": predictions,
        }));
    }
    step(context, "predictions for 5 new customers:");
    let rows: Vec<Vec<String>> = fresh
        .lines()
        .skip(1)
        .zip(&predictions)
        .map(|(line, prediction)| {
            let cells: Vec<&str> = line.split(',').collect();
            let probability = prediction
                .pointer("/probabilities/1")
                .and_then(|p| p.as_f64())
                .map_or_else(|| "-".to_string(), |p| format!("{p:.3}"));
            vec![
                format!("    {}", cells[2]),
                cells[6].to_string(),
                cells[4].to_string(),
                cells[9].to_string(),
                cells[11].to_string(),
                probability,
                cells[13].to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "    SURNAME",
            "AGE",
            "GEOGRAPHY",
            "PRODUCTS",
            "ACTIVE",
            "P(EXITED)",
            "ACTUAL",
        ],
        &rows,
    );
    println!("endpoint URL: {url}");
    println!("(the embedded server stops now; run `ingot server` to keep serving)");
    Ok(())
}
