//! The one error type of HQ's HTTP API. Clients get a stable code and a message;
//! internal detail (SQL, panics) is logged, never sent.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dtm_sync::api::ErrorCode;
use dtm_sync::wire::{ApiError, ErrorBody};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    Client { status: StatusCode, code: ErrorCode, message: String, op_id: Option<String> },
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Client { status, code, message: message.into(), op_id: None }
    }

    /// Names the pushed operation that caused this error.
    pub fn for_op(self, id: &str) -> Self {
        match self {
            Self::Client { status, code, message, .. } => {
                Self::Client { status, code, message, op_id: Some(id.to_owned()) }
            }
            other => other,
        }
    }
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unprocessable(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            "the token is unknown, revoked or expired; log in again",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }
    pub fn out_of_scope(pcode: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::OutOfScope, format!("{pcode} is outside your assigned area"))
    }
    pub fn unknown_pcode(pcode: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::UnknownPcode,
            format!("`{pcode}` is not a location in the gazetteer"),
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<dtm_core::TextTooLong> for AppError {
    fn from(e: dtm_core::TextTooLong) -> Self {
        Self::unprocessable(e.code(), e.to_string())
    }
}

impl From<dtm_core::TransitionError> for AppError {
    fn from(e: dtm_core::TransitionError) -> Self {
        let status = match e {
            dtm_core::TransitionError::NotAReviewer | dtm_core::TransitionError::OwnEntry => StatusCode::FORBIDDEN,
            dtm_core::TransitionError::CommentRequired => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message, op_id) = match self {
            Self::Client { status, code, message, op_id } => (status, code, message, op_id),
            Self::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "HQ hit an internal error; nothing was changed".to_owned(),
                    None,
                )
            }
        };
        let body = ErrorBody { error: ApiError { code, message, op_id } };
        (status, axum::Json(body)).into_response()
    }
}

/// A JSON body whose every rejection answers in the API's error format: 413
/// `body_too_large`, 415 without a JSON content type, 400 `malformed_body` for text
/// that is not JSON and 422 `malformed_body` for JSON of the wrong shape.
///
/// It reads with serde_json directly rather than through `axum::Json`, which tracks
/// the path of every value it reads: a push of 2,000 sixty-field saves is parsed in
/// half the time.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == "application" && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
            });
        if !json {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::MalformedBody,
                "the body must be JSON, sent with `content-type: application/json`",
            ));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorCode::BodyTooLarge,
                    "the request body is larger than HQ accepts; send smaller batches",
                ))
            }
            Err(rejection) => {
                return Err(AppError::new(rejection.status(), ErrorCode::MalformedBody, rejection.body_text()))
            }
        };
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            let status = match e.classify() {
                serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_REQUEST,
            };
            AppError::new(status, ErrorCode::MalformedBody, format!("the body could not be read: {e}"))
        })
    }
}

/// Keeps the API's promise that every non-2xx answer is `{"error": {code, message}}`,
/// whoever made it: axum's own rejections (a query or path value of the wrong type, a
/// method not allowed), the body limit, request decompression, the static files.
/// Answers already in JSON (every [`AppError`]) pass unchanged.
pub async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    // What axum says of a rejection is plain and safe ("Failed to deserialize query
    // string: limit: invalid digit found in string"); it is kept, bounded.
    let said = axum::body::to_bytes(body, 1024).await.unwrap_or_default();
    let said = String::from_utf8_lossy(&said).trim().to_owned();
    let code = match status {
        StatusCode::BAD_REQUEST => ErrorCode::MalformedRequest,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::URI_TOO_LONG => ErrorCode::UriTooLong,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::MalformedRequest,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let message = if said.is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("the request was refused").to_owned()
    } else {
        said
    };
    let mut out = (status, axum::Json(ErrorBody { error: ApiError { code, message, op_id: None } })).into_response();
    // Keep what the layer below said beyond the body (Allow on a 405, Retry-After).
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// The longest request target HQ reads. No API path or query comes near it; longer
/// ones are refused here with the API's error format. (Beyond 64 KiB the HTTP layer
/// itself answers 414 before HQ sees the request, with no body.)
pub const MAX_URI_BYTES: usize = 8 * 1024;

pub async fn limit_uri(req: Request, next: axum::middleware::Next) -> Response {
    // The request target as sent (origin form: path and query), measured without copying.
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return AppError::new(
            StatusCode::URI_TOO_LONG,
            ErrorCode::UriTooLong,
            format!("the request's address is longer than the {MAX_URI_BYTES} bytes HQ reads"),
        )
        .into_response();
    }
    next.run(req).await
}
