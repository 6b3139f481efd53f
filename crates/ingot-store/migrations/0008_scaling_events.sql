-- The last replica-count changes of each endpoint variant, with their reasons, so
-- `ingot endpoint show` still explains a scaling after the server restarts.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.
CREATE TABLE scaling_events (
    endpoint TEXT NOT NULL,
    variant TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at_millis BIGINT NOT NULL,
    from_replicas BIGINT NOT NULL,
    to_replicas BIGINT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (endpoint, variant, seq),
    FOREIGN KEY (endpoint) REFERENCES endpoints (name) ON DELETE CASCADE
);
