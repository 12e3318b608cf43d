//! What the routes ask of HQ's storage: [`HqStorage`], implemented once by the
//! service layer (`service.rs`) over either backend's primitives (`store.rs`):
//! SQLite (`sqlite.rs`, the embedded default) or PostgreSQL (`postgres.rs`).
//! Decisions — merge, plans, workflow, rules — are dtm-core's pure functions.

use async_trait::async_trait;
use dtm_core::{AssessmentKey, FieldValue, FormDef, ReviewDecision, Role, Round, Scope, TransitionError};
use dtm_sync::wire::{AssessmentSnapshot, OpResult, Operation, User};
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
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An assessment's values by field.
pub type Values = BTreeMap<String, FieldValue>;

/// What an assessment's checks compare against: the previous round's code and values,
/// and the values of the child form's assessments inside it in the same round.
pub type CheckContext = (Option<(String, Values)>, Vec<Values>);

/// Who is calling, from their device token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    pub device_id: String,
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
    /// How many admin accounts exist.
    async fn admin_count(&self) -> Result<usize>;
    /// The user and their password hash.
    async fn user_for_login(&self, username: &str) -> Result<Option<(User, String)>>;
    /// Registers a login. A device logging in again as the same user keeps its id and
    /// gets a new token; a revoked device stays revoked; an id another user holds is
    /// replaced by a fresh one. Returns the device id in force.
    async fn register_device(&self, device: NewDevice) -> Result<String>;
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
    /// transaction; refuses the whole import if any assessment already exists. With
    /// `create`, the round is created in the same transaction (refused if its code or
    /// number is taken), so a refused import leaves no round behind.
    async fn import_round(
        &self,
        round: &Round,
        create: bool,
        records: Vec<dtm_core::import::ImportRecord>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<usize>;
    async fn rounds(&self) -> Result<Vec<Round>>;
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
    /// What the checks of an assessment compare against: (previous round, its values)
    /// and the values of the child form's assessments inside it in the same round.
    async fn context(&self, key: &AssessmentKey, form: &FormDef) -> Result<CheckContext>;
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
