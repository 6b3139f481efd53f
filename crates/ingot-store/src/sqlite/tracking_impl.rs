//! [`TrackingStore`] for [`SqliteStore`]: delegation to the per-record modules.

use super::{
    experiments, logged_model_index, logged_models, registry, run_outputs, run_search, runs,
    SqliteStore,
};
use crate::tracking::{
    DatasetInput, Experiment, KeyValue, LoggedModel, LoggedModelMetric, MetricPoint, ModelOutput,
    NewRegistryVersion, NewRun, Page, RegisteredModel, RegistryVersion, Run, RunInfo, RunUpdate,
    SearchRequest, TrackingStore,
};
use crate::Result;

#[async_trait::async_trait]
impl TrackingStore for SqliteStore {
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: &str,
        tags: &[KeyValue],
    ) -> Result<Experiment> {
        experiments::create(&self.pool, name, artifact_location, tags).await
    }
    async fn experiment(&self, id: i64) -> Result<Experiment> {
        experiments::get(&self.pool, id).await
    }
    async fn experiment_by_name(&self, name: &str) -> Result<Experiment> {
        experiments::by_name(&self.pool, name).await
    }
    async fn search_experiments(&self, request: &SearchRequest) -> Result<Page<Experiment>> {
        experiments::search(&self.pool, request).await
    }
    async fn rename_experiment(&self, id: i64, name: &str) -> Result<()> {
        experiments::rename(&self.pool, id, name).await
    }
    async fn set_experiment_stage(&self, id: i64, stage: &str) -> Result<()> {
        experiments::set_stage(&self.pool, id, stage).await
    }
    async fn set_experiment_tag(&self, id: i64, key: &str, value: &str) -> Result<()> {
        experiments::set_tag(&self.pool, id, key, value).await
    }
    async fn delete_experiment_tag(&self, id: i64, key: &str) -> Result<()> {
        experiments::delete_tag(&self.pool, id, key).await
    }

    async fn create_run(&self, new: NewRun) -> Result<Run> {
        runs::create(&self.writes, new).await
    }
    async fn run(&self, run_id: &str) -> Result<Run> {
        let mut runs = vec![runs::get(&self.pool, run_id).await?];
        run_outputs::fill(&self.pool, &mut runs).await?;
        Ok(runs.remove(0))
    }
    async fn update_run(&self, run_id: &str, update: RunUpdate) -> Result<RunInfo> {
        runs::update(&self.pool, run_id, update).await
    }
    async fn set_run_stage(&self, run_id: &str, stage: &str) -> Result<()> {
        runs::set_stage(&self.pool, run_id, stage).await
    }
    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[MetricPoint],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<()> {
        runs::log_batch(&self.writes, run_id, metrics, params, tags).await
    }
    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()> {
        runs::delete_tag(&self.pool, run_id, key).await
    }
    async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>> {
        runs::metric_history(&self.pool, run_id, key).await
    }
    async fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        runs::log_inputs(&self.pool, run_id, inputs).await
    }
    async fn log_outputs(&self, run_id: &str, outputs: &[ModelOutput]) -> Result<()> {
        run_outputs::log(&self.pool, run_id, outputs).await
    }
    async fn search_runs(
        &self,
        experiment_ids: &[i64],
        request: &SearchRequest,
    ) -> Result<Page<Run>> {
        let mut page = run_search::search(&self.pool, experiment_ids, request).await?;
        run_outputs::fill(&self.pool, &mut page.items).await?;
        Ok(page)
    }

    async fn create_logged_model(&self, model: &LoggedModel) -> Result<()> {
        logged_models::create(&self.pool, model).await
    }
    async fn logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        logged_models::get(&self.pool, model_id).await
    }
    async fn log_logged_model_metrics(
        &self,
        model_id: &str,
        run_id: &str,
        points: &[MetricPoint],
    ) -> Result<()> {
        logged_model_index::log_metrics(&self.pool, model_id, run_id, points).await
    }
    async fn logged_model_metrics(&self, model_id: &str) -> Result<Vec<LoggedModelMetric>> {
        logged_model_index::metrics(&self.pool, model_id).await
    }
    async fn update_logged_model(
        &self,
        model_id: &str,
        status: Option<&str>,
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<LoggedModel> {
        logged_models::update(&self.pool, model_id, status, params, tags, None).await
    }
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        logged_models::update(&self.pool, model_id, None, &[], &[], Some(key)).await?;
        Ok(())
    }
    async fn search_logged_models(
        &self,
        experiment_ids: &[i64],
        request: &SearchRequest,
    ) -> Result<Page<LoggedModel>> {
        logged_models::search(&self.pool, experiment_ids, request).await
    }

    async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &[KeyValue],
    ) -> Result<RegisteredModel> {
        registry::create_model(&self.pool, name, description, tags).await
    }
    async fn registered_model(&self, name: &str) -> Result<RegisteredModel> {
        registry::get_model(&self.pool, name).await
    }
    async fn search_registered_models(
        &self,
        request: &SearchRequest,
    ) -> Result<Page<RegisteredModel>> {
        registry::search_models(&self.pool, request).await
    }
    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<()> {
        registry::rename_model(&self.pool, name, new_name).await
    }
    async fn update_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        require_approval: Option<bool>,
    ) -> Result<()> {
        registry::update_model(&self.pool, name, description, require_approval).await
    }
    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        registry::delete_model(&self.pool, name).await
    }
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        registry::set_model_tag(&self.pool, name, key, value).await
    }
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        registry::delete_model_tag(&self.pool, name, key).await
    }
    async fn create_registry_version(&self, new: NewRegistryVersion) -> Result<RegistryVersion> {
        registry::create_version(&self.pool, new).await
    }
    async fn registry_version(&self, name: &str, version: i64) -> Result<RegistryVersion> {
        registry::get_version(&self.pool, name, version).await
    }
    async fn search_registry_versions(
        &self,
        request: &SearchRequest,
    ) -> Result<Page<RegistryVersion>> {
        registry::search_versions(&self.pool, request).await
    }
    async fn update_registry_version(
        &self,
        name: &str,
        version: i64,
        description: Option<&str>,
    ) -> Result<RegistryVersion> {
        registry::update_version(&self.pool, name, version, description).await
    }
    async fn transition_registry_version(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
    ) -> Result<RegistryVersion> {
        registry::transition_version(&self.pool, name, version, stage, archive_existing).await
    }
    async fn set_registry_version_approval(
        &self,
        name: &str,
        version: i64,
        status: &str,
        by: &str,
    ) -> Result<RegistryVersion> {
        registry::set_approval(&self.pool, name, version, status, by).await
    }
    async fn delete_registry_version(&self, name: &str, version: i64) -> Result<()> {
        registry::delete_version(&self.pool, name, version).await
    }
    async fn set_registry_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        registry::set_version_tag(&self.pool, name, version, key, value).await
    }
    async fn delete_registry_version_tag(&self, name: &str, version: i64, key: &str) -> Result<()> {
        registry::delete_version_tag(&self.pool, name, version, key).await
    }
    async fn set_registry_alias(&self, name: &str, alias: &str, version: i64) -> Result<()> {
        registry::set_alias(&self.pool, name, alias, version).await
    }
    async fn delete_registry_alias(&self, name: &str, alias: &str) -> Result<()> {
        registry::delete_alias(&self.pool, name, alias).await
    }
    async fn registry_version_by_alias(&self, name: &str, alias: &str) -> Result<RegistryVersion> {
        registry::version_by_alias(&self.pool, name, alias).await
    }
}
