//! A tiny schema migration runner: an ordered list of portable SQL files, each applied once in
//! its own transaction and recorded in `schema_migrations`.

use sqlx::SqlitePool;

use crate::{now_millis, Error, Result};

/// Every migration, in order: `(version, name, sql)`. Versions only ever get appended.
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "tracking",
        include_str!("../migrations/0002_tracking.sql"),
    ),
    (3, "serving", include_str!("../migrations/0003_serving.sql")),
    (
        4,
        "monitoring",
        include_str!("../migrations/0004_monitoring.sql"),
    ),
    (5, "mlflow3", include_str!("../migrations/0005_mlflow3.sql")),
    (
        6,
        "metric_series",
        include_str!("../migrations/0006_metric_series.sql"),
    ),
    (
        7,
        "transform_memory",
        include_str!("../migrations/0007_transform_memory.sql"),
    ),
    (
        8,
        "scaling_events",
        include_str!("../migrations/0008_scaling_events.sql"),
    ),
];

const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Applies every migration not yet recorded; returns how many were applied. Safe to run
/// concurrently from several processes: each migration re-checks inside its write transaction.
pub(crate) async fn run_sqlite(pool: &SqlitePool) -> Result<usize> {
    sqlx::query(CREATE_MIGRATIONS_TABLE).execute(pool).await?;
    let newest_known = MIGRATIONS.last().map_or(0, |m| m.0);
    let newest_applied: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(pool)
            .await?;
    if let Some(applied) = newest_applied.filter(|v| *v > newest_known) {
        return Err(Error::Migration {
            version: applied,
            name: "unknown".to_string(),
            reason: format!(
                "the database schema is newer than this build (which knows up to {newest_known})"
            ),
        });
    }
    let mut count = 0;
    for &(version, name, sql) in MIGRATIONS {
        let fail = |reason: String| Error::Migration {
            version,
            name: name.to_string(),
            reason,
        };
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            continue;
        }
        for statement in split_statements(sql) {
            sqlx::query(&statement)
                .persistent(false)
                .execute(&mut *tx)
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
            .bind(version)
            .bind(name)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await.map_err(|e| fail(e.to_string()))?;
        tracing::info!(version, name, "applied metadata schema migration");
        count += 1;
    }
    Ok(count)
}

/// Splits a SQL script into single statements on `;`, ignoring semicolons inside quoted strings,
/// quoted identifiers and `--` comments, and dropping the comments themselves.
pub(crate) fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                current.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    current.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    for skipped in chars.by_ref() {
                        if skipped == '\n' {
                            current.push('\n');
                            break;
                        }
                    }
                }
                ';' => {
                    push_statement(&mut statements, &current);
                    current.clear();
                }
                _ => current.push(c),
            },
        }
    }
    push_statement(&mut statements, &current);
    statements
}

fn push_statement(statements: &mut Vec<String>, text: &str) {
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        statements.push(trimmed.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_quotes_and_comments() {
        let sql = "-- a comment; with a semicolon\nCREATE TABLE a (x TEXT DEFAULT 'a;b');\n\n\
                   CREATE TABLE \"b;c\" (y BIGINT); -- trailing\n";
        assert_eq!(
            split_statements(sql),
            vec![
                "CREATE TABLE a (x TEXT DEFAULT 'a;b')".to_string(),
                "CREATE TABLE \"b;c\" (y BIGINT)".to_string(),
            ]
        );
    }

    #[test]
    fn migrations_are_ordered_and_portable() {
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "migration versions must increase");
        }
        for (_, name, sql) in MIGRATIONS {
            let upper = sql.to_ascii_uppercase();
            for banned in [
                "AUTOINCREMENT",
                "INSERT OR",
                "ROWID",
                "PRAGMA",
                "DATETIME(",
                "STRICT",
            ] {
                assert!(!upper.contains(banned), "{name} uses non-portable {banned}");
            }
            assert!(!split_statements(sql).is_empty());
        }
    }
}
