//! The dtm-field HQ server: accounts and devices, the sync endpoints, review, and
//! the web dashboard (the same `ui/` as the field app, over HTTP).
//!
//! Every endpoint checks role and scope here, on the server; the UI hiding a button
//! is not a check. HQ keeps nothing in memory that matters: all state is in the
//! storage behind [`storage::HqStorage`], so several HQ processes can share one
//! database. Decisions are dtm-core's; this crate does HTTP and storage around them.

pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod headers;
pub mod login;
pub mod login_guard;
pub mod routes;
pub mod session;
pub mod spreadsheet;
pub mod sqlite;
pub mod storage;

pub use config::Settings;
pub use routes::{router, AppState};
