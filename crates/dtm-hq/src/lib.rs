//! The dtm-field HQ server: accounts and devices, the sync endpoints, review, and
//! the web dashboard (the same `ui/` as the field app, over HTTP).
//!
//! Every endpoint checks role and scope here, on the server; the UI hiding a button
//! is not a check. HQ keeps nothing in memory that matters: all state is in the
//! storage behind [`storage::HqStorage`], so several HQ processes can share one
//! database. Decisions are dtm-core's; this crate does HTTP and storage around them.

pub mod auth;
pub mod config;
pub mod copy;
pub mod demo;
pub mod error;
pub mod headers;
pub mod login;
pub mod login_guard;
pub mod openapi;
pub mod people;
pub mod places;
pub mod postgres;
pub mod routes;
pub mod service;
pub mod session;
pub mod spreadsheet;
pub mod sqlite;
pub mod storage;
pub mod store;

pub use config::Settings;
pub use routes::{router, AppState};

/// Opens HQ's database: PostgreSQL for a `postgres://` URL, otherwise the SQLite file
/// at that path. Either is created or migrated to the current schema first.
pub async fn open(database: &str) -> anyhow::Result<std::sync::Arc<dyn storage::HqStorage>> {
    use anyhow::Context;
    let database = database.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<std::sync::Arc<dyn storage::HqStorage>> {
        if postgres::is_url(&database) {
            let hq = postgres::PostgresHq::connect(&database)
                .with_context(|| format!("opening the HQ database {}", redact(&database)))?;
            Ok(std::sync::Arc::new(hq))
        } else {
            let hq = sqlite::SqliteHq::open(std::path::Path::new(&database))
                .with_context(|| format!("opening the HQ database {database}"))?;
            Ok(std::sync::Arc::new(hq))
        }
    })
    .await?
}

/// A database setting fit for logs: a URL's password is hidden.
pub fn redact(database: &str) -> String {
    match database.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((user, host)) => {
                let user = user.split_once(':').map_or(user, |(u, _)| u);
                format!("{scheme}://{user}:***@{host}")
            }
            None => database.to_owned(),
        },
        None => database.to_owned(),
    }
}
