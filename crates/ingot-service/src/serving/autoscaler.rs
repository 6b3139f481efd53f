//! The autoscaling loop: every tick, measure each variant's tracked metric (invocations per
//! minute, or the mean requests in flight since the last tick), ask the pure
//! policy (`ingot_serve::autoscale`) for a replica count, and scale the pool. Async endpoints
//! without a policy of their own still scale to zero when idle (if their minimum is 0). Each
//! change is kept with its reason, and so is a cold start a request made between two ticks:
//! the last few in memory for `ingot endpoint show`, and in the store across restarts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ingot_core::endpoint_config::{AutoscalingConfig, EndpointMode, ScalingMetric};
use ingot_serve::autoscale::{desired_replicas, reason, ScalingEvent, ScalingInput};

use super::live::{LiveVariant, KEPT_SCALING_EVENTS};
use crate::Platform;

/// The policy async endpoints get when they have none: scale with traffic, idle to zero.
fn async_default() -> AutoscalingConfig {
    AutoscalingConfig {
        metric: ScalingMetric::InvocationsPerReplica,
        target_value: 1000.0,
        scale_out_cooldown_secs: 60,
        scale_in_cooldown_secs: ingot_core::endpoint_config::DEFAULT_COOLDOWN_SECS,
    }
}

impl Platform {
    /// Starts the loop on the current runtime.
    pub(crate) fn start_autoscaler(self: &Arc<Self>, interval: Duration) {
        let platform = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(platform) = platform.upgrade() else {
                    return;
                };
                platform.autoscale_tick().await;
            }
        });
    }

    /// One pass over every live endpoint (also callable directly, e.g. by tests).
    pub async fn autoscale_tick(&self) {
        for live in self.serving.live.all() {
            let policy = match (&live.config.autoscaling, live.config.mode) {
                (Some(policy), _) => policy.clone(),
                (None, EndpointMode::Async) => async_default(),
                (None, EndpointMode::RealTime) => continue,
            };
            for variant in live.all_variants() {
                let mut events = Vec::new();
                if let Err(e) = scale_variant(variant, &policy, &mut events).await {
                    tracing::warn!(
                        endpoint = %live.name,
                        variant = %variant.config.name,
                        error = %e,
                        "autoscaling failed"
                    );
                }
                let kept = self
                    .store
                    .record_scaling_events(
                        &live.name,
                        &variant.config.name,
                        &events,
                        KEPT_SCALING_EVENTS,
                    )
                    .await;
                if let Err(e) = kept {
                    tracing::warn!(endpoint = %live.name, variant = %variant.config.name,
                        error = %e, "cannot keep the scaling history");
                }
            }
        }
    }
}

/// Scales one variant if its policy says so; the changes it notes (a cold start since the last
/// tick, then its own) are kept in its state and pushed to `events`.
async fn scale_variant(
    variant: &LiveVariant,
    policy: &AutoscalingConfig,
    events: &mut Vec<ScalingEvent>,
) -> ingot_serve::Result<()> {
    let now = Instant::now();
    let invocations = variant.metrics.invocations();
    let current = variant.pool.replicas();
    let input = {
        let mut state = variant.scale_state();
        if state.seen_replicas == Some(0) && current > 0 {
            let event = ScalingEvent {
                at: ingot_store::now_millis(),
                from: 0,
                to: current,
                reason: "cold start: a request came while the variant was scaled to zero".into(),
            };
            state.record(event.clone());
            events.push(event);
        }
        state.seen_replicas = Some(current);
        let elapsed = state
            .last_tick
            .map_or(Duration::from_secs(60), |t| now.duration_since(t))
            .max(Duration::from_millis(1));
        let delta = invocations.saturating_sub(state.last_invocations);
        let busy = variant.metrics.busy_micros();
        let busy_delta = busy.saturating_sub(state.last_busy_micros);
        state.last_invocations = invocations;
        state.last_busy_micros = busy;
        let first_tick = state.last_tick.is_none();
        state.last_tick = Some(now);
        let observed_total = match policy.metric {
            ScalingMetric::InvocationsPerReplica => delta as f64 * 60.0 / elapsed.as_secs_f64(),
            // The mean in flight since the last tick (a burst between two ticks counts), or
            // the requests in flight now if more (long requests not answered yet).
            ScalingMetric::ConcurrencyPerReplica => {
                let mean = if first_tick {
                    0.0
                } else {
                    busy_delta as f64 / elapsed.as_micros() as f64
                };
                mean.max(f64::from(variant.pool.in_flight()))
            }
        };
        ScalingInput {
            current,
            min: variant.config.min_replicas,
            max: variant.config.max_replicas,
            target_per_replica: policy.target_value,
            observed_total,
            since_scale_out: state.last_scale_out.map(|t| now.duration_since(t)),
            since_any_scaling: state.last_scaling.map(|t| now.duration_since(t)),
            idle_for: Some(
                state
                    .last_request
                    .map_or(Duration::MAX, |t| now.duration_since(t)),
            ),
            scale_out_cooldown: Duration::from_secs(policy.scale_out_cooldown_secs),
            scale_in_cooldown: Duration::from_secs(policy.scale_in_cooldown_secs),
        }
    };
    let Some(scaling) = desired_replicas(&input) else {
        return Ok(());
    };
    let why = reason(&input, &scaling, policy.metric);
    tracing::info!(
        variant = %variant.config.name,
        from = input.current,
        to = scaling.replicas,
        reason = %why,
        "autoscaling"
    );
    variant.pool.scale(scaling.replicas).await?;
    let mut state = variant.scale_state();
    if scaling.replicas > input.current {
        state.last_scale_out = Some(now);
    }
    state.last_scaling = Some(now);
    state.seen_replicas = Some(scaling.replicas);
    let event = ScalingEvent {
        at: ingot_store::now_millis(),
        from: input.current,
        to: scaling.replicas,
        reason: why,
    };
    state.record(event.clone());
    events.push(event);
    Ok(())
}
