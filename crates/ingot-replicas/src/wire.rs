//! The internal front↔replica protocol over HTTP/1.1 on a Unix socket, both directions in one
//! place so they cannot drift: `POST /invoke` carries the raw body with the request's fields in
//! headers; the answer carries the predictions raw with the model, version, scoring time and
//! replica statistics in headers; errors are `{"code","message"}` with the serving status.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use ingot_serve::{Error, InvokeRequest, InvokeResponse, Protocol, ResolvedModel, Result};
use serde::{Deserialize, Serialize};

/// Readiness probe path.
pub const PING: &str = "/ping";
/// Invocation path.
pub const INVOKE: &str = "/invoke";
/// Statistics path.
pub const STATS: &str = "/stats";

const PROTOCOL: HeaderName = HeaderName::from_static("x-ingot-protocol");
const ENDPOINT: HeaderName = HeaderName::from_static("x-ingot-endpoint");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-ingot-request-id");
const TARGET_MODEL: HeaderName = HeaderName::from_static("x-ingot-target-model");
const TARGET_VERSION: HeaderName = HeaderName::from_static("x-ingot-target-version");
const TARGET_HASH: HeaderName = HeaderName::from_static("x-ingot-target-hash");
const TARGET_SIZE: HeaderName = HeaderName::from_static("x-ingot-target-size");
const EXPLAIN: HeaderName = HeaderName::from_static("x-ingot-explain");
const MODEL: HeaderName = HeaderName::from_static("x-ingot-model");
const VERSION: HeaderName = HeaderName::from_static("x-ingot-version");
const MODEL_MICROS: HeaderName = HeaderName::from_static("x-ingot-model-micros");
const LOADED: HeaderName = HeaderName::from_static("x-ingot-loaded-models");
const EVICTIONS: HeaderName = HeaderName::from_static("x-ingot-evictions");

/// A replica's counters, served by `GET /stats` and piggybacked on every answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Models loaded now.
    pub loaded_models: usize,
    /// Models evicted by the multi-model cache since the replica started.
    pub evictions: u64,
}

/// The JSON body of an error answer.
#[derive(Debug, Serialize, Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

fn value(name: &HeaderName, text: &str) -> Result<HeaderValue> {
    HeaderValue::from_bytes(text.as_bytes())
        .map_err(|_| Error::BadBody(format!("{name} {text:?} is not a valid header value")))
}

fn text<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
}

fn required<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<&'a str> {
    text(headers, name).ok_or_else(|| Error::Internal(format!("replica request lacks {name}")))
}

fn number<T: std::str::FromStr>(headers: &HeaderMap, name: &HeaderName) -> Result<T> {
    required(headers, name)?
        .parse()
        .map_err(|_| Error::Internal(format!("replica message has a malformed {name}")))
}

/// The front's `POST /invoke` for a request (the body is shared, not copied).
pub fn encode_request(request: &InvokeRequest) -> Result<Request<Bytes>> {
    let mut builder = Request::post(INVOKE);
    let headers = builder.headers_mut().expect("a fresh builder has headers");
    if let Some(content_type) = &request.content_type {
        headers.insert(CONTENT_TYPE, value(&CONTENT_TYPE, content_type)?);
    }
    if let Some(accept) = &request.accept {
        headers.insert(ACCEPT, value(&ACCEPT, accept)?);
    }
    let protocol = match request.protocol {
        Protocol::Invocations => "invocations",
        Protocol::Oip => "oip",
    };
    headers.insert(PROTOCOL, HeaderValue::from_static(protocol));
    headers.insert(ENDPOINT, value(&ENDPOINT, &request.endpoint)?);
    headers.insert(REQUEST_ID, value(&REQUEST_ID, &request.request_id)?);
    if request.explain {
        headers.insert(EXPLAIN, HeaderValue::from_static("true"));
    }
    if let Some(target) = &request.target {
        headers.insert(TARGET_MODEL, value(&TARGET_MODEL, &target.model)?);
        headers.insert(TARGET_VERSION, HeaderValue::from(target.version));
        headers.insert(TARGET_HASH, value(&TARGET_HASH, &target.artifact_hash)?);
        headers.insert(TARGET_SIZE, HeaderValue::from(target.size_bytes));
    }
    builder
        .body(request.body.clone())
        .map_err(|e| Error::Internal(format!("cannot build the replica request: {e}")))
}

/// The replica's reading of `POST /invoke`.
pub fn decode_request(headers: &HeaderMap, body: Bytes) -> Result<InvokeRequest> {
    let protocol = match required(headers, &PROTOCOL)? {
        "invocations" => Protocol::Invocations,
        "oip" => Protocol::Oip,
        other => return Err(Error::Internal(format!("unknown protocol {other:?}"))),
    };
    let target = match text(headers, &TARGET_MODEL) {
        Some(model) => Some(ResolvedModel {
            model: model.to_string(),
            version: number(headers, &TARGET_VERSION)?,
            artifact_hash: required(headers, &TARGET_HASH)?.to_string(),
            size_bytes: number(headers, &TARGET_SIZE)?,
        }),
        None => None,
    };
    Ok(InvokeRequest {
        body,
        content_type: text(headers, &CONTENT_TYPE).map(str::to_string),
        accept: text(headers, &ACCEPT).map(str::to_string),
        protocol,
        target,
        endpoint: required(headers, &ENDPOINT)?.to_string(),
        request_id: required(headers, &REQUEST_ID)?.to_string(),
        explain: text(headers, &EXPLAIN) == Some("true"),
    })
}

/// The replica's answer to an invocation.
pub fn encode_response(answer: Result<InvokeResponse>, stats: Stats) -> Response<Full<Bytes>> {
    let mut response = match answer {
        Ok(answer) => {
            let mut response = Response::new(Full::new(answer.body));
            let headers = response.headers_mut();
            if let Ok(content_type) = HeaderValue::from_str(&answer.content_type) {
                headers.insert(CONTENT_TYPE, content_type);
            }
            if let Ok(model) = HeaderValue::from_str(&answer.model) {
                headers.insert(MODEL, model);
            }
            headers.insert(VERSION, HeaderValue::from(answer.version));
            headers.insert(MODEL_MICROS, HeaderValue::from(answer.model_micros));
            response
        }
        Err(error) => error_response(&error),
    };
    let headers = response.headers_mut();
    headers.insert(LOADED, HeaderValue::from(stats.loaded_models));
    headers.insert(EVICTIONS, HeaderValue::from(stats.evictions));
    response
}

/// An error as the replica answers it.
pub fn error_response(error: &Error) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec(&ErrorBody {
        code: error.code().to_string(),
        message: error.to_string(),
    })
    .unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The front's reading of a replica's answer, and the replica's counters when it sent them.
pub fn decode_response(
    status: StatusCode,
    headers: &HeaderMap,
    body: Bytes,
) -> (Result<InvokeResponse>, Option<Stats>) {
    let stats = match (
        number::<usize>(headers, &LOADED),
        number::<u64>(headers, &EVICTIONS),
    ) {
        (Ok(loaded_models), Ok(evictions)) => Some(Stats {
            loaded_models,
            evictions,
        }),
        _ => None,
    };
    if status != StatusCode::OK {
        let error = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody { code, message }) => Error::Remote {
                status: status.as_u16(),
                code,
                message,
            },
            Err(_) => Error::Remote {
                status: status.as_u16(),
                code: "internal".into(),
                message: String::from_utf8_lossy(&body).into_owned(),
            },
        };
        return (Err(error), stats);
    }
    let answer = (|| {
        Ok(InvokeResponse {
            content_type: text(headers, &CONTENT_TYPE)
                .unwrap_or("application/octet-stream")
                .to_string(),
            model: required(headers, &MODEL)?.to_string(),
            version: number(headers, &VERSION)?,
            model_micros: number(headers, &MODEL_MICROS)?,
            body,
        })
    })();
    (answer, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn data(body: Full<Bytes>) -> Bytes {
        body.collect().await.unwrap().to_bytes()
    }

    fn request(target: Option<ResolvedModel>) -> InvokeRequest {
        InvokeRequest {
            body: Bytes::from_static(b"1,2\n3,4\n"),
            content_type: Some("text/csv; header=absent".into()),
            accept: Some("application/json".into()),
            protocol: Protocol::Oip,
            target,
            endpoint: "churn".into(),
            request_id: "r-1".into(),
            explain: false,
        }
    }

    #[test]
    fn requests_round_trip_with_and_without_a_target() {
        let target = ResolvedModel {
            model: "m.1".into(),
            version: 7,
            artifact_hash: "ab".repeat(32),
            size_bytes: 1234,
        };
        for (target, explain) in [(None, false), (Some(target), true)] {
            let mut sent = request(target.clone());
            sent.explain = explain;
            let (parts, body) = encode_request(&sent).unwrap().into_parts();
            assert_eq!(parts.uri.path(), INVOKE);
            let got = decode_request(&parts.headers, body).unwrap();
            assert_eq!(got.body, sent.body);
            assert_eq!(got.content_type, sent.content_type);
            assert_eq!(got.accept, sent.accept);
            assert_eq!(got.protocol, sent.protocol);
            assert_eq!(got.target, target);
            assert_eq!(got.endpoint, "churn");
            assert_eq!(got.request_id, "r-1");
            assert_eq!(got.explain, explain);
        }
    }

    #[test]
    fn absent_media_types_stay_absent() {
        let mut sent = request(None);
        sent.content_type = None;
        sent.accept = None;
        sent.protocol = Protocol::Invocations;
        let (parts, body) = encode_request(&sent).unwrap().into_parts();
        let got = decode_request(&parts.headers, body).unwrap();
        assert_eq!((got.content_type, got.accept), (None, None));
        assert_eq!(got.protocol, Protocol::Invocations);
    }

    #[tokio::test]
    async fn answers_and_errors_round_trip_with_stats() {
        let stats = Stats {
            loaded_models: 2,
            evictions: 5,
        };
        let answer = InvokeResponse {
            content_type: "text/csv".into(),
            body: Bytes::from_static(b"0.5\n"),
            model: "churn".into(),
            version: 3,
            model_micros: 42,
        };
        let (parts, body) = encode_response(Ok(answer), stats).into_parts();
        let (got, got_stats) = decode_response(parts.status, &parts.headers, data(body).await);
        let got = got.unwrap();
        assert_eq!(got_stats, Some(stats));
        assert_eq!(got.body, Bytes::from_static(b"0.5\n"));
        assert_eq!(
            (got.content_type.as_str(), got.model.as_str(), got.version),
            ("text/csv", "churn", 3)
        );
        assert_eq!(got.model_micros, 42);

        let error = Error::BadBody("line 2: column x: not a number".into());
        let (parts, body) = encode_response(Err(error), stats).into_parts();
        let (got, _) = decode_response(parts.status, &parts.headers, data(body).await);
        let got = got.unwrap_err();
        assert_eq!(got.status(), 400);
        assert_eq!(got.code(), "bad_request");
        assert_eq!(got.to_string(), "line 2: column x: not a number");
    }

    #[test]
    fn a_non_json_error_body_keeps_its_status_and_text() {
        let (got, stats) = decode_response(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            Bytes::from_static(b"oops"),
        );
        let got = got.unwrap_err();
        assert_eq!((got.status(), got.to_string()), (502, "oops".to_string()));
        assert_eq!(stats, None);
    }
}
