//! Parsing of artifact store locations: a local directory, `file:///dir` or
//! `s3://bucket/prefix`.

use std::path::PathBuf;

use crate::paths::validate_relative_path;
use crate::{Error, Result};

/// Where an artifact store keeps its objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A local directory (possibly not yet existing).
    Local(PathBuf),
    /// A bucket and a key prefix (normalized, possibly empty) in an S3-compatible store.
    S3 { bucket: String, prefix: String },
}

impl Location {
    pub(crate) fn parse(location: &str) -> Result<Location> {
        let fail = |reason: &str| {
            Err(Error::InvalidLocation {
                location: location.to_string(),
                reason: reason.to_string(),
            })
        };
        if location.trim().is_empty() {
            return fail("must not be empty");
        }
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return fail("an s3 location needs a bucket: s3://bucket/prefix");
            }
            let prefix = prefix.trim_matches('/');
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                validate_relative_path(prefix).map_err(|e| Error::InvalidLocation {
                    location: location.to_string(),
                    reason: e.to_string(),
                })?
            };
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix,
            });
        }
        if let Some(rest) = location.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return fail("a file location must be an absolute path: file:///dir");
            }
            return Ok(Location::Local(PathBuf::from(rest)));
        }
        if let Some((scheme, _)) = location.split_once("://") {
            let reason =
                format!("unsupported scheme {scheme:?}; use a directory, file:// or s3://");
            return fail(&reason);
        }
        Ok(Location::Local(PathBuf::from(location)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_locations() {
        assert_eq!(
            Location::parse("s3://bucket/a/b/").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(
            Location::parse("s3://bucket").unwrap(),
            Location::S3 {
                bucket: "bucket".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            Location::parse("file:///x/y").unwrap(),
            Location::Local("/x/y".into())
        );
        assert_eq!(
            Location::parse("rel/dir").unwrap(),
            Location::Local("rel/dir".into())
        );
    }

    #[test]
    fn rejects_bad_locations() {
        for bad in [
            "",
            "s3://",
            "s3:///prefix",
            "s3://b/../x",
            "file://relative",
            "gs://b/p",
        ] {
            assert!(
                matches!(Location::parse(bad), Err(Error::InvalidLocation { .. })),
                "{bad:?} should be rejected"
            );
        }
    }
}
