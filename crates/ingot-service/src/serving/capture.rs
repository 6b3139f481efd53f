//! Data capture: sampled requests and responses, with event id, variant, model version and
//! time, written off the request path as JSON Lines files into the artifact store under
//! `capture/<endpoint>/<yyyy>/<mm>/<dd>/<hh>/`, in SageMaker's capture record shape.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use ingot_artifacts::{Area, ArtifactStore};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::invoke::{Answer, Invocation};

/// The artifact-store folder holding captured data.
pub const CAPTURE_PREFIX: &str = "capture";

/// Records are written at least this often.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Or as soon as this many are buffered.
const FLUSH_RECORDS: usize = 1000;

/// One captured event.
pub(crate) struct CaptureRecord {
    endpoint: String,
    at_millis: i64,
    line: Value,
}

impl CaptureRecord {
    pub fn new(endpoint: &str, invocation: &Invocation, answer: &Answer) -> CaptureRecord {
        let at_millis = ingot_store::now_millis();
        let line = json!({
            "captureData": {
                "endpointInput": payload(
                    "INPUT",
                    invocation.content_type.as_deref().unwrap_or("application/json"),
                    &invocation.body,
                ),
                "endpointOutput": payload("OUTPUT", &answer.content_type, &answer.body),
            },
            "eventMetadata": {
                "eventId": answer.event_id,
                "inferenceTime": rfc3339(at_millis),
                "variant": answer.variant,
                "model": answer.model,
                "modelVersion": answer.version,
            },
            "eventVersion": "0",
        });
        CaptureRecord {
            endpoint: endpoint.to_string(),
            at_millis,
            line,
        }
    }
}

fn payload(mode: &str, content_type: &str, body: &[u8]) -> Value {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (encoding, data) = match std::str::from_utf8(body) {
        Ok(text) if essence.contains("csv") => ("CSV", text.to_string()),
        Ok(text) if essence.contains("json") => ("JSON", text.to_string()),
        Ok(text) => ("TEXT", text.to_string()),
        Err(_) => ("BASE64", base64(body)),
    };
    json!({"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding})
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `(year, month, day, hour, minute, second)` of a Unix time in UTC.
fn civil(at_millis: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = at_millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    // Days to civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem / 60 % 60, rem % 60)
}

/// An RFC 3339 UTC timestamp with milliseconds.
pub(crate) fn rfc3339(at_millis: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(at_millis);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        at_millis.rem_euclid(1000)
    )
}

/// The hour partition of a capture time: `yyyy/mm/dd/hh`.
pub(crate) fn hour_partition(at_millis: i64) -> String {
    let (y, mo, d, h, _, _) = civil(at_millis);
    format!("{y:04}/{mo:02}/{d:02}/{h:02}")
}

enum Message {
    Record(CaptureRecord),
    Flush(oneshot::Sender<()>),
}

/// The background writer; recording never blocks or fails a request.
pub(crate) struct CaptureWriter {
    sender: mpsc::UnboundedSender<Message>,
}

impl CaptureWriter {
    pub fn start(artifacts: ArtifactStore) -> CaptureWriter {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(artifacts, receiver));
        CaptureWriter { sender }
    }

    pub fn record(&self, record: CaptureRecord) {
        let _ = self.sender.send(Message::Record(record));
    }

    /// Writes everything recorded so far.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(artifacts: ArtifactStore, mut receiver: mpsc::UnboundedReceiver<Message>) {
    let mut buffer: Vec<CaptureRecord> = Vec::new();
    loop {
        let message = tokio::time::timeout(FLUSH_EVERY, receiver.recv()).await;
        match message {
            Ok(Some(Message::Record(record))) => {
                buffer.push(record);
                if buffer.len() < FLUSH_RECORDS {
                    continue;
                }
            }
            Ok(Some(Message::Flush(done))) => {
                write(&artifacts, std::mem::take(&mut buffer)).await;
                let _ = done.send(());
                continue;
            }
            Ok(None) => {
                write(&artifacts, std::mem::take(&mut buffer)).await;
                return;
            }
            Err(_) => {}
        }
        write(&artifacts, std::mem::take(&mut buffer)).await;
    }
}

/// Writes one file per (endpoint, hour) of the buffered records.
async fn write(artifacts: &ArtifactStore, records: Vec<CaptureRecord>) {
    let mut files: BTreeMap<(String, String), (i64, String)> = BTreeMap::new();
    for record in records {
        let key = (record.endpoint.clone(), hour_partition(record.at_millis));
        let entry = files
            .entry(key)
            .or_insert((record.at_millis, String::new()));
        entry.1.push_str(&record.line.to_string());
        entry.1.push('\n');
    }
    for ((endpoint, hour), (first_millis, body)) in files {
        let path = format!(
            "{endpoint}/{hour}/{first_millis}-{}.jsonl",
            uuid::Uuid::new_v4().simple()
        );
        if let Err(e) = artifacts
            .put_in(Area::Capture, &path, Bytes::from(body))
            .await
        {
            tracing::error!(%endpoint, error = %e, "cannot write captured data");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2026-11-21T08:15:53.250Z
        assert_eq!(rfc3339(1_795_248_953_250), "2026-11-21T08:15:53.250Z");
        // 2000-02-29T23:59:59Z, a leap day.
        assert_eq!(rfc3339(951_868_799_000), "2000-02-29T23:59:59.000Z");
        assert_eq!(hour_partition(1_795_248_953_250), "2026/11/21/08");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}
