//! Batch scoring of a whole dataset (batch transform's kernel): rows scored in chunks that
//! worker threads take in turn, Parquet datasets decoded, scored and written a slice at a time,
//! and the output table of predictions (optionally joined with the input columns), with every
//! scored chunk counted so a job can show its progress. Scoring is the same
//! `LoadedModel::predict` endpoints run, so predictions equal the real-time ones.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field as ArrowField, Schema as ArrowSchema};
use bytes::Bytes;
use ingot_catalog::{LoadedModel, Predictions};

use crate::{Error, Result};

/// One batch transform as it crosses to whatever scores it: the model file and the dataset
/// file by sha256 in the artifact store, and how to score.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransformSpec {
    /// The model version's artifact.
    pub model_artifact: String,
    /// The dataset version's file.
    pub dataset_artifact: String,
    /// The dataset file's format (`csv`, `jsonl`, `parquet`).
    pub format: String,
    /// Threads scoring chunks.
    pub workers: usize,
    /// Whether the output keeps the input columns before the predictions.
    pub join_input: bool,
    /// The dataset version's schema, as inferred at upload: CSV and JSON Lines files are then
    /// read against it a slice at a time instead of whole (absent in specs from older servers).
    #[serde(default)]
    pub dataset_schema: Option<ingot_core::Schema>,
    /// The job's memory limit for a worker process, in MiB (absent: the runner's own; not
    /// enforced when scoring in the server's process).
    #[serde(default)]
    pub memory_limit_mib: Option<u64>,
}

/// Runs batch transforms outside the calling process (`ingot server` starts one worker
/// process per job, so a model that aborts or exhausts memory fails its job, not the server).
#[async_trait::async_trait]
pub trait TransformRunner: Send + Sync {
    /// Scores `spec` with `done` kept at the rows scored so far; returns the output table as
    /// Parquet bytes and its row count. Dropping the future stops the work.
    async fn run(&self, spec: TransformSpec, done: &AtomicU64) -> Result<(Vec<u8>, usize)>;
}

/// Rows of a Parquet dataset decoded and scored at a time: a large dataset is never held
/// decoded whole, and each slice still gives every worker several chunks.
pub const SLICE_ROWS: usize = 65_536;
/// The fewest rows a worker scores in one `predict` call (smaller datasets use fewer workers).
const MIN_CHUNK_ROWS: usize = 64;
/// The most rows in one chunk, so that progress moves on large datasets.
const MAX_CHUNK_ROWS: usize = 8_192;
/// Chunks per worker aimed at: enough that a slow chunk does not leave the others idle.
const CHUNKS_PER_WORKER: usize = 8;

/// Scores `spec`'s dataset file with its model file (both already read from the artifact
/// store) on `spec.workers` threads, `done` counting scored rows, `stop` checked before each
/// chunk: the output table's Parquet bytes and row count. What both the in-process path and a
/// worker process run.
pub fn score_spec(
    spec: &TransformSpec,
    model_file: &[u8],
    dataset_file: Bytes,
    done: &AtomicU64,
    stop: &AtomicBool,
) -> Result<(Vec<u8>, usize)> {
    let loaded = LoadedModel::from_bytes(model_file)?;
    let format: ingot_data::DataFormat = spec.format.parse()?;
    let scoring = Scoring {
        workers: spec.workers.max(1),
        join_input: spec.join_input,
        slice_rows: SLICE_ROWS,
    };
    score_dataset(
        &loaded,
        (dataset_file, format, spec.dataset_schema.as_ref()),
        &scoring,
        Tally { done, stop },
    )
}

/// Where a batch counts the rows it scored, and learns that it should stop (checked before
/// each chunk; a stopped batch ends with an error and no output).
#[derive(Debug, Clone, Copy)]
pub struct Tally<'a> {
    pub done: &'a AtomicU64,
    pub stop: &'a AtomicBool,
}

/// How a dataset is scored.
#[derive(Debug, Clone, Copy)]
pub struct Scoring {
    /// Threads scoring chunks.
    pub workers: usize,
    /// Whether the output keeps the input columns before the predictions.
    pub join_input: bool,
    /// Rows of a Parquet dataset decoded, scored and written at a time.
    pub slice_rows: usize,
}

/// A dataset file, its format, and (for CSV and JSON Lines read a slice at a time) its known
/// schema.
pub type DatasetFile<'a> = (
    Bytes,
    ingot_data::DataFormat,
    Option<&'a ingot_core::Schema>,
);

/// Scores a dataset file into the Parquet bytes of its output table; returns them and the row
/// count. Parquet, and CSV and JSON Lines whose schema is known, are decoded, scored and
/// written a slice at a time, so their decoded rows are never held whole; other files are read
/// whole.
pub fn score_dataset(
    loaded: &LoadedModel,
    (bytes, format, schema): DatasetFile,
    scoring: &Scoring,
    tally: Tally,
) -> Result<(Vec<u8>, usize)> {
    let Scoring {
        workers,
        join_input,
        slice_rows,
    } = *scoring;
    let mut sink = ingot_data::ParquetSink::default();
    let mut rows = 0;
    let mut score_slice = |table: &RecordBatch| -> Result<()> {
        rows += table.num_rows();
        let output = transform_batch(loaded, table, workers, join_input, tally)?;
        Ok(sink.write(&output)?)
    };
    match (format, schema) {
        (ingot_data::DataFormat::Parquet, _) => {
            for table in ingot_data::parquet_batches(bytes.clone(), slice_rows)? {
                score_slice(&table?.batch)?;
            }
        }
        (ingot_data::DataFormat::Csv, Some(schema)) => {
            // Dataset files always carry a header.
            ingot_data::for_each_csv_batch(&bytes, schema, true, slice_rows, |b| score_slice(&b))?;
        }
        (ingot_data::DataFormat::JsonLines, Some(schema)) => {
            ingot_data::for_each_jsonl_batch(&bytes, schema, slice_rows, |b| score_slice(&b))?;
        }
        _ => {}
    }
    if !sink.is_empty() {
        return Ok((sink.finish()?, rows));
    }
    // Read whole: a format without a slice reader, or a Parquet file without rows (scored
    // whole for the output's schema).
    let table = ingot_data::read_table_bytes(bytes, format)?;
    let output = transform_batch(loaded, &table.batch, workers, join_input, tally)?;
    Ok((ingot_data::write_parquet(&output)?, table.num_rows()))
}

/// The row ranges `(start, len)` a table of `rows` rows is scored in by `workers` workers. A
/// table without rows is one empty range, so its output still has the prediction columns.
fn chunks(rows: usize, workers: usize) -> Vec<(usize, usize)> {
    if rows == 0 {
        return vec![(0, 0)];
    }
    let chunk = rows
        .div_ceil(workers.max(1) * CHUNKS_PER_WORKER)
        .clamp(MIN_CHUNK_ROWS, MAX_CHUNK_ROWS);
    (0..rows)
        .step_by(chunk)
        .map(|start| (start, chunk.min(rows - start)))
        .collect()
}

/// Scores `input` on up to `workers` threads, each taking the next chunk of rows until none is
/// left (or one failed, or the tally says stop), adding each scored chunk's rows to the tally;
/// assembles the output table with the chunks in row order.
pub fn transform_batch(
    loaded: &LoadedModel,
    input: &RecordBatch,
    workers: usize,
    join_input: bool,
    tally: Tally,
) -> Result<RecordBatch> {
    let slices = chunks(input.num_rows(), workers);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let score = || {
        let mut scored: Vec<(usize, Result<Predictions>)> = Vec::new();
        while !failed.load(Ordering::Relaxed) && !tally.stop.load(Ordering::Relaxed) {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(start, len)) = slices.get(index) else {
                break;
            };
            let predictions = loaded
                .predict(&input.slice(start, len))
                .map_err(Error::from);
            match &predictions {
                Ok(_) => {
                    tally.done.fetch_add(len as u64, Ordering::Relaxed);
                }
                Err(_) => failed.store(true, Ordering::Relaxed),
            }
            scored.push((index, predictions));
        }
        scored
    };
    let mut scored: Vec<(usize, Result<Predictions>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.clamp(1, slices.len().max(1)))
            .map(|_| scope.spawn(score))
            .collect();
        let mut all = Vec::with_capacity(slices.len());
        for handle in handles {
            match handle.join() {
                Ok(part) => all.extend(part),
                Err(_) => all.push((
                    usize::MAX,
                    Err(Error::Internal("a transform worker panicked".into())),
                )),
            }
        }
        all
    });
    if tally.stop.load(Ordering::Relaxed) {
        return Err(Error::Internal("the batch was stopped".into()));
    }
    scored.sort_by_key(|(index, _)| *index);
    let parts = scored
        .into_iter()
        .map(|(_, part)| part)
        .collect::<Result<Vec<_>>>()?;
    let mut columns: Vec<(String, ArrayRef)> = Vec::new();
    if join_input {
        for (field, column) in input.schema().fields().iter().zip(input.columns()) {
            columns.push((field.name().clone(), column.clone()));
        }
    }
    for (name, column) in prediction_columns(&parts) {
        let mut name = name;
        while columns.iter().any(|(n, _)| *n == name) {
            name = format!("{name}_pred");
        }
        columns.push((name, column));
    }
    let fields: Vec<ArrowField> = columns
        .iter()
        .map(|(name, column)| ArrowField::new(name, column.data_type().clone(), true))
        .collect();
    let arrays: Vec<ArrayRef> = columns.into_iter().map(|(_, c)| c).collect();
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), arrays)
        .map_err(|e| Error::Internal(format!("cannot assemble transform output: {e}")))
}

/// The prediction columns of the concatenated parts.
fn prediction_columns(parts: &[Predictions]) -> Vec<(String, ArrayRef)> {
    let Some(first) = parts.first() else {
        return Vec::new();
    };
    let floats = |values: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(values)) };
    // Column j of row-major values `width` wide, sized once (a million rows would otherwise
    // grow the vector a dozen times).
    let gather = |width: usize, pick: &dyn Fn(&Predictions) -> &[f64], j: usize| -> ArrayRef {
        let width = width.max(1);
        let rows = parts.iter().map(|p| pick(p).len() / width).sum();
        let mut column = Vec::with_capacity(rows);
        for part in parts {
            column.extend(pick(part).chunks(width).map(|row| row[j]));
        }
        floats(column)
    };
    match first {
        Predictions::Regression { .. } => vec![(
            "prediction".into(),
            gather(
                1,
                &|p| match p {
                    Predictions::Regression { values } => values,
                    _ => &[],
                },
                0,
            ),
        )],
        Predictions::Classification { classes, .. } => {
            let labels: Vec<String> = parts
                .iter()
                .flat_map(|p| {
                    p.predicted_labels()
                        .unwrap_or_default()
                        .into_iter()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect();
            let mut out: Vec<(String, ArrayRef)> = vec![(
                "predicted_label".into(),
                Arc::new(StringArray::from(labels)) as ArrayRef,
            )];
            for (j, class) in classes.iter().enumerate() {
                out.push((
                    format!("probability_{class}"),
                    gather(
                        classes.len(),
                        &|p| match p {
                            Predictions::Classification { probabilities, .. } => probabilities,
                            _ => &[],
                        },
                        j,
                    ),
                ));
            }
            out
        }
        Predictions::Clustering { k, .. } => {
            let clusters: Vec<i64> = parts
                .iter()
                .flat_map(|p| match p {
                    Predictions::Clustering { clusters, .. } => {
                        clusters.iter().map(|c| *c as i64).collect::<Vec<_>>()
                    }
                    _ => Vec::new(),
                })
                .collect();
            let mut out: Vec<(String, ArrayRef)> = vec![(
                "cluster".into(),
                Arc::new(Int64Array::from(clusters)) as ArrayRef,
            )];
            for j in 0..*k {
                out.push((
                    format!("distance_{j}"),
                    gather(
                        *k,
                        &|p| match p {
                            Predictions::Clustering { distances, .. } => distances,
                            _ => &[],
                        },
                        j,
                    ),
                ));
            }
            out
        }
        Predictions::Projection { components, .. } => (0..*components)
            .map(|j| {
                (
                    format!("component_{j}"),
                    gather(
                        *components,
                        &|p| match p {
                            Predictions::Projection { values, .. } => values,
                            _ => &[],
                        },
                        j,
                    ),
                )
            })
            .collect(),
        Predictions::Anomaly { threshold, .. } => {
            let score = gather(
                1,
                &|p| match p {
                    Predictions::Anomaly { scores, .. } => scores,
                    _ => &[],
                },
                0,
            );
            let flags: BooleanArray = parts
                .iter()
                .flat_map(|p| match p {
                    Predictions::Anomaly { scores, .. } => scores
                        .iter()
                        .map(|s| Some(s > threshold))
                        .collect::<Vec<_>>(),
                    _ => Vec::new(),
                })
                .collect();
            vec![
                ("score".into(), score),
                ("is_anomaly".into(), Arc::new(flags) as ArrayRef),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A linear model of y = 0.5·x − 2 and a table of `rows` rows to score with it.
    fn model_and_rows(rows: usize) -> (LoadedModel, RecordBatch) {
        let mut csv = String::from("x,y\n");
        for r in 0..50 {
            let x = r as f64 / 4.0;
            csv.push_str(&format!("{x},{}\n", 0.5 * x - 2.0));
        }
        let table = ingot_data::read_table(csv.as_bytes(), ingot_data::DataFormat::Csv).unwrap();
        let mut request = ingot_catalog::TrainRequest::new("y", "linear-learner");
        request.validation_fraction = 0.0;
        let cancel = AtomicBool::new(false);
        let mut sink = |_: ingot_catalog::TrainEvent| {};
        let mut ctx = ingot_catalog::FitContext {
            cancel: &cancel,
            threads: 1,
            seed: 7,
            events: &mut sink,
        };
        let bytes = ingot_catalog::train(&table, None, &request, &mut ctx)
            .unwrap()
            .bytes;
        let xs: Vec<f64> = (0..rows).map(|r| (r % 97) as f64 - 40.0).collect();
        let batch = RecordBatch::try_new(
            Arc::new(ArrowSchema::new(vec![ArrowField::new(
                "x",
                arrow_schema::DataType::Float64,
                true,
            )])),
            vec![Arc::new(Float64Array::from(xs))],
        )
        .unwrap();
        (LoadedModel::from_bytes(&bytes).unwrap(), batch)
    }

    static GO_ON: AtomicBool = AtomicBool::new(false);

    /// A tally into `done` that never says stop.
    fn tally(done: &AtomicU64) -> Tally<'_> {
        Tally { done, stop: &GO_ON }
    }

    #[test]
    fn a_stopped_batch_scores_nothing_more_and_gives_no_output() {
        let (loaded, input) = model_and_rows(5_000);
        let done = AtomicU64::new(0);
        let stop = AtomicBool::new(true);
        let tally = Tally {
            done: &done,
            stop: &stop,
        };
        let error = transform_batch(&loaded, &input, 2, false, tally).unwrap_err();
        assert!(error.to_string().contains("stopped"), "{error}");
        assert_eq!(done.load(Ordering::Relaxed), 0);
        let parquet = Bytes::from(ingot_data::write_parquet(&input).unwrap());
        let scoring = Scoring {
            workers: 2,
            join_input: false,
            slice_rows: 1_000,
        };
        let format = ingot_data::DataFormat::Parquet;
        assert!(score_dataset(&loaded, (parquet, format, None), &scoring, tally).is_err());
        assert_eq!(done.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn chunks_cover_every_row_once_in_order() {
        assert_eq!(chunks(0, 4), [(0, 0)]);
        for (rows, workers) in [(1, 4), (63, 2), (300, 3), (10_000, 2), (1_000_000, 64)] {
            let chunks = chunks(rows, workers);
            let mut next = 0;
            for &(start, len) in &chunks {
                assert_eq!(start, next, "{rows} rows, {workers} workers");
                assert!((1..=MAX_CHUNK_ROWS).contains(&len));
                next += len;
            }
            assert_eq!(next, rows);
            // Every worker has work once there are enough rows for it.
            if rows >= workers * MIN_CHUNK_ROWS {
                assert!(chunks.len() >= workers, "{rows} rows: {}", chunks.len());
            }
        }
    }

    #[test]
    fn chunked_scoring_equals_one_call_and_counts_every_row() {
        let rows = 5_000;
        let (loaded, input) = model_and_rows(rows);
        let Predictions::Regression { values: whole } = loaded.predict(&input).unwrap() else {
            panic!("a regression model");
        };
        for workers in [1, 3, 8] {
            let done = AtomicU64::new(0);
            let output = transform_batch(&loaded, &input, workers, true, tally(&done)).unwrap();
            assert_eq!(
                done.load(Ordering::Relaxed),
                rows as u64,
                "{workers} workers"
            );
            assert_eq!(output.schema().field(0).name(), "x");
            assert_eq!(output.schema().field(1).name(), "prediction");
            let scored = output
                .column(1)
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap();
            assert_eq!(scored.values(), &whole[..], "{workers} workers");
        }
    }

    #[test]
    fn parquet_datasets_score_slice_by_slice_as_a_whole_table_does() {
        let rows = 1_000;
        let (loaded, input) = model_and_rows(rows);
        let whole = transform_batch(&loaded, &input, 2, true, tally(&AtomicU64::new(0))).unwrap();
        let parquet = Bytes::from(ingot_data::write_parquet(&input).unwrap());
        let scoring = Scoring {
            workers: 2,
            join_input: true,
            slice_rows: 300,
        };
        let done = AtomicU64::new(0);
        let file = (parquet, ingot_data::DataFormat::Parquet, None);
        let (bytes, counted) = score_dataset(&loaded, file, &scoring, tally(&done)).unwrap();
        assert_eq!((counted, done.load(Ordering::Relaxed)), (rows, rows as u64));
        let back =
            ingot_data::read_table_bytes(Bytes::from(bytes), ingot_data::DataFormat::Parquet)
                .unwrap();
        assert_eq!(back.batch.num_rows(), rows);
        for (column, expected) in back.batch.columns().iter().zip(whole.columns()) {
            assert_eq!(column, expected);
        }
        // A Parquet file without rows gives an empty output with the prediction column.
        let empty = Bytes::from(ingot_data::write_parquet(&input.slice(0, 0)).unwrap());
        let file = (empty, ingot_data::DataFormat::Parquet, None);
        let (bytes, counted) =
            score_dataset(&loaded, file, &scoring, tally(&AtomicU64::new(0))).unwrap();
        assert_eq!(counted, 0);
        let back =
            ingot_data::read_table_bytes(Bytes::from(bytes), ingot_data::DataFormat::Parquet)
                .unwrap();
        let names: Vec<&str> = back.schema.names().collect();
        assert_eq!(names, ["x", "prediction"]);
    }

    /// Scores `text` as a dataset file of `format` read in slices of 300 rows against its
    /// inferred schema and read whole; returns the two outputs in that order, checking the
    /// counts on the way.
    fn whole_and_sliced(
        loaded: &LoadedModel,
        text: &str,
        format: ingot_data::DataFormat,
    ) -> (ingot_data::Table, ingot_data::Table) {
        let table = ingot_data::read_table(text.as_bytes(), format).unwrap();
        let scoring = Scoring {
            workers: 2,
            join_input: true,
            slice_rows: 300,
        };
        let whole = (Bytes::from(text.to_string()), format, None);
        let sliced = (Bytes::from(text.to_string()), format, Some(&table.schema));
        let (expected, rows) =
            score_dataset(loaded, whole, &scoring, tally(&AtomicU64::new(0))).unwrap();
        let done = AtomicU64::new(0);
        let (ours, counted) = score_dataset(loaded, sliced, &scoring, tally(&done)).unwrap();
        let total = table.num_rows();
        assert_eq!(
            (counted, rows, done.load(Ordering::Relaxed)),
            (total, total, total as u64)
        );
        let parquet = ingot_data::DataFormat::Parquet;
        (
            ingot_data::read_table_bytes(Bytes::from(ours), parquet).unwrap(),
            ingot_data::read_table_bytes(Bytes::from(expected), parquet).unwrap(),
        )
    }

    #[test]
    fn csv_datasets_score_slice_by_slice_as_a_whole_table_does() {
        let (loaded, _) = model_and_rows(0);
        // As uploaded: a header, extra columns, quotes, missing values; the schema inferred.
        let mut csv = String::from("id,note,x\n");
        for r in 0..1_000 {
            let x = if r % 17 == 0 {
                String::new()
            } else {
                format!("{}", (r % 97) as f64 / 4.0 - 10.0)
            };
            csv.push_str(&format!("{r},\"row, {r}\",{x}\n"));
        }
        let format = ingot_data::DataFormat::Csv;
        let (ours, expected) = whole_and_sliced(&loaded, &csv, format);
        assert_eq!(ours.batch, expected.batch);
        let names: Vec<&str> = ours.schema.names().collect();
        assert_eq!(names, ["id", "note", "x", "prediction"]);
        // A file with a header and no rows still gets the prediction column.
        let schema = ingot_data::read_table(csv.as_bytes(), format)
            .unwrap()
            .schema;
        let empty = (Bytes::from("id,note,x\n"), format, Some(&schema));
        let scoring = Scoring {
            workers: 1,
            join_input: true,
            slice_rows: 300,
        };
        let (bytes, counted) =
            score_dataset(&loaded, empty, &scoring, tally(&AtomicU64::new(0))).unwrap();
        let parquet = ingot_data::DataFormat::Parquet;
        let back = ingot_data::read_table_bytes(Bytes::from(bytes), parquet).unwrap();
        assert_eq!((counted, back.batch.num_rows()), (0, 0));
        assert_eq!(back.schema.names().last(), Some("prediction"));
    }

    #[test]
    fn jsonl_datasets_score_slice_by_slice_as_a_whole_table_does() {
        let (loaded, _) = model_and_rows(0);
        // Integer and float values of x, x absent or null in some rows, a key seen only late.
        let mut jsonl = String::new();
        for r in 0..1_000 {
            let x = match r % 17 {
                0 => String::new(),
                1 => ", \"x\": null".into(),
                2 => format!(", \"x\": {}", r % 5),
                _ => format!(", \"x\": {}", (r % 97) as f64 / 4.0 - 10.25),
            };
            let late = if r > 900 { ", \"late\": \"yes\"" } else { "" };
            jsonl.push_str(&format!("{{\"id\": {r}{x}{late}}}\n"));
        }
        let (ours, expected) = whole_and_sliced(&loaded, &jsonl, ingot_data::DataFormat::JsonLines);
        assert_eq!(ours.batch, expected.batch);
        let names: Vec<&str> = ours.schema.names().collect();
        assert_eq!(names, ["id", "x", "late", "prediction"]);
    }

    #[test]
    fn a_failing_chunk_fails_the_batch_and_stops_the_count() {
        let (loaded, _) = model_and_rows(0);
        let wrong = RecordBatch::try_new(
            Arc::new(ArrowSchema::new(vec![ArrowField::new(
                "z",
                arrow_schema::DataType::Float64,
                true,
            )])),
            vec![Arc::new(Float64Array::from(vec![1.0; 1_000]))],
        )
        .unwrap();
        let done = AtomicU64::new(0);
        let error = transform_batch(&loaded, &wrong, 2, false, tally(&done)).unwrap_err();
        assert!(error.to_string().contains('x'), "{error}");
        assert_eq!(done.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn prediction_columns_concatenate_parts_in_order() {
        let parts = vec![
            Predictions::Classification {
                classes: vec!["no".into(), "yes".into()],
                probabilities: vec![0.9, 0.1, 0.2, 0.8],
            },
            Predictions::Classification {
                classes: vec!["no".into(), "yes".into()],
                probabilities: vec![0.4, 0.6],
            },
        ];
        let columns = prediction_columns(&parts);
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["predicted_label", "probability_no", "probability_yes"]
        );
        let labels = columns[0].1.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            labels.iter().flatten().collect::<Vec<_>>(),
            ["no", "yes", "yes"]
        );
        let yes = columns[2]
            .1
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(yes.values(), &[0.1, 0.8, 0.6]);
    }
}
