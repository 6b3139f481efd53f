//! The in-memory cache of loaded endpoint models: invocations read from here, never from disk.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ingot_catalog::LoadedModel;

/// A model loaded for one endpoint.
pub struct LoadedEndpoint {
    /// The registered model name.
    pub model: String,
    /// The registered model version.
    pub version: i64,
    /// The decoded model, ready to score.
    pub loaded: LoadedModel,
}

/// Endpoint name → loaded model. Cheap to clone; readers never block each other.
#[derive(Clone, Default)]
pub struct ModelCache {
    entries: Arc<RwLock<HashMap<String, Arc<LoadedEndpoint>>>>,
}

impl ModelCache {
    /// The loaded model of an endpoint, if any.
    pub fn get(&self, endpoint: &str) -> Option<Arc<LoadedEndpoint>> {
        self.read().get(endpoint).cloned()
    }

    /// Installs (or replaces) an endpoint's model; in-flight requests keep the old `Arc`.
    pub fn insert(&self, endpoint: &str, loaded: LoadedEndpoint) {
        self.write().insert(endpoint.to_string(), Arc::new(loaded));
    }

    /// Drops an endpoint's model.
    pub fn remove(&self, endpoint: &str) -> Option<Arc<LoadedEndpoint>> {
        self.write().remove(endpoint)
    }

    /// How many endpoints are loaded.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<LoadedEndpoint>>> {
        // A poisoned lock only means a writer panicked mid-insert of a whole Arc; the map
        // itself is always consistent, so recover it.
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<LoadedEndpoint>>> {
        self.entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
