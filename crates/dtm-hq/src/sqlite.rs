//! HQ's storage primitives on one SQLite file: the embedded default. One writer
//! connection (SQLite has one writer anyway, which also makes the change sequence
//! follow commit order) and a few read connections beside it: WAL lets them read the
//! last committed state while a write is in progress.

use crate::service::Hq;
use crate::storage::{
    AuditFilter, Caller, DeviceSeen, LoginFailures, NewDevice, NewEnrolment, NewUser, Result, StorageError,
    StoredEnrolment, StoredUser, TokenState,
};
use crate::store::{
    iso, outcome_parse, outcome_str, ChangeAuthor, ChangeFields, DeviceHolder, Doc, DocField, Head, NewAssessment,
    NewChange, NewConflict, OpRecord, SeenOp, Store, Tx,
};
use dtm_core::json::Entries;
use dtm_core::ErrorCode;
use dtm_core::{
    AssessmentKey, AssessmentStatus, FieldValue, Hlc, Pcode, ReviewDecision, Role, Round, RoundStatus, Scope,
};
use dtm_core::{Language, Location};
use dtm_store::sqlite::{self, parse_enum, parse_json, parse_json_map, Durability};
use dtm_sync::accounts::{AuditEntry, DeviceInfo};
use dtm_sync::wire::{
    AssessmentSnapshot, Conflict, ConflictKind, ConflictResolution, ConflictSide, ConflictStatus, RoundForm,
    SettledConflict, User, WireComment, WireField,
};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use time::OffsetDateTime;

pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_hq.sql"),
    include_str!("../migrations/0002_void_conflicts.sql"),
    include_str!("../migrations/0003_documents.sql"),
    include_str!("../migrations/0004_ops_per_device.sql"),
    include_str!("../migrations/0005_login_failures.sql"),
    include_str!("../migrations/0006_accounts.sql"),
    include_str!("../migrations/0007_round_title_ar.sql"),
    include_str!("../migrations/0008_gazetteer.sql"),
    include_str!("../migrations/0009_device_wipe.sql"),
    include_str!("../migrations/0010_store_keys.sql"),
    include_str!("../migrations/0011_settled_seq.sql"),
];

/// The columns [`stored_user`] reads, in its order.
const USER_COLUMNS: &str = "u.username, u.display_name, u.role, u.scope, u.password_hash, u.language, u.disabled_at,
    u.must_change_password, u.created_at, u.created_by";

fn stored_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredUser> {
    Ok(StoredUser {
        user: User {
            username: r.get(0)?,
            display_name: r.get(1)?,
            role: parse_enum(2, &r.get::<_, String>(2)?, Role::parse)?,
            scope: parse_json(3, &r.get::<_, String>(3)?)?,
        },
        password_hash: r.get(4)?,
        language: parse_enum(5, &r.get::<_, String>(5)?, Language::parse)?,
        disabled_at: r.get::<_, Option<String>>(6)?.map(|t| time_of(6, &t)).transpose()?,
        must_change_password: r.get(7)?,
        created_at: time_of(8, &r.get::<_, String>(8)?)?,
        created_by: r.get(9)?,
    })
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// The SQLite backend.
pub struct Sqlite {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    /// Copies the write-ahead log into the file off the writer's path.
    _checkpointer: sqlite::Checkpointer,
}

/// HQ on one SQLite file.
pub type SqliteHq = Hq<Sqlite>;

/// Read connections: as many as the cores, at least two.
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).max(2)
}

impl Sqlite {
    /// Opens (creating and migrating as needed) the HQ database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        // An acknowledged push must survive a power cut: FULL durability.
        let conn = sqlite::open(path, MIGRATIONS, Durability::Full)?;
        // Checkpoints are the checkpointer's, off the writer's path.
        let checkpointer = sqlite::Checkpointer::start(&conn, Connection::open(path)?, "hq-checkpoint")?;
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
            writer: Mutex::new(conn),
            readers,
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            _checkpointer: checkpointer,
        })
    }
}

impl Hq<Sqlite> {
    /// HQ on the SQLite file at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Ok(Hq::new(Sqlite::open(path)?))
    }

    /// Holds the writer until the returned guard is dropped: for tests that show reads
    /// do not wait for a write in progress.
    #[doc(hidden)]
    pub fn hold_writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.store().writer.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for Sqlite {
    fn write<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        // Every write is one transaction, so a panic cannot leave half a change behind.
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&mut SqliteTx(&tx))?;
        // Durable (synchronous=FULL) before the answer leaves HQ.
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T>) -> Result<T> {
        // The first free reader from a rotating start; wait on one only if all are busy.
        let start = self.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let n = self.readers.len();
        let mut conn = (0..n)
            .find_map(|i| self.readers[(start + i) % n].try_lock().ok())
            .unwrap_or_else(|| self.readers[start % n].lock().unwrap_or_else(|p| p.into_inner()));
        // One snapshot for everything the read looks at.
        let tx = conn.transaction()?;
        let out = f(&mut SqliteTx(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

/// The primitives on one open SQLite transaction.
struct SqliteTx<'c>(&'c Connection);

fn round_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Round> {
    let status: String = r.get(3)?;
    let forms: Vec<RoundForm> = parse_json(6, &r.get::<_, String>(6)?)?;
    Ok(Round {
        code: r.get(0)?,
        number: r.get(1)?,
        title: r.get(2)?,
        title_ar: r.get(7)?,
        status: parse_enum(3, &status, RoundStatus::parse)?,
        window_start: r.get(4)?,
        window_end: r.get(5)?,
        forms: forms.into_iter().map(|f| (f.form, f.version)).collect(),
    })
}

fn pcode(column: usize, text: &str) -> rusqlite::Result<Pcode> {
    Pcode::parse(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e)))
}

fn time_of(column: usize, text: &str) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e)))
}

fn json_value(column: usize, s: Option<String>) -> rusqlite::Result<FieldValue> {
    match s {
        Some(s) => parse_json(column, &s),
        None => Ok(FieldValue::Null),
    }
}

fn scope_clause(scope: &Scope) -> (String, Vec<String>) {
    if scope.prefixes().is_empty() {
        return ("0".into(), vec![]);
    }
    let clause = scope.prefixes().iter().map(|_| "location LIKE ? || '%'").collect::<Vec<_>>().join(" OR ");
    (format!("({clause})"), scope.prefixes().to_vec())
}

impl SqliteTx<'_> {
    /// One assessment as the API and devices see it.
    fn snapshot(&self, id: i64) -> Result<AssessmentSnapshot> {
        let conn = self.0;
        let (key, status, form_version, version, doc, open_conflicts) = conn
            .prepare_cached(
                "SELECT round, form, location, status, form_version, version, fields,
                    (SELECT count(*) FROM conflicts c WHERE c.assessment_id = a.id AND c.status = 'open')
                 FROM assessments a WHERE id = ?1",
            )?
            .query_row([id], |r| {
                let key =
                    AssessmentKey { round: r.get(0)?, form: r.get(1)?, location: pcode(2, &r.get::<_, String>(2)?)? };
                let status = parse_enum(3, &r.get::<_, String>(3)?, AssessmentStatus::parse)?;
                let doc = parse_json::<Entries<DocField>>(6, &r.get::<_, String>(6)?)?;
                Ok((key, status, r.get::<_, u32>(4)?, r.get::<_, u64>(5)?, doc, r.get::<_, u32>(7)?))
            })?;
        let fields = Entries(
            doc.0.into_iter().map(|(f, DocField(value, version, _))| (f, WireField { value, version })).collect(),
        )
        .into_map();
        let mut stmt = conn.prepare_cached(
            "SELECT id, author, role, decision, text, at FROM comments WHERE assessment_id = ?1 ORDER BY id",
        )?;
        let comments = stmt
            .query_map([id], |r| {
                Ok(WireComment {
                    id: r.get(0)?,
                    author: r.get(1)?,
                    role: parse_enum(2, &r.get::<_, String>(2)?, Role::parse)?,
                    decision: r
                        .get::<_, Option<String>>(3)?
                        .map(|d| parse_enum(3, &d, ReviewDecision::parse))
                        .transpose()?,
                    text: r.get(4)?,
                    at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(AssessmentSnapshot { key, status, form_version, version, open_conflicts, fields, comments })
    }

    fn ids(&self, sql: &str, bind: Vec<Box<dyn rusqlite::ToSql>>) -> Result<Vec<i64>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(bind.iter()), |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

impl Tx for SqliteTx<'_> {
    fn epoch(&mut self) -> Result<String> {
        Ok(self.0.query_row("SELECT value FROM meta WHERE key = 'epoch'", [], |r| r.get(0))?)
    }

    fn allot_change_seqs(&mut self, n: u32) -> Result<u64> {
        let last: u64 = self
            .0
            .prepare_cached(
                "UPDATE meta SET value = CAST(value AS INTEGER) + ?1 WHERE key = 'change_seq'
                 RETURNING CAST(value AS INTEGER)",
            )?
            .query_row([n], |r| r.get(0))?;
        Ok(last + 1 - u64::from(n))
    }

    fn allot_change_ids(&mut self, _n: u32) -> Result<i64> {
        // One writer at a time (the transaction is IMMEDIATE) and nobody else writes
        // changes, so the ids after the largest are ours until we commit; the service
        // uses a block up before asking again.
        Ok(self.0.prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM changes")?.query_row([], |r| r.get(0))?)
    }

    fn put_user(&mut self, user: &NewUser, at: OffsetDateTime) -> Result<()> {
        self.0.execute(
            "INSERT INTO users (username, display_name, role, scope, password_hash, created_at, language,
               must_change_password, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, role = excluded.role,
               scope = excluded.scope, password_hash = excluded.password_hash, language = excluded.language,
               must_change_password = excluded.must_change_password",
            params![
                user.username,
                user.display_name,
                user.role.as_str(),
                serde_json::to_string(&user.scope).expect("strings serialise"),
                user.password_hash,
                iso(at),
                user.language.as_str(),
                user.must_change_password,
                user.created_by,
            ],
        )?;
        Ok(())
    }

    fn user(&mut self, username: &str) -> Result<Option<StoredUser>> {
        Ok(self
            .0
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?1"))?
            .query_row([username], stored_user)
            .optional()?)
    }

    fn users(&mut self) -> Result<Vec<(StoredUser, u32)>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT {USER_COLUMNS},
               (SELECT count(*) FROM devices d WHERE d.username = u.username AND d.revoked_at IS NULL)
             FROM users u ORDER BY u.username"
        ))?;
        let rows = stmt.query_map([], |r| Ok((stored_user(r)?, r.get(10)?)))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn update_user(
        &mut self,
        username: &str,
        display_name: &str,
        role: Role,
        scope: &[String],
        language: Language,
    ) -> Result<()> {
        self.0.execute(
            "UPDATE users SET display_name = ?2, role = ?3, scope = ?4, language = ?5 WHERE username = ?1",
            params![
                username,
                display_name,
                role.as_str(),
                serde_json::to_string(scope).expect("strings serialise"),
                language.as_str()
            ],
        )?;
        Ok(())
    }

    fn set_disabled(&mut self, username: &str, at: Option<OffsetDateTime>) -> Result<()> {
        self.0.execute("UPDATE users SET disabled_at = ?2 WHERE username = ?1", params![username, at.map(iso)])?;
        Ok(())
    }

    fn set_password(&mut self, username: &str, hash: &str, must_change: bool) -> Result<()> {
        self.0.execute(
            "UPDATE users SET password_hash = ?2, must_change_password = ?3 WHERE username = ?1",
            params![username, hash, must_change],
        )?;
        Ok(())
    }

    fn end_user_sessions(&mut self, username: &str, at: OffsetDateTime) -> Result<u32> {
        // Compared as times in Rust: RFC 3339 text with and without fractions does not sort.
        let live: Vec<(String, String)> = self
            .0
            .prepare_cached("SELECT device_id, expires_at FROM devices WHERE username = ?1 AND revoked_at IS NULL")?
            .query_map([username], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut ended = 0;
        for (device_id, expires) in live {
            if time_of(1, &expires)? > at {
                self.0
                    .execute("UPDATE devices SET expires_at = ?2 WHERE device_id = ?1", params![device_id, iso(at)])?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    fn count_admins(&mut self) -> Result<usize> {
        Ok(self
            .0
            .query_row("SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL", [], |r| r.get(0))?)
    }

    fn insert_enrolment(&mut self, e: &NewEnrolment) -> Result<()> {
        self.0.execute(
            "INSERT INTO enrolments (code_hash, username, created_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![e.code_hash, e.username, e.created_by, iso(e.created_at), iso(e.expires_at)],
        )?;
        Ok(())
    }

    fn enrolment(&mut self, code_hash: &str) -> Result<Option<StoredEnrolment>> {
        Ok(self
            .0
            .query_row("SELECT username, expires_at, used_at FROM enrolments WHERE code_hash = ?1", [code_hash], |r| {
                Ok(StoredEnrolment {
                    username: r.get(0)?,
                    expires_at: time_of(1, &r.get::<_, String>(1)?)?,
                    used_at: r.get::<_, Option<String>>(2)?.map(|t| time_of(2, &t)).transpose()?,
                })
            })
            .optional()?)
    }

    fn use_enrolment(&mut self, code_hash: &str, at: OffsetDateTime, device_id: &str) -> Result<()> {
        self.0.execute(
            "UPDATE enrolments SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1",
            params![code_hash, iso(at), device_id],
        )?;
        Ok(())
    }

    fn active_devices(&mut self, username: &str) -> Result<u32> {
        Ok(self
            .0
            .prepare_cached("SELECT count(*) FROM devices WHERE username = ?1 AND revoked_at IS NULL")?
            .query_row([username], |r| r.get(0))?)
    }

    fn devices(&mut self) -> Result<Vec<DeviceInfo>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT d.device_id, d.username, u.display_name, d.name, d.app_version, d.created_at, d.last_sync_at,
               d.pending_ops, d.revoked_at, d.expires_at, d.wipe_requested_at IS NOT NULL
             FROM devices d JOIN users u ON u.username = d.username
             ORDER BY d.last_sync_at IS NULL, d.last_sync_at DESC, d.created_at DESC",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DeviceInfo {
                    device_id: r.get(0)?,
                    username: r.get(1)?,
                    display_name: r.get(2)?,
                    name: r.get(3)?,
                    app_version: r.get(4)?,
                    first_seen_at: r.get(5)?,
                    last_sync_at: r.get(6)?,
                    pending_ops: r.get(7)?,
                    revoked_at: r.get(8)?,
                    expires_at: r.get(9)?,
                    wipe: r.get(10)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn device_seen(&mut self, device_id: &str, seen: &DeviceSeen) -> Result<()> {
        self.0.execute(
            "UPDATE devices SET last_sync_at = ?2, app_version = coalesce(?3, app_version),
               pending_ops = coalesce(?4, pending_ops) WHERE device_id = ?1",
            params![device_id, seen.at.map(iso), seen.app_version, seen.pending_ops],
        )?;
        Ok(())
    }

    fn audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        // Times are compared in Rust (RFC 3339 text with and without fractions does not
        // sort); the id orders the log, so the scan stops at `limit` matches.
        let mut stmt = self.0.prepare_cached(
            "SELECT id, at, actor, action, target FROM access_log
             WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR id < ?3)
             ORDER BY id DESC",
        )?;
        let mut rows = stmt.query(params![f.actor, f.action, f.before])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let at = time_of(1, &r.get::<_, String>(1)?)?;
            if f.to.is_some_and(|to| at >= to) {
                continue;
            }
            if f.from.is_some_and(|from| at < from) {
                break;
            }
            out.push(AuditEntry { id: r.get(0)?, at: iso(at), actor: r.get(2)?, action: r.get(3)?, target: r.get(4)? });
            if out.len() >= f.limit as usize {
                break;
            }
        }
        Ok(out)
    }

    fn device(&mut self, device_id: &str) -> Result<Option<DeviceHolder>> {
        Ok(self
            .0
            .query_row("SELECT username, revoked_at IS NOT NULL FROM devices WHERE device_id = ?1", [device_id], |r| {
                Ok(DeviceHolder { username: r.get(0)?, revoked: r.get(1)? })
            })
            .optional()?)
    }

    fn store_keys(&mut self, store_id: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT username, store_key FROM store_keys WHERE store_id = ?1 ORDER BY created_at")?;
        let rows = stmt.query_map([store_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn insert_store_key(&mut self, store_id: &str, username: &str, key: &str, at: OffsetDateTime) -> Result<()> {
        self.0.execute(
            "INSERT INTO store_keys (store_id, username, store_key, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![store_id, username, key, iso(at)],
        )?;
        Ok(())
    }

    fn insert_device(&mut self, d: &NewDevice) -> Result<()> {
        self.0.execute(
            "INSERT INTO devices (device_id, username, name, token_hash, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![d.device_id, d.username, d.name, d.token_hash, iso(d.created_at), iso(d.expires_at)],
        )?;
        Ok(())
    }

    fn renew_device(&mut self, d: &NewDevice) -> Result<()> {
        self.0.execute(
            "UPDATE devices SET token_hash = ?2, name = ?3, expires_at = ?4 WHERE device_id = ?1",
            params![d.device_id, d.token_hash, d.name, iso(d.expires_at)],
        )?;
        Ok(())
    }

    fn caller(&mut self, token_hash: &str, now: OffsetDateTime) -> Result<Option<Caller>> {
        let row = self
            .0
            .prepare_cached(
                "SELECT u.username, u.display_name, u.role, u.scope, d.device_id, d.expires_at, d.revoked_at IS NOT NULL,
                   u.disabled_at IS NOT NULL, u.must_change_password, d.last_sync_at, d.app_version, d.pending_ops,
                   d.wipe_requested_at IS NOT NULL
                 FROM devices d JOIN users u ON u.username = d.username
                 WHERE d.token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok((
                    Caller {
                        username: r.get(0)?,
                        display_name: r.get(1)?,
                        role: parse_enum(2, &r.get::<_, String>(2)?, Role::parse)?,
                        scope: Scope::new(parse_json::<Vec<String>>(3, &r.get::<_, String>(3)?)?),
                        device_id: r.get(4)?,
                        state: TokenState {
                            device_revoked: r.get(6)?,
                            account_disabled: r.get(7)?,
                            must_change_password: r.get(8)?,
                            wipe_requested: r.get(12)?,
                        },
                        seen: DeviceSeen {
                            at: r.get::<_, Option<String>>(9)?.map(|t| time_of(9, &t)).transpose()?,
                            app_version: r.get(10)?,
                            pending_ops: r.get(11)?,
                        },
                    },
                    time_of(5, &r.get::<_, String>(5)?)?,
                ))
            })
            .optional()?;
        // Compared as times: RFC 3339 text with and without fractions does not sort.
        Ok(row.filter(|(_, expires)| *expires > now).map(|(caller, _)| caller))
    }

    fn revoke_device(&mut self, device_id: &str, wipe: bool, at: OffsetDateTime) -> Result<bool> {
        let n = self.0.execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2),
               wipe_requested_at = CASE WHEN ?3 THEN coalesce(wipe_requested_at, ?2) ELSE wipe_requested_at END
             WHERE device_id = ?1",
            params![device_id, iso(at), wipe],
        )?;
        Ok(n > 0)
    }

    fn end_session(&mut self, token_hash: &str, at: OffsetDateTime) -> Result<bool> {
        let live: Option<(String, String)> = self
            .0
            .query_row(
                "SELECT device_id, expires_at FROM devices WHERE token_hash = ?1 AND revoked_at IS NULL",
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((device_id, expires)) = live else { return Ok(false) };
        if time_of(1, &expires)? <= at {
            return Ok(false);
        }
        // An expiry of now ends the token; a later login of the device sets a new one.
        self.0.execute("UPDATE devices SET expires_at = ?2 WHERE device_id = ?1", params![device_id, iso(at)])?;
        Ok(true)
    }

    fn login_failures(&mut self, username: &str) -> Result<LoginFailures> {
        let row: Option<(u32, Option<String>)> = self
            .0
            .prepare_cached("SELECT failures, locked_until FROM login_failures WHERE username = ?1")?
            .query_row([username], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((count, locked_until)) = row else { return Ok(LoginFailures::default()) };
        Ok(LoginFailures { count, locked_until: locked_until.map(|t| time_of(1, &t)).transpose()? })
    }

    fn put_login_failures(&mut self, username: &str, f: &LoginFailures) -> Result<()> {
        self.0.execute(
            "INSERT INTO login_failures (username, failures, locked_until) VALUES (?1, ?2, ?3)
             ON CONFLICT (username) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
            params![username, f.count, f.locked_until.map(iso)],
        )?;
        Ok(())
    }

    fn clear_login_failures(&mut self, username: &str) -> Result<()> {
        self.0.execute("DELETE FROM login_failures WHERE username = ?1", [username])?;
        Ok(())
    }

    fn round(&mut self, code: &str) -> Result<Option<Round>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT code, number, title, status, window_start, window_end, forms, title_ar FROM rounds WHERE code = ?1",
            )?
            .query_row([code], round_from_row)
            .optional()?)
    }

    fn rounds(&mut self) -> Result<Vec<Round>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT code, number, title, status, window_start, window_end, forms, title_ar FROM rounds ORDER BY number DESC",
        )?;
        let rows = stmt.query_map([], round_from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn round_taken(&mut self, code: &str, number: u32) -> Result<bool> {
        Ok(self.0.query_row(
            "SELECT count(*) > 0 FROM rounds WHERE code = ?1 OR number = ?2",
            params![code, number],
            |r| r.get(0),
        )?)
    }

    fn write_round(&mut self, round: &Round) -> Result<()> {
        let forms = dtm_sync::wire::RoundInfo::from(round).forms;
        self.0.execute(
            "INSERT INTO rounds (code, number, title, status, window_start, window_end, forms, title_ar)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (code) DO UPDATE SET title = excluded.title, status = excluded.status,
               window_start = excluded.window_start, window_end = excluded.window_end, forms = excluded.forms,
               title_ar = excluded.title_ar",
            params![
                round.code,
                round.number,
                round.title,
                round.status.as_str(),
                round.window_start,
                round.window_end,
                serde_json::to_string(&forms).expect("forms serialise"),
                round.title_ar
            ],
        )?;
        Ok(())
    }

    fn set_round_status(&mut self, code: &str, status: RoundStatus) -> Result<bool> {
        Ok(self.0.execute("UPDATE rounds SET status = ?2 WHERE code = ?1", params![code, status.as_str()])? > 0)
    }

    fn head(&mut self, key: &AssessmentKey) -> Result<Option<Head>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT id, status, form_version FROM assessments WHERE round = ?1 AND form = ?2 AND location = ?3",
            )?
            .query_row(params![key.round, key.form, key.location.as_str()], |r| {
                Ok(Head {
                    id: r.get(0)?,
                    status: parse_enum(1, &r.get::<_, String>(1)?, AssessmentStatus::parse)?,
                    form_version: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn doc(&mut self, id: i64) -> Result<Doc> {
        let text: String =
            self.0.prepare_cached("SELECT fields FROM assessments WHERE id = ?1")?.query_row([id], |r| r.get(0))?;
        Ok(parse_json_map(0, &text)?)
    }

    fn heads(&mut self, keys: &[&AssessmentKey]) -> Result<HashMap<AssessmentKey, Head>> {
        let mut heads = HashMap::new();
        for key in keys {
            if let Some(head) = self.head(key)? {
                heads.insert((*key).clone(), head);
            }
        }
        Ok(heads)
    }

    fn insert_assessment(&mut self, a: &NewAssessment<'_>, first: &NewChange<'_>) -> Result<i64> {
        self.0
            .prepare_cached(
                "INSERT INTO assessments (round, form, location, status, form_version, version, change_seq,
                   created_at, updated_at, fields)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?7, ?8)",
            )?
            .execute(params![
                a.key.round,
                a.key.form,
                a.key.location.as_str(),
                a.status.as_str(),
                a.form_version,
                a.change_seq,
                iso(a.at),
                a.doc
            ])?;
        let id = self.0.last_insert_rowid();
        self.insert_change(&NewChange { assessment_id: id, ..*first })?;
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
        match doc {
            Some(doc) => self
                .0
                .prepare_cached(
                    "UPDATE assessments SET status = ?2, version = version + 1, change_seq = ?3, updated_at = ?4,
                       fields = ?5
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    status.as_str(),
                    change_seq,
                    iso(at),
                    serde_json::to_string(doc).expect("values serialise")
                ])?,
            None => self
                .0
                .prepare_cached(
                    "UPDATE assessments SET status = ?2, version = version + 1, change_seq = ?3, updated_at = ?4
                     WHERE id = ?1",
                )?
                .execute(params![id, status.as_str(), change_seq, iso(at)])?,
        };
        Ok(())
    }

    fn insert_change(&mut self, c: &NewChange<'_>) -> Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO changes (id, assessment_id, op_id, author, device_id, hlc, at, fields)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                c.id,
                c.assessment_id,
                c.op_id,
                c.author,
                c.device,
                c.hlc.encode(),
                iso(c.at),
                serde_json::to_string(c.fields).expect("values serialise")
            ])?;
        Ok(())
    }

    fn change_author(&mut self, change_id: i64) -> Result<Option<ChangeAuthor>> {
        Ok(self
            .0
            .prepare_cached("SELECT author, device_id, hlc FROM changes WHERE id = ?1")?
            .query_row([change_id], |r| {
                Ok(ChangeAuthor {
                    author: r.get(0)?,
                    device: r.get(1)?,
                    hlc: sqlite::parse_hlc(2, &r.get::<_, String>(2)?)?,
                })
            })
            .optional()?)
    }

    fn change_fields(&mut self, assessment_id: i64) -> Result<Vec<ChangeFields>> {
        let mut stmt = self.0.prepare_cached("SELECT fields FROM changes WHERE assessment_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([assessment_id], |r| parse_json(0, &r.get::<_, String>(0)?))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn entered_figures(&mut self, assessment_id: i64, username: &str) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM changes WHERE assessment_id = ?1 AND author = ?2 AND op_id IS NOT NULL)",
            )?
            .query_row(params![assessment_id, username], |r| r.get(0))?)
    }

    fn snapshots(&mut self, ids: &[i64]) -> Result<Vec<AssessmentSnapshot>> {
        // In-process, a statement per assessment costs microseconds.
        ids.iter().map(|id| self.snapshot(*id)).collect()
    }

    fn previous_assessment(&mut self, key: &AssessmentKey) -> Result<Option<(i64, String)>> {
        Ok(self
            .0
            .prepare_cached(
                // CROSS JOIN keeps SQLite to this order: the rounds from the one
                // before downwards, each probed in the (round, form, location) index,
                // stopping at the first hit; not every assessment of the location.
                "SELECT a.id, a.round FROM rounds r
                 CROSS JOIN assessments a ON a.round = r.code AND a.form = ?1 AND a.location = ?2
                 WHERE r.number < (SELECT number FROM rounds WHERE code = ?3)
                 ORDER BY r.number DESC LIMIT 1",
            )?
            .query_row(params![key.form, key.location.as_str(), key.round], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn children(&mut self, round: &str, form: &str, location: &str) -> Result<Vec<i64>> {
        self.ids(
            "SELECT id FROM assessments WHERE round = ?1 AND form = ?2 AND location LIKE ?3 || '%' AND location != ?3",
            vec![Box::new(round.to_owned()), Box::new(form.to_owned()), Box::new(location.to_owned())],
        )
    }

    fn changed_after(&mut self, scope: &Scope, after: u64, limit: u32) -> Result<Vec<(i64, u64)>> {
        let (clause, args) = scope_clause(scope);
        let sql = format!(
            "SELECT id, change_seq FROM assessments WHERE change_seq > ? AND {clause} ORDER BY change_seq LIMIT ?"
        );
        let mut bind: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(after as i64)];
        bind.extend(args.into_iter().map(|a| Box::new(a) as Box<dyn rusqlite::ToSql>));
        bind.push(Box::new(i64::from(limit)));
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(bind.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn round_assessment_ids(&mut self, round: &str, scope: &Scope) -> Result<Vec<i64>> {
        let (clause, args) = scope_clause(scope);
        let mut bind: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(round.to_owned())];
        bind.extend(args.into_iter().map(|a| Box::new(a) as Box<dyn rusqlite::ToSql>));
        self.ids(&format!("SELECT id FROM assessments WHERE round = ? AND {clause} ORDER BY location, form"), bind)
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
        self.0.execute(
            "INSERT INTO comments (assessment_id, author, role, decision, text, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![assessment_id, author, role.as_str(), decision.map(ReviewDecision::as_str), text, iso(at)],
        )?;
        Ok(())
    }

    fn insert_conflict(&mut self, c: &NewConflict<'_>) -> Result<()> {
        let (value, version, author, device, hlc) = match c.current {
            Some(cur) => (cur.value.to_string(), cur.version, cur.author.as_str(), cur.device.as_str(), cur.hlc),
            None => ("null".to_owned(), 0, "", "", Hlc::default()),
        };
        self.0.execute(
            "INSERT INTO conflicts (assessment_id, field, base_version, base_value, current_value, current_version,
               current_author, current_device, current_hlc, incoming_value, incoming_author, incoming_device,
               incoming_hlc, op_id, created_at, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                c.assessment_id,
                c.field,
                c.base_version,
                c.base_value.map(|v| v.to_string()),
                value,
                version,
                author,
                device,
                hlc.encode(),
                c.incoming_value.to_string(),
                c.incoming_author,
                c.incoming_device,
                c.incoming_hlc.encode(),
                c.op_id,
                iso(c.at),
                c.kind.as_str()
            ],
        )?;
        Ok(())
    }

    fn conflict(&mut self, id: i64) -> Result<Option<(Conflict, i64)>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT c.id, a.round, a.form, a.location, c.field, c.base_value, c.current_value, c.current_author,
                    c.current_device, c.current_hlc, c.incoming_value, c.incoming_author, c.incoming_device,
                    c.incoming_hlc, c.created_at, c.status, c.resolution_value, c.resolved_by, c.resolution_reason,
                    c.resolved_at, c.kind, c.assessment_id
                 FROM conflicts c JOIN assessments a ON a.id = c.assessment_id WHERE c.id = ?1",
            )?
            .query_row([id], |r| {
                let resolved_by: Option<String> = r.get(17)?;
                let conflict = Conflict {
                    id: r.get(0)?,
                    key: AssessmentKey {
                        round: r.get(1)?,
                        form: r.get(2)?,
                        location: pcode(3, &r.get::<_, String>(3)?)?,
                    },
                    field: r.get(4)?,
                    base_value: json_value(5, r.get(5)?)?,
                    current: ConflictSide {
                        value: json_value(6, r.get(6)?)?,
                        author: r.get(7)?,
                        device: r.get(8)?,
                        hlc: r.get(9)?,
                        author_name: None,
                        device_name: None,
                    },
                    incoming: ConflictSide {
                        value: json_value(10, r.get(10)?)?,
                        author: r.get(11)?,
                        device: r.get(12)?,
                        hlc: r.get(13)?,
                        author_name: None,
                        device_name: None,
                    },
                    created_at: r.get(14)?,
                    status: parse_enum(15, &r.get::<_, String>(15)?, ConflictStatus::parse)?,
                    resolution: match resolved_by {
                        Some(by) => Some(ConflictResolution {
                            value: json_value(16, r.get(16)?)?,
                            by,
                            reason: r.get::<_, Option<String>>(18)?.unwrap_or_default(),
                            at: r.get::<_, Option<String>>(19)?.unwrap_or_default(),
                        }),
                        None => None,
                    },
                    kind: parse_enum(20, &r.get::<_, String>(20)?, ConflictKind::parse)?,
                    previous: None,
                };
                Ok((conflict, r.get(21)?))
            })
            .optional()?)
    }

    fn conflict_ids(&mut self, round: &str, scope: &Scope) -> Result<Vec<i64>> {
        let (clause, args) = scope_clause(scope);
        let mut bind: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(round.to_owned())];
        bind.extend(args.into_iter().map(|a| Box::new(a) as Box<dyn rusqlite::ToSql>));
        self.ids(
            &format!(
                "SELECT c.id FROM conflicts c JOIN assessments a ON a.id = c.assessment_id
                 WHERE a.round = ? AND {clause} ORDER BY c.status = 'resolved', c.id"
            ),
            bind,
        )
    }

    fn open_conflicts(&mut self, assessment_id: i64) -> Result<usize> {
        Ok(self.0.query_row(
            "SELECT count(*) FROM conflicts WHERE assessment_id = ?1 AND status = 'open'",
            [assessment_id],
            |r| r.get(0),
        )?)
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
        self.0.execute(
            "UPDATE conflicts SET status = 'resolved', resolved_by = ?2, resolution_value = ?3, resolution_reason = ?4,
               resolved_at = ?5, resolved_seq = ?6 WHERE id = ?1",
            params![id, by, value.to_string(), reason, iso(at), seq],
        )?;
        Ok(())
    }

    fn settled_for_device(&mut self, device_id: &str, after: u64, limit: u32) -> Result<Vec<(u64, SettledConflict)>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT c.resolved_seq, a.round, a.form, a.location, c.field,
               CASE WHEN c.incoming_device = ?1 THEN c.incoming_value ELSE c.current_value END,
               c.resolution_value, c.resolved_by, coalesce(u.display_name, c.resolved_by), c.resolution_reason,
               c.resolved_at, c.kind
             FROM conflicts c JOIN assessments a ON a.id = c.assessment_id
             LEFT JOIN users u ON u.username = c.resolved_by
             WHERE c.resolved_seq > ?2
               AND (c.incoming_device = ?1 OR (c.kind = 'value' AND c.current_device = ?1))
             ORDER BY c.resolved_seq LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![device_id, after as i64, limit], |r| {
                let location: String = r.get(3)?;
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    SettledConflict {
                        key: AssessmentKey::new(
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            Pcode::parse(&location).map_err(|e| {
                                rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
                            })?,
                        ),
                        kind: parse_enum(11, &r.get::<_, String>(11)?, ConflictKind::parse)?,
                        field: r.get(4)?,
                        yours: parse_json(5, &r.get::<_, String>(5)?)?,
                        settled: parse_json(6, &r.get::<_, String>(6)?)?,
                        by: r.get(7)?,
                        by_name: r.get(8)?,
                        reason: r.get(9)?,
                        at: r.get(10)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn seen_ops(&mut self, device_id: &str, op_ids: &[&str]) -> Result<HashMap<String, SeenOp>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT outcome, code, reason, payload_hash FROM ops WHERE device_id = ?1 AND op_id = ?2",
        )?;
        let mut seen = HashMap::new();
        for op_id in op_ids {
            let answer = stmt
                .query_row(params![device_id, op_id], |r| {
                    Ok(SeenOp {
                        outcome: parse_enum(0, &r.get::<_, String>(0)?, outcome_parse)?,
                        code: r.get::<_, Option<String>>(1)?.map(|c| ErrorCode::parse(&c)),
                        reason: r.get(2)?,
                        payload_hash: r.get(3)?,
                    })
                })
                .optional()?;
            if let Some(answer) = answer {
                seen.insert((*op_id).to_owned(), answer);
            }
        }
        Ok(seen)
    }

    fn record_ops(&mut self, ops: &[OpRecord<'_>]) -> Result<()> {
        let mut stmt = self.0.prepare_cached(
            "INSERT INTO ops (device_id, op_id, seq, outcome, code, reason, received_at, payload_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for op in ops {
            stmt.execute(params![
                op.device_id,
                op.op_id,
                op.seq,
                outcome_str(op.outcome),
                op.code.map(ErrorCode::as_str),
                op.reason,
                iso(op.at),
                op.payload_hash
            ])?;
        }
        Ok(())
    }

    fn location_changes(&mut self, after: u64) -> Result<Vec<(u64, Location)>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT seq, pcode, name_en, name_ar, kind, lat, lon, retired FROM location_changes
             WHERE seq > ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([after as i64])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let location = Location {
                pcode: pcode(1, &r.get::<_, String>(1)?)?,
                name_en: r.get(2)?,
                name_ar: r.get(3)?,
                kind: r.get(4)?,
                lat: r.get(5)?,
                lon: r.get(6)?,
                retired: r.get::<_, i64>(7)? != 0,
            };
            out.push((r.get::<_, i64>(0)? as u64, location));
        }
        Ok(out)
    }

    fn insert_location_change(&mut self, seq: u64, l: &Location, by: &str, at: OffsetDateTime) -> Result<()> {
        self.0.execute(
            "INSERT INTO location_changes (seq, pcode, name_en, name_ar, kind, lat, lon, retired, changed_by, changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![seq as i64, l.pcode.as_str(), l.name_en, l.name_ar, l.kind, l.lat, l.lon, l.retired as i64, by, iso(at)],
        )?;
        Ok(())
    }

    fn log_access(&mut self, at: OffsetDateTime, actor: &str, action: &str, target: &str) -> Result<()> {
        self.0.execute(
            "INSERT INTO access_log (at, actor, action, target) VALUES (?1, ?2, ?3, ?4)",
            params![iso(at), actor, action, target],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::HqStorage;
    use dtm_sync::wire::{OpBody, Operation, Outcome};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_790_000_000 + seconds).unwrap()
    }

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

    #[test]
    fn hqs_writer_leaves_its_checkpoints_to_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let hq = SqliteHq::open(&dir.path().join("hq.sqlite3")).unwrap();
        let auto: i64 = hq.hold_writer().query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(
            auto, 0,
            "SQLite's own checkpoint runs inside the commit, under the writer lock every push waits on: \
             HQ's writer must leave it to dtm_store's Checkpointer (whose tests show the log copied and bounded)"
        );
    }

    fn caller(device: &str) -> Caller {
        Caller {
            username: format!("user-{device}"),
            display_name: device.into(),
            role: Role::Enumerator,
            scope: Scope::new(["LY02"]),
            device_id: device.into(),
            state: TokenState::default(),
            seen: DeviceSeen::default(),
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
        let results = hq.push(&caller("devB"), vec![edit(1, 3_000, "idp_hh", json!(9), 1)], at(2)).await.unwrap();
        assert_eq!(results[0].outcome, Outcome::Conflict, "{results:?}");
        let conflict = hq.conflicts("R1", &Scope::new(["LY"])).await.unwrap().pop().unwrap();
        assert_eq!(conflict.base_value, json!(3), "the base value is found in the migrated history");
        assert_eq!((conflict.current.author.as_str(), conflict.current.device.as_str()), ("user-devA", "devA"));

        // The device that wrote version 2 goes on from its own chain: its later edit applies.
        let results = hq.push(&caller("devA"), vec![edit(3, 4_000, "idp_hh", json!(6), 1)], at(3)).await.unwrap();
        assert_eq!(results[0].outcome, Outcome::Applied, "the migrated device id still marks its own chain");
        let snap = hq.assessment(&key).await.unwrap().unwrap();
        assert_eq!(snap.fields["idp_hh"], WireField { value: json!(6), version: 3 });
        let conn = hq.hold_writer();
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
