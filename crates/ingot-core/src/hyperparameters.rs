//! Hyperparameters as typed-on-read string maps, and named metric values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Hyperparameters as given by the user (`--hp key=value`). Keys are kept sorted so that
/// iteration order never depends on a hash seed. Algorithms read values with the typed getters,
/// which name the offending key on error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hyperparameters(pub BTreeMap<String, String>);

impl Hyperparameters {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `key=value` pairs.
    pub fn parse_pairs<'a>(pairs: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut map = BTreeMap::new();
        for pair in pairs {
            let (key, value) =
                pair.split_once('=')
                    .ok_or_else(|| Error::InvalidHyperparameter {
                        name: pair.to_string(),
                        reason: "expected KEY=VALUE".to_string(),
                    })?;
            let key = key.trim();
            if key.is_empty() {
                return Err(Error::InvalidHyperparameter {
                    name: pair.to_string(),
                    reason: "empty key".to_string(),
                });
            }
            map.insert(key.to_string(), value.trim().to_string());
        }
        Ok(Hyperparameters(map))
    }

    /// Sets a value.
    pub fn set(&mut self, key: impl Into<String>, value: impl ToString) {
        self.0.insert(key.into(), value.to_string());
    }

    /// The raw value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Keys not in `known`, so callers can reject typos.
    pub fn unknown_keys<'a>(&'a self, known: &'a [&str]) -> impl Iterator<Item = &'a str> {
        self.0
            .keys()
            .map(String::as_str)
            .filter(move |k| !known.contains(k))
    }

    /// A float value, or `default` when absent.
    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64> {
        self.parse_or(key, default, "a number")
    }

    /// An unsigned integer value, or `default` when absent.
    pub fn usize_or(&self, key: &str, default: usize) -> Result<usize> {
        self.parse_or(key, default, "a non-negative integer")
    }

    /// A 64-bit unsigned integer value, or `default` when absent.
    pub fn u64_or(&self, key: &str, default: u64) -> Result<u64> {
        self.parse_or(key, default, "a non-negative integer")
    }

    /// A boolean value (`true`/`false`/`1`/`0`), or `default` when absent.
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(other) => Err(Error::InvalidHyperparameter {
                name: key.to_string(),
                reason: format!("expected true or false, got {other:?}"),
            }),
        }
    }

    fn parse_or<T: std::str::FromStr>(&self, key: &str, default: T, what: &str) -> Result<T> {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| Error::InvalidHyperparameter {
                name: key.to_string(),
                reason: format!("expected {what}, got {raw:?}"),
            }),
        }
    }
}

/// Named metric values (e.g. `auc`, `rmse`), sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metrics(pub BTreeMap<String, f64>);

impl Metrics {
    /// Records a value.
    pub fn insert(&mut self, name: impl Into<String>, value: f64) {
        self.0.insert(name.into(), value);
    }

    /// A value by name.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters_name_the_key() {
        let hp = Hyperparameters::parse_pairs(["l2=0.5", "epochs=abc"]).unwrap();
        assert_eq!(hp.f64_or("l2", 1.0).unwrap(), 0.5);
        assert_eq!(hp.f64_or("missing", 1.0).unwrap(), 1.0);
        let err = hp.usize_or("epochs", 3).unwrap_err();
        assert!(err.to_string().contains("epochs"), "{err}");
        assert!(Hyperparameters::parse_pairs(["novalue"]).is_err());
    }
}
