-- Ingot metadata store, initial schema.
-- Portable SQL: must run unchanged on SQLite and PostgreSQL (see the crate docs).
-- Timestamps are BIGINT milliseconds since the Unix epoch; structured values are JSON TEXT;
-- booleans are BIGINT 0/1.

CREATE TABLE datasets (
    name TEXT NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE dataset_versions (
    dataset TEXT NOT NULL REFERENCES datasets (name),
    version BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    format TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    schema_json TEXT NOT NULL,
    profile_json TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (dataset, version),
    UNIQUE (dataset, content_hash)
);

CREATE TABLE jobs (
    id TEXT NOT NULL PRIMARY KEY,
    -- Creation order, assigned as max + 1 inside the creating transaction; lists sort on it.
    ordinal BIGINT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    failure_reason TEXT,
    metrics_json TEXT NOT NULL,
    model_name TEXT,
    model_version BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT
);

CREATE INDEX jobs_status_idx ON jobs (status);

CREATE TABLE job_logs (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE job_metrics (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    name TEXT NOT NULL,
    step BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (job_id, name, step)
);

CREATE TABLE models (
    name TEXT NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE model_versions (
    model TEXT NOT NULL REFERENCES models (name),
    version BIGINT NOT NULL,
    artifact_hash TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    task TEXT NOT NULL,
    metrics_json TEXT NOT NULL,
    input_schema_json TEXT NOT NULL,
    job_id TEXT REFERENCES jobs (id),
    dataset TEXT,
    dataset_version BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (model, version)
);

CREATE INDEX model_versions_job_idx ON model_versions (job_id);

CREATE TABLE endpoints (
    name TEXT NOT NULL PRIMARY KEY,
    model TEXT NOT NULL,
    model_version BIGINT NOT NULL,
    status TEXT NOT NULL,
    failure_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (model, model_version) REFERENCES model_versions (model, version)
);

CREATE INDEX endpoints_model_idx ON endpoints (model, model_version);

CREATE TABLE api_tokens (
    id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    is_admin BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
