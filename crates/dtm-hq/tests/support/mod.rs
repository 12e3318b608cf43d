//! HQ on the store the suite runs on (`DTM_TEST_STORE`: SQLite by default, or
//! PostgreSQL), for the in-process tests. The database lives as long as the
//! returned [`TestDatabase`].

pub use dtm_e2e::TestDatabase;
use dtm_hq::storage::HqStorage;
use std::sync::Arc;

/// HQ's storage on a fresh database of this test's own.
pub async fn open(dir: &std::path::Path) -> (Arc<dyn HqStorage>, TestDatabase) {
    let db = TestDatabase::new(dir);
    (reopen(&db).await, db)
}

/// HQ's storage on a database opened before (HQ started again on the same data).
pub async fn reopen(db: &TestDatabase) -> Arc<dyn HqStorage> {
    dtm_hq::open(&db.arg()).await.unwrap_or_else(|e| panic!("HQ's database opens: {e:#}"))
}
