//! Tests of keyset pagination: paging through every ordering returns each row exactly once, in
//! the order of one big page and of a sort written out independently here, and rows inserted
//! between pages never make an already-seen row come back.

use std::cmp::Ordering;
use std::collections::HashSet;

use ingot_core::search::{Clause, Entity, Op, OrderKey, Search, Value};

use super::memory_store;
use crate::tracking::{
    MetricPoint, NewRun, Page, Run, RunUpdate, SearchRequest, TrackingStore, ViewType,
};
use crate::{Error, SqliteStore};

/// What the test logged for one run, to sort it independently of the store.
#[derive(Debug, Clone)]
struct Logged {
    id: String,
    start_time: i64,
    end_time: Option<i64>,
    /// `None`: missing; `Some(NaN)`: logged as NaN.
    m: Option<f64>,
    p: Option<String>,
}

fn key(entity: Entity, key: &str, ascending: bool) -> OrderKey {
    OrderKey {
        entity,
        key: key.to_string(),
        ascending,
    }
}

fn request(order: Vec<OrderKey>, max_results: i64, token: Option<String>) -> SearchRequest {
    SearchRequest {
        search: Search {
            clauses: Vec::new(),
            order,
        },
        view: ViewType::ActiveOnly,
        max_results,
        page_token: token,
    }
}

/// 29 runs with tied start times, duplicate, NaN and missing metric values, missing params and
/// some NULL end times.
async fn populate(store: &SqliteStore, experiment: i64) -> Vec<Logged> {
    let mut logged = Vec::new();
    for i in 0..29i64 {
        let run = store
            .create_run(NewRun {
                run_id: None,
                experiment_id: experiment,
                user_id: "ada".to_string(),
                run_name: Some(format!("run-{:02}", (i * 7) % 29)),
                start_time: 1000 + i / 3,
                tags: Vec::new(),
            })
            .await
            .unwrap();
        let id = run.info.run_id.clone();
        let m = match i % 6 {
            0 => None,
            1 => Some(f64::NAN),
            2 => Some(0.5),
            _ => Some((i % 5) as f64 / 4.0 - 0.25),
        };
        let p = (i % 4 != 0).then(|| format!("v{}", i % 3));
        let metrics: Vec<MetricPoint> = m
            .map(|value| MetricPoint {
                key: "m".to_string(),
                value,
                timestamp: 1,
                step: 0,
            })
            .into_iter()
            .collect();
        let params: Vec<(String, String)> =
            p.iter().map(|v| ("p".to_string(), v.clone())).collect();
        store.log_batch(&id, &metrics, &params, &[]).await.unwrap();
        let end_time = (i % 5 != 0).then_some(5000 - i % 4);
        if let Some(end) = end_time {
            let update = RunUpdate {
                end_time: Some(end),
                ..RunUpdate::default()
            };
            store.update_run(&id, update).await.unwrap();
        }
        logged.push(Logged {
            id,
            start_time: 1000 + i / 3,
            end_time,
            m,
            p,
        });
    }
    logged
}

async fn all_pages(
    store: &SqliteStore,
    experiment: i64,
    order: &[OrderKey],
    size: i64,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = None;
    for _ in 0..200 {
        let page: Page<Run> = store
            .search_runs(&[experiment], &request(order.to_vec(), size, token))
            .await
            .unwrap();
        assert!(page.items.len() as i64 <= size);
        ids.extend(page.items.into_iter().map(|r| r.info.run_id));
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => return ids,
        }
    }
    panic!("paging did not end");
}

/// Missing values last in both directions, then the given direction.
fn nulls_last<T: PartialOrd>(a: Option<T>, b: Option<T>, ascending: bool) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => {
            let o = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if ascending {
                o
            } else {
                o.reverse()
            }
        }
    }
}

/// Newest first, then run id.
fn tie_break(a: &Logged, b: &Logged) -> Ordering {
    b.start_time
        .cmp(&a.start_time)
        .then_with(|| a.id.cmp(&b.id))
}

/// Finite values in the given direction, then NaN, then missing.
fn metric_cmp(a: &Logged, b: &Logged, ascending: bool) -> Ordering {
    let class = |l: &Logged| match l.m {
        Some(v) if !v.is_nan() => 0,
        Some(_) => 1,
        None => 2,
    };
    class(a).cmp(&class(b)).then_with(|| {
        let finite = |l: &Logged| l.m.filter(|v| !v.is_nan());
        nulls_last(finite(a), finite(b), ascending)
    })
}

#[tokio::test]
async fn paging_returns_every_run_once_in_order() {
    let store = memory_store().await;
    let experiment = store
        .create_experiment("paging", "", &[])
        .await
        .unwrap()
        .experiment_id;
    let logged = populate(&store, experiment).await;
    type Cmp = fn(&Logged, &Logged) -> Ordering;
    let variants: Vec<(Vec<OrderKey>, Option<Cmp>)> = vec![
        (Vec::new(), Some(|_, _| Ordering::Equal)),
        (
            vec![key(Entity::Metric, "m", false)],
            Some(|a, b| metric_cmp(a, b, false)),
        ),
        (
            vec![key(Entity::Metric, "m", true)],
            Some(|a, b| metric_cmp(a, b, true)),
        ),
        (
            vec![key(Entity::Param, "p", true)],
            Some(|a, b| nulls_last(a.p.as_ref(), b.p.as_ref(), true)),
        ),
        (
            vec![key(Entity::Param, "p", false)],
            Some(|a, b| nulls_last(a.p.as_ref(), b.p.as_ref(), false)),
        ),
        (
            vec![key(Entity::Attribute, "end_time", true)],
            Some(|a, b| nulls_last(a.end_time, b.end_time, true)),
        ),
        (
            vec![key(Entity::Attribute, "end_time", false)],
            Some(|a, b| nulls_last(a.end_time, b.end_time, false)),
        ),
        (
            vec![key(Entity::Attribute, "start_time", true)],
            Some(|a, b| a.start_time.cmp(&b.start_time)),
        ),
        (
            vec![
                key(Entity::Param, "p", false),
                key(Entity::Metric, "m", true),
            ],
            // A metric after the first key is missing when NaN, like MLflow's SQL ordering.
            Some(|a, b| {
                nulls_last(a.p.as_ref(), b.p.as_ref(), false).then_with(|| {
                    let finite = |l: &Logged| l.m.filter(|v| !v.is_nan());
                    nulls_last(finite(a), finite(b), true)
                })
            }),
        ),
        (
            vec![
                key(Entity::Metric, "m", false),
                key(Entity::Param, "p", true),
            ],
            Some(|a, b| {
                metric_cmp(a, b, false).then_with(|| nulls_last(a.p.as_ref(), b.p.as_ref(), true))
            }),
        ),
        (vec![key(Entity::Attribute, "run_name", false)], None),
        (vec![key(Entity::Attribute, "status", true)], None),
    ];
    for (order, cmp) in variants {
        let one_page = all_pages(&store, experiment, &order, 1000).await;
        assert_eq!(one_page.len(), logged.len(), "{order:?}");
        if let Some(cmp) = cmp {
            let mut expected = logged.clone();
            expected.sort_by(|a, b| cmp(a, b).then_with(|| tie_break(a, b)));
            let expected: Vec<String> = expected.into_iter().map(|l| l.id).collect();
            assert_eq!(one_page, expected, "{order:?}");
        }
        for size in [1, 2, 3, 5, 7, 28, 29] {
            let paged = all_pages(&store, experiment, &order, size).await;
            assert_eq!(paged, one_page, "{order:?} in pages of {size}");
        }
    }
}

#[tokio::test]
async fn rows_inserted_between_pages_do_not_repeat_seen_ones() {
    let store = memory_store().await;
    let experiment = store
        .create_experiment("inserts", "", &[])
        .await
        .unwrap()
        .experiment_id;
    let logged = populate(&store, experiment).await;
    for order in [Vec::new(), vec![key(Entity::Metric, "m", false)]] {
        let mut seen: Vec<String> = Vec::new();
        let mut token = None;
        for round in 0..100 {
            let page = store
                .search_runs(&[experiment], &request(order.clone(), 4, token))
                .await
                .unwrap();
            seen.extend(page.items.into_iter().map(|r| r.info.run_id));
            // New runs sorting before and after the current position.
            for start_time in [5000 + round, 10] {
                let run = store
                    .create_run(NewRun {
                        run_id: None,
                        experiment_id: experiment,
                        user_id: "ada".to_string(),
                        run_name: None,
                        start_time,
                        tags: Vec::new(),
                    })
                    .await
                    .unwrap();
                let point = MetricPoint {
                    key: "m".to_string(),
                    value: if start_time == 10 { -9.0 } else { 9.0 },
                    timestamp: 1,
                    step: 0,
                };
                store
                    .log_batch(&run.info.run_id, &[point], &[], &[])
                    .await
                    .unwrap();
            }
            match page.next_page_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "a run came back: {order:?}");
        for run in &logged {
            assert!(seen.contains(&run.id), "{order:?} skipped {}", run.id);
        }
    }
}

#[tokio::test]
async fn foreign_and_garbled_tokens_are_invalid() {
    let store = memory_store().await;
    let experiment = store
        .create_experiment("tokens", "", &[])
        .await
        .unwrap()
        .experiment_id;
    populate(&store, experiment).await;
    let page = store
        .search_runs(&[experiment], &request(Vec::new(), 2, None))
        .await
        .unwrap();
    let token = page.next_page_token.expect("a second page");
    assert!(!token.contains("offset"));
    let mut other = request(
        vec![key(Entity::Metric, "m", false)],
        2,
        Some(token.clone()),
    );
    let reordered = store.search_runs(&[experiment], &other).await;
    assert!(
        matches!(reordered, Err(Error::Invalid { .. })),
        "{reordered:?}"
    );
    other.search.order.clear();
    other.search.clauses.push(Clause {
        entity: Entity::Param,
        key: "p".to_string(),
        op: Op::Eq,
        value: Value::Str("v1".to_string()),
    });
    let refiltered = store.search_runs(&[experiment], &other).await;
    assert!(
        matches!(refiltered, Err(Error::Invalid { .. })),
        "{refiltered:?}"
    );
    for garbled in [
        "offset:2",
        "!!!",
        "e30",
        "eyJxIjoxfQ",
        &token[..token.len() / 2],
    ] {
        let r = request(Vec::new(), 2, Some(garbled.to_string()));
        let result = store.search_runs(&[experiment], &r).await;
        assert!(
            matches!(result, Err(Error::Invalid { .. })),
            "{garbled}: {result:?}"
        );
        let result = store.search_experiments(&r).await;
        assert!(
            matches!(result, Err(Error::Invalid { .. })),
            "{garbled}: {result:?}"
        );
        let result = store.search_registered_models(&r).await;
        assert!(
            matches!(result, Err(Error::Invalid { .. })),
            "{garbled}: {result:?}"
        );
        let result = store.search_registry_versions(&r).await;
        assert!(
            matches!(result, Err(Error::Invalid { .. })),
            "{garbled}: {result:?}"
        );
        let result = store.search_logged_models(&[experiment], &r).await;
        assert!(
            matches!(result, Err(Error::Invalid { .. })),
            "{garbled}: {result:?}"
        );
    }
}

#[tokio::test]
async fn experiments_and_models_page_by_key() {
    let store = memory_store().await;
    let mut names = Vec::new();
    for i in 0..13 {
        let name = format!("exp-{:02}", (i * 5) % 13);
        store.create_experiment(&name, "", &[]).await.unwrap();
        store
            .create_registered_model(&format!("model-{:02}", (i * 5) % 13), "", &[])
            .await
            .unwrap();
        names.push(name);
    }
    names.push("Default".to_string());
    for order in [
        Vec::new(),
        vec![key(Entity::Attribute, "name", true)],
        vec![key(Entity::Attribute, "name", false)],
    ] {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = store
                .search_experiments(&request(order.clone(), 3, token))
                .await
                .unwrap();
            seen.extend(page.items.into_iter().map(|e| e.name));
            token = page.next_page_token;
            if token.is_none() {
                break;
            }
        }
        let mut expected = names.clone();
        if let Some(first) = order.first() {
            expected.sort();
            if !first.ascending {
                expected.reverse();
            }
            assert_eq!(seen, expected, "{order:?}");
        } else {
            expected.sort();
            seen.sort();
            assert_eq!(seen, expected);
        }
        let mut models = Vec::new();
        let mut token = None;
        loop {
            let page = store
                .search_registered_models(&request(order.clone(), 4, token))
                .await
                .unwrap();
            models.extend(page.items.into_iter().map(|m| m.name));
            token = page.next_page_token;
            if token.is_none() {
                break;
            }
        }
        let mut expected: Vec<String> = (0..13).map(|i| format!("model-{i:02}")).collect();
        if order.first().is_some_and(|k| !k.ascending) {
            expected.reverse();
        }
        assert_eq!(models, expected, "{order:?}");
    }
}

#[tokio::test]
async fn model_versions_page_by_name_then_newest_version() {
    use crate::tracking::NewRegistryVersion;
    let store = memory_store().await;
    let mut expected = Vec::new();
    for name in ["b", "a", "c"] {
        store.create_registered_model(name, "", &[]).await.unwrap();
        for version in 1..=4 {
            let new = NewRegistryVersion {
                name: name.to_string(),
                source: format!("s{version}"),
                ..Default::default()
            };
            store.create_registry_version(new).await.unwrap();
            expected.push((name.to_string(), version));
        }
    }
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    for size in [1, 2, 5, 12, 13] {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = store
                .search_registry_versions(&request(Vec::new(), size, token))
                .await
                .unwrap();
            seen.extend(page.items.into_iter().map(|v| (v.name, v.version)));
            token = page.next_page_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(seen, expected, "pages of {size}");
    }
}
