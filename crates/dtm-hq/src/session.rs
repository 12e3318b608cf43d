//! How a request presents its session: a bearer token (the field app, the `dtm` CLI,
//! scripts) or, for the web dashboard, an HttpOnly cookie.
//!
//! Why a cookie for the dashboard: a token in `localStorage` is readable by any script
//! that ever runs in the page, so one injected script could carry off a supervisor's
//! 90-day session. An `HttpOnly` cookie is sent by the browser but never shown to
//! script. `SameSite=Strict` keeps other sites' pages from sending it, and a
//! state-changing request that authenticates by cookie must also carry
//! `X-DTM-Client: dashboard`, a header no cross-site form can set (this also covers
//! sibling subdomains, which count as the same site). Devices keep bearer tokens:
//! they are not browsers, and their token lives in the device store.

use crate::error::AppError;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use dtm_core::ErrorCode;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The cookie that carries the dashboard's session token.
pub const COOKIE: &str = "dtm_session";
/// Sent by the dashboard on every request: at login it asks for the session as a
/// cookie; on a state-changing request it shows the request comes from HQ's own page.
pub const CLIENT_HEADER: &str = "x-dtm-client";
pub const DASHBOARD: &str = "dashboard";

/// The session token a request presents, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Bearer(String),
    Cookie(String),
}

impl Presented {
    pub fn token(&self) -> &str {
        match self {
            Self::Bearer(t) | Self::Cookie(t) => t,
        }
    }
}

/// The header by which the dashboard says it is the dashboard, as the document names it
/// for a login or an enrolment. HQ reads it with [`from_dashboard`].
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // never built: only its IntoParams is used, to document the header
pub struct DashboardClient {
    /// `dashboard`: answer with an HttpOnly session cookie, and an empty token in the body.
    #[param(rename = "x-dtm-client", value_type = String, required = false, pattern = "^dashboard$")]
    client: Option<String>,
}

/// Whether the request says it is HQ's own dashboard.
pub fn from_dashboard(headers: &HeaderMap) -> bool {
    headers.get(CLIENT_HEADER).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(DASHBOARD.as_bytes()))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The token the request presents: a bearer header first, else the dashboard's cookie.
/// A cookie on a request that changes something must come with [`CLIENT_HEADER`].
pub fn presented(parts: &Parts) -> Result<Option<Presented>, AppError> {
    if let Some(token) =
        parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        return Ok(Some(Presented::Bearer(token.trim().to_owned())));
    }
    let Some(token) = cookie_token(&parts.headers) else { return Ok(None) };
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !from_dashboard(&parts.headers) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::ClientHeaderMissing,
            format!(
                "a request that changes something with the session cookie must send `{CLIENT_HEADER}: {DASHBOARD}`"
            ),
        ));
    }
    Ok(Some(Presented::Cookie(token)))
}

/// Whether the page was reached on a loopback host (`localhost`, 127.0.0.1, ::1), where
/// plain HTTP is expected in development; anywhere else the cookie is `Secure`.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The `Set-Cookie` that gives the dashboard its session.
pub fn set_cookie(request: &HeaderMap, token: &str, max_age: time::Duration) -> HeaderValue {
    cookie(request, token, max_age.whole_seconds().max(0))
}

/// The `Set-Cookie` that makes the browser forget the session.
pub fn clear_cookie(request: &HeaderMap) -> HeaderValue {
    cookie(request, "", 0)
}

fn cookie(request: &HeaderMap, value: &str, max_age: i64) -> HeaderValue {
    let secure = if loopback_host(request) { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/api/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("a hex token makes a valid header")
}

/// The client's address, for the per-address login limit. From the connection when
/// HQ serves with connect info (`dtm-hq serve`); an in-process router without it
/// counts every request as one unspecified address. `X-Forwarded-For` is not read:
/// any client could set it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // axum's own extractor, which also reads `MockConnectInfo` in tests.
        let connected = ConnectInfo::<SocketAddr>::from_request_parts(parts, state).await.ok();
        Ok(Self(connected.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(a)| a.ip())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(req: Request<()>) -> Parts {
        req.into_parts().0
    }

    #[test]
    fn the_dashboard_cookie_is_httponly_samesite_strict_and_secure_off_loopback() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("hq.dtm.example.org"));
        let c = set_cookie(&headers, "abc", time::Duration::days(90));
        let c = c.to_str().unwrap();
        for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/api/", "Max-Age=7776000"] {
            assert!(c.contains(flag), "{flag} is what keeps the session from script and other sites: {c}");
        }
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(
            !set_cookie(&headers, "abc", time::Duration::days(1)).to_str().unwrap().contains("Secure"),
            "on loopback HQ runs on plain HTTP, where a Secure cookie would be dropped"
        );
    }

    #[test]
    fn a_bearer_header_wins_over_a_cookie() {
        let p = parts(
            Request::get("/api/v1/me")
                .header("authorization", "Bearer dev")
                .header("cookie", "dtm_session=web")
                .body(())
                .unwrap(),
        );
        assert_eq!(presented(&p).unwrap(), Some(Presented::Bearer("dev".into())));
    }

    #[test]
    fn a_cookie_alone_may_read_but_may_change_nothing_without_the_client_header() {
        let get = parts(Request::get("/api/v1/me").header("cookie", "a=1; dtm_session=web").body(()).unwrap());
        assert_eq!(presented(&get).unwrap(), Some(Presented::Cookie("web".into())));
        let post = parts(Request::post("/api/v1/rounds").header("cookie", "dtm_session=web").body(()).unwrap());
        assert_eq!(
            presented(&post).map_err(|e| e.to_string()).unwrap_err(),
            format!(
                "a request that changes something with the session cookie must send `{CLIENT_HEADER}: {DASHBOARD}`"
            ),
            "a cross-site form could send the cookie from a sibling subdomain, but never a custom header"
        );
        let ours = parts(
            Request::post("/api/v1/rounds")
                .header("cookie", "dtm_session=web")
                .header(CLIENT_HEADER, DASHBOARD)
                .body(())
                .unwrap(),
        );
        assert_eq!(presented(&ours).unwrap(), Some(Presented::Cookie("web".into())));
    }
}
