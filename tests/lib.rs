//! Harness for the end-to-end tests: a real `dtm-hq` process on 127.0.0.1:0 with its
//! own database, and device stores driven through the real `dtm` CLI.
//!
//! Every story runs on the store `DTM_TEST_STORE` names: `sqlite` (the default; a
//! file of the test's own) or `postgres` (a schema of the test's own in the database
//! `test` on 127.0.0.1:5432, or `DTM_TEST_POSTGRES`; dropped when the test ends).
//! Tests read HQ's tables through [`Hq::query`], which speaks to either.
//!
//! The binaries are the workspace's own debug builds; `cargo test --workspace`
//! builds them before any test runs (dtm-hq and dtm-cli have integration tests).

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// `target/debug`, found from the running test binary (`target/debug/deps/…`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    exe.parent().and_then(Path::parent).expect("tests run from target/<profile>/deps").to_path_buf()
}

pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run the suite with `cargo test --workspace`, which builds dtm-hq and dtm first",
        path.display()
    );
    path
}

/// A running HQ, killed when dropped.
pub struct Hq {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
    /// The extra `serve` arguments it was started with, for `restart`.
    extra: Vec<String>,
    pub database: TestDatabase,
}

/// The database of one test's HQ.
pub enum TestDatabase {
    Sqlite(PathBuf),
    /// A schema of its own, and the URL that selects it; dropped at the end by the
    /// handle that made it (`owner`), not by handles from [`TestDatabase::shared`].
    Postgres {
        schema: String,
        url: String,
        owner: bool,
    },
}

/// The PostgreSQL server the suite uses when `DTM_TEST_STORE=postgres`.
pub fn postgres_base() -> String {
    std::env::var("DTM_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether this run of the suite is on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("DTM_TEST_STORE").is_ok_and(|s| s == "postgres")
}

impl TestDatabase {
    /// A fresh database for one test, on the store the suite runs on.
    pub fn new(dir: &Path) -> TestDatabase {
        if on_postgres() {
            Self::postgres()
        } else {
            TestDatabase::Sqlite(dir.join("hq.sqlite3"))
        }
    }

    /// A fresh PostgreSQL schema, whichever store the suite runs on.
    pub fn postgres() -> TestDatabase {
        let schema = format!("dtm_test_{}", uuid::Uuid::now_v7().simple());
        off_runtime(|| {
            let mut client = postgres::Client::connect(&postgres_base(), postgres::NoTls).unwrap_or_else(|e| {
                panic!("PostgreSQL at {} must be up for DTM_TEST_STORE=postgres: {e}", postgres_base())
            });
            client.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        });
        let sep = if postgres_base().contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}options=-csearch_path%3D{schema}", postgres_base());
        TestDatabase::Postgres { schema, url, owner: true }
    }

    /// Another handle on the same database, for a second HQ process; the first
    /// handle still owns it.
    pub fn shared(&self) -> TestDatabase {
        match self {
            TestDatabase::Sqlite(path) => TestDatabase::Sqlite(path.clone()),
            TestDatabase::Postgres { schema, url, .. } => {
                TestDatabase::Postgres { schema: schema.clone(), url: url.clone(), owner: false }
            }
        }
    }

    /// What `--database` is given.
    pub fn arg(&self) -> String {
        match self {
            TestDatabase::Sqlite(path) => path.display().to_string(),
            TestDatabase::Postgres { url, .. } => url.clone(),
        }
    }

    /// Runs SQL that both stores understand; every cell comes back as text (NULL as
    /// `None`), as each database renders it.
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            TestDatabase::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| {
                                Ok(match r.get_ref(i)? {
                                    rusqlite::types::ValueRef::Null => None,
                                    rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                                    rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                                    rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                                    rusqlite::types::ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
                                })
                            })
                            .collect::<rusqlite::Result<Vec<_>>>()
                    })
                    .unwrap()
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .unwrap();
                rows
            }
            TestDatabase::Postgres { url, .. } => off_runtime(|| {
                let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
                let rows = client
                    .simple_query(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .into_iter()
                    .filter_map(|m| match m {
                        postgres::SimpleQueryMessage::Row(r) => {
                            Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
                        }
                        _ => None,
                    })
                    .collect();
                rows
            }),
        }
    }
}

/// Runs `f` on a thread of its own: the synchronous PostgreSQL client blocks on a
/// runtime of its own, which it may not do on a thread driving async tests.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { schema, owner: true, .. } = self {
            off_runtime(|| {
                if let Ok(mut client) = postgres::Client::connect(&postgres_base(), postgres::NoTls) {
                    let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            });
        }
    }
}

impl Hq {
    /// Starts `dtm-hq serve --demo` on a free loopback port with a fresh database.
    pub fn start_demo() -> Hq {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, &["--demo"])
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Hq {
        let database = TestDatabase::new(dir.path());
        Self::start_on(dir, database, extra)
    }

    /// Starts HQ on a database made beforehand (another HQ's, for several processes).
    pub fn start_on(dir: tempfile::TempDir, database: TestDatabase, extra: &[&str]) -> Hq {
        let mut extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        extra.extend(["--database".to_owned(), database.arg()]);
        let (child, url) = spawn_hq(dir.path(), "127.0.0.1:0", &extra).unwrap_or_else(|e| panic!("{e}"));
        Hq { child, url, dir, extra, database }
    }

    /// Stops HQ and starts it again on the same port on another database (after
    /// `dtm-hq copy`), so devices reach it at the address they logged in to.
    pub fn move_to(&mut self, database: TestDatabase) {
        let at = self.extra.iter().position(|a| a == "--database").expect("HQ was started with --database");
        self.extra[at + 1] = database.arg();
        self.database = database;
        self.restart();
    }

    /// Runs SQL against HQ's database, whichever store it is (see [`TestDatabase::query`]).
    pub fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.database.query(sql)
    }

    /// The one cell of a one-row, one-column query.
    pub fn query_one(&self, sql: &str) -> Option<String> {
        let rows = self.query(sql);
        assert_eq!(rows.len(), 1, "{sql} gives one row");
        rows[0][0].clone()
    }

    /// The loopback port HQ listens on.
    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).expect("the URL ends in a port")
    }

    /// Kills HQ with SIGKILL, as a power cut or the OOM killer would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the HQ process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Starts HQ again on the same database file and the same port, with the same
    /// arguments, so devices that stored its URL at login reach it unchanged. Kills the
    /// old process first if it still runs. Retries for a few seconds while the port
    /// is still held.
    /// Restarts HQ on the same address and database with more `serve` arguments (a
    /// changed setting, as an operator would restart it).
    pub fn restart_with(&mut self, more: &[&str]) {
        self.extra.extend(more.iter().map(|s| (*s).to_owned()));
        self.restart();
    }

    pub fn restart(&mut self) {
        self.kill();
        let listen = format!("127.0.0.1:{}", self.port());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match spawn_hq(self.dir.path(), &listen, &self.extra) {
                Ok((child, url)) => {
                    assert_eq!(url, self.url, "the restarted HQ must listen where the first one did");
                    self.child = child;
                    return;
                }
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => panic!("dtm-hq could not be restarted on {listen}: {e}"),
            }
        }
    }

    /// Logs in over HTTP and returns the bearer token.
    pub fn token(&self, user: &str, password: &str) -> String {
        let (status, body) =
            self.post("/api/v1/auth/login", None, &serde_json::json!({"username": user, "password": password}));
        assert_eq!(status, 200, "login as {user} failed: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = reqwest::blocking::Client::new().get(format!("{}{path}", self.url)).header("x-dtm-protocol", "2");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().expect("HQ answers"))
    }

    pub fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = reqwest::blocking::Client::new()
            .patch(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().expect("HQ answers"))
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.post_raw(path, token, body.to_string().into_bytes())
    }

    pub fn post_raw(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        let mut req = reqwest::blocking::Client::new()
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .header("x-dtm-protocol", "2")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().expect("HQ answers"))
    }
}

/// Starts `dtm-hq serve` on `listen` (`extra` gives the database) and waits for the
/// line that gives its address.
fn spawn_hq(dir: &Path, listen: &str, extra: &[String]) -> Result<(Child, String), String> {
    let mut child = Command::new(bin("dtm-hq"))
        .args(["serve", "--listen", listen])
        .args(["--ui-dir"])
        .arg(dir.join("no-ui"))
        .args(extra)
        .env("DTM_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("dtm-hq does not start: {e}"))?;
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("dtm-hq prints no address: {e}"))?;
    match line.trim().strip_prefix("dtm-hq listening on ") {
        Some(url) => Ok((child, url.to_owned())),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("unexpected first line from dtm-hq: {line:?}"))
        }
    }
}

fn read(resp: reqwest::blocking::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

impl Drop for Hq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field device: its own SQLite store, driven through the `dtm` CLI.
pub struct Device {
    pub store: PathBuf,
    _dir: tempfile::TempDir,
}

impl Device {
    pub fn new() -> Device {
        let dir = tempfile::tempdir().unwrap();
        Device { store: dir.path().join("device.sqlite3"), _dir: dir }
    }

    /// Runs `dtm --json …`; Ok(json) on success, Err(error json) on failure.
    pub fn dtm(&self, args: &[&str]) -> Result<Value, Value> {
        let out = Command::new(bin("dtm"))
            .arg("--store")
            .arg(&self.store)
            .arg("--json")
            .args(args)
            // Give up on an unreachable HQ after two seconds, as before retries grew
            // patient, so tests of a device offline stay quick; `--retry-for` overrides.
            .env("DTM_RETRY_FOR", "2")
            .output()
            .expect("dtm runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let value: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
            panic!("dtm {args:?} printed no JSON: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
        });
        if out.status.success() {
            Ok(value)
        } else {
            Err(value)
        }
    }

    pub fn ok(&self, args: &[&str]) -> Value {
        self.dtm(args).unwrap_or_else(|e| panic!("dtm {args:?} failed: {e}"))
    }

    pub fn err_code(&self, args: &[&str]) -> String {
        let e = self.dtm(args).expect_err("the command must fail");
        e["error"]["code"].as_str().unwrap().to_owned()
    }
}

impl Default for Device {
    fn default() -> Self {
        Self::new()
    }
}

/// Rows in one of HQ's tables.
pub fn hq_rows(hq: &Hq, table: &str) -> i64 {
    hq.query_one(&format!("SELECT count(*) FROM {table}")).unwrap().parse().unwrap()
}
