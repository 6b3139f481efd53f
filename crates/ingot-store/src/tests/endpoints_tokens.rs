//! Models, endpoints and API tokens.

use ingot_core::records::ApiToken;
use ingot_core::EndpointStatus;

use super::{memory_store, new_model};
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
    let created = store.create_endpoint("ep", "m", 1).await.unwrap();
    assert_eq!(created.status, EndpointStatus::Creating);
    assert_eq!(store.endpoint("ep").await.unwrap(), created);
    assert!(matches!(
        store.create_endpoint("ep", "m", 1).await,
        Err(Error::AlreadyExists {
            kind: "endpoint",
            ..
        })
    ));
    assert!(matches!(
        store.create_endpoint("ep2", "m", 5).await,
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
