//! What the routes ask of HQ's storage: [`HqStorage`], implemented once by the
//! service layer (`service.rs`) over either backend's primitives (`store.rs`):
//! SQLite (`sqlite.rs`, the embedded default) or PostgreSQL (`postgres.rs`).
//! Decisions — merge, plans, workflow, rules — are dtm-core's pure functions.

use async_trait::async_trait;
use dtm_core::ErrorCode;
use dtm_core::{AssessmentKey, FieldValue, FormDef, Language, ReviewDecision, Role, Round, Scope, TransitionError};
use dtm_sync::accounts::{Account, AccountChange, AuditEntry, DeviceInfo, NewAccount};
use dtm_sync::wire::{AssessmentSnapshot, OpResult, Operation, SettledConflict, User};
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("{0}")]
    NotFound(String),
    /// The change clashes with what HQ holds (a round that exists, an assessment
    /// already imported); `code` is stable for clients.
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// The caller may not do this (403).
    #[error("{message}")]
    Denied { code: ErrorCode, message: String },
    /// What was asked for is malformed or names what does not exist (400).
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// What was presented worked once and no longer does: a used or expired code (410).
    #[error("{message}")]
    Gone { code: ErrorCode, message: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An assessment's values by field.
pub type Values = BTreeMap<String, FieldValue>;

/// What an assessment's checks compare against: the previous round's code and values,
/// and the child form's assessments inside it in the same round as they count, once
/// every child location has one (`dtm_core::form::aggregate_children`).
pub type CheckContext = (Option<(String, Values)>, Option<Vec<Values>>);

/// Who is calling, from their device token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    pub device_id: String,
    /// Whether the token may be used, and for what.
    pub state: TokenState,
    /// What the device reported when it last synced.
    pub seen: DeviceSeen,
}

/// What stands between a valid token and HQ's routes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenState {
    pub device_revoked: bool,
    pub account_disabled: bool,
    /// The account logged in with a one-time password; only a password change is open.
    pub must_change_password: bool,
    /// Revoked with a wipe: the device may push what it holds, and is then told to
    /// remove its data.
    pub wipe_requested: bool,
}

/// What a device reported at its last sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSeen {
    pub at: Option<OffsetDateTime>,
    pub app_version: Option<String>,
    pub pending_ops: Option<u32>,
}

/// Who manages an account: a caller, or the `dtm-hq` command line (an admin).
#[derive(Debug, Clone)]
pub struct Actor {
    pub username: String,
    pub role: Role,
    pub scope: Scope,
}

impl Actor {
    /// Someone at HQ's own command line, who can reach the database: an admin.
    pub fn command_line(what: &str) -> Self {
        Self { username: what.to_owned(), role: Role::Admin, scope: Scope::whole_country() }
    }

    pub fn manager(&self) -> dtm_core::accounts::Manager<'_> {
        dtm_core::accounts::Manager { username: &self.username, role: self.role, scope: &self.scope }
    }
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Self {
        Self { username: c.username.clone(), role: c.role, scope: c.scope.clone() }
    }
}

impl From<dtm_core::accounts::AccountError> for StorageError {
    fn from(e: dtm_core::accounts::AccountError) -> Self {
        use dtm_core::accounts::AccountError as E;
        let (code, message) = (e.code(), e.to_string());
        match e {
            E::NotYours | E::OutsideScope(_) | E::Yourself | E::OwnPassword => Self::Denied { code, message },
            E::EmptyScope | E::UnknownLocation(_) => Self::Invalid { code, message },
            E::LastAdmin => Self::Conflict { code, message },
        }
    }
}

impl From<dtm_core::text::AccountTextError> for StorageError {
    fn from(e: dtm_core::text::AccountTextError) -> Self {
        Self::Invalid { code: e.code(), message: e.to_string() }
    }
}

impl Caller {
    pub fn user(&self) -> User {
        User {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            scope: self.scope.prefixes().to_vec(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Vec<String>,
    pub password_hash: String,
    pub language: Language,
    /// The password must be changed before anything else (one-time, or none set yet).
    pub must_change_password: bool,
    pub created_by: Option<String>,
}

/// An account as stored.
#[derive(Debug, Clone)]
pub struct StoredUser {
    pub user: User,
    pub password_hash: String,
    pub language: Language,
    pub disabled_at: Option<OffsetDateTime>,
    pub must_change_password: bool,
    pub created_at: OffsetDateTime,
    pub created_by: Option<String>,
}

/// A password no login can match: an account made without one waits for its
/// enrolment or a reset.
pub const NO_PASSWORD: &str = "!";

/// An enrolment code as issued; only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewEnrolment {
    pub code_hash: String,
    pub username: String,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An enrolment as stored.
#[derive(Debug, Clone)]
pub struct StoredEnrolment {
    pub username: String,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// Which lines of the audit log to read: newest first, before the id `before`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub before: Option<i64>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub device_id: String,
    pub username: String,
    pub name: Option<String>,
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// An account's failed logins since its last success and its lockout, as stored; the
/// decisions about them are [`crate::login_guard::Failures`]'s own.
pub use crate::login_guard::Failures as LoginFailures;

/// One page of changes in commit order.
#[derive(Debug, Clone)]
pub struct PullPage {
    pub assessments: Vec<AssessmentSnapshot>,
    /// The change sequence of the last assessment in the page (or the `after` asked for).
    pub last_seq: u64,
    pub has_more: bool,
}

#[async_trait]
pub trait HqStorage: Send + Sync + 'static {
    /// Made when the database is created; a restored backup is a new epoch to devices
    /// only if it is restored under a new epoch, which `dtm-hq restore` does.
    async fn epoch(&self) -> Result<String>;
    /// Creates or replaces a user.
    async fn put_user(&self, user: NewUser) -> Result<()>;
    /// Creates a user, refusing (`user_exists`) a username already taken, and records
    /// who did it in the access log in the same transaction.
    async fn create_user(&self, user: NewUser, actor: &str, now: OffsetDateTime) -> Result<()>;
    /// How many active (not disabled) admin accounts exist.
    async fn admin_count(&self) -> Result<usize>;
    /// The account as stored, password hash included.
    async fn user_for_login(&self, username: &str) -> Result<Option<StoredUser>>;
    /// The accounts `actor` may manage (every account for an admin).
    async fn accounts(&self, actor: &Actor) -> Result<Vec<Account>>;
    /// Creates an account without a usable password (it waits for an enrolment or a
    /// reset), if `actor` may manage it; logged in the same transaction.
    async fn create_account(&self, actor: &Actor, new: NewAccount, now: OffsetDateTime) -> Result<Account>;
    /// Changes an account's name, role, scope or language, if `actor` may manage it
    /// both before and after; logged in the same transaction.
    async fn change_account(
        &self,
        actor: &Actor,
        username: &str,
        change: AccountChange,
        now: OffsetDateTime,
    ) -> Result<Account>;
    /// Disables (every token stops working at once; nothing is deleted) or enables an
    /// account.
    async fn set_disabled(&self, actor: &Actor, username: &str, disabled: bool, now: OffsetDateTime)
        -> Result<Account>;
    /// Sets a one-time password (already hashed) that must be changed at first use and
    /// ends the account's sessions.
    async fn reset_password(&self, actor: &Actor, username: &str, hash: String, now: OffsetDateTime) -> Result<()>;
    /// The caller's own new password (already checked and hashed); clears the need to
    /// change it. Other sessions of the account keep working.
    async fn change_password(&self, caller: &Caller, hash: String, now: OffsetDateTime) -> Result<()>;
    /// Issues an enrolment code (hashed) for an account `actor` may manage.
    async fn issue_enrolment(&self, actor: &Actor, enrolment: NewEnrolment) -> Result<()>;
    /// Redeems an enrolment code: sets the account's password and registers the device
    /// in one transaction; the code never works again.
    async fn enrol(&self, code_hash: &str, password_hash: String, device: NewDevice) -> Result<(User, String)>;
    /// The enrolment a code (hashed) names, if it can still be used at `now`.
    async fn enrolment(&self, code_hash: &str, now: OffsetDateTime) -> Result<StoredEnrolment>;
    /// Devices of the accounts `actor` may manage.
    async fn devices(&self, actor: &Actor) -> Result<Vec<DeviceInfo>>;
    /// Remembers what a device reported as it synced.
    async fn device_seen(&self, device_id: &str, seen: DeviceSeen) -> Result<()>;
    /// Revokes a device of an account `actor` may manage.
    async fn revoke_device_by(&self, actor: &Actor, device_id: &str, wipe: bool, now: OffsetDateTime) -> Result<()>;
    /// Lets `to` open a device's encrypted data too, as the accounts that opened it
    /// can: HQ's key for that store is released to `to` at its next sign-in there
    /// (a laptop passed to another enumerator, its unsent work with it). Both accounts
    /// must be ones `actor` manages.
    async fn hand_over_device(&self, actor: &Actor, device_id: &str, to: &str, now: OffsetDateTime) -> Result<()>;
    /// Lines of the audit log, newest first.
    async fn audit(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>>;
    /// Registers a login. A device logging in again as the same user keeps its id and
    /// gets a new token; a revoked device stays revoked; an id another user holds is
    /// replaced by a fresh one. Returns the device id in force.
    async fn register_device(&self, device: NewDevice) -> Result<String>;
    /// The key that opens field store `store_id` when no password on the device can: made
    /// at the store's first sign-in (for that account), then released only to an
    /// account that holds it, and never for a revoked device. `None` otherwise.
    async fn store_key(&self, store_id: &str, username: &str, now: OffsetDateTime) -> Result<Option<String>>;
    /// The settlements of device `device_id`'s value conflicts after change `after`,
    /// oldest first (at most 500), and the change the next ask starts after.
    async fn settled_for_device(&self, device_id: &str, after: u64) -> Result<(Vec<SettledConflict>, u64)>;
    /// The caller holding this token, unless it is unknown, revoked or expired at `now`.
    async fn caller(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<Caller>>;
    async fn revoke_device(&self, device_id: &str, now: OffsetDateTime) -> Result<()>;
    /// Ends the session of this token (a logout): it stops working at once. The device
    /// is not revoked and may log in again. False if no live session holds the token.
    async fn end_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<bool>;
    /// The account's failed logins and lockout (none for an unknown username).
    async fn login_failures(&self, username: &str) -> Result<LoginFailures>;
    /// Rewrites the account's failed logins with `update`, in one transaction so that
    /// concurrent failures all count. Does nothing for an unknown username.
    async fn update_login_failures(
        &self,
        username: &str,
        update: Box<dyn FnOnce(LoginFailures) -> LoginFailures + Send>,
    ) -> Result<()>;
    /// Clears an account's failed logins and lockout; `NotFound` if there is no such user.
    async fn unlock_user(&self, username: &str) -> Result<()>;
    async fn put_round(&self, round: &Round) -> Result<()>;
    /// Creates a round; refuses a code or number already used.
    async fn create_round(&self, round: &Round) -> Result<()>;
    async fn set_round_status(&self, code: &str, status: dtm_core::RoundStatus) -> Result<()>;
    /// Writes a past round's checked figures as approved assessments, all in one
    /// transaction, after the new locations the file brought (if it was checked with
    /// leave to add them); refuses the whole import if any assessment already exists. With
    /// `create`, the round is created in the same transaction (refused if its code or
    /// number is taken), so a refused import leaves no round behind.
    async fn import_round(
        &self,
        round: &Round,
        create: bool,
        records: Vec<dtm_core::import::ImportRecord>,
        new_locations: Vec<dtm_core::Location>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<usize>;
    async fn rounds(&self) -> Result<Vec<Round>>;
    /// The forms this HQ checks and serves, every version.
    fn forms(&self) -> &dtm_core::Forms;
    /// The gazetteer in force: the shipped one with every change recorded at HQ, by
    /// any HQ process on the database.
    async fn gazetteer(&self) -> Result<std::sync::Arc<dtm_core::Gazetteer>>;
    /// The gazetteer's changes after the change sequence `after`, in the order they
    /// were made, and the sequence of the last (`after` if there are none).
    async fn gazetteer_changes(&self, after: u64) -> Result<(Vec<dtm_core::Location>, u64)>;
    /// Adds a location (admins only), planned against the gazetteer as it is in the
    /// same transaction, and logged.
    async fn add_location(
        &self,
        actor: &Actor,
        new: dtm_core::LocationInput,
        now: OffsetDateTime,
    ) -> Result<dtm_core::Location>;
    /// Renames, reclassifies, moves the point of, retires or brings back a location
    /// (admins only); logged.
    async fn change_location(
        &self,
        actor: &Actor,
        pcode: &str,
        change: dtm_core::LocationChange,
        now: OffsetDateTime,
    ) -> Result<dtm_core::Location>;
    /// Applies one batch of already-validated operations in one durable transaction
    /// and answers each. Operations seen before get the answer they got then.
    async fn push(&self, caller: &Caller, ops: Vec<Operation>, now: OffsetDateTime) -> Result<Vec<OpResult>>;
    /// Assessments in scope changed after `after`, in commit order.
    ///
    /// The cursor must never skip a row. Every write allots the assessment a fresh
    /// `change_seq` from one counter row (`meta.change_seq`) *inside its transaction*,
    /// so the counter's row lock is held until commit: a later writer waits for it and
    /// always gets a larger number and commits later. Sequence order is therefore commit
    /// order on SQLite (one writer) and on PostgreSQL alike, where a plain `SERIAL`
    /// would be allotted before commit and let `seq > cursor` skip a slower transaction.
    async fn pull(&self, scope: &Scope, after: u64, limit: u32) -> Result<PullPage>;
    async fn assessment(&self, key: &AssessmentKey) -> Result<Option<AssessmentSnapshot>>;
    /// The previous round of each of `keys` (the same location and form in the latest
    /// earlier round) with its values, in one read: a list of hundreds gets them all in
    /// one transaction. (A list's baladiyas take their muhallas from the list itself.)
    async fn previous_rounds(&self, keys: Vec<AssessmentKey>) -> Result<Vec<Option<(String, Values)>>>;
    /// What the checks of an assessment compare against: (previous round, its values)
    /// and the values of the child form's assessments inside it in the same round.
    /// `places` is the gazetteer the caller already holds.
    async fn context(
        &self,
        places: std::sync::Arc<dtm_core::Gazetteer>,
        key: &AssessmentKey,
        form: &FormDef,
    ) -> Result<CheckContext>;
    /// Every stored assessment of the round in scope.
    async fn round_assessments(&self, round: &str, scope: &Scope) -> Result<Vec<AssessmentSnapshot>>;
    async fn review(
        &self,
        caller: &Caller,
        key: &AssessmentKey,
        decision: ReviewDecision,
        comment: &str,
        now: OffsetDateTime,
    ) -> Result<AssessmentSnapshot>;
    /// Conflicts of a round in scope, open ones first.
    async fn conflicts(&self, round: &str, scope: &Scope) -> Result<Vec<dtm_sync::wire::Conflict>>;
    async fn conflict(&self, id: i64) -> Result<Option<dtm_sync::wire::Conflict>>;
    /// Settles an open conflict: writes the chosen value as the field's next version
    /// and keeps who decided, why and when.
    async fn resolve_conflict(
        &self,
        caller: &Caller,
        id: i64,
        settlement: dtm_core::Settlement,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<AssessmentSnapshot>;
    /// Records who read or exported what.
    async fn log_access(&self, actor: &str, action: &str, target: &str, now: OffsetDateTime) -> Result<()>;
}
