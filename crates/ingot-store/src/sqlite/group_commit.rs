//! Group commit for tracking writes: concurrent `log_batch` and `create_run` calls are queued to
//! one writer task, which applies every queued write inside a single `BEGIN IMMEDIATE`
//! transaction (each in its own SAVEPOINT, so one rejected write does not undo the others) and
//! commits once. With `synchronous=FULL` the fsync of that one commit is shared by the whole
//! group, so throughput under many clients is no longer one fsync per request, and no caller
//! is acknowledged before its write is durable. Writers also stop contending for SQLite's lock.

use std::future::Future;
use std::pin::Pin;

use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::begin_write;
use crate::{Error, Result};

/// Largest number of writes committed together.
const MAX_GROUP: usize = 256;
/// Writes waiting for the writer before callers are made to wait.
const QUEUE: usize = 4096;

type Apply = Box<
    dyn for<'c> FnOnce(
            &'c mut SqliteConnection,
        ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'c>>
        + Send,
>;

struct Write {
    apply: Apply,
    done: oneshot::Sender<Result<()>>,
}

/// The queue in front of the writer task. Cheap to clone.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    sender: mpsc::Sender<Write>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

fn stopped() -> Error {
    Error::Database(sqlx::Error::PoolClosed)
}

impl GroupCommit {
    /// Starts the writer task on the current runtime; it ends when every handle is dropped.
    pub(crate) fn start(pool: SqlitePool) -> GroupCommit {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(writer(pool, receiver));
        GroupCommit { sender }
    }

    /// Runs `apply` inside the next group transaction and returns once it is committed.
    pub(crate) async fn write<F>(&self, apply: F) -> Result<()>
    where
        F: for<'c> FnOnce(
                &'c mut SqliteConnection,
            ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'c>>
            + Send
            + 'static,
    {
        let (done, outcome) = oneshot::channel();
        let write = Write {
            apply: Box::new(apply),
            done,
        };
        self.sender.send(write).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

async fn writer(pool: SqlitePool, mut receiver: mpsc::Receiver<Write>) {
    while let Some(first) = receiver.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(write) => group.push(write),
                Err(_) => break,
            }
        }
        commit_group(&pool, group).await;
    }
}

async fn commit_group(pool: &SqlitePool, group: Vec<Write>) {
    let mut tx = match begin_write(pool).await {
        Ok(tx) => tx,
        Err(e) => {
            let message = e.to_string();
            for write in group {
                let _ = write
                    .done
                    .send(Err(Error::Database(sqlx::Error::Protocol(message.clone()))));
            }
            return;
        }
    };
    let mut outcomes = Vec::with_capacity(group.len());
    for write in group {
        let outcome = apply_one(&mut tx, write.apply).await;
        outcomes.push((write.done, outcome));
    }
    match tx.commit().await {
        Ok(()) => {
            for (done, outcome) in outcomes {
                let _ = done.send(outcome);
            }
        }
        Err(e) => {
            let message = format!("commit failed: {e}");
            for (done, _) in outcomes {
                let _ = done.send(Err(Error::Database(sqlx::Error::Protocol(message.clone()))));
            }
        }
    }
}

/// Applies one write inside a savepoint, rolling back only that write if it fails.
async fn apply_one(conn: &mut SqliteConnection, apply: Apply) -> Result<()> {
    sqlx::query("SAVEPOINT group_write")
        .execute(&mut *conn)
        .await?;
    let outcome = apply(&mut *conn).await;
    if outcome.is_err() {
        sqlx::query("ROLLBACK TO SAVEPOINT group_write")
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("RELEASE SAVEPOINT group_write")
        .execute(&mut *conn)
        .await?;
    outcome
}
