//! Harness for the end-to-end tests: a real `dtm-hq` process on 127.0.0.1:0 with its
//! own SQLite file, and device stores driven through the real `dtm` CLI.
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
}

impl Hq {
    /// Starts `dtm-hq serve --demo` on a free loopback port with a fresh database.
    pub fn start_demo() -> Hq {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, &["--demo"])
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Hq {
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let (child, url) = spawn_hq(dir.path(), "127.0.0.1:0", &extra).unwrap_or_else(|e| panic!("{e}"));
        Hq { child, url, dir, extra }
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

    /// HQ's SQLite file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("hq.sqlite3")
    }
}

/// Starts `dtm-hq serve` on `listen` with the database `dir/hq.sqlite3` and waits for
/// the line that gives its address.
fn spawn_hq(dir: &Path, listen: &str, extra: &[String]) -> Result<(Child, String), String> {
    let db = dir.join("hq.sqlite3");
    let mut child = Command::new(bin("dtm-hq"))
        .args(["serve", "--listen", listen, "--database"])
        .arg(&db)
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

/// Rows in one of HQ's tables, read straight from its SQLite file.
pub fn hq_rows(hq: &Hq, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(hq.db_path()).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}
