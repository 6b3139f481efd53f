//! Replicas inside the server process: one shared [`ReplicaCore`] stands for every replica
//! of the variant (the models are read-only, so copies would only cost memory). Used by tests
//! and by `--replica-mode in-process`; scale to zero drops the models, and the next request
//! loads them again.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::core::ReplicaCore;
use crate::replica::{
    InvokeRequest, InvokeResponse, ModelSource, PoolFactory, ReplicaPool, ReplicaSpec,
};
use crate::{Error, Result};

/// A variant served from this process.
pub struct InProcessPool {
    spec: ReplicaSpec,
    source: Arc<dyn ModelSource>,
    core: RwLock<Option<Arc<ReplicaCore>>>,
    starting: tokio::sync::Mutex<()>,
    replicas: AtomicU32,
    in_flight: AtomicU32,
}

impl InProcessPool {
    fn current(&self) -> Option<Arc<ReplicaCore>> {
        self.core.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The running core, starting one first when scaled to zero.
    async fn core(&self) -> Result<Arc<ReplicaCore>> {
        if let Some(core) = self.current() {
            return Ok(core);
        }
        let _starting = self.starting.lock().await;
        if let Some(core) = self.current() {
            return Ok(core);
        }
        let core = Arc::new(ReplicaCore::start(self.spec.clone(), self.source.clone()).await?);
        *self.core.write().unwrap_or_else(|p| p.into_inner()) = Some(core.clone());
        if self.replicas.load(Ordering::Relaxed) == 0 {
            self.replicas.store(1, Ordering::Relaxed);
        }
        Ok(core)
    }
}

struct InFlight<'a>(&'a AtomicU32);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl ReplicaPool for InProcessPool {
    async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResponse> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _guard = InFlight(&self.in_flight);
        let core = self.core().await?;
        core.invoke(request).await
    }

    /// The timeout cannot cut short scoring that runs inline on this thread (small bodies):
    /// the error then comes once that scoring returns.
    async fn invoke_within(
        &self,
        request: InvokeRequest,
        timeout: std::time::Duration,
    ) -> Result<InvokeResponse> {
        match tokio::time::timeout(timeout, self.invoke(request)).await {
            Ok(answer) => answer,
            Err(_) => {
                let name = format!("{}/{}", self.spec.endpoint, self.spec.variant);
                Err(Error::timed_out(&name, timeout))
            }
        }
    }

    async fn ready(&self) -> Result<()> {
        self.core().await.map(|_| ())
    }

    async fn scale(&self, replicas: u32) -> Result<()> {
        if replicas == 0 {
            *self.core.write().unwrap_or_else(|p| p.into_inner()) = None;
        } else {
            self.core().await?;
        }
        self.replicas.store(replicas, Ordering::Relaxed);
        Ok(())
    }

    fn replicas(&self) -> u32 {
        self.replicas.load(Ordering::Relaxed)
    }

    fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    fn loaded_models(&self) -> usize {
        self.current().map_or(0, |c| c.loaded_models())
    }

    fn evictions(&self) -> u64 {
        self.current().map_or(0, |c| c.evictions())
    }

    async fn shutdown(&self) {
        *self.core.write().unwrap_or_else(|p| p.into_inner()) = None;
        self.replicas.store(0, Ordering::Relaxed);
    }
}

/// Creates [`InProcessPool`]s.
pub struct InProcessFactory;

#[async_trait]
impl PoolFactory for InProcessFactory {
    async fn create(
        &self,
        spec: ReplicaSpec,
        replicas: u32,
        source: Arc<dyn ModelSource>,
    ) -> Result<Arc<dyn ReplicaPool>> {
        let pool = InProcessPool {
            spec,
            source,
            core: RwLock::new(None),
            starting: tokio::sync::Mutex::new(()),
            replicas: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
        };
        if replicas > 0 {
            pool.scale(replicas).await?;
        }
        Ok(Arc::new(pool))
    }
}
