//! The supervisor of one replica slot: starts its child, makes it routable once it answers,
//! restarts it with backoff when it crashes (counting and logging why), probes it when a
//! request could not reach it, and on stop drains its in-flight requests before ending it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::memory;
use crate::pool::Inner;
use crate::process::Started;
use crate::replica::{Replica, DRAINING, HEALTHY, SUSPECT};
use crate::wire::{self, Stats};

/// What a slot is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// Keep a child running.
    Run,
    /// Stop taking requests, finish those in flight, then end the child.
    Drain,
    /// End the child now.
    Kill,
}

/// Longest a draining replica may take to finish its requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest a child may take to exit after its stdin closed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(2);
/// A child that ran this long resets the crash backoff.
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// Pings before a replica that requests cannot reach is killed.
const PROBES: u32 = 3;

/// Delay before restart number `failures` (1-based): 100 ms doubling, at most 10 s.
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(7);
    Duration::from_millis(100 << exponent).min(Duration::from_secs(10))
}

enum Ended {
    Stopped,
    /// The child is gone: why, as "exited with …" or what it was stopped for.
    Crashed(String),
}

async fn stopped(stop: &mut watch::Receiver<Stop>) {
    let _ = stop.wait_for(|s| *s != Stop::Run).await;
}

/// Runs slot `id` until it is stopped. `first` learns how its first start went; a slot whose
/// first start fails ends there (the caller reports why).
pub async fn keep(
    inner: Arc<Inner>,
    id: u64,
    mut stop: watch::Receiver<Stop>,
    first: oneshot::Sender<Result<(), String>>,
) {
    let name = format!("{}#{id}", inner.name);
    let socket = inner.socket(id);
    let mut first = Some(first);
    let mut failures = 0u32;
    loop {
        let started = tokio::select! {
            started = inner.launcher.start(&name, &socket, &inner.spec_json, inner.memory_limit) => started,
            // Dropping a half-started child kills it.
            _ = stopped(&mut stop) => break,
        };
        let mut started = match started {
            Ok(started) => started,
            Err(reason) => {
                if let Some(first) = first.take() {
                    inner.forget_slot(id);
                    let _ = first.send(Err(reason));
                    break;
                }
                failures += 1;
                inner.set_failure(&reason);
                let delay = backoff(failures);
                tracing::warn!(replica = %name, "replica failed to restart, next try in {delay:?}: {reason}");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => continue,
                    _ = stopped(&mut stop) => break,
                }
            }
        };
        let since = Instant::now();
        let replica = Arc::new(Replica::new(id, started.pid, socket.clone()));
        if let Ok(answer) = replica.conns.get(wire::STATS).await {
            if let Ok(stats) = serde_json::from_slice::<Stats>(&answer.body) {
                replica.record(stats);
            }
        }
        inner.add(replica.clone());
        if let Some(first) = first.take() {
            let _ = first.send(Ok(()));
        }
        tracing::debug!(replica = %name, pid = started.pid, "replica ready");
        match supervise(&inner, &replica, &mut started, &mut stop).await {
            Ended::Stopped => {
                inner.remove(&replica);
                break;
            }
            Ended::Crashed(reason) => {
                inner.remove(&replica);
                inner.restarts.fetch_add(1, Ordering::Relaxed);
                if since.elapsed() > STABLE_AFTER {
                    failures = 0;
                }
                failures += 1;
                let delay = backoff(failures);
                let tail = started.stderr.text().await;
                inner.set_failure(&reason);
                tracing::warn!(
                    replica = %name, pid = started.pid, stderr = %tail,
                    "replica {reason}; restarting in {delay:?}"
                );
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stopped(&mut stop) => break,
                }
            }
        }
    }
    let _ = std::fs::remove_file(&socket);
}

/// Watches a ready child until it exits, passes its memory limit (it is then killed) or the
/// slot is stopped.
async fn supervise(
    inner: &Inner,
    replica: &Arc<Replica>,
    started: &mut Started,
    stop: &mut watch::Receiver<Stop>,
) -> Ended {
    loop {
        tokio::select! {
            status = started.child.wait() => return Ended::Crashed(describe(status)),
            _ = stopped(stop) => {
                end(inner, replica, started, stop).await;
                return Ended::Stopped;
            }
            _ = replica.probe.notified() => {
                if let Some(status) = probe(inner, replica, started).await {
                    return Ended::Crashed(status);
                }
            }
            reason = memory::exceeded_if(started.pid, inner.memory_limit) => {
                // Recorded before the kill, so the requests it fails can say why.
                inner.set_failure(&reason);
                let _ = started.child.start_kill();
                let _ = started.child.wait().await;
                return Ended::Crashed(reason);
            }
        }
    }
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => format!("exited with {status}"),
        Err(e) => format!("exited with unknown status ({e})"),
    }
}

/// Pings a suspect replica: healthy again if it answers, killed if it never does. Returns the
/// exit status if it turns out to have died.
async fn probe(inner: &Inner, replica: &Replica, started: &mut Started) -> Option<String> {
    for attempt in 0..PROBES {
        if attempt > 0 {
            tokio::select! {
                status = started.child.wait() => return Some(describe(status)),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
        let ping = tokio::time::timeout(Duration::from_secs(2), replica.conns.get(wire::PING));
        tokio::select! {
            status = started.child.wait() => return Some(describe(status)),
            answer = ping => {
                if matches!(answer, Ok(Ok(ref a)) if a.status.is_success()) {
                    if replica.transition(SUSPECT, HEALTHY) {
                        inner.touched();
                    }
                    return None;
                }
            }
        }
    }
    tracing::warn!(pool = %inner.name, pid = replica.pid, "replica stopped answering; killing it");
    let _ = started.child.start_kill();
    let _ = started.child.wait().await;
    Some(format!(
        "stopped answering its health checks (pinged {PROBES} times) and was killed"
    ))
}

/// Ends a child: drained first unless told to kill, then asked to exit by closing its stdin,
/// killed if it does not.
async fn end(
    inner: &Inner,
    replica: &Arc<Replica>,
    started: &mut Started,
    stop: &mut watch::Receiver<Stop>,
) {
    replica.set_state(DRAINING);
    inner.touched();
    if *stop.borrow() == Stop::Drain {
        tokio::select! {
            _ = replica.drained() => {}
            _ = stop.wait_for(|s| *s == Stop::Kill) => {}
            _ = started.child.wait() => return,
            _ = tokio::time::sleep(DRAIN_TIMEOUT) => {
                tracing::warn!(pool = %inner.name, pid = replica.pid, "drain timed out");
            }
        }
        replica.conns.clear();
        drop(started.stdin.take());
        if tokio::time::timeout(EXIT_TIMEOUT, started.child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = started.child.start_kill();
    let _ = started.child.wait().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100ms_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(8), Duration::from_secs(10));
        assert_eq!(backoff(100), Duration::from_secs(10));
    }
}
