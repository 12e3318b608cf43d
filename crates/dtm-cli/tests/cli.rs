//! The `dtm` CLI's own contract: stable error codes in --json output.

use std::process::Command;

fn dtm(store: &std::path::Path, args: &[&str]) -> (bool, serde_json::Value) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_dtm")).arg("--store").arg(store).arg("--json").args(args).output().unwrap();
    (out.status.success(), serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null))
}

#[test]
fn commands_before_login_fail_with_not_logged_in() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, body) = dtm(&dir.path().join("d.sqlite3"), &["set", "LY021104", "idp_hh=3", "--round", "R1"]);
    assert!(!ok, "nothing can be written before a login");
    assert_eq!(body["error"]["code"], "not_logged_in");
}

#[test]
fn a_malformed_field_assignment_is_refused_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, body) = dtm(&dir.path().join("d.sqlite3"), &["set", "LY021104", "idp_hh", "--round", "R1"]);
    assert!(!ok);
    assert_eq!(body["error"]["code"], "malformed_value");
}

#[test]
fn a_login_against_an_unreachable_hq_reports_offline() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, body) =
        dtm(&dir.path().join("d.sqlite3"), &["login", "--hq", "http://127.0.0.1:9", "--user", "u", "--password", "p"]);
    assert!(!ok);
    assert_eq!(body["error"]["code"], "offline");
}
