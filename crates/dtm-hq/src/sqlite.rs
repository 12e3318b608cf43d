//! HQ storage on SQLite: the embedded default. One connection behind a mutex, used
//! from blocking threads; SQLite has one writer anyway, which also makes the change
//! sequence follow commit order.

use crate::storage::{
    Caller, CheckContext, HqStorage, LoginFailures, NewDevice, NewUser, PullPage, Result, StorageError, Values,
};
use async_trait::async_trait;
use dtm_core::form::Context;
use dtm_core::import::ImportRecord;
use dtm_core::plan::{
    plan_op, plan_settlement, Change, Held, Incoming, OpPlan, Outcome as PlanOutcome, PlannedConflict, SettlementPlan,
};
use dtm_core::workflow;
use dtm_core::Settlement;
use dtm_core::{
    AssessmentKey, AssessmentStatus, FieldValue, FieldVersion, FormDef, Hlc, Pcode, ReviewDecision, Role, Round,
    RoundStatus, Scope,
};
use dtm_store::sqlite::{self, Durability};
use dtm_sync::wire::{
    AssessmentSnapshot, OpBody, OpResult, Operation, Outcome, RoundForm, User, WireComment, WireField,
};
use dtm_sync::wire::{Conflict, ConflictKind, ConflictResolution, ConflictSide, ConflictStatus};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_hq.sql"),
    include_str!("../migrations/0002_void_conflicts.sql"),
    include_str!("../migrations/0003_documents.sql"),
    include_str!("../migrations/0004_ops_per_device.sql"),
    include_str!("../migrations/0005_login_failures.sql"),
];

/// One field of an assessment's document: its value, its version, and the `changes`
/// row that wrote it (who, from which device, when).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct DocField(FieldValue, u64, i64);

/// An assessment's fields, as stored in `assessments.fields`.
type Doc = BTreeMap<String, DocField>;

fn parse_doc(text: &str) -> rusqlite::Result<Doc> {
    sqlite::parse_json(0, text)
}

fn load_doc(conn: &Connection, id: i64) -> rusqlite::Result<Doc> {
    let text: String =
        conn.prepare_cached("SELECT fields FROM assessments WHERE id = ?1")?.query_row([id], |r| r.get(0))?;
    parse_doc(&text)
}

/// Writes one change (an operation, an import row or a settlement) and returns its id.
#[allow(clippy::too_many_arguments)] // one row of `changes`, column by column
fn insert_change(
    tx: &Transaction<'_>,
    id: Option<i64>,
    assessment_id: i64,
    op_id: Option<&str>,
    author: &str,
    device: &str,
    hlc: Hlc,
    now: &str,
    fields: &BTreeMap<&str, (&FieldValue, u64)>,
) -> rusqlite::Result<i64> {
    let fields = serde_json::to_string(fields).expect("values serialise");
    tx.prepare_cached(
        "INSERT INTO changes (id, assessment_id, op_id, author, device_id, hlc, at, fields)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![id, assessment_id, op_id, author, device, hlc.encode(), now, fields])?;
    Ok(tx.last_insert_rowid())
}

/// Who wrote a change: author, device and HLC stamp.
fn change_author(conn: &Connection, change_id: i64) -> rusqlite::Result<(String, String, Hlc)> {
    Ok(conn
        .prepare_cached("SELECT author, device_id, hlc FROM changes WHERE id = ?1")?
        .query_row([change_id], |r| {
            Ok((r.get(0)?, r.get(1)?, Hlc::decode(&r.get::<_, String>(2)?).unwrap_or_default()))
        })
        .optional()?
        .unwrap_or_default())
}

/// HQ on one SQLite file: one writer connection, and a few read connections beside
/// it (WAL lets readers work while a write is in progress), so a large push does not
/// hold up every list, detail, pull or sign-in behind it.
#[derive(Clone)]
pub struct SqliteHq {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: Arc<std::sync::atomic::AtomicUsize>,
}

/// Read connections: as many as the cores, at least two.
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).max(2)
}

impl SqliteHq {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        // An acknowledged push must survive a power cut: FULL durability.
        let conn = sqlite::open(path, MIGRATIONS, Durability::Full)?;
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('epoch', ?1), ('change_seq', '0')",
            [uuid::Uuid::now_v7().simple().to_string()],
        )?;
        let readers = (0..reader_count())
            .map(|_| {
                let reader = Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                reader.busy_timeout(std::time::Duration::from_secs(10))?;
                reader.pragma_update(None, "cache_size", -16 * 1024)?;
                Ok(Mutex::new(reader))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(readers),
            next_reader: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // Every write is one transaction, so a panic cannot leave half a change behind.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StorageError::Internal(anyhow::anyhow!("storage task failed: {e}")))?
    }

    /// Runs a read on one of the read connections: it sees the last committed state
    /// and never waits for the writer.
    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let readers = self.readers.clone();
        let start = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            // The first free reader from a rotating start; wait on one only if all are busy.
            let n = readers.len();
            let guard = (0..n)
                .find_map(|i| readers[(start + i) % n].try_lock().ok())
                .unwrap_or_else(|| readers[start % n].lock().unwrap_or_else(|p| p.into_inner()));
            f(&guard)
        })
        .await
        .map_err(|e| StorageError::Internal(anyhow::anyhow!("storage task failed: {e}")))?
    }

    /// Holds the writer until the returned guard is dropped: for tests that show reads
    /// do not wait for a write in progress.
    #[doc(hidden)]
    pub fn hold_writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn read_login_failures(conn: &Connection, username: &str) -> rusqlite::Result<LoginFailures> {
    Ok(conn
        .prepare_cached("SELECT failures, locked_until FROM login_failures WHERE username = ?1")?
        .query_row([username], |r| Ok(LoginFailures { count: r.get(0)?, locked_until: r.get(1)? }))
        .optional()?
        .unwrap_or_default())
}

fn round_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Round> {
    let status: String = r.get(3)?;
    let forms: String = r.get(6)?;
    let forms: Vec<RoundForm> = serde_json::from_str(&forms).unwrap_or_default();
    Ok(Round {
        code: r.get(0)?,
        number: r.get(1)?,
        title: r.get(2)?,
        status: sqlite::parse_enum(3, &status, RoundStatus::parse)?,
        window_start: r.get(4)?,
        window_end: r.get(5)?,
        forms: forms.into_iter().map(|f| (f.form, f.version)).collect(),
    })
}

fn next_change_seq(tx: &Transaction<'_>) -> rusqlite::Result<u64> {
    tx.prepare_cached(
        "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'change_seq' RETURNING CAST(value AS INTEGER)",
    )?
    .query_row([], |r| r.get(0))
}

struct Head {
    id: i64,
    status: AssessmentStatus,
}

fn head(conn: &Connection, key: &AssessmentKey) -> rusqlite::Result<Option<Head>> {
    conn.prepare_cached("SELECT id, status FROM assessments WHERE round = ?1 AND form = ?2 AND location = ?3")?
        .query_row(params![key.round, key.form, key.location.as_str()], |r| {
            let status: String = r.get(1)?;
            Ok(Head { id: r.get(0)?, status: sqlite::parse_enum(1, &status, AssessmentStatus::parse)? })
        })
        .optional()
}

/// Bumps the assessment's version and gives it a fresh change sequence, so the next
/// pull carries it; with `doc`, its fields are written too.
fn touch(
    tx: &Transaction<'_>,
    id: i64,
    status: AssessmentStatus,
    doc: Option<&Doc>,
    now: &str,
) -> rusqlite::Result<()> {
    let seq = next_change_seq(tx)?;
    match doc {
        Some(doc) => tx
            .prepare_cached(
                "UPDATE assessments SET status = ?2, version = version + 1, change_seq = ?3, updated_at = ?4, fields = ?5
                 WHERE id = ?1",
            )?
            .execute(params![id, status.as_str(), seq, now, serde_json::to_string(doc).expect("values serialise")])?,
        None => tx
            .prepare_cached(
                "UPDATE assessments SET status = ?2, version = version + 1, change_seq = ?3, updated_at = ?4 WHERE id = ?1",
            )?
            .execute(params![id, status.as_str(), seq, now])?,
    };
    Ok(())
}

fn field_values(conn: &Connection, id: i64) -> rusqlite::Result<BTreeMap<String, serde_json::Value>> {
    Ok(load_doc(conn, id)?.into_iter().map(|(f, d)| (f, d.0)).collect())
}

fn snapshot(conn: &Connection, id: i64) -> rusqlite::Result<AssessmentSnapshot> {
    #[allow(clippy::type_complexity)] // one row, column by column
    let (round, form, location, status, form_version, version, doc, open_conflicts): (
        String,
        String,
        String,
        String,
        u32,
        u64,
        String,
        u32,
    ) = conn
        .prepare_cached(
            "SELECT round, form, location, status, form_version, version, fields,
                (SELECT count(*) FROM conflicts c WHERE c.assessment_id = a.id AND c.status = 'open')
         FROM assessments a WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })?;
    let fields = parse_doc(&doc)?
        .into_iter()
        .map(|(f, DocField(value, version, _))| (f, WireField { value, version }))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT id, author, role, decision, text, at FROM comments WHERE assessment_id = ?1 ORDER BY id",
    )?;
    let comments = stmt
        .query_map([id], |r| {
            let role: String = r.get(2)?;
            let decision: Option<String> = r.get(3)?;
            Ok(WireComment {
                id: r.get(0)?,
                author: r.get(1)?,
                role: sqlite::parse_enum(2, &role, Role::parse)?,
                decision: match decision.as_deref() {
                    Some("approve") => Some(ReviewDecision::Approve),
                    Some("return") => Some(ReviewDecision::Return),
                    _ => None,
                },
                text: r.get(4)?,
                at: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let location = Pcode::parse(&location)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(AssessmentSnapshot {
        key: AssessmentKey { round, form, location },
        status: sqlite::parse_enum(3, &status, AssessmentStatus::parse)?,
        form_version,
        version,
        open_conflicts,
        fields,
        comments,
    })
}

/// Creates a round inside a transaction; refuses a code or number already used.
fn create_round(tx: &Transaction<'_>, round: &Round) -> Result<()> {
    let taken: bool = tx.query_row(
        "SELECT count(*) > 0 FROM rounds WHERE code = ?1 OR number = ?2",
        params![round.code, round.number],
        |r| r.get(0),
    )?;
    if taken {
        return Err(StorageError::Conflict {
            code: "round_exists",
            message: format!("a round with code {} or number {} already exists", round.code, round.number),
        });
    }
    write_round(tx, round)?;
    Ok(())
}

/// Creates or updates a round's row.
fn write_round(conn: &Connection, round: &Round) -> rusqlite::Result<()> {
    let forms = dtm_sync::wire::RoundInfo::from(round).forms;
    conn.execute(
        "INSERT INTO rounds (code, number, title, status, window_start, window_end, forms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (code) DO UPDATE SET title = excluded.title, status = excluded.status,
           window_start = excluded.window_start, window_end = excluded.window_end, forms = excluded.forms",
        params![
            round.code,
            round.number,
            round.title,
            round.status.as_str(),
            round.window_start,
            round.window_end,
            serde_json::to_string(&forms).expect("forms serialise")
        ],
    )?;
    Ok(())
}

fn json_value(s: Option<String>) -> serde_json::Value {
    s.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or(serde_json::Value::Null)
}

fn conflict_row(conn: &Connection, id: i64) -> rusqlite::Result<Conflict> {
    conn.query_row(
        "SELECT c.id, a.round, a.form, a.location, c.field, c.base_value, c.current_value, c.current_author,
                c.current_device, c.current_hlc, c.incoming_value, c.incoming_author, c.incoming_device, c.incoming_hlc,
                c.created_at, c.status, c.resolution_value, c.resolved_by, c.resolution_reason, c.resolved_at, c.kind
         FROM conflicts c JOIN assessments a ON a.id = c.assessment_id WHERE c.id = ?1",
        [id],
        |r| {
            let location: String = r.get(3)?;
            let location = Pcode::parse(&location)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)))?;
            let status: String = r.get(15)?;
            let resolved_by: Option<String> = r.get(17)?;
            Ok(Conflict {
                id: r.get(0)?,
                key: AssessmentKey { round: r.get(1)?, form: r.get(2)?, location },
                field: r.get(4)?,
                base_value: json_value(r.get(5)?),
                current: ConflictSide {
                    value: json_value(r.get(6)?),
                    author: r.get(7)?,
                    device: r.get(8)?,
                    hlc: r.get(9)?,
                },
                incoming: ConflictSide {
                    value: json_value(r.get(10)?),
                    author: r.get(11)?,
                    device: r.get(12)?,
                    hlc: r.get(13)?,
                },
                created_at: r.get(14)?,
                kind: if r.get::<_, String>(20)? == "void" { ConflictKind::Void } else { ConflictKind::Value },
                status: if status == "resolved" { ConflictStatus::Resolved } else { ConflictStatus::Open },
                resolution: match resolved_by {
                    Some(by) => Some(ConflictResolution {
                        value: json_value(r.get(16)?),
                        by,
                        reason: r.get::<_, Option<String>>(18)?.unwrap_or_default(),
                        at: r.get::<_, Option<String>>(19)?.unwrap_or_default(),
                    }),
                    None => None,
                },
            })
        },
    )
}

/// What an assessment's cross-round and cross-level checks compare against: the same
/// location and form in the latest earlier round, and the child form's assessments
/// inside this location in the same round.
pub(crate) fn context_of(conn: &Connection, key: &AssessmentKey, form: &FormDef) -> rusqlite::Result<CheckContext> {
    let previous = conn
        .query_row(
            "SELECT a.id, a.round FROM rounds r JOIN assessments a ON a.round = r.code AND a.form = ?1 AND a.location = ?2
             WHERE r.number < (SELECT number FROM rounds WHERE code = ?3)
             ORDER BY r.number DESC LIMIT 1",
            params![key.form, key.location.as_str(), key.round],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    let previous = match previous {
        Some((id, round)) => Some((round, field_values(conn, id)?)),
        None => None,
    };
    let mut children = Vec::new();
    if let Some(agg) = &form.aggregates {
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM assessments WHERE round = ?1 AND form = ?2 AND location LIKE ?3 || '%' AND location != ?3",
        )?;
        let ids = stmt
            .query_map(params![key.round, agg.form, key.location.as_str()], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for id in ids {
            children.push(field_values(conn, id)?);
        }
    }
    Ok((previous, children))
}

fn scope_clause(scope: &Scope) -> (String, Vec<String>) {
    if scope.prefixes().is_empty() {
        return ("0".into(), vec![]);
    }
    let clause = scope.prefixes().iter().map(|_| "location LIKE ? || '%'").collect::<Vec<_>>().join(" OR ");
    (format!("({clause})"), scope.prefixes().to_vec())
}

fn rejected(op: &Operation, code: &str, reason: impl Into<String>) -> OpResult {
    OpResult {
        op_id: op.op_id.clone(),
        outcome: Outcome::Rejected,
        original: None,
        code: Some(code.into()),
        reason: Some(reason.into()),
    }
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Applied => "applied",
        Outcome::Duplicate => "duplicate",
        Outcome::Conflict => "conflict",
        Outcome::Rejected => "rejected",
        Outcome::Superseded => "superseded",
    }
}

/// An outcome as stored; anything else is a corrupt row, never a silent `rejected`.
fn outcome_parse(s: &str) -> rusqlite::Result<Outcome> {
    match s {
        "applied" => Ok(Outcome::Applied),
        "conflict" => Ok(Outcome::Conflict),
        "duplicate" => Ok(Outcome::Duplicate),
        "rejected" => Ok(Outcome::Rejected),
        "superseded" => Ok(Outcome::Superseded),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("`{other}` is not an operation outcome").into(),
        )),
    }
}

/// What identifies an operation's content: SHA-256 of the operation as HQ read it.
/// Serialising the same operation twice gives the same bytes (fields and values are
/// kept in sorted maps), so an honest retry always matches.
fn payload_hash(op: &Operation) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(serde_json::to_vec(op).expect("an operation serialises")))
}

/// A field's current version at HQ, if it was ever written. `authors` remembers the
/// changes already looked up: one operation's fields mostly share one.
fn field_version(
    conn: &Connection,
    doc: &Doc,
    field: &str,
    authors: &mut BTreeMap<i64, (String, String, Hlc)>,
) -> rusqlite::Result<Option<FieldVersion>> {
    let Some(DocField(value, version, change)) = doc.get(field) else {
        return Ok(None);
    };
    if !authors.contains_key(change) {
        authors.insert(*change, change_author(conn, *change)?);
    }
    let (author, device, hlc) = authors[change].clone();
    Ok(Some(FieldVersion { value: value.clone(), version: *version, author, device, hlc }))
}

/// Keeps both sides of a conflict: the base value (from the field's history), the
/// current version and the incoming write, with both authors, devices and stamps.
fn record_conflict(
    tx: &Transaction<'_>,
    assessment_id: i64,
    conflict: &PlannedConflict,
    caller: &Caller,
    op: &Operation,
    now: &str,
) -> rusqlite::Result<()> {
    let (field, base_version) = (conflict.field.as_str(), conflict.base_version);
    // The base value is the one the change that wrote `base_version` of the field left.
    let mut base_value: Option<String> = None;
    if base_version > 0 {
        let mut stmt = tx.prepare_cached("SELECT fields FROM changes WHERE assessment_id = ?1 ORDER BY id")?;
        let mut rows = stmt.query([assessment_id])?;
        while let Some(row) = rows.next()? {
            let fields: BTreeMap<String, (FieldValue, u64)> = sqlite::parse_json(0, &row.get::<_, String>(0)?)?;
            if let Some((value, _)) = fields.get(field).filter(|(_, v)| *v == base_version) {
                base_value = Some(value.to_string());
                break;
            }
        }
    }
    let (value, version, author, device, hlc) = match &conflict.current {
        Some(c) => (c.value.to_string(), c.version, c.author.as_str(), c.device.as_str(), c.hlc),
        None => ("null".to_owned(), 0, "", "", Hlc::default()),
    };
    tx.execute(
        "INSERT INTO conflicts (assessment_id, field, base_version, base_value, current_value, current_version,
           current_author, current_device, current_hlc, incoming_value, incoming_author, incoming_device,
           incoming_hlc, op_id, created_at, kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            assessment_id,
            field,
            base_version,
            base_value,
            value,
            version,
            author,
            device,
            hlc.encode(),
            conflict.incoming.to_string(),
            caller.username,
            caller.device_id,
            op.hlc.encode(),
            op.op_id,
            now,
            conflict.kind.as_str()
        ],
    )?;
    Ok(())
}

/// Who wrote a new assessment's first values: an operation from a device, or an import.
struct Author<'a> {
    op_id: Option<&'a str>,
    name: &'a str,
    device: &'a str,
    hlc: Hlc,
}

/// Writes an assessment HQ does not have yet, its fields at the versions given (1 for a
/// first edit or an import), in one row together with the change that wrote them, and
/// returns its id.
#[allow(clippy::too_many_arguments)] // one new row, column by column
fn insert_assessment(
    tx: &Transaction<'_>,
    key: &AssessmentKey,
    status: AssessmentStatus,
    form_version: u32,
    writes: &BTreeMap<&str, (&FieldValue, u64)>,
    author: &Author<'_>,
    now: &str,
) -> rusqlite::Result<i64> {
    // One writer at a time (the transaction is IMMEDIATE), so the next id is ours.
    let change: i64 = tx.prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM changes")?.query_row([], |r| r.get(0))?;
    let doc: Doc =
        writes.iter().map(|(f, (v, version))| ((*f).to_owned(), DocField((*v).clone(), *version, change))).collect();
    let seq = next_change_seq(tx)?;
    tx.prepare_cached(
        "INSERT INTO assessments (round, form, location, status, form_version, version, change_seq, created_at, updated_at,
           fields)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?7, ?8)",
    )?
    .execute(params![
        key.round,
        key.form,
        key.location.as_str(),
        status.as_str(),
        form_version,
        seq,
        now,
        serde_json::to_string(&doc).expect("values serialise")
    ])?;
    let id = tx.last_insert_rowid();
    insert_change(tx, Some(change), id, author.op_id, author.name, author.device, author.hlc, now, writes)?;
    Ok(id)
}

/// Applies one operation inside the batch's transaction and says what happened: it
/// loads what [`plan_op`] needs, lets it decide, and writes the plan.
/// `rounds` remembers the rounds already read in this batch.
fn apply_op(
    tx: &Transaction<'_>,
    caller: &Caller,
    op: &Operation,
    rounds: &mut BTreeMap<String, Option<Round>>,
    now: &str,
) -> rusqlite::Result<OpResult> {
    if !rounds.contains_key(&op.key.round) {
        let round = tx
            .prepare_cached(
                "SELECT code, number, title, status, window_start, window_end, forms FROM rounds WHERE code = ?1",
            )?
            .query_row([&op.key.round], round_from_row)
            .optional()?;
        rounds.insert(op.key.round.clone(), round);
    }
    let Some(round) = &rounds[&op.key.round] else {
        return Ok(rejected(op, "unknown_round", format!("round {} does not exist at HQ", op.key.round)));
    };
    let key = &op.key;
    let head = head(tx, key)?;
    let change = match &op.body {
        OpBody::Edit { values, bases } => Change::Edit { values, bases },
        OpBody::Submit => Change::Submit,
        OpBody::Void { reason } => Change::Void { reason },
    };
    // An edit's document is read once: the held versions of the fields it names for
    // the plan, then the new document to write.
    let mut doc = Doc::new();
    let mut held = None;
    if let Some(h) = &head {
        let mut fields = BTreeMap::new();
        if let OpBody::Edit { values, .. } = &op.body {
            doc = load_doc(tx, h.id)?;
            let mut authors = BTreeMap::new();
            for field in values.keys() {
                if let Some(current) = field_version(tx, &doc, field, &mut authors)? {
                    fields.insert(field.clone(), current);
                }
            }
        }
        held = Some(Held { status: h.status, fields });
    }
    let blockers = match (&head, &op.body) {
        (Some(h), OpBody::Submit) => submission_blockers(tx, h.id, key)?,
        _ => vec![],
    };
    let incoming = Incoming { author: &caller.username, device: &caller.device_id, hlc: op.hlc, change };
    let plan = plan_op(round, key, held.as_ref(), &incoming, &blockers);
    write_plan(tx, head.as_ref(), &mut doc, &plan, caller, op, now)?;
    let outcome = match plan.outcome {
        PlanOutcome::Applied => Outcome::Applied,
        PlanOutcome::Conflict => Outcome::Conflict,
        PlanOutcome::Superseded => Outcome::Superseded,
        PlanOutcome::Rejected => Outcome::Rejected,
    };
    Ok(OpResult { op_id: op.op_id.clone(), outcome, original: None, code: plan.code, reason: plan.reason })
}

/// What blocks submitting the assessment as HQ holds it, against its previous round
/// and its child assessments.
fn submission_blockers(tx: &Transaction<'_>, id: i64, key: &AssessmentKey) -> rusqlite::Result<Vec<dtm_core::Issue>> {
    let values = field_values(tx, id)?;
    let form_version: u32 = tx.query_row("SELECT form_version FROM assessments WHERE id = ?1", [id], |r| r.get(0))?;
    let Some(form) = FormDef::builtin(&key.form, form_version) else { return Ok(vec![]) };
    let (previous, children) = context_of(tx, key, form)?;
    let ctx = Context { previous: previous.as_ref().map(|(r, v)| (r.as_str(), v)), children: Some(&children) };
    Ok(form.submission_blockers(&values, ctx))
}

/// Writes what [`plan_op`] decided: a new assessment, or the values at their new
/// versions as one change, the conflicts with both sides, a comment, the new status.
fn write_plan(
    tx: &Transaction<'_>,
    head: Option<&Head>,
    doc: &mut Doc,
    plan: &OpPlan,
    caller: &Caller,
    op: &Operation,
    now: &str,
) -> rusqlite::Result<()> {
    if plan.outcome == PlanOutcome::Rejected {
        return Ok(());
    }
    if let Some(form_version) = plan.create {
        let author = Author { op_id: Some(&op.op_id), name: &caller.username, device: &caller.device_id, hlc: op.hlc };
        insert_assessment(tx, &op.key, plan.status, form_version, &plan.writes, &author, now)?;
        return Ok(());
    }
    let Some(head) = head else { return Ok(()) };
    for c in &plan.conflicts {
        record_conflict(tx, head.id, c, caller, op, now)?;
    }
    if let Some(text) = &plan.comment {
        tx.execute(
            "INSERT INTO comments (assessment_id, author, role, decision, text, at) VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
            params![head.id, caller.username, caller.role.as_str(), text, now],
        )?;
    }
    let written = !plan.writes.is_empty();
    if written {
        let change = insert_change(
            tx,
            None,
            head.id,
            Some(&op.op_id),
            &caller.username,
            &caller.device_id,
            op.hlc,
            now,
            &plan.writes,
        )?;
        for (field, (value, version)) in &plan.writes {
            doc.insert((*field).to_owned(), DocField((*value).clone(), *version, change));
        }
    }
    if plan.touch {
        touch(tx, head.id, plan.status, written.then_some(&*doc), now)?;
    }
    Ok(())
}

#[async_trait]
impl HqStorage for SqliteHq {
    async fn epoch(&self) -> Result<String> {
        self.read(|c| Ok(c.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0))?)).await
    }

    async fn put_user(&self, user: NewUser) -> Result<()> {
        self.with(move |c| {
            c.execute(
                "INSERT INTO users (username, display_name, role, scope, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, datetime('now'))
                 ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
                   scope = excluded.scope, password_hash = excluded.password_hash",
                params![
                    user.username,
                    user.display_name,
                    user.role.as_str(),
                    serde_json::to_string(&user.scope).expect("strings serialise"),
                    user.password_hash
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn user_for_login(&self, username: &str) -> Result<Option<(User, String)>> {
        let username = username.to_owned();
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT username, display_name, role, scope, password_hash FROM users WHERE username = ?1",
                [username],
                |r| {
                    let role: String = r.get(2)?;
                    let scope: String = r.get(3)?;
                    Ok((
                        User {
                            username: r.get(0)?,
                            display_name: r.get(1)?,
                            role: sqlite::parse_enum(2, &role, Role::parse)?,
                            scope: sqlite::parse_json(3, &scope)?,
                        },
                        r.get(4)?,
                    ))
                },
            )
            .optional()?)
        })
        .await
    }

    async fn register_device(&self, d: NewDevice) -> Result<String> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let holder: Option<(String, Option<String>)> = tx
                .query_row("SELECT username, revoked_at FROM devices WHERE device_id = ?1", [&d.device_id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let device_id = match holder {
                Some((user, Some(_))) if user == d.username => {
                    return Err(StorageError::Conflict {
                        code: "device_revoked",
                        message: "this device has been revoked at HQ; ask an admin".into(),
                    })
                }
                Some((user, None)) if user == d.username => {
                    tx.execute(
                        "UPDATE devices SET token_hash = ?2, name = ?3, expires_at = ?4 WHERE device_id = ?1",
                        params![d.device_id, d.token_hash, d.name, d.expires_at],
                    )?;
                    d.device_id.clone()
                }
                holder => {
                    // A new device, or one another user holds: never share an identity.
                    let id = if holder.is_none() { d.device_id.clone() } else { uuid::Uuid::now_v7().to_string() };
                    tx.execute(
                        "INSERT INTO devices (device_id, username, name, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![id, d.username, d.name, d.token_hash, d.created_at, d.expires_at],
                    )?;
                    id
                }
            };
            tx.commit()?;
            Ok(device_id)
        })
        .await
    }

    async fn caller(&self, token_hash: &str, now: &str) -> Result<Option<Caller>> {
        let (token_hash, now) = (token_hash.to_owned(), now.to_owned());
        self.read(move |c| {
            Ok(c.query_row(
                "SELECT u.username, u.display_name, u.role, u.scope, d.device_id FROM devices d
                 JOIN users u ON u.username = d.username
                 WHERE d.token_hash = ?1 AND d.revoked_at IS NULL AND d.expires_at > ?2",
                params![token_hash, now],
                |r| {
                    let role: String = r.get(2)?;
                    let scope: String = r.get(3)?;
                    Ok(Caller {
                        username: r.get(0)?,
                        display_name: r.get(1)?,
                        role: sqlite::parse_enum(2, &role, Role::parse)?,
                        scope: Scope::new(sqlite::parse_json::<Vec<String>>(3, &scope)?),
                        device_id: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn revoke_device(&self, device_id: &str, now: &str) -> Result<()> {
        let (device_id, now) = (device_id.to_owned(), now.to_owned());
        self.with(move |c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE device_id = ?1",
                params![device_id, now],
            )?;
            if n == 0 {
                return Err(StorageError::NotFound(format!("there is no device {device_id}")));
            }
            Ok(())
        })
        .await
    }

    async fn end_session(&self, token_hash: &str, now: &str) -> Result<bool> {
        let (token_hash, now) = (token_hash.to_owned(), now.to_owned());
        self.with(move |c| {
            // An expiry of now ends the token; a later login of the device sets a new one.
            let n = c.execute(
                "UPDATE devices SET expires_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
                params![token_hash, now],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn login_failures(&self, username: &str) -> Result<LoginFailures> {
        let username = username.to_owned();
        self.read(move |c| Ok(read_login_failures(c, &username)?)).await
    }

    async fn update_login_failures(
        &self,
        username: &str,
        update: Box<dyn FnOnce(LoginFailures) -> LoginFailures + Send>,
    ) -> Result<()> {
        let username = username.to_owned();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let known: bool = tx.query_row("SELECT count(*) FROM users WHERE username = ?1", [&username], |r| r.get(0))?;
            if known {
                let next = update(read_login_failures(&tx, &username)?);
                tx.execute(
                    "INSERT INTO login_failures (username, failures, locked_until) VALUES (?1, ?2, ?3)
                     ON CONFLICT (username) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                    params![username, next.count, next.locked_until],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn unlock_user(&self, username: &str) -> Result<()> {
        let username = username.to_owned();
        self.with(move |c| {
            let known: bool =
                c.query_row("SELECT count(*) FROM users WHERE username = ?1", [&username], |r| r.get(0))?;
            if !known {
                return Err(StorageError::NotFound(format!("there is no user {username}")));
            }
            c.execute("DELETE FROM login_failures WHERE username = ?1", [&username])?;
            Ok(())
        })
        .await
    }

    async fn put_round(&self, round: &Round) -> Result<()> {
        let round = round.clone();
        self.with(move |c| Ok(write_round(c, &round)?)).await
    }

    async fn create_round(&self, round: &Round) -> Result<()> {
        let round = round.clone();
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            create_round(&tx, &round)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn set_round_status(&self, code: &str, status: RoundStatus) -> Result<()> {
        let code = code.to_owned();
        self.with(move |c| {
            let n = c.execute("UPDATE rounds SET status = ?2 WHERE code = ?1", params![code, status.as_str()])?;
            if n == 0 {
                return Err(StorageError::NotFound(format!("there is no round `{code}`")));
            }
            Ok(())
        })
        .await
    }

    async fn import_round(
        &self,
        round: &Round,
        create: bool,
        records: Vec<ImportRecord>,
        actor: &str,
        now: &str,
    ) -> Result<usize> {
        let (new_round, actor, now) = (round.clone(), actor.to_owned(), now.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if create {
                create_round(&tx, &new_round)?;
            }
            let round = new_round.code;
            let author = format!("import:{actor}");
            for r in &records {
                let key = AssessmentKey::new(&round, &r.form, r.location.clone());
                if head(&tx, &key)?.is_some() {
                    return Err(StorageError::Conflict {
                        code: "already_exists",
                        message: format!("row {}: {key} already exists at HQ; nothing was imported", r.row),
                    });
                }
                let by = Author { op_id: None, name: &author, device: "import", hlc: Hlc::default() };
                // An imported assessment is new: every figure at version 1.
                let writes = r.values.iter().map(|(f, v)| (f.as_str(), (v, 1))).collect();
                insert_assessment(&tx, &key, AssessmentStatus::Approved, r.form_version, &writes, &by, &now)?;
            }
            tx.execute(
                "INSERT INTO access_log (at, actor, action, target) VALUES (?1, ?2, 'import_round', ?3)",
                params![now, actor, round],
            )?;
            tx.commit()?;
            Ok(records.len())
        })
        .await
    }

    async fn rounds(&self) -> Result<Vec<Round>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT code, number, title, status, window_start, window_end, forms FROM rounds ORDER BY number DESC",
            )?;
            let rows = stmt.query_map([], round_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn push(&self, caller: &Caller, ops: Vec<Operation>, now: &str) -> Result<Vec<OpResult>> {
        let (caller, now) = (caller.clone(), now.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut results = Vec::with_capacity(ops.len());
            let mut rounds = BTreeMap::new();
            for op in &ops {
                let payload = payload_hash(op);
                let seen = tx
                    .prepare_cached(
                        "SELECT outcome, code, reason, payload_hash FROM ops WHERE device_id = ?1 AND op_id = ?2",
                    )?
                    .query_row(params![caller.device_id, op.op_id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    })
                    .optional()?;
                if let Some((outcome, code, reason, hash)) = seen {
                    // A retry carries the same payload; an op_id sent again with other
                    // values is refused, so they are never dropped as a "duplicate".
                    if hash.is_some_and(|h| h != payload) {
                        results.push(rejected(
                            op,
                            "op_id_reused",
                            format!(
                                "operation {} was already received with other values; these were not applied",
                                op.op_id
                            ),
                        ));
                        continue;
                    }
                    results.push(OpResult {
                        op_id: op.op_id.clone(),
                        outcome: Outcome::Duplicate,
                        original: Some(outcome_parse(&outcome)?),
                        code,
                        reason,
                    });
                    continue;
                }
                let result = apply_op(&tx, &caller, op, &mut rounds, &now)?;
                tx.prepare_cached(
                    "INSERT INTO ops (device_id, op_id, seq, outcome, code, reason, received_at, payload_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    caller.device_id,
                    op.op_id,
                    op.seq,
                    outcome_str(result.outcome),
                    result.code,
                    result.reason,
                    now,
                    payload
                ])?;
                results.push(result);
            }
            // Durable (synchronous=FULL) before the acknowledgement leaves HQ.
            tx.commit()?;
            Ok(results)
        })
        .await
    }

    async fn pull(&self, scope: &Scope, after: u64, limit: u32) -> Result<PullPage> {
        let scope = scope.clone();
        self.read(move |c| {
            let (clause, args) = scope_clause(&scope);
            let sql = format!(
                "SELECT id, change_seq FROM assessments WHERE change_seq > ? AND {clause} ORDER BY change_seq LIMIT ?"
            );
            let mut stmt = c.prepare(&sql)?;
            let mut bind: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(after as i64)];
            bind.extend(args.into_iter().map(|a| Box::new(a) as Box<dyn rusqlite::ToSql>));
            bind.push(Box::new(i64::from(limit) + 1));
            let rows = stmt
                .query_map(rusqlite::params_from_iter(bind.iter()), |r| Ok((r.get::<_, i64>(0)?, r.get::<_, u64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let has_more = rows.len() > limit as usize;
            let rows = &rows[..rows.len().min(limit as usize)];
            let assessments = rows.iter().map(|(id, _)| snapshot(c, *id)).collect::<rusqlite::Result<Vec<_>>>()?;
            let last_seq = rows.last().map_or(after, |(_, seq)| *seq);
            Ok(PullPage { assessments, last_seq, has_more })
        })
        .await
    }

    async fn context(
        &self,
        key: &AssessmentKey,
        form: &'static FormDef,
    ) -> Result<(Option<(String, Values)>, Vec<Values>)> {
        let key = key.clone();
        self.read(move |c| Ok(context_of(c, &key, form)?)).await
    }

    async fn assessment(&self, key: &AssessmentKey) -> Result<Option<AssessmentSnapshot>> {
        let key = key.clone();
        self.read(move |c| match head(c, &key)? {
            Some(h) => Ok(Some(snapshot(c, h.id)?)),
            None => Ok(None),
        })
        .await
    }

    async fn round_assessments(&self, round: &str, scope: &Scope) -> Result<Vec<AssessmentSnapshot>> {
        let (round, scope) = (round.to_owned(), scope.clone());
        self.read(move |c| {
            let (clause, args) = scope_clause(&scope);
            let sql = format!("SELECT id FROM assessments WHERE round = ? AND {clause} ORDER BY location, form");
            let mut stmt = c.prepare(&sql)?;
            let mut bind: Vec<String> = vec![round];
            bind.extend(args);
            let ids = stmt
                .query_map(rusqlite::params_from_iter(bind.iter()), |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids.into_iter().map(|id| snapshot(c, id)).collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn review(
        &self,
        caller: &Caller,
        key: &AssessmentKey,
        decision: ReviewDecision,
        comment: &str,
        now: &str,
    ) -> Result<AssessmentSnapshot> {
        let (caller, key, comment, now) = (caller.clone(), key.clone(), comment.to_owned(), now.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let h = head(&tx, &key)?.ok_or_else(|| StorageError::NotFound(format!("nothing has been submitted for {key}")))?;
            let round_status: Option<String> =
                tx.query_row("SELECT status FROM rounds WHERE code = ?1", [&key.round], |r| r.get(0)).optional()?;
            if round_status.as_deref() == Some("published") {
                return Err(StorageError::Conflict {
                    code: "round_published",
                    message: format!("round {} is published and frozen", key.round),
                });
            }
            let open: usize = tx.query_row(
                "SELECT count(*) FROM conflicts WHERE assessment_id = ?1 AND status = 'open'",
                [h.id],
                |r| r.get(0),
            )?;
            // Four eyes: figures a reviewer entered from a device of theirs (an operation,
            // not a settlement or an import) are approved by someone else.
            let entered_figures: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM changes WHERE assessment_id = ?1 AND author = ?2 AND op_id IS NOT NULL)",
                )?
                .query_row(params![h.id, caller.username], |r| r.get(0))?;
            let reviewer = workflow::Reviewer { role: caller.role, entered_figures };
            let status = workflow::review(h.status, decision, reviewer, open, &comment)?;
            let decision = match decision {
                ReviewDecision::Approve => "approve",
                ReviewDecision::Return => "return",
            };
            tx.execute(
                "INSERT INTO comments (assessment_id, author, role, decision, text, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![h.id, caller.username, caller.role.as_str(), decision, comment.trim(), now],
            )?;
            touch(&tx, h.id, status, None, &now)?;
            let snap = snapshot(&tx, h.id)?;
            tx.commit()?;
            Ok(snap)
        })
        .await
    }

    async fn conflicts(&self, round: &str, scope: &Scope) -> Result<Vec<Conflict>> {
        let (round, scope) = (round.to_owned(), scope.clone());
        self.read(move |c| {
            let (clause, args) = scope_clause(&scope);
            let sql = format!(
                "SELECT c.id FROM conflicts c JOIN assessments a ON a.id = c.assessment_id
                 WHERE a.round = ? AND {clause} ORDER BY c.status = 'resolved', c.id"
            );
            let mut stmt = c.prepare(&sql)?;
            let mut bind = vec![round];
            bind.extend(args);
            let ids = stmt
                .query_map(rusqlite::params_from_iter(bind.iter()), |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids.into_iter().map(|id| conflict_row(c, id)).collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn conflict(&self, id: i64) -> Result<Option<Conflict>> {
        self.read(move |c| match conflict_row(c, id) {
            Ok(conflict) => Ok(Some(conflict)),
            Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            Err(e) => Err(e.into()),
        })
        .await
    }

    async fn resolve_conflict(
        &self,
        caller: &Caller,
        id: i64,
        settlement: Settlement,
        reason: &str,
        now: &str,
    ) -> Result<AssessmentSnapshot> {
        let (caller, reason, now) = (caller.clone(), reason.to_owned(), now.to_owned());
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let conflict = match conflict_row(&tx, id) {
                Ok(conflict) => conflict,
                Err(rusqlite::Error::QueryReturnedNoRows) => {
                    return Err(StorageError::NotFound(format!("there is no conflict {id}")))
                }
                Err(e) => return Err(e.into()),
            };
            if conflict.status == ConflictStatus::Resolved {
                return Err(StorageError::Conflict { code: "already_resolved", message: format!("conflict {id} is already settled") });
            }
            let assessment_id: i64 = tx.query_row("SELECT assessment_id FROM conflicts WHERE id = ?1", [id], |r| r.get(0))?;
            let mut doc = load_doc(&tx, assessment_id)?;
            let status: String = tx.query_row("SELECT status FROM assessments WHERE id = ?1", [assessment_id], |r| r.get(0))?;
            let status = sqlite::parse_enum(0, &status, AssessmentStatus::parse)?;
            let kind = match conflict.kind {
                ConflictKind::Value => dtm_core::plan::ConflictKind::Value,
                ConflictKind::Void => dtm_core::plan::ConflictKind::Void,
            };
            let field_version = doc.get(&conflict.field).map_or(0, |d| d.1);
            let SettlementPlan { value, version, status } = plan_settlement(
                kind,
                &conflict.current.value,
                &conflict.incoming.value,
                settlement,
                field_version,
                status,
            );
            let device = format!("hq:{}", caller.device_id);
            let writes = BTreeMap::from([(conflict.field.as_str(), (&value, version))]);
            let change =
                insert_change(&tx, None, assessment_id, None, &caller.username, &device, Hlc::default(), &now, &writes)?;
            doc.insert(conflict.field.clone(), DocField(value.clone(), version, change));
            tx.execute(
                "UPDATE conflicts SET status = 'resolved', resolved_by = ?2, resolution_value = ?3, resolution_reason = ?4,
                   resolved_at = ?5 WHERE id = ?1",
                params![id, caller.username, value.to_string(), reason, now],
            )?;
            touch(&tx, assessment_id, status, Some(&doc), &now)?;
            let snap = snapshot(&tx, assessment_id)?;
            tx.commit()?;
            Ok(snap)
        })
        .await
    }

    async fn log_access(&self, actor: &str, action: &str, target: &str, now: &str) -> Result<()> {
        let (actor, action, target, now) = (actor.to_owned(), action.to_owned(), target.to_owned(), now.to_owned());
        self.with(move |c| {
            c.execute(
                "INSERT INTO access_log (at, actor, action, target) VALUES (?1, ?2, ?3, ?4)",
                params![now, actor, action, target],
            )?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[allow(clippy::await_holding_lock)] // the point: the writer stays busy while the reads run
    async fn reads_do_not_wait_for_a_write_in_progress() {
        // Regression: one 7 MB push held the only connection for 2.5 s and every list,
        // detail, pull and sign-in waited behind it.
        let dir = tempfile::tempdir().unwrap();
        let hq = SqliteHq::open(&dir.path().join("hq.sqlite3")).unwrap();
        crate::demo::seed(&hq).await.unwrap();
        let writer = hq.hold_writer();
        let reads = async {
            let rounds = hq.rounds().await.unwrap();
            let page = hq.pull(&Scope::new(["LY"]), 0, 10).await.unwrap();
            (rounds.len(), page.assessments.len())
        };
        let answered = tokio::time::timeout(std::time::Duration::from_secs(20), reads).await;
        drop(writer);
        assert_eq!(answered.ok(), Some((1, 0)), "reads must be answered while the writer is busy");
    }

    fn caller(device: &str) -> Caller {
        Caller {
            username: format!("user-{device}"),
            display_name: device.into(),
            role: Role::Enumerator,
            scope: Scope::new(["LY02"]),
            device_id: device.into(),
        }
    }

    fn edit(device_seq: u64, hlc_ms: u64, field: &str, value: serde_json::Value, base: u64) -> Operation {
        Operation {
            op_id: uuid::Uuid::now_v7().to_string(),
            seq: device_seq,
            key: AssessmentKey::new("R1", "baladiya", Pcode::parse("LY021104").unwrap()),
            hlc: Hlc { millis: hlc_ms, counter: 0 },
            form_version: 2,
            body: OpBody::Edit {
                values: BTreeMap::from([(field.to_owned(), value)]),
                bases: BTreeMap::from([(field.to_owned(), base)]),
            },
        }
    }

    /// An HQ database written before assessments became documents (schema 2), with
    /// one field at version 2 whose history holds version 1.
    fn version_2_database(path: &Path) {
        let mut conn = Connection::open(path).unwrap();
        sqlite::migrate(&mut conn, &MIGRATIONS[..2]).unwrap();
        let h = |ms: u64| Hlc { millis: ms, counter: 0 }.encode();
        conn.execute_batch(&format!(
            "INSERT INTO meta (key, value) VALUES ('epoch', 'e1'), ('change_seq', '2');
             INSERT INTO rounds VALUES ('R1', 1, 'Round 1', 'open', '2026-01-01', '2026-12-31', '[{{\"form\":\"baladiya\",\"version\":2}}]');
             INSERT INTO assessments (id, round, form, location, status, form_version, version, change_seq, created_at, updated_at)
             VALUES (1, 'R1', 'baladiya', 'LY021104', 'draft', 2, 2, 2, 't', 't');
             INSERT INTO field_values VALUES (1, 'idp_hh', '5', 2, 'user-devA', 'devA', '{h2}', 't');
             INSERT INTO field_history (assessment_id, field, version, old_value, value, author, device_id, hlc, op_id, at)
             VALUES (1, 'idp_hh', 1, NULL, '3', 'user-devA', 'devA', '{h1}', 'op-1', 't'),
                    (1, 'idp_hh', 2, '3', '5', 'user-devA', 'devA', '{h2}', 'op-2', 't');",
            h1 = h(1_000),
            h2 = h(2_000)
        ))
        .unwrap();
    }

    #[tokio::test]
    async fn a_version_2_hq_is_migrated_to_documents_keeping_values_versions_authors_and_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hq.sqlite3");
        version_2_database(&path);
        let hq = SqliteHq::open(&path).unwrap();
        let key = AssessmentKey::new("R1", "baladiya", Pcode::parse("LY021104").unwrap());
        let snap = hq.assessment(&key).await.unwrap().expect("the assessment survives the upgrade");
        assert_eq!(snap.fields["idp_hh"], WireField { value: json!(5), version: 2 }, "value and version are kept");

        // Another device edits from version 1: a conflict whose base value (3) comes from
        // the migrated history and whose current side names the migrated author.
        let results = hq.push(&caller("devB"), vec![edit(1, 3_000, "idp_hh", json!(9), 1)], "t2").await.unwrap();
        assert_eq!(results[0].outcome, Outcome::Conflict, "{results:?}");
        let conflict = hq.conflicts("R1", &Scope::new(["LY"])).await.unwrap().pop().unwrap();
        assert_eq!(conflict.base_value, json!(3), "the base value is found in the migrated history");
        assert_eq!((conflict.current.author.as_str(), conflict.current.device.as_str()), ("user-devA", "devA"));

        // The device that wrote version 2 goes on from its own chain: its later edit applies.
        let results = hq.push(&caller("devA"), vec![edit(3, 4_000, "idp_hh", json!(6), 1)], "t3").await.unwrap();
        assert_eq!(results[0].outcome, Outcome::Applied, "the migrated device id still marks its own chain");
        let snap = hq.assessment(&key).await.unwrap().unwrap();
        assert_eq!(snap.fields["idp_hh"], WireField { value: json!(6), version: 3 });
        let conn = hq.conn.lock().unwrap();
        let history: Vec<(i64, String)> = conn
            .prepare("SELECT version, value FROM field_history WHERE field = 'idp_hh' ORDER BY version")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            history,
            [(1, "3".into()), (2, "5".into()), (3, "6".into())],
            "every version is still in the history"
        );
    }
}
