//! Rounds at HQ: the admin's lifecycle, importing a past round, totals, and the
//! previous round's figures meeting the new round's entries.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dtm_core::Gazetteer;
mod support;
use dtm_hq::{router, AppState, Settings};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tower::ServiceExt;

struct Hq {
    app: axum::Router,
    _db: support::TestDatabase,
    _dir: tempfile::TempDir,
}

impl Hq {
    async fn new() -> Hq {
        let dir = tempfile::tempdir().unwrap();
        let (storage, db) = support::open(dir.path()).await;
        dtm_hq::demo::seed(storage.as_ref()).await.unwrap();
        Hq { app: router(AppState::new(storage, Settings::default())), _db: db, _dir: dir }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .header("x-dtm-protocol", "2");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = self.app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// A response's bytes, for the CSV and XLSX exports.
    async fn raw(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("x-dtm-protocol", "2")
            .body(Body::empty())
            .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        (status, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    async fn import(&self, admin: &str, round: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let kind = if bytes.starts_with(b"PK") {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        } else {
            "text/csv"
        };
        self.call("POST", &format!("/api/v1/rounds/{round}/import"), Some(admin), kind, bytes).await
    }

    async fn create_round_with(&self, admin: &str, number: u32, forms: Value) {
        let (status, body) = self
            .json(
                "POST",
                "/api/v1/rounds",
                admin,
                json!({"code": format!("R{number}"), "number": number, "title": format!("Round {number}"),
                "window_start": "2025-01-01", "window_end": "2025-02-28", "forms": forms}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn json(&self, method: &str, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(method, path, Some(token), "application/json", body.to_string().into_bytes()).await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call("GET", path, Some(token), "application/json", vec![]).await
    }

    async fn login(&self, user: &str) -> String {
        let body = json!({"username": user, "password": format!("{user}-demo")});
        let (status, body) =
            self.call("POST", "/api/v1/auth/login", None, "application/json", body.to_string().into_bytes()).await;
        assert_eq!(status, StatusCode::OK);
        body["token"].as_str().unwrap().to_owned()
    }

    async fn create_round(&self, admin: &str, number: u32) {
        let (status, body) = self
            .json("POST", "/api/v1/rounds", admin, json!({"code": format!("R{number}"), "number": number, "title": format!("Round {number}"),
                "window_start": "2024-05-01", "window_end": "2024-06-30", "forms": [{"form": "baladiya", "version": 2}, {"form": "muhalla", "version": 1}]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"], "planned", "a new round starts planned");
    }

    async fn set_status(&self, admin: &str, round: &str, status: &str) -> (StatusCode, Value) {
        self.json("POST", &format!("/api/v1/rounds/{round}/status"), admin, json!({"status": status})).await
    }
}

const HEADER: &str = "adm1,adm2,baladiya,muhalla,round,idp_hh,idp_ind,ret_hh,ret_ind,mig_ind";
const TAGS: &str = "#adm1+code,#adm2+code,#adm3+code,#adm4+code,#round+code,#affected+idps+hh,#affected+idps+ind,#affected+returnees+hh,#affected+returnees+ind,#affected+migrants+ind";
const FIELDS: [&str; 5] = ["idp_hh", "idp_ind", "ret_hh", "ret_ind", "mig_ind"];

/// A synthetic round covering every muhalla and baladiya in Libya, whose baladiya
/// rows are the sums of their muhallas; returns the CSV and its sums per field.
fn synthetic_round(code: &str) -> (String, BTreeMap<&'static str, u64>) {
    let g = Gazetteer::libya();
    let mut csv = format!("{HEADER}\n{TAGS}\n");
    let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
    for b in g.at_level(3) {
        let mut baladiya = [0u64; 5];
        let mut muhallas = 0;
        for m in g.at_level(4).filter(|m| m.pcode.is_within(&b.pcode)) {
            let seed: u64 = m.pcode.as_str()[2..].parse::<u64>().unwrap() % 97;
            let v = [seed + 1, (seed + 1) * 5, seed % 7, (seed % 7) * 4, seed * 3];
            for (i, x) in v.iter().enumerate() {
                baladiya[i] += x;
            }
            muhallas += 1;
            csv.push_str(&row(&b.pcode, Some(&m.pcode), code, &v));
        }
        if muhallas == 0 {
            baladiya = [10, 50, 2, 8, 30];
        }
        csv.push_str(&row(&b.pcode, None, code, &baladiya));
        for (f, x) in FIELDS.iter().zip(baladiya) {
            *sums.entry(f).or_default() += x;
        }
    }
    (csv, sums)
}

fn row(b: &dtm_core::Pcode, m: Option<&dtm_core::Pcode>, code: &str, v: &[u64; 5]) -> String {
    format!(
        "{},{},{b},{},{code},{},{},{},{},{}\n",
        b.ancestor(1).unwrap(),
        b.ancestor(2).unwrap(),
        m.map(|m| m.to_string()).unwrap_or_default(),
        v[0],
        v[1],
        v[2],
        v[3],
        v[4]
    )
}

#[tokio::test]
async fn a_clean_import_of_every_muhalla_and_baladiya_gives_hq_totals_equal_to_the_file() {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    hq.create_round(&admin, 53).await;
    let (csv, sums) = synthetic_round("R53");
    let (status, report) =
        hq.call("POST", "/api/v1/rounds/R53/import", Some(&admin), "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["assessments"], 763, "663 muhallas and 100 baladiyas");
    assert_eq!(report["warnings"], json!([]), "baladiya totals that equal their muhallas raise nothing");
    let (status, totals) = hq.get("/api/v1/rounds/R53/totals?level=1", &admin).await;
    assert_eq!(status, StatusCode::OK);
    for field in FIELDS {
        let hq_total: u64 = totals.as_array().unwrap().iter().map(|r| r["values"][field].as_u64().unwrap_or(0)).sum();
        assert_eq!(hq_total, sums[field], "HQ's national {field} must equal the file's sum");
    }
    assert_eq!(totals.as_array().unwrap().len(), 3, "three regions");
    let (_, mantikas) = hq.get("/api/v1/rounds/R53/totals?level=2", &admin).await;
    assert_eq!(mantikas.as_array().unwrap().len(), 22, "every mantika has figures");

    // The HXL export carries the same tags, so it imports back into another round unchanged.
    let export = hq
        .app
        .clone()
        .oneshot(
            Request::get("/api/v1/rounds/R53/export.csv")
                .header("authorization", format!("Bearer {admin}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    let csv = String::from_utf8(export.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert_eq!(csv.lines().count(), 2 + 763, "header, tags, one row per assessment");
    hq.create_round(&admin, 52).await;
    let (status, report) = hq
        .call("POST", "/api/v1/rounds/R52/import", Some(&admin), "text/csv", csv.replace(",R53,", ",R52,").into_bytes())
        .await;
    assert_eq!(status, StatusCode::OK, "an export must import back: {report}");
    assert_eq!(report["totals"]["idp_ind"].as_u64(), Some(sums["idp_ind"]));
}

#[tokio::test]
async fn an_import_file_with_every_kind_of_error_reports_them_all_and_imports_nothing() {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    hq.create_round(&admin, 53).await;
    let csv = format!(
        "{HEADER}\n{TAGS}\n\
         LY02,LY0211,LY021104,,R53,10,50,1,4,9\n\
         LY02,LY0211,LY029999,,R53,1,2,0,0,0\n\
         LY02,LY0211,LY021104,,R53,1,2,0,0,0\n\
         LY02,LY0211,LY021105,,R53,many,2,0,0,0\n\
         LY02,LY0211,LY021106,,R53,1,-2,0,0,0\n\
         LY01,LY0211,LY021101,,R53,1,2,0,0,0\n"
    );
    let (status, body) = hq.call("POST", "/api/v1/rounds/R53/import", Some(&admin), "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "import_rejected");
    let got: Vec<(u64, String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        (4, "C", "unknown_pcode"),
        (5, "", "duplicate_row"),
        (6, "F", "not_a_number"),
        (7, "G", "negative_count"),
        (8, "A", "inconsistent_pcode"),
    ];
    assert_eq!(got, want.map(|(r, c, e)| (r, c.to_owned(), e.to_owned())), "every error, by row and column");
    let (_, totals) = hq.get("/api/v1/rounds/R53/totals?level=1", &admin).await;
    assert_eq!(totals, json!([]), "one bad row means nothing from the file is imported, not even the good rows");
}

#[tokio::test]
async fn an_xlsx_with_the_same_tags_imports_like_a_csv() {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    hq.create_round(&admin, 53).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, (h, t)) in HEADER.split(',').zip(TAGS.split(',')).enumerate() {
        sheet.write_string(0, c as u16, h).unwrap();
        sheet.write_string(1, c as u16, t).unwrap();
    }
    for (c, v) in ["LY02", "LY0211", "LY021104", "", "R53"].iter().enumerate() {
        sheet.write_string(2, c as u16, *v).unwrap();
    }
    for (i, n) in [10.0, 50.0, 1.0, 4.0, 9.0].iter().enumerate() {
        sheet.write_number(2, 5 + i as u16, *n).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();
    let (status, report) = hq
        .call(
            "POST",
            "/api/v1/rounds/R53/import",
            Some(&admin),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            bytes,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["totals"]["idp_ind"], 50, "XLSX numbers arrive as whole counts");
}

#[tokio::test]
async fn only_an_admin_moves_a_round_and_a_published_round_is_frozen() {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    let supervisor = hq.login("supervisor").await;
    let (status, body) = hq.set_status(&supervisor, "R1", "closed").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    hq.create_round(&admin, 53).await;
    let (status, body) = hq.set_status(&admin, "R53", "published").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition")),
        "no skipping"
    );
    for step in ["open", "closed", "published"] {
        let (status, body) = hq.set_status(&admin, "R53", step).await;
        assert_eq!(status, StatusCode::OK, "{step}: {body}");
        assert_eq!(body["status"], step);
    }
    let (status, body) = hq.set_status(&admin, "R53", "open").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("round_published")));
    let (status, body) = hq.call("POST", "/api/v1/rounds/R53/import", Some(&admin), "text/csv", b"a\n".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("round_not_importable")));
}

#[tokio::test]
async fn a_round_code_must_match_its_number_and_be_new() {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    let bad = json!({"code": "R7", "number": 8, "title": "x", "window_start": "2024-01-01", "window_end": "2024-02-01", "forms": [{"form": "baladiya", "version": 2}]});
    let (status, body) = hq.json("POST", "/api/v1/rounds", &admin, bad).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("malformed_round")));
    let dup = json!({"code": "R1", "number": 1, "title": "x", "window_start": "2024-01-01", "window_end": "2024-02-01", "forms": [{"form": "baladiya", "version": 2}]});
    let (status, body) = hq.json("POST", "/api/v1/rounds", &admin, dup).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("round_exists")));
}

#[tokio::test]
async fn the_previous_rounds_figures_show_beside_the_new_round_and_a_large_change_warns() {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    hq.create_round(&admin, 53).await;
    let csv = format!("{HEADER}\n{TAGS}\nLY02,LY0211,LY021104,,R53,200,1000,10,40,300\n");
    let (status, report) =
        hq.call("POST", "/api/v1/rounds/R53/import", Some(&admin), "text/csv", csv.into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    hq.create_round(&admin, 54).await;
    hq.set_status(&admin, "R54", "open").await;
    let enumerator = hq.login("enumerator").await;
    let op = |seq: u64, field: &str, value: u64| {
        json!({"op_id": uuid_like(seq), "seq": seq, "key": {"round": "R54", "form": "baladiya", "location": "LY021104"},
               "hlc": {"millis": seq, "counter": 0}, "form_version": 2, "kind": "edit", "values": {field: value}})
    };
    let (status, body) = hq
        .json("POST", "/api/v1/sync/push", &enumerator, json!({"ops": [op(1, "idp_hh", 300), op(2, "idp_ind", 1600)]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, detail) = hq.get("/api/v1/assessments/R54/baladiya/LY021104", &enumerator).await;
    assert_eq!(detail["previous_round"], "R53");
    assert_eq!(detail["previous_values"]["idp_ind"], 1000, "the previous round's value shows beside the field");
    let change = detail["issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["rule"] == "change:idp_ind")
        .expect("+60% needs explaining");
    assert_eq!((change["severity"].as_str(), change["justified"].as_bool()), (Some("warning"), Some(false)));
}

#[tokio::test]
async fn the_previous_round_of_a_location_is_the_latest_that_has_it_however_far_back() {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    // Eleven rounds, R50..R60. LY021104 was last assessed in R50, ten rounds back;
    // LY021105 in R58 and, with other figures, in R56 (the same group of four rounds
    // HQ probes at once); LY021106 never before R60.
    for n in 50..=59 {
        hq.create_round(&admin, n).await;
    }
    for (round, rows) in [
        (50, vec!["LY021104,,R50,200,1000,10,40,300"]),
        (56, vec!["LY021105,,R56,1,5,0,0,0"]),
        (58, vec!["LY021105,,R58,30,150,0,0,0"]),
    ] {
        let lines: String = rows.iter().map(|r| format!("LY02,LY0211,{r}\n")).collect();
        let csv = format!("{HEADER}\n{TAGS}\n{lines}");
        let (status, report) = hq
            .call("POST", &format!("/api/v1/rounds/R{round}/import"), Some(&admin), "text/csv", csv.into_bytes())
            .await;
        assert_eq!(status, StatusCode::OK, "R{round}: {report}");
    }
    hq.create_round(&admin, 60).await;
    hq.set_status(&admin, "R60", "open").await;
    let enumerator = hq.login("enumerator").await;
    let ops: Vec<Value> = ["LY021104", "LY021105", "LY021106"]
        .iter()
        .enumerate()
        .map(|(i, location)| {
            json!({"op_id": uuid_like(100 + i as u64), "seq": 1 + i as u64,
                   "key": {"round": "R60", "form": "baladiya", "location": location},
                   "hlc": {"millis": 1 + i as u64, "counter": 0}, "form_version": 2, "kind": "edit",
                   "values": {"idp_hh": 5}})
        })
        .collect();
    let (status, body) = hq.json("POST", "/api/v1/sync/push", &enumerator, json!({ "ops": ops })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (location, round, idp_ind) in [("LY021104", json!("R50"), json!(1000)), ("LY021105", json!("R58"), json!(150))]
    {
        let (_, detail) = hq.get(&format!("/api/v1/assessments/R60/baladiya/{location}"), &enumerator).await;
        assert_eq!(
            (&detail["previous_round"], &detail["previous_values"]["idp_ind"]),
            (&round, &idp_ind),
            "{location}: the newest earlier round that assessed it, not the one before nor an older one: {detail}"
        );
    }
    let (_, new) = hq.get("/api/v1/assessments/R60/baladiya/LY021106", &enumerator).await;
    assert!(new["previous_round"].is_null(), "a location new this round has no previous figures: {new}");
}

fn uuid_like(n: u64) -> String {
    format!("01890a5d-ac96-774b-bcce-{n:012x}")
}

/// A report cut to its first errors, for an assertion message.
fn short(report: &Value) -> String {
    let errors = report["errors"].as_array().map(|e| e.iter().take(5).cloned().collect::<Vec<_>>());
    format!("{} {:?}", report["error"], errors)
}

/// Every value of an exported round, by P-code, from its JSON export.
async fn exported_values(hq: &Hq, admin: &str, round: &str) -> BTreeMap<String, Value> {
    let (status, body) = hq.get(&format!("/api/v1/rounds/{round}/export.json"), admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["form_version"], 2, "each assessment says which form version its values answer");
            (a["location"].as_str().unwrap().to_owned(), a["values"].clone())
        })
        .collect()
}

/// A fresh HQ holding round R55 (baladiya v2, muhalla v2) with a whole synthetic
/// muhalla v2 round imported as an XLSX workbook: every muhalla of Libya, every field,
/// nationalities on a sheet of their own. Returns the HQ, an admin's token, the round's
/// forms, and the round's P-codes and values.
async fn hq_with_whole_round() -> (Hq, String, Value, Vec<dtm_core::Pcode>, Vec<BTreeMap<String, Value>>) {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    let forms = json!([{"form": "baladiya", "version": 2}, {"form": "muhalla", "version": 2}]);
    hq.create_round_with(&admin, 55, forms.clone()).await;
    let round = dtm_core::testdata::whole_round_v2();
    let form = dtm_core::Forms::shipped().get("muhalla", 2).unwrap();
    let tables = dtm_core::exchange::round_tables(
        dtm_core::Gazetteer::libya(),
        &[form],
        "R55",
        &dtm_core::testdata::approved_rows(&round),
    );
    let (status, report) = hq.import(&admin, "R55", dtm_hq::spreadsheet::write_xlsx(&tables).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{}", short(&report));
    assert_eq!(report["assessments"], round.len(), "{}", short(&report));
    let (muhallas, values) = round.into_iter().unzip();
    (hq, admin, forms, muhallas, values)
}

#[tokio::test]
async fn a_whole_muhalla_round_of_every_field_goes_out_as_csv_xlsx_and_json_and_comes_back_exactly() {
    let (hq, admin, forms, muhallas, values) = hq_with_whole_round().await;
    let form = dtm_core::Forms::shipped().get("muhalla", 2).unwrap();

    // The figures: a module answered No counts 0, Unknown adds nothing.
    let sum = |f: &str| values.iter().filter_map(|v| v.get(f)?.as_u64()).sum::<u64>();
    let (_, totals) = hq.get("/api/v1/rounds/R55/totals?level=1", &admin).await;
    let national =
        |f: &str| totals.as_array().unwrap().iter().map(|t| t["values"][f].as_u64().unwrap_or(0)).sum::<u64>();
    for f in ["idp_hh", "idp_ind", "ret_hh", "ret_ind", "mig_ind", "mig_men", "mig_women", "mig_children"] {
        assert_eq!(national(f), sum(f), "the national {f} is the sum of what was imported");
    }
    assert!(sum("mig_ind") > 50_000, "a round of real size: {} migrants", sum("mig_ind"));
    let unknown_idps = values.iter().filter(|v| v["idp_present"] == "unknown").count();
    let said_unknown =
        totals.as_array().unwrap().iter().map(|t| t["unknown"]["idp_ind"].as_u64().unwrap_or(0)).sum::<u64>();
    assert!(unknown_idps > 0);
    assert_eq!(said_unknown, unknown_idps as u64, "totals say how many muhallas left IDPs unknown, apart from the 0s");
    let (status, key) = hq.get("/api/v1/rounds/R55/key-figures", &admin).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["populations"][2]["total"], sum("mig_ind"), "the key figures' migrants are the national total");
    let hosting = values.iter().filter(|v| v.get("idp_ind").and_then(Value::as_u64).is_some_and(|n| n > 0)).count();
    assert_eq!(key["populations"][0]["muhallas_hosting"], hosting, "muhallas hosting IDPs");
    assert_eq!(key["populations"][0]["unknown"], unknown_idps, "the key figures say how many did not know");
    let by_nationality =
        |k: &str| -> u64 { values.iter().filter_map(|v| v.get(&format!("mig_nat.{k}.ind"))?.as_u64()).sum() };
    let top = &key["nationalities"][0];
    assert_eq!(top["count"], by_nationality(top["value"].as_str().unwrap()), "the top nationality's figure: {top}");
    assert!(
        key["nationalities"].as_array().unwrap().windows(2).all(|w| w[0]["count"].as_u64() >= w[1]["count"].as_u64()),
        "nationalities from the most numerous"
    );

    let expected: BTreeMap<String, Value> =
        muhallas.iter().zip(&values).map(|(p, v)| (p.to_string(), json!(v))).collect();
    assert_eq!(exported_values(&hq, &admin, "R55").await, expected, "the JSON export holds every value imported");

    // A fresh HQ with the same round, to import an export into.
    let fresh = || async {
        let other = Hq::new().await;
        let admin = other.login("admin").await;
        other.create_round_with(&admin, 55, forms.clone()).await;
        (other, admin)
    };
    // XLSX out and back in: everything, nationalities included.
    let (status, xlsx) = hq.raw("/api/v1/rounds/R55/export.xlsx", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let (status, report) = hq.import(&admin, "R55", xlsx.clone()).await;
    assert_eq!(
        report["error"]["code"],
        "already_exists",
        "the same round twice is refused ({status}): {}",
        short(&report)
    );
    let (other, other_admin) = fresh().await;
    let (status, report) = other.import(&other_admin, "R55", xlsx.clone()).await;
    assert_eq!(status, StatusCode::OK, "the XLSX export imports back: {}", short(&report));
    assert_eq!(exported_values(&other, &other_admin, "R55").await, expected, "XLSX: every value comes back exactly");

    // CSV out and back in: the main table carries every single field; nationalities
    // travel as their own long table.
    let (status, csv) = hq.raw("/api/v1/rounds/R55/export.csv", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(csv.clone()).unwrap();
    let tags = text.lines().nth(1).unwrap();
    for f in form.fields() {
        assert!(tags.split(',').any(|t| t == f.hxl), "the CSV has a column tagged {} for {}", f.hxl, f.id);
    }
    let (other, other_admin) = fresh().await;
    let (status, report) = other.import(&other_admin, "R55", csv).await;
    assert_eq!(status, StatusCode::OK, "the CSV export imports back: {}", short(&report));
    let without_groups: BTreeMap<String, Value> = expected
        .iter()
        .map(|(p, v)| {
            let v: serde_json::Map<String, Value> = v
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| !k.contains('.'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (p.clone(), Value::Object(v))
        })
        .collect();
    assert_eq!(
        exported_values(&other, &other_admin, "R55").await,
        without_groups,
        "CSV: every single field comes back exactly"
    );
    let (status, long) = hq.raw("/api/v1/rounds/R55/export.csv?table=muhalla.mig_nat", &admin).await;
    assert_eq!(status, StatusCode::OK);
    let long = String::from_utf8(long).unwrap();
    assert!(long.lines().nth(1).unwrap().contains("#country+code"), "nationalities are keyed by #country+code");
    let nat_rows: usize = values.iter().map(|v| v.keys().filter(|k| k.starts_with("mig_nat.")).count()).sum();
    assert_eq!(long.lines().count(), 2 + nat_rows, "one long row per muhalla and nationality");

    // A reader other than ours: openpyxl opens the workbook and finds the labels in both
    // languages, the tags, and the figures.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("R55.xlsx");
    std::fs::write(&path, &xlsx).unwrap();
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(python.exists(), "openpyxl runs from the project's venv: run scripts/setup.sh first");
    let script = r#"
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
out = {}
for ws in book.worksheets:
    rows = list(ws.iter_rows(values_only=True))
    out[ws.title] = {"en": list(rows[0]), "ar": list(rows[1]), "tags": list(rows[2]), "rows": len(rows) - 3,
                     "sums": [sum(r[c] for r in rows[3:] if isinstance(r[c], (int, float))) for c in range(len(rows[2]))],
                     "na": [sum(1 for r in rows[3:] if r[c] == "n/a") for c in range(len(rows[2]))]}
print(json.dumps(out, ensure_ascii=False, default=str))
"#;
    let run = std::process::Command::new(python).arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(run.status.success(), "openpyxl: {}", String::from_utf8_lossy(&run.stderr));
    let seen: Value = serde_json::from_slice(&run.stdout).unwrap();
    let sheet = &seen["muhalla"];
    assert_eq!(sheet["rows"], muhallas.len());
    let col = |id: &str| sheet["tags"].as_array().unwrap().iter().position(|t| t == id).unwrap();
    assert_eq!(sheet["en"][col("#affected+migrants+ind")], "Migrant individuals");
    assert_eq!(sheet["ar"][col("#affected+migrants+ind")], "أفراد المهاجرين", "Arabic labels for Arabic readers");
    let mig = col("#affected+migrants+ind");
    assert_eq!(sheet["sums"][mig], sum("mig_ind"), "counts are numbers a spreadsheet sums, to the national total");
    let no_migrants = values.iter().filter(|v| v["mig_present"] == "no").count();
    assert_eq!(sheet["na"][mig], no_migrants, "a muhalla without migrants reads n/a, not 0");
    assert_eq!(seen["muhalla mig_nat"]["rows"], nat_rows, "the nationality sheet is the long table");
}

#[tokio::test]
async fn a_round_published_in_dtms_own_layout_reads_as_dtm_publishes_and_imports_back_into_a_fresh_hq() {
    let (hq, admin, forms, muhallas, values) = hq_with_whole_round().await;

    let (status, book) = hq.raw("/api/v1/rounds/R55/publish.xlsx", &admin).await;
    assert_eq!(status, StatusCode::OK);

    // openpyxl sees DTM's sheets and DTM's header rows, spelling and all.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("published.xlsx");
    std::fs::write(&path, &book).unwrap();
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let script = r#"
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True)
out = {}
for ws in book.worksheets:
    rows = [["" if c is None else c for c in r] for r in ws.iter_rows(values_only=True)]
    out[ws.title] = {"rows": rows[:3], "count": len(rows), "all": rows if ws.title == "Summary" else []}
print(json.dumps(out, ensure_ascii=False, default=str))
"#;
    let run = std::process::Command::new(python).arg("-c").arg(script).arg(&path).output().unwrap();
    assert!(run.status.success(), "openpyxl: {}", String::from_utf8_lossy(&run.stderr));
    let seen: Value = serde_json::from_slice(&run.stdout).unwrap();
    let titles: Vec<&str> = seen.as_object().unwrap().keys().map(String::as_str).collect();
    for sheet in ["Summary", "Baladiya Main ", "Muhalla Main", "Nationalities"] {
        assert!(titles.contains(&sheet), "sheet `{sheet}` as DTM names it, trailing space included: {titles:?}");
    }
    let layout = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/dtm-public-layout");
    let header = |file: &str| -> Vec<Vec<String>> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(layout.join(file)).unwrap();
        r.records().map(|rec| rec.unwrap().iter().map(str::to_owned).collect()).collect()
    };
    let cells = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|c| c.as_str().unwrap_or("").to_owned()).collect()
    };
    for (sheet, file) in [
        ("Muhalla Main", "muhalla-sheet-header.csv"),
        ("Baladiya Main ", "baladiya-sheet-header.csv"),
        ("Nationalities", "nationalities-sheet-header.csv"),
    ] {
        for (i, want) in header(file).iter().enumerate() {
            let got = cells(&seen[sheet]["rows"][i]);
            assert_eq!(&got[..want.len()], &want[..], "{sheet} header row {}: exactly as DTM publishes it", i + 1);
        }
    }
    assert_eq!(seen["Muhalla Main"]["count"], 2 + muhallas.len(), "a row per muhalla under the two header rows");
    let summary = seen["Summary"]["all"].to_string();
    let migrants: u64 = values.iter().filter_map(|v| v.get("mig_ind")?.as_u64()).sum();
    assert!(summary.contains(&migrants.to_string()), "the summary gives the national figure {migrants}");
    assert!(!String::from_utf8_lossy(&book).contains("ki_"), "no key informant detail is published");

    // Into a fresh HQ: DTM's own workbook is recognised and read through the mapping.
    let other = Hq::new().await;
    let other_admin = other.login("admin").await;
    other.create_round_with(&other_admin, 55, forms).await;
    let (status, report) = other.import(&other_admin, "R55", book).await;
    assert_eq!(status, StatusCode::OK, "a published workbook imports back: {}", short(&report));
    assert_eq!(report["layout"], "dtm-libya-migrants");
    assert_eq!(report["unknown_columns"], json!([]), "every published column is known to the mapping");
    assert_eq!(report["warnings"], json!([]), "each baladiya's total is the sum of its muhallas");
    // Exactly what DTM publishes comes back: the migrant module and its nationalities.
    let published = |v: &BTreeMap<String, Value>| -> Value {
        let keep = |k: &str| k.starts_with("mig_") && !k.starts_with("mig_nat.") || k.starts_with("mig_nat.");
        let mut out: serde_json::Map<String, Value> =
            v.iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        if v.get("mig_present") == Some(&json!("no")) {
            out.retain(|k, _| k == "mig_present");
        }
        Value::Object(out)
    };
    let expected: BTreeMap<String, Value> =
        muhallas.iter().zip(&values).map(|(p, v)| (p.to_string(), published(v))).collect();
    assert_eq!(
        exported_values(&other, &other_admin, "R55").await,
        expected,
        "every published figure comes back exactly"
    );
    let (_, totals) = other.get("/api/v1/rounds/R55/totals?level=1", &other_admin).await;
    let national: u64 = totals.as_array().unwrap().iter().map(|t| t["values"]["mig_ind"].as_u64().unwrap_or(0)).sum();
    assert_eq!(national, migrants, "the national migrant total survives the round trip");
}

#[tokio::test]
async fn a_round_has_a_title_in_english_and_in_arabic() {
    let hq = Hq::new().await;
    let admin = hq.login("admin").await;
    let (status, body) = hq
        .json(
            "POST",
            "/api/v1/rounds",
            &admin,
            json!({"code": "R60", "number": 60, "title": "Round 60",
            "title_ar": "  الجولة 60 ", "window_start": "2026-01-01", "window_end": "2026-02-28",
            "forms": [{"form": "muhalla", "version": 2}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["title_ar"], "الجولة 60", "the Arabic title is kept, trimmed");
    let (_, rounds) = hq.get("/api/v1/rounds", &admin).await;
    let r60 = rounds.as_array().unwrap().iter().find(|r| r["code"] == "R60").unwrap();
    assert_eq!(
        (r60["title"].as_str(), r60["title_ar"].as_str()),
        (Some("Round 60"), Some("الجولة 60")),
        "read back from the store"
    );
    let (status, body) = hq
        .json(
            "POST",
            "/api/v1/rounds",
            &admin,
            json!({"code": "R61", "number": 61, "title": "Round 61",
            "title_ar": "ج".repeat(5000), "window_start": "2026-01-01", "window_end": "2026-02-28",
            "forms": [{"form": "muhalla", "version": 2}]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an Arabic title is bounded like the English one: {body}");
    let (status, _) = hq
        .json(
            "POST",
            "/api/v1/rounds",
            &admin,
            json!({"code": "R62", "number": 62, "title": "Round 62",
            "window_start": "2026-01-01", "window_end": "2026-02-28", "forms": [{"form": "muhalla", "version": 2}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "the Arabic title may be left out");
}
