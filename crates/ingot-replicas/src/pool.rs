//! [`ProcessPool`]: one variant's replicas as child processes. Requests go to the healthy
//! replica with the fewest in flight (round robin among equals) over pooled connections; a
//! request whose replica fails before answering is retried once on another (or the restarted)
//! one. Scaling starts supervised slots or drains and stops them; scale to zero stops all and
//! the next request cold-starts one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use ingot_serve::{Error, InvokeRequest, InvokeResponse, ReplicaPool, Result};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::memory;
use crate::process::Launcher;
use crate::replica::{Lease, Replica, GONE, HEALTHY, SUSPECT};
use crate::supervisor::{self, Stop};
use crate::wire;

/// A supervised replica slot: one child at a time, restarted when it crashes.
struct Slot {
    id: u64,
    stop: watch::Sender<Stop>,
}

/// Pool state shared with the supervisor tasks.
pub(crate) struct Inner {
    /// `endpoint/variant`, for logs and errors.
    pub name: String,
    pub spec_json: String,
    /// Resident bytes past which a replica is stopped (and restarted).
    pub memory_limit: Option<u64>,
    pub launcher: Arc<Launcher>,
    /// The pool's private socket directory.
    pub dir: PathBuf,
    /// Ready replicas, whatever their routing state.
    live: RwLock<Vec<Arc<Replica>>>,
    /// Slots that should be running.
    slots: Mutex<Vec<Slot>>,
    /// Slots being stopped, still draining.
    stopping: Mutex<Vec<watch::Sender<Stop>>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Bumped whenever routing may have changed, to wake waiting requests.
    changed: watch::Sender<u64>,
    next_slot: AtomicU64,
    round_robin: AtomicUsize,
    in_flight: AtomicU32,
    pub restarts: AtomicU64,
    retries: AtomicU64,
    retired_evictions: AtomicU64,
    scaling: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    last_failure: Mutex<Option<String>>,
}

impl Inner {
    pub fn socket(&self, slot: u64) -> PathBuf {
        self.dir.join(format!("{slot}.sock"))
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Makes a ready replica routable.
    pub fn add(&self, replica: Arc<Replica>) {
        self.live
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(replica);
        self.bump();
    }

    /// Takes a replica out of routing for good.
    pub fn remove(&self, replica: &Arc<Replica>) {
        replica.set_state(GONE);
        let mut live = self.live.write().unwrap_or_else(|p| p.into_inner());
        let before = live.len();
        live.retain(|r| !Arc::ptr_eq(r, replica));
        if live.len() != before {
            self.retired_evictions
                .fetch_add(replica.stats().evictions, Ordering::Relaxed);
        }
        drop(live);
        replica.conns.clear();
        self.bump();
    }

    /// Routing changed inside a replica (drain started, probe answered).
    pub fn touched(&self) {
        self.bump();
    }

    pub fn set_failure(&self, reason: &str) {
        *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.to_string());
    }

    /// A request could not get an answer from `replica`: stop routing to it and have its
    /// supervisor ping it (healthy again if it answers, killed and restarted if not).
    fn suspect(&self, replica: &Replica) {
        if replica.transition(HEALTHY, SUSPECT) {
            replica.probe.notify_one();
            self.touched();
        }
    }

    /// A slot's first start failed: it no longer counts.
    pub fn forget_slot(&self, id: u64) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| s.id != id);
    }

    fn live(&self) -> Vec<Arc<Replica>> {
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn slot_count(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn unavailable(&self, what: &str) -> Error {
        let last = self.last_failure.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some(reason) => Error::Unavailable(format!("{what} (last failure: {reason})")),
            None => Error::Unavailable(what.to_string()),
        }
    }

    /// The healthy replica with the fewest requests in flight, leased.
    fn choose(&self) -> Option<Lease> {
        let live = self.live.read().unwrap_or_else(|p| p.into_inner());
        let n = live.len();
        if n == 0 {
            return None;
        }
        let start = self.round_robin.fetch_add(1, Ordering::Relaxed) % n;
        let best = (0..n)
            .map(|i| &live[(start + i) % n])
            .filter(|r| r.state() == HEALTHY)
            .min_by_key(|r| r.in_flight())?
            .clone();
        drop(live);
        best.lease()
    }

    /// A lease on a healthy replica, waiting for one to (re)start, cold-starting one when the
    /// pool is scaled to zero.
    async fn lease(self: &Arc<Self>) -> Result<Lease> {
        let deadline = tokio::time::Instant::now() + self.launcher.start_timeout;
        let mut changes = self.changed.subscribe();
        loop {
            changes.borrow_and_update();
            if let Some(lease) = self.choose() {
                return Ok(lease);
            }
            if self.closed.load(Ordering::SeqCst) {
                return Err(Error::Unavailable(format!("{} is shut down", self.name)));
            }
            if self.slot_count() == 0 {
                self.cold_start().await?;
                continue;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => {
                    let what = format!("no replica of {} became ready in time", self.name);
                    return Err(self.unavailable(&what));
                }
            }
        }
    }

    async fn cold_start(self: &Arc<Self>) -> Result<()> {
        let _scaling = self.scaling.lock().await;
        if self.slot_count() > 0 {
            return Ok(());
        }
        let started = std::time::Instant::now();
        self.grow(1).await?;
        tracing::info!(pool = %self.name, elapsed = ?started.elapsed(), "cold-started a replica");
        Ok(())
    }

    /// Starts `count` slots; returns once one is ready, or with the last failure if none is.
    async fn grow(self: &Arc<Self>, count: u32) -> Result<()> {
        let mut firsts = Vec::new();
        for _ in 0..count {
            let id = self.next_slot.fetch_add(1, Ordering::Relaxed);
            let (stop, stop_rx) = watch::channel(Stop::Run);
            let (first_tx, first_rx) = oneshot::channel();
            self.slots
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Slot { id, stop });
            let task = tokio::spawn(supervisor::keep(self.clone(), id, stop_rx, first_tx));
            self.tasks
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(task);
            firsts.push(first_rx);
        }
        let mut last = None;
        for first in firsts {
            match first.await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(reason)) => last = Some(reason),
                Err(_) => last = Some("replica supervisor stopped".into()),
            }
        }
        match last {
            Some(reason) => {
                self.set_failure(&reason);
                Err(Error::Unavailable(format!(
                    "replica of {} failed to start: {reason}",
                    self.name
                )))
            }
            None => Ok(()),
        }
    }

    /// Stops `count` slots: ones not serving first, then the newest.
    fn shrink(&self, count: usize) {
        let serving: Vec<u64> = self
            .live()
            .iter()
            .filter(|r| r.state() == HEALTHY)
            .map(|r| r.slot)
            .collect();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.sort_by_key(|s| (serving.contains(&s.id), std::cmp::Reverse(s.id)));
        let count = count.min(slots.len());
        let keep = slots.split_off(count);
        let stopped = std::mem::replace(&mut *slots, keep);
        drop(slots);
        let mut stopping = self.stopping.lock().unwrap_or_else(|p| p.into_inner());
        stopping.retain(|stop| !stop.is_closed());
        for slot in stopped {
            let _ = slot.stop.send(Stop::Drain);
            stopping.push(slot.stop);
        }
    }
}

/// One variant's replicas as child processes.
pub struct ProcessPool {
    inner: Arc<Inner>,
}

impl ProcessPool {
    pub(crate) async fn start(
        name: String,
        spec_json: String,
        memory_limit: Option<u64>,
        launcher: Arc<Launcher>,
        dir: PathBuf,
        replicas: u32,
    ) -> Result<ProcessPool> {
        let inner = Arc::new(Inner {
            name,
            spec_json,
            memory_limit,
            launcher,
            dir,
            live: RwLock::new(Vec::new()),
            slots: Mutex::new(Vec::new()),
            stopping: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
            next_slot: AtomicU64::new(0),
            round_robin: AtomicUsize::new(0),
            in_flight: AtomicU32::new(0),
            restarts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            retired_evictions: AtomicU64::new(0),
            scaling: tokio::sync::Mutex::new(()),
            closed: AtomicBool::new(false),
            last_failure: Mutex::new(None),
        });
        let pool = ProcessPool { inner };
        if replicas > 0 {
            if let Err(e) = pool.scale(replicas).await {
                pool.shutdown().await;
                return Err(e);
            }
        }
        Ok(pool)
    }

    /// Process ids of the replicas ready now.
    pub fn pids(&self) -> Vec<u32> {
        self.inner.live().iter().map(|r| r.pid).collect()
    }

    /// Replicas taking requests now (started, answering, not draining).
    pub fn healthy(&self) -> u32 {
        let live = self.inner.live();
        live.iter().filter(|r| r.state() == HEALTHY).count() as u32
    }

    /// Requests retried on another replica after their first replica failed.
    pub fn retries(&self) -> u64 {
        self.inner.retries.load(Ordering::Relaxed)
    }

    /// The pool's private socket directory.
    pub fn socket_dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Answers `request`, retried once if its replica fails before answering; with a
    /// `timeout`, given up when no answer comes by then (the replica that kept it is then
    /// health-checked, and killed and restarted if it no longer answers pings).
    async fn invoke_by(
        &self,
        request: InvokeRequest,
        timeout: Option<Duration>,
    ) -> Result<InvokeResponse> {
        let inner = &self.inner;
        inner.in_flight.fetch_add(1, Ordering::Relaxed);
        let _in_flight = InFlight(&inner.in_flight);
        let http = wire::encode_request(&request)?;
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let timed_out = || Error::timed_out(&inner.name, timeout.unwrap_or_default());
        let mut retried = false;
        loop {
            let lease = until(deadline, inner.lease())
                .await
                .ok_or_else(timed_out)??;
            let replica = &lease.0;
            let Some(sent) = until(deadline, replica.conns.send(&http)).await else {
                inner.suspect(replica);
                return Err(timed_out());
            };
            match sent {
                Ok(answer) => {
                    let (result, stats) =
                        wire::decode_response(answer.status, &answer.headers, answer.body);
                    if let Some(stats) = stats {
                        replica.record(stats);
                    }
                    return result;
                }
                Err(failure) => {
                    inner.suspect(replica);
                    if retried {
                        let what = format!(
                            "replicas of {} failed twice before answering: {failure}",
                            inner.name
                        );
                        return Err(inner.unavailable(&what));
                    }
                    retried = true;
                    inner.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        pool = %inner.name, pid = replica.pid, request_id = %request.request_id,
                        "replica failed before answering ({failure}); retrying once"
                    );
                }
            }
        }
    }
}

/// `work`'s output, or `None` once `deadline` (if any) passes first.
async fn until<T>(
    deadline: Option<tokio::time::Instant>,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
        None => Some(work.await),
    }
}

struct InFlight<'a>(&'a AtomicU32);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl ReplicaPool for ProcessPool {
    async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResponse> {
        self.invoke_by(request, None).await
    }

    async fn invoke_within(
        &self,
        request: InvokeRequest,
        timeout: Duration,
    ) -> Result<InvokeResponse> {
        self.invoke_by(request, Some(timeout)).await
    }

    async fn ready(&self) -> Result<()> {
        self.inner.lease().await.map(drop)
    }

    async fn scale(&self, replicas: u32) -> Result<()> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::SeqCst) {
            return Err(Error::Unavailable(format!("{} is shut down", inner.name)));
        }
        let _scaling = inner.scaling.lock().await;
        let current = inner.slot_count() as u32;
        if replicas > current {
            inner.grow(replicas - current).await?;
        } else if replicas < current {
            inner.shrink((current - replicas) as usize);
        }
        Ok(())
    }

    fn replicas(&self) -> u32 {
        self.inner.slot_count() as u32
    }

    fn in_flight(&self) -> u32 {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    fn loaded_models(&self) -> usize {
        let live = self.inner.live();
        live.iter().map(|r| r.stats().loaded_models).sum()
    }

    fn restarts(&self) -> u64 {
        self.inner.restarts.load(Ordering::Relaxed)
    }

    fn last_failure(&self) -> Option<String> {
        self.inner
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn resident_bytes(&self) -> Option<u64> {
        let pids = self.pids();
        Some(pids.into_iter().filter_map(memory::resident_bytes).sum())
    }

    fn evictions(&self) -> u64 {
        let live = self.inner.live();
        let current: u64 = live.iter().map(|r| r.stats().evictions).sum();
        self.inner.retired_evictions.load(Ordering::Relaxed) + current
    }

    async fn shutdown(&self) {
        let inner = &self.inner;
        inner.closed.store(true, Ordering::SeqCst);
        // Once before the lock, so a start in progress is abandoned rather than awaited.
        kill_all(inner);
        let _scaling = inner.scaling.lock().await;
        kill_all(inner);
        let tasks = std::mem::take(&mut *inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        let _ = std::fs::remove_dir_all(&inner.dir);
        inner.bump();
    }
}

fn kill_all(inner: &Inner) {
    let slots = std::mem::take(&mut *inner.slots.lock().unwrap_or_else(|p| p.into_inner()));
    for slot in slots {
        let _ = slot.stop.send(Stop::Kill);
    }
    let stopping = std::mem::take(&mut *inner.stopping.lock().unwrap_or_else(|p| p.into_inner()));
    for stop in stopping {
        let _ = stop.send(Stop::Kill);
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        // Dropped without `shutdown`: the supervisors still kill their children.
        self.inner.closed.store(true, Ordering::SeqCst);
        kill_all(&self.inner);
        let tasks =
            std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        let dir = self.inner.dir.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for task in tasks {
                    let _ = task.await;
                }
                let _ = std::fs::remove_dir_all(dir);
            });
        }
    }
}
