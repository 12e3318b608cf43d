//! The IPC commands of docs/api.md. Each one turns its camelCase arguments into domain
//! types, calls `Device`, and turns a `DeviceError` into the contract's `ApiError`.
//! No decisions are made here: what a command means lives in dtm-sync and dtm-store.

use crate::autosync::AutoSync;
use dtm_core::{AssessmentKey, ErrorCode, FieldValue, FormDef, Pcode};
use dtm_sync::api::{AssessmentDetail, AssessmentSummary, LockState, RejectedOp, SentOp, Session, SyncState};
use dtm_sync::device::{Device, DeviceError};
use dtm_sync::wire::RoundInfo;
use serde::Serialize;
use std::sync::Arc;
use tauri::State;

/// What a command rejects with: the contract's `ApiError`, `{code, message}`.
#[derive(Debug, Serialize)]
pub struct CommandError {
    code: ErrorCode,
    message: String,
}

impl CommandError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl From<DeviceError> for CommandError {
    fn from(e: DeviceError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

type Reply<T> = Result<T, CommandError>;
type Dev<'a> = State<'a, Arc<Device>>;

fn key(round: String, form: String, location: &str) -> Reply<AssessmentKey> {
    let location = Pcode::parse(location).map_err(|e| CommandError::new(ErrorCode::UnknownPcode, e.to_string()))?;
    Ok(AssessmentKey::new(round, form, location))
}

// Commands are `async` so that Tauri runs them on its runtime, not the main thread:
// a store call may wait for the lock while a sync applies a pull page.

#[tauri::command]
pub async fn session(device: Dev<'_>) -> Reply<Option<Session>> {
    Ok(device.session()?)
}

/// Whether the device's data is locked, and which accounts may open it offline.
#[tauri::command]
pub async fn lock_state(device: Dev<'_>) -> Reply<LockState> {
    Ok(device.lock_state()?)
}

/// Opens the device's data with the password alone when the account is signed in
/// here already (offline); otherwise needs HQ. The pull that follows a login brings the rounds, so the loop need not be woken.
#[tauri::command]
pub async fn login(device: Dev<'_>, hq_url: String, username: String, password: String) -> Reply<Session> {
    Ok(device.login(hq_url.trim(), &username, &password).await?)
}

/// Joins HQ with a one-time enrolment code (or the link of its QR code, which carries
/// HQ's address) and sets the account's password. Needs HQ, like a login.
#[tauri::command]
pub async fn enrol(device: Dev<'_>, hq_url: String, code: String, password: String) -> Reply<Session> {
    Ok(device.enrol(hq_url.trim(), code.trim(), &password).await?)
}

/// Changes the account's password at HQ, the one-time password of a reset included.
#[tauri::command]
pub async fn change_password(device: Dev<'_>, current: String, next: String) -> Reply<()> {
    Ok(device.change_password(&current, &next).await?)
}

/// Forgets the credentials at once; HQ is asked to revoke the token now, or at the
/// next connection when it cannot be reached.
#[tauri::command]
pub async fn logout(device: Dev<'_>) -> Reply<()> {
    device.logout().await?;
    Ok(())
}

#[tauri::command]
pub async fn list_rounds(device: Dev<'_>) -> Reply<Vec<RoundInfo>> {
    Ok(device.rounds()?)
}

/// The form at `version`, or its newest version; the same answer as HQ's `GET /forms/{form}`.
#[tauri::command]
pub async fn get_form(device: Dev<'_>, form: String, version: Option<u32>) -> Reply<FormDef> {
    device
        .form(&form, version)?
        .ok_or_else(|| CommandError::new(ErrorCode::UnknownForm, format!("there is no form `{form}`")))
}

#[tauri::command]
pub async fn list_assessments(device: Dev<'_>, round: String) -> Reply<Vec<AssessmentSummary>> {
    Ok(device.assessments(&round)?)
}

#[tauri::command]
pub async fn get_assessment(device: Dev<'_>, round: String, form: String, location: String) -> Reply<AssessmentDetail> {
    Ok(device.assessment(&key(round, form, &location)?)?)
}

#[tauri::command]
pub async fn set_field(
    device: Dev<'_>,
    auto: State<'_, AutoSync>,
    round: String,
    form: String,
    location: String,
    field: String,
    value: FieldValue,
) -> Reply<AssessmentDetail> {
    let detail = device.set_field(&key(round, form, &location)?, &field, value)?;
    auto.local_change(&device);
    Ok(detail)
}

/// Saves several fields of one assessment together (a row pasted into the entry grid):
/// all of them with one outbox operation, or none.
#[tauri::command]
pub async fn set_fields(
    device: Dev<'_>,
    auto: State<'_, AutoSync>,
    round: String,
    form: String,
    location: String,
    values: Vec<(String, FieldValue)>,
) -> Reply<AssessmentDetail> {
    let detail = device.set_fields(&key(round, form, &location)?, &values)?;
    auto.local_change(&device);
    Ok(detail)
}

#[tauri::command]
pub async fn submit_assessment(
    device: Dev<'_>,
    auto: State<'_, AutoSync>,
    round: String,
    form: String,
    location: String,
) -> Reply<AssessmentDetail> {
    let detail = device.submit(&key(round, form, &location)?)?;
    auto.local_change(&device);
    Ok(detail)
}

/// The HQ this installation is configured for (`DTM_HQ_URL`), to prefill the login.
#[tauri::command]
pub async fn default_hq_url() -> Option<String> {
    std::env::var("DTM_HQ_URL").ok().filter(|u| !u.trim().is_empty())
}

/// Withdraws an assessment entered by mistake; every value is kept (a tombstone).
#[tauri::command]
pub async fn void_assessment(
    device: Dev<'_>,
    auto: State<'_, AutoSync>,
    round: String,
    form: String,
    location: String,
    reason: String,
) -> Reply<AssessmentDetail> {
    let detail = device.void(&key(round, form, &location)?, &reason)?;
    auto.local_change(&device);
    Ok(detail)
}

/// Syncs now and answers with the state afterwards. A failed sync (offline, HQ down)
/// is not a failed command: it is recorded and shown as `last_error` in the state, so
/// the sync bar says it once. Only a session HQ no longer accepts rejects, so that
/// the UI returns to the login screen.
#[tauri::command]
pub async fn sync_now(device: Dev<'_>, auto: State<'_, AutoSync>) -> Reply<SyncState> {
    match device.sync(auto.emitter()).await {
        Err(e) if e.code() == ErrorCode::Unauthenticated => Err(e.into()),
        _ => Ok(device.sync_state()?),
    }
}

#[tauri::command]
pub async fn sync_state(device: Dev<'_>) -> Reply<SyncState> {
    Ok(device.sync_state()?)
}

#[tauri::command]
pub async fn rejected_ops(device: Dev<'_>) -> Reply<Vec<RejectedOp>> {
    Ok(device.rejected_ops()?)
}

/// The newest entries of the device's sent log (what it pushed and HQ answered).
#[tauri::command]
pub async fn sent_log(device: Dev<'_>, limit: Option<u32>) -> Reply<Vec<SentOp>> {
    Ok(device.sent_log(limit.unwrap_or(100))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialise_as_the_contracts_api_error() {
        let json = serde_json::to_value(CommandError::new(ErrorCode::UnknownForm, "no form")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "unknown_form", "message": "no form"}),
            "the UI reads `code` and `message` straight off the rejected value"
        );
    }

    #[test]
    fn a_malformed_location_is_an_unknown_pcode() {
        let err = key("R1".into(), "baladiya".into(), "Tripoli").unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownPcode);
        assert!(key("R1".into(), "baladiya".into(), "LY021104").is_ok());
    }
}
