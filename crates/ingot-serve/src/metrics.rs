//! Serving metrics per endpoint and variant (invocations, 4xx, 5xx, model and overhead
//! latency histograms, replicas, loaded models), kept in atomics on the hot path and rendered
//! in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Histogram bucket upper bounds, in seconds: fine below a millisecond, where imported tree
/// models answer, then Prometheus' usual spread up to 5 s.
const BUCKETS: [f64; 16] = [
    0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 5.0,
];

/// One bucket of a histogram snapshot: the observations above the previous bound and up to this
/// one, in microseconds; `le_us` is absent for the bucket past the last bound.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencyBucket {
    pub le_us: Option<f64>,
    pub count: u64,
}

/// A latency histogram.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe_micros(&self, micros: u64) {
        let seconds = micros as f64 / 1e6;
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Every observation added up, in microseconds.
    pub fn sum_micros(&self) -> u64 {
        self.sum_micros.load(Ordering::Relaxed)
    }

    /// Mean in microseconds (0 when empty).
    pub fn mean_micros(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            0.0
        } else {
            self.sum_micros() as f64 / n as f64
        }
    }

    /// Quantile `q` (0–1) in microseconds, estimated as Prometheus' `histogram_quantile` does:
    /// linear within the bucket that holds it (from 0 in the first bucket). Past the last
    /// bound, the last bound. `None` when nothing was observed.
    pub fn quantile_micros(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * n as f64;
        let mut below = 0u64;
        let mut lower = 0.0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            let inside = self.buckets[i].load(Ordering::Relaxed);
            if inside > 0 && (below + inside) as f64 >= rank {
                let fraction = (rank - below as f64) / inside as f64;
                return Some((lower + (bound - lower) * fraction) * 1e6);
            }
            below += inside;
            lower = *bound;
        }
        Some(BUCKETS[BUCKETS.len() - 1] * 1e6)
    }

    /// Every bucket's own count (not cumulative, unlike Prometheus' `le` series), in bound
    /// order, then the observations past the last bound.
    pub fn buckets(&self) -> Vec<LatencyBucket> {
        let mut within = 0;
        let mut buckets: Vec<LatencyBucket> = BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(bound, count)| {
                let count = count.load(Ordering::Relaxed);
                within += count;
                LatencyBucket {
                    le_us: Some(bound * 1e6),
                    count,
                }
            })
            .collect();
        buckets.push(LatencyBucket {
            le_us: None,
            count: self.count().saturating_sub(within),
        });
        buckets
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Counters of one variant (production or shadow).
#[derive(Default)]
pub struct VariantMetrics {
    /// Requests answered or failed.
    pub invocations: AtomicU64,
    /// Requests refused as the client's fault.
    pub errors_4xx: AtomicU64,
    /// Requests that failed on our side.
    pub errors_5xx: AtomicU64,
    /// Time inside the replica (decode, predict, encode).
    pub model_latency: Histogram,
    /// Time around it: routing, the process hop, capture.
    pub overhead_latency: Histogram,
}

impl VariantMetrics {
    /// Records an answered request.
    pub fn record_ok(&self, total_micros: u64, model_micros: u64) {
        self.invocations.fetch_add(1, Ordering::Relaxed);
        self.model_latency.observe_micros(model_micros);
        self.overhead_latency
            .observe_micros(total_micros.saturating_sub(model_micros));
    }

    /// Records a failed request by its HTTP status.
    pub fn record_error(&self, status: u16) {
        self.invocations.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.errors_5xx.fetch_add(1, Ordering::Relaxed);
        } else {
            self.errors_4xx.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Invocations so far.
    pub fn invocations(&self) -> u64 {
        self.invocations.load(Ordering::Relaxed)
    }

    /// The answered requests' whole latencies added up, in microseconds. Its growth over an
    /// interval, divided by the interval, is the mean number of requests in flight then
    /// (Little's law), however short each request was.
    pub fn busy_micros(&self) -> u64 {
        self.model_latency
            .sum_micros()
            .saturating_add(self.overhead_latency.sum_micros())
    }
}

/// Gauges read at render time.
#[derive(Debug, Clone, Copy, Default)]
pub struct VariantGauges {
    /// Running replicas.
    pub replicas: u32,
    /// Loaded models over all replicas.
    pub loaded_models: usize,
    /// Multi-model evictions.
    pub evictions: u64,
    /// Replica restarts after crashes.
    pub restarts: u64,
    /// Resident memory of the replica processes (0 for in-process replicas).
    pub resident_bytes: u64,
}

/// (endpoint, variant) → its metrics.
type VariantMap = BTreeMap<(String, String), Arc<VariantMetrics>>;
/// A rendered counter: name, help, reader.
type Counter = (&'static str, &'static str, fn(&VariantMetrics) -> u64);
/// A rendered histogram: name, help, reader.
type HistogramOf = (
    &'static str,
    &'static str,
    fn(&VariantMetrics) -> &Histogram,
);
/// A rendered gauge: name, Prometheus type, help, reader.
type Gauge = (
    &'static str,
    &'static str,
    &'static str,
    fn(&VariantGauges) -> u64,
);

/// Every variant's metrics, by (endpoint, variant). Entries survive configuration changes so
/// counters never go backwards.
#[derive(Default, Clone)]
pub struct ServingMetrics {
    variants: Arc<RwLock<VariantMap>>,
}

impl ServingMetrics {
    /// The metrics of one variant, created on first use.
    pub fn variant(&self, endpoint: &str, variant: &str) -> Arc<VariantMetrics> {
        let key = (endpoint.to_string(), variant.to_string());
        if let Some(found) = self
            .variants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        self.variants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }

    /// Forgets an endpoint's metrics (when it is deleted).
    pub fn remove_endpoint(&self, endpoint: &str) {
        self.variants
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(e, _), _| e != endpoint);
    }

    /// Every variant of an endpoint with its metrics.
    pub fn of_endpoint(&self, endpoint: &str) -> Vec<(String, Arc<VariantMetrics>)> {
        self.variants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((e, _), _)| e == endpoint)
            .map(|((_, v), m)| (v.clone(), m.clone()))
            .collect()
    }

    /// The Prometheus text exposition; `gauges(endpoint, variant)` supplies live gauges.
    pub fn render(&self, gauges: &dyn Fn(&str, &str) -> Option<VariantGauges>) -> String {
        let variants = self.variants.read().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let counters: [Counter; 3] = [
            (
                "ingot_invocations_total",
                "Invocations per endpoint variant.",
                |m| m.invocations.load(Ordering::Relaxed),
            ),
            (
                "ingot_invocation_4xx_errors_total",
                "Invocations refused as bad requests.",
                |m| m.errors_4xx.load(Ordering::Relaxed),
            ),
            (
                "ingot_invocation_5xx_errors_total",
                "Invocations that failed server-side.",
                |m| m.errors_5xx.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, read) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((endpoint, variant), m) in variants.iter() {
                let _ = writeln!(out, "{name}{{{}}} {}", labels(endpoint, variant), read(m));
            }
        }
        let histograms: [HistogramOf; 2] = [
            (
                "ingot_model_latency_seconds",
                "Time inside the model replica.",
                |m| &m.model_latency,
            ),
            (
                "ingot_overhead_latency_seconds",
                "Time outside the model replica.",
                |m| &m.overhead_latency,
            ),
        ];
        for (name, help, read) in histograms {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for ((endpoint, variant), m) in variants.iter() {
                read(m).render(&mut out, name, &labels(endpoint, variant));
            }
        }
        let live: Vec<_> = variants
            .keys()
            .filter_map(|(e, v)| gauges(e, v).map(|g| (e, v, g)))
            .collect();
        let gauge_kinds: [Gauge; 5] = [
            ("ingot_replicas", "gauge", "Running replicas.", |g| {
                g.replicas as u64
            }),
            (
                "ingot_loaded_models",
                "gauge",
                "Models loaded in memory.",
                |g| g.loaded_models as u64,
            ),
            (
                "ingot_model_evictions_total",
                "counter",
                "Multi-model LRU evictions.",
                |g| g.evictions,
            ),
            (
                "ingot_replica_restarts_total",
                "counter",
                "Replicas restarted after a crash.",
                |g| g.restarts,
            ),
            (
                "ingot_replica_resident_bytes",
                "gauge",
                "Resident memory of the replica processes (0 for in-process replicas).",
                |g| g.resident_bytes,
            ),
        ];
        for (name, kind, help, read) in gauge_kinds {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (endpoint, variant, g) in &live {
                let _ = writeln!(out, "{name}{{{}}} {}", labels(endpoint, variant), read(g));
            }
        }
        out
    }
}

fn labels(endpoint: &str, variant: &str) -> String {
    // Names are validated (no quotes or backslashes), so they need no escaping.
    format!("endpoint=\"{endpoint}\",variant=\"{variant}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let metrics = ServingMetrics::default();
        let v = metrics.variant("ep", "a");
        v.record_ok(300, 200);
        v.record_error(400);
        v.record_error(503);
        let text = metrics.render(&|_, _| {
            Some(VariantGauges {
                replicas: 2,
                loaded_models: 1,
                evictions: 0,
                restarts: 0,
                resident_bytes: 50 << 20,
            })
        });
        assert!(text.contains("ingot_invocations_total{endpoint=\"ep\",variant=\"a\"} 3"));
        assert!(text.contains(
            "# TYPE ingot_replica_resident_bytes gauge\ningot_replica_resident_bytes{endpoint=\"ep\",variant=\"a\"} 52428800"
        ));
        assert!(text.contains("ingot_invocation_4xx_errors_total{endpoint=\"ep\",variant=\"a\"} 1"));
        assert!(text.contains("ingot_invocation_5xx_errors_total{endpoint=\"ep\",variant=\"a\"} 1"));
        assert!(text.contains(
            "ingot_model_latency_seconds_bucket{endpoint=\"ep\",variant=\"a\",le=\"0.00025\"} 1"
        ));
        assert!(text.contains(
            "ingot_overhead_latency_seconds_bucket{endpoint=\"ep\",variant=\"a\",le=\"0.0001\"} 1"
        ));
        assert!(text.contains("ingot_replicas{endpoint=\"ep\",variant=\"a\"} 2"));
    }

    #[test]
    fn quantiles_interpolate_within_buckets_as_prometheus_does() {
        let h = Histogram::default();
        assert_eq!(h.quantile_micros(0.5), None);
        // 50 observations in (50, 100] µs and 50 in (250, 500] µs.
        for _ in 0..50 {
            h.observe_micros(80);
            h.observe_micros(300);
        }
        // Rank 50 closes the (50, 100] bucket: its upper bound.
        assert_eq!(h.quantile_micros(0.5), Some(100.0));
        // Rank 99 is 49 of the 50 into (250, 500]: 250 + 250 · 49/50.
        let p99 = h.quantile_micros(0.99).unwrap();
        assert!((p99 - 495.0).abs() < 1e-9, "{p99}");
        // Rank 25 is halfway into (50, 100]; the first bucket starts at 0.
        assert!((h.quantile_micros(0.25).unwrap() - 75.0).abs() < 1e-9);
        let first = Histogram::default();
        first.observe_micros(10);
        first.observe_micros(20);
        assert!((first.quantile_micros(0.5).unwrap() - 12.5).abs() < 1e-9);
        // Beyond the last bound: the last bound.
        let slow = Histogram::default();
        slow.observe_micros(9_000_000);
        assert_eq!(slow.quantile_micros(0.99), Some(5_000_000.0));
    }

    #[test]
    fn bucket_snapshots_count_each_bucket_once_and_the_overflow() {
        let h = Histogram::default();
        for micros in [10, 25, 26, 80, 80, 300, 9_000_000] {
            h.observe_micros(micros);
        }
        let buckets = h.buckets();
        assert_eq!(buckets.len(), BUCKETS.len() + 1);
        let count_at = |le: Option<f64>| {
            buckets
                .iter()
                .find(|b| b.le_us.map(|v| v.round()) == le)
                .map(|b| b.count)
        };
        // A bound is inclusive: 25 µs falls in the first bucket, 26 µs in the second.
        assert_eq!(count_at(Some(25.0)), Some(2));
        assert_eq!(count_at(Some(50.0)), Some(1));
        assert_eq!(count_at(Some(100.0)), Some(2));
        assert_eq!(count_at(Some(500.0)), Some(1));
        assert_eq!(count_at(None), Some(1));
        assert_eq!(buckets.iter().map(|b| b.count).sum::<u64>(), 7);
        assert!(buckets.windows(2).all(|w| match (w[0].le_us, w[1].le_us) {
            (Some(a), Some(b)) => a < b,
            (Some(_), None) => true,
            _ => false,
        }));
    }
}
