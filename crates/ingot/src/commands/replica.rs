//! The hidden child-process commands the server starts: `ingot replica` (one endpoint replica,
//! with its socket, spec and artifact store; see `ingot_replicas::child`) and `ingot
//! transform-worker` (one batch transform; see `ingot_replicas::transform_worker`).

use std::path::PathBuf;

use clap::Args;

/// Arguments of the internal `replica` command.
#[derive(Debug, Args)]
pub struct ReplicaArgs {
    /// Unix socket to serve the replica protocol on
    #[arg(long)]
    pub socket: PathBuf,
    /// Replica spec: a JSON file, or `-` for one line on stdin
    #[arg(long, default_value = "-")]
    pub spec: String,
    /// Artifact store location (directory, file:// or s3:// URL), read only
    #[arg(long)]
    pub artifacts: String,
}

/// Serves until the parent closes our stdin.
pub async fn run(args: &ReplicaArgs) -> anyhow::Result<()> {
    ingot_replicas::child::run(ingot_replicas::ChildArgs {
        socket: args.socket.clone(),
        spec: args.spec.clone(),
        artifacts: args.artifacts.clone(),
    })
    .await?;
    Ok(())
}

/// Arguments of the internal `transform-worker` command (the spec arrives on stdin).
#[derive(Debug, Args)]
pub struct TransformWorkerArgs {
    /// Artifact store location (directory, file:// or s3:// URL), read only
    #[arg(long)]
    pub artifacts: String,
    /// Where to write the output table (Parquet)
    #[arg(long)]
    pub output_file: PathBuf,
}

/// Scores one transform and exits.
pub async fn run_transform_worker(args: &TransformWorkerArgs) -> anyhow::Result<()> {
    ingot_replicas::transform_worker::run_worker(ingot_replicas::WorkerArgs {
        artifacts: args.artifacts.clone(),
        output: args.output_file.clone(),
    })
    .await?;
    Ok(())
}
