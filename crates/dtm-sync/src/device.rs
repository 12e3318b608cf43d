//! The field device: the local store joined to the HQ client. The Tauri app and the
//! `dtm` CLI are thin shells over this type, so they behave identically.

use crate::api::{self, AssessmentDetail, AssessmentParts, AssessmentSummary, Progress, SyncState};
use crate::client::{encode, ClientError, EncodedBody, HqClient, PageQuery};
use crate::retry::RetryPolicy;
use crate::wire::{
    self, ApiError, LoginRequest, OpBody, Operation, Outcome, PageAssessment, PullResponse, PushRequest, RoundInfo,
    WireComment, WireField,
};
use dtm_core::json::Entries;
use dtm_core::{AssessmentKey, ErrorCode, FieldValue, ReviewDecision, Role, Round};
pub use dtm_store::vault::Cost;
use dtm_store::vault::{DataKey, KeyFile, UnlockError};
use dtm_store::{sqlite, Answer, Now, OpKind, OpOutcome, RemoteAssessment, Store, StoreError};
use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Operations in the first push batch; later batches adapt to the link (`next_batch`).
const PUSH_BATCH: usize = 200;
const MIN_BATCH: usize = 10;
const MAX_BATCH: usize = 2000;

/// How one push went, for sizing the next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BatchOutcome {
    /// Answered, after this long.
    Answered(Duration),
    /// Failed on the link (timeout, cut connection) even after retries.
    LinkFailed,
    /// HQ refused the body as too large.
    TooLarge,
}

/// How often a push tells its listener (the progress bar) how far it is, at most.
pub const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Additive-increase, multiplicative-decrease on the batch size: a fast answer grows
/// the batch, a slow one or a failed link halves it, so a satellite or 2G link gets
/// batches it can carry in one go and a good link is not held back.
pub fn next_batch(current: usize, outcome: BatchOutcome) -> usize {
    let next = match outcome {
        BatchOutcome::Answered(t) if t < Duration::from_secs(2) => current + current / 2 + 10,
        BatchOutcome::Answered(t) if t > Duration::from_secs(10) => current / 2,
        BatchOutcome::Answered(_) => current,
        BatchOutcome::LinkFailed | BatchOutcome::TooLarge => current / 2,
    };
    next.clamp(MIN_BATCH, MAX_BATCH)
}
/// Assessments in the first pull page; later pages adapt to the link like pushes.
const PULL_PAGE: usize = 500;
/// How long one request is retried when the link fails, unless told otherwise
/// (`Device::with_retry`): long enough for HQ to restart.
pub const DEFAULT_PATIENCE: Duration = Duration::from_secs(30);
/// How long a logout waits for HQ before leaving it for the next connection.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("a sync is already running")]
    SyncRunning,
    #[error("the device's data folder cannot be used: {0}")]
    Io(#[from] std::io::Error),
}

impl DeviceError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Store(e) => e.code(),
            Self::Client(e) => e.code(),
            Self::SyncRunning => ErrorCode::SyncRunning,
            Self::Io(_) => ErrorCode::IoError,
        }
    }

    pub fn to_api(&self) -> ApiError {
        ApiError { code: self.code(), message: self.to_string(), op_id: None }
    }
}

pub type Result<T, E = DeviceError> = std::result::Result<T, E>;

/// What HQ said about this device at a sign-in: the id it goes by, and the key HQ keeps
/// for its store (see [`wire::LoginResponse::store_key`]).
#[derive(Debug, Clone, Copy, Default)]
struct HqKeys<'a> {
    device_id: &'a str,
    store_key: Option<&'a str>,
}

/// What a password did to a locked encrypted store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unlocked {
    /// The store is plain, or already open: there was nothing to unlock.
    NotEncrypted,
    /// The password opened it.
    Opened,
    /// No key file, or none for this account: HQ decides.
    NoKey,
    /// This account's key did not open with this password (it may have changed at HQ).
    WrongPassword,
}

/// User names are lower case at HQ; what was typed is matched the same way here.
fn normal_username(typed: &str) -> String {
    typed.trim().to_lowercase()
}

/// How the device's store is kept at rest.
#[derive(Debug, Clone)]
enum AtRest {
    /// Plain SQLite: the `dtm` command line, tests and benchmarks.
    Plain,
    /// Encrypted with SQLCipher; the key file beside it opens it with a password.
    Encrypted { key_file: PathBuf, cost: Cost },
}

/// The store while it is open, with the data key that opened it (none for a plain
/// store): another account's password can be sealed only while the key is at hand.
struct OpenStore {
    store: Store,
    key: Option<DataKey>,
}

/// The open store, held for one call.
struct StoreGuard<'a>(std::sync::MutexGuard<'a, Option<OpenStore>>);

impl std::ops::Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.0.as_ref().expect("a guard is made only over an open store").store
    }
}

impl std::ops::DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.0.as_mut().expect("a guard is made only over an open store").store
    }
}

/// A store file that is neither plain SQLite nor has a key file can only be left by a
/// crash between creating a store and writing its key file, before anything was
/// written in it. It is renamed, never deleted, and a new store takes its place.
fn set_aside_unreadable_store(path: &Path) -> Result<()> {
    if !path.exists() || sqlite::is_plain(path)? {
        return Ok(());
    }
    let stamp = now_with_offset(0).millis;
    for suffix in std::iter::once("").chain(sqlite::COMPANION_SUFFIXES) {
        let from = sqlite::sibling(path, suffix);
        if from.exists() {
            std::fs::rename(&from, sqlite::sibling(path, &format!(".unreadable-{stamp}{suffix}")))?;
        }
    }
    Ok(())
}

/// What one sync did, for the UI and for scripts.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SyncReport {
    pub pushed: u32,
    pub applied: u32,
    pub duplicates: u32,
    pub conflicts: u32,
    pub rejected: u32,
    /// Not written at HQ: this device had already sent newer values of their fields.
    #[serde(default)]
    pub superseded: u32,
    pub pulled: u32,
    pub pending: u32,
    /// Assessments that left the device because the account's scope no longer holds
    /// them (none had anything unsent).
    #[serde(default)]
    pub removed: u32,
}

pub struct Device {
    /// The open store; `None` while an encrypted store is locked.
    store: Mutex<Option<OpenStore>>,
    /// Where the store lives.
    path: PathBuf,
    /// How the store is kept at rest.
    at_rest: AtRest,
    syncing: AtomicBool,
    progress: Mutex<Option<Progress>>,
    /// The connection pool, kept across syncs so connections are reused.
    client: Mutex<Option<HqClient>>,
    /// The push batch size, adapted to the link and kept across syncs.
    batch: std::sync::atomic::AtomicUsize,
    /// The pull page size, adapted the same way.
    pull_page: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// How far this device's clock is from the truth, for testing devices whose clock
    /// is wrong (DTM_CLOCK_OFFSET_MS in the CLI). Zero in the field.
    clock_offset_ms: i64,
    /// How long each request is retried when the link fails.
    retry: RetryPolicy,
}

/// The wall clock, shifted by `offset_ms`: a device's clock can be days wrong.
pub fn now_with_offset(offset_ms: i64) -> Now {
    let t = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(offset_ms);
    Now {
        millis: (t.unix_timestamp_nanos() / 1_000_000) as u64,
        iso: t.format(&time::format_description::well_known::Rfc3339).expect("UTC time formats"),
    }
}

fn parts(record: dtm_store::AssessmentRecord) -> AssessmentParts {
    AssessmentParts {
        key: record.key,
        status: record.status,
        version: record.server_version,
        form_version: record.form_version,
        open_conflicts: record.open_conflicts,
        pending_ops: record.pending_ops,
        values: record.values,
        comments: record
            .comments
            .into_iter()
            .map(|c| WireComment {
                id: c.hq_id,
                author: c.author,
                role: Role::parse(&c.role).unwrap_or(Role::Supervisor),
                decision: match c.decision.as_deref() {
                    Some("approve") => Some(ReviewDecision::Approve),
                    Some("return") => Some(ReviewDecision::Return),
                    _ => None,
                },
                text: c.text,
                at: c.at,
            })
            .collect(),
        pending_fields: record.pending_fields,
        previous: record.previous,
        children: record.children,
    }
}

fn remote(s: PageAssessment, fields: Entries<WireField>) -> RemoteAssessment {
    RemoteAssessment {
        key: s.key,
        status: s.status,
        form_version: s.form_version,
        version: s.version,
        open_conflicts: s.open_conflicts,
        fields: Entries(fields.0.into_iter().map(|(f, v)| (f, (v.value, v.version))).collect()).into_map(),
        comments: s
            .comments
            .into_iter()
            .map(|c| dtm_store::Comment {
                hq_id: c.id,
                author: c.author,
                role: c.role.as_str().to_owned(),
                decision: c.decision.map(|d| d.as_str().to_owned()),
                text: c.text,
                at: c.at,
            })
            .collect(),
    }
}

impl Device {
    /// Opens a plain store (the `dtm` command line, tests and benchmarks): it is
    /// open at once, and no password guards it at rest.
    pub fn open(path: &Path) -> Result<Self> {
        let device = Self::new(path, AtRest::Plain)?;
        *device.slot() = Some(OpenStore { store: Store::open(path)?, key: None });
        Ok(device)
    }

    /// Opens the field app's encrypted store, locked: nothing can be read until an
    /// account's password opens it ([`Device::login`], offline once the account has
    /// opened it here before). `cost` is argon2id's for passwords sealed from now on.
    pub fn open_encrypted(path: &Path, cost: Cost) -> Result<Self> {
        Self::new(path, AtRest::Encrypted { key_file: KeyFile::path_for(path), cost })
    }

    fn new(path: &Path, at_rest: AtRest) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self {
            store: Mutex::new(None),
            path: path.to_owned(),
            at_rest,
            syncing: AtomicBool::new(false),
            progress: Mutex::new(None),
            client: Mutex::new(None),
            clock_offset_ms: 0,
            retry: RetryPolicy::patient_for(DEFAULT_PATIENCE),
            batch: std::sync::atomic::AtomicUsize::new(PUSH_BATCH),
            pull_page: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(PULL_PAGE)),
        })
    }

    /// Whether the store is encrypted, locked, and which accounts may open it here.
    pub fn lock_state(&self) -> Result<api::LockState> {
        let AtRest::Encrypted { key_file, .. } = &self.at_rest else {
            return Ok(api::LockState { encrypted: false, locked: false, accounts: vec![], wait_seconds: 0 });
        };
        let file = KeyFile::read(key_file).map_err(StoreError::from)?;
        Ok(api::LockState {
            encrypted: true,
            locked: self.slot().is_none(),
            accounts: file.as_ref().map(|f| f.accounts().iter().map(|a| a.to_string()).collect()).unwrap_or_default(),
            wait_seconds: file.map(|f| f.wait_ms(self.now().millis).div_ceil(1000) as u32).unwrap_or(0),
        })
    }

    /// Closes the store: an encrypted one needs a password again. A plain store stays
    /// open (there is nothing to lock).
    pub fn lock(&self) {
        if matches!(self.at_rest, AtRest::Encrypted { .. }) {
            *self.slot() = None;
        }
    }

    /// Tries an account's password against the key file, with no connection, and
    /// opens the store when it is right. When it does not (an account new to this
    /// device, or a password changed at HQ), HQ decides.
    fn unlock(&self, username: &str, password: &str) -> Result<Unlocked> {
        let AtRest::Encrypted { key_file, .. } = &self.at_rest else { return Ok(Unlocked::NotEncrypted) };
        if self.slot().is_some() {
            return Ok(Unlocked::NotEncrypted);
        }
        let Some(mut file) = KeyFile::read(key_file).map_err(StoreError::from)? else { return Ok(Unlocked::NoKey) };
        let opened = file.open(&normal_username(username), password, self.now().millis);
        // The count of wrong passwords is kept whatever happened.
        file.write(key_file).map_err(StoreError::from)?;
        match opened {
            Ok(key) => {
                self.open_with(key)?;
                Ok(Unlocked::Opened)
            }
            Err(UnlockError::NoSlot(_)) => Ok(Unlocked::NoKey),
            Err(UnlockError::WrongPassword) => Ok(Unlocked::WrongPassword),
            Err(e) => Err(StoreError::from(e).into()),
        }
    }

    /// Opens an encrypted store with an account's password, here only: never asks HQ,
    /// never makes a key. For looking into a store whose account has signed in on it
    /// before (the `dtm --encrypted` command line); the field app signs in with
    /// [`Device::login`]. A plain or already open store has nothing to unlock.
    pub fn unlock_offline(&self, username: &str, password: &str) -> Result<()> {
        match self.unlock(username, password)? {
            Unlocked::NotEncrypted | Unlocked::Opened => Ok(()),
            Unlocked::WrongPassword => Err(StoreError::Unlock(UnlockError::WrongPassword).into()),
            Unlocked::NoKey => Err(StoreError::Unlock(UnlockError::NoSlot(normal_username(username))).into()),
        }
    }

    fn open_with(&self, key: DataKey) -> Result<()> {
        let store = Store::open_encrypted(&self.path, &key)?;
        *self.slot() = Some(OpenStore { store, key: Some(key) });
        Ok(())
    }

    /// After HQ accepted `username` and `password`: makes sure the store is open and
    /// that this password opens it next time, offline. A device with no store yet
    /// (or one from an app before encryption) gets a new data key here.
    fn keep_key(&self, username: &str, password: &str, unlocked: Unlocked, hq: HqKeys<'_>) -> Result<()> {
        let AtRest::Encrypted { key_file, cost } = &self.at_rest else {
            // A plain store wiped at HQ's word starts again empty at the next sign-in.
            let mut slot = self.slot();
            if slot.is_none() {
                *slot = Some(OpenStore { store: Store::open(&self.path)?, key: None });
            }
            return Ok(());
        };
        let file = KeyFile::read(key_file).map_err(StoreError::from)?;
        let mut guard = self.slot();
        let (mut file, fresh) = match (guard.as_mut(), file) {
            (Some(_), file) => (file.unwrap_or_default(), false),
            (None, Some(file)) => {
                // Locked, and this password does not open it (a password reset at HQ):
                // HQ's key for this store does, if HQ gave it.
                // The password is sealed below, as for any account the store is open to.
                let Some(key) = hq.store_key.and_then(|k| file.open_escrow(k)) else {
                    return Err(StoreError::Unlock(UnlockError::HeldBy(file.accounts().join(", "))).into());
                };
                let store = Store::open_encrypted(&self.path, &key)?;
                *guard = Some(OpenStore { store, key: Some(key) });
                (file, false)
            }
            (None, None) => {
                // The first sign-in on this device (or the first since encryption came):
                // a new data key, sealed before any data is written under it.
                set_aside_unreadable_store(&self.path)?;
                let key = DataKey::random();
                let mut file = KeyFile::default();
                file.seal(username, password, &key, *cost);
                file.write(key_file).map_err(StoreError::from)?;
                let mut store = Store::open_encrypted(&self.path, &key)?;
                if !hq.device_id.is_empty() {
                    store.adopt_device_id(hq.device_id)?;
                }
                *guard = Some(OpenStore { store, key: Some(key) });
                (file, true)
            }
        };
        let open = guard.as_ref().expect("opened above");
        let key = open.key.as_ref().expect("an encrypted store is opened with its key");
        let mut changed = false;
        if unlocked != Unlocked::Opened && !fresh {
            // Open already, and this password did not open it: an account new to the
            // store, or a password changed at HQ. Seal the key under this password too.
            file.seal(username, password, key, *cost);
            changed = true;
        }
        let store_id = open.store.device_id()?;
        if let Some(hq_key) = hq.store_key {
            if !file.has_escrow_for(&store_id) || file.open_escrow(hq_key).is_none() {
                changed |= file.seal_escrow(&store_id, hq_key, key);
            }
        }
        if changed {
            file.write(key_file).map_err(StoreError::from)?;
        }
        Ok(())
    }

    /// Runs this device as if its clock were `offset_ms` off.
    pub fn with_clock_offset(mut self, offset_ms: i64) -> Self {
        self.clock_offset_ms = offset_ms;
        self
    }

    /// Retries each request for as long as `policy` allows (the background sync waits
    /// up to a minute; `dtm --retry-for`).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    fn now(&self) -> Now {
        now_with_offset(self.clock_offset_ms)
    }

    /// The open store, or [`StoreError::Locked`] while an encrypted one is locked.
    fn store(&self) -> Result<StoreGuard<'_>> {
        Ok(self.store_if_open().ok_or(StoreError::Locked)?)
    }

    /// The open store, or `None` while an encrypted one is locked: for the steps that
    /// have nothing to do on a locked device (say who is signed in, note whether HQ
    /// answered, send pending logouts).
    fn store_if_open(&self) -> Option<StoreGuard<'_>> {
        let guard = self.slot();
        guard.is_some().then(|| StoreGuard(guard))
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<OpenStore>> {
        // A panic while holding the lock cannot leave SQLite half-written (every
        // write is one transaction), so a poisoned lock is safe to reuse.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn client(&self) -> Result<HqClient> {
        let session = self.store()?.session()?.ok_or(StoreError::NotLoggedIn)?;
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        match slot.as_ref() {
            Some(c) if c.base() == session.hq_url.trim_end_matches('/') => Ok(c.clone().with_token(&session.token)),
            _ => {
                let c = HqClient::new(&session.hq_url);
                *slot = Some(c.clone());
                Ok(c.with_token(&session.token))
            }
        }
    }

    /// Who is signed in; `None` while nobody is, or while an encrypted store is locked.
    pub fn session(&self) -> Result<Option<api::Session>> {
        let Some(store) = self.store_if_open() else { return Ok(None) };
        Ok(store.session()?.map(|s| api::Session {
            user: wire::User {
                username: s.user.username,
                display_name: s.user.display_name,
                role: s.user.role,
                scope: s.user.scope.prefixes().to_vec(),
            },
            hq_url: s.hq_url,
            device_id: Some(s.device_id),
            must_change_password: None,
        }))
    }

    /// Signs in. An encrypted store is opened first with the password alone, with no
    /// connection: when the account is signed in here already, that is the whole login
    /// (offline login). Otherwise HQ checks the password, the store is opened or
    /// created, and the first pull follows.
    pub async fn login(&self, hq_url: &str, username: &str, password: &str) -> Result<api::Session> {
        let unlocked = self.unlock(username, password)?;
        if unlocked == Unlocked::Opened {
            if let Some(session) = self.session()?.filter(|s| s.user.username == normal_username(username)) {
                return Ok(session);
            }
        }
        let session = match self.authenticate_after(hq_url, username, password, unlocked).await {
            // HQ cannot say whether the password changed there, and this device's key
            // says it is wrong: that is the answer, not "offline".
            Err(e) if unlocked == Unlocked::WrongPassword && e.code() == ErrorCode::Offline => {
                return Err(StoreError::Unlock(UnlockError::WrongPassword).into())
            }
            r => r?,
        };
        // The first pull brings the rounds; a failure here is not a failed login.
        let _ = self.sync(|_| {}).await;
        Ok(session)
    }

    /// Joins HQ with a one-time enrolment code (typed, or the link a QR code carries,
    /// which also gives HQ's address), sets the account's password, and pulls.
    pub async fn enrol(&self, hq_url: &str, code: &str, password: &str) -> Result<api::Session> {
        let (hq_url, code) = match dtm_core::accounts::parse_enrolment_link(code) {
            Some((url, code)) if hq_url.trim().is_empty() => (url, code),
            Some((_, code)) => (hq_url.to_owned(), code),
            None => (hq_url.to_owned(), code.to_owned()),
        };
        // A locked store holding another account's work cannot take a new account:
        // say so before the one-time code is spent.
        self.refuse_if_held_by_others()?;
        self.tell_hq_of_logouts().await?;
        let client = HqClient::new(&hq_url);
        let req = crate::accounts::EnrolRequest {
            code,
            password: password.into(),
            device_name: Some(format!("dtm-field {}", env!("CARGO_PKG_VERSION"))),
            device_id: self.open_device_id()?,
            plain_store: matches!(self.at_rest, AtRest::Plain),
        };
        let resp = client.enrol(&req).await;
        self.note_reachable(!matches!(resp, Err(ClientError::Offline(_))))?;
        let resp = resp?;
        let hq = HqKeys { device_id: &resp.device_id, store_key: resp.store_key.as_deref() };
        self.keep_key(&resp.user.username, password, Unlocked::NotEncrypted, hq)?;
        let session = self.save_session(&hq_url, client, resp)?;
        let _ = self.sync(|_| {}).await;
        Ok(session)
    }

    /// Changes the account's password at HQ (the one-time one included); an encrypted
    /// store's key is sealed again under the new password (the store itself is not
    /// re-encrypted), so the next offline login takes the new one.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<()> {
        let req = crate::accounts::PasswordChange { current_password: current.into(), new_password: new.into() };
        self.client()?.change_password(&req).await?;
        let session = self.session()?.ok_or(StoreError::NotLoggedIn)?;
        self.keep_key(&session.user.username, new, Unlocked::NotEncrypted, HqKeys::default())
    }

    /// Logs in and saves the token, without pulling.
    pub async fn authenticate(&self, hq_url: &str, username: &str, password: &str) -> Result<api::Session> {
        let unlocked = self.unlock(username, password)?;
        self.authenticate_after(hq_url, username, password, unlocked).await
    }

    async fn authenticate_after(
        &self,
        hq_url: &str,
        username: &str,
        password: &str,
        unlocked: Unlocked,
    ) -> Result<api::Session> {
        // A locked store that other accounts hold: HQ may have handed this device over
        // to this account (its key for the store then comes back with the sign-in, and
        // `keep_key` opens the store with it); if not, or offline, the data stays
        // locked to them and this account is told whose it is.
        let held_by = if unlocked == Unlocked::Opened { None } else { self.held_by_others_than(username)? };
        // A logout HQ has not heard of goes first, before this connection does anything else.
        self.tell_hq_of_logouts().await?;
        let client = HqClient::new(hq_url);
        let resp = client
            .login(&LoginRequest {
                username: username.into(),
                password: password.into(),
                device_name: Some(format!("dtm-field {}", env!("CARGO_PKG_VERSION"))),
                device_id: self.open_device_id()?,
                plain_store: matches!(self.at_rest, AtRest::Plain),
            })
            .await;
        self.note_reachable(!matches!(resp, Err(ClientError::Offline(_))))?;
        let resp = match (resp, held_by) {
            (Err(ClientError::Offline(_)), Some(holders)) => {
                return Err(StoreError::Unlock(UnlockError::HeldBy(holders)).into())
            }
            (resp, _) => resp?,
        };
        let hq = HqKeys { device_id: &resp.device_id, store_key: resp.store_key.as_deref() };
        if let Err(e) = self.keep_key(&resp.user.username, password, unlocked, hq) {
            // HQ said yes but this device's data stays shut to this account: the new
            // token is handed back rather than left valid and unused.
            let _ = client.clone().with_token(&resp.token).logout(LOGOUT_TIMEOUT).await;
            return Err(e);
        }
        self.tell_hq_of_logouts().await?;
        self.save_session(hq_url, client, resp)
    }

    /// The device's id: its open store's, or a plain store's from an app before
    /// encryption (readable without a key). A new device sends none and takes the one
    /// HQ gives ([`Store::adopt_device_id`]).
    fn open_device_id(&self) -> Result<Option<String>> {
        if let Some(store) = self.store_if_open() {
            return Ok(Some(store.device_id()?));
        }
        if self.path.exists() && sqlite::is_plain(&self.path)? {
            Ok(Some(Store::open(&self.path)?.device_id()?))
        } else if let AtRest::Encrypted { key_file, .. } = &self.at_rest {
            // A locked store names itself from its key file, so HQ can give its key to
            // an account that opened it before.
            let file = KeyFile::read(key_file).map_err(StoreError::from)?;
            Ok(file.and_then(|f| f.store_id().map(str::to_owned)))
        } else {
            Ok(None)
        }
    }

    fn note_reachable(&self, reachable: bool) -> Result<()> {
        match self.store_if_open() {
            Some(mut store) => Ok(store.record_reachable(reachable)?),
            None => Ok(()),
        }
    }

    /// A locked encrypted store that other accounts hold refuses an enrolment before
    /// the one-time code is spent (see [`UnlockError::HeldBy`]).
    fn refuse_if_held_by_others(&self) -> Result<()> {
        match self.held_by_others_than("")? {
            Some(holders) => Err(StoreError::Unlock(UnlockError::HeldBy(holders)).into()),
            None => Ok(()),
        }
    }

    /// The accounts that hold this locked store, when `username` is not one of them.
    fn held_by_others_than(&self, username: &str) -> Result<Option<String>> {
        let AtRest::Encrypted { key_file, .. } = &self.at_rest else { return Ok(None) };
        if self.slot().is_some() {
            return Ok(None);
        }
        Ok(match KeyFile::read(key_file).map_err(StoreError::from)? {
            Some(file) if !file.accounts().contains(&normal_username(username).as_str()) => {
                Some(file.accounts().join(", "))
            }
            _ => None,
        })
    }

    fn save_session(&self, hq_url: &str, client: HqClient, resp: wire::LoginResponse) -> Result<api::Session> {
        let must_change = resp.must_change_password;
        let user = dtm_store::User {
            username: resp.user.username.clone(),
            display_name: resp.user.display_name.clone(),
            role: resp.user.role,
            scope: dtm_core::Scope::new(resp.user.scope.clone()),
        };
        self.store()?.save_login(hq_url, &resp.token, &user)?;
        *self.client.lock().unwrap_or_else(|p| p.into_inner()) = Some(client);
        let session = self.session()?.expect("the session was just saved");
        Ok(api::Session { must_change_password: Some(must_change), ..session })
    }

    /// Forgets the credentials on this device at once, then asks HQ to revoke the
    /// token. When HQ cannot be reached, the device remembers and asks at its next
    /// connection, before anything else. Returns how many logouts HQ has still to hear.
    /// An encrypted store is locked after it: the next login needs a password.
    pub async fn logout(&self) -> Result<u32> {
        let now = self.now();
        self.store()?.logout(&now)?;
        self.tell_hq_of_logouts().await?;
        let waiting = self.store()?.pending_logouts()?.len() as u32;
        self.lock();
        Ok(waiting)
    }

    /// Sends every logout HQ has not heard of. A definite answer (done, the token is
    /// already invalid, or an HQ without logout that answers 404) ends it; only a link
    /// failure or a busy HQ leaves it for next time, so it is never retried forever.
    async fn tell_hq_of_logouts(&self) -> Result<()> {
        // A locked store's logouts are sent once it is open again.
        let pending = match self.store_if_open() {
            Some(store) => store.pending_logouts()?,
            None => return Ok(()),
        };
        for logout in pending {
            let client = HqClient::new(&logout.hq_url).with_token(&logout.token);
            match client.logout(LOGOUT_TIMEOUT).await {
                Err(e) if e.is_transient() => continue,
                _ => self.store()?.forget_pending_logout(&logout.token)?,
            }
        }
        Ok(())
    }

    pub fn rounds(&self) -> Result<Vec<RoundInfo>> {
        Ok(self.store()?.rounds()?.iter().map(RoundInfo::from).collect())
    }

    /// A form from this device's catalog at `version`, or its newest version; `None`
    /// if the catalog has no such form or version.
    pub fn form(&self, id: &str, version: Option<u32>) -> Result<Option<dtm_core::FormDef>> {
        Ok(self.store()?.forms().at(id, version).cloned())
    }

    /// Every location in scope for the round's forms, with its status on this device.
    pub fn assessments(&self, round: &str) -> Result<Vec<AssessmentSummary>> {
        let store = self.store()?;
        let rounds = store.rounds()?;
        let r = rounds.iter().find(|r| r.code == round).ok_or_else(|| StoreError::UnknownRound(round.to_owned()))?;
        let mut out = Vec::new();
        for (form, _) in &r.forms {
            if store.forms().latest(form).is_some() {
                out.extend(store.assessments(round, form)?.into_iter().map(|r| parts(r).summary(store.places())));
            }
        }
        Ok(out)
    }

    pub fn assessment(&self, key: &AssessmentKey) -> Result<AssessmentDetail> {
        let store = self.store()?;
        let record = store.assessment(key)?;
        let settled = store.settled_for(key)?;
        Ok(AssessmentDetail { settled, ..parts(record).detail(store.forms(), store.places()) })
    }

    /// Saves several fields of one assessment together, all or none.
    pub fn set_fields(&self, key: &AssessmentKey, values: &[(String, FieldValue)]) -> Result<AssessmentDetail> {
        let mut store = self.store()?;
        let record = store.set_fields(key, values, &self.now())?;
        Ok(parts(record).detail(store.forms(), store.places()))
    }

    pub fn set_field(&self, key: &AssessmentKey, field: &str, value: FieldValue) -> Result<AssessmentDetail> {
        let mut store = self.store()?;
        let record = store.set_field(key, field, value, &self.now())?;
        Ok(parts(record).detail(store.forms(), store.places()))
    }

    /// Withdraws an assessment (a tombstone: every value is kept).
    pub fn void(&self, key: &AssessmentKey, reason: &str) -> Result<AssessmentDetail> {
        let mut store = self.store()?;
        let record = store.void(key, reason, &self.now())?;
        Ok(parts(record).detail(store.forms(), store.places()))
    }

    pub fn submit(&self, key: &AssessmentKey) -> Result<AssessmentDetail> {
        let mut store = self.store()?;
        let record = store.submit(key, &self.now())?;
        Ok(parts(record).detail(store.forms(), store.places()))
    }

    /// Operations HQ did not apply (refused, in conflict or superseded), with HQ's reasons.
    pub fn rejected_ops(&self) -> Result<Vec<api::RejectedOp>> {
        Ok(self
            .store()?
            .rejected_ops()?
            .into_iter()
            .map(|r| api::RejectedOp {
                op_id: r.op_id,
                key: r.key,
                field: r.field,
                state: api_outcome(r.state),
                code: r.code,
                reason: r.reason,
            })
            .collect())
    }

    /// The newest `limit` entries of the sent log, newest first.
    pub fn sent_log(&self, limit: u32) -> Result<Vec<api::SentOp>> {
        Ok(self
            .store()?
            .sent_log(limit)?
            .into_iter()
            .map(|e| api::SentOp {
                op_id: e.op_id,
                seq: e.seq,
                key: e.key,
                kind: e.kind,
                outcome: api_outcome(e.outcome),
                duplicate: e.duplicate,
                code: e.code,
                reason: e.reason,
                created_at: e.created_at,
                sent_at: e.sent_at,
                answered_at: e.answered_at,
            })
            .collect())
    }

    pub fn sync_state(&self) -> Result<SyncState> {
        let counts = self.store()?.sync_counts()?;
        Ok(SyncState {
            online: counts.hq_reachable.unwrap_or(false),
            syncing: self.syncing.load(Ordering::Relaxed),
            pending: counts.pending,
            rejected: counts.rejected,
            conflicts: counts.conflicts,
            superseded: counts.superseded,
            pending_logouts: counts.pending_logouts,
            last_sync_at: counts.last_sync_at,
            last_error: counts.last_error.map(|(code, message)| ApiError { code, message, op_id: None }),
            progress: self.progress.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            update_available: counts
                .newest_app_version
                .filter(|newest| dtm_core::version::older(env!("CARGO_PKG_VERSION"), newest)),
        })
    }

    /// Pushes the outbox, then pulls every page. `on_state` hears each step, for the
    /// progress bar. Safe to interrupt anywhere: the outbox keeps what HQ has not
    /// acknowledged, and each pull page is applied with its cursor in one transaction.
    pub async fn sync(&self, on_state: impl Fn(&SyncState)) -> Result<SyncReport> {
        self.sync_parts(true, true, on_state).await
    }

    /// Pushes and/or pulls only; the benchmark times the two apart.
    pub async fn sync_parts(&self, push: bool, pull: bool, on_state: impl Fn(&SyncState)) -> Result<SyncReport> {
        if self.syncing.swap(true, Ordering::SeqCst) {
            return Err(DeviceError::SyncRunning);
        }
        let result = self.sync_inner(push, pull, &on_state).await;
        self.syncing.store(false, Ordering::SeqCst);
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let now = self.now();
        match &result {
            Ok(_) => self.store()?.record_sync(&now, None, Some(true))?,
            Err(e) => {
                let reachable = match e {
                    DeviceError::Client(ClientError::Offline(_)) => Some(false),
                    DeviceError::Client(_) => Some(true),
                    _ => None,
                };
                self.store()?.record_sync(&now, Some((e.code(), &e.to_string())), reachable)?
            }
        }
        if let Err(e) = &result {
            // Revoked with a wipe: HQ took the push, so once nothing is left waiting
            // the data goes (a lost or stolen laptop). Anything still unsent keeps it.
            if e.code() == ErrorCode::DeviceWipe && self.store()?.sync_counts()?.pending == 0 {
                self.wipe()?;
                return result;
            }
        }
        if let Ok(state) = self.sync_state() {
            on_state(&state);
        }
        result
    }

    /// Removes the device's data: the store, its write-ahead log and its key file.
    fn wipe(&self) -> Result<()> {
        let mut slot = self.slot();
        // Closing the connection first: on Windows an open file cannot be removed.
        *slot = None;
        let mut files = vec![self.path.clone()];
        files.extend(sqlite::COMPANION_SUFFIXES.map(|suffix| sqlite::sibling(&self.path, suffix)));
        if let AtRest::Encrypted { key_file, .. } = &self.at_rest {
            files.push(key_file.clone());
        }
        for file in files {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    fn set_progress(&self, done: u64, total: u64, on_state: &impl Fn(&SyncState)) {
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(Progress { done, total });
        if let Ok(state) = self.sync_state() {
            on_state(&state);
        }
    }

    /// Records how far the push is, and tells `on_state` at most every
    /// [`PROGRESS_EVERY`] (and at the end): telling counts the outbox, and on a
    /// good link a push batch is answered every few milliseconds.
    fn push_progress(&self, done: u64, total: u64, told: &mut std::time::Instant, on_state: &impl Fn(&SyncState)) {
        if done >= total || told.elapsed() >= PROGRESS_EVERY {
            self.set_progress(done, total, on_state);
            *told = std::time::Instant::now();
        } else {
            *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(Progress { done, total });
        }
    }

    async fn sync_inner(&self, push: bool, pull: bool, on_state: &impl Fn(&SyncState)) -> Result<SyncReport> {
        self.tell_hq_of_logouts().await?;
        let mut report = SyncReport::default();
        let pending = self.store()?.sync_counts()?.pending;
        let client = self.client()?.with_pending(pending);
        let total = u64::from(pending);
        self.set_progress(0, total, on_state);
        let mut told = std::time::Instant::now();
        if push {
            // Up to PUSH_DEPTH batches fly at once: while HQ's writer applies one, HQ reads,
            // checks and hashes the next, and the device reads, builds and compresses the
            // one after and records the answers before. Batches in flight together never
            // share an assessment (see `prepare_batch`), so the order HQ applies them in
            // changes nothing.
            let mut flights: VecDeque<Flight> = VecDeque::new();
            // The outbox sequence up to which batches have been sent, and whether nothing
            // is left after it.
            let (mut after, mut drained) = (0u64, false);
            loop {
                while flights.len() < PUSH_DEPTH && !drained {
                    match self.prepare_batch(after, &flights)? {
                        Prepared::Done => drained = true,
                        Prepared::Wait => break,
                        Prepared::Batch(sent, body) => {
                            after = sent.last_seq;
                            flights.push_back(self.send_batch(&client, sent, body));
                        }
                    }
                }
                let Some(mut flight) = flights.pop_front() else { break };
                let batch = flight.batch;
                let resp = match flight.answer().await {
                    Ok(resp) => {
                        self.batch.store(
                            next_batch(batch, BatchOutcome::Answered(flight.started.elapsed())),
                            Ordering::Relaxed,
                        );
                        resp
                    }
                    Err(e) => {
                        // The batches behind it are answered (and their answers kept)
                        // before this one's failure is dealt with.
                        self.land(std::mem::take(&mut flights), &mut report).await?;
                        match e {
                            ClientError::Api { status: 413, .. } if batch > MIN_BATCH => {
                                // HQ will not take this much at once: shrink and go on.
                                self.batch.store(next_batch(batch, BatchOutcome::TooLarge), Ordering::Relaxed);
                                (after, drained) = (0, false);
                                continue;
                            }
                            e @ ClientError::Offline(_) => {
                                self.batch.store(next_batch(batch, BatchOutcome::LinkFailed), Ordering::Relaxed);
                                return Err(e.into());
                            }
                            ClientError::Api { status, code, message, op_id: Some(op_id) }
                                if (400..500).contains(&status) && flight.sent.op_ids.contains(&op_id) =>
                            {
                                // HQ refused the batch for one operation that can never apply.
                                // Set it aside, visible to the enumerator, so it cannot wedge
                                // the queue.
                                let refused = Answer::new(op_id, OpOutcome::Rejected).because(code, message);
                                self.store()?.record_outcomes(&[refused], &flight.sent_at, &self.now())?;
                                report.rejected += 1;
                                (after, drained) = (0, false);
                                continue;
                            }
                            e => return Err(e.into()),
                        }
                    }
                };
                let answers = answers(resp, &mut report)?;
                self.store()?.record_outcomes(&answers, &flight.sent_at, &self.now())?;
                let done = u64::from(report.pushed);
                self.push_progress(done, total.max(done), &mut told, on_state);
            }
        }
        if pull {
            // Pages are asked for ahead (`Pager`): HQ builds the next ones while this
            // one is decoded and written to the store. Each page is still applied with
            // its own cursor in one transaction, in order.
            let cursor = self.store()?.pull_cursor()?;
            let gazetteer = self.store()?.gazetteer_cursor()?.unwrap_or_default();
            let settled = self.store()?.settled_cursor()?.unwrap_or_default();
            let mut pages = self.pager(&client, cursor.clone(), true, Some((gazetteer, settled)));
            // Where the next page must start: where the last one written ended.
            let mut after = cursor;
            // The first page carries the account as HQ holds it now.
            let mut account_checked = false;
            loop {
                let fetched = match pages.next().await {
                    Some(fetched) if fetched.from == after => fetched,
                    // A page asked for from where a first answer to the page before said
                    // it ended, while its retry ended elsewhere; or no page, the headers
                    // having said the last was last while its body said more follow. Ask
                    // again from where the page written ended, so no change is skipped.
                    _ => {
                        pages = self.pager(&client, after.clone(), false, None);
                        continue;
                    }
                };
                let size = self.pull_page.load(Ordering::Relaxed);
                let page = match fetched.page.await {
                    Ok(Ok((page, elapsed))) => {
                        self.pull_page.store(next_batch(size, BatchOutcome::Answered(elapsed)), Ordering::Relaxed);
                        page
                    }
                    Ok(Err(e)) => {
                        self.pull_page.store(next_batch(size, BatchOutcome::LinkFailed), Ordering::Relaxed);
                        return Err(e.into());
                    }
                    Err(e) => return Err(ClientError::Protocol(format!("the pull task failed: {e}")).into()),
                };
                if !account_checked {
                    account_checked = true;
                    self.store()?.record_newest_app_version(page.newest_app_version.as_deref())?;
                    // Locations added at HQ first, so this sync's assessments of them apply.
                    if let Some(delta) = &page.gazetteer {
                        self.store()?.apply_gazetteer(delta.reset, &delta.locations, &delta.cursor)?;
                    }
                    if let Some(delta) = &page.settled {
                        self.store()?.apply_settled(&delta.conflicts, &delta.cursor)?;
                    }
                    if let Some(user) = &page.user {
                        let user = dtm_store::User {
                            username: user.username.clone(),
                            display_name: user.display_name.clone(),
                            role: user.role,
                            scope: dtm_core::Scope::new(user.scope.clone()),
                        };
                        let rescoped = self.store()?.rescope(&user)?;
                        report.removed = rescoped.removed;
                        if rescoped.scope_changed {
                            // A new area: all of it, from the beginning.
                            after = None;
                            pages = self.pager(&client, None, true, None);
                            continue;
                        }
                    }
                }
                let rounds: Vec<Round> = page.rounds.iter().map(Round::from).collect();
                report.pulled += page.assessments.len() as u32;
                let (next_cursor, more) = (page.cursor.clone(), page.has_more);
                let remotes: Vec<RemoteAssessment> = page.unpack(remote).map_err(ClientError::Protocol)?;
                self.store()?.apply_pull_page(&rounds, &remotes, &next_cursor, &self.now())?;
                after = Some(next_cursor);
                if !more {
                    break;
                }
            }
        }
        report.pending = self.store()?.sync_counts()?.pending;
        Ok(report)
    }
}

impl Device {
    /// Reads the next push batch after `after` and encodes it; it ends where
    /// [`batch_end`] says.
    fn prepare_batch(&self, after: u64, flights: &VecDeque<Flight>) -> Result<Prepared> {
        let limit = self.batch.load(Ordering::Relaxed);
        let mut ops = self.store()?.pending_ops_after(after, limit)?;
        if ops.is_empty() {
            return Ok(Prepared::Done);
        }
        let flying: Vec<&Flying> = flights.iter().map(|f| &f.sent.flying).collect();
        let full = ops.len() == limit;
        ops.truncate(batch_end(&ops, full, &flying));
        if ops.is_empty() {
            return Ok(Prepared::Wait);
        }
        let sent = Sent {
            last_seq: ops.last().map_or(after, |o| o.seq),
            op_ids: ops.iter().map(|o| o.op_id.clone()).collect(),
            flying: Flying {
                keys: ops.iter().map(|o| o.key.clone()).collect(),
                submits: ops.iter().any(|o| o.kind == OpKind::Submit),
            },
        };
        // The operations are moved into the request, not copied: a batch holds up to
        // 2,000 saves of sixty values.
        let req = PushRequest {
            ops: ops
                .into_iter()
                .map(|op| Operation {
                    op_id: op.op_id,
                    seq: op.seq,
                    key: op.key,
                    hlc: op.hlc,
                    form_version: op.form_version,
                    body: match op.kind {
                        OpKind::Edit => {
                            let bases = op
                                .edits
                                .iter()
                                .filter(|(_, (_, base))| *base > 0)
                                .map(|(f, (_, base))| (f.clone(), *base))
                                .collect();
                            let values = op.edits.into_iter().map(|(f, (v, _))| (f, v)).collect();
                            OpBody::Edit { values, bases }
                        }
                        OpKind::Submit => OpBody::Submit,
                        OpKind::Void => OpBody::Void { reason: op.reason.unwrap_or_default() },
                    },
                })
                .collect(),
        };
        let body = encode(&req)?;
        Ok(Prepared::Batch(sent, body))
    }

    /// Sends a push batch in its own task, with retries.
    fn send_batch(&self, client: &HqClient, sent: Sent, body: EncodedBody) -> Flight {
        let (client, retry) = (client.clone(), self.retry);
        Flight {
            batch: sent.op_ids.len().max(self.batch.load(Ordering::Relaxed)),
            sent,
            sent_at: self.now().iso,
            started: std::time::Instant::now(),
            answer: tokio::spawn(async move { with_retries(retry, || client.push_encoded(&body)).await }),
        }
    }

    /// Waits for the batches still in flight and records the answers of those HQ
    /// answered; a failed one stays pending in the outbox, for the next push.
    async fn land(&self, flights: VecDeque<Flight>, report: &mut SyncReport) -> Result<()> {
        for mut flight in flights {
            if let Ok(resp) = flight.answer().await {
                let answers = answers(resp, report)?;
                self.store()?.record_outcomes(&answers, &flight.sent_at, &self.now())?;
            }
        }
        Ok(())
    }

    /// Asks for pull pages from `cursor` on, in a task of its own: each page as soon as
    /// the headers of the one before say where it ends (`x-dtm-next-cursor`), without
    /// waiting for that page's body. It stops asking while [`PULL_AHEAD`] pages wait
    /// to be taken, so at most two pages are held beside the one being written. The
    /// first page asks for every round (`with_rounds`) and, from `since` (the
    /// gazetteer's and the settled conflicts' cursors), the gazetteer's changes and
    /// this device's settlements. Each request is retried as a push is.
    fn pager(
        &self,
        client: &HqClient,
        cursor: Option<String>,
        with_rounds: bool,
        since: Option<(String, String)>,
    ) -> Pager {
        let (client, retry, size) = (client.clone(), self.retry, self.pull_page.clone());
        let (tx, rx) = tokio::sync::mpsc::channel(PULL_AHEAD);
        let task = tokio::spawn(async move {
            let (mut cursor, mut with_rounds, mut since) = (cursor, with_rounds, since);
            loop {
                let started = std::time::Instant::now();
                let (gazetteer, settled) = since.clone().unzip();
                let query = PageQuery {
                    cursor: cursor.clone(),
                    limit: size.load(Ordering::Relaxed) as u32,
                    with_rounds,
                    gazetteer,
                    settled,
                };
                let (next, page) = match with_retries(retry, || client.pull_head(&query)).await {
                    Ok(head) => {
                        let next = head.next.clone();
                        let client = client.clone();
                        let page = tokio::spawn(async move {
                            let page = match head.page().await {
                                Ok(page) => page,
                                // The body did not arrive whole: the page again, as one request.
                                Err(ClientError::Offline(_)) => with_retries(retry, || client.pull(&query)).await?,
                                Err(e) => return Err(e),
                            };
                            Ok((page, started.elapsed()))
                        });
                        (next, page)
                    }
                    Err(e) => (None, tokio::spawn(std::future::ready(Err(e)))),
                };
                let fetched = Fetched { from: cursor.clone(), page: AbortOnDrop(page) };
                if tx.send(fetched).await.is_err() {
                    return;
                }
                match next {
                    Some(next) => (cursor, with_rounds, since) = (Some(next), false, None),
                    None => return,
                }
            }
        });
        Pager { pages: rx, _task: AbortOnDrop(task) }
    }
}

/// Pull pages waiting to be taken before a [`Pager`] stops asking (see `Device::pager`).
const PULL_AHEAD: usize = 1;

/// A task's handle that stops the task when dropped: pages asked for ahead and no
/// longer wanted (a sync that failed, a new scope) are not fetched on.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// A pull page asked for by a [`Pager`]: the cursor it was asked from, and the page.
struct Fetched {
    from: Option<String>,
    page: AbortOnDrop<Result<(PullResponse, Duration), ClientError>>,
}

/// Pull pages asked for one after another; see `Device::pager`.
struct Pager {
    pages: tokio::sync::mpsc::Receiver<Fetched>,
    _task: AbortOnDrop<()>,
}

impl Pager {
    /// The next page asked for, in order; None once the last page was asked for.
    async fn next(&mut self) -> Option<Fetched> {
        self.pages.recv().await
    }
}

/// Push batches in flight at once (see the push in `sync_inner`).
const PUSH_DEPTH: usize = 2;

/// What the next push batch must know of one in flight.
#[derive(Debug, Default)]
struct Flying {
    /// The assessments its operations name.
    keys: HashSet<AssessmentKey>,
    /// Whether it holds a submission.
    submits: bool,
}

/// How many of `ops`, read from the outbox in order, go into the next push batch.
///
/// HQ may apply batches in flight together in either order. That changes nothing when
/// they name different assessments and none is checked against others, so beside
/// batches in flight (`flying`) a batch ends before the first operation that names an
/// assessment one of them names, or that is a submission (a submission is checked
/// against the previous round and the assessments it aggregates); while a submission
/// flies, nothing goes beside it. An assessment's successive saves therefore always
/// reach HQ in the order they were made, and none comes back `superseded` by its own
/// earlier save.
///
/// A `full` batch (more may follow in the outbox) leaves out the trailing operations
/// of its last assessment when others come before them, so that the next batch starts
/// with a new assessment and can fly beside this one.
fn batch_end(ops: &[dtm_store::OutboxOp], full: bool, flying: &[&Flying]) -> usize {
    if flying.iter().any(|f| f.submits) {
        return 0;
    }
    let beside = |op: &dtm_store::OutboxOp| {
        !flying.is_empty() && (op.kind == OpKind::Submit || flying.iter().any(|f| f.keys.contains(&op.key)))
    };
    let end = ops.iter().position(beside).unwrap_or(ops.len());
    match ops.last() {
        Some(last) if full && end == ops.len() => {
            let run = ops.iter().rev().take_while(|op| op.key == last.key).count();
            if run < ops.len() {
                end - run
            } else {
                end
            }
        }
        _ => end,
    }
}

/// A push batch sent and not answered yet.
struct Flight {
    sent: Sent,
    /// The batch size it was sent at, for sizing the next.
    batch: usize,
    sent_at: String,
    started: std::time::Instant,
    answer: tokio::task::JoinHandle<Result<wire::PushResponse, ClientError>>,
}

impl Flight {
    async fn answer(&mut self) -> Result<wire::PushResponse, ClientError> {
        match (&mut self.answer).await {
            Ok(answer) => answer,
            Err(e) => Err(ClientError::Protocol(format!("the push task failed: {e}"))),
        }
    }
}

/// What the device keeps of a push batch it sent.
struct Sent {
    /// The outbox sequence of its last operation.
    last_seq: u64,
    op_ids: Vec<String>,
    flying: Flying,
}

/// What `Device::prepare_batch` found.
enum Prepared {
    Batch(Sent, EncodedBody),
    /// Operations are waiting, but must not fly beside the batches in flight.
    Wait,
    /// Nothing is left to push.
    Done,
}

/// HQ's answers to a push batch as the outbox records them, counted in the report.
fn answers(resp: wire::PushResponse, report: &mut SyncReport) -> Result<Vec<Answer>> {
    let mut answers = Vec::with_capacity(resp.results.len());
    for r in resp.results {
        let duplicate = r.outcome == Outcome::Duplicate;
        let outcome = match (r.outcome, r.original) {
            (Outcome::Duplicate, Some(o)) => o,
            (o, _) => o,
        };
        report.pushed += 1;
        if duplicate {
            report.duplicates += 1;
        }
        let outcome = match outcome {
            // A duplicate without its first answer is one HQ applied before.
            Outcome::Applied | Outcome::Duplicate => {
                report.applied += 1;
                OpOutcome::Applied
            }
            Outcome::Conflict => {
                report.conflicts += 1;
                OpOutcome::Conflict
            }
            Outcome::Rejected => {
                report.rejected += 1;
                OpOutcome::Rejected
            }
            Outcome::Superseded => {
                report.superseded += 1;
                OpOutcome::Superseded
            }
        };
        answers.push(Answer { op_id: r.op_id, outcome, duplicate, code: r.code, reason: r.reason });
    }
    if answers.is_empty() {
        return Err(ClientError::Protocol("HQ answered a push with no results".into()).into());
    }
    Ok(answers)
}

fn api_outcome(o: OpOutcome) -> api::OpOutcome {
    match o {
        OpOutcome::Applied => api::OpOutcome::Applied,
        OpOutcome::Conflict => api::OpOutcome::Conflict,
        OpOutcome::Rejected => api::OpOutcome::Rejected,
        OpOutcome::Superseded => api::OpOutcome::Superseded,
    }
}

/// Retries transient failures as `policy` says (`RetryPolicy::delay`). The request is
/// rebuilt from the same data each time, so operation IDs never change between attempts.
async fn with_retries<T, F, Fut>(policy: RetryPolicy, mut attempt: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    let started = tokio::time::Instant::now();
    let mut failures = 0;
    loop {
        match attempt().await {
            Err(e) if e.is_transient() => {
                failures += 1;
                match policy.delay(failures, started.elapsed(), fastrand::f64()) {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => return Err(e),
                }
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(seq: u64, location: &str, kind: OpKind) -> dtm_store::OutboxOp {
        dtm_store::OutboxOp {
            seq,
            op_id: format!("op-{seq}"),
            key: AssessmentKey::new("R1", "muhalla", dtm_core::Pcode::parse(location).expect("a P-code")),
            kind,
            edits: Default::default(),
            reason: None,
            hlc: Default::default(),
            form_version: 1,
        }
    }

    fn flying(ops: &[dtm_store::OutboxOp]) -> Flying {
        Flying {
            keys: ops.iter().map(|o| o.key.clone()).collect(),
            submits: ops.iter().any(|o| o.kind == OpKind::Submit),
        }
    }

    #[test]
    fn a_batch_beside_one_in_flight_stops_before_an_assessment_it_names_or_a_submission() {
        let in_flight = flying(&[op(1, "LY02110401", OpKind::Edit), op(2, "LY02110402", OpKind::Edit)]);
        let next =
            [op(3, "LY02110403", OpKind::Edit), op(4, "LY02110401", OpKind::Edit), op(5, "LY02110404", OpKind::Edit)];
        assert_eq!(
            batch_end(&next, false, &[&in_flight]),
            1,
            "LY02110401's save must wait for the batch in flight, or HQ could apply it before the earlier one"
        );
        let next = [op(3, "LY02110403", OpKind::Edit), op(4, "LY02110403", OpKind::Submit)];
        assert_eq!(
            batch_end(&next, false, &[&in_flight]),
            1,
            "a submission is checked against other assessments and must not fly beside a batch"
        );
        let next = [op(3, "LY02110403", OpKind::Edit), op(4, "LY02110404", OpKind::Void)];
        assert_eq!(batch_end(&next, false, &[&in_flight]), 2, "saves of other assessments fly beside it");
        assert_eq!(batch_end(&next, false, &[]), 2, "with nothing in flight the batch is whole");
    }

    #[test]
    fn nothing_flies_beside_a_submission() {
        let in_flight = flying(&[op(1, "LY02110401", OpKind::Submit)]);
        let next = [op(2, "LY02110402", OpKind::Edit)];
        assert_eq!(batch_end(&next, false, &[&in_flight]), 0, "a submission flies alone");
        let alone = [op(1, "LY02110401", OpKind::Edit), op(2, "LY02110401", OpKind::Submit)];
        assert_eq!(batch_end(&alone, false, &[]), 2, "with nothing in flight a submission goes in its batch");
    }

    #[test]
    fn a_full_batch_ends_where_an_assessment_does_so_the_next_can_fly_beside_it() {
        let ops = [
            op(1, "LY02110401", OpKind::Edit),
            op(2, "LY02110401", OpKind::Edit),
            op(3, "LY02110402", OpKind::Edit),
            op(4, "LY02110402", OpKind::Edit),
        ];
        assert_eq!(
            batch_end(&ops, true, &[]),
            2,
            "LY02110402's saves may continue after this batch: they wait for the next"
        );
        assert_eq!(
            batch_end(&ops, false, &[]),
            4,
            "the outbox's last operations are all in this batch: nothing to leave out"
        );
        assert_eq!(
            batch_end(&ops[2..], true, &[]),
            2,
            "a batch of one assessment's saves is kept whole, or none would go"
        );
    }

    /// Pushes seeded random outboxes the way `sync_inner` does, two batches in flight,
    /// and checks what HQ could be given at once.
    #[test]
    fn batches_in_flight_together_never_share_an_assessment_or_a_submission_and_every_operation_goes_once_in_order() {
        let locations: Vec<String> = (1..=6).map(|i| format!("LY021104{i:02}")).collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..200 {
            let len = 1 + next(120);
            let ops: Vec<_> = (1..=len)
                .map(|seq| {
                    let kind = match next(20) {
                        0 => OpKind::Submit,
                        1 => OpKind::Void,
                        _ => OpKind::Edit,
                    };
                    op(seq, &locations[next(locations.len() as u64) as usize], kind)
                })
                .collect();
            let limit = 1 + next(25) as usize;
            let (mut sent, mut flights, mut pos) = (Vec::new(), VecDeque::<Vec<u64>>::new(), 0usize);
            loop {
                while flights.len() < PUSH_DEPTH && pos < ops.len() {
                    let read = &ops[pos..(pos + limit).min(ops.len())];
                    let beside: Vec<Flying> =
                        flights.iter().map(|f| flying(&ops[f[0] as usize - 1..f[f.len() - 1] as usize])).collect();
                    let end = batch_end(read, read.len() == limit, &beside.iter().collect::<Vec<_>>());
                    if end == 0 {
                        assert!(!flights.is_empty(), "with nothing in flight a batch always takes something");
                        break;
                    }
                    let batch = &read[..end];
                    for f in &beside {
                        assert!(
                            !f.submits && !batch.iter().any(|o| o.kind == OpKind::Submit),
                            "a submission flew beside a batch"
                        );
                        assert!(
                            !batch.iter().any(|o| f.keys.contains(&o.key)),
                            "two batches in flight named one assessment"
                        );
                    }
                    flights.push_back(batch.iter().map(|o| o.seq).collect());
                    pos += end;
                }
                // The device waits for the oldest batch's answer (HQ may apply the
                // other first: the checks above are what makes that harmless).
                let Some(answered) = flights.pop_front() else { break };
                sent.extend(answered);
            }
            assert_eq!(sent, (1..=len).collect::<Vec<_>>(), "every operation is sent once (limit {limit})");
        }
    }

    #[test]
    fn a_fast_link_grows_the_batch_and_a_slow_or_failing_one_shrinks_it() {
        let fast = BatchOutcome::Answered(Duration::from_millis(300));
        let slow = BatchOutcome::Answered(Duration::from_secs(30));
        assert!(next_batch(200, fast) > 200);
        assert_eq!(next_batch(200, slow), 100);
        assert_eq!(next_batch(200, BatchOutcome::LinkFailed), 100);
        assert_eq!(
            next_batch(200, BatchOutcome::Answered(Duration::from_secs(5))),
            200,
            "a steady link keeps its size"
        );
    }

    #[test]
    fn the_batch_stays_within_bounds() {
        let mut b = PUSH_BATCH;
        for _ in 0..50 {
            b = next_batch(b, BatchOutcome::Answered(Duration::from_millis(1)));
        }
        assert_eq!(b, MAX_BATCH);
        for _ in 0..50 {
            b = next_batch(b, BatchOutcome::LinkFailed);
        }
        assert_eq!(b, MIN_BATCH, "a bad link still moves some operations each time");
    }
}
