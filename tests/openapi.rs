//! The API contract: a real HQ serves its OpenAPI document, and the document names
//! every route of HQ's router with its methods, no more and no fewer.
//!
//! The router's routes are read from the source of `router()` itself (every `.route(`
//! in `crates/dtm-hq/src/routes.rs`), so a route added there without its
//! `#[utoipa::path]` fails here, and so does a documented operation HQ does not route.

use dtm_e2e::Hq;
use serde_json::Value;
use std::collections::BTreeSet;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const BASE: &str = "/api/v1";

/// (method, path) of every `.route(path, method_router)` in routes.rs.
fn routed() -> BTreeSet<(String, String)> {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/dtm-hq/src/routes.rs");
    let source = std::fs::read_to_string(file).expect("routes.rs is readable from the tests");
    let mut found = BTreeSet::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find(".route(") {
        let call = &rest[at + ".route(".len()..];
        let end = closing_paren(call).unwrap_or_else(|| panic!("unbalanced `.route(` in routes.rs: {call:.80}"));
        let args = &call[..end];
        let path =
            args.trim_start().strip_prefix('"').and_then(|p| p.split_once('"')).map(|(p, _)| p).unwrap_or_else(|| {
                panic!("a `.route(` whose path is not a literal: {args:.80}; the test cannot read it")
            });
        let methods: Vec<&str> = METHODS.into_iter().filter(|m| calls(args, m)).collect();
        assert!(!methods.is_empty(), "`.route(\"{path}\", …)` names no method this test recognises: {args}");
        for m in methods {
            found.insert((m.to_owned(), path.to_owned()));
        }
        rest = &call[end..];
    }
    // Routes reached another way than `.route(` would escape this test.
    for escape in [".nest(\"/api", ".merge(", ".route_service("] {
        let uses = source.matches(escape).count();
        let allowed = usize::from(escape == ".nest(\"/api");
        assert_eq!(uses, allowed, "routes.rs adds routes with `{escape}`; teach tests/openapi.rs to read them");
    }
    found
}

/// The index of the `)` closing a call whose `(` was just read, skipping string literals.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string && depth == 0 => return Some(i),
            ')' if !in_string => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Whether `args` calls the method router `method(…)` (as `get(`, `.post(`, `routing::patch(`).
fn calls(args: &str, method: &str) -> bool {
    let needle = format!("{method}(");
    args.match_indices(&needle).any(|(i, _)| {
        let before = args[..i].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// (method, path under /api/v1) of every operation the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("the document has paths") {
        let relative = path.strip_prefix(BASE).unwrap_or_else(|| panic!("{path} is outside {BASE}, where HQ's API is"));
        for m in METHODS {
            if item.get(m).is_some() {
                found.insert((m.to_owned(), relative.to_owned()));
            }
        }
    }
    found
}

#[test]
fn reading_the_router_finds_its_routes_with_every_method() {
    let routes = routed();
    assert!(routes.len() >= 33, "routes.rs has at least 33 routes; the reader found {}: {routes:?}", routes.len());
    for expected in [("get", "/rounds"), ("post", "/rounds"), ("patch", "/users/{username}"), ("get", "/openapi.json")]
    {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(routes.contains(&expected), "the reader must see {expected:?}; it found {routes:?}");
    }
}

#[test]
fn hq_serves_an_openapi_3_document_naming_every_route_of_its_router() {
    let hq = Hq::start_demo();
    let (status, doc) = hq.get("/api/v1/openapi.json", None);
    assert_eq!(status, 200, "the contract is public, like the login it describes: {doc}");
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "an OpenAPI 3 document, not {version:?}");

    let routed = routed();
    let documented = documented(&doc);
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    assert!(undocumented.is_empty(), "routes HQ serves that the contract does not describe: {undocumented:?}");
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(unrouted.is_empty(), "operations the contract describes that HQ does not route: {unrouted:?}");
}

#[test]
fn every_operation_but_login_enrolment_and_the_contract_itself_needs_a_session() {
    let hq = Hq::start_demo();
    let (_, doc) = hq.get("/api/v1/openapi.json", None);
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer", "devices send a bearer token");
    assert_eq!(schemes["cookie"]["in"], "cookie", "the dashboard's session is a cookie");
    assert_eq!(schemes["cookie"]["name"], "dtm_session");

    let mut anonymous = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let security = op["security"].as_array().cloned().unwrap_or_default();
            if security.is_empty() {
                anonymous.insert(format!("{} {path}", m.to_uppercase()));
                continue;
            }
            for requirement in &security {
                let names: Vec<&String> = requirement.as_object().unwrap().keys().collect();
                assert!(
                    names.iter().all(|n| schemes.get(n.as_str()).is_some()),
                    "{m} {path} names a security scheme the document does not define: {names:?}"
                );
            }
            assert_eq!(
                op["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorBody",
                "{m} {path} needs a session, so it can answer 401 in the common error format"
            );
        }
    }
    let expected: BTreeSet<String> =
        ["POST /api/v1/auth/login", "POST /api/v1/enrol", "GET /api/v1/openapi.json"].map(String::from).into();
    assert_eq!(anonymous, expected, "only these may be called without a session; anything else is a hole");

    // What the anonymous caller sees matches: HQ refuses the rest without a token.
    let (status, body) = hq.get("/api/v1/rounds", None);
    assert_eq!(status, 401, "the document says /rounds needs a session: {body}");
}

#[test]
fn the_documented_shapes_are_the_ones_hq_answers() {
    let hq = Hq::start_demo();
    let (_, doc) = hq.get("/api/v1/openapi.json", None);
    let schemas = &doc["components"]["schemas"];
    // One home for each shape: these come from the derives on dtm-sync's and dtm-core's types.
    for name in [
        "ErrorBody",
        "ApiError",
        "LoginRequest",
        "LoginResponse",
        "User",
        "Role",
        "RoundInfo",
        "FormDef",
        "AssessmentDetail",
        "AssessmentStatus",
        "PushRequest",
        "PullResponse",
        "Conflict",
        "Account",
        "Pcode",
    ] {
        assert!(schemas.get(name).is_some(), "the document lacks the schema {name}");
    }
    let roles = &schemas["Role"]["enum"];
    assert_eq!(roles, &serde_json::json!(["enumerator", "supervisor", "admin"]), "roles as the wire spells them");

    let export = &doc["paths"]["/api/v1/rounds/{round}/export.csv"]["get"]["responses"]["200"]["content"];
    assert!(export.get("text/csv").is_some(), "the export is CSV, not JSON: {export}");
    let import = &doc["paths"]["/api/v1/rounds/{round}/import"]["post"]["requestBody"]["content"];
    for media in ["text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] {
        assert!(import.get(media).is_some(), "an import reads {media}: {import}");
    }

    let token = hq.token("admin", "admin-demo");
    let (status, me) = hq.get("/api/v1/me", Some(&token));
    assert_eq!(status, 200);
    // `Me` is `User` flattened with `must_change_password`: an allOf of the two, or one object.
    let me_schema = &schemas["Me"];
    let parts: Vec<&Value> = match me_schema["allOf"].as_array() {
        Some(all) => all.iter().collect(),
        None => vec![me_schema],
    };
    let mut documented: BTreeSet<&str> = BTreeSet::new();
    for part in parts {
        let part = match part["$ref"].as_str() {
            Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
            None => part,
        };
        documented
            .extend(part["properties"].as_object().expect("a part of Me has properties").keys().map(String::as_str));
    }
    let answered: BTreeSet<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(documented, answered, "the Me schema and /me's answer have the same fields");
    assert!(
        answered.contains("must_change_password"),
        "a reloaded dashboard learns a pending password change from /me"
    );
}
