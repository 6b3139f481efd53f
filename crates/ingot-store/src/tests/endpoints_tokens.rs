//! Models, endpoints and API tokens.

use ingot_core::records::{ApiToken, ScalingEvent};
use ingot_core::EndpointStatus;

use super::{memory_store, new_model, store_with_endpoint};
use crate::{Error, MetadataStore};

#[tokio::test]
async fn model_versions_are_numbered_and_listed() {
    let store = memory_store().await;
    let v1 = store.create_model_version(new_model("m")).await.unwrap();
    let v2 = store.create_model_version(new_model("m")).await.unwrap();
    store.create_model_version(new_model("a")).await.unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(store.model_version("m", Some(1)).await.unwrap(), v1);
    assert_eq!(store.model_version("m", None).await.unwrap(), v2);
    assert_eq!(store.list_model_versions("m").await.unwrap(), vec![v1, v2]);
    let summaries = store.list_models().await.unwrap();
    let listed: Vec<_> = summaries
        .iter()
        .map(|s| (s.name.as_str(), s.latest_version))
        .collect();
    assert_eq!(listed, [("a", 1), ("m", 2)]);
    assert!(matches!(
        store.model_version("m", Some(9)).await,
        Err(Error::NotFound { kind: "model version", ref name }) if name == "m:9"
    ));
    assert!(matches!(
        store.model_version("x", None).await,
        Err(Error::NotFound { kind: "model", .. })
    ));
    let mut orphan = new_model("m");
    orphan.job_id = Some("no-such-job".to_string());
    assert!(matches!(
        store.create_model_version(orphan).await,
        Err(Error::NotFound { kind: "job", .. })
    ));
}

#[tokio::test]
async fn endpoint_lifecycle() {
    let store = memory_store().await;
    store.create_model_version(new_model("m")).await.unwrap();
    let created = store
        .create_endpoint("ep", &ingot_core::EndpointConfig::single("m", 1))
        .await
        .unwrap();
    assert_eq!(created.status, EndpointStatus::Creating);
    assert_eq!(store.endpoint("ep").await.unwrap(), created);
    assert!(matches!(
        store
            .create_endpoint("ep", &ingot_core::EndpointConfig::single("m", 1))
            .await,
        Err(Error::AlreadyExists {
            kind: "endpoint",
            ..
        })
    ));
    assert!(matches!(
        store
            .create_endpoint("ep2", &ingot_core::EndpointConfig::single("m", 5))
            .await,
        Err(Error::NotFound {
            kind: "model version",
            ..
        })
    ));

    let failed = store
        .set_endpoint_status("ep", EndpointStatus::Failed, Some("bad model"))
        .await
        .unwrap();
    assert_eq!(failed.failure_reason.as_deref(), Some("bad model"));
    let serving = store
        .set_endpoint_status("ep", EndpointStatus::InService, None)
        .await
        .unwrap();
    assert_eq!(
        (serving.status, serving.failure_reason.clone()),
        (EndpointStatus::InService, None)
    );
    assert_eq!(store.list_endpoints().await.unwrap(), vec![serving]);

    store.delete_endpoint("ep").await.unwrap();
    assert!(matches!(
        store.endpoint("ep").await,
        Err(Error::NotFound {
            kind: "endpoint",
            ..
        })
    ));
    assert!(matches!(
        store.delete_endpoint("ep").await,
        Err(Error::NotFound {
            kind: "endpoint",
            ..
        })
    ));
    assert!(matches!(
        store
            .set_endpoint_status("ep", EndpointStatus::InService, None)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert!(store.list_endpoints().await.unwrap().is_empty());
}

#[tokio::test]
async fn tokens_are_found_by_hash() {
    let store = memory_store().await;
    assert_eq!(store.count_tokens().await.unwrap(), 0);
    let token = ApiToken {
        id: "t1".to_string(),
        name: "admin".to_string(),
        token_hash: "f".repeat(64),
        is_admin: true,
        created_at: 42,
    };
    store.create_token(&token).await.unwrap();
    assert_eq!(store.count_tokens().await.unwrap(), 1);
    assert_eq!(
        store.token_by_hash(&token.token_hash).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(store.token_by_hash("nope").await.unwrap(), None);
    let same_hash = ApiToken {
        id: "t2".to_string(),
        ..token
    };
    assert!(matches!(
        store.create_token(&same_hash).await,
        Err(Error::AlreadyExists { .. })
    ));
}

#[tokio::test]
async fn scaling_history_keeps_the_newest_per_variant_and_goes_with_its_endpoint() {
    let store = store_with_endpoint().await;
    let event = |i: u32| ScalingEvent {
        at: 1_000 + i64::from(i),
        from: i,
        to: i + 1,
        reason: format!("step {i}"),
    };
    let first: Vec<_> = (0..3).map(event).collect();
    store
        .record_scaling_events("ep", "primary", &first, 4)
        .await
        .unwrap();
    store
        .record_scaling_events("ep", "canary", &[event(9)], 4)
        .await
        .unwrap();
    assert_eq!(store.scaling_events("ep", "primary").await.unwrap(), first);
    // Past `keep`, the oldest go; the order stays oldest first.
    let more: Vec<_> = (3..6).map(event).collect();
    store
        .record_scaling_events("ep", "primary", &more, 4)
        .await
        .unwrap();
    assert_eq!(
        store.scaling_events("ep", "primary").await.unwrap(),
        (2..6).map(event).collect::<Vec<_>>()
    );
    assert_eq!(
        store.scaling_events("ep", "canary").await.unwrap(),
        vec![event(9)]
    );
    assert!(matches!(
        store
            .record_scaling_events("nope", "primary", &first, 4)
            .await,
        Err(Error::NotFound {
            kind: "endpoint",
            ..
        })
    ));
    store.delete_endpoint("ep").await.unwrap();
    store
        .create_endpoint("ep", &ingot_core::EndpointConfig::single("m", 1))
        .await
        .unwrap();
    assert!(store
        .scaling_events("ep", "primary")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn endpoint_configs_keys_async_queue_and_transforms() {
    use ingot_core::endpoint_config::MultiModelConfig;
    use ingot_core::records::{AsyncInvocation, AsyncStatus, EndpointKey, TransformJob};
    use ingot_core::{EndpointConfig, JobStatus};

    let store = memory_store().await;
    store.create_model_version(new_model("m")).await.unwrap();
    store.create_model_version(new_model("m")).await.unwrap();
    store
        .create_endpoint("ep", &EndpointConfig::single("m", 1))
        .await
        .unwrap();
    // A canary: a second variant on version 2; the listing follows the first variant.
    let mut canary = EndpointConfig::single("m", 1);
    let mut second = canary.variants[0].clone();
    second.name = "canary".into();
    second.steps[0].version = 2;
    second.weight = 0.1;
    canary.variants.push(second);
    let updated = store.set_endpoint_config("ep", &canary).await.unwrap();
    assert_eq!(updated.config, canary);
    assert_eq!((updated.model.as_str(), updated.model_version), ("m", 1));
    let mut missing = canary.clone();
    missing.variants[1].steps[0].version = 9;
    assert!(matches!(
        store.set_endpoint_config("ep", &missing).await,
        Err(Error::NotFound {
            kind: "model version",
            ..
        })
    ));
    assert_eq!(store.endpoint("ep").await.unwrap().config, canary);

    // A multi-model endpoint pins no model.
    let mut multi = EndpointConfig::single("m", 1);
    multi.variants[0].steps.clear();
    multi.multi_model = Some(MultiModelConfig {
        model_prefix: "m".into(),
        memory_budget_bytes: 1 << 20,
    });
    let created = store.create_endpoint("many", &multi).await.unwrap();
    assert_eq!(created.config, multi);
    assert_eq!(created.model, "");

    let key = EndpointKey {
        id: "k1".into(),
        endpoint: "ep".into(),
        name: "app".into(),
        key_hash: "h1".into(),
        created_at: 1,
    };
    store.create_endpoint_key(&key).await.unwrap();
    assert_eq!(
        store.endpoint_key_by_hash("h1").await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.list_endpoint_keys("ep").await.unwrap(), vec![key]);
    let mut orphan_key = EndpointKey {
        id: "k2".into(),
        endpoint: "nope".into(),
        name: "x".into(),
        key_hash: "h2".into(),
        created_at: 1,
    };
    assert!(store.create_endpoint_key(&orphan_key).await.is_err());
    orphan_key.endpoint = "many".into();
    store.create_endpoint_key(&orphan_key).await.unwrap();
    store.delete_endpoint("many").await.unwrap();
    assert_eq!(store.endpoint_key_by_hash("h2").await.unwrap(), None);
    store.delete_endpoint_key("ep", "k1").await.unwrap();
    assert_eq!(store.endpoint_key_by_hash("h1").await.unwrap(), None);

    let invocation = AsyncInvocation {
        id: "a1".into(),
        endpoint: "ep".into(),
        status: AsyncStatus::Queued,
        content_type: "text/csv".into(),
        accept: None,
        target_model: None,
        target_variant: None,
        input_hash: "in".into(),
        output_hash: None,
        output_content_type: None,
        failure_reason: None,
        webhook_url: Some("http://127.0.0.1:1/hook".into()),
        webhook_status: None,
        created_at: 5,
        updated_at: 5,
    };
    store.create_async_invocation(&invocation).await.unwrap();
    assert_eq!(
        store.queued_async_invocations().await.unwrap(),
        vec![invocation]
    );
    store
        .finish_async_invocation(
            "a1",
            AsyncStatus::Completed,
            Some(("out", "text/csv")),
            None,
        )
        .await
        .unwrap();
    store
        .set_async_webhook_status("a1", "delivered")
        .await
        .unwrap();
    let done = store.async_invocation("a1").await.unwrap();
    assert_eq!(done.status, AsyncStatus::Completed);
    assert_eq!(done.output_hash.as_deref(), Some("out"));
    assert_eq!(done.webhook_status.as_deref(), Some("delivered"));
    assert!(store.queued_async_invocations().await.unwrap().is_empty());

    let job = TransformJob {
        id: "t1".into(),
        model: "m".into(),
        model_version: 1,
        dataset: "d".into(),
        dataset_version: 1,
        output_dataset: "d-scored".into(),
        output_version: None,
        join_input: true,
        workers: 2,
        status: JobStatus::Running,
        failure_reason: None,
        rows: None,
        created_at: 1,
        updated_at: 1,
        memory_limit_mib: Some(512),
    };
    store.create_transform_job(&job).await.unwrap();
    assert_eq!(store.transform_job("t1").await.unwrap(), job);
    assert_eq!(
        store
            .fail_unfinished_transform_jobs("restart")
            .await
            .unwrap(),
        1
    );
    let failed = store.transform_job("t1").await.unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    store
        .finish_transform_job("t1", JobStatus::Completed, Some(1), Some(10), None)
        .await
        .unwrap();
    assert_eq!(store.list_transform_jobs().await.unwrap()[0].rows, Some(10));
}
