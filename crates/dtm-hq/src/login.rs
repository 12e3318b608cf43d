//! Login, logout and unlocking an account: the HTTP around [`crate::login_guard`]'s
//! decisions and [`crate::session`]'s cookie.

use crate::auth;
use crate::error::{ApiJson, AppError};
use crate::login_guard::{Failures, HashSlots, LoginPolicy, RateLimits, Refusal};
use crate::routes::{iso, Admin, AppState};
use crate::session::{self, ClientAddress, Presented};
use crate::storage::{LoginFailures, NewDevice};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dtm_core::text::{self, TextKind};
use dtm_core::ErrorCode;
use dtm_sync::wire::{ErrorBody, LoginRequest, LoginResponse};
use std::sync::Mutex;

/// What HQ holds in memory about logins: the policy, the rate-limit buckets and the
/// slots password hashes run in.
pub struct LoginThrottle {
    pub policy: LoginPolicy,
    limits: Mutex<RateLimits>,
    pub(crate) hashing: HashSlots,
}

impl LoginThrottle {
    pub fn new(policy: LoginPolicy) -> Self {
        let hashing = HashSlots::new(policy.hash_slots);
        Self { policy, limits: Mutex::default(), hashing }
    }

    fn limits(&self) -> std::sync::MutexGuard<'_, RateLimits> {
        // The buckets are counters; one left half-updated by a panic is still usable.
        self.limits.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// 429 with `Retry-After`, in the API's error format.
fn refused(refusal: Refusal) -> Response {
    let seconds = refusal.retry_after().as_seconds_f64().ceil().max(1.0) as u64;
    let error = match refusal {
        Refusal::RateLimited { .. } => AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            format!("too many attempts; try again in {seconds} s"),
        ),
        Refusal::Locked { .. } => AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::AccountLocked,
            format!(
                "too many failed logins for this account; it is locked for {} min, or until an admin unlocks it",
                seconds.div_ceil(60)
            ),
        ),
    };
    let mut response = error.into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

fn bad_credentials() -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, ErrorCode::BadCredentials, "wrong username or password")
}

/// `POST /auth/login`. Refusals come before any hashing: bounded text, then the rate
/// limits, then the lockout. A correct password does not open a locked account.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "sessions",
    params(crate::session::DashboardClient),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: the token (empty for the dashboard, whose token is in the cookie), the account and the device", body = LoginResponse, headers(("set-cookie" = String, description = "`dtm_session`, HttpOnly, for a login with `X-DTM-Client: dashboard`"))),
        (status = 401, description = "`bad_credentials` (wrong username or password)", body = ErrorBody),
        (status = 403, description = "`account_disabled` (said only to the right password)", body = ErrorBody),
        (status = 422, description = "`text_too_long`", body = ErrorBody),
        (status = 429, description = "`rate_limited` (too many attempts from this address or for this username), `account_locked` (too many failed logins: locked for 15 minutes or until an admin unlocks it); both with `Retry-After`", body = ErrorBody, headers(("retry-after" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    text::check(TextKind::Name, "username", &req.username)?;
    text::check(TextKind::Password, "password", &req.password)?;
    if let Some(name) = &req.device_name {
        text::check(TextKind::Name, "device_name", name)?;
    }
    if let Some(refusal) = throttled(&state, address, &req.username) {
        return Ok(refusal);
    }
    let throttle = state.login.clone();
    let now = state.now();
    let found = state.storage.user_for_login(&req.username).await?.map(|u| {
        let disabled = u.disabled_at.is_some();
        let must_change = u.must_change_password;
        ((u.user, u.password_hash), disabled, must_change)
    });
    let (found, disabled, must_change) = match found {
        Some((found, disabled, must_change)) => (Some(found), disabled, must_change),
        None => (None, false, false),
    };
    let failures = match &found {
        Some(_) => state.storage.login_failures(&req.username).await?,
        None => throttle.limits().unknown_failures(&req.username),
    };
    if let Some(retry_after) = failures.locked(now) {
        return Ok(refused(Refusal::Locked { retry_after }));
    }
    let password = req.password.clone();
    // Unknown users cost the same hash as wrong passwords, so timing tells nothing.
    let hash = found.as_ref().map_or_else(|| auth::decoy_hash().to_owned(), |(_, hash)| hash.clone());
    let ok = throttle.hashing.run(move || auth::verify_password(&password, &hash)).await.map_err(AppError::Internal)?;
    let user = match found {
        Some((user, _)) if ok => user,
        Some(_) => {
            let policy = throttle.policy.clone();
            let update = move |f: LoginFailures| f.after_failure(now, &policy);
            state.storage.update_login_failures(&req.username, Box::new(update)).await?;
            state.storage.log_access(&req.username, "login_failed", &address.to_string(), now).await?;
            return Err(bad_credentials());
        }
        None => {
            {
                let mut limits = throttle.limits();
                let next = limits.unknown_failures(&req.username).after_failure(now, &throttle.policy);
                limits.set_unknown_failures(&req.username, next);
            }
            state.storage.log_access(&req.username, "login_failed", &address.to_string(), now).await?;
            return Err(bad_credentials());
        }
    };
    // Only the right password learns that the account is disabled.
    if disabled {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::AccountDisabled,
            "this account is disabled; ask your supervisor or an admin",
        ));
    }
    throttle.limits().succeeded(&user.username, now, &throttle.policy);
    if failures != Failures::default() {
        state.storage.update_login_failures(&user.username, Box::new(|_| LoginFailures::default())).await?;
    }
    let token = auth::new_token();
    let lifetime = time::Duration::days(state.settings.token_days);
    let expires_at = now + lifetime;
    let sent = sent_device_id(req.device_id);
    let plain_store = req.plain_store;
    let device_id = state
        .storage
        .register_device(NewDevice {
            device_id: sent.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            username: user.username.clone(),
            name: req.device_name,
            token_hash: auth::token_hash(&token),
            created_at: now,
            expires_at,
        })
        .await?;
    let store_key = store_key_for(&state, &headers, plain_store, sent, &device_id, &user.username, now).await?;
    let expires_at = iso(expires_at);
    let session = LoginResponse { token, user, device_id, expires_at, must_change_password: must_change, store_key };
    Ok(session_response(&headers, session, lifetime))
}

/// The id a device sent, when it is one (a browser gets a fresh id per login).
pub(crate) fn sent_device_id(sent: Option<String>) -> Option<String> {
    sent.filter(|id| uuid::Uuid::parse_str(id).is_ok())
}

/// The key to a field device's encrypted store, for a sign-in from a field device (never
/// the dashboard, nor a device that keeps a plain store): the store is the one the
/// device named (its own id), or for a new device the id HQ just gave it, which it
/// takes as its own.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn store_key_for(
    state: &AppState,
    headers: &HeaderMap,
    plain_store: bool,
    sent: Option<String>,
    device_id: &str,
    username: &str,
    now: time::OffsetDateTime,
) -> Result<Option<String>, AppError> {
    if plain_store || session::from_dashboard(headers) {
        return Ok(None);
    }
    let store_id = sent.unwrap_or_else(|| device_id.to_owned());
    Ok(state.storage.store_key(&store_id, username, now).await?)
}

/// A new session's answer: the token in the body for devices, or only in an HttpOnly
/// cookie for the dashboard, out of script's reach.
pub(crate) fn session_response(headers: &HeaderMap, session: LoginResponse, lifetime: time::Duration) -> Response {
    if session::from_dashboard(headers) {
        let cookie = session::set_cookie(headers, &session.token, lifetime);
        let body = LoginResponse { token: String::new(), store_key: None, ..session };
        return ([(header::SET_COOKIE, cookie)], Json(body)).into_response();
    }
    Json(session).into_response()
}

/// Counts one more guess (a password at login or at a password change, an enrolment
/// code) from `address` for `key`; the answer when it is one too many: 429 with
/// `Retry-After`.
pub(crate) fn throttled(state: &AppState, address: std::net::IpAddr, key: &str) -> Option<Response> {
    let throttle = &state.login;
    throttle.limits().admit(address, key, state.now(), &throttle.policy).err().map(refused)
}

/// Hashes a new password on HQ's hashing threads.
pub(crate) async fn hash_off_thread(state: &AppState, password: String) -> Result<String, AppError> {
    state.login.hashing.run(move || auth::hash_password(&password)).await.map_err(AppError::Internal)
}

/// Checks a password on HQ's hashing threads.
pub(crate) async fn verify_off_thread(state: &AppState, password: String, hash: String) -> Result<bool, AppError> {
    state.login.hashing.run(move || auth::verify_password(&password, &hash)).await.map_err(AppError::Internal)
}

/// The token a request presents, whether or not it is still valid: what a logout ends.
pub struct PresentedToken(pub Presented);

impl FromRequestParts<AppState> for PresentedToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        session::presented(parts)?.map(Self).ok_or_else(AppError::unauthenticated)
    }
}

/// `POST /auth/logout`: the presented token stops working at once. Answers 204 even
/// for a token already expired or ended, so a device that remembered to log out while
/// offline can always finish doing so.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "sessions",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "The presented token no longer works (also when it had already ended); a cookie session's cookie is cleared"),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    PresentedToken(presented): PresentedToken,
) -> Result<Response, AppError> {
    state.storage.end_session(&auth::token_hash(presented.token()), state.now()).await?;
    Ok(match presented {
        Presented::Cookie(_) => {
            (StatusCode::NO_CONTENT, [(header::SET_COOKIE, session::clear_cookie(&headers))]).into_response()
        }
        Presented::Bearer(_) => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `POST /users/{username}/unlock`: clears an account's lockout. Admins only.
#[utoipa::path(
    post,
    path = "/users/{username}/unlock",
    tag = "accounts",
    params(("username" = String, Path, description = "An account's username")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "The account's failed logins and lockout are cleared"),
        (status = 403, description = crate::openapi::FORBIDDEN_ADMIN, body = ErrorBody),
        (status = 404, description = "`not_found` (no such account)", body = ErrorBody),
    )
)]
pub async fn unlock_user(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(username): Path<String>,
) -> Result<StatusCode, AppError> {
    state.storage.unlock_user(&username).await?;
    state.login.limits().forget_username(&username);
    state.storage.log_access(&caller.username, "unlock_user", &username, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
