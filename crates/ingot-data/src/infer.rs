//! Incremental type inference over text values: the narrowest of boolean → integer → float →
//! timestamp → string that every non-missing value of a column fits.

use crate::text::{is_missing, parse_bool, parse_float, parse_int, parse_timestamp, trim};
use ingot_core::ColumnType;

const BOOL: u8 = 1;
const INT: u8 = 2;
const FLOAT: u8 = 4;
const TIMESTAMP: u8 = 8;

/// What a column's values seen so far allow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextInference {
    candidates: u8,
    seen_value: bool,
    seen_missing: bool,
}

impl Default for TextInference {
    fn default() -> Self {
        TextInference {
            candidates: BOOL | INT | FLOAT | TIMESTAMP,
            seen_value: false,
            seen_missing: false,
        }
    }
}

impl TextInference {
    /// Narrows the candidates with one raw value.
    #[inline]
    pub(crate) fn observe(&mut self, raw: &str) {
        let token = trim(raw);
        if is_missing(token) {
            self.seen_missing = true;
            return;
        }
        self.seen_value = true;
        if self.candidates == 0 {
            return;
        }
        let mut fits = 0u8;
        if self.candidates & BOOL != 0 && parse_bool(token).is_some() {
            fits |= BOOL;
        }
        if self.candidates & (INT | FLOAT) != 0 {
            if parse_int(token).is_some() {
                fits |= INT | FLOAT;
            } else if self.candidates & FLOAT != 0 && parse_float(token).is_some() {
                fits |= FLOAT;
            }
        }
        if self.candidates & TIMESTAMP != 0 && parse_timestamp(token).is_some() {
            fits |= TIMESTAMP;
        }
        self.candidates &= fits;
    }

    /// The inferred type and nullability. An all-missing (or empty) column is a string column.
    pub(crate) fn finish(&self) -> (ColumnType, bool) {
        let t = if !self.seen_value {
            ColumnType::String
        } else if self.candidates & BOOL != 0 {
            ColumnType::Boolean
        } else if self.candidates & INT != 0 {
            ColumnType::Integer
        } else if self.candidates & FLOAT != 0 {
            ColumnType::Float
        } else if self.candidates & TIMESTAMP != 0 {
            ColumnType::Timestamp
        } else {
            ColumnType::String
        };
        (t, self.seen_missing || !self.seen_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(values: &[&str]) -> (ColumnType, bool) {
        let mut s = TextInference::default();
        for v in values {
            s.observe(v);
        }
        s.finish()
    }

    #[test]
    fn narrowest_type_wins() {
        use ColumnType::*;
        assert_eq!(infer(&["true", "FALSE"]), (Boolean, false));
        assert_eq!(infer(&["1", "0"]), (Integer, false), "0/1 are not booleans");
        assert_eq!(infer(&["1", " 2 ", "-3"]), (Integer, false));
        assert_eq!(infer(&["1", "2.5"]), (Float, false));
        assert_eq!(infer(&["1e3", "-0.5", "inf"]), (Float, false));
        assert_eq!(
            infer(&["2021-01-01", "2021-01-02T03:04:05Z"]),
            (Timestamp, false)
        );
        assert_eq!(infer(&["2021-01-01", "x"]), (String, false));
        assert_eq!(infer(&["true", "1"]), (String, false));
        assert_eq!(infer(&["1", "abc"]), (String, false));
    }

    #[test]
    fn missing_values_make_columns_nullable() {
        use ColumnType::*;
        assert_eq!(infer(&["1", "", "NA"]), (Integer, true));
        assert_eq!(infer(&["1.5", "NaN"]), (Float, true));
        assert_eq!(infer(&["", "null"]), (String, true));
        assert_eq!(infer(&[]), (String, true));
    }
}
