//! `ingot monitor`: data-quality and drift monitoring of local files. `baseline` writes
//! SageMaker Model Monitor's `statistics.json` and suggested `constraints.json`; `check`
//! compares a file with them, printing constraint violations and the per-column drift table,
//! optionally writing `constraint_violations.json` and a self-contained HTML report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ingot_monitor::drift::ColumnOverride;
use ingot_monitor::{
    Baseline, CheckReport, Constraints, DatasetStats, DriftOptions, StatTest, Statistics,
    StatsOptions,
};

use crate::commands::monitor_server::{self, GroundTruthArgs, ReportArgs, ScheduleCommand};
use crate::commands::train::write_atomically;
use crate::context::CliContext;
use crate::output::{print_json, print_table};

/// Exit status of `ingot monitor check` when it found constraint violations.
pub const VIOLATIONS_EXIT_CODE: i32 = 3;

#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Compute baseline statistics.json and suggested constraints.json from a reference file
    /// (--file/--out), or on the server from a dataset version (--name/--dataset)
    Baseline(BaselineArgs),
    /// Check a file against a baseline: constraint violations and per-column drift
    #[command(after_help = "Exit status: 0 when no constraint violation was found, \
        3 when violations were found (data_type_check, completeness_check, baseline_drift_check, \
        missing_column_check, extra_column_check, categorical_values_check), \
        1 on errors, 2 on usage errors. Dataset drift alone (the Evidently-style table) does not \
        change the exit status unless --fail-on-drift is given.\n\n\
        Drift tests (--stattest, --column-stattest): ks, chisquare, z, wasserstein, \
        jensenshannon, psi, linf. Without them each column gets Evidently's default: \
        reference <= 1000 rows: KS (numeric, > 5 values), chi-square or Z-test (p < 0.05); \
        larger: Wasserstein normed by the reference std or Jensen-Shannon (>= 0.1).")]
    Check(CheckArgs),
    /// Server monitoring schedules of an endpoint: create, list, delete, run now
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// An endpoint's monitoring executions
    Executions {
        /// Endpoint name
        endpoint: String,
    },
    /// One execution's violations and summary; --html writes its drift report
    Report(ReportArgs),
    /// Upload ground-truth labels (event_id,label) of captured events
    GroundTruth(GroundTruthArgs),
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Reference data: CSV with a header, Parquet or JSON Lines (local form, with --out)
    #[arg(long, required_unless_present = "name", requires = "out")]
    pub file: Option<PathBuf>,
    /// Directory to write statistics.json and constraints.json into (created if needed)
    #[arg(long, requires = "file")]
    pub out: Option<PathBuf>,
    /// Server form: store the baseline on the server under this name
    #[arg(long, conflicts_with_all = ["file", "out"])]
    pub name: Option<String>,
    /// Server form: compute the baseline from this dataset version (NAME[:VERSION])
    #[arg(long, requires = "name")]
    pub dataset: Option<String>,
    /// Server form: upload this statistics.json
    #[arg(long, requires = "name")]
    pub statistics: Option<PathBuf>,
    /// Server form: upload this constraints.json
    #[arg(long, requires = "name")]
    pub constraints: Option<PathBuf>,
    /// Server form: upload model-quality thresholds, e.g.
    /// {"accuracy": {"threshold": 0.8, "comparison": "LessThanThreshold"}}
    #[arg(long, requires = "name")]
    pub model_quality: Option<PathBuf>,
    /// Server form: upload mean |SHAP| attributions ({"features": {name: value}})
    #[arg(long, requires = "name")]
    pub attributions: Option<PathBuf>,
    /// Server form with --dataset: also compute the model's attributions (NAME[:VERSION])
    #[arg(long, requires = "dataset")]
    pub model: Option<String>,
    /// Server form with --dataset and --model: also compute bias metrics; a JSON file
    /// {"facet", "facet_values" or "facet_threshold", "positive_label", "threshold"}
    #[arg(long, requires = "model")]
    pub bias_config: Option<PathBuf>,
    /// Server form: upload a bias-drift baseline (bias.json)
    #[arg(long, requires = "name")]
    pub bias: Option<PathBuf>,
    /// csv, parquet or jsonl [default: from the extension]
    #[arg(long)]
    pub format: Option<String>,
    /// Seed of the KLL sketches' compactions
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Directory holding statistics.json and constraints.json (from `ingot monitor baseline`)
    #[arg(long)]
    pub baseline: PathBuf,
    /// Current data: CSV with a header, Parquet or JSON Lines
    #[arg(long)]
    pub file: PathBuf,
    /// csv, parquet or jsonl [default: from the extension]
    #[arg(long)]
    pub format: Option<String>,
    /// Write a self-contained HTML drift report to this path
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Directory to write constraint_violations.json and the current statistics.json into
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Drift test for every column instead of Evidently's per-column default
    #[arg(long)]
    pub stattest: Option<String>,
    /// Threshold of the drift tests (p-value or distance, by test)
    #[arg(long)]
    pub stattest_threshold: Option<f64>,
    /// Per-column test and optional threshold, e.g. age=psi:0.2 (repeatable)
    #[arg(long = "column-stattest", value_name = "COL=TEST[:THRESHOLD]")]
    pub column_stattest: Vec<String>,
    /// Dataset drift when at least this share of columns drift
    #[arg(long, default_value_t = 0.5)]
    pub drift_share: f64,
    /// Also exit with status 3 when dataset drift is detected
    #[arg(long)]
    pub fail_on_drift: bool,
    /// Seed of the current data's KLL sketches
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub async fn run(context: &CliContext, command: &MonitorCommand) -> Result<()> {
    match command {
        MonitorCommand::Baseline(args) => match &args.name {
            Some(name) => {
                let uploads = [
                    (args.statistics.as_ref(), "statistics"),
                    (args.constraints.as_ref(), "constraints"),
                    (args.model_quality.as_ref(), "model_quality"),
                    (args.attributions.as_ref(), "attributions"),
                    (args.bias.as_ref(), "bias"),
                ];
                let compute = monitor_server::Compute {
                    dataset: args.dataset.as_deref(),
                    model: args.model.as_deref(),
                    bias_config: args.bias_config.as_ref(),
                };
                monitor_server::baseline(context, name, compute, uploads).await
            }
            None => baseline(context, args),
        },
        MonitorCommand::Check(args) => check(context, args),
        MonitorCommand::Schedule(command) => monitor_server::schedule(context, command).await,
        MonitorCommand::Executions { endpoint } => {
            monitor_server::executions(context, endpoint).await
        }
        MonitorCommand::Report(args) => monitor_server::report(context, args).await,
        MonitorCommand::GroundTruth(args) => monitor_server::ground_truth(context, args).await,
    }
}

fn read_stats(path: &Path, format: Option<&str>, seed: u64) -> Result<DatasetStats> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let format = match format {
        Some(text) => text.parse::<ingot_data::DataFormat>()?,
        None => ingot_data::DataFormat::from_path(&path.to_string_lossy())
            .unwrap_or(ingot_data::DataFormat::Csv),
    };
    let options = StatsOptions {
        seed,
        ..StatsOptions::default()
    };
    if format == ingot_data::DataFormat::Parquet {
        // Streamed by row batches: memory holds the file and one decoded batch, not the
        // whole decoded table.
        let mut stats: Option<DatasetStats> = None;
        let mut failure = None;
        ingot_data::for_each_parquet_batch(bytes::Bytes::from(bytes), 65_536, |table| {
            let current = stats.get_or_insert_with(|| DatasetStats::new(&table.schema, &options));
            if let Err(e) = current.update(&table.batch) {
                failure = Some(e);
            }
            Ok(())
        })
        .with_context(|| format!("cannot parse {}", path.display()))?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        return stats.with_context(|| format!("{} has no rows", path.display()));
    }
    let table = ingot_data::read_table(&bytes, format)
        .with_context(|| format!("cannot parse {}", path.display()))?;
    drop(bytes);
    Ok(DatasetStats::of_table(&table, &options)?)
}

fn baseline(context: &CliContext, args: &BaselineArgs) -> Result<()> {
    let (Some(file), Some(out)) = (&args.file, &args.out) else {
        anyhow::bail!("give --file and --out (local), or --name (server)");
    };
    let stats = read_stats(file, args.format.as_deref(), args.seed)?;
    let baseline = Baseline::from_stats(&stats);
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let statistics = out.join("statistics.json");
    let constraints = out.join("constraints.json");
    write_atomically(&statistics, baseline.statistics.to_json().as_bytes())?;
    write_atomically(&constraints, baseline.constraints.to_json().as_bytes())?;
    if context.json() {
        return print_json(&serde_json::json!({
            "rows": stats.rows,
            "features": stats.columns.len(),
            "statistics": statistics.display().to_string(),
            "constraints": constraints.display().to_string(),
        }));
    }
    println!(
        "baseline of {} rows, {} features: {} and {}",
        stats.rows,
        stats.columns.len(),
        statistics.display(),
        constraints.display()
    );
    Ok(())
}

fn drift_options(args: &CheckArgs) -> Result<DriftOptions> {
    let mut options = DriftOptions {
        stattest: args.stattest.as_deref().map(StatTest::parse).transpose()?,
        threshold: args.stattest_threshold,
        drift_share: args.drift_share,
        ..DriftOptions::default()
    };
    for spec in &args.column_stattest {
        let (column, rest) = spec.split_once('=').with_context(|| {
            format!("--column-stattest {spec:?}: expected COL=TEST[:THRESHOLD]")
        })?;
        let (test, threshold) = match rest.split_once(':') {
            Some((t, th)) => (
                t,
                Some(th.parse::<f64>().with_context(|| {
                    format!("--column-stattest {spec:?}: threshold {th:?} is not a number")
                })?),
            ),
            None => (rest, None),
        };
        options.per_column.insert(
            column.to_string(),
            ColumnOverride {
                stattest: Some(StatTest::parse(test)?),
                threshold,
            },
        );
    }
    Ok(options)
}

fn read_baseline(dir: &Path) -> Result<Baseline> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    Ok(Baseline {
        statistics: Statistics::parse(&read("statistics.json")?)?,
        constraints: Constraints::parse(&read("constraints.json")?)?,
    })
}

fn check(context: &CliContext, args: &CheckArgs) -> Result<()> {
    let options = drift_options(args)?;
    let baseline = read_baseline(&args.baseline)?;
    let current = read_stats(&args.file, args.format.as_deref(), args.seed)?;
    let report = ingot_monitor::check(&baseline, &current, &options)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let violations = serde_json::to_string_pretty(&report.constraint_violations())?;
        write_atomically(
            &dir.join("constraint_violations.json"),
            violations.as_bytes(),
        )?;
        let statistics = Statistics::from_stats(&current).to_json();
        write_atomically(&dir.join("statistics.json"), statistics.as_bytes())?;
    }
    if let Some(path) = &args.report {
        write_atomically(path, ingot_monitor::render_html(&report).as_bytes())?;
    }
    if context.json() {
        print_json(&json_view(&report)?)?;
    } else {
        print_text(&report);
    }
    let failed =
        !report.violations.is_empty() || (args.fail_on_drift && report.drift.dataset_drift);
    if failed {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::process::exit(VIOLATIONS_EXIT_CODE);
    }
    Ok(())
}

/// The report without the plots' bins.
fn json_view(report: &CheckReport) -> Result<serde_json::Value> {
    let mut value = serde_json::to_value(report)?;
    if let Some(columns) = value["drift"]["columns"].as_array_mut() {
        for c in columns {
            if let Some(object) = c.as_object_mut() {
                object.remove("plot");
            }
        }
    }
    Ok(value)
}

fn print_text(report: &CheckReport) {
    println!(
        "constraint violations: {} (reference {} rows, current {} rows)",
        report.violations.len(),
        report.reference_rows,
        report.current_rows
    );
    if !report.violations.is_empty() {
        let rows: Vec<Vec<String>> = report
            .violations
            .iter()
            .map(|v| {
                vec![
                    v.feature_name.clone(),
                    serde_json::to_value(v.constraint_check_type)
                        .ok()
                        .and_then(|j| j.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    v.description.clone(),
                ]
            })
            .collect();
        print_table(&["FEATURE", "CHECK", "DESCRIPTION"], &rows);
    }
    let d = &report.drift;
    println!();
    println!(
        "drift: {} of {} columns drifted (share {:.3}, dataset drift at {}): {}",
        d.number_of_drifted_columns,
        d.number_of_columns,
        d.share_of_drifted_columns,
        d.drift_share,
        if d.dataset_drift {
            "DATASET DRIFT"
        } else {
            "no dataset drift"
        }
    );
    let rows: Vec<Vec<String>> = d
        .columns
        .iter()
        .map(|c| {
            vec![
                c.column.clone(),
                c.column_type.clone(),
                c.stattest.name().to_string(),
                format!("{:.6}", c.score),
                format!("{}", c.threshold),
                c.method.clone(),
                if c.drifted { "DRIFT" } else { "ok" }.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "COLUMN",
            "TYPE",
            "TEST",
            "SCORE",
            "THRESHOLD",
            "METHOD",
            "DRIFT",
        ],
        &rows,
    );
    for (column, why) in &d.skipped {
        println!("not tested: {column} ({why})");
    }
}
