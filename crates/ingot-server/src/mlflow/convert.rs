//! Domain records → MLflow wire types.

use ingot_protocol_mlflow::types as wire;
use ingot_service::tracking_types as domain;

pub(crate) fn pairs(pairs: &[domain::KeyValue]) -> Vec<wire::KeyValue> {
    pairs
        .iter()
        .map(|(key, value)| wire::KeyValue {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

pub(crate) fn experiment(e: &domain::Experiment) -> wire::Experiment {
    wire::Experiment {
        experiment_id: e.experiment_id.to_string(),
        name: e.name.clone(),
        artifact_location: e.artifact_location.clone(),
        lifecycle_stage: e.lifecycle_stage.clone(),
        last_update_time: e.last_update_time,
        creation_time: e.creation_time,
        tags: pairs(&e.tags),
    }
}

pub(crate) fn metric(m: &domain::MetricPoint) -> wire::MetricOut {
    wire::MetricOut {
        key: m.key.clone(),
        value: m.value,
        timestamp: m.timestamp,
        step: m.step,
    }
}

pub(crate) fn run_info(i: &domain::RunInfo) -> wire::RunInfo {
    wire::RunInfo {
        run_id: i.run_id.clone(),
        run_uuid: i.run_id.clone(),
        run_name: i.run_name.clone(),
        experiment_id: i.experiment_id.to_string(),
        user_id: i.user_id.clone(),
        status: i.status.clone(),
        start_time: i.start_time,
        end_time: i.end_time,
        artifact_uri: i.artifact_uri.clone(),
        lifecycle_stage: i.lifecycle_stage.clone(),
    }
}

pub(crate) fn run(r: &domain::Run) -> wire::Run {
    wire::Run {
        info: run_info(&r.info),
        data: wire::RunData {
            metrics: r.metrics.iter().map(metric).collect(),
            params: pairs(&r.params),
            tags: pairs(&r.tags),
        },
        inputs: wire::RunInputs {
            dataset_inputs: r
                .inputs
                .iter()
                .map(|input| wire::DatasetInput {
                    tags: pairs(&input.tags),
                    dataset: wire::Dataset {
                        name: input.dataset.name.clone(),
                        digest: input.dataset.digest.clone(),
                        source_type: input.dataset.source_type.clone(),
                        source: input.dataset.source.clone(),
                        schema: input.dataset.schema.clone(),
                        profile: input.dataset.profile.clone(),
                    },
                })
                .collect(),
        },
        outputs: wire::RunOutputs {
            model_outputs: r
                .outputs
                .iter()
                .map(|o| wire::ModelOutput {
                    model_id: o.model_id.clone(),
                    step: o.step,
                })
                .collect(),
        },
    }
}

pub(crate) fn logged_model(
    m: &domain::LoggedModel,
    metrics: &[domain::LoggedModelMetric],
) -> wire::LoggedModel {
    wire::LoggedModel {
        info: wire::LoggedModelInfo {
            model_id: m.model_id.clone(),
            experiment_id: m.experiment_id.to_string(),
            name: m.name.clone(),
            creation_timestamp_ms: m.creation_timestamp,
            last_updated_timestamp_ms: m.last_updated_timestamp,
            artifact_uri: m.artifact_location.clone(),
            status: m.status.clone(),
            model_type: m.model_type.clone(),
            source_run_id: m.source_run_id.clone(),
            tags: pairs(&m.tags),
        },
        data: wire::LoggedModelData {
            params: pairs(&m.params),
            metrics: metrics
                .iter()
                .map(|lm| wire::LoggedModelMetricOut {
                    metric: metric(&lm.point),
                    model_id: m.model_id.clone(),
                    run_id: lm.run_id.clone(),
                })
                .collect(),
        },
    }
}

pub(crate) fn model_version(v: &domain::RegistryVersion) -> wire::ModelVersion {
    wire::ModelVersion {
        name: v.name.clone(),
        version: v.version.to_string(),
        creation_timestamp: v.creation_timestamp,
        last_updated_timestamp: v.last_updated_timestamp,
        user_id: v.user_id.clone(),
        current_stage: v.current_stage.clone(),
        description: v.description.clone(),
        source: v.source.clone(),
        run_id: v.run_id.clone(),
        status: v.status.clone(),
        tags: pairs(&v.tags),
        run_link: v.run_link.clone(),
        aliases: v.aliases.clone(),
        model_id: v.model_id.clone(),
    }
}

pub(crate) fn registered_model(m: &domain::RegisteredModel) -> wire::RegisteredModel {
    wire::RegisteredModel {
        name: m.name.clone(),
        creation_timestamp: m.creation_timestamp,
        last_updated_timestamp: m.last_updated_timestamp,
        description: m.description.clone(),
        latest_versions: m.latest_versions.iter().map(model_version).collect(),
        tags: pairs(&m.tags),
        aliases: m
            .aliases
            .iter()
            .map(|(alias, version)| wire::Alias {
                alias: alias.clone(),
                version: version.to_string(),
            })
            .collect(),
    }
}
