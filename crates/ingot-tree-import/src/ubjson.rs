//! A Universal Binary JSON (UBJSON draft 12) decoder into `serde_json::Value`, for XGBoost's
//! binary model format (`save_model("m.ubj")`, and what `mlflow.xgboost.log_model` writes):
//! big-endian numbers, length-prefixed strings and keys, and optimized containers with a
//! declared element type and count.

use serde_json::{Map, Number, Value};

/// Containers nested deeper than this are refused rather than recursed into.
const MAX_DEPTH: usize = 128;

/// Whether `bytes` look like a UBJSON object rather than JSON text: after the opening `{`,
/// UBJSON continues with a key's length marker or a container header, JSON with `"` or space.
pub fn looks_like_ubjson(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'{')
        && matches!(
            bytes.get(1),
            Some(b'i' | b'U' | b'I' | b'l' | b'L' | b'$' | b'#')
        )
}

/// Decodes one UBJSON value that spans all of `bytes`. The error names the byte offset.
pub fn decode(bytes: &[u8]) -> Result<Value, String> {
    let mut reader = Reader { bytes, pos: 0 };
    let marker = reader.marker()?;
    let value = reader.value(marker, 0)?;
    if reader.pos != bytes.len() {
        return Err(format!(
            "{} bytes left after the value ended at byte {}",
            bytes.len() - reader.pos,
            reader.pos
        ));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let end = self.pos + N;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| format!("the data ends inside a value at byte {}", self.pos))?;
        self.pos = end;
        Ok(slice.try_into().expect("slice of length N"))
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take::<1>()?[0])
    }

    /// The next type marker, skipping no-ops.
    fn marker(&mut self) -> Result<u8, String> {
        loop {
            let marker = self.byte()?;
            if marker != b'N' {
                return Ok(marker);
            }
        }
    }

    fn integer(&mut self, marker: u8) -> Result<Option<i64>, String> {
        Ok(Some(match marker {
            b'i' => i64::from(i8::from_be_bytes(self.take()?)),
            b'U' => i64::from(self.byte()?),
            b'I' => i64::from(i16::from_be_bytes(self.take()?)),
            b'l' => i64::from(i32::from_be_bytes(self.take()?)),
            b'L' => i64::from_be_bytes(self.take()?),
            _ => return Ok(None),
        }))
    }

    /// A length or count: an integer marker and a non-negative value.
    fn length(&mut self) -> Result<usize, String> {
        let at = self.pos;
        let marker = self.byte()?;
        let value = self.integer(marker)?.ok_or_else(|| {
            format!(
                "expected a length at byte {at}, found marker {:?}",
                marker as char
            )
        })?;
        usize::try_from(value).map_err(|_| format!("negative length {value} at byte {at}"))
    }

    fn text(&mut self) -> Result<String, String> {
        let at = self.pos;
        let len = self.length()?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| format!("a string of {len} bytes at byte {at} runs past the end"))?;
        let text = std::str::from_utf8(&self.bytes[self.pos..end])
            .map_err(|e| format!("the string at byte {at} is not UTF-8: {e}"))?;
        self.pos = end;
        Ok(text.to_string())
    }

    fn value(&mut self, marker: u8, depth: usize) -> Result<Value, String> {
        if let Some(integer) = self.integer(marker)? {
            return Ok(Value::from(integer));
        }
        Ok(match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'd' => float(f64::from(f32::from_be_bytes(self.take()?))),
            b'D' => float(f64::from_be_bytes(self.take()?)),
            b'C' => Value::String(char::from(self.byte()?).to_string()),
            b'S' => Value::String(self.text()?),
            b'H' => {
                let at = self.pos;
                let digits = self.text()?;
                let number: Number = serde_json::from_str(&digits)
                    .map_err(|_| format!("bad high-precision number {digits:?} at byte {at}"))?;
                Value::Number(number)
            }
            b'[' => self.array(depth + 1)?,
            b'{' => self.object(depth + 1)?,
            other => {
                return Err(format!(
                    "unknown marker {:?} at byte {}",
                    other as char,
                    self.pos - 1
                ))
            }
        })
    }

    /// An optimized container's `$type` and `#count`, when present.
    fn header(&mut self, depth: usize) -> Result<(Option<u8>, Option<usize>), String> {
        if depth > MAX_DEPTH {
            return Err(format!("containers nest deeper than {MAX_DEPTH} levels"));
        }
        let mut kind = None;
        if self.bytes.get(self.pos) == Some(&b'$') {
            self.pos += 1;
            kind = Some(self.byte()?);
            if self.bytes.get(self.pos) != Some(&b'#') {
                return Err(format!(
                    "a typed container needs a count at byte {}",
                    self.pos
                ));
            }
        }
        let mut count = None;
        if self.bytes.get(self.pos) == Some(&b'#') {
            self.pos += 1;
            let at = self.pos;
            let declared = self.length()?;
            // Elements of a typed `Z`/`T`/`F` container take no bytes, so a count is only
            // believed up to the size of the whole input.
            if declared > self.bytes.len() {
                return Err(format!(
                    "a count of {declared} at byte {at} exceeds the {} bytes of the input",
                    self.bytes.len()
                ));
            }
            count = Some(declared);
        }
        Ok((kind, count))
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        let (kind, count) = self.header(depth)?;
        let mut items = Vec::new();
        match count {
            Some(count) => {
                items.reserve(count.min(self.bytes.len() - self.pos));
                for _ in 0..count {
                    let marker = match kind {
                        Some(kind) => kind,
                        None => self.marker()?,
                    };
                    items.push(self.value(marker, depth)?);
                }
            }
            None => loop {
                let marker = self.marker()?;
                if marker == b']' {
                    break;
                }
                items.push(self.value(marker, depth)?);
            },
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        let (kind, count) = self.header(depth)?;
        let mut map = Map::new();
        let mut entry = |reader: &mut Self| -> Result<(), String> {
            let key = reader.text()?;
            let marker = match kind {
                Some(kind) => kind,
                None => reader.marker()?,
            };
            let value = reader.value(marker, depth)?;
            map.insert(key, value);
            Ok(())
        };
        match count {
            Some(count) => {
                for _ in 0..count {
                    entry(self)?;
                }
            }
            None => loop {
                match self.bytes.get(self.pos) {
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'N') => self.pos += 1,
                    _ => entry(self)?,
                }
            },
        }
        Ok(Value::Object(map))
    }
}

/// A float as JSON would hold it; NaN and infinities become the strings Rust parses back.
fn float(value: f64) -> Value {
    Number::from_f64(value).map_or_else(|| Value::String(value.to_string()), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A key or string body: `L` and a big-endian int64 length, as XGBoost writes them.
    fn key(text: &str) -> Vec<u8> {
        let mut out = vec![b'L'];
        out.extend_from_slice(&(text.len() as i64).to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    #[test]
    fn decodes_xgboost_shaped_containers() {
        let mut bytes = vec![b'{'];
        // "left": [$l#L 2 → int32 array
        bytes.extend(key("left"));
        bytes.extend_from_slice(b"[$l#L");
        bytes.extend_from_slice(&2i64.to_be_bytes());
        bytes.extend_from_slice(&1i32.to_be_bytes());
        bytes.extend_from_slice(&(-1i32).to_be_bytes());
        // "cond": [$d#i 2 → float32 array
        bytes.extend(key("cond"));
        bytes.extend_from_slice(b"[$d#i\x02");
        bytes.extend_from_slice(&0.1f32.to_be_bytes());
        bytes.extend_from_slice(&f32::NAN.to_be_bytes());
        // "flags": [$U#U 2 → uint8 array
        bytes.extend(key("flags"));
        bytes.extend_from_slice(b"[$U#U\x02\x00\x01");
        // "name": S "gbtree"; "n": L 7; "ok": T; "none": Z; mixed array with a no-op.
        bytes.extend(key("name"));
        bytes.push(b'S');
        bytes.extend(key("gbtree"));
        bytes.extend(key("n"));
        bytes.push(b'L');
        bytes.extend_from_slice(&7i64.to_be_bytes());
        bytes.extend(key("ok"));
        bytes.push(b'T');
        bytes.extend(key("none"));
        bytes.push(b'Z');
        bytes.extend(key("mixed"));
        bytes.extend_from_slice(b"[N[]{}i\xffD");
        bytes.extend_from_slice(&2.5f64.to_be_bytes());
        bytes.extend_from_slice(b"]}");
        assert!(looks_like_ubjson(&bytes));
        assert_eq!(
            decode(&bytes).unwrap(),
            json!({
                "left": [1, -1],
                "cond": [f64::from(0.1f32), "NaN"],
                "flags": [0, 1],
                "name": "gbtree",
                "n": 7,
                "ok": true,
                "none": null,
                "mixed": [[], {}, -1, 2.5],
            })
        );
    }

    #[test]
    fn json_text_is_not_ubjson_and_damage_is_named() {
        assert!(!looks_like_ubjson(b"{\"learner\": {}}"));
        assert!(!looks_like_ubjson(b"{ \"a\": 1}"));
        assert!(!looks_like_ubjson(b"[1]"));
        let truncated = b"{L\x00\x00\x00\x00\x00\x00\x00\x04name";
        assert!(
            decode(truncated).unwrap_err().contains("ends inside"),
            "{:?}",
            decode(truncated)
        );
        let huge = b"[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff";
        assert!(decode(huge).is_err());
        assert!(decode(b"[X]")
            .unwrap_err()
            .contains("unknown marker 'X' at byte 1"));
        assert!(decode(b"TT").unwrap_err().contains("1 bytes left"));
        let deep = vec![b'['; MAX_DEPTH + 2];
        assert!(decode(&deep).unwrap_err().contains("nest deeper"));
    }
}
