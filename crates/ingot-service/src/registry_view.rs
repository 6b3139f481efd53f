//! One view of a model over both registries: each version with its Ingot model file (if it
//! is native), its MLflow registry state (stage, aliases, approval, tags) and its lineage.
//! Native versions are matched to their registry mirror by the `ingot.model_version` tag; a
//! registry version without that tag was registered through MLflow.

use std::collections::BTreeMap;

use ingot_core::records::ModelVersion;
use ingot_core::search::{Clause, Entity, Op, Search, Value};
use ingot_store::tracking::{
    RegistryVersion, SearchRequest, ViewType, DATASET_TAG, INPUTS_TAG, JOB_TAG, METRIC_TAG_PREFIX,
    NATIVE_VERSION_TAG,
};

use crate::{Error, Platform, Result};

/// A dataset a version's run read (MLflow `log_input`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct InputDataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    #[serde(default)]
    pub context: Option<String>,
}

/// Where a version came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lineage {
    pub job_id: Option<String>,
    pub run_id: Option<String>,
    pub dataset: Option<String>,
    pub dataset_version: Option<i64>,
    /// The run's final metrics (for a training job, its validation metrics).
    pub metrics: BTreeMap<String, f64>,
    pub input_datasets: Vec<InputDataset>,
}

/// One version of a model as both registries know it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDetail {
    /// The number `ingot model show NAME:VERSION` takes: the native number of a native
    /// version, the registry number otherwise.
    pub version: i64,
    /// The Ingot model file's facts; `None` for a version registered through MLflow.
    pub native: Option<ModelVersion>,
    /// The registry version (its mirror, for a native one).
    pub registry: Option<RegistryVersion>,
    pub lineage: Lineage,
}

fn not_found(kind: &'static str, name: String) -> Error {
    Error::from(ingot_store::Error::NotFound { kind, name })
}

fn tag<'a>(v: &'a RegistryVersion, key: &str) -> Option<&'a str> {
    v.tags
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value.as_str())
}

/// The lineage recorded on a registry version's reserved tags.
fn registry_lineage(v: &RegistryVersion) -> Lineage {
    let (dataset, dataset_version) = match tag(v, DATASET_TAG).and_then(|d| d.rsplit_once(':')) {
        Some((name, version)) => (Some(name.to_string()), version.parse().ok()),
        None => (None, None),
    };
    let metrics = v
        .tags
        .iter()
        .filter_map(|(k, value)| {
            let key = k.strip_prefix(METRIC_TAG_PREFIX)?;
            Some((key.to_string(), value.parse::<f64>().ok()?))
        })
        .collect();
    let input_datasets = tag(v, INPUTS_TAG)
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    Lineage {
        job_id: tag(v, JOB_TAG).map(str::to_string),
        run_id: Some(v.run_id.clone()).filter(|r| !r.is_empty()),
        dataset,
        dataset_version,
        metrics,
        input_datasets,
    }
}

fn native_lineage(native: &ModelVersion, registry: Option<&RegistryVersion>) -> Lineage {
    let from_registry = registry.map(registry_lineage).unwrap_or_default();
    Lineage {
        job_id: native.job_id.clone(),
        run_id: from_registry.run_id,
        dataset: native.dataset.clone(),
        dataset_version: native.dataset_version,
        metrics: native.metrics.0.clone().into_iter().collect(),
        input_datasets: from_registry.input_datasets,
    }
}

impl Platform {
    /// Every version of `model` in either registry, by version number.
    pub async fn model_details(&self, model: &str) -> Result<Vec<ModelDetail>> {
        let native = match self.store.list_model_versions(model).await {
            Ok(versions) => versions,
            Err(ingot_store::Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let registered = match self.tracking().registered_model(model).await {
            Ok(_) => true,
            Err(ingot_store::Error::NotFound { .. }) => false,
            Err(e) => return Err(e.into()),
        };
        let mut registry = if registered {
            let request = SearchRequest {
                search: Search {
                    clauses: vec![Clause {
                        entity: Entity::Attribute,
                        key: "name".to_string(),
                        op: Op::Eq,
                        value: Value::Str(model.to_string()),
                    }],
                    order: Vec::new(),
                },
                view: ViewType::All,
                max_results: 100_000,
                page_token: None,
            };
            self.tracking()
                .search_registry_versions(&request)
                .await?
                .items
        } else {
            Vec::new()
        };
        if native.is_empty() && !registered {
            return Err(not_found("model", model.to_string()));
        }
        let mut details = Vec::new();
        for version in native {
            let mirror = registry.iter().position(|r| {
                tag(r, NATIVE_VERSION_TAG) == Some(version.version.to_string().as_str())
            });
            let mirror = mirror.map(|at| registry.remove(at));
            details.push(ModelDetail {
                version: version.version,
                lineage: native_lineage(&version, mirror.as_ref()),
                native: Some(version),
                registry: mirror,
            });
        }
        for r in registry {
            if tag(&r, NATIVE_VERSION_TAG).is_some() {
                // A mirror whose native version is gone; nothing to show natively.
                continue;
            }
            details.push(ModelDetail {
                version: r.version,
                lineage: registry_lineage(&r),
                native: None,
                registry: Some(r),
            });
        }
        details.sort_by_key(|d| (d.version, d.native.is_none()));
        Ok(details)
    }

    /// One version of `model` in either registry (the latest when `version` is `None`); a
    /// native version wins if a registry-only version has the same number.
    pub async fn model_detail(&self, model: &str, version: Option<i64>) -> Result<ModelDetail> {
        let details = self.model_details(model).await?;
        let wanted = version.or_else(|| details.iter().map(|d| d.version).max());
        let found = details.into_iter().find(|d| Some(d.version) == wanted);
        found.ok_or_else(|| match version {
            Some(number) => not_found("model version", format!("{model}:{number}")),
            None => not_found("model", model.to_string()),
        })
    }
}
