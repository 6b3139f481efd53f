//! The target-tracking scaling policy as a pure function: given what a variant did since the
//! last look, how many replicas it should run. Cooldowns and the replica range are applied
//! here; the service's loop only measures and calls `ReplicaPool::scale`.

use std::time::Duration;

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

/// The replica count to run, or `None` to leave it alone.
pub fn desired_replicas(input: &ScalingInput) -> Option<u32> {
    let ScalingInput {
        current, min, max, ..
    } = *input;
    let clamp = |n: u32| n.clamp(min, max.max(min));
    if current < min {
        return Some(min);
    }
    if current > max {
        return Some(max);
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
            return (want != current).then_some(want);
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
        return (want != current).then_some(want);
    }
    None
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

    #[test]
    fn tracks_the_target_within_the_range() {
        assert_eq!(desired_replicas(&input(1, 250.0)), Some(3));
        assert_eq!(desired_replicas(&input(1, 1000.0)), Some(4));
        assert_eq!(desired_replicas(&input(3, 250.0)), None);
        assert_eq!(desired_replicas(&input(3, 50.0)), Some(1));
    }

    #[test]
    fn cooldowns_hold_scaling_back() {
        let mut recent = input(1, 250.0);
        recent.since_scale_out = Some(Duration::from_secs(10));
        assert_eq!(desired_replicas(&recent), None);
        let mut recent = input(3, 50.0);
        recent.since_any_scaling = Some(Duration::from_secs(299));
        assert_eq!(desired_replicas(&recent), None);
        recent.since_any_scaling = Some(Duration::from_secs(300));
        assert_eq!(desired_replicas(&recent), Some(1));
    }

    #[test]
    fn scales_to_zero_only_after_an_idle_cooldown_and_back_at_once() {
        let mut idle = input(1, 0.0);
        idle.min = 0;
        idle.idle_for = Some(Duration::from_secs(10));
        assert_eq!(desired_replicas(&idle), None);
        idle.idle_for = Some(Duration::from_secs(301));
        assert_eq!(desired_replicas(&idle), Some(0));
        let mut cold = input(0, 5.0);
        cold.min = 0;
        cold.since_scale_out = Some(Duration::from_secs(1));
        assert_eq!(desired_replicas(&cold), Some(1));
    }
}
