-- A transform job's own memory limit for its worker process, in MiB (NULL: the server's).
ALTER TABLE transform_jobs ADD COLUMN memory_limit_mib BIGINT;
