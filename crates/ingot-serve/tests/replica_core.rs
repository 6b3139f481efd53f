//! The replica core on real models: a multi-model replica with 1,000 distinct small models
//! and a memory budget for 100 (every answer is the targeted model's own, at most 100 stay
//! loaded, evictions are counted), and dynamic batching (concurrent requests scored together
//! answer exactly as alone).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use async_trait::async_trait;
use ingot_catalog::{FitContext, LoadedModel, TrainEvent, TrainRequest};
use ingot_core::endpoint_config::{BatchingConfig, MultiModelConfig};
use ingot_serve::{InvokeRequest, ModelSource, Protocol, ReplicaCore, ReplicaSpec, ResolvedModel};

struct Files(HashMap<String, Vec<u8>>);

#[async_trait]
impl ModelSource for Files {
    async fn fetch(&self, hash: &str) -> ingot_serve::Result<Vec<u8>> {
        self.0
            .get(hash)
            .cloned()
            .ok_or_else(|| ingot_serve::Error::Internal(format!("no file {hash}")))
    }
}

/// A linear model of y = slope·x + i, one per i.
fn model(i: usize) -> Vec<u8> {
    let mut csv = String::from("x,y\n");
    for r in 0..20 {
        let x = r as f64 / 4.0;
        csv.push_str(&format!("{x},{}\n", 0.5 * x + i as f64));
    }
    let table = ingot_data::read_table(csv.as_bytes(), ingot_data::DataFormat::Csv).unwrap();
    let mut request = TrainRequest::new("y", "linear-learner");
    request.validation_fraction = 0.0;
    let cancel = AtomicBool::new(false);
    let mut sink = |_: TrainEvent| {};
    let mut ctx = FitContext {
        cancel: &cancel,
        threads: 1,
        seed: 7,
        events: &mut sink,
    };
    ingot_catalog::train(&table, None, &request, &mut ctx)
        .unwrap()
        .bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_models_behind_one_replica_with_room_for_a_hundred() {
    let mut files = HashMap::new();
    let mut targets = Vec::new();
    for i in 0..1000 {
        let bytes = model(i);
        let hash = format!("{i:064x}");
        targets.push(ResolvedModel {
            model: format!("m{i}"),
            version: 1,
            artifact_hash: hash.clone(),
            size_bytes: bytes.len() as u64,
        });
        files.insert(hash, bytes);
    }
    let largest = targets.iter().map(|t| t.size_bytes).max().unwrap();
    let spec = ReplicaSpec {
        endpoint: "many".into(),
        variant: "all".into(),
        steps: Vec::new(),
        multi_model: Some(MultiModelConfig {
            model_prefix: "m".into(),
            memory_budget_bytes: largest * 100,
        }),
        batching: None,
        explain_background: None,
        memory_limit_mib: None,
    };
    let source: Arc<dyn ModelSource> = Arc::new(Files(files.clone()));
    let core = ReplicaCore::start(spec, source).await.unwrap();
    let body = "2.0\n";
    for round in 0..2 {
        for target in &targets {
            let answer = core
                .invoke(InvokeRequest {
                    body: body.into(),
                    content_type: Some("text/csv".into()),
                    accept: None,
                    protocol: Protocol::Invocations,
                    target: Some(target.clone()),
                    endpoint: "many".into(),
                    request_id: String::new(),
                    explain: false,
                })
                .await
                .unwrap();
            assert_eq!(answer.model, target.model);
            if round == 0 && target.model.ends_with('7') {
                // The answer equals the model loaded on its own.
                let alone = LoadedModel::from_bytes(&files[&target.artifact_hash]).unwrap();
                let batch = ingot_serve::decode_request(
                    body.as_bytes(),
                    ingot_serve::RequestFormat::Csv {
                        header: ingot_serve::CsvHeader::Absent,
                    },
                    &alone.manifest.input_schema,
                )
                .unwrap();
                let expected = ingot_serve::encode_response(
                    &alone.predict(&batch).unwrap(),
                    ingot_serve::ResponseFormat::Csv,
                );
                assert_eq!(
                    answer.body.as_ref(),
                    expected.as_slice(),
                    "{}",
                    target.model
                );
            }
            assert!(
                core.loaded_models() <= 100,
                "{} loaded",
                core.loaded_models()
            );
        }
    }
    // Distinct models really answer differently: m0 and m999 differ by about 999.
    let value = |i: usize| {
        let loaded = LoadedModel::from_bytes(&files[&targets[i].artifact_hash]).unwrap();
        let batch = ingot_serve::decode_request(
            b"2.0\n",
            ingot_serve::RequestFormat::Csv {
                header: ingot_serve::CsvHeader::Absent,
            },
            &loaded.manifest.input_schema,
        )
        .unwrap();
        match loaded.predict(&batch).unwrap() {
            ingot_catalog::Predictions::Regression { values } => values[0],
            other => panic!("{other:?}"),
        }
    };
    assert!((value(999) - value(0) - 999.0).abs() < 5.0);
    assert!(core.evictions() >= 1800, "{} evictions", core.evictions());
    assert!(core.loaded_models() >= 90);
}

fn request(body: &str) -> InvokeRequest {
    InvokeRequest {
        body: body.to_string().into(),
        content_type: Some("text/csv".into()),
        accept: Some("application/json".into()),
        protocol: Protocol::Invocations,
        target: None,
        endpoint: "batched".into(),
        request_id: String::new(),
        explain: false,
    }
}

/// A replica of endpoint `endpoint` serving one model, `bytes` stored under the hash made
/// from `seed`, with or without dynamic batching.
async fn one_model_replica(
    endpoint: &str,
    model: &str,
    seed: u64,
    bytes: Vec<u8>,
    batching: Option<BatchingConfig>,
) -> ReplicaCore {
    let hash = format!("{seed:064x}");
    let step = ResolvedModel {
        model: model.into(),
        version: 1,
        artifact_hash: hash.clone(),
        size_bytes: bytes.len() as u64,
    };
    let spec = ReplicaSpec {
        endpoint: endpoint.into(),
        variant: "a".into(),
        steps: vec![step],
        multi_model: None,
        batching,
        explain_background: None,
        memory_limit_mib: None,
    };
    let source: Arc<dyn ModelSource> = Arc::new(Files(HashMap::from([(hash, bytes)])));
    ReplicaCore::start(spec, source).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_requests_answer_exactly_as_alone() {
    let alone = one_model_replica("batched", "m3", 3, model(3), None).await;
    let batching = BatchingConfig {
        max_batch_size: 32,
        max_delay_us: 20_000,
    };
    let batched = Arc::new(one_model_replica("batched", "m3", 3, model(3), Some(batching)).await);
    let bodies: Vec<String> = (0..64)
        .map(|i| {
            (0..=(i % 3))
                .map(|j| format!("{}\n", i as f64 * 0.1 + j as f64))
                .collect()
        })
        .collect();
    let tasks: Vec<_> = bodies
        .iter()
        .map(|body| {
            let core = batched.clone();
            let body = body.clone();
            tokio::spawn(async move { core.invoke(request(&body)).await.unwrap().body })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    for (body, answer) in bodies.iter().zip(answers) {
        let expected = alone.invoke(request(body)).await.unwrap().body;
        assert_eq!(answer, expected, "{body:?}");
    }
}

/// An imported XGBoost model over `f0`, `f1` (two stumps, one per feature), as an `INGOTMDL`
/// file: one that serving reads CSV for straight into dense rows.
fn xgboost_model() -> Vec<u8> {
    let tree = |feature: u32, split: f64, default_left: u8| {
        serde_json::json!({
            "left_children": [1, -1, -1], "right_children": [2, -1, -1],
            "split_indices": [feature, 0, 0], "split_conditions": [split, -0.4, 0.6],
            "default_left": [default_left, 0, 0], "split_type": [0, 0, 0],
            "sum_hessian": [10.0, 4.0, 6.0], "loss_changes": [3.0, 0.0, 0.0],
            "base_weights": [0.0, -0.4, 0.6], "categories": [], "categories_nodes": [],
            "categories_segments": [], "categories_sizes": [],
            "tree_param": {"num_nodes": "3", "size_leaf_vector": "1", "num_feature": "2"}
        })
    };
    let model = serde_json::json!({
        "learner": {
            "feature_names": [], "feature_types": [],
            "learner_model_param": {
                "base_score": "[5E-1]", "num_class": "0", "num_feature": "2", "num_target": "1"
            },
            "objective": {"name": "binary:logistic"},
            "gradient_booster": {"name": "gbtree", "model": {
                "tree_info": [0, 0], "trees": [tree(0, 0.25, 1), tree(1, -1.5, 0)]
            }}
        },
        "version": [3, 2, 0]
    });
    let bytes = serde_json::to_vec(&model).unwrap();
    ingot_catalog::import_model("xgboost", &bytes, &Default::default())
        .unwrap()
        .encode()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dense_csv_answers_and_errors_as_the_batch_path() {
    let bytes = xgboost_model();
    assert!(LoadedModel::from_bytes(&bytes).unwrap().reads_dense_rows());
    // Unbatched CSV takes the dense path; the batcher always decodes a batch.
    let dense = one_model_replica("xgb", "xgb", 7, bytes.clone(), None).await;
    let batching = BatchingConfig {
        max_batch_size: 8,
        max_delay_us: 100,
    };
    let batched = one_model_replica("xgb", "xgb", 7, bytes, Some(batching)).await;
    let cases: [(&str, &str); 14] = [
        ("text/csv", "0.1,-2\n0.3,-1\n,NA\ninf,-inf\n1,2\n"),
        ("text/csv", "f1,f0\n-1.5,0.25\n-1.6,0.26\n"),
        ("text/csv;header=absent", "f1,f0\n-1.5,0.25\n"),
        (
            "text/csv;header=present",
            "f1,extra,f0\n-1.5,x,0.25\n-1.6,y,0.26\n",
        ),
        ("text/csv", "\u{feff}0.25,-1.5\r\n\r\n 7 , 1e-3 \r\n"),
        ("text/csv", "\"0.1\",\"-2\"\n0.3,-1\n"),
        ("text/csv", "0.1,-2\n0.1\n"),
        ("text/csv", "0.1,-2\n0.1,abc\n"),
        ("text/csv;header=present", "f0,f2\n1,2\n"),
        ("text/csv;header=present", "f0,f1,f0\n1,2,3\n"),
        ("text/csv", "  \n"),
        ("text/csv", "0.1,\u{e9}\n"),
        ("text/csv", "0.5,0.5"),
        ("application/json", "[[0.1, -2], [null, 3]]"),
    ];
    for accept in ["text/csv", "application/json"] {
        for (content_type, body) in cases {
            let mut request = request(body);
            request.content_type = Some(content_type.into());
            request.accept = Some(accept.into());
            let ours = dense.invoke(request.clone()).await;
            let theirs = batched.invoke(request).await;
            match (ours, theirs) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(
                        (&a.content_type, &a.body),
                        (&b.content_type, &b.body),
                        "{body:?}"
                    )
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{body:?}"),
                (a, b) => panic!(
                    "{body:?}: {:?} vs {:?}",
                    a.map(|r| r.body),
                    b.map(|r| r.body)
                ),
            }
        }
    }
}
