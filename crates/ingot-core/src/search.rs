//! The search vocabulary shared by tracking and the registry: a filter is a conjunction of
//! clauses over metrics, params, tags and attributes, plus an ordering. Pure data; parsers (e.g.
//! MLflow's filter grammar) build it and the store compiles it to bound SQL.

/// What a clause or ordering key refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A run's latest metric value.
    Metric,
    /// A run's parameter.
    Param,
    /// A tag of the searched record.
    Tag,
    /// A column of the searched record itself (name, status, times, ids).
    Attribute,
    /// A dataset input of a run (`name`, `digest` or `context`).
    Dataset,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// Case-sensitive SQL LIKE with `%` and `_` wildcards.
    Like,
    /// Case-insensitive LIKE.
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Op {
    /// Whether this operator compares order (`<`, `<=`, `>`, `>=`).
    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// The right-hand side of a clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    List(Vec<String>),
    /// For `IS NULL` / `IS NOT NULL`.
    None,
}

/// One `entity.key OP value` comparison. Attribute keys are canonical snake-case names chosen
/// by the parser (e.g. `run_name`, `start_time`, `name`).
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub entity: Entity,
    pub key: String,
    pub op: Op,
    pub value: Value,
}

/// One ordering key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    pub entity: Entity,
    pub key: String,
    pub ascending: bool,
}

/// A parsed search: clauses joined by AND, and the ordering (empty for the default).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    pub clauses: Vec<Clause>,
    pub order: Vec<OrderKey>,
}
