//! Issue 8's faults, each against a real dtm-hq on 127.0.0.1:0: what a hostile or
//! careless client sends, and what a DTM analyst replaying a real round sees.

use dtm_core::Gazetteer;
use dtm_e2e::{bin, hq_rows, Hq};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const TRIPOLI: &str = "LY021104";

fn edit(op_id: &str, seq: u64, location: &str, values: Value, bases: Value) -> Value {
    json!({"op_id": op_id, "seq": seq, "key": {"round": "R1", "form": "baladiya", "location": location},
        "hlc": {"millis": 1_700_000_000_000u64 + seq, "counter": 0}, "form_version": 2,
        "kind": "edit", "values": values, "bases": bases})
}

fn push(hq: &Hq, token: &str, ops: Vec<Value>) -> (u16, Value) {
    hq.post("/api/v1/sync/push", Some(token), &json!({ "ops": ops }))
}

fn uuid(n: u32) -> String {
    format!("01890a5d-ac96-774b-bcce-{n:012x}")
}

/// Every non-2xx answer carries `{"error": {code, message}}`.
fn assert_error(what: &str, (status, body): (u16, Value), want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{what}: {body}");
    assert_eq!(body["error"]["code"], want_code, "{what}: every error must carry a stable code: {body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: every error must say what went wrong: {body}"
    );
}

fn admin_creates_round(hq: &Hq, admin: &str, number: u32) {
    let (status, body) = hq.post(
        "/api/v1/rounds",
        Some(admin),
        &json!({"code": format!("R{number}"), "number": number, "title": format!("Round {number}"),
            "window_start": "2024-05-01", "window_end": "2024-06-30",
            "forms": [{"form": "baladiya", "version": 2}, {"form": "muhalla", "version": 1}]}),
    );
    assert_eq!(status, 201, "{body}");
}

fn import(hq: &Hq, admin: &str, round: &str, file: Vec<u8>) -> (u16, Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/rounds/{round}/import", hq.url))
        .bearer_auth(admin)
        .body(file)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[test]
fn an_xlsx_claiming_the_whole_grid_is_refused_and_hq_stays_up() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    admin_creates_round(&hq, &admin, 60);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "baladiya").unwrap();
    sheet.write_string(1_048_575, 16_383, "#adm3+code").unwrap();
    let bomb = book.save_to_buffer().unwrap();
    assert!(bomb.len() < 16 * 1024, "the hostile file is small: {} bytes", bomb.len());
    assert_error("a sheet spanning A1:XFD1048576", import(&hq, &admin, "R60", bomb), 422, "import_rejected");
    let (status, _) = hq.get("/api/v1/rounds", Some(&admin));
    assert_eq!(status, 200, "no upload may take HQ down");
}

#[test]
fn a_count_beyond_the_bound_is_refused_and_totals_stay_exact_at_the_bound() {
    let hq = Hq::start_demo();
    let token = hq.token("enumerator", "enumerator-demo");
    let huge = push(&hq, &token, vec![edit(&uuid(1), 1, TRIPOLI, json!({"idp_ind": u64::MAX}), json!({}))]);
    assert_error("idp_ind = 2^64 - 1", huge, 422, "out_of_range");
    let bound = dtm_core::form::COUNT_MAX;
    let (status, body) = push(&hq, &token, vec![edit(&uuid(2), 2, TRIPOLI, json!({"idp_ind": bound}), json!({}))]);
    assert_eq!((status, body["results"][0]["outcome"].as_str()), (200, Some("applied")), "{body}");
    let (status, body) = push(&hq, &token, vec![edit(&uuid(3), 3, "LY021105", json!({"idp_ind": bound}), json!({}))]);
    assert_eq!(status, 200, "{body}");
    let admin = hq.token("admin", "admin-demo");
    let (status, totals) = hq.get("/api/v1/rounds/R1/totals?level=1&include=all", Some(&admin));
    assert_eq!(status, 200, "totals must answer for everyone: {totals}");
    assert_eq!(totals[0]["values"]["idp_ind"], 2 * bound, "two locations at the bound add up exactly");
}

#[test]
fn out_of_range_integers_on_the_wire_are_422_naming_the_operation_never_500() {
    let hq = Hq::start_demo();
    let token = hq.token("enumerator", "enumerator-demo");
    let good = edit(&uuid(10), 1, TRIPOLI, json!({"idp_hh": 1}), json!({}));
    let big_seq = edit(&uuid(11), 1u64 << 63, TRIPOLI, json!({"idp_hh": 2}), json!({}));
    let (status, body) = push(&hq, &token, vec![good.clone(), big_seq]);
    assert_error("seq 2^63", (status, body.clone()), 422, "out_of_range");
    assert_eq!(body["error"]["op_id"], uuid(11), "the device must know which operation to set aside");
    let big_base = edit(&uuid(12), 2, TRIPOLI, json!({"idp_hh": 3}), json!({"idp_hh": 1u64 << 63}));
    assert_error("base 2^63", push(&hq, &token, vec![big_base]), 422, "out_of_range");
    // The operations around the refused one go through once it is set aside.
    let (status, body) = push(&hq, &token, vec![good]);
    assert_eq!((status, body["results"][0]["outcome"].as_str()), (200, Some("applied")), "{body}");
    // An edit racing a void with a base far beyond HQ's versions.
    let void = json!({"op_id": uuid(13), "seq": 3, "key": {"round": "R1", "form": "baladiya", "location": TRIPOLI},
        "hlc": {"millis": 1_700_000_000_100u64, "counter": 0}, "form_version": 2, "kind": "void", "reason": "wrong place"});
    assert_eq!(push(&hq, &token, vec![void]).0, 200);
    let racing = edit(&uuid(14), 4, TRIPOLI, json!({"idp_hh": 4}), json!({"idp_hh": 1u64 << 62}));
    let (status, body) = push(&hq, &token, vec![racing]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["code"], "base_ahead", "a made-up base is refused, per operation: {body}");
    let cursor = hq.get("/api/v1/sync/pull?cursor=x:18446744073709551615", Some(&token));
    assert_eq!(cursor.0, 200, "a cursor from another epoch starts again: {}", cursor.1);
}

#[test]
fn bad_paths_and_query_values_answer_json_errors_never_500_or_text() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    let long = "a".repeat(300);
    assert_error("a 300-character path segment", hq.get(&format!("/{long}"), None), 404, "not_found");
    assert_error("a long segment below a dir", hq.get(&format!("/assets/{long}.js"), None), 404, "not_found");
    let too_long = format!("/api/v1/rounds?q={}", "x".repeat(20_000));
    assert_error("a 20 KB address", hq.get(&too_long, Some(&admin)), 414, "uri_too_long");
    let cases = [
        ("limit=-1", hq.get("/api/v1/sync/pull?limit=-1", Some(&admin)), 400),
        ("level=256", hq.get("/api/v1/rounds/R1/totals?level=256", Some(&admin)), 400),
        ("level=9", hq.get("/api/v1/rounds/R1/totals?level=9", Some(&admin)), 400),
        ("conflict id abc", hq.post("/api/v1/conflicts/abc/resolve", Some(&admin), &json!({})), 400),
        (
            "a cursor past 2^63",
            hq.get(&format!("/api/v1/sync/pull?cursor={}", epoch_cursor(&hq, &admin)), Some(&admin)),
            400,
        ),
    ];
    for (what, answer, status) in cases {
        assert_eq!(answer.0, status, "{what}: {}", answer.1);
        assert!(answer.1["error"]["code"].is_string(), "{what} must answer in the API's error format: {}", answer.1);
    }
    let client = reqwest::blocking::Client::new();
    let wrong_method = client.delete(format!("{}/api/v1/rounds", hq.url)).bearer_auth(&admin).send().unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);
    let body: Value = wrong_method.json().unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed", "{body}");
    let brotli = client
        .post(format!("{}/api/v1/sync/push", hq.url))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .header("content-encoding", "br")
        .body("xx")
        .send()
        .unwrap();
    assert_eq!(brotli.status().as_u16(), 415);
    let body: Value = brotli.json().unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type", "{body}");
    let (status, _) = hq.get("/api/v1/rounds", Some(&admin));
    assert_eq!(status, 200, "HQ stays up");
}

fn epoch_cursor(hq: &Hq, token: &str) -> String {
    let (_, page) = hq.get("/api/v1/sync/pull", Some(token));
    let epoch = page["cursor"].as_str().unwrap().split(':').next().unwrap().to_owned();
    format!("{epoch}:9223372036854775808")
}

#[test]
fn push_answers_are_remembered_per_device_and_a_reused_op_id_is_refused_not_dropped() {
    let hq = Hq::start_demo();
    let a = hq.token("enumerator", "enumerator-demo");
    let b = hq.token("enumerator", "enumerator-demo"); // a second login: another device
    let op = edit(&uuid(20), 1, TRIPOLI, json!({"idp_hh": 5}), json!({}));
    let (_, first) = push(&hq, &a, vec![op.clone()]);
    assert_eq!(first["results"][0]["outcome"], "applied");
    // B sends A's op_id for another place: it is B's own operation, not A's answer.
    let (_, other) = push(&hq, &b, vec![edit(&uuid(20), 1, "LY021105", json!({"idp_hh": 9}), json!({}))]);
    assert_eq!(other["results"][0]["outcome"], "applied", "another device's op_id must not return its answer: {other}");
    assert!(other["results"][0]["original"].is_null(), "nothing of A's operation leaks to B: {other}");
    // A retries honestly: the first answer again.
    let (_, retry) = push(&hq, &a, vec![op]);
    assert_eq!(
        (retry["results"][0]["outcome"].as_str(), retry["results"][0]["original"].as_str()),
        (Some("duplicate"), Some("applied"))
    );
    // A sends the same op_id with another value: refused, so the device keeps it visible.
    let (_, reused) = push(&hq, &a, vec![edit(&uuid(20), 1, TRIPOLI, json!({"idp_hh": 6}), json!({}))]);
    assert_eq!(reused["results"][0]["outcome"], "rejected", "{reused}");
    assert_eq!(reused["results"][0]["code"], "op_id_reused", "{reused}");
    let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&a));
    assert_eq!(detail["values"]["idp_hh"], 5, "the reused op_id's values were not applied");
}

#[test]
fn a_made_up_base_version_is_refused_instead_of_skipping_conflict_detection() {
    let hq = Hq::start_demo();
    let a = hq.token("enumerator", "enumerator-demo");
    let b = hq.token("enumerator", "enumerator-demo");
    push(&hq, &a, vec![edit(&uuid(30), 1, TRIPOLI, json!({"idp_hh": 10}), json!({}))]);
    push(&hq, &a, vec![edit(&uuid(31), 2, TRIPOLI, json!({"idp_hh": 12}), json!({"idp_hh": 1}))]);
    let (_, forged) = push(&hq, &b, vec![edit(&uuid(32), 1, TRIPOLI, json!({"idp_hh": 99}), json!({"idp_hh": 999}))]);
    assert_eq!(forged["results"][0]["outcome"], "rejected", "{forged}");
    assert_eq!(forged["results"][0]["code"], "base_ahead", "{forged}");
    let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}"), Some(&a));
    assert_eq!(detail["values"]["idp_hh"], 12, "the other device's newer value stands");
    // An honest stale base is still a conflict, kept for a supervisor.
    let (_, honest) = push(&hq, &b, vec![edit(&uuid(33), 2, TRIPOLI, json!({"idp_hh": 11}), json!({"idp_hh": 1}))]);
    assert_eq!(honest["results"][0]["outcome"], "conflict", "{honest}");
}

/// A supervisor of region LY01 only, made from the demo supervisor's row (same
/// password), since HQ has no user administration yet.
fn add_east_supervisor(hq: &Hq) {
    hq.query(
        "INSERT INTO users (username, display_name, role, scope, password_hash, created_at)
         SELECT 'supervisor_ly01', 'Supervisor LY01', role, '[\"LY01\"]', password_hash, created_at
         FROM users WHERE username = 'supervisor'",
    );
}

#[test]
fn a_conflict_outside_the_callers_scope_answers_exactly_as_an_unknown_one() {
    let hq = Hq::start_demo();
    add_east_supervisor(&hq);
    let (a, b) = (hq.token("enumerator", "enumerator-demo"), hq.token("enumerator", "enumerator-demo"));
    push(&hq, &a, vec![edit(&uuid(40), 1, TRIPOLI, json!({"idp_hh": 10}), json!({}))]);
    let (_, c) = push(&hq, &b, vec![edit(&uuid(41), 1, TRIPOLI, json!({"idp_hh": 11}), json!({}))]);
    assert_eq!(c["results"][0]["outcome"], "conflict");
    let west = hq.token("supervisor", "supervisor-demo");
    let (_, conflicts) = hq.get("/api/v1/rounds/R1/conflicts", Some(&west));
    let id = conflicts[0]["id"].as_i64().unwrap();
    let east = hq.token("supervisor_ly01", "supervisor-demo");
    let settle = json!({"choice": "current", "reason": "checked"});
    let (s1, outside) = hq.post(&format!("/api/v1/conflicts/{id}/resolve"), Some(&east), &settle);
    let (s2, unknown) = hq.post(&format!("/api/v1/conflicts/{}/resolve", id + 1000), Some(&east), &settle);
    assert_eq!((s1, s2), (404, 404), "{outside} {unknown}");
    assert_eq!(outside["error"]["code"], unknown["error"]["code"]);
    assert!(!outside.to_string().contains("LY02"), "the refusal must not name where the conflict is: {outside}");
    assert_eq!(
        outside["error"]["message"].as_str().unwrap().replace(&id.to_string(), "N"),
        unknown["error"]["message"].as_str().unwrap().replace(&(id + 1000).to_string(), "N"),
        "an out-of-scope id must be indistinguishable from an unknown one"
    );
}

#[test]
fn whoever_entered_an_assessments_figures_may_not_approve_it() {
    let hq = Hq::start_demo();
    let sup = hq.token("supervisor", "supervisor-demo");
    let values = json!({"idp_hh": 10, "idp_ind": 50, "ret_hh": 2, "ret_ind": 9, "mig_ind": 100, "mig_men": 60,
        "mig_women": 30, "mig_children": 10, "need_1": "shelter", "need_1_problem": "too_expensive",
        "ki_count": 3, "ki_types": ["crisis_committee", "idp_rep"]});
    let (_, body) = push(&hq, &sup, vec![edit(&uuid(50), 1, TRIPOLI, values, json!({}))]);
    assert_eq!(body["results"][0]["outcome"], "applied", "{body}");
    let submit = json!({"op_id": uuid(51), "seq": 2, "key": {"round": "R1", "form": "baladiya", "location": TRIPOLI},
        "hlc": {"millis": 1_700_000_000_200u64, "counter": 0}, "form_version": 2, "kind": "submit"});
    let (_, body) = push(&hq, &sup, vec![submit]);
    assert_eq!(body["results"][0]["outcome"], "applied", "{body}");
    let review = format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}/review");
    assert_error(
        "a supervisor approving their own entry",
        hq.post(&review, Some(&sup), &json!({"decision": "approve"})),
        403,
        "own_entry",
    );
    let admin = hq.token("admin", "admin-demo");
    let (status, body) = hq.post(&review, Some(&admin), &json!({"decision": "approve"}));
    assert_eq!((status, body["status"].as_str()), (200, Some("approved")), "another reviewer approves: {body}");
}

/// Migrant figures for every muhalla in the gazetteer, consistent with the form's
/// rules: the shape of DTM Libya's published muhalla sheet.
fn muhalla_round() -> Vec<(String, [u64; 4])> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |max: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % max
    };
    Gazetteer::libya()
        .at_level(4)
        .map(|m| {
            let (men, women, children) = (next(900), next(400), next(300));
            (m.pcode.to_string(), [men + women + children, men, women, children])
        })
        .collect()
}

const MIG_HEAD: &str = "region,baladiya,muhalla,round,mig_ind,men,women,children";
const MIG_TAGS: &str = "#adm1+code,#adm3+code,#adm4+code,#round+code,#affected+migrants+ind,#affected+migrants+m+adults,#affected+migrants+f+adults,#affected+migrants+children";

fn csv(rows: &[String]) -> Vec<u8> {
    let mut lines = vec![MIG_HEAD.to_owned(), MIG_TAGS.to_owned()];
    lines.extend_from_slice(rows);
    lines.join("\n").into_bytes()
}

#[test]
fn a_round_published_per_muhalla_has_exact_totals_at_every_level() {
    let round = muhalla_round();
    assert!(round.len() > 500, "the gazetteer holds Libya's muhallas: {}", round.len());
    // DTM's files give the round as a plain number.
    let rows: Vec<String> =
        round.iter().map(|(p, [ind, m, w, c])| format!("{},{},{p},54,{ind},{m},{w},{c}", &p[..4], &p[..8])).collect();
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    admin_creates_round(&hq, &admin, 54);
    let (status, report) = import(&hq, &admin, "R54", csv(&rows));
    assert_eq!(status, 200, "{report}");
    let national: u64 = round.iter().map(|(_, v)| v[0]).sum();
    assert_eq!(report["totals"]["mig_ind"], national, "the import report gives the national total, not {{}}");
    for level in [1usize, 2, 3] {
        let mut expected: BTreeMap<String, [u64; 4]> = BTreeMap::new();
        for (p, v) in &round {
            let e = expected.entry(p[..2 + 2 * level].to_owned()).or_default();
            for i in 0..4 {
                e[i] += v[i];
            }
        }
        let (status, totals) = hq.get(&format!("/api/v1/rounds/R54/totals?level={level}"), Some(&admin));
        assert_eq!(status, 200);
        let got: BTreeMap<String, [u64; 4]> = totals
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let v = |f: &str| t["values"][f].as_u64().unwrap_or(0);
                (
                    t["location"]["pcode"].as_str().unwrap().to_owned(),
                    [v("mig_ind"), v("mig_men"), v("mig_women"), v("mig_children")],
                )
            })
            .collect();
        assert_eq!(got, expected, "level {level} totals must equal the muhalla figures summed by hand");
    }
}

#[test]
fn baladiya_only_and_mixed_rounds_count_each_baladiya_once_and_flag_disagreements() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    admin_creates_round(&hq, &admin, 55);
    admin_creates_round(&hq, &admin, 56);
    // Baladiya only.
    let only = csv(&["LY02,LY021104,,R55,100,60,30,10".into(), "LY02,LY021105,,R55,20,10,5,5".into()]);
    let (status, report) = import(&hq, &admin, "R55", only);
    assert_eq!((status, report["totals"]["mig_ind"].as_u64()), (200, Some(120)), "{report}");
    // Mixed: LY021104 agrees with its muhallas (counted once: 100, not 200);
    // LY021105 says 50 but its muhalla says 20 (the finer figure counts; flagged).
    let mixed = csv(&[
        "LY02,LY021104,,R56,100,60,30,10".into(),
        "LY02,LY021104,LY02110401,R56,40,20,10,10".into(),
        "LY02,LY021104,LY02110402,R56,60,40,20,0".into(),
        "LY02,LY021105,,R56,50,30,10,10".into(),
        "LY02,LY021105,LY02110501,R56,20,10,5,5".into(),
    ]);
    let (status, report) = import(&hq, &admin, "R56", mixed);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["totals"]["mig_ind"], 120, "each baladiya counted once, from its muhallas: {report}");
    let (_, totals) = hq.get("/api/v1/rounds/R56/totals?level=2", Some(&admin));
    assert_eq!(totals[0]["values"]["mig_ind"], 120, "{totals}");
    let flagged: Vec<(String, String, u64, u64)> = totals[0]["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["baladiya"].as_str().unwrap().to_owned(),
                d["field"].as_str().unwrap().to_owned(),
                d["baladiya_value"].as_u64().unwrap(),
                d["muhallas_value"].as_u64().unwrap(),
            )
        })
        .filter(|d| d.1 == "mig_ind")
        .collect();
    assert_eq!(flagged, [("LY021105".to_owned(), "mig_ind".to_owned(), 50, 20)], "both figures are shown: {totals}");
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["code"] == "rule_warning" && w["rule"] == "aggregate:mig_ind" && w["row"] == 6),
        "the import report warns of the disagreement by row: {report}"
    );
}

#[test]
fn an_import_runs_the_forms_rules_errors_refuse_the_file_and_warnings_are_reported() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    admin_creates_round(&hq, &admin, 57);
    let breaks = csv(&["LY02,LY021104,LY02110401,R57,100,60,30,5".into()]);
    let (status, body) = import(&hq, &admin, "R57", breaks);
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("import_rejected")), "{body}");
    let e = &body["errors"][0];
    assert_eq!(
        (e["row"].as_u64(), e["code"].as_str(), e["rule"].as_str()),
        (Some(3), Some("rule_error"), Some("migrant_breakdown")),
        "a broken rule has the code every client knows and names the rule: {body}"
    );
    assert!(!e["column"].as_str().unwrap().is_empty(), "the error names a column: {body}");
    assert_eq!(hq_rows(&hq, "assessments"), 0, "a refused file imports nothing");
    // A warning-level rule: 10 households of 400 people is implausible, not impossible.
    let file = "baladiya,muhalla,round,idp_hh,idp_ind\n#adm3+code,#adm4+code,#round+code,#affected+idps+hh,#affected+idps+ind\nLY021104,LY02110401,R57,10,400\n";
    let (status, report) = import(&hq, &admin, "R57", file.as_bytes().to_vec());
    assert_eq!(status, 200, "{report}");
    let w = &report["warnings"][0];
    assert_eq!(
        (&w["code"], &w["rule"]),
        (&json!("rule_warning"), &json!("idp_household_size")),
        "warnings come back in the report: {report}"
    );
}

#[test]
fn a_refused_import_round_create_leaves_no_round_behind_so_the_fixed_file_imports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hq.sqlite3");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "baladiya,idp_ind\n#adm3+code,#affected+idps+ind\nLY021104,-4\n").unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "baladiya,idp_ind\n#adm3+code,#affected+idps+ind\nLY021104,4\n").unwrap();
    let import = |file: &std::path::Path| {
        std::process::Command::new(bin("dtm-hq"))
            .args(["import-round", "--database"])
            .arg(&db)
            .args(["--round", "R52", "--create", "Round 52", "--window", "2024-05-01..2024-06-30"])
            .arg(file)
            .output()
            .unwrap()
    };
    assert!(!import(&bad).status.success(), "the bad file is refused");
    let fixed = import(&good);
    assert!(
        fixed.status.success(),
        "all or nothing includes the round: the rerun must not fail with round_exists: {}",
        String::from_utf8_lossy(&fixed.stderr)
    );
}

#[test]
fn totals_count_approved_figures_unless_asked_and_never_a_voided_assessment() {
    let hq = Hq::start_demo();
    let enumerator = hq.token("enumerator", "enumerator-demo");
    let full = |idp_ind: u64| {
        json!({"idp_hh": 10, "idp_ind": idp_ind, "ret_hh": 2, "ret_ind": 9, "mig_ind": 100, "mig_men": 60,
            "mig_women": 30, "mig_children": 10, "need_1": "shelter", "need_1_problem": "too_expensive",
            "ki_count": 3, "ki_types": ["crisis_committee", "idp_rep"]})
    };
    let op = |n: u32, location: &str, kind: Value| {
        let mut op = json!({"op_id": uuid(n), "seq": n, "key": {"round": "R1", "form": "baladiya", "location": location},
            "hlc": {"millis": 1_700_000_000_000u64 + u64::from(n), "counter": 0}, "form_version": 2});
        op.as_object_mut().unwrap().extend(kind.as_object().unwrap().clone());
        op
    };
    let ops = vec![
        op(60, TRIPOLI, json!({"kind": "edit", "values": full(50)})),
        op(61, TRIPOLI, json!({"kind": "submit"})),
        op(62, "LY021105", json!({"kind": "edit", "values": full(7)})), // stays a draft
        op(63, "LY021101", json!({"kind": "edit", "values": full(1000)})),
        op(64, "LY021101", json!({"kind": "void", "reason": "entered for the wrong baladiya"})),
    ];
    let (status, body) = push(&hq, &enumerator, ops);
    assert_eq!(status, 200, "{body}");
    let admin = hq.token("admin", "admin-demo");
    let review = format!("/api/v1/assessments/R1/baladiya/{TRIPOLI}/review");
    assert_eq!(hq.post(&review, Some(&admin), &json!({"decision": "approve"})).0, 200);
    let (_, approved) = hq.get("/api/v1/rounds/R1/totals?level=2", Some(&admin));
    assert_eq!(approved[0]["values"]["idp_ind"], 50, "by default only approved figures count: {approved}");
    assert_eq!(approved[0]["unapproved"], 0);
    let (_, all) = hq.get("/api/v1/rounds/R1/totals?level=2&include=all", Some(&admin));
    assert_eq!(all[0]["values"]["idp_ind"], 57, "asked for, the draft counts too, never the voided 1000: {all}");
    assert_eq!(all[0]["unapproved"], 1, "and is marked as not approved");
    assert_error(
        "include=maybe",
        hq.get("/api/v1/rounds/R1/totals?include=maybe", Some(&admin)),
        400,
        "malformed_query",
    );
    // The HXL export counts the same way: a row per approved assessment by default.
    let export = |query: &str| {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/api/v1/rounds/R1/export.csv{query}", hq.url))
            .bearer_auth(&admin)
            .send()
            .unwrap();
        resp.text().unwrap().lines().skip(2).map(|l| l.split(',').nth(2).unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(export(""), [TRIPOLI], "the export for HDX carries approved figures only");
    assert_eq!(export("?include=all"), [TRIPOLI, "LY021105"], "asked for, drafts too; never the voided assessment");
}

#[test]
fn totals_carry_the_previous_rounds_figures_for_the_same_places_counted_the_same_way() {
    // Two whole published rounds of DTM's muhalla size, the earlier one with half the people.
    let now = muhalla_round();
    let before: Vec<(String, [u64; 4])> =
        now.iter().map(|(p, [_, m, w, c])| (p.clone(), [m / 2 + w / 2 + c / 2, m / 2, w / 2, c / 2])).collect();
    let rows = |round: &[(String, [u64; 4])], number: u32| -> Vec<String> {
        round.iter().map(|(p, [i, m, w, c])| format!("{},{},{p},{number},{i},{m},{w},{c}", &p[..4], &p[..8])).collect()
    };
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    for (number, round) in [(53, &before), (54, &now)] {
        admin_creates_round(&hq, &admin, number);
        let (status, report) = import(&hq, &admin, &format!("R{number}"), csv(&rows(round, number)));
        assert_eq!(status, 200, "{report}");
    }
    let by_hand = |round: &[(String, [u64; 4])], level: usize| -> BTreeMap<String, u64> {
        let mut sums = BTreeMap::new();
        for (p, v) in round {
            *sums.entry(p[..2 + 2 * level].to_owned()).or_default() += v[0];
        }
        sums
    };
    for level in [1usize, 2, 3] {
        let (status, totals) = hq.get(&format!("/api/v1/rounds/R54/totals?level={level}"), Some(&admin));
        assert_eq!(status, 200, "{totals}");
        let expected = by_hand(&before, level);
        let mut seen = 0;
        for t in totals.as_array().unwrap() {
            let pcode = t["location"]["pcode"].as_str().unwrap();
            assert_eq!(t["previous"]["round"], "R53", "the round before R54 is R53: {t}");
            assert_eq!(
                t["previous"]["values"]["mig_ind"].as_u64(),
                expected.get(pcode).copied(),
                "level {level}, {pcode}: the previous figure is R53's, summed by hand"
            );
            seen += 1;
        }
        assert_eq!(seen, expected.len(), "every place at level {level} has its comparison");
    }
    let (_, first) = hq.get("/api/v1/rounds/R53/totals?level=1", Some(&admin));
    assert!(
        first.as_array().unwrap().iter().all(|t| t.get("previous").is_none()),
        "the earliest round has nothing to compare with: {first}"
    );
    let supervisor = hq.token("supervisor", "supervisor-demo");
    let (_, west) = hq.get("/api/v1/rounds/R54/totals?level=2", Some(&supervisor));
    let west = west.as_array().unwrap();
    assert!(!west.is_empty());
    for t in west {
        let pcode = t["location"]["pcode"].as_str().unwrap();
        assert!(pcode.starts_with("LY02"), "a supervisor of the West sees only the West: {pcode}");
        assert_eq!(t["previous"]["values"]["mig_ind"].as_u64(), by_hand(&before, 2).get(pcode).copied());
    }
}

#[test]
fn the_review_queue_counts_each_submissions_warnings_and_errors_as_its_own_page_does() {
    let hq = Hq::start_demo();
    let enumerator = hq.token("enumerator", "enumerator-demo");
    // Clean figures at one baladiya; 10 households of 400 people (a warning) at another;
    // a migrant breakdown that does not add up (an error) at a third.
    let clean = json!({"idp_hh": 10, "idp_ind": 50, "ret_hh": 2, "ret_ind": 9, "mig_ind": 100, "mig_men": 60,
        "mig_women": 30, "mig_children": 10, "need_1": "shelter", "need_1_problem": "too_expensive",
        "ki_count": 3, "ki_types": ["crisis_committee", "idp_rep"]});
    let mut warned = clean.clone();
    warned["idp_ind"] = json!(400);
    let mut broken = clean.clone();
    broken["mig_children"] = json!(5);
    let places = [("LY021101", clean), ("LY021102", warned), ("LY021103", broken)];
    let ops = places
        .iter()
        .enumerate()
        .map(|(i, (p, v))| edit(&uuid(90 + i as u32), 1 + i as u64, p, v.clone(), json!({})))
        .collect();
    let (status, body) = push(&hq, &enumerator, ops);
    assert_eq!(status, 200, "{body}");
    let supervisor = hq.token("supervisor", "supervisor-demo");
    let (status, list) = hq.get("/api/v1/rounds/R1/assessments", Some(&supervisor));
    assert_eq!(status, 200);
    let rows: Vec<&Value> = list.as_array().unwrap().iter().filter(|r| r["key"]["form"] == "baladiya").collect();
    for (pcode, _) in &places {
        let row = rows.iter().find(|r| r["key"]["location"] == *pcode).expect("every place is listed");
        let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{pcode}"), Some(&supervisor));
        let count = |severity: &str| {
            detail["issues"].as_array().unwrap().iter().filter(|i| i["severity"] == severity).count() as u64
        };
        assert_eq!(
            (row["warnings"].as_u64(), row["errors"].as_u64()),
            (Some(count("warning")), Some(count("error"))),
            "{pcode}: the queue's counts are the page's verdicts, or a supervisor would bulk-approve what the page flags: {row} {detail}"
        );
    }
    let counts = |p: &str| {
        let r = rows.iter().find(|r| r["key"]["location"] == p).unwrap();
        (r["warnings"].as_u64().unwrap(), r["errors"].as_u64().unwrap())
    };
    assert_eq!(counts("LY021101"), (0, 0), "clean figures are clean");
    assert!(counts("LY021102").0 > 0, "an implausible household size is a warning");
    assert!(counts("LY021103").1 > 0, "a migrant breakdown that does not add up is an error");
    let untouched = rows.iter().find(|r| r["status"] == "not_started").expect("some baladiya not started");
    assert!(
        untouched.get("warnings").is_none(),
        "nothing recorded was not checked, so it claims no count: {untouched}"
    );

    // With a round before it: a change since R1 beyond the threshold is a warning, and
    // the queue (which reads the previous values of the whole list at once) counts it
    // as the page (which reads one) does.
    let admin = hq.token("admin", "admin-demo");
    let (status, body) = hq.post(
        "/api/v1/rounds",
        Some(&admin),
        &json!({"code": "R2", "number": 2, "title": "Round 2", "window_start": "2026-12-01",
            "window_end": "2026-12-31", "forms": [{"form": "baladiya", "version": 2}, {"form": "muhalla", "version": 1}]}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = hq.post("/api/v1/rounds/R2/status", Some(&admin), &json!({"status": "open"}));
    assert_eq!(status, 200, "{body}");
    let mut grown = places[0].1.clone();
    grown["idp_hh"] = json!(100);
    grown["idp_ind"] = json!(500); // 50 in R1: +900%, +450 people
    let steady = places[0].1.clone();
    let ops = [("LY021101", grown), ("LY021105", steady)]
        .into_iter()
        .enumerate()
        .map(|(i, (p, v))| {
            let mut op = edit(&uuid(95 + i as u32), 10 + i as u64, p, v, json!({}));
            op["key"]["round"] = json!("R2");
            op
        })
        .collect();
    let (status, body) = push(&hq, &enumerator, ops);
    assert_eq!(status, 200, "{body}");
    let (_, list) = hq.get("/api/v1/rounds/R2/assessments", Some(&supervisor));
    for pcode in ["LY021101", "LY021105"] {
        let row = list.as_array().unwrap().iter().find(|r| r["key"]["location"] == pcode).unwrap();
        let (_, detail) = hq.get(&format!("/api/v1/assessments/R2/baladiya/{pcode}"), Some(&supervisor));
        let changes = detail["issues"].as_array().unwrap().iter().filter(|i| i["rule"] == "change:idp_ind").count();
        let warnings = detail["issues"].as_array().unwrap().iter().filter(|i| i["severity"] == "warning").count();
        assert_eq!(row["warnings"].as_u64(), Some(warnings as u64), "{pcode}: the queue counts what the page shows");
        assert_eq!(changes, usize::from(pcode == "LY021101"), "{pcode}: only the grown figure is a change since R1");
    }
}

#[test]
fn the_review_queue_checks_each_baladiya_against_its_own_muhallas_as_its_page_does() {
    let hq = Hq::start_demo();
    let enumerator = hq.token("enumerator", "enumerator-demo");
    let baladiya = json!({"idp_hh": 10, "idp_ind": 50, "ret_hh": 2, "ret_ind": 9, "mig_ind": 100, "mig_men": 60,
        "mig_women": 30, "mig_children": 10, "need_1": "shelter", "need_1_problem": "too_expensive",
        "ki_count": 3, "ki_types": ["crisis_committee", "idp_rep"]});
    // Three baladiyas of one list, whose muhallas HQ reads in one go and shares out:
    // - Suq Aljumaa (LY021101): all 14 muhallas in, adding up to the baladiya's figures;
    // - Tajoura (LY021102): all 7 in, 14 IDP households and 70 people against the
    //   baladiya's 10 and 50;
    // - LY021104: 3 of its 8 in, which must not be compared yet.
    let mut ops = Vec::new();
    let mut seq = 0;
    let mut op = |location: &str, form: &str, values: Value| {
        seq += 1;
        let mut op = edit(&uuid(200 + seq as u32), seq, location, values, json!({}));
        op["key"]["form"] = json!(form);
        op["form_version"] = json!(if form == "muhalla" { 1 } else { 2 });
        op
    };
    for b in ["LY021101", "LY021102", "LY021104"] {
        ops.push(op(b, "baladiya", baladiya.clone()));
    }
    let zero = json!({"idp_hh": 0, "idp_ind": 0, "ret_hh": 0, "ret_ind": 0, "mig_ind": 0});
    let all_of_it = json!({"idp_hh": 10, "idp_ind": 50, "ret_hh": 2, "ret_ind": 9, "mig_ind": 100});
    for n in 1..=14 {
        ops.push(op(&format!("LY021101{n:02}"), "muhalla", if n == 1 { all_of_it.clone() } else { zero.clone() }));
    }
    let ten = json!({"idp_hh": 2, "idp_ind": 10, "ret_hh": 0, "ret_ind": 0, "mig_ind": 0});
    for n in 1..=7 {
        let mut v = if n == 1 { all_of_it.clone() } else { zero.clone() };
        v["idp_hh"] = ten["idp_hh"].clone();
        v["idp_ind"] = ten["idp_ind"].clone();
        ops.push(op(&format!("LY021102{n:02}"), "muhalla", v));
    }
    for n in 1..=3 {
        ops.push(op(&format!("LY021104{n:02}"), "muhalla", ten.clone()));
    }
    let (status, body) = push(&hq, &enumerator, ops);
    assert_eq!(status, 200, "{body}");
    assert!(
        body["results"].as_array().unwrap().iter().all(|r| r["outcome"] == "applied"),
        "every figure is taken: {body}"
    );
    let supervisor = hq.token("supervisor", "supervisor-demo");
    let (_, list) = hq.get("/api/v1/rounds/R1/assessments", Some(&supervisor));
    let mut aggregate = Vec::new();
    for pcode in ["LY021101", "LY021102", "LY021104"] {
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"]["location"] == pcode && r["key"]["form"] == "baladiya")
            .expect("listed");
        let (_, detail) = hq.get(&format!("/api/v1/assessments/R1/baladiya/{pcode}"), Some(&supervisor));
        let issues = detail["issues"].as_array().unwrap();
        let count = |severity: &str| issues.iter().filter(|i| i["severity"] == severity).count() as u64;
        assert_eq!(
            (row["warnings"].as_u64(), row["errors"].as_u64()),
            (Some(count("warning")), Some(count("error"))),
            "{pcode}: the queue, which reads every baladiya's muhallas at once, counts what the page shows: {row} {detail}"
        );
        let flagged: Vec<String> = issues
            .iter()
            .filter_map(|i| i["rule"].as_str())
            .filter(|r| r.starts_with("aggregate:"))
            .map(str::to_owned)
            .collect();
        aggregate.push(flagged);
    }
    assert_eq!(
        aggregate,
        [vec![], vec!["aggregate:idp_hh".to_owned(), "aggregate:idp_ind".to_owned()], vec![]],
        "only Tajoura is flagged (10 IDP households and 50 people against its muhallas' 14 and 70): Suq Aljumaa adds up, LY021104 is 3 of 8 in"
    );
}

#[test]
fn a_conflict_names_its_authors_and_devices_and_carries_the_previous_rounds_value() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    // A past round R0 that has Tripoli, imported: its idp_hh is the context.
    let (status, body) = hq.post(
        "/api/v1/rounds",
        Some(&admin),
        &json!({"code": "R0", "number": 0, "title": "Round 0", "window_start": "2024-01-01", "window_end": "2024-02-01",
            "forms": [{"form": "baladiya", "version": 2}, {"form": "muhalla", "version": 1}]}),
    );
    assert_eq!(status, 201, "{body}");
    let file = format!("baladiya,round,idp_hh\n#adm3+code,#round+code,#affected+idps+hh\n{TRIPOLI},R0,7\n");
    let (status, report) = import(&hq, &admin, "R0", file.into_bytes());
    assert_eq!(status, 200, "{report}");
    let (a, b) = (hq.token("enumerator", "enumerator-demo"), hq.token("enumerator", "enumerator-demo"));
    push(&hq, &a, vec![edit(&uuid(60), 1, TRIPOLI, json!({"idp_hh": 10}), json!({}))]);
    let (_, c) = push(&hq, &b, vec![edit(&uuid(61), 1, TRIPOLI, json!({"idp_hh": 11}), json!({}))]);
    assert_eq!(c["results"][0]["outcome"], "conflict", "{c}");
    let supervisor = hq.token("supervisor", "supervisor-demo");
    let (_, conflicts) = hq.get("/api/v1/rounds/R1/conflicts", Some(&supervisor));
    let conflict = &conflicts[0];
    let (_, me) = hq.get("/api/v1/me", Some(&a));
    for side in ["current", "incoming"] {
        assert_eq!(conflict[side]["author"], "enumerator", "{conflict}");
        assert_eq!(
            conflict[side]["author_name"], me["display_name"],
            "a supervisor reads who typed each value by name, not by username: {conflict}"
        );
    }
    assert_eq!(
        (&conflict["previous"]["round"], &conflict["previous"]["value"]),
        (&json!("R0"), &json!(7)),
        "the previous round's value is beside the two: {conflict}"
    );
}

#[test]
fn a_new_rounds_forms_are_chosen_from_what_hq_can_collect_with_titles_in_both_languages() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    let (status, forms) = hq.get("/api/v1/forms", Some(&admin));
    assert_eq!(status, 200, "{forms}");
    let listed: Vec<(String, u64, bool)> = forms
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_owned(), f["version"].as_u64().unwrap(), f["latest"].as_bool().unwrap()))
        .collect();
    assert!(listed.contains(&("baladiya".into(), 3, true)), "the newest baladiya form is offered: {forms}");
    assert!(listed.contains(&("baladiya".into(), 2, false)), "an older version is offered, marked older: {forms}");
    assert!(
        listed.contains(&("muhalla".into(), 2, true)),
        "muhalla v2, with the full migrant module, is the newest: {forms}"
    );
    assert!(listed.contains(&("muhalla".into(), 1, false)), "muhalla v1 stays valid for its rounds: {forms}");
    for f in forms.as_array().unwrap() {
        assert!(
            f["title"]["ar"].as_str().is_some_and(|t| t.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c))),
            "every form has an Arabic title to choose it by: {f}"
        );
    }
    let (status, _) = hq.get("/api/v1/forms", None);
    assert_eq!(status, 401, "the list is for signed-in people");
}
