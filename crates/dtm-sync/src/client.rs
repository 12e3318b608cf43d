//! The HTTP client that speaks the sync protocol to HQ: one reused connection pool,
//! zstd both ways (HQ of protocol 2 always speaks it), the protocol version on every
//! request.

use crate::wire::{
    ErrorBody, LoginRequest, LoginResponse, PullResponse, PushResponse, NEXT_CURSOR_HEADER, PROTOCOL_HEADER,
    PROTOCOL_VERSION,
};
use dtm_core::ErrorCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HQ cannot be reached: {0}")]
    Offline(String),
    #[error("{message}")]
    Api { status: u16, code: ErrorCode, message: String, op_id: Option<String> },
    #[error("HQ answered something this app cannot read: {0}")]
    Protocol(String),
}

impl ClientError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Offline(_) => ErrorCode::Offline,
            Self::Api { code, .. } => *code,
            Self::Protocol(_) => ErrorCode::ProtocolError,
        }
    }

    /// Worth retrying with the same operation IDs: the link failed or HQ was busy.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Offline(_) => true,
            Self::Api { status, .. } => *status >= 500 || *status == 429,
            Self::Protocol(_) => false,
        }
    }
}

/// A request body serialised and compressed, ready to send (and to send again on a retry).
#[derive(Debug, Clone)]
pub struct EncodedBody(bytes::Bytes);

/// Serialises and compresses a request body.
pub fn encode<B: Serialize>(body: &B) -> Result<EncodedBody, ClientError> {
    let json = serde_json::to_vec(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
    let compressed = zstd::bulk::compress(&json, 3).map_err(|e| ClientError::Protocol(format!("zstd failed: {e}")))?;
    Ok(EncodedBody(compressed.into()))
}

#[derive(Clone)]
pub struct HqClient {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    /// Operations not yet pushed, told to HQ with each request for its Devices page.
    pending: Option<u32>,
}

impl HqClient {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(90))
            .zstd(true)
            .build()
            .expect("the TLS backend initialises");
        Self { base: base.trim_end_matches('/').to_owned(), http, token: None, pending: None }
    }

    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Tells HQ how many operations wait in the outbox, with every request.
    pub fn with_pending(mut self, pending: u32) -> Self {
        self.pending = Some(pending);
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn login(&self, req: &LoginRequest) -> Result<LoginResponse, ClientError> {
        self.post("/api/v1/auth/login", req).await
    }

    /// Joins HQ with a one-time enrolment code, setting the account's password.
    pub async fn enrol(&self, req: &crate::accounts::EnrolRequest) -> Result<LoginResponse, ClientError> {
        self.post("/api/v1/enrol", req).await
    }

    /// Changes the signed-in account's password (also a one-time one).
    pub async fn change_password(&self, req: &crate::accounts::PasswordChange) -> Result<(), ClientError> {
        let req = self
            .http
            .post(format!("{}/api/v1/me/password", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(req).map_err(|e| ClientError::Protocol(e.to_string()))?);
        self.send_raw(req).await.map(|_| ())
    }

    /// Pushes a batch encoded beforehand (`encode` of a `PushRequest`), so the device
    /// can prepare the next batch while HQ applies this one.
    pub async fn push_encoded(&self, body: &EncodedBody) -> Result<PushResponse, ClientError> {
        self.post_encoded("/api/v1/sync/push", body).await
    }

    /// One pull page.
    pub async fn pull(&self, query: &PageQuery) -> Result<PullResponse, ClientError> {
        self.pull_head(query).await?.page().await
    }

    /// A pull page's answer as far as its headers: where the page ends, if more
    /// follow, is known before its body is read ([`PullHead::page`]).
    pub async fn pull_head(&self, query: &PageQuery) -> Result<PullHead, ClientError> {
        let PageQuery { cursor, limit, with_rounds, gazetteer, settled } = query;
        let mut url = format!("{}/api/v1/sync/pull?limit={limit}&rounds={with_rounds}", self.base);
        if let Some(c) = cursor {
            url.push_str("&cursor=");
            url.push_str(c);
        }
        if let Some(g) = gazetteer {
            url.push_str("&gazetteer=");
            url.push_str(g);
        }
        if let Some(s) = settled {
            url.push_str("&settled=");
            url.push_str(s);
        }
        let resp = self.send_head(self.http.get(url)).await?;
        let next = resp.headers().get(NEXT_CURSOR_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(PullHead { next, resp })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// Posts JSON compressed with zstd: field links are slow and sync bodies compress
    /// well (a push of 60-field saves to about a seventh of its size).
    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        self.post_encoded(path, &encode(body)?).await
    }

    async fn post_encoded<T: DeserializeOwned>(&self, path: &str, body: &EncodedBody) -> Result<T, ClientError> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::CONTENT_ENCODING, "zstd")
            .body(body.0.clone());
        self.send(req).await
    }

    /// Asks HQ to revoke this client's token (`POST /api/v1/auth/logout`, answered 204).
    /// One attempt within `timeout`: a logout HQ does not hear now is remembered by the
    /// device and sent again at the next connection.
    pub async fn logout(&self, timeout: Duration) -> Result<(), ClientError> {
        let req = self
            .http
            .post(format!("{}/api/v1/auth/logout", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body("{}")
            .timeout(timeout);
        self.send_raw(req).await.map(|_| ())
    }

    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let bytes = self.send_raw(req).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Sends a request; the body of a 2xx answer, or the error HQ gave.
    async fn send_raw(&self, req: reqwest::RequestBuilder) -> Result<bytes::Bytes, ClientError> {
        let resp = self.send_head(req).await?;
        resp.bytes().await.map_err(|e| ClientError::Offline(e.to_string()))
    }

    /// Sends a request; a 2xx answer with its body still to read, or the error HQ gave.
    async fn send_head(&self, mut req: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        req = req
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header(crate::wire::APP_VERSION_HEADER, env!("CARGO_PKG_VERSION"));
        if let Some(pending) = self.pending {
            req = req.header(crate::wire::PENDING_HEADER, pending.to_string());
        }
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.map_err(|e| ClientError::Offline(e.to_string()))?;
        let status = resp.status();
        if status.is_success() {
            Ok(resp)
        } else {
            let bytes = resp.bytes().await.map_err(|e| ClientError::Offline(e.to_string()))?;
            match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => Err(ClientError::Api {
                    status: status.as_u16(),
                    code: body.error.code,
                    message: body.error.message,
                    op_id: body.error.op_id,
                }),
                Err(_) => Err(ClientError::Api {
                    status: status.as_u16(),
                    code: if status.is_server_error() { ErrorCode::HqUnavailable } else { ErrorCode::HttpError },
                    message: format!("HQ answered {status}"),
                    op_id: None,
                }),
            }
        }
    }
}

/// What a pull page is asked for with.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// Where the page starts: the cursor of the page before, none for the beginning.
    pub cursor: Option<String>,
    /// Assessments it holds at most.
    pub limit: u32,
    /// Every round too (the first page of a sync).
    pub with_rounds: bool,
    /// The device's gazetteer cursor (empty for none yet): the page carries the
    /// gazetteer's changes since it.
    pub gazetteer: Option<String>,
    /// The device's cursor of settled conflicts: the page carries the settlements of
    /// this device's conflicts since it.
    pub settled: Option<String>,
}

/// A pull page's answer whose headers have arrived; see [`HqClient::pull_head`].
pub struct PullHead {
    /// Where the page ends, when more pages follow it (HQ's `x-dtm-next-cursor`).
    pub next: Option<String>,
    resp: reqwest::Response,
}

impl PullHead {
    /// Reads and decodes the page's body.
    pub async fn page(self) -> Result<PullResponse, ClientError> {
        let bytes = self.resp.bytes().await.map_err(|e| ClientError::Offline(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }
}
