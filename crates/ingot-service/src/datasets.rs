//! Dataset versions: parse and profile uploads off the async runtime, store the bytes by
//! content hash, and record an immutable version.

use std::path::Path;

use bytes::Bytes;
use ingot_core::records::{DatasetSummary, DatasetVersion, NewDatasetVersion};
use ingot_core::validate_name;
use ingot_data::DataFormat;

use crate::{Error, Platform, Result};

/// Guesses the format of bytes with no declared format: Parquet by its magic, JSON Lines when
/// the first non-blank byte opens an object, CSV otherwise.
fn sniff_format(bytes: &[u8]) -> DataFormat {
    if bytes.starts_with(b"PAR1") {
        return DataFormat::Parquet;
    }
    let first = bytes
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    if first == Some(b'{') {
        DataFormat::JsonLines
    } else {
        DataFormat::Csv
    }
}

impl Platform {
    /// Creates a new version of `name` from uploaded bytes. `format` wins over the extension of
    /// `source`, which wins over sniffing. Identical content returns the existing version with
    /// `false`.
    pub async fn create_dataset(
        &self,
        name: &str,
        bytes: Bytes,
        format: Option<&str>,
        source: &str,
    ) -> Result<(DatasetVersion, bool)> {
        validate_name(name)?;
        let format = match format {
            Some(text) => text.parse::<DataFormat>()?,
            None => DataFormat::from_path(source).unwrap_or_else(|| sniff_format(&bytes)),
        };
        let parse_input = bytes.clone();
        let (table, profile) = tokio::task::spawn_blocking(move || {
            let table = ingot_data::read_table_bytes(parse_input, format)?;
            let profile = ingot_data::profile(&table);
            Ok::<_, ingot_data::Error>((table, profile))
        })
        .await??;
        let size_bytes = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let artifact = self.artifacts.put(bytes).await?;
        let profile = serde_json::to_value(&profile)
            .map_err(|e| Error::internal(format!("cannot encode profile: {e}")))?;
        let new = NewDatasetVersion {
            dataset: name.to_string(),
            content_hash: artifact.digest,
            format: format.as_str().to_string(),
            size_bytes,
            row_count: i64::try_from(table.batch.num_rows()).unwrap_or(i64::MAX),
            schema: table.schema,
            profile,
            source: source.to_string(),
        };
        Ok(self.store.create_dataset_version(new).await?)
    }

    /// Creates a new version from a file on the server's machine. The path must be absolute
    /// and name a regular file; it is canonicalized, never joined onto anything.
    pub async fn create_dataset_from_path(
        &self,
        name: &str,
        path: &str,
        format: Option<&str>,
    ) -> Result<(DatasetVersion, bool)> {
        let requested = Path::new(path);
        if !requested.is_absolute() {
            return Err(Error::bad_input(format!("path {path:?} must be absolute")));
        }
        let canonical = tokio::fs::canonicalize(requested)
            .await
            .map_err(|e| Error::bad_input(format!("cannot open {path:?}: {e}")))?;
        let metadata = tokio::fs::metadata(&canonical)
            .await
            .map_err(|e| Error::bad_input(format!("cannot open {path:?}: {e}")))?;
        if !metadata.is_file() {
            return Err(Error::bad_input(format!("{path:?} is not a regular file")));
        }
        let bytes = tokio::fs::read(&canonical)
            .await
            .map_err(|e| Error::bad_input(format!("cannot read {path:?}: {e}")))?;
        let source = canonical.display().to_string();
        self.create_dataset(name, Bytes::from(bytes), format, &source)
            .await
    }

    /// All datasets with their latest version.
    pub async fn list_datasets(&self) -> Result<Vec<DatasetSummary>> {
        Ok(self.store.list_datasets().await?)
    }

    /// One version (latest when `version` is `None`).
    pub async fn dataset_version(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<DatasetVersion> {
        Ok(self.store.dataset_version(name, version).await?)
    }

    /// Every version of a dataset.
    pub async fn list_dataset_versions(&self, name: &str) -> Result<Vec<DatasetVersion>> {
        Ok(self.store.list_dataset_versions(name).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        assert_eq!(sniff_format(b"PAR1\0\0"), DataFormat::Parquet);
        assert_eq!(sniff_format(b"\n {\"a\": 1}\n"), DataFormat::JsonLines);
        assert_eq!(sniff_format(b"a,b\n1,2\n"), DataFormat::Csv);
    }
}
