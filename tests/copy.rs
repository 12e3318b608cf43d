//! `dtm-hq copy`: a whole HQ moved from its SQLite file to PostgreSQL, checked table
//! by table, and devices syncing on against the new HQ from where they were.

use dtm_e2e::{bin, Device, Hq, TestDatabase};
use serde_json::{json, Value};

const TRIPOLI: &str = "LY021104";

fn login(hq: &Hq, device: &Device) {
    device.ok(&["login", "--hq", &hq.url, "--user", "enumerator", "--password", "enumerator-demo"]);
}

/// What the dashboard and the devices see of round R1, through the API.
fn views(hq: &Hq) -> Vec<Value> {
    let sup = hq.token("supervisor", "supervisor-demo");
    [
        "/api/v1/rounds",
        "/api/v1/rounds/R1/assessments",
        "/api/v1/rounds/R1/conflicts",
        "/api/v1/rounds/R1/totals?level=2&include=all",
    ]
    .iter()
    .map(|path| {
        let (status, body) = hq.get(path, Some(&sup));
        assert_eq!(status, 200, "{path}: {body}");
        body
    })
    .chain([hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&sup)).1])
    .collect()
}

fn copy(from: &std::path::Path, to: &TestDatabase) -> std::process::Output {
    std::process::Command::new(bin("dtm-hq"))
        .args(["copy", "--from"])
        .arg(from)
        .args(["--to", &to.arg()])
        .output()
        .expect("dtm-hq runs")
}

#[test]
fn a_sqlite_hq_copied_to_postgresql_serves_the_same_data_and_devices_sync_on_without_a_full_pull() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hq.sqlite3");
    let mut hq = Hq::start_on(dir, TestDatabase::Sqlite(file.clone()), &["--demo"]);
    // A round's worth of history: edits from two devices, a conflict settled with a
    // reason, a return with a comment, a failed login, reads in the access log.
    let (a, b) = (Device::new(), Device::new());
    login(&hq, &a);
    login(&hq, &b);
    a.ok(&["set", TRIPOLI, "idp_hh=10", "idp_ind=50", "ret_hh=2", "ret_ind=9", "ki_count=3"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["set", TRIPOLI, "idp_ind=55"]);
    b.ok(&["set", TRIPOLI, "idp_ind=70"]);
    a.ok(&["sync"]);
    assert_eq!(b.ok(&["sync"])["conflicts"], 1, "the two edits conflict");
    let sup = hq.token("supervisor", "supervisor-demo");
    let (_, conflicts) = hq.get("/api/v1/rounds/R1/conflicts", Some(&sup));
    let settle = json!({"choice": "other", "value": 62, "reason": "Recounted with the crisis committee"});
    assert_eq!(hq.post(&format!("/api/v1/conflicts/{}/resolve", conflicts[0]["id"]), Some(&sup), &settle).0, 200);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let (status, _) = hq.post("/api/v1/auth/login", None, &json!({"username": "admin", "password": "wrong"}));
    assert_eq!(status, 401);
    let before = views(&hq);
    let cursor_of = |d: &Device| -> Option<String> {
        let conn = rusqlite::Connection::open(&d.store).unwrap();
        conn.query_row("SELECT pull_cursor FROM device", [], |r| r.get(0)).unwrap()
    };
    let cursors = (cursor_of(&a), cursor_of(&b));

    // The operator stops HQ, copies it, and starts HQ on PostgreSQL at the same address.
    hq.kill();
    let target = TestDatabase::postgres();
    let out = copy(&file, &target);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the copy succeeds: {printed} {}", String::from_utf8_lossy(&out.stderr));
    for table in [
        "users",
        "devices",
        "login_failures",
        "rounds",
        "assessments",
        "changes",
        "conflicts",
        "comments",
        "ops",
        "access_log",
    ] {
        assert!(
            printed.lines().any(|l| l.starts_with(table) && l.ends_with("same on both sides")),
            "{table} must be copied and checked: {printed}"
        );
    }
    let again = copy(&file, &target);
    assert!(!again.status.success(), "a second copy into a database that holds data is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"), "and says why");
    hq.move_to(target);

    // Nothing a device or the dashboard sees has changed.
    assert_eq!(views(&hq), before, "the PostgreSQL HQ must serve exactly what the SQLite HQ served");
    for (d, cursor) in [(&a, &cursors.0), (&b, &cursors.1)] {
        let report = d.ok(&["sync"]);
        assert_eq!(report["pulled"], 0, "a device must not pull again what it already has: {report}");
        assert_eq!(&cursor_of(d), cursor, "its cursor holds");
    }
    // The devices' tokens still work, and work goes on: an edit on one reaches the other.
    a.ok(&["set", TRIPOLI, "ret_hh=4"]);
    a.ok(&["sync"]);
    let report = b.ok(&["sync"]);
    assert_eq!(report["pulled"], 1, "the other device pulls just the new change: {report}");
    assert_eq!(b.ok(&["show", TRIPOLI])["values"]["ret_hh"], 4);
    assert_eq!(b.ok(&["show", TRIPOLI])["values"]["idp_ind"], 62, "the settlement came across");
}
