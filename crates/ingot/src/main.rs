//! The `ingot` binary: parses the command line, sets up logging and runs one command.

mod cli;
mod client;
mod commands;
mod context;
mod output;
mod sample;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, SampleCommand};
use crate::context::CliContext;

/// The process allocator, for the server and its replica processes alike: glibc's malloc spent
/// a third of a run search's CPU consolidating and unlinking free chunks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `ingot train --help` documents every algorithm's hyperparameters, from the registry itself.
fn hyperparameter_help() -> String {
    let mut text = String::from("Algorithms and their hyperparameters (--hp KEY=VALUE):\n");
    for algorithm in ingot_catalog::algorithms() {
        text.push_str(&format!(
            "\n  {}: {}\n",
            algorithm.name(),
            algorithm.description()
        ));
        for hp in algorithm.hyperparameters() {
            text.push_str(&format!(
                "    {:<24} default {:<10} {}\n",
                hp.name, hp.default, hp.description
            ));
        }
    }
    text
}

fn parse() -> Cli {
    let help = hyperparameter_help();
    let command = Cli::command().mut_subcommand("train", |train| train.after_help(help));
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

fn main() -> ExitCode {
    let cli = parse();
    // Client commands behave like Unix tools: `ingot ... | head` ends quietly. Commands that
    // run a server keep Rust's default (SIGPIPE ignored), so a client hanging up on a socket
    // can never kill the process.
    if !matches!(
        cli.command,
        Command::Server(_) | Command::Quickstart(_) | Command::Replica(_)
    ) {
        sigpipe::reset();
    }
    // The server logs its work; client commands only warn, keeping stdout and stderr readable.
    let default_filter = match cli.command {
        Command::Server(_) => "info,sqlx=warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INGOT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let context = CliContext::resolve(&cli.global)?;
    match &cli.command {
        Command::Server(args) => commands::server::run(&context, args).await,
        Command::Quickstart(args) => commands::quickstart::run(&context, args).await,
        Command::Dataset(command) => commands::datasets::run(&context, command).await,
        Command::Train(args) => commands::train::run(&context, args).await,
        Command::Predict(args) => commands::predict::run(&context, args).await,
        Command::Evaluate(args) => commands::evaluate::run(&context, args).await,
        Command::Model(command) => commands::registry::model(&context, command).await,
        Command::Deploy(args) => commands::endpoints::deploy(&context, args).await,
        Command::Endpoint(command) => commands::endpoints::endpoint(&context, command).await,
        Command::Transform(args) => commands::transform::run(&context, args).await,
        Command::Job(command) => commands::jobs::run(&context, command).await,
        Command::Experiment(command) => commands::tracking::experiment(&context, command).await,
        Command::Run(command) => commands::tracking::run(&context, command).await,
        Command::Algorithms => commands::registry::algorithms(&context).await,
        Command::Monitor(command) => commands::monitor::run(&context, command).await,
        Command::Replica(args) => commands::replica::run(args).await,
        Command::TransformWorker(args) => commands::replica::run_transform_worker(args).await,
        Command::Clarify(command) => commands::clarify::run(&context, command).await,
        Command::Sample(SampleCommand::Churn { rows, seed, out }) => {
            let csv = sample::churn_csv(*rows, *seed);
            commands::train::write_atomically(out, csv.as_bytes())?;
            if context.json() {
                return output::print_json(&serde_json::json!({
                    "rows": rows,
                    "seed": seed,
                    "path": out.display().to_string(),
                }));
            }
            eprintln!("wrote {rows} rows to {}", out.display());
            Ok(())
        }
    }
}
