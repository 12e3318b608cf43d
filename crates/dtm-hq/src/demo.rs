//! Demo data, added only when asked for (`dtm-hq serve --demo`): an open round R1
//! and three accounts whose passwords are printed in the README.

use crate::auth::hash_password;
use crate::storage::{HqStorage, NewUser};
use dtm_core::{Role, Round, RoundStatus};

/// (username, display name, role, scope, password)
pub const ACCOUNTS: &[(&str, &str, Role, &str, &str)] = &[
    ("enumerator", "Demo enumerator (Tripoli)", Role::Enumerator, "LY0211", "enumerator-demo"),
    ("supervisor", "Demo supervisor (West)", Role::Supervisor, "LY02", "supervisor-demo"),
    ("admin", "Demo admin", Role::Admin, "LY", "admin-demo"),
];

pub fn round_r1() -> Round {
    Round {
        code: "R1".into(),
        number: 1,
        title: "Round 1 (demo)".into(),
        title_ar: "الجولة 1 (تجريبية)".into(),
        window_start: "2026-11-01".into(),
        window_end: "2026-12-15".into(),
        status: RoundStatus::Open,
        forms: vec![("baladiya".into(), 2), ("muhalla".into(), 1)],
    }
}

pub async fn seed(storage: &dyn HqStorage) -> anyhow::Result<()> {
    storage.put_round(&round_r1()).await?;
    for (username, display_name, role, scope, password) in ACCOUNTS {
        if storage.user_for_login(username).await?.is_some() {
            continue;
        }
        storage
            .put_user(NewUser {
                username: (*username).into(),
                display_name: (*display_name).into(),
                role: *role,
                scope: vec![(*scope).into()],
                password_hash: hash_password(password),
                language: dtm_core::Language::En,
                must_change_password: false,
                created_by: Some("demo".into()),
            })
            .await?;
    }
    Ok(())
}
