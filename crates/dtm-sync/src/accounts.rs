//! The account, device, enrolment and audit shapes of HQ's API: what the People,
//! Devices and Audit pages, the `dtm-hq user` commands and the field app's enrolment
//! send and receive.

use crate::api::LocationRef;
use crate::wire::{LoginResponse, User};
use dtm_core::{Language, Role};
use serde::{Deserialize, Serialize};

/// `GET /me`: whose session this is, and whether its password is a one-time one
/// that must be changed before anything else (so a reload of the dashboard knows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Me {
    #[serde(flatten)]
    #[ts(flatten)]
    pub user: User,
    #[serde(default)]
    pub must_change_password: bool,
}

/// An account as HQ lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Account {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// P-codes of any level; `LY` is the whole country.
    pub scope: Vec<String>,
    /// The same scope with its names in English and Arabic.
    pub scope_places: Vec<LocationRef>,
    pub language: Language,
    /// When the account was disabled; null while it is active.
    pub disabled_at: Option<String>,
    /// The password is a one-time one (or none yet): it must be changed at next login.
    pub must_change_password: bool,
    pub created_at: String,
    pub created_by: Option<String>,
    /// Devices holding a session that is not revoked.
    pub devices: u32,
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Vec<String>,
    #[serde(default)]
    #[ts(optional)]
    pub language: Option<Language>,
}

/// `PATCH /api/v1/users/{username}`: what is given changes, the rest stays.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AccountChange {
    #[serde(default)]
    #[ts(optional)]
    pub display_name: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub role: Option<Role>,
    #[serde(default)]
    #[ts(optional)]
    pub scope: Option<Vec<String>>,
    #[serde(default)]
    #[ts(optional)]
    pub language: Option<Language>,
}

/// A password HQ made for one use: it works once, to log in and set a new one.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct OneTimePassword {
    pub username: String,
    pub password: String,
}

/// `POST /api/v1/me/password`.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// An enrolment HQ issued: the code to read aloud, and the link its QR code carries.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Enrolment {
    pub username: String,
    /// `ABCD-EFGH`: 8 letters without look-alikes.
    pub code: String,
    pub expires_at: String,
    /// HQ's address and the code (never a password), as the QR code carries them.
    pub link: String,
    /// The link as a QR code, an SVG image.
    pub qr_svg: String,
}

/// `POST /api/v1/enrol`: a device joins HQ with a one-time code and sets the
/// account's password.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct EnrolRequest {
    /// The code as typed (dashes, spaces and lower case are forgiven) or the QR link.
    pub code: String,
    pub password: String,
    #[serde(default)]
    #[ts(optional)]
    pub device_name: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub device_id: Option<String>,
    /// The device keeps its data in plain SQLite (the `dtm` command line, tests,
    /// benchmarks): HQ then keeps no key for its store. The field app's store is
    /// encrypted and sends nothing here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(optional, as = "Option<bool>")]
    pub plain_store: bool,
}

/// What an enrolment answers: a login.
pub type EnrolResponse = LoginResponse;

/// A device as the Devices page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct DeviceInfo {
    pub device_id: String,
    pub username: String,
    pub display_name: String,
    pub name: Option<String>,
    pub app_version: Option<String>,
    /// The first login from this device.
    pub first_seen_at: String,
    pub last_sync_at: Option<String>,
    /// Operations the device had not yet pushed when it last synced.
    pub pending_ops: Option<u32>,
    pub revoked_at: Option<String>,
    pub expires_at: String,
    /// Revoked with a wipe: the device pushes what it holds, then removes its data.
    #[serde(default)]
    pub wipe: bool,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AuditEntry {
    #[ts(type = "number")]
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
}

/// `GET /api/v1/audit`: newest first; `next_before` asks for the page after.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    #[ts(type = "number | null")]
    pub next_before: Option<i64>,
}
