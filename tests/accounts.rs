//! Accounts on a real HQ: the first admin of a new HQ, made from the command line.

use dtm_e2e::{bin, Device, Hq, TestDatabase};
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

fn code_of(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Counts a device's stored assessments of a location (what is on the laptop).
fn on_device(device: &Device, location: &str) -> i64 {
    let conn = rusqlite::Connection::open(&device.store).unwrap();
    conn.query_row("SELECT count(*) FROM assessments WHERE location = ?1", [location], |r| r.get(0)).unwrap()
}

#[test]
fn an_operation_staffs_a_round_from_the_first_admin_to_an_enrolled_device_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::new(dir.path());
    let hq = Hq::start_on(dir, db.shared(), &["--demo"]);

    // 1. The first admin, from the command line.
    let out = admin_create(&db, "hq.admin", "sahara wind 2026 over sabha");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let admin = hq.token("hq.admin", "sahara wind 2026 over sabha");

    // 2. The admin creates a supervisor for region LY02; the account has no password
    //    until a reset (dashboard users) or an enrolment (devices).
    let (status, sup) = hq.post(
        "/api/v1/users",
        Some(&admin),
        &json!({"username": "sup.west", "display_name": "Amina (West)", "role": "supervisor", "scope": ["LY02"], "language": "ar"}),
    );
    assert_eq!(status, 201, "{sup}");
    assert_eq!(sup["scope_places"][0]["name_en"], "West", "the scope is shown by name: {sup}");
    assert_eq!(sup["must_change_password"], true);
    let (status, body) = hq.post("/api/v1/auth/login", None, &json!({"username": "sup.west", "password": "!"}));
    assert_eq!((status, code_of(&body)), (401, "bad_credentials"), "an account without a password opens to nothing");

    let (status, otp) = hq.post("/api/v1/users/sup.west/password-reset", Some(&admin), &json!({}));
    assert_eq!(status, 200, "{otp}");
    let one_time = otp["password"].as_str().unwrap().to_owned();
    let (status, login) = hq.post("/api/v1/auth/login", None, &json!({"username": "sup.west", "password": one_time}));
    assert_eq!((status, login["must_change_password"].as_bool()), (200, Some(true)), "{login}");
    let once = login["token"].as_str().unwrap().to_owned();
    let (status, body) = hq.get("/api/v1/users", Some(&once));
    assert_eq!(
        (status, code_of(&body)),
        (403, "password_change_required"),
        "a one-time password opens only the password change"
    );
    let (status, me) = hq.get("/api/v1/me", Some(&once));
    assert_eq!(
        (status, me["username"].as_str(), me["must_change_password"].as_bool()),
        (200, Some("sup.west"), Some(true)),
        "a dashboard reloaded before the change learns from /me that the password must be set: {me}"
    );
    for (new, code) in
        [("1234567890", "weak_password"), ("sup.west.2026!", "weak_password"), (&*one_time, "same_password")]
    {
        let (status, body) =
            hq.post("/api/v1/me/password", Some(&once), &json!({"current_password": one_time, "new_password": new}));
        assert_eq!((status, code_of(&body)), (422, code), "{new:?} must be refused: {body}");
    }
    let (status, body) = hq.post(
        "/api/v1/me/password",
        Some(&once),
        &json!({"current_password": "not it at all", "new_password": "olive grove by the sea"}),
    );
    assert_eq!((status, code_of(&body)), (403, "wrong_password"), "{body}");
    let (status, _) = hq.post(
        "/api/v1/me/password",
        Some(&once),
        &json!({"current_password": one_time, "new_password": "olive grove by the sea"}),
    );
    assert_eq!(status, 204);
    let (status, me) = hq.get("/api/v1/me", Some(&once));
    assert_eq!(
        (status, me["must_change_password"].as_bool()),
        (200, Some(false)),
        "set once, it is no longer pending: {me}"
    );
    let sup = hq.token("sup.west", "olive grove by the sea");

    // 3. The supervisor creates an enumerator for mantika LY0211, and only inside LY02.
    let new_enumerator = |username: &str, role: &str, scope: &[&str]| {
        hq.post(
            "/api/v1/users",
            Some(&sup),
            &json!({"username": username, "display_name": "Salem", "role": role, "scope": scope}),
        )
    };
    let (status, body) = new_enumerator("salem", "enumerator", &["LY0211"]);
    assert_eq!(status, 201, "{body}");
    for (username, role, scope, expected) in [
        ("east", "enumerator", &["LY0104"][..], (403, "out_of_scope")),
        ("half", "enumerator", &["LY0211", "LY0104"][..], (403, "out_of_scope")),
        ("sup2", "supervisor", &["LY0211"][..], (403, "forbidden")),
        ("ghost", "enumerator", &["LY0299"][..], (422, "unknown_location")),
        ("nowhere", "enumerator", &[][..], (422, "empty_scope")),
        ("Salem", "enumerator", &["LY0211"][..], (422, "bad_username")),
        ("salem", "enumerator", &["LY0211"][..], (409, "user_exists")),
    ] {
        let (status, body) = new_enumerator(username, role, scope);
        assert_eq!((status, code_of(&body)), expected, "{username} {role} {scope:?}: {body}");
    }

    // 4. An enrolment code; the device enrols with it and collects.
    let (status, enrolment) = hq.post("/api/v1/users/salem/enrolments", Some(&sup), &json!({}));
    assert_eq!(status, 201, "{enrolment}");
    let code = enrolment["code"].as_str().unwrap().to_owned();
    let link = enrolment["link"].as_str().unwrap();
    assert!(link.starts_with(&hq.url) && !link.contains("olive"), "the QR carries HQ and the code, never a password");
    assert!(enrolment["qr_svg"].as_str().unwrap().starts_with("<?xml"), "the QR code is an SVG");
    let device = Device::new();
    let weak = device.err_code(&["enrol", "--hq", &hq.url, "--code", &code, "--password", "password123"]);
    assert_eq!(weak, "weak_password", "the password is checked before the code is spent");
    // Typed as read aloud: lower case with a space instead of the dash.
    let typed = code.to_lowercase().replace('-', " ");
    let session = device.ok(&["enrol", "--hq", &hq.url, "--code", &typed, "--password", "date palms at ghat"]);
    assert_eq!(session["user"]["username"], "salem");
    let second = Device::new();
    let again = second.err_code(&["enrol", "--hq", &hq.url, "--code", &code, "--password", "date palms at ghat"]);
    assert_eq!(again, "enrolment_used", "a code works once");
    let (_, expiring) = hq.post("/api/v1/users/salem/enrolments?hours=1", Some(&sup), &json!({}));
    hq.query("UPDATE enrolments SET expires_at = '2020-01-01T00:00:00Z' WHERE used_at IS NULL");
    let expired = second.err_code(&[
        "enrol",
        "--hq",
        &hq.url,
        "--code",
        expiring["code"].as_str().unwrap(),
        "--password",
        "date palms at ghat",
    ]);
    assert_eq!(expired, "enrolment_expired");
    let bad = second.err_code(&["enrol", "--hq", &hq.url, "--code", "ACDE-FGHJ", "--password", "date palms at ghat"]);
    assert_eq!(bad, "enrolment_invalid");

    device.ok(&["set", "LY021101", "idp_hh=5", "idp_ind=20"]);
    device.ok(&["set", "LY021104", "idp_hh=10", "idp_ind=50"]);
    // HQ notes a device's report at most once a minute: let a minute pass.
    hq.query("UPDATE devices SET last_sync_at = '2020-01-01T00:00:00Z' WHERE username = 'salem'");
    let report = device.ok(&["sync"]);
    assert_eq!(report["applied"], 2, "{report}");
    let (_, devices) = hq.get("/api/v1/devices", Some(&sup));
    let row = devices.as_array().unwrap().iter().find(|d| d["username"] == "salem").expect("the device is listed");
    assert_eq!(row["app_version"], env!("CARGO_PKG_VERSION"), "{row}");
    assert_eq!(row["pending_ops"], 2, "the device reported what it had waiting when it synced: {row}");
    assert!(row["last_sync_at"].is_string(), "{row}");

    // 5. The scope shrinks to one baladiya. An edit outside it, unsent, stays on the
    //    device (HQ refuses it, visibly); what was pushed leaves the device.
    device.ok(&["set", "LY021101", "idp_hh=6"]);
    let (status, body) = hq.patch("/api/v1/users/salem", Some(&sup), &json!({"scope": ["LY021104", "LY021102"]}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = hq.patch("/api/v1/users/salem", Some(&sup), &json!({"scope": ["LY0104"]}));
    assert_eq!((status, code_of(&body)), (403, "out_of_scope"), "a supervisor cannot move people out of their area");
    let report = device.ok(&["sync"]);
    assert_eq!(report["rejected"], 1, "the unsent edit outside the new scope is refused, not lost: {report}");
    assert_eq!(on_device(&device, "LY021101"), 1, "a location with a refused operation stays on the device");
    assert_eq!(device.ok(&["rejected"]).as_array().unwrap().len(), 1, "and the enumerator sees why");
    device.ok(&["set", "LY021102", "idp_hh=1"]);
    device.ok(&["sync"]);
    let session = device.ok(&["whoami"]);
    assert_eq!(
        session["user"]["scope"],
        json!(["LY021102", "LY021104"]),
        "the new scope reached the device: {session}"
    );

    // The other device, enrolled for a later shift, pushed nothing outside: it drops
    // what left the scope. (A fresh device of the same enumerator, via a new code.)
    let (_, fresh) = hq.post("/api/v1/users/salem/enrolments", Some(&sup), &json!({}));
    let third = Device::new();
    third.ok(&[
        "enrol",
        "--hq",
        &hq.url,
        "--code",
        fresh["code"].as_str().unwrap(),
        "--password",
        "wells of the fezzan",
    ]);
    assert_eq!(on_device(&third, "LY021104"), 1, "the new device pulled its scope");
    assert_eq!(on_device(&third, "LY021101"), 0, "and nothing outside it");
    let (status, _) = hq.patch("/api/v1/users/salem", Some(&sup), &json!({"scope": ["LY021102"]}));
    assert_eq!(status, 200);
    let report = third.ok(&["sync"]);
    assert_eq!(report["removed"], 1, "LY021104 left the scope and had nothing unsent: {report}");
    assert_eq!(on_device(&third, "LY021104"), 0, "data outside the new scope leaves the device");
    assert_eq!(on_device(&third, "LY021102"), 1);
    // The scope grows back: the area arrives whole at the next sync.
    hq.patch("/api/v1/users/salem", Some(&sup), &json!({"scope": ["LY0211"]}));
    third.ok(&["sync"]);
    assert_eq!(on_device(&third, "LY021104"), 1, "a grown scope brings its data");
    assert_eq!(on_device(&third, "LY021101"), 1, "all of it, from the start of the pull");

    // 6. Disabled: every token stops at once; the unsent data stays on the device.
    device.ok(&["set", "LY021102", "idp_hh=2"]);
    let (status, body) = hq.post("/api/v1/users/salem/disable", Some(&sup), &json!({}));
    assert_eq!((status, body["disabled_at"].is_string()), (200, true), "{body}");
    assert_eq!(device.err_code(&["sync"]), "account_disabled");
    assert_eq!(third.err_code(&["sync"]), "account_disabled", "every device of the account");
    assert_eq!(device.ok(&["status"])["pending"], 1, "the unsent edit waits on the device");
    let (status, body) =
        hq.post("/api/v1/auth/login", None, &json!({"username": "salem", "password": "wells of the fezzan"}));
    assert_eq!(
        (status, code_of(&body)),
        (403, "account_disabled"),
        "the right password (the last enrolment set it) learns the account is disabled"
    );
    let (status, body) = hq.post("/api/v1/users/salem/enrolments", Some(&sup), &json!({}));
    assert_eq!((status, code_of(&body)), (403, "account_disabled"), "no new device for a disabled account");
    hq.post("/api/v1/users/salem/enable", Some(&sup), &json!({}));
    assert_eq!(device.ok(&["sync"])["applied"], 1, "enabled again, the waiting edit goes through");

    // 7. Everything above is in the audit log, written with the action.
    let (status, page) = hq.get("/api/v1/audit?limit=1000", Some(&admin));
    assert_eq!(status, 200, "{page}");
    let actions: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in [
        "create_admin",
        "create_supervisor",
        "reset_password",
        "change_password",
        "login",
        "create_enumerator",
        "issue_enrolment",
        "enrol_device",
        "change_user",
        "disable_user",
        "enable_user",
    ] {
        assert!(actions.contains(&action), "the audit log must record {action}: {actions:?}");
    }
    let (_, by_sup) = hq.get("/api/v1/audit?actor=sup.west&action=change_user", Some(&admin));
    let targets: Vec<&str> =
        by_sup["entries"].as_array().unwrap().iter().map(|e| e["target"].as_str().unwrap()).collect();
    assert!(
        targets.iter().any(|t| t.contains("scope LY0211 → LY021102 LY021104")),
        "a scope change says from what to what: {targets:?}"
    );
    let (status, _) = hq.get("/api/v1/audit", Some(&sup));
    assert_eq!(status, 403, "the audit log is for admins");

    // 8. Guessing codes is throttled like guessing passwords, and says when to try again.
    let client = reqwest::blocking::Client::new();
    let refused = (0..40).find_map(|_| {
        let resp = client
            .post(format!("{}/api/v1/enrol", hq.url))
            .json(&json!({"code": "ACDE-FGHJ", "password": "date palms at ghat"}))
            .send()
            .unwrap();
        (resp.status() == 429).then_some(resp)
    });
    let refused = refused.expect("a burst of wrong codes from one address must be refused");
    assert!(
        refused.headers().get("retry-after").is_some(),
        "a refused guess says when to try again, as a refused login does"
    );
    let body: serde_json::Value = refused.json().unwrap();
    assert_eq!(code_of(&body), "rate_limited");
}

/// Creates an enumerator through the API and signs them in: a one-time password from a
/// reset, changed at first login. Returns (token, device id).
fn staffed(hq: &Hq, admin: &str, username: &str, scope: &str) -> (String, String) {
    let (status, body) = hq.post(
        "/api/v1/users",
        Some(admin),
        &json!({"username": username, "display_name": username, "role": "enumerator", "scope": [scope]}),
    );
    assert_eq!(status, 201, "{body}");
    let (_, otp) = hq.post(&format!("/api/v1/users/{username}/password-reset"), Some(admin), &json!({}));
    let one_time = otp["password"].as_str().unwrap();
    let once = hq.token(username, one_time);
    let (status, _) = hq.post(
        "/api/v1/me/password",
        Some(&once),
        &json!({"current_password": one_time, "new_password": "camels cross the erg"}),
    );
    assert_eq!(status, 204);
    let (status, login) =
        hq.post("/api/v1/auth/login", None, &json!({"username": username, "password": "camels cross the erg"}));
    assert_eq!(status, 200, "{login}");
    (login["token"].as_str().unwrap().to_owned(), login["device_id"].as_str().unwrap().to_owned())
}

#[test]
fn every_route_answers_each_kind_of_caller_inside_and_outside_their_area_as_the_table_says() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    let enumerator = hq.token("enumerator", "enumerator-demo");
    let supervisor = hq.token("supervisor", "supervisor-demo");
    // Targets: an enumerator inside the demo supervisor's region LY02, and one outside.
    let (_, inside_device) = staffed(&hq, &admin, "in.enum", "LY0211");
    let (_, outside_device) = staffed(&hq, &admin, "east.enum", "LY0104");
    let (disabled, _) = staffed(&hq, &admin, "off.enum", "LY0211");
    assert_eq!(hq.post("/api/v1/users/off.enum/disable", Some(&admin), &json!({})).0, 200);
    let (revoked, revoked_device) = staffed(&hq, &admin, "rev.enum", "LY0211");
    assert_eq!(hq.post(&format!("/api/v1/devices/{revoked_device}/revoke"), Some(&admin), &json!({})).0, 204);

    let callers: [(&str, Option<&str>); 6] = [
        ("anonymous", None),
        ("enumerator", Some(&enumerator)),
        ("supervisor", Some(&supervisor)),
        ("admin", Some(&admin)),
        ("disabled user", Some(&disabled)),
        ("revoked device", Some(&revoked)),
    ];
    enum Call {
        Get(String),
        Post(String, serde_json::Value),
        Patch(String, serde_json::Value),
    }
    use Call::*;
    let mut n = 0;
    let mut fresh = move || {
        n += 1;
        format!("new.{n}")
    };
    // Each row: the call for a target inside LY02 and outside it (the same call when
    // the route has no target), and the expected status for each caller in order.
    type Row = (&'static str, Box<dyn FnMut(bool) -> Call>, [u16; 6], [u16; 6]);
    let user_route = |path: &'static str| -> Box<dyn FnMut(bool) -> Call> {
        Box::new(move |inside| {
            let target = if inside { "in.enum" } else { "east.enum" };
            Post(format!("/api/v1/users/{target}/{path}"), json!({}))
        })
    };
    let (inside_dev, outside_dev) = (inside_device.clone(), outside_device.clone());
    let rows: Vec<Row> = vec![
        (
            "GET /me",
            Box::new(|_| Get("/api/v1/me".into())),
            [401, 200, 200, 200, 403, 403],
            [401, 200, 200, 200, 403, 403],
        ),
        (
            "GET /rounds",
            Box::new(|_| Get("/api/v1/rounds".into())),
            [401, 200, 200, 200, 403, 403],
            [401, 200, 200, 200, 403, 403],
        ),
        (
            "GET /sync/pull",
            Box::new(|_| Get("/api/v1/sync/pull".into())),
            [401, 200, 200, 200, 403, 403],
            [401, 200, 200, 200, 403, 403],
        ),
        (
            "POST /rounds (empty body)",
            Box::new(|_| Post("/api/v1/rounds".into(), json!({}))),
            [401, 403, 403, 422, 403, 403],
            [401, 403, 403, 422, 403, 403],
        ),
        (
            "GET /rounds/R1/conflicts",
            Box::new(|_| Get("/api/v1/rounds/R1/conflicts".into())),
            [401, 403, 200, 200, 403, 403],
            [401, 403, 200, 200, 403, 403],
        ),
        (
            "GET /rounds/R1/export.csv",
            Box::new(|_| Get("/api/v1/rounds/R1/export.csv".into())),
            [401, 403, 200, 200, 403, 403],
            [401, 403, 200, 200, 403, 403],
        ),
        (
            "GET /users",
            Box::new(|_| Get("/api/v1/users".into())),
            [401, 403, 200, 200, 403, 403],
            [401, 403, 200, 200, 403, 403],
        ),
        (
            "POST /users",
            Box::new(move |inside| {
                let scope = if inside { "LY0211" } else { "LY0104" };
                Post(
                    "/api/v1/users".into(),
                    json!({"username": fresh(), "display_name": "New", "role": "enumerator", "scope": [scope]}),
                )
            }),
            [401, 403, 201, 201, 403, 403],
            [401, 403, 403, 201, 403, 403],
        ),
        (
            "PATCH /users/{u}",
            Box::new(|inside| {
                let target = if inside { "in.enum" } else { "east.enum" };
                Patch(format!("/api/v1/users/{target}"), json!({"display_name": "Renamed"}))
            }),
            [401, 403, 200, 200, 403, 403],
            [401, 403, 403, 200, 403, 403],
        ),
        (
            "POST /users/{u}/enrolments",
            user_route("enrolments"),
            [401, 403, 201, 201, 403, 403],
            [401, 403, 403, 201, 403, 403],
        ),
        (
            "POST /users/{u}/password-reset",
            user_route("password-reset"),
            [401, 403, 200, 200, 403, 403],
            [401, 403, 403, 200, 403, 403],
        ),
        (
            "POST /users/{u}/enable",
            user_route("enable"),
            [401, 403, 200, 200, 403, 403],
            [401, 403, 403, 200, 403, 403],
        ),
        (
            "POST /users/{u}/unlock",
            user_route("unlock"),
            [401, 403, 403, 204, 403, 403],
            [401, 403, 403, 204, 403, 403],
        ),
        (
            "GET /devices",
            Box::new(|_| Get("/api/v1/devices".into())),
            [401, 403, 200, 200, 403, 403],
            [401, 403, 200, 200, 403, 403],
        ),
        (
            "POST /devices/{id}/revoke",
            Box::new(move |inside| {
                let device = if inside { &inside_dev } else { &outside_dev };
                Post(format!("/api/v1/devices/{device}/revoke"), json!({}))
            }),
            [401, 403, 204, 204, 403, 403],
            [401, 403, 403, 204, 403, 403],
        ),
        (
            "GET /audit",
            Box::new(|_| Get("/api/v1/audit".into())),
            [401, 403, 403, 200, 403, 403],
            [401, 403, 403, 200, 403, 403],
        ),
        (
            "GET /audit.csv",
            Box::new(|_| Get("/api/v1/audit.csv".into())),
            [401, 403, 403, 200, 403, 403],
            [401, 403, 403, 200, 403, 403],
        ),
    ];
    let mut wrong = Vec::new();
    let mut cells = 0;
    for (route, mut call, inside, outside) in rows {
        for (area, expected) in [("inside", inside), ("outside", outside)] {
            for ((who, token), want) in callers.iter().zip(expected) {
                let (status, body) = match call(area == "inside") {
                    Get(path) => hq.get(&path, *token),
                    Post(path, body) => hq.post(&path, *token, &body),
                    Patch(path, body) => hq.patch(&path, *token, &body),
                };
                cells += 1;
                if status != want {
                    wrong.push(format!("{route} {area} as {who}: {status}, expected {want} ({body})"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {cells} cells differ from the table:\n{}", wrong.len(), wrong.join("\n"));
    assert_eq!(cells, 17 * 2 * 6);
}
