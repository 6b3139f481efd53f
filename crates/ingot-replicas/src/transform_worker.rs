//! Batch transforms in worker processes, so a model that aborts or exhausts memory while
//! scoring a large dataset fails its job, not the server: [`ProcessTransforms`] (the server
//! side) starts one `ingot transform-worker` child per job with its spec on stdin, follows the
//! child's progress lines on stdout and reads its output file; [`run_worker`] is the child.
//!
//! The child's stdout protocol, one line each: `scored N` (rows scored so far), then either
//! `peak BYTES` (its peak resident memory, held against the limit) and `rows N` (the output
//! file is complete), or `failed MESSAGE`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use async_trait::async_trait;
use ingot_artifacts::ArtifactStore;
use ingot_serve::batch_transform::{score_spec, TransformRunner, TransformSpec};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::child::watch_stdin;
use crate::factory::private_dir;
use crate::memory;
use crate::process::{child_command, tail_stderr};
use crate::{Error, Result};

/// How often a worker reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Runs each batch transform in a child process of the `ingot` executable.
pub struct ProcessTransforms {
    executable: PathBuf,
    artifacts: String,
    work_dir: PathBuf,
    next_job: AtomicU64,
    /// Resident bytes past which a worker is stopped and its job failed.
    memory_limit: Option<u64>,
}

impl ProcessTransforms {
    /// Workers start as `executable transform-worker`, read the artifact store at `artifacts`
    /// (the location string the server opened) and write their output under `work_dir`
    /// (created 0700).
    pub fn new(
        executable: impl Into<PathBuf>,
        work_dir: impl Into<PathBuf>,
        artifacts: impl Into<String>,
    ) -> Result<ProcessTransforms> {
        let work_dir = work_dir.into();
        private_dir(&work_dir)?;
        Ok(ProcessTransforms {
            executable: executable.into(),
            artifacts: artifacts.into(),
            work_dir,
            next_job: AtomicU64::new(0),
            memory_limit: None,
        })
    }

    /// Stops a worker whose resident memory passes `mib` MiB and fails its job with a message
    /// that says so (absent: no limit beyond the machine's).
    pub fn with_memory_limit_mib(mut self, mib: Option<u64>) -> ProcessTransforms {
        self.memory_limit = mib.map(memory::mib_to_bytes);
        self
    }
}

/// Removes a worker's output file however its job ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What killed or stopped a worker, in words.
fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(9) => "was killed (SIGKILL; the kernel does this when memory runs out)".to_string(),
        Some(signal) => format!("was killed by signal {signal}"),
        None => format!("exited with {status}"),
    }
}

#[async_trait]
impl TransformRunner for ProcessTransforms {
    async fn run(
        &self,
        spec: TransformSpec,
        done: &AtomicU64,
    ) -> ingot_serve::Result<(Vec<u8>, usize)> {
        let internal = ingot_serve::Error::Internal;
        let job = self.next_job.fetch_add(1, Ordering::Relaxed);
        let output = self
            .work_dir
            .join(format!("transform-{}-{job}.parquet", std::process::id()));
        let _cleanup = RemoveOnDrop(output.clone());
        let mut child = child_command(&self.executable, "transform-worker")
            .arg("--artifacts")
            .arg(&self.artifacts)
            .arg("--output-file")
            .arg(&output)
            .spawn()
            .map_err(|e| {
                internal(format!(
                    "cannot start a transform worker ({}): {e}",
                    self.executable.display()
                ))
            })?;
        let stderr = tail_stderr(&mut child, "transform-worker");
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(internal("transform worker pipes missing".into()));
        };
        let mut message = serde_json::to_string(&spec)
            .map_err(|e| internal(format!("cannot encode the transform spec: {e}")))?;
        message.push('\n');
        // A worker that dies before reading its spec is reported by its exit below.
        let _ = stdin.write_all(message.as_bytes()).await;
        let mut lines = BufReader::new(stdout).lines();
        let (mut rows, mut failure, mut peak) = (None, None, None);
        let pid = child.id().unwrap_or_default();
        let limit = spec
            .memory_limit_mib
            .map(memory::mib_to_bytes)
            .or(self.memory_limit);
        let over_memory = memory::exceeded_if(pid, limit);
        tokio::pin!(over_memory);
        loop {
            let line = tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(line)) => line,
                    _ => break,
                },
                why = &mut over_memory => {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                    return Err(internal(format!("the transform worker {why}")));
                }
            };
            if let Some(n) = line.strip_prefix("scored ") {
                done.store(n.trim().parse().unwrap_or(0), Ordering::Relaxed);
            } else if let Some(n) = line.strip_prefix("rows ") {
                rows = n.trim().parse::<usize>().ok();
            } else if let Some(n) = line.strip_prefix("peak ") {
                peak = n.trim().parse::<u64>().ok();
            } else if let Some(reason) = line.strip_prefix("failed ") {
                failure = Some(reason.to_string());
            } else {
                tracing::debug!(job, "transform worker: {line}");
            }
        }
        let status = child
            .wait()
            .await
            .map_err(|e| internal(format!("cannot wait for the transform worker: {e}")))?;
        drop(stdin);
        if let Some(reason) = failure {
            return Err(internal(reason));
        }
        if let Some(why) = peak
            .zip(limit)
            .and_then(|(peak, limit)| memory::peak_over(peak, limit))
        {
            return Err(internal(format!("the transform worker {why}")));
        }
        match rows {
            Some(rows) if status.success() => {
                let bytes = tokio::fs::read(&output).await.map_err(|e| {
                    internal(format!("cannot read the transform worker's output: {e}"))
                })?;
                Ok((bytes, rows))
            }
            _ => {
                let tail = stderr.text().await;
                let mut reason = format!("the transform worker {}", describe_exit(status));
                if !tail.is_empty() {
                    reason.push_str(": ");
                    reason.push_str(&tail);
                }
                Err(internal(reason))
            }
        }
    }
}

/// What `ingot transform-worker` is given.
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    /// The artifact store location (a directory, `file://` or `s3://` URL), read only.
    pub artifacts: String,
    /// Where the output table is written (Parquet).
    pub output: PathBuf,
}

/// The worker child: reads one [`TransformSpec`] line on stdin, scores it, writes the output
/// file and reports on stdout (see the module's protocol). The process exits at once if its
/// parent closes stdin (the server went away); a failure is reported as `failed ...` and
/// returned.
pub async fn run_worker(args: WorkerArgs) -> Result<()> {
    memory::mark_as_child();
    let (spec_line, parent_gone) = watch_stdin(true);
    let line = spec_line.await.unwrap_or_default();
    let spec: TransformSpec = serde_json::from_str(&line).map_err(|e| Error::Spec {
        from: "stdin".into(),
        reason: e.to_string(),
    })?;
    let outcome = tokio::select! {
        outcome = score_to_file(&args, &spec) => outcome,
        // Nobody is left to read the output: stop scoring now.
        _ = parent_gone => std::process::exit(3),
    };
    let mut stdout = std::io::stdout().lock();
    let said = match &outcome {
        Ok(rows) => {
            let peak = memory::own_peak_bytes().unwrap_or(0);
            writeln!(stdout, "scored {rows}\npeak {peak}\nrows {rows}")
        }
        Err(e) => writeln!(stdout, "failed {}", e.to_string().replace('\n', " ")),
    };
    said.and_then(|()| stdout.flush()).map_err(Error::Parent)?;
    outcome.map(|_| ())
}

/// Reads the spec's files, scores them with progress lines, writes the output; its rows.
async fn score_to_file(args: &WorkerArgs, spec: &TransformSpec) -> Result<usize> {
    let store = ArtifactStore::open(&args.artifacts)?;
    let model = store.get(&spec.model_artifact).await?;
    let dataset = store.get(&spec.dataset_artifact).await?;
    let (spec, output) = (spec.clone(), args.output.clone());
    let written = tokio::task::spawn_blocking(move || -> Result<usize> {
        let done = AtomicU64::new(0);
        let (finished, stop) = mpsc::channel::<()>();
        let (parquet, rows) = std::thread::scope(|scope| {
            scope.spawn(|| report_progress(&done, stop));
            let scored = score_spec(&spec, &model, dataset, &done, &AtomicBool::new(false));
            drop(finished);
            scored
        })?;
        std::fs::write(&output, parquet).map_err(|source| Error::Output {
            path: output.clone(),
            source,
        })?;
        Ok(rows)
    });
    let rows = written
        .await
        .map_err(|e| ingot_serve::Error::Internal(format!("the scoring thread failed: {e}")))??;
    Ok(rows)
}

/// Prints `scored N` whenever the count moved, until `stop`'s sender is dropped.
fn report_progress(done: &AtomicU64, stop: mpsc::Receiver<()>) {
    let mut said = 0;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(PROGRESS_EVERY) {
        let now = done.load(Ordering::Relaxed);
        if now != said {
            said = now;
            let mut stdout = std::io::stdout().lock();
            if writeln!(stdout, "scored {now}")
                .and_then(|()| stdout.flush())
                .is_err()
            {
                return;
            }
        }
    }
}
