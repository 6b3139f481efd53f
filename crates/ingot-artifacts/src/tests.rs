//! Tests of the artifact store and of path validation.

use bytes::Bytes;

use crate::{validate_relative_path, ArtifactStore, Error};

fn local_store() -> (tempfile::TempDir, ArtifactStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ArtifactStore::open(dir.path().join("artifacts").to_str().unwrap()).unwrap();
    (dir, store)
}

#[tokio::test]
async fn put_get_round_trip() {
    let (dir, store) = local_store();
    let content = Bytes::from_static(b"a,b\n1,2\n");
    let stored = store.put(content.clone()).await.unwrap();
    assert_eq!(stored.size, content.len() as u64);
    assert_eq!(stored.digest.len(), 64);
    assert!(store.exists(&stored.digest).await.unwrap());
    assert_eq!(store.get(&stored.digest).await.unwrap(), content);
    let on_disk = dir
        .path()
        .join("artifacts/sha256")
        .join(&stored.digest[..2])
        .join(&stored.digest);
    assert_eq!(std::fs::read(on_disk).unwrap(), content.as_ref());
    let canonical = std::fs::canonicalize(dir.path().join("artifacts")).unwrap();
    assert_eq!(store.describe(), format!("file://{}", canonical.display()));
}

#[tokio::test]
async fn put_is_idempotent() {
    let (_dir, store) = local_store();
    let first = store.put(Bytes::from_static(b"model")).await.unwrap();
    let second = store.put(Bytes::from_static(b"model")).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        store.get(&first.digest).await.unwrap(),
        Bytes::from_static(b"model")
    );
    let empty = store.put(Bytes::new()).await.unwrap();
    assert_eq!(store.get(&empty.digest).await.unwrap().len(), 0);
}

#[tokio::test]
async fn tampered_content_is_detected_and_a_wrong_size_is_repaired() {
    let (dir, store) = local_store();
    let stored = store.put(Bytes::from_static(b"original")).await.unwrap();
    let path = dir
        .path()
        .join("artifacts/sha256")
        .join(&stored.digest[..2])
        .join(&stored.digest);
    std::fs::write(&path, b"tampered").unwrap();
    let err = store.get(&stored.digest).await.unwrap_err();
    assert!(
        matches!(err, Error::Corrupt { ref digest } if *digest == stored.digest),
        "{err}"
    );

    std::fs::write(&path, b"truncated?").unwrap();
    store.put(Bytes::from_static(b"original")).await.unwrap();
    assert_eq!(
        store.get(&stored.digest).await.unwrap(),
        Bytes::from_static(b"original")
    );
}

#[tokio::test]
async fn missing_artifacts_are_not_found() {
    let (_dir, store) = local_store();
    let digest = "0".repeat(64);
    assert!(!store.exists(&digest).await.unwrap());
    assert!(matches!(
        store.get(&digest).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn digests_are_validated_before_use() {
    let (_dir, store) = local_store();
    let upper = "A".repeat(64);
    for bad in [
        "",
        "../../etc/passwd",
        "abc",
        upper.as_str(),
        &format!("{}/x", "a".repeat(62)),
    ] {
        assert!(
            matches!(store.get(bad).await, Err(Error::InvalidPath { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(store.exists(bad).await, Err(Error::InvalidPath { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn opens_file_urls_and_rejects_other_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    let store = ArtifactStore::open(&format!("file://{}", nested.display())).unwrap();
    assert!(nested.is_dir(), "the directory is created");
    assert!(store.describe().starts_with("file:///"));
    assert!(matches!(
        ArtifactStore::open("gs://bucket/x"),
        Err(Error::InvalidLocation { .. })
    ));
}

#[test]
fn opens_s3_locations_without_network_or_leaking_secrets() {
    // Only this test touches AWS_* variables, and building the client makes no request.
    std::env::set_var("AWS_ACCESS_KEY_ID", "test-access-key");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test-secret-key");
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ENDPOINT", "http://127.0.0.1:9");
    std::env::set_var("AWS_ALLOW_HTTP", "true");
    let store = ArtifactStore::open("s3://bucket/prefix/").unwrap();
    assert_eq!(store.describe(), "s3://bucket/prefix");
    let debug = format!("{store:?}");
    assert!(!debug.contains("test-secret-key") && !store.describe().contains("test-"));
    assert_eq!(
        ArtifactStore::open("s3://bucket").unwrap().describe(),
        "s3://bucket"
    );
    assert!(matches!(
        ArtifactStore::open("s3:///x"),
        Err(Error::InvalidLocation { .. })
    ));
}

#[test]
fn relative_paths_that_could_escape_are_rejected() {
    for bad in [
        "",
        "../x",
        "a/../../b",
        "a/..",
        "/etc/passwd",
        "a\\b",
        "C:x",
        "c:/x",
        "a/./b",
        ".",
        "a\0b",
        "a\nb",
        "//",
    ] {
        assert!(
            matches!(validate_relative_path(bad), Err(Error::InvalidPath { .. })),
            "{bad:?} should be rejected"
        );
    }
    assert!(validate_relative_path(&"a".repeat(1025)).is_err());
    assert!(validate_relative_path(&"a".repeat(1024)).is_ok());
}

#[test]
fn relative_paths_are_normalized() {
    assert_eq!(
        validate_relative_path("models/m1/model.pkl").unwrap(),
        "models/m1/model.pkl"
    );
    assert_eq!(validate_relative_path("a//b/").unwrap(), "a/b");
    assert_eq!(
        validate_relative_path("..a/b..c/.hidden").unwrap(),
        "..a/b..c/.hidden"
    );
}
