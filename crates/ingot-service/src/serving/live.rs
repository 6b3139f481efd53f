//! Live endpoints: each endpoint's variants with their replica pools, built from a stored
//! configuration and swapped atomically on update so no in-flight or new request is dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use ingot_core::endpoint_config::VariantConfig;
use ingot_core::EndpointConfig;
use ingot_serve::autoscale::ScalingEvent;
use ingot_serve::{ReplicaPool, ReplicaSpec, ResolvedModel, VariantMetrics};

/// How many of a variant's replica-count changes are kept for `ingot endpoint show`.
pub(crate) const KEPT_SCALING_EVENTS: usize = 20;

/// When a variant last scaled and saw traffic (the autoscaler's memory), and its recent
/// replica-count changes.
#[derive(Debug, Default, Clone)]
pub(crate) struct ScaleState {
    pub last_scale_out: Option<Instant>,
    pub last_scaling: Option<Instant>,
    pub last_request: Option<Instant>,
    pub last_invocations: u64,
    /// `VariantMetrics::busy_micros` at the last tick.
    pub last_busy_micros: u64,
    pub last_tick: Option<Instant>,
    /// The replica count the autoscaler last saw or set, to notice a cold start in between.
    pub seen_replicas: Option<u32>,
    /// The newest last.
    pub events: VecDeque<ScalingEvent>,
}

impl ScaleState {
    /// Keeps a change, dropping the oldest beyond `KEPT_SCALING_EVENTS`.
    pub fn record(&mut self, event: ScalingEvent) {
        if self.events.len() == KEPT_SCALING_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

/// One variant being served.
pub(crate) struct LiveVariant {
    pub config: VariantConfig,
    pub spec: ReplicaSpec,
    pub pool: Arc<dyn ReplicaPool>,
    pub metrics: Arc<VariantMetrics>,
    pub scale: Mutex<ScaleState>,
}

impl LiveVariant {
    /// Notes a request for the idle clock.
    pub fn touch(&self) {
        self.scale_state().last_request = Some(Instant::now());
    }

    /// The autoscaler's state, poison-tolerant.
    pub fn scale_state(&self) -> std::sync::MutexGuard<'_, ScaleState> {
        self.scale.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One endpoint being served.
pub(crate) struct LiveEndpoint {
    pub name: String,
    pub config: EndpointConfig,
    pub variants: Vec<Arc<LiveVariant>>,
    pub shadow: Option<Arc<LiveVariant>>,
    cumulative_weights: Vec<f64>,
    /// Multi-model targets already resolved (`NAME:VERSION` → artifact).
    pub targets: Mutex<HashMap<String, (ResolvedModel, Instant)>>,
    /// Real-time invocations being answered, for `max_concurrency`; shared with the
    /// endpoint's earlier and later versions so an update does not reset it.
    in_flight: Arc<AtomicU32>,
}

/// A place among an endpoint's `max_concurrency` invocations, given back when dropped.
pub(crate) struct Admitted(Arc<AtomicU32>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl LiveEndpoint {
    pub fn new(
        name: String,
        config: EndpointConfig,
        variants: Vec<Arc<LiveVariant>>,
        shadow: Option<Arc<LiveVariant>>,
    ) -> LiveEndpoint {
        let mut total = 0.0;
        let cumulative_weights = variants
            .iter()
            .map(|v| {
                total += v.config.weight;
                total
            })
            .collect();
        LiveEndpoint {
            name,
            config,
            variants,
            shadow,
            cumulative_weights,
            targets: Mutex::new(HashMap::new()),
            in_flight: Arc::default(),
        }
    }

    /// Keeps counting in-flight invocations where `old` counted them.
    pub fn counting_with(mut self, old: Option<&LiveEndpoint>) -> LiveEndpoint {
        if let Some(old) = old {
            self.in_flight = old.in_flight.clone();
        }
        self
    }

    /// A place for one more invocation, or `None` when `cap` are being answered.
    pub fn admit(&self, cap: u32) -> Option<Admitted> {
        let taken = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted(self.in_flight.clone());
        (taken < cap).then_some(admitted)
    }

    /// Picks a variant by weight from a uniform draw in `[0, 1)`.
    pub fn pick(&self, draw: f64) -> &Arc<LiveVariant> {
        &self.variants[pick_index(&self.cumulative_weights, draw)]
    }

    /// The variant with this name.
    pub fn variant(&self, name: &str) -> Option<&Arc<LiveVariant>> {
        self.variants.iter().find(|v| v.config.name == name)
    }

    /// Every variant including the shadow.
    pub fn all_variants(&self) -> impl Iterator<Item = &Arc<LiveVariant>> {
        self.variants.iter().chain(self.shadow.iter())
    }
}

/// The index a uniform draw in `[0, 1)` lands on, given cumulative weights (zero-weight
/// entries are never picked).
fn pick_index(cumulative: &[f64], draw: f64) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let point = draw * total;
    cumulative
        .iter()
        .position(|c| point < *c)
        .unwrap_or(cumulative.len().saturating_sub(1))
}

/// The live endpoints by name. Readers clone an `Arc` and never block writers for long.
#[derive(Default)]
pub(crate) struct LiveEndpoints {
    map: RwLock<HashMap<String, Arc<LiveEndpoint>>>,
}

impl LiveEndpoints {
    pub fn get(&self, name: &str) -> Option<Arc<LiveEndpoint>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Installs an endpoint, returning the one it replaces.
    pub fn insert(&self, live: Arc<LiveEndpoint>) -> Option<Arc<LiveEndpoint>> {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(live.name.clone(), live)
    }

    pub fn remove(&self, name: &str) -> Option<Arc<LiveEndpoint>> {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
    }

    pub fn all(&self) -> Vec<Arc<LiveEndpoint>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

/// Stops the pools an old endpoint used that the new one does not, once their in-flight
/// requests are done (bounded wait), so swapping drops nothing.
pub(crate) fn retire(old: Arc<LiveEndpoint>, kept: Vec<Arc<dyn ReplicaPool>>) {
    tokio::spawn(async move {
        for variant in old.all_variants() {
            if kept.iter().any(|k| Arc::ptr_eq(k, &variant.pool)) {
                continue;
            }
            let deadline = Instant::now() + std::time::Duration::from_secs(60);
            while variant.pool.in_flight() > 0 && Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            // Requests that picked the old endpoint just before the swap may still be on
            // their way to this pool; give them a moment to arrive and finish.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            while variant.pool.in_flight() > 0 && Instant::now() < deadline {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            variant.pool.shutdown().await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_holds_at_the_cap_and_frees_a_place_on_drop() {
        let live = LiveEndpoint::new("e".into(), EndpointConfig::single("m", 1), vec![], None);
        let first = live.admit(2).unwrap();
        let _second = live.admit(2).unwrap();
        assert!(live.admit(2).is_none());
        drop(first);
        let _third = live.admit(2).unwrap();
        assert!(live.admit(2).is_none());
        // The next version of the endpoint counts the same invocations.
        let next = LiveEndpoint::new("e".into(), EndpointConfig::single("m", 2), vec![], None)
            .counting_with(Some(&live));
        assert!(next.admit(2).is_none());
        assert!(next.admit(3).is_some());
    }

    #[test]
    fn picks_follow_the_weights() {
        let cumulative = [0.9, 1.0, 1.0];
        let mut counts = [0usize; 3];
        for i in 0..10_000 {
            counts[pick_index(&cumulative, (i as f64 + 0.5) / 10_000.0)] += 1;
        }
        assert_eq!(counts, [9000, 1000, 0]);
        let zero_first = [0.0, 2.0];
        assert_eq!(pick_index(&zero_first, 0.0), 1);
    }
}
