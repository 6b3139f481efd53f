//! The single error type of the ONNX runtime, and its mapping onto the algorithm error.

/// Everything that can go wrong while importing, loading or running an ONNX model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not an ONNX model (protobuf decoding failed or there is no graph).
    #[error("the file is not an ONNX model: {reason}")]
    NotOnnx { reason: String },
    /// An operator neither tract nor Ingot's native evaluation can run.
    #[error("operator {op} (domain {domain:?}, node {node:?}) is not supported{hint}")]
    UnsupportedOperator {
        op: String,
        domain: String,
        node: String,
        hint: String,
    },
    /// A combination of operators Ingot does not run (e.g. a tree ensemble inside a graph).
    #[error("unsupported model structure: {reason}")]
    UnsupportedStructure { reason: String },
    /// A graph input Ingot cannot feed.
    #[error("input {name:?}: {reason}")]
    UnsupportedInput { name: String, reason: String },
    /// No graph output Ingot can serve as predictions.
    #[error("outputs: {reason}")]
    UnsupportedOutput { reason: String },
    /// An operator attribute that is missing or malformed.
    #[error("operator {op} (node {node:?}): attribute {attribute}: {reason}")]
    InvalidAttribute {
        op: String,
        node: String,
        attribute: String,
        reason: String,
    },
    /// The schema given on import does not match the model's inputs.
    #[error("the model takes {model} input columns but the given schema has {schema}")]
    SchemaMismatch { model: usize, schema: usize },
    /// A schema column whose type cannot feed its ONNX input.
    #[error("schema column {column:?} is {column_type} but the model input needs {needs}")]
    SchemaType {
        column: String,
        column_type: String,
        needs: String,
    },
    /// The classes given on import do not match the model's probability columns.
    #[error("the model outputs {model} class probabilities but {given} classes were given")]
    ClassMismatch { model: usize, given: usize },
    /// tract refused the (lowered) graph.
    #[error("tract cannot {stage} the model: {reason}")]
    Tract { stage: &'static str, reason: String },
    /// A request value the model cannot take.
    #[error("column {column:?}: {reason}")]
    Input { column: String, reason: String },
}

impl Error {
    pub(crate) fn tract(stage: &'static str, e: impl std::fmt::Display) -> Error {
        Error::Tract {
            stage,
            reason: format!("{e:#}"),
        }
    }

    pub(crate) fn attribute(
        node: &tract_onnx::pb::NodeProto,
        attribute: &str,
        reason: impl Into<String>,
    ) -> Error {
        Error::InvalidAttribute {
            op: node.op_type.clone(),
            node: node.name.clone(),
            attribute: attribute.to_string(),
            reason: reason.into(),
        }
    }
}

impl From<Error> for ingot_algo::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Input { .. } => ingot_algo::Error::InvalidOption {
                name: "input",
                reason: e.to_string(),
            },
            Error::Tract { stage: "run", .. } => ingot_algo::Error::InvalidPayload {
                algorithm: "onnx",
                reason: e.to_string(),
            },
            other => ingot_algo::Error::InvalidImport {
                format: "onnx",
                reason: other.to_string(),
            },
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
