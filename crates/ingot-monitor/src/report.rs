//! The self-contained HTML drift report: one page with inline CSS and inline SVG (no scripts,
//! no external assets) showing the dataset-drift summary, the constraint violations, the
//! per-column drift table and reference-vs-current distribution overlays. It renders only
//! aggregates (bins and top categories), so its size does not grow with the number of rows.

use std::fmt::Write;

use crate::check::CheckReport;
use crate::drift::{ColumnDrift, Plot};

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1f2933;background:#fff}\
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}\
table{border-collapse:collapse;margin:.5rem 0}th,td{border-bottom:1px solid #e4e7eb;padding:.35rem .7rem;text-align:left;font-size:.9rem}\
th{background:#f5f7fa}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.7rem;font-size:.8rem;font-weight:600}\
.drift{background:#fde2e1;color:#a61b1b}.ok{background:#e3f9e5;color:#1f7a33}\
.summary{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #e4e7eb;border-radius:.5rem;padding:.8rem 1.2rem}\
.card b{display:block;font-size:1.4rem}.feature{margin:1.5rem 0}.legend span{margin-right:1rem;font-size:.85rem}\
.ref{color:#4c6ef5}.cur{color:#f08c00}svg text{font-size:10px;fill:#52606d}";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The whole report as one HTML document.
pub fn render_html(report: &CheckReport) -> String {
    let d = &report.drift;
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ingot drift report</title><style>{STYLE}</style></head><body>"
    );
    let verdict = if d.dataset_drift {
        "<span class=\"badge drift\">Dataset drift detected</span>"
    } else {
        "<span class=\"badge ok\">No dataset drift</span>"
    };
    let _ = write!(
        h,
        "<h1>Data drift report {verdict}</h1><div class=\"summary\">\
         <div class=\"card\"><b>{}</b>columns tested</div>\
         <div class=\"card\"><b>{}</b>drifted columns</div>\
         <div class=\"card\"><b>{}</b>share drifted (threshold {})</div>\
         <div class=\"card\"><b>{}</b>constraint violations</div>\
         <div class=\"card\"><b>{} / {}</b>reference / current rows</div></div>",
        d.number_of_columns,
        d.number_of_drifted_columns,
        num(d.share_of_drifted_columns),
        num(d.drift_share),
        report.violations.len(),
        report.reference_rows,
        report.current_rows
    );
    if !report.violations.is_empty() {
        h.push_str("<h2>Constraint violations</h2><table><tr><th>Feature</th><th>Check</th><th>Description</th></tr>");
        for v in &report.violations {
            let kind = serde_json::to_value(v.constraint_check_type)
                .ok()
                .and_then(|j| j.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&v.feature_name),
                esc(&kind),
                esc(&v.description)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Drift by column</h2><table><tr><th>Column</th><th>Type</th><th>Test</th><th>Score</th><th>Threshold</th><th>Method</th><th>Drift</th></tr>");
    for c in &d.columns {
        let badge = if c.drifted {
            "<span class=\"badge drift\">drifted</span>"
        } else {
            "<span class=\"badge ok\">ok</span>"
        };
        let _ = write!(
            h,
            "<tr><td><a href=\"#f-{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{badge}</td></tr>",
            anchor(&c.column),
            esc(&c.column),
            esc(&c.column_type),
            c.stattest.title(),
            num(c.score),
            num(c.threshold),
            esc(&c.method)
        );
    }
    h.push_str("</table>");
    for (name, why) in &d.skipped {
        let _ = write!(h, "<p>Not tested: <b>{}</b> ({})</p>", esc(name), esc(why));
    }
    h.push_str("<h2>Distributions</h2><p class=\"legend\"><span class=\"ref\">&#9632; reference</span><span class=\"cur\">&#9632; current</span></p>");
    for c in &d.columns {
        feature_section(&mut h, c);
    }
    h.push_str("</body></html>\n");
    h
}

fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn feature_section(h: &mut String, c: &ColumnDrift) {
    let _ = write!(
        h,
        "<div class=\"feature\" id=\"f-{}\"><h3>{} <small>{}: {} (threshold {})</small></h3>",
        anchor(&c.column),
        esc(&c.column),
        c.stattest.title(),
        num(c.score),
        num(c.threshold)
    );
    match &c.plot {
        Plot::Histogram {
            edges,
            reference,
            current,
        } => {
            let labels: Vec<String> = edges
                .iter()
                .take(reference.len())
                .map(|e| num(*e))
                .collect();
            bars(h, &labels, reference, current, false);
        }
        Plot::Categories {
            labels,
            reference,
            current,
        } => bars(h, labels, reference, current, true),
    }
    h.push_str("</div>");
}

/// Paired bars (reference, current) per bin or category, scaled to the largest share.
fn bars(h: &mut String, labels: &[String], r: &[f64], c: &[f64], categorical: bool) {
    let n = r.len().max(1);
    let (width, height, pad) = (720.0, 180.0, 30.0);
    let slot = (width - 2.0 * pad) / n as f64;
    let top = r.iter().chain(c).copied().fold(0.0f64, f64::max).max(1e-12);
    let _ = write!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\">",
        height + 40.0
    );
    let _ = write!(
        h,
        "<line x1=\"{pad}\" y1=\"{height}\" x2=\"{}\" y2=\"{height}\" stroke=\"#9aa5b1\"/>",
        width - pad
    );
    for i in 0..r.len() {
        let x = pad + slot * i as f64;
        let bw = slot * 0.4;
        for (j, (v, color)) in [(r[i], "#4c6ef5"), (c[i], "#f08c00")]
            .into_iter()
            .enumerate()
        {
            let bh = (v / top) * (height - 10.0);
            let _ = write!(
                h,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\" fill-opacity=\"0.8\"><title>{}: {:.2}%</title></rect>",
                x + slot * 0.1 + bw * j as f64,
                height - bh,
                bw,
                bh,
                esc(labels.get(i).map(String::as_str).unwrap_or("")),
                v * 100.0
            );
        }
        let show = categorical || i % 4 == 0;
        if show {
            let mut label = labels.get(i).cloned().unwrap_or_default();
            if label.chars().count() > 12 {
                label = label.chars().take(11).collect::<String>() + "…";
            }
            let _ = write!(
                h,
                "<text x=\"{:.1}\" y=\"{}\" transform=\"rotate(30 {:.1} {})\">{}</text>",
                x + slot * 0.1,
                height + 12.0,
                x + slot * 0.1,
                height + 12.0,
                esc(&label)
            );
        }
    }
    h.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::DriftOptions;
    use crate::sagemaker::Baseline;
    use crate::stats::{DatasetStats, StatsOptions};
    use ingot_data::{read_table, DataFormat};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn csv(rows: usize, shift: f64, seed: u64) -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = String::from("x,y,<k>\n");
        for _ in 0..rows {
            let _ = writeln!(
                s,
                "{},{},c{}",
                rng.gen::<f64>() + shift,
                rng.gen_range(0..1000) + (shift * 1000.0) as i64,
                rng.gen_range(0..5)
            );
        }
        s
    }

    fn report_for(rows: usize) -> String {
        let opts = StatsOptions::default();
        let r = read_table(csv(rows, 0.0, 1).as_bytes(), DataFormat::Csv).unwrap();
        let c = read_table(csv(rows, 0.3, 2).as_bytes(), DataFormat::Csv).unwrap();
        let baseline = Baseline::from_stats(&DatasetStats::of_table(&r, &opts).unwrap());
        let current = DatasetStats::of_table(&c, &opts).unwrap();
        let report = crate::check(&baseline, &current, &DriftOptions::default()).unwrap();
        render_html(&report)
    }

    #[test]
    fn report_is_self_contained_and_its_size_does_not_grow_with_rows() {
        let small = report_for(1_000);
        let large = report_for(100_000);
        for html in [&small, &large] {
            assert!(html.starts_with("<!DOCTYPE html>"));
            assert!(html.contains("<svg"));
            assert!(!html.contains("<script"));
            assert!(!html.contains("src=\"http"));
            assert!(!html.contains("<link"));
            assert!(html.contains("&lt;k&gt;"), "column names are escaped");
            assert!(html.contains("Dataset drift detected"));
        }
        let ratio = large.len() as f64 / small.len() as f64;
        assert!(
            (0.8..1.25).contains(&ratio),
            "1k rows: {} bytes, 100k rows: {} bytes",
            small.len(),
            large.len()
        );
    }
}
