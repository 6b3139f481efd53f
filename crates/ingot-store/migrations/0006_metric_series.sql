-- Metric points keyed by a small integer per run instead of the run's 32-character id.
-- Portable SQL: must run unchanged on SQLite and PostgreSQL (see the crate docs).
--
-- A batch appends one point to each of its keys' histories, and each history sits in its own
-- part of the primary-key index, so a batch of 500 metrics rewrites up to 500 index pages. An
-- index entry keyed by the run id took about 65 bytes; keyed by the series number it takes
-- about 35, so the same histories fill half the pages and a batch rewrites half as many.

-- Each run's series number, unique and assigned when the run is created (one past the largest).
ALTER TABLE runs ADD COLUMN metric_series BIGINT;

CREATE TABLE run_series_numbers AS
    SELECT run_uuid, ROW_NUMBER() OVER (ORDER BY start_time, run_uuid) AS metric_series FROM runs;

CREATE UNIQUE INDEX run_series_numbers_idx ON run_series_numbers (run_uuid);

UPDATE runs SET metric_series = (
    SELECT n.metric_series FROM run_series_numbers n WHERE n.run_uuid = runs.run_uuid
);

DROP TABLE run_series_numbers;

CREATE UNIQUE INDEX runs_metric_series_idx ON runs (metric_series);

-- Every logged point; logging an identical point twice keeps one, as MLflow does. NaN is
-- stored as value 0 with is_nan = 1, since SQL has no portable NaN.
CREATE TABLE run_metric_points (
    metric_series BIGINT NOT NULL REFERENCES runs (metric_series),
    key TEXT NOT NULL,
    step BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    is_nan BIGINT NOT NULL,
    PRIMARY KEY (metric_series, key, step, timestamp, value, is_nan)
);

INSERT INTO run_metric_points (metric_series, key, step, timestamp, value, is_nan)
    SELECT r.metric_series, m.key, m.step, m.timestamp, m.value, m.is_nan
    FROM run_metrics m JOIN runs r ON r.run_uuid = m.run_uuid;

DROP TABLE run_metrics;

ALTER TABLE run_metric_points RENAME TO run_metrics;
