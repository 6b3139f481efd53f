//! `ingot replica` (hidden): one endpoint replica child process, started by the server with
//! its socket, spec and artifact store; see `ingot_replicas::child`.

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
