//! Passwords (argon2id) and device tokens (random, stored only as SHA-256 hashes).

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any password").to_string()
}

/// Checks a password against its PHC string.
///
/// It hashes in memory the thread keeps for the next login, rather than in 19 MiB
/// allocated and freed each time: glibc did not give freed blocks back, so HQ grew by
/// about 19 MiB per login up to some 280 MiB before it levelled off. Login hashes run
/// on HQ's few hashing threads (`login_guard::HashSlots`), so this is their memory.
pub fn verify_password(password: &str, phc: &str) -> bool {
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    MEMORY.with_borrow_mut(|memory| verify_in(password, phc, memory)).unwrap_or(false)
}

fn verify_in(password: &str, phc: &str, memory: &mut Vec<Block>) -> Option<bool> {
    let hash = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = hash.version.map(Version::try_from).transpose().ok()?.unwrap_or_default();
    let params = Params::try_from(&hash).ok()?;
    let expected = hash.hash?;
    let mut salt = [0u8; 64];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .ok()?;
    // Compare in constant time: how much of a guess matched must not show in the timing.
    Some(out.iter().zip(expected.as_bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0)
}

/// A fresh bearer token: 256 random bits, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A one-time password a reset hands out: 12 letters of the enrolment alphabet in
/// groups of four (about 54 bits), read off a screen and typed once.
pub fn one_time_password() -> String {
    let alphabet = dtm_core::accounts::ENROLMENT_ALPHABET;
    let letters: Vec<String> = (0..3)
        .map(|_| (0..4).map(|_| alphabet[rand::rngs::OsRng.next_u32() as usize % alphabet.len()] as char).collect())
        .collect();
    letters.join("-")
}

/// A fresh enrolment code as shown (`ACDE-FGHJ`) and the hash HQ keeps of it.
pub fn new_enrolment_code() -> (String, String) {
    let mut random = [0u32; dtm_core::accounts::CODE_LEN];
    random.iter_mut().for_each(|n| *n = rand::rngs::OsRng.next_u32());
    let code = dtm_core::accounts::enrolment_code(&random);
    let hash = enrolment_hash(&code).expect("HQ's own codes are codes");
    (code, hash)
}

/// The hash HQ keeps of an enrolment code, however it was typed; None if it is not one.
pub fn enrolment_hash(code: &str) -> Option<String> {
    dtm_core::accounts::normalise_code(code).map(|c| token_hash(&c))
}

/// The QR code of an enrolment link, as an SVG image.
pub fn qr_svg(link: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M)?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build())
}

/// The same QR code drawn in a terminal, for `dtm-hq user enrol`.
pub fn qr_text(link: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M)?;
    Ok(code.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build())
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fixed hash to verify against when the user does not exist, so that a wrong
/// username takes as long as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_argon2id_hash() {
        let h = hash_password("enumerator-demo");
        assert!(h.starts_with("$argon2id$"), "passwords must be hashed with argon2id");
        assert!(verify_password("enumerator-demo", &h));
        assert!(!verify_password("enumerator-dem0", &h));
        assert!(!verify_password("enumerator-demo", "not a PHC string"), "a broken hash opens nothing");
        let truncated = &h[..h.len() - 4];
        assert!(!verify_password("enumerator-demo", truncated), "a shorter stored hash must not match a prefix");
    }

    #[test]
    fn tokens_are_unique_and_stored_only_as_hashes() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), a, "the database must never hold a usable token");
    }
}
