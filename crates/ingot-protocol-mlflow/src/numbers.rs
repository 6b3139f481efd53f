//! Lenient number decoding and encoding for proto3 JSON: int64 may arrive as a string or a
//! number, and doubles may be the strings `NaN`, `Infinity` or `-Infinity`.

use serde::{Deserialize, Deserializer, Serializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Loose {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

/// Deserializes an optional int64 from a number or a numeric string.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value: Option<Loose> = Option::deserialize(d)?;
    match value {
        None => Ok(None),
        Some(Loose::Int(i)) => Ok(Some(i)),
        Some(Loose::Float(f)) if f.fract() == 0.0 => Ok(Some(f as i64)),
        Some(Loose::Text(s)) if s.is_empty() => Ok(None),
        Some(Loose::Text(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got {s:?}"))),
        Some(_) => Err(serde::de::Error::custom("expected an integer")),
    }
}

/// Deserializes an optional double from a number or `NaN` / `Infinity` / numeric strings.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value: Option<Loose> = Option::deserialize(d)?;
    match value {
        None => Ok(None),
        Some(Loose::Int(i)) => Ok(Some(i as f64)),
        Some(Loose::Float(f)) => Ok(Some(f)),
        Some(Loose::Text(s)) => match s.as_str() {
            "NaN" => Ok(Some(f64::NAN)),
            "Infinity" => Ok(Some(f64::INFINITY)),
            "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
            other => other
                .parse::<f64>()
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("expected a number, got {s:?}"))),
        },
        Some(Loose::Bool(_)) => Err(serde::de::Error::custom("expected a number")),
    }
}

/// Deserializes an optional bool from a bool or `"true"` / `"false"`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let value: Option<Loose> = Option::deserialize(d)?;
    match value {
        None => Ok(None),
        Some(Loose::Bool(b)) => Ok(Some(b)),
        Some(Loose::Text(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(serde::de::Error::custom(format!(
                "expected a boolean, got {s:?}"
            ))),
        },
        Some(_) => Err(serde::de::Error::custom("expected a boolean")),
    }
}

/// Serializes a double the way proto3 JSON does: non-finite values as strings.
pub(crate) fn f64_proto<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        s.serialize_str("NaN")
    } else if *value == f64::INFINITY {
        s.serialize_str("Infinity")
    } else if *value == f64::NEG_INFINITY {
        s.serialize_str("-Infinity")
    } else {
        s.serialize_f64(*value)
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Deserialize, Serialize)]
    struct T {
        #[serde(default, deserialize_with = "super::opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "super::opt_f64")]
        f: Option<f64>,
    }

    #[test]
    fn accepts_strings_and_numbers() {
        let t: T = serde_json::from_str(r#"{"i": "12", "f": "NaN"}"#).unwrap();
        assert_eq!(t.i, Some(12));
        assert!(t.f.unwrap().is_nan());
        let t: T = serde_json::from_str(r#"{"i": 7, "f": 1.5}"#).unwrap();
        assert_eq!((t.i, t.f), (Some(7), Some(1.5)));
        assert!(serde_json::from_str::<T>(r#"{"i": "x"}"#).is_err());
    }
}
