//! The page at `/`: what a browser finds at the server's address, including the run and
//! experiment links the `mlflow` client prints (`/#/experiments/…`, whose fragment never
//! reaches the server). Ingot has no web UI, so the page says which APIs this address speaks
//! and which commands show the same records.

use axum::response::Html;

/// The page, built at compile time; static, so it needs no token.
const PAGE: &str = concat!(
    r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ingot</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46em;margin:3em auto;padding:0 1em;color:#1f2933}
code{background:#f0f4f8;padding:0 .25em;border-radius:3px}td{padding:.2em 1em .2em 0;vertical-align:top}</style>
</head><body>
<h1>Ingot "#,
    env!("CARGO_PKG_VERSION"),
    r#"</h1>
<p>This server has no web UI. It speaks these APIs (each needs <code>Authorization: Bearer &lt;token&gt;</code> unless the server runs with <code>--no-auth</code>):</p>
<table>
<tr><td><code>/api/v1</code></td><td>Ingot's own API, described at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></td></tr>
<tr><td><code>/api/2.0/mlflow</code></td><td>MLflow's tracking and registry REST API: point <code>MLFLOW_TRACKING_URI</code> here and set <code>MLFLOW_TRACKING_TOKEN</code></td></tr>
<tr><td><code>/endpoints/NAME/invocations</code></td><td>real-time inference (CSV, JSON, JSON Lines); <code>/endpoints/NAME/ping</code></td></tr>
<tr><td><code>/v2</code></td><td>the Open Inference Protocol v2 (<code>/v2/models/NAME/infer</code>)</td></tr>
<tr><td><code>/metrics</code></td><td>Prometheus metrics of the endpoints</td></tr>
</table>
<p>The records behind an MLflow run or experiment link are one command away:</p>
<pre>ingot experiment list        ingot run list --experiment ID     ingot run show RUN_ID
ingot model list             ingot model show NAME[:VERSION]    ingot endpoint list</pre>
</body></html>
"#
);

/// Answers `GET /` with [`PAGE`].
pub(crate) async fn landing() -> Html<&'static str> {
    Html(PAGE)
}
