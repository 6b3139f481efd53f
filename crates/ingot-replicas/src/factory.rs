//! [`ProcessFactory`]: creates [`ProcessPool`]s whose replicas are child processes of the
//! `ingot` executable, each pool with its own private socket directory under the runtime
//! directory (stale directories of dead servers are swept when the factory is made).

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ingot_serve::{ModelSource, PoolFactory, ReplicaPool, ReplicaSpec};

use crate::pool::ProcessPool;
use crate::process::Launcher;
use crate::{Error, Result};

/// The longest socket path `sockaddr_un` holds (108 bytes with the terminating NUL).
const MAX_SOCKET_PATH: usize = 107;
/// The longest socket file name a pool uses (`<slot>.sock` with a slot below 10^9).
const SOCKET_NAME_ROOM: usize = "/999999999.sock".len();
/// Default for how long a child may take to become ready.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Creates pools of replica child processes.
pub struct ProcessFactory {
    launcher: Arc<Launcher>,
    runtime_dir: PathBuf,
    next_pool: AtomicU64,
}

pub(crate) fn private_dir(path: &Path) -> Result<()> {
    let fail = |source| Error::RuntimeDir {
        path: path.to_path_buf(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(fail)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(fail)
}

/// Removes pool directories (`<pid>-<n>`) left by processes that no longer exist.
fn sweep_stale(runtime_dir: &Path) {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(runtime_dir) else {
        return;
    };
    let me = std::process::id().to_string();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((pid, _)) = name.split_once('-') else {
            continue;
        };
        if pid.parse::<u32>().is_err() || pid == me || proc_root.join(pid).exists() {
            continue;
        }
        if let Err(e) = std::fs::remove_dir_all(entry.path()) {
            tracing::debug!("cannot remove stale replica directory {name}: {e}");
        }
    }
}

impl ProcessFactory {
    /// A factory starting `executable replica ...` children that read models from the artifact
    /// store at `artifacts` (the same location string the server opened: a directory,
    /// `file://` or `s3://` URL), with sockets under `runtime_dir` (created 0700).
    pub fn new(
        executable: impl Into<PathBuf>,
        runtime_dir: impl Into<PathBuf>,
        artifacts: impl Into<String>,
    ) -> Result<ProcessFactory> {
        let runtime_dir = runtime_dir.into();
        private_dir(&runtime_dir)?;
        let probe = runtime_dir.join(format!("{}-{}", std::process::id(), u64::MAX));
        let len = probe.as_os_str().len() + SOCKET_NAME_ROOM;
        if len > MAX_SOCKET_PATH {
            return Err(Error::SocketPathTooLong {
                path: probe.join("999999999.sock"),
                len,
                max: MAX_SOCKET_PATH,
            });
        }
        sweep_stale(&runtime_dir);
        Ok(ProcessFactory {
            launcher: Arc::new(Launcher {
                executable: executable.into(),
                artifacts: artifacts.into(),
                start_timeout: DEFAULT_START_TIMEOUT,
            }),
            runtime_dir,
            next_pool: AtomicU64::new(0),
        })
    }

    /// Sets how long a child may take to load its models and answer its first ping (default
    /// 60 s); requests wait at most this long for a replica.
    pub fn with_start_timeout(mut self, timeout: Duration) -> ProcessFactory {
        Arc::make_mut(&mut self.launcher).start_timeout = timeout;
        self
    }

    /// Starts a pool of `replicas` children serving `spec`; returns once the first is ready
    /// (at once for zero), or with the child's stderr tail when it fails to start.
    pub async fn start_pool(
        &self,
        spec: ReplicaSpec,
        replicas: u32,
    ) -> ingot_serve::Result<ProcessPool> {
        let spec_json = serde_json::to_string(&spec)
            .map_err(|e| ingot_serve::Error::Internal(format!("cannot encode the spec: {e}")))?;
        let n = self.next_pool.fetch_add(1, Ordering::Relaxed);
        let dir = self.runtime_dir.join(format!("{}-{n}", std::process::id()));
        private_dir(&dir).map_err(|e| ingot_serve::Error::Internal(e.to_string()))?;
        let name = format!("{}/{}", spec.endpoint, spec.variant);
        let memory_limit = spec.memory_limit_mib.map(crate::memory::mib_to_bytes);
        let launcher = self.launcher.clone();
        ProcessPool::start(name, spec_json, memory_limit, launcher, dir, replicas).await
    }
}

#[async_trait]
impl PoolFactory for ProcessFactory {
    /// Children read models from the artifact store themselves; `source` is not used.
    async fn create(
        &self,
        spec: ReplicaSpec,
        replicas: u32,
        _source: Arc<dyn ModelSource>,
    ) -> ingot_serve::Result<Arc<dyn ReplicaPool>> {
        Ok(Arc::new(self.start_pool(spec, replicas).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_directory_is_private_and_stale_pool_directories_are_swept() {
        let temp = tempfile::tempdir().unwrap();
        let runtime = temp.path().join("run/replicas");
        // A pid that cannot exist (above the kernel's maximum).
        let stale = runtime.join("4294967294-0");
        std::fs::create_dir_all(&stale).unwrap();
        std::fs::write(stale.join("0.sock"), b"").unwrap();
        let mine = runtime.join(format!("{}-7", std::process::id()));
        std::fs::create_dir_all(&mine).unwrap();
        let unrelated = runtime.join("notes");
        std::fs::create_dir_all(&unrelated).unwrap();

        ProcessFactory::new("/bin/false", &runtime, "/nowhere").unwrap();
        let mode = std::fs::metadata(&runtime).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(!stale.exists());
        assert!(mine.exists() && unrelated.exists());
    }

    #[test]
    fn a_runtime_directory_too_long_for_socket_paths_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        let runtime = temp.path().join("x".repeat(100));
        let error = ProcessFactory::new("/bin/false", &runtime, "/nowhere")
            .err()
            .unwrap();
        assert!(matches!(error, Error::SocketPathTooLong { .. }), "{error}");
    }

    #[tokio::test]
    async fn a_child_that_dies_at_start_fails_creation_with_its_stderr() {
        let temp = tempfile::tempdir().unwrap();
        let script = temp.path().join("fake-ingot");
        std::fs::write(
            &script,
            "#!/bin/sh\necho 'model exploded on load' >&2\nexit 3\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let factory = ProcessFactory::new(&script, temp.path().join("run"), "/nowhere").unwrap();
        let spec = ReplicaSpec {
            endpoint: "e".into(),
            variant: "v".into(),
            steps: Vec::new(),
            multi_model: None,
            batching: None,
            explain_background: None,
            memory_limit_mib: None,
        };
        let error = factory.start_pool(spec, 2).await.err().unwrap();
        let message = error.to_string();
        assert_eq!(error.status(), 503, "{message}");
        assert!(message.contains("model exploded on load"), "{message}");
    }
}
