//! Accounts on a real HQ: the first admin of a new HQ, made from the command line.

use dtm_e2e::{bin, Hq, TestDatabase};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

/// Runs `dtm-hq admin create` with `password` typed on standard input.
fn admin_create(db: &TestDatabase, username: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(bin("dtm-hq"))
        .args(["admin", "create", "--username", username, "--display-name", "First admin", "--database"])
        .arg(db.arg())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dtm-hq runs");
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_new_hq_warns_it_has_no_admin_until_one_is_created_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::new(dir.path());

    // An HQ started on an empty database says, at start, how to make its first admin.
    let mut hq = Command::new(bin("dtm-hq"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db.arg(), "--ui-dir"])
        .arg(dir.path().join("no-ui"))
        .env("DTM_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(hq.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("dtm-hq listening on"), "{line}");
    hq.kill().unwrap();
    hq.wait().unwrap();
    let mut said = String::new();
    hq.stderr.take().unwrap().read_to_string(&mut said).unwrap();
    assert!(
        said.contains("no admin account") && said.contains("dtm-hq admin create"),
        "an HQ nobody can manage must say how to fix that: {said}"
    );

    // Bad input gets a code and creates nothing.
    for (username, password, code) in [
        ("Alice", "correct horse battery", "bad_username"),
        ("alice", "short", "weak_password"),
        ("alice", "          ", "weak_password"),
    ] {
        let out = admin_create(&db, username, password);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(code),
            "{username:?}/{password:?} must be refused with {code}: {stderr}"
        );
    }
    let out = admin_create(&db, "alice", "correct horse battery");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = admin_create(&db, "alice", "another long passphrase");
    assert!(
        !again.status.success() && String::from_utf8_lossy(&again.stderr).contains("user_exists"),
        "an existing account is never overwritten from the command line"
    );

    // The admin signs in to an HQ started without demo data, with the first password.
    let hq = Hq::start_on(dir, db, &[]);
    assert_eq!(hq.query_one("SELECT count(*) FROM users").as_deref(), Some("1"), "only alice was created");
    assert_eq!(
        hq.query_one("SELECT count(*) FROM access_log WHERE action = 'create_admin' AND target = 'alice'").as_deref(),
        Some("1"),
        "the creation is in the access log"
    );
    let (status, body) =
        hq.post("/api/v1/auth/login", None, &json!({"username": "alice", "password": "correct horse battery"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["user"]["role"].as_str(), body["user"]["scope"][0].as_str()), (Some("admin"), Some("LY")));
    let (status, _) =
        hq.post("/api/v1/auth/login", None, &json!({"username": "alice", "password": "another long passphrase"}));
    assert_eq!(status, 401, "the refused second creation did not change the password");
}
