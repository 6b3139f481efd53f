//! Tests of `text-classifier` through the trait.

use ingot_algo::Target;

use super::*;
use crate::testing::{fit_with, reload, strings};

const SPORT: [&str; 6] = ["match", "goal", "team", "coach", "league", "score"];
const FOOD: [&str; 6] = ["recipe", "bake", "flavour", "kitchen", "spice", "dinner"];
const FILLER: [&str; 5] = ["the", "today", "really", "new", "about"];

/// Documents mixing filler words with topic words; the label is the topic.
fn corpus(n: usize, salt: usize) -> (Vec<String>, Vec<usize>) {
    let mut docs = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let topic = (i + salt) % 2;
        let words = if topic == 0 { &SPORT } else { &FOOD };
        let doc = format!(
            "{} {} {} {}",
            FILLER[(i * 3 + salt) % 5],
            words[(i * 7 + salt) % 6],
            FILLER[(i + 2 * salt) % 5],
            words[(i * 5 + 1 + salt) % 6].to_uppercase()
        );
        docs.push(doc);
        labels.push(topic);
    }
    (docs, labels)
}

fn batch(docs: &[String]) -> RecordBatch {
    strings(&[("text", docs.iter().map(|d| Some(d.as_str())).collect())])
}

#[test]
fn separates_topics_and_generalizes_through_subwords() {
    let (docs, labels) = corpus(300, 0);
    let target = Target::Classification {
        classes: vec!["sport".into(), "food".into()],
        labels,
    };
    let model = fit_with(&TextClassifier, &batch(&docs), target, &["epochs=20"], 1).unwrap();
    let (test, truth) = corpus(100, 1);
    let predicted = model.predict(&batch(&test)).unwrap();
    let labels = predicted.predicted_labels().unwrap();
    let correct = labels
        .iter()
        .zip(&truth)
        .filter(|(l, t)| **l == ["sport", "food"][**t])
        .count();
    assert!(correct >= 95, "{correct}/100");
    // "goals" and "baking" were never seen whole; their character n-grams were.
    let unseen = vec!["goals".to_string(), "baking".to_string(), "".to_string()];
    let p = model.predict(&batch(&unseen)).unwrap();
    assert_eq!(p.predicted_labels().unwrap()[..2], ["sport", "food"]);
    let reloaded = reload(&TextClassifier, model.as_ref());
    assert_eq!(reloaded.predict(&batch(&unseen)).unwrap(), p);
}

#[test]
fn deterministic_and_validates() {
    let (docs, labels) = corpus(50, 0);
    let target = Target::Classification {
        classes: vec!["a".into(), "b".into()],
        labels,
    };
    let x = batch(&docs);
    let a = fit_with(&TextClassifier, &x, target.clone(), &["epochs=2"], 3).unwrap();
    let b = fit_with(&TextClassifier, &x, target.clone(), &["epochs=2"], 3).unwrap();
    assert_eq!(a.payload(), b.payload());
    let err = fit_with(
        &TextClassifier,
        &x,
        Target::Regression(vec![0.0; 50]),
        &[],
        0,
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("classification"), "{err}");
    for (p, name) in [
        ("minn=6", "minn"),
        ("dim=0", "dim"),
        ("text_column=body", "body"),
    ] {
        let err = fit_with(&TextClassifier, &x, target.clone(), &[p], 0)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(name), "{p}: {err}");
    }
}
