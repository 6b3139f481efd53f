//! The multi-model cache: models load lazily on first request (once, however many requests
//! wait for them) and the least recently used ones are evicted beyond a byte budget.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::replica::{ModelSource, ResolvedModel};
use crate::served::Served;
use crate::{Error, Result};

type Key = (String, i64);

struct Slot {
    cell: Arc<OnceCell<Arc<Served>>>,
    size: u64,
    last_used: u64,
    counted: bool,
}

#[derive(Default)]
struct State {
    slots: HashMap<Key, Slot>,
    used_bytes: u64,
    tick: u64,
}

/// Loaded models by (name, version), bounded by the sum of their model-file sizes.
pub struct ModelLru {
    budget_bytes: u64,
    state: Mutex<State>,
    evictions: AtomicU64,
}

impl ModelLru {
    /// An empty cache holding at most `budget_bytes` of model files (always at least one).
    pub fn new(budget_bytes: u64) -> ModelLru {
        ModelLru {
            budget_bytes,
            state: Mutex::new(State::default()),
            evictions: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The loaded model, loading it first when needed and evicting others to fit.
    pub async fn get(
        &self,
        target: &ResolvedModel,
        source: &Arc<dyn ModelSource>,
    ) -> Result<Arc<Served>> {
        let key = (target.model.clone(), target.version);
        let cell = {
            let mut state = self.lock();
            state.tick += 1;
            let tick = state.tick;
            let slot = state.slots.entry(key.clone()).or_insert_with(|| Slot {
                cell: Arc::new(OnceCell::new()),
                size: target.size_bytes.max(1),
                last_used: tick,
                counted: false,
            });
            slot.last_used = tick;
            slot.cell.clone()
        };
        let served = cell
            .get_or_try_init(|| async {
                let bytes = source.fetch(&target.artifact_hash).await?;
                let target = target.clone();
                let served =
                    tokio::task::spawn_blocking(move || Served::decode(vec![(target, bytes)]))
                        .await
                        .map_err(|e| Error::Internal(format!("model load task failed: {e}")))??;
                Ok::<_, Error>(Arc::new(served))
            })
            .await;
        let served = match served {
            Ok(served) => served.clone(),
            Err(e) => {
                // Forget the failed slot so a later request can try again.
                let mut state = self.lock();
                if state
                    .slots
                    .get(&key)
                    .is_some_and(|s| Arc::ptr_eq(&s.cell, &cell) && !s.counted)
                {
                    state.slots.remove(&key);
                }
                return Err(e);
            }
        };
        self.account(&key, &cell);
        Ok(served)
    }

    /// Counts a newly loaded model and evicts the least recently used others over budget.
    fn account(&self, key: &Key, cell: &Arc<OnceCell<Arc<Served>>>) {
        let mut state = self.lock();
        let Some(slot) = state.slots.get_mut(key) else {
            return;
        };
        if slot.counted || !Arc::ptr_eq(&slot.cell, cell) {
            return;
        }
        slot.counted = true;
        let size = slot.size;
        state.used_bytes += size;
        while state.used_bytes > self.budget_bytes {
            let victim = state
                .slots
                .iter()
                .filter(|(k, s)| *k != key && s.counted)
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone());
            let Some(victim) = victim else { break };
            if let Some(slot) = state.slots.remove(&victim) {
                state.used_bytes -= slot.size;
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Models currently loaded.
    pub fn loaded(&self) -> usize {
        self.lock().slots.values().filter(|s| s.counted).count()
    }

    /// Models evicted so far.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }
}
