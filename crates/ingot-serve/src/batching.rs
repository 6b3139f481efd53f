//! Dynamic batching: requests arriving together are scored as one batch of up to
//! `max_batch_size` rows, waiting at most `max_delay_us` for company, then split back.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use ingot_catalog::Predictions;
use ingot_core::endpoint_config::BatchingConfig;
use tokio::sync::{mpsc, oneshot};

use crate::served::{slice_predictions, Served};
use crate::{Error, Result};

struct Job {
    batch: RecordBatch,
    reply: oneshot::Sender<Result<Predictions>>,
}

/// The queue in front of one served model.
pub struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the batching task for `served` on the current runtime.
    pub fn start(served: Arc<Served>, config: BatchingConfig) -> Batcher {
        let (jobs, receiver) = mpsc::channel(4096);
        tokio::spawn(run(served, config, receiver));
        Batcher { jobs }
    }

    /// Scores `batch` together with whatever else arrives within the delay.
    pub async fn predict(&self, batch: RecordBatch) -> Result<Predictions> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { batch, reply })
            .await
            .map_err(|_| Error::Unavailable("the batching queue has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the batching task dropped a request".into()))?
    }
}

async fn run(served: Arc<Served>, config: BatchingConfig, mut receiver: mpsc::Receiver<Job>) {
    let max_rows = config.max_batch_size as usize;
    let delay = Duration::from_micros(config.max_delay_us);
    while let Some(first) = receiver.recv().await {
        let mut rows = first.batch.num_rows();
        let mut jobs = vec![first];
        let deadline = tokio::time::Instant::now() + delay;
        while rows < max_rows {
            // Take what is already queued without waiting, then wait until the deadline.
            let next = match receiver.try_recv() {
                Ok(job) => Some(job),
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::time::timeout_at(deadline, receiver.recv())
                        .await
                        .unwrap_or_default()
                }
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            };
            let Some(job) = next else { break };
            rows += job.batch.num_rows();
            jobs.push(job);
        }
        let served = served.clone();
        tokio::task::spawn_blocking(move || score(&served, jobs));
    }
}

/// Scores the jobs as one batch; when that fails, scores each alone so every request gets
/// its own error.
fn score(served: &Served, jobs: Vec<Job>) {
    if jobs.len() == 1 {
        let job = jobs.into_iter().next().expect("one job");
        let _ = job.reply.send(served.predict(&job.batch));
        return;
    }
    let batches: Vec<&RecordBatch> = jobs.iter().map(|j| &j.batch).collect();
    let combined =
        arrow_select::concat::concat_batches(&batches[0].schema(), batches.iter().copied());
    let predictions = combined
        .map_err(|e| Error::Internal(e.to_string()))
        .and_then(|b| served.predict(&b));
    match predictions {
        Ok(predictions) => {
            let mut start = 0;
            for job in jobs {
                let rows = job.batch.num_rows();
                let _ = job
                    .reply
                    .send(Ok(slice_predictions(&predictions, start, rows)));
                start += rows;
            }
        }
        Err(_) => {
            for job in jobs {
                let _ = job.reply.send(served.predict(&job.batch));
            }
        }
    }
}
