//! The front's keep-alive HTTP/1.1 connections to one replica's Unix socket. The request task
//! itself writes the request and reads the answer (no connection task, no channel hop: the
//! leanest path for single-row requests); idle connections are reused. Any failure before a
//! whole answer arrived is a transport failure (the replica may be gone), distinct from the
//! replica's own answers, which may be errors.

use std::path::PathBuf;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use hyper::header::{HeaderName, HeaderValue, CONTENT_LENGTH};
use hyper::{HeaderMap, Method, Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Idle connections kept per replica; more concurrent requests open more, closed afterwards.
const MAX_IDLE: usize = 64;
/// Bodies up to this size are copied behind the head and sent in one write.
const COALESCE_BYTES: usize = 64 * 1024;
/// Most header lines accepted in an answer.
const MAX_HEADERS: usize = 32;
/// Largest answer head accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Why a request got no answer from the replica.
#[derive(Debug)]
pub struct TransportError(pub String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn broken(what: &str) -> impl FnOnce(std::io::Error) -> TransportError + '_ {
    move |e| TransportError(format!("{what}: {e}"))
}

/// A replica's answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One open connection and its buffers.
struct Conn {
    stream: UnixStream,
    out: Vec<u8>,
    input: BytesMut,
}

/// The request head in HTTP/1.1 form.
fn write_head(out: &mut Vec<u8>, request: &Request<Bytes>) {
    out.extend_from_slice(request.method().as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(request.uri().path().as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: replica\r\n");
    for (name, value) in request.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(request.body().len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
}

/// A parsed answer head: status, headers, head length, body length, keep-alive.
type Head = (StatusCode, HeaderMap, usize, usize, bool);

fn parse_head(input: &[u8]) -> Result<Option<Head>, TransportError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(input) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if input.len() > MAX_HEAD_BYTES => {
            return Err(TransportError("answer head too large".into()))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(TransportError(format!("malformed answer: {e}"))),
    };
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or_else(|| TransportError("answer without a status".into()))?;
    let mut map = HeaderMap::with_capacity(response.headers.len());
    let mut body_len = None;
    let mut keep_alive = response.version == Some(1);
    for header in response.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(header.name.as_bytes()),
            HeaderValue::from_bytes(header.value),
        ) else {
            return Err(TransportError("malformed answer header".into()));
        };
        if name == CONTENT_LENGTH {
            body_len = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        } else if name == hyper::header::TRANSFER_ENCODING {
            return Err(TransportError("chunked answers are not expected".into()));
        } else if name == hyper::header::CONNECTION {
            keep_alive &= !header.value.eq_ignore_ascii_case(b"close");
        }
        map.append(name, value);
    }
    let body_len = body_len.ok_or_else(|| TransportError("answer without a length".into()))?;
    Ok(Some((status, map, head_len, body_len, keep_alive)))
}

impl Conn {
    /// Sends one request and reads the whole answer; the connection may be reused afterwards
    /// when the result says so.
    async fn round_trip(
        &mut self,
        request: &Request<Bytes>,
    ) -> Result<(Answer, bool), TransportError> {
        self.out.clear();
        write_head(&mut self.out, request);
        let body = request.body();
        if body.len() <= COALESCE_BYTES {
            self.out.extend_from_slice(body);
            self.stream
                .write_all(&self.out)
                .await
                .map_err(broken("cannot send"))?;
        } else {
            self.stream
                .write_all(&self.out)
                .await
                .map_err(broken("cannot send"))?;
            self.stream
                .write_all(body)
                .await
                .map_err(broken("cannot send"))?;
        }
        self.input.clear();
        let (status, headers, head_len, body_len, keep_alive) = loop {
            if let Some(head) = parse_head(&self.input)? {
                break head;
            }
            self.read_more().await?;
        };
        while self.input.len() < head_len + body_len {
            self.input.reserve(head_len + body_len - self.input.len());
            self.read_more().await?;
        }
        let _ = self.input.split_to(head_len);
        let body = self.input.split_to(body_len).freeze();
        // Anything left over would be an answer nobody asked for.
        let reusable = keep_alive && self.input.is_empty();
        Ok((
            Answer {
                status,
                headers,
                body,
            },
            reusable,
        ))
    }

    async fn read_more(&mut self) -> Result<(), TransportError> {
        if self.input.capacity() - self.input.len() < 4096 {
            self.input.reserve(8192);
        }
        let n = self
            .stream
            .read_buf(&mut self.input)
            .await
            .map_err(broken("answer cut short"))?;
        if n == 0 {
            return Err(TransportError("connection closed before the answer".into()));
        }
        Ok(())
    }
}

/// Pooled connections to one socket.
pub struct Connections {
    socket: PathBuf,
    idle: Mutex<Vec<Conn>>,
}

impl Connections {
    pub fn new(socket: PathBuf) -> Connections {
        Connections {
            socket,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Closes every idle connection.
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    async fn checkout(&self) -> Result<Conn, TransportError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        if let Some(conn) = idle {
            return Ok(conn);
        }
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(broken("cannot connect"))?;
        Ok(Conn {
            stream,
            out: Vec::with_capacity(1024),
            input: BytesMut::with_capacity(8192),
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(&self, request: &Request<Bytes>) -> Result<Answer, TransportError> {
        let mut conn = self.checkout().await?;
        let (answer, reusable) = conn.round_trip(request).await?;
        if reusable {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        Ok(answer)
    }

    /// `GET path`, for pings and stats.
    pub async fn get(&self, path: &str) -> Result<Answer, TransportError> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(Bytes::new())
            .map_err(|e| TransportError(e.to_string()))?;
        self.send(&request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_parsed_only_when_complete() {
        let answer = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
                       x-ingot-loaded-models: 1\r\ncontent-length: 5\r\n\r\nhello";
        let head_end = answer.len() - 5;
        assert!(parse_head(&answer[..head_end - 1]).unwrap().is_none());
        let (status, headers, head_len, body_len, keep_alive) =
            parse_head(answer).unwrap().unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers["x-ingot-loaded-models"], "1");
        assert_eq!((head_len, body_len, keep_alive), (head_end, 5, true));
    }

    #[test]
    fn closing_chunked_or_lengthless_answers_are_recognised() {
        let close = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert!(!parse_head(close).unwrap().unwrap().4);
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(parse_head(chunked).is_err());
        let lengthless = b"HTTP/1.1 200 OK\r\n\r\n";
        assert!(parse_head(lengthless).is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn request_heads_carry_headers_and_length() {
        let request = Request::post("/invoke")
            .header("x-ingot-protocol", "oip")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        let mut out = Vec::new();
        write_head(&mut out, &request);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("POST /invoke HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("x-ingot-protocol: oip\r\n"), "{text}");
        assert!(text.ends_with("content-length: 2\r\n\r\n"), "{text}");
    }
}
