-- Monitoring: schedules per endpoint and their executions (reports live in the artifact
-- store under monitoring/executions/...). Portable SQL: runs unchanged on SQLite and PostgreSQL.

CREATE TABLE monitoring_schedules (
    endpoint TEXT NOT NULL,
    name TEXT NOT NULL,
    schedule_type TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (endpoint, name),
    FOREIGN KEY (endpoint) REFERENCES endpoints (name) ON DELETE CASCADE
);

CREATE TABLE monitoring_executions (
    id TEXT NOT NULL PRIMARY KEY,
    endpoint TEXT NOT NULL,
    schedule TEXT NOT NULL,
    status TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    violations BIGINT NOT NULL,
    failure_reason TEXT,
    webhook_status TEXT,
    summary TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    FOREIGN KEY (endpoint, schedule) REFERENCES monitoring_schedules (endpoint, name) ON DELETE CASCADE
);

CREATE INDEX monitoring_executions_schedule_idx ON monitoring_executions (endpoint, schedule, window_end);
