//! Random and boundary values for every integer and string a client sends HQ — the
//! push decoder, query and path values, the import reader — answer 2xx or 4xx in the
//! API's error format, never 5xx and never a crash (issue 8, items 1–5).

use axum::body::Body;
use axum::http::{Request, StatusCode};
mod support;
use dtm_hq::{router, AppState, Settings};
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Hq {
    app: axum::Router,
    rt: tokio::runtime::Runtime,
    enumerator: String,
    admin: String,
    _db: support::TestDatabase,
    _dir: tempfile::TempDir,
}

impl Hq {
    fn new() -> Hq {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (app, db) = rt.block_on(async {
            let (storage, db) = support::open(dir.path()).await;
            dtm_hq::demo::seed(storage.as_ref()).await.unwrap();
            (router(AppState::new(storage, Settings { ui_dir: dir.path().join("ui"), ..Settings::default() })), db)
        });
        let mut hq = Hq { app, rt, enumerator: String::new(), admin: String::new(), _db: db, _dir: dir };
        hq.enumerator = hq.login("enumerator");
        hq.admin = hq.login("admin");
        let (status, body) = hq.call("POST", "/api/v1/rounds", Some(&hq.admin.clone()), "application/json",
            json!({"code": "R60", "number": 60, "title": "Round 60", "window_start": "2024-05-01", "window_end": "2024-06-30",
                "forms": [{"form": "baladiya", "version": 2}, {"form": "muhalla", "version": 1}]}).to_string().into_bytes());
        assert_eq!(status, StatusCode::CREATED, "{body}");
        hq
    }

    fn login(&self, user: &str) -> String {
        let body = json!({"username": user, "password": format!("{user}-demo")}).to_string().into_bytes();
        let (status, body) = self.call("POST", "/api/v1/auth/login", None, "application/json", body);
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", content_type)
            .header("x-dtm-protocol", "2");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req.body(Body::from(body)).unwrap();
        self.rt.block_on(async {
            let resp = self.app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        })
    }
}

/// An answer is acceptable when it is not a server error and, if an error, is JSON
/// with a code and a message.
fn check(what: &str, (status, body): (StatusCode, Value)) -> Result<(), TestCaseError> {
    prop_assert!(!status.is_server_error(), "{what}: {status} {body}");
    if !status.is_success() {
        prop_assert!(body["error"]["code"].is_string(), "{what}: {status} must answer in the error format: {body}");
        prop_assert!(body["error"]["message"].is_string(), "{what}: {body}");
    }
    Ok(())
}

fn integer() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..10).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        Just(Value::from(1u64 << 63)),
        Just(Value::from(i64::MAX as u64)),
        Just(Value::from(i64::MIN)),
        Just(Value::from(2_000_000u64)),
        Just(Value::from(2_000_001u64)),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        Just(json!(1e300)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9_:]{1,12}",
        "\\PC{0,40}",
        Just("LY021104".to_owned()),
        Just("LY02110401".to_owned()),
        Just("x".repeat(300)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![integer(), text().prop_map(Value::from), Just(Value::Null), Just(json!(["conflict", "conflict"]))]
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("idp_hh".to_owned()),
        Just("idp_ind".to_owned()),
        Just("mig_ind".to_owned()),
        Just("need_1".to_owned()),
        Just("ki_types".to_owned()),
        Just("note:migrant_breakdown".to_owned()),
        text(),
    ]
}

fn operation() -> impl Strategy<Value = Value> {
    (
        prop_oneof![Just("01890a5d-ac96-774b-bcce-b302099a8058".to_owned()), text()],
        integer(),
        integer(),
        integer(),
        prop_oneof![Just("LY021104".to_owned()), Just("LY02110401".to_owned()), text()],
        prop_oneof![Just("baladiya".to_owned()), Just("muhalla".to_owned()), text()],
        integer(),
        prop::collection::btree_map(field(), value(), 0..4),
        prop::collection::btree_map(field(), integer(), 0..3),
        prop_oneof![Just("edit"), Just("submit"), Just("void"), Just("explode")],
    )
        .prop_map(|(op_id, seq, millis, counter, location, form, form_version, values, bases, kind)| {
            json!({"op_id": op_id, "seq": seq, "key": {"round": "R1", "form": form, "location": location},
                "hlc": {"millis": millis, "counter": counter}, "form_version": form_version,
                "kind": kind, "values": values, "bases": bases, "reason": "r"})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn any_push_answers_2xx_or_4xx_never_5xx(ops in prop::collection::vec(operation(), 1..4)) {
        thread_local! { static HQ: Hq = Hq::new(); }
        HQ.with(|hq| {
            let body = json!({"ops": ops}).to_string().into_bytes();
            check("push", hq.call("POST", "/api/v1/sync/push", Some(&hq.enumerator), "application/json", body))
        })?;
    }

    #[test]
    fn any_query_or_path_value_answers_2xx_or_4xx_never_5xx(
        a in "[-a-zA-Z0-9%:._~]{0,30}",
        b in "[-a-zA-Z0-9%:._~]{0,30}",
        n in integer(),
    ) {
        thread_local! { static HQ: Hq = Hq::new(); }
        HQ.with(|hq| {
            let admin = Some(hq.admin.as_str());
            let n = n.to_string();
            let gets = [
                format!("/api/v1/sync/pull?limit={a}&cursor={b}&rounds={a}"),
                format!("/api/v1/sync/pull?limit={n}&cursor={a}:{n}"),
                format!("/api/v1/rounds/{a}/totals?level={n}"),
                format!("/api/v1/rounds/R1/totals?level={a}"),
                format!("/api/v1/gazetteer/search?q={a}&level={n}"),
                format!("/api/v1/forms/{a}?version={n}"),
                format!("/api/v1/assessments/R1/{a}/{b}"),
                format!("/api/v1/rounds/{a}/conflicts"),
                format!("/{a}/{b}"),
            ];
            for uri in gets {
                check(&uri, hq.call("GET", &uri, admin, "application/json", vec![]))?;
            }
            let resolve = format!("/api/v1/conflicts/{n}/resolve");
            let body = json!({"choice": "other", "value": n.parse::<Value>().unwrap_or(Value::Null), "reason": a}).to_string();
            check(&resolve, hq.call("POST", &resolve, admin, "application/json", body.into_bytes()))?;
            let review = format!("/api/v1/assessments/R1/baladiya/{a}/review");
            check(&review, hq.call("POST", &review, admin, "application/json", json!({"decision": b}).to_string().into_bytes()))
        })?;
    }

    #[test]
    fn any_import_file_answers_2xx_or_4xx_never_5xx(
        cells in prop::collection::vec(prop::collection::vec(prop_oneof![text(), integer().prop_map(|v| v.to_string())], 0..9), 0..6),
        round in prop_oneof![Just("R60".to_owned()), Just("60".to_owned()), Just("60.0".to_owned()), text()],
    ) {
        thread_local! { static HQ: Hq = Hq::new(); }
        HQ.with(|hq| {
            let mut file = String::from("a,b,c,d,e,f,g,h,i\n#adm3+code,#adm4+code,#round+code,#affected+idps+hh,#affected+idps+ind,#affected+migrants+ind,#affected+migrants+m+adults,#affected+migrants+f+adults,#affected+migrants+children\n");
            for row in &cells {
                let mut row = row.clone();
                if row.len() > 2 {
                    row[2] = round.clone();
                }
                file.push_str(&row.iter().map(|c| c.replace([',', '"', '\n'], "")).collect::<Vec<_>>().join(","));
                file.push('\n');
            }
            check("import", hq.call("POST", "/api/v1/rounds/R60/import", Some(&hq.admin), "text/csv", file.into_bytes()))
        })?;
    }
}
