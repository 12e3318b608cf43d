//! The device store's key, kept beside the store in its key file.
//!
//! SQLCipher encrypts the store with a random 256-bit data key. That key is never
//! written down bare: the key file holds it sealed (XChaCha20-Poly1305) once per
//! account that has opened the store on this device, each time under a key derived
//! from that account's password with argon2id. So:
//! - opening the store needs an account's password and no connection (offline login);
//! - a password change seals the same data key again under the new password, one
//!   small write, and the store itself is never re-encrypted;
//! - HQ keeps a key of its own for each store, and the data key is sealed under it too:
//!   after a password reset at HQ, the account that opened the store signs in with the
//!   new password, HQ hands that key over (never for a revoked device, never to another
//!   account), and the store opens with its unsent work;
//! - the file reveals the user names that may open it and the store's id, nothing else.
//!
//! Wrong passwords are counted in the file: after [`FREE_TRIES`] in a row each further
//! try waits, doubling from [`FIRST_WAIT_MS`] up to [`LONGEST_WAIT_MS`]. That slows a
//! person at the keyboard; against a copy of the files only argon2id's cost stands,
//! which is why it is high ([`Cost::FIELD`]).
//!
//! Everything here is pure but for [`KeyFile::read`] and [`KeyFile::write`]: the
//! caller passes the time in and writes the file back after every try.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Wrong passwords allowed in a row before tries are slowed.
pub const FREE_TRIES: u32 = 5;
/// The wait after the first slowed try; it doubles with each further wrong one.
pub const FIRST_WAIT_MS: u64 = 30_000;
/// The longest wait between tries.
pub const LONGEST_WAIT_MS: u64 = 15 * 60_000;

const FORMAT: u32 = 1;
const KEY_LEN: usize = 32;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;

/// The random key SQLCipher encrypts the store with. It lives in memory only while
/// the store is open, and is wiped when dropped.
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl DataKey {
    pub fn random() -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::getrandom(key.as_mut()).expect("the OS random source works");
        Self(key)
    }

    /// SQLCipher's raw-key form, `x'…'`: the key is already random, so SQLCipher's own
    /// password derivation is skipped (opening costs nothing beyond argon2id).
    pub(crate) fn sqlcipher_key(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("x'{}'", hex::encode(self.0.as_ref())))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

/// What argon2id spends to turn a password into a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl Cost {
    /// 64 MiB and 3 passes: a fraction of a second once per login on a field laptop,
    /// and costly to guess at scale from a stolen disk (figures in dtm-bench-device).
    pub const FIELD: Cost = Cost { memory_kib: 64 * 1024, passes: 3, lanes: 1 };
    /// The smallest cost argon2 allows, for tests that open stores by the hundred. The
    /// cost is written in each slot, so a store sealed this way still opens anywhere.
    pub const CHEAP_FOR_TESTS: Cost = Cost { memory_kib: 8, passes: 1, lanes: 1 };
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    ciphertext: String,
}

/// One account's sealed copy of the data key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    username: String,
    cost: Cost,
    salt: String,
    sealed: Sealed,
}

/// The key file: sealed copies of the data key and the count of wrong passwords.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    format: u32,
    slots: Vec<Slot>,
    /// Wrong passwords in a row since the last right one.
    failures: u32,
    /// No password is tried before this time (milliseconds since 1970).
    not_before_ms: u64,
    /// The store's own id (its device id): what HQ knows the store by, so that a locked
    /// device can name it when it asks HQ for its key.
    #[serde(default)]
    store_id: Option<String>,
    /// The data key sealed under the key HQ keeps for this store: it opens the store when
    /// no password on the device can (a password reset at HQ). Never written bare here.
    #[serde(default)]
    escrow: Option<Sealed>,
}

#[derive(Debug, thiserror::Error)]
pub enum UnlockError {
    #[error("wrong user name or password")]
    WrongPassword,
    #[error("too many wrong passwords in a row; try again in {} s", .wait_ms.div_ceil(1000))]
    Throttled { wait_ms: u64 },
    #[error("{0} has not opened this device's data yet; sign in once while HQ can be reached")]
    NoSlot(String),
    /// The store is locked to other accounts, and without one of their passwords its
    /// key cannot be reached (so a new account cannot be given it).
    #[error("the data on this device is locked to {0}: sign in as them first")]
    HeldBy(String),
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("the key file {path} cannot be read: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the key file {path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
}

impl Default for KeyFile {
    fn default() -> Self {
        Self { format: FORMAT, slots: Vec::new(), failures: 0, not_before_ms: 0, store_id: None, escrow: None }
    }
}

impl KeyFile {
    /// The key file beside a store: `device.sqlite3` → `device.sqlite3.key`.
    pub fn path_for(store: &Path) -> PathBuf {
        crate::sqlite::sibling(store, ".key")
    }

    /// Reads the key file; `None` when there is none (a store never encrypted).
    pub fn read(path: &Path) -> Result<Option<Self>, KeyFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(KeyFileError::Io { path: path.to_owned(), source }),
        };
        let file: Self = serde_json::from_str(&text)
            .map_err(|e| KeyFileError::Damaged { path: path.to_owned(), reason: e.to_string() })?;
        if file.format != FORMAT {
            return Err(KeyFileError::Damaged {
                path: path.to_owned(),
                reason: format!("format {} is not one this app reads (it reads {FORMAT})", file.format),
            });
        }
        Ok(Some(file))
    }

    /// Writes the key file whole or not at all: a sibling file, synced, then renamed
    /// over the old one, so a laptop that dies mid-write keeps the previous key file.
    pub fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        let io = |source| KeyFileError::Io { path: path.to_owned(), source };
        let tmp = crate::sqlite::sibling(path, ".new");
        let json = serde_json::to_vec_pretty(self).expect("the key file serialises");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
            // The rename itself is durable once the folder is synced (not on Windows,
            // where a folder cannot be opened this way; there the rename is journalled).
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// The accounts that may open the store here, in the order they were added.
    pub fn accounts(&self) -> Vec<&str> {
        self.slots.iter().map(|s| s.username.as_str()).collect()
    }

    /// How long the next try must wait, from `now_ms`; 0 when it may go ahead.
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        self.not_before_ms.saturating_sub(now_ms)
    }

    /// Wrong passwords in a row since the last right one.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Opens the data key with an account's password. A wrong password is counted
    /// (and, past [`FREE_TRIES`], slows the next try); a right one clears the count.
    /// Either way the file changed: write it back.
    pub fn open(&mut self, username: &str, password: &str, now_ms: u64) -> Result<DataKey, UnlockError> {
        let wait_ms = self.wait_ms(now_ms);
        if wait_ms > 0 {
            return Err(UnlockError::Throttled { wait_ms });
        }
        let Some(slot) = self.slots.iter().find(|s| s.username == username) else {
            return Err(UnlockError::NoSlot(username.to_owned()));
        };
        match unseal(slot, password) {
            Some(key) => {
                self.failures = 0;
                self.not_before_ms = 0;
                Ok(key)
            }
            None => {
                self.failures += 1;
                if self.failures >= FREE_TRIES {
                    let doublings = (self.failures - FREE_TRIES).min(16);
                    let wait = (FIRST_WAIT_MS << doublings).min(LONGEST_WAIT_MS);
                    self.not_before_ms = now_ms + wait;
                }
                Err(UnlockError::WrongPassword)
            }
        }
    }

    /// The store's id, once HQ's key for it is kept here.
    pub fn store_id(&self) -> Option<&str> {
        self.store_id.as_deref()
    }

    /// Whether the data key is also sealed under HQ's key for store `store_id`.
    pub fn has_escrow_for(&self, store_id: &str) -> bool {
        self.escrow.is_some() && self.store_id.as_deref() == Some(store_id)
    }

    /// Seals the data key under HQ's key for this store (hex, as HQ sends it). A key
    /// that is not 32 bytes of hex is ignored: it opens nothing, so it protects nothing.
    pub fn seal_escrow(&mut self, store_id: &str, hq_key: &str, key: &DataKey) -> bool {
        let Some(kek) = hq_kek(hq_key) else { return false };
        self.escrow = Some(seal_with(&kek, key, escrow_bound(store_id).as_bytes()));
        self.store_id = Some(store_id.to_owned());
        true
    }

    /// Opens the data key with HQ's key for this store.
    pub fn open_escrow(&self, hq_key: &str) -> Option<DataKey> {
        let (sealed, store_id, kek) = (self.escrow.as_ref()?, self.store_id.as_deref()?, hq_kek(hq_key)?);
        open_sealed(&kek, sealed, escrow_bound(store_id).as_bytes())
    }

    /// Seals the data key under an account's password, replacing that account's
    /// earlier copy (a password change) or adding one (a new account on this device).
    pub fn seal(&mut self, username: &str, password: &str, key: &DataKey, cost: Cost) {
        let mut salt = [0u8; SALT_LEN];
        getrandom::getrandom(&mut salt).expect("the OS random source works");
        let kek = derive(password, &salt, cost);
        let slot = Slot {
            username: username.to_owned(),
            cost,
            salt: hex::encode(salt),
            sealed: seal_with(&kek, key, username.as_bytes()),
        };
        match self.slots.iter_mut().find(|s| s.username == username) {
            Some(existing) => *existing = slot,
            None => self.slots.push(slot),
        }
    }
}

fn derive(password: &str, salt: &[u8], cost: Cost) -> Zeroizing<[u8; KEY_LEN]> {
    let params = Params::new(cost.memory_kib, cost.passes, cost.lanes, Some(KEY_LEN))
        .expect("the costs this app writes are ones argon2 accepts");
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, out.as_mut())
        .expect("a 32-byte output and a 16-byte salt are within argon2's bounds");
    out
}

/// Seals the data key; `bound` (the user name) is authenticated with it, so a slot
/// moved to another name no longer opens.
fn seal_with(kek: &[u8; KEY_LEN], key: &DataKey, bound: &[u8]) -> Sealed {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut nonce).expect("the OS random source works");
    let cipher = XChaCha20Poly1305::new(kek.into());
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: key.0.as_ref(), aad: bound })
        .expect("sealing 32 bytes cannot fail");
    Sealed { nonce: hex::encode(nonce), ciphertext: hex::encode(ciphertext) }
}

fn unseal(slot: &Slot, password: &str) -> Option<DataKey> {
    let salt = hex::decode(&slot.salt).ok()?;
    // A slot whose cost argon2 refuses was not written by this app: it opens nothing.
    Params::new(slot.cost.memory_kib, slot.cost.passes, slot.cost.lanes, Some(KEY_LEN)).ok()?;
    let kek = derive(password, &salt, slot.cost);
    open_sealed(&kek, &slot.sealed, slot.username.as_bytes())
}

fn open_sealed(kek: &[u8; KEY_LEN], sealed: &Sealed, bound: &[u8]) -> Option<DataKey> {
    let nonce = hex::decode(&sealed.nonce).ok().filter(|n| n.len() == NONCE_LEN)?;
    let ciphertext = hex::decode(&sealed.ciphertext).ok()?;
    let cipher = XChaCha20Poly1305::new(kek.into());
    let plain =
        Zeroizing::new(cipher.decrypt(XNonce::from_slice(&nonce), Payload { msg: &ciphertext, aad: bound }).ok()?);
    let bytes: [u8; KEY_LEN] = plain.as_slice().try_into().ok()?;
    Some(DataKey(Zeroizing::new(bytes)))
}

/// HQ's key for a store, as it travels (64 hex digits).
fn hq_kek(hq_key: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let bytes = Zeroizing::new(hex::decode(hq_key.trim()).ok()?);
    Some(Zeroizing::new(bytes.as_slice().try_into().ok()?))
}

fn escrow_bound(store_id: &str) -> String {
    format!("escrow:{store_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const COST: Cost = Cost::CHEAP_FOR_TESTS;

    fn same(a: &DataKey, b: &DataKey) -> bool {
        a.0.as_ref() == b.0.as_ref()
    }

    #[test]
    fn the_right_password_opens_the_same_data_key_and_a_wrong_one_does_not() {
        let key = DataKey::random();
        let mut file = KeyFile::default();
        file.seal("amal", "olive tree 42", &key, COST);
        let opened = file.open("amal", "olive tree 42", 0).expect("the sealing password opens it");
        assert!(same(&opened, &key), "the opened key must be the very key the store is encrypted with");
        assert!(
            matches!(file.open("amal", "olive tree 43", 0), Err(UnlockError::WrongPassword)),
            "a password one character off must not open the store"
        );
        assert!(
            matches!(file.open("omar", "olive tree 42", 0), Err(UnlockError::NoSlot(u)) if u == "omar"),
            "another account's password never opens a slot it does not own"
        );
    }

    #[test]
    fn a_password_change_reseals_the_same_key_and_the_old_password_stops_working() {
        let key = DataKey::random();
        let mut file = KeyFile::default();
        file.seal("amal", "first password", &key, COST);
        file.seal("amal", "second password", &key, COST);
        assert_eq!(file.accounts(), ["amal"], "a change replaces the account's slot, it does not add one");
        assert!(same(&file.open("amal", "second password", 0).unwrap(), &key), "the store's key must not change");
        assert!(matches!(file.open("amal", "first password", 0), Err(UnlockError::WrongPassword)));
    }

    #[test]
    fn five_wrong_passwords_in_a_row_slow_the_next_tries_and_a_right_one_clears_the_count() {
        let key = DataKey::random();
        let mut file = KeyFile::default();
        file.seal("amal", "right", &key, COST);
        let t0 = 1_000_000;
        for i in 1..FREE_TRIES {
            assert!(matches!(file.open("amal", "wrong", t0), Err(UnlockError::WrongPassword)));
            assert_eq!(file.wait_ms(t0), 0, "the first {FREE_TRIES} tries are free (try {i})");
        }
        assert!(matches!(file.open("amal", "wrong", t0), Err(UnlockError::WrongPassword)));
        assert_eq!(file.wait_ms(t0), FIRST_WAIT_MS, "the fifth wrong password in a row starts the wait");
        assert!(
            matches!(file.open("amal", "right", t0 + 1_000), Err(UnlockError::Throttled { wait_ms }) if wait_ms == FIRST_WAIT_MS - 1_000),
            "during the wait even the right password is not tried, so guesses cannot go faster"
        );
        let later = t0 + FIRST_WAIT_MS;
        assert!(matches!(file.open("amal", "wrong", later), Err(UnlockError::WrongPassword)));
        assert_eq!(file.wait_ms(later), 2 * FIRST_WAIT_MS, "each further wrong password doubles the wait");
        let much_later = later + LONGEST_WAIT_MS;
        file.open("amal", "right", much_later).expect("after the wait the right password opens");
        assert_eq!((file.failures(), file.wait_ms(much_later)), (0, 0), "a right password clears the count");
    }

    #[test]
    fn the_wait_never_grows_past_the_longest() {
        let mut file = KeyFile::default();
        file.seal("amal", "right", &DataKey::random(), COST);
        let mut now = 0;
        for _ in 0..40 {
            let _ = file.open("amal", "wrong", now);
            assert!(file.wait_ms(now) <= LONGEST_WAIT_MS, "a user must never be locked out for hours");
            now += file.wait_ms(now);
        }
    }

    #[test]
    fn the_key_file_survives_a_write_and_read_and_holds_no_key_or_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = KeyFile::path_for(&dir.path().join("device.sqlite3"));
        assert_eq!(path.file_name().unwrap(), "device.sqlite3.key");
        assert!(KeyFile::read(&path).unwrap().is_none(), "no file reads as no key file");
        let key = DataKey::random();
        let mut file = KeyFile::default();
        file.seal("amal", "olive tree 42", &key, COST);
        file.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let bare = hex::encode(key.0.as_ref());
        assert!(!text.contains(&bare), "the data key must never be written bare");
        assert!(!text.contains("olive tree"), "the password must never be written");
        let mut back = KeyFile::read(&path).unwrap().expect("the file was written");
        assert!(same(&back.open("amal", "olive tree 42", 0).unwrap(), &key));
        std::fs::write(&path, "{ not json").unwrap();
        assert!(
            matches!(KeyFile::read(&path), Err(KeyFileError::Damaged { .. })),
            "a damaged file is named, not ignored"
        );
    }

    #[test]
    fn hqs_key_for_the_store_opens_the_data_key_and_only_for_that_store() {
        let key = DataKey::random();
        let hq_key = "ab".repeat(32);
        let mut file = KeyFile::default();
        file.seal("amal", "forgotten", &key, COST);
        assert!(!file.seal_escrow("store-1", "not hex", &key), "a malformed key from HQ seals nothing");
        assert!(file.seal_escrow("store-1", &hq_key, &key));
        assert!(file.has_escrow_for("store-1") && !file.has_escrow_for("store-2"));
        assert!(same(&file.open_escrow(&hq_key).expect("HQ's key opens it"), &key), "the very data key");
        assert!(file.open_escrow(&"cd".repeat(32)).is_none(), "another store's key does not");
        file.store_id = Some("store-2".into());
        assert!(file.open_escrow(&hq_key).is_none(), "the store id is bound into the seal");
    }

    #[test]
    fn a_slot_renamed_to_another_account_opens_nothing() {
        let key = DataKey::random();
        let mut file = KeyFile::default();
        file.seal("amal", "pw", &key, COST);
        file.slots[0].username = "omar".into();
        assert!(
            matches!(file.open("omar", "pw", 0), Err(UnlockError::WrongPassword)),
            "the user name is bound into the seal, so editing the file cannot hand a slot to someone else"
        );
    }
}
