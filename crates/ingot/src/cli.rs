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
    /// Compute every metric of a task from a file of labels and predictions
    Evaluate(EvaluateArgs),
    /// Inspect the model registry
    #[command(subcommand)]
    Model(ModelCommand),
    /// Deploy a model (or a pipeline, variants, multi-model) as a real-time or async endpoint
    Deploy(DeployArgs),
    /// Inspect, update (weights, shadow, capture), key and delete endpoints
    #[command(subcommand)]
    Endpoint(EndpointCommand),
    /// Score a dataset version into a new dataset (batch transform)
    Transform(crate::commands::transform::TransformArgs),
    /// Inspect and stop training jobs
    #[command(subcommand)]
    Job(JobCommand),
    /// Create and inspect tracking experiments
    #[command(subcommand)]
    Experiment(ExperimentCommand),
    /// Inspect and compare tracked runs (every training job is a run)
    #[command(subcommand)]
    Run(RunCommand),
    /// List the built-in algorithms and their hyperparameters
    Algorithms,
    /// Write a generated sample dataset
    #[command(subcommand)]
    Sample(SampleCommand),
    /// Data-quality and drift monitoring: local files, or server baselines, schedules and reports
    #[command(subcommand)]
    Monitor(crate::commands::monitor::MonitorCommand),
    /// Internal: one endpoint replica, started by the server
    #[command(hide = true)]
    Replica(crate::commands::replica::ReplicaArgs),
    /// Internal: one batch transform worker, started by the server
    #[command(hide = true)]
    TransformWorker(crate::commands::replica::TransformWorkerArgs),
    /// Bias metrics and SHAP explanations of local files or stored datasets (SageMaker Clarify-style)
    #[command(subcommand)]
    Clarify(crate::commands::clarify::ClarifyCommand),
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
    /// Where endpoint replicas run: child processes (a crashing model cannot take the server
    /// down) or inside the server process
    #[arg(long, value_enum, default_value_t = ReplicaMode::Process)]
    pub replica_mode: ReplicaMode,
    /// Stop a batch transform worker whose resident memory passes this many MiB, failing its
    /// job with a message that says so (endpoint replicas take theirs per variant)
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    pub transform_memory_limit_mib: Option<u64>,
    /// How often the autoscaler measures each variant and may scale it, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_AUTOSCALE_INTERVAL_MS,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub autoscale_interval_ms: u64,
}

/// The autoscaler's default tick: ten seconds.
pub const DEFAULT_AUTOSCALE_INTERVAL_MS: u64 = 10_000;

/// Where endpoint replicas run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplicaMode {
    /// One child process per replica
    Process,
    /// Inside the server process
    InProcess,
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
    /// Profile a local data file without a server (schema, missing, distinct, statistics)
    Profile {
        /// CSV, Parquet or JSON Lines file
        #[arg(long)]
        file: PathBuf,
        /// csv, parquet or jsonl [default: from the extension]
        #[arg(long)]
        format: Option<String>,
    },
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
    /// Column to predict (omit for unsupervised algorithms: kmeans, pca, random-cut-forest)
    #[arg(long)]
    pub target: Option<String>,
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
    #[arg(long, required_unless_present = "async_result")]
    pub file: Option<PathBuf>,
    /// Queue the rows as an async invocation and print its id (see --wait, --async-result)
    #[arg(long = "async", conflicts_with = "local")]
    pub asynchronous: bool,
    /// With --async: URL the server POSTs a signed completion notice to
    #[arg(long, requires = "asynchronous")]
    pub webhook_url: Option<String>,
    /// With --async: wait for the answer and print it
    #[arg(long, requires = "asynchronous")]
    pub wait: bool,
    /// Status of an async invocation by id, and its answer once completed
    #[arg(long, conflicts_with_all = ["file", "asynchronous", "local"], requires = "endpoint")]
    pub async_result: Option<String>,
}

pub use crate::commands::endpoints::{DeployArgs, EndpointCommand};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// List registered models
    List,
    /// Show a model version: metrics, input schema and lineage
    Show {
        /// NAME or NAME:VERSION
        reference: String,
    },
    /// Approve a model version for deployment (records who and when)
    Approve {
        /// NAME:VERSION, or NAME followed by VERSION
        reference: String,
        version: Option<i64>,
    },
    /// Reject a model version
    Reject {
        /// NAME:VERSION, or NAME followed by VERSION
        reference: String,
        version: Option<i64>,
    },
    /// Import a model trained elsewhere: ONNX, XGBoost JSON or LightGBM text
    Import(crate::commands::endpoints::ImportArgs),
    /// Require approval before a model's versions can be deployed (--off to lift it)
    RequireApproval {
        name: String,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// List experiments
    List {
        /// MLflow filter grammar, e.g. "name LIKE 'churn%'"
        #[arg(long)]
        filter: Option<String>,
    },
    /// Create an experiment
    Create { name: String },
    /// Show an experiment by id or name
    Show { experiment: String },
}

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// List an experiment's runs
    List {
        /// Experiment id
        #[arg(long)]
        experiment: String,
        /// MLflow filter grammar, e.g. "metrics.auc > 0.8 AND params.l2 = '0.01'"
        #[arg(long)]
        filter: Option<String>,
        /// e.g. "metrics.auc DESC"
        #[arg(long)]
        order_by: Option<String>,
        #[arg(long, default_value_t = 50)]
        max_results: i64,
    },
    /// Show a run's params, latest metrics and tags
    Show { run: String },
    /// Compare runs: metric histories side by side
    Compare {
        /// Run ids (a training job's run id is its job id)
        #[arg(required = true, num_args = 1..)]
        runs: Vec<String>,
        /// Metric keys to compare (all when omitted)
        #[arg(long = "metric")]
        metrics: Vec<String>,
    },
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

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Evaluate a local file (the only mode for now)
    #[arg(long)]
    pub local: bool,
    /// CSV with a header: true labels, predictions and optionally scores or probabilities
    #[arg(long)]
    pub file: PathBuf,
    /// Column holding the true labels or values
    #[arg(long)]
    pub label_column: String,
    /// Column holding predicted labels or values [default: argmax of per-class probability
    /// columns headed by their class label, as `ingot predict --local` writes]
    #[arg(long)]
    pub prediction_column: Option<String>,
    /// Binary classification: column with the positive class's score or probability
    #[arg(long)]
    pub score_column: Option<String>,
    /// Binary classification: the positive label [default: the second of the sorted labels]
    #[arg(long)]
    pub positive_label: Option<String>,
    /// classification or regression [default: inferred from the columns]
    #[arg(long, value_enum)]
    pub task: Option<EvaluateTask>,
}

/// What `ingot evaluate` evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvaluateTask {
    /// Class labels (and optional scores).
    Classification,
    /// Real values.
    Regression,
}
