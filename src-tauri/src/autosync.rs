//! Background sync: every `TICK`, and soon after an edit, sync if there is something
//! to push or the last sync is stale. Failures (no signal, HQ down) are expected in the
//! field; `Device::sync` records them and the sync bar shows them, so they are only logged.

use dtm_sync::api::SyncState;
use dtm_sync::device::{Device, DeviceError};
use dtm_sync::retry::RetryPolicy;
use std::sync::Arc;
use std::time::Duration;
use tauri::{AppHandle, Emitter};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The event that carries a `SyncState` to the UI (docs/api.md).
pub const SYNC_STATE_EVENT: &str = "sync-state";
/// How often the loop looks at whether a sync is due.
const TICK: Duration = Duration::from_secs(30);
/// Sync even with nothing to push after this long, to pull HQ's changes.
const STALE_AFTER: Duration = Duration::from_secs(5 * 60);
/// After an edit, wait until edits have paused this long, so a burst goes up in one push...
const QUIET: Duration = Duration::from_secs(3);
/// ...but no longer than this while the enumerator keeps typing.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// How long the app's requests keep retrying an HQ that does not answer, with growing
/// jittered waits: a minute outlasts an HQ restart or a link that drops for a moment,
/// and nobody waits on a background sync. A sync the enumerator starts shows
/// "Syncing…" meanwhile and can be left running.
pub const RETRY: RetryPolicy = RetryPolicy::patient_for(Duration::from_secs(60));

/// Whether a background sync is due. `since_last` is the time since the loop last
/// tried, `None` if it never has.
pub fn is_due(logged_in: bool, pending: u32, since_last: Option<Duration>) -> bool {
    logged_in && (pending > 0 || since_last.is_none_or(|d| d >= STALE_AFTER))
}

/// The handle commands use to tell the UI and the loop about a local change.
#[derive(Clone)]
pub struct AutoSync {
    app: AppHandle,
    wake: Arc<Notify>,
}

impl AutoSync {
    pub fn new(app: AppHandle) -> Self {
        Self { app, wake: Arc::default() }
    }

    /// Starts the loop on Tauri's runtime; it runs until the app exits.
    pub fn spawn(&self, device: Arc<Device>) {
        tauri::async_runtime::spawn(run(self.app.clone(), device, self.wake.clone()));
    }

    /// After an edit or a submit: the sync bar hears the new pending count at once,
    /// and the loop wakes to push it once the enumerator pauses.
    pub fn local_change(&self, device: &Device) {
        match device.sync_state() {
            Ok(state) => self.emitter()(&state),
            Err(e) => tracing::warn!("cannot read the sync state: {e}"),
        }
        self.wake.notify_one();
    }

    /// The `on_state` callback for `Device::sync`: each step goes to the UI.
    pub fn emitter(&self) -> impl Fn(&SyncState) + Send + Sync + 'static {
        emitter(self.app.clone())
    }
}

async fn run(app: AppHandle, device: Arc<Device>, wake: Arc<Notify>) {
    let mut last_try: Option<Instant> = None;
    let mut first = true;
    loop {
        if !std::mem::take(&mut first) {
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = wake.notified() => {
                    let deadline = Instant::now() + MAX_WAIT;
                    while Instant::now() < deadline && tokio::time::timeout(QUIET, wake.notified()).await.is_ok() {}
                }
            }
        }
        // Nobody signed in (or the store still locked): nothing to sync, nothing to read.
        let due = match device.session().and_then(|session| match session {
            None => Ok(false),
            Some(_) => Ok(is_due(true, device.sync_state()?.pending, last_try.map(|t| t.elapsed()))),
        }) {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!("background sync cannot read the store: {e}");
                false
            }
        };
        if !due {
            continue;
        }
        last_try = Some(Instant::now());
        match device.sync(emitter(app.clone())).await {
            Ok(report) => tracing::debug!(?report, "background sync"),
            Err(DeviceError::SyncRunning) => {}
            Err(e) => tracing::info!("background sync failed: {e}"),
        }
    }
}

fn emitter(app: AppHandle) -> impl Fn(&SyncState) + Send + Sync + 'static {
    move |state| {
        if let Err(e) = app.emit(SYNC_STATE_EVENT, state) {
            tracing::warn!("cannot emit {SYNC_STATE_EVENT}: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_syncs_when_logged_out() {
        assert!(!is_due(false, 3, None), "there is no token to push with");
    }

    #[test]
    fn pending_edits_sync_at_once() {
        assert!(is_due(true, 1, Some(Duration::from_secs(1))), "an edit should reach HQ while there is signal");
    }

    #[test]
    fn an_idle_device_pulls_only_when_stale() {
        assert!(is_due(true, 0, None), "the first pass after start-up brings HQ's changes");
        assert!(!is_due(true, 0, Some(Duration::from_secs(60))), "a recent sync with nothing to push is enough");
        assert!(is_due(true, 0, Some(STALE_AFTER)), "after five minutes, pull what others changed");
    }
}
