//! Group commit for tracking writes: concurrent `log_batch` and `create_run` calls are queued to
//! one writer task, which applies every queued write inside a single `BEGIN IMMEDIATE`
//! transaction and commits once. With `synchronous=FULL` the fsync of that one commit is shared
//! by the whole group, so throughput under many clients is no longer one fsync per request,
//! and no caller is acknowledged before its write is durable. Writers also stop contending for
//! SQLite's lock.
//!
//! A group is first applied optimistically, with no savepoints: a savepoint makes SQLite keep
//! an undo copy of every page the write changes, hundreds of pages for a large metric batch.
//! Only when some write of a group is refused (a deleted run, a changed param) is the group
//! rolled back and applied again with each write in its own savepoint, so that one refused
//! write does not undo the others. Writes are therefore closures that can run twice.

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
    dyn for<'c> Fn(
            &'c mut SqliteConnection,
        ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'c>>
        + Send
        + Sync,
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
    /// `apply` may run twice (see the module docs); only the last run's changes are kept.
    pub(crate) async fn write<F>(&self, apply: F) -> Result<()>
    where
        F: for<'c> Fn(
                &'c mut SqliteConnection,
            ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'c>>
            + Send
            + Sync
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
    let outcomes = match optimistic(pool, &group).await {
        Some(outcomes) => outcomes,
        None => careful(pool, &group).await,
    };
    for (write, outcome) in group.into_iter().zip(outcomes) {
        let _ = write.done.send(outcome);
    }
}

/// The same failure for every write of a group.
fn all_failed(count: usize, message: &str) -> Vec<Result<()>> {
    (0..count)
        .map(|_| Err(Error::Database(sqlx::Error::Protocol(message.to_string()))))
        .collect()
}

/// Applies the whole group without savepoints and commits it: every write's outcome, or `None`
/// (after rolling back) when one write of several was refused and the group must be retried
/// carefully. A lone write's refusal is its own outcome.
async fn optimistic(pool: &SqlitePool, group: &[Write]) -> Option<Vec<Result<()>>> {
    let mut tx = match begin_write(pool).await {
        Ok(tx) => tx,
        Err(e) => return Some(all_failed(group.len(), &e.to_string())),
    };
    for write in group {
        if let Err(refused) = (write.apply)(&mut tx).await {
            let rolled_back = tx.rollback().await;
            return match (group.len(), rolled_back) {
                (1, _) => Some(vec![Err(refused)]),
                (_, Ok(())) => None,
                (count, Err(e)) => Some(all_failed(count, &format!("rollback failed: {e}"))),
            };
        }
    }
    Some(match tx.commit().await {
        Ok(()) => group.iter().map(|_| Ok(())).collect(),
        Err(e) => all_failed(group.len(), &format!("commit failed: {e}")),
    })
}

/// Applies the group with each write in its own savepoint, so refused writes are undone alone,
/// and commits the rest. The first savepoint opens with the transaction, and each later one in
/// the statement that releases the one before: every statement is a round trip to the
/// connection's thread.
async fn careful(pool: &SqlitePool, group: &[Write]) -> Vec<Result<()>> {
    let mut tx = match pool
        .begin_with("BEGIN IMMEDIATE; SAVEPOINT group_write")
        .await
    {
        Ok(tx) => tx,
        Err(e) => return all_failed(group.len(), &e.to_string()),
    };
    let mut outcomes = Vec::with_capacity(group.len());
    for (i, write) in group.iter().enumerate() {
        match apply_one(&mut tx, i > 0, &write.apply).await {
            Ok(outcome) => outcomes.push(outcome),
            // The transaction itself is broken: nothing in it can be acknowledged.
            Err(e) => return all_failed(group.len(), &format!("group write failed: {e}")),
        }
    }
    // COMMIT also releases the open savepoint.
    match tx.commit().await {
        Ok(()) => outcomes,
        Err(e) => all_failed(group.len(), &format!("commit failed: {e}")),
    }
}

/// Applies one write inside the group's savepoint (opening a fresh one after the previous
/// write when `release_previous`), rolling back only that write if it fails. The outer error
/// is a broken transaction; the inner one is the write's own outcome.
async fn apply_one(
    conn: &mut SqliteConnection,
    release_previous: bool,
    apply: &Apply,
) -> Result<Result<()>> {
    if release_previous {
        sqlx::query("RELEASE SAVEPOINT group_write; SAVEPOINT group_write")
            .execute(&mut *conn)
            .await?;
    }
    let outcome = apply(&mut *conn).await;
    if outcome.is_err() {
        sqlx::query("ROLLBACK TO SAVEPOINT group_write")
            .execute(&mut *conn)
            .await?;
    }
    Ok(outcome)
}
