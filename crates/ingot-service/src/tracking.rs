//! Experiment tracking and the MLflow-compatible registry as platform services: access to the
//! tracking store and to named (run) artifacts, which the MLflow routes and the native tracking
//! API share.

use ingot_artifacts::ArtifactStore;
use ingot_core::search::{Clause, Entity, Op, Search, Value};
use ingot_store::tracking::{
    MetricPoint, RegistryVersion, Run, SearchRequest, ViewType, APPROVED, REJECTED,
};

use crate::{Error, ErrorKind, Platform, Result, NATIVE_VERSION_TAG};

pub use ingot_store::tracking as tracking_types;
pub use ingot_store::TrackingStore;

impl Platform {
    /// The tracking half of the metadata store: experiments, runs, logged models and the
    /// MLflow-compatible registry. Errors convert to [`crate::Error`] with `?`.
    pub fn tracking(&self) -> &dyn TrackingStore {
        self.store.tracking()
    }

    /// The artifact store, for streaming named run artifacts.
    pub fn artifact_store(&self) -> &ArtifactStore {
        &self.artifacts
    }
}

/// One run's history of one metric, for side-by-side comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    pub run_id: String,
    pub key: String,
    pub points: Vec<MetricPoint>,
}

/// Runs with their metric histories side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct RunComparison {
    pub runs: Vec<Run>,
    pub series: Vec<MetricSeries>,
}

impl Platform {
    /// The name of the API token a caller presented (`None` if unknown).
    pub async fn token_name(&self, token: &str) -> Result<Option<String>> {
        let hash = crate::auth::hash_token(token);
        Ok(self.store.token_by_hash(&hash).await?.map(|t| t.name))
    }

    /// Compares runs: each run, and for every metric key (or only `keys` if given) each run's
    /// full history.
    pub async fn compare_runs(&self, run_ids: &[String], keys: &[String]) -> Result<RunComparison> {
        if run_ids.is_empty() || run_ids.len() > 100 {
            return Err(Error::bad_input("run_ids: give between 1 and 100 run ids"));
        }
        let tracking = self.tracking();
        let mut runs = Vec::with_capacity(run_ids.len());
        for id in run_ids {
            runs.push(tracking.run(id).await?);
        }
        let mut wanted: Vec<String> = if keys.is_empty() {
            runs.iter()
                .flat_map(|r| r.metrics.iter().map(|m| m.key.clone()))
                .collect()
        } else {
            keys.to_vec()
        };
        wanted.sort();
        wanted.dedup();
        let mut series = Vec::new();
        for key in &wanted {
            for run in &runs {
                let points = tracking.metric_history(&run.info.run_id, key).await?;
                series.push(MetricSeries {
                    run_id: run.info.run_id.clone(),
                    key: key.clone(),
                    points,
                });
            }
        }
        Ok(RunComparison { runs, series })
    }

    /// Records an approval decision on a registry version (`approve` true → `Approved`).
    pub async fn decide_approval(
        &self,
        model: &str,
        version: i64,
        approve: bool,
        by: &str,
    ) -> Result<RegistryVersion> {
        let status = if approve { APPROVED } else { REJECTED };
        Ok(self
            .tracking()
            .set_registry_version_approval(model, version, status, by)
            .await?)
    }

    /// The registry version that mirrors a native model version (tag `ingot.model_version`),
    /// if one exists.
    pub async fn mirrored_version(
        &self,
        model: &str,
        version: i64,
    ) -> Result<Option<RegistryVersion>> {
        let clause = |entity, key: &str, value: String| Clause {
            entity,
            key: key.to_string(),
            op: Op::Eq,
            value: Value::Str(value),
        };
        let request = SearchRequest {
            search: Search {
                clauses: vec![
                    clause(Entity::Attribute, "name", model.to_string()),
                    clause(Entity::Tag, NATIVE_VERSION_TAG, version.to_string()),
                ],
                order: Vec::new(),
            },
            view: ViewType::All,
            max_results: 1,
            page_token: None,
        };
        let page = self.tracking().search_registry_versions(&request).await?;
        Ok(page.items.into_iter().next())
    }

    /// Refuses to deploy a native model version when its registered model requires approval
    /// and the version (through its registry mirror) is not `Approved`.
    pub(crate) async fn check_deploy_approval(&self, model: &str, version: i64) -> Result<()> {
        let registered = match self.tracking().registered_model(model).await {
            Ok(m) => m,
            Err(ingot_store::Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if !registered.require_approval {
            return Ok(());
        }
        let status = self
            .mirrored_version(model, version)
            .await?
            .map(|v| v.approval_status);
        if status.as_deref() == Some(APPROVED) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Conflict,
            format!(
                "model {model}:{version} requires approval before deployment and is {}; \
                 approve it with `ingot model approve {model}:{version}`",
                status.as_deref().unwrap_or("not in the registry")
            ),
        ))
    }
}
