//! Tests of the filter → SQL compiler: every user value is a bound parameter, and the SQL text
//! only ever contains the static column names of the target.

use ingot_core::search::{Clause, Entity, Op, OrderKey, Search, Value};

use super::*;
use crate::sqlite::runs::TARGET;
use crate::tests::clause;

fn compile(clauses: Vec<Clause>) -> Result<Fragment> {
    compile_where(
        &TARGET,
        &Search {
            clauses,
            order: Vec::new(),
        },
    )
}

#[test]
fn one_exists_per_clause_with_bound_values() {
    let fragment = compile(vec![
        clause(Entity::Metric, "acc", Op::Gt, Value::Num(0.9)),
        clause(Entity::Param, "lr", Op::Eq, Value::Str("0.1".into())),
        clause(Entity::Tag, "team", Op::Like, Value::Str("ml%".into())),
    ])
    .unwrap();
    assert_eq!(fragment.sql.matches("EXISTS (").count(), 3);
    assert_eq!(
        fragment.binds,
        vec![
            // The equality clause is tested first, the others keep their order.
            Bind::Text("lr".into()),
            Bind::Text("0.1".into()),
            Bind::Text("acc".into()),
            Bind::Real(0.9),
            Bind::Text("team".into()),
            Bind::Text("ml*".into()),
        ]
    );
    assert!(fragment.sql.contains("run_latest_metrics"));
}

#[test]
fn injection_attempts_stay_in_binds() {
    let evil = "x' OR 1=1; DROP TABLE runs; --";
    let fragment = compile(vec![
        clause(Entity::Param, evil, Op::Eq, Value::Str(evil.into())),
        clause(
            Entity::Attribute,
            "run_name",
            Op::In,
            Value::List(vec![evil.into()]),
        ),
        clause(Entity::Tag, evil, Op::ILike, Value::Str(evil.into())),
    ])
    .unwrap();
    assert!(!fragment.sql.contains("DROP"), "{}", fragment.sql);
    assert!(!fragment.sql.contains('\''), "{}", fragment.sql);
    assert!(fragment.binds.contains(&Bind::Text(evil.into())));
}

#[test]
fn unknown_attributes_and_bad_values_are_rejected() {
    let unknown = compile(vec![clause(
        Entity::Attribute,
        "name; DROP TABLE runs",
        Op::Eq,
        Value::Str("a".into()),
    )]);
    assert!(matches!(unknown, Err(Error::Invalid { .. })));
    let metric_string = compile(vec![clause(
        Entity::Metric,
        "m",
        Op::Eq,
        Value::Str("a".into()),
    )]);
    assert!(matches!(metric_string, Err(Error::Invalid { .. })));
    let like_on_time = compile(vec![clause(
        Entity::Attribute,
        "start_time",
        Op::Like,
        Value::Str("1%".into()),
    )]);
    assert!(matches!(like_on_time, Err(Error::Invalid { .. })));
    let empty_in = compile(vec![clause(
        Entity::Attribute,
        "run_id",
        Op::In,
        Value::List(Vec::new()),
    )]);
    assert!(matches!(empty_in, Err(Error::Invalid { .. })));
}

#[test]
fn like_becomes_an_escaped_glob() {
    assert_eq!(like_to_glob("a%b_c*[?]"), "a*b?c[*][[][?][]]");
}

#[test]
fn ordering_puts_nulls_last_and_adds_tie_breakers() {
    let order = compile_order(
        &TARGET,
        &[OrderKey {
            entity: Entity::Metric,
            key: "acc".into(),
            ascending: false,
        }],
        &[("r.start_time", false), ("r.run_uuid", true)],
    )
    .unwrap()
    .by();
    assert!(order.sql.contains("IS NULL"));
    assert!(
        order.sql.ends_with("r.start_time DESC, r.run_uuid ASC"),
        "{}",
        order.sql
    );
    assert_eq!(
        order.binds,
        vec![Bind::Text("acc".into()), Bind::Text("acc".into())]
    );
}

#[test]
fn registry_tag_inequality_matches_records_without_the_tag() {
    let search = Search {
        clauses: vec![clause(
            Entity::Tag,
            "mlflow.prompt.is_prompt",
            Op::Ne,
            Value::Str("true".into()),
        )],
        order: Vec::new(),
    };
    let registry = compile_where(&crate::sqlite::registry::MODEL_TARGET, &search).unwrap();
    assert!(registry.sql.contains("NOT EXISTS"), "{}", registry.sql);
    let runs = compile_where(&TARGET, &search).unwrap();
    assert!(!runs.sql.contains("NOT EXISTS"), "{}", runs.sql);
}
