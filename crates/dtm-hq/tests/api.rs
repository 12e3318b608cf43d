//! HQ's router in-process: version negotiation, compression and the dashboard fallback.

use axum::body::Body;
use axum::http::{Request, StatusCode};
mod support;
use dtm_hq::{router, AppState, Settings};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn app(dir: &tempfile::TempDir) -> (axum::Router, support::TestDatabase) {
    let (storage, db) = support::open(dir.path()).await;
    dtm_hq::demo::seed(storage.as_ref()).await.unwrap();
    std::fs::create_dir_all(dir.path().join("ui")).unwrap();
    std::fs::write(dir.path().join("ui/index.html"), "<!doctype html><title>dtm-field</title>").unwrap();
    let settings = Settings { ui_dir: dir.path().join("ui"), ..Settings::default() };
    (router(AppState::new(storage, settings)), db)
}

async fn token(app: &axum::Router) -> String {
    let resp = app
        .clone()
        .oneshot(
            Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(Body::from(r#"{"username":"enumerator","password":"enumerator-demo"}"#))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn pull(app: &axum::Router, token: &str, protocol: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut req = Request::get("/api/v1/sync/pull").header("authorization", format!("Bearer {token}"));
    if let Some(p) = protocol {
        req = req.header("x-dtm-protocol", p);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn an_app_too_old_for_hq_is_told_to_update() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _db) = app(&dir).await;
    let token = token(&app).await;
    // Protocol 1 sent an operation per field; HQ no longer reads it.
    let (status, body) = pull(&app, &token, Some("1")).await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(body["error"]["code"], "update_required", "the device must be able to tell the user to update");
}

#[tokio::test]
async fn an_app_newer_than_hq_is_told_hq_must_be_updated() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _db) = app(&dir).await;
    let token = token(&app).await;
    let (status, body) = pull(&app, &token, Some("99")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UPGRADE_REQUIRED, Some("hq_too_old")));
}

#[tokio::test]
async fn a_pull_carries_the_open_round_and_an_epoch_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _db) = app(&dir).await;
    let token = token(&app).await;
    let (status, body) = pull(&app, &token, Some("2")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rounds"][0]["code"], "R1");
    let cursor = body["cursor"].as_str().unwrap();
    assert!(cursor.ends_with(":0"), "an empty HQ hands out the start of its epoch: {cursor}");
    // A cursor from another epoch (a restored HQ) starts again from zero instead of skipping.
    let (status, _) = {
        let req = Request::get("/api/v1/sync/pull?cursor=otherepoch:999")
            .header("authorization", format!("Bearer {token}"))
            .header("x-dtm-protocol", "2");
        let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        (resp.status(), ())
    };
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_dashboard_is_served_for_any_path_outside_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _db) = app(&dir).await;
    for path in ["/", "/review/R1"] {
        let resp = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    let resp = app.clone().oneshot(Request::get("/api/v1/nope").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "unknown API paths are errors, not the dashboard");
}

#[tokio::test]
async fn a_zstd_push_is_read_and_a_pull_is_answered_in_zstd_for_devices_and_gzip_for_browsers() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _db) = app(&dir).await;
    let token = token(&app).await;
    let push = serde_json::json!({"ops": [{"op_id": "01900000-0000-7000-8000-000000000001", "seq": 1,
        "key": {"round": "R1", "form": "baladiya", "location": "LY021104"},
        "hlc": {"millis": 1, "counter": 0}, "form_version": 2, "kind": "edit", "values": {"idp_hh": 4}}]});
    let body = zstd::bulk::compress(push.to_string().as_bytes(), 3).unwrap();
    let resp = app
        .clone()
        .oneshot(
            Request::post("/api/v1/sync/push")
                .header("authorization", format!("Bearer {token}"))
                .header("x-dtm-protocol", "2")
                .header("content-type", "application/json")
                .header("content-encoding", "zstd")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "devices send their pushes zstd-compressed");
    let reply: serde_json::Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(reply["results"][0]["outcome"], "applied", "{reply}");

    for (accept, expected) in [("zstd", "zstd"), ("gzip", "gzip")] {
        let req = Request::get("/api/v1/sync/pull")
            .header("authorization", format!("Bearer {token}"))
            .header("x-dtm-protocol", "2")
            .header("accept-encoding", accept);
        let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers().get("content-encoding").and_then(|v| v.to_str().ok()),
            Some(expected),
            "a client accepting {accept} must get {expected}"
        );
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        if expected == "zstd" {
            let page: serde_json::Value = serde_json::from_slice(&zstd::decode_all(&bytes[..]).unwrap()).unwrap();
            assert_eq!(page["columns"][0]["field"], "idp_hh", "the page carries what was pushed: {page}");
            assert_eq!(page["columns"][0]["v"], serde_json::json!([4]), "the page carries what was pushed: {page}");
        }
    }
}
