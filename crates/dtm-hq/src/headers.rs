//! Security headers on everything HQ serves, and `Cache-Control: no-store` on the API.
//!
//! The Content-Security-Policy fits the built dashboard (`ui/dist`): Vite emits one
//! module script and stylesheets from the same origin and no inline script, and the
//! map draws local boundary data as SVG, so nothing may load from elsewhere. Styles
//! allow `'unsafe-inline'` because Svelte writes `style` attributes for computed sizes;
//! a style cannot run code. The page may not be framed (clickjacking a review), and
//! no URL (which carries round and P-code) leaks to other sites as a referrer.

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Adds the headers every reply carries, unless a handler set its own.
pub fn secure(router: Router) -> Router {
    let headers: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    })
}

/// API replies hold assessments and sessions: no browser or proxy may keep them.
pub fn no_store<S: Clone + Send + Sync + 'static>(api: Router<S>) -> Router<S> {
    api.layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}
