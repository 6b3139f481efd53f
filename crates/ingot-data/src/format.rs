//! The file formats Ingot reads, recognised by name or by file extension.

use crate::error::Error;

/// A tabular file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum DataFormat {
    /// Comma-separated values with a header row.
    #[serde(rename = "csv")]
    Csv,
    /// Apache Parquet.
    #[serde(rename = "parquet")]
    Parquet,
    /// One JSON object per line.
    #[serde(rename = "jsonl", alias = "jsonlines", alias = "ndjson")]
    JsonLines,
}

impl DataFormat {
    /// The format implied by a path's extension (case-insensitive): `.csv`, `.parquet`/`.pq`,
    /// `.jsonl`/`.ndjson`/`.json`. Works on URLs and object-store keys too.
    pub fn from_path(path: &str) -> Option<DataFormat> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let (_, ext) = name.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "csv" => Some(DataFormat::Csv),
            "parquet" | "pq" => Some(DataFormat::Parquet),
            "jsonl" | "ndjson" | "json" => Some(DataFormat::JsonLines),
            _ => None,
        }
    }

    /// The canonical lowercase name: `csv`, `parquet` or `jsonl`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataFormat::Csv => "csv",
            DataFormat::Parquet => "parquet",
            DataFormat::JsonLines => "jsonl",
        }
    }
}

impl std::fmt::Display for DataFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DataFormat {
    type Err = Error;

    /// Accepts `csv`, `parquet`, `jsonl`, `jsonlines` and `ndjson` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(DataFormat::Csv),
            "parquet" => Ok(DataFormat::Parquet),
            "jsonl" | "jsonlines" | "ndjson" => Ok(DataFormat::JsonLines),
            _ => Err(Error::UnknownFormat(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_path_uses_the_extension() {
        assert_eq!(DataFormat::from_path("a/b/data.csv"), Some(DataFormat::Csv));
        assert_eq!(DataFormat::from_path("X.CSV"), Some(DataFormat::Csv));
        assert_eq!(
            DataFormat::from_path("s3://bucket/d.parquet"),
            Some(DataFormat::Parquet)
        );
        assert_eq!(DataFormat::from_path("d.pq"), Some(DataFormat::Parquet));
        for p in ["d.jsonl", "d.ndjson", "d.json"] {
            assert_eq!(DataFormat::from_path(p), Some(DataFormat::JsonLines));
        }
        assert_eq!(DataFormat::from_path("d.tsv"), None);
        assert_eq!(DataFormat::from_path("noext"), None);
        assert_eq!(DataFormat::from_path("dir.csv/noext"), None);
    }

    #[test]
    fn parses_names_and_round_trips() {
        for f in [DataFormat::Csv, DataFormat::Parquet, DataFormat::JsonLines] {
            assert_eq!(f.as_str().parse::<DataFormat>().unwrap(), f);
        }
        assert_eq!(
            "jsonlines".parse::<DataFormat>().unwrap(),
            DataFormat::JsonLines
        );
        assert_eq!(
            "NDJSON".parse::<DataFormat>().unwrap(),
            DataFormat::JsonLines
        );
        let err = "xls".parse::<DataFormat>().unwrap_err();
        assert_eq!(err, Error::UnknownFormat("xls".into()));
        assert_eq!(
            serde_json::to_string(&DataFormat::JsonLines).unwrap(),
            "\"jsonl\""
        );
    }
}
