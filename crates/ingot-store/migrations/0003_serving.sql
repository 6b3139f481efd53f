-- Serving: endpoint configurations (variants, shadow, capture, batching, multi-model,
-- autoscaling), data-plane keys, the persisted async invocation queue and batch transform jobs.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- Endpoints get their configuration; the pinned model becomes optional (multi-model
-- endpoints have none), so the table is rebuilt (SQLite cannot drop NOT NULL in place).
CREATE TABLE endpoints_v3 (
    name TEXT NOT NULL PRIMARY KEY,
    model TEXT,
    model_version BIGINT,
    config TEXT,
    status TEXT NOT NULL,
    failure_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (model, model_version) REFERENCES model_versions (model, version)
);

INSERT INTO endpoints_v3 (name, model, model_version, config, status, failure_reason, created_at, updated_at)
    SELECT name, model, model_version, NULL, status, failure_reason, created_at, updated_at FROM endpoints;

DROP TABLE endpoints;

ALTER TABLE endpoints_v3 RENAME TO endpoints;

CREATE INDEX endpoints_model_idx ON endpoints (model, model_version);

CREATE TABLE endpoint_keys (
    id TEXT NOT NULL PRIMARY KEY,
    endpoint TEXT NOT NULL,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (endpoint) REFERENCES endpoints (name) ON DELETE CASCADE
);

CREATE INDEX endpoint_keys_endpoint_idx ON endpoint_keys (endpoint);

CREATE TABLE async_invocations (
    id TEXT NOT NULL PRIMARY KEY,
    endpoint TEXT NOT NULL,
    status TEXT NOT NULL,
    content_type TEXT NOT NULL,
    accept TEXT,
    target_model TEXT,
    target_variant TEXT,
    input_hash TEXT NOT NULL,
    output_hash TEXT,
    output_content_type TEXT,
    failure_reason TEXT,
    webhook_url TEXT,
    webhook_status TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX async_invocations_queue_idx ON async_invocations (status, created_at);
CREATE INDEX async_invocations_endpoint_idx ON async_invocations (endpoint, created_at);

CREATE TABLE transform_jobs (
    id TEXT NOT NULL PRIMARY KEY,
    model TEXT NOT NULL,
    model_version BIGINT NOT NULL,
    dataset TEXT NOT NULL,
    dataset_version BIGINT NOT NULL,
    output_dataset TEXT NOT NULL,
    output_version BIGINT,
    join_input BIGINT NOT NULL,
    workers BIGINT NOT NULL,
    status TEXT NOT NULL,
    failure_reason TEXT,
    row_count BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (model, model_version) REFERENCES model_versions (model, version)
);

CREATE INDEX transform_jobs_created_idx ON transform_jobs (created_at);
