//! Seeded generator of a bank-churn-like dataset with the 14 columns of the classic churn
//! example, with a known logistic relationship so a model can find real signal.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The header, in the classic column order.
pub const CHURN_COLUMNS: [&str; 14] = [
    "RowNumber",
    "CustomerId",
    "Surname",
    "CreditScore",
    "Geography",
    "Gender",
    "Age",
    "Tenure",
    "Balance",
    "NumOfProducts",
    "HasCrCard",
    "IsActiveMember",
    "EstimatedSalary",
    "Exited",
];

/// Columns that identify customers rather than describe them.
pub const CHURN_ID_COLUMNS: [&str; 3] = ["RowNumber", "CustomerId", "Surname"];

const SURNAMES: [&str; 24] = [
    "Hargrave",
    "Hill",
    "Onio",
    "Boni",
    "Mitchell",
    "Chu",
    "Bartlett",
    "Obinna",
    "He",
    "Bearce",
    "Andrews",
    "Kay",
    "Chin",
    "Scott",
    "Goforth",
    "Romeo",
    "Henderson",
    "Muldrow",
    "Hao",
    "McDonald",
    "Dellucci",
    "Gerasimov",
    "Mosman",
    "Yen",
];

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box–Muller: one standard normal from two uniforms.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Generates `rows` customers as CSV text with a header.
pub fn churn_csv(rows: usize, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = String::with_capacity(rows * 96);
    out.push_str(&CHURN_COLUMNS.join(","));
    out.push('\n');
    for row in 1..=rows {
        let customer_id = 15_565_701 + rng.gen_range(0..250_000);
        let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())];
        let credit_score = (650.0 + 97.0 * normal(&mut rng))
            .clamp(350.0, 850.0)
            .round() as i64;
        let geography = match rng.gen_range(0..100) {
            0..=49 => "France",
            50..=74 => "Germany",
            _ => "Spain",
        };
        let gender = if rng.gen_bool(0.55) { "Male" } else { "Female" };
        let age = (38.0 + 10.0 * normal(&mut rng)).clamp(18.0, 92.0).round() as i64;
        let tenure = rng.gen_range(0..=10);
        let balance = if rng.gen_bool(0.36) {
            0.0
        } else {
            ((120_000.0 + 30_000.0 * normal(&mut rng)).max(1_000.0) * 100.0).round() / 100.0
        };
        let products = match rng.gen_range(0..100) {
            0..=49 => 1,
            50..=95 => 2,
            96..=98 => 3,
            _ => 4,
        };
        let has_card = i64::from(rng.gen_bool(0.7));
        let active = i64::from(rng.gen_bool(0.51));
        let salary = (rng.gen_range(11.58..199_992.48_f64) * 100.0).round() / 100.0;
        let logit = -1.75
            + 0.095 * (age as f64 - 38.0)
            + if geography == "Germany" { 0.75 } else { 0.0 }
            + if gender == "Female" { 0.5 } else { 0.0 }
            - 1.05 * active as f64
            + match products {
                1 => 0.0,
                2 => -0.8,
                _ => 2.0,
            }
            + if balance > 0.0 { 0.3 } else { 0.0 }
            - 0.0007 * (credit_score as f64 - 650.0);
        let exited = i64::from(rng.gen_bool(1.0 / (1.0 + (-logit).exp())));
        out.push_str(&format!(
            "{row},{customer_id},{surname},{credit_score},{geography},{gender},{age},{tenure},{balance},{products},{has_card},{active},{salary},{exited}\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn churn_data_is_seeded_and_shaped() {
        let a = churn_csv(500, 1);
        assert_eq!(a, churn_csv(500, 1));
        assert_ne!(a, churn_csv(500, 2));
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines.len(), 501);
        assert!(lines.iter().all(|l| l.split(',').count() == 14));
        let churned = lines[1..].iter().filter(|l| l.ends_with(",1")).count();
        // A realistic churn rate: roughly one customer in five.
        assert!((50..=200).contains(&churned), "{churned}");
    }
}
