-- Experiment tracking and the MLflow-compatible model registry.
-- Portable SQL: must run unchanged on SQLite and PostgreSQL (see the crate docs).
-- Timestamps are BIGINT milliseconds since the Unix epoch.

CREATE TABLE experiments (
    experiment_id BIGINT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL,
    creation_time BIGINT NOT NULL,
    last_update_time BIGINT NOT NULL
);

CREATE INDEX experiments_stage_idx ON experiments (lifecycle_stage, creation_time);

INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', 0, 0);

CREATE TABLE experiment_tags (
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE runs (
    run_uuid TEXT NOT NULL PRIMARY KEY,
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT,
    lifecycle_stage TEXT NOT NULL,
    artifact_uri TEXT NOT NULL,
    deleted_time BIGINT
);

-- The default search: one experiment, live runs, newest first, run id as tie-break.
CREATE INDEX runs_search_idx ON runs (experiment_id, lifecycle_stage, start_time, run_uuid);
CREATE INDEX runs_name_idx ON runs (experiment_id, name);

CREATE TABLE run_params (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
);

CREATE INDEX run_params_key_idx ON run_params (key, value);

CREATE TABLE run_tags (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_uuid, key)
);

CREATE INDEX run_tags_key_idx ON run_tags (key, value);

-- Every logged point; logging an identical point twice keeps one, as MLflow does. NaN is
-- stored as value 0 with is_nan = 1, since SQL has no portable NaN.
CREATE TABLE run_metrics (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    key TEXT NOT NULL,
    step BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    is_nan BIGINT NOT NULL,
    PRIMARY KEY (run_uuid, key, step, timestamp, value, is_nan)
);

-- The latest point per (run, key): highest step, then timestamp, then value. Searches and
-- orderings on metrics read only this table.
CREATE TABLE run_latest_metrics (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    key TEXT NOT NULL,
    step BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    is_nan BIGINT NOT NULL,
    PRIMARY KEY (run_uuid, key)
);

-- Covers metric-ordered searches, which walk it in value order and join runs by run_uuid.
CREATE INDEX run_latest_metrics_key_idx ON run_latest_metrics (key, value, is_nan, run_uuid);

CREATE TABLE datasets_tracked (
    dataset_uuid TEXT NOT NULL PRIMARY KEY,
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source TEXT NOT NULL,
    schema_json TEXT,
    profile TEXT,
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE run_inputs (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    dataset_uuid TEXT NOT NULL REFERENCES datasets_tracked (dataset_uuid),
    tags_json TEXT NOT NULL,
    PRIMARY KEY (run_uuid, dataset_uuid)
);

-- MLflow 3 logged models (the output of log_model).
CREATE TABLE logged_models (
    model_id TEXT NOT NULL PRIMARY KEY,
    experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
    name TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    creation_timestamp BIGINT NOT NULL,
    last_updated_timestamp BIGINT NOT NULL,
    status TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL,
    model_type TEXT,
    source_run_id TEXT,
    params_json TEXT NOT NULL,
    tags_json TEXT NOT NULL
);

CREATE INDEX logged_models_experiment_idx ON logged_models (experiment_id, creation_timestamp);

-- The MLflow-compatible registry. A registered model shares its name space with the native
-- registry (`models`); see the crate docs on how the two are bridged.
CREATE TABLE registered_models (
    name TEXT NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    creation_timestamp BIGINT NOT NULL,
    last_updated_timestamp BIGINT NOT NULL,
    require_approval BIGINT NOT NULL
);

CREATE TABLE registered_model_tags (
    name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE registered_model_versions (
    name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    version BIGINT NOT NULL,
    creation_timestamp BIGINT NOT NULL,
    last_updated_timestamp BIGINT NOT NULL,
    description TEXT NOT NULL,
    user_id TEXT NOT NULL,
    current_stage TEXT NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT NOT NULL,
    run_link TEXT NOT NULL,
    model_id TEXT NOT NULL,
    status TEXT NOT NULL,
    approval_status TEXT NOT NULL,
    approved_by TEXT,
    approved_at BIGINT,
    PRIMARY KEY (name, version)
);

CREATE INDEX registered_model_versions_run_idx ON registered_model_versions (run_id);

CREATE TABLE model_version_tags (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, version, key),
    FOREIGN KEY (name, version) REFERENCES registered_model_versions (name, version) ON UPDATE CASCADE ON DELETE CASCADE
);

CREATE TABLE registered_model_aliases (
    name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
    alias TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (name, alias)
);
