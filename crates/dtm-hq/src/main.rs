//! `dtm-hq`: runs HQ.

use anyhow::Context;
use clap::{Parser, Subcommand};
use dtm_hq::sqlite::SqliteHq;
use dtm_hq::storage::HqStorage;
use dtm_hq::{router, AppState, Settings};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "dtm-hq", version, about = "dtm-field HQ: sync, review and the web dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the web dashboard.
    Serve {
        /// A TOML settings file; DTM_* variables and flags override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// SQLite file (the embedded default).
        #[arg(long, alias = "db")]
        database: Option<String>,
        /// The built web dashboard (ui/dist).
        #[arg(long)]
        ui_dir: Option<PathBuf>,
        /// Add the demo round R1 and demo accounts.
        #[arg(long)]
        demo: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DTM_LOG")
                .unwrap_or_else(|_| "dtm_hq=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve { config, listen, database, ui_dir, demo } = Cli::parse().command;
    let mut settings = Settings::load(config.as_deref())?;
    if let Some(l) = listen {
        settings.listen = l;
    }
    if let Some(d) = database {
        settings.database = d;
    }
    if let Some(u) = ui_dir {
        settings.ui_dir = u;
    }
    if settings.database.starts_with("postgres://") || settings.database.starts_with("postgresql://") {
        anyhow::bail!("the PostgreSQL backend is not built yet; use a SQLite file path");
    }
    let storage = SqliteHq::open(std::path::Path::new(&settings.database))
        .with_context(|| format!("opening the HQ database {}", settings.database))?;
    let storage: Arc<dyn HqStorage> = Arc::new(storage);
    if demo {
        dtm_hq::demo::seed(storage.as_ref()).await.context("adding demo data")?;
        tracing::info!("demo data present: round R1 and accounts enumerator, supervisor, admin");
    }
    if !settings.ui_dir.join("index.html").exists() {
        tracing::warn!(dir = %settings.ui_dir.display(), "the web dashboard is not built here; run `npm run build` in ui/");
    }
    tracing::info!(?settings, "starting");
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find the port.
    println!("dtm-hq listening on http://{addr}");
    std::io::stdout().flush()?;
    let app = router(AppState::new(storage, settings));
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
