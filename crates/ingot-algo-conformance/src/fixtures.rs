//! Small deterministic fixtures: one CSV with numeric, integer and string features (with
//! missing values) and a regression, a binary and a multiclass target, plus a probe CSV with
//! unseen categories and missing values.

use ingot_core::Task;
use ingot_data::{DataFormat, Table};

/// Rows in the training fixture.
pub const ROWS: usize = 160;
/// The target columns of the fixture, one per supervised task.
pub const TARGETS: [&str; 3] = ["y_reg", "y_bin", "y_multi"];

/// The fixture's target column for a supervised task; `None` for the unsupervised ones.
pub fn target_for(task: Task) -> Option<&'static str> {
    match task {
        Task::Regression => Some("y_reg"),
        Task::BinaryClassification => Some("y_bin"),
        Task::MulticlassClassification => Some("y_multi"),
        _ => None,
    }
}

/// A reproducible pseudo-random number in `[0, 1)` (splitmix64 of the index).
fn uniform(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The training fixture as CSV text.
pub fn training_csv() -> String {
    let colors = ["red", "green", "blue", "yellow"];
    let mut csv = String::from("num_a,num_b,color,y_reg,y_bin,y_multi\n");
    for i in 0..ROWS {
        let a = 4.0 * uniform(3 * i as u64) - 2.0;
        let b = (10.0 * uniform(3 * i as u64 + 1)).floor() as i64;
        let color = colors[i % colors.len()];
        let noise = 0.3 * (uniform(3 * i as u64 + 2) - 0.5);
        let y = 1.5 * a - 0.3 * b as f64 + if color == "red" { 1.0 } else { 0.0 } + noise;
        let binary = if y > -1.0 { "yes" } else { "no" };
        let multi = if y < -2.0 {
            "low"
        } else if y < 0.0 {
            "mid"
        } else {
            "high"
        };
        let a_text = if i % 17 == 5 {
            String::new()
        } else {
            format!("{a:.4}")
        };
        let color_text = if i % 13 == 7 { "" } else { color };
        csv.push_str(&format!(
            "{a_text},{b},{color_text},{y:.4},{binary},{multi}\n"
        ));
    }
    csv
}

/// Rows to score that training never showed: unseen categories, missing values, extremes.
pub fn probe_csv() -> String {
    let mut csv = String::from("num_a,num_b,color\n");
    csv.push_str("0.5,3,purple\n");
    csv.push_str(",4,red\n");
    csv.push_str("1.0,,green\n");
    csv.push_str("-1.5,2,\n");
    csv.push_str(",,\n");
    csv.push_str("1e6,-1000,never-seen\n");
    csv
}

/// Parses fixture CSV text.
pub fn table(csv: &str) -> Result<Table, String> {
    ingot_data::read_table(csv.as_bytes(), DataFormat::Csv).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_parse_with_every_class_present() {
        let t = table(&training_csv()).unwrap();
        assert_eq!(t.batch.num_rows(), ROWS);
        let text = training_csv();
        for label in ["yes", "no", "low", "mid", "high"] {
            let count = text.matches(&format!(",{label}")).count();
            assert!(count >= 10, "{label}: {count}");
        }
        assert_eq!(table(&probe_csv()).unwrap().batch.num_rows(), 6);
    }
}
