//! Validation of user-supplied relative paths and of artifact digests.

use crate::{Error, Result};

/// Longest accepted relative path, in bytes.
const MAX_PATH_BYTES: usize = 1024;

/// Validates a user-supplied relative artifact path (e.g. an artifact name inside a run) and
/// returns it normalized: its segments joined with single `/`s, without empty segments.
///
/// Rejected: the empty path, paths over 1024 bytes, absolute paths, Windows drive prefixes
/// (`C:x`, `C:\x`), backslashes, NUL and other control characters, and `.` or `..` segments.
/// An accepted path can therefore be joined below a root directory or key prefix and never
/// escape it.
pub fn validate_relative_path(path: &str) -> Result<String> {
    let fail = |reason| {
        Err(Error::InvalidPath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return fail("must not be empty");
    }
    if path.len() > MAX_PATH_BYTES {
        return fail("must be at most 1024 bytes");
    }
    if path.chars().any(char::is_control) {
        return fail("must not contain control characters");
    }
    if path.contains('\\') {
        return fail("must not contain backslashes");
    }
    if path.starts_with('/') {
        return fail("must be relative");
    }
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return fail("must not start with a drive prefix");
    }
    let mut segments = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" => continue,
            "." => return fail("must not contain '.' segments"),
            ".." => return fail("must not contain '..' segments"),
            _ => segments.push(segment),
        }
    }
    if segments.is_empty() {
        return fail("must name at least one segment");
    }
    Ok(segments.join("/"))
}

/// Checks that a digest is exactly 64 lowercase hex characters, so it is safe inside a key.
pub(crate) fn validate_digest(digest: &str) -> Result<()> {
    let valid = digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidPath {
            path: digest.to_string(),
            reason: "a digest must be 64 lowercase hex characters",
        })
    }
}
