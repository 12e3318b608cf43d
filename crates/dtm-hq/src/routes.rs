//! HQ's HTTP API under `/api/v1`, and the web dashboard at `/`.

use crate::auth;
use crate::error::{ApiJson, AppError};
use crate::login::LoginThrottle;
use crate::login_guard::LoginPolicy;
use crate::storage::{Caller, HqStorage, StorageError};
use crate::Settings;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use dtm_core::form::Child;
use dtm_core::ErrorCode;
use dtm_core::{exchange, hxl};
use dtm_core::{AssessmentKey, AssessmentStatus, FormDef, Forms, Gazetteer, Pcode, Role, Round, RoundStatus};
use dtm_sync::api::{AssessmentDetail, AssessmentParts, AssessmentSummary};
use dtm_sync::rounds::{
    ImportRejected, ImportReport, LocationTotals, NewRound, PreviousTotals, RoundStatusChange, TotalsInclude,
};
use dtm_sync::wire::{
    self, AssessmentSnapshot, OpBody, Operation, PullResponse, PushRequest, PushResponse, ReviewRequest, RoundInfo,
};
use dtm_sync::wire::{ApiError, ErrorBody};
use serde::{Deserialize, Serialize};
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
    pub login: Arc<LoginThrottle>,
}

impl AppState {
    pub fn new(storage: Arc<dyn HqStorage>, settings: Settings) -> Self {
        Self {
            storage,
            settings: Arc::new(settings),
            clock: Arc::new(OffsetDateTime::now_utc),
            login: Arc::new(LoginThrottle::new(LoginPolicy::default())),
        }
    }

    /// The same state with other login limits (tests use small ones).
    pub fn with_login_policy(mut self, policy: LoginPolicy) -> Self {
        self.login = Arc::new(LoginThrottle::new(policy));
        self
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }
}

pub(crate) use crate::store::iso;

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Transition(t) => t.into(),
            StorageError::NotFound(m) => AppError::not_found(m),
            StorageError::Conflict { code, message } => AppError::conflict(code, message),
            StorageError::Denied { code, message } => AppError::new(StatusCode::FORBIDDEN, code, message),
            StorageError::Invalid { code, message } => AppError::unprocessable(code, message),
            StorageError::Gone { code, message } => AppError::new(StatusCode::GONE, code, message),
            StorageError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// The HQ application. A function, so tests can run it in-process or on a real port.
pub fn router(state: AppState) -> Router {
    let ui_dir = state.settings.ui_dir.clone();
    let max_body = state.settings.max_body_bytes;
    let api = Router::new()
        .route("/auth/login", post(crate::login::login))
        .route("/auth/logout", post(crate::login::logout))
        .route("/users/{username}/unlock", post(crate::login::unlock_user))
        .route("/me", get(me))
        .route("/rounds", get(rounds).post(create_round))
        .route("/rounds/{round}/status", post(set_round_status))
        .route("/rounds/{round}/import", post(import_round))
        .route("/rounds/{round}/totals", get(round_totals))
        .route("/rounds/{round}/export.csv", get(export_csv))
        .route("/rounds/{round}/export.xlsx", get(export_xlsx))
        .route("/rounds/{round}/export.json", get(export_json))
        .route("/rounds/{round}/publish.xlsx", get(publish_xlsx))
        .route("/rounds/{round}/key-figures", get(key_figures))
        .route("/gazetteer/search", get(search_locations))
        .route("/locations", get(crate::places::list).post(crate::places::add))
        .route("/locations/{pcode}", axum::routing::patch(crate::places::change))
        .route("/rounds/{round}/conflicts", get(list_conflicts))
        .route("/conflicts/{id}/resolve", post(resolve_conflict))
        .route("/devices", get(crate::people::devices))
        .route("/devices/{id}/revoke", post(revoke_device))
        .route("/devices/{id}/hand-over", post(hand_over_device))
        .route("/users", get(crate::people::list).post(crate::people::create))
        .route("/users/{username}", axum::routing::patch(crate::people::change))
        .route("/users/{username}/disable", post(crate::people::disable))
        .route("/users/{username}/enable", post(crate::people::enable))
        .route("/users/{username}/password-reset", post(crate::people::reset_password))
        .route("/users/{username}/enrolments", post(crate::people::issue_enrolment))
        .route("/me/password", post(crate::people::change_password))
        .route("/enrol", post(crate::people::enrol))
        .route("/audit", get(crate::people::audit))
        .route("/audit.csv", get(crate::people::audit_csv))
        .route("/forms", get(forms))
        .route("/forms/{form}", get(form))
        .route("/rounds/{round}/assessments", get(round_assessments))
        .route("/assessments/{round}/{form}/{pcode}", get(assessment))
        .route("/assessments/{round}/{form}/{pcode}/review", post(review))
        .route("/sync/push", post(push))
        .route("/sync/pull", get(pull))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .fallback(|| async { AppError::not_found("no such API endpoint") });
    let ui = ServeDir::new(&ui_dir).fallback(ServeFile::new(ui_dir.join("index.html")));
    // A path the file system cannot even look up (a 300-character segment, say) is a
    // page that does not exist, not an HQ fault.
    let ui = tower::ServiceExt::<axum::extract::Request>::map_response(ui, |resp: axum::http::Response<_>| {
        use axum::response::IntoResponse;
        if resp.status().is_server_error() {
            AppError::not_found("there is no such page").into_response()
        } else {
            resp.into_response()
        }
    });
    let router = Router::new()
        .nest("/api/v1", crate::headers::no_store(api))
        .fallback_service(ui)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestDecompressionLayer::new())
        // Around everything that can refuse a request (decompression's 415 included),
        // inside the compression of the answer.
        .layer(axum::middleware::map_response(crate::error::json_errors))
        .layer(axum::middleware::from_fn(crate::error::limit_uri))
        // Level 6: pull pages shrink by a further 7% over the default (3) for about a
        // millisecond of HQ's time per hundred assessments; bytes cost more in the field.
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Precise(6)))
        .with_state(state);
    crate::headers::secure(router)
}

/// The holder of a valid token whose device is not revoked and whose account is not
/// disabled, whatever else stands in its way.
async fn token_holder(parts: &mut Parts, state: &AppState) -> Result<Caller, AppError> {
    holder(parts, state, false).await
}

/// [`token_holder`], and with `wiping_may_push` a device revoked with a wipe too.
async fn holder(parts: &mut Parts, state: &AppState, wiping_may_push: bool) -> Result<Caller, AppError> {
    let presented = crate::session::presented(parts)?.ok_or_else(AppError::unauthenticated)?;
    let caller = state
        .storage
        .caller(&auth::token_hash(presented.token()), state.now())
        .await?
        .ok_or_else(AppError::unauthenticated)?;
    let wiping = caller.state.device_revoked && caller.state.wipe_requested;
    if wiping && !wiping_may_push {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::DeviceWipe,
            "this device was withdrawn at HQ: once everything it holds has been sent, its data is removed from it",
        ));
    }
    if caller.state.device_revoked && !wiping {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::DeviceRevoked,
            "this device has been revoked at HQ; its unsent data stays on it. Ask your supervisor.",
        ));
    }
    if caller.state.account_disabled {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::AccountDisabled,
            "this account is disabled; unsent data stays on the device. Ask your supervisor.",
        ));
    }
    Ok(caller)
}

/// Who may push: any [`Caller`], and also a device revoked with a wipe, so that what
/// it holds reaches HQ before it removes its data (nothing typed is lost to a wipe).
pub struct Pusher(pub Caller);

impl FromRequestParts<AppState> for Pusher {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = holder(parts, state, true).await?;
        own_password(caller).map(Self)
    }
}

/// Any signed-in person whose password is their own (not a one-time one).
impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        own_password(token_holder(parts, state).await?)
    }
}

fn own_password(caller: Caller) -> Result<Caller, AppError> {
    if caller.state.must_change_password {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::PasswordChangeRequired,
            "this password was for one use only; set a new password first",
        ));
    }
    Ok(caller)
}

/// A signed-in person who may still hold a one-time password: for changing it, for
/// `/me` and for logging out.
pub struct AnyCaller(pub Caller);

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        token_holder(parts, state).await.map(Self)
    }
}

/// A supervisor or an admin: reviews, conflicts, exports, and the accounts of
/// enumerators in their area.
pub struct Reviewer(pub Caller);

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.role.reviews() {
            return Err(AppError::forbidden("this is for supervisors and admins"));
        }
        Ok(Self(caller))
    }
}

/// An admin: rounds, the audit log, and every account.
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.role != Role::Admin {
            return Err(AppError::forbidden("this is for admins"));
        }
        Ok(Self(caller))
    }
}

/// Who an extractor lets through, for [`InScope`] to check the place against.
pub trait Authorised: FromRequestParts<AppState, Rejection = AppError> {
    fn caller(&self) -> &Caller;
}

impl Authorised for Caller {
    fn caller(&self) -> &Caller {
        self
    }
}

impl Authorised for Reviewer {
    fn caller(&self) -> &Caller {
        &self.0
    }
}

/// An assessment the caller may reach, from the path `{round}/{form}/{pcode}`: a
/// known form, a known P-code at the form's level, inside the caller's scope. `R`
/// says who may ask at all ([`Caller`] or [`Reviewer`]); it is checked first, so an
/// anonymous request is 401 before anything about the place is said.
pub struct InScope<R = Caller> {
    pub who: R,
    pub key: AssessmentKey,
}

impl<R: Authorised + Send> FromRequestParts<AppState> for InScope<R> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let who = R::from_request_parts(parts, state).await?;
        let Path((round, form, pcode)) = Path::<(String, String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::new(e.status(), ErrorCode::MalformedRequest, e.body_text()))?;
        let places = state.storage.gazetteer().await?;
        let key = check_key(state.storage.forms(), &places, who.caller(), &round, &form, &pcode)?;
        Ok(Self { who, key })
    }
}

/// Refuses a field app older than the oldest HQ is set to sync with (`update_required`,
/// 426); its outbox stays intact until it is updated. A request without the app's
/// version (the CLI of an older release, a script) is let through.
fn check_app_version(settings: &crate::Settings, headers: &HeaderMap) -> Result<(), AppError> {
    let (Some(oldest), Some(app)) =
        (&settings.oldest_app_version, headers.get(wire::APP_VERSION_HEADER).and_then(|v| v.to_str().ok()))
    else {
        return Ok(());
    };
    if dtm_core::version::older(app, oldest) {
        let newest = settings.newest_app_version.as_deref().unwrap_or(oldest);
        return Err(AppError::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::UpdateRequired,
            format!(
                "this app is version {app}; HQ syncs with version {oldest} or newer. Install version {newest}. \
                 Your unsent data is kept on the device until then."
            ),
        ));
    }
    Ok(())
}

/// Refuses devices whose protocol HQ no longer speaks; their outbox stays intact.
/// Returns the device's protocol, for answers that differ by version.
fn check_protocol(headers: &HeaderMap) -> Result<u32, AppError> {
    let Some(v) = headers.get(wire::PROTOCOL_HEADER) else {
        return Err(AppError::bad_request(
            ErrorCode::ProtocolMissing,
            format!("sync requests must send {}", wire::PROTOCOL_HEADER),
        ));
    };
    let version: u32 = v.to_str().ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    if version < wire::MIN_PROTOCOL_VERSION {
        return Err(AppError::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::UpdateRequired,
            "this app is too old for HQ; update the app. Your unsent data is kept on the device.",
        ));
    }
    if version > wire::PROTOCOL_VERSION {
        return Err(AppError::new(
            StatusCode::UPGRADE_REQUIRED,
            ErrorCode::HqTooOld,
            "this app is newer than HQ; HQ must be updated before it can sync. Your data is kept on the device.",
        ));
    }
    Ok(version)
}

/// The signed-in account, also while its password is a one-time one.
#[utoipa::path(
    get,
    path = "/me",
    tag = "sessions",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The signed-in account, and whether its password must be changed first", body = dtm_sync::accounts::Me),
        (status = 403, description = crate::openapi::FORBIDDEN_ANY_SESSION, body = ErrorBody),
    )
)]
async fn me(AnyCaller(caller): AnyCaller) -> Json<dtm_sync::accounts::Me> {
    Json(dtm_sync::accounts::Me { user: caller.user(), must_change_password: caller.state.must_change_password })
}

/// Every round, whatever its status.
#[utoipa::path(
    get,
    path = "/rounds",
    tag = "rounds",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every round", body = Vec<RoundInfo>),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
    )
)]
async fn rounds(State(state): State<AppState>, _caller: Caller) -> Result<Json<Vec<RoundInfo>>, AppError> {
    Ok(Json(state.storage.rounds().await?.iter().map(RoundInfo::from).collect()))
}

/// Every form HQ can collect, each version, for choosing a new round's forms.
#[utoipa::path(
    get,
    path = "/forms",
    tag = "assessments",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Every built-in form and version, with its title in English and Arabic", body = Vec<dtm_sync::api::FormSummary>),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
    )
)]
async fn forms(State(state): State<AppState>, _caller: Caller) -> Json<Vec<dtm_sync::api::FormSummary>> {
    Json(dtm_sync::api::FormSummary::all(state.storage.forms()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FormQuery {
    /// A version of the form; the newest without it.
    version: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/forms/{form}",
    tag = "assessments",
    params(("form" = String, Path, description = "A form's id", example = "baladiya"), FormQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The form: its sections, fields and rules", body = FormDef),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
        (status = 404, description = "`unknown_form` (no such form, or no such version of it)", body = ErrorBody),
    )
)]
async fn form(
    State(state): State<AppState>,
    _caller: Caller,
    Path(form): Path<String>,
    Query(q): Query<FormQuery>,
) -> Result<Json<FormDef>, AppError> {
    state.storage.forms().at(&form, q.version).cloned().map(Json).ok_or_else(|| {
        AppError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownForm, format!("there is no form `{form}`"))
    })
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
        children: None,
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
        children: None,
    }
}

/// The parts with what their checks compare against: the previous round and the
/// child level's assessments. The page and the review queue check with the same.
async fn with_context(
    state: &AppState,
    places: &Arc<Gazetteer>,
    mut parts: AssessmentParts,
) -> Result<AssessmentParts, AppError> {
    if let Some(form) = state.storage.forms().get(&parts.key.form, parts.form_version) {
        (parts.previous, parts.children) = state.storage.context(places.clone(), &parts.key, form).await?;
    }
    Ok(parts)
}

/// The UI's view of an assessment, with its previous round and child-level totals
/// so that every check shows.
async fn detail_of(state: &AppState, parts: AssessmentParts) -> Result<AssessmentDetail, AppError> {
    let places = state.storage.gazetteer().await?;
    Ok(with_context(state, &places, parts).await?.detail(state.storage.forms(), &places))
}

async fn find_round(state: &AppState, code: &str) -> Result<Round, AppError> {
    round_in(&state.storage.rounds().await?, code).cloned()
}

/// The round with this code among `rounds`, or `unknown_round`.
fn round_in<'a>(rounds: &'a [Round], code: &str) -> Result<&'a Round, AppError> {
    rounds.iter().find(|r| r.code == code).ok_or_else(|| {
        AppError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownRound, format!("there is no round `{code}`"))
    })
}

/// Completeness: every location in the caller's scope for each form of the round,
/// `not_started` where nothing has reached HQ.
#[utoipa::path(
    get,
    path = "/rounds/{round}/assessments",
    tag = "assessments",
    params(("round" = String, Path, description = "A round's code", example = "R1")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "An assessment summary per location in the caller's scope and form of the round, `not_started` where nothing reached HQ", body = Vec<AssessmentSummary>),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
    )
)]
async fn round_assessments(
    State(state): State<AppState>,
    caller: Caller,
    Path(round): Path<String>,
) -> Result<Json<Vec<AssessmentSummary>>, AppError> {
    let r = find_round(&state, &round).await?;
    let stored = state.storage.round_assessments(&round, &caller.scope).await?;
    let mut by_key: std::collections::BTreeMap<AssessmentKey, AssessmentSnapshot> =
        stored.into_iter().map(|s| (s.key.clone(), s)).collect();
    let places = state.storage.gazetteer().await?;
    let forms = state.storage.forms();
    // Each row in the queue's order: what was recorded, or a place not started.
    let mut rows: Vec<Result<AssessmentParts, AssessmentSummary>> = Vec::new();
    for (form_id, version) in &r.forms {
        let Some(form) = forms.get(form_id, *version) else { continue };
        for loc in places.in_scope(&caller.scope, form.level) {
            let key = AssessmentKey::new(&round, form_id, loc.pcode.clone());
            match by_key.remove(&key) {
                Some(s) => rows.push(Ok(parts_of(s))),
                // A retired location with nothing recorded is not work to do.
                None if loc.retired => {}
                None => rows.push(Err(not_started(key, *version).summary(&places))),
            }
        }
    }
    // What was recorded is checked as its own page checks it, so the queue's warning
    // count and "clean" are the page's; the previous rounds of the whole list are read
    // in one go, not one read a row. A baladiya's muhallas are in the list already
    // (inside a place in the caller's scope is in scope too), so they are taken from it.
    let recorded = || rows.iter().filter_map(|r| r.as_ref().ok());
    let children: Vec<_> = {
        let mut by_form: std::collections::HashMap<&str, Vec<Child<'_>>> = std::collections::HashMap::new();
        for p in recorded() {
            by_form.entry(p.key.form.as_str()).or_default().push(Child {
                location: &p.key.location,
                status: p.status,
                form: forms.get(&p.key.form, p.form_version),
                values: &p.values,
            });
        }
        recorded()
            .map(|p| {
                let aggregates = forms.get(&p.key.form, p.form_version).and_then(|f| f.aggregates.as_ref());
                aggregates.and_then(|a| {
                    let candidates = by_form.get(a.form.as_str()).map_or(&[][..], Vec::as_slice);
                    dtm_core::form::aggregate_children(forms, &places, &p.key.location, &a.form, candidates)
                })
            })
            .collect()
    };
    let keys: Vec<AssessmentKey> = recorded().map(|p| p.key.clone()).collect();
    let mut previous = state.storage.previous_rounds(keys).await?.into_iter();
    let mut children = children.into_iter();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(match row {
            Ok(mut parts) => {
                parts.previous = previous.next().flatten();
                parts.children = children.next().flatten();
                parts.checked_summary(forms, &places)
            }
            Err(summary) => summary,
        });
    }
    state.storage.log_access(&caller.username, "list_assessments", &round, state.now()).await?;
    Ok(Json(out))
}

/// Parses and checks an assessment address from a URL: a known form, a known P-code
/// at the form's level, inside the caller's scope.
fn check_key(
    forms: &Forms,
    places: &Gazetteer,
    caller: &Caller,
    round: &str,
    form: &str,
    pcode: &str,
) -> Result<AssessmentKey, AppError> {
    let def = forms.latest(form).ok_or_else(|| {
        AppError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownForm, format!("there is no form `{form}`"))
    })?;
    let location = Pcode::parse(pcode).map_err(|_| AppError::unknown_pcode(pcode))?;
    if places.get(pcode).is_none() {
        return Err(AppError::unknown_pcode(pcode));
    }
    if location.level() != def.level {
        return Err(AppError::unprocessable(
            ErrorCode::WrongLevel,
            format!("{pcode} is a level-{} location; the {form} form is for level {}", location.level(), def.level),
        ));
    }
    if !caller.scope.contains(&location) {
        return Err(AppError::out_of_scope(pcode));
    }
    Ok(AssessmentKey::new(round, form, location))
}

/// One assessment as the UI shows it, `not_started` where nothing reached HQ yet.
#[utoipa::path(
    get,
    path = "/assessments/{round}/{form}/{pcode}",
    tag = "assessments",
    params(
        ("round" = String, Path, description = "A round's code", example = "R1"),
        ("form" = String, Path, description = "A form's id", example = "baladiya"),
        ("pcode" = String, Path, description = "The location's P-code, at the form's level", example = "LY021104"),
    ),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The assessment with its rule verdicts, previous round and comments", body = AssessmentDetail),
        (status = 403, description = "`out_of_scope` (the location is outside the caller's area); `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`unknown_form`, `unknown_pcode`, `unknown_round`", body = ErrorBody),
        (status = 422, description = "`wrong_level` (the P-code is not at the form's level)", body = ErrorBody),
    )
)]
async fn assessment(
    State(state): State<AppState>,
    InScope { who: caller, key }: InScope,
) -> Result<Json<AssessmentDetail>, AppError> {
    let r = find_round(&state, &key.round).await?;
    let parts = match state.storage.assessment(&key).await? {
        Some(s) => parts_of(s),
        None => not_started(key.clone(), r.form_version(&key.form).unwrap_or(1)),
    };
    state.storage.log_access(&caller.username, "read_assessment", &key.to_string(), state.now()).await?;
    Ok(Json(detail_of(&state, parts).await?))
}

/// A supervisor's or admin's decision on a submitted assessment: approve or return.
#[utoipa::path(
    post,
    path = "/assessments/{round}/{form}/{pcode}/review",
    tag = "assessments",
    params(
        ("round" = String, Path, description = "A round's code", example = "R1"),
        ("form" = String, Path, description = "A form's id", example = "baladiya"),
        ("pcode" = String, Path, description = "The location's P-code, at the form's level", example = "LY021104"),
    ),
    request_body = ReviewRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The assessment after the decision", body = AssessmentDetail),
        (status = 403, description = "`forbidden` (for supervisors and admins), `out_of_scope`, `own_entry` (whoever entered the figures may return them but not approve them); `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`unknown_form`, `unknown_pcode`, `not_found` (nothing has been submitted for this assessment)", body = ErrorBody),
        (status = 409, description = "`invalid_transition` (not submitted), `open_conflicts` (settle them first), `round_published`", body = ErrorBody),
        (status = 422, description = "`wrong_level`, `comment_required` (returning needs a comment), `text_too_long`", body = ErrorBody),
    )
)]
async fn review(
    State(state): State<AppState>,
    InScope { who: Reviewer(caller), key }: InScope<Reviewer>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Json<AssessmentDetail>, AppError> {
    dtm_core::text::check(dtm_core::TextKind::Comment, "comment", &req.comment)?;
    let snap = state.storage.review(&caller, &key, req.decision, &req.comment, state.now()).await?;
    Ok(Json(detail_of(&state, parts_of(snap)).await?))
}

/// The headers of every sync request, as the document names them. The handlers read
/// them from the request's headers (a missing or unknown protocol is an answer of its
/// own, not a rejection of the extractor).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // never built: only its IntoParams is used, to document the headers
struct SyncHeaders {
    /// The sync protocol the app speaks; HQ accepts 2 and 3.
    #[param(rename = "x-dtm-protocol", minimum = 2, maximum = 3)]
    protocol: u32,
    /// The app's version, shown on the Devices page.
    #[param(rename = "x-dtm-app-version", value_type = String, required = false, max_length = 64)]
    app_version: Option<String>,
    /// Operations the device has not pushed yet.
    #[param(rename = "x-dtm-pending", value_type = u32, required = false)]
    pending: Option<u32>,
}

/// Checks what a pushed operation says about itself, before anything is written.
/// State-dependent refusals (a closed round, a locked assessment) are per-operation
/// outcomes instead, decided inside the transaction.
fn check_op(forms: &Forms, places: &Gazetteer, caller: &Caller, op: &Operation) -> Result<(), AppError> {
    if uuid::Uuid::parse_str(&op.op_id).is_err() {
        return Err(AppError::unprocessable(ErrorCode::MalformedOp, format!("op_id `{}` is not a UUID", op.op_id)));
    }
    // The wire's integers are u64; HQ stores them as SQL's signed 64-bit integers.
    // One beyond that is refused here, by name, before anything is written.
    let out_of_range = |what: &str, n: u64| {
        AppError::unprocessable(
            ErrorCode::OutOfRange,
            format!("{what} {n} is out of range (at most {})", wire::MAX_INTEGER),
        )
    };
    if op.seq > wire::MAX_INTEGER {
        return Err(out_of_range("seq", op.seq));
    }
    if op.hlc.millis > wire::MAX_INTEGER {
        return Err(out_of_range("the clock stamp", op.hlc.millis));
    }
    if let OpBody::Edit { bases, .. } = &op.body {
        if let Some((field, base)) = bases.iter().find(|(_, b)| **b > wire::MAX_INTEGER) {
            return Err(out_of_range(&format!("the base version of `{field}`"), *base));
        }
    }
    let form = forms.get(&op.key.form, op.form_version).ok_or_else(|| {
        AppError::unprocessable(
            ErrorCode::UnknownForm,
            format!("there is no form `{}` version {}", op.key.form, op.form_version),
        )
    })?;
    let pcode = op.key.location.as_str();
    // A location retired while the device was offline still takes its work: it is
    // kept with the location, never refused and lost.
    if places.get(pcode).is_none() {
        return Err(AppError::unprocessable(
            ErrorCode::UnknownPcode,
            format!("`{pcode}` is not a location in the gazetteer"),
        ));
    }
    if op.key.location.level() != form.level {
        return Err(AppError::unprocessable(
            ErrorCode::WrongLevel,
            format!("{pcode} is not a level-{} location", form.level),
        ));
    }
    if !caller.scope.contains(&op.key.location) {
        return Err(AppError::out_of_scope(pcode));
    }
    if let OpBody::Void { reason } = &op.body {
        dtm_core::text::check(dtm_core::TextKind::Reason, "reason", reason.trim())?;
    }
    if let OpBody::Edit { values, bases } = &op.body {
        if values.is_empty() {
            return Err(AppError::unprocessable(ErrorCode::MalformedOp, "an edit must write at least one field"));
        }
        if let Some(field) = bases.keys().find(|f| !values.contains_key(*f)) {
            return Err(AppError::unprocessable(
                ErrorCode::MalformedOp,
                format!("the edit gives a base version for `{field}` but does not write it"),
            ));
        }
        for (field, value) in values {
            if let Err(e) = form.check_value(field, value, places) {
                return Err(AppError::unprocessable(e.code(), e.to_string()));
            }
        }
    }
    Ok(())
}

/// A device's operations, each applied and answered on its own, idempotently.
#[utoipa::path(
    post,
    path = "/sync/push",
    tag = "sync",
    params(SyncHeaders),
    request_body = PushRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "One result per operation, in order: applied, conflict, rejected, superseded or duplicate", body = PushResponse),
        (status = 400, description = "`protocol_missing` (no `x-dtm-protocol` header)", body = ErrorBody),
        (status = 403, description = "`out_of_scope` (error.op_id names the operation); `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 422, description = "The operation error.op_id names cannot be applied, and nothing was: `malformed_op`, `out_of_range`, `unknown_form`, `unknown_pcode`, `wrong_level`, `text_too_long`, `unknown_field`, `negative_count`, `not_a_whole_number`, `not_a_number`, `not_text`, `not_an_option`, `not_a_date`", body = ErrorBody),
        (status = 426, description = "`update_required` (the app is too old for HQ), `hq_too_old` (the app is newer than HQ)", body = ErrorBody),
    )
)]
async fn push(
    State(state): State<AppState>,
    headers: HeaderMap,
    Pusher(caller): Pusher,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, AppError> {
    let protocol = check_protocol(&headers)?;
    check_app_version(&state.settings, &headers)?;
    let places = state.storage.gazetteer().await?;
    for op in &req.ops {
        check_op(state.storage.forms(), &places, &caller, op).map_err(|e| e.for_op(&op.op_id))?;
    }
    let results = state.storage.push(&caller, req.ops, state.now()).await?;
    // An older device gets only the outcomes its protocol knows.
    let results = results.into_iter().map(|r| r.for_protocol(protocol)).collect();
    Ok(Json(PushResponse { results }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PullQuery {
    /// The `cursor` of the previous page; from the start without it.
    cursor: Option<String>,
    /// Assessments a page holds at most: 200 by default, between 1 and 2,000.
    limit: Option<u32>,
    /// `false` leaves the rounds out: a device asks for them on the first page of a
    /// sync only, not again on every page after it.
    rounds: Option<bool>,
    /// The device's gazetteer cursor (empty for none yet): the page carries the
    /// gazetteer's changes since it. Without it, none.
    gazetteer: Option<String>,
    /// The device's cursor of settled conflicts (empty for none yet): the page carries
    /// the settlements of this device's conflicts since it. Without it, none.
    settled: Option<String>,
}

/// The change sequence a cursor HQ gave out stands at: `None` for no cursor or one of
/// another epoch (a restored or replaced HQ), which start again from the beginning.
fn cursor_after(cursor: Option<&str>, epoch: &str) -> Result<Option<u64>, AppError> {
    match cursor.and_then(|c| c.split_once(':')) {
        Some((e, seq)) if e == epoch => {
            seq.parse().ok().filter(|n| *n <= wire::MAX_INTEGER).map(Some).ok_or_else(|| {
                AppError::bad_request(ErrorCode::MalformedCursor, "the pull cursor is not one HQ gave out")
            })
        }
        _ => Ok(None),
    }
}

/// A page of the assessments in the caller's scope changed since the cursor.
#[utoipa::path(
    get,
    path = "/sync/pull",
    tag = "sync",
    params(SyncHeaders, PullQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A page of the assessments in the caller's scope, by column", body = PullResponse,
            headers(("x-dtm-next-cursor" = String, description = "On a page with more after it (`has_more`): its `cursor`, so the next page can be asked for before this one's body has arrived"))),
        (status = 400, description = "`protocol_missing` (no `x-dtm-protocol` header), `malformed_cursor` (a cursor HQ did not give out)", body = ErrorBody),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
        (status = 426, description = "`update_required` (the app is too old for HQ), `hq_too_old` (the app is newer than HQ)", body = ErrorBody),
    )
)]
async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Query(q): Query<PullQuery>,
) -> Result<(HeaderMap, Json<PullResponse>), AppError> {
    check_protocol(&headers)?;
    check_app_version(&state.settings, &headers)?;
    let epoch = state.storage.epoch().await?;
    // A cursor from another epoch (a restored or replaced HQ) starts again from zero.
    let after = cursor_after(q.cursor.as_deref(), &epoch)?.unwrap_or(0);
    // The gazetteer's changes since the device's own cursor for them, from the start
    // (and replacing what it holds) when that cursor is from another epoch.
    let gazetteer = match q.gazetteer.as_deref() {
        None => None,
        Some(cursor) => {
            let since = cursor_after(Some(cursor).filter(|c| !c.is_empty()), &epoch)?;
            let (locations, last) = state.storage.gazetteer_changes(since.unwrap_or(0)).await?;
            let reset = since.is_none() && !cursor.is_empty();
            Some(wire::GazetteerDelta { cursor: format!("{epoch}:{last}"), reset, locations })
        }
    };
    // The settlements of this device's own conflicts since its cursor for them; one of
    // another epoch starts again (the device keeps one entry per conflict, so nothing
    // shows twice).
    let settled = match q.settled.as_deref() {
        None => None,
        Some(cursor) => {
            let since = cursor_after(Some(cursor).filter(|c| !c.is_empty()), &epoch)?.unwrap_or(0);
            let (conflicts, last) = state.storage.settled_for_device(&caller.device_id, since).await?;
            Some(wire::SettledDelta { cursor: format!("{epoch}:{last}"), conflicts })
        }
    };
    let limit = q.limit.unwrap_or(200).clamp(1, 2000);
    let page = state.storage.pull(&caller.scope, after, limit).await?;
    let first = q.rounds != Some(false);
    let rounds = match first {
        false => vec![],
        true => state.storage.rounds().await?.iter().map(RoundInfo::from).collect(),
    };
    if first {
        note_device(&state, &caller, &headers).await;
    }
    let mut page = PullResponse::pack(rounds, page.assessments, format!("{epoch}:{}", page.last_seq), page.has_more);
    // The account as it is now: a new scope or role reaches the device with its sync.
    page.user = first.then(|| caller.user());
    page.newest_app_version = state.settings.newest_app_version.clone().filter(|_| first);
    page.gazetteer = gazetteer;
    page.settled = settled;
    let mut headers = HeaderMap::new();
    if page.has_more {
        // The cursor is text HQ made (`epoch:seq`), always a valid header value.
        if let Ok(cursor) = axum::http::HeaderValue::from_str(&page.cursor) {
            headers.insert(wire::NEXT_CURSOR_HEADER, cursor);
        }
    }
    Ok((headers, Json(page)))
}

/// Remembers what a syncing device reports (its app version, and how many operations
/// it had waiting when the sync began) for the Devices page, on the first pull page of
/// a sync: at most once a minute per device, or when its app version changed. Each is
/// a durable write on HQ's one writer, so neither a push nor every sync makes one. A
/// failure here never fails the sync.
async fn note_device(state: &AppState, caller: &Caller, headers: &HeaderMap) {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let app_version = text(wire::APP_VERSION_HEADER).filter(|v| v.len() <= 64);
    let pending_ops = text(wire::PENDING_HEADER).and_then(|v| v.parse::<u32>().ok());
    let now = state.now();
    let seen = &caller.seen;
    let stale = seen.at.is_none_or(|at| now - at > time::Duration::minutes(1));
    let changed = app_version.is_some() && app_version != seen.app_version;
    if !(stale || changed) {
        return;
    }
    let report = crate::storage::DeviceSeen { at: Some(now), app_version, pending_ops };
    if let Err(e) = state.storage.device_seen(&caller.device_id, report).await {
        tracing::warn!(device = %caller.device_id, "could not note the device's sync: {e}");
    }
}

/// Creates a planned round. Admins only.
#[utoipa::path(
    post,
    path = "/rounds",
    tag = "rounds",
    request_body = NewRound,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "The new round, planned", body = RoundInfo),
        (status = 403, description = crate::openapi::FORBIDDEN_ADMIN, body = ErrorBody),
        (status = 409, description = "`round_exists`", body = ErrorBody),
        (status = 422, description = "`malformed_round` (code, window or forms), `unknown_form`, `text_too_long`", body = ErrorBody),
    )
)]
async fn create_round(
    State(state): State<AppState>,
    Admin(caller): Admin,
    ApiJson(req): ApiJson<NewRound>,
) -> Result<(StatusCode, Json<RoundInfo>), AppError> {
    dtm_core::text::check(dtm_core::TextKind::Name, "title", &req.title)?;
    dtm_core::text::check(dtm_core::TextKind::Name, "title_ar", &req.title_ar)?;
    if req.code != format!("R{}", req.number) {
        return Err(AppError::unprocessable(
            ErrorCode::MalformedRound,
            format!("round number {} is coded R{}", req.number, req.number),
        ));
    }
    if req.window_end < req.window_start {
        return Err(AppError::unprocessable(ErrorCode::MalformedRound, "the collection window ends before it starts"));
    }
    if req.forms.is_empty() {
        return Err(AppError::unprocessable(ErrorCode::MalformedRound, "a round collects at least one form"));
    }
    for f in &req.forms {
        if state.storage.forms().get(&f.form, f.version).is_none() {
            return Err(AppError::unprocessable(
                ErrorCode::UnknownForm,
                format!("there is no form {} version {}", f.form, f.version),
            ));
        }
    }
    let round = Round {
        code: req.code,
        number: req.number,
        title: req.title,
        title_ar: req.title_ar.trim().to_owned(),
        window_start: req.window_start,
        window_end: req.window_end,
        status: RoundStatus::Planned,
        forms: req.forms.into_iter().map(|f| (f.form, f.version)).collect(),
    };
    state.storage.create_round(&round).await?;
    state.storage.log_access(&caller.username, "create_round", &round.code, state.now()).await?;
    Ok((StatusCode::CREATED, Json(RoundInfo::from(&round))))
}

/// Moves a round along planned → open → closed → published. Admins only.
#[utoipa::path(
    post,
    path = "/rounds/{round}/status",
    tag = "rounds",
    params(("round" = String, Path, description = "A round's code", example = "R1")),
    request_body = RoundStatusChange,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The round in its new status", body = RoundInfo),
        (status = 403, description = crate::openapi::FORBIDDEN_ADMIN, body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
        (status = 409, description = "`invalid_transition` (planned → open → closed → published, closed → open), `round_published`", body = ErrorBody),
    )
)]
async fn set_round_status(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(code): Path<String>,
    ApiJson(req): ApiJson<RoundStatusChange>,
) -> Result<Json<RoundInfo>, AppError> {
    let mut round = find_round(&state, &code).await?;
    round.status = round.transition(req.status).map_err(|e| AppError::conflict(e.code(), e.to_string()))?;
    state.storage.set_round_status(&code, round.status).await?;
    state.storage.log_access(&caller.username, &format!("round_{}", round.status.as_str()), &code, state.now()).await?;
    Ok(Json(RoundInfo::from(&round)))
}

/// Imports a past round's figures from a CSV or XLSX with an HXL tag row. Nothing is
/// imported from a file with any error; every error is listed by row and column.
#[utoipa::path(
    post,
    path = "/rounds/{round}/import",
    tag = "rounds",
    params(("round" = String, Path, description = "A round's code", example = "R1"), ImportQuery),
    request_body(description = "The file: CSV or XLSX with an HXL tag row; HQ tells them apart by content", content((String = "text/csv"), (SpreadsheetFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (SpreadsheetFile = "application/octet-stream"))),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "What was imported", body = ImportReport),
        (status = 403, description = crate::openapi::FORBIDDEN_ADMIN, body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
        (status = 409, description = "`round_not_importable` (the round is open or published)", body = ErrorBody),
        (status = 422, description = "`import_rejected` (with every error by row and column in its errors list; nothing was imported, also for a sheet beyond HQ's limits), `unreadable_file` (neither CSV nor XLSX with an HXL tag row)", body = ImportRejected),
    )
)]
async fn import_round(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(code): Path<String>,
    Query(q): Query<ImportQuery>,
    body: axum::body::Bytes,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let round = find_round(&state, &code).await?;
    let outcome = import_file(
        state.storage.as_ref(),
        ImportTarget::Existing(&round),
        &body,
        q.add_locations.unwrap_or(false),
        &caller.username,
        state.now(),
    )
    .await?;
    Ok(match outcome {
        Ok(report) => Json(report).into_response(),
        Err(errors) => {
            let error = ApiError {
                code: ErrorCode::ImportRejected,
                message: format!("{} error(s); nothing was imported", errors.len()),
                op_id: None,
            };
            (StatusCode::UNPROCESSABLE_ENTITY, Json(ImportRejected { error, errors })).into_response()
        }
    })
}

/// The bytes of a file to import, CSV or XLSX: the document's name for a binary body.
pub struct SpreadsheetFile;

impl utoipa::PartialSchema for SpreadsheetFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("A CSV or XLSX file with an HXL tag row"))
            .into()
    }
}

impl utoipa::ToSchema for SpreadsheetFile {}

/// A round to import into: one HQ holds, or one to create in the same transaction as
/// the import (`dtm-hq import-round --create`), so a refused file leaves no round behind.
pub enum ImportTarget<'a> {
    Existing(&'a Round),
    Create(&'a Round),
}

/// The import as both the HTTP API and `dtm-hq import-round` run it: read, check,
/// then write all or nothing. `Ok(Err(errors))` is a file refused for its content.
pub async fn import_file(
    storage: &dyn HqStorage,
    target: ImportTarget<'_>,
    bytes: &[u8],
    add_locations: bool,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Result<ImportReport, Vec<dtm_core::import::CellError>>, AppError> {
    let (round, create) = match target {
        ImportTarget::Existing(round) => (round, false),
        ImportTarget::Create(round) => (round, true),
    };
    if round.status == RoundStatus::Open || round.status == RoundStatus::Published {
        return Err(AppError::conflict(
            ErrorCode::RoundNotImportable,
            format!("round {} is {}; import into a planned or closed round", round.code, round.status.as_str()),
        ));
    }
    let book = crate::spreadsheet::read_book(bytes).map_err(|e| AppError::unprocessable(e.code(), e.to_string()))?;
    let gazetteer = storage.gazetteer().await?;
    let forms = storage.forms();
    let catalog = dtm_core::import::Catalog { forms, gazetteer: &gazetteer, add_unknown: add_locations };
    let checked = match dtm_core::import::check_file(&book, round, catalog) {
        Ok(checked) => checked,
        Err(errors) => return Ok(Err(errors)),
    };
    let fields = hxl::count_fields();
    let counted: Vec<_> = checked
        .records
        .iter()
        .map(|r| (&r.location, counted_values(forms, &r.form, r.form_version, r.values.clone())))
        .collect();
    let national =
        dtm_core::totals::national(dtm_core::totals::by_level(counted.iter().map(|(p, v)| (*p, v)), 1, &fields));
    let rows = checked.records.len();
    let added_locations = checked.new_locations.clone();
    let assessments = storage.import_round(round, create, checked.records, checked.new_locations, actor, now).await?;
    Ok(Ok(ImportReport {
        rows,
        assessments,
        totals: national.values,
        differences: national.differences,
        warnings: checked.warnings,
        layout: checked.layout,
        unknown_columns: checked.unknown_columns,
        added_locations,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// `true` adds the P-codes the gazetteer does not hold, named by their rows, before
    /// the figures (listed in the report's `added_locations`); by default such a P-code
    /// is an `unknown_pcode` error and nothing is imported.
    add_locations: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TotalsQuery {
    /// 1 region, 2 mantika (the default), 3 baladiya.
    #[param(minimum = 1, maximum = 3)]
    level: Option<u8>,
    /// `approved` (the default): the figures a round stands on. `all`: drafts,
    /// submitted and returned assessments too, counted apart in `unapproved`.
    #[param(pattern = "^(approved|all)$")]
    include: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// `approved` (the default) or `all` (drafts, submitted and returned ones too,
    /// each marked by its status column).
    #[param(pattern = "^(approved|all)$")]
    include: Option<String>,
    /// For CSV: one table, `baladiya`, `muhalla`, or a repeated group such as
    /// `muhalla.mig_nat` (one row per location and nationality). Without it, every
    /// form of the round in one table that imports back whole.
    #[param(pattern = "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)?$")]
    table: Option<String>,
}

/// Which assessments a figure counts, from the query's `include`.
fn counted(query: Option<&str>) -> Result<TotalsInclude, AppError> {
    TotalsInclude::parse(query)
        .ok_or_else(|| AppError::bad_request(ErrorCode::MalformedQuery, "include is `approved` or `all`"))
}

/// A round's counts summed per region (level 1), mantika (2) or baladiya (3), over the
/// approved baladiya and muhalla assessments in the caller's scope (`include=all` adds
/// drafts, submitted and returned ones, counted apart; voided ones never count): each
/// baladiya counted once, from the finest level collected, with any disagreement
/// between the levels shown.
#[utoipa::path(
    get,
    path = "/rounds/{round}/totals",
    tag = "rounds",
    params(("round" = String, Path, description = "A round's code", example = "R1"), TotalsQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The round's counts per location at the level asked for", body = Vec<LocationTotals>),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
        (status = 400, description = "`malformed_query` (level is 1, 2 or 3; include is approved or all)", body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
    )
)]
async fn round_totals(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<TotalsQuery>,
) -> Result<Json<Vec<LocationTotals>>, AppError> {
    let level = q.level.unwrap_or(2);
    if !(1..=3).contains(&level) {
        return Err(AppError::bad_request(
            ErrorCode::MalformedQuery,
            "level is 1 (region), 2 (mantika) or 3 (baladiya)",
        ));
    }
    let include = counted(q.include.as_deref())?;
    let rounds = state.storage.rounds().await?;
    let round = round_in(&rounds, &code)?;
    // The round before, by number, counted the same way: the comparison beside each figure.
    let before = rounds.iter().filter(|r| r.number < round.number).max_by_key(|r| r.number);
    let (totals, unapproved, unknown) = sum_round(&state, &code, &caller.scope, level, include).await?;
    let mut previous = match before {
        Some(before) => sum_round(&state, &before.code, &caller.scope, level, include).await?.0,
        None => Default::default(),
    };
    state.storage.log_access(&caller.username, "read_totals", &code, state.now()).await?;
    let places = state.storage.gazetteer().await?;
    Ok(Json(
        totals
            .into_iter()
            .map(|(p, totals)| LocationTotals {
                location: dtm_sync::api::LocationRef::of(&places, &p),
                unapproved: unapproved.iter().filter(|u| u.is_within(&p)).count(),
                unknown: unknown.iter().filter(|(u, _)| u.is_within(&p)).flat_map(|(_, fields)| fields).fold(
                    std::collections::BTreeMap::new(),
                    |mut n, f| {
                        *n.entry(f.clone()).or_insert(0) += 1;
                        n
                    },
                ),
                previous: before.and_then(|b| {
                    previous.remove(&p).map(|t| PreviousTotals { round: b.code.clone(), values: t.values })
                }),
                totals,
            })
            .collect(),
    ))
}

/// An assessment's values as totals count them (see [`FormDef::counted`]): a module
/// answered No counts as 0, one answered Unknown adds nothing.
fn counted_values(
    forms: &Forms,
    form: &str,
    version: u32,
    values: std::collections::BTreeMap<String, dtm_core::FieldValue>,
) -> std::collections::BTreeMap<String, dtm_core::FieldValue> {
    match forms.get(form, version) {
        Some(def) => def.counted(&values),
        None => values,
    }
}

/// A round's counted values (see [`counted_values`]) by location, over the baladiya and
/// muhalla assessments in `scope` that `include` counts.
type CountedRound = Vec<(Pcode, std::collections::BTreeMap<String, dtm_core::FieldValue>)>;

/// What a round's totals are made of: the counted values, the locations of the
/// unapproved assessments among them, and each location's count fields whose module
/// was answered Unknown (missing from the totals, not 0).
struct RoundCounts {
    values: CountedRound,
    unapproved: Vec<Pcode>,
    unknown: Vec<(Pcode, Vec<String>)>,
}

async fn counted_round(
    state: &AppState,
    code: &str,
    scope: &dtm_core::Scope,
    include: TotalsInclude,
) -> Result<RoundCounts, AppError> {
    let stored = state.storage.round_assessments(code, scope).await?;
    let forms = state.storage.forms();
    let mut unapproved: Vec<Pcode> = Vec::new();
    let mut unknown: Vec<(Pcode, Vec<String>)> = Vec::new();
    let values = stored
        .into_iter()
        .filter(|s| (s.key.form == "baladiya" || s.key.form == "muhalla") && include.counts(s.status))
        .inspect(|s| {
            if s.status != AssessmentStatus::Approved {
                unapproved.push(s.key.location.clone());
            }
        })
        .map(|s| {
            let values = s.fields.into_iter().map(|(f, v)| (f, v.value)).collect();
            if let Some(form) = forms.get(&s.key.form, s.form_version) {
                let missing: Vec<String> = form.unknown_counts(&values).into_iter().map(str::to_owned).collect();
                if !missing.is_empty() {
                    unknown.push((s.key.location.clone(), missing));
                }
            }
            (s.key.location, counted_values(forms, &s.key.form, s.form_version, values))
        })
        .collect();
    Ok(RoundCounts { values, unapproved, unknown })
}

/// One round's totals at `level` over the assessments in `scope` that `include`
/// counts, the locations of the unapproved ones counted, and the fields each location
/// left Unknown (see [`RoundCounts`]).
async fn sum_round(
    state: &AppState,
    code: &str,
    scope: &dtm_core::Scope,
    level: u8,
    include: TotalsInclude,
) -> Result<
    (std::collections::BTreeMap<Pcode, dtm_core::totals::Totals>, Vec<Pcode>, Vec<(Pcode, Vec<String>)>),
    AppError,
> {
    let counts = counted_round(state, code, scope, include).await?;
    let fields = hxl::count_fields();
    let totals = dtm_core::totals::by_level(counts.values.iter().map(|(p, v)| (p, v)), level, &fields);
    Ok((totals, counts.unapproved, counts.unknown))
}

/// The round's key figures as DTM's published summary gives them (each population in
/// total and how many baladiyas and muhallas host it, the migrants' sex and age shares,
/// the top nationalities), each beside the previous round's, over the caller's scope.
#[utoipa::path(
    get,
    path = "/rounds/{round}/key-figures",
    tag = "rounds",
    params(("round" = String, Path, description = "A round's code", example = "R1"), ExportQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The round's key figures beside the previous round's", body = dtm_core::key_figures::KeyFigures),
        (status = 400, description = "`malformed_query` (include is approved or all)", body = ErrorBody),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
    )
)]
async fn key_figures(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Json<dtm_core::key_figures::KeyFigures>, AppError> {
    let include = counted(q.include.as_deref())?;
    let rounds = state.storage.rounds().await?;
    let round = round_in(&rounds, &code)?;
    let before = rounds.iter().filter(|r| r.number < round.number).max_by_key(|r| r.number);
    let now = counted_round(&state, &code, &caller.scope, include).await?;
    let previous = match before {
        Some(b) => Some((b.code.as_str(), counted_round(&state, &b.code, &caller.scope, include).await?.values)),
        None => None,
    };
    state.storage.log_access(&caller.username, "read_key_figures", &code, state.now()).await?;
    Ok(Json(dtm_core::key_figures::key_figures(
        state.storage.forms(),
        &code,
        &now.values,
        &now.unknown,
        previous.as_ref().map(|(r, v)| (*r, v.as_slice())),
    )))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// Part of a name, in English or Arabic (however the Arabic is spelt).
    q: String,
    /// Only locations at this admin level (1 region to 4 muhalla).
    #[param(minimum = 1, maximum = 4)]
    level: Option<u8>,
}

/// Gazetteer search in English or Arabic, however the Arabic is spelt.
#[utoipa::path(
    get,
    path = "/gazetteer/search",
    tag = "assessments",
    params(SearchQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Up to 50 locations whose English or Arabic name matches", body = Vec<dtm_sync::api::LocationRef>),
        (status = 403, description = crate::openapi::FORBIDDEN_SESSION, body = ErrorBody),
    )
)]
async fn search_locations(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<dtm_sync::api::LocationRef>>, AppError> {
    let places = state.storage.gazetteer().await?;
    Ok(Json(
        places
            .search(&q.q, q.level, 50)
            .into_iter()
            .map(|l| dtm_sync::api::LocationRef::of(&places, &l.pcode))
            .collect(),
    ))
}

/// What an export reads: the round's forms and its counted assessments in the
/// caller's scope (approved, or every one but the voided with `include=all`).
struct ExportSet {
    places: Arc<Gazetteer>,
    /// HQ's catalog; the round's forms are read from it.
    catalog: Forms,
    round: Round,
    stored: Vec<wire::AssessmentSnapshot>,
}

impl ExportSet {
    async fn load(state: &AppState, caller: &Caller, code: &str, include: Option<&str>) -> Result<Self, AppError> {
        let include = counted(include)?;
        let round = find_round(state, code).await?;
        let stored = state
            .storage
            .round_assessments(code, &caller.scope)
            .await?
            .into_iter()
            .filter(|s| include.counts(s.status))
            .collect();
        Ok(Self { places: state.storage.gazetteer().await?, catalog: state.storage.forms().clone(), round, stored })
    }

    /// The round's forms, in the round's order.
    fn forms(&self) -> Vec<&FormDef> {
        self.round.forms.iter().filter_map(|(id, v)| self.catalog.get(id, *v)).collect()
    }

    fn values(&self) -> Vec<std::collections::BTreeMap<String, dtm_core::FieldValue>> {
        self.stored.iter().map(|s| s.fields.iter().map(|(f, v)| (f.clone(), v.value.clone())).collect()).collect()
    }

    /// Every table of the round (see [`exchange::round_tables`]).
    fn tables(&self) -> Vec<exchange::Table> {
        let values = self.values();
        let rows = self.rows(&values);
        exchange::round_tables(&self.places, &self.forms(), &self.round.code, &rows)
    }

    fn rows<'a>(
        &'a self,
        values: &'a [std::collections::BTreeMap<String, dtm_core::FieldValue>],
    ) -> Vec<exchange::Row<'a>> {
        self.stored
            .iter()
            .zip(values)
            .filter_map(|(s, v)| {
                let form = self.catalog.get(&s.key.form, s.form_version)?;
                Some(exchange::Row { location: &s.key.location, form, status: s.status, values: v })
            })
            .collect()
    }
}

fn attachment(content_type: &str, filename: String, bytes: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        bytes,
    )
        .into_response()
}

/// The round's data as HXL-tagged CSV (for HDX): a row of column names, a row of HXL
/// tags, then a row per assessment counted, with a column for every field of the
/// round's forms (a module that does not apply is written `n/a`, never 0) and a
/// review status column. `table` picks one form or one repeated group (as a long
/// table). The tags are the ones the import reads, so an export imports back.
#[utoipa::path(
    get,
    path = "/rounds/{round}/export.csv",
    tag = "rounds",
    params(("round" = String, Path, description = "A round's code", example = "R1"), ExportQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "HXL-tagged CSV: a header row, a tag row, then a row per assessment counted", body = String, content_type = "text/csv", headers(("content-disposition" = String, description = "attachment; filename=\"dtm-libya-<round>.csv\""))),
        (status = 400, description = "`malformed_query` (include is approved or all)", body = ErrorBody),
        (status = 403, description = crate::openapi::FORBIDDEN_REVIEWER, body = ErrorBody),
        (status = 404, description = "`unknown_round`, or `unknown_form` for a table the round does not have", body = ErrorBody),
    )
)]
async fn export_csv(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(code): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<axum::response::Response, AppError> {
    let set = ExportSet::load(&state, &caller, &code, q.include.as_deref()).await?;
    let table = match q.table.as_deref() {
        None => {
            let values = set.values();
            exchange::table(&set.places, "round", &set.forms(), &code, &set.rows(&values))
        }
        Some(name) => set.tables().into_iter().find(|t| t.name == name).ok_or_else(|| {
            AppError::new(StatusCode::NOT_FOUND, ErrorCode::UnknownForm, format!("round {code} has no table `{name}`"))
        })?,
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| AppError::Internal(e.into());
    out.write_record(table.columns.iter().map(|c| c.id.as_str())).map_err(io)?;
    out.write_record(table.columns.iter().map(|c| c.hxl.as_str())).map_err(io)?;
    for row in &table.rows {
        out.write_record(row).map_err(io)?;
    }
    let bytes = out.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    state.storage.log_access(&caller.username, "export_hxl_csv", &code, state.now()).await?;
    let suffix = q.table.map(|t| format!("-{t}")).unwrap_or_default();
    Ok(attachment("text/csv; charset=utf-8", format!("dtm-libya-{code}{suffix}.csv"), bytes))
}

/// The round's data as an XLSX workbook: a sheet per form and a sheet per repeated
/// group, each with three header rows (English labels, Arabic labels, HXL tags) over
/// the same rows as the CSV. It imports back whole, nationalities included.
#[utoipa::path(
    get,
    path = "/rounds/{round}/export.xlsx",
    tag = "rounds",
    params(("round" = String, Path, description = "A round's code", example = "R1"), ExportQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "An XLSX workbook, a sheet per form and per repeated group", body = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, description = "`malformed_query` (include is approved or all)", body = ErrorBody),
        (status = 403, description = crate::openapi::FORBIDDEN_REVIEWER, body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
    )
)]
async fn export_xlsx(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(code): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<axum::response::Response, AppError> {
    let set = ExportSet::load(&state, &caller, &code, q.include.as_deref()).await?;
    let tables = set.tables();
    let bytes = tokio::task::spawn_blocking(move || crate::spreadsheet::write_xlsx(&tables))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing the workbook: {e}")))?;
    state.storage.log_access(&caller.username, "export_xlsx", &code, state.now()).await?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("dtm-libya-{code}.xlsx"),
        bytes,
    ))
}

/// One assessment as the JSON export writes it: its values with the form version they
/// were collected with, so a reader always knows which questions they answer.
#[derive(Serialize, utoipa::ToSchema)]
struct ExportedAssessment {
    round: String,
    form: String,
    form_version: u32,
    #[schema(value_type = String)]
    location: Pcode,
    status: AssessmentStatus,
    #[schema(value_type = Object)]
    values: std::collections::BTreeMap<String, dtm_core::FieldValue>,
}

/// The round's data as JSON: one object per assessment counted, with its form version.
#[utoipa::path(
    get,
    path = "/rounds/{round}/export.json",
    tag = "rounds",
    params(("round" = String, Path, description = "A round's code", example = "R1"), ExportQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "One object per assessment counted", body = Vec<ExportedAssessment>),
        (status = 400, description = "`malformed_query` (include is approved or all)", body = ErrorBody),
        (status = 403, description = crate::openapi::FORBIDDEN_REVIEWER, body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
    )
)]
async fn export_json(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(code): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Json<Vec<ExportedAssessment>>, AppError> {
    let set = ExportSet::load(&state, &caller, &code, q.include.as_deref()).await?;
    let values = set.values();
    let out = set
        .stored
        .into_iter()
        .zip(values)
        .map(|(s, values)| ExportedAssessment {
            round: code.clone(),
            form: s.key.form,
            form_version: s.form_version,
            location: s.key.location,
            status: s.status,
            values,
        })
        .collect();
    state.storage.log_access(&caller.username, "export_json", &code, state.now()).await?;
    Ok(Json(out))
}

/// A round's approved muhalla assessments in `scope` laid out as DTM Libya publishes a
/// round (see [`dtm_core::dtm_workbook`]), as XLSX bytes. `dtm-hq publish` writes the same.
pub async fn published_workbook(
    storage: &dyn HqStorage,
    round: &Round,
    scope: &dtm_core::Scope,
) -> Result<Vec<u8>, AppError> {
    let stored: Vec<_> = storage
        .round_assessments(&round.code, scope)
        .await?
        .into_iter()
        .filter(|s| s.status == AssessmentStatus::Approved)
        .collect();
    let values: Vec<std::collections::BTreeMap<String, dtm_core::FieldValue>> =
        stored.iter().map(|s| s.fields.iter().map(|(f, v)| (f.clone(), v.value.clone())).collect()).collect();
    let rows: Vec<exchange::Row<'_>> = stored
        .iter()
        .zip(&values)
        .filter_map(|(s, v)| {
            let form = storage.forms().get(&s.key.form, s.form_version)?;
            Some(exchange::Row { location: &s.key.location, form, status: s.status, values: v })
        })
        .collect();
    let places = storage.gazetteer().await?;
    let sheets = dtm_core::dtm_workbook::dtm_libya().publish(storage.forms(), &places, round, &rows);
    crate::spreadsheet::write_published(&sheets)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing the workbook: {e}")))
}

/// The round as DTM Libya publishes it on HDX: a Summary sheet (national figures, by
/// mantika, by nationality), `Baladiya Main `, `Muhalla Main` (a group row over the
/// column names, spelling as published) and `Nationalities`, long. Approved data only,
/// and only what is public: no key informant details, no user or device ids.
#[utoipa::path(
    get,
    path = "/rounds/{round}/publish.xlsx",
    tag = "rounds",
    params(("round" = String, Path, description = "A round's code", example = "R55")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The round's workbook in DTM Libya's published layout", body = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, description = crate::openapi::FORBIDDEN_REVIEWER, body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
    )
)]
async fn publish_xlsx(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(code): Path<String>,
) -> Result<axum::response::Response, AppError> {
    let round = find_round(&state, &code).await?;
    let bytes = published_workbook(state.storage.as_ref(), &round, &caller.scope).await?;
    state.storage.log_access(&caller.username, "publish_dtm_workbook", &code, state.now()).await?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("DTM_Libya_Migrant_Baseline_Round_{}.xlsx", round.number),
        bytes,
    ))
}

/// A round's conflicts in the caller's scope, for supervisors to settle.
#[utoipa::path(
    get,
    path = "/rounds/{round}/conflicts",
    tag = "conflicts",
    params(("round" = String, Path, description = "A round's code", example = "R1")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The round's conflicts in the caller's scope, open first", body = Vec<wire::Conflict>),
        (status = 403, description = crate::openapi::FORBIDDEN_REVIEWER, body = ErrorBody),
        (status = 404, description = crate::openapi::UNKNOWN_ROUND, body = ErrorBody),
    )
)]
async fn list_conflicts(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(round): Path<String>,
) -> Result<Json<Vec<wire::Conflict>>, AppError> {
    find_round(&state, &round).await?;
    Ok(Json(state.storage.conflicts(&round, &caller.scope).await?))
}

/// Settles a conflict: keep the current value, take the incoming one, or enter the
/// right one, always with a reason. The result is a new version every device pulls.
#[utoipa::path(
    post,
    path = "/conflicts/{id}/resolve",
    tag = "conflicts",
    params(("id" = i64, Path, description = "The conflict's id", example = 1)),
    request_body = wire::ResolveRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The assessment after the settlement, a new version every device pulls", body = AssessmentDetail),
        (status = 403, description = crate::openapi::FORBIDDEN_REVIEWER, body = ErrorBody),
        (status = 404, description = "`not_found` (no such conflict in the caller's scope)", body = ErrorBody),
        (status = 409, description = "`already_resolved`", body = ErrorBody),
        (status = 422, description = "`reason_required`, `text_too_long`, `unknown_form`, and the value errors of an entered value: `unknown_field`, `negative_count`, `not_a_whole_number`, `not_a_number`, `out_of_range`, `not_text`, `not_an_option`, `unknown_pcode`, `not_a_date`", body = ErrorBody),
    )
)]
async fn resolve_conflict(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<wire::ResolveRequest>,
) -> Result<Json<AssessmentDetail>, AppError> {
    // A conflict outside the caller's scope answers exactly as one that does not
    // exist: ids are sequential, and must not map where conflicts are.
    let conflict = state
        .storage
        .conflict(id)
        .await?
        .filter(|c| caller.scope.contains(&c.key.location))
        .ok_or_else(|| AppError::not_found(format!("there is no conflict {id}")))?;
    let (settlement, reason) = match req {
        wire::ResolveRequest::Current { reason } => (dtm_core::Settlement::KeepCurrent, reason),
        wire::ResolveRequest::Incoming { reason } => (dtm_core::Settlement::TakeIncoming, reason),
        wire::ResolveRequest::Other { value, reason } => {
            // The value is checked against the form version the assessment was
            // collected with, as the device that will receive it checks it.
            let version = state.storage.assessment(&conflict.key).await?.map(|a| a.form_version);
            let form = version
                .and_then(|v| state.storage.forms().get(&conflict.key.form, v))
                .or_else(|| state.storage.forms().latest(&conflict.key.form))
                .ok_or_else(|| AppError::unprocessable(ErrorCode::UnknownForm, "the conflict's form is unknown"))?;
            let places = state.storage.gazetteer().await?;
            form.check_value(&conflict.field, &value, &places)
                .map_err(|e| AppError::unprocessable(e.code(), e.to_string()))?;
            (dtm_core::Settlement::Enter(value), reason)
        }
    };
    dtm_core::text::check(dtm_core::TextKind::Reason, "reason", reason.trim())?;
    if reason.trim().is_empty() {
        return Err(AppError::unprocessable(
            ErrorCode::ReasonRequired,
            "settling a conflict needs a reason, kept with the decision",
        ));
    }
    let snap = state.storage.resolve_conflict(&caller, id, settlement, reason.trim(), state.now()).await?;
    Ok(Json(detail_of(&state, parts_of(snap)).await?))
}

/// `POST /devices/{id}/revoke?wipe=true`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevokeQuery {
    /// Also tell the device to remove its data: it may still push what it holds, and
    /// at its next pull it removes its store (a lost or stolen laptop).
    pub wipe: Option<bool>,
}

/// Revokes a device: its token stops working at once, and it cannot log in again.
/// What it had not synced stays on the device, never lost; with `wipe=true` the device
/// may still push it, and then removes its data. Supervisors over their enumerators' devices, and admins.
#[utoipa::path(
    post,
    path = "/devices/{id}/revoke",
    tag = "accounts",
    params(("id" = String, Path, description = "The device's id"), RevokeQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Revoked: the device's token stops working at once"),
        (status = 403, description = "`forbidden` (for supervisors and admins, over the devices of accounts they manage); `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`not_found` (no such device)", body = ErrorBody),
    )
)]
async fn revoke_device(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(id): Path<String>,
    Query(q): Query<RevokeQuery>,
) -> Result<StatusCode, AppError> {
    state.storage.revoke_device_by(&(&caller).into(), &id, q.wipe.unwrap_or(false), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /devices/{id}/hand-over`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct HandOver {
    /// The account that takes the device over.
    pub username: String,
}

/// Hands a field device over to another account, with the work on it: the data on a
/// device is encrypted and opens only for the accounts that signed in on it, so another
/// enumerator given the laptop would be refused (`store_locked`). After this, HQ
/// releases its key for the device's data to that account at its next sign-in there,
/// online; the account's password then opens it offline too. Nothing on the device is
/// removed, and the accounts that opened it before still can. Supervisors over their
/// enumerators' devices, and admins.
#[utoipa::path(
    post,
    path = "/devices/{id}/hand-over",
    tag = "accounts",
    params(("id" = String, Path, description = "The device's id")),
    request_body = HandOver,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Handed over: the account may now sign in on the device"),
        (status = 403, description = "`forbidden`, `out_of_scope` (an account the caller does not manage), `account_disabled` (the account to hand over to); `device_revoked`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`not_found` (no such device or account)", body = ErrorBody),
        (status = 409, description = "`device_revoked` (a revoked device is handed to nobody); `no_store_key` (no encrypted data on it yet: anyone may sign in)", body = ErrorBody),
    )
)]
async fn hand_over_device(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HandOver>,
) -> Result<StatusCode, AppError> {
    state.storage.hand_over_device(&(&caller).into(), &id, &body.username, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
