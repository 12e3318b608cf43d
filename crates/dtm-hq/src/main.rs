//! `dtm-hq`: runs HQ.

use anyhow::Context;
use clap::{Parser, Subcommand};
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
        /// A SQLite file (the embedded default) or a postgres://user@host/db URL.
        #[arg(long, alias = "db")]
        database: Option<String>,
        /// The built web dashboard (ui/dist).
        #[arg(long)]
        ui_dir: Option<PathBuf>,
        /// Add the demo round R1 and demo accounts.
        #[arg(long)]
        demo: bool,
        /// The oldest field app version HQ syncs with; older apps are told to update
        /// and keep their unsent data (DTM_OLDEST_APP_VERSION).
        #[arg(long)]
        oldest_app_version: Option<String>,
        /// The newest field app version released; older apps say an update is
        /// available (DTM_NEWEST_APP_VERSION).
        #[arg(long)]
        newest_app_version: Option<String>,
    },
    /// Import a past round's figures from a CSV or XLSX with an HXL tag row (see the
    /// README). All or nothing: any error is listed by row and column and nothing is written.
    ImportRound {
        /// The HQ database: a SQLite file or a postgres:// URL.
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
        /// The round to import into (planned or closed), e.g. R53.
        #[arg(long)]
        round: String,
        /// Create the round first, as planned, with this title (its number comes from the code).
        #[arg(long)]
        create: Option<String>,
        /// Collection window for --create, as START..END (YYYY-MM-DD..YYYY-MM-DD).
        #[arg(long, default_value = "")]
        window: String,
        /// Add the P-codes the gazetteer does not hold (new muhallas), named by their
        /// rows, before the figures. Without it they are listed as errors.
        #[arg(long)]
        add_locations: bool,
        file: PathBuf,
    },
    /// The gazetteer: list, add, rename, retire or bring back locations. Devices
    /// receive each change with their next pull.
    Location {
        #[command(subcommand)]
        action: LocationAction,
    },
    /// Write an approved round as DTM Libya publishes it on HDX (Summary, Baladiya Main,
    /// Muhalla Main, Nationalities), with only what is public.
    Publish {
        /// The HQ database: a SQLite file or a postgres:// URL.
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
        /// The round, e.g. R55.
        round: String,
        /// Where to write the workbook.
        #[arg(long)]
        out: PathBuf,
    },
    /// Create or bring up to date the database's schema, then exit. `serve` does the
    /// same at start; run this first to upgrade PostgreSQL before starting new processes.
    Migrate {
        /// A SQLite file or a postgres:// URL.
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Move a whole HQ from its SQLite file to a new, empty PostgreSQL database,
    /// keeping ids, the epoch and change numbers (devices keep syncing from their
    /// cursors), then compare every table on both sides by rows and content hash.
    Copy {
        /// The SQLite file of the HQ to move (stop that HQ first).
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database, postgres://user@host/db.
        #[arg(long)]
        to: String,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Subcommand)]
enum LocationAction {
    /// Lists the locations under a P-code (or matching a name), retired ones marked.
    List {
        /// Under this P-code, e.g. a baladiya's LY021104.
        #[arg(long)]
        within: Option<String>,
        /// Part of a name in English or Arabic, or of a P-code.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Adds a location under a parent the gazetteer holds.
    Add {
        /// The new P-code, e.g. LY02110420 for a new muhalla of baladiya LY021104.
        pcode: String,
        #[arg(long)]
        name_en: String,
        #[arg(long)]
        name_ar: String,
        /// Urban or Rural (muhallas).
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        lat: Option<String>,
        #[arg(long, allow_hyphen_values = true)]
        lon: Option<String>,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Renames a location (either name, or both).
    Rename {
        pcode: String,
        #[arg(long)]
        name_en: Option<String>,
        #[arg(long)]
        name_ar: Option<String>,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Retires a location: kept with its past assessments, no longer offered for new ones.
    Retire {
        pcode: String,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Brings a retired location back into use.
    Restore {
        pcode: String,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Creates an admin account (scope: all of Libya), e.g. the first one of a new HQ.
    /// The password is asked for at a prompt, or read from the first line of standard
    /// input when that is not a terminal; never from a flag, where it would stay in the
    /// shell's history and the process list.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// The HQ database: a SQLite file or a postgres:// URL.
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Clears an account's failed logins and lockout, so its owner can log in again now.
    Unlock {
        username: String,
        /// The HQ database: a SQLite file or a postgres:// URL.
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Lists every account.
    List {
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Creates an account without a password: follow with `enrol` (a field device) or
    /// `reset-password` (the dashboard).
    Create {
        username: String,
        #[arg(long)]
        display_name: String,
        /// enumerator, supervisor or admin.
        #[arg(long)]
        role: String,
        /// P-codes of any level, comma-separated (LY for the whole country).
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        /// en or ar.
        #[arg(long, default_value = "en")]
        language: String,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Changes an account's role, scope, display name or language; devices learn of it
    /// at their next sync.
    Set {
        username: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        role: Option<String>,
        #[arg(long, value_delimiter = ',')]
        scope: Option<Vec<String>>,
        #[arg(long)]
        language: Option<String>,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Disables an account: its tokens stop working at once; nothing is deleted.
    Disable {
        username: String,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    Enable {
        username: String,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Prints a one-time password that must be changed at first login; the account's
    /// sessions end.
    ResetPassword {
        username: String,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
    },
    /// Prints a one-time enrolment code for the account's next device, with its link
    /// and QR code.
    Enrol {
        username: String,
        /// The address devices reach HQ at, which the QR code carries.
        #[arg(long, env = "DTM_PUBLIC_URL")]
        hq_url: String,
        #[arg(long, default_value_t = dtm_core::accounts::DEFAULT_ENROLMENT_HOURS)]
        hours: i64,
        #[arg(long, alias = "db", env = "DTM_DATABASE")]
        database: String,
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
    let (config, listen, database, ui_dir, demo, oldest_app_version, newest_app_version) = match Cli::parse().command {
        Command::Serve { config, listen, database, ui_dir, demo, oldest_app_version, newest_app_version } => {
            (config, listen, database, ui_dir, demo, oldest_app_version, newest_app_version)
        }
        Command::ImportRound { database, round, create, window, add_locations, file } => {
            return import_round(&database, &round, create, &window, add_locations, &file).await;
        }
        Command::Location { action } => return location_command(action).await,
        Command::Copy { from, to } => {
            let to_shown = dtm_hq::redact(&to);
            let checks = tokio::task::spawn_blocking(move || dtm_hq::copy::copy(&from, &to)).await??;
            for c in &checks {
                println!("{:<16} {:>9} rows  sha256 {}  same on both sides", c.table, c.rows, c.sha256);
            }
            println!("copied into {to_shown} and checked: every table has the same rows and content");
            return Ok(());
        }
        Command::Admin { action: AdminAction::Create { username, display_name, database } } => {
            return create_admin(&database, username, display_name).await;
        }
        Command::Publish { database, round, out } => {
            let storage = dtm_hq::open(&database).await?;
            let rounds = storage.rounds().await?;
            let round =
                rounds.iter().find(|r| r.code == round).with_context(|| format!("there is no round {round}"))?;
            let bytes = dtm_hq::routes::published_workbook(storage.as_ref(), round, &dtm_core::Scope::whole_country())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            storage
                .log_access("dtm-hq publish", "publish_dtm_workbook", &round.code, time::OffsetDateTime::now_utc())
                .await?;
            println!("wrote {} ({} bytes)", out.display(), bytes.len());
            return Ok(());
        }
        Command::Migrate { database } => {
            let storage = dtm_hq::open(&database).await?;
            println!("{} is at the current schema (epoch {})", dtm_hq::redact(&database), storage.epoch().await?);
            return Ok(());
        }
        Command::User { action } => return user_command(action).await,
    };
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
    if oldest_app_version.is_some() {
        settings.oldest_app_version = oldest_app_version;
    }
    if newest_app_version.is_some() {
        settings.newest_app_version = newest_app_version;
    }
    let storage: Arc<dyn HqStorage> = dtm_hq::open(&settings.database).await?;
    if demo {
        dtm_hq::demo::seed(storage.as_ref()).await.context("adding demo data")?;
        tracing::info!("demo data present: round R1 and accounts enumerator, supervisor, admin");
    }
    give_back_memory_when_idle();
    if storage.admin_count().await? == 0 {
        tracing::warn!(
            "this HQ has no admin account, so nobody can manage it: create the first one with \
             `dtm-hq admin create --username <name> --display-name <name> --database <this database>`"
        );
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
    // With each connection's address: login is rate-limited per client address.
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

/// Every few seconds, hands memory that glibc keeps after a burst of requests (500
/// devices syncing at once) back to the system, so HQ falls back towards its idle size
/// instead of holding its peak for good. Cheap when there is nothing to give back.
fn give_back_memory_when_idle() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            every.tick().await;
            // SAFETY: malloc_trim only releases free memory of glibc's own heaps.
            let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
        }
    });
}

/// `dtm-hq user …`: the People page's actions at HQ's command line, as an admin.
async fn user_command(action: UserAction) -> anyhow::Result<()> {
    use dtm_hq::storage::{Actor, StorageError};
    use dtm_sync::accounts::{AccountChange, NewAccount};
    let actor = Actor::command_line("dtm-hq user");
    let now = time::OffsetDateTime::now_utc;
    let role =
        |r: &str| dtm_core::Role::parse(r).ok_or_else(|| anyhow::anyhow!("a role is enumerator, supervisor or admin"));
    let language = |l: &str| dtm_core::Language::parse(l).ok_or_else(|| anyhow::anyhow!("a language is en or ar"));
    let coded = |e: StorageError| match e {
        StorageError::Conflict { code, message }
        | StorageError::Denied { code, message }
        | StorageError::Invalid { code, message }
        | StorageError::Gone { code, message } => anyhow::anyhow!("{message} [{code}]"),
        other => other.into(),
    };
    let show = |a: &dtm_sync::accounts::Account| {
        let state = match (&a.disabled_at, a.must_change_password) {
            (Some(at), _) => format!("disabled since {at}"),
            (None, true) => "waiting for a password".into(),
            (None, false) => "active".into(),
        };
        let places: Vec<String> = a.scope_places.iter().map(|p| format!("{} {}", p.pcode, p.name_en)).collect();
        format!("{:<20} {:<11} {:<40} {:<24} {}", a.username, a.role.as_str(), places.join(", "), state, a.display_name)
    };
    match action {
        UserAction::Unlock { username, database } => {
            dtm_hq::open(&database).await?.unlock_user(&username).await.map_err(coded)?;
            println!("{username} is unlocked");
        }
        UserAction::List { database } => {
            for a in dtm_hq::open(&database).await?.accounts(&actor).await? {
                println!("{}", show(&a));
            }
        }
        UserAction::Create { username, display_name, role: r, scope, language: l, database } => {
            let new = NewAccount { username, display_name, role: role(&r)?, scope, language: Some(language(&l)?) };
            let a = dtm_hq::open(&database).await?.create_account(&actor, new, now()).await.map_err(coded)?;
            println!("{}", show(&a));
            println!(
                "next: `dtm-hq user enrol {}` for a field device, or `reset-password` for the dashboard",
                a.username
            );
        }
        UserAction::Set { username, display_name, role: r, scope, language: l, database } => {
            let change = AccountChange {
                display_name,
                role: r.as_deref().map(role).transpose()?,
                scope,
                language: l.as_deref().map(language).transpose()?,
            };
            let storage = dtm_hq::open(&database).await?;
            let a = storage.change_account(&actor, &username, change, now()).await.map_err(coded)?;
            println!("{}", show(&a));
        }
        UserAction::Disable { username, database } => {
            let a = dtm_hq::open(&database).await?.set_disabled(&actor, &username, true, now()).await.map_err(coded)?;
            println!("{}", show(&a));
        }
        UserAction::Enable { username, database } => {
            let a =
                dtm_hq::open(&database).await?.set_disabled(&actor, &username, false, now()).await.map_err(coded)?;
            println!("{}", show(&a));
        }
        UserAction::ResetPassword { username, database } => {
            let storage = dtm_hq::open(&database).await?;
            let password = dtm_hq::auth::one_time_password();
            let hash = {
                let p = password.clone();
                tokio::task::spawn_blocking(move || dtm_hq::auth::hash_password(&p)).await?
            };
            storage.reset_password(&actor, &username, hash, now()).await.map_err(coded)?;
            println!("one-time password for {username}: {password}");
            println!("it works once: {username} sets a new password at the first login");
        }
        UserAction::Enrol { username, hq_url, hours, database } => {
            if !(1..=30 * 24).contains(&hours) {
                anyhow::bail!("an enrolment code lasts 1 hour to 30 days [bad_hours]");
            }
            let storage = dtm_hq::open(&database).await?;
            let (code, code_hash) = dtm_hq::auth::new_enrolment_code();
            let created_at = now();
            let expires_at = created_at + time::Duration::hours(hours);
            let enrolment = dtm_hq::storage::NewEnrolment {
                code_hash,
                username: username.clone(),
                created_by: actor.username.clone(),
                created_at,
                expires_at,
            };
            storage.issue_enrolment(&actor, enrolment).await.map_err(coded)?;
            let link = dtm_core::accounts::enrolment_link(&hq_url, &code);
            println!("{}", dtm_hq::auth::qr_text(&link)?);
            println!("enrolment code for {username}: {code}");
            println!("link (what the QR code carries): {link}");
            println!("works once, until {}", dtm_hq::store::iso(expires_at));
        }
    }
    Ok(())
}

/// `dtm-hq admin create`: the first admin of a new HQ, or another one.
async fn create_admin(database: &str, username: String, display_name: String) -> anyhow::Result<()> {
    use dtm_core::text;
    use std::io::IsTerminal;
    text::check_username(&username).map_err(|e| anyhow::anyhow!("{e} [{}]", e.code()))?;
    text::check(text::TextKind::Name, "display name", &display_name)?;
    if display_name.trim().is_empty() {
        anyhow::bail!("a display name is needed: the name people see in reviews and the audit log");
    }
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {username}: "))?;
        let again = rpassword::prompt_password("The same password again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing was created");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    dtm_core::accounts::check_new_password(&username, &password).map_err(|e| anyhow::anyhow!("{e} [{}]", e.code()))?;
    let storage = dtm_hq::open(database).await?;
    let password_hash = tokio::task::spawn_blocking(move || dtm_hq::auth::hash_password(&password)).await?;
    let user = dtm_hq::storage::NewUser {
        username: username.clone(),
        display_name,
        role: dtm_core::Role::Admin,
        scope: vec!["LY".into()],
        password_hash,
        language: dtm_core::Language::En,
        must_change_password: false,
        created_by: Some("dtm-hq admin create".into()),
    };
    match storage.create_user(user, "dtm-hq admin create", time::OffsetDateTime::now_utc()).await {
        Ok(()) => {
            println!("admin {username} created; sign in to the dashboard with this username and password");
            Ok(())
        }
        Err(dtm_hq::storage::StorageError::Conflict { code, message }) => anyhow::bail!("{message} [{code}]"),
        Err(e) => Err(e.into()),
    }
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

async fn location_command(action: LocationAction) -> anyhow::Result<()> {
    use dtm_core::{LocationChange, LocationInput};
    use dtm_hq::storage::Actor;
    let now = time::OffsetDateTime::now_utc();
    let actor = Actor::command_line("dtm-hq location");
    let show = |l: &dtm_core::Location| {
        let kind = l.kind.as_deref().unwrap_or("");
        let point = match (&l.lat, &l.lon) {
            (Some(lat), Some(lon)) => format!("{lat},{lon}"),
            _ => String::new(),
        };
        let retired = if l.retired { "retired" } else { "" };
        println!("{}\t{}\t{}\t{kind}\t{point}\t{retired}", l.pcode, l.name_en, l.name_ar);
    };
    let (database, changed) = match action {
        LocationAction::List { within, search, database } => {
            let storage = dtm_hq::open(&database).await?;
            let places = storage.gazetteer().await?;
            let within = within.map(|w| dtm_core::Pcode::parse(&w)).transpose().map_err(|e| anyhow::anyhow!("{e}"))?;
            let found: Vec<&dtm_core::Location> = match search.as_deref() {
                Some(q) => places.search(q, None, usize::MAX),
                None => places.all().collect(),
            };
            for l in found.into_iter().filter(|l| within.as_ref().is_none_or(|w| l.pcode.is_within(w))) {
                show(l);
            }
            return Ok(());
        }
        LocationAction::Add { pcode, name_en, name_ar, kind, lat, lon, database } => {
            let storage = dtm_hq::open(&database).await?;
            let new = LocationInput { pcode, name_en, name_ar, kind, lat, lon };
            (database, storage.add_location(&actor, new, now).await)
        }
        LocationAction::Rename { pcode, name_en, name_ar, database } => {
            let storage = dtm_hq::open(&database).await?;
            let change = LocationChange { name_en, name_ar, ..Default::default() };
            (database, storage.change_location(&actor, &pcode, change, now).await)
        }
        LocationAction::Retire { pcode, database } => {
            let storage = dtm_hq::open(&database).await?;
            let change = LocationChange { retired: Some(true), ..Default::default() };
            (database, storage.change_location(&actor, &pcode, change, now).await)
        }
        LocationAction::Restore { pcode, database } => {
            let storage = dtm_hq::open(&database).await?;
            let change = LocationChange { retired: Some(false), ..Default::default() };
            (database, storage.change_location(&actor, &pcode, change, now).await)
        }
    };
    match changed {
        Ok(l) => {
            show(&l);
            println!("recorded in {}; devices receive it with their next pull", dtm_hq::redact(&database));
            Ok(())
        }
        Err(e) => match dtm_hq::error::AppError::from(e) {
            dtm_hq::error::AppError::Client { code, message, .. } => anyhow::bail!("{message} [{code}]"),
            other => anyhow::bail!("{other}"),
        },
    }
}

async fn import_round(
    database: &str,
    code: &str,
    create: Option<String>,
    window: &str,
    add_locations: bool,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    use dtm_core::{Round, RoundStatus};
    let storage = dtm_hq::open(database).await?;
    let now = time::OffsetDateTime::now_utc();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let rounds = storage.rounds().await?;
    let created;
    let target = match create {
        Some(title) => {
            let number: u32 =
                code.strip_prefix('R').and_then(|n| n.parse().ok()).context("round codes look like R53")?;
            let (start, end) = window.split_once("..").unwrap_or((window, window));
            created = Round {
                code: code.to_owned(),
                number,
                title,
                title_ar: String::new(),
                window_start: start.to_owned(),
                window_end: end.to_owned(),
                status: RoundStatus::Planned,
                // The newest form versions: a round imported today is read with them.
                forms: ["baladiya", "muhalla"]
                    .iter()
                    .filter_map(|f| storage.forms().latest(f).map(|d| (d.id.clone(), d.version)))
                    .collect(),
            };
            dtm_hq::routes::ImportTarget::Create(&created)
        }
        None => dtm_hq::routes::ImportTarget::Existing(
            rounds.iter().find(|r| r.code == code).with_context(|| format!("there is no round {code}"))?,
        ),
    };
    match dtm_hq::routes::import_file(storage.as_ref(), target, &bytes, add_locations, "dtm-hq import-round", now).await
    {
        Ok(Ok(report)) => {
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Ok(Err(errors)) => {
            for e in &errors {
                eprintln!("row {} column {} {}: {} [{}]", e.row, e.column, e.tag, e.message, e.code);
            }
            anyhow::bail!("{} error(s); nothing was imported", errors.len())
        }
        Err(e) => anyhow::bail!("{e}"),
    }
}
