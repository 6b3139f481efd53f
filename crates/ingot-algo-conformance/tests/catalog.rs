//! Runs the conformance suite on every algorithm registered in the catalogue.

#[test]
fn every_registered_algorithm_conforms() {
    let algorithms = ingot_catalog::algorithms();
    assert!(
        algorithms.iter().any(|a| a.name() == "linear-learner"),
        "the linear learner is registered"
    );
    let mut failures = Vec::new();
    for algorithm in algorithms {
        let tasks = ingot_algo_conformance::tasks(algorithm);
        eprintln!("checking {} on {tasks:?}", algorithm.name());
        failures.extend(ingot_algo_conformance::check_algorithm(algorithm));
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_linear_learner_covers_every_supervised_task() {
    let linear = ingot_catalog::algorithm("linear-learner").unwrap();
    let tasks = ingot_algo_conformance::tasks(linear);
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    let failures = ingot_algo_conformance::check_algorithm(linear);
    assert!(failures.is_empty(), "{failures:#?}");
}
