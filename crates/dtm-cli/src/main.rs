//! `dtm`: the enumerator's part of dtm-field without a window — log in, list, set
//! field values, submit, sync — against a device store, for scripts and tests.
//! A thin shell over `dtm_sync::device::Device`, exactly as the desktop app is.

use clap::{Parser, Subcommand};
use dtm_core::{AssessmentKey, ErrorCode, FieldValue, Pcode};
use dtm_sync::device::{Cost, Device, DeviceError};
use dtm_sync::retry::RetryPolicy;
use dtm_sync::wire::ApiError;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

dtm_sync::device_allocator!();

#[derive(Parser)]
#[command(name = "dtm", version, about = "dtm-field from the command line")]
struct Cli {
    /// The device store (a SQLite file).
    #[arg(long, env = "DTM_STORE", default_value = "dtm-device.sqlite3", global = true)]
    store: PathBuf,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Pretend the device clock is this many milliseconds off (testing devices whose
    /// clock is wrong).
    #[arg(
        long,
        env = "DTM_CLOCK_OFFSET_MS",
        default_value_t = 0,
        global = true,
        hide = true,
        allow_hyphen_values = true
    )]
    clock_offset_ms: i64,
    /// How long, in seconds, to keep retrying a request while HQ cannot be reached
    /// (with growing, jittered waits) before reporting `offline`; 0 tries once.
    #[arg(long, env = "DTM_RETRY_FOR", value_name = "SECS", default_value_t = 30, global = true)]
    retry_for: u64,
    /// The store is the field app's, encrypted (`device.sqlite3` beside its key file):
    /// every command but login and enrol first opens it, offline, with the password
    /// (DTM_PASSWORD) of an account that signed in on it (DTM_USER). For looking into a
    /// laptop's store with its enumerator.
    #[arg(long, env = "DTM_ENCRYPTED", global = true)]
    encrypted: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log in once while HQ is reachable; the device works offline afterwards.
    Login {
        #[arg(long, env = "DTM_HQ_URL")]
        hq: String,
        #[arg(long)]
        user: String,
        /// Read from DTM_PASSWORD when not given.
        #[arg(long, env = "DTM_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Forget the credentials at once and have HQ revoke the token (now, or at the next
    /// connection when HQ cannot be reached); unsent data stays on the device.
    Logout,
    /// Join HQ with a one-time enrolment code from your supervisor, and set your
    /// password. The code may be the link its QR code carries, which gives HQ's address.
    Enrol {
        #[arg(long, env = "DTM_HQ_URL", default_value = "")]
        hq: String,
        #[arg(long)]
        code: String,
        /// The new password (at least 10 characters, not a common one).
        #[arg(long, env = "DTM_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Change your password at HQ (also the one-time password of a reset).
    Password {
        #[arg(long, env = "DTM_PASSWORD", hide_env_values = true)]
        current: String,
        #[arg(long, env = "DTM_NEW_PASSWORD", hide_env_values = true)]
        new: String,
    },
    /// Who is logged in.
    Whoami,
    /// Rounds known on this device.
    Rounds,
    /// Assessments in your scope for a round, with their status.
    List {
        #[arg(long)]
        round: Option<String>,
    },
    /// One assessment: values, rule issues, comments.
    Show {
        location: String,
        #[arg(long)]
        round: Option<String>,
        #[arg(long, default_value = "baladiya")]
        form: String,
    },
    /// Set field values: dtm set LY021104 idp_hh=12 need_1=food ki_types='["idp_rep"]' (an empty value clears).
    Set {
        location: String,
        #[arg(required = true, value_name = "FIELD=VALUE")]
        values: Vec<String>,
        #[arg(long)]
        round: Option<String>,
        #[arg(long, default_value = "baladiya")]
        form: String,
    },
    /// Submit an assessment for review.
    Submit {
        location: String,
        #[arg(long)]
        round: Option<String>,
        #[arg(long, default_value = "baladiya")]
        form: String,
    },
    /// Withdraw an assessment entered by mistake; its values are kept.
    Void {
        location: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        round: Option<String>,
        #[arg(long, default_value = "baladiya")]
        form: String,
    },
    /// Push the outbox and pull changes.
    Sync,
    /// Pending operations, those HQ refused, in conflict or superseded, last sync.
    Status,
    /// Operations HQ did not apply (refused, in conflict, superseded), with its reasons.
    Rejected,
    /// What this device sent and HQ answered, newest first (op id, seq, outcome, when).
    Sent {
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// What a failed command prints, with a stable code.
struct Failure(ApiError);

impl From<DeviceError> for Failure {
    fn from(e: DeviceError) -> Self {
        Failure(e.to_api())
    }
}

fn usage(code: ErrorCode, message: String) -> Failure {
    Failure(ApiError { code, message, op_id: None })
}

fn parse_value(raw: &str) -> FieldValue {
    let raw = raw.trim();
    if raw.is_empty() || raw == "null" {
        FieldValue::Null
    } else if raw.starts_with('[') {
        // A select-many answer: ["conflict","flood"].
        serde_json::from_str(raw).unwrap_or_else(|_| raw.into())
    } else if let Ok(n) = raw.parse::<i64>() {
        n.into()
    } else if let Ok(n) = raw.parse::<f64>() {
        n.into()
    } else {
        raw.into()
    }
}

fn key(device: &Device, location: &str, round: Option<String>, form: &str) -> Result<AssessmentKey, Failure> {
    let location = Pcode::parse(location).map_err(|e| usage(ErrorCode::UnknownPcode, e.to_string()))?;
    let round = match round {
        Some(r) => r,
        None => open_round(device)?,
    };
    Ok(AssessmentKey::new(round, form, location))
}

fn open_round(device: &Device) -> Result<String, Failure> {
    device.rounds()?.into_iter().find(|r| r.status == dtm_core::RoundStatus::Open).map(|r| r.code).ok_or_else(|| {
        usage(ErrorCode::NoOpenRound, "no open round on this device; sync first, or pass --round".into())
    })
}

fn emit<T: Serialize>(json: bool, value: &T, text: impl FnOnce(&T) -> String) {
    use std::io::Write;
    let out = if json { serde_json::to_string_pretty(value).expect("API shapes serialise") } else { text(value) };
    // A closed pipe (`dtm list | head`) is not an error worth a panic.
    let _ = writeln!(std::io::stdout(), "{out}");
}

fn show_detail(d: &dtm_sync::api::AssessmentDetail) -> String {
    let mut out = format!(
        "{} {} ({}) — {}\n",
        d.summary.key.round,
        d.summary.location.name_en,
        d.summary.key.location,
        d.summary.status.as_str()
    );
    for (field, value) in &d.values {
        let pending = if d.pending_fields.contains(field) { "  (not yet sent)" } else { "" };
        out.push_str(&format!("  {field} = {value}{pending}\n"));
    }
    for issue in &d.issues {
        out.push_str(&format!("  {:?}: {}\n", issue.severity, issue.message.en));
    }
    for c in &d.comments {
        out.push_str(&format!("  comment from {} ({}): {}\n", c.author, c.at, c.text));
    }
    out.trim_end().to_owned()
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let device =
        if cli.encrypted { Device::open_encrypted(&cli.store, Cost::FIELD)? } else { Device::open(&cli.store)? }
            .with_clock_offset(cli.clock_offset_ms)
            .with_retry(RetryPolicy::patient_for(Duration::from_secs(cli.retry_for)));
    if cli.encrypted && !matches!(cli.command, Command::Login { .. } | Command::Enrol { .. }) {
        let (Ok(user), Ok(password)) = (std::env::var("DTM_USER"), std::env::var("DTM_PASSWORD")) else {
            return Err(usage(
                ErrorCode::StoreLocked,
                "an encrypted store opens with an account's password: set DTM_USER and DTM_PASSWORD".into(),
            ));
        };
        device.unlock_offline(&user, &password)?;
    }
    let json = cli.json;
    match cli.command {
        Command::Login { hq, user, password } => {
            let session = device.login(&hq, &user, &password).await?;
            emit(json, &session, |s| {
                format!("logged in as {} ({}) at {}", s.user.username, s.user.role.as_str(), s.hq_url)
            });
        }
        Command::Enrol { hq, code, password } => {
            let session = device.enrol(&hq, &code, &password).await?;
            emit(json, &session, |s| {
                format!("enrolled as {} ({}) at {}", s.user.username, s.user.role.as_str(), s.hq_url)
            });
        }
        Command::Password { current, new } => {
            device.change_password(&current, &new).await?;
            emit(json, &serde_json::json!({"password_changed": true}), |_| "password changed".into());
        }
        Command::Logout => {
            let hq_pending = device.logout().await? > 0;
            emit(json, &serde_json::json!({"logged_out": true, "hq_pending": hq_pending}), |_| {
                if hq_pending {
                    "logged out; HQ will be told at the next connection; unsent data is kept".into()
                } else {
                    "logged out; unsent data is kept".into()
                }
            });
        }
        Command::Whoami => {
            let session = device.session()?;
            emit(json, &session, |s| match s {
                Some(s) => format!("{} ({}) at {}", s.user.username, s.user.role.as_str(), s.hq_url),
                None => "nobody is logged in".into(),
            });
        }
        Command::Rounds => {
            let rounds = device.rounds()?;
            emit(json, &rounds, |rs| {
                rs.iter()
                    .map(|r| format!("{} {} [{}]", r.code, r.title, r.status.as_str()))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::List { round } => {
            let round = match round {
                Some(r) => r,
                None => open_round(&device)?,
            };
            let list = device.assessments(&round)?;
            emit(json, &list, |l| {
                l.iter()
                    .map(|a| {
                        format!(
                            "{} {:<24} {:<12} pending {}",
                            a.key.location,
                            a.location.name_en,
                            a.status.as_str(),
                            a.pending_ops
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Show { location, round, form } => {
            let key = key(&device, &location, round, &form)?;
            emit(json, &device.assessment(&key)?, show_detail);
        }
        Command::Set { location, values, round, form } => {
            let key = key(&device, &location, round, &form)?;
            let mut pairs = Vec::with_capacity(values.len());
            for v in &values {
                let (field, raw) = v
                    .split_once('=')
                    .ok_or_else(|| usage(ErrorCode::MalformedValue, format!("`{v}` is not FIELD=VALUE")))?;
                pairs.push((field.trim().to_owned(), parse_value(raw)));
            }
            // All the values of one command are saved together, or none is.
            emit(json, &device.set_fields(&key, &pairs)?, show_detail);
        }
        Command::Submit { location, round, form } => {
            let key = key(&device, &location, round, &form)?;
            emit(json, &device.submit(&key)?, show_detail);
        }
        Command::Void { location, reason, round, form } => {
            let key = key(&device, &location, round, &form)?;
            emit(json, &device.void(&key, &reason)?, show_detail);
        }
        Command::Sync => {
            let report = device.sync(|_| {}).await?;
            emit(json, &report, |r| {
                format!(
                    "pushed {} (applied {}, conflicts {}, rejected {}, superseded {}), pulled {}, pending {}",
                    r.pushed, r.applied, r.conflicts, r.rejected, r.superseded, r.pulled, r.pending
                )
            });
        }
        Command::Status => {
            let state = device.sync_state()?;
            emit(json, &state, |s| {
                format!(
                    "{}, pending {}, rejected {}, in conflict {}, superseded {}, last sync {}{}{}",
                    if s.online { "online" } else { "offline" },
                    s.pending,
                    s.rejected,
                    s.conflicts,
                    s.superseded,
                    s.last_sync_at.as_deref().unwrap_or("never"),
                    if s.pending_logouts > 0 { ", a logout waits for HQ" } else { "" },
                    s.last_error.as_ref().map(|e| format!(", last error: {}", e.message)).unwrap_or_default()
                )
            });
        }
        Command::Rejected => {
            let ops = device.rejected_ops()?;
            emit(json, &ops, |ops| {
                ops.iter()
                    .map(|o| {
                        format!(
                            "{:<10} {} {} {}: {} ({})",
                            outcome_word(o.state),
                            o.key,
                            o.field.as_deref().unwrap_or("-"),
                            o.code,
                            o.reason,
                            o.op_id
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Command::Sent { limit } => {
            let log = device.sent_log(limit)?;
            emit(json, &log, |log| {
                log.iter()
                    .map(|e| {
                        format!(
                            "{} #{} {} {} {}{}{} sent {} ({})",
                            e.answered_at,
                            e.seq,
                            e.key,
                            e.kind,
                            outcome_word(e.outcome),
                            if e.duplicate { " (answered before)" } else { "" },
                            e.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
                            e.sent_at,
                            e.op_id
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}

fn outcome_word(o: dtm_sync::api::OpOutcome) -> &'static str {
    use dtm_sync::api::OpOutcome;
    match o {
        OpOutcome::Applied => "applied",
        OpOutcome::Conflict => "conflict",
        OpOutcome::Rejected => "rejected",
        OpOutcome::Superseded => "superseded",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(e)) => {
            if json {
                println!("{}", serde_json::json!({ "error": e }));
            } else {
                eprintln!("dtm: {} [{}]", e.message, e.code);
            }
            ExitCode::FAILURE
        }
    }
}
