//! Platform-written files outside runs: data capture (`capture/`) and monitoring reports
//! (`monitoring/`), each a small object written whole and listed by prefix. Paths are
//! validated like every user path; the area is chosen by the caller from a closed set.

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};

use crate::{validate_relative_path, ArtifactStore, Error, Result};

/// A top-level folder the platform writes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Endpoint data capture: `capture/<endpoint>/<yyyy>/<mm>/<dd>/<hh>/<file>.jsonl`.
    Capture,
    /// Monitoring baselines, reports and ground truth.
    Monitoring,
}

impl Area {
    fn dir(self) -> &'static str {
        match self {
            Area::Capture => "capture",
            Area::Monitoring => "monitoring",
        }
    }
}

impl ArtifactStore {
    fn area_key(&self, area: Area, path: &str) -> Result<ObjectPath> {
        let path = validate_relative_path(path)?;
        Ok(self
            .prefix
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(area.dir()))
            .chain(path.split('/'))
            .collect())
    }

    /// Writes a whole file (atomically: it appears complete or not at all).
    pub async fn put_in(&self, area: Area, path: &str, bytes: Bytes) -> Result<()> {
        let key = self.area_key(area, path)?;
        self.inner.put(&key, PutPayload::from(bytes)).await?;
        Ok(())
    }

    /// Reads a whole file.
    pub async fn get_in(&self, area: Area, path: &str) -> Result<Bytes> {
        let key = self.area_key(area, path)?;
        match self.inner.get(&key).await {
            Ok(result) => Ok(result.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(Error::PathNotFound {
                path: format!("{}/{path}", area.dir()),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Every file below `dir` (recursively), as paths relative to the area, sorted.
    pub async fn list_in(&self, area: Area, dir: &str) -> Result<Vec<String>> {
        use futures::TryStreamExt;
        let key = self.area_key(area, dir)?;
        let root_len =
            self.prefix.iter().map(|p| p.len() + 1).sum::<usize>() + area.dir().len() + 1;
        let objects: Vec<_> = self.inner.list(Some(&key)).try_collect().await?;
        let mut paths: Vec<String> = objects
            .iter()
            .filter_map(|o| o.location.as_ref().get(root_len..).map(str::to_string))
            .collect();
        paths.sort();
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_and_list_by_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(&dir.path().display().to_string()).unwrap();
        store
            .put_in(
                Area::Capture,
                "ep/2026/11/21/08/a.jsonl",
                Bytes::from_static(b"{}\n"),
            )
            .await
            .unwrap();
        store
            .put_in(
                Area::Capture,
                "ep/2026/11/21/09/b.jsonl",
                Bytes::from_static(b"[]\n"),
            )
            .await
            .unwrap();
        store
            .put_in(Area::Capture, "other/x.jsonl", Bytes::from_static(b"1"))
            .await
            .unwrap();
        assert_eq!(
            store.list_in(Area::Capture, "ep").await.unwrap(),
            ["ep/2026/11/21/08/a.jsonl", "ep/2026/11/21/09/b.jsonl"]
        );
        assert_eq!(
            store
                .get_in(Area::Capture, "ep/2026/11/21/09/b.jsonl")
                .await
                .unwrap(),
            Bytes::from_static(b"[]\n")
        );
        assert!(store
            .list_in(Area::Monitoring, "ep")
            .await
            .unwrap()
            .is_empty());
        assert!(store
            .put_in(Area::Capture, "../escape", Bytes::new())
            .await
            .is_err());
        assert!(matches!(
            store.get_in(Area::Capture, "ep/none").await,
            Err(Error::PathNotFound { .. })
        ));
    }
}
