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
    let mut conn = Connection::open(path)?;
    // The key must be the first statement on the connection; SQLCipher reads nothing
    // until a page is needed, so the check that it is right is the read just after.
    conn.pragma_update(None, "key", &*key.sqlcipher_key())?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            return Err(OpenError::WrongKey)
        }
        Err(e) => return Err(e.into()),
    }
    configure(&conn, durability)?;
    migrate(&mut conn, migrations)?;
    Ok(conn)
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
    if durability == Durability::Full {
        // Checkpoint the WAL every 32 MiB rather than every 4 MiB: a large push batch
        // then commits without also copying the last one into the database file.
        conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
    }
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
