//! Explicit conversions from domain records to wire types: the only place the two meet.

use ingot_core::records::{
    DatasetSummary, DatasetVersion, Endpoint, Job, LogLine, MetricPoint, ModelSummary, ModelVersion,
};
use ingot_core::Schema;

use crate::types::*;

/// Schema columns as wire fields.
pub fn fields(schema: &Schema) -> Vec<FieldView> {
    schema
        .fields
        .iter()
        .map(|f| FieldView {
            name: f.name.clone(),
            column_type: f.column_type.as_str().to_string(),
            nullable: f.nullable,
        })
        .collect()
}

impl From<DatasetSummary> for DatasetSummaryView {
    fn from(d: DatasetSummary) -> Self {
        DatasetSummaryView {
            name: d.name,
            latest_version: d.latest_version,
            version_count: d.version_count,
            created_at: d.created_at,
        }
    }
}

impl From<DatasetVersion> for DatasetVersionView {
    fn from(d: DatasetVersion) -> Self {
        DatasetVersionView {
            schema: fields(&d.schema),
            dataset: d.dataset,
            version: d.version,
            content_hash: d.content_hash,
            format: d.format,
            size_bytes: d.size_bytes,
            row_count: d.row_count,
            profile: d.profile,
            source: d.source,
            created_at: d.created_at,
            created: false,
        }
    }
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        let spec = j.spec;
        JobView {
            id: j.id,
            status: j.status.as_str().to_string(),
            failure_reason: j.failure_reason,
            dataset: spec.dataset,
            dataset_version: spec.dataset_version,
            validation_dataset: spec.validation_dataset,
            validation_dataset_version: spec.validation_dataset_version,
            target: spec.target,
            algorithm: spec.algorithm,
            hyperparameters: spec.hyperparameters.0,
            drop_columns: spec.drop_columns,
            validation_fraction: spec.validation_fraction,
            seed: spec.seed,
            metrics: j.metrics.0,
            model_name: j.model_name,
            model_version: j.model_version,
            created_at: j.created_at,
            started_at: j.started_at,
            ended_at: j.ended_at,
            progress: None,
        }
    }
}

impl From<LogLine> for LogLineView {
    fn from(l: LogLine) -> Self {
        LogLineView {
            seq: l.seq,
            at: l.at,
            message: l.message,
        }
    }
}

impl From<MetricPoint> for MetricPointView {
    fn from(m: MetricPoint) -> Self {
        MetricPointView {
            name: m.name,
            step: m.step,
            value: m.value,
            at: m.at,
        }
    }
}

impl From<ModelSummary> for ModelSummaryView {
    fn from(m: ModelSummary) -> Self {
        ModelSummaryView {
            name: m.name,
            latest_version: m.latest_version,
            version_count: m.version_count,
            created_at: m.created_at,
            origin: match (m.native_version_count, m.version_count) {
                (0, _) => "mlflow",
                (native, all) if native == all => "ingot",
                _ => "mixed",
            }
            .to_string(),
        }
    }
}

impl From<ModelVersion> for ModelVersionView {
    fn from(m: ModelVersion) -> Self {
        ModelVersionView {
            input_schema: fields(&m.input_schema),
            model: m.model,
            version: m.version,
            artifact_hash: m.artifact_hash,
            algorithm: m.algorithm,
            task: m.task.as_str().to_string(),
            lineage: LineageView {
                job_id: m.job_id,
                dataset: m.dataset,
                dataset_version: m.dataset_version,
                metrics: m.metrics.0.clone(),
                ..LineageView::default()
            },
            created_at: m.created_at,
            metrics: m.metrics.0,
            origin: "ingot".to_string(),
            registry: None,
        }
    }
}

impl From<Endpoint> for EndpointView {
    fn from(e: Endpoint) -> Self {
        EndpointView {
            invocations_path: format!("/endpoints/{}/invocations", e.name),
            config: serde_json::to_value(&e.config).unwrap_or_default(),
            variants: Vec::new(),
            name: e.name,
            model: e.model,
            model_version: e.model_version,
            status: e.status.as_str().to_string(),
            failure_reason: e.failure_reason,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

impl From<ingot_core::records::EndpointKey> for EndpointKeyView {
    fn from(k: ingot_core::records::EndpointKey) -> Self {
        EndpointKeyView {
            id: k.id,
            endpoint: k.endpoint,
            name: k.name,
            key: None,
            created_at: k.created_at,
        }
    }
}

impl From<ingot_core::records::TransformJob> for TransformJobView {
    fn from(j: ingot_core::records::TransformJob) -> Self {
        TransformJobView {
            id: j.id,
            model: j.model,
            model_version: j.model_version,
            dataset: j.dataset,
            dataset_version: j.dataset_version,
            output_dataset: j.output_dataset,
            output_version: j.output_version,
            join_input: j.join_input,
            workers: j.workers,
            status: j.status.as_str().to_string(),
            failure_reason: j.failure_reason,
            rows: j.rows,
            created_at: j.created_at,
            updated_at: j.updated_at,
            memory_limit_mib: j.memory_limit_mib,
            progress: None,
        }
    }
}

impl From<ingot_core::records::AsyncInvocation> for AsyncInvocationView {
    fn from(a: ingot_core::records::AsyncInvocation) -> Self {
        AsyncInvocationView {
            output_location: format!(
                "/endpoints/{}/async-invocations/{}/output",
                a.endpoint, a.id
            ),
            id: a.id,
            endpoint: a.endpoint,
            status: a.status.as_str().to_string(),
            failure_reason: a.failure_reason,
            webhook_status: a.webhook_status,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}
