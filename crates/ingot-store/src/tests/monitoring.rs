//! Monitoring schedules and executions: uniqueness, lookups, ordering and cascades.

use ingot_core::records::{MonitoringExecution, MonitoringSchedule};

use super::store_with_endpoint;
use crate::{Error, MetadataStore};

fn schedule(endpoint: &str, name: &str) -> MonitoringSchedule {
    MonitoringSchedule {
        endpoint: endpoint.to_string(),
        name: name.to_string(),
        schedule_type: "data_quality".to_string(),
        config: serde_json::json!({"type": "data_quality", "baseline": "b", "every": "hourly"}),
        created_at: 5,
    }
}

fn execution(id: &str, schedule: &str, window_end: i64) -> MonitoringExecution {
    MonitoringExecution {
        id: id.to_string(),
        endpoint: "ep".to_string(),
        schedule: schedule.to_string(),
        status: "InProgress".to_string(),
        window_start: 0,
        window_end,
        violations: 0,
        failure_reason: None,
        webhook_status: None,
        summary: serde_json::json!({}),
        created_at: window_end,
    }
}

#[tokio::test]
async fn schedules_and_executions_round_trip_and_cascade() {
    let store = store_with_endpoint().await;
    assert!(matches!(
        store
            .create_monitoring_schedule(&schedule("nope", "dq"))
            .await,
        Err(Error::NotFound {
            kind: "endpoint",
            ..
        })
    ));
    store
        .create_monitoring_schedule(&schedule("ep", "dq"))
        .await
        .unwrap();
    store
        .create_monitoring_schedule(&schedule("ep", "mq"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_monitoring_schedule(&schedule("ep", "dq"))
            .await,
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(
        store.monitoring_schedule("ep", "dq").await.unwrap(),
        schedule("ep", "dq")
    );
    let names: Vec<String> = store
        .list_monitoring_schedules(None)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["dq", "mq"]);

    store
        .put_monitoring_execution(&execution("a", "dq", 10))
        .await
        .unwrap();
    store
        .put_monitoring_execution(&execution("b", "dq", 20))
        .await
        .unwrap();
    store
        .put_monitoring_execution(&execution("c", "mq", 15))
        .await
        .unwrap();
    // Replacing by id updates the outcome.
    let mut done = execution("a", "dq", 10);
    done.status = "CompletedWithViolations".to_string();
    done.violations = 3;
    done.webhook_status = Some("delivered (200)".to_string());
    done.summary = serde_json::json!({"rows": 7});
    store.put_monitoring_execution(&done).await.unwrap();
    assert_eq!(store.monitoring_execution("ep", "a").await.unwrap(), done);
    let ids = |list: Vec<MonitoringExecution>| list.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_monitoring_executions("ep", None).await.unwrap()),
        ["b", "c", "a"]
    );
    assert_eq!(
        ids(store
            .list_monitoring_executions("ep", Some("dq"))
            .await
            .unwrap()),
        ["b", "a"]
    );

    store.delete_monitoring_schedule("ep", "dq").await.unwrap();
    assert_eq!(
        ids(store.list_monitoring_executions("ep", None).await.unwrap()),
        ["c"]
    );
    assert!(matches!(
        store.delete_monitoring_schedule("ep", "dq").await,
        Err(Error::NotFound { .. })
    ));
    store.delete_endpoint("ep").await.unwrap();
    assert!(store
        .list_monitoring_schedules(None)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        store.monitoring_execution("ep", "c").await,
        Err(Error::NotFound { .. })
    ));
}
