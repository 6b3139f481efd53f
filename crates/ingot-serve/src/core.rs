//! The replica core: hosts one variant's models (a fixed pipeline, or many models chosen per
//! request) and answers [`InvokeRequest`]s: decode the body, score (batched or alone), encode.
//! The same code runs inside the server process and inside replica child processes.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use ingot_catalog::Predictions;

use crate::batching::Batcher;
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
}

impl ReplicaCore {
    /// Loads the variant's fixed pipeline (multi-model replicas start empty) and starts its
    /// batcher when batching is on. Call inside a tokio runtime.
    pub async fn start(spec: ReplicaSpec, source: Arc<dyn ModelSource>) -> Result<ReplicaCore> {
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
        let inline = request.body.len() <= INLINE_SCORING_BYTES;
        let answered = served.answering().clone();
        let model_version = format!("{}:{}", answered.model, answered.version);
        let (content_type, body) = match batcher {
            Some(batcher) => {
                let decoded = decode(&request, &served)?;
                let predictions = batcher.predict(decoded.batch.clone()).await?;
                encode(&request, &decoded, &predictions, &model_version)?
            }
            None => {
                let work = move || -> Result<(String, Vec<u8>)> {
                    let decoded = decode(&request, &served)?;
                    let predictions = served.predict(&decoded.batch)?;
                    encode(&request, &decoded, &predictions, &model_version)
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
            })
        }
        Protocol::Oip => {
            let decoded = oip::decode_infer(&request.body, schema)?;
            Ok(Decoded {
                batch: decoded.batch,
                response: None,
                oip_id: decoded.id,
                oip_outputs: decoded.outputs,
            })
        }
    }
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
