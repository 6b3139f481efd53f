//! `ingot server`: open the platform under `INGOT_HOME`, print the first admin token once, and
//! serve until interrupted.

use std::sync::Arc;

use anyhow::{Context, Result};
use ingot_server::{AppState, ServerConfig};
use ingot_service::{Platform, PlatformConfig};

use crate::cli::ServerArgs;
use crate::context::CliContext;

/// A server started in this process.
pub struct RunningServer {
    /// `http://host:port`.
    pub url: String,
    /// The platform it serves.
    pub platform: Arc<Platform>,
    /// The admin token to use, if auth is on and one is known.
    pub token: Option<String>,
    /// Whether that token was created by this start (first start of this home).
    pub token_is_new: bool,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Stops serving and waits for in-flight requests.
    pub async fn stop(self) -> Result<()> {
        let _ = self.shutdown.send(());
        self.task.await.context("server task panicked")??;
        self.platform.shutdown_serving().await;
        Ok(())
    }
}

/// Opens the platform and starts serving in the background.
pub async fn start(
    home: &std::path::Path,
    args: &ServerArgs,
    announce_token: bool,
) -> Result<RunningServer> {
    let config = ServerConfig {
        host: args.host,
        port: args.port,
        auth: !args.no_auth,
    };
    let listener = ingot_server::bind(&config).await?;
    let mut platform_config = PlatformConfig::new(home);
    platform_config.artifacts = args.artifacts.clone();
    platform_config.job_workers = args.job_workers.max(1);
    platform_config.autoscale_interval =
        std::time::Duration::from_millis(args.autoscale_interval_ms);
    if args.replica_mode == crate::cli::ReplicaMode::Process {
        // Children open the same store the platform opens.
        let artifacts = args
            .artifacts
            .clone()
            .unwrap_or_else(|| home.join("artifacts").display().to_string());
        platform_config.artifacts = Some(artifacts.clone());
        let executable = std::env::current_exe().context("cannot find the ingot executable")?;
        // Batch transforms score in worker processes too: a model that aborts or runs out of
        // memory on a large dataset fails its job, not the server.
        let transforms = ingot_replicas::ProcessTransforms::new(
            executable.clone(),
            home.join("run/transforms"),
            artifacts.clone(),
        )
        .context("cannot prepare the transform worker directory")?
        .with_memory_limit_mib(args.transform_memory_limit_mib);
        platform_config.transform_runner = Some(std::sync::Arc::new(transforms));
        // Socket paths are short by law (107 bytes): fall back to the temp directory when
        // the home is deep.
        let factory = ingot_replicas::ProcessFactory::new(
            executable.clone(),
            home.join("run/replicas"),
            artifacts.clone(),
        )
        .or_else(|_| {
            ingot_replicas::ProcessFactory::new(
                executable,
                std::env::temp_dir().join(format!("ingot-replicas-{}", std::process::id())),
                artifacts,
            )
        })
        .context("cannot prepare the replica runtime directory")?;
        platform_config.pool_factory = Some(std::sync::Arc::new(factory));
    }
    let platform = Platform::open(platform_config)
        .await
        .with_context(|| format!("cannot open Ingot home {}", home.display()))?;
    let created = platform.ensure_admin_token().await?;
    let token_is_new = created.is_some();
    let token = match created {
        Some(created) => {
            if announce_token {
                println!(
                    "Admin API token (shown once; also saved to {}):\n  {}",
                    created.path.display(),
                    created.token
                );
            }
            Some(created.token)
        }
        None => crate::context::read_token_file(home),
    };
    let address = listener.local_addr()?;
    let url = format!("http://{address}");
    let state = AppState {
        platform: platform.clone(),
        auth: config.auth,
    };
    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(ingot_server::run(listener, state, async move {
        let _ = signal.await;
    }));
    Ok(RunningServer {
        url,
        platform,
        token: if config.auth { token } else { None },
        token_is_new,
        shutdown,
        task,
    })
}

/// Runs `ingot server` until Ctrl-C or SIGTERM.
pub async fn run(context: &CliContext, args: &ServerArgs) -> Result<()> {
    let server = start(&context.home, args, !context.json()).await?;
    if context.json() {
        // One JSON object per line, so supervisors can parse the announcement.
        println!(
            "{}",
            serde_json::json!({
                "event": "listening",
                "url": server.url,
                "auth": !args.no_auth,
                "home": context.home.display().to_string(),
                "artifacts": server.platform.artifacts_location(),
                // Shown once, on the first start of this home, like the text announcement.
                "admin_token": if server.token_is_new { server.token.clone() } else { None },
            })
        );
    } else {
        println!("Ingot server listening on {}", server.url);
        if args.no_auth {
            println!("Authentication is OFF (--no-auth); only loopback clients can connect.");
        }
        println!("Home: {}", context.home.display());
        println!("Artifacts: {}", server.platform.artifacts_location());
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    server.stop().await
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
