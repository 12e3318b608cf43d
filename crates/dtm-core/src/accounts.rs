//! Who may manage whose account, what a new password must be, and the one-time
//! enrolment codes a device joins HQ with. Pure: HQ, the `dtm-hq` commands and the
//! field app decide the same way, and randomness comes in as bytes.

use crate::gazetteer::Gazetteer;
use crate::scope::{Pcode, Scope};
use crate::text::{AccountTextError, TextKind, PASSWORD_MIN_CHARS};
use crate::workflow::Role;
use crate::ErrorCode;
use serde::{Deserialize, Serialize};

/// The language a person reads the app in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Ar,
    #[default]
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ar => "ar",
            Self::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Ar, Self::En].into_iter().find(|l| l.as_str() == s)
    }
}

/// Why an account change is refused. Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("only an admin manages supervisors and admins")]
    NotYours,
    #[error("{0} is outside your area; you manage enumerators inside it only")]
    OutsideScope(String),
    #[error("a scope is one or more P-codes")]
    EmptyScope,
    #[error("{0} is not a location in the gazetteer")]
    UnknownLocation(String),
    #[error("you cannot disable or demote yourself; ask another admin")]
    Yourself,
    #[error("HQ must keep at least one active admin")]
    LastAdmin,
    #[error("your own password is changed with your current one, not reset or re-enrolled; ask another admin")]
    OwnPassword,
}

impl AccountError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotYours => ErrorCode::Forbidden,
            Self::OutsideScope(_) => ErrorCode::OutOfScope,
            Self::EmptyScope => ErrorCode::EmptyScope,
            Self::UnknownLocation(_) => ErrorCode::UnknownLocation,
            Self::Yourself => ErrorCode::OwnAccount,
            Self::LastAdmin => ErrorCode::LastAdmin,
            Self::OwnPassword => ErrorCode::OwnAccount,
        }
    }
}

/// The person managing an account.
#[derive(Debug, Clone, Copy)]
pub struct Manager<'a> {
    pub username: &'a str,
    pub role: Role,
    pub scope: &'a Scope,
}

/// An account as it is, or as a change would leave it.
#[derive(Debug, Clone, Copy)]
pub struct Managed<'a> {
    pub role: Role,
    pub scope: &'a [String],
}

/// Checks a scope's P-codes: at least one, each a location of the gazetteer (any
/// level; `LY` alone is the whole country).
pub fn check_scope(scope: &[String], gazetteer: &Gazetteer) -> Result<(), AccountError> {
    if scope.is_empty() {
        return Err(AccountError::EmptyScope);
    }
    for code in scope {
        if code != "LY" && gazetteer.get(code).is_none() {
            return Err(AccountError::UnknownLocation(code.clone()));
        }
    }
    Ok(())
}

/// May `manager` manage an account that is `managed`? Admins manage everyone;
/// supervisors manage enumerators whose whole scope is inside their own; enumerators
/// manage nobody.
pub fn may_manage(manager: Manager<'_>, managed: Managed<'_>) -> Result<(), AccountError> {
    match manager.role {
        Role::Admin => Ok(()),
        Role::Supervisor if managed.role == Role::Enumerator => {
            for code in managed.scope {
                let inside = Pcode::parse(code).is_ok_and(|p| manager.scope.contains(&p));
                if !inside {
                    return Err(AccountError::OutsideScope(code.clone()));
                }
            }
            Ok(())
        }
        _ => Err(AccountError::NotYours),
    }
}

/// May `manager` give `username` a password without knowing the current one: a reset
/// (a one-time password) or an enrolment code (whose redeemer sets a new one)? Never
/// for their own account: then a session alone, a stolen one too, would be enough to
/// take the account over for good, where changing one's own password asks for the
/// current one. HQ's command line, which needs the database, resets anyone.
pub fn may_set_password(manager: Manager<'_>, username: &str) -> Result<(), AccountError> {
    if manager.username == username {
        return Err(AccountError::OwnPassword);
    }
    Ok(())
}

/// May `manager` change an account from `before` to `after`? Both must be theirs to
/// manage: a supervisor cannot move an enumerator out of their area, nor promote one.
pub fn may_change(manager: Manager<'_>, before: Managed<'_>, after: Managed<'_>) -> Result<(), AccountError> {
    may_manage(manager, before)?;
    may_manage(manager, after)
}

/// Checks a password being set: the length rules of [`crate::text::check_new_password`],
/// not one of the common passwords HQ ships, and not the username inside it.
pub fn check_new_password(username: &str, password: &str) -> Result<(), AccountTextError> {
    crate::text::check_new_password(password)?;
    let lower = password.to_lowercase();
    let common = COMMON_PASSWORDS.lines().any(|p| p == lower);
    let has_username = username.len() >= 3 && lower.contains(&username.to_lowercase());
    if common || has_username || one_repeated(&lower) {
        return Err(AccountTextError::Common);
    }
    Ok(())
}

/// A password that is one short run repeated (`abcabcabcabc`, `1111111111`).
fn one_repeated(password: &str) -> bool {
    let chars: Vec<char> = password.chars().collect();
    (1..=3).any(|n| chars.len() >= 2 * n && chars.chunks(n).all(|c| c == &chars[..c.len()]))
}

/// The most common passwords of at least [`PASSWORD_MIN_CHARS`] characters (shorter
/// ones are refused anyway); data/README.md gives the source.
const COMMON_PASSWORDS: &str = include_str!("../../../data/passwords/common-10plus.txt");

/// How many letters an enrolment code has: 23^8 ≈ 7.8 × 10^10 codes.
pub const CODE_LEN: usize = 8;

/// Hours an enrolment code stays valid unless HQ is told otherwise.
pub const DEFAULT_ENROLMENT_HOURS: i64 = 72;

/// An enrolment code from random numbers (one per letter), written `ABCD-EFGH`.
pub fn enrolment_code(random: &[u32; CODE_LEN]) -> String {
    let letters: String =
        random.iter().map(|n| ENROLMENT_ALPHABET[*n as usize % ENROLMENT_ALPHABET.len()] as char).collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// The letters of an enrolment code: digits and capitals without those that look or
/// sound alike on a bad phone line (0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V).
pub const ENROLMENT_ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTWXY";

/// A code as typed or read from a QR link, in its one canonical form (8 capitals,
/// no dash), or None if it cannot be one. Spaces, dashes and lower case are forgiven.
pub fn normalise_code(input: &str) -> Option<String> {
    let code = input.strip_prefix("dtm-enrol:").unwrap_or(input);
    let code: String = code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    (code.len() == CODE_LEN && code.bytes().all(|b| ENROLMENT_ALPHABET.contains(&b))).then_some(code)
}

/// What a QR code of an enrolment carries: HQ's address and the code, as a link
/// `https://hq.example/enrol#code=ABCDEFGH`. Never a password.
pub fn enrolment_link(hq_url: &str, code: &str) -> String {
    format!("{}/enrol#code={}", hq_url.trim_end_matches('/'), normalise_code(code).unwrap_or_default())
}

/// Reads an enrolment link back into (HQ address, code); None if it is not one.
pub fn parse_enrolment_link(link: &str) -> Option<(String, String)> {
    let (base, code) = link.trim().split_once("/enrol#code=")?;
    let code = normalise_code(code)?;
    (base.starts_with("http://") || base.starts_with("https://")).then(|| (base.to_owned(), code))
}

/// A display name: not blank, and bounded like every name.
pub fn check_display_name(name: &str) -> Result<(), AccountTextError> {
    let ok = !name.trim().is_empty() && crate::text::check(TextKind::Name, "display_name", name).is_ok();
    ok.then_some(()).ok_or(AccountTextError::DisplayName)
}

const _: () = assert!(PASSWORD_MIN_CHARS == 10, "data/passwords/common-10plus.txt holds passwords of 10+ characters");

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn supervisors_manage_only_enumerators_inside_their_own_area() {
        let ly02 = Scope::new(["LY02"]);
        let sup = Manager { username: "sup", role: Role::Supervisor, scope: &ly02 };
        let inside = scope(&["LY0211"]);
        let outside = scope(&["LY0211", "LY0104"]);
        assert!(may_manage(sup, Managed { role: Role::Enumerator, scope: &inside }).is_ok());
        assert_eq!(
            may_manage(sup, Managed { role: Role::Enumerator, scope: &outside }),
            Err(AccountError::OutsideScope("LY0104".into())),
            "one P-code outside the supervisor's area is enough to refuse"
        );
        assert_eq!(may_manage(sup, Managed { role: Role::Supervisor, scope: &inside }), Err(AccountError::NotYours));
        assert_eq!(
            may_change(
                sup,
                Managed { role: Role::Enumerator, scope: &inside },
                Managed { role: Role::Enumerator, scope: &outside }
            ),
            Err(AccountError::OutsideScope("LY0104".into())),
            "a supervisor cannot move an enumerator out of their own area"
        );
        let all = Scope::whole_country();
        let admin = Manager { username: "admin", role: Role::Admin, scope: &all };
        assert!(may_manage(admin, Managed { role: Role::Admin, scope: &scope(&["LY"]) }).is_ok());
        let enumerator = Manager { username: "e", role: Role::Enumerator, scope: &ly02 };
        assert_eq!(
            may_manage(enumerator, Managed { role: Role::Enumerator, scope: &inside }),
            Err(AccountError::NotYours)
        );
    }

    #[test]
    fn no_one_resets_or_enrols_their_own_account_not_even_an_admin() {
        let all = Scope::whole_country();
        let admin = Manager { username: "admin", role: Role::Admin, scope: &all };
        assert_eq!(
            may_set_password(admin, "admin"),
            Err(AccountError::OwnPassword),
            "a session alone must not set its own account's password: a stolen one would keep the account"
        );
        assert_eq!(AccountError::OwnPassword.code(), "own_account");
        assert!(may_set_password(admin, "salem").is_ok(), "another account's password is reset as before");
    }

    #[test]
    fn a_scope_is_one_or_more_known_locations_of_any_level() {
        let g = Gazetteer::libya();
        assert!(check_scope(&scope(&["LY"]), g).is_ok());
        assert!(check_scope(&scope(&["LY02", "LY0211", "LY021101"]), g).is_ok());
        assert_eq!(check_scope(&[], g), Err(AccountError::EmptyScope));
        assert_eq!(check_scope(&scope(&["LY0299"]), g), Err(AccountError::UnknownLocation("LY0299".into())));
    }

    #[test]
    fn common_passwords_the_username_and_repeats_are_refused_whatever_their_length() {
        for bad in ["1234567890", "QWERTYUIOP", "password123", "salem.ly02-2026", "abcabcabcabc", "xxxxxxxxxxxx"] {
            assert_eq!(
                check_new_password("salem.ly02", bad),
                Err(AccountTextError::Common),
                "{bad:?} is guessed early by anyone who tries"
            );
        }
        assert_eq!(check_new_password("salem", "short"), Err(AccountTextError::Password));
        assert!(check_new_password("salem", "camel tent oasis 44").is_ok());
        assert!(check_new_password("salem", "واحة الجمل الكبيرة").is_ok());
    }

    #[test]
    fn an_enrolment_code_reads_aloud_without_look_alikes_and_survives_how_it_is_typed() {
        let code = enrolment_code(&[0, 1, 2, 3, 22, 23, 1000, u32::MAX]);
        assert_eq!(code.len(), 9, "8 letters and a dash");
        assert!(!code.contains(['0', 'O', '1', 'I', 'L', '2', 'Z', '5', 'S', '8', 'B', 'U', 'V']));
        let canonical = normalise_code(&code).expect("a code HQ made is a code");
        assert_eq!(normalise_code(&code.to_lowercase().replace('-', " ")), Some(canonical.clone()));
        assert_eq!(normalise_code("ABCD-EFGH"), None, "B is not in the alphabet");
        assert_eq!(normalise_code("ACDE-FGH"), None, "too short");
        let link = enrolment_link("https://hq.example.org/", &code);
        assert_eq!(link, format!("https://hq.example.org/enrol#code={canonical}"));
        assert_eq!(parse_enrolment_link(&link), Some(("https://hq.example.org".into(), canonical)));
        assert_eq!(parse_enrolment_link("ftp://x/enrol#code=ACDEFGHJ"), None);
    }
}
