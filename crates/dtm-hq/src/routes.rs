//! HQ's HTTP API under `/api/v1`, and the web dashboard at `/`.

use crate::auth;
use crate::error::{ApiJson, AppError};
use crate::storage::{Caller, HqStorage, NewDevice, StorageError};
use crate::Settings;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use dtm_core::{AssessmentKey, AssessmentStatus, FormDef, Gazetteer, Pcode, Round};
use dtm_sync::api::{AssessmentDetail, AssessmentParts, AssessmentSummary};
use dtm_sync::wire::{
    self, AssessmentSnapshot, LoginRequest, LoginResponse, OpBody, Operation, PullResponse, PushRequest, PushResponse,
    ReviewRequest, RoundForm, RoundInfo, User,
};
use serde::Deserialize;
use std::sync::Arc;
use time::OffsetDateTime;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// The wall clock, passed in so tests can move time (token expiry).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn HqStorage>,
    pub settings: Arc<Settings>,
    pub clock: Clock,
}

impl AppState {
    pub fn new(storage: Arc<dyn HqStorage>, settings: Settings) -> Self {
        Self { storage, settings: Arc::new(settings), clock: Arc::new(OffsetDateTime::now_utc) }
    }

    fn now(&self) -> String {
        iso((self.clock)())
    }
}

fn iso(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("UTC time formats")
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Transition(t) => t.into(),
            StorageError::NotFound(m) => AppError::not_found(m),
            StorageError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// The HQ application. A function, so tests can run it in-process or on a real port.
pub fn router(state: AppState) -> Router {
    let ui_dir = state.settings.ui_dir.clone();
    let max_body = state.settings.max_body_bytes;
    let api = Router::new()
        .route("/auth/login", post(login))
        .route("/me", get(me))
        .route("/rounds", get(rounds))
        .route("/forms/{form}", get(form))
        .route("/rounds/{round}/assessments", get(round_assessments))
        .route("/assessments/{round}/{form}/{pcode}", get(assessment))
        .route("/assessments/{round}/{form}/{pcode}/review", post(review))
        .route("/sync/push", post(push))
        .route("/sync/pull", get(pull))
        .fallback(|| async { AppError::not_found("no such API endpoint") });
    let ui = ServeDir::new(&ui_dir).fallback(ServeFile::new(ui_dir.join("index.html")));
    Router::new()
        .nest("/api/v1", api)
        .fallback_service(ui)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new())
        .with_state(state)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(AppError::unauthenticated)?;
        state.storage.caller(&auth::token_hash(token.trim()), &state.now()).await?.ok_or_else(AppError::unauthenticated)
    }
}

/// Refuses devices whose protocol HQ no longer speaks; their outbox stays intact.
fn check_protocol(headers: &HeaderMap) -> Result<(), AppError> {
    let Some(v) = headers.get(wire::PROTOCOL_HEADER) else {
        return Err(AppError::bad_request(
            "protocol_missing",
            format!("sync requests must send {}", wire::PROTOCOL_HEADER),
        ));
    };
    let version: u32 = v.to_str().ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    if version < wire::MIN_PROTOCOL_VERSION {
        return Err(AppError::new(
            StatusCode::UPGRADE_REQUIRED,
            "update_required",
            "this app is too old for HQ; update the app. Your unsent data is kept on the device.",
        ));
    }
    if version > wire::PROTOCOL_VERSION {
        return Err(AppError::new(
            StatusCode::UPGRADE_REQUIRED,
            "hq_too_old",
            "this app is newer than HQ; HQ must be updated before it can sync. Your data is kept on the device.",
        ));
    }
    Ok(())
}

async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, AppError> {
    let found = state.storage.user_for_login(&req.username).await?;
    let password = req.password.clone();
    let (user, ok) = match found {
        Some((user, hash)) => {
            let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            (Some(user), ok)
        }
        None => {
            // Spend the same time on unknown users as on wrong passwords.
            let _ = tokio::task::spawn_blocking(move || auth::verify_password(&password, auth::decoy_hash())).await;
            (None, false)
        }
    };
    let user = match (user, ok) {
        (Some(user), true) => user,
        _ => return Err(AppError::new(StatusCode::UNAUTHORIZED, "bad_credentials", "wrong username or password")),
    };
    let token = auth::new_token();
    let now = (state.clock)();
    let expires_at = iso(now + time::Duration::days(state.settings.token_days));
    let device_id = uuid::Uuid::now_v7().to_string();
    state
        .storage
        .register_device(NewDevice {
            device_id: device_id.clone(),
            username: user.username.clone(),
            name: req.device_name,
            token_hash: auth::token_hash(&token),
            created_at: iso(now),
            expires_at: expires_at.clone(),
        })
        .await?;
    Ok(Json(LoginResponse { token, user, device_id, expires_at }))
}

async fn me(caller: Caller) -> Json<User> {
    Json(caller.user())
}

fn round_info(r: &Round) -> RoundInfo {
    RoundInfo {
        code: r.code.clone(),
        number: r.number,
        title: r.title.clone(),
        status: r.status,
        window_start: r.window_start.clone(),
        window_end: r.window_end.clone(),
        forms: r.forms.iter().map(|(form, version)| RoundForm { form: form.clone(), version: *version }).collect(),
    }
}

async fn rounds(State(state): State<AppState>, _caller: Caller) -> Result<Json<Vec<RoundInfo>>, AppError> {
    Ok(Json(state.storage.rounds().await?.iter().map(round_info).collect()))
}

#[derive(Deserialize)]
struct FormQuery {
    version: Option<u32>,
}

async fn form(
    _caller: Caller,
    Path(form): Path<String>,
    Query(q): Query<FormQuery>,
) -> Result<Json<FormDef>, AppError> {
    match q.version {
        Some(v) => FormDef::builtin(&form, v),
        None => FormDef::latest(&form),
    }
    .cloned()
    .map(Json)
    .ok_or_else(|| AppError::new(StatusCode::NOT_FOUND, "unknown_form", format!("there is no form `{form}`")))
}

fn parts_of(s: AssessmentSnapshot) -> AssessmentParts {
    AssessmentParts {
        key: s.key,
        status: s.status,
        version: s.version,
        form_version: s.form_version,
        open_conflicts: s.open_conflicts,
        pending_ops: 0,
        values: s.fields.into_iter().map(|(f, v)| (f, v.value)).collect(),
        comments: s.comments,
        pending_fields: vec![],
        previous: None,
        children: vec![],
    }
}

fn not_started(key: AssessmentKey, form_version: u32) -> AssessmentParts {
    AssessmentParts {
        key,
        status: AssessmentStatus::NotStarted,
        version: 0,
        form_version,
        open_conflicts: 0,
        pending_ops: 0,
        values: Default::default(),
        comments: vec![],
        pending_fields: vec![],
        previous: None,
        children: vec![],
    }
}

/// The UI's view of an assessment, with its previous round and child-level totals
/// so that every check shows.
async fn detail_of(state: &AppState, mut parts: AssessmentParts) -> Result<AssessmentDetail, AppError> {
    if let Some(form) = FormDef::builtin(&parts.key.form, parts.form_version) {
        let (previous, children) = state.storage.context(&parts.key, form).await?;
        parts.previous = previous;
        parts.children = children;
    }
    Ok(parts.detail())
}

async fn find_round(state: &AppState, code: &str) -> Result<Round, AppError> {
    state
        .storage
        .rounds()
        .await?
        .into_iter()
        .find(|r| r.code == code)
        .ok_or_else(|| AppError::new(StatusCode::NOT_FOUND, "unknown_round", format!("there is no round `{code}`")))
}

/// Completeness: every location in the caller's scope for each form of the round,
/// `not_started` where nothing has reached HQ.
async fn round_assessments(
    State(state): State<AppState>,
    caller: Caller,
    Path(round): Path<String>,
) -> Result<Json<Vec<AssessmentSummary>>, AppError> {
    let r = find_round(&state, &round).await?;
    let stored = state.storage.round_assessments(&round, &caller.scope).await?;
    let mut by_key: std::collections::BTreeMap<AssessmentKey, AssessmentSnapshot> =
        stored.into_iter().map(|s| (s.key.clone(), s)).collect();
    let mut out = Vec::new();
    for (form_id, version) in &r.forms {
        let Some(form) = FormDef::builtin(form_id, *version) else { continue };
        for loc in Gazetteer::libya().in_scope(&caller.scope, form.level) {
            let key = AssessmentKey::new(&round, form_id, loc.pcode.clone());
            let parts = match by_key.remove(&key) {
                Some(s) => parts_of(s),
                None => not_started(key, *version),
            };
            out.push(parts.summary());
        }
    }
    state.storage.log_access(&caller.username, "list_assessments", &round, &state.now()).await?;
    Ok(Json(out))
}

/// Parses and checks an assessment address from a URL: a known form, a known P-code
/// at the form's level, inside the caller's scope.
fn check_key(caller: &Caller, round: &str, form: &str, pcode: &str) -> Result<AssessmentKey, AppError> {
    let def = FormDef::latest(form)
        .ok_or_else(|| AppError::new(StatusCode::NOT_FOUND, "unknown_form", format!("there is no form `{form}`")))?;
    let location = Pcode::parse(pcode).map_err(|_| AppError::unknown_pcode(pcode))?;
    if Gazetteer::libya().get(pcode).is_none() {
        return Err(AppError::unknown_pcode(pcode));
    }
    if location.level() != def.level {
        return Err(AppError::unprocessable(
            "wrong_level",
            format!("{pcode} is a level-{} location; the {form} form is for level {}", location.level(), def.level),
        ));
    }
    if !caller.scope.contains(&location) {
        return Err(AppError::out_of_scope(pcode));
    }
    Ok(AssessmentKey::new(round, form, location))
}

async fn assessment(
    State(state): State<AppState>,
    caller: Caller,
    Path((round, form, pcode)): Path<(String, String, String)>,
) -> Result<Json<AssessmentDetail>, AppError> {
    let key = check_key(&caller, &round, &form, &pcode)?;
    let r = find_round(&state, &round).await?;
    let parts = match state.storage.assessment(&key).await? {
        Some(s) => parts_of(s),
        None => not_started(key.clone(), r.form_version(&form).unwrap_or(1)),
    };
    state.storage.log_access(&caller.username, "read_assessment", &key.to_string(), &state.now()).await?;
    Ok(Json(detail_of(&state, parts).await?))
}

async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path((round, form, pcode)): Path<(String, String, String)>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Json<AssessmentDetail>, AppError> {
    let key = check_key(&caller, &round, &form, &pcode)?;
    if !caller.role.reviews() {
        return Err(AppError::forbidden("only supervisors and admins review assessments"));
    }
    let snap = state.storage.review(&caller, &key, req.decision, &req.comment, &state.now()).await?;
    Ok(Json(detail_of(&state, parts_of(snap)).await?))
}

/// Checks what a pushed operation says about itself, before anything is written.
/// State-dependent refusals (a closed round, a locked assessment) are per-operation
/// outcomes instead, decided inside the transaction.
fn check_op(caller: &Caller, op: &Operation) -> Result<(), AppError> {
    if uuid::Uuid::parse_str(&op.op_id).is_err() {
        return Err(AppError::unprocessable("malformed_op", format!("op_id `{}` is not a UUID", op.op_id)));
    }
    let form = FormDef::builtin(&op.key.form, op.form_version).ok_or_else(|| {
        AppError::unprocessable(
            "unknown_form",
            format!("there is no form `{}` version {}", op.key.form, op.form_version),
        )
    })?;
    let pcode = op.key.location.as_str();
    if Gazetteer::libya().get(pcode).is_none() {
        return Err(AppError::unprocessable("unknown_pcode", format!("`{pcode}` is not a location in the gazetteer")));
    }
    if op.key.location.level() != form.level {
        return Err(AppError::unprocessable("wrong_level", format!("{pcode} is not a level-{} location", form.level)));
    }
    if !caller.scope.contains(&op.key.location) {
        return Err(AppError::out_of_scope(pcode));
    }
    if let OpBody::SetField { field, value, .. } = &op.body {
        if let Err(e) = form.check_value(field, value) {
            return Err(AppError::unprocessable(e.code(), e.to_string()));
        }
    }
    Ok(())
}

async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, AppError> {
    check_protocol(&headers)?;
    for op in &req.ops {
        check_op(&caller, op).map_err(|e| e.for_op(&op.op_id))?;
    }
    let results = state.storage.push(&caller, req.ops, &state.now()).await?;
    Ok(Json(PushResponse { results }))
}

#[derive(Deserialize)]
struct PullQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Query(q): Query<PullQuery>,
) -> Result<Json<PullResponse>, AppError> {
    check_protocol(&headers)?;
    let epoch = state.storage.epoch().await?;
    // A cursor from another epoch (a restored or replaced HQ) starts again from zero.
    let after = match q.cursor.as_deref().and_then(|c| c.split_once(':')) {
        Some((e, seq)) if e == epoch => seq
            .parse()
            .map_err(|_| AppError::bad_request("malformed_cursor", "the pull cursor is not one HQ gave out"))?,
        _ => 0,
    };
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let page = state.storage.pull(&caller.scope, after, limit).await?;
    let rounds = state.storage.rounds().await?.iter().map(round_info).collect();
    Ok(Json(PullResponse {
        rounds,
        assessments: page.assessments,
        cursor: format!("{epoch}:{}", page.last_seq),
        has_more: page.has_more,
    }))
}
