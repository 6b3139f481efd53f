//! The served model: Arrow columns in, ONNX input tensors built per request, the engine built
//! once at load run on them, and probabilities or values out as `Predictions`.

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use ingot_algo::{Estimator, Predictions};
use serde_json::Value;

use crate::engine::{self, Engine, TensorData};
use crate::graph::InputSpec;
use crate::proto::elem;
use crate::{Error, Result};

/// An imported ONNX model ready to predict.
pub struct OnnxEstimator {
    pub(crate) inputs: Vec<InputSpec>,
    pub(crate) classes: Option<Vec<String>>,
    pub(crate) engine: Engine,
    pub(crate) facts: Value,
    pub(crate) payload: Vec<u8>,
}

/// One column as numbers; missing values become NaN.
fn numbers(column: &ArrayRef, name: &str) -> Result<Vec<f64>> {
    let any = column.as_any();
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return Ok((0..a.len())
            .map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) })
            .collect());
    }
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Ok((0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    f64::NAN
                } else {
                    a.value(i) as f64
                }
            })
            .collect());
    }
    if let Some(a) = any.downcast_ref::<BooleanArray>() {
        return Ok((0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    f64::NAN
                } else {
                    f64::from(u8::from(a.value(i)))
                }
            })
            .collect());
    }
    Err(Error::Input {
        column: name.to_string(),
        reason: format!(
            "type {} cannot feed a numeric model input",
            column.data_type()
        ),
    })
}

fn texts(column: &ArrayRef, name: &str) -> Result<Vec<String>> {
    let Some(a) = column.as_any().downcast_ref::<StringArray>() else {
        return Err(Error::Input {
            column: name.to_string(),
            reason: format!(
                "type {} cannot feed a string model input",
                column.data_type()
            ),
        });
    };
    (0..a.len())
        .map(|i| {
            if a.is_null(i) {
                Err(Error::Input {
                    column: name.to_string(),
                    reason: format!(
                        "missing value in row {}; the model's string input needs one",
                        i + 1
                    ),
                })
            } else {
                Ok(a.value(i).to_string())
            }
        })
        .collect()
}

fn integral(values: Vec<f64>, name: &str) -> Result<Vec<i64>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if v.is_finite() && v.fract() == 0.0 {
                Ok(v as i64)
            } else {
                Err(Error::Input {
                    column: name.to_string(),
                    reason: format!(
                        "row {} has {v}; the model's integer input needs an integer",
                        i + 1
                    ),
                })
            }
        })
        .collect()
}

/// Interleaves per-column vectors into row-major order.
fn row_major<T: Clone>(columns: Vec<Vec<T>>, rows: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(rows * columns.len());
    for r in 0..rows {
        for column in &columns {
            out.push(column[r].clone());
        }
    }
    out
}

impl OnnxEstimator {
    /// The values of one input, row-major, in its element type.
    fn input_data(
        &self,
        batch: &RecordBatch,
        spec: &InputSpec,
        first: usize,
    ) -> Result<TensorData> {
        let rows = batch.num_rows();
        let schema = batch.schema();
        let name = |j: usize| schema.field(first + j).name().clone();
        if spec.elem == elem::STRING {
            let columns = (0..spec.width)
                .map(|j| texts(batch.column(first + j), &name(j)))
                .collect::<Result<Vec<_>>>()?;
            return Ok(TensorData::Text(row_major(columns, rows)));
        }
        let columns = (0..spec.width)
            .map(|j| numbers(batch.column(first + j), &name(j)))
            .collect::<Result<Vec<_>>>()?;
        Ok(match spec.elem {
            elem::DOUBLE => TensorData::F64(row_major(columns, rows)),
            elem::INT64 | elem::INT32 => {
                let columns = columns
                    .into_iter()
                    .enumerate()
                    .map(|(j, c)| integral(c, &name(j)))
                    .collect::<Result<Vec<_>>>()?;
                let values = row_major(columns, rows);
                if spec.elem == elem::INT64 {
                    TensorData::I64(values)
                } else {
                    TensorData::I32(values.into_iter().map(|v| v as i32).collect())
                }
            }
            elem::BOOL => TensorData::Bool(
                row_major(columns, rows)
                    .into_iter()
                    .map(|v| v != 0.0)
                    .collect(),
            ),
            _ => TensorData::F32(
                row_major(columns, rows)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
            ),
        })
    }

    /// One tensor per input, in input order.
    fn tensors(&self, batch: &RecordBatch) -> Result<Vec<tract_onnx::prelude::Tensor>> {
        let mut tensors = Vec::with_capacity(self.inputs.len());
        let mut first = 0;
        for spec in &self.inputs {
            let data = self.input_data(batch, spec, first)?;
            tensors.push(engine::tensor_for(spec, batch.num_rows(), data)?);
            first += spec.width;
        }
        Ok(tensors)
    }

    fn scores(&self, batch: &RecordBatch) -> Result<(Vec<f32>, usize)> {
        let rows = batch.num_rows();
        match &self.engine {
            Engine::Trees {
                ensemble,
                round_f32,
                prefix,
            } => {
                let (mut x, stride) = match prefix {
                    Some(plan) => {
                        let (values, width) = Engine::run_tract(plan, self.tensors(batch)?)?;
                        (values.into_iter().map(f64::from).collect(), width)
                    }
                    None => {
                        let spec = &self.inputs[0];
                        let x = match self.input_data(batch, spec, 0)? {
                            TensorData::F32(v) => v.into_iter().map(f64::from).collect(),
                            TensorData::F64(v) => v,
                            TensorData::I64(v) => v.into_iter().map(|v| v as f64).collect(),
                            TensorData::I32(v) => v.into_iter().map(f64::from).collect(),
                            TensorData::Bool(v) => {
                                v.into_iter().map(|b| f64::from(u8::from(b))).collect()
                            }
                            TensorData::Text(_) => Vec::new(),
                        };
                        (x, spec.width)
                    }
                };
                if *round_f32 {
                    x.iter_mut().for_each(|v| *v = f64::from(*v as f32));
                }
                if stride < ensemble.features() || x.len() != rows * stride {
                    return Err(Error::tract(
                        "run",
                        format!("{} tree inputs for {rows} rows of width {stride}", x.len()),
                    ));
                }
                let k = ensemble.outputs();
                let mut out = vec![0f32; rows * k];
                ensemble.predict(&x, stride.max(1), &mut out);
                Ok((out, k))
            }
            Engine::Tract(plan) => Engine::run_tract(plan, self.tensors(batch)?),
        }
    }
}

impl Estimator for OnnxEstimator {
    fn predict(&self, features: &RecordBatch) -> ingot_algo::Result<Predictions> {
        let rows = features.num_rows();
        let expected: usize = self.inputs.iter().map(|s| s.width).sum();
        if features.num_columns() != expected {
            return Err(Error::Input {
                column: String::new(),
                reason: format!(
                    "{} columns given, the model takes {expected}",
                    features.num_columns()
                ),
            }
            .into());
        }
        let classes = self.classes.as_deref();
        if rows == 0 {
            return Ok(Predictions::supervised(classes, Vec::new()));
        }
        let (values, width) = self.scores(features)?;
        let want = classes.map_or(1, <[String]>::len);
        if width != want || values.len() != rows * want {
            return Err(Error::tract(
                "run",
                format!("the model produced {} values of width {width} for {rows} rows; expected width {want}", values.len()),
            )
            .into());
        }
        Ok(Predictions::supervised(
            classes,
            values.into_iter().map(f64::from).collect(),
        ))
    }

    fn preprocessing(&self) -> Value {
        Value::Null
    }

    fn resolved_parameters(&self) -> Value {
        self.facts.clone()
    }

    fn payload(&self) -> Vec<u8> {
        self.payload.clone()
    }
}
