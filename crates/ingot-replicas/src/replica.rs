//! One running replica as the front sees it: its connections, routing state, in-flight count
//! and the counters it last reported; and the lease a request holds on it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::conn::Connections;
use crate::wire::Stats;

/// Receives new requests.
pub const HEALTHY: u8 = 0;
/// A request failed to reach it; excluded until a probe answers.
pub const SUSPECT: u8 = 1;
/// Being stopped: finishes what it has, takes nothing new.
pub const DRAINING: u8 = 2;
/// Exited.
pub const GONE: u8 = 3;

/// A ready child process.
pub struct Replica {
    /// Supervised slot it runs in (stable across restarts).
    pub slot: u64,
    pub pid: u32,
    pub conns: Connections,
    state: AtomicU8,
    in_flight: AtomicU32,
    /// Signalled when `in_flight` drops to zero.
    pub idle: Notify,
    /// Signalled when a request could not reach it.
    pub probe: Notify,
    loaded: AtomicUsize,
    evictions: AtomicU64,
}

impl Replica {
    pub fn new(slot: u64, pid: u32, socket: PathBuf) -> Replica {
        Replica {
            slot,
            pid,
            conns: Connections::new(socket),
            state: AtomicU8::new(HEALTHY),
            in_flight: AtomicU32::new(0),
            idle: Notify::new(),
            probe: Notify::new(),
            loaded: AtomicUsize::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    pub fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    pub fn set_state(&self, state: u8) {
        self.state.store(state, Ordering::SeqCst);
    }

    /// Moves from `from` to `to`; false when the state was something else.
    pub fn transition(&self, from: u8, to: u8) -> bool {
        self.state
            .compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Takes a request if still healthy. The count goes up before the state is re-read, and a
    /// drain sets the state before reading the count, so one of the two always sees the other.
    pub fn lease(self: &Arc<Self>) -> Option<Lease> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let lease = Lease(self.clone());
        (self.state() == HEALTHY).then_some(lease)
    }

    /// Waits until no request is in flight.
    pub async fn drained(&self) {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.in_flight() == 0 {
                return;
            }
            idle.await;
        }
    }

    pub fn record(&self, stats: Stats) {
        self.loaded.store(stats.loaded_models, Ordering::Relaxed);
        self.evictions.store(stats.evictions, Ordering::Relaxed);
    }

    pub fn stats(&self) -> Stats {
        Stats {
            loaded_models: self.loaded.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}

/// One request's hold on a replica; releasing it may complete a drain.
pub struct Lease(pub Arc<Replica>);

impl Drop for Lease {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
