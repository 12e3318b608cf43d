//! Layered settings: built-in defaults, then a TOML file, then `DTM_`-prefixed
//! environment variables, then command-line flags.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on. Port 0 picks a free port; the chosen address is printed.
    pub listen: SocketAddr,
    /// A SQLite file path (the embedded default). `postgres://` URLs are for the
    /// PostgreSQL backend.
    pub database: String,
    /// The built web dashboard (`ui/dist`).
    pub ui_dir: PathBuf,
    /// Largest request body accepted, after decompression.
    pub max_body_bytes: usize,
    /// How long a device token lasts.
    pub token_days: i64,
    /// The address devices reach HQ at, e.g. `https://hq.dtm-libya.org`, as enrolment
    /// QR codes carry it. Unset: the address the dashboard was opened at.
    pub public_url: Option<String>,
    /// How long an enrolment code works.
    pub enrolment_hours: i64,
    /// The oldest field app HQ syncs with: an older one is answered `update_required`
    /// (426) and keeps its outbox until it is updated. Unset: any.
    pub oldest_app_version: Option<String>,
    /// The newest field app released: devices on an older one are told an update is
    /// available. Unset: they are told nothing.
    pub newest_app_version: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("a valid address"),
            database: "dtm-hq.sqlite3".into(),
            ui_dir: PathBuf::from("ui/dist"),
            max_body_bytes: 8 * 1024 * 1024,
            token_days: 90,
            public_url: None,
            enrolment_hours: dtm_core::accounts::DEFAULT_ENROLMENT_HOURS,
            oldest_app_version: None,
            newest_app_version: None,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A database URL can carry a password.
        let database = crate::redact(&self.database);
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database", &database)
            .field("ui_dir", &self.ui_dir)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("token_days", &self.token_days)
            .field("public_url", &self.public_url)
            .field("enrolment_hours", &self.enrolment_hours)
            .field("oldest_app_version", &self.oldest_app_version)
            .field("newest_app_version", &self.newest_app_version)
            .finish()
    }
}

impl Settings {
    /// Defaults, overlaid by the TOML file if given, then by `DTM_*` variables.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        use anyhow::Context;
        let mut s = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Settings::default(),
        };
        if let Ok(v) = std::env::var("DTM_LISTEN") {
            s.listen = v.parse().context("DTM_LISTEN is not an address like 127.0.0.1:8080")?;
        }
        if let Ok(v) = std::env::var("DTM_DATABASE") {
            s.database = v;
        }
        if let Ok(v) = std::env::var("DTM_UI_DIR") {
            s.ui_dir = v.into();
        }
        if let Ok(v) = std::env::var("DTM_MAX_BODY_BYTES") {
            s.max_body_bytes = v.parse().context("DTM_MAX_BODY_BYTES is not a number")?;
        }
        if let Ok(v) = std::env::var("DTM_PUBLIC_URL") {
            s.public_url = Some(v);
        }
        if let Ok(v) = std::env::var("DTM_ENROLMENT_HOURS") {
            s.enrolment_hours = v.parse().context("DTM_ENROLMENT_HOURS is not a number")?;
        }
        if let Ok(v) = std::env::var("DTM_OLDEST_APP_VERSION") {
            s.oldest_app_version = Some(v).filter(|v| !v.is_empty());
        }
        if let Ok(v) = std::env::var("DTM_NEWEST_APP_VERSION") {
            s.newest_app_version = Some(v).filter(|v| !v.is_empty());
        }
        if let Ok(v) = std::env::var("DTM_TOKEN_DAYS") {
            s.token_days = v.parse().context("DTM_TOKEN_DAYS is not a number")?;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_database_password() {
        let s = Settings { database: "postgres://hq:secret@db/dtm".into(), ..Settings::default() };
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "secrets must not reach logs: {shown}");
    }
}
