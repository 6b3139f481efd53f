//! The latency histograms `ingot endpoint show` draws under its table: per variant, model time
//! and overhead side by side as text bars, one line per histogram bucket.

use ingot_serve::LatencyBucket;

/// Cells of the longest bar.
const BAR_CELLS: usize = 24;
/// Partial cells, in eighths.
const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// A latency in microseconds, in the unit that reads best (`42µs`, `1.3ms`, `2.50s`).
pub fn duration(micros: f64) -> String {
    if micros < 1_000.0 {
        format!("{micros:.0}µs")
    } else if micros < 1_000_000.0 {
        format!("{:.1}ms", micros / 1e3)
    } else {
        format!("{:.2}s", micros / 1e6)
    }
}

/// A bar of `value` out of `max`, `BAR_CELLS` cells at `max`, drawn in eighths of a cell. A
/// value above zero always shows at least a sliver, so a rare bucket is not hidden.
fn bar(value: u64, max: u64) -> String {
    if value == 0 || max == 0 {
        return String::new();
    }
    let eighths = ((value as f64 / max as f64) * (BAR_CELLS * 8) as f64).round() as usize;
    let eighths = eighths.max(1);
    let mut bar = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        bar.push(EIGHTHS[eighths % 8]);
    }
    bar
}

/// The lines plotting one variant's model and overhead histograms, from the first bucket either
/// has an answer in to the last; none when neither has any. Each histogram is scaled to its own
/// fullest bucket, so both shapes read at a glance.
pub fn plot(variant: &str, model: &[LatencyBucket], overhead: &[LatencyBucket]) -> Vec<String> {
    let used = |i: usize| {
        model.get(i).is_some_and(|b| b.count > 0) || overhead.get(i).is_some_and(|b| b.count > 0)
    };
    let buckets = model.len().max(overhead.len());
    let (Some(first), Some(last)) = (
        (0..buckets).find(|&i| used(i)),
        (0..buckets).rev().find(|&i| used(i)),
    ) else {
        return Vec::new();
    };
    let answers: u64 = model.iter().map(|b| b.count).sum();
    let fullest = |h: &[LatencyBucket]| h.iter().map(|b| b.count).max().unwrap_or(0);
    let (model_max, overhead_max) = (fullest(model), fullest(overhead));
    let half = |h: &[LatencyBucket], i: usize, max: u64| match h.get(i) {
        Some(b) if b.count > 0 => format!("{} {}", bar(b.count, max), b.count),
        _ => String::new(),
    };
    let column = BAR_CELLS + 10;
    let mut lines = vec![
        format!("latency of {variant} ({answers} answers)"),
        format!("  {:<10}{:<column$}overhead", "", "model"),
    ];
    for i in first..=last {
        let upper = model.get(i).or(overhead.get(i)).and_then(|b| b.le_us);
        let label = match upper {
            Some(le) => format!("≤ {}", duration(le)),
            None => format!(
                "> {}",
                model
                    .iter()
                    .rev()
                    .find_map(|b| b.le_us)
                    .map_or("-".into(), duration)
            ),
        };
        let line = format!(
            "  {label:<10}{:<column$}{}",
            half(model, i, model_max),
            half(overhead, i, overhead_max)
        );
        lines.push(line.trim_end().to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(counts: &[(Option<f64>, u64)]) -> Vec<LatencyBucket> {
        counts
            .iter()
            .map(|&(le_us, count)| LatencyBucket { le_us, count })
            .collect()
    }

    #[test]
    fn bars_are_drawn_in_eighths_and_never_hide_a_count() {
        assert_eq!(bar(0, 10), "");
        assert_eq!(bar(10, 10), "█".repeat(BAR_CELLS));
        // Half of 24 cells is 12 whole cells.
        assert_eq!(bar(5, 10), "█".repeat(12));
        // 1/64 of 192 eighths is 3 eighths: a partial cell only.
        assert_eq!(bar(1, 64), "▍");
        // One in a million still shows.
        assert_eq!(bar(1, 1_000_000), "▏");
    }

    #[test]
    fn plots_span_the_used_buckets_with_both_histograms() {
        let model = histogram(&[
            (Some(25.0), 0),
            (Some(50.0), 8),
            (Some(100.0), 2),
            (Some(250.0), 0),
            (Some(500.0), 0),
            (None, 0),
        ]);
        let overhead = histogram(&[
            (Some(25.0), 0),
            (Some(50.0), 0),
            (Some(100.0), 5),
            (Some(250.0), 4),
            (Some(500.0), 0),
            (None, 1),
        ]);
        let lines = plot("green", &model, &overhead);
        assert_eq!(lines[0], "latency of green (10 answers)");
        assert!(lines[1].contains("model") && lines[1].contains("overhead"));
        // From 50 µs, the first used bucket, to the overflow, the last.
        let rows: Vec<&str> = lines[2..].iter().map(String::as_str).collect();
        assert_eq!(rows.len(), 5, "{lines:#?}");
        assert!(rows[0].starts_with("  ≤ 50µs"), "{}", rows[0]);
        assert!(rows[4].starts_with("  > 500µs"), "{}", rows[4]);
        // The fullest bucket of each histogram is a full bar; counts follow the bars.
        let full = "█".repeat(BAR_CELLS);
        assert!(rows[0].contains(&format!("{full} 8")), "{}", rows[0]);
        assert!(rows[1].contains(&format!("{full} 5")), "{}", rows[1]);
        assert!(
            rows[1].contains(&format!("{} 2", "█".repeat(6))),
            "{}",
            rows[1]
        );
        // An empty bucket between used ones is an empty line under its label.
        assert_eq!(rows[3].trim(), "≤ 500µs");
        assert!(plot("idle", &histogram(&[(Some(25.0), 0)]), &[]).is_empty());
    }

    #[test]
    fn durations_read_in_the_fitting_unit() {
        assert_eq!(duration(42.4), "42µs");
        assert_eq!(duration(1_340.0), "1.3ms");
        assert_eq!(duration(2_500_000.0), "2.50s");
    }
}
