//! `dtm-hq copy`: moves a whole HQ from its SQLite file to PostgreSQL — accounts,
//! devices, rounds, assessments, changes, conflicts, comments, operation answers and
//! the access log — keeping every id, the epoch and the change numbers, so devices go
//! on syncing against the new HQ from their cursors without a full pull.
//!
//! The target must be a freshly migrated, empty PostgreSQL database. Everything is
//! written in one transaction; afterwards each table is read back from both sides and
//! compared by row count and a SHA-256 over its rows in a canonical form (times to the
//! microsecond in RFC 3339, JSON re-serialised with sorted keys).

use anyhow::{bail, Context};
use postgres::types::{Json as PgJson, ToSql};
use sha2::{Digest, Sha256};
use std::path::Path;
use time::OffsetDateTime;

/// How a column is read on both sides and compared.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    /// PostgreSQL `integer`.
    Int4,
    /// PostgreSQL `bigint`.
    Int8,
    Json,
    Time,
}

use Kind::*;

/// One table: its name, the columns that order it, and its columns.
struct Table {
    name: &'static str,
    order: &'static str,
    columns: &'static [(&'static str, Kind)],
    /// The identity or sequence to move past the copied ids.
    sequence: Option<&'static str>,
}

/// In dependency order (a row's references are copied before it).
const TABLES: &[Table] = &[
    Table { name: "meta", order: "key", columns: &[("key", Text), ("value", Text)], sequence: None },
    Table {
        name: "users",
        order: "username",
        columns: &[
            ("username", Text),
            ("display_name", Text),
            ("role", Text),
            ("scope", Json),
            ("password_hash", Text),
            ("created_at", Time),
            ("language", Text),
            ("disabled_at", Time),
            ("must_change_password", Int4),
            ("created_by", Text),
        ],
        sequence: None,
    },
    Table {
        name: "devices",
        order: "device_id",
        columns: &[
            ("device_id", Text),
            ("username", Text),
            ("name", Text),
            ("token_hash", Text),
            ("created_at", Time),
            ("expires_at", Time),
            ("revoked_at", Time),
            ("app_version", Text),
            ("last_sync_at", Time),
            ("pending_ops", Int4),
            ("wipe_requested_at", Time),
        ],
        sequence: None,
    },
    Table {
        name: "store_keys",
        order: "store_id, username",
        columns: &[("store_id", Text), ("username", Text), ("store_key", Text), ("created_at", Time)],
        sequence: None,
    },
    Table {
        name: "enrolments",
        order: "code_hash",
        columns: &[
            ("code_hash", Text),
            ("username", Text),
            ("created_by", Text),
            ("created_at", Time),
            ("expires_at", Time),
            ("used_at", Time),
            ("device_id", Text),
        ],
        sequence: None,
    },
    Table {
        name: "login_failures",
        order: "username",
        columns: &[("username", Text), ("failures", Int4), ("locked_until", Time)],
        sequence: None,
    },
    Table {
        name: "rounds",
        order: "code",
        columns: &[
            ("code", Text),
            ("number", Int4),
            ("title", Text),
            ("status", Text),
            ("window_start", Text),
            ("window_end", Text),
            ("forms", Json),
            ("title_ar", Text),
        ],
        sequence: None,
    },
    Table {
        name: "assessments",
        order: "id",
        columns: &[
            ("id", Int8),
            ("round", Text),
            ("form", Text),
            ("location", Text),
            ("status", Text),
            ("form_version", Int4),
            ("version", Int8),
            ("change_seq", Int8),
            ("created_at", Time),
            ("updated_at", Time),
            ("fields", Json),
        ],
        sequence: Some("pg_get_serial_sequence('assessments', 'id')"),
    },
    Table {
        name: "changes",
        order: "id",
        columns: &[
            ("id", Int8),
            ("assessment_id", Int8),
            ("op_id", Text),
            ("author", Text),
            ("device_id", Text),
            ("hlc", Text),
            ("at", Time),
            ("fields", Json),
        ],
        sequence: Some("'changes_id_seq'"),
    },
    Table {
        name: "conflicts",
        order: "id",
        columns: &[
            ("id", Int8),
            ("assessment_id", Int8),
            ("field", Text),
            ("base_version", Int8),
            ("base_value", Json),
            ("current_value", Json),
            ("current_version", Int8),
            ("current_author", Text),
            ("current_device", Text),
            ("current_hlc", Text),
            ("incoming_value", Json),
            ("incoming_author", Text),
            ("incoming_device", Text),
            ("incoming_hlc", Text),
            ("op_id", Text),
            ("status", Text),
            ("created_at", Time),
            ("resolved_by", Text),
            ("resolution_value", Json),
            ("resolution_reason", Text),
            ("resolved_at", Time),
            ("kind", Text),
            ("resolved_seq", Int8),
        ],
        sequence: Some("pg_get_serial_sequence('conflicts', 'id')"),
    },
    Table {
        name: "comments",
        order: "id",
        columns: &[
            ("id", Int8),
            ("assessment_id", Int8),
            ("author", Text),
            ("role", Text),
            ("decision", Text),
            ("text", Text),
            ("at", Time),
        ],
        sequence: Some("pg_get_serial_sequence('comments', 'id')"),
    },
    Table {
        name: "ops",
        order: "device_id, op_id",
        columns: &[
            ("device_id", Text),
            ("op_id", Text),
            ("seq", Int8),
            ("outcome", Text),
            ("code", Text),
            ("reason", Text),
            ("received_at", Time),
            ("payload_hash", Text),
        ],
        sequence: None,
    },
    Table {
        name: "location_changes",
        order: "seq",
        columns: &[
            ("seq", Int8),
            ("pcode", Text),
            ("name_en", Text),
            ("name_ar", Text),
            ("kind", Text),
            ("lat", Text),
            ("lon", Text),
            ("retired", Int4),
            ("changed_by", Text),
            ("changed_at", Time),
        ],
        sequence: None,
    },
    Table {
        name: "access_log",
        order: "id",
        columns: &[("id", Int8), ("at", Time), ("actor", Text), ("action", Text), ("target", Text)],
        sequence: Some("pg_get_serial_sequence('access_log', 'id')"),
    },
];

/// One cell, read from either side.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Int(i64),
    Json(serde_json::Value),
    Time(OffsetDateTime),
}

impl Cell {
    /// The cell's canonical text, for the content hash.
    fn canonical(&self) -> String {
        match self {
            Cell::Null => "\u{0}".into(),
            Cell::Text(s) => s.clone(),
            Cell::Int(n) => n.to_string(),
            // serde_json's maps are sorted, so the same document prints the same.
            Cell::Json(v) => v.to_string(),
            Cell::Time(t) => crate::store::iso(crate::store::to_micros(*t)),
        }
    }
}

/// What one table holds on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCheck {
    pub table: &'static str,
    pub rows: usize,
    pub sha256: String,
}

/// A time as SQLite holds it: RFC 3339, or `YYYY-MM-DD HH:MM:SS` (UTC) as SQLite's
/// `datetime('now')` wrote it in earlier versions.
fn sqlite_time(text: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    OffsetDateTime::parse(text, &Rfc3339).ok().or_else(|| {
        let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        time::PrimitiveDateTime::parse(text, &format).ok().map(|t| t.assume_utc())
    })
}

fn read_sqlite(conn: &rusqlite::Connection, table: &Table) -> anyhow::Result<Vec<Vec<Cell>>> {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), table.name, table.order);
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(columns.len());
        for (i, (column, kind)) in table.columns.iter().enumerate() {
            use rusqlite::types::ValueRef;
            let cell =
                match (row.get_ref(i)?, kind) {
                    (ValueRef::Null, _) => Cell::Null,
                    (ValueRef::Integer(n), Int4 | Int8) => Cell::Int(n),
                    (ValueRef::Integer(n), Text) => Cell::Text(n.to_string()),
                    (ValueRef::Text(t), kind) => {
                        let text =
                            std::str::from_utf8(t).with_context(|| format!("{}.{column} is not UTF-8", table.name))?;
                        match kind {
                            Text => Cell::Text(text.to_owned()),
                            Json => Cell::Json(
                                serde_json::from_str(text)
                                    .with_context(|| format!("{}.{column} holds no JSON: {text:?}", table.name))?,
                            ),
                            Time => Cell::Time(sqlite_time(text).with_context(|| {
                                format!("{}.{column} holds {text:?}, which is not a time", table.name)
                            })?),
                            Int4 | Int8 => Cell::Int(
                                text.parse().with_context(|| format!("{}.{column} holds {text:?}", table.name))?,
                            ),
                        }
                    }
                    (other, _) => bail!("{}.{column} holds an unexpected {:?}", table.name, other.data_type()),
                };
            cells.push(cell);
        }
        out.push(cells);
    }
    Ok(out)
}

fn read_postgres(client: &mut impl postgres::GenericClient, table: &Table) -> anyhow::Result<Vec<Vec<Cell>>> {
    let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY {}", columns.join(", "), table.name, table.order);
    let rows = client.query(&sql, &[])?;
    rows.iter()
        .map(|row| {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| {
                    Ok(match kind {
                        Text => row.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text),
                        Int4 => row.get::<_, Option<i32>>(i).map_or(Cell::Null, |n| Cell::Int(n.into())),
                        Int8 => row.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int),
                        Json => {
                            row.get::<_, Option<PgJson<serde_json::Value>>>(i).map_or(Cell::Null, |j| Cell::Json(j.0))
                        }
                        Time => row.get::<_, Option<OffsetDateTime>>(i).map_or(Cell::Null, Cell::Time),
                    })
                })
                .collect()
        })
        .collect()
}

fn check(table: &Table, rows: &[Vec<Cell>]) -> TableCheck {
    let mut hash = Sha256::new();
    for row in rows {
        for cell in row {
            hash.update(cell.canonical().as_bytes());
            hash.update([0x1f]);
        }
        hash.update([0x1e]);
    }
    TableCheck { table: table.name, rows: rows.len(), sha256: hex::encode(hash.finalize()) }
}

/// A cell as a PostgreSQL parameter of its column's type.
fn param(cell: &Cell, kind: Kind) -> anyhow::Result<Box<dyn ToSql + Sync>> {
    Ok(match (cell, kind) {
        (Cell::Null, Text) => Box::new(None::<String>),
        (Cell::Null, Int4) => Box::new(None::<i32>),
        (Cell::Null, Int8) => Box::new(None::<i64>),
        (Cell::Null, Json) => Box::new(None::<PgJson<serde_json::Value>>),
        (Cell::Null, Time) => Box::new(None::<OffsetDateTime>),
        (Cell::Text(s), _) => Box::new(s.clone()),
        (Cell::Int(n), Int4) => Box::new(i32::try_from(*n).context("a value beyond PostgreSQL's integer")?),
        (Cell::Int(n), _) => Box::new(*n),
        (Cell::Json(v), _) => Box::new(PgJson(v.clone())),
        (Cell::Time(t), _) => Box::new(crate::store::to_micros(*t)),
    })
}

/// Copies the HQ in the SQLite file `from` into the PostgreSQL database `to` and
/// checks every table on both sides; returns the checks (the same for both).
pub fn copy(from: &Path, to: &str) -> anyhow::Result<Vec<TableCheck>> {
    if !from.exists() {
        bail!("{} does not exist", from.display());
    }
    // Opening migrates each side to its current schema.
    drop(crate::sqlite::Sqlite::open(from).with_context(|| format!("opening {}", from.display()))?);
    drop(crate::postgres::Postgres::open(to).with_context(|| format!("opening {}", crate::redact(to)))?);
    let source = rusqlite::Connection::open_with_flags(from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut client = postgres::Client::connect(to, postgres::NoTls)?;
    let mut tx = client.transaction()?;
    for table in &TABLES[1..] {
        let n: i64 = tx.query_one(&format!("SELECT count(*) FROM {}", table.name), &[])?.get(0);
        if n > 0 {
            bail!("the target already holds {n} rows in {}; copy into a new, empty database", table.name);
        }
    }
    let mut checks = Vec::new();
    for table in TABLES {
        let rows = read_sqlite(&source, table)?;
        checks.push(check(table, &rows));
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let mut sql =
            format!("INSERT INTO {} ({}) VALUES ({})", table.name, columns.join(", "), placeholders.join(", "));
        if table.name == "meta" {
            // The epoch and change counter come from the source, so devices' cursors hold.
            sql.push_str(" ON CONFLICT (key) DO UPDATE SET value = excluded.value");
        }
        let statement = tx.prepare(&sql)?;
        for row in &rows {
            let params = row
                .iter()
                .zip(table.columns)
                .map(|(cell, (_, kind))| param(cell, *kind))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref()).collect();
            tx.execute(&statement, &refs).with_context(|| format!("copying a row of {}", table.name))?;
        }
        if let Some(sequence) = table.sequence {
            tx.execute(
                &format!("SELECT setval({sequence}, (SELECT coalesce(max(id), 0) + 1 FROM {}), false)", table.name),
                &[],
            )?;
        }
    }
    // Read back inside the same transaction, and commit only if every table matches.
    for (table, expected) in TABLES.iter().zip(&checks) {
        let copied = check(table, &read_postgres(&mut tx, table)?);
        if &copied != expected {
            bail!(
                "{} differs after the copy ({} rows, sha256 {} in SQLite; {} rows, sha256 {} in PostgreSQL); nothing was copied",
                table.name,
                expected.rows,
                expected.sha256,
                copied.rows,
                copied.sha256
            );
        }
    }
    tx.commit()?;
    // Statistics for the planner now, as after any bulk load: until autovacuum gets to
    // the tables, PostgreSQL guesses, and its guesses turned the review list's
    // previous-round lookup from a walk of the rounds down into a read of every round
    // a location was ever in (1 ms to 125 ms for 100 baladiyas across 1,000 rounds).
    client.batch_execute(&format!("ANALYZE {}", TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")))?;
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sqlite_wrote_in_either_format_read_as_the_same_instant() {
        let old = sqlite_time("2026-11-30 13:42:31").expect("datetime('now') format");
        let new = sqlite_time("2026-11-30T13:42:31Z").expect("RFC 3339");
        assert_eq!(old, new, "both formats name one instant");
        assert!(sqlite_time("t").is_none(), "text that is no time is refused, never read as some default");
    }

    #[test]
    fn the_content_hash_changes_with_any_cell_and_ignores_nanoseconds_postgresql_cannot_hold() {
        let table = &TABLES[1];
        let at = sqlite_time("2026-11-30T13:42:31.123456789Z").unwrap();
        let row = |name: &str, at: OffsetDateTime| {
            vec![
                Cell::Text(name.into()),
                Cell::Text("Name".into()),
                Cell::Text("admin".into()),
                Cell::Json(serde_json::json!(["LY"])),
                Cell::Text("hash".into()),
                Cell::Time(at),
            ]
        };
        let base = check(table, &[row("admin", at)]);
        assert_ne!(base, check(table, &[row("admin2", at)]), "a changed cell must change the hash");
        let micros = at.replace_nanosecond(123_456_000).unwrap();
        assert_eq!(base, check(table, &[row("admin", micros)]), "PostgreSQL keeps microseconds; that is the same time");
    }
}
