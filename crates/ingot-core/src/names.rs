//! Naming rules for datasets, models and endpoints, and `NAME[:VERSION]` references.

use crate::{Error, Result};

/// Longest allowed resource name.
pub const MAX_NAME_LEN: usize = 128;

/// Checks a user-supplied resource name: 1–128 characters of ASCII letters, digits, `-`, `_`
/// and `.`, starting with a letter or digit. Such names are safe inside URLs and storage keys,
/// so no `/`, `..` or other path syntax can slip through.
pub fn validate_name(name: &str) -> Result<()> {
    let fail = |reason| {
        Err(Error::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("must not be empty");
    }
    if name.len() > MAX_NAME_LEN {
        return fail("must be at most 128 characters");
    }
    let first = name.as_bytes()[0];
    if !first.is_ascii_alphanumeric() {
        return fail("must start with a letter or digit");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return fail("may contain only letters, digits, '-', '_' and '.'");
    }
    if name.contains("..") {
        return fail("must not contain '..'");
    }
    Ok(())
}

/// A reference to a registered model, optionally pinned to a version: `NAME` or `NAME:VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The registered model name.
    pub name: String,
    /// The version number, or `None` for the latest.
    pub version: Option<i64>,
}

impl std::str::FromStr for ModelRef {
    type Err = Error;

    fn from_str(reference: &str) -> Result<Self> {
        let invalid = || Error::InvalidReference {
            reference: reference.to_string(),
        };
        let (name, version) = match reference.split_once(':') {
            Some((name, version)) => {
                let version: i64 = version.parse().map_err(|_| invalid())?;
                if version < 1 {
                    return Err(invalid());
                }
                (name, Some(version))
            }
            None => (reference, None),
        };
        validate_name(name)?;
        Ok(ModelRef {
            name: name.to_string(),
            version,
        })
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.version {
            Some(version) => write!(f, "{}:{}", self.name, version),
            None => f.write_str(&self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for name in ["churn", "Churn-2", "a_b.c", "7up"] {
            assert_eq!(validate_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn rejects_path_syntax_and_odd_characters() {
        for name in [
            "", "../etc", "a/b", "a..b", ".hidden", "-x", "a b", "é", "a\\b",
        ] {
            assert!(validate_name(name).is_err(), "{name:?} should be rejected");
        }
        assert!(validate_name(&"x".repeat(129)).is_err());
    }

    #[test]
    fn parses_model_references() {
        let plain: ModelRef = "churn".parse().unwrap();
        assert_eq!(plain.version, None);
        let pinned: ModelRef = "churn:3".parse().unwrap();
        assert_eq!((pinned.name.as_str(), pinned.version), ("churn", Some(3)));
        assert_eq!(pinned.to_string(), "churn:3");
        for bad in ["churn:", "churn:0", "churn:x", ":3", "../a:1"] {
            assert!(bad.parse::<ModelRef>().is_err(), "{bad}");
        }
    }
}
