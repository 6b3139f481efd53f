//! Temporary ad hoc latency measurement (not committed).
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ingot_replicas::{ArtifactSource, ProcessFactory};
use ingot_serve::{
    InProcessFactory, InvokeRequest, PoolFactory, Protocol, ReplicaPool, ReplicaSpec, ResolvedModel,
};

fn pct(mut v: Vec<Duration>) -> String {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q) as usize];
    format!(
        "p50 {:?} p90 {:?} p99 {:?} max {:?}",
        p(0.5),
        p(0.9),
        p(0.99),
        p(1.0)
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        ingot_artifacts::ArtifactStore::open(dir.path().join("a").to_str().unwrap()).unwrap();
    let model = std::env::args().nth(1).unwrap();
    let stored = store
        .put(Bytes::from(std::fs::read(&model).unwrap()))
        .await
        .unwrap();
    let spec = ReplicaSpec {
        endpoint: "e".into(),
        variant: "v".into(),
        steps: vec![ResolvedModel {
            model: "m".into(),
            version: 1,
            artifact_hash: stored.digest,
            size_bytes: stored.size,
        }],
        multi_model: None,
        batching: None,
    };
    let req = InvokeRequest {
        body: Bytes::from_static(b"1.5,-2.0,red\n"),
        content_type: Some("text/csv".into()),
        accept: None,
        protocol: Protocol::Invocations,
        target: None,
        endpoint: "e".into(),
        request_id: "r".into(),
    };
    let local = InProcessFactory
        .create(spec.clone(), 1, Arc::new(ArtifactSource(store.clone())))
        .await
        .unwrap();
    let factory = ProcessFactory::new(
        "/work/main/target/debug/ingot",
        dir.path().join("run"),
        dir.path().join("a").display().to_string(),
    )
    .unwrap();
    let pool = factory.start_pool(spec.clone(), 1).await.unwrap();
    for (name, p) in [("in-process", &local as &Arc<dyn ReplicaPool>)] {
        for _ in 0..2000 {
            p.invoke(req.clone()).await.unwrap();
        }
        let mut t = Vec::new();
        for _ in 0..20000 {
            let s = Instant::now();
            p.invoke(req.clone()).await.unwrap();
            t.push(s.elapsed());
        }
        println!("{name}: {}", pct(t));
    }
    for _ in 0..2000 {
        pool.invoke(req.clone()).await.unwrap();
    }
    let mut t = Vec::new();
    let mut inside = Vec::new();
    for _ in 0..20000 {
        let s = Instant::now();
        let a = pool.invoke(req.clone()).await.unwrap();
        t.push(s.elapsed());
        inside.push(Duration::from_micros(a.model_micros));
    }
    println!("process (1 replica): {}", pct(t));
    println!("  of which inside child: {}", pct(inside));
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::UnixStream::connect(pool.socket_dir().join("0.sock"))
            .await
            .unwrap();
        let body = b"1.5,-2.0,red\n";
        let msg = format!("POST /invoke HTTP/1.1\r\ncontent-type: text/csv\r\nx-ingot-protocol: invocations\r\nx-ingot-endpoint: e\r\nx-ingot-request-id: r\r\ncontent-length: {}\r\n\r\n1.5,-2.0,red\n", body.len());
        let mut buf = vec![0u8; 4096];
        let mut t = Vec::new();
        for i in 0..22000 {
            let st = Instant::now();
            s.write_all(msg.as_bytes()).await.unwrap();
            let mut got = 0;
            loop {
                let n = s.read(&mut buf[got..]).await.unwrap();
                got += n;
                let text = &buf[..got];
                if let Some(h) = text.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = std::str::from_utf8(&text[..h])
                        .unwrap()
                        .to_ascii_lowercase();
                    let cl: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .unwrap()
                        .trim()
                        .parse()
                        .unwrap();
                    if got >= h + 4 + cl {
                        break;
                    }
                }
            }
            if i >= 2000 {
                t.push(st.elapsed());
            }
        }
        println!("raw inline client: {}", pct(t));
    }
    let mut cold = Vec::new();
    for _ in 0..10 {
        pool.scale(0).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let s = Instant::now();
        pool.invoke(req.clone()).await.unwrap();
        cold.push(s.elapsed());
    }
    println!("cold start + first request: {}", pct(cold));
    pool.shutdown().await;
}
