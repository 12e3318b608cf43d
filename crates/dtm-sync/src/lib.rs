//! The sync protocol between devices and HQ, and the shapes the one UI sees.
//!
//! `wire` holds what travels between a device and HQ; `api` holds what the UI
//! receives from either backend (Tauri IPC or HQ's HTTP API). Both are frozen once
//! shipped: add fields with defaults, never rename or remove. With the `client`
//! feature, `client` speaks the protocol over HTTP and `device` joins it to the
//! device store for the field app and the `dtm` CLI. Without it this crate does no IO.
//! `retry` is the one retry schedule, a pure function both use.
//!
//! Each shape here is the one home of its description elsewhere: ts-rs derives the
//! UI's TypeScript from it and utoipa the schema in HQ's OpenAPI document.

pub mod accounts;
pub mod api;
pub mod retry;
pub mod rounds;
pub mod wire;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod device;

#[cfg(feature = "client")]
#[doc(hidden)]
pub use mimalloc::MiMalloc;

/// Makes mimalloc the allocator of a device program: the field app, the `dtm` CLI and
/// the benchmarks' devices. A device's sync builds and drops a map of sixty values
/// per assessment, and glibc's allocator took about a third of its CPU in a push.
/// HQ keeps the system allocator: under mimalloc its memory stayed at its peak after
/// 500 devices had synced (the README's benchmark notes).
#[cfg(feature = "client")]
#[macro_export]
macro_rules! device_allocator {
    () => {
        #[global_allocator]
        static DEVICE_ALLOCATOR: $crate::MiMalloc = $crate::MiMalloc;
    };
}
