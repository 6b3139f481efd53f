//! The front's keep-alive HTTP/1.1 connections to one replica's Unix socket: idle connections
//! are reused, new ones are opened on demand, and any failure before a whole answer arrived is
//! reported as a transport failure (the replica may be gone), distinct from the replica's own
//! answers.

use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;

/// Idle connections kept per replica; more concurrent requests open more, closed afterwards.
const MAX_IDLE: usize = 64;

/// Why a request got no answer from the replica.
#[derive(Debug)]
pub struct TransportError(pub String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A replica's answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Pooled connections to one socket.
pub struct Connections {
    socket: PathBuf,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Connections {
    pub fn new(socket: PathBuf) -> Connections {
        Connections {
            socket,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn pop_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    /// An idle connection ready for a request, or a new one.
    async fn checkout(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        while let Some(mut sender) = self.pop_idle() {
            if !sender.is_closed() && sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        self.connect().await
    }

    fn put_idle(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(sender);
        }
    }

    /// Closes every idle connection.
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|e| TransportError(format!("cannot connect: {e}")))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| TransportError(format!("handshake failed: {e}")))?;
        tokio::spawn(async move {
            // Ends when the replica closes the connection or every sender is dropped.
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<Answer, TransportError> {
        let mut sender = self.checkout().await?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| TransportError(format!("no answer: {e}")))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| TransportError(format!("answer cut short: {e}")))?
            .to_bytes();
        self.put_idle(sender);
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// `GET path`, for pings and stats.
    pub async fn get(&self, path: &str) -> Result<Answer, TransportError> {
        let request = Request::get(path)
            .body(Full::new(Bytes::new()))
            .map_err(|e| TransportError(e.to_string()))?;
        self.send(request).await
    }
}
