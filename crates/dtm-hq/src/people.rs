//! Accounts, devices, enrolment and the audit log over HTTP: the People, Devices and
//! Audit pages of the dashboard and the field app's enrolment. Who may manage whom is
//! dtm-core's `accounts::may_manage`, applied by the service inside each transaction;
//! these handlers check text, hash passwords off the async threads, and answer.

use crate::auth;
use crate::error::{ApiJson, AppError};
use crate::login::{self, session_response};
use crate::routes::{iso, Admin, AnyCaller, AppState, Reviewer};
use crate::session::ClientAddress;
use crate::storage::{Actor, AuditFilter, NewDevice, NewEnrolment};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dtm_core::accounts;
use dtm_core::text::{self, TextKind};
use dtm_core::ErrorCode;
use dtm_sync::accounts::{
    Account, AccountChange, AuditEntry, AuditPage, DeviceInfo, EnrolRequest, Enrolment, NewAccount, OneTimePassword,
    PasswordChange,
};
use dtm_sync::wire::{ErrorBody, LoginResponse};
use serde::Deserialize;
use time::OffsetDateTime;

/// `GET /users`: the accounts the caller manages (every one for an admin).
#[utoipa::path(
    get,
    path = "/users",
    tag = "accounts",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The accounts the caller manages (every one for an admin)", body = Vec<Account>),
        (status = 403, description = crate::openapi::FORBIDDEN_REVIEWER, body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, Reviewer(caller): Reviewer) -> Result<Json<Vec<Account>>, AppError> {
    Ok(Json(state.storage.accounts(&Actor::from(&caller)).await?))
}

/// `POST /users`: a new account, without a password until its enrolment or reset.
#[utoipa::path(
    post,
    path = "/users",
    tag = "accounts",
    request_body = NewAccount,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "The new account, without a password until its enrolment or a reset", body = Account),
        (status = 403, description = "`forbidden` (a supervisor creates enumerators only), `out_of_scope` (a scope beyond the caller's); `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 409, description = "`user_exists`", body = ErrorBody),
        (status = 422, description = "`bad_username`, `bad_display_name`, `empty_scope`, `unknown_location`, `text_too_long`", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    ApiJson(new): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Account>), AppError> {
    text::check(TextKind::Name, "display_name", &new.display_name)?;
    let account = state.storage.create_account(&Actor::from(&caller), new, state.now()).await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// `PATCH /users/{username}`: name, role, scope or language.
#[utoipa::path(
    patch,
    path = "/users/{username}",
    tag = "accounts",
    params(("username" = String, Path, description = "An account's username")),
    request_body = AccountChange,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The account as changed", body = Account),
        (status = 403, description = "`forbidden` (not an account the caller manages), `out_of_scope`, `own_account` (one's own role and scope are changed by another admin); `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`not_found` (no such account)", body = ErrorBody),
        (status = 409, description = "`last_admin` (HQ keeps at least one active admin)", body = ErrorBody),
        (status = 422, description = "`bad_display_name`, `empty_scope`, `unknown_location`, `text_too_long`", body = ErrorBody),
    )
)]
pub async fn change(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(username): Path<String>,
    ApiJson(change): ApiJson<AccountChange>,
) -> Result<Json<Account>, AppError> {
    if let Some(name) = &change.display_name {
        text::check(TextKind::Name, "display_name", name)?;
    }
    Ok(Json(state.storage.change_account(&Actor::from(&caller), &username, change, state.now()).await?))
}

/// `POST /users/{username}/disable`: every token of the account stops working at once.
#[utoipa::path(
    post,
    path = "/users/{username}/disable",
    tag = "accounts",
    params(("username" = String, Path, description = "An account's username")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The account, disabled: every token of it stops working at once", body = Account),
        (status = 403, description = "`forbidden`, `out_of_scope`, `own_account`; `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`not_found` (no such account)", body = ErrorBody),
        (status = 409, description = "`last_admin`", body = ErrorBody),
    )
)]
pub async fn disable(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(username): Path<String>,
) -> Result<Json<Account>, AppError> {
    Ok(Json(state.storage.set_disabled(&Actor::from(&caller), &username, true, state.now()).await?))
}

/// `POST /users/{username}/enable`.
#[utoipa::path(
    post,
    path = "/users/{username}/enable",
    tag = "accounts",
    params(("username" = String, Path, description = "An account's username")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The account, active again", body = Account),
        (status = 403, description = "`forbidden`, `out_of_scope`; `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`not_found` (no such account)", body = ErrorBody),
    )
)]
pub async fn enable(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(username): Path<String>,
) -> Result<Json<Account>, AppError> {
    Ok(Json(state.storage.set_disabled(&Actor::from(&caller), &username, false, state.now()).await?))
}

/// `POST /users/{username}/password-reset`: a one-time password (shown once, to the
/// person resetting), which must be changed at first use; the account's sessions end.
#[utoipa::path(
    post,
    path = "/users/{username}/password-reset",
    tag = "accounts",
    params(("username" = String, Path, description = "An account's username")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A one-time password, shown once; the account's sessions end", body = OneTimePassword),
        (status = 403, description = "`forbidden`, `out_of_scope`, `own_account` (one's own password is changed at /me/password, with the current one); `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`not_found` (no such account)", body = ErrorBody),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(username): Path<String>,
) -> Result<Json<OneTimePassword>, AppError> {
    let password = auth::one_time_password();
    let hash = login::hash_off_thread(&state, password.clone()).await?;
    state.storage.reset_password(&Actor::from(&caller), &username, hash, state.now()).await?;
    Ok(Json(OneTimePassword { username, password }))
}

/// `POST /me/password`: the caller's own password, also the one-time one.
#[utoipa::path(
    post,
    path = "/me/password",
    tag = "sessions",
    request_body = PasswordChange,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Changed; a one-time password is spent"),
        (status = 403, description = "`wrong_password` (the current password is not right); `device_revoked`, `account_disabled`", body = ErrorBody),
        (status = 422, description = "`same_password`, `weak_password`, `text_too_long`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (guessed like a login); with `Retry-After`", body = ErrorBody, headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    AnyCaller(caller): AnyCaller,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<Response, AppError> {
    text::check(TextKind::Password, "current_password", &req.current_password)?;
    text::check(TextKind::Password, "new_password", &req.new_password)?;
    // What can be refused without the current password is refused first.
    if req.new_password == req.current_password {
        return Err(AppError::unprocessable(
            ErrorCode::SamePassword,
            "the new password must differ from the current one",
        ));
    }
    accounts::check_new_password(&caller.username, &req.new_password)
        .map_err(|e| AppError::unprocessable(e.code(), e.to_string()))?;
    // Rate-limited like a login: a stolen session cannot guess the password here.
    if let Some(refusal) = login::throttled(&state, address, &format!("password-change:{}", caller.username)) {
        return Ok(refusal);
    }
    let stored = state.storage.user_for_login(&caller.username).await?.ok_or_else(AppError::unauthenticated)?;
    let ok = login::verify_off_thread(&state, req.current_password, stored.password_hash).await?;
    if !ok {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::WrongPassword,
            "the current password is not right",
        ));
    }
    let hash = login::hash_off_thread(&state, req.new_password).await?;
    state.storage.change_password(&caller, hash, state.now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EnrolmentQuery {
    /// How long the code works, in hours (at most 30 days); HQ's setting by default.
    hours: Option<i64>,
}

/// Where devices reach HQ: the configured public address, else the one this request
/// came to.
fn hq_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    let scheme = if scheme == "https" { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// `POST /users/{username}/enrolments`: a one-time code for the account's next device.
#[utoipa::path(
    post,
    path = "/users/{username}/enrolments",
    tag = "accounts",
    params(("username" = String, Path, description = "An account's username"), EnrolmentQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "A one-time code for the account's next device, its link and QR code", body = Enrolment),
        (status = 403, description = "`forbidden`, `out_of_scope`, `own_account` (not for one's own account); `device_revoked`, `account_disabled`, `password_change_required`", body = ErrorBody),
        (status = 404, description = "`not_found` (no such account)", body = ErrorBody),
        (status = 422, description = "`bad_hours` (1 hour to 30 days)", body = ErrorBody),
    )
)]
pub async fn issue_enrolment(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
    Path(username): Path<String>,
    Query(q): Query<EnrolmentQuery>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Enrolment>), AppError> {
    let hours = q.hours.unwrap_or(state.settings.enrolment_hours);
    if !(1..=30 * 24).contains(&hours) {
        return Err(AppError::unprocessable(ErrorCode::BadHours, "an enrolment code lasts 1 hour to 30 days"));
    }
    let (code, code_hash) = auth::new_enrolment_code();
    let now = state.now();
    let expires_at = now + time::Duration::hours(hours);
    let enrolment = NewEnrolment {
        code_hash,
        username: username.clone(),
        created_by: caller.username.clone(),
        created_at: now,
        expires_at,
    };
    state.storage.issue_enrolment(&Actor::from(&caller), enrolment).await?;
    let link = accounts::enrolment_link(&hq_url(&state, &headers), &code);
    let qr_svg = auth::qr_svg(&link).map_err(AppError::Internal)?;
    Ok((StatusCode::CREATED, Json(Enrolment { username, code, expires_at: iso(expires_at), link, qr_svg })))
}

/// `POST /enrol`: a device joins HQ with a one-time code and its user sets their
/// password. Answers as a login does.
#[utoipa::path(
    post,
    path = "/enrol",
    tag = "sessions",
    params(crate::session::DashboardClient),
    request_body = EnrolRequest,
    responses(
        (status = 200, description = "Enrolled and signed in, as a login answers", body = LoginResponse),
        (status = 403, description = "`account_disabled`", body = ErrorBody),
        (status = 410, description = "`enrolment_used`, `enrolment_expired`", body = ErrorBody),
        (status = 422, description = "`enrolment_invalid` (not a code HQ issued), `weak_password`, `text_too_long`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (guessed like a login); with `Retry-After`", body = ErrorBody, headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn enrol(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> Result<Response, AppError> {
    text::check(TextKind::Name, "code", &req.code)?;
    text::check(TextKind::Password, "password", &req.password)?;
    if let Some(name) = &req.device_name {
        text::check(TextKind::Name, "device_name", name)?;
    }
    let code = accounts::parse_enrolment_link(&req.code)
        .map(|(_, code)| code)
        .or_else(|| accounts::normalise_code(&req.code))
        .ok_or_else(|| {
            AppError::unprocessable(ErrorCode::EnrolmentInvalid, "an enrolment code is 8 letters, like ACDE-FGHJ")
        })?;
    // Guessing codes is throttled like guessing passwords: per address and per code.
    if let Some(refusal) = login::throttled(&state, address, &format!("enrolment:{code}")) {
        return Ok(refusal);
    }
    let code_hash = auth::token_hash(&code); // `code` is already in its canonical form
    let now = state.now();
    let enrolment = state.storage.enrolment(&code_hash, now).await?;
    accounts::check_new_password(&enrolment.username, &req.password)
        .map_err(|e| AppError::unprocessable(e.code(), e.to_string()))?;
    let hash = login::hash_off_thread(&state, req.password).await?;
    let token = auth::new_token();
    let lifetime = time::Duration::days(state.settings.token_days);
    let plain_store = req.plain_store;
    let sent = login::sent_device_id(req.device_id);
    let device = NewDevice {
        device_id: sent.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        username: enrolment.username,
        name: req.device_name,
        token_hash: auth::token_hash(&token),
        created_at: now,
        expires_at: now + lifetime,
    };
    let (user, device_id) = state.storage.enrol(&code_hash, hash, device).await?;
    let store_key = login::store_key_for(&state, &headers, plain_store, sent, &device_id, &user.username, now).await?;
    let expires_at = iso(now + lifetime);
    let session = LoginResponse { token, user, device_id, expires_at, must_change_password: false, store_key };
    Ok(session_response(&headers, session, lifetime))
}

/// `GET /devices`: the devices of the accounts the caller manages.
#[utoipa::path(
    get,
    path = "/devices",
    tag = "accounts",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The devices of the accounts the caller manages", body = Vec<DeviceInfo>),
        (status = 403, description = crate::openapi::FORBIDDEN_REVIEWER, body = ErrorBody),
    )
)]
pub async fn devices(
    State(state): State<AppState>,
    Reviewer(caller): Reviewer,
) -> Result<Json<Vec<DeviceInfo>>, AppError> {
    Ok(Json(state.storage.devices(&Actor::from(&caller)).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only what this username did.
    actor: Option<String>,
    /// Only this action (`login_failed`, `create_round`, …).
    action: Option<String>,
    /// The first day shown, `YYYY-MM-DD` (UTC).
    #[param(format = Date)]
    from: Option<String>,
    /// The last day shown, `YYYY-MM-DD` (UTC).
    #[param(format = Date)]
    to: Option<String>,
    /// Lines older than this id: the `next_before` of the previous page.
    before: Option<i64>,
    /// Lines a page holds: 100 by default, between 1 and 1,000 (100,000 for the CSV).
    limit: Option<u32>,
}

fn day(what: &str, text: Option<&str>, days_after: i64) -> Result<Option<OffsetDateTime>, AppError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else { return Ok(None) };
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format)
        .map_err(|_| AppError::unprocessable(ErrorCode::BadDate, format!("`{what}` is a date like 2026-11-30")))?;
    Ok(Some(date.midnight().assume_utc() + time::Duration::days(days_after)))
}

impl AuditQuery {
    fn filter(&self, default_limit: u32, max_limit: u32) -> Result<AuditFilter, AppError> {
        let blank = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        for (what, text) in [("actor", &self.actor), ("action", &self.action)] {
            if let Some(t) = text {
                text::check(TextKind::Name, what, t)?;
            }
        }
        Ok(AuditFilter {
            actor: blank(&self.actor),
            action: blank(&self.action),
            from: day("from", self.from.as_deref(), 0)?,
            to: day("to", self.to.as_deref(), 1)?,
            before: self.before,
            limit: self.limit.unwrap_or(default_limit).clamp(1, max_limit),
        })
    }
}

/// `GET /audit`: who did what and when, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "accounts",
    params(AuditQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A page of the audit log, newest first", body = AuditPage),
        (status = 403, description = crate::openapi::FORBIDDEN_ADMIN, body = ErrorBody),
        (status = 422, description = "`bad_date` (from and to are dates like 2026-11-30), `text_too_long`", body = ErrorBody),
    )
)]
pub async fn audit(
    State(state): State<AppState>,
    Admin(_caller): Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, AppError> {
    let filter = q.filter(100, 1_000)?;
    let limit = filter.limit as usize;
    let entries = state.storage.audit(filter).await?;
    let next_before = (entries.len() == limit).then(|| entries.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage { entries, next_before }))
}

/// `GET /audit.csv`: the same lines (up to 100,000) as a CSV file; the export is
/// itself in the log.
#[utoipa::path(
    get,
    path = "/audit.csv",
    tag = "accounts",
    params(AuditQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The same lines as `/audit` (up to 100,000) as CSV: id, at, actor, action, target", body = String, content_type = "text/csv", headers(("content-disposition" = String, description = "attachment; filename=\"dtm-hq-audit.csv\""))),
        (status = 403, description = crate::openapi::FORBIDDEN_ADMIN, body = ErrorBody),
        (status = 422, description = "`bad_date`, `text_too_long`", body = ErrorBody),
    )
)]
pub async fn audit_csv(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Query(q): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let filter = q.filter(100_000, 100_000)?;
    let entries: Vec<AuditEntry> = state.storage.audit(filter).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| AppError::Internal(e.into());
    out.write_record(["id", "at", "actor", "action", "target"]).map_err(io)?;
    for e in &entries {
        out.write_record([e.id.to_string().as_str(), &e.at, &e.actor, &e.action, &e.target]).map_err(io)?;
    }
    let body = out.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    state
        .storage
        .log_access(&caller.username, "export_audit_csv", &format!("{} lines", entries.len()), state.now())
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"dtm-hq-audit.csv\"".to_owned()),
        ],
        body,
    )
        .into_response())
}
