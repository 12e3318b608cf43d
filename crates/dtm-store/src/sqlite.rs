//! The one way dtm-field opens SQLite, on the device and at HQ: WAL, foreign keys,
//! a busy timeout, and numbered migrations applied all-or-nothing, with
//! `PRAGMA user_version` guarding against an older binary opening a newer database.

use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "this database was written by a newer dtm-field (schema version {found}; this program knows up to {known}). \
         Update the app; the data has not been touched."
    )]
    TooNew { found: i64, known: i64 },
    #[error("migration {number} failed: {source}")]
    Migration { number: usize, source: rusqlite::Error },
    #[error("the store cannot be read with this key (it is encrypted with another one, or is not a store)")]
    WrongKey,
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Reads a JSON column; text that is not the expected JSON is a conversion error naming
/// the column, never a silent default.
pub fn parse_json<T: serde::de::DeserializeOwned>(column: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e)))
}

/// Reads a JSON object column into a map, built at once ([`Entries`]), never a silent
/// default.
pub fn parse_json_map<V: serde::de::DeserializeOwned>(
    column: usize,
    text: &str,
) -> rusqlite::Result<std::collections::BTreeMap<String, V>> {
    parse_json::<Entries<V>>(column, text).map(Entries::into_map)
}

use dtm_core::json::Entries;

/// Reads a hybrid logical clock stamp column: a stamp that does not parse is a
/// conversion error, never a silent zero that would lose every ordering decision.
pub fn parse_hlc(column: usize, text: &str) -> rusqlite::Result<dtm_core::Hlc> {
    parse_enum(column, text, dtm_core::Hlc::decode)
}

/// Reads an enum column (a status, a role) through its checked parser: text it does
/// not know is a conversion error naming the column, never a silent default such as
/// `Draft` that would change what the row means.
pub fn parse_enum<T>(column: usize, text: &str, parse: impl FnOnce(&str) -> Option<T>) -> rusqlite::Result<T> {
    parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("`{text}` is not a value this column may hold").into(),
        )
    })
}

/// How hard SQLite works to make each commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// WAL + synchronous=NORMAL: a power cut loses at most the last commits, never corrupts.
    Normal,
    /// synchronous=FULL: for commits that are acknowledged to someone else (HQ push).
    Full,
}

/// Copies a database's write-ahead log into its file on a thread of its own, so that
/// no commit waits for it. SQLite's automatic checkpoint runs inside the commit that
/// crosses its threshold: about a tenth of HQ's time in a large push, and a quarter of
/// a device's time writing a large pull. With a `Checkpointer`, the connection it
/// watches has that automatic checkpoint turned off; a commit that leaves
/// [`Checkpointer::WAKE_AT`] frames or more in the log wakes the thread, which runs a
/// passive checkpoint through a connection of its own. A passive checkpoint never
/// blocks a writer or a reader (nor takes the write lock, which would make a
/// transaction that read first fail at once with `SQLITE_BUSY`); what it cannot copy
/// yet it copies on a later try.
pub struct Checkpointer {
    wake: Wake,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The wake of the checkpointer whose connection is committing on this thread. SQLite
/// calls the commit hook as a commit begins and the WAL hook once it is in the log, on
/// the same thread; rusqlite takes the WAL hook as a plain function, which cannot carry
/// its own checkpointer, so the commit hook leaves it here for it.
type Wake = std::sync::mpsc::SyncSender<()>;
thread_local! {
    static COMMITTING: std::cell::RefCell<Option<Wake>> = const { std::cell::RefCell::new(None) };
}

/// The WAL hook: a commit is in the log, which now holds `pages` frames.
fn committed(wal: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    let wake = COMMITTING.with(|c| c.borrow_mut().take());
    if pages >= Checkpointer::WAKE_AT {
        if let Some(wake) = wake {
            // Full: a wake is already pending.
            let _ = wake.try_send(());
        }
    }
    if pages >= Checkpointer::RESTART_AT {
        // Passive: busy when the thread is at it, and then the next commit tries.
        let _ = wal.checkpoint();
    }
    Ok(())
}

impl Checkpointer {
    /// At most one checkpoint this often, so that a stream of small commits does not
    /// turn into a stream of fsyncs of the database file.
    pub const PAUSE: std::time::Duration = std::time::Duration::from_millis(50);
    /// Frames in the log (4 MiB of pages, SQLite's own threshold) from which a commit
    /// wakes the thread: a tablet's saves do not each cost a checkpoint and its fsync.
    pub const WAKE_AT: std::ffi::c_int = 1000;
    /// Frames in the log (16 MiB) at which a commit also checkpoints, in line, what
    /// the thread has not copied yet. A log starts again from its beginning only at a
    /// write that finds it wholly copied, which a thread running beside a steady stream
    /// of writes never sees: without this, a day of saves or a long push grows the log
    /// without bound (2.4 GB after 50,000 saves, measured).
    pub const RESTART_AT: std::ffi::c_int = 4096;
    /// Tries after a checkpoint that left frames behind, before waiting for a commit.
    const RETRIES: u32 = 25;

    /// Takes over the checkpoints of `watched`'s database, running them through
    /// `own`: another connection to the same file (keyed, for an encrypted store).
    /// The thread ends when the `Checkpointer` is dropped.
    pub fn start(watched: &Connection, own: Connection, name: &str) -> rusqlite::Result<Self> {
        use std::sync::atomic::Ordering;
        own.busy_timeout(std::time::Duration::from_secs(10))?;
        // Turning SQLite's own checkpoint off also removes its WAL hook: set ours after.
        watched.pragma_update(None, "wal_autocheckpoint", 0)?;
        // One pending wake is enough: commits while a checkpoint runs share the next one.
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let mine = wake.clone();
        watched.commit_hook(Some(move || {
            COMMITTING.with(|c| *c.borrow_mut() = Some(mine.clone()));
            false
        }));
        watched.wal_hook(Some(committed));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut last: Option<std::time::Instant> = None;
                let mut retries = 0;
                loop {
                    // A commit, or a retry of frames left behind.
                    let waited =
                        if retries > 0 { woken.recv_timeout(Self::PAUSE).is_ok() } else { woken.recv().is_ok() };
                    if stopped.load(Ordering::Relaxed) || (retries == 0 && !waited) {
                        break;
                    }
                    if let Some(wait) = last.map(|t| Self::PAUSE.saturating_sub(t.elapsed())).filter(|w| !w.is_zero()) {
                        // Too soon after the last one: wait, unless stopped meanwhile.
                        let _ = woken.recv_timeout(wait);
                        if stopped.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    let copied = own.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    });
                    last = Some(std::time::Instant::now());
                    retries = match copied {
                        // Frames in the log that are not in the file yet: try again soon.
                        Ok((log, done)) if log > done && retries < Self::RETRIES => retries + 1,
                        Ok(_) => 0,
                        Err(e) => {
                            tracing::warn!(
                                "checkpointing the write-ahead log failed (the next commit tries again): {e}"
                            );
                            0
                        }
                    };
                }
            })
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Self { wake, stop, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    /// Stops the thread and waits for it, so that its connection is closed when the
    /// store is (a wiped store's files can then be removed, on any system).
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Full: a wake is pending, and the thread sees `stop` when it takes it.
        let _ = self.wake.try_send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Opens (creating if need be) a SQLite database and brings it to the newest schema.
/// `migrations[i]` is migration number `i + 1`.
pub fn open(path: &Path, migrations: &[&str], durability: Durability) -> Result<Connection, OpenError> {
    let mut conn = Connection::open(path)?;
    configure(&conn, durability)?;
    migrate(&mut conn, migrations)?;
    Ok(conn)
}

/// Opens (creating if need be) a store encrypted with SQLCipher under `key`, and
/// brings it to the newest schema. A wrong key is [`OpenError::WrongKey`], found
/// before anything is written.
pub fn open_encrypted(
    path: &Path,
    key: &crate::vault::DataKey,
    migrations: &[&str],
    durability: Durability,
) -> Result<Connection, OpenError> {
    let mut conn = connect_encrypted(path, key)?;
    configure(&conn, durability)?;
    migrate(&mut conn, migrations)?;
    Ok(conn)
}

/// A connection to the store encrypted under `key` at `path`, as it is: no settings,
/// no migrations (a second connection beside the one [`open_encrypted`] gave).
pub fn connect_encrypted(path: &Path, key: &crate::vault::DataKey) -> Result<Connection, OpenError> {
    let conn = Connection::open(path)?;
    // The key must be the first statement on the connection; SQLCipher reads nothing
    // until a page is needed, so the check that it is right is the read just after.
    conn.pragma_update(None, "key", &*key.sqlcipher_key())?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            Err(OpenError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the file at `path` is a plain (unencrypted) SQLite database: its first
/// 16 bytes are SQLite's header. An encrypted store's first bytes are random.
pub fn is_plain(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    let mut f = std::fs::File::open(path)?;
    match f.read_exact(&mut header) {
        Ok(()) => Ok(&header == b"SQLite format 3\0"),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// The files SQLite keeps beside a database in WAL mode: its write-ahead log and the
/// log's shared index. They belong to the database wherever it goes.
pub const COMPANION_SUFFIXES: [&str; 2] = ["-wal", "-shm"];

/// The file named as `path` with `suffix` added (`device.sqlite3` → `device.sqlite3-wal`).
pub fn sibling(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// Encrypts a plain store under `key`, in place: every table is copied into an
/// encrypted sibling file (SQLCipher's `sqlcipher_export`), which is then renamed
/// over the plain one. A crash before the rename leaves the plain store as it was,
/// and the next open does it again; nothing is lost either way.
pub fn encrypt_in_place(path: &Path, key: &crate::vault::DataKey) -> Result<(), OpenError> {
    let tmp = sibling(path, ".encrypting");
    let _ = std::fs::remove_file(&tmp);
    {
        let conn = Connection::open(path)?;
        // Fold the write-ahead log into the file first, so the copy has every commit.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![tmp.to_string_lossy(), &*key.sqlcipher_key()],
        )?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.execute_batch(&format!("PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"))?;
    }
    if let Ok(f) = std::fs::File::open(&tmp) {
        f.sync_all().map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    }
    for suffix in COMPANION_SUFFIXES {
        let _ = std::fs::remove_file(sibling(path, suffix));
    }
    std::fs::rename(&tmp, path).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    Ok(())
}

pub fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Up to 32 MiB of pages kept in memory (SQLite's default is 2 MiB): a store of a
    // hundred thousand assessments otherwise rereads its indexes from disk on every
    // write. Pages are cached only as they are read.
    conn.pragma_update(None, "cache_size", -32 * 1024)?;
    Ok(())
}

pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), OpenError> {
    let known = migrations.len() as i64;
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > known {
        return Err(OpenError::TooNew { found, known });
    }
    if found == known {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    for (i, sql) in migrations.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql).map_err(|source| OpenError::Migration { number: i + 1, source })?;
    }
    tx.pragma_update(None, "user_version", known)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "CREATE TABLE a (x INTEGER);";
    const V2: &str = "CREATE TABLE b (y INTEGER);";

    /// Threads of this process with the given name (Linux: `/proc/self/task/*/comm`).
    fn threads_named(name: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|comm| comm.trim_end() == name)
            .count()
    }

    #[test]
    fn a_large_commits_pages_reach_the_database_file_with_no_commit_after_it_and_small_ones_wait() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let mut conn = open(&path, &["CREATE TABLE t (x TEXT);"], Durability::Full).unwrap();
        let _checkpointer = Checkpointer::start(&conn, Connection::open(&path).unwrap(), "ckpt-one").unwrap();
        let auto: i64 = conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
        assert_eq!(auto, 0, "SQLite's own checkpoint must be off: it would run inside the commit");
        std::thread::sleep(Checkpointer::PAUSE * 2);
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        // A few small commits stay in the log: a tablet's save costs no checkpoint.
        for i in 0..20 {
            conn.execute("INSERT INTO t VALUES (?1)", [format!("{i:0100}")]).unwrap();
        }
        std::thread::sleep(Checkpointer::PAUSE * 3);
        assert_eq!(
            size(),
            before,
            "a checkpoint (and its fsync) waits for {} frames in the log",
            Checkpointer::WAKE_AT
        );
        // One large commit (about 8 MB), and nothing after it.
        let tx = conn.transaction().unwrap();
        for i in 0..4_000 {
            tx.execute("INSERT INTO t VALUES (?1)", [format!("{i:02000}")]).unwrap();
        }
        tx.commit().unwrap();
        let mut waited = std::time::Duration::ZERO;
        while size() < before + 8_000_000 && waited < std::time::Duration::from_secs(10) {
            std::thread::sleep(Checkpointer::PAUSE);
            waited += Checkpointer::PAUSE;
        }
        assert!(
            size() >= before + 8_000_000,
            "the last commit must reach the database file without waiting for another commit \
             (the file grew from {before} to {} bytes)",
            size()
        );
    }

    #[test]
    fn a_steady_stream_of_commits_does_not_grow_the_write_ahead_log_without_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let conn = open(&path, &["CREATE TABLE t (x TEXT);"], Durability::Normal).unwrap();
        let _checkpointer = Checkpointer::start(&conn, Connection::open(&path).unwrap(), "ckpt-stream").unwrap();
        // 30,000 saves one after another, as an enumerator's day or a long push gives:
        // each is a commit of its own, and together they write about 120 MiB of frames.
        let mut largest = 0;
        for i in 0..30_000 {
            conn.execute("INSERT INTO t VALUES (?1)", [format!("{i:0800}")]).unwrap();
            if i % 1_000 == 0 {
                largest = largest.max(std::fs::metadata(sibling(&path, "-wal")).map_or(0, |m| m.len()));
            }
        }
        let bound = 2 * Checkpointer::RESTART_AT as u64 * 4096 + 8 * 1024 * 1024;
        assert!(
            largest <= bound,
            "the log must start again from its beginning once copied, not grow with every save: \
             it reached {largest} bytes (bound {bound})"
        );
    }

    #[test]
    fn dropping_the_checkpointer_ends_its_thread_and_leaves_no_file_open_once_the_store_closes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let conn = open(&path, &[V1], Durability::Normal).unwrap();
        let checkpointer = Checkpointer::start(&conn, Connection::open(&path).unwrap(), "ckpt-drop").unwrap();
        conn.execute("INSERT INTO a VALUES (1)", []).unwrap();
        // A new thread names itself as it starts.
        for _ in 0..100 {
            if threads_named("ckpt-drop") == 1 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(threads_named("ckpt-drop"), 1, "the checkpointer runs on a thread of its own");
        // Files this process holds open on the database: the watched connection's and
        // the checkpointer's.
        let file = path.canonicalize().unwrap();
        let open_on_db = || {
            std::fs::read_dir("/proc/self/fd")
                .unwrap()
                .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .filter(|target| *target == file)
                .count()
        };
        assert_eq!(open_on_db(), 2, "the checkpointer copies through a connection of its own");
        drop(checkpointer);
        conn.execute("INSERT INTO a VALUES (2)", []).unwrap();
        let n: i64 = conn.query_row("SELECT count(*) FROM a", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 2, "the watched connection keeps working after its checkpointer is gone");
        // SQLite holds a closed connection's file open while another connection of the
        // process has it (POSIX locks are per process): the store closing, as a wipe
        // does, is when nothing may be left open.
        drop(conn);
        assert_eq!(
            open_on_db(),
            0,
            "once the store and its checkpointer are dropped, no file may be held open \
             (a wiped store's files are then free to remove, on any system)"
        );
        // A thread leaves the kernel's list a moment after it is joined.
        for _ in 0..100 {
            if threads_named("ckpt-drop") == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(threads_named("ckpt-drop"), 0, "once dropped, its thread must end");
    }

    #[test]
    fn an_older_binary_refuses_a_newer_database_and_leaves_it_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        open(&path, &[V1, V2], Durability::Normal).unwrap();
        let err = open(&path, &[V1], Durability::Normal).unwrap_err();
        assert!(
            matches!(err, OpenError::TooNew { found: 2, known: 1 }),
            "an old binary must not run old migrations over a newer schema: {err}"
        );
        assert!(err.to_string().contains("Update the app"), "the user must be told what to do");
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 2, "refusing must not rewrite the schema version");
    }

    #[test]
    fn migrations_apply_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        open(&path, &[V1], Durability::Normal).unwrap();
        let err = open(&path, &[V1, V2, "CREATE TABLE broken ("], Durability::Normal).unwrap_err();
        assert!(matches!(err, OpenError::Migration { number: 3, .. }), "{err}");
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        let b: i64 = conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'b'", [], |r| r.get(0)).unwrap();
        assert_eq!((v, b), (1, 0), "a failed migration must leave neither its tables nor a new version behind");
    }

    #[test]
    fn reopening_an_up_to_date_database_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        open(&path, &[V1, V2], Durability::Normal).unwrap();
        open(&path, &[V1, V2], Durability::Normal).expect("a current database opens again");
    }
}
