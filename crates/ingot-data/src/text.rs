//! Parsing of individual text values: missing tokens, booleans, numbers and timestamps.

/// Whether a (trimmed) token means "no value".
pub(crate) fn is_missing(token: &str) -> bool {
    matches!(
        token,
        "" | "NA" | "N/A" | "null" | "NULL" | "NaN" | "nan" | "None"
    )
}

/// Trims ASCII whitespace (cheaper than `str::trim`, which handles all of Unicode).
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// `true`/`false`, case-insensitive. Numbers are not booleans.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A signed 64-bit integer (optional sign, decimal digits only).
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// A 64-bit float: decimal, exponent notation, `inf`/`infinity` (NaN tokens are missing values).
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let first = *s.as_bytes().first()?;
    // Fast reject for obvious words; Rust's parser accepts "inf", "infinity" and "nan".
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.' | b'i' | b'I')) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    Some(v)
}

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Days since 1970-01-01 of a proleptic Gregorian date (valid for any i64-sized year we accept).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Shift the year so it starts in March; then leap days fall at the end of a "year".
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let month_from_march = if m > 2 { m - 3 } else { m + 9 }; // [0, 11]
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// Reads exactly `n` ASCII digits at `pos`.
fn digits(b: &[u8], pos: usize, n: usize) -> Option<u32> {
    let slice = b.get(pos..pos + n)?;
    let mut v = 0u32;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|±HH:MM]` into UTC microseconds since
/// the epoch. Times without an offset are taken as UTC; fractions beyond microseconds are
/// truncated.
pub(crate) fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i64::from(digits(b, 0, 4)?);
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let date_micros = days_from_civil(year, month, day) * MICROS_PER_DAY;
    if b.len() == 10 {
        return Some(date_micros);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut pos = 19;
    let mut frac_micros = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            if pos - start < 6 {
                frac_micros = frac_micros * 10 + i64::from(b[pos] - b'0');
            }
            pos += 1;
        }
        let n = pos - start;
        if n == 0 {
            return None;
        }
        for _ in n..6 {
            frac_micros *= 10;
        }
    }
    let offset_seconds: i64 = match b.get(pos) {
        None => 0,
        Some(b'Z' | b'z') if pos + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            if b.len() != pos + 6 || b[pos + 3] != b':' {
                return None;
            }
            let oh = digits(b, pos + 1, 2)?;
            let om = digits(b, pos + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    let seconds = i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
    Some(date_micros + seconds * MICROS_PER_SECOND + frac_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tokens_are_case_sensitive() {
        for t in ["", "NA", "N/A", "null", "NULL", "NaN", "nan", "None"] {
            assert!(is_missing(t), "{t}");
        }
        for t in ["na", "Null", "none", "NONE", "0", "-"] {
            assert!(!is_missing(t), "{t}");
        }
    }

    #[test]
    fn booleans_and_numbers() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("1"), None);
        assert_eq!(parse_int("-42"), Some(-42));
        assert_eq!(parse_int("+7"), Some(7));
        assert_eq!(parse_int("3.0"), None);
        assert_eq!(parse_int("99999999999999999999"), None);
        assert_eq!(parse_float("1e3"), Some(1000.0));
        assert_eq!(parse_float("-0.5"), Some(-0.5));
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("nan"), None);
        assert_eq!(parse_float("abc"), None);
        assert_eq!(parse_float("1,5"), None);
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }

    #[test]
    fn timestamps_parse_to_utc_micros() {
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(
            parse_timestamp("2021-03-04"),
            Some(days_from_civil(2021, 3, 4) * MICROS_PER_DAY)
        );
        assert_eq!(parse_timestamp("1970-01-01T00:00:01"), Some(1_000_000));
        assert_eq!(parse_timestamp("1970-01-01 00:00:01.5"), Some(1_500_000));
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:00.123456789Z"),
            Some(123_456)
        );
        assert_eq!(
            parse_timestamp("1970-01-01T01:00:00+01:00"),
            Some(0),
            "offsets convert to UTC"
        );
        assert_eq!(parse_timestamp("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(parse_timestamp("2023-02-29"), None);
        assert_eq!(parse_timestamp("2024-02-29"), Some(19_782 * MICROS_PER_DAY));
        assert_eq!(parse_timestamp("2021-13-01"), None);
        assert_eq!(parse_timestamp("2021-01-01T24:00:00"), None);
        assert_eq!(parse_timestamp("2021-01-01T10:00"), None);
        assert_eq!(parse_timestamp("2021-01-01T10:00:00."), None);
        assert_eq!(parse_timestamp("2021-01-01X"), None);
        assert_eq!(parse_timestamp("12345"), None);
    }
}
