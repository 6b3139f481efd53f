//! Named (not content-addressed) artifacts under `runs/`: the files that experiment runs and
//! logged models upload by path, written and read as streams so a multi-gigabyte artifact never
//! sits in memory. Every path goes through [`validate_relative_path`] first.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};

use crate::{validate_relative_path, ArtifactStore, Error, Result};

/// Top-level folder of named artifacts.
pub const NAMED_DIR: &str = "runs";

/// Size of the parts a streamed upload is cut into.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts in flight at once; bounds upload memory to about `PART_BYTES * (this + 1)`.
const PARTS_IN_FLIGHT: usize = 2;

/// One entry of a directory listing, relative to the listed directory's parent path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedEntry {
    /// The entry's full path below `runs/` (validated form).
    pub path: String,
    pub is_dir: bool,
    /// Size in bytes for files.
    pub size: Option<u64>,
}

impl ArtifactStore {
    fn named_key(&self, path: &str) -> Result<ObjectPath> {
        let path = validate_relative_path(path)?;
        Ok(self
            .prefix
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(NAMED_DIR))
            .chain(path.split('/'))
            .collect())
    }

    /// Streams `body` into the named path, replacing what was there, and returns the byte
    /// count. The object appears only once complete; a failing stream aborts the upload.
    pub async fn put_named<S, E>(&self, path: &str, body: S) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let key = self.named_key(path)?;
        let upload = self.inner.put_multipart(&key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut body = std::pin::pin!(body);
        let mut total = 0_u64;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(Error::Upload {
                        path: path.to_string(),
                        reason: e.to_string(),
                    });
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                return Err(e.into());
            }
            total += chunk.len() as u64;
            writer.write(&chunk);
        }
        writer.finish().await?;
        Ok(total)
    }

    /// The size of a named object and a stream of its bytes; `PathNotFound` if absent.
    pub async fn get_named(&self, path: &str) -> Result<(u64, BoxStream<'static, Result<Bytes>>)> {
        let key = self.named_key(path)?;
        match self.inner.get(&key).await {
            Ok(result) => {
                let size = result.meta.size;
                Ok((size, result.into_stream().map_err(Error::from).boxed()))
            }
            Err(object_store::Error::NotFound { .. }) => Err(Error::PathNotFound {
                path: path.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// A whole named object in memory, for small files read by the server itself (an MLflow
    /// model's files); `TooLarge` past `limit` bytes, `PathNotFound` if absent.
    pub async fn read_named(&self, path: &str, limit: u64) -> Result<Bytes> {
        let (size, mut stream) = self.get_named(path).await?;
        if size > limit {
            return Err(Error::TooLarge {
                path: path.to_string(),
                size,
                limit,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        while let Some(chunk) = stream.try_next().await? {
            bytes.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(bytes))
    }

    /// The entries directly below a named directory (`None` lists the top of `runs/`), sorted
    /// by path. An absent directory lists as empty.
    pub async fn list_named(&self, dir: Option<&str>) -> Result<Vec<NamedEntry>> {
        let (key, base) = match dir.filter(|d| !d.trim_matches('/').is_empty()) {
            Some(dir) => (self.named_key(dir)?, validate_relative_path(dir)?),
            None => (
                self.prefix
                    .iter()
                    .map(String::as_str)
                    .chain(std::iter::once(NAMED_DIR))
                    .collect(),
                String::new(),
            ),
        };
        let listing = self.inner.list_with_delimiter(Some(&key)).await?;
        let join = |name: &str| {
            if base.is_empty() {
                name.to_string()
            } else {
                format!("{base}/{name}")
            }
        };
        let mut entries: Vec<NamedEntry> = Vec::new();
        for prefix in &listing.common_prefixes {
            if let Some(name) = prefix.filename() {
                entries.push(NamedEntry {
                    path: join(name),
                    is_dir: true,
                    size: None,
                });
            }
        }
        for object in &listing.objects {
            if let Some(name) = object.location.filename() {
                entries.push(NamedEntry {
                    path: join(name),
                    is_dir: false,
                    size: Some(object.size),
                });
            }
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    /// The size of a named file, or `None` if there is no file at that path.
    pub async fn named_size(&self, path: &str) -> Result<Option<u64>> {
        let key = self.named_key(path)?;
        match self.inner.head(&key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes every named object at or below `path`; returns how many were removed.
    pub async fn delete_named(&self, path: &str) -> Result<u64> {
        let key = self.named_key(path)?;
        let mut removed = 0;
        if self.inner.head(&key).await.is_ok() {
            self.inner.delete(&key).await?;
            removed += 1;
        }
        let below: Vec<ObjectPath> = self
            .inner
            .list(Some(&key))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await?;
        for location in below {
            self.inner.delete(&location).await?;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&[u8]]) -> impl Stream<Item = std::result::Result<Bytes, String>> {
        let owned: Vec<std::result::Result<Bytes, String>> = parts
            .iter()
            .map(|p| Ok(Bytes::copy_from_slice(p)))
            .collect();
        futures::stream::iter(owned)
    }

    async fn read_all(store: &ArtifactStore, path: &str) -> Vec<u8> {
        let (_, stream) = store.get_named(path).await.unwrap();
        let parts: Vec<Bytes> = stream.try_collect().await.unwrap();
        parts.concat()
    }

    #[tokio::test]
    async fn streams_round_trip_list_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path().to_str().unwrap()).unwrap();
        let n = store
            .put_named("1/abc/artifacts/a.txt", chunks(&[b"hello ", b"world"]))
            .await
            .unwrap();
        assert_eq!(n, 11);
        store
            .put_named("1/abc/artifacts/sub/b.bin", chunks(&[b"xyz"]))
            .await
            .unwrap();
        assert_eq!(
            read_all(&store, "1/abc/artifacts/a.txt").await,
            b"hello world"
        );
        let listing = store.list_named(Some("1/abc/artifacts")).await.unwrap();
        assert_eq!(
            listing,
            vec![
                NamedEntry {
                    path: "1/abc/artifacts/a.txt".into(),
                    is_dir: false,
                    size: Some(11)
                },
                NamedEntry {
                    path: "1/abc/artifacts/sub".into(),
                    is_dir: true,
                    size: None
                },
            ]
        );
        assert_eq!(
            store.named_size("1/abc/artifacts/sub/b.bin").await.unwrap(),
            Some(3)
        );
        assert_eq!(store.delete_named("1/abc/artifacts").await.unwrap(), 2);
        assert!(matches!(
            store.get_named("1/abc/artifacts/a.txt").await,
            Err(Error::PathNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn rejects_escaping_paths_and_failed_streams() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path().to_str().unwrap()).unwrap();
        for bad in ["../x", "/etc/passwd", "a/../../b", "a\\b"] {
            assert!(matches!(
                store.put_named(bad, chunks(&[b"x"])).await,
                Err(Error::InvalidPath { .. })
            ));
            assert!(store.get_named(bad).await.is_err());
        }
        let failing = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"part")),
            Err("client went away".to_string()),
        ]);
        assert!(matches!(
            store.put_named("x/y", failing).await,
            Err(Error::Upload { .. })
        ));
        assert_eq!(store.named_size("x/y").await.unwrap(), None);
    }
}
