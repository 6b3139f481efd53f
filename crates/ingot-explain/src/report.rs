//! Self-contained HTML pages for Clarify results: a bias report (one inline SVG bar chart of the
//! metric values per facet selection and stage) and a SHAP summary (mean |SHAP| bars per
//! feature, one chart per output). No scripts, no external links or fonts; pages render only
//! aggregates, so their size does not depend on how many rows were analysed.

use crate::bias::{BiasReport, BiasSection};

/// One output's global importance: feature names with their mean |SHAP|.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapSummary {
    /// The output explained (a class, `prediction`, a raw score).
    pub output: String,
    /// The expected value (base value) of the output, when known.
    pub expected_value: Option<f64>,
    /// `(feature, mean |SHAP|)`.
    pub importance: Vec<(String, f64)>,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}table{border-collapse:collapse}\
td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}\
.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#777}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body><h1>{}</h1>\n{body}</body></html>\n",
        escape(title),
        escape(title)
    )
}

/// A horizontal bar chart of signed values (bars grow left of the axis when negative).
/// Non-finite values are listed with their text and drawn without a bar.
fn bar_chart(bars: &[(String, Option<f64>)]) -> String {
    const LABEL: f64 = 180.0;
    const WIDTH: f64 = 420.0;
    const ROW: f64 = 22.0;
    let max = bars
        .iter()
        .filter_map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    let any_negative = bars
        .iter()
        .any(|(_, v)| matches!(v, Some(x) if x.is_finite() && *x < 0.0));
    let zero = if any_negative { WIDTH / 2.0 } else { 0.0 };
    let span = if any_negative { WIDTH / 2.0 } else { WIDTH };
    let height = ROW * bars.len() as f64 + 4.0;
    let total = LABEL + WIDTH + 110.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total}\" height=\"{height}\" \
         role=\"img\" font-size=\"12\">"
    );
    for (i, (name, value)) in bars.iter().enumerate() {
        let y = ROW * i as f64 + 2.0;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 6.0,
            y + 14.0,
            escape(name)
        ));
        let text = match value {
            Some(v) if v.is_finite() => {
                let length = if max > 0.0 { v.abs() / max * span } else { 0.0 };
                let x = if *v < 0.0 { zero - length } else { zero };
                let colour = if *v < 0.0 { "#c0504d" } else { "#4f81bd" };
                svg.push_str(&format!(
                    "<rect x=\"{:.1}\" y=\"{y}\" width=\"{length:.1}\" height=\"{}\" fill=\"{colour}\"/>",
                    LABEL + x,
                    ROW - 6.0
                ));
                format!("{v:.4}")
            }
            Some(v) => format!("{v}"),
            None => "n/a".to_string(),
        };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">{}</text>",
            LABEL + WIDTH + 6.0,
            y + 14.0,
            escape(&text)
        ));
    }
    if any_negative {
        svg.push_str(&format!(
            "<line x1=\"{0}\" x2=\"{0}\" y1=\"0\" y2=\"{height}\" stroke=\"#999\"/>",
            LABEL + zero
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn section_html(stage: &str, section: &BiasSection, out: &mut String) {
    out.push_str(&format!(
        "<h2>{} bias metrics</h2><p>label <b>{}</b>, positive {}</p>\n",
        escape(stage),
        escape(&section.label),
        escape(&section.label_value_or_threshold)
    ));
    for (facet, reports) in &section.facets {
        for report in reports {
            out.push_str(&format!(
                "<h3>facet {} = {}</h3>\n",
                escape(facet),
                escape(&report.value_or_threshold)
            ));
            let bars: Vec<(String, Option<f64>)> = report
                .metrics
                .iter()
                .map(|m| (m.name.clone(), m.value))
                .collect();
            out.push_str(&bar_chart(&bars));
            out.push_str("<table><tr><th>metric</th><th class=\"num\">value</th><th></th></tr>");
            for m in &report.metrics {
                let value = m.value.map_or("n/a".to_string(), |v| format!("{v:.6}"));
                out.push_str(&format!(
                    "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"muted\">{}</td></tr>",
                    escape(&m.description),
                    escape(&value),
                    escape(m.error.as_deref().unwrap_or(""))
                ));
            }
            out.push_str("</table>\n");
        }
    }
}

/// The bias report as a self-contained HTML page.
pub fn bias_html(title: &str, report: &BiasReport) -> String {
    let mut body = String::new();
    if let Some(section) = &report.pre_training_bias_metrics {
        section_html("Pre-training", section, &mut body);
    }
    if let Some(section) = &report.post_training_bias_metrics {
        section_html("Post-training", section, &mut body);
    }
    page(title, &body)
}

/// A SHAP summary (mean |SHAP| per feature, largest first, one chart per output) as a
/// self-contained HTML page. `note` is shown under the title (method, rows, background).
pub fn shap_html(title: &str, note: &str, outputs: &[ShapSummary]) -> String {
    let mut body = format!("<p class=\"muted\">{}</p>\n", escape(note));
    for summary in outputs {
        body.push_str(&format!("<h2>output {}</h2>", escape(&summary.output)));
        if let Some(base) = summary.expected_value {
            body.push_str(&format!("<p>expected value {base:.6}</p>"));
        }
        let mut bars: Vec<(String, Option<f64>)> = summary
            .importance
            .iter()
            .map(|(f, v)| (f.clone(), Some(*v)))
            .collect();
        bars.sort_by(|a, b| {
            b.1.unwrap_or(0.0)
                .total_cmp(&a.1.unwrap_or(0.0))
                .then_with(|| a.0.cmp(&b.0))
        });
        body.push_str(&bar_chart(&bars));
        body.push('\n');
    }
    page(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bias::{bias_report, BiasInput, Column, Predicted, Selection};

    fn report(rows: usize) -> BiasReport {
        let label: Vec<String> = (0..rows).map(|i| ((i * 7 % 5) < 2).to_string()).collect();
        let facet: Vec<String> = (0..rows)
            .map(|i| ["a", "b", "<c>"][i % 3].to_string())
            .collect();
        let predicted: Vec<String> = (0..rows).map(|i| ((i * 3 % 4) < 2).to_string()).collect();
        let positive = Selection::Values(vec!["true".into()]);
        bias_report(&BiasInput {
            label_name: "y",
            label: Column::Text(&label),
            positive: &positive,
            facet_name: "f",
            facet: Column::Text(&facet),
            facet_selection: None,
            group: None,
            predicted: Some(Predicted::Labels(Column::Text(&predicted))),
            features: None,
        })
        .unwrap()
    }

    fn assert_self_contained(html: &str) {
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"), "no scripts");
        assert!(!html.contains("<link"), "no external style sheets");
        assert!(!html.contains("src="), "no external resources");
        // The only URL allowed is the SVG namespace, which is an identifier, never fetched.
        let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!stripped.contains("http://") && !stripped.contains("https://"));
        assert!(!stripped.contains("url("), "no CSS fetches");
    }

    #[test]
    fn bias_page_is_self_contained_escaped_and_independent_of_row_count() {
        let small = bias_html("bias of <data>", &report(60));
        assert_self_contained(&small);
        assert!(small.contains("&lt;c&gt;") && !small.contains("<c>"));
        // One chart per (stage, facet value): 2 stages × 3 values.
        assert_eq!(small.matches("<svg").count(), 6);
        assert!(small.contains("Disparate Impact (DI)"));
        let large = bias_html("bias of <data>", &report(60_000));
        assert_self_contained(&large);
        // Same structure; only the printed numbers may change width slightly.
        assert_eq!(large.matches("<svg").count(), 6);
        assert!(
            large.len() < small.len() + 2_000,
            "{} vs {} bytes",
            large.len(),
            small.len()
        );
    }

    #[test]
    fn shap_page_sorts_bars_and_scales_them() {
        let summary = ShapSummary {
            output: "1".into(),
            expected_value: Some(0.25),
            importance: vec![("small".into(), 0.1), ("big".into(), 0.4)],
        };
        let html = shap_html("explain", "TreeSHAP over 10 rows", &[summary]);
        assert_self_contained(&html);
        let (big, small) = (html.find(">big<").unwrap(), html.find(">small<").unwrap());
        assert!(big < small, "largest first");
        // The largest bar spans the whole plot width, the other a quarter of it.
        assert!(html.contains("width=\"420.0\""), "{html}");
        assert!(html.contains("width=\"105.0\""), "{html}");
    }
}
