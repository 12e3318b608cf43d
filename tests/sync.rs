//! End to end: a real dtm-hq on 127.0.0.1:0, device stores driven by the real dtm CLI.

use dtm_e2e::{hq_rows, Device, Hq};
use serde_json::{json, Value};

const TRIPOLI: &str = "LY021104";
const MISRATA: &str = "LY021401";

fn login_enumerator(hq: &Hq, device: &Device) {
    device.ok(&["login", "--hq", &hq.url, "--user", "enumerator", "--password", "enumerator-demo"]);
}

fn fill_consistent(device: &Device) {
    device.ok(&[
        "set",
        TRIPOLI,
        "idp_hh=10",
        "idp_ind=50",
        "ret_hh=2",
        "ret_ind=9",
        "mig_ind=100",
        "mig_men=60",
        "mig_women=30",
        "mig_children=10",
        "need_1=shelter",
        "need_1_problem=too_expensive",
        "ki_count=3",
        r#"ki_types=["crisis_committee","baladiya_office"]"#,
    ]);
}

/// Two enumerators' devices logged in, both holding TRIPOLI as A filled and synced it.
fn two_devices_holding_the_filled_assessment(hq: &Hq) -> (Device, Device) {
    let (a, b) = (Device::new(), Device::new());
    login_enumerator(hq, &a);
    login_enumerator(hq, &b);
    fill_consistent(&a);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    (a, b)
}

fn status_of(list: &Value, pcode: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"]["location"] == pcode)
        .unwrap_or_else(|| panic!("{pcode} is not listed"))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn an_edit_synced_from_one_device_reaches_another_and_a_return_reaches_back() {
    let hq = Hq::start_demo();
    let (a, b) = (Device::new(), Device::new());
    login_enumerator(&hq, &a);
    login_enumerator(&hq, &b);

    // Device A works offline into its store, then syncs.
    fill_consistent(&a);
    let submitted = a.ok(&["submit", TRIPOLI]);
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(a.ok(&["status"])["pending"], 2, "one save of twelve fields and one submit wait in the outbox");
    let report = a.ok(&["sync"]);
    assert_eq!((report["applied"].as_u64(), report["pending"].as_u64()), (Some(2), Some(0)), "{report}");

    // Device B pulls and sees A's values.
    b.ok(&["sync"]);
    let seen = b.ok(&["show", TRIPOLI]);
    assert_eq!(seen["values"]["mig_men"], 60, "B must see the value A pushed");
    assert_eq!(seen["status"], "submitted");

    // The supervisor returns it through the HTTP API.
    let sup = hq.token("supervisor", "supervisor-demo");
    let (code, detail) = hq.post(
        &format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}/review"),
        Some(&sup),
        &json!({"decision": "return", "comment": "Check the migrant children count"}),
    );
    assert_eq!(code, 200, "{detail}");
    assert_eq!(detail["status"], "returned");

    // A pulls and sees "returned" with the comment, and can fix it offline.
    a.ok(&["sync"]);
    let back = a.ok(&["show", TRIPOLI]);
    assert_eq!(back["status"], "returned", "a returned assessment must reappear on the device");
    assert_eq!(back["comments"][0]["text"], "Check the migrant children count");
    assert_eq!(back["comments"][0]["decision"], "return");
    assert_eq!(status_of(&a.ok(&["list"]), TRIPOLI), "returned");
    a.ok(&["set", TRIPOLI, "mig_children=10"]);
    a.ok(&["submit", TRIPOLI]);
    a.ok(&["sync"]);
    let (_, after) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&sup));
    assert_eq!(after["status"], "submitted", "the fixed assessment is submitted again");
}

#[test]
fn an_enumerator_reading_or_writing_outside_their_scope_gets_403() {
    let hq = Hq::start_demo();
    let token = hq.token("enumerator", "enumerator-demo");
    let (code, body) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{MISRATA}"), Some(&token));
    assert_eq!((code, body["error"]["code"].as_str()), (403, Some("out_of_scope")), "read outside scope: {body}");

    let op = json!({"op_id": "01890a5d-ac96-774b-bcce-b302099a8057", "seq": 1,
        "key": {"round": "R1", "form": "baladiya", "location": MISRATA},
        "hlc": {"millis": 1, "counter": 0}, "form_version": 1,
        "kind": "edit", "values": {"idp_hh": 5}});
    let (code, body) = hq.post("/api/v1/sync/push", Some(&token), &json!({"ops": [op]}));
    assert_eq!((code, body["error"]["code"].as_str()), (403, Some("out_of_scope")), "write outside scope: {body}");
    assert_eq!(body["error"]["op_id"], "01890a5d-ac96-774b-bcce-b302099a8057", "the refusal names the operation");
    assert_eq!(hq_rows(&hq, "assessments"), 0, "a refused write must write nothing");
    assert_eq!(hq_rows(&hq, "ops"), 0);

    // The device refuses the same edit itself, offline, with the same code.
    let device = Device::new();
    device.ok(&["login", "--hq", &hq.url, "--user", "enumerator", "--password", "enumerator-demo"]);
    assert_eq!(device.err_code(&["set", MISRATA, "idp_hh=5"]), "out_of_scope");
}

#[test]
fn each_kind_of_bad_input_gets_a_clear_4xx_and_writes_nothing() {
    let hq = Hq::start_demo();
    let token = hq.token("enumerator", "enumerator-demo");
    let devices_before = hq_rows(&hq, "devices");
    let op = |location: &str, value: Value| {
        json!({"ops": [{"op_id": "01890a5d-ac96-774b-bcce-b302099a8058", "seq": 1,
            "key": {"round": "R1", "form": "baladiya", "location": location},
            "hlc": {"millis": 1, "counter": 0}, "form_version": 1,
            "kind": "edit", "values": {"idp_hh": value}}]})
    };
    let cases: Vec<(&str, (u16, Value), u16, &str)> = vec![
        (
            "malformed body",
            hq.post_raw("/api/v1/sync/push", Some(&token), b"{\"ops\": [".to_vec()),
            400,
            "malformed_body",
        ),
        ("wrong shape", hq.post("/api/v1/sync/push", Some(&token), &json!({"ops": 3})), 422, "malformed_body"),
        (
            "oversized body",
            hq.post_raw("/api/v1/sync/push", Some(&token), vec![b' '; 9 * 1024 * 1024]),
            413,
            "body_too_large",
        ),
        ("unknown P-code", hq.post("/api/v1/sync/push", Some(&token), &op("LY021199", json!(5))), 422, "unknown_pcode"),
        ("negative count", hq.post("/api/v1/sync/push", Some(&token), &op(TRIPOLI, json!(-5))), 422, "negative_count"),
        (
            "wrong password",
            hq.post("/api/v1/auth/login", None, &json!({"username": "enumerator", "password": "guess"})),
            401,
            "bad_credentials",
        ),
        (
            "unknown user",
            hq.post("/api/v1/auth/login", None, &json!({"username": "nobody", "password": "guess"})),
            401,
            "bad_credentials",
        ),
        ("unknown token", hq.get("/api/v1/sync/pull", Some("deadbeef")), 401, "unauthenticated"),
        ("no token", hq.get("/api/v1/rounds", None), 401, "unauthenticated"),
        ("unknown P-code read", hq.get("/api/v1/assessments/R1/baladiya/LY021199", Some(&token)), 404, "unknown_pcode"),
        (
            "enumerator reviewing",
            hq.post(
                &format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}/review"),
                Some(&token),
                &json!({"decision": "approve"}),
            ),
            403,
            "forbidden",
        ),
    ];
    for (what, (status, body), want_status, want_code) in cases {
        assert_eq!(status, want_status, "{what}: {body}");
        assert_eq!(body["error"]["code"], want_code, "{what}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what} needs a message: {body}");
    }
    assert_eq!(hq_rows(&hq, "assessments"), 0, "bad input must write no assessment");
    assert_eq!(hq_rows(&hq, "field_values"), 0, "bad input must write no value");
    assert_eq!(hq_rows(&hq, "ops"), 0, "bad input must record no operation");
    assert_eq!(hq_rows(&hq, "devices"), devices_before, "a failed login must not register a device");
    let (status, _) = hq.get("/api/v1/rounds", Some(&token));
    assert_eq!(status, 200, "HQ stays up after bad input");
}

#[test]
fn an_expired_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Tokens that last zero days are expired as soon as they are issued.
    std::fs::write(dir.path().join("hq.toml"), "token_days = 0\n").unwrap();
    let config = dir.path().join("hq.toml");
    let hq = Hq::start_in(dir, &["--demo", "--config", config.to_str().unwrap()]);
    let token = hq.token("enumerator", "enumerator-demo");
    let (status, body) = hq.get("/api/v1/rounds", Some(&token));
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthenticated")), "{body}");
}

#[test]
fn second_device_edit_of_same_field_becomes_a_conflict_that_blocks_approval() {
    let hq = Hq::start_demo();
    let (a, b) = two_devices_holding_the_filled_assessment(&hq);
    // Both change the same field offline from the same base.
    a.ok(&["set", TRIPOLI, "idp_ind=55"]);
    b.ok(&["set", TRIPOLI, "idp_ind=70"]);
    a.ok(&["sync"]);
    let report = b.ok(&["sync"]);
    assert_eq!(report["conflicts"], 1, "B's edit races A's: a conflict, not a silent overwrite: {report}");
    let sup = hq.token("supervisor", "supervisor-demo");
    let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&sup));
    assert_eq!(detail["values"]["idp_ind"], 55, "the current value stays until the conflict is resolved");
    assert_eq!(detail["open_conflicts"], 1);
    let row = hq.query("SELECT base_value, current_value, incoming_value FROM conflicts").remove(0);
    assert_eq!(
        (row[0].as_deref(), row[1].as_deref(), row[2].as_deref()),
        (Some("50"), Some("55"), Some("70")),
        "nothing is lost"
    );
    // B's device keeps its value visible as a conflict, and takes HQ's current value.
    let conflicts = b.ok(&["rejected"]);
    assert_eq!(conflicts[0]["code"], "conflict");
    assert_eq!(b.ok(&["show", TRIPOLI])["values"]["idp_ind"], 55);

    a.ok(&["submit", TRIPOLI]);
    a.ok(&["sync"]);
    let review = format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}/review");
    let (status, body) = hq.post(&review, Some(&sup), &json!({"decision": "approve"}));
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("open_conflicts")), "{body}");

    // The supervisor sees both values side by side and enters the right one, with a reason.
    let (_, conflicts) = hq.get("/api/v1/rounds/R1/conflicts", Some(&sup));
    let c = &conflicts[0];
    assert_eq!((c["current"]["value"].as_i64(), c["incoming"]["value"].as_i64()), (Some(55), Some(70)));
    assert_eq!(c["base_value"], 50);
    assert_ne!(c["current"]["device"], c["incoming"]["device"], "both devices are kept");
    let resolve = format!("/api/v1/conflicts/{}/resolve", c["id"]);
    let (status, body) = hq.post(&resolve, Some(&sup), &json!({"choice": "other", "value": 62, "reason": ""}));
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("reason_required")), "{body}");
    let (status, body) = hq.post(
        &resolve,
        Some(&sup),
        &json!({"choice": "other", "value": 62, "reason": "Recounted with the crisis committee"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["values"]["idp_ind"].as_i64(), body["open_conflicts"].as_i64()), (Some(62), Some(0)));
    let (status, _) = hq.post(&resolve, Some(&sup), &json!({"choice": "current", "reason": "again"}));
    assert_eq!(status, 409, "a settled conflict stays settled");
    let (status, body) = hq.post(&review, Some(&sup), &json!({"decision": "approve"}));
    assert_eq!(status, 200, "with the conflict settled the assessment can be approved: {body}");

    // Every device sees the settlement as a new version on its next pull, and is told
    // which field, the value it had sent, the settled one, who settled it and why.
    for (d, yours) in [(&a, 55), (&b, 70)] {
        d.ok(&["sync"]);
        let shown = d.ok(&["show", TRIPOLI]);
        assert_eq!((shown["values"]["idp_ind"].as_i64(), shown["status"].as_str()), (Some(62), Some("approved")));
        let told = &shown["settled"][0];
        assert_eq!(
            (told["field"].as_str(), told["yours"].as_i64(), told["settled"].as_i64()),
            (Some("idp_ind"), Some(yours), Some(62)),
            "each device is told its own value and the settled one: {shown}"
        );
        assert_eq!(told["kind"], "value", "another device's edit, not a void: {shown}");
        assert_eq!(
            (told["by"].as_str(), told["reason"].as_str()),
            (Some("supervisor"), Some("Recounted with the crisis committee")),
            "and who settled it and why"
        );
        d.ok(&["sync"]);
        assert_eq!(
            d.ok(&["show", TRIPOLI])["settled"].as_array().map(Vec::len),
            Some(1),
            "told once, not again each sync"
        );
    }
    assert_eq!(b.ok(&["rejected"]), json!([]), "once settled, B's conflicting edit is no longer shown as open");
    let (_, settled) = hq.get("/api/v1/rounds/R1/conflicts", Some(&sup));
    assert_eq!(settled[0]["resolution"]["reason"], "Recounted with the crisis committee", "the reason is kept");
}

/// HQ reads a push batch's assessments once and applies its operations against what it
/// holds in memory: an operation later in the batch must see what the earlier ones
/// wrote, and a conflict must name the device that really wrote the current value.
#[test]
fn several_edits_of_one_assessment_in_one_push_each_see_the_last_and_conflicts_name_who_wrote_the_current_value() {
    const SOUQ: &str = "LY021102";
    let hq = Hq::start_demo();
    let (a, b) = two_devices_holding_the_filled_assessment(&hq);
    // B changes two figures; A, offline, changes the same two three times, and makes a
    // new assessment and edits it twice: one batch of six operations.
    b.ok(&["set", TRIPOLI, "idp_ind=70"]);
    b.ok(&["set", TRIPOLI, "ret_hh=4"]);
    b.ok(&["sync"]);
    a.ok(&["set", TRIPOLI, "idp_ind=55"]);
    a.ok(&["set", TRIPOLI, "ret_hh=3"]);
    a.ok(&["set", TRIPOLI, "idp_ind=56"]);
    a.ok(&["set", SOUQ, "idp_hh=5"]);
    a.ok(&["set", SOUQ, "idp_ind=20"]);
    a.ok(&["set", SOUQ, "idp_hh=6"]);
    let report = a.ok(&["sync"]);
    assert_eq!(report["pushed"], 6, "one sync sends all six: {report}");
    assert_eq!(report["conflicts"], 3, "each of A's edits of B's figures is a conflict, none dropped: {report}");

    let sup = hq.token("supervisor", "supervisor-demo");
    let (_, conflicts) = hq.get("/api/v1/rounds/R1/conflicts", Some(&sup));
    let mut seen: Vec<(String, i64, i64)> = conflicts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_ne!(c["current"]["device"], c["incoming"]["device"], "the current value is B's, not A's: {c}");
            (
                c["field"].as_str().unwrap().to_owned(),
                c["current"]["value"].as_i64().unwrap(),
                c["incoming"]["value"].as_i64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [("idp_ind".to_owned(), 70, 55), ("idp_ind".to_owned(), 70, 56), ("ret_hh".to_owned(), 4, 3)],
        "every conflict holds B's value as current and A's as incoming"
    );
    let devices: std::collections::BTreeSet<String> =
        conflicts.as_array().unwrap().iter().map(|c| c["current"]["device"].to_string()).collect();
    assert_eq!(devices.len(), 1, "one device, B, wrote every current value: {conflicts}");

    // The new assessment went through three versions in the batch, each on the last.
    let (_, souq) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{SOUQ}"), Some(&sup));
    assert_eq!((souq["values"]["idp_hh"].as_i64(), souq["values"]["idp_ind"].as_i64()), (Some(6), Some(20)), "{souq}");
    assert_eq!(souq["version"], 3, "made once and changed twice: {souq}");
    let history = hq.query(&format!(
        "SELECT h.field, h.version, h.value FROM field_history h JOIN assessments a ON a.id = h.assessment_id
         WHERE a.location = '{SOUQ}' ORDER BY h.field, h.version"
    ));
    let history: Vec<Vec<Option<String>>> = history;
    assert_eq!(
        history,
        [
            vec![Some("idp_hh".to_owned()), Some("1".to_owned()), Some("5".to_owned())],
            vec![Some("idp_hh".to_owned()), Some("2".to_owned()), Some("6".to_owned())],
            vec![Some("idp_ind".to_owned()), Some("1".to_owned()), Some("20".to_owned())],
        ],
        "each write is kept at its own version"
    );
    // And B, pulling, holds exactly what HQ holds.
    b.ok(&["sync"]);
    assert_eq!(b.ok(&["show", SOUQ])["values"]["idp_hh"], 6);
    assert_eq!(
        b.ok(&["show", TRIPOLI])["values"]["idp_ind"],
        70,
        "the current value stays until a supervisor settles it"
    );
}

#[test]
fn a_push_repeated_after_a_lost_response_changes_nothing_and_gets_the_same_answers() {
    let hq = Hq::start_demo();
    let token = hq.token("enumerator", "enumerator-demo");
    let push = json!({"ops": [{"op_id": "01890a5d-ac96-774b-bcce-b302099a8059", "seq": 1,
        "key": {"round": "R1", "form": "baladiya", "location": TRIPOLI},
        "hlc": {"millis": 1, "counter": 0}, "form_version": 1,
        "kind": "edit", "values": {"idp_hh": 5}}]});
    let (_, first) = hq.post("/api/v1/sync/push", Some(&token), &push);
    let (_, second) = hq.post("/api/v1/sync/push", Some(&token), &push);
    assert_eq!(first["results"][0]["outcome"], "applied");
    assert_eq!(second["results"][0]["outcome"], "duplicate");
    assert_eq!(second["results"][0]["original"], "applied", "a repeated push is told what the first got");
    assert_eq!(hq_rows(&hq, "changes"), 1, "the second push must not write a second version");
}

#[test]
fn an_operation_refused_by_hq_is_set_aside_and_the_rest_of_the_outbox_still_syncs() {
    let hq = Hq::start_demo();
    let (a, b) = (Device::new(), Device::new());
    login_enumerator(&hq, &a);
    login_enumerator(&hq, &b);
    fill_consistent(&a);
    a.ok(&["sync"]);
    // B submits the shared draft and the supervisor approves it, while A is offline.
    b.ok(&["sync"]);
    b.ok(&["submit", TRIPOLI]);
    b.ok(&["sync"]);
    let sup = hq.token("supervisor", "supervisor-demo");
    let (status, _) = hq.post(
        &format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}/review"),
        Some(&sup),
        &json!({"decision": "approve"}),
    );
    assert_eq!(status, 200);
    // A, still seeing a draft, edits it, then edits another baladiya.
    let other = "LY021101";
    a.ok(&["set", TRIPOLI, "idp_hh=11"]);
    a.ok(&["set", other, "idp_hh=3"]);
    let report = a.ok(&["sync"]);
    assert_eq!((report["rejected"].as_u64(), report["pending"].as_u64()), (Some(1), Some(0)), "{report}");
    let rejected = a.ok(&["rejected"]);
    assert_eq!(rejected[0]["code"], "invalid_transition", "the enumerator is told why: {rejected}");
    let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{other}"), Some(&sup));
    assert_eq!(detail["values"]["idp_hh"], 3, "operations behind a refused one must still reach HQ");
    let (_, approved) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&sup));
    assert_eq!(approved["values"]["idp_hh"], 10, "an approved assessment is locked");
    assert_eq!(a.ok(&["show", TRIPOLI])["status"], "approved");
}

#[test]
fn a_device_offline_keeps_every_edit_and_reports_it_cannot_reach_hq() {
    let hq = Hq::start_demo();
    let a = Device::new();
    login_enumerator(&hq, &a);
    drop(hq); // the link goes down
    a.ok(&["set", TRIPOLI, "idp_hh=4"]);
    assert_eq!(a.err_code(&["sync"]), "offline");
    let status = a.ok(&["status"]);
    assert_eq!(status["pending"], 1, "the edit waits in the outbox");
    assert_eq!(status["last_error"]["code"], "offline");
    assert_eq!(a.ok(&["show", TRIPOLI])["values"]["idp_hh"], 4);
}

#[test]
fn a_revoked_device_fails_its_next_sync_at_once_and_keeps_its_data() {
    let hq = Hq::start_demo();
    let a = Device::new();
    login_enumerator(&hq, &a);
    let device_id = a.ok(&["whoami"])["device_id"].as_str().unwrap().to_owned();
    let admin = hq.token("admin", "admin-demo");
    let (status, body) = hq.post(&format!("/api/v1/devices/{device_id}/revoke"), Some(&admin), &json!({}));
    assert_eq!(status, 204, "{body}");
    a.ok(&["set", TRIPOLI, "idp_hh=7"]);
    assert_eq!(a.err_code(&["sync"]), "device_revoked", "a revoked token must stop working at once, and say why");
    assert_eq!(a.ok(&["status"])["pending"], 1, "the unsent edit stays on the device");
    let again = a.dtm(&["login", "--hq", &hq.url, "--user", "enumerator", "--password", "enumerator-demo"]);
    assert_eq!(again.unwrap_err()["error"]["code"], "device_revoked", "logging in again must not undo a revocation");
}

#[test]
fn dtm_hq_import_round_imports_a_past_round_from_the_command_line_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dtm_e2e::TestDatabase::new(dir.path());
    let good = dir.path().join("r53.csv");
    std::fs::write(
        &good,
        "baladiya,idp_hh,idp_ind\n#adm3+code,#affected+idps+hh,#affected+idps+ind\nLY021104,200,1000\nLY021105,10,40\n",
    )
    .unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "baladiya,idp_ind\n#adm3+code,#affected+idps+ind\nLY021104,-4\n").unwrap();
    let import = |round: &str, file: &std::path::Path, create: bool| {
        let mut cmd = std::process::Command::new(dtm_e2e::bin("dtm-hq"));
        cmd.args(["import-round", "--database"]).arg(db.arg()).args(["--round", round]);
        if create {
            cmd.args(["--create", "Round", "--window", "2024-05-01..2024-06-30"]);
        }
        cmd.arg(file).output().unwrap()
    };
    let refused = import("R52", &bad, true);
    assert!(!refused.status.success(), "a file with an error must be refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("row 3") && stderr.contains("negative_count"), "the error names row and code: {stderr}");
    let done = import("R53", &good, true);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let report: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!((report["assessments"].as_u64(), report["totals"]["idp_ind"].as_u64()), (Some(2), Some(1040)));

    // HQ serves the imported round: its totals equal the file's.
    let hq = Hq::start_on(dir, db, &["--demo"]);
    let admin = hq.token("admin", "admin-demo");
    let (status, totals) = hq.get("/api/v1/rounds/R53/totals?level=2", Some(&admin));
    assert_eq!(status, 200);
    assert_eq!(totals[0]["values"]["idp_ind"], 1040);
    let (status, none) = hq.get("/api/v1/rounds/R52/totals?level=2", Some(&admin));
    assert_eq!(
        (status, none["error"]["code"].as_str()),
        (404, Some("unknown_round")),
        "nothing from the refused file was imported, not even the round it was to create"
    );
}

/// Tripoli entered by A (10 households, 50 IDPs) and seen by B; then A voids it with
/// `reason` while B, offline, corrects IDPs to 55; A syncs, then B. Returns both
/// devices, what A's void showed, and B's sync report.
fn an_edit_races_a_void(hq: &Hq, reason: &str) -> (Device, Device, Value, Value) {
    let (a, b) = (Device::new(), Device::new());
    login_enumerator(hq, &a);
    login_enumerator(hq, &b);
    a.ok(&["set", TRIPOLI, "idp_hh=10", "idp_ind=50"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let voided = a.ok(&["void", TRIPOLI, "--reason", reason]);
    b.ok(&["set", TRIPOLI, "idp_ind=55"]);
    a.ok(&["sync"]);
    let report = b.ok(&["sync"]);
    (a, b, voided, report)
}

#[test]
fn an_edit_racing_a_void_becomes_a_conflict_never_a_silent_delete() {
    let hq = Hq::start_demo();
    // A withdraws the assessment; B, offline, corrects a figure in it.
    let (a, b, voided, report) = an_edit_races_a_void(&hq, "entered for the wrong baladiya");
    assert_eq!(voided["status"], "voided");
    assert_eq!(voided["values"]["idp_ind"], 50, "a void deletes nothing");
    assert_eq!(report["conflicts"], 1, "an edit racing a void is a conflict: {report}");
    let sup = hq.token("supervisor", "supervisor-demo");
    let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&sup));
    assert_eq!((detail["status"].as_str(), detail["open_conflicts"].as_i64()), (Some("voided"), Some(1)));
    assert!(
        detail["comments"].as_array().unwrap().iter().any(|c| c["text"] == "Voided: entered for the wrong baladiya"),
        "the reason for the void is kept: {detail}"
    );
    let (_, conflicts) = hq.get("/api/v1/rounds/R1/conflicts", Some(&sup));
    assert_eq!((conflicts[0]["kind"].as_str(), conflicts[0]["incoming"]["value"].as_i64()), (Some("void"), Some(55)));
    // The supervisor takes B's edit: the assessment comes back as a draft with it.
    let resolve = format!("/api/v1/conflicts/{}/resolve", conflicts[0]["id"]);
    let (status, body) =
        hq.post(&resolve, Some(&sup), &json!({"choice": "incoming", "reason": "Tripoli is right; B recounted"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["values"]["idp_ind"].as_i64()), (Some("draft"), Some(55)));
    for d in [&a, &b] {
        d.ok(&["sync"]);
        let shown = d.ok(&["show", TRIPOLI]);
        assert_eq!((shown["status"].as_str(), shown["values"]["idp_ind"].as_i64()), (Some("draft"), Some(55)));
    }
    // B, whose edit raced the void, is told what became of it; A only voided, so A's
    // device has nothing of its own to be told about.
    let told = &b.ok(&["show", TRIPOLI])["settled"];
    assert_eq!(
        (told[0]["kind"].as_str(), told[0]["field"].as_str(), told[0]["yours"].as_i64(), told[0]["settled"].as_i64()),
        (Some("void"), Some("idp_ind"), Some(55), Some(55)),
        "the device whose edit raced the void is told it was taken: {told}"
    );
    assert_eq!(told[0]["reason"], "Tripoli is right; B recounted", "and why");
    assert_eq!(
        a.ok(&["show", TRIPOLI])["settled"].as_array().map_or(0, Vec::len),
        0,
        "the voiding device had no value in the conflict"
    );
}

#[test]
fn a_void_kept_over_a_racing_edit_is_told_to_the_device_that_made_the_edit() {
    let hq = Hq::start_demo();
    let (_, b, _, report) = an_edit_races_a_void(&hq, "entered twice");
    assert_eq!(report["conflicts"], 1, "{report}");
    let sup = hq.token("supervisor", "supervisor-demo");
    let (_, conflicts) = hq.get("/api/v1/rounds/R1/conflicts", Some(&sup));
    let resolve = format!("/api/v1/conflicts/{}/resolve", conflicts[0]["id"]);
    let (status, body) = hq.post(&resolve, Some(&sup), &json!({"choice": "current", "reason": "The void stands"}));
    assert_eq!((status, body["status"].as_str()), (200, Some("voided")), "keeping the void keeps it voided: {body}");
    b.ok(&["sync"]);
    let shown = b.ok(&["show", TRIPOLI]);
    assert_eq!(shown["status"], "voided", "the device holds the void too: {shown}");
    let told = &shown["settled"][0];
    assert_eq!(
        (told["kind"].as_str(), told["yours"].as_i64(), told["settled"].as_i64(), told["reason"].as_str()),
        (Some("void"), Some(55), Some(50), Some("The void stands")),
        "the edit that was not taken is named, with the value that stands and why: {shown}"
    );
    assert_eq!(b.ok(&["rejected"]), json!([]), "once settled, the edit is no longer shown as an open conflict");
}

#[test]
fn dtm_hq_user_unlock_clears_a_lockout_while_hq_runs() {
    let hq = Hq::start_demo();
    let guess = json!({"username": "supervisor", "password": "guess"});
    assert_eq!(hq.post("/api/v1/auth/login", None, &guess).0, 401);
    // Reaching ten failures takes a minute under the per-username limit; lock the
    // account as ten failures would, in the database where lockouts are kept.
    hq.query(
        "UPDATE login_failures SET failures = 0, locked_until = '2999-01-01T00:00:00Z' WHERE username = 'supervisor'",
    );
    let right = json!({"username": "supervisor", "password": "supervisor-demo"});
    let (status, body) = hq.post("/api/v1/auth/login", None, &right);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("account_locked")),
        "a locked account refuses even the right password: {body}"
    );
    let out = std::process::Command::new(dtm_e2e::bin("dtm-hq"))
        .args(["user", "unlock", "supervisor", "--database"])
        .arg(hq.database.arg())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        hq.post("/api/v1/auth/login", None, &right).0,
        200,
        "the lockout is in the database, so the command line clears it for the running HQ"
    );
}

#[test]
fn a_migrant_only_muhalla_with_nationalities_goes_from_a_device_into_hqs_totals_without_invented_zeros() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    let (status, body) = hq.post("/api/v1/rounds/R1/status", Some(&admin), &json!({"status": "closed"}));
    assert_eq!(status, 200, "{body}");
    let round = json!({"code": "R2", "number": 2, "title": "Round 2", "window_start": "2026-11-01", "window_end": "2026-12-31",
        "forms": [{"form": "baladiya", "version": 3}, {"form": "muhalla", "version": 2}]});
    let (status, body) = hq.post("/api/v1/rounds", Some(&admin), &round);
    assert_eq!(status, 201, "{body}");
    let (status, body) = hq.post("/api/v1/rounds/R2/status", Some(&admin), &json!({"status": "open"}));
    assert_eq!(status, 200, "{body}");

    let device = Device::new();
    login_enumerator(&hq, &device);
    device.ok(&["sync"]);
    let muhalla = "LY02110401";
    let at = ["--round", "R2", "--form", "muhalla", muhalla];
    let set = |values: &[&str]| device.ok(&[&["set"][..], &at[..], values].concat());
    set(&["idp_present=no", "ret_present=no", "mig_present=yes", "mig_ind=40"]);
    set(&[
        "mig_sh_rented_self=40",
        "mig_arr_gt12m=40",
        "mig_permit_none=40",
        "mig_men=30",
        "mig_women=6",
        "mig_children=4",
    ]);
    set(&["mig_need_1=health", "mig_need_1_problem=too_expensive", "ki_count=2", r#"ki_types=["crisis_committee"]"#]);
    for f in
        ["mig_sh_rented_others", "mig_sh_rented_employer", "mig_sh_squatting", "mig_sh_abandoned", "mig_sh_workplace"]
    {
        set(&[&format!("{f}=0")]);
    }
    set(&["mig_sh_public=0", "mig_sh_informal_camp=0", "mig_sh_none=0", "mig_sh_other=0", "mig_arr_lt1m=0"]);
    set(&["mig_arr_1_6m=0", "mig_arr_6_12m=0", "mig_arr_unknown=0", "mig_permit_residency=0", "mig_permit_work=0"]);
    set(&["mig_permit_unknown=0", "mig_nat.ner.ind=30"]);
    let shown = device.ok(&["show", "--round", "R2", "--form", "muhalla", muhalla]);
    let issues = shown["issues"].to_string();
    assert!(issues.contains("mig_nationality_breakdown"), "30 of 40 migrants by nationality is an error: {issues}");
    assert_eq!(
        device.err_code(&[&["submit"][..], &at[..]].concat()),
        "submission_blocked",
        "the device refuses to submit while nationalities do not add up"
    );
    set(&["mig_nat.sdn.ind=10"]);
    device.ok(&[&["submit"][..], &at[..]].concat());
    device.ok(&["sync"]);

    let (status, totals) = hq.get("/api/v1/rounds/R2/totals?level=1&include=all", Some(&admin));
    assert_eq!(status, 200, "{totals}");
    let west = totals.as_array().unwrap().iter().find(|t| t["location"]["pcode"] == "LY02").unwrap();
    assert_eq!(west["values"]["mig_ind"], 40, "the device's migrants reached HQ's totals");
    assert_eq!(west["values"]["idp_ind"], 0, "IDPs answered No count as 0, though no zero was typed");
    let (status, export) = hq.get("/api/v1/rounds/R2/export.json?include=all", Some(&admin));
    assert_eq!(status, 200, "{export}");
    let values = &export.as_array().unwrap().iter().find(|a| a["location"] == muhalla).unwrap()["values"];
    assert_eq!((values["mig_nat.ner.ind"].as_u64(), values["mig_nat.sdn.ind"].as_u64()), (Some(30), Some(10)));
    assert!(values.get("idp_hh").is_none(), "nothing was stored for IDPs: {values}");
}

#[test]
fn hq_tells_a_device_an_update_is_available_and_refuses_an_app_it_no_longer_syncs_with_keeping_its_outbox() {
    // HQ knows a newer app is out: the device syncs as before and says so.
    let mut hq = Hq::start_in(tempfile::tempdir().unwrap(), &["--demo", "--newest-app-version", "99.0.0"]);
    let device = Device::new();
    login_enumerator(&hq, &device);
    device.ok(&["sync"]);
    let status = device.ok(&["status"]);
    assert_eq!(status["update_available"], "99.0.0", "the device knows a newer app is released: {status}");
    assert_eq!(status["last_error"], Value::Null, "an available update is not an error: {status}");

    // HQ's operator stops syncing with this app: sync stops, says what to do, and keeps
    // the outbox; the enumerator can still enter data.
    hq.restart_with(&["--oldest-app-version", "98.0"]);
    device.ok(&["set", TRIPOLI, "idp_hh=7"]);
    assert_eq!(device.err_code(&["sync"]), "update_required", "an app older than HQ accepts is told to update");
    let status = device.ok(&["status"]);
    assert_eq!(status["pending"], 1, "the unsent edit stays on the device until the app is updated");
    let message = status["last_error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("98.0") && message.contains("99.0.0"), "the message says which versions: {message}");
}

#[test]
fn a_pull_page_with_more_after_it_names_its_cursor_in_its_headers() {
    // A device asks for the next page as soon as these headers arrive, before the
    // page's body: the header must be the body's cursor, and absent on the last page.
    let hq = Hq::start_demo();
    let a = Device::new();
    login_enumerator(&hq, &a);
    for location in [TRIPOLI, "LY021101", "LY021102"] {
        a.ok(&["set", location, "idp_hh=4"]);
    }
    a.ok(&["sync"]);
    let token = hq.token("enumerator", "enumerator-demo");
    let (mut cursor, mut pages) = (String::new(), 0);
    loop {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/sync/pull?limit=1&cursor={cursor}", hq.url))
            .header("x-dtm-protocol", "3")
            .bearer_auth(&token)
            .send()
            .expect("HQ answers");
        assert_eq!(resp.status(), 200);
        let header = resp.headers().get("x-dtm-next-cursor").map(|v| v.to_str().unwrap().to_owned());
        let page: Value = resp.json().unwrap();
        pages += 1;
        cursor = page["cursor"].as_str().unwrap().to_owned();
        if page["has_more"] == true {
            assert_eq!(
                header.as_deref(),
                Some(cursor.as_str()),
                "the next page starts where the body says this one ends"
            );
        } else {
            assert_eq!(header, None, "no page follows the last: {page}");
            break;
        }
    }
    assert!(pages >= 3, "one assessment a page: at least three pages, not {pages}");
}

#[test]
fn a_device_pulling_many_pages_asked_for_ahead_gets_every_assessment_once_and_ends_at_hqs_last_change() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    let round = json!({"code": "R2", "number": 2, "title": "Round 2", "window_start": "2026-01-01",
        "window_end": "2026-12-31", "forms": [{"form": "muhalla", "version": 1}]});
    assert_eq!(hq.post("/api/v1/rounds", Some(&admin), &round).0, 201);
    assert_eq!(hq.post("/api/v1/rounds/R2/status", Some(&admin), &json!({"status": "open"})).0, 200);
    // Every muhalla of Libya in two rounds, from one device: more than two pull pages.
    let source = Device::new();
    source.ok(&["login", "--hq", &hq.url, "--user", "admin", "--password", "admin-demo"]);
    let muhallas: Vec<dtm_core::Pcode> = dtm_core::Gazetteer::libya().at_level(4).map(|l| l.pcode.clone()).collect();
    {
        let device = dtm_sync::device::Device::open(&source.store).expect("the device store opens");
        for round in ["R1", "R2"] {
            for (i, m) in muhallas.iter().enumerate() {
                let key = dtm_core::AssessmentKey::new(round, "muhalla", m.clone());
                device.set_field(&key, "idp_hh", json!(i)).unwrap_or_else(|e| panic!("saving at {m}: {e}"));
            }
        }
    }
    let pushed = source.ok(&["sync"]);
    assert_eq!(pushed["applied"].as_u64(), Some(2 * muhallas.len() as u64), "{pushed}");
    let at_hq = hq_rows(&hq, "assessments") as u64;
    assert!(at_hq > 1_300, "enough for several pages of 500 and more: {at_hq}");

    // Signed in without the sync a login starts, so this sync's report counts the pull.
    let target = Device::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pulled = runtime.block_on(async {
        let device = dtm_sync::device::Device::open(&target.store).expect("the device store opens");
        device.authenticate(&hq.url, "admin", "admin-demo").await.expect("admin signs in");
        device.sync(|_| {}).await.expect("the sync succeeds").pulled
    });
    assert_eq!(u64::from(pulled), at_hq, "every assessment once, none twice");
    let conn = rusqlite::Connection::open(&target.store).unwrap();
    let held: u64 = conn.query_row("SELECT count(*) FROM assessments", [], |r| r.get(0)).unwrap();
    assert_eq!(held, at_hq, "the device holds what HQ holds");
    let mut wrong = Vec::new();
    let mut stmt = conn
        .prepare("SELECT round, location, json_extract(fields, '$.idp_hh') FROM assessments WHERE form = 'muhalla'")
        .unwrap();
    let rows =
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))).unwrap();
    for row in rows {
        let (round, location, value) = row.unwrap();
        let i = muhallas.iter().position(|m| m.as_str() == location).expect("a muhalla of the gazetteer");
        if value != i as i64 {
            wrong.push((round, location, value));
        }
    }
    assert!(wrong.is_empty(), "each muhalla holds the value saved for it: {wrong:?}");
    let again = target.ok(&["sync"]);
    assert_eq!(again["pulled"].as_u64(), Some(0), "the cursor ended at HQ's last change: {again}");
}
