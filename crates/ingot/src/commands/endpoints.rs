//! `ingot deploy`, `ingot endpoint ...` (list, show with live numbers and scaling history,
//! update, keys, delete) and `ingot model import`.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use ingot_core::endpoint_config::{
    AutoscalingConfig, DataCaptureConfig, EndpointMode, ModelStep, MultiModelConfig, ShadowConfig,
};
use ingot_core::EndpointConfig;
use ingot_protocol::{
    CreateEndpoint, CreateEndpointKey, EndpointKeyView, EndpointView, ModelVersionView,
};
use reqwest::Method;
use serde_json::json;

use super::endpoint_flags::{
    describe_autoscaling, parse_variant, step, ScalingFlags, ServingFlags, UpdateSettingsFlags,
};
use super::latency_plot::{self, duration};
use crate::client::Client;
use crate::context::CliContext;
use crate::output::{print_json, print_table, timestamp};

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Model to deploy: NAME or NAME:VERSION (omit with --config or --multi-model-prefix). A
    /// version logged through MLflow with an onnx, xgboost or lightgbm flavor deploys too.
    pub reference: Option<String>,
    /// Endpoint name
    #[arg(long)]
    pub endpoint: String,
    /// A whole EndpointConfig as a JSON file (variants, shadow, capture, batching, ...)
    #[arg(long, conflicts_with = "reference")]
    pub config: Option<std::path::PathBuf>,
    /// More pipeline steps after the model, in order: MODEL[:VERSION] (repeatable)
    #[arg(long = "then")]
    pub then: Vec<String>,
    /// Capture this percentage of requests and responses (0-100)
    #[arg(long)]
    pub capture_percent: Option<f64>,
    /// Fewest replicas (0 allows scale to zero)
    #[arg(long)]
    pub min_replicas: Option<u32>,
    /// Most replicas
    #[arg(long)]
    pub max_replicas: Option<u32>,
    /// Stop and restart a replica whose resident memory passes this many MiB
    #[arg(long, value_name = "MIB")]
    pub memory_limit_mib: Option<u64>,
    #[command(flatten)]
    pub scaling: ScalingFlags,
    #[command(flatten)]
    pub serving: ServingFlags,
    /// Serve every registered model whose name starts with this prefix, chosen per request
    /// by the X-Ingot-Target-Model header
    #[arg(long)]
    pub multi_model_prefix: Option<String>,
    /// Multi-model memory budget in MiB of model files
    #[arg(long, default_value_t = 1024)]
    pub memory_budget_mib: u64,
    /// Asynchronous endpoint: requests are queued and answered later
    #[arg(long = "async")]
    pub asynchronous: bool,
    /// KernelSHAP background for `?explain=true` on non-tree models: rows sampled from this
    /// dataset
    #[arg(long, value_name = "DATASET[:VERSION]")]
    pub explain_background: Option<String>,
    /// Wait until the endpoint is in service
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// List endpoints
    List,
    /// Show an endpoint: configuration, live numbers per variant and latency histograms
    Show { name: String },
    /// Change variants, weights, shadow, capture, autoscaling, batching or the timeout
    /// without dropping requests
    Update(UpdateArgs),
    /// Delete an endpoint
    Delete { name: String },
    /// Data-plane keys of an endpoint
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Endpoint name
    pub name: String,
    /// Replace the whole configuration with this EndpointConfig JSON file
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Production variants: NAME=MODEL[:V][+MODEL[:V]...][,weight=W][,min=N][,max=N]
    /// [,mem=MIB] (repeatable; replaces all variants; mem is a memory limit per replica)
    #[arg(long = "variant")]
    pub variants: Vec<String>,
    /// Shadow variant, same syntax; `none` removes it
    #[arg(long)]
    pub shadow: Option<String>,
    /// Share of traffic mirrored to the shadow (0-100)
    #[arg(long, default_value_t = 100.0)]
    pub shadow_percent: f64,
    /// Capture percentage (0 turns capture off)
    #[arg(long)]
    pub capture_percent: Option<f64>,
    #[command(flatten)]
    pub settings: UpdateSettingsFlags,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an invoke key (shown once)
    Create { endpoint: String, name: String },
    /// List an endpoint's keys
    List { endpoint: String },
    /// Revoke a key
    Revoke { endpoint: String, id: String },
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Registered model name
    pub name: String,
    /// The model file
    #[arg(long)]
    pub file: std::path::PathBuf,
    /// onnx, xgboost (JSON from save_model) or lightgbm (text from save_model)
    #[arg(long)]
    pub format: String,
    /// Input columns in feature order: name:type,name:type (default: from the file)
    #[arg(long)]
    pub schema: Option<String>,
    /// Class labels in output order, comma-separated (default: from the file, or 0..k-1)
    #[arg(long)]
    pub classes: Option<String>,
}

/// Resolves `version: 0` (latest) steps to numbers through the server.
async fn pin(client: &Client, steps: &mut [ModelStep]) -> Result<()> {
    for s in steps {
        if s.version == 0 {
            let latest: ModelVersionView = client
                .call(
                    Method::GET,
                    &format!("/api/v1/models/{}/versions/latest", s.model),
                    None,
                )
                .await?;
            s.version = latest.version;
        }
    }
    Ok(())
}

fn read_config(path: &std::path::Path) -> Result<EndpointConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let config: EndpointConfig = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid endpoint configuration", path.display()))?;
    config.validate()?;
    Ok(config)
}

/// Runs `ingot deploy`.
pub async fn deploy(context: &CliContext, args: &DeployArgs) -> Result<()> {
    let client = context.client()?;
    let config = match (&args.config, &args.reference, &args.multi_model_prefix) {
        (Some(path), _, _) => read_config(path)?,
        (None, None, Some(prefix)) => {
            let mut config = EndpointConfig::single("x", 1);
            config.variants[0].steps.clear();
            config.multi_model = Some(MultiModelConfig {
                model_prefix: prefix.clone(),
                memory_budget_bytes: args.memory_budget_mib * 1024 * 1024,
            });
            config
        }
        (None, Some(reference), _) => {
            let mut steps = vec![step(reference)?];
            for more in &args.then {
                steps.push(step(more)?);
            }
            pin(&client, &mut steps).await?;
            let mut config = EndpointConfig::single("x", 1);
            config.variants[0].steps = steps;
            config
        }
        (None, None, None) => {
            bail!("give a model (NAME[:VERSION]), --config or --multi-model-prefix")
        }
    };
    let config = apply_deploy_flags(config, args)?;
    config.validate()?;
    let endpoint: EndpointView = client
        .deploy(&CreateEndpoint {
            name: args.endpoint.clone(),
            model: None,
            version: None,
            config: Some(serde_json::to_value(&config)?),
        })
        .await?;
    let endpoint = if args.wait {
        wait_for_endpoint(&client, &endpoint.name).await?
    } else {
        endpoint
    };
    if context.json() {
        return print_json(&endpoint);
    }
    println!(
        "endpoint {} ({}:{}): {}",
        endpoint.name, endpoint.model, endpoint.model_version, endpoint.status
    );
    println!("{}{}", client.base(), endpoint.invocations_path);
    Ok(())
}

fn apply_deploy_flags(mut config: EndpointConfig, args: &DeployArgs) -> Result<EndpointConfig> {
    for variant in &mut config.variants {
        if let Some(min) = args.min_replicas {
            variant.min_replicas = min;
        }
        if let Some(max) = args.max_replicas {
            variant.max_replicas = max;
        }
        if let Some(mib) = args.memory_limit_mib {
            variant.memory_limit_mib = Some(mib);
        }
    }
    if let Some(percent) = args.capture_percent {
        config.data_capture = Some(DataCaptureConfig {
            sample_percent: percent,
        });
    }
    config.autoscaling = args.scaling.apply(config.autoscaling.take())?;
    if args.asynchronous {
        config.mode = EndpointMode::Async;
    }
    args.serving.apply(&mut config)?;
    if let Some(background) = &args.explain_background {
        let (dataset, version) = match background.split_once(':') {
            None => (background.clone(), None),
            Some((name, version)) => (
                name.to_string(),
                Some(version.parse::<i64>().with_context(|| {
                    format!("--explain-background: version {version:?} is not a number")
                })?),
            ),
        };
        config.explain = Some(ingot_core::endpoint_config::ExplainConfig {
            background_dataset: dataset,
            background_version: version,
            background_rows: 50,
            nsamples: None,
            seed: 0,
        });
    }
    Ok(config)
}

/// Polls an endpoint until it is in service; fails if it failed.
pub async fn wait_for_endpoint(client: &Client, name: &str) -> Result<EndpointView> {
    loop {
        let endpoint = client.endpoint(name).await?;
        match endpoint.status.as_str() {
            "InService" => return Ok(endpoint),
            "Failed" => bail!(
                "endpoint {name} failed: {}",
                endpoint
                    .failure_reason
                    .as_deref()
                    .unwrap_or("no reason recorded")
            ),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Runs an endpoint subcommand.
pub async fn endpoint(context: &CliContext, command: &EndpointCommand) -> Result<()> {
    let client = context.client()?;
    match command {
        EndpointCommand::List => {
            let endpoints = client.list_endpoints().await?;
            if context.json() {
                return print_json(&endpoints);
            }
            let rows: Vec<Vec<String>> = endpoints
                .iter()
                .map(|e| {
                    vec![
                        e.name.clone(),
                        format!("{}:{}", e.model, e.model_version),
                        e.config["variants"]
                            .as_array()
                            .map_or(0, Vec::len)
                            .to_string(),
                        e.status.clone(),
                        timestamp(e.created_at),
                    ]
                })
                .collect();
            print_table(&["NAME", "MODEL", "VARIANTS", "STATUS", "CREATED"], &rows);
        }
        EndpointCommand::Show { name } => {
            let endpoint = client.endpoint(name).await?;
            if context.json() {
                return print_json(&endpoint);
            }
            show(&client, &endpoint);
        }
        EndpointCommand::Update(args) => {
            let current = client.endpoint(&args.name).await?;
            let config = updated_config(&client, &current, args).await?;
            let endpoint: EndpointView = client
                .call(
                    Method::PUT,
                    &format!("/api/v1/endpoints/{}", args.name),
                    Some(&serde_json::to_value(&config)?),
                )
                .await?;
            if context.json() {
                return print_json(&endpoint);
            }
            show(&client, &endpoint);
        }
        EndpointCommand::Delete { name } => {
            client.delete_endpoint(name).await?;
            if context.json() {
                return print_json(&json!({ "deleted": name }));
            }
            println!("deleted endpoint {name}");
        }
        EndpointCommand::Keys(command) => keys(context, &client, command).await?,
    }
    Ok(())
}

async fn updated_config(
    client: &Client,
    current: &EndpointView,
    args: &UpdateArgs,
) -> Result<EndpointConfig> {
    if let Some(path) = &args.config {
        return read_config(path);
    }
    let mut config: EndpointConfig = serde_json::from_value(current.config.clone())?;
    if !args.variants.is_empty() {
        let mut variants = Vec::new();
        for spec in &args.variants {
            let mut variant = parse_variant(spec)?;
            pin(client, &mut variant.steps).await?;
            variants.push(variant);
        }
        config.variants = variants;
    }
    match args.shadow.as_deref() {
        Some("none") => config.shadow = None,
        Some(spec) => {
            let mut variant = parse_variant(spec)?;
            pin(client, &mut variant.steps).await?;
            config.shadow = Some(ShadowConfig {
                variant,
                sample_percent: args.shadow_percent,
            });
        }
        None => {}
    }
    match args.capture_percent {
        Some(p) if p <= 0.0 => config.data_capture = None,
        Some(p) => config.data_capture = Some(DataCaptureConfig { sample_percent: p }),
        None => {}
    }
    args.settings.apply(&mut config)?;
    config.validate()?;
    Ok(config)
}

/// A variant's replica memory: resident MiB over its replicas, and the limit each has.
fn memory(resident_bytes: Option<u64>, limit_mib: Option<u64>) -> String {
    let resident = resident_bytes.map_or("-".to_string(), |b| {
        format!("{} MiB", b.div_ceil(1024 * 1024))
    });
    match limit_mib {
        Some(limit) => format!("{resident} (limit {limit} MiB each)"),
        None => resident,
    }
}

fn show(client: &Client, endpoint: &EndpointView) {
    println!("endpoint {}", endpoint.name);
    println!("status {}", endpoint.status);
    if let Some(reason) = &endpoint.failure_reason {
        println!("reason {reason}");
    }
    println!("url {}{}", client.base(), endpoint.invocations_path);
    let config = &endpoint.config;
    println!("mode {}", config["mode"].as_str().unwrap_or("real_time"));
    match config["invocation_timeout_secs"].as_u64() {
        Some(secs) => println!("invocation timeout {secs} s"),
        None => println!("invocation timeout default (60 s real-time, 3600 s async)"),
    }
    match config["max_concurrency"].as_u64() {
        Some(cap) => println!("max concurrency {cap} (429 throttled beyond)"),
        None => println!("max concurrency none"),
    }
    let policy: Option<AutoscalingConfig> = config
        .get("autoscaling")
        .and_then(|p| serde_json::from_value(p.clone()).ok());
    println!("{}", describe_autoscaling(policy.as_ref()));
    if let Some(capture) = config.get("data_capture") {
        let percent = capture["sample_percent"].as_f64().unwrap_or_default();
        println!("data capture {percent}%");
    }
    if let Some(batching) = config.get("batching") {
        println!(
            "batching max {} rows, {} µs",
            batching["max_batch_size"], batching["max_delay_us"]
        );
    }
    if let Some(multi) = config.get("multi_model") {
        println!(
            "multi-model prefix {:?}, budget {} bytes",
            multi["model_prefix"].as_str().unwrap_or(""),
            multi["memory_budget_bytes"]
        );
    }
    let steps = |v: &serde_json::Value| -> String {
        v["steps"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|s| format!("{}:{}", s["model"].as_str().unwrap_or(""), s["version"]))
                    .collect::<Vec<_>>()
                    .join(" → ")
            })
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    let variants = config["variants"].as_array().cloned().unwrap_or_default();
    let shadow = config.get("shadow").map(|s| s["variant"].clone());
    for v in variants.iter().chain(shadow.iter()) {
        let name = v["name"].as_str().unwrap_or("");
        let live = endpoint
            .variants
            .iter()
            .find(|s| s["variant"].as_str() == Some(name));
        let number = |key: &str| live.map_or("-".to_string(), |l| l[key].to_string());
        // "p50 / p99" of a latency, from the server's histogram estimates.
        let percentiles = |latency: &str| {
            let read = |q: &str| live.and_then(|l| l[format!("{latency}_latency_{q}_us")].as_f64());
            match (read("p50"), read("p99")) {
                (Some(p50), Some(p99)) => format!("{} / {}", duration(p50), duration(p99)),
                _ => "-".to_string(),
            }
        };
        let is_shadow = shadow.as_ref().is_some_and(|s| s["name"] == v["name"]);
        rows.push(vec![
            if is_shadow {
                format!("{name} (shadow)")
            } else {
                name.to_string()
            },
            steps(v),
            if is_shadow {
                "-".into()
            } else {
                v["weight"].to_string()
            },
            format!(
                "{}/{}-{}",
                number("replicas"),
                v["min_replicas"],
                v["max_replicas"]
            ),
            number("invocations"),
            number("errors_4xx"),
            number("errors_5xx"),
            percentiles("model"),
            percentiles("overhead"),
            number("loaded_models"),
            number("restarts"),
            memory(
                live.and_then(|l| l["resident_bytes"].as_u64()),
                v["memory_limit_mib"].as_u64(),
            ),
        ]);
    }
    print_table(
        &[
            "VARIANT",
            "MODEL",
            "WEIGHT",
            "REPLICAS",
            "INVOCATIONS",
            "4XX",
            "5XX",
            "MODEL P50 / P99",
            "OVERHEAD P50 / P99",
            "LOADED",
            "RESTARTS",
            "MEMORY",
        ],
        &rows,
    );
    scaling_history(&endpoint.variants);
    for live in &endpoint.variants {
        if let Some(reason) = live["last_failure"].as_str() {
            let name = live["variant"].as_str().unwrap_or("");
            println!("{name}: last replica failure: {reason}");
        }
    }
    for live in &endpoint.variants {
        let buckets = |key: &str| -> Vec<ingot_serve::LatencyBucket> {
            serde_json::from_value(live[key].clone()).unwrap_or_default()
        };
        let lines = latency_plot::plot(
            live["variant"].as_str().unwrap_or(""),
            &buckets("model_latency_buckets"),
            &buckets("overhead_latency_buckets"),
        );
        if !lines.is_empty() {
            println!("\n{}", lines.join("\n"));
        }
    }
}

/// How many scaling events per variant `ingot endpoint show` prints (the API keeps more).
const SHOWN_SCALING_EVENTS: usize = 5;

/// The variants' recent replica-count changes, oldest first, with their reasons.
fn scaling_history(variants: &[serde_json::Value]) {
    let mut rows = Vec::new();
    for live in variants {
        let events: Vec<ingot_serve::autoscale::ScalingEvent> =
            serde_json::from_value(live["scaling_events"].clone()).unwrap_or_default();
        let skip = events.len().saturating_sub(SHOWN_SCALING_EVENTS);
        for event in &events[skip..] {
            rows.push(vec![
                live["variant"].as_str().unwrap_or("").to_string(),
                timestamp(event.at),
                format!("{} → {}", event.from, event.to),
                event.reason.clone(),
            ]);
        }
    }
    if !rows.is_empty() {
        println!("\nscaling (newest last)");
        print_table(&["VARIANT", "TIME", "REPLICAS", "REASON"], &rows);
    }
}

async fn keys(context: &CliContext, client: &Client, command: &KeysCommand) -> Result<()> {
    match command {
        KeysCommand::Create { endpoint, name } => {
            let key: EndpointKeyView = client
                .call(
                    Method::POST,
                    &format!("/api/v1/endpoints/{endpoint}/keys"),
                    Some(&serde_json::to_value(CreateEndpointKey {
                        name: name.clone(),
                    })?),
                )
                .await?;
            if context.json() {
                return print_json(&key);
            }
            println!("key {} ({}) for endpoint {endpoint}:", key.id, key.name);
            println!("{}", key.key.unwrap_or_default());
            println!("store it now: it is not shown again");
        }
        KeysCommand::List { endpoint } => {
            let keys: Vec<EndpointKeyView> = client
                .call(
                    Method::GET,
                    &format!("/api/v1/endpoints/{endpoint}/keys"),
                    None,
                )
                .await?;
            if context.json() {
                return print_json(&keys);
            }
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|k| vec![k.id.clone(), k.name.clone(), timestamp(k.created_at)])
                .collect();
            print_table(&["ID", "NAME", "CREATED"], &rows);
        }
        KeysCommand::Revoke { endpoint, id } => {
            let path = format!("/api/v1/endpoints/{endpoint}/keys/{id}");
            client.delete_path(&path).await?;
            if context.json() {
                return print_json(&json!({ "revoked": id }));
            }
            println!("revoked key {id}");
        }
    }
    Ok(())
}

/// Runs `ingot model import`.
pub async fn import(context: &CliContext, args: &ImportArgs) -> Result<()> {
    let client = context.client()?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut query = format!("format={}", urlencode(&args.format));
    if let Some(schema) = &args.schema {
        query.push_str(&format!("&schema={}", urlencode(schema)));
    }
    if let Some(classes) = &args.classes {
        query.push_str(&format!("&classes={}", urlencode(classes)));
    }
    let version: ModelVersionView = client
        .post_bytes(
            &format!("/api/v1/models/{}/import?{query}", args.name),
            "application/octet-stream",
            bytes,
        )
        .await?;
    if context.json() {
        return print_json(&version);
    }
    println!(
        "imported {} as {}:{} ({})",
        args.file.display(),
        version.model,
        version.version,
        version.algorithm
    );
    Ok(())
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_shows_resident_mib_and_the_limit_per_replica() {
        assert_eq!(memory(Some(70 * 1024 * 1024 + 1), None), "71 MiB");
        assert_eq!(
            memory(Some(3 << 20), Some(512)),
            "3 MiB (limit 512 MiB each)"
        );
        assert_eq!(memory(None, Some(64)), "- (limit 64 MiB each)");
        assert_eq!(memory(None, None), "-");
    }
}
