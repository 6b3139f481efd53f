//! Outgoing webhooks (async inference completions, monitoring alerts): a JSON POST signed with
//! HMAC-SHA256 over the body in `X-Ingot-Signature: sha256=<hex>`, retried with backoff.

use std::time::Duration;

use sha2::{Digest, Sha256};

/// Attempts per delivery.
const ATTEMPTS: u32 = 4;

/// HMAC-SHA256 (RFC 2104) of `message` under `key`, as lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        block_key[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block_key.map(|k| k ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

/// Checks that a webhook URL is an absolute http(s) URL.
pub fn validate_url(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("invalid webhook URL {url:?}: {e}"))?;
    match parsed.scheme() {
        "http" | "https" => Ok(()),
        other => Err(format!(
            "webhook URL {url:?} must use http or https, not {other}"
        )),
    }
}

/// Posts `body` to `url`, signed with `secret`; retries on connection errors and 5xx.
/// Returns a short outcome for the record ("delivered (200)" or the last failure).
pub async fn deliver(url: &str, secret: &str, event: &str, body: &serde_json::Value) -> String {
    let payload = body.to_string();
    let signature = hmac_sha256_hex(secret.as_bytes(), payload.as_bytes());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build();
    let client = match client {
        Ok(c) => c,
        Err(e) => return format!("failed: {e}"),
    };
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
        }
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-ingot-event", event)
            .header("x-ingot-signature", format!("sha256={signature}"))
            .body(payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                return format!("delivered ({})", response.status().as_u16())
            }
            Ok(response) if response.status().is_client_error() => {
                return format!("rejected ({})", response.status().as_u16())
            }
            Ok(response) => last = format!("failed ({})", response.status().as_u16()),
            Err(e) => last = format!("failed: {e}"),
        }
        tracing::warn!(%url, attempt, outcome = %last, "webhook delivery failed");
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block size.
        assert_eq!(
            hmac_sha256_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn urls_must_be_http() {
        assert!(validate_url("https://example.com/hook").is_ok());
        assert!(validate_url("file:///etc/passwd").is_err());
        assert!(validate_url("not a url").is_err());
    }
}
