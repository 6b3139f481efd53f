//! Binding and running the server: loopback by default, and no non-loopback bind without auth.

use axum::serve::ListenerExt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpListener;

use crate::{router, AppState};

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind; 127.0.0.1 by default.
    pub host: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Whether bearer tokens are required.
    pub auth: bool,
}

/// Why the server could not bind.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// Refused: a non-loopback address with auth off.
    #[error("refusing to listen on non-loopback address {host} without auth; drop --no-auth or bind 127.0.0.1")]
    InsecureBind { host: IpAddr },
    /// The socket could not be bound.
    #[error("cannot listen on {address}")]
    Io {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds the listener, enforcing the loopback-or-auth rule.
pub async fn bind(config: &ServerConfig) -> Result<TcpListener, BindError> {
    if !config.auth && !config.host.is_loopback() {
        return Err(BindError::InsecureBind { host: config.host });
    }
    let address = SocketAddr::new(config.host, config.port);
    TcpListener::bind(address)
        .await
        .map_err(|source| BindError::Io { address, source })
}

/// Serves until `shutdown` resolves.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Answers leave as soon as they are written: no Nagle delay behind an unacknowledged one.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn non_loopback_without_auth_is_refused() {
        let config = ServerConfig {
            host: "0.0.0.0".parse().unwrap(),
            port: 0,
            auth: false,
        };
        let err = bind(&config).await.unwrap_err();
        assert!(matches!(err, BindError::InsecureBind { .. }), "{err}");
        let loopback = ServerConfig {
            host: "127.0.0.1".parse().unwrap(),
            ..config
        };
        assert!(bind(&loopback).await.is_ok());
    }
}
