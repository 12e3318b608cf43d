//! Regressions for what fuzzing HQ's API against its contract (`scripts/api-fuzz.sh`)
//! found, each test named for the bug.

use dtm_e2e::Hq;
use serde_json::json;

/// The fuzz, as admin, reset the admin's own password: HQ answered a one-time password
/// and ended the admin's sessions. So a session alone (a stolen token too) could set
/// its own account's password without the current one, which `/me/password` asks for,
/// and keep the account. An enrolment code for one's own account did the same.
#[test]
fn a_session_cannot_reset_or_enrol_its_own_account() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");

    let (status, body) = hq.post("/api/v1/users/admin/password-reset", Some(&admin), &json!({}));
    assert_eq!(status, 403, "one's own password is changed with the current one, never reset: {body}");
    assert_eq!(body["error"]["code"], "own_account");
    let (status, body) = hq.post("/api/v1/users/admin/enrolments", Some(&admin), &json!({}));
    assert_eq!(status, 403, "an enrolment code sets a password too: {body}");
    assert_eq!(body["error"]["code"], "own_account");

    let (status, _) = hq.get("/api/v1/me", Some(&admin));
    assert_eq!(status, 200, "the refused reset ended no session");
    let (status, otp) = hq.post("/api/v1/users/supervisor/password-reset", Some(&admin), &json!({}));
    assert_eq!(status, 200, "an admin still resets other accounts: {otp}");
    assert_eq!(otp["username"], "supervisor");
}
