//! How long each kind of free text may be. One home for the limits, so that the
//! field app refuses what HQ would refuse, and HQ never stores (and sends on to every
//! device in scope) megabytes typed or pasted into a name, a note or a comment.
//!
//! Lengths are counted in characters (Unicode scalar values), not bytes, so Arabic
//! text gets the same room as English.

use crate::ErrorCode;

/// A kind of free text, by what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A name: a device's name, a person's display name, a round's title, a username.
    Name,
    /// A password as typed at login. Long enough for any passphrase; argon2 reads the
    /// whole of it, so it is bounded too.
    Password,
    /// A text answer in a form, or a justification note of a warning (`note:<rule>`),
    /// unless the form gives the field a `max_length` of its own.
    Note,
    /// A supervisor's review comment.
    Comment,
    /// Why an assessment was voided or a conflict settled as it was.
    Reason,
}

impl TextKind {
    /// The most characters this kind of text may hold.
    pub const fn max_chars(self) -> usize {
        match self {
            Self::Name => 200,
            Self::Password => 1_024,
            Self::Note => 2_000,
            Self::Comment => 4_000,
            Self::Reason => 2_000,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Password => "password",
            Self::Note => "note",
            Self::Comment => "comment",
            Self::Reason => "reason",
        }
    }
}

/// Text longer than its kind allows. Its code is `text_too_long`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{what}` is {chars} characters long; at most {max} are kept")]
pub struct TextTooLong {
    /// What the text is (a field id, `device_name`, `comment`, …).
    pub what: String,
    pub chars: usize,
    pub max: usize,
}

impl TextTooLong {
    pub const CODE: ErrorCode = ErrorCode::TextTooLong;

    pub fn code(&self) -> ErrorCode {
        Self::CODE
    }
}

/// Checks `text` against a limit of `max` characters; `what` names it in the error.
pub fn check_len(what: &str, text: &str, max: usize) -> Result<(), TextTooLong> {
    // A string of at most `max` bytes has at most `max` characters: skip the count.
    if text.len() <= max {
        return Ok(());
    }
    let chars = text.chars().count();
    if chars <= max {
        Ok(())
    } else {
        Err(TextTooLong { what: what.to_owned(), chars, max })
    }
}

/// Checks `text` against the limit of its kind.
pub fn check(kind: TextKind, what: &str, text: &str) -> Result<(), TextTooLong> {
    check_len(what, text, kind.max_chars())
}

/// Why a new account's username or password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountTextError {
    #[error("a username is 2 to 64 characters: lowercase letters a–z, digits, `.`, `_` or `-`")]
    Username,
    #[error("a password has at least {PASSWORD_MIN_CHARS} characters and at most {} (a passphrase of a few words is best)", TextKind::Password.max_chars())]
    Password,
    #[error("this password is among the most common ones, repeats itself or holds the username; choose another")]
    Common,
    #[error("a display name is 1 to 200 characters and not blank")]
    DisplayName,
}

impl AccountTextError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Username => ErrorCode::BadUsername,
            Self::Password | Self::Common => ErrorCode::WeakPassword,
            Self::DisplayName => ErrorCode::BadDisplayName,
        }
    }
}

/// The fewest characters a new password may have.
pub const PASSWORD_MIN_CHARS: usize = 10;

/// Checks a new account's username: typed at login on a field laptop, read aloud over
/// a bad line, so plain ASCII only.
pub fn check_username(username: &str) -> Result<(), AccountTextError> {
    let ok = (2..=64).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    ok.then_some(()).ok_or(AccountTextError::Username)
}

/// Checks a password being set (not one typed at login): long enough, bounded, and not
/// only spaces.
pub fn check_new_password(password: &str) -> Result<(), AccountTextError> {
    let chars = password.chars().count();
    let ok = chars >= PASSWORD_MIN_CHARS
        && chars <= TextKind::Password.max_chars()
        && password.trim().chars().count() >= PASSWORD_MIN_CHARS;
    ok.then_some(()).ok_or(AccountTextError::Password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_short_plain_ascii_and_passwords_long_enough() {
        for good in ["admin", "a.salem", "enum_07", "sup-ly02"] {
            assert_eq!(check_username(good), Ok(()), "{good} is a fine username");
        }
        for bad in ["a", "Admin", "سالم", "a b", &"x".repeat(65), ""] {
            assert_eq!(check_username(bad), Err(AccountTextError::Username), "{bad:?} must be refused");
        }
        assert_eq!(check_new_password("correct horse"), Ok(()));
        assert_eq!(check_new_password("كلمة سر طويلة"), Ok(()), "Arabic passphrases count by characters");
        for bad in ["short", "          ", "  123456789  "] {
            assert_eq!(check_new_password(bad), Err(AccountTextError::Password), "{bad:?} is too weak to set");
        }
        assert!(check_new_password(&"p".repeat(TextKind::Password.max_chars() + 1)).is_err(), "bounded");
    }

    #[test]
    fn text_at_the_limit_is_kept_and_one_character_more_is_refused() {
        let max = TextKind::Comment.max_chars();
        assert!(check(TextKind::Comment, "comment", &"a".repeat(max)).is_ok(), "the limit itself must be allowed");
        let err = check(TextKind::Comment, "comment", &"a".repeat(max + 1)).unwrap_err();
        assert_eq!((err.code().as_str(), err.chars, err.max), ("text_too_long", max + 1, max));
    }

    #[test]
    fn arabic_text_is_measured_in_characters_not_bytes() {
        // Each Arabic letter is two bytes in UTF-8; a name of 200 letters is 400 bytes.
        let name = "ب".repeat(TextKind::Name.max_chars());
        assert!(
            check(TextKind::Name, "device_name", &name).is_ok(),
            "Arabic must get as many characters as English, not half as many"
        );
    }

    #[test]
    fn every_kind_of_text_has_a_bound_far_below_a_request_body() {
        for kind in [TextKind::Name, TextKind::Password, TextKind::Note, TextKind::Comment, TextKind::Reason] {
            assert!(
                kind.max_chars() * 4 < 64 * 1024,
                "{} text must stay small: it is stored and sent to every device in scope",
                kind.as_str()
            );
        }
    }
}
