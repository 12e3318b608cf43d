//! The narrow storage seam under HQ's service layer (`service.rs`): primitives that
//! read and write rows, and nothing that decides. What an operation, a review or a
//! settlement does is decided once, by dtm-core's pure functions called from the
//! service; a backend (`sqlite.rs`, `postgres.rs`) only carries rows in and out.
//!
//! Every call runs inside a transaction the backend opened with [`Store::write`] or
//! [`Store::read`], on a blocking thread: the service loads state, plans, and writes
//! the plan in one transaction, the same code on every backend.
//!
//! Writes are one at a time on every backend (SQLite has one writer; PostgreSQL takes
//! one row lock at the start of every write transaction). That keeps each
//! read-plan-write atomic without per-row locks, and makes the change sequence
//! follow commit order, which the pull cursor relies on.

use crate::storage::{
    AuditFilter, Caller, DeviceSeen, LoginFailures, NewDevice, NewEnrolment, NewUser, Result, StoredEnrolment,
    StoredUser,
};
use dtm_core::plan::ConflictKind;
use dtm_core::ErrorCode;
use dtm_core::{
    AssessmentKey, AssessmentStatus, FieldValue, FieldVersion, Hlc, ReviewDecision, Role, Round, RoundStatus, Scope,
};
use dtm_core::{Language, Location};
use dtm_sync::accounts::{AuditEntry, DeviceInfo};
use dtm_sync::wire::{AssessmentSnapshot, Conflict, Outcome, SettledConflict};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// A backend: opens transactions and runs the service's work in them.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` in one write transaction, committed (durably) if it returns `Ok` and
    /// rolled back otherwise. One write transaction at a time.
    fn write<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T>;
    /// Runs `f` on one consistent view of the last committed state; never waits for
    /// a write in progress.
    fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T>;
    /// Which backend this is, for logs and the benchmark: `sqlite` or `postgres`.
    fn kind(&self) -> &'static str;
}

/// One field of an assessment's document: its value, its version, and the `changes`
/// row that wrote it (who, from which device, when).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DocField(pub FieldValue, pub u64, pub i64);

/// An assessment's fields, as stored with it.
pub type Doc = BTreeMap<String, DocField>;

/// What one change wrote: each field's value at its new version.
pub type Writes<'a> = BTreeMap<&'a str, (&'a FieldValue, u64)>;

/// The document fields `change` wrote, as entries of a [`Doc`].
pub fn doc_fields<'w>(writes: &'w Writes<'_>, change: i64) -> impl Iterator<Item = (String, DocField)> + 'w {
    writes
        .iter()
        .map(move |(field, (value, version))| ((*field).to_owned(), DocField((*value).clone(), *version, change)))
}

/// The document of a new assessment whose fields `change` wrote, as JSON: the same
/// text as the [`Doc`] of those fields ([`doc_fields`]) serialises to, written without
/// building it.
pub fn doc_json(writes: &Writes<'_>, change: i64) -> String {
    struct Fields<'w, 'a>(&'w Writes<'a>, i64);
    impl serde::Serialize for Fields<'_, '_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(field, (value, version))| (field, (value, version, self.1))))
        }
    }
    serde_json::to_string(&Fields(writes, change)).expect("values serialise")
}

/// What a change row holds of each field it wrote, read back.
pub type ChangeFields = BTreeMap<String, (FieldValue, u64)>;

/// An assessment's row without its fields.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    pub id: i64,
    pub status: AssessmentStatus,
    pub form_version: u32,
}

/// A new assessment's row, its document written whole.
pub struct NewAssessment<'a> {
    pub key: &'a AssessmentKey,
    pub status: AssessmentStatus,
    pub form_version: u32,
    pub change_seq: u64,
    pub at: OffsetDateTime,
    /// Its document as JSON ([`doc_json`]).
    pub doc: &'a str,
}

/// One row of `changes`: an operation, an import row or a settlement.
pub struct NewChange<'a> {
    /// From [`Tx::next_change_id`], so a new assessment's document can name it.
    pub id: i64,
    pub assessment_id: i64,
    pub op_id: Option<&'a str>,
    pub author: &'a str,
    pub device: &'a str,
    pub hlc: Hlc,
    pub at: OffsetDateTime,
    pub fields: &'a Writes<'a>,
}

/// Who wrote a change.
#[derive(Debug, Clone, Default)]
pub struct ChangeAuthor {
    pub author: String,
    pub device: String,
    pub hlc: Hlc,
}

/// A conflict as recorded: both sides, the base, and the operation that raised it.
pub struct NewConflict<'a> {
    pub assessment_id: i64,
    pub field: &'a str,
    pub kind: ConflictKind,
    pub base_version: u64,
    pub base_value: Option<&'a FieldValue>,
    /// What HQ held; `None` when the field was never written (a void conflict).
    pub current: Option<&'a FieldVersion>,
    pub incoming_value: &'a FieldValue,
    pub incoming_author: &'a str,
    pub incoming_device: &'a str,
    pub incoming_hlc: Hlc,
    pub op_id: &'a str,
    pub at: OffsetDateTime,
}

/// Who holds a device id, and whether it was revoked.
#[derive(Debug, Clone)]
pub struct DeviceHolder {
    pub username: String,
    pub revoked: bool,
}

/// The answer HQ gave an operation before, and the hash of what it carried.
#[derive(Debug, Clone)]
pub struct SeenOp {
    pub outcome: Outcome,
    pub code: Option<ErrorCode>,
    pub reason: Option<String>,
    /// `None` for operations remembered before hashes were kept.
    pub payload_hash: Option<String>,
}

/// The answer to one operation, remembered so a retry gets it again.
pub struct OpRecord<'a> {
    pub device_id: &'a str,
    pub op_id: &'a str,
    pub seq: u64,
    pub outcome: Outcome,
    pub code: Option<ErrorCode>,
    pub reason: Option<&'a str>,
    pub at: OffsetDateTime,
    pub payload_hash: &'a str,
}

/// The primitives. Each is one or two statements; none decides anything.
pub trait Tx {
    /// Made when the database is created.
    fn epoch(&mut self) -> Result<String>;
    /// Allots `n` consecutive change sequence numbers (pull cursor order) and returns
    /// the first. Numbers a transaction leaves unused are never used: gaps are harmless.
    fn allot_change_seqs(&mut self, n: u32) -> Result<u64>;
    /// Allots `n` consecutive ids of `changes` rows and returns the first.
    fn allot_change_ids(&mut self, n: u32) -> Result<i64>;

    /// Creates or replaces a user.
    fn put_user(&mut self, user: &NewUser, at: OffsetDateTime) -> Result<()>;
    /// The user and their password hash.
    fn user(&mut self, username: &str) -> Result<Option<StoredUser>>;
    /// Every account, each with how many devices hold a session that is not revoked.
    fn users(&mut self) -> Result<Vec<(StoredUser, u32)>>;
    fn update_user(
        &mut self,
        username: &str,
        display_name: &str,
        role: Role,
        scope: &[String],
        language: Language,
    ) -> Result<()>;
    fn set_disabled(&mut self, username: &str, at: Option<OffsetDateTime>) -> Result<()>;
    fn set_password(&mut self, username: &str, hash: &str, must_change: bool) -> Result<()>;
    /// Ends every session of the account (not revoking its devices); returns how many.
    fn end_user_sessions(&mut self, username: &str, at: OffsetDateTime) -> Result<u32>;
    /// Admin accounts that are not disabled.
    fn count_admins(&mut self) -> Result<usize>;
    fn insert_enrolment(&mut self, enrolment: &NewEnrolment) -> Result<()>;
    fn enrolment(&mut self, code_hash: &str) -> Result<Option<StoredEnrolment>>;
    fn use_enrolment(&mut self, code_hash: &str, at: OffsetDateTime, device_id: &str) -> Result<()>;
    /// Every device, with its account's display name.
    fn devices(&mut self) -> Result<Vec<DeviceInfo>>;
    /// How many devices of one account are not revoked.
    fn active_devices(&mut self, username: &str) -> Result<u32>;
    fn device_seen(&mut self, device_id: &str, seen: &DeviceSeen) -> Result<()>;
    /// Lines of the access log, newest first.
    fn audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;
    fn device(&mut self, device_id: &str) -> Result<Option<DeviceHolder>>;
    /// The accounts holding a field store's key, and the key, oldest first.
    fn store_keys(&mut self, store_id: &str) -> Result<Vec<(String, String)>>;
    fn insert_store_key(&mut self, store_id: &str, username: &str, key: &str, at: OffsetDateTime) -> Result<()>;
    fn insert_device(&mut self, device: &NewDevice) -> Result<()>;
    /// A new token, name and expiry for a device its user logs in with again.
    fn renew_device(&mut self, device: &NewDevice) -> Result<()>;
    /// The caller holding this token, unless it is unknown, revoked or expired at `now`.
    fn caller(&mut self, token_hash: &str, now: OffsetDateTime) -> Result<Option<Caller>>;
    /// Revokes a device (keeping the first revocation's time); false if unknown.
    /// Revokes a device; with `wipe`, it is also told to remove its data once it has
    /// pushed what it holds.
    fn revoke_device(&mut self, device_id: &str, wipe: bool, at: OffsetDateTime) -> Result<bool>;
    /// Expires a live token now; false if no live session holds it.
    fn end_session(&mut self, token_hash: &str, at: OffsetDateTime) -> Result<bool>;
    fn login_failures(&mut self, username: &str) -> Result<LoginFailures>;
    fn put_login_failures(&mut self, username: &str, failures: &LoginFailures) -> Result<()>;
    fn clear_login_failures(&mut self, username: &str) -> Result<()>;

    fn round(&mut self, code: &str) -> Result<Option<Round>>;
    /// Every round, newest (highest number) first.
    fn rounds(&mut self) -> Result<Vec<Round>>;
    /// Whether a round with this code or number exists.
    fn round_taken(&mut self, code: &str, number: u32) -> Result<bool>;
    /// Creates a round, or updates everything of it but its number.
    fn write_round(&mut self, round: &Round) -> Result<()>;
    fn set_round_status(&mut self, code: &str, status: RoundStatus) -> Result<bool>;

    fn head(&mut self, key: &AssessmentKey) -> Result<Option<Head>>;
    /// The heads of those of `keys` HQ holds (a push batch's assessments in one go).
    fn heads(&mut self, keys: &[&AssessmentKey]) -> Result<HashMap<AssessmentKey, Head>>;
    fn doc(&mut self, assessment_id: i64) -> Result<Doc>;
    /// Writes a new assessment and the change that wrote its first values (whose
    /// `assessment_id` is ignored: the new row's id is used), and returns its id.
    fn insert_assessment(&mut self, assessment: &NewAssessment<'_>, first: &NewChange<'_>) -> Result<i64>;
    /// Sets status, version + 1, change sequence and time; with `doc`, the fields too.
    fn update_assessment(
        &mut self,
        assessment_id: i64,
        status: AssessmentStatus,
        change_seq: u64,
        doc: Option<&Doc>,
        at: OffsetDateTime,
    ) -> Result<()>;
    fn insert_change(&mut self, change: &NewChange<'_>) -> Result<()>;
    fn change_author(&mut self, change_id: i64) -> Result<Option<ChangeAuthor>>;
    /// The authors of those of these changes HQ holds; a backend may answer in one
    /// statement.
    fn change_authors(&mut self, change_ids: &[i64]) -> Result<HashMap<i64, ChangeAuthor>> {
        let mut out = HashMap::with_capacity(change_ids.len());
        for id in change_ids {
            if let Some(author) = self.change_author(*id)? {
                out.insert(*id, author);
            }
        }
        Ok(out)
    }
    /// What each change of the assessment wrote, oldest first.
    fn change_fields(&mut self, assessment_id: i64) -> Result<Vec<ChangeFields>>;
    /// Whether this user wrote figures of the assessment from a device (an operation,
    /// not a settlement or an import).
    fn entered_figures(&mut self, assessment_id: i64, username: &str) -> Result<bool>;
    /// Assessments as the API and devices see them, with comments and open conflicts,
    /// in the order of `ids` (a few statements for a whole pull page, not a few each).
    fn snapshots(&mut self, ids: &[i64]) -> Result<Vec<AssessmentSnapshot>>;
    /// The same form and location in the latest round numbered below `key.round`.
    fn previous_assessment(&mut self, key: &AssessmentKey) -> Result<Option<(i64, String)>>;
    /// The previous assessment of each of `keys` (all of one round), as
    /// [`Tx::previous_assessment`] finds it; a backend may answer in one statement.
    fn previous_assessments(&mut self, keys: &[&AssessmentKey]) -> Result<HashMap<AssessmentKey, (i64, String)>> {
        let mut out = HashMap::new();
        for key in keys {
            if let Some(found) = self.previous_assessment(key)? {
                out.insert((*key).clone(), found);
            }
        }
        Ok(out)
    }
    /// The documents of these assessments, by id; a backend may answer in one statement.
    fn docs(&mut self, ids: &[i64]) -> Result<HashMap<i64, Doc>> {
        ids.iter().map(|id| Ok((*id, self.doc(*id)?))).collect()
    }
    /// Assessments of `form` in `round` strictly inside `location`.
    fn children(&mut self, round: &str, form: &str, location: &str) -> Result<Vec<i64>>;
    /// Up to `limit` assessments in scope changed after `after`, as (id, change_seq)
    /// in change order.
    fn changed_after(&mut self, scope: &Scope, after: u64, limit: u32) -> Result<Vec<(i64, u64)>>;
    /// The round's assessments in scope, by location and form.
    fn round_assessment_ids(&mut self, round: &str, scope: &Scope) -> Result<Vec<i64>>;

    fn insert_comment(
        &mut self,
        assessment_id: i64,
        author: &str,
        role: Role,
        decision: Option<ReviewDecision>,
        text: &str,
        at: OffsetDateTime,
    ) -> Result<()>;

    fn insert_conflict(&mut self, conflict: &NewConflict<'_>) -> Result<()>;
    /// A conflict and the id of its assessment.
    fn conflict(&mut self, id: i64) -> Result<Option<(Conflict, i64)>>;
    /// The round's conflicts in scope, open ones first, then by id.
    fn conflict_ids(&mut self, round: &str, scope: &Scope) -> Result<Vec<i64>>;
    fn open_conflicts(&mut self, assessment_id: i64) -> Result<usize>;
    /// Settles a conflict; `seq` is the change that wrote the settled value.
    #[allow(clippy::too_many_arguments)]
    fn settle_conflict(
        &mut self,
        id: i64,
        by: &str,
        value: &FieldValue,
        reason: &str,
        at: OffsetDateTime,
        seq: i64,
    ) -> Result<()>;
    /// The settlements, after change `after`, of conflicts device `device_id` was a side
    /// of (its edit; or, for a value conflict, the value another edit met), in the order
    /// they were settled, at most `limit`; each with the change that settled it.
    fn settled_for_device(&mut self, device_id: &str, after: u64, limit: u32) -> Result<Vec<(u64, SettledConflict)>>;

    /// The answers given before to any of these operations of the device, by op_id.
    fn seen_ops(&mut self, device_id: &str, op_ids: &[&str]) -> Result<HashMap<String, SeenOp>>;
    /// Remembers the answers to a batch of operations.
    fn record_ops(&mut self, ops: &[OpRecord<'_>]) -> Result<()>;
    /// Records who read, exported or changed what.
    fn log_access(&mut self, at: OffsetDateTime, actor: &str, action: &str, target: &str) -> Result<()>;

    /// The gazetteer's recorded changes after `after`, in the order they were made.
    fn location_changes(&mut self, after: u64) -> Result<Vec<(u64, Location)>>;
    /// Records a location's new state at change sequence `seq`.
    fn insert_location_change(&mut self, seq: u64, location: &Location, by: &str, at: OffsetDateTime) -> Result<()>;
}

/// A time as HQ stores it in text and sends it (RFC 3339, UTC, to the microsecond).
pub fn iso(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("UTC time formats")
}

/// HQ's times are kept to the microsecond, the finest PostgreSQL holds, so the same
/// instant reads back the same from either store.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).expect("a truncated nanosecond is valid")
}

/// An operation outcome as stored.
pub fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Applied => "applied",
        Outcome::Duplicate => "duplicate",
        Outcome::Conflict => "conflict",
        Outcome::Rejected => "rejected",
        Outcome::Superseded => "superseded",
    }
}

/// An outcome as stored; anything else is a corrupt row, never a silent `rejected`.
pub fn outcome_parse(s: &str) -> Option<Outcome> {
    Some(match s {
        "applied" => Outcome::Applied,
        "conflict" => Outcome::Conflict,
        "duplicate" => Outcome::Duplicate,
        "rejected" => Outcome::Rejected,
        "superseded" => Outcome::Superseded,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_new_documents_json_is_the_text_its_doc_serialises_to() {
        let (count, arabic, null, many) = (json!(120), json!("طرابلس \"المركز\""), json!(null), json!(["a", "b"]));
        let writes: Writes<'_> =
            [("idp_ind", (&count, 1)), ("note:x", (&arabic, 2)), ("ret_hh", (&null, 1)), ("ki_types", (&many, 3))]
                .into_iter()
                .collect();
        let doc: Doc = doc_fields(&writes, 7).collect();
        assert_eq!(
            doc_json(&writes, 7),
            serde_json::to_string(&doc).unwrap(),
            "both stores and every reader parse the document as a Doc, so it must be written as one"
        );
    }
}
