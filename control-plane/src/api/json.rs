//! A JSON body extractor whose rejections are Confluent-shaped 400s naming
//! the problem, instead of axum's plain-text 415/422.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.is_empty() && !ct.to_ascii_lowercase().contains("json") {
            return Err(ApiError::bad_request(format!(
                "Content-Type must be application/json, not {ct}"
            )));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("could not read request body: {e}")))?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request(
                "request body is empty; a JSON object is required",
            ));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if path.is_empty() || path == "." {
                    ApiError::bad_request(format!("malformed JSON body: {inner}"))
                } else {
                    ApiError::invalid_field(
                        path.clone(),
                        format!("invalid JSON at {path}: {inner}"),
                    )
                }
            })
    }
}
