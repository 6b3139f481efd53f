//! `ingot job list | show | logs | stop`.

use std::time::Duration;

use anyhow::Result;

use crate::cli::JobCommand;
use crate::context::CliContext;
use crate::output::{print_json, print_table, timestamp};

/// Runs a job subcommand.
pub async fn run(context: &CliContext, command: &JobCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        JobCommand::List => {
            let jobs = client.list_jobs().await?;
            if context.json() {
                return print_json(&jobs);
            }
            let rows: Vec<Vec<String>> = jobs
                .iter()
                .map(|j| {
                    vec![
                        j.id.clone(),
                        j.status.clone(),
                        j.algorithm.clone(),
                        format!("{}:{}", j.dataset, j.dataset_version),
                        match (&j.model_name, j.model_version) {
                            (Some(m), Some(v)) => format!("{m}:{v}"),
                            _ => "-".to_string(),
                        },
                        timestamp(j.created_at),
                    ]
                })
                .collect();
            print_table(
                &["ID", "STATUS", "ALGORITHM", "DATASET", "MODEL", "CREATED"],
                &rows,
            );
        }
        JobCommand::Show { id } => {
            let job = client.job(id).await?;
            if context.json() {
                return print_json(&job);
            }
            println!("job {}", job.id);
            println!("status {}", job.status);
            if let Some(reason) = &job.failure_reason {
                println!("reason {reason}");
            }
            let target = job.target.as_deref().unwrap_or("(none: unsupervised)");
            println!("algorithm {}  target {target}", job.algorithm);
            println!("dataset {}:{}", job.dataset, job.dataset_version);
            if !job.hyperparameters.is_empty() {
                let pairs: Vec<String> = job
                    .hyperparameters
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                println!("hyperparameters {}", pairs.join(" "));
            }
            if let Some(progress) = &job.progress {
                println!("progress {}/{}", progress.done, progress.total);
            }
            if !job.metrics.is_empty() {
                println!("metrics {}", crate::output::metrics_line(&job.metrics));
            }
            if let (Some(m), Some(v)) = (&job.model_name, job.model_version) {
                println!("model {m}:{v}");
            }
            println!("created {}", timestamp(job.created_at));
        }
        JobCommand::Logs { id, follow } => {
            let mut after = 0;
            loop {
                let lines = client.job_logs(id, after).await?;
                if context.json() && !follow {
                    return print_json(&lines);
                }
                for line in &lines {
                    if context.json() {
                        println!("{}", serde_json::to_string(line)?);
                    } else {
                        println!("{} {}", timestamp(line.at), line.message);
                    }
                    after = line.seq;
                }
                if !follow {
                    break;
                }
                let job = client.job(id).await?;
                if matches!(job.status.as_str(), "Completed" | "Failed" | "Stopped")
                    && client.job_logs(id, after).await?.is_empty()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        JobCommand::Stop { id } => {
            let job = client.stop_job(id).await?;
            if context.json() {
                return print_json(&job);
            }
            println!("job {}: {}", job.id, job.status);
        }
    }
    Ok(())
}
