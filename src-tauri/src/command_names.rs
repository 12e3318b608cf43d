// The app's own IPC commands, shared by build.rs (which generates an `allow-<name>`
// permission for each) and main.rs (whose tests check the capability grants these
// and nothing else). Keep in step with `generate_handler!` in main.rs.

/// Every command the window may call, as named in docs/api.md.
pub const COMMANDS: &[&str] = &[
    "session",
    "lock_state",
    "default_hq_url",
    "login",
    "enrol",
    "change_password",
    "logout",
    "list_rounds",
    "get_form",
    "list_assessments",
    "get_assessment",
    "set_field",
    "set_fields",
    "submit_assessment",
    "void_assessment",
    "sync_now",
    "sync_state",
    "rejected_ops",
    "sent_log",
];
