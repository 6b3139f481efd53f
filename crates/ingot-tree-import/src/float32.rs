//! XGBoost's float32 split test as an f64 threshold: XGBoost converts every input to f32 and
//! sends it left when `(float)x < split_condition`; Ingot's trees send an f64 `x` left when
//! `x <= threshold`. [`threshold_below`] finds the threshold that makes both agree on every
//! f64 input.
//!
//! Rounding to f32 (round to nearest, ties to even) is monotonic, so `(float)x < c` holds
//! exactly when `(float)x <= p`, `p` being the largest f32 below `c`. The f64 inputs rounding
//! to at most `p` are those below the midpoint `m = (p + c) / 2` (exact in f64: one bit more
//! than f32's 24), plus `m` itself when the tie goes to `p`, i.e. when `p`'s last significand
//! bit is 0 (even). So the threshold is `m` if `p` is even, else the f64 just below `m`.

/// The f64 `t` with `x <= t ⇔ (x as f32) < c` for every non-NaN f64 `x`.
///
/// `c` must be finite and not `f32::MIN` (XGBoost's split conditions are); for those edge
/// values the result is the nearest sensible bound (`f64::MIN` or `f64::MAX`).
pub fn threshold_below(c: f32) -> f64 {
    if c.is_nan() || c <= f32::MIN {
        return f64::MIN;
    }
    if c == f32::INFINITY {
        return f64::MAX;
    }
    let p = c.next_down();
    let midpoint = (f64::from(p) + f64::from(c)) / 2.0;
    if p.to_bits() & 1 == 0 {
        midpoint
    } else {
        midpoint.next_down()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Checks the equivalence around the threshold, using Rust's own f64 → f32 conversion
    /// (round to nearest, ties to even) as the reference.
    fn check(c: f32) {
        let t = threshold_below(c);
        let p = c.next_down();
        let m = (f64::from(p) + f64::from(c)) / 2.0;
        let probes = [
            t,
            t.next_up(),
            t.next_down(),
            m,
            m.next_up(),
            m.next_down(),
            f64::from(c),
            f64::from(c).next_down(),
            f64::from(c).next_up(),
            f64::from(p),
        ];
        for x in probes {
            assert_eq!(
                x <= t,
                (x as f32) < c,
                "c = {c:e} ({:#x}), x = {x:e}, threshold {t:e}",
                c.to_bits()
            );
        }
        // The threshold is tight: the next f64 up is not left.
        assert!(t.next_up() as f32 >= c, "c = {c:e}");
    }

    #[test]
    fn agrees_with_float32_rounding_at_the_boundaries() {
        for c in [
            0.5f32,
            1.0,
            -1.0,
            0.0,
            -0.0,
            0.1,
            0.562_982_56,
            1e-45,
            -1e-45,
            f32::MIN_POSITIVE,
            f32::MAX,
            1e30,
            -3.75,
            16_777_216.0,
            16_777_218.0,
        ] {
            check(c);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20_000 {
            let c = f32::from_bits(rng.gen());
            if c.is_finite() && c > f32::MIN {
                check(c);
            }
        }
    }

    #[test]
    fn both_tie_directions_occur() {
        // p = 1 - 2^-24 has an odd significand, p = 2 - 2^-23 ... check one of each parity.
        let odd = threshold_below(1.0);
        assert!(odd < (f64::from(1.0f32.next_down()) + 1.0) / 2.0);
        let c = 1.0f32.next_up();
        let even = threshold_below(c);
        assert_eq!(even, (1.0 + f64::from(c)) / 2.0);
        assert_eq!(threshold_below(f32::MIN), f64::MIN);
        assert_eq!(threshold_below(f32::INFINITY), f64::MAX);
    }
}
