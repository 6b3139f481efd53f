//! `ingot train`: submit a job to the server (optionally waiting with progress), or train on a
//! local file with `--local` through the very same pure pipeline the server uses.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use ingot_catalog::{FitContext, TrainEvent, TrainRequest};
use ingot_core::{Hyperparameters, ModelRef};
use ingot_protocol::{CreateTrainingJob, JobView};

use crate::cli::TrainArgs;
use crate::client::Client;
use crate::context::CliContext;
use crate::output::{metrics_line, print_json, progress_bar};

/// Runs `ingot train`.
pub async fn run(context: &CliContext, args: &TrainArgs) -> Result<()> {
    let hyperparameters =
        Hyperparameters::parse_pairs(args.hyperparameters.iter().map(String::as_str))?;
    check_target(args)?;
    if args.local {
        return tokio::task::spawn_blocking({
            let args = LocalArgs::from(args, hyperparameters);
            let json = context.json();
            move || train_local(&args, json)
        })
        .await?;
    }
    let reference: ModelRef = args
        .dataset
        .as_deref()
        .context("--dataset is required without --local")?
        .parse()?;
    let client = context.client()?;
    let request = CreateTrainingJob {
        dataset: reference.name,
        dataset_version: reference.version,
        target: args.target.clone(),
        algorithm: args.algorithm.clone(),
        hyperparameters: hyperparameters.0,
        drop_columns: args.drop_columns.clone(),
        validation_dataset: args.validation_dataset.clone(),
        validation_fraction: Some(args.validation_fraction),
        seed: Some(args.seed),
        model_name: args.model.clone(),
    };
    let job = client.create_training_job(&request).await?;
    if !args.wait {
        if context.json() {
            return print_json(&job);
        }
        println!("{}", job.id);
        return Ok(());
    }
    eprintln!("job {} submitted", job.id);
    let job = wait_for_job(&client, &job.id).await?;
    if context.json() {
        print_json(&job)?;
    } else {
        print_job_result(&job);
    }
    if job.status != "Completed" {
        bail!(
            "job {} {}: {}",
            job.id,
            job.status.to_lowercase(),
            job.failure_reason
                .as_deref()
                .unwrap_or("no reason recorded")
        );
    }
    Ok(())
}

/// A clear error, before any work, when a known algorithm's need for a target is not met.
fn check_target(args: &TrainArgs) -> Result<()> {
    let Some(algorithm) = ingot_catalog::algorithm(&args.algorithm) else {
        return Ok(()); // the pipeline or the server names the valid algorithms
    };
    match (algorithm.unsupervised_task(), &args.target) {
        (None, None) => bail!(
            "algorithm {} is supervised: pass the column to predict with --target",
            args.algorithm
        ),
        (Some(task), Some(target)) => bail!(
            "algorithm {} is unsupervised ({task}) and takes no --target; use --drop {target} \
             if that column should not be a feature",
            args.algorithm
        ),
        _ => Ok(()),
    }
}

/// Polls a job until it ends, drawing a progress bar on a terminal.
pub async fn wait_for_job(client: &Client, id: &str) -> Result<JobView> {
    let bar = progress_bar(0, "training");
    loop {
        let job = client.job(id).await?;
        if let Some(progress) = &job.progress {
            bar.set_length(progress.total);
            bar.set_position(progress.done);
        }
        if matches!(job.status.as_str(), "Completed" | "Failed" | "Stopped") {
            bar.finish_and_clear();
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The human summary of a finished job.
pub fn print_job_result(job: &JobView) {
    println!("job {}: {}", job.id, job.status);
    if let Some(reason) = &job.failure_reason {
        println!("reason: {reason}");
    }
    if !job.metrics.is_empty() {
        println!("metrics: {}", metrics_line(&job.metrics));
    }
    if let (Some(model), Some(version)) = (&job.model_name, job.model_version) {
        println!("model version: {model}:{version}");
    }
}

/// Owned inputs of a local training run.
struct LocalArgs {
    file: std::path::PathBuf,
    validation_file: Option<std::path::PathBuf>,
    out: std::path::PathBuf,
    request: TrainRequest,
}

impl LocalArgs {
    fn from(args: &TrainArgs, hyperparameters: Hyperparameters) -> LocalArgs {
        LocalArgs {
            file: args.file.clone().unwrap_or_default(),
            validation_file: args.validation_file.clone(),
            out: args.out.clone().unwrap_or_default(),
            request: TrainRequest {
                target: args.target.clone(),
                drop_columns: args.drop_columns.clone(),
                algorithm: args.algorithm.clone(),
                hyperparameters,
                validation_fraction: args.validation_fraction,
                seed: args.seed,
            },
        }
    }
}

/// Reads a data file, choosing the format by extension (CSV by default).
pub fn read_local_table(path: &Path) -> Result<ingot_data::Table> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let format = ingot_data::DataFormat::from_path(&path.to_string_lossy())
        .unwrap_or(ingot_data::DataFormat::Csv);
    ingot_data::read_table_bytes(bytes.into(), format)
        .with_context(|| format!("cannot parse {}", path.display()))
}

fn train_local(args: &LocalArgs, json: bool) -> Result<()> {
    let table = read_local_table(&args.file)?;
    let validation = args
        .validation_file
        .as_deref()
        .map(read_local_table)
        .transpose()?;
    let cancel = AtomicBool::new(false);
    let bar = progress_bar(0, "training");
    let mut on_event = |event: TrainEvent| match event {
        TrainEvent::Progress { done, total } => {
            bar.set_length(total);
            bar.set_position(done);
        }
        TrainEvent::Log(message) => bar.suspend(|| tracing::info!("{message}")),
        TrainEvent::Metric { .. } => {}
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut fit = FitContext {
        cancel: &cancel,
        threads,
        seed: args.request.seed,
        events: &mut on_event,
    };
    let outcome = ingot_catalog::train(&table, validation.as_ref(), &args.request, &mut fit)?;
    bar.finish_and_clear();
    write_atomically(&args.out, &outcome.bytes)?;
    if json {
        return print_json(&serde_json::json!({
            "model_file": args.out.display().to_string(),
            "algorithm": outcome.model.manifest.algorithm,
            "task": outcome.model.manifest.task.as_str(),
            "metrics": outcome.metrics.0,
            "training_rows": outcome.training_rows,
            "validation_rows": outcome.validation_rows,
        }));
    }
    println!("metrics: {}", metrics_line(&outcome.metrics.0));
    println!(
        "model: {} ({} training rows, {} validation rows)",
        args.out.display(),
        outcome.training_rows,
        outcome.validation_rows
    );
    Ok(())
}

/// Writes a file via a temporary sibling and a rename, so readers never see half a model.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let directory = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let temporary = directory.join(format!(".{}.tmp", file_name.to_string_lossy()));
    let mut file = std::fs::File::create(&temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot move the model into {}", path.display()))?;
    Ok(())
}
