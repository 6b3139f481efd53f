//! API tokens, stored only as hashes.

use ingot_core::records::ApiToken;
use sqlx::SqlitePool;

use super::begin_write;
use super::rows::{self, TOKEN_COLUMNS};
use crate::{Error, Result};

pub(crate) async fn create(pool: &SqlitePool, token: &ApiToken) -> Result<()> {
    let mut tx = begin_write(pool).await?;
    let taken: Option<String> =
        sqlx::query_scalar("SELECT id FROM api_tokens WHERE id = ? OR token_hash = ?")
            .bind(&token.id)
            .bind(&token.token_hash)
            .fetch_optional(&mut *tx)
            .await?;
    if taken.is_some() {
        return Err(Error::AlreadyExists {
            kind: "token",
            name: token.name.clone(),
        });
    }
    sqlx::query(&format!(
        "INSERT INTO api_tokens ({TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
    ))
    .bind(&token.id)
    .bind(&token.name)
    .bind(&token.token_hash)
    .bind(i64::from(token.is_admin))
    .bind(token.created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn by_hash(pool: &SqlitePool, token_hash: &str) -> Result<Option<ApiToken>> {
    let found = sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?"
    ))
    .bind(token_hash)
    .fetch_optional(pool)
    .await?;
    found.as_ref().map(rows::token).transpose()
}

pub(crate) async fn count(pool: &SqlitePool) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(pool)
        .await?)
}
