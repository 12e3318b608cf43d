//! HQ's API contract: the OpenAPI document served at `GET /api/v1/openapi.json`.
//!
//! It is derived, not written: the shapes are the `utoipa::ToSchema` derives on the
//! types the handlers read and answer (dtm-sync's wire and API shapes, dtm-core's
//! forms, roles and statuses), and each operation is the `#[utoipa::path]` on its
//! handler, which names its query parameters, its body, its answers and the error codes
//! each answer can carry. What every operation shares (the error body, the refusals of
//! the layers around the handlers) is added once here, from what the document says of
//! each operation (whether it needs a session, whether it reads a JSON body).
//!
//! `tests/openapi.rs` checks that every `.route(` of [`crate::routes::router`] is here.

use serde_json::{json, Value};
use std::sync::OnceLock;
use utoipa::OpenApi;

/// Where the API is mounted; the handlers' paths are relative to it.
pub const BASE: &str = "/api/v1";

/// 403 answers to every signed-in caller whose session HQ no longer honours. (A cookie
/// session's request other than GET without the dashboard's header is added to every
/// such operation by [`document`].)
pub(crate) const FORBIDDEN_SESSION: &str = "`device_revoked` (this device was revoked), `account_disabled`, \
     `password_change_required` (a one-time password must be changed first)";
/// The same for handlers that a one-time password may still call.
pub(crate) const FORBIDDEN_ANY_SESSION: &str = "`device_revoked`, `account_disabled`";
/// Supervisors' and admins' handlers.
pub(crate) const FORBIDDEN_REVIEWER: &str =
    "`forbidden` (for supervisors and admins), `device_revoked`, `account_disabled`, `password_change_required`";
/// Admins' handlers.
pub(crate) const FORBIDDEN_ADMIN: &str =
    "`forbidden` (for admins), `device_revoked`, `account_disabled`, `password_change_required`";
/// A round named in the path that HQ does not hold.
pub(crate) const UNKNOWN_ROUND: &str = "`unknown_round`";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dtm-field HQ API",
        description = "The contract of HQ's HTTP API, generated from the handlers and the types they read and \
            answer. Every non-2xx answer is `{\"error\": {\"code\", \"message\", \"op_id\"?}}` (`ErrorBody`), whichever \
            layer refused the request; each answer below lists the codes it can carry. Devices authenticate with \
            `Authorization: Bearer <token>` from `POST /auth/login` or `POST /enrol`; the web dashboard with the \
            HttpOnly `dtm_session` cookie, and sends `X-DTM-Client: dashboard` on every request that is not a GET."
    ),
    paths(
        openapi_json,
        crate::login::login,
        crate::login::logout,
        crate::login::unlock_user,
        crate::routes::me,
        crate::routes::rounds,
        crate::routes::create_round,
        crate::routes::set_round_status,
        crate::routes::import_round,
        crate::routes::round_totals,
        crate::routes::export_csv,
        crate::routes::export_xlsx,
        crate::routes::export_json,
        crate::routes::publish_xlsx,
        crate::routes::key_figures,
        crate::routes::search_locations,
        crate::places::list,
        crate::places::add,
        crate::places::change,
        crate::routes::list_conflicts,
        crate::routes::resolve_conflict,
        crate::people::devices,
        crate::routes::revoke_device,
        crate::routes::hand_over_device,
        crate::people::list,
        crate::people::create,
        crate::people::change,
        crate::people::disable,
        crate::people::enable,
        crate::people::reset_password,
        crate::people::issue_enrolment,
        crate::people::change_password,
        crate::people::enrol,
        crate::people::audit,
        crate::people::audit_csv,
        crate::routes::forms,
        crate::routes::form,
        crate::routes::round_assessments,
        crate::routes::assessment,
        crate::routes::review,
        crate::routes::push,
        crate::routes::pull,
    ),
    components(schemas(dtm_sync::wire::ErrorBody)),
    tags(
        (name = "sessions", description = "Logging in and out, enrolling a device, one's own password"),
        (name = "accounts", description = "Accounts, devices and the audit log"),
        (name = "rounds", description = "Rounds, their import, totals and exports"),
        (name = "assessments", description = "Forms, assessments and their review"),
        (name = "conflicts", description = "Conflicts between devices, for supervisors to settle"),
        (name = "sync", description = "The field app's push and pull (protocol header required)"),
        (name = "contract", description = "This document"),
    )
)]
struct ApiDoc;

/// The document, built once: the derived operations under [`BASE`], with the security
/// schemes and the answers every operation shares.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let nested = utoipa::openapi::OpenApiBuilder::new().build().nest(BASE, ApiDoc::openapi());
        let mut doc = serde_json::to_value(nested).expect("the OpenAPI document serialises");
        doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
        doc["info"]["license"] = json!({"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"});
        doc["components"]["securitySchemes"] = json!({
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "The token of `POST /auth/login` or `POST /enrol` (devices, scripts)."
            },
            "cookie": {
                "type": "apiKey",
                "in": "cookie",
                "name": crate::session::COOKIE,
                "description": "The web dashboard's HttpOnly session cookie, set by a login with \
                    `X-DTM-Client: dashboard`. A request by cookie other than GET must also send that header."
            }
        });
        add_shared_answers(&mut doc);
        doc
    })
}

/// `GET /openapi.json`: this contract, OpenAPI 3.1, anonymous.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "contract",
    responses((status = 200, description = "The OpenAPI document", body = Object))
)]
pub(crate) async fn openapi_json() -> axum::Json<&'static Value> {
    axum::Json(document())
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The answers no handler writes but every operation can get, from the layers around
/// the handlers: a URI beyond HQ's limit, an internal error, a missing or dead session,
/// a cookie session's write without the dashboard's header, a body or a query HQ cannot
/// read. Then each operation's description ends with every
/// error code its answers list, so a reader of one operation sees them all.
fn add_shared_answers(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method) else { continue };
            let signed_in = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let json_body = op.pointer("/requestBody/content/application~1json").is_some();
            let any_body = op.get("requestBody").is_some();
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|p| p.iter().any(|p| matches!(p["in"].as_str(), Some("query" | "path"))));
            if signed_in {
                add_error(
                    op,
                    "401",
                    "`unauthenticated` (no token, or one that is unknown, ended or expired: log in again)",
                );
            }
            if signed_in && method != "get" {
                add_error(
                    op,
                    "403",
                    "`client_header_missing` (by the session cookie without `X-DTM-Client: dashboard`)",
                );
            }
            if json_body {
                add_error(op, "400", "`malformed_body` (the body is not JSON)");
                add_error(op, "415", "`malformed_body` (the body is not sent as `application/json`)");
                add_error(op, "422", "`malformed_body` (JSON of the wrong shape)");
            }
            if any_body {
                add_error(op, "413", "`body_too_large` (beyond HQ's body limit)");
            }
            if params {
                add_error(op, "400", "`malformed_request` (a path or query value of the wrong type)");
            }
            add_error(op, "414", "`uri_too_long` (a path and query beyond 8 KiB)");
            add_error(op, "500", "`internal` (nothing was changed; the detail is in HQ's log)");
            let mut codes: Vec<String> = Vec::new();
            if let Some(responses) = op["responses"].as_object() {
                for (status, answer) in responses {
                    if status.starts_with('2') {
                        continue;
                    }
                    for code in backticked(answer["description"].as_str().unwrap_or("")) {
                        if !codes.contains(&code) {
                            codes.push(code);
                        }
                    }
                }
            }
            let listed = codes.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
            let description = op["description"].as_str().unwrap_or("").trim().to_owned();
            let sep = if description.is_empty() { "" } else { "\n\n" };
            op["description"] = json!(format!("{description}{sep}Error codes: {listed}."));
        }
    }
}

/// Adds an error answer with the common body, or adds to the description of the one
/// the handler already documents for that status.
fn add_error(op: &mut Value, status: &str, description: &str) {
    let responses = &mut op["responses"];
    match responses.get_mut(status) {
        Some(answer) => {
            let said = answer["description"].as_str().unwrap_or("").to_owned();
            if !said.contains(description) {
                answer["description"] = json!(format!("{said}; {description}"));
            }
            if answer.get("content").is_none() {
                answer["content"] = error_content();
            }
        }
        None => responses[status] = json!({"description": description, "content": error_content()}),
    }
}

fn error_content() -> Value {
    json!({"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}})
}

/// The error codes a description names: its words in backticks that look like codes
/// (lower case and underscores), not headers or paths.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_answer_of_every_operation_has_the_common_body_and_its_codes_in_the_description() {
        let doc = document();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                operations += 1;
                for (status, answer) in op["responses"].as_object().unwrap() {
                    if status.starts_with('2') {
                        continue;
                    }
                    let schema = answer.pointer("/content/application~1json/schema/$ref").and_then(Value::as_str);
                    assert!(
                        matches!(
                            schema,
                            Some("#/components/schemas/ErrorBody" | "#/components/schemas/ImportRejected")
                        ),
                        "{method} {path} {status}: every non-2xx answer is an ErrorBody, clients parse it so: {schema:?}"
                    );
                    let codes = backticked(answer["description"].as_str().unwrap());
                    assert!(!codes.is_empty(), "{method} {path} {status} must name the error codes it can carry");
                }
                assert!(
                    op["description"].as_str().unwrap().contains("Error codes: `"),
                    "{method} {path}: a reader of one operation sees every code it can answer"
                );
            }
        }
        assert!(operations >= 33, "the document lost operations: {operations}");
        let rejected = &doc["components"]["schemas"]["ImportRejected"];
        assert_eq!(
            rejected.pointer("/properties/error/$ref"),
            Some(&json!("#/components/schemas/ApiError")),
            "an import's refusal is an ErrorBody with more in it"
        );
        assert_eq!(rejected["required"], json!(["error"]), "so an import's other refusals (plain ErrorBody) match it");
    }
}

#[cfg(test)]
mod messages {
    use super::*;
    use dtm_core::ErrorCode;

    /// The UI's messages, where `errorText` finds a code's text in the user's language.
    const I18N: &str = include_str!("../../../ui/src/lib/i18n.ts");

    /// Whether i18n.ts holds `'error.<code>'` with both an English and an Arabic text.
    fn translated(code: &str) -> bool {
        let Some(start) = I18N.find(&format!("'error.{code}':")) else { return false };
        let entry = &I18N[start..];
        let entry = &entry[..entry.find("},").unwrap_or(entry.len())];
        entry.contains("en:") && entry.contains("ar:")
    }

    #[test]
    fn every_error_code_the_document_names_is_one_of_the_enum() {
        let doc = document();
        let mut codes = std::collections::BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                for (status, answer) in op["responses"].as_object().unwrap() {
                    if !status.starts_with('2') {
                        codes.extend(backticked(answer["description"].as_str().unwrap_or_default()));
                    }
                }
            }
        }
        assert!(codes.len() >= 40, "the document names too few codes to be the whole list: {codes:?}");
        let strays: Vec<&String> = codes.iter().filter(|c| ErrorCode::parse(c) == ErrorCode::Unknown).collect();
        assert!(strays.is_empty(), "the document promises codes HQ cannot send (not in ErrorCode): {strays:?}");
        let schema = &doc["components"]["schemas"]["ErrorCode"]["enum"];
        let listed: Vec<&str> =
            schema.as_array().expect("ErrorCode is in the document").iter().filter_map(|v| v.as_str()).collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all, "the document's ApiError.code lists every code of the enum, in its order");
    }

    #[test]
    fn every_error_code_of_the_enum_has_an_english_and_an_arabic_message_in_the_ui() {
        let missing: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).filter(|c| !translated(c)).collect();
        assert!(
            missing.is_empty(),
            "an Arabic user must never see HQ's English message for a code: add `'error.<code>': {{ en, ar }}` \
             to ui/src/lib/i18n.ts for {missing:?}"
        );
    }
}
