//! HQ's storage primitives on PostgreSQL, for an operation that outgrows one SQLite
//! file or runs several HQ processes behind a load balancer.
//!
//! The driver is `postgres`, the synchronous face of tokio-postgres, used on blocking
//! threads exactly as rusqlite is: the service layer runs every read-plan-write in one
//! transaction through the same [`Tx`] primitives on both stores, with no `.await`
//! inside a transaction. The pool is a few lines here, so each connection keeps its
//! prepared statements (a statement is parsed once per connection, not per call).
//!
//! Writers go one at a time, across every HQ process on the database: a write
//! transaction starts by locking the `meta.change_seq` row. That keeps each
//! read-plan-write atomic without per-row locks, and makes the change sequence follow
//! commit order, so a pull cursor never skips a slower transaction. Reads run in
//! `REPEATABLE READ READ ONLY` transactions and never wait for a writer.

use crate::service::Hq;
use crate::storage::{
    AuditFilter, Caller, DeviceSeen, LoginFailures, NewDevice, NewEnrolment, NewUser, Result, StorageError,
    StoredEnrolment, StoredUser, TokenState,
};
use crate::store::{
    iso, outcome_parse, outcome_str, ChangeAuthor, ChangeFields, DeviceHolder, Doc, DocField, Head, NewAssessment,
    NewChange, NewConflict, OpRecord, SeenOp, Store, Tx,
};
use dtm_core::ErrorCode;
use dtm_core::{
    AssessmentKey, AssessmentStatus, FieldValue, Hlc, Pcode, ReviewDecision, Role, Round, RoundStatus, Scope,
};
use dtm_core::{Language, Location};
use dtm_sync::accounts::{AuditEntry, DeviceInfo};
use dtm_sync::wire::{
    AssessmentSnapshot, Conflict, ConflictKind, ConflictResolution, ConflictSide, ConflictStatus, RoundForm,
    SettledConflict, User, WireComment, WireField,
};
use postgres::types::{Json, ToSql};
use postgres::{Client, IsolationLevel, NoTls, Row, Statement};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use time::OffsetDateTime;

/// PostgreSQL's migrations, applied in order; each runs once, in its own transaction.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_hq.sql"),
    include_str!("../migrations/postgres/0002_accounts.sql"),
    include_str!("../migrations/postgres/0003_round_title_ar.sql"),
    include_str!("../migrations/postgres/0004_gazetteer.sql"),
    include_str!("../migrations/postgres/0005_device_wipe.sql"),
    include_str!("../migrations/postgres/0006_store_keys.sql"),
    include_str!("../migrations/postgres/0007_settled_seq.sql"),
    include_str!("../migrations/postgres/0008_documents_as_json.sql"),
];

/// The columns [`stored_user`] reads, in its order.
const USER_COLUMNS: &str = "u.username, u.display_name, u.role, u.scope, u.password_hash, u.language, u.disabled_at,
    u.must_change_password, u.created_at, u.created_by";

fn stored_user(r: &Row) -> Result<StoredUser> {
    let Json(scope): Json<Vec<String>> = r.get(3);
    Ok(StoredUser {
        user: User { username: r.get(0), display_name: r.get(1), role: parse("role", r.get(2), Role::parse)?, scope },
        password_hash: r.get(4),
        language: parse("language", r.get(5), Language::parse)?,
        disabled_at: r.get(6),
        must_change_password: r.get::<_, i32>(7) != 0,
        created_at: r.get(8),
        created_by: r.get(9),
    })
}

fn opt_iso(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(iso)
}

/// Any lock id will do as long as it is HQ's alone: it keeps two processes starting
/// at once from migrating side by side.
const MIGRATION_LOCK: i64 = 0x6474_6d2d_6871; // "dtm-hq"

impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        Self::Internal(e.into())
    }
}

fn corrupt(what: impl std::fmt::Display) -> StorageError {
    StorageError::Internal(anyhow::anyhow!("corrupt row: {what}"))
}

/// One connection and the statements prepared on it.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// The PostgreSQL backend.
pub struct Postgres {
    config: postgres::Config,
    idle: Mutex<Vec<Conn>>,
    /// Connections open (idle or in use), bounded by `max`.
    open: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// HQ on PostgreSQL.
pub type PostgresHq = Hq<Postgres>;

/// Whether a database setting names PostgreSQL rather than a SQLite file.
pub fn is_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

impl Postgres {
    /// Connects to `url`, applies pending migrations and makes the epoch.
    pub fn open(url: &str) -> anyhow::Result<Self> {
        let config: postgres::Config = url.parse()?;
        let pg = Self { config, idle: Mutex::new(Vec::new()), open: Mutex::new(0), freed: Condvar::new(), max: 16 };
        let mut conn = pg.connect()?;
        migrate(&mut conn.client)?;
        conn.client.execute(
            "INSERT INTO meta (key, value) VALUES ('epoch', $1), ('change_seq', '0') ON CONFLICT (key) DO NOTHING",
            &[&uuid::Uuid::now_v7().simple().to_string()],
        )?;
        *pg.open.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        pg.put_back(conn);
        Ok(pg)
    }

    fn connect(&self) -> anyhow::Result<Conn> {
        let mut client = self.config.connect(NoTls)?;
        // Plan every statement for the parameters and statistics of the moment. A
        // prepared statement otherwise settles on a generic plan made while its table
        // was small (a sequential scan), and keeps it as the table grows: a push batch's
        // lookup of its earlier answers went from milliseconds to 640 ms at 30,000 rows.
        client.batch_execute("SET plan_cache_mode = force_custom_plan")?;
        Ok(Conn { client, statements: HashMap::new() })
    }

    /// An idle connection, a new one while fewer than `max` are open, or the next freed.
    fn take(&self) -> Result<Conn> {
        loop {
            if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
                if !conn.client.is_closed() {
                    return Ok(conn);
                }
                *self.open.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
                continue;
            }
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            if *open < self.max {
                *open += 1;
                drop(open);
                return self.connect().map_err(|e| {
                    *self.open.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
                    self.freed.notify_one();
                    StorageError::Internal(e.context("connecting to PostgreSQL"))
                });
            }
            let _unused = self.freed.wait_timeout(open, std::time::Duration::from_millis(50));
        }
    }

    fn put_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            *self.open.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        } else {
            self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
        }
        self.freed.notify_one();
    }

    fn run<T>(&self, write: bool, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        let mut conn = self.take()?;
        let out = (|| {
            let Conn { client, statements } = &mut conn;
            let mut tx = if write {
                client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start()?
            } else {
                client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start()?
            };
            if write {
                // One writer at a time, on every HQ process sharing the database.
                tx.execute("SELECT 1 FROM meta WHERE key = 'change_seq' FOR UPDATE", &[])?;
            }
            let mut pg = PgTx { tx: &mut tx, statements, pending: Pending::default() };
            let out = f(&mut pg)?;
            // What the transaction left buffered is written before it commits.
            pg.flush()?;
            tx.commit()?;
            Ok(out)
        })();
        self.put_back(conn);
        out
    }
}

/// Applies PostgreSQL's pending migrations, one transaction each, under an advisory
/// lock so two HQ processes starting together do not both apply one.
pub fn migrate(client: &mut Client) -> anyhow::Result<usize> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let applied = (|| -> anyhow::Result<usize> {
        client.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)",
        )?;
        let done: i32 = client.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])?.get(0);
        let mut applied = 0;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            let mut tx = client.transaction()?;
            tx.batch_execute(sql)?;
            tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", &[&(i as i32 + 1)])?;
            tx.commit()?;
            applied += 1;
        }
        if done as usize > MIGRATIONS.len() {
            anyhow::bail!(
                "this database is at schema version {done}, newer than this dtm-hq knows ({}); run a newer dtm-hq",
                MIGRATIONS.len()
            );
        }
        Ok(applied)
    })();
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    applied
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A client closes its connection by blocking on its own runtime, which panics
        // on a thread that drives async tasks: close them on a thread of their own.
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|p| p.into_inner()));
        let _ = std::thread::spawn(move || drop(idle)).join();
    }
}

impl Hq<Postgres> {
    /// HQ on the PostgreSQL database at `url`.
    pub fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(Hq::new(Postgres::open(url)?))
    }
}

impl Store for Postgres {
    fn write<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.run(true, f)
    }

    fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        self.run(false, f)
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

/// The primitives on one open PostgreSQL transaction.
struct PgTx<'t, 'c> {
    tx: &'t mut postgres::Transaction<'c>,
    statements: &'t mut HashMap<String, Statement>,
    pending: Pending,
}

/// New assessments, changes and updates of assessments a write transaction has not
/// sent yet. A push batch would otherwise cost a round trip an operation (about 90 µs
/// on loopback, far more across a data centre); buffered, the whole batch is three
/// statements. Anything else the transaction asks of the database first sends what is
/// buffered, so every read sees every write before it, and the transaction sends the
/// rest before it commits.
#[derive(Default)]
struct Pending {
    /// Assessment ids allotted and not yet used.
    ids: std::ops::Range<i64>,
    assessments: Vec<PendingAssessment>,
    /// Where each buffered new assessment is in `assessments`, by id.
    new_at: HashMap<i64, usize>,
    /// Updates of assessments already in the database, by id: several updates of one
    /// assessment in a batch become one.
    updates: HashMap<i64, PendingUpdate>,
    changes: Vec<PendingChange>,
}

struct PendingUpdate {
    status: &'static str,
    /// How many versions the assessment moves on by.
    versions: i64,
    change_seq: i64,
    at: OffsetDateTime,
    /// The new document, when the fields changed.
    doc: Option<String>,
}

struct PendingAssessment {
    id: i64,
    round: String,
    form: String,
    location: String,
    status: &'static str,
    form_version: i32,
    version: i64,
    change_seq: i64,
    at: OffsetDateTime,
    updated_at: OffsetDateTime,
    doc: String,
}

struct PendingChange {
    id: i64,
    assessment_id: i64,
    op_id: Option<String>,
    author: String,
    device: String,
    hlc: String,
    at: OffsetDateTime,
    fields: String,
}

/// Assessment ids taken from the sequence at a time; ids a transaction leaves unused
/// are never used, and gaps are harmless.
const ASSESSMENT_ID_BLOCK: i64 = 256;

impl PgTx<'_, '_> {
    /// Sends the buffered new assessments, the updates, then the changes (which refer
    /// to the assessments), as one statement each.
    fn flush(&mut self) -> Result<()> {
        let assessments = std::mem::take(&mut self.pending.assessments);
        self.pending.new_at.clear();
        let updates = std::mem::take(&mut self.pending.updates);
        let changes = std::mem::take(&mut self.pending.changes);
        if !assessments.is_empty() {
            let ids: Vec<i64> = assessments.iter().map(|a| a.id).collect();
            let rounds: Vec<&str> = assessments.iter().map(|a| a.round.as_str()).collect();
            let forms: Vec<&str> = assessments.iter().map(|a| a.form.as_str()).collect();
            let locations: Vec<&str> = assessments.iter().map(|a| a.location.as_str()).collect();
            let statuses: Vec<&str> = assessments.iter().map(|a| a.status).collect();
            let versions: Vec<i32> = assessments.iter().map(|a| a.form_version).collect();
            let seqs: Vec<i64> = assessments.iter().map(|a| a.change_seq).collect();
            let ats: Vec<OffsetDateTime> = assessments.iter().map(|a| a.at).collect();
            let docs: Vec<&str> = assessments.iter().map(|a| a.doc.as_str()).collect();
            let numbers: Vec<i64> = assessments.iter().map(|a| a.version).collect();
            let updated: Vec<OffsetDateTime> = assessments.iter().map(|a| a.updated_at).collect();
            let s = self.statement(
                "INSERT INTO assessments (id, round, form, location, status, form_version, version, change_seq,
                   created_at, updated_at, fields)
                 SELECT i, r, f, l, s, v, n, q, a, u, d::json
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[],
                             $8::timestamptz[], $9::text[], $10::bigint[], $11::timestamptz[])
                   AS t(i, r, f, l, s, v, q, a, d, n, u)",
            )?;
            self.tx.execute(
                &s,
                &[&ids, &rounds, &forms, &locations, &statuses, &versions, &seqs, &ats, &docs, &numbers, &updated],
            )?;
        }
        if !updates.is_empty() {
            let ids: Vec<i64> = updates.keys().copied().collect();
            let u: Vec<&PendingUpdate> = ids.iter().map(|id| &updates[id]).collect();
            let statuses: Vec<&str> = u.iter().map(|u| u.status).collect();
            let versions: Vec<i64> = u.iter().map(|u| u.versions).collect();
            let seqs: Vec<i64> = u.iter().map(|u| u.change_seq).collect();
            let ats: Vec<OffsetDateTime> = u.iter().map(|u| u.at).collect();
            let docs: Vec<Option<&str>> = u.iter().map(|u| u.doc.as_deref()).collect();
            let s = self.statement(
                "UPDATE assessments a SET status = u.s, version = a.version + u.n, change_seq = u.q, updated_at = u.t,
                   fields = coalesce(u.d::json, a.fields)
                 FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::text[])
                   AS u(i, s, n, q, t, d)
                 WHERE a.id = u.i",
            )?;
            let n = self.tx.execute(&s, &[&ids, &statuses, &versions, &seqs, &ats, &docs])?;
            if n != ids.len() as u64 {
                return Err(StorageError::NotFound(format!(
                    "{} of {} assessments to update",
                    ids.len() as u64 - n,
                    ids.len()
                )));
            }
        }
        if !changes.is_empty() {
            let ids: Vec<i64> = changes.iter().map(|c| c.id).collect();
            let assessment_ids: Vec<i64> = changes.iter().map(|c| c.assessment_id).collect();
            let op_ids: Vec<Option<&str>> = changes.iter().map(|c| c.op_id.as_deref()).collect();
            let authors: Vec<&str> = changes.iter().map(|c| c.author.as_str()).collect();
            let devices: Vec<&str> = changes.iter().map(|c| c.device.as_str()).collect();
            let hlcs: Vec<&str> = changes.iter().map(|c| c.hlc.as_str()).collect();
            let ats: Vec<OffsetDateTime> = changes.iter().map(|c| c.at).collect();
            let fields: Vec<&str> = changes.iter().map(|c| c.fields.as_str()).collect();
            let s = self.statement(
                "INSERT INTO changes (id, assessment_id, op_id, author, device_id, hlc, at, fields)
                 SELECT i, a, o, w, d, h, t, f::json
                 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                             $7::timestamptz[], $8::text[]) AS x(i, a, o, w, d, h, t, f)",
            )?;
            self.tx.execute(&s, &[&ids, &assessment_ids, &op_ids, &authors, &devices, &hlcs, &ats, &fields])?;
        }
        Ok(())
    }

    fn buffer_change(&mut self, c: &NewChange<'_>, assessment_id: i64) -> Result<()> {
        let fields = serde_json::to_string(c.fields).map_err(|e| StorageError::Internal(e.into()))?;
        self.pending.changes.push(PendingChange {
            id: c.id,
            assessment_id,
            op_id: c.op_id.map(str::to_owned),
            author: c.author.to_owned(),
            device: c.device.to_owned(),
            hlc: c.hlc.encode(),
            at: c.at,
            fields,
        });
        Ok(())
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.flush()?;
        let s = self.statement(sql)?;
        Ok(self.tx.query(&s, params)?)
    }

    fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        self.flush()?;
        let s = self.statement(sql)?;
        Ok(self.tx.query_opt(&s, params)?)
    }

    fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        self.flush()?;
        let s = self.statement(sql)?;
        Ok(self.tx.query_one(&s, params)?)
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.flush()?;
        let s = self.statement(sql)?;
        Ok(self.tx.execute(&s, params)?)
    }

    fn ids(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<i64>> {
        Ok(self.query(sql, params)?.iter().map(|r| r.get(0)).collect())
    }
}

fn int(n: u64) -> Result<i64> {
    i64::try_from(n)
        .map_err(|_| StorageError::Internal(anyhow::anyhow!("{n} is beyond what PostgreSQL's bigint holds")))
}

fn uint(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| corrupt(format!("{n} is negative")))
}

fn pcode(text: &str) -> Result<Pcode> {
    Pcode::parse(text).map_err(|e| corrupt(format!("location `{text}`: {e}")))
}

fn parse<T>(what: &str, text: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
    parse(text).ok_or_else(|| corrupt(format!("`{text}` is not a {what}")))
}

fn round_from_row(r: &Row) -> Result<Round> {
    let Json(forms): Json<Vec<RoundForm>> = r.get(6);
    Ok(Round {
        code: r.get(0),
        number: uint(i64::from(r.get::<_, i32>(1)))? as u32,
        title: r.get(2),
        title_ar: r.get(7),
        status: parse("round status", r.get(3), RoundStatus::parse)?,
        window_start: r.get(4),
        window_end: r.get(5),
        forms: forms.into_iter().map(|f| (f.form, f.version)).collect(),
    })
}

/// `location LIKE $n || '%' OR …` for each prefix of the scope, numbered from `first`.
fn scope_clause(scope: &Scope, first: usize) -> String {
    if scope.prefixes().is_empty() {
        return "false".into();
    }
    let clause = (0..scope.prefixes().len())
        .map(|i| format!("location LIKE ${} || '%'", first + i))
        .collect::<Vec<_>>()
        .join(" OR ");
    format!("({clause})")
}

const ROUND_COLUMNS: &str = "code, number, title, status, window_start, window_end, forms, title_ar";

impl Tx for PgTx<'_, '_> {
    fn epoch(&mut self) -> Result<String> {
        Ok(self.query_one("SELECT value FROM meta WHERE key = 'epoch'", &[])?.get(0))
    }

    fn allot_change_seqs(&mut self, n: u32) -> Result<u64> {
        let n = i64::from(n);
        let row = self.query_one(
            "UPDATE meta SET value = (value::bigint + $1)::text WHERE key = 'change_seq' RETURNING value::bigint",
            &[&n],
        )?;
        uint(row.get::<_, i64>(0) + 1 - n)
    }

    fn allot_change_ids(&mut self, n: u32) -> Result<i64> {
        // Only writers take ids, one at a time (the writer lock), so moving the sequence
        // on by n from its next value gives n consecutive ids that are ours.
        let n = i64::from(n);
        let row =
            self.query_one("SELECT setval('changes_id_seq', nextval('changes_id_seq') + $1 - 1) - $1 + 1", &[&n])?;
        Ok(row.get(0))
    }

    fn put_user(&mut self, user: &NewUser, at: OffsetDateTime) -> Result<()> {
        self.execute(
            "INSERT INTO users (username, display_name, role, scope, password_hash, created_at, language,
               must_change_password, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
               scope = excluded.scope, password_hash = excluded.password_hash, language = excluded.language,
               must_change_password = excluded.must_change_password",
            &[
                &user.username,
                &user.display_name,
                &user.role.as_str(),
                &Json(&user.scope),
                &user.password_hash,
                &at,
                &user.language.as_str(),
                &i32::from(user.must_change_password),
                &user.created_by,
            ],
        )?;
        Ok(())
    }

    fn user(&mut self, username: &str) -> Result<Option<StoredUser>> {
        self.query_opt(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1"), &[&username])?
            .map(|r| stored_user(&r))
            .transpose()
    }

    fn users(&mut self) -> Result<Vec<(StoredUser, u32)>> {
        self.query(
            &format!(
                "SELECT {USER_COLUMNS},
                   (SELECT count(*) FROM devices d WHERE d.username = u.username AND d.revoked_at IS NULL)
                 FROM users u ORDER BY u.username"
            ),
            &[],
        )?
        .iter()
        .map(|r| Ok((stored_user(r)?, uint(r.get(10))? as u32)))
        .collect()
    }

    fn update_user(
        &mut self,
        username: &str,
        display_name: &str,
        role: Role,
        scope: &[String],
        language: Language,
    ) -> Result<()> {
        self.execute(
            "UPDATE users SET display_name = $2, role = $3, scope = $4, language = $5 WHERE username = $1",
            &[&username, &display_name, &role.as_str(), &Json(scope), &language.as_str()],
        )?;
        Ok(())
    }

    fn set_disabled(&mut self, username: &str, at: Option<OffsetDateTime>) -> Result<()> {
        self.execute("UPDATE users SET disabled_at = $2 WHERE username = $1", &[&username, &at])?;
        Ok(())
    }

    fn set_password(&mut self, username: &str, hash: &str, must_change: bool) -> Result<()> {
        self.execute(
            "UPDATE users SET password_hash = $2, must_change_password = $3 WHERE username = $1",
            &[&username, &hash, &i32::from(must_change)],
        )?;
        Ok(())
    }

    fn end_user_sessions(&mut self, username: &str, at: OffsetDateTime) -> Result<u32> {
        let n = self.execute(
            "UPDATE devices SET expires_at = $2 WHERE username = $1 AND revoked_at IS NULL AND expires_at > $2",
            &[&username, &at],
        )?;
        Ok(n as u32)
    }

    fn count_admins(&mut self) -> Result<usize> {
        let n: i64 =
            self.query_one("SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL", &[])?.get(0);
        Ok(uint(n)? as usize)
    }

    fn insert_enrolment(&mut self, e: &NewEnrolment) -> Result<()> {
        self.execute(
            "INSERT INTO enrolments (code_hash, username, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[&e.code_hash, &e.username, &e.created_by, &e.created_at, &e.expires_at],
        )?;
        Ok(())
    }

    fn enrolment(&mut self, code_hash: &str) -> Result<Option<StoredEnrolment>> {
        Ok(self
            .query_opt("SELECT username, expires_at, used_at FROM enrolments WHERE code_hash = $1", &[&code_hash])?
            .map(|r| StoredEnrolment { username: r.get(0), expires_at: r.get(1), used_at: r.get(2) }))
    }

    fn use_enrolment(&mut self, code_hash: &str, at: OffsetDateTime, device_id: &str) -> Result<()> {
        self.execute(
            "UPDATE enrolments SET used_at = $2, device_id = $3 WHERE code_hash = $1",
            &[&code_hash, &at, &device_id],
        )?;
        Ok(())
    }

    fn active_devices(&mut self, username: &str) -> Result<u32> {
        let row =
            self.query_one("SELECT count(*) FROM devices WHERE username = $1 AND revoked_at IS NULL", &[&username])?;
        u32::try_from(row.get::<_, i64>(0)).map_err(|e| corrupt(format!("device count: {e}")))
    }

    fn devices(&mut self) -> Result<Vec<DeviceInfo>> {
        self.query(
            "SELECT d.device_id, d.username, u.display_name, d.name, d.app_version, d.created_at, d.last_sync_at,
               d.pending_ops, d.revoked_at, d.expires_at, d.wipe_requested_at IS NOT NULL
             FROM devices d JOIN users u ON u.username = d.username
             ORDER BY d.last_sync_at DESC NULLS LAST, d.created_at DESC",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(DeviceInfo {
                device_id: r.get(0),
                username: r.get(1),
                display_name: r.get(2),
                name: r.get(3),
                app_version: r.get(4),
                first_seen_at: iso(r.get(5)),
                last_sync_at: opt_iso(r.get(6)),
                pending_ops: r.get::<_, Option<i32>>(7).map(|n| n.max(0) as u32),
                revoked_at: opt_iso(r.get(8)),
                expires_at: iso(r.get(9)),
                wipe: r.get(10),
            })
        })
        .collect()
    }

    fn device_seen(&mut self, device_id: &str, seen: &DeviceSeen) -> Result<()> {
        let pending = seen.pending_ops.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        self.execute(
            "UPDATE devices SET last_sync_at = $2, app_version = coalesce($3, app_version),
               pending_ops = coalesce($4, pending_ops) WHERE device_id = $1",
            &[&device_id, &seen.at, &seen.app_version, &pending],
        )?;
        Ok(())
    }

    fn audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let limit = i64::from(f.limit);
        self.query(
            "SELECT id, at, actor, action, target FROM access_log
             WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)
               AND ($3::bigint IS NULL OR id < $3) AND ($4::timestamptz IS NULL OR at >= $4)
               AND ($5::timestamptz IS NULL OR at < $5)
             ORDER BY id DESC LIMIT $6",
            &[&f.actor, &f.action, &f.before, &f.from, &f.to, &limit],
        )?
        .iter()
        .map(|r| {
            Ok(AuditEntry { id: r.get(0), at: iso(r.get(1)), actor: r.get(2), action: r.get(3), target: r.get(4) })
        })
        .collect()
    }

    fn device(&mut self, device_id: &str) -> Result<Option<DeviceHolder>> {
        Ok(self
            .query_opt("SELECT username, revoked_at IS NOT NULL FROM devices WHERE device_id = $1", &[&device_id])?
            .map(|r| DeviceHolder { username: r.get(0), revoked: r.get(1) }))
    }

    fn store_keys(&mut self, store_id: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .query("SELECT username, store_key FROM store_keys WHERE store_id = $1 ORDER BY created_at", &[&store_id])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn insert_store_key(&mut self, store_id: &str, username: &str, key: &str, at: OffsetDateTime) -> Result<()> {
        self.execute(
            "INSERT INTO store_keys (store_id, username, store_key, created_at) VALUES ($1, $2, $3, $4)",
            &[&store_id, &username, &key, &at],
        )?;
        Ok(())
    }

    fn insert_device(&mut self, d: &NewDevice) -> Result<()> {
        self.execute(
            "INSERT INTO devices (device_id, username, name, token_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&d.device_id, &d.username, &d.name, &d.token_hash, &d.created_at, &d.expires_at],
        )?;
        Ok(())
    }

    fn renew_device(&mut self, d: &NewDevice) -> Result<()> {
        self.execute(
            "UPDATE devices SET token_hash = $2, name = $3, expires_at = $4 WHERE device_id = $1",
            &[&d.device_id, &d.token_hash, &d.name, &d.expires_at],
        )?;
        Ok(())
    }

    fn caller(&mut self, token_hash: &str, now: OffsetDateTime) -> Result<Option<Caller>> {
        let Some(r) = self.query_opt(
            "SELECT u.username, u.display_name, u.role, u.scope, d.device_id, d.revoked_at IS NOT NULL,
               u.disabled_at IS NOT NULL, u.must_change_password, d.last_sync_at, d.app_version, d.pending_ops,
               d.wipe_requested_at IS NOT NULL
             FROM devices d JOIN users u ON u.username = d.username
             WHERE d.token_hash = $1 AND d.expires_at > $2",
            &[&token_hash, &now],
        )?
        else {
            return Ok(None);
        };
        let Json(scope): Json<Vec<String>> = r.get(3);
        Ok(Some(Caller {
            username: r.get(0),
            display_name: r.get(1),
            role: parse("role", r.get(2), Role::parse)?,
            scope: Scope::new(scope),
            device_id: r.get(4),
            state: TokenState {
                device_revoked: r.get(5),
                account_disabled: r.get(6),
                must_change_password: r.get::<_, i32>(7) != 0,
                wipe_requested: r.get(11),
            },
            seen: DeviceSeen {
                at: r.get(8),
                app_version: r.get(9),
                pending_ops: r.get::<_, Option<i32>>(10).map(|n| n.max(0) as u32),
            },
        }))
    }

    fn revoke_device(&mut self, device_id: &str, wipe: bool, at: OffsetDateTime) -> Result<bool> {
        Ok(self.execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, $2),
               wipe_requested_at = CASE WHEN $3 THEN coalesce(wipe_requested_at, $2) ELSE wipe_requested_at END
             WHERE device_id = $1",
            &[&device_id, &at, &wipe],
        )? > 0)
    }

    fn end_session(&mut self, token_hash: &str, at: OffsetDateTime) -> Result<bool> {
        Ok(self.execute(
            "UPDATE devices SET expires_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
            &[&token_hash, &at],
        )? > 0)
    }

    fn login_failures(&mut self, username: &str) -> Result<LoginFailures> {
        let Some(r) =
            self.query_opt("SELECT failures, locked_until FROM login_failures WHERE username = $1", &[&username])?
        else {
            return Ok(LoginFailures::default());
        };
        Ok(LoginFailures { count: uint(i64::from(r.get::<_, i32>(0)))? as u32, locked_until: r.get(1) })
    }

    fn put_login_failures(&mut self, username: &str, f: &LoginFailures) -> Result<()> {
        let count = i32::try_from(f.count).unwrap_or(i32::MAX);
        self.execute(
            "INSERT INTO login_failures (username, failures, locked_until) VALUES ($1, $2, $3)
             ON CONFLICT (username) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
            &[&username, &count, &f.locked_until],
        )?;
        Ok(())
    }

    fn clear_login_failures(&mut self, username: &str) -> Result<()> {
        self.execute("DELETE FROM login_failures WHERE username = $1", &[&username])?;
        Ok(())
    }

    fn round(&mut self, code: &str) -> Result<Option<Round>> {
        self.query_opt(&format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE code = $1"), &[&code])?
            .as_ref()
            .map(round_from_row)
            .transpose()
    }

    fn rounds(&mut self) -> Result<Vec<Round>> {
        self.query(&format!("SELECT {ROUND_COLUMNS} FROM rounds ORDER BY number DESC"), &[])?
            .iter()
            .map(round_from_row)
            .collect()
    }

    fn round_taken(&mut self, code: &str, number: u32) -> Result<bool> {
        let number = i32::try_from(number).map_err(|_| corrupt("round number"))?;
        Ok(self.query_one("SELECT count(*) > 0 FROM rounds WHERE code = $1 OR number = $2", &[&code, &number])?.get(0))
    }

    fn write_round(&mut self, round: &Round) -> Result<()> {
        let forms = dtm_sync::wire::RoundInfo::from(round).forms;
        let number = i32::try_from(round.number).map_err(|_| corrupt("round number"))?;
        self.execute(
            "INSERT INTO rounds (code, number, title, status, window_start, window_end, forms, title_ar)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (code) DO UPDATE SET title = excluded.title, status = excluded.status,
               window_start = excluded.window_start, window_end = excluded.window_end, forms = excluded.forms,
               title_ar = excluded.title_ar",
            &[
                &round.code,
                &number,
                &round.title,
                &round.status.as_str(),
                &round.window_start,
                &round.window_end,
                &Json(&forms),
                &round.title_ar,
            ],
        )?;
        Ok(())
    }

    fn set_round_status(&mut self, code: &str, status: RoundStatus) -> Result<bool> {
        Ok(self.execute("UPDATE rounds SET status = $2 WHERE code = $1", &[&code, &status.as_str()])? > 0)
    }

    fn head(&mut self, key: &AssessmentKey) -> Result<Option<Head>> {
        let Some(r) = self.query_opt(
            "SELECT id, status, form_version FROM assessments WHERE round = $1 AND form = $2 AND location = $3",
            &[&key.round, &key.form, &key.location.as_str()],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(Head {
            id: r.get(0),
            status: parse("assessment status", r.get(1), AssessmentStatus::parse)?,
            form_version: uint(i64::from(r.get::<_, i32>(2)))? as u32,
        }))
    }

    fn doc(&mut self, id: i64) -> Result<Doc> {
        let Json(doc): Json<Doc> = self.query_one("SELECT fields FROM assessments WHERE id = $1", &[&id])?.get(0);
        Ok(doc)
    }

    fn heads(&mut self, keys: &[&AssessmentKey]) -> Result<HashMap<AssessmentKey, Head>> {
        let rounds: Vec<&str> = keys.iter().map(|k| k.round.as_str()).collect();
        let forms: Vec<&str> = keys.iter().map(|k| k.form.as_str()).collect();
        let locations: Vec<&str> = keys.iter().map(|k| k.location.as_str()).collect();
        self.query(
            "SELECT a.round, a.form, a.location, a.id, a.status, a.form_version FROM assessments a
             JOIN unnest($1::text[], $2::text[], $3::text[]) k (round, form, location)
               ON a.round = k.round AND a.form = k.form AND a.location = k.location",
            &[&rounds, &forms, &locations],
        )?
        .iter()
        .map(|r| {
            let key = AssessmentKey { round: r.get(0), form: r.get(1), location: pcode(r.get(2))? };
            let head = Head {
                id: r.get(3),
                status: parse("assessment status", r.get(4), AssessmentStatus::parse)?,
                form_version: uint(i64::from(r.get::<_, i32>(5)))? as u32,
            };
            Ok((key, head))
        })
        .collect()
    }

    fn insert_assessment(&mut self, a: &NewAssessment<'_>, first: &NewChange<'_>) -> Result<i64> {
        if self.pending.ids.is_empty() {
            // Only writers take ids, one at a time (the writer lock): moving the sequence
            // on by a block from its next value gives ids that are this transaction's.
            let n = ASSESSMENT_ID_BLOCK;
            let row = self.query_one(
                "SELECT setval(pg_get_serial_sequence('assessments', 'id'),
                   nextval(pg_get_serial_sequence('assessments', 'id')) + $1 - 1) - $1 + 1",
                &[&n],
            )?;
            let first_id: i64 = row.get(0);
            self.pending.ids = first_id..first_id + n;
        }
        let id = self.pending.ids.next().expect("a block of ids was just allotted");
        let doc = a.doc.to_owned();
        self.pending.new_at.insert(id, self.pending.assessments.len());
        self.pending.assessments.push(PendingAssessment {
            id,
            round: a.key.round.clone(),
            form: a.key.form.clone(),
            location: a.key.location.to_string(),
            status: a.status.as_str(),
            form_version: i32::try_from(a.form_version).map_err(|_| corrupt("form version"))?,
            version: 1,
            change_seq: int(a.change_seq)?,
            at: a.at,
            updated_at: a.at,
            doc,
        });
        self.buffer_change(first, id)?;
        Ok(id)
    }

    fn update_assessment(
        &mut self,
        id: i64,
        status: AssessmentStatus,
        change_seq: u64,
        doc: Option<&Doc>,
        at: OffsetDateTime,
    ) -> Result<()> {
        // Buffered, as new assessments are: an assessment made in this transaction and
        // not yet sent takes the update itself; one already in the database gets one
        // update at the next flush however many times the batch changed it.
        let seq = int(change_seq)?;
        let doc = doc.map(serde_json::to_string).transpose().map_err(|e| StorageError::Internal(e.into()))?;
        if let Some(&i) = self.pending.new_at.get(&id) {
            let a = &mut self.pending.assessments[i];
            a.status = status.as_str();
            a.version += 1;
            a.change_seq = seq;
            a.updated_at = at;
            if let Some(doc) = doc {
                a.doc = doc;
            }
            return Ok(());
        }
        let u = self.pending.updates.entry(id).or_insert(PendingUpdate {
            status: status.as_str(),
            versions: 0,
            change_seq: seq,
            at,
            doc: None,
        });
        u.status = status.as_str();
        u.versions += 1;
        u.change_seq = seq;
        u.at = at;
        if doc.is_some() {
            u.doc = doc;
        }
        Ok(())
    }

    fn insert_change(&mut self, c: &NewChange<'_>) -> Result<()> {
        self.buffer_change(c, c.assessment_id)
    }

    fn change_author(&mut self, change_id: i64) -> Result<Option<ChangeAuthor>> {
        self.query_opt("SELECT author, device_id, hlc FROM changes WHERE id = $1", &[&change_id])?
            .map(|r| {
                Ok(ChangeAuthor {
                    author: r.get(0),
                    device: r.get(1),
                    hlc: parse("clock stamp", r.get(2), Hlc::decode)?,
                })
            })
            .transpose()
    }

    fn change_authors(&mut self, change_ids: &[i64]) -> Result<HashMap<i64, ChangeAuthor>> {
        if change_ids.is_empty() {
            return Ok(HashMap::new());
        }
        self.query("SELECT id, author, device_id, hlc FROM changes WHERE id = ANY($1)", &[&change_ids])?
            .iter()
            .map(|r| {
                let author = ChangeAuthor {
                    author: r.get(1),
                    device: r.get(2),
                    hlc: parse("clock stamp", r.get(3), Hlc::decode)?,
                };
                Ok((r.get(0), author))
            })
            .collect()
    }

    fn change_fields(&mut self, assessment_id: i64) -> Result<Vec<ChangeFields>> {
        Ok(self
            .query("SELECT fields FROM changes WHERE assessment_id = $1 ORDER BY id", &[&assessment_id])?
            .iter()
            .map(|r| r.get::<_, Json<ChangeFields>>(0).0)
            .collect())
    }

    fn entered_figures(&mut self, assessment_id: i64, username: &str) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM changes WHERE assessment_id = $1 AND author = $2 AND op_id IS NOT NULL)",
                &[&assessment_id, &username],
            )?
            .get(0))
    }

    fn snapshots(&mut self, ids: &[i64]) -> Result<Vec<AssessmentSnapshot>> {
        // Two statements for the whole page, whatever its size: a round trip each.
        let rows = self.query(
            "SELECT a.id, round, form, location, status, form_version, version, fields,
                (SELECT count(*) FROM conflicts c WHERE c.assessment_id = a.id AND c.status = 'open')
             FROM assessments a WHERE a.id = ANY($1)",
            &[&ids],
        )?;
        let mut comments: HashMap<i64, Vec<WireComment>> = HashMap::new();
        for c in self.query(
            "SELECT assessment_id, id, author, role, decision, text, at FROM comments
             WHERE assessment_id = ANY($1) ORDER BY id",
            &[&ids],
        )? {
            let comment = WireComment {
                id: c.get(1),
                author: c.get(2),
                role: parse("role", c.get(3), Role::parse)?,
                decision: c
                    .get::<_, Option<&str>>(4)
                    .map(|d| parse("review decision", d, ReviewDecision::parse))
                    .transpose()?,
                text: c.get(5),
                at: iso(c.get(6)),
            };
            comments.entry(c.get(0)).or_default().push(comment);
        }
        let mut by_id = HashMap::with_capacity(rows.len());
        for r in rows {
            let Json(doc): Json<Doc> = r.get(7);
            let id: i64 = r.get(0);
            let snapshot = AssessmentSnapshot {
                key: AssessmentKey { round: r.get(1), form: r.get(2), location: pcode(r.get(3))? },
                status: parse("assessment status", r.get(4), AssessmentStatus::parse)?,
                form_version: uint(i64::from(r.get::<_, i32>(5)))? as u32,
                version: uint(r.get(6))?,
                open_conflicts: uint(r.get(8))? as u32,
                fields: doc
                    .into_iter()
                    .map(|(f, DocField(value, version, _))| (f, WireField { value, version }))
                    .collect(),
                comments: comments.remove(&id).unwrap_or_default(),
            };
            by_id.insert(id, snapshot);
        }
        ids.iter()
            .map(|id| by_id.remove(id).ok_or_else(|| StorageError::NotFound(format!("there is no assessment {id}"))))
            .collect()
    }

    fn previous_assessment(&mut self, key: &AssessmentKey) -> Result<Option<(i64, String)>> {
        Ok(self
            .query_opt(
                // The rounds from the one before downwards, each probed in the
                // (round, form, location) index, stopping at the first hit; not every
                // assessment the location ever had.
                "SELECT a.id, a.round FROM rounds r
                 CROSS JOIN LATERAL (SELECT id, round FROM assessments
                   WHERE round = r.code AND form = $1 AND location = $2) a
                 WHERE r.number < (SELECT number FROM rounds WHERE code = $3)
                 ORDER BY r.number DESC LIMIT 1",
                &[&key.form, &key.location.as_str(), &key.round],
            )?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn previous_assessments(&mut self, keys: &[&AssessmentKey]) -> Result<HashMap<AssessmentKey, (i64, String)>> {
        let Some(first) = keys.first() else { return Ok(HashMap::new()) };
        // The rounds before this one, newest first, probed for every key still without
        // a previous assessment: the round before, then the 4 before that, then 16, 64…
        // A list whose locations were all assessed last round takes one statement; a
        // location new this round, a handful. The walk is done here, not left to the
        // planner: given one statement for it, PostgreSQL at times read every round
        // each location was ever in (12 ms at 200 rounds, 156 ms at 1,000, for 100
        // baladiyas), statistics or not.
        let before: Vec<String> = self
            .query(
                "SELECT code FROM rounds WHERE number < (SELECT number FROM rounds WHERE code = $1) ORDER BY number DESC",
                &[&first.round],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = HashMap::new();
        let mut left: Vec<&AssessmentKey> = keys.to_vec();
        let (mut start, mut size) = (0, 1);
        while !left.is_empty() && start < before.len() {
            let chunk = &before[start..(start + size).min(before.len())];
            let forms: Vec<&str> = left.iter().map(|k| k.form.as_str()).collect();
            let locations: Vec<&str> = left.iter().map(|k| k.location.as_str()).collect();
            let rows = self.query(
                "SELECT a.form, a.location, a.id, a.round
                 FROM unnest($2::text[], $3::text[]) AS k(form, location)
                 JOIN assessments a ON a.form = k.form AND a.location = k.location AND a.round = ANY($1)",
                &[&chunk, &forms, &locations],
            )?;
            // Within the chunk, the newest round wins: its place in `before` is lowest.
            let mut newest: HashMap<(String, String), (usize, i64, String)> = HashMap::new();
            for r in rows {
                let round: String = r.get(3);
                let rank = chunk.iter().position(|c| *c == round).unwrap_or(usize::MAX);
                let entry = newest.entry((r.get(0), r.get(1))).or_insert((usize::MAX, 0, String::new()));
                if rank < entry.0 {
                    *entry = (rank, r.get(2), round);
                }
            }
            for ((form, location), (_, id, round)) in newest {
                out.insert(AssessmentKey::new(&first.round, form, pcode(&location)?), (id, round));
            }
            left.retain(|k| !out.contains_key(*k));
            start += size;
            size *= 4;
        }
        Ok(out)
    }

    fn docs(&mut self, ids: &[i64]) -> Result<HashMap<i64, Doc>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .query("SELECT id, fields FROM assessments WHERE id = ANY($1)", &[&ids])?
            .iter()
            .map(|r| (r.get(0), r.get::<_, Json<Doc>>(1).0))
            .collect())
    }

    fn children(&mut self, round: &str, form: &str, location: &str) -> Result<Vec<i64>> {
        self.ids(
            "SELECT id FROM assessments WHERE round = $1 AND form = $2 AND location LIKE $3 || '%' AND location <> $3",
            &[&round, &form, &location],
        )
    }

    fn changed_after(&mut self, scope: &Scope, after: u64, limit: u32) -> Result<Vec<(i64, u64)>> {
        let sql = format!(
            "SELECT id, change_seq FROM assessments WHERE change_seq > $1 AND {} ORDER BY change_seq LIMIT $2",
            scope_clause(scope, 3)
        );
        let (after, limit) = (int(after)?, i64::from(limit));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&after, &limit];
        params.extend(scope.prefixes().iter().map(|p| p as &(dyn ToSql + Sync)));
        self.query(&sql, &params)?.iter().map(|r| Ok((r.get(0), uint(r.get(1))?))).collect()
    }

    fn round_assessment_ids(&mut self, round: &str, scope: &Scope) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT id FROM assessments WHERE round = $1 AND {} ORDER BY location, form",
            scope_clause(scope, 2)
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&round];
        params.extend(scope.prefixes().iter().map(|p| p as &(dyn ToSql + Sync)));
        self.ids(&sql, &params)
    }

    fn insert_comment(
        &mut self,
        assessment_id: i64,
        author: &str,
        role: Role,
        decision: Option<ReviewDecision>,
        text: &str,
        at: OffsetDateTime,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO comments (assessment_id, author, role, decision, text, at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&assessment_id, &author, &role.as_str(), &decision.map(ReviewDecision::as_str), &text, &at],
        )?;
        Ok(())
    }

    fn insert_conflict(&mut self, c: &NewConflict<'_>) -> Result<()> {
        let null = FieldValue::Null;
        let (value, version, author, device, hlc) = match c.current {
            Some(cur) => (&cur.value, cur.version, cur.author.as_str(), cur.device.as_str(), cur.hlc),
            None => (&null, 0, "", "", Hlc::default()),
        };
        self.execute(
            "INSERT INTO conflicts (assessment_id, field, base_version, base_value, current_value, current_version,
               current_author, current_device, current_hlc, incoming_value, incoming_author, incoming_device,
               incoming_hlc, op_id, created_at, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            &[
                &c.assessment_id,
                &c.field,
                &int(c.base_version)?,
                &c.base_value.map(Json),
                &Json(value),
                &int(version)?,
                &author,
                &device,
                &hlc.encode(),
                &Json(c.incoming_value),
                &c.incoming_author,
                &c.incoming_device,
                &c.incoming_hlc.encode(),
                &c.op_id,
                &c.at,
                &c.kind.as_str(),
            ],
        )?;
        Ok(())
    }

    fn conflict(&mut self, id: i64) -> Result<Option<(Conflict, i64)>> {
        let Some(r) = self.query_opt(
            "SELECT c.id, a.round, a.form, a.location, c.field, c.base_value, c.current_value, c.current_author,
                c.current_device, c.current_hlc, c.incoming_value, c.incoming_author, c.incoming_device,
                c.incoming_hlc, c.created_at, c.status, c.resolution_value, c.resolved_by, c.resolution_reason,
                c.resolved_at, c.kind, c.assessment_id
             FROM conflicts c JOIN assessments a ON a.id = c.assessment_id WHERE c.id = $1",
            &[&id],
        )?
        else {
            return Ok(None);
        };
        let json = |i: usize| r.get::<_, Option<Json<FieldValue>>>(i).map_or(FieldValue::Null, |j| j.0);
        let resolved_by: Option<String> = r.get(17);
        let conflict = Conflict {
            id: r.get(0),
            key: AssessmentKey { round: r.get(1), form: r.get(2), location: pcode(r.get(3))? },
            field: r.get(4),
            base_value: json(5),
            current: ConflictSide {
                value: json(6),
                author: r.get(7),
                device: r.get(8),
                hlc: r.get(9),
                author_name: None,
                device_name: None,
            },
            incoming: ConflictSide {
                value: json(10),
                author: r.get(11),
                device: r.get(12),
                hlc: r.get(13),
                author_name: None,
                device_name: None,
            },
            created_at: iso(r.get(14)),
            status: parse("conflict status", r.get(15), ConflictStatus::parse)?,
            resolution: resolved_by.map(|by| ConflictResolution {
                value: json(16),
                by,
                reason: r.get::<_, Option<String>>(18).unwrap_or_default(),
                at: r.get::<_, Option<OffsetDateTime>>(19).map(iso).unwrap_or_default(),
            }),
            kind: parse("conflict kind", r.get(20), ConflictKind::parse)?,
            previous: None,
        };
        Ok(Some((conflict, r.get(21))))
    }

    fn conflict_ids(&mut self, round: &str, scope: &Scope) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT c.id FROM conflicts c JOIN assessments a ON a.id = c.assessment_id
             WHERE a.round = $1 AND {} ORDER BY c.status = 'resolved', c.id",
            scope_clause(scope, 2)
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&round];
        params.extend(scope.prefixes().iter().map(|p| p as &(dyn ToSql + Sync)));
        self.ids(&sql, &params)
    }

    fn open_conflicts(&mut self, assessment_id: i64) -> Result<usize> {
        let n: i64 = self
            .query_one(
                "SELECT count(*) FROM conflicts WHERE assessment_id = $1 AND status = 'open'",
                &[&assessment_id],
            )?
            .get(0);
        Ok(uint(n)? as usize)
    }

    fn settle_conflict(
        &mut self,
        id: i64,
        by: &str,
        value: &FieldValue,
        reason: &str,
        at: OffsetDateTime,
        seq: i64,
    ) -> Result<()> {
        self.execute(
            "UPDATE conflicts SET status = 'resolved', resolved_by = $2, resolution_value = $3, resolution_reason = $4,
               resolved_at = $5, resolved_seq = $6 WHERE id = $1",
            &[&id, &by, &Json(value), &reason, &at, &seq],
        )?;
        Ok(())
    }

    fn settled_for_device(&mut self, device_id: &str, after: u64, limit: u32) -> Result<Vec<(u64, SettledConflict)>> {
        self.query(
            "SELECT c.resolved_seq, a.round, a.form, a.location, c.field,
               CASE WHEN c.incoming_device = $1 THEN c.incoming_value ELSE c.current_value END,
               c.resolution_value, c.resolved_by, coalesce(u.display_name, c.resolved_by), c.resolution_reason,
               c.resolved_at, c.kind
             FROM conflicts c JOIN assessments a ON a.id = c.assessment_id
             LEFT JOIN users u ON u.username = c.resolved_by
             WHERE c.resolved_seq > $2
               AND (c.incoming_device = $1 OR (c.kind = 'value' AND c.current_device = $1))
             ORDER BY c.resolved_seq LIMIT $3",
            &[&device_id, &(after as i64), &i64::from(limit)],
        )?
        .iter()
        .map(|r| {
            let location: String = r.get(3);
            let Json(yours): Json<FieldValue> = r.get(5);
            let Json(settled): Json<FieldValue> = r.get(6);
            Ok((
                r.get::<_, i64>(0) as u64,
                SettledConflict {
                    key: AssessmentKey::new(
                        r.get::<_, String>(1),
                        r.get::<_, String>(2),
                        Pcode::parse(&location).map_err(|e| corrupt(format!("conflict location: {e}")))?,
                    ),
                    kind: parse("conflict kind", r.get(11), ConflictKind::parse)?,
                    field: r.get(4),
                    yours,
                    settled,
                    by: r.get(7),
                    by_name: r.get(8),
                    reason: r.get(9),
                    at: iso(r.get(10)),
                },
            ))
        })
        .collect()
    }

    fn seen_ops(&mut self, device_id: &str, op_ids: &[&str]) -> Result<HashMap<String, SeenOp>> {
        let rows = self.query(
            "SELECT op_id, outcome, code, reason, payload_hash FROM ops WHERE device_id = $1 AND op_id = ANY($2)",
            &[&device_id, &op_ids],
        )?;
        rows.iter()
            .map(|r| {
                let answer = SeenOp {
                    outcome: parse("operation outcome", r.get(1), outcome_parse)?,
                    code: r.get::<_, Option<String>>(2).map(|c| ErrorCode::parse(&c)),
                    reason: r.get(3),
                    payload_hash: r.get(4),
                };
                Ok((r.get(0), answer))
            })
            .collect()
    }

    fn record_ops(&mut self, ops: &[OpRecord<'_>]) -> Result<()> {
        if ops.is_empty() {
            return Ok(());
        }
        // One statement for the batch: its columns as arrays.
        let device_ids: Vec<&str> = ops.iter().map(|o| o.device_id).collect();
        let op_ids: Vec<&str> = ops.iter().map(|o| o.op_id).collect();
        let seqs = ops.iter().map(|o| int(o.seq)).collect::<Result<Vec<i64>>>()?;
        let outcomes: Vec<&str> = ops.iter().map(|o| outcome_str(o.outcome)).collect();
        let codes: Vec<Option<&str>> = ops.iter().map(|o| o.code.map(ErrorCode::as_str)).collect();
        let reasons: Vec<Option<&str>> = ops.iter().map(|o| o.reason).collect();
        let ats: Vec<OffsetDateTime> = ops.iter().map(|o| o.at).collect();
        let hashes: Vec<&str> = ops.iter().map(|o| o.payload_hash).collect();
        self.execute(
            "INSERT INTO ops (device_id, op_id, seq, outcome, code, reason, received_at, payload_hash)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                                  $7::timestamptz[], $8::text[])",
            &[&device_ids, &op_ids, &seqs, &outcomes, &codes, &reasons, &ats, &hashes],
        )?;
        Ok(())
    }

    fn location_changes(&mut self, after: u64) -> Result<Vec<(u64, Location)>> {
        let after = int(after)?;
        self.query(
            "SELECT seq, pcode, name_en, name_ar, kind, lat, lon, retired FROM location_changes
             WHERE seq > $1 ORDER BY seq",
            &[&after],
        )?
        .iter()
        .map(|r| {
            let pcode: String = r.get(1);
            let location = Location {
                pcode: Pcode::parse(&pcode).map_err(|_| corrupt("location P-code"))?,
                name_en: r.get(2),
                name_ar: r.get(3),
                kind: r.get(4),
                lat: r.get(5),
                lon: r.get(6),
                retired: r.get::<_, i32>(7) != 0,
            };
            Ok((uint(r.get(0))?, location))
        })
        .collect()
    }

    fn insert_location_change(&mut self, seq: u64, l: &Location, by: &str, at: OffsetDateTime) -> Result<()> {
        let (seq, retired) = (int(seq)?, i32::from(l.retired));
        self.execute(
            "INSERT INTO location_changes (seq, pcode, name_en, name_ar, kind, lat, lon, retired, changed_by, changed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[&seq, &l.pcode.as_str(), &l.name_en, &l.name_ar, &l.kind, &l.lat, &l.lon, &retired, &by, &at],
        )?;
        Ok(())
    }

    fn log_access(&mut self, at: OffsetDateTime, actor: &str, action: &str, target: &str) -> Result<()> {
        self.execute(
            "INSERT INTO access_log (at, actor, action, target) VALUES ($1, $2, $3, $4)",
            &[&at, &actor, &action, &target],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema of its own on the suite's PostgreSQL, dropped at the end.
    struct Scratch {
        admin: Client,
        schema: String,
        client: Client,
    }

    impl Scratch {
        fn new() -> Scratch {
            let base =
                std::env::var("DTM_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let mut admin = Client::connect(&base, NoTls)
                .unwrap_or_else(|e| panic!("dtm-hq's tests need the PostgreSQL at {base}: {e}"));
            let schema = format!("dtm_unit_{}", uuid::Uuid::now_v7().simple());
            admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
            let sep = if base.contains('?') { '&' } else { '?' };
            let client = Client::connect(&format!("{base}{sep}options=-csearch_path%3D{schema}"), NoTls).unwrap();
            Scratch { admin, schema, client }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = self.admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema));
        }
    }

    #[test]
    fn documents_an_hq_wrote_as_jsonb_read_the_same_after_migration_8_keeps_them_as_json() {
        let mut db = Scratch::new();
        let c = &mut db.client;
        // An HQ at schema 7, with an assessment whose field was written twice.
        c.batch_execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)",
        )
        .unwrap();
        for (i, sql) in MIGRATIONS[..7].iter().enumerate() {
            c.batch_execute(sql).unwrap();
            c.execute("INSERT INTO schema_migrations VALUES ($1, now())", &[&(i as i32 + 1)]).unwrap();
        }
        let doc = r#"{"idp_ind": [55, 2, 2], "notes": ["بئر ماء", 1, 1], "ret_hh": [null, 1, 1]}"#;
        c.batch_execute(&format!(
            "INSERT INTO rounds (code, number, title, status, window_start, window_end, forms)
               VALUES ('R1', 1, 'Round 1', 'open', '2026-11-01', '2026-11-30', '[]');
             INSERT INTO assessments (id, round, form, location, status, form_version, version, change_seq,
               created_at, updated_at, fields)
               VALUES (1, 'R1', 'baladiya', 'LY021104', 'draft', 2, 2, 2, now(), now(), '{doc}');
             INSERT INTO changes (id, assessment_id, op_id, author, device_id, hlc, at, fields) VALUES
               (1, 1, 'op-1', 'enumerator', 'dev-a', 'h1', now(), '{{\"idp_ind\": [50, 1], \"notes\": [\"بئر ماء\", 1], \"ret_hh\": [null, 1]}}'),
               (2, 1, 'op-2', 'enumerator', 'dev-a', 'h2', now(), '{{\"idp_ind\": [55, 2]}}');"
        ))
        .unwrap();
        let before: serde_json::Value =
            c.query_one("SELECT fields::text FROM assessments", &[]).unwrap().get::<_, String>(0).parse().unwrap();

        assert_eq!(migrate(c).unwrap(), MIGRATIONS.len() - 7, "the migrations after 7 run, and only they");

        let types: Vec<String> = c
            .query(
                "SELECT data_type FROM information_schema.columns
                 WHERE table_schema = current_schema() AND column_name = 'fields' ORDER BY table_name",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(types, ["json", "json"], "assessments and changes keep their fields as json now");
        let Json(after): Json<serde_json::Value> = c.query_one("SELECT fields FROM assessments", &[]).unwrap().get(0);
        assert_eq!(after, before, "a document must read back exactly as it was written, Arabic and nulls included");
        let Json(doc): Json<Doc> = c.query_one("SELECT fields FROM assessments", &[]).unwrap().get(0);
        assert_eq!(doc["idp_ind"].1, 2, "HQ reads the json column into its document type");

        // The views for people querying HQ by hand still read every field.
        let value: String = c
            .query_one(
                "SELECT value::text || ' v' || version || ' by ' || author FROM field_values WHERE field = 'idp_ind'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(value, "55 v2 by enumerator", "field_values names the value, its version and who wrote it");
        let history: Vec<String> = c
            .query("SELECT value::text FROM field_history WHERE field = 'idp_ind' ORDER BY version", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(history, ["50", "55"], "field_history keeps each write of the field");

        // lz4 where the server offers it.
        let offers_lz4: bool = c
            .query_one("SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'", &[])
            .unwrap()
            .get(0);
        let compression: Vec<String> = c
            .query(
                "SELECT attcompression::text FROM pg_attribute
                 WHERE attname = 'fields' AND attrelid IN ('assessments'::regclass, 'changes'::regclass)",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let expected = if offers_lz4 { "l" } else { "" };
        assert_eq!(compression, [expected, expected], "documents are compressed with lz4 when the server has it");
    }
}
