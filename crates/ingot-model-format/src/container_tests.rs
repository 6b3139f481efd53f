//! Tests of the container: round trips and every class of corruption.

use ingot_core::{ColumnType, Field, Hyperparameters, Metrics, Schema, Task};
use sha2::{Digest, Sha256};

use super::*;

fn sample() -> ModelFile {
    let mut metrics = Metrics::default();
    metrics.insert("auc", 0.91);
    let mut hyperparameters = Hyperparameters::new();
    hyperparameters.set("l2", "0.01");
    ModelFile {
        manifest: Manifest {
            format_version: FORMAT_VERSION,
            algorithm: "linear-learner".into(),
            algorithm_version: 1,
            task: Task::BinaryClassification,
            target: Some("label".into()),
            input_schema: Schema::new(vec![
                Field::new("age", ColumnType::Integer, false),
                Field::new("city", ColumnType::String, true),
            ]),
            classes: Some(vec!["no".into(), "yes".into()]),
            hyperparameters,
            resolved_parameters: serde_json::json!({"l2": 0.01, "max_iter": 200}),
            preprocessing: serde_json::json!({"columns": []}),
            metrics,
            training_rows: 80,
            validation_rows: 20,
            feature_importance: None,
        },
        payload: vec![1, 2, 3, 4, 5, 0, 255],
    }
}

/// Rewrites the checksum so that a structural edit is what gets tested.
fn reseal(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len() - 32;
    let digest = Sha256::digest(&bytes[..n]);
    bytes[n..].copy_from_slice(&digest);
    bytes
}

#[test]
fn round_trip_is_exact_and_deterministic() {
    let file = sample();
    let bytes = file.encode();
    assert_eq!(&bytes[..8], MAGIC);
    assert_eq!(bytes, file.encode());
    let decoded = ModelFile::decode(&bytes).unwrap();
    assert_eq!(decoded, file);
    assert_eq!(decoded.encode(), bytes);
}

#[test]
fn empty_payload_round_trips() {
    let mut file = sample();
    file.payload.clear();
    assert_eq!(ModelFile::decode(&file.encode()).unwrap(), file);
}

#[test]
fn bad_magic_is_reported() {
    let mut bytes = sample().encode();
    bytes[0] = b'X';
    let err = ModelFile::decode(&bytes).unwrap_err();
    assert!(matches!(err, Error::BadMagic));
    assert!(err.to_string().contains("not an ingot model file"), "{err}");
    assert!(matches!(
        ModelFile::decode(b"PK\x03\x04"),
        Err(Error::BadMagic)
    ));
}

#[test]
fn newer_version_names_both_versions() {
    let mut bytes = sample().encode();
    bytes[8..10].copy_from_slice(&7u16.to_le_bytes());
    let err = ModelFile::decode(&reseal(bytes)).unwrap_err();
    assert!(matches!(
        err,
        Error::UnsupportedVersion {
            found: 7,
            supported: 1
        }
    ));
    let msg = err.to_string();
    assert!(msg.contains('7') && msg.contains('1'), "{msg}");
}

#[test]
fn truncation_names_the_section() {
    let bytes = sample().encode();
    let manifest_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let cases = [
        (4, "magic number"),
        (9, "format version"),
        (14, "manifest length"),
        (20, "manifest"),
        (16 + manifest_len + 3, "payload length"),
        (16 + manifest_len + 9, "payload"),
        (bytes.len() - 1, "checksum"),
    ];
    for (len, section) in cases {
        let err = ModelFile::decode(&bytes[..len]).unwrap_err();
        match &err {
            Error::Truncated { section: s, .. } => assert_eq!(*s, section, "at {len}"),
            other => panic!("at {len}: {other}"),
        }
        assert!(err.to_string().contains(section), "{err}");
    }
    assert!(matches!(
        ModelFile::decode(&[]),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn checksum_mismatch_is_reported() {
    let mut bytes = sample().encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let err = ModelFile::decode(&bytes).unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch));
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[test]
fn bad_manifest_json_is_reported() {
    let mut bytes = sample().encode();
    bytes[16] = b'[';
    let err = ModelFile::decode(&reseal(bytes)).unwrap_err();
    assert!(matches!(err, Error::Manifest(_)), "{err}");
    assert!(err.to_string().contains("manifest"), "{err}");
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = sample().encode();
    bytes.push(0);
    assert!(matches!(
        ModelFile::decode(&bytes),
        Err(Error::TrailingBytes { extra: 1 })
    ));
}

#[test]
fn flipping_any_single_byte_is_detected() {
    let bytes = sample().encode();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut corrupt = bytes.clone();
            corrupt[i] ^= mask;
            assert!(
                ModelFile::decode(&corrupt).is_err(),
                "flip of byte {i} with mask {mask:#x} went undetected"
            );
        }
    }
}

#[test]
fn target_is_optional_and_older_manifests_still_read() {
    let mut file = sample();
    let json = serde_json::to_value(&file.manifest).unwrap();
    assert_eq!(json["target"], "label", "older readers see a string target");
    let mut without = json.clone();
    without.as_object_mut().unwrap().remove("target");
    let parsed: crate::Manifest = serde_json::from_value(without).unwrap();
    assert_eq!(parsed.target, None);
    file.manifest.target = None;
    let decoded = ModelFile::decode(&file.encode()).unwrap();
    assert_eq!(decoded.manifest.target, None);
    assert_eq!(decoded, file);
}
