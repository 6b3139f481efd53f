//! Tests of the MLflow filter grammar, including strings that try to smuggle SQL.

use super::*;

fn one(text: &str) -> Clause {
    let mut clauses = parse_filter(Context::Runs, text).unwrap();
    assert_eq!(clauses.len(), 1, "{text}");
    clauses.remove(0)
}

#[test]
fn parses_each_entity_and_operator() {
    let c = one("metrics.acc >= 0.9");
    assert_eq!(
        (c.entity, c.key.as_str(), c.op),
        (Entity::Metric, "acc", Op::Ge)
    );
    assert_eq!(c.value, Value::Num(0.9));
    let c = one("params.lr = '0.1'");
    assert_eq!(
        (c.entity, c.op, c.value),
        (Entity::Param, Op::Eq, Value::Str("0.1".into()))
    );
    let c = one("tags.`my tag` ILIKE '%X%'");
    assert_eq!(
        (c.entity, c.key.as_str(), c.op),
        (Entity::Tag, "my tag", Op::ILike)
    );
    let c = one("tags.\"a b\" != \"v\"");
    assert_eq!(
        (c.key.as_str(), c.op, c.value),
        ("a b", Op::Ne, Value::Str("v".into()))
    );
    let c = one("attributes.run_id IN ('FINISHED', 'FAILED')");
    assert_eq!(
        c.value,
        Value::List(vec!["FINISHED".into(), "FAILED".into()])
    );
    let c = one("run_id NOT IN ('a')");
    assert_eq!((c.entity, c.op), (Entity::Attribute, Op::NotIn));
    let c = one("tags.x IS NOT NULL");
    assert_eq!((c.op, c.value), (Op::IsNotNull, Value::None));
    let c = one("attribute.created > 5");
    assert_eq!(c.key, "start_time");
    let c = one("metrics.val.loss < 1");
    assert_eq!(c.key, "val.loss");
    let c = one("dataset.name = 'iris'");
    assert_eq!(c.entity, Entity::Dataset);
}

#[test]
fn joins_with_and_only() {
    let clauses = parse_filter(
        Context::Runs,
        "metrics.a > 1 and params.b = 'x' AND tags.c LIKE 'y%'",
    )
    .unwrap();
    assert_eq!(clauses.len(), 3);
    let err = parse_filter(Context::Runs, "metrics.a > 1 OR metrics.b > 1").unwrap_err();
    assert!(err.to_string().contains("OR is not supported"), "{err}");
    assert!(parse_filter(Context::Runs, "   ").unwrap().is_empty());
}

#[test]
fn rejects_malformed_filters() {
    for bad in [
        "metrics.a >",
        "metrics.a > 'x'",
        "params.a = ",
        "params.a == 'x'",
        "params.a = 'unterminated",
        "params.a IN 'x'",
        "params.a IN ('x' 'y')",
        "params.a = 'x' params.b = 'y'",
        "= 'x'",
        "params.a = x",
        "metrics.a > inf",
    ] {
        assert!(
            parse_filter(Context::Runs, bad).is_err(),
            "{bad} should fail"
        );
    }
}

#[test]
fn injection_attempts_are_data_or_errors() {
    // A quote-breaking value stays one string value.
    let c = one("params.a = 'x'' OR 1=1 --'");
    assert_eq!(c.value, Value::Str("x' OR 1=1 --".into()));
    // Semicolons and SQL keywords outside quotes do not parse.
    assert!(parse_filter(Context::Runs, "params.a = 'x'; DROP TABLE runs").is_err());
    assert!(parse_filter(Context::Runs, "params.a = 'x' UNION SELECT 1").is_err());
    // A hostile key is just a key (the store binds it).
    let c = one("tags.`k'); DROP TABLE runs; --` = 'v'");
    assert_eq!(c.key, "k'); DROP TABLE runs; --");
    // A hostile attribute name survives as data and is rejected by the store's whitelist.
    let c = one("`name; DROP TABLE runs` = 'v'");
    assert_eq!(c.entity, Entity::Attribute);
    assert_eq!(c.key, "name; DROP TABLE runs");
}

#[test]
fn parses_order_by() {
    let k = parse_order_by(Context::Runs, "metrics.acc DESC").unwrap();
    assert_eq!(
        (k.entity, k.key.as_str(), k.ascending),
        (Entity::Metric, "acc", false)
    );
    let k = parse_order_by(Context::Runs, "start_time").unwrap();
    assert!(k.ascending);
    let k = parse_order_by(Context::RegisteredModels, "timestamp desc").unwrap();
    assert_eq!(k.key, "last_updated_timestamp");
    assert!(parse_order_by(Context::Runs, "metrics.acc SIDEWAYS").is_err());
    assert!(parse_order_by(Context::Runs, "a DESC extra").is_err());
    let dup = parse_search(
        Context::Runs,
        None,
        &["metrics.a".to_string(), "metrics.a DESC".to_string()],
    );
    assert!(dup.is_err());
}

#[test]
fn lists_are_refused_where_mlflow_refuses_them() {
    let message = |context, text: &str| match parse_filter(context, text) {
        Err(Error::Unsupported(message)) => message,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(
        message(Context::Runs, "params.x IN ('1','2')"),
        "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('1','2')"
    );
    assert_eq!(
        message(
            Context::Runs,
            "params.x NOT IN ('1', '2') AND params.y = '3'"
        ),
        "Expected a quoted string value for parameter (e.g. 'my-value'). Got value ('1', '2')"
    );
    assert_eq!(
        message(Context::ModelVersions, "tags.t IN ('a')"),
        "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')"
    );
    assert_eq!(
        message(Context::Runs, "attributes.status IN ('FINISHED')"),
        "Only ['run_id'] attributes support comparison with a list of quoted string values."
    );
    for allowed in ["run_id IN ('a')", "datasets.name IN ('a', 'b')"] {
        assert!(parse_filter(Context::Runs, allowed).is_ok(), "{allowed}");
    }
    assert!(parse_filter(Context::ModelVersions, "name IN ('a')").is_ok());
    assert!(parse_filter(Context::LoggedModels, "params.lr IN ('0.1')").is_ok());
}
