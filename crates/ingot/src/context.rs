//! Resolving where state lives and how to reach the server: `INGOT_HOME`, the server URL and
//! the API token (flag, environment, then `INGOT_HOME/admin-token`).

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::{GlobalOptions, OutputFormat};
use crate::client::Client;

/// Resolved global options.
pub struct CliContext {
    pub home: PathBuf,
    pub server: String,
    pub token: Option<String>,
    pub output: OutputFormat,
}

impl CliContext {
    /// Resolves the options, reading the admin token file when no token was given.
    pub fn resolve(global: &GlobalOptions) -> Result<CliContext> {
        let home = match &global.home {
            Some(home) => home.clone(),
            None => default_home()?,
        };
        let token = match &global.token {
            Some(token) => Some(token.clone()),
            None => read_token_file(&home),
        };
        Ok(CliContext {
            home,
            server: global.server.clone(),
            token,
            output: global.output,
        })
    }

    /// A client for the configured server.
    pub fn client(&self) -> Result<Client> {
        Client::new(&self.server, self.token.clone())
    }

    /// Whether to print JSON.
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }
}

/// `~/.ingot`.
fn default_home() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set; pass --home or INGOT_HOME")?;
    Ok(PathBuf::from(home).join(".ingot"))
}

/// The token in `home/admin-token`, if readable.
pub fn read_token_file(home: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(home.join("admin-token")).ok()?;
    let token = text.trim();
    (!token.is_empty()).then(|| token.to_string())
}
