//! The target-tracking scaling policy as a pure function: given what a variant did since the
//! last look, how many replicas it should run. Cooldowns and the replica range are applied
//! here, and each decision comes with the reason `ingot endpoint show` prints; the service's
//! loop only measures, calls `ReplicaPool::scale` and keeps the recent decisions.

use std::time::Duration;

use ingot_core::endpoint_config::ScalingMetric;

/// What the scaler knows about one variant at one tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalingInput {
    /// Replicas running now.
    pub current: u32,
    /// Fewest and most replicas allowed.
    pub min: u32,
    pub max: u32,
    /// The tracked metric's value per replica target.
    pub target_per_replica: f64,
    /// The tracked metric summed over the variant (invocations per minute, or in-flight).
    pub observed_total: f64,
    /// Time since the last scale-out and since the last scaling of any kind (`None`: never).
    pub since_scale_out: Option<Duration>,
    pub since_any_scaling: Option<Duration>,
    /// Time since the variant last saw a request (`None`: never).
    pub idle_for: Option<Duration>,
    pub scale_out_cooldown: Duration,
    pub scale_in_cooldown: Duration,
}

/// Why the scaler chose a replica count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalingCause {
    /// Fewer replicas ran than the variant's minimum.
    BelowMinimum,
    /// More replicas ran than the variant's maximum.
    AboveMaximum,
    /// The tracked metric over the target asked for this many.
    Target,
    /// No request came for a whole scale-in cooldown, so the variant went to zero.
    Idle,
}

/// A decision to run `replicas` replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaling {
    pub replicas: u32,
    pub cause: ScalingCause,
}

pub use ingot_core::records::ScalingEvent;

/// The replica count to run, or `None` to leave it alone.
pub fn desired_replicas(input: &ScalingInput) -> Option<Scaling> {
    let ScalingInput {
        current, min, max, ..
    } = *input;
    let clamp = |n: u32| n.clamp(min, max.max(min));
    let scaling = |replicas, cause| Some(Scaling { replicas, cause });
    if current < min {
        return scaling(min, ScalingCause::BelowMinimum);
    }
    if current > max {
        return scaling(max, ScalingCause::AboveMaximum);
    }
    // Target tracking: enough replicas that each carries at most the target.
    let needed = if input.observed_total <= 0.0 {
        0
    } else {
        (input.observed_total / input.target_per_replica).ceil() as u32
    };
    let cooled = |since: Option<Duration>, cooldown: Duration| since.is_none_or(|d| d >= cooldown);
    if needed > current {
        if current == 0 || cooled(input.since_scale_out, input.scale_out_cooldown) {
            let want = clamp(needed);
            return (want != current).then_some(Scaling {
                replicas: want,
                cause: ScalingCause::Target,
            });
        }
        return None;
    }
    if needed < current && cooled(input.since_any_scaling, input.scale_in_cooldown) {
        // Scale to zero only after a whole cooldown without any request.
        let floor = if min == 0 && !cooled(input.idle_for, input.scale_in_cooldown) {
            1
        } else {
            min
        };
        let want = needed.max(floor).clamp(min, max.max(min));
        let cause = if want == 0 {
            ScalingCause::Idle
        } else {
            ScalingCause::Target
        };
        return (want != current).then_some(Scaling {
            replicas: want,
            cause,
        });
    }
    None
}

/// The words for a decision: what was measured against what target, or which rule applied.
pub fn reason(input: &ScalingInput, scaling: &Scaling, metric: ScalingMetric) -> String {
    let plural = |n: u32| if n == 1 { "replica" } else { "replicas" };
    match scaling.cause {
        ScalingCause::BelowMinimum => {
            format!("below the minimum of {} {}", input.min, plural(input.min))
        }
        ScalingCause::AboveMaximum => {
            format!("above the maximum of {} {}", input.max, plural(input.max))
        }
        ScalingCause::Idle => format!(
            "no request for the scale-in cooldown of {} s",
            input.scale_in_cooldown.as_secs()
        ),
        ScalingCause::Target => {
            let target = input.target_per_replica;
            let observed = input.observed_total;
            let measured = match metric {
                ScalingMetric::InvocationsPerReplica => {
                    format!("{observed:.0} invocations per minute")
                }
                ScalingMetric::ConcurrencyPerReplica => {
                    format!("{observed:.1} requests in flight on average")
                }
            };
            let capped =
                if scaling.replicas == input.max && observed > target * f64::from(input.max) {
                    format!(" (capped at the maximum of {})", input.max)
                } else {
                    String::new()
                };
            format!("{measured} for a target of {target} per replica{capped}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(current: u32, observed: f64) -> ScalingInput {
        ScalingInput {
            current,
            min: 1,
            max: 4,
            target_per_replica: 100.0,
            observed_total: observed,
            since_scale_out: None,
            since_any_scaling: None,
            idle_for: Some(Duration::ZERO),
            scale_out_cooldown: Duration::from_secs(300),
            scale_in_cooldown: Duration::from_secs(300),
        }
    }

    fn replicas(input: &ScalingInput) -> Option<u32> {
        desired_replicas(input).map(|s| s.replicas)
    }

    #[test]
    fn tracks_the_target_within_the_range() {
        assert_eq!(replicas(&input(1, 250.0)), Some(3));
        assert_eq!(replicas(&input(1, 1000.0)), Some(4));
        assert_eq!(replicas(&input(3, 250.0)), None);
        assert_eq!(replicas(&input(3, 50.0)), Some(1));
    }

    #[test]
    fn cooldowns_hold_scaling_back() {
        let mut recent = input(1, 250.0);
        recent.since_scale_out = Some(Duration::from_secs(10));
        assert_eq!(replicas(&recent), None);
        let mut recent = input(3, 50.0);
        recent.since_any_scaling = Some(Duration::from_secs(299));
        assert_eq!(replicas(&recent), None);
        recent.since_any_scaling = Some(Duration::from_secs(300));
        assert_eq!(replicas(&recent), Some(1));
    }

    #[test]
    fn scales_to_zero_only_after_an_idle_cooldown_and_back_at_once() {
        let mut idle = input(1, 0.0);
        idle.min = 0;
        idle.idle_for = Some(Duration::from_secs(10));
        assert_eq!(replicas(&idle), None);
        idle.idle_for = Some(Duration::from_secs(301));
        assert_eq!(replicas(&idle), Some(0));
        let mut cold = input(0, 5.0);
        cold.min = 0;
        cold.since_scale_out = Some(Duration::from_secs(1));
        assert_eq!(replicas(&cold), Some(1));
    }

    #[test]
    fn each_decision_says_why() {
        let invocations = ScalingMetric::InvocationsPerReplica;
        let busy = input(1, 250.0);
        let out = desired_replicas(&busy).unwrap();
        assert_eq!(out.cause, ScalingCause::Target);
        assert_eq!(
            reason(&busy, &out, invocations),
            "250 invocations per minute for a target of 100 per replica"
        );
        let flooded = input(1, 1000.0);
        let out = desired_replicas(&flooded).unwrap();
        assert_eq!(
            reason(&flooded, &out, ScalingMetric::ConcurrencyPerReplica),
            "1000.0 requests in flight on average for a target of 100 per replica (capped at the maximum of 4)"
        );
        let mut short = input(0, 0.0);
        short.min = 2;
        let out = desired_replicas(&short).unwrap();
        assert_eq!((out.replicas, out.cause), (2, ScalingCause::BelowMinimum));
        assert_eq!(
            reason(&short, &out, invocations),
            "below the minimum of 2 replicas"
        );
        let mut over = input(6, 0.0);
        over.max = 1;
        over.min = 1;
        let out = desired_replicas(&over).unwrap();
        assert_eq!((out.replicas, out.cause), (1, ScalingCause::AboveMaximum));
        assert_eq!(
            reason(&over, &out, invocations),
            "above the maximum of 1 replica"
        );
        let mut idle = input(1, 0.0);
        idle.min = 0;
        idle.idle_for = Some(Duration::from_secs(400));
        let out = desired_replicas(&idle).unwrap();
        assert_eq!((out.replicas, out.cause), (0, ScalingCause::Idle));
        assert_eq!(
            reason(&idle, &out, invocations),
            "no request for the scale-in cooldown of 300 s"
        );
    }
}
