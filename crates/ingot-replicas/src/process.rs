//! Starting one replica child process: the command line, the spec on stdin (the pipe then
//! stays open as the parent-death signal), waiting for the child's ready line and first ping,
//! and a tail of its stderr kept for error messages while the rest is forwarded to our log.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

use crate::child::READY_LINE;
use crate::conn::Connections;
use crate::memory;
use crate::wire;

/// Lines of a child's stderr kept for error messages.
const TAIL_LINES: usize = 20;

/// How children are started: the same for every replica of a factory.
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The `ingot` executable.
    pub executable: PathBuf,
    /// Artifact store location passed to children.
    pub artifacts: String,
    /// Longest a child may take to load its models and answer its first ping.
    pub start_timeout: Duration,
}

/// The last lines a child wrote to stderr, and whether it closed stderr.
#[derive(Clone)]
pub struct StderrTail {
    lines: Arc<Mutex<VecDeque<String>>>,
    closed: watch::Receiver<bool>,
}

impl StderrTail {
    /// The tail as one string, after waiting briefly for a dying child to finish writing.
    pub async fn text(&self) -> String {
        let mut closed = self.closed.clone();
        let _ = tokio::time::timeout(Duration::from_secs(1), closed.wait_for(|c| *c)).await;
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

/// A started, ready child.
pub struct Started {
    pub child: Child,
    /// Closing it tells the child to exit.
    pub stdin: Option<ChildStdin>,
    pub pid: u32,
    pub stderr: StderrTail,
}

/// `executable subcommand` as a child of ours: stdin, stdout and stderr piped, killed if its
/// handle is dropped, and in its own process group, so a Ctrl-C meant for the server does not
/// kill children under in-flight work; the server ends them itself.
pub(crate) fn child_command(executable: &Path, subcommand: &str) -> Command {
    let mut command = Command::new(executable);
    command
        .arg(subcommand)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    command
}

pub(crate) fn tail_stderr(child: &mut Child, name: &str) -> StderrTail {
    let lines = Arc::new(Mutex::new(VecDeque::new()));
    let (closed_tx, closed) = watch::channel(false);
    if let Some(stderr) = child.stderr.take() {
        let lines = lines.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                tracing::info!(replica = %name, "{line}");
                let mut lines = lines.lock().unwrap_or_else(|p| p.into_inner());
                if lines.len() == TAIL_LINES {
                    lines.pop_front();
                }
                lines.push_back(line);
            }
            let _ = closed_tx.send(true);
        });
    } else {
        let _ = closed_tx.send(true);
    }
    StderrTail { lines, closed }
}

/// Why a child did not become ready, with its stderr tail.
async fn failed(child: &mut Child, stderr: &StderrTail, what: String) -> String {
    let _ = child.start_kill();
    let status = match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
        Ok(Ok(status)) => format!(" ({status})"),
        _ => String::new(),
    };
    let tail = stderr.text().await;
    if tail.is_empty() {
        format!("{what}{status}")
    } else {
        format!("{what}{status}: {tail}")
    }
}

impl Launcher {
    /// Starts a child serving `spec_json` on `socket` and waits until it answers `/ping`; a
    /// child whose resident memory passes `memory_limit` bytes while it loads is stopped.
    pub async fn start(
        &self,
        name: &str,
        socket: &Path,
        spec_json: &str,
        memory_limit: Option<u64>,
    ) -> Result<Started, String> {
        let mut child = child_command(&self.executable, "replica")
            .arg("--socket")
            .arg(socket)
            .arg("--spec")
            .arg("-")
            .arg("--artifacts")
            .arg(&self.artifacts)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.executable.display()))?;
        let stderr = tail_stderr(&mut child, name);
        let Some(pid) = child.id() else {
            return Err(failed(&mut child, &stderr, "replica exited at once".into()).await);
        };
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(failed(&mut child, &stderr, "child pipes missing".into()).await);
        };
        let mut message = spec_json.replace('\n', " ");
        message.push('\n');
        if let Err(e) = stdin.write_all(message.as_bytes()).await {
            let what = format!("replica exited before reading its spec ({e})");
            return Err(failed(&mut child, &stderr, what).await);
        }
        let mut stdout = BufReader::new(stdout).lines();
        let ready = tokio::select! {
            line = stdout.next_line() => line,
            status = child.wait() => {
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                let what = format!("replica exited while starting ({status})");
                return Err(failed(&mut child, &stderr, what).await);
            }
            _ = tokio::time::sleep(self.start_timeout) => {
                let what = format!("replica not ready after {:?}", self.start_timeout);
                return Err(failed(&mut child, &stderr, what).await);
            }
            why = memory::exceeded_if(pid, memory_limit) => {
                let what = format!("replica {why} while loading");
                return Err(failed(&mut child, &stderr, what).await);
            }
        };
        match ready {
            Ok(Some(line)) if line.trim() == READY_LINE => {}
            other => {
                let what = match other {
                    Ok(Some(line)) => format!("replica said {line:?} instead of {READY_LINE}"),
                    _ => "replica exited while starting".to_string(),
                };
                return Err(failed(&mut child, &stderr, what).await);
            }
        }
        // Keep reading stdout so a stray print can never block or kill the child.
        let forward = name.to_string();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                tracing::debug!(replica = %forward, "stdout: {line}");
            }
        });
        let ping = Connections::new(socket.to_path_buf());
        match tokio::time::timeout(self.start_timeout, ping.get(wire::PING)).await {
            Ok(Ok(answer)) if answer.status.is_success() => {}
            Ok(Ok(answer)) => {
                let what = format!("replica answered its first ping with {}", answer.status);
                return Err(failed(&mut child, &stderr, what).await);
            }
            Ok(Err(e)) => {
                let what = format!("replica did not answer its first ping: {e}");
                return Err(failed(&mut child, &stderr, what).await);
            }
            Err(_) => {
                let what = "replica's first ping timed out".to_string();
                return Err(failed(&mut child, &stderr, what).await);
            }
        }
        // Loaded faster than the watch's first look: it must fit now.
        if let Some(why) = memory_limit.and_then(|limit| memory::over_now(pid, limit)) {
            let what = format!("replica {why} once loaded");
            return Err(failed(&mut child, &stderr, what).await);
        }
        Ok(Started {
            child,
            stdin: Some(stdin),
            pid,
            stderr,
        })
    }
}
