//! The content-addressed artifact store over an [`ObjectStore`].

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use sha2::{Digest, Sha256};

use crate::location::Location;
use crate::paths::validate_digest;
use crate::{ArtifactRef, Error, Result};

/// Top-level folder of content-addressed objects, named after the hash function.
const CONTENT_DIR: &str = "sha256";

/// Content-addressed storage of immutable artifacts. Cheap to clone.
#[derive(Clone)]
pub struct ArtifactStore {
    pub(crate) inner: Arc<dyn ObjectStore>,
    /// Key segments every object lives under (empty for local stores).
    pub(crate) prefix: Vec<String>,
    /// Root directory of a local store, for fsyncing what was written.
    local_root: Option<PathBuf>,
    description: String,
}

impl std::fmt::Debug for ArtifactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactStore")
            .field("location", &self.description)
            .finish()
    }
}

impl ArtifactStore {
    /// Opens a store at `location`: a local directory path (created if absent), `file:///abs/dir`,
    /// or `s3://bucket/prefix`. S3 is configured from the `AWS_*` environment variables (see
    /// `AmazonS3Builder::from_env`), including `AWS_ENDPOINT` and `AWS_ALLOW_HTTP` for
    /// S3-compatible stores such as MinIO. Opening makes no network call.
    pub fn open(location: &str) -> Result<ArtifactStore> {
        let invalid = |reason: String| Error::InvalidLocation {
            location: location.to_string(),
            reason,
        };
        match Location::parse(location)? {
            Location::Local(dir) => {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| invalid(format!("cannot create directory: {e}")))?;
                let root = std::fs::canonicalize(&dir)
                    .map_err(|e| invalid(format!("cannot resolve directory: {e}")))?;
                let store =
                    LocalFileSystem::new_with_prefix(&root).map_err(|e| invalid(e.to_string()))?;
                Ok(ArtifactStore {
                    inner: Arc::new(store),
                    prefix: Vec::new(),
                    description: format!("file://{}", root.display()),
                    local_root: Some(root),
                })
            }
            Location::S3 { bucket, prefix } => {
                let store = AmazonS3Builder::from_env()
                    .with_bucket_name(&bucket)
                    .build()
                    .map_err(|e| invalid(e.to_string()))?;
                let description = if prefix.is_empty() {
                    format!("s3://{bucket}")
                } else {
                    format!("s3://{bucket}/{prefix}")
                };
                Ok(ArtifactStore {
                    inner: Arc::new(store),
                    prefix: prefix
                        .split('/')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                    local_root: None,
                    description,
                })
            }
        }
    }

    /// Stores `bytes` under their sha256 and returns their address. Idempotent: if an object of
    /// that digest and size already exists it is left alone.
    ///
    /// Writes are atomic, so a reader or a crash never leaves a partial object under the final
    /// key: object_store's local backend writes to a staging file beside the destination and
    /// `rename`s it into place (verified in object_store 0.12's `LocalFileSystem::put_opts`), and
    /// an S3 PUT becomes visible only once complete. For local stores the file and its directory
    /// are additionally fsynced before returning, since the backend does not, so an acknowledged
    /// artifact survives power loss just like the metadata that refers to it.
    pub async fn put(&self, bytes: Bytes) -> Result<ArtifactRef> {
        let digest = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as u64;
        let key = self.key(&digest);
        match self.inner.head(&key).await {
            Ok(meta) if meta.size == size => return Ok(ArtifactRef { digest, size }),
            Ok(_) => tracing::warn!(%digest, "replacing an artifact whose size is wrong"),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        self.inner.put(&key, PutPayload::from(bytes)).await?;
        self.sync_local(&digest).await?;
        tracing::debug!(%digest, size, "stored artifact");
        Ok(ArtifactRef { digest, size })
    }

    /// Reads an artifact and verifies its sha256: `NotFound` if absent, `Corrupt` if the stored
    /// bytes do not match the digest.
    pub async fn get(&self, digest: &str) -> Result<Bytes> {
        validate_digest(digest)?;
        let bytes = match self.inner.get(&self.key(digest)).await {
            Ok(result) => result.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::NotFound {
                    digest: digest.to_string(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        if hex::encode(Sha256::digest(&bytes)) != digest {
            tracing::error!(%digest, "artifact content does not match its digest");
            return Err(Error::Corrupt {
                digest: digest.to_string(),
            });
        }
        Ok(bytes)
    }

    /// Whether an artifact with this digest exists (its content is not verified).
    pub async fn exists(&self, digest: &str) -> Result<bool> {
        validate_digest(digest)?;
        match self.inner.head(&self.key(digest)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The size of an artifact in bytes: `NotFound` if absent.
    pub async fn size(&self, digest: &str) -> Result<u64> {
        validate_digest(digest)?;
        match self.inner.head(&self.key(digest)).await {
            Ok(meta) => Ok(meta.size),
            Err(object_store::Error::NotFound { .. }) => Err(Error::NotFound {
                digest: digest.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Where the store lives, e.g. `file:///home/x/.ingot/artifacts` or `s3://bucket/prefix`;
    /// never contains credentials.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// The key of a (validated) digest: `<prefix>/sha256/<first 2 hex>/<digest>`.
    fn key(&self, digest: &str) -> ObjectPath {
        self.prefix
            .iter()
            .map(String::as_str)
            .chain([CONTENT_DIR, &digest[..2], digest])
            .collect()
    }

    /// Flushes a freshly written local object and its directory entry to disk.
    async fn sync_local(&self, digest: &str) -> Result<()> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let dir = root.join(CONTENT_DIR).join(&digest[..2]);
        let file = dir.join(digest);
        let synced = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::File::open(&file)?.sync_all()?;
            #[cfg(unix)]
            {
                std::fs::File::open(&dir)?.sync_all()?;
                if let Some(parent) = dir.parent() {
                    std::fs::File::open(parent)?.sync_all()?;
                }
            }
            Ok(())
        })
        .await;
        let generic = |source: Box<dyn std::error::Error + Send + Sync>| {
            Error::Store(object_store::Error::Generic {
                store: "LocalFileSystem",
                source,
            })
        };
        match synced {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(generic(Box::new(e))),
            Err(e) => Err(generic(Box::new(e))),
        }
    }
}
