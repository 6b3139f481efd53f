//! The replica child process (`ingot replica`): reads its spec, opens the artifact store
//! read-only, loads the variant's models into a [`ReplicaCore`], serves the front's protocol
//! over HTTP/1.1 on a Unix socket, and exits when its parent goes away (stdin reaches EOF).

use std::convert::Infallible;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use ingot_artifacts::ArtifactStore;
use ingot_serve::{ModelSource, ReplicaCore, ReplicaSpec};
use tokio::net::UnixListener;
use tokio::sync::oneshot;

use crate::wire::{self, Stats};
use crate::{Error, Result};

/// The line a child prints on stdout once its socket accepts connections.
pub const READY_LINE: &str = "READY";

/// What `ingot replica` is given.
#[derive(Debug, Clone)]
pub struct ChildArgs {
    /// The Unix socket to serve on (replaced if it exists).
    pub socket: PathBuf,
    /// A JSON [`ReplicaSpec`] file, or `-` for one line of JSON on stdin.
    pub spec: String,
    /// The artifact store location (a directory, `file://` or `s3://` URL).
    pub artifacts: String,
}

/// Model files read from the artifact store by sha256 (verified on read).
pub struct ArtifactSource(pub ArtifactStore);

#[async_trait]
impl ModelSource for ArtifactSource {
    async fn fetch(&self, artifact_hash: &str) -> ingot_serve::Result<Vec<u8>> {
        self.0
            .get(artifact_hash)
            .await
            .map(|b| b.to_vec())
            .map_err(|e| {
                ingot_serve::Error::Internal(format!(
                    "cannot read model artifact {artifact_hash}: {e}"
                ))
            })
    }
}

/// Runs a replica until its parent closes stdin. The replica takes no lock on `INGOT_HOME`:
/// it only reads the artifact store.
pub async fn run(args: ChildArgs) -> Result<()> {
    crate::memory::mark_as_child();
    let (spec_line, parent_gone) = watch_stdin(args.spec == "-");
    let spec_text = if args.spec == "-" {
        spec_line.await.unwrap_or_default()
    } else {
        std::fs::read_to_string(&args.spec).map_err(|e| Error::Spec {
            from: args.spec.clone(),
            reason: e.to_string(),
        })?
    };
    let from = if args.spec == "-" {
        "stdin"
    } else {
        &args.spec
    };
    let spec: ReplicaSpec = serde_json::from_str(&spec_text).map_err(|e| Error::Spec {
        from: from.to_string(),
        reason: e.to_string(),
    })?;
    let store = ArtifactStore::open(&args.artifacts)?;
    let name = format!("{}/{}", spec.endpoint, spec.variant);
    let core = Arc::new(ReplicaCore::start(spec, Arc::new(ArtifactSource(store))).await?);
    let listener = bind(&args.socket)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{READY_LINE}")
        .and_then(|()| stdout.flush())
        .map_err(Error::Parent)?;
    drop(stdout);
    tracing::debug!(replica = %name, socket = %args.socket.display(), "replica ready");
    serve(listener, core, parent_gone, &args.socket).await
}

fn bind(socket: &PathBuf) -> Result<UnixListener> {
    match std::fs::remove_file(socket) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(Error::Socket {
                path: socket.clone(),
                source,
            })
        }
    }
    UnixListener::bind(socket).map_err(|source| Error::Socket {
        path: socket.clone(),
        source,
    })
}

/// Reads the spec line (when asked) and then waits for stdin's EOF on a plain thread, so a
/// blocked read never holds up the runtime's shutdown. The parent keeps the pipe open for the
/// child's whole life; EOF means it closed it or died.
pub(crate) fn watch_stdin(read_spec: bool) -> (oneshot::Receiver<String>, oneshot::Receiver<()>) {
    let (spec_tx, spec_rx) = oneshot::channel();
    let (gone_tx, gone_rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("ingot-replica-parent".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut line = String::new();
            if read_spec {
                let _ = stdin.read_line(&mut line);
                let _ = spec_tx.send(std::mem::take(&mut line));
            }
            loop {
                line.clear();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            let _ = gone_tx.send(());
        });
    if let Err(e) = spawned {
        tracing::error!("cannot watch the parent: {e}");
    }
    (spec_rx, gone_rx)
}

async fn serve(
    listener: UnixListener,
    core: Arc<ReplicaCore>,
    mut parent_gone: oneshot::Receiver<()>,
    socket: &PathBuf,
) -> Result<()> {
    let mut builder = http1::Builder::new();
    builder.keep_alive(true).header_read_timeout(None);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("replica accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = &mut parent_gone => break,
        };
        let core = core.clone();
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            service_fn(move |request| handle(core.clone(), request)),
        );
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("replica connection ended: {e}");
            }
        });
    }
    let _ = std::fs::remove_file(socket);
    tracing::debug!("parent gone, replica exiting");
    Ok(())
}

fn stats(core: &ReplicaCore) -> Stats {
    Stats {
        loaded_models: core.loaded_models(),
        evictions: core.evictions(),
    }
}

async fn handle(
    core: Arc<ReplicaCore>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, wire::PING) => Response::new(Full::new(Bytes::from_static(b"ok"))),
        (&Method::GET, wire::STATS) => {
            let body = serde_json::to_vec(&stats(&core)).unwrap_or_default();
            let mut response = Response::new(Full::new(Bytes::from(body)));
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        (&Method::POST, wire::INVOKE) => {
            let (parts, body) = request.into_parts();
            let answer = match body.collect().await {
                Ok(body) => match wire::decode_request(&parts.headers, body.to_bytes()) {
                    Ok(request) => core.invoke(request).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(ingot_serve::Error::BadBody(format!(
                    "cannot read the request body: {e}"
                ))),
            };
            wire::encode_response(answer, stats(&core))
        }
        (_, path) => wire::error_response(&ingot_serve::Error::UnknownTarget(format!(
            "no replica route {path}"
        ))),
    };
    Ok(response)
}
