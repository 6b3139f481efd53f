//! Reading the target column and resolving the task and class labels from it.

use std::collections::HashMap;

use arrow_array::Array;
use ingot_core::{ColumnType, Task};

use ingot_algo::preprocess::{numeric_values, string_values};
use ingot_algo::{Error, Result, Target};

/// `predictor_type`: how the task is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictorType {
    /// Infer from the target's type and number of distinct values.
    Auto,
    /// Regression.
    Regressor,
    /// Exactly two classes.
    BinaryClassifier,
    /// Two or more classes, multiclass metrics.
    MulticlassClassifier,
}

impl PredictorType {
    pub fn parse(text: &str) -> Result<PredictorType> {
        Ok(match text {
            "auto" => PredictorType::Auto,
            "regressor" => PredictorType::Regressor,
            "binary_classifier" => PredictorType::BinaryClassifier,
            "multiclass_classifier" => PredictorType::MulticlassClassifier,
            other => {
                return Err(Error::InvalidHyperparameter {
                    name: "predictor_type".to_string(),
                    reason: format!(
                        "expected auto, regressor, binary_classifier or multiclass_classifier, \
                         got {other:?}"
                    ),
                })
            }
        })
    }
}

/// One non-missing target value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Number(f64),
    Text(&'a str),
}

/// The target column's values (`None` = missing) and logical type.
pub struct TargetColumn<'a> {
    pub name: String,
    pub column_type: ColumnType,
    pub values: Vec<Option<Value<'a>>>,
}

impl<'a> TargetColumn<'a> {
    pub fn read(name: &str, column_type: ColumnType, array: &'a dyn Array) -> Result<Self> {
        let values = match column_type {
            ColumnType::String => string_values(name, array)?
                .into_iter()
                .map(|v| v.map(Value::Text))
                .collect(),
            ColumnType::Timestamp => {
                return Err(Error::InvalidTarget {
                    column: name.to_string(),
                    reason: "timestamp targets are not supported".to_string(),
                })
            }
            _ => numeric_values(name, array)?
                .into_iter()
                .map(|v| v.map(Value::Number))
                .collect(),
        };
        Ok(TargetColumn {
            name: name.to_string(),
            column_type,
            values,
        })
    }

    /// Indices of rows with a value, or an error naming the first missing (1-based) row.
    pub fn present_rows(&self, drop_missing: bool) -> Result<Vec<usize>> {
        let mut rows = Vec::with_capacity(self.values.len());
        for (i, v) in self.values.iter().enumerate() {
            match v {
                Some(_) => rows.push(i),
                None if drop_missing => {}
                None => {
                    return Err(Error::MissingTarget {
                        column: self.name.clone(),
                        row: i + 1,
                    })
                }
            }
        }
        Ok(rows)
    }

    fn label(&self, value: &Value) -> String {
        match value {
            Value::Text(s) => s.to_string(),
            Value::Number(v) => match self.column_type {
                ColumnType::Boolean => (*v != 0.0).to_string(),
                _ => v.to_string(),
            },
        }
    }

    /// Distinct labels among `rows`, sorted (numerically for numbers, false < true).
    fn classes(&self, rows: &[usize]) -> Vec<String> {
        let mut numbers: Vec<f64> = Vec::new();
        let mut texts: Vec<&str> = Vec::new();
        for v in rows.iter().filter_map(|&i| self.values[i].as_ref()) {
            match v {
                Value::Number(x) => numbers.push(*x),
                Value::Text(s) => texts.push(s),
            }
        }
        numbers.sort_by(f64::total_cmp);
        numbers.dedup();
        texts.sort_unstable();
        texts.dedup();
        let mut labels: Vec<String> = numbers
            .iter()
            .map(|x| self.label(&Value::Number(*x)))
            .collect();
        labels.extend(texts.iter().map(|s| s.to_string()));
        labels
    }

    /// Chooses the task and builds the target over `rows`.
    pub fn resolve(&self, predictor: PredictorType, rows: &[usize]) -> Result<(Task, Target)> {
        let invalid = |reason: String| Error::InvalidTarget {
            column: self.name.clone(),
            reason,
        };
        let classes = self.classes(rows);
        let task = match predictor {
            PredictorType::Regressor => {
                if self.column_type == ColumnType::String {
                    return Err(invalid("a regressor needs a numeric target".to_string()));
                }
                Task::Regression
            }
            PredictorType::BinaryClassifier => {
                if classes.len() != 2 {
                    return Err(invalid(format!(
                        "binary_classifier needs exactly 2 distinct values, found {}",
                        classes.len()
                    )));
                }
                Task::BinaryClassification
            }
            PredictorType::MulticlassClassifier => Task::MulticlassClassification,
            PredictorType::Auto => match self.column_type {
                ColumnType::String | ColumnType::Boolean if classes.len() == 2 => {
                    Task::BinaryClassification
                }
                ColumnType::String | ColumnType::Boolean => Task::MulticlassClassification,
                ColumnType::Integer if classes.len() == 2 => Task::BinaryClassification,
                _ => Task::Regression,
            },
        };
        if task.is_classification() && classes.len() < 2 {
            return Err(invalid(format!(
                "classification needs at least 2 distinct values, found {}",
                classes.len()
            )));
        }
        let target = if task.is_classification() {
            let labels = self.labels_for(rows, &classes)?;
            Target::Classification { classes, labels }
        } else {
            Target::Regression(self.numbers(rows))
        };
        Ok((task, target))
    }

    /// Real values of `rows` (regression).
    pub fn numbers(&self, rows: &[usize]) -> Vec<f64> {
        rows.iter()
            .map(|&i| match self.values[i] {
                Some(Value::Number(v)) => v,
                _ => f64::NAN,
            })
            .collect()
    }

    /// Class indices of `rows`; a value outside `classes` is an error naming it.
    pub fn labels_for(&self, rows: &[usize], classes: &[String]) -> Result<Vec<usize>> {
        let index: HashMap<&str, usize> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        rows.iter()
            .map(|&i| {
                let label = self.values[i]
                    .as_ref()
                    .map(|v| self.label(v))
                    .unwrap_or_default();
                index
                    .get(label.as_str())
                    .copied()
                    .ok_or(Error::UnknownClass {
                        column: self.name.clone(),
                        value: label,
                        row: i + 1,
                    })
            })
            .collect()
    }
}
