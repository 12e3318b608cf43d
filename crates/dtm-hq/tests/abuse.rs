//! HQ under abuse (issue 8, items 9–11): login floods, lockouts, unbounded text,
//! security headers, logout and the dashboard's cookie session. In-process.

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, Request, Response, StatusCode};
use dtm_hq::login_guard::{LoginPolicy, Rate};
mod support;
use dtm_hq::{router, AppState, Settings};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

/// Limits small enough to reach in a test; time stands still unless a test moves it.
fn policy() -> LoginPolicy {
    LoginPolicy {
        per_address: Rate { burst: 100, every: Duration::seconds(1) },
        per_username: Rate { burst: 100, every: Duration::seconds(1) },
        lock_after: 3,
        lock_for: Duration::minutes(15),
        hash_slots: 2,
        max_tracked: 10_000,
    }
}

struct Hq {
    app: axum::Router,
    now: Arc<Mutex<OffsetDateTime>>,
    _db: support::TestDatabase,
    _dir: tempfile::TempDir,
}

async fn hq(policy: LoginPolicy) -> Hq {
    let dir = tempfile::tempdir().unwrap();
    let (storage, db) = support::open(dir.path()).await;
    dtm_hq::demo::seed(storage.as_ref()).await.unwrap();
    std::fs::create_dir_all(dir.path().join("ui")).unwrap();
    std::fs::write(dir.path().join("ui/index.html"), "<!doctype html><title>dtm-field</title>").unwrap();
    let settings = Settings { ui_dir: dir.path().join("ui"), ..Settings::default() };
    let now = Arc::new(Mutex::new(OffsetDateTime::now_utc()));
    let mut state = AppState::new(storage, settings).with_login_policy(policy);
    let clock = now.clone();
    state.clock = Arc::new(move || *clock.lock().unwrap());
    Hq { app: router(state), now, _db: db, _dir: dir }
}

impl Hq {
    fn advance(&self, by: Duration) {
        *self.now.lock().unwrap() += by;
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value, Response<()>) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, value, Response::from_parts(parts, ()))
    }

    async fn login(&self, username: &str, password: &str) -> (StatusCode, Value, Response<()>) {
        self.send(post_json("/api/v1/auth/login", None, json!({"username": username, "password": password}))).await
    }

    async fn token(&self, username: &str, password: &str) -> String {
        let (status, body, _) = self.login(username, password).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

fn post_json(path: &str, token: Option<&str>, body: Value) -> Request<Body> {
    let mut req = Request::post(path).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(Body::from(body.to_string())).unwrap()
}

fn get(path: &str, token: &str) -> Request<Body> {
    Request::get(path).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap()
}

fn retry_after(resp: &Response<()>) -> u64 {
    resp.headers().get(header::RETRY_AFTER).expect("a 429 must say when to retry").to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_even_the_right_password_is_refused_until_an_admin_unlocks_it() {
    let hq = hq(policy()).await;
    let admin = hq.token("admin", "admin-demo").await;
    for _ in 0..3 {
        let (status, body, _) = hq.login("supervisor", "guess").await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_credentials")));
    }
    let (status, body, resp) = hq.login("supervisor", "supervisor-demo").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "account_locked", "a locked account must not be opened by a guess that hits");
    assert_eq!(retry_after(&resp), 15 * 60, "the cooling-off time is the policy's");

    let (status, _, _) = hq.send(post_json("/api/v1/users/supervisor/unlock", None, json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "unlocking needs a session");
    let enumerator = hq.token("enumerator", "enumerator-demo").await;
    let (status, body, _) = hq.send(post_json("/api/v1/users/supervisor/unlock", Some(&enumerator), json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (status, _, _) = hq.send(post_json("/api/v1/users/supervisor/unlock", Some(&admin), json!({}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body, _) = hq.login("supervisor", "supervisor-demo").await;
    assert_eq!(status, StatusCode::OK, "an admin's unlock must let the owner in at once: {body}");

    let (status, body, _) = hq.send(post_json("/api/v1/users/nobody/unlock", Some(&admin), json!({}))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
}

#[tokio::test]
async fn a_lockout_ends_by_itself_after_the_cooling_off_time() {
    let hq = hq(policy()).await;
    for _ in 0..3 {
        hq.login("enumerator", "guess").await;
    }
    assert_eq!(hq.login("enumerator", "enumerator-demo").await.0, StatusCode::TOO_MANY_REQUESTS);
    hq.advance(Duration::minutes(15));
    assert_eq!(hq.login("enumerator", "enumerator-demo").await.0, StatusCode::OK, "the lockout is a pause, not a ban");
}

#[tokio::test]
async fn an_unknown_username_locks_like_a_real_one_so_a_lockout_does_not_reveal_accounts() {
    let hq = hq(policy()).await;
    for _ in 0..3 {
        hq.login("nosuchuser", "guess").await;
    }
    let (status, body, _) = hq.login("nosuchuser", "guess").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("account_locked")),
        "a made-up name must get the answer a real one would"
    );
}

#[tokio::test]
async fn a_lockout_is_kept_in_the_database_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = support::TestDatabase::new(dir.path());
    let open = || async {
        let storage = support::reopen(&db).await;
        dtm_hq::demo::seed(storage.as_ref()).await.unwrap();
        router(AppState::new(storage, Settings::default()).with_login_policy(policy()))
    };
    let login = |app: axum::Router, password: &'static str| async move {
        app.oneshot(post_json("/api/v1/auth/login", None, json!({"username": "admin", "password": password})))
            .await
            .unwrap()
            .status()
    };
    let first = open().await;
    for _ in 0..3 {
        login(first.clone(), "guess").await;
    }
    let restarted = open().await;
    assert_eq!(
        login(restarted, "admin-demo").await,
        StatusCode::TOO_MANY_REQUESTS,
        "restarting HQ must not reset a lockout an attacker caused"
    );
}

#[tokio::test]
async fn too_many_failures_for_one_username_are_refused_with_retry_after_before_any_hashing() {
    let hq = hq(LoginPolicy { per_username: Rate { burst: 2, every: Duration::seconds(30) }, ..policy() }).await;
    hq.login("admin", "guess").await;
    hq.login("admin", "guess").await;
    let (status, body, resp) = hq.login("admin", "admin-demo").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!(retry_after(&resp), 30);
    hq.advance(Duration::seconds(30));
    assert_eq!(hq.login("admin", "admin-demo").await.0, StatusCode::OK, "the bucket refills");
}

#[tokio::test]
async fn each_client_address_has_its_own_login_budget() {
    let hq = hq(LoginPolicy { per_address: Rate { burst: 2, every: Duration::minutes(1) }, ..policy() }).await;
    let from = |addr: &str| {
        let addr: SocketAddr = addr.parse().unwrap();
        hq.app.clone().layer(MockConnectInfo(addr))
    };
    let login = |app: axum::Router, username: &str| {
        let req = post_json("/api/v1/auth/login", None, json!({"username": username, "password": "guess"}));
        async move { app.oneshot(req).await.unwrap().status() }
    };
    let (flooder, office) = (from("203.0.113.9:4000"), from("198.51.100.7:5000"));
    login(flooder.clone(), "a").await;
    login(flooder.clone(), "b").await;
    assert_eq!(login(flooder, "c").await, StatusCode::TOO_MANY_REQUESTS, "one address's burst is spent");
    assert_eq!(
        login(office, "c").await,
        StatusCode::UNAUTHORIZED,
        "another address must still be heard: one flooder must not lock out the field"
    );
}

#[tokio::test]
async fn text_beyond_its_limit_is_refused_with_text_too_long_and_never_stored() {
    let hq = hq(policy()).await;
    let big = "x".repeat(7_000_000);
    let (status, body, _) = hq
        .send(post_json(
            "/api/v1/auth/login",
            None,
            json!({"username": "enumerator", "password": "enumerator-demo", "device_name": big}),
        ))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text_too_long")),
        "a 7 MB device name would be stored and shown on every admin's device list"
    );

    let supervisor = hq.token("supervisor", "supervisor-demo").await;
    let comment = "c".repeat(dtm_core::TextKind::Comment.max_chars() + 1);
    let (status, body, _) = hq
        .send(post_json(
            "/api/v1/assessments/R1/baladiya/LY021104/review",
            Some(&supervisor),
            json!({"decision": "return", "comment": comment}),
        ))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text_too_long")));

    let enumerator = hq.token("enumerator", "enumerator-demo").await;
    let op = |body: Value| {
        let mut op = json!({"op_id": uuid::Uuid::now_v7().to_string(), "seq": 1, "hlc": {"millis": 1, "counter": 0},
            "key": {"round": "R1", "form": "baladiya", "location": "LY021104"}, "form_version": 2});
        op.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
        op
    };
    for (what, body) in [
        ("note", op(json!({"kind": "edit", "values": {"note:change:idp_ind": "n".repeat(2_001)}}))),
        ("void reason", op(json!({"kind": "void", "reason": "r".repeat(2_001)}))),
    ] {
        let req = Request::post("/api/v1/sync/push")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {enumerator}"))
            .header("x-dtm-protocol", "2")
            .body(Body::from(json!({"ops": [body]}).to_string()))
            .unwrap();
        let (status, body, _) = hq.send(req).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("text_too_long")),
            "a {what} beyond its limit would be sent to every device in scope: {body}"
        );
    }
}

#[tokio::test]
async fn a_logout_ends_the_token_at_once_and_the_device_may_log_in_again() {
    let hq = hq(policy()).await;
    let token = hq.token("enumerator", "enumerator-demo").await;
    assert_eq!(hq.send(get("/api/v1/me", &token)).await.0, StatusCode::OK);
    let (status, _, _) = hq.send(post_json("/api/v1/auth/logout", Some(&token), json!({}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body, _) = hq.send(get("/api/v1/me", &token)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
        "a logged-out token must not stay valid for its remaining 90 days"
    );
    let (status, _, _) = hq.send(post_json("/api/v1/auth/logout", Some(&token), json!({}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "logging out twice (a device retrying after being offline) is fine");
    let (status, _, _) = hq.send(post_json("/api/v1/auth/logout", None, json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a logout with no token at all is a mistake worth reporting");
    hq.token("enumerator", "enumerator-demo").await;
}

#[tokio::test]
async fn the_dashboard_session_is_an_httponly_cookie_never_a_token_script_can_read() {
    let hq = hq(policy()).await;
    let req = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .header("x-dtm-client", "dashboard")
        .header("host", "127.0.0.1:8080")
        .body(Body::from(json!({"username": "supervisor", "password": "supervisor-demo"}).to_string()))
        .unwrap();
    let (status, body, resp) = hq.send(req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"], "", "the dashboard's page must never see its token");
    assert_eq!(body["user"]["username"], "supervisor");
    let cookie = resp.headers().get(header::SET_COOKIE).expect("the session comes as a cookie").to_str().unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/api/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();

    let with_cookie = |req: axum::http::request::Builder| req.header("cookie", &session);
    let (status, body, _) = hq.send(with_cookie(Request::get("/api/v1/me")).body(Body::empty()).unwrap()).await;
    assert_eq!((status, body["username"].as_str()), (StatusCode::OK, Some("supervisor")));

    let logout = |client_header: bool| {
        let mut req = with_cookie(Request::post("/api/v1/auth/logout"));
        if client_header {
            req = req.header("x-dtm-client", "dashboard");
        }
        req.body(Body::empty()).unwrap()
    };
    let (status, body, _) = hq.send(logout(false)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("client_header_missing")),
        "a cookie alone must not change anything: that is what a cross-site form could send"
    );
    let (status, _, resp) = hq.send(logout(true)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cleared = resp.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "the browser must drop the cookie: {cleared}");
    let (status, _, _) = hq.send(with_cookie(Request::get("/api/v1/me")).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the cookie's token is ended at HQ, not just forgotten");
}

#[tokio::test]
async fn the_dashboard_and_the_api_carry_security_headers_and_api_replies_are_never_cached() {
    let hq = hq(policy()).await;
    let (status, _, page) = hq.send(Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let token = hq.token("enumerator", "enumerator-demo").await;
    let (_, _, api) = hq.send(get("/api/v1/rounds", &token)).await;
    let (status, _, missing) = hq.send(get("/api/v1/nothing/here", &token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (what, resp) in [("the dashboard", &page), ("an API reply", &api), ("an API error", &missing)] {
        let h = resp.headers();
        let csp = h.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{what}: only HQ's own scripts may run, and no site may frame it: {csp:?}"
        );
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff", "{what}");
        assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY", "{what}: for browsers without frame-ancestors");
        assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "no-referrer", "{what}");
    }
    for (what, resp) in [("an API reply", &api), ("an API error", &missing)] {
        assert_eq!(
            resp.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{what} holds figures or a session; no browser or proxy may keep it"
        );
    }
    assert!(page.headers().get(header::CACHE_CONTROL).is_none(), "the dashboard's files may be cached");
}
