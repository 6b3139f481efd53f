//! The command-line grammar (clap): global connection options and every subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Ingot: a self-hosted machine-learning platform in one binary.
#[derive(Debug, Parser)]
#[command(name = "ingot", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalOptions {
    /// State directory (database, artifacts, admin token) [default: ~/.ingot]
    #[arg(long, global = true, env = "INGOT_HOME")]
    pub home: Option<PathBuf>,
    /// URL of the Ingot server
    #[arg(
        long,
        global = true,
        env = "INGOT_SERVER",
        default_value = "http://127.0.0.1:7070"
    )]
    pub server: String,
    /// API token [default: INGOT_HOME/admin-token when present]
    #[arg(long, global = true, env = "INGOT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// Machine-readable JSON on stdout.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Ingot server
    Server(ServerArgs),
    /// Start an embedded server and carry a churn model from data to predictions
    Quickstart(QuickstartArgs),
    /// Create and inspect datasets
    #[command(subcommand)]
    Dataset(DatasetCommand),
    /// Train a model, on the server or locally with --local
    Train(TrainArgs),
    /// Score a file with a local model file or a deployed endpoint
    Predict(PredictArgs),
    /// Inspect the model registry
    #[command(subcommand)]
    Model(ModelCommand),
    /// Deploy a model version as a real-time endpoint
    Deploy(DeployArgs),
    /// Inspect and delete endpoints
    #[command(subcommand)]
    Endpoint(EndpointCommand),
    /// Inspect and stop training jobs
    #[command(subcommand)]
    Job(JobCommand),
    /// List the built-in algorithms and their hyperparameters
    Algorithms,
    /// Write a generated sample dataset
    #[command(subcommand)]
    Sample(SampleCommand),
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Address to listen on; anything but loopback requires auth
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Port to listen on (0 picks a free one)
    #[arg(long, default_value_t = 7070)]
    pub port: u16,
    /// Serve without authentication (loopback only)
    #[arg(long)]
    pub no_auth: bool,
    /// Artifact store: a directory, file:// or s3://bucket/prefix URL [default: INGOT_HOME/artifacts]
    #[arg(long, env = "INGOT_ARTIFACTS")]
    pub artifacts: Option<String>,
    /// Training jobs run at once
    #[arg(long, default_value_t = 1)]
    pub job_workers: usize,
}

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Rows of generated churn data
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    /// Seed of the generated data
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Create a new version of a dataset from a CSV, Parquet or JSON Lines file
    Create {
        /// Dataset name
        name: String,
        /// File to upload
        #[arg(long, required_unless_present = "path", conflicts_with = "path")]
        file: Option<PathBuf>,
        /// Absolute path of a file on the server's machine, read by the server (no upload)
        #[arg(long)]
        path: Option<String>,
        /// csv, parquet or jsonl [default: from the extension]
        #[arg(long)]
        format: Option<String>,
    },
    /// Show a dataset version's schema and profile
    Show {
        /// NAME or NAME:VERSION
        reference: String,
    },
    /// List datasets
    List,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Train locally on --file instead of on the server
    #[arg(long)]
    pub local: bool,
    /// Dataset (NAME or NAME:VERSION) to train on, on the server
    #[arg(long, required_unless_present = "local", conflicts_with = "local")]
    pub dataset: Option<String>,
    /// Data file to train on with --local
    #[arg(long, required_if_eq("local", "true"))]
    pub file: Option<PathBuf>,
    /// Where --local writes the model file
    #[arg(long, required_if_eq("local", "true"))]
    pub out: Option<PathBuf>,
    /// Column to predict
    #[arg(long)]
    pub target: String,
    /// Algorithm (see `ingot algorithms`)
    #[arg(long)]
    pub algorithm: String,
    /// Hyperparameter KEY=VALUE (repeatable)
    #[arg(long = "hp", value_name = "KEY=VALUE")]
    pub hyperparameters: Vec<String>,
    /// Column to leave out (repeatable)
    #[arg(long = "drop", value_name = "COL")]
    pub drop_columns: Vec<String>,
    /// Registered model name [default: the dataset name]
    #[arg(long)]
    pub model: Option<String>,
    /// Validation dataset (NAME or NAME:VERSION) instead of a held-out split
    #[arg(long)]
    pub validation_dataset: Option<String>,
    /// Validation data file with --local
    #[arg(long)]
    pub validation_file: Option<PathBuf>,
    /// Held-out fraction when no validation data is given
    #[arg(long, default_value_t = 0.2)]
    pub validation_fraction: f64,
    /// Random seed of the split and the algorithm
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Wait for the job, showing progress, then print metrics and the model version
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Score with a local model file (--model) instead of an endpoint
    #[arg(long)]
    pub local: bool,
    /// Model file written by `ingot train --local`
    #[arg(long, required_if_eq("local", "true"))]
    pub model: Option<PathBuf>,
    /// Endpoint to invoke
    #[arg(long, required_unless_present = "local", conflicts_with = "local")]
    pub endpoint: Option<String>,
    /// Rows to score (CSV with a header, Parquet or JSON Lines)
    #[arg(long)]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// List registered models
    List,
    /// Show a model version: metrics, input schema and lineage
    Show {
        /// NAME or NAME:VERSION
        reference: String,
    },
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Model to deploy: NAME or NAME:VERSION
    pub reference: String,
    /// Endpoint name
    #[arg(long)]
    pub endpoint: String,
    /// Wait until the endpoint is in service
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// List endpoints
    List,
    /// Show an endpoint
    Show { name: String },
    /// Delete an endpoint
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// List recent jobs
    List,
    /// Show a job
    Show { id: String },
    /// Print a job's log
    Logs {
        id: String,
        /// Keep printing until the job ends
        #[arg(long)]
        follow: bool,
    },
    /// Stop a pending or running job
    Stop { id: String },
}

#[derive(Debug, Subcommand)]
pub enum SampleCommand {
    /// Bank-churn-like customers (the 14 columns of the classic churn example)
    Churn {
        /// Rows to generate
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
        /// Random seed
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Output CSV file
        #[arg(long)]
        out: PathBuf,
    },
}
