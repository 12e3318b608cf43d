//! The device's SQLite store: assessments, their field values, the outbox of
//! operations waiting for HQ, the pull cursor and the local audit log.
//!
//! Every edit is written together with its outbox operation and audit row in one
//! transaction, so a laptop that dies mid-entry loses nothing and never holds a
//! change HQ will not hear about. This crate validates with dtm-core before writing;
//! it knows nothing of HTTP, Tauri or the wire format.

pub mod sqlite;
pub mod vault;

use dtm_core::workflow;
use dtm_core::ErrorCode;
use dtm_core::{
    AssessmentKey, AssessmentStatus, FieldValue, FormDef, Forms, Gazetteer, Hlc, Pcode, Role, Round, RoundStatus, Scope,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use sqlite::{parse_json, parse_json_map};
use std::collections::BTreeMap;
use std::path::Path;

pub use sqlite::OpenError;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_device_store.sql"),
    include_str!("../migrations/0002_outbox_void.sql"),
    include_str!("../migrations/0003_documents.sql"),
    include_str!("../migrations/0004_sent_log.sql"),
    include_str!("../migrations/0005_round_title_ar.sql"),
    include_str!("../migrations/0006_newest_app_version.sql"),
    include_str!("../migrations/0007_gazetteer.sql"),
    include_str!("../migrations/0008_settled.sql"),
    include_str!("../migrations/0009_settled_kind.sql"),
];

/// How many answers the sent log keeps, newest first. An enumerator makes a few
/// thousand saves in a round, so this reaches back several rounds, while a store used
/// for years stays small (a row is about 200 bytes: 2 MB at most).
pub const SENT_LOG_KEEP: u32 = 10_000;

/// The wall time, passed in by the caller: this crate never reads the clock.
#[derive(Debug, Clone)]
pub struct Now {
    pub millis: u64,
    /// RFC 3339, UTC.
    pub iso: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("nobody is logged in on this device; log in once while HQ is reachable")]
    NotLoggedIn,
    #[error("the data on this device is locked; sign in to open it")]
    Locked,
    #[error(transparent)]
    Unlock(#[from] vault::UnlockError),
    #[error(transparent)]
    KeyFile(#[from] vault::KeyFileError),
    #[error("`{0}` is not a location in the gazetteer")]
    UnknownPcode(String),
    #[error("`{location}` is a level-{found} location; the {form} form is for level {wanted}")]
    WrongLevel { location: String, form: String, found: u8, wanted: u8 },
    #[error("`{0}` is outside your assigned area")]
    OutOfScope(String),
    #[error("round `{0}` is not known on this device; sync to receive it")]
    UnknownRound(String),
    #[error("round `{0}` is not open for data entry")]
    RoundNotOpen(String),
    #[error("form `{0}` is not used in this round")]
    UnknownForm(String),
    #[error(transparent)]
    Value(#[from] dtm_core::ValueError),
    #[error(transparent)]
    Transition(#[from] dtm_core::TransitionError),
    #[error("the assessment cannot be submitted yet: {}", .0.join("; "))]
    SubmissionBlocked(Vec<String>),
    #[error("no assessment {0} on this device")]
    NotFound(String),
    #[error("the local database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// A stable code for the UI and scripts; they never match on messages.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Open(OpenError::TooNew { .. }) => ErrorCode::DatabaseTooNew,
            Self::Open(OpenError::WrongKey) | Self::KeyFile(_) => ErrorCode::KeyFileDamaged,
            Self::Open(_) => ErrorCode::DatabaseError,
            Self::NotLoggedIn | Self::Locked => ErrorCode::NotLoggedIn,
            Self::Unlock(vault::UnlockError::WrongPassword) => ErrorCode::BadCredentials,
            Self::Unlock(vault::UnlockError::Throttled { .. }) => ErrorCode::RateLimited,
            Self::Unlock(vault::UnlockError::NoSlot(_) | vault::UnlockError::HeldBy(_)) => ErrorCode::StoreLocked,
            Self::UnknownPcode(_) => ErrorCode::UnknownPcode,
            Self::WrongLevel { .. } => ErrorCode::WrongLevel,
            Self::OutOfScope(_) => ErrorCode::OutOfScope,
            Self::UnknownRound(_) => ErrorCode::UnknownRound,
            Self::RoundNotOpen(_) => ErrorCode::RoundNotOpen,
            Self::UnknownForm(_) => ErrorCode::UnknownForm,
            Self::Value(e) => e.code(),
            Self::Transition(e) => e.code(),
            Self::SubmissionBlocked(_) => ErrorCode::SubmissionBlocked,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Sqlite(_) => ErrorCode::DatabaseError,
        }
    }
}

fn io_error(e: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
}

/// What a new scope did to the device's data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rescoped {
    pub scope_changed: bool,
    /// Assessments that left the device: outside the new scope, nothing unsent.
    pub removed: u32,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub device_id: String,
    pub hq_url: String,
    pub token: String,
    pub user: User,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub hq_id: i64,
    pub author: String,
    pub role: String,
    pub decision: Option<String>,
    pub text: String,
    pub at: String,
}

/// An assessment as the device holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentRecord {
    pub key: AssessmentKey,
    pub status: AssessmentStatus,
    pub form_version: u32,
    pub server_version: u64,
    pub open_conflicts: u32,
    pub values: BTreeMap<String, FieldValue>,
    pub pending_fields: Vec<String>,
    pub pending_ops: u32,
    pub comments: Vec<Comment>,
    /// The same location's values in the previous round that has it, with that round's code.
    pub previous: Option<(String, BTreeMap<String, FieldValue>)>,
    /// The child form's assessments of this location in the same round (muhallas of a
    /// baladiya) as they count, once every one in use is entered: the cross-level check.
    pub children: Option<Vec<BTreeMap<String, FieldValue>>>,
}

impl AssessmentRecord {
    fn not_started(key: AssessmentKey, form_version: u32) -> Self {
        Self {
            key,
            status: AssessmentStatus::NotStarted,
            form_version,
            server_version: 0,
            open_conflicts: 0,
            values: BTreeMap::new(),
            pending_fields: Vec::new(),
            pending_ops: 0,
            comments: Vec::new(),
            previous: None,
            children: None,
        }
    }

    /// What the form's cross-round and cross-level checks compare against.
    pub fn context(&self) -> dtm_core::form::Context<'_> {
        dtm_core::form::Context {
            previous: self.previous.as_ref().map(|(round, values)| (round.as_str(), values)),
            children: self.children.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// One save: every field it changed.
    Edit,
    Submit,
    Void,
}

impl OpKind {
    /// How the outbox's `kind` column holds it.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Edit => "edit",
            OpKind::Submit => "submit",
            OpKind::Void => "void",
        }
    }

    pub fn parse(text: &str) -> Option<OpKind> {
        [OpKind::Edit, OpKind::Submit, OpKind::Void].into_iter().find(|k| k.as_str() == text)
    }
}

/// An operation waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxOp {
    pub seq: u64,
    pub op_id: String,
    pub key: AssessmentKey,
    pub kind: OpKind,
    /// For an edit: field → (value, the field version the device last saw from HQ).
    pub edits: BTreeMap<String, (FieldValue, u64)>,
    /// For a void: why.
    pub reason: Option<String>,
    pub hlc: Hlc,
    pub form_version: u32,
}

/// What HQ answered for one pushed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpOutcome {
    Applied,
    Conflict,
    Rejected,
    /// Nothing written: this device had already sent newer values of the fields.
    Superseded,
}

impl OpOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Conflict => "conflict",
            Self::Rejected => "rejected",
            Self::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "applied" => Self::Applied,
            "conflict" => Self::Conflict,
            "rejected" => Self::Rejected,
            "superseded" => Self::Superseded,
            _ => return None,
        })
    }
}

/// HQ's answer to one operation, as the device records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub op_id: String,
    pub outcome: OpOutcome,
    /// HQ had answered this op_id before (an earlier push whose answer was lost).
    pub duplicate: bool,
    pub code: Option<ErrorCode>,
    pub reason: Option<String>,
}

impl Answer {
    pub fn new(op_id: impl Into<String>, outcome: OpOutcome) -> Self {
        Self { op_id: op_id.into(), outcome, duplicate: false, code: None, reason: None }
    }

    pub fn because(mut self, code: ErrorCode, reason: impl Into<String>) -> Self {
        self.code = Some(code);
        self.reason = Some(reason.into());
        self
    }
}

/// One entry of the sent log: an operation of this device and what HQ answered.
#[derive(Debug, Clone, PartialEq)]
pub struct SentEntry {
    pub op_id: String,
    pub seq: u64,
    pub key: AssessmentKey,
    pub kind: String,
    pub outcome: OpOutcome,
    pub duplicate: bool,
    pub code: Option<ErrorCode>,
    pub reason: Option<String>,
    pub created_at: String,
    pub sent_at: String,
    pub answered_at: String,
}

/// A logout HQ has not yet heard of: the token to revoke and where.
#[derive(Clone, PartialEq)]
pub struct PendingLogout {
    pub hq_url: String,
    pub token: String,
}

impl std::fmt::Debug for PendingLogout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogout").field("hq_url", &self.hq_url).field("token", &"<hidden>").finish()
    }
}

/// An operation HQ refused, kept on the device and shown to the enumerator.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedOp {
    pub op_id: String,
    pub key: AssessmentKey,
    /// The fields an edit wrote, comma-separated.
    pub field: Option<String>,
    /// Refused, in conflict or superseded (never `Applied`: applied ones leave the outbox).
    pub state: OpOutcome,
    pub code: ErrorCode,
    pub reason: String,
}

/// An assessment as HQ holds it, received in a pull page.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteAssessment {
    pub key: AssessmentKey,
    pub status: AssessmentStatus,
    pub form_version: u32,
    pub version: u64,
    pub open_conflicts: u32,
    /// field → (value, field version)
    pub fields: BTreeMap<String, (FieldValue, u64)>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncCounts {
    pub pending: u32,
    /// Refused by HQ (bad P-code, closed round, …).
    pub rejected: u32,
    /// Waiting for a supervisor to settle a conflict.
    pub conflicts: u32,
    /// Not written: this device had already sent newer values.
    pub superseded: u32,
    pub last_sync_at: Option<String>,
    pub last_error: Option<(ErrorCode, String)>,
    /// Whether HQ answered the last time the device tried to reach it; None if never tried.
    pub hq_reachable: Option<bool>,
    /// Logouts HQ has not heard of yet.
    pub pending_logouts: u32,
    /// The newest field app HQ last said was released.
    pub newest_app_version: Option<String>,
}

pub struct Store {
    conn: Connection,
    /// Copies the write-ahead log into the file off the commits' path.
    _checkpointer: sqlite::Checkpointer,
    /// The gazetteer in force on this device: the shipped one with HQ's changes.
    places: Gazetteer,
    /// The forms this device collects with, every version.
    forms: Forms,
}

impl Store {
    /// Opens a plain store (the `dtm` command line, tests and benchmarks).
    pub fn open(path: &Path) -> Result<Self> {
        let conn = sqlite::open(path, MIGRATIONS, sqlite::Durability::Normal)?;
        Self::with_connection(conn, Connection::open(path)?)
    }

    /// Opens a store encrypted under `key` (the field app), creating it if need be.
    /// A plain store found at `path` (written by an app from before encryption, or
    /// left by a crash during [`sqlite::encrypt_in_place`]) is encrypted first.
    pub fn open_encrypted(path: &Path, key: &vault::DataKey) -> Result<Self> {
        if path.exists() && sqlite::is_plain(path).map_err(|e| StoreError::Open(OpenError::Sqlite(io_error(e))))? {
            sqlite::encrypt_in_place(path, key)?;
        }
        let conn = sqlite::open_encrypted(path, key, MIGRATIONS, sqlite::Durability::Normal)?;
        Self::with_connection(conn, sqlite::connect_encrypted(path, key)?)
    }

    /// The store on `conn`; `checkpoints` is a second connection to the same file,
    /// for the checkpointer's thread.
    fn with_connection(conn: Connection, checkpoints: Connection) -> Result<Self> {
        let places = places_of(&conn)?;
        let checkpointer = sqlite::Checkpointer::start(&conn, checkpoints, "store-checkpoint")?;
        let store = Self { conn, _checkpointer: checkpointer, places, forms: Forms::shipped().clone() };
        store.ensure_device_row()?;
        Ok(store)
    }

    /// Where the next pull asks for settled conflicts from (`None`: from the start).
    pub fn settled_cursor(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT settled_cursor FROM device", [], |r| r.get(0))?)
    }

    /// Keeps HQ's settlements of this device's conflicts with their cursor, in one
    /// transaction; one seen again (a cursor from another HQ) replaces itself.
    pub fn apply_settled(&mut self, settled: &[dtm_core::assessment::SettledConflict], cursor: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut put = tx.prepare(
                "INSERT OR REPLACE INTO settled (round, form, location, field, at, yours, settled, by, by_name, reason, kind)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?;
            for s in settled {
                put.execute(params![
                    s.key.round,
                    s.key.form,
                    s.key.location.as_str(),
                    s.field,
                    s.at,
                    s.yours.to_string(),
                    s.settled.to_string(),
                    s.by,
                    s.by_name,
                    s.reason,
                    s.kind.as_str()
                ])?;
            }
        }
        tx.execute("UPDATE device SET settled_cursor = ?1", [cursor])?;
        tx.commit()?;
        Ok(())
    }

    /// The settled conflicts of one assessment, newest first.
    pub fn settled_for(&self, key: &AssessmentKey) -> Result<Vec<dtm_core::assessment::SettledConflict>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT field, yours, settled, by, by_name, reason, at, kind FROM settled
             WHERE round = ?1 AND form = ?2 AND location = ?3 ORDER BY at DESC",
        )?;
        let rows = stmt.query_map(params![key.round, key.form, key.location.as_str()], |r| {
            Ok(dtm_core::assessment::SettledConflict {
                key: key.clone(),
                kind: sqlite::parse_enum(7, &r.get::<_, String>(7)?, dtm_core::plan::ConflictKind::parse)?,
                field: r.get(0)?,
                yours: parse_json(1, &r.get::<_, String>(1)?)?,
                settled: parse_json(2, &r.get::<_, String>(2)?)?,
                by: r.get(3)?,
                by_name: r.get(4)?,
                reason: r.get(5)?,
                at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The gazetteer in force on this device.
    pub fn places(&self) -> &Gazetteer {
        &self.places
    }

    /// The forms this device collects with, every version.
    pub fn forms(&self) -> &Forms {
        &self.forms
    }

    /// Where the next pull asks for gazetteer changes from (`None`: from the start).
    pub fn gazetteer_cursor(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT gazetteer_cursor FROM device", [], |r| r.get(0))?)
    }

    /// Applies HQ's gazetteer changes with their cursor, in one transaction: a location
    /// added at HQ can be assessed here from now on, a renamed one shows its new name,
    /// a retired one keeps its assessments. `reset` drops what an earlier HQ sent first.
    pub fn apply_gazetteer(&mut self, reset: bool, locations: &[dtm_core::Location], cursor: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        if reset {
            tx.execute("DELETE FROM locations", [])?;
        }
        {
            let mut put = tx.prepare("INSERT OR REPLACE INTO locations (pcode, location) VALUES (?1, ?2)")?;
            for l in locations {
                let json = serde_json::to_string(l).expect("a location serialises");
                put.execute(rusqlite::params![l.pcode.as_str(), json])?;
            }
        }
        tx.execute("UPDATE device SET gazetteer_cursor = ?1", [cursor])?;
        tx.commit()?;
        self.places = places_of(&self.conn)?;
        Ok(())
    }

    fn ensure_device_row(&self) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO device (id, device_id, hlc) VALUES (1, ?1, ?2)",
            params![uuid::Uuid::now_v7().to_string(), Hlc::default().encode()],
        )?;
        Ok(())
    }

    /// Takes the id HQ gave this device at its first sign-in, while the store is new
    /// (nothing in its outbox or sent log: no operation has carried the old id). On a
    /// store that has sent or queued anything the id stays as it is. Returns whether it
    /// was taken.
    pub fn adopt_device_id(&mut self, id: &str) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE device SET device_id = ?1
             WHERE NOT EXISTS (SELECT 1 FROM outbox) AND NOT EXISTS (SELECT 1 FROM sent)",
            [id],
        )?;
        Ok(n > 0)
    }

    pub fn device_id(&self) -> Result<String> {
        Ok(self.conn.query_row("SELECT device_id FROM device", [], |r| r.get(0))?)
    }

    pub fn session(&self) -> Result<Option<Session>> {
        let row = self
            .conn
            .query_row(
                "SELECT device_id, hq_url, token, username, display_name, role, scope FROM device WHERE token IS NOT NULL",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?;
        let session: Option<rusqlite::Result<Session>> =
            row.map(|(device_id, hq_url, token, username, display_name, role, scope)| {
                Ok(Session {
                    device_id,
                    hq_url,
                    token,
                    user: User {
                        username,
                        display_name,
                        role: crate::sqlite::parse_enum(5, &role, Role::parse)?,
                        scope: Scope::new(crate::sqlite::parse_json::<Vec<String>>(6, &scope)?),
                    },
                })
            });
        Ok(session.transpose()?)
    }

    fn require_session(&self) -> Result<Session> {
        self.session()?.ok_or(StoreError::NotLoggedIn)
    }

    /// Records a login. A different user on the same device starts from a fresh
    /// pull, but the outbox is kept: nothing typed is ever thrown away.
    pub fn save_login(&mut self, hq_url: &str, token: &str, user: &User) -> Result<()> {
        let scope = serde_json::to_string(user.scope.prefixes()).expect("a list of strings serialises");
        let tx = self.conn.transaction()?;
        let previous: Option<String> =
            tx.query_row("SELECT username FROM device", [], |r| r.get(0)).optional()?.flatten();
        let previous_url: Option<String> =
            tx.query_row("SELECT hq_url FROM device", [], |r| r.get(0)).optional()?.flatten();
        if previous.as_deref() != Some(&user.username) || previous_url.as_deref() != Some(hq_url) {
            tx.execute("UPDATE device SET pull_cursor = NULL", [])?;
        }
        tx.execute(
            "UPDATE device SET hq_url = ?1, token = ?2, username = ?3, display_name = ?4, role = ?5, scope = ?6,
                    last_error_code = NULL, last_error = NULL",
            params![hq_url, token, user.username, user.display_name, user.role.as_str(), scope],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Takes the account as HQ holds it now (its role, name and scope may have
    /// changed). When the scope changed, assessments outside the new one leave the
    /// device, except any that still has an operation in the outbox (unsent, refused
    /// or in conflict: it stays, visible, until HQ has it), and the pull starts again
    /// from the beginning so that a grown area arrives whole.
    pub fn rescope(&mut self, user: &User) -> Result<Rescoped> {
        let scope = serde_json::to_string(user.scope.prefixes()).expect("a list of strings serialises");
        // Every sync asks; nearly always nothing changed, and then nothing is written.
        let held: Option<(Option<String>, Option<String>, Option<String>)> = self
            .conn
            .query_row("SELECT display_name, role, scope FROM device", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let unchanged = held.as_ref().is_some_and(|(name, role, held_scope)| {
            name.as_deref() == Some(user.display_name.as_str())
                && role.as_deref() == Some(user.role.as_str())
                && held_scope.as_deref() == Some(scope.as_str())
        });
        if unchanged {
            return Ok(Rescoped::default());
        }
        // The store has one connection, so what was just read is still what is held.
        let before: Vec<String> =
            held.and_then(|(_, _, scope)| scope).map(|s| parse_json(2, &s)).transpose()?.unwrap_or_default();
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE device SET display_name = ?1, role = ?2, scope = ?3",
            params![user.display_name, user.role.as_str(), scope],
        )?;
        let mut done = Rescoped::default();
        if before != user.scope.prefixes() {
            done.scope_changed = true;
            let outside: Vec<(String, String, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT round, form, location FROM assessments a WHERE NOT EXISTS (
                       SELECT 1 FROM outbox o WHERE o.round = a.round AND o.form = a.form AND o.location = a.location)",
                )?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<rusqlite::Result<Vec<(String, String, String)>>>()?
                    .into_iter()
                    .filter(|(_, _, location)| !Pcode::parse(location).is_ok_and(|p| user.scope.contains(&p)))
                    .collect()
            };
            for (round, form, location) in &outside {
                for table in ["comments", "audit", "assessments"] {
                    tx.execute(
                        &format!("DELETE FROM {table} WHERE round = ?1 AND form = ?2 AND location = ?3"),
                        params![round, form, location],
                    )?;
                }
            }
            done.removed = outside.len() as u32;
            tx.execute("UPDATE device SET pull_cursor = NULL", [])?;
        }
        tx.commit()?;
        Ok(done)
    }

    /// Forgets the token at once, and keeps it only to ask HQ to revoke it
    /// (`pending_logouts`) until HQ has heard. The outbox and every value stay.
    pub fn logout(&mut self, now: &Now) -> Result<Option<PendingLogout>> {
        let tx = self.conn.transaction()?;
        let session: Option<(String, String)> = tx
            .query_row("SELECT hq_url, token FROM device WHERE token IS NOT NULL AND hq_url IS NOT NULL", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let pending = match session {
            Some((hq_url, token)) => {
                tx.execute(
                    "INSERT OR IGNORE INTO pending_logout (token, hq_url, since) VALUES (?1, ?2, ?3)",
                    params![token, hq_url, now.iso],
                )?;
                Some(PendingLogout { hq_url, token })
            }
            None => None,
        };
        tx.execute("UPDATE device SET token = NULL", [])?;
        tx.commit()?;
        Ok(pending)
    }

    /// Logouts HQ has not heard of yet, oldest first.
    pub fn pending_logouts(&self) -> Result<Vec<PendingLogout>> {
        let mut stmt = self.conn.prepare("SELECT hq_url, token FROM pending_logout ORDER BY since, rowid")?;
        let rows = stmt.query_map([], |r| Ok(PendingLogout { hq_url: r.get(0)?, token: r.get(1)? }))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// HQ has heard the logout (or cannot revoke tokens): forget the token for good.
    pub fn forget_pending_logout(&mut self, token: &str) -> Result<()> {
        self.conn.execute("DELETE FROM pending_logout WHERE token = ?1", [token])?;
        Ok(())
    }

    pub fn rounds(&self) -> Result<Vec<Round>> {
        let mut stmt = self.conn.prepare(
            "SELECT code, number, title, status, window_start, window_end, forms, title_ar FROM rounds ORDER BY number DESC",
        )?;
        let rows = stmt.query_map([], round_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn round(&self, code: &str) -> Result<Round> {
        self.conn
            .query_row(
                "SELECT code, number, title, status, window_start, window_end, forms, title_ar FROM rounds WHERE code = ?1",
                [code],
                round_from_row,
            )
            .optional()?
            .ok_or_else(|| StoreError::UnknownRound(code.to_owned()))
    }

    /// Every location the logged-in user's scope reaches at the form's level, for
    /// the round, with what the device holds for each.
    pub fn assessments(&self, round: &str, form: &str) -> Result<Vec<AssessmentRecord>> {
        let session = self.require_session()?;
        let round = self.round(round)?;
        let form_version = round.form_version(form).ok_or_else(|| StoreError::UnknownForm(form.to_owned()))?;
        let def = self.forms.get(form, form_version).ok_or_else(|| StoreError::UnknownForm(form.to_owned()))?;
        let mut out = Vec::new();
        for loc in self.places.in_scope(&session.user.scope, def.level) {
            let key = AssessmentKey::new(&round.code, form, loc.pcode.clone());
            match self.load(&key)? {
                Some(record) => out.push(record),
                // A retired location is not offered for new work; what it holds stays.
                None if loc.retired => {}
                None => out.push(AssessmentRecord::not_started(key, form_version)),
            }
        }
        Ok(out)
    }

    /// One assessment with what its checks compare against: the previous round's
    /// values and, for a baladiya, its muhallas in this round.
    pub fn assessment(&self, key: &AssessmentKey) -> Result<AssessmentRecord> {
        let session = self.require_session()?;
        self.check_location(&session, key)?;
        let round = self.round(&key.round)?;
        let form_version = round.form_version(&key.form).ok_or_else(|| StoreError::UnknownForm(key.form.clone()))?;
        let mut record = self.load(key)?.unwrap_or_else(|| AssessmentRecord::not_started(key.clone(), form_version));
        let form =
            self.forms.get(&key.form, record.form_version).ok_or_else(|| StoreError::UnknownForm(key.form.clone()))?;
        record.previous = previous_values(&self.conn, key, round.number)?;
        if let Some(agg) = &form.aggregates {
            record.children = child_values(&self.conn, &self.forms, &self.places, key, &agg.form)?;
        }
        Ok(record)
    }

    fn load(&self, key: &AssessmentKey) -> Result<Option<AssessmentRecord>> {
        load_assessment(&self.conn, key)
    }

    fn check_location(&self, session: &Session, key: &AssessmentKey) -> Result<()> {
        let form = self.forms.latest(&key.form).ok_or_else(|| StoreError::UnknownForm(key.form.clone()))?;
        if self.places.get(key.location.as_str()).is_none() {
            return Err(StoreError::UnknownPcode(key.location.to_string()));
        }
        if key.location.level() != form.level {
            return Err(StoreError::WrongLevel {
                location: key.location.to_string(),
                form: form.id.clone(),
                found: key.location.level(),
                wanted: form.level,
            });
        }
        if !session.user.scope.contains(&key.location) {
            return Err(StoreError::OutOfScope(key.location.to_string()));
        }
        Ok(())
    }

    /// Checks everything HQ would check about an edit to this assessment and returns
    /// the round's form version for it.
    fn check_editable(&self, session: &Session, key: &AssessmentKey) -> Result<(FormDef, u32, AssessmentRecord)> {
        self.check_location(session, key)?;
        let round = self.round(&key.round)?;
        let form_version = round.form_version(&key.form).ok_or_else(|| StoreError::UnknownForm(key.form.clone()))?;
        if round.status != RoundStatus::Open {
            return Err(StoreError::RoundNotOpen(round.code));
        }
        let record = self.load(key)?.unwrap_or_else(|| AssessmentRecord::not_started(key.clone(), form_version));
        let form =
            self.forms.get(&key.form, record.form_version).ok_or_else(|| StoreError::UnknownForm(key.form.clone()))?;
        Ok((form.clone(), form_version, record))
    }

    /// Autosaves one field: the value, its outbox operation and its audit row are
    /// written in one transaction, or none of them is.
    pub fn set_field(
        &mut self,
        key: &AssessmentKey,
        field: &str,
        value: FieldValue,
        now: &Now,
    ) -> Result<AssessmentRecord> {
        self.set_fields(key, &[(field.to_owned(), value)], now)
    }

    /// Saves several fields of one assessment together: every value is checked first,
    /// then all of them, their outbox operations and audit rows are written in one
    /// transaction, or none is. A value equal to what is stored writes nothing.
    pub fn set_fields(
        &mut self,
        key: &AssessmentKey,
        values: &[(String, FieldValue)],
        now: &Now,
    ) -> Result<AssessmentRecord> {
        let session = self.require_session()?;
        let (form, form_version, record) = self.check_editable(&session, key)?;
        for (field, value) in values {
            form.check_value(field, value, &self.places)?;
        }
        let status = workflow::edit(record.status)?;
        let changed: Vec<&(String, FieldValue)> = values
            .iter()
            .filter(|(field, value)| {
                let old = record.values.get(field);
                !(old == Some(value) || (old.is_none() && value.is_null()))
            })
            .collect();
        if changed.is_empty() {
            return Ok(record);
        }
        let tx = self.conn.transaction()?;
        // The base of each field is what this device last saw of it from HQ; while
        // earlier local operations on it are pending, they all share their chain's base.
        let bases = pending_edits(&tx, key)?.into_iter().fold(BTreeMap::new(), |mut bases, (field, (_, base))| {
            bases.entry(field).or_insert(base);
            bases
        });
        let server = server_fields(&tx, key)?;
        let mut edits: BTreeMap<&str, (&FieldValue, u64)> = BTreeMap::new();
        let mut olds: BTreeMap<&str, Option<&FieldValue>> = BTreeMap::new();
        let mut fields = record.values.clone();
        for (field, value) in changed {
            // A field given twice in one save keeps the same base both times.
            let base = bases.get(field).copied().unwrap_or_else(|| server.get(field).map_or(0, |(_, v)| *v));
            edits.insert(field, (value, base));
            olds.insert(field, record.values.get(field));
            fields.insert(field.clone(), value.clone());
        }
        upsert_assessment(&tx, key, status, form_version, Some(&fields), now)?;
        let edits_json = serde_json::to_string(&edits).expect("values serialise");
        let op_id = enqueue(&tx, key, OpKind::Edit, Some(&edits_json), 0, form_version, now)?;
        let news: BTreeMap<&str, &FieldValue> = edits.iter().map(|(f, (v, _))| (*f, *v)).collect();
        audit(
            &tx,
            &session,
            key,
            "edit",
            Some(serde_json::to_string(&olds).expect("values serialise")),
            Some(serde_json::to_string(&news).expect("values serialise")),
            &op_id,
            now,
        )?;
        tx.commit()?;
        self.assessment(key)
    }

    /// Marks the assessment submitted, if no error rule or empty required field blocks it.
    pub fn submit(&mut self, key: &AssessmentKey, now: &Now) -> Result<AssessmentRecord> {
        let session = self.require_session()?;
        self.check_location(&session, key)?;
        let round = self.round(&key.round)?;
        if round.status != RoundStatus::Open {
            return Err(StoreError::RoundNotOpen(round.code));
        }
        let record = self.assessment(key)?;
        if record.status == AssessmentStatus::NotStarted {
            return Err(StoreError::SubmissionBlocked(vec!["nothing has been entered".into()]));
        }
        let form =
            self.forms.get(&key.form, record.form_version).ok_or_else(|| StoreError::UnknownForm(key.form.clone()))?;
        let status = workflow::submit(record.status)?;
        let blockers = form.submission_blockers(&record.values, record.context());
        if !blockers.is_empty() {
            return Err(StoreError::SubmissionBlocked(blockers.into_iter().map(|i| i.message.en).collect()));
        }
        if record.status == AssessmentStatus::Submitted {
            return Ok(record);
        }
        let tx = self.conn.transaction()?;
        upsert_assessment(&tx, key, status, record.form_version, None, now)?;
        let op_id = enqueue(&tx, key, OpKind::Submit, None, record.server_version, record.form_version, now)?;
        let (old, new) = (Some(record.status.as_str().into()), Some(status.as_str().into()));
        audit(&tx, &session, key, "submit", old, new, &op_id, now)?;
        tx.commit()?;
        self.assessment(key)
    }

    /// Withdraws an assessment, keeping every value: a tombstone that syncs like any
    /// other operation. An edit another device makes meanwhile becomes a conflict at HQ.
    pub fn void(&mut self, key: &AssessmentKey, reason: &str, now: &Now) -> Result<AssessmentRecord> {
        let session = self.require_session()?;
        self.check_location(&session, key)?;
        // HQ refuses a longer reason; refuse it here, before it sits in the outbox.
        dtm_core::text::check(dtm_core::TextKind::Reason, "reason", reason.trim())
            .map_err(dtm_core::ValueError::from)?;
        let round = self.round(&key.round)?;
        if round.status != RoundStatus::Open {
            return Err(StoreError::RoundNotOpen(round.code));
        }
        let record = self.assessment(key)?;
        let status = workflow::void(record.status)?;
        if record.status == AssessmentStatus::Voided {
            return Ok(record);
        }
        let reason = serde_json::Value::from(reason.trim()).to_string();
        let tx = self.conn.transaction()?;
        upsert_assessment(&tx, key, status, record.form_version, None, now)?;
        let op_id = enqueue(&tx, key, OpKind::Void, Some(&reason), record.server_version, record.form_version, now)?;
        audit(&tx, &session, key, "void", Some(record.status.as_str().into()), Some(reason), &op_id, now)?;
        tx.commit()?;
        self.assessment(key)
    }

    /// Pending operations in sequence order, oldest first.
    pub fn pending_ops(&self, limit: usize) -> Result<Vec<OutboxOp>> {
        self.pending_ops_after(0, limit)
    }

    /// Pending operations after sequence number `after`, oldest first: the next batch
    /// while the one before it is still on its way to HQ.
    pub fn pending_ops_after(&self, after: u64, limit: usize) -> Result<Vec<OutboxOp>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, op_id, round, form, location, kind, value, hlc, form_version
             FROM outbox WHERE state = 'pending' AND seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after as i64, limit as i64], |r| {
            let value: Option<String> = r.get(6)?;
            let kind = crate::sqlite::parse_enum(5, &r.get::<_, String>(5)?, OpKind::parse)?;
            let (edits, reason) = match (kind, value) {
                (OpKind::Edit, Some(v)) => (parse_json_map(6, &v)?, None),
                (OpKind::Void, Some(v)) => (BTreeMap::new(), Some(parse_json::<String>(6, &v)?)),
                _ => (BTreeMap::new(), None),
            };
            Ok(OutboxOp {
                seq: r.get(0)?,
                op_id: r.get(1)?,
                key: key_from_row(r, 2)?,
                kind,
                edits,
                reason,
                hlc: crate::sqlite::parse_hlc(7, &r.get::<_, String>(7)?)?,
                form_version: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records HQ's answers for pushed operations, each in the sent log too. Applied
    /// operations leave the outbox; refused, conflicting and superseded ones stay, out of
    /// the queue, for the user to see. `sent_at` is when the push carrying them left.
    pub fn record_outcomes(&mut self, answers: &[Answer], sent_at: &str, now: &Now) -> Result<()> {
        if answers.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        for a in answers {
            tx.prepare_cached(
                "INSERT INTO sent (op_id, seq, round, form, location, kind, outcome, duplicate, code, reason,
                   created_at, sent_at, answered_at)
                 SELECT op_id, seq, round, form, location, kind, ?2, ?3, ?4, ?5, created_at, ?6, ?7
                 FROM outbox WHERE op_id = ?1 AND state = 'pending'",
            )?
            .execute(params![
                a.op_id,
                a.outcome.as_str(),
                a.duplicate,
                a.code.map(ErrorCode::as_str),
                a.reason,
                sent_at,
                now.iso
            ])?;
            match a.outcome {
                OpOutcome::Applied => {
                    tx.prepare_cached("DELETE FROM outbox WHERE op_id = ?1")?.execute([&a.op_id])?;
                }
                OpOutcome::Conflict | OpOutcome::Rejected | OpOutcome::Superseded => {
                    let (code, reason) = match a.outcome {
                        OpOutcome::Conflict => {
                            (ErrorCode::Conflict, "another device changed this field; a supervisor will settle it")
                        }
                        OpOutcome::Superseded => (ErrorCode::Superseded, "this device had already sent newer values"),
                        _ => (ErrorCode::Rejected, ""),
                    };
                    tx.prepare_cached(
                        "UPDATE outbox SET state = ?2, reject_code = ?3, reject_reason = ?4 WHERE op_id = ?1",
                    )?
                    .execute(params![
                        a.op_id,
                        a.outcome.as_str(),
                        a.code.unwrap_or(code).as_str(),
                        a.reason.as_deref().unwrap_or(reason)
                    ])?;
                }
            }
        }
        tx.execute("DELETE FROM sent WHERE id <= (SELECT max(id) FROM sent) - ?1", [SENT_LOG_KEEP])?;
        tx.commit()?;
        Ok(())
    }

    /// The sent log, newest first: at most `limit` entries.
    pub fn sent_log(&self, limit: u32) -> Result<Vec<SentEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT op_id, seq, round, form, location, kind, outcome, duplicate, code, reason, created_at, sent_at,
                    answered_at
             FROM sent ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            let outcome: String = r.get(6)?;
            Ok(SentEntry {
                op_id: r.get(0)?,
                seq: r.get(1)?,
                key: key_from_row(r, 2)?,
                kind: r.get(5)?,
                outcome: crate::sqlite::parse_enum(6, &outcome, OpOutcome::parse)?,
                duplicate: r.get(7)?,
                code: r.get::<_, Option<String>>(8)?.map(|c| ErrorCode::parse(&c)),
                reason: r.get(9)?,
                created_at: r.get(10)?,
                sent_at: r.get(11)?,
                answered_at: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Operations HQ did not apply, with HQ's reasons.
    pub fn rejected_ops(&self) -> Result<Vec<RejectedOp>> {
        let mut stmt = self.conn.prepare(
            "SELECT op_id, round, form, location, CASE kind WHEN 'edit' THEN value END, state, reject_code, reject_reason
             FROM outbox WHERE state != 'pending' ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            let edits: Option<String> = r.get(4)?;
            let field = match edits {
                Some(e) => {
                    let edits: BTreeMap<String, serde_json::Value> = parse_json(4, &e)?;
                    Some(edits.into_keys().collect::<Vec<_>>().join(", "))
                }
                None => None,
            };
            Ok(RejectedOp {
                op_id: r.get(0)?,
                key: key_from_row(r, 1)?,
                field,
                state: crate::sqlite::parse_enum(5, &r.get::<_, String>(5)?, OpOutcome::parse)?,
                code: ErrorCode::parse(&r.get::<_, Option<String>>(6)?.unwrap_or_default()),
                reason: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn pull_cursor(&self) -> Result<Option<String>> {
        Ok(self.conn.query_row("SELECT pull_cursor FROM device", [], |r| r.get(0))?)
    }

    /// Applies one pull page and saves its cursor in the same transaction, so a crash
    /// can only repeat a page, never skip one. Fields with pending local operations
    /// keep the local value; HQ's version is remembered beside it.
    pub fn apply_pull_page(
        &mut self,
        rounds: &[Round],
        page: &[RemoteAssessment],
        cursor: &str,
        now: &Now,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for round in rounds {
            let forms = serde_json::to_string(&round.forms).expect("pairs serialise");
            tx.execute(
                "INSERT INTO rounds (code, number, title, status, window_start, window_end, forms, title_ar)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (code) DO UPDATE SET number = excluded.number, title = excluded.title,
                   status = excluded.status, window_start = excluded.window_start,
                   window_end = excluded.window_end, forms = excluded.forms, title_ar = excluded.title_ar",
                params![
                    round.code,
                    round.number,
                    round.title,
                    round.status.as_str(),
                    round.window_start,
                    round.window_end,
                    forms,
                    round.title_ar
                ],
            )?;
        }
        let outbox = OutboxHolds::read(&tx)?;
        for remote in page {
            apply_remote(&tx, remote, outbox, now)?;
        }
        tx.execute("UPDATE device SET pull_cursor = ?1", [cursor])?;
        tx.commit()?;
        Ok(())
    }

    /// Records the newest field app HQ says is released (None: HQ said nothing).
    pub fn record_newest_app_version(&mut self, version: Option<&str>) -> Result<()> {
        self.conn.execute("UPDATE device SET newest_app_version = ?1", [version])?;
        Ok(())
    }

    /// Records whether HQ answered at the last attempt to reach it.
    pub fn record_reachable(&mut self, reachable: bool) -> Result<()> {
        self.conn.execute("UPDATE device SET hq_reachable = ?1", [reachable])?;
        Ok(())
    }

    /// Records how a sync ended, and whether HQ answered (`reachable`; None when the
    /// sync never got as far as asking).
    pub fn record_sync(&mut self, now: &Now, error: Option<(ErrorCode, &str)>, reachable: Option<bool>) -> Result<()> {
        if let Some(reachable) = reachable {
            self.record_reachable(reachable)?;
        }
        match error {
            None => self.conn.execute(
                "UPDATE device SET last_sync_at = ?1, last_error_code = NULL, last_error = NULL",
                [&now.iso],
            )?,
            Some((code, message)) => self
                .conn
                .execute("UPDATE device SET last_error_code = ?1, last_error = ?2", params![code.as_str(), message])?,
        };
        Ok(())
    }

    pub fn sync_counts(&self) -> Result<SyncCounts> {
        let (pending, rejected, conflicts, superseded): (u32, u32, u32, u32) = self.conn.query_row(
            "SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'rejected'),
                    count(*) FILTER (WHERE state = 'conflict'), count(*) FILTER (WHERE state = 'superseded')
             FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        #[allow(clippy::type_complexity)] // one row of the device table, column by column
        let (last_sync_at, code, message, hq_reachable, pending_logouts, newest_app_version): (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<bool>,
            u32,
            Option<String>,
        ) = self.conn.query_row(
            "SELECT last_sync_at, last_error_code, last_error, hq_reachable, (SELECT count(*) FROM pending_logout),
                    newest_app_version
             FROM device",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )?;
        Ok(SyncCounts {
            pending,
            rejected,
            conflicts,
            superseded,
            last_sync_at,
            last_error: code.map(|c| ErrorCode::parse(&c)).zip(message),
            hq_reachable,
            pending_logouts,
            newest_app_version,
        })
    }

    /// The local audit trail of one assessment, oldest first.
    pub fn audit_trail(&self, key: &AssessmentKey) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT at, actor, action, field, old_value, new_value, op_id FROM audit
             WHERE round = ?1 AND form = ?2 AND location = ?3 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![key.round, key.form, key.location.as_str()], |r| {
            let (at, actor, action): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let (old, new): (Option<String>, Option<String>) = (r.get(4)?, r.get(5)?);
            let op_id: Option<String> = r.get(6)?;
            if action != "edit" {
                return Ok(vec![AuditEntry {
                    at,
                    actor,
                    action,
                    field: r.get(3)?,
                    old_value: old,
                    new_value: new,
                    op_id,
                }]);
            }
            // One save: a row per field it changed, old value → new value.
            let olds: BTreeMap<String, FieldValue> = parse_json(4, old.as_deref().unwrap_or("{}"))?;
            let news: BTreeMap<String, FieldValue> = parse_json(5, new.as_deref().unwrap_or("{}"))?;
            Ok(news
                .into_iter()
                .map(|(field, value)| AuditEntry {
                    at: at.clone(),
                    actor: actor.clone(),
                    action: "set_field".into(),
                    old_value: olds.get(&field).filter(|v| !v.is_null()).map(|v| v.to_string()),
                    new_value: Some(value.to_string()),
                    field: Some(field),
                    op_id: op_id.clone(),
                })
                .collect())
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
    }
}

/// One local change: who, when, which field, old value → new value (JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    /// The operation that carried the change to HQ (None for rows written before
    /// version 4 of the store): matches HQ's `ops.op_id` and the sent log.
    pub op_id: Option<String>,
}

fn round_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Round> {
    let status: String = r.get(3)?;
    let forms: String = r.get(6)?;
    Ok(Round {
        code: r.get(0)?,
        number: r.get(1)?,
        title: r.get(2)?,
        title_ar: r.get(7)?,
        status: crate::sqlite::parse_enum(3, &status, RoundStatus::parse)?,
        window_start: r.get(4)?,
        window_end: r.get(5)?,
        forms: parse_json(6, &forms)?,
    })
}

fn key_from_row(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<AssessmentKey> {
    let location: String = r.get(first + 2)?;
    let location = Pcode::parse(&location)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(first + 2, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(AssessmentKey { round: r.get(first)?, form: r.get(first + 1)?, location })
}

/// The gazetteer in force on the device: the shipped one with the changes HQ sent.
fn places_of(conn: &Connection) -> Result<Gazetteer> {
    Ok(Gazetteer::libya().clone().with_changes(stored_locations(conn)?))
}

/// The gazetteer changes HQ sent, as stored; a row that does not read is an error,
/// never a location silently missing.
fn stored_locations(conn: &Connection) -> Result<Vec<dtm_core::Location>> {
    let mut stmt = conn.prepare("SELECT location FROM locations ORDER BY pcode")?;
    let rows = stmt.query_map([], |r| {
        let text: String = r.get(0)?;
        serde_json::from_str(&text)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn load_assessment(conn: &Connection, key: &AssessmentKey) -> Result<Option<AssessmentRecord>> {
    let k = params![key.round, key.form, key.location.as_str()];
    let head = conn
        .prepare_cached(
            "SELECT status, form_version, server_version, open_conflicts, fields FROM assessments
             WHERE round = ?1 AND form = ?2 AND location = ?3",
        )?
        .query_row(k, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?, r.get::<_, u64>(2)?, r.get::<_, u32>(3)?, {
                let fields: String = r.get(4)?;
                parse_json_map::<FieldValue>(4, &fields)?
            }))
        })
        .optional()?;
    let Some((status, form_version, server_version, open_conflicts, values)) = head else {
        return Ok(None);
    };
    let pending = pending_ops_of(conn, key)?;
    let pending_ops = pending.len() as u32;
    let pending_fields: Vec<String> = pending
        .into_iter()
        .flat_map(|(_, edits)| edits.into_keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT hq_id, author, role, decision, text, at FROM comments
         WHERE round = ?1 AND form = ?2 AND location = ?3 ORDER BY hq_id",
    )?;
    let comments = stmt
        .query_map(k, |r| {
            Ok(Comment {
                hq_id: r.get(0)?,
                author: r.get(1)?,
                role: r.get(2)?,
                decision: r.get(3)?,
                text: r.get(4)?,
                at: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(AssessmentRecord {
        key: key.clone(),
        status: crate::sqlite::parse_enum(0, &status, AssessmentStatus::parse)?,
        form_version,
        server_version,
        open_conflicts,
        values,
        pending_fields,
        pending_ops,
        comments,
        previous: None,
        children: None,
    }))
}

/// The assessment's two documents.
#[derive(Clone, Copy)]
enum Document {
    /// `fields`: what the enumerator sees.
    Local,
    /// `server_fields`: the last version of each field pulled from HQ.
    Server,
}

/// One of the assessment's documents; empty when the device holds no such assessment.
fn document<T: serde::de::DeserializeOwned + Default>(
    conn: &Connection,
    key: &AssessmentKey,
    which: Document,
) -> Result<T> {
    let sql = match which {
        Document::Local => "SELECT fields FROM assessments WHERE round = ?1 AND form = ?2 AND location = ?3",
        Document::Server => "SELECT server_fields FROM assessments WHERE round = ?1 AND form = ?2 AND location = ?3",
    };
    let text: Option<String> = conn
        .prepare_cached(sql)?
        .query_row(params![key.round, key.form, key.location.as_str()], |r| r.get(0))
        .optional()?;
    Ok(match text {
        Some(t) => parse_json(0, &t)?,
        None => T::default(),
    })
}

/// The values the enumerator sees.
fn values_of(conn: &Connection, key: &AssessmentKey) -> Result<BTreeMap<String, FieldValue>> {
    document(conn, key, Document::Local)
}

/// The last version of each field pulled from HQ: field → (value, version).
fn server_fields(conn: &Connection, key: &AssessmentKey) -> Result<BTreeMap<String, (FieldValue, u64)>> {
    document(conn, key, Document::Server)
}

/// The assessment's pending operations, oldest first: kind, and for an edit its fields
/// with their base versions.
#[allow(clippy::type_complexity)]
fn pending_ops_of(
    conn: &Connection,
    key: &AssessmentKey,
) -> Result<Vec<(OpKind, BTreeMap<String, (FieldValue, u64)>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, value FROM outbox WHERE round = ?1 AND form = ?2 AND location = ?3 AND state = 'pending'
         ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![key.round, key.form, key.location.as_str()], |r| {
        let kind = crate::sqlite::parse_enum(0, &r.get::<_, String>(0)?, OpKind::parse)?;
        let edits = match (kind, r.get::<_, Option<String>>(1)?) {
            (OpKind::Edit, Some(v)) => parse_json(1, &v)?,
            _ => BTreeMap::new(),
        };
        Ok((kind, edits))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every field a pending edit of the assessment writes, oldest edit first.
fn pending_edits(conn: &Connection, key: &AssessmentKey) -> Result<Vec<(String, (FieldValue, u64))>> {
    Ok(pending_ops_of(conn, key)?.into_iter().flat_map(|(_, edits)| edits).collect())
}

/// The same location and form in the latest earlier round the device holds.
fn previous_values(
    conn: &Connection,
    key: &AssessmentKey,
    round_number: u32,
) -> Result<Option<(String, BTreeMap<String, FieldValue>)>> {
    let previous: Option<String> = conn
        .query_row(
            // Walks back through the rounds, newest first, probing each: the previous round
            // is found at once however many rounds the device holds.
            "SELECT r.code FROM rounds r
             WHERE r.number < ?3
               AND EXISTS (SELECT 1 FROM assessments a WHERE a.round = r.code AND a.form = ?1 AND a.location = ?2)
             ORDER BY r.number DESC LIMIT 1",
            params![key.form, key.location.as_str(), round_number],
            |r| r.get(0),
        )
        .optional()?;
    match previous {
        Some(round) => {
            let values = values_of(conn, &AssessmentKey::new(&round, &key.form, key.location.clone()))?;
            Ok(Some((round, values)))
        }
        None => Ok(None),
    }
}

/// The child form's assessments inside this location, in the same round.
fn child_values(
    conn: &Connection,
    forms: &Forms,
    places: &Gazetteer,
    key: &AssessmentKey,
    child_form: &str,
) -> Result<Option<Vec<BTreeMap<String, FieldValue>>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT location FROM assessments WHERE round = ?1 AND form = ?2 AND location LIKE ?3 || '%' AND location != ?3",
    )?;
    let locations = stmt
        .query_map(params![key.round, child_form, key.location.as_str()], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut found = Vec::new();
    for l in locations.iter().filter_map(|l| Pcode::parse(l).ok()) {
        if let Some(record) = load_assessment(conn, &AssessmentKey::new(&key.round, child_form, l))? {
            found.push(record);
        }
    }
    let children: Vec<dtm_core::form::Child<'_>> = found
        .iter()
        .map(|r| dtm_core::form::Child {
            location: &r.key.location,
            status: r.status,
            form: forms.get(child_form, r.form_version),
            values: &r.values,
        })
        .collect();
    Ok(dtm_core::form::aggregate_children(forms, places, &key.location, child_form, &children))
}

/// Creates or updates the assessment's row; with `fields`, the values the enumerator sees.
fn upsert_assessment(
    tx: &Transaction<'_>,
    key: &AssessmentKey,
    status: AssessmentStatus,
    form_version: u32,
    fields: Option<&BTreeMap<String, FieldValue>>,
    now: &Now,
) -> Result<()> {
    let fields = fields.map(|f| serde_json::to_string(f).expect("values serialise"));
    tx.prepare_cached(
        "INSERT INTO assessments (round, form, location, status, form_version, updated_at, fields)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, '{}'))
         ON CONFLICT (round, form, location) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
           fields = coalesce(?7, fields)",
    )?
    .execute(params![
        key.round,
        key.form,
        key.location.as_str(),
        status.as_str(),
        form_version,
        now.iso,
        fields
    ])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)] // one row of the outbox, column by column
fn enqueue(
    tx: &Transaction<'_>,
    key: &AssessmentKey,
    kind: OpKind,
    value: Option<&str>,
    base_version: u64,
    form_version: u32,
    now: &Now,
) -> Result<String> {
    let (hlc, seq): (String, u64) =
        tx.query_row("SELECT hlc, next_seq FROM device", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let hlc = crate::sqlite::parse_hlc(0, &hlc)?.tick(now.millis);
    let kind = kind.as_str();
    let op_id = uuid::Uuid::now_v7().to_string();
    tx.prepare_cached(
        "INSERT INTO outbox (seq, op_id, round, form, location, kind, value, base_version, hlc, form_version, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
            seq,
            op_id,
            key.round,
            key.form,
            key.location.as_str(),
            kind,
            value,
            base_version,
            hlc.encode(),
            form_version,
            now.iso
        ])?;
    // The clock is persisted with the operation, so it never goes backwards across restarts.
    tx.execute("UPDATE device SET hlc = ?1, next_seq = ?2", params![hlc.encode(), seq + 1])?;
    Ok(op_id)
}

#[allow(clippy::too_many_arguments)] // one row of the audit log, column by column
fn audit(
    tx: &Transaction<'_>,
    session: &Session,
    key: &AssessmentKey,
    action: &str,
    old: Option<String>,
    new: Option<String>,
    op_id: &str,
    now: &Now,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, device_id, round, form, location, action, field, old_value, new_value, op_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9, ?10)",
    )?
    .execute(params![
        now.iso,
        session.user.username,
        session.device_id,
        key.round,
        key.form,
        key.location.as_str(),
        action,
        old,
        new,
        op_id
    ])?;
    Ok(())
}

/// A pulled assessment's values as the device keeps them: the local values, each
/// replaced by HQ's where HQ has the field and no pending operation of the device names
/// it. Written as JSON straight from both maps, in field order, without copying them
/// into a third (a fifth of a large pull's time went to those copies).
struct Merged<'a> {
    local: &'a BTreeMap<String, FieldValue>,
    remote: &'a BTreeMap<String, (FieldValue, u64)>,
    pending: &'a std::collections::BTreeSet<&'a String>,
}

impl serde::Serialize for Merged<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let (mut local, mut remote) = (self.local.iter().peekable(), self.remote.iter().peekable());
        loop {
            let (field, value) = match (local.peek(), remote.peek()) {
                (None, None) => break,
                (Some((l, _)), Some((r, _))) if l < r => local.next().expect("peeked"),
                (Some(_), None) => local.next().expect("peeked"),
                (l, Some((r, _))) => {
                    let held = l.filter(|(l, _)| l == r).is_some().then(|| local.next().expect("peeked"));
                    let (field, (value, _)) = remote.next().expect("peeked");
                    match held {
                        Some(held) if self.pending.contains(field) => held,
                        None if self.pending.contains(field) => continue,
                        _ => (field, value),
                    }
                }
            };
            map.serialize_entry(field, value)?;
        }
        map.end()
    }
}

/// What in the outbox a pulled assessment must respect, read once per page: a
/// device's first pull (or any pull with nothing waiting) then looks up no
/// assessment's operations.
#[derive(Debug, Clone, Copy)]
struct OutboxHolds {
    /// Operations HQ has not heard yet.
    pending: bool,
    /// Operations HQ answered with a conflict, left for a supervisor to settle.
    conflicts: bool,
}

impl OutboxHolds {
    fn read(conn: &Connection) -> Result<OutboxHolds> {
        Ok(conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE state = 'pending'),
                    EXISTS (SELECT 1 FROM outbox WHERE state = 'conflict')",
            [],
            |r| Ok(OutboxHolds { pending: r.get(0)?, conflicts: r.get(1)? }),
        )?)
    }
}

fn apply_remote(tx: &Transaction<'_>, remote: &RemoteAssessment, outbox: OutboxHolds, now: &Now) -> Result<()> {
    let key = &remote.key;
    let k = params![key.round, key.form, key.location.as_str()];
    let pending = if outbox.pending { pending_ops_of(tx, key)? } else { Vec::new() };
    let pending_submit = pending.iter().any(|(kind, _)| *kind == OpKind::Submit);
    let pending_fields: std::collections::BTreeSet<&String> = pending.iter().flat_map(|(_, e)| e.keys()).collect();
    let local = tx
        .prepare_cached("SELECT status, fields FROM assessments WHERE round = ?1 AND form = ?2 AND location = ?3")?
        .query_row(k, |r| Ok((r.get::<_, String>(0)?, parse_json_map::<FieldValue>(1, &r.get::<_, String>(1)?)?)))
        .optional()?;
    // A local submit or edit not yet pushed decides the local status until HQ hears it.
    let status = match (pending_submit, !pending.is_empty(), &local) {
        (true, _, Some((s, _))) => s.clone(),
        (false, true, Some((s, _))) if remote.status.is_editable() => s.clone(),
        _ => remote.status.as_str().to_owned(),
    };
    let local_fields = local.map(|(_, f)| f).unwrap_or_default();
    // HQ's values over the local ones, but never over a value the enumerator typed and
    // HQ has not yet heard; HQ's version is remembered beside it, in `server_fields`.
    let fields = Merged { local: &local_fields, remote: &remote.fields, pending: &pending_fields };
    tx.prepare_cached(
        "INSERT INTO assessments (round, form, location, status, form_version, server_version, open_conflicts, updated_at,
           fields, server_fields)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (round, form, location) DO UPDATE SET status = excluded.status,
           form_version = excluded.form_version, server_version = excluded.server_version,
           open_conflicts = excluded.open_conflicts, updated_at = excluded.updated_at,
           fields = excluded.fields, server_fields = excluded.server_fields",
    )?
    .execute(params![
        key.round,
        key.form,
        key.location.as_str(),
        status,
        remote.form_version,
        remote.version,
        remote.open_conflicts,
        now.iso,
        serde_json::to_string(&fields).expect("values serialise"),
        serde_json::to_string(&remote.fields).expect("values serialise"),
    ])?;
    if remote.open_conflicts == 0 && outbox.conflicts {
        // HQ has settled every conflict here; the settled value arrives with this page.
        tx.prepare_cached(
            "DELETE FROM outbox WHERE round = ?1 AND form = ?2 AND location = ?3 AND state = 'conflict'",
        )?
        .execute(params![key.round, key.form, key.location.as_str()])?;
    }
    for c in &remote.comments {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO comments (round, form, location, hq_id, author, role, decision, text, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            key.round,
            key.form,
            key.location.as_str(),
            c.hq_id,
            c.author,
            c.role,
            c.decision,
            c.text,
            c.at
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
