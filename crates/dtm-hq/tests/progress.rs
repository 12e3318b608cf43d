//! A push tells its listener (the field app's progress bar) how far it is: never more
//! often than `PROGRESS_EVERY`, since each telling counts the outbox, and always at the
//! end of the push, so the bar never stops short.

mod support;

use dtm_core::{AssessmentKey, Gazetteer};
use dtm_sync::api::Progress;
use dtm_sync::device::{Device, PROGRESS_EVERY};
use serde_json::json;
use std::sync::Mutex;

#[test]
fn a_push_tells_its_progress_at_most_every_quarter_second_and_always_at_the_end() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (url, _db, _server) = support::serve_demo(dir.path()).await;

        let device = Device::open(&dir.path().join("device.sqlite3")).unwrap();
        device.login(&url, "admin", "admin-demo").await.unwrap();
        // 30 saves of each of 100 baladiyas: 3,000 operations, several push batches.
        let baladiyas: Vec<_> = Gazetteer::libya().at_level(3).take(100).map(|l| l.pcode.clone()).collect();
        for save in 0..30 {
            for (i, pcode) in baladiyas.iter().enumerate() {
                let key = AssessmentKey::new("R1", "baladiya", pcode.clone());
                device.set_field(&key, "idp_hh", json!(save * 1_000 + i)).unwrap();
            }
        }
        let told: Mutex<Vec<Option<Progress>>> = Mutex::new(Vec::new());
        let started = std::time::Instant::now();
        let report = device.sync_parts(true, false, |s| told.lock().unwrap().push(s.progress.clone())).await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(report.applied, 3_000, "every save is one operation, applied once");
        let told = told.into_inner().unwrap();
        // The sync's own last telling clears the bar; the one before it is the push's end.
        let progress: Vec<&Progress> = told.iter().flatten().collect();
        assert_eq!(
            progress.last(),
            Some(&&Progress { done: 3_000, total: 3_000 }),
            "the push must tell its end, or the progress bar would stop short: {told:?}"
        );
        assert_eq!(told.last(), Some(&None), "once the sync is over, the bar goes: {told:?}");
        // The start, the push's end, the sync's end, and one per PROGRESS_EVERY between.
        let bound = 3 + (elapsed.as_millis() / PROGRESS_EVERY.as_millis()) as usize;
        assert!(
            told.len() <= bound,
            "{} tellings in {elapsed:?}: each counts the outbox, so at most one per {PROGRESS_EVERY:?}",
            told.len()
        );
    });
}
