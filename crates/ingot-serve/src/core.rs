//! The replica core: hosts one variant's models (a fixed pipeline, or many models chosen per
//! request) and answers [`InvokeRequest`]s: decode the body, score (batched or alone), encode.
//! The same code runs inside the server process and inside replica child processes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use ingot_catalog::Predictions;

use crate::batching::Batcher;
use crate::codec::decode_csv_dense;
use crate::explain::{explanations, KernelBackground};
use crate::model_lru::ModelLru;
use crate::replica::{InvokeRequest, InvokeResponse, ModelSource, Protocol, ReplicaSpec};
use crate::served::Served;
use crate::{decode_request, encode_response, oip, Error, RequestFormat, ResponseFormat, Result};

/// Bodies up to this size are scored on the calling task; larger ones on the blocking pool.
const INLINE_SCORING_BYTES: usize = 64 * 1024;

/// One replica's models and the logic answering requests with them.
pub struct ReplicaCore {
    spec: ReplicaSpec,
    source: Arc<dyn ModelSource>,
    fixed: Option<(Arc<Served>, Option<Batcher>)>,
    models: Option<ModelLru>,
    /// KernelSHAP background of the fixed pipeline (`EndpointConfig.explain`).
    background: Option<Arc<KernelBackground>>,
    /// Requests being answered now.
    in_flight: AtomicUsize,
}

/// Counts a request in flight until dropped.
struct InFlight<'a>(&'a AtomicUsize);

impl InFlight<'_> {
    /// Counts one more; also returns how many were in flight with it.
    fn enter(count: &AtomicUsize) -> (InFlight<'_>, usize) {
        let others = count.fetch_add(1, Ordering::Relaxed);
        (InFlight(count), others)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ReplicaCore {
    /// Loads the variant's fixed pipeline (multi-model replicas start empty) and starts its
    /// batcher when batching is on. Call inside a tokio runtime.
    pub async fn start(spec: ReplicaSpec, source: Arc<dyn ModelSource>) -> Result<ReplicaCore> {
        let mut background = None;
        let (fixed, models) = match &spec.multi_model {
            Some(multi) => (None, Some(ModelLru::new(multi.memory_budget_bytes))),
            None => {
                let mut steps = Vec::with_capacity(spec.steps.len());
                for step in &spec.steps {
                    steps.push((step.clone(), source.fetch(&step.artifact_hash).await?));
                }
                let served = tokio::task::spawn_blocking(move || Served::decode(steps))
                    .await
                    .map_err(|e| Error::Internal(format!("model load task failed: {e}")))??;
                let served = Arc::new(served);
                background = match &spec.explain_background {
                    Some(config) => {
                        let bytes = source.fetch(&config.content_hash).await?;
                        let (config, for_load) = (config.clone(), served.clone());
                        let loaded = tokio::task::spawn_blocking(move || {
                            KernelBackground::load(&config, &bytes, &for_load)
                        })
                        .await
                        .map_err(|e| Error::Internal(format!("background load failed: {e}")))??;
                        Some(Arc::new(loaded))
                    }
                    None => None,
                };
                let batcher = spec
                    .batching
                    .clone()
                    .map(|config| Batcher::start(served.clone(), config));
                (Some((served, batcher)), None)
            }
        };
        Ok(ReplicaCore {
            spec,
            source,
            fixed,
            models,
            background,
            in_flight: AtomicUsize::new(0),
        })
    }

    /// The spec this replica serves.
    pub fn spec(&self) -> &ReplicaSpec {
        &self.spec
    }

    /// The fixed pipeline (absent on multi-model replicas).
    pub fn served(&self) -> Option<&Arc<Served>> {
        self.fixed.as_ref().map(|(served, _)| served)
    }

    /// Models loaded now.
    pub fn loaded_models(&self) -> usize {
        match &self.models {
            Some(lru) => lru.loaded(),
            None => self.fixed.as_ref().map_or(0, |_| 1),
        }
    }

    /// Models evicted by the multi-model cache.
    pub fn evictions(&self) -> u64 {
        self.models.as_ref().map_or(0, ModelLru::evictions)
    }

    /// Answers one request.
    pub async fn invoke(&self, request: InvokeRequest) -> Result<InvokeResponse> {
        let started = Instant::now();
        let (_in_flight, others) = InFlight::enter(&self.in_flight);
        let (served, batcher) = match (&self.fixed, &self.models) {
            (Some((served, batcher)), _) => (served.clone(), batcher.as_ref()),
            (None, Some(lru)) => {
                let target = request.target.as_ref().ok_or_else(|| {
                    Error::BadBody(
                        "this is a multi-model endpoint: name the model in the \
                         X-Ingot-Target-Model header (NAME or NAME:VERSION)"
                            .into(),
                    )
                })?;
                (lru.get(target, &self.source).await?, None)
            }
            (None, None) => return Err(Error::Unavailable("replica has no model".into())),
        };
        // Explanations (many model calls per row) always run on the blocking pool.
        let inline = request.body.len() <= INLINE_SCORING_BYTES && !request.explain;
        let background = match (&self.fixed, &self.background) {
            (Some(_), Some(background)) => Some(background.clone()),
            _ => None,
        };
        let answered = served.answering().clone();
        let model_version = format!("{}:{}", answered.model, answered.version);
        let (content_type, body) = match batcher {
            // Explained requests are scored alone: the batcher only answers predictions.
            Some(batcher) if !request.explain => {
                let decoded = decode(&request, &served)?;
                let predictions = batcher.predict(decoded.batch.clone()).await?;
                encode(&request, &decoded, &predictions, &model_version)?
            }
            _ => {
                let work = move || -> Result<(String, Vec<u8>)> {
                    if let Some(answer) = answer_dense(&request, &served)? {
                        return Ok(answer);
                    }
                    let decoded = decode(&request, &served)?;
                    let predictions = served.predict(&decoded.batch)?;
                    if decoded.explain {
                        let explanations =
                            explanations(&served, &decoded.batch, background.as_deref())?;
                        return encode_explained(
                            &request,
                            &decoded,
                            &predictions,
                            &model_version,
                            explanations,
                        );
                    }
                    encode(&request, &decoded, &predictions, &model_version)
                };
                // With other requests in flight, the cores already have work: a request is
                // scored on one thread rather than split across the rayon pool.
                let work = move || {
                    if others > 0 {
                        ingot_gbdt::ensemble::on_this_thread(work)
                    } else {
                        work()
                    }
                };
                if inline {
                    work()?
                } else {
                    tokio::task::spawn_blocking(work)
                        .await
                        .map_err(|e| Error::Internal(format!("scoring task failed: {e}")))??
                }
            }
        };
        Ok(InvokeResponse {
            content_type,
            body: body.into(),
            model: answered.model,
            version: answered.version,
            model_micros: started.elapsed().as_micros() as u64,
        })
    }
}

/// A request body read against the served model's schema.
struct Decoded {
    batch: RecordBatch,
    response: Option<ResponseFormat>,
    oip_id: Option<String>,
    oip_outputs: Option<Vec<String>>,
    /// Explanations were asked for (`?explain=true` or OIP `parameters.explain`).
    explain: bool,
}

fn decode(request: &InvokeRequest, served: &Served) -> Result<Decoded> {
    let schema = served.input_schema();
    match request.protocol {
        Protocol::Invocations => {
            let content_type =
                request
                    .content_type
                    .as_deref()
                    .ok_or_else(|| Error::UnsupportedMediaType {
                        content_type: String::new(),
                    })?;
            let format = RequestFormat::from_content_type(content_type)?;
            let response = ResponseFormat::from_accept(request.accept.as_deref(), format)?;
            Ok(Decoded {
                batch: decode_request(&request.body, format, schema)?,
                response: Some(response),
                oip_id: None,
                oip_outputs: None,
                explain: request.explain,
            })
        }
        Protocol::Oip => {
            let decoded = oip::decode_infer(&request.body, schema)?;
            Ok(Decoded {
                batch: decoded.batch,
                response: None,
                oip_id: decoded.id,
                oip_outputs: decoded.outputs,
                explain: request.explain || decoded.explain,
            })
        }
    }
}

/// The answer to a CSV invocation read straight into dense rows, skipping Arrow, when the
/// served pipeline reads them (one imported tree model) and no explanation is asked for;
/// `None` when the request takes the batch path. Errors are those [`decode`] would raise.
fn answer_dense(request: &InvokeRequest, served: &Served) -> Result<Option<(String, Vec<u8>)>> {
    if request.protocol != Protocol::Invocations || request.explain || !served.reads_dense_rows() {
        return Ok(None);
    }
    let Some(content_type) = request.content_type.as_deref() else {
        return Ok(None);
    };
    let format = RequestFormat::from_content_type(content_type)?;
    let RequestFormat::Csv { header } = format else {
        return Ok(None);
    };
    let response = ResponseFormat::from_accept(request.accept.as_deref(), format)?;
    let rows = decode_csv_dense(&request.body, header, served.input_schema())?;
    let predictions = served.predict_dense(&rows)?;
    Ok(Some((
        response.content_type().to_string(),
        encode_response(&predictions, response),
    )))
}

fn encode(
    request: &InvokeRequest,
    decoded: &Decoded,
    predictions: &Predictions,
    model_version: &str,
) -> Result<(String, Vec<u8>)> {
    match decoded.response {
        Some(format) => Ok((
            format.content_type().to_string(),
            encode_response(predictions, format),
        )),
        None => Ok((
            "application/json".to_string(),
            oip::encode_infer(
                predictions,
                &request.endpoint,
                model_version,
                decoded.oip_id.as_deref(),
                decoded.oip_outputs.as_deref(),
            )?,
        )),
    }
}

/// The answer with explanations: always JSON. `/invocations` answers
/// `{"predictions": [...], "explanations": [...]}` whatever the `Accept`; OIP answers its usual
/// tensors with the explanations in `parameters.explanations`.
fn encode_explained(
    request: &InvokeRequest,
    decoded: &Decoded,
    predictions: &Predictions,
    model_version: &str,
    explanations: Vec<serde_json::Value>,
) -> Result<(String, Vec<u8>)> {
    let mut answer = match decoded.response {
        Some(_) => predictions.to_json(),
        None => {
            let bytes = oip::encode_infer(
                predictions,
                &request.endpoint,
                model_version,
                decoded.oip_id.as_deref(),
                decoded.oip_outputs.as_deref(),
            )?;
            serde_json::from_slice(&bytes)
                .map_err(|e| Error::Internal(format!("OIP answer is not JSON: {e}")))?
        }
    };
    let explanations = serde_json::Value::Array(explanations);
    match decoded.response {
        Some(_) => answer["explanations"] = explanations,
        None => answer["parameters"] = serde_json::json!({ "explanations": explanations }),
    }
    Ok((
        "application/json".to_string(),
        answer.to_string().into_bytes(),
    ))
}
