//! The field app's store encrypted at rest, end to end against a real dtm-hq: the
//! device as the app opens it (`Device::open_encrypted`), in this process, with real
//! files. What is proved: a stolen disk shows none of the work; the first sign-in needs
//! HQ and later ones do not; a wrong password is refused offline and five in a row
//! slow the next; a password change keeps the data; a store from an app before
//! encryption keeps its outbox; another account cannot take over a locked store.

use dtm_core::{AssessmentKey, ErrorCode, Pcode};
use dtm_e2e::Hq;
use dtm_sync::device::{Cost, Device, DeviceError};
use serde_json::json;
use std::path::Path;

const TRIPOLI: &str = "LY021104";
const USER: &str = "enumerator";
const PASSWORD: &str = "enumerator-demo";

fn tripoli() -> AssessmentKey {
    AssessmentKey::new("R1", "baladiya", Pcode::parse(TRIPOLI).unwrap())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// The device as the field app opens it, with argon2id's cheapest cost so the tests
/// stay quick (the cost is kept per account in the key file, so this changes nothing
/// else).
fn app_device(path: &Path) -> Device {
    Device::open_encrypted(path, Cost::CHEAP_FOR_TESTS)
        .unwrap()
        .with_retry(dtm_sync::retry::RetryPolicy::patient_for(std::time::Duration::from_secs(1)))
}

/// The field app's store at `path` after the enumerator's first sign-in (online), with
/// `idp_hh` typed at Tripoli; and the device's id at HQ.
fn enumerators_device(rt: &tokio::runtime::Runtime, hq: &Hq, path: &Path, idp_hh: i64) -> (Device, String) {
    let device = app_device(path);
    let session = rt.block_on(device.login(&hq.url, USER, PASSWORD)).unwrap();
    device.set_field(&tripoli(), "idp_hh", json!(idp_hh)).unwrap();
    (device, session.device_id.expect("the device has an id"))
}

fn code(e: DeviceError) -> ErrorCode {
    e.code()
}

/// Every byte of the store's files in the device's folder (the database and its
/// write-ahead log). The key file is left out: it is JSON of hex digits, where a short
/// number such as "3391" turns up by chance, and it is checked on its own.
fn bytes_on_disk(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "key") {
            continue;
        }
        all.extend(std::fs::read(path).unwrap());
    }
    all
}

/// The key file: the names of the accounts that may open the store, the store's id,
/// and hex; never a value, a P-code or a password.
fn assert_key_file_holds_no_data(dir: &Path, password: &str) {
    let text = std::fs::read_to_string(dir.join("device.sqlite3.key")).expect("the key file is there");
    let parsed: serde_json::Value = serde_json::from_str(&text).expect("the key file is JSON");
    for secret in [TRIPOLI, "Tripoli", "idp_hh", password] {
        assert!(!text.contains(secret), "`{secret}` must not be in the key file: {parsed}");
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_first_sign_in_needs_hq_and_later_ones_open_the_data_offline_with_nothing_readable_on_disk() {
    let rt = runtime();
    let mut hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    {
        let device = app_device(&path);
        let state = device.lock_state().unwrap();
        assert!(state.encrypted && state.locked && state.accounts.is_empty(), "a new device holds nothing: {state:?}");
        assert!(device.session().unwrap().is_none(), "nobody is signed in on a new device");
        rt.block_on(device.login(&hq.url, USER, PASSWORD)).expect("the first sign-in goes to HQ");
        device.set_field(&tripoli(), "idp_hh", json!(481_739)).unwrap();
        device.set_field(&tripoli(), "idp_ind", json!(1_926_845)).unwrap();
        rt.block_on(device.sync(|_| {})).unwrap();
        device.set_field(&tripoli(), "ret_hh", json!(339_127)).unwrap();
    }
    // The laptop is switched off, and is somewhere with no link to HQ.
    hq.kill();
    let disk = bytes_on_disk(dir.path());
    for secret in [TRIPOLI, "Tripoli", "Demo enumerator", "idp_hh", "481739", "1926845", "339127", &hq.url] {
        assert!(!contains(&disk, secret), "`{secret}` must not be readable from a stolen laptop's disk");
    }
    assert_key_file_holds_no_data(dir.path(), PASSWORD);

    let device = app_device(&path);
    let state = device.lock_state().unwrap();
    assert!(state.locked, "a restarted app starts locked");
    assert_eq!(state.accounts, [USER], "the sign-in screen may name who can open the data");
    assert_eq!(
        code(device.set_field(&tripoli(), "idp_hh", json!(1)).unwrap_err()),
        ErrorCode::NotLoggedIn,
        "nothing is read or written while locked"
    );
    assert_eq!(
        code(rt.block_on(device.login(&hq.url, USER, "enumerator-demX")).unwrap_err()),
        ErrorCode::BadCredentials,
        "a wrong password is refused by the device itself when HQ cannot be asked, not reported as offline"
    );
    let session = rt.block_on(device.login(&hq.url, USER, PASSWORD)).expect("the right password opens it offline");
    assert_eq!(session.user.username, USER);
    let detail = device.assessment(&tripoli()).unwrap();
    assert_eq!(
        (&detail.values["idp_hh"], &detail.values["ret_hh"]),
        (&json!(481_739), &json!(339_127)),
        "the synced value and the unsent one are both there"
    );
    assert_eq!(device.sync_state().unwrap().pending, 1, "the unsent edit is still waiting in the outbox");
    device.set_field(&tripoli(), "ret_ind", json!(12_000)).expect("work goes on offline");

    // HQ comes back: the outbox goes, as from any device.
    hq.restart();
    rt.block_on(device.sync(|_| {})).unwrap();
    assert_eq!(device.sync_state().unwrap().pending, 0, "everything typed offline reached HQ");

    rt.block_on(device.logout()).unwrap();
    assert!(device.lock_state().unwrap().locked, "signing out locks the data again");
    assert!(device.session().unwrap().is_none());
}

#[test]
fn five_wrong_passwords_in_a_row_make_the_device_wait_before_the_next_try() {
    let rt = runtime();
    let mut hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    rt.block_on(app_device(&path).login(&hq.url, USER, PASSWORD)).unwrap();
    hq.kill();
    let device = app_device(&path);
    for i in 0..5 {
        let e = rt.block_on(device.login(&hq.url, USER, &format!("guess-{i}"))).unwrap_err();
        assert_eq!(code(e), ErrorCode::BadCredentials, "try {i} is refused as wrong");
    }
    let state = device.lock_state().unwrap();
    assert_eq!(state.wait_seconds, 30, "after five wrong passwords the next try waits: {state:?}");
    let e = rt.block_on(device.login(&hq.url, USER, PASSWORD)).unwrap_err();
    assert_eq!(code(e), ErrorCode::RateLimited, "during the wait even the right password is not tried");
    // A new process (the app restarted) does not reset the count: it is in the key file.
    let again = app_device(&path);
    assert_eq!(again.lock_state().unwrap().wait_seconds, 30, "a restart must not clear the wait");
}

#[test]
fn a_password_change_keeps_the_data_and_only_the_new_password_opens_it_offline() {
    let rt = runtime();
    let mut hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    let new_password = "olive-grove-by-the-wadi";
    {
        let (device, _) = enumerators_device(&rt, &hq, &path, 4817);
        let before = std::fs::read(&path).unwrap().len();
        rt.block_on(device.change_password(PASSWORD, new_password)).expect("HQ takes the new password");
        assert!(std::fs::read(&path).unwrap().len() >= before, "the store is not rewritten by a password change");
    }
    hq.kill();
    let device = app_device(&path);
    assert_eq!(
        code(rt.block_on(device.login(&hq.url, USER, PASSWORD)).unwrap_err()),
        ErrorCode::BadCredentials,
        "the old password no longer opens the device's data"
    );
    rt.block_on(device.login(&hq.url, USER, new_password)).expect("the new one does, offline");
    assert_eq!(device.assessment(&tripoli()).unwrap().values["idp_hh"], json!(4817), "and the data is all there");
    assert_eq!(device.sync_state().unwrap().pending, 1, "with its outbox");
}

#[test]
fn a_plain_store_from_an_app_before_encryption_is_encrypted_at_the_next_sign_in_and_its_outbox_still_goes() {
    let rt = runtime();
    let hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    {
        let old_app = Device::open(&path).unwrap();
        rt.block_on(old_app.login(&hq.url, USER, PASSWORD)).unwrap();
        old_app.set_field(&tripoli(), "idp_hh", json!(4817)).unwrap();
    }
    assert!(contains(&bytes_on_disk(dir.path()), TRIPOLI), "the old app's store is plain");
    let device = app_device(&path);
    assert!(device.lock_state().unwrap().locked, "the new app does not read a plain store before a sign-in");
    rt.block_on(device.login(&hq.url, USER, PASSWORD)).expect("the sign-in takes the old store over");
    assert_eq!(device.assessment(&tripoli()).unwrap().values["idp_hh"], json!(4817));
    rt.block_on(device.sync(|_| {})).unwrap();
    assert_eq!(device.sync_state().unwrap().pending, 0, "the edit typed in the old app reached HQ");
    assert_eq!(
        hq.query_one("SELECT count(*) FROM ops WHERE outcome = 'applied'").as_deref(),
        Some("1"),
        "exactly once"
    );
    drop(device);
    assert!(!contains(&bytes_on_disk(dir.path()), TRIPOLI), "and nothing of it is left in plain text");
}

#[test]
fn another_account_cannot_take_over_a_locked_store_and_is_told_whose_it_is() {
    let rt = runtime();
    let hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    {
        let (device, _) = enumerators_device(&rt, &hq, &path, 4817);
        rt.block_on(device.logout()).unwrap();
    }
    let device = app_device(&path);
    let e = rt.block_on(device.login(&hq.url, "supervisor", "supervisor-demo")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreLocked, "{e}");
    assert!(e.to_string().contains(USER), "the message names the account that holds the data: {e}");
    assert!(device.lock_state().unwrap().locked, "the data stays locked");
    let e = rt.block_on(device.login(&hq.url, USER, PASSWORD)).map(|_| ()).err();
    assert!(e.is_none(), "its own account still opens it: {e:?}");
    assert_eq!(
        device.assessment(&tripoli()).unwrap().values["idp_hh"],
        json!(4817),
        "with the enumerator's work kept (the sign-in's sync has since sent it)"
    );
    assert_eq!(device.sync_state().unwrap().pending, 0);
}

#[test]
fn a_device_revoked_with_a_wipe_pushes_what_it_holds_then_removes_its_data() {
    let rt = runtime();
    let hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    let device = app_device(&path);
    let session = rt.block_on(device.login(&hq.url, USER, PASSWORD)).unwrap();
    let device_id = session.device_id.expect("the device has an id");
    // Typed before the laptop was lost, never synced.
    device.set_field(&tripoli(), "idp_hh", json!(4817)).unwrap();
    device.set_field(&tripoli(), "idp_ind", json!(19_268)).unwrap();

    let admin = hq.token("admin", "admin-demo");
    let (status, body) = hq.post(&format!("/api/v1/devices/{device_id}/revoke?wipe=true"), Some(&admin), &json!({}));
    assert_eq!(status, 204, "{body}");
    let (_, devices) = hq.get("/api/v1/devices", Some(&admin));
    let listed = devices.as_array().unwrap().iter().find(|d| d["device_id"] == device_id.as_str()).unwrap().clone();
    assert_eq!((listed["wipe"].as_bool(), listed["revoked_at"].is_null()), (Some(true), false), "{listed}");

    let e = rt.block_on(device.sync(|_| {})).unwrap_err();
    assert_eq!(e.code(), ErrorCode::DeviceWipe, "{e}");
    let (_, at_hq) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&admin));
    assert_eq!(
        (&at_hq["values"]["idp_hh"], &at_hq["values"]["idp_ind"]),
        (&json!(4817), &json!(19_268)),
        "what the device held reached HQ before the wipe: {at_hq}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "the store, its log and its key file are gone: {left:?}");
    let state = device.lock_state().unwrap();
    assert!(state.locked && state.accounts.is_empty(), "nothing is left to open: {state:?}");
    assert!(device.session().unwrap().is_none());
    // With its store gone the laptop has no identity left: a sign-in is a new device to
    // HQ (an account whose password was lost with the laptop is disabled, not the device).
    let again = rt.block_on(device.login(&hq.url, USER, PASSWORD)).expect("a fresh start");
    assert_ne!(again.device_id.as_deref(), Some(device_id.as_str()), "the wiped identity is not reused");
    assert_eq!(device.sync_state().unwrap().pending, 0, "no outbox survived the wipe to be sent twice");
}

#[test]
fn a_device_revoked_without_a_wipe_keeps_its_unsent_data() {
    let rt = runtime();
    let hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let device = app_device(&dir.path().join("device.sqlite3"));
    let device_id = rt.block_on(device.login(&hq.url, USER, PASSWORD)).unwrap().device_id.unwrap();
    device.set_field(&tripoli(), "idp_hh", json!(4817)).unwrap();
    let admin = hq.token("admin", "admin-demo");
    assert_eq!(hq.post(&format!("/api/v1/devices/{device_id}/revoke"), Some(&admin), &json!({})).0, 204);
    assert_eq!(rt.block_on(device.sync(|_| {})).unwrap_err().code(), ErrorCode::DeviceRevoked);
    assert_eq!(device.sync_state().unwrap().pending, 1, "a plain revoke takes nothing from the device");
    assert_eq!(device.assessment(&tripoli()).unwrap().values["idp_hh"], json!(4817));
}

#[test]
fn a_password_reset_at_hq_opens_the_device_again_through_hqs_key_and_the_unsent_work_is_there() {
    let rt = runtime();
    let hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    let store_id = {
        let (device, device_id) = enumerators_device(&rt, &hq, &path, 4817);
        rt.block_on(device.logout()).unwrap();
        device_id
    };
    // The enumerator forgot the password; an admin resets it to a one-time one.
    let admin = hq.token("admin", "admin-demo");
    let (status, otp) = hq.post(&format!("/api/v1/users/{USER}/password-reset"), Some(&admin), &json!({}));
    assert_eq!(status, 200, "{otp}");
    let one_time = otp["password"].as_str().unwrap().to_owned();

    let device = app_device(&path);
    let session = rt.block_on(device.login(&hq.url, USER, &one_time)).expect("HQ's key for this store opens it");
    assert_eq!(session.must_change_password, Some(true));
    assert_eq!(device.assessment(&tripoli()).unwrap().values["idp_hh"], json!(4817), "the work typed before is there");
    assert_eq!(device.sync_state().unwrap().pending, 1, "and still waits to be sent, not lost");
    let new_password = "a-new-password-for-the-wadi";
    rt.block_on(device.change_password(&one_time, new_password)).unwrap();
    drop(device); // the laptop is switched off, still signed in

    // From now on the new password opens it with no connection at all.
    let mut hq = hq;
    hq.kill();
    let device = app_device(&path);
    rt.block_on(device.login(&hq.url, USER, new_password)).expect("the new password opens it offline");
    assert_eq!(device.sync_state().unwrap().pending, 1);

    // HQ gives that key only to the account that opened the store, and never to the dashboard.
    hq.restart();
    let key_for = |user: &str, password: &str, dashboard: bool| -> Option<String> {
        let mut req = reqwest::blocking::Client::new()
            .post(format!("{}/api/v1/auth/login", hq.url))
            .json(&json!({"username": user, "password": password, "device_id": store_id}));
        if dashboard {
            req = req.header("x-dtm-client", "dashboard");
        }
        let body: serde_json::Value = req.send().unwrap().json().unwrap();
        assert!(body["user"].is_object(), "{user} signs in: {body}");
        body["store_key"].as_str().map(str::to_owned)
    };
    assert!(key_for(USER, new_password, false).is_some(), "the store's own account gets it");
    assert_eq!(key_for("supervisor", "supervisor-demo", false), None, "another account never gets it");
    assert_eq!(key_for(USER, new_password, true), None, "the dashboard never gets it");
}

#[test]
fn support_staff_read_a_field_store_with_dtm_encrypted_and_its_enumerators_password_and_nothing_else() {
    let rt = runtime();
    let hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    // The app saved a value and closed.
    drop(enumerators_device(&rt, &hq, &path, 481_739));
    let dtm = |args: &[&str], env: &[(&str, &str)]| {
        let out = std::process::Command::new(dtm_e2e::bin("dtm"))
            .args(["--json", "--store"])
            .arg(&path)
            .args(args)
            .env_remove("DTM_USER")
            .env_remove("DTM_PASSWORD")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        // With --json, an error is printed as `{"error": {code, message}}` on stdout too.
        (out.status.success(), serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or(json!(null)))
    };
    let (ok, shown) =
        dtm(&["--encrypted", "show", TRIPOLI], &[("DTM_USER", USER), ("DTM_PASSWORD", PASSWORD), ("DTM_HQ_URL", "")]);
    assert!(ok, "the enumerator's password opens the store on the command line, offline: {shown}");
    assert_eq!(shown["values"]["idp_hh"], 481_739, "and shows what the app saved: {shown}");
    let refused = [
        ("a wrong password", vec![("DTM_USER", USER), ("DTM_PASSWORD", "not-the-password")], "bad_credentials"),
        ("no password", vec![], "store_locked"),
    ];
    for (what, env, code) in refused {
        let (ok, body) = dtm(&["--encrypted", "show", TRIPOLI], &env);
        assert!(!ok, "{what} opens nothing: {body}");
        assert_eq!(body["error"]["code"], code, "{what} is refused with a code that says why: {body}");
    }
    let (ok, body) = dtm(&["show", TRIPOLI], &[]);
    assert!(!ok, "without --encrypted the store is not readable as a plain one: {body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "and says so rather than crashing: {body}"
    );
}

#[test]
fn a_laptop_handed_over_at_hq_opens_for_its_new_account_with_the_work_on_it() {
    let rt = runtime();
    let hq = Hq::start_demo();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    let device_id = {
        let (device, device_id) = enumerators_device(&rt, &hq, &path, 4817);
        rt.block_on(device.sync(|_| {})).unwrap();
        // Typed just before the enumerator left: still in the outbox.
        device.set_field(&tripoli(), "idp_ind", json!(19_268)).unwrap();
        rt.block_on(device.logout()).unwrap();
        device_id
    };
    let device = app_device(&path);
    let e = rt.block_on(device.login(&hq.url, "supervisor", "supervisor-demo")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::StoreLocked, "before the hand-over the data opens only for the enumerator: {e}");

    let admin = hq.token("admin", "admin-demo");
    let hand_over = |id: &str, to: &str| {
        hq.post(&format!("/api/v1/devices/{id}/hand-over"), Some(&admin), &json!({ "username": to }))
    };
    for (what, (status, body), want) in [
        ("an unknown account", hand_over(&device_id, "nobody"), (404, "not_found")),
        ("an unknown device", hand_over("0190aaaa-0000-7000-8000-000000000000", "supervisor"), (404, "not_found")),
    ] {
        assert_eq!((status, body["error"]["code"].as_str()), (want.0, Some(want.1)), "{what}: {body}");
    }
    // A device that keeps a plain store (the command line's) has no key at HQ to hand.
    let plain = Device::open(&dir.path().join("plain.sqlite3")).unwrap();
    let plain_id = rt.block_on(plain.login(&hq.url, USER, PASSWORD)).unwrap().device_id.unwrap();
    let (status, body) = hand_over(&plain_id, "supervisor");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("no_store_key")),
        "a plain store is open to any account already, and HQ keeps no key for it: {body}"
    );
    let enumerator = hq.token(USER, PASSWORD);
    let (status, body) = hq.post(
        &format!("/api/v1/devices/{device_id}/hand-over"),
        Some(&enumerator),
        &json!({ "username": "supervisor" }),
    );
    assert_eq!(status, 403, "an enumerator hands no device over, not even their own: {body}");
    let (status, body) = hand_over(&device_id, "supervisor");
    assert_eq!(status, 204, "{body}");
    assert_eq!(hand_over(&device_id, "supervisor").0, 204, "handing over twice is the same hand-over");

    // The new account signs in online once: HQ's key opens the store, with the work.
    rt.block_on(device.login(&hq.url, "supervisor", "supervisor-demo")).expect("handed over, the data opens");
    let values = device.assessment(&tripoli()).unwrap().values;
    assert_eq!(
        (values["idp_hh"].as_i64(), values["idp_ind"].as_i64()),
        (Some(4817), Some(19_268)),
        "the enumerator's work is all there, sent and unsent"
    );
    assert_eq!(device.sync_state().unwrap().pending, 0, "the sign-in's sync sent what was waiting");
    let (_, at_hq) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&admin));
    assert_eq!(at_hq["values"]["idp_ind"], 19_268, "nothing typed before the hand-over is lost: {at_hq}");

    // From now on the new account's password opens it offline, and the old one's too.
    drop(device);
    let device = app_device(&path);
    rt.block_on(device.login("http://127.0.0.1:9", "supervisor", "supervisor-demo"))
        .expect("the new account's password opens the store with HQ out of reach");
    device.lock();
    let state = device.lock_state().unwrap();
    assert!(
        state.accounts.iter().any(|a| a == USER) && state.accounts.iter().any(|a| a == "supervisor"),
        "both accounts may open the data here: {state:?}"
    );
    assert_key_file_holds_no_data(dir.path(), "supervisor-demo");

    let (_, audit) = hq.get("/api/v1/audit?action=hand_over_device", Some(&admin));
    let targets: Vec<&str> = audit["entries"].as_array().unwrap().iter().filter_map(|e| e["target"].as_str()).collect();
    assert!(
        targets.iter().any(|t| t.contains(&device_id) && t.contains("to supervisor")),
        "the hand-over is in the audit log, with the device and both accounts: {audit}"
    );
}
