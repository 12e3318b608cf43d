//! dtm-field, the field app: a window showing the one `ui/`, IPC commands over
//! `dtm_sync::device::Device`, and a background sync loop. It owns start-up
//! (where the store lives, which window may call what) and nothing else: every
//! decision about assessments, the outbox and sync lives in the library crates,
//! so the `dtm` CLI behaves the same. It must never grow logic of its own.
//!
//! The store is SQLCipher-encrypted (`device.sqlite3`, its key sealed per account in
//! `device.sqlite3.key`): nothing is readable until an account's password opens it.
//!
//! Environment: `DTM_DATA_DIR` (store folder; default the OS app-data folder),
//! `DTM_AUTO_SYNC=off` (no background sync, for tests), `DTM_LOG` (tracing filter),
//! `WEBKIT_DISABLE_COMPOSITING_MODE` (set to 1 unless given: see below).

// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod autosync;
#[cfg(test)]
mod command_names;
mod commands;

use anyhow::Context;
use autosync::AutoSync;
use dtm_sync::device::{Cost, Device};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::Manager;

dtm_sync::device_allocator!();

/// The device store's file name inside the data folder.
const STORE_FILE: &str = "device.sqlite3";

fn data_dir(app: &tauri::App) -> anyhow::Result<PathBuf> {
    match std::env::var_os("DTM_DATA_DIR") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => app.path().app_data_dir().context("the OS has no app-data folder for this user"),
    }
}

fn auto_sync_enabled() -> bool {
    !matches!(std::env::var("DTM_AUTO_SYNC").as_deref(), Ok("off" | "0" | "false"))
}

fn setup(app: &mut tauri::App) -> anyhow::Result<()> {
    let path = data_dir(app)?.join(STORE_FILE);
    // Encrypted at rest, and locked until an account's password opens it.
    let device = Arc::new(
        Device::open_encrypted(&path, Cost::FIELD)
            .with_context(|| format!("cannot open the device store {}", path.display()))?
            .with_retry(autosync::RETRY),
    );
    tracing::info!("device store: {}", path.display());
    let auto = AutoSync::new(app.handle().clone());
    if auto_sync_enabled() {
        auto.spawn(device.clone());
    } else {
        tracing::info!("background sync is off (DTM_AUTO_SYNC)");
    }
    app.manage(device);
    app.manage(auto);
    Ok(())
}

/// WebKitGTK composites pages with OpenGL unless told not to: on a laptop without a
/// GPU driver that is Mesa's software renderer, and either way GPU buffers held in the
/// web process. The field app is forms and lists (no WebGL, no map, no animation), so
/// it draws without compositing: about 90 MiB less across its processes, measured by
/// `scripts/tauri-smoke/measure.sh`. A value already in the environment is left alone.
/// Runs first in `main`, before any thread exists.
fn draw_without_gpu_compositing() {
    if cfg!(target_os = "linux") && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

fn main() -> anyhow::Result<()> {
    draw_without_gpu_compositing();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DTM_LOG").unwrap_or_else(|_| "info,dtm_field=debug".into()),
        )
        .init();
    tauri::Builder::default()
        .setup(|app| Ok(setup(app)?))
        .invoke_handler(tauri::generate_handler![
            commands::session,
            commands::lock_state,
            commands::login,
            commands::enrol,
            commands::change_password,
            commands::logout,
            commands::list_rounds,
            commands::get_form,
            commands::list_assessments,
            commands::get_assessment,
            commands::set_field,
            commands::set_fields,
            commands::submit_assessment,
            commands::default_hq_url,
            commands::void_assessment,
            commands::sync_now,
            commands::sync_state,
            commands::rejected_ops,
            commands::sent_log,
        ])
        .run(tauri::generate_context!())
        .context("the field app stopped with an error")
}

#[cfg(test)]
mod tests {
    use super::command_names::COMMANDS;

    #[test]
    fn the_window_may_call_only_the_apps_commands_and_listen() {
        let cap: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).expect("the capability is JSON");
        let mut granted: Vec<String> =
            cap["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect();
        granted.sort();
        let mut expected: Vec<String> = COMMANDS.iter().map(|c| format!("allow-{}", c.replace('_', "-"))).collect();
        expected.extend(["core:event:allow-listen".to_owned(), "core:event:allow-unlisten".to_owned()]);
        expected.sort();
        assert_eq!(granted, expected, "least privilege: each app command, `listen` for sync-state, nothing more");
    }
}
