//! The command-line pieces that build or change an `EndpointConfig`: model references and
//! variant specs, the autoscaling, timeout, concurrency-cap and batching flags `ingot deploy`
//! and `ingot endpoint update` share, and the flags only an update takes (turning autoscaling
//! or batching off).

use anyhow::{anyhow, bail, Result};
use clap::Args;
use ingot_core::endpoint_config::{
    AutoscalingConfig, BatchingConfig, ModelStep, ScalingMetric, VariantConfig,
    DEFAULT_COOLDOWN_SECS,
};
use ingot_core::{EndpointConfig, ModelRef};

/// Target-tracking autoscaling, as `ingot deploy` and `ingot endpoint update` take it.
#[derive(Debug, Default, Args)]
pub struct ScalingFlags {
    /// Autoscale to this many invocations per replica per minute
    #[arg(long, value_name = "N", conflicts_with = "target_concurrency")]
    pub target_invocations: Option<f64>,
    /// Autoscale to this many in-flight requests per replica
    #[arg(long, value_name = "N")]
    pub target_concurrency: Option<f64>,
    /// Seconds after a scale-out before the next one [default: 300]
    #[arg(long, value_name = "SECS")]
    pub scale_out_cooldown_secs: Option<u64>,
    /// Seconds after any scaling before a scale-in (also how long a variant with min 0 must
    /// be idle before it goes to zero) [default: 300]
    #[arg(long, value_name = "SECS")]
    pub scale_in_cooldown_secs: Option<u64>,
}

impl ScalingFlags {
    /// The policy after these flags: a target sets the metric (keeping cooldowns already
    /// configured), a cooldown changes the policy there is, and no flag keeps `current`.
    pub fn apply(&self, current: Option<AutoscalingConfig>) -> Result<Option<AutoscalingConfig>> {
        let target = match (self.target_invocations, self.target_concurrency) {
            (Some(value), _) => Some((ScalingMetric::InvocationsPerReplica, value)),
            (None, Some(value)) => Some((ScalingMetric::ConcurrencyPerReplica, value)),
            (None, None) => None,
        };
        let cooldowns =
            self.scale_out_cooldown_secs.is_some() || self.scale_in_cooldown_secs.is_some();
        let mut policy = match (target, current) {
            (Some((metric, target_value)), current) => {
                let (out, into) = current.map_or((DEFAULT_COOLDOWN_SECS, DEFAULT_COOLDOWN_SECS), |c| {
                    (c.scale_out_cooldown_secs, c.scale_in_cooldown_secs)
                });
                AutoscalingConfig {
                    metric,
                    target_value,
                    scale_out_cooldown_secs: out,
                    scale_in_cooldown_secs: into,
                }
            }
            (None, Some(current)) => current,
            (None, None) if cooldowns => bail!(
                "a cooldown needs autoscaling: give --target-invocations or --target-concurrency too"
            ),
            (None, None) => return Ok(None),
        };
        if let Some(secs) = self.scale_out_cooldown_secs {
            policy.scale_out_cooldown_secs = secs;
        }
        if let Some(secs) = self.scale_in_cooldown_secs {
            policy.scale_in_cooldown_secs = secs;
        }
        Ok(Some(policy))
    }
}

/// The timeout, concurrency cap and dynamic batching, as `ingot deploy` and `ingot endpoint
/// update` take them: each flag changes its own setting of the configuration it is given.
#[derive(Debug, Default, Args)]
pub struct ServingFlags {
    /// Fail an invocation with 504 when its answer takes longer than this (default 60 s,
    /// 3600 s for async endpoints)
    #[arg(long, value_name = "SECS")]
    pub invocation_timeout_secs: Option<u64>,
    /// Answer at most this many requests at once over the endpoint; more get 429 `throttled`
    /// (serverless' MaxConcurrency; 0 means no cap)
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<u32>,
    /// Dynamic batching: most rows per batch
    #[arg(long, value_name = "ROWS")]
    pub max_batch_size: Option<u32>,
    /// Dynamic batching: longest wait for company, in microseconds [default: 1000]
    #[arg(long, value_name = "MICROS")]
    pub max_delay_us: Option<u64>,
}

impl ServingFlags {
    /// Applies the flags to `config` (a new one, or one read from the server).
    pub fn apply(&self, config: &mut EndpointConfig) -> Result<()> {
        if let Some(secs) = self.invocation_timeout_secs {
            config.invocation_timeout_secs = Some(secs);
        }
        match self.max_concurrency {
            Some(0) => config.max_concurrency = None,
            Some(cap) => config.max_concurrency = Some(cap),
            None => {}
        }
        match (self.max_batch_size, self.max_delay_us, &mut config.batching) {
            (None, None, _) => {}
            (size, delay, Some(batching)) => {
                batching.max_batch_size = size.unwrap_or(batching.max_batch_size);
                batching.max_delay_us = delay.unwrap_or(batching.max_delay_us);
            }
            (Some(size), delay, batching @ None) => {
                *batching = Some(BatchingConfig {
                    max_batch_size: size,
                    max_delay_us: delay.unwrap_or(1000),
                });
            }
            (None, Some(_), None) => {
                bail!("--max-delay-us needs batching: give --max-batch-size too")
            }
        }
        Ok(())
    }
}

/// What `ingot endpoint update` can change besides variants, shadow and capture.
#[derive(Debug, Default, Args)]
pub struct UpdateSettingsFlags {
    #[command(flatten)]
    pub scaling: ScalingFlags,
    /// Stop autoscaling (each variant keeps the replicas it runs, within its range)
    #[arg(long, conflicts_with_all = ["target_invocations", "target_concurrency", "scale_out_cooldown_secs", "scale_in_cooldown_secs"])]
    pub no_autoscaling: bool,
    #[command(flatten)]
    pub serving: ServingFlags,
    /// Turn dynamic batching off
    #[arg(long, conflicts_with_all = ["max_batch_size", "max_delay_us"])]
    pub no_batching: bool,
}

impl UpdateSettingsFlags {
    /// Applies the flags to a configuration read from the server.
    pub fn apply(&self, config: &mut EndpointConfig) -> Result<()> {
        config.autoscaling = if self.no_autoscaling {
            None
        } else {
            self.scaling.apply(config.autoscaling.take())?
        };
        if self.no_batching {
            config.batching = None;
        }
        self.serving.apply(config)
    }
}

/// One pipeline step from `MODEL[:VERSION]` (version 0: the latest, pinned later).
pub fn step(reference: &str) -> Result<ModelStep> {
    let parsed: ModelRef = reference.parse()?;
    Ok(ModelStep {
        model: parsed.name,
        version: parsed.version.unwrap_or(0),
    })
}

/// `NAME=MODEL[:V][+MODEL[:V]...][,weight=W][,min=N][,max=N][,mem=MIB]`.
pub fn parse_variant(spec: &str) -> Result<VariantConfig> {
    let (name, rest) = spec.split_once('=').ok_or_else(|| {
        anyhow!("variant {spec:?} must look like NAME=MODEL[:VERSION][,weight=W]")
    })?;
    let mut parts = rest.split(',');
    let models = parts.next().unwrap_or_default();
    let steps = models.split('+').map(step).collect::<Result<Vec<_>>>()?;
    let mut variant = VariantConfig {
        name: name.trim().to_string(),
        steps,
        weight: 1.0,
        min_replicas: 1,
        max_replicas: 1,
        memory_limit_mib: None,
    };
    for option in parts {
        let (key, value) = option
            .split_once('=')
            .ok_or_else(|| anyhow!("variant option {option:?} must be KEY=VALUE"))?;
        let bad = || anyhow!("variant {name}: {key}={value:?} is not a valid number");
        match key.trim() {
            "weight" => variant.weight = value.parse().map_err(|_| bad())?,
            "min" => variant.min_replicas = value.parse().map_err(|_| bad())?,
            "max" => variant.max_replicas = value.parse().map_err(|_| bad())?,
            "mem" => variant.memory_limit_mib = Some(value.parse().map_err(|_| bad())?),
            other => bail!("unknown variant option {other:?}; use weight, min, max or mem"),
        }
    }
    Ok(variant)
}

/// The autoscaling line of `ingot endpoint show`.
pub fn describe_autoscaling(policy: Option<&AutoscalingConfig>) -> String {
    let Some(policy) = policy else {
        return "autoscaling off".to_string();
    };
    let metric = match policy.metric {
        ScalingMetric::InvocationsPerReplica => "invocations per replica per minute",
        ScalingMetric::ConcurrencyPerReplica => "requests in flight per replica",
    };
    format!(
        "autoscaling on {metric}, target {}; cooldowns: scale-out {} s, scale-in {} s",
        policy.target_value, policy.scale_out_cooldown_secs, policy.scale_in_cooldown_secs
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_options_take_a_memory_limit() {
        let variant = parse_variant("canary=churn:2,weight=0.1,max=3,mem=256").unwrap();
        assert_eq!(variant.memory_limit_mib, Some(256));
        assert_eq!(variant.max_replicas, 3);
        let error = parse_variant("canary=churn:2,mem=lots").unwrap_err();
        assert!(error.to_string().contains("mem=\"lots\""), "{error}");
    }

    fn policy(metric: ScalingMetric, target: f64, out: u64, into: u64) -> AutoscalingConfig {
        AutoscalingConfig {
            metric,
            target_value: target,
            scale_out_cooldown_secs: out,
            scale_in_cooldown_secs: into,
        }
    }

    #[test]
    fn scaling_flags_set_the_metric_and_keep_or_change_cooldowns() {
        use ScalingMetric::*;
        let none = ScalingFlags::default();
        assert_eq!(none.apply(None).unwrap(), None);
        let kept = policy(ConcurrencyPerReplica, 4.0, 10, 20);
        assert_eq!(none.apply(Some(kept.clone())).unwrap(), Some(kept.clone()));

        let invocations = ScalingFlags {
            target_invocations: Some(600.0),
            ..Default::default()
        };
        assert_eq!(
            invocations.apply(None).unwrap(),
            Some(policy(InvocationsPerReplica, 600.0, 300, 300))
        );
        // A new target keeps the cooldowns the endpoint already has.
        assert_eq!(
            invocations.apply(Some(kept.clone())).unwrap(),
            Some(policy(InvocationsPerReplica, 600.0, 10, 20))
        );
        let cooldown = ScalingFlags {
            scale_in_cooldown_secs: Some(60),
            ..Default::default()
        };
        assert_eq!(
            cooldown.apply(Some(kept)).unwrap(),
            Some(policy(ConcurrencyPerReplica, 4.0, 10, 60))
        );
        let error = cooldown.apply(None).unwrap_err().to_string();
        assert!(error.contains("--target-invocations"), "{error}");
        let concurrency = ScalingFlags {
            target_concurrency: Some(2.0),
            scale_out_cooldown_secs: Some(0),
            ..Default::default()
        };
        assert_eq!(
            concurrency.apply(None).unwrap(),
            Some(policy(ConcurrencyPerReplica, 2.0, 0, 300))
        );
    }

    #[test]
    fn update_flags_change_batching_timeout_and_autoscaling() {
        let mut config = EndpointConfig::single("m", 1);
        let flags = UpdateSettingsFlags {
            serving: ServingFlags {
                max_batch_size: Some(32),
                invocation_timeout_secs: Some(5),
                max_concurrency: Some(8),
                ..Default::default()
            },
            ..Default::default()
        };
        flags.apply(&mut config).unwrap();
        assert_eq!(
            config.batching,
            Some(BatchingConfig {
                max_batch_size: 32,
                max_delay_us: 1000
            })
        );
        assert_eq!(config.invocation_timeout_secs, Some(5));
        assert_eq!(config.max_concurrency, Some(8));
        let delay = UpdateSettingsFlags {
            serving: ServingFlags {
                max_delay_us: Some(250),
                max_concurrency: Some(0),
                ..Default::default()
            },
            ..Default::default()
        };
        delay.apply(&mut config).unwrap();
        assert_eq!(
            config
                .batching
                .as_ref()
                .map(|b| (b.max_batch_size, b.max_delay_us)),
            Some((32, 250))
        );
        assert_eq!(config.max_concurrency, None, "0 removes the cap");
        let off = UpdateSettingsFlags {
            no_batching: true,
            ..Default::default()
        };
        off.apply(&mut config).unwrap();
        assert_eq!(config.batching, None);
        let error = delay.apply(&mut config).unwrap_err().to_string();
        assert!(error.contains("--max-batch-size"), "{error}");

        config.autoscaling = Some(policy(ScalingMetric::InvocationsPerReplica, 10.0, 1, 1));
        let stop = UpdateSettingsFlags {
            no_autoscaling: true,
            ..Default::default()
        };
        stop.apply(&mut config).unwrap();
        assert_eq!(config.autoscaling, None);
    }

    #[test]
    fn the_autoscaling_line_names_metric_target_and_cooldowns() {
        assert_eq!(describe_autoscaling(None), "autoscaling off");
        assert_eq!(
            describe_autoscaling(Some(&policy(ScalingMetric::ConcurrencyPerReplica, 2.5, 0, 60))),
            "autoscaling on requests in flight per replica, target 2.5; cooldowns: scale-out 0 s, scale-in 60 s"
        );
    }
}
