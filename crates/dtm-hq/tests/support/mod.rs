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

/// The demo HQ on a fresh database of this test's own, served on a loopback port: its
/// URL, the database, and the server's task.
#[allow(dead_code)] // not every test crate serves HQ over HTTP
pub async fn serve_demo(dir: &std::path::Path) -> (String, TestDatabase, tokio::task::JoinHandle<std::io::Result<()>>) {
    let (storage, db) = open(dir).await;
    dtm_hq::demo::seed(storage.as_ref()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = dtm_hq::router(dtm_hq::AppState::new(storage, dtm_hq::Settings::default()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    (url, db, server)
}
