//! What a device can tell about its own sync, end to end against a real dtm-hq: whether
//! HQ answered, refusals apart from conflicts and superseded edits, a log of what it
//! sent, patience with an HQ that restarts slowly, and a logout HQ hears of.

use dtm_e2e::{bin, Device, Hq};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TRIPOLI: &str = "LY021104";

fn login(hq: &Hq, device: &Device) {
    device.ok(&["login", "--hq", &hq.url, "--user", "enumerator", "--password", "enumerator-demo"]);
}

/// The device's bearer token, read from its store (the CLI never prints it).
fn token_of(device: &Device) -> Option<String> {
    let conn = rusqlite::Connection::open(&device.store).unwrap();
    conn.query_row("SELECT token FROM device", [], |r| r.get(0)).unwrap()
}

/// What HQ recorded for each of its operations: op_id → outcome.
fn hq_outcomes(hq: &Hq) -> Vec<(String, String)> {
    hq.query("SELECT op_id, outcome FROM ops ORDER BY op_id")
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect()
}

/// Runs `dtm --json …` with the device's clock `offset_ms` off.
fn dtm_at(device: &Device, offset_ms: i64, args: &[&str]) -> Value {
    let out = Command::new(bin("dtm"))
        .arg("--store")
        .arg(&device.store)
        .arg("--json")
        .args(args)
        .env("DTM_CLOCK_OFFSET_MS", offset_ms.to_string())
        .output()
        .expect("dtm runs");
    assert!(out.status.success(), "dtm {args:?} failed: {}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn status_says_online_right_after_a_successful_sync_and_offline_after_a_failed_one() {
    // Regression (issue 8, item 17): each `dtm` is a new process, and whether HQ had
    // answered lived only in the memory of the process that synced.
    let mut hq = Hq::start_demo();
    let a = Device::new();
    login(&hq, &a);
    a.ok(&["set", TRIPOLI, "idp_hh=4"]);
    a.ok(&["sync"]);
    assert_eq!(a.ok(&["status"])["online"], true, "HQ has just answered a sync: the device is online");
    hq.kill();
    assert_eq!(a.err_code(&["sync", "--retry-for", "0"]), "offline");
    assert_eq!(a.ok(&["status"])["online"], false, "HQ did not answer the last attempt");
}

#[test]
fn status_counts_conflicts_apart_from_refusals() {
    // Regression (item 18): a device with conflicts and no refusal showed `rejected 51`.
    let hq = Hq::start_demo();
    let (a, b) = (Device::new(), Device::new());
    login(&hq, &a);
    login(&hq, &b);
    a.ok(&["set", TRIPOLI, "idp_hh=10"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    a.ok(&["set", TRIPOLI, "idp_hh=11"]);
    b.ok(&["set", TRIPOLI, "idp_hh=12"]);
    a.ok(&["sync"]);
    let report = b.ok(&["sync"]);
    assert_eq!((report["conflicts"].as_u64(), report["rejected"].as_u64()), (Some(1), Some(0)), "{report}");
    let status = b.ok(&["status"]);
    assert_eq!(
        (status["rejected"].as_u64(), status["conflicts"].as_u64()),
        (Some(0), Some(1)),
        "HQ refused nothing; one edit waits for a supervisor: {status}"
    );
    let set_aside = b.ok(&["rejected"]);
    assert_eq!(set_aside[0]["state"], "conflict", "the list says which kind each one is: {set_aside}");
}

#[test]
fn a_device_keeps_a_log_of_what_it_sent_that_matches_hq_by_op_id() {
    // Regression (item 19): applied operations left the outbox and nothing on the
    // device could be matched to HQ afterwards.
    let hq = Hq::start_demo();
    let a = Device::new();
    login(&hq, &a);
    a.ok(&["set", TRIPOLI, "idp_hh=10", "idp_ind=50"]);
    a.ok(&["set", TRIPOLI, "idp_hh=11"]);
    a.ok(&["sync"]);
    let log = a.ok(&["sent"]);
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2, "one entry per operation sent: {log:?}");
    assert_eq!((log[0]["seq"].as_u64(), log[1]["seq"].as_u64()), (Some(2), Some(1)), "newest first");
    let mut device_side: Vec<(String, String)> = log
        .iter()
        .map(|e| (e["op_id"].as_str().unwrap().to_owned(), e["outcome"].as_str().unwrap().to_owned()))
        .collect();
    device_side.sort();
    assert_eq!(device_side, hq_outcomes(&hq), "each entry matches HQ's record of the same operation");
    for e in log {
        assert!(e["sent_at"].is_string() && e["answered_at"].is_string() && e["key"]["location"] == TRIPOLI, "{e}");
    }
    assert_eq!(a.ok(&["sent", "--limit", "1"]).as_array().unwrap().len(), 1, "--limit bounds the listing");
}

#[test]
fn a_sync_waits_for_an_hq_that_takes_seconds_to_restart() {
    // Regression (item 20): retries gave up after about 1.75 s, so an HQ restarting a
    // little slower turned the sync into "offline".
    let mut hq = Hq::start_demo();
    let a = Device::new();
    login(&hq, &a);
    a.ok(&["set", TRIPOLI, "idp_hh=4"]);
    hq.kill();
    let started = Instant::now();
    let sync = Command::new(bin("dtm"))
        .arg("--store")
        .arg(&a.store)
        .args(["--json", "sync", "--retry-for", "30"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dtm sync starts");
    std::thread::sleep(Duration::from_secs(3));
    hq.restart();
    let out = sync.wait_with_output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "the sync must outlast a 3 s restart: {report}");
    assert_eq!((report["applied"].as_u64(), report["pending"].as_u64()), (Some(1), Some(0)), "{report}");
    eprintln!("[slow restart] the sync finished {:.1} s after it started", started.elapsed().as_secs_f64());
}

#[test]
fn an_older_edit_from_the_same_device_is_answered_superseded_never_applied() {
    // Regression (item 21): a store restored from a backup and a clock set back made an
    // edit that HQ answered `applied` although it wrote nothing.
    let hq = Hq::start_demo();
    let a = Device::new();
    login(&hq, &a);
    let backup = a.store.with_extension("backup");
    std::fs::copy(&a.store, &backup).unwrap();
    a.ok(&["set", TRIPOLI, "idp_hh=5"]);
    a.ok(&["sync"]);
    // The store is restored from the backup, and the clock is a day behind.
    std::fs::copy(&backup, &a.store).unwrap();
    let day = 86_400_000;
    dtm_at(&a, -day, &["set", TRIPOLI, "idp_hh=7"]);
    let report = dtm_at(&a, -day, &["sync"]);
    assert_eq!(
        (report["applied"].as_u64(), report["superseded"].as_u64()),
        (Some(0), Some(1)),
        "nothing was written, so nothing may be acknowledged as applied: {report}"
    );
    let sup = hq.token("supervisor", "supervisor-demo");
    let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&sup));
    assert_eq!(detail["values"]["idp_hh"], 5, "the device's newer value stands at HQ");
    let status = a.ok(&["status"]);
    assert_eq!((status["superseded"].as_u64(), status["rejected"].as_u64()), (Some(1), Some(0)), "{status}");
    let kept = a.ok(&["rejected"]);
    assert_eq!((kept[0]["state"].as_str(), kept[0]["code"].as_str()), (Some("superseded"), Some("superseded")));
    assert!(kept[0]["reason"].as_str().unwrap().contains("idp_hh"), "the reason names the field: {kept}");
    assert!(hq_outcomes(&hq).iter().any(|(_, o)| o == "superseded"), "HQ records the outcome too");

    // A device of protocol 2 cannot read `superseded`: it hears `rejected`, never `applied`.
    let token = token_of(&a).unwrap();
    let op = json!({"op_id": "01890a5d-ac96-774b-bcce-b302099a8099", "seq": 99,
        "key": {"round": "R1", "form": "baladiya", "location": TRIPOLI},
        "hlc": {"millis": 1, "counter": 0}, "form_version": 2, "kind": "edit", "values": {"idp_hh": 8}});
    let (code, body) = hq.post("/api/v1/sync/push", Some(&token), &json!({"ops": [op]}));
    assert_eq!(code, 200, "{body}");
    let result = &body["results"][0];
    assert_eq!((result["outcome"].as_str(), result["code"].as_str()), (Some("rejected"), Some("superseded")), "{body}");
}

#[test]
fn a_long_outbox_pushed_two_batches_at_a_time_applies_every_save_in_the_order_it_was_made() {
    // Saves of 16 muhallas, field by field: first each muhalla in turn (so batches end
    // where a muhalla does and the next flies beside them), then pass after pass over
    // all of them (so every batch names what the one before names, and must wait).
    const FIELDS: [&str; 8] =
        ["idp_hh", "idp_ind", "ret_hh", "ret_ind", "mig_ind", "mig_men", "mig_women", "mig_children"];
    let muhallas: Vec<String> =
        ["LY021101", "LY021104"].iter().flat_map(|b| (1..=8).map(move |m| format!("{b}{m:02}"))).collect();
    let hq = Hq::start_demo();
    let a = Device::new();
    login(&hq, &a);
    let mut last = std::collections::BTreeMap::new();
    let mut saves = 0u64;
    {
        let device = dtm_sync::device::Device::open(&a.store).expect("the device store opens");
        let mut save = |location: &str, field: &'static str, value: i64| {
            let key = dtm_core::AssessmentKey::new("R1", "muhalla", dtm_core::Pcode::parse(location).unwrap());
            device.set_field(&key, field, json!(value)).unwrap_or_else(|e| panic!("saving {field} at {location}: {e}"));
            last.insert((location.to_owned(), field), value);
            saves += 1;
        };
        for (m, location) in muhallas.iter().enumerate() {
            for pass in 0..3 {
                for (f, field) in FIELDS.iter().enumerate() {
                    save(location, field, (m * 1000 + pass * 10 + f) as i64);
                }
            }
        }
        for pass in 3..6 {
            for (m, location) in muhallas.iter().enumerate() {
                for (f, field) in FIELDS.iter().enumerate() {
                    save(location, field, (m * 1000 + pass * 10 + f) as i64);
                }
            }
        }
    }
    assert_eq!(saves, 768, "more saves than the first batches carry");
    let report = a.ok(&["sync"]);
    assert_eq!(
        (report["pushed"].as_u64(), report["applied"].as_u64()),
        (Some(saves), Some(saves)),
        "every save goes once and applies: {report}"
    );
    assert_eq!(
        (report["superseded"].as_u64(), report["conflicts"].as_u64(), report["rejected"].as_u64()),
        (Some(0), Some(0), Some(0)),
        "a save that reached HQ before an earlier save of its field would come back superseded: {report}"
    );
    let sup = hq.token("supervisor", "supervisor-demo");
    for location in &muhallas {
        let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/muhalla/{location}"), Some(&sup));
        for field in FIELDS {
            assert_eq!(
                detail["values"][field].as_i64(),
                Some(last[&(location.clone(), field)]),
                "HQ holds the last save of {field} at {location}: {detail}"
            );
        }
    }
    let outcomes = hq_outcomes(&hq);
    assert_eq!(outcomes.len() as u64, saves, "HQ recorded each operation once");
    assert!(outcomes.iter().all(|(_, o)| o == "applied"), "HQ applied every operation");
}

/// Whether this HQ revokes tokens on `POST /api/v1/auth/logout` (the endpoint comes
/// from another branch; before it, HQ answers 404 and the device only forgets locally).
fn hq_has_logout(hq: &Hq) -> bool {
    let token = hq.token("enumerator", "enumerator-demo");
    let (status, _) = hq.post("/api/v1/auth/logout", Some(&token), &json!({}));
    status < 300
}

#[test]
fn a_logout_forgets_the_token_at_once_and_hq_hears_of_it_now_or_at_the_next_connection() {
    let mut hq = Hq::start_demo();
    let revokes = hq_has_logout(&hq);

    // Online: forgotten here, revoked at HQ (or, at an HQ without logout, not retried).
    let a = Device::new();
    login(&hq, &a);
    let token_a = token_of(&a).unwrap();
    let out = a.ok(&["logout"]);
    assert_eq!(out["hq_pending"], false, "HQ answered; nothing is left to tell it: {out}");
    assert_eq!(a.ok(&["whoami"]), Value::Null, "the local credentials are forgotten");
    assert_eq!(a.ok(&["status"])["pending_logouts"], 0, "a definite answer is never retried: {out}");
    if revokes {
        let (status, _) = hq.get("/api/v1/rounds", Some(&token_a));
        assert_eq!(status, 401, "a logged-out token must stop working at HQ");
    }

    // Offline: forgotten at once, remembered, and sent before anything else next time.
    let b = Device::new();
    login(&hq, &b);
    let token_b = token_of(&b).unwrap();
    hq.kill();
    let out = b.ok(&["logout"]);
    assert_eq!(out["hq_pending"], true, "HQ could not be told: {out}");
    assert_eq!(b.ok(&["whoami"]), Value::Null, "the credentials are forgotten even when HQ cannot be told");
    assert_eq!(token_of(&b), None, "no token is left to sign in with");
    assert_eq!(b.ok(&["status"])["pending_logouts"], 1, "the device remembers to tell HQ");
    hq.restart();
    login(&hq, &b);
    assert_eq!(b.ok(&["status"])["pending_logouts"], 0, "the next connection told HQ first");
    if revokes {
        let (status, _) = hq.get("/api/v1/rounds", Some(&token_b));
        assert_eq!(status, 401, "the token given up offline is revoked once HQ hears of it");
    }
    eprintln!("[logout] this HQ revokes tokens on logout: {revokes}");
}
