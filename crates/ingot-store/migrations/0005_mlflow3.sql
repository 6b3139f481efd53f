-- MLflow 3 records: run outputs and what logged-model searches filter and order on.
-- Portable SQL: must run unchanged on SQLite and PostgreSQL (see the crate docs).

-- The logged models a run produced (`runs/outputs`), returned by `runs/get` as
-- `run.outputs.model_outputs`.
CREATE TABLE run_outputs (
    run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
    model_id TEXT NOT NULL,
    step BIGINT NOT NULL,
    PRIMARY KEY (run_uuid, model_id)
);

-- Search index of `logged_models.params_json` / `tags_json` (the source of truth), rewritten in
-- the same transaction as the JSON, so `params.` and `tags.` filters run in SQL.
CREATE TABLE logged_model_params (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE INDEX logged_model_params_key_idx ON logged_model_params (key, value);

CREATE TABLE logged_model_tags (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE INDEX logged_model_tags_key_idx ON logged_model_tags (key, value);

-- Metrics logged with a `model_id` (every point, as MLflow keeps them). NaN is stored as value 0
-- with is_nan = 1, as in run_metrics.
CREATE TABLE logged_model_metrics (
    model_id TEXT NOT NULL REFERENCES logged_models (model_id),
    key TEXT NOT NULL,
    step BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    is_nan BIGINT NOT NULL,
    run_uuid TEXT NOT NULL,
    PRIMARY KEY (model_id, key, step, timestamp, run_uuid)
);
