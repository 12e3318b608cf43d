//! Every error code dtm-field speaks, in one place: the codes HQ answers with, the
//! codes of a refused operation or import cell, and the codes the field app's own
//! device store and sync client produce. Clients branch on the code and show their
//! own words for it; the message beside it is the fallback.
//!
//! The enum lives in dtm-core because every crate produces codes (the domain's
//! errors, the device store, the sync client, HQ); dtm-sync re-exports it as the
//! API's `ErrorCode`, ts-rs exports it to the UI as a union type, and
//! `ui/src/lib/generated/errorCodes.ts` lists every value so the UI's tests can prove
//! each has an English and an Arabic message.
//!
//! A code the reader does not know (a newer HQ's) reads as [`ErrorCode::Unknown`]
//! instead of failing the whole answer: the message still arrives.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $code:literal, )*) => {
        /// A stable error code (see the module's documentation).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
        // Each variant's name is its code in PascalCase, so `snake_case` spells the code
        // (the tests check serde and `as_str` agree); utoipa does not read a rename
        // written through a macro.
        #[serde(rename_all = "snake_case")]
        #[ts(export)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* $variant, )*
            /// A code this build does not know, from a newer HQ or app; its message is shown.
            #[serde(other)]
            Unknown,
        }

        impl ErrorCode {
            /// Every code, [`ErrorCode::Unknown`] last.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$variant,)* Self::Unknown];

            /// The code as it travels: `snake_case`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                    Self::Unknown => "unknown",
                }
            }

            /// The code a string names; [`ErrorCode::Unknown`] for one this build lacks.
            pub fn parse(s: &str) -> Self {
                match s {
                    $($code => Self::$variant,)*
                    _ => Self::Unknown,
                }
            }
        }
    };
}

error_codes! {
    // -- The request itself ---------------------------------------------------------
    /// The body is not JSON, is JSON of the wrong shape, or lacks `content-type: application/json`.
    MalformedBody = "malformed_body",
    /// The body is larger than HQ accepts; send smaller batches.
    BodyTooLarge = "body_too_large",
    /// A path or query value of the wrong type, read by the HTTP layer.
    MalformedRequest = "malformed_request",
    /// A query parameter HQ cannot use (a bad level, filter or limit).
    MalformedQuery = "malformed_query",
    /// A pull cursor HQ did not issue.
    MalformedCursor = "malformed_cursor",
    /// A pushed operation that cannot be read (bad ID, clock or value shape).
    MalformedOp = "malformed_op",
    /// A new round whose code, number, dates or forms cannot be used.
    MalformedRound = "malformed_round",
    /// The route exists but not with this method.
    MethodNotAllowed = "method_not_allowed",
    /// The body's media type is not one the route reads.
    UnsupportedMediaType = "unsupported_media_type",
    /// The request's address is longer than HQ reads.
    UriTooLong = "uri_too_long",
    /// Any other refusal of the HTTP layer.
    BadRequest = "bad_request",
    /// A sync request without the protocol header.
    ProtocolMissing = "protocol_missing",
    /// A request from the field app without its client header.
    ClientHeaderMissing = "client_header_missing",
    /// The app speaks a protocol older than HQ accepts (426): update the app.
    UpdateRequired = "update_required",
    /// HQ speaks a protocol older than the app needs: HQ must be updated.
    HqTooOld = "hq_too_old",

    // -- Who is asking --------------------------------------------------------------
    /// Wrong username or password.
    BadCredentials = "bad_credentials",
    /// The token is unknown, revoked or expired; log in again.
    Unauthenticated = "unauthenticated",
    /// The caller's role may not do this.
    Forbidden = "forbidden",
    /// Too many tries; `Retry-After` says when to try again.
    RateLimited = "rate_limited",
    /// Too many wrong passwords for this account; wait or ask an admin to unlock it.
    AccountLocked = "account_locked",
    /// The account was disabled by an admin or supervisor.
    AccountDisabled = "account_disabled",
    /// This device was revoked; its unsent data stays on it.
    DeviceRevoked = "device_revoked",
    /// This device was revoked with a wipe: it sends what it holds, then removes its data.
    DeviceWipe = "device_wipe",
    /// Signed in with a one-time password, which must be changed first.
    PasswordChangeRequired = "password_change_required",
    /// No enrolment has this code.
    EnrolmentInvalid = "enrolment_invalid",
    /// The enrolment code was already used.
    EnrolmentUsed = "enrolment_used",
    /// The enrolment code expired.
    EnrolmentExpired = "enrolment_expired",
    /// The new password is too short, too common, or contains the username.
    WeakPassword = "weak_password",
    /// The username is not 3–32 lowercase letters, digits, dots, dashes or underscores.
    BadUsername = "bad_username",
    /// The display name is empty or too long.
    BadDisplayName = "bad_display_name",
    /// An account with this username exists.
    UserExists = "user_exists",
    /// An enumerator or supervisor needs at least one location in their scope.
    EmptyScope = "empty_scope",
    /// A scope names a P-code that is not in the gazetteer.
    UnknownLocation = "unknown_location",
    /// The last active admin cannot be disabled or demoted.
    LastAdmin = "last_admin",
    /// Nobody disables, demotes or resets their own account this way.
    OwnAccount = "own_account",
    /// The current password given is wrong.
    WrongPassword = "wrong_password",
    /// The new password is the current one.
    SamePassword = "same_password",
    /// An enrolment's validity is not 1 to 720 hours.
    BadHours = "bad_hours",
    /// A date filter is not YYYY-MM-DD.
    BadDate = "bad_date",

    // -- Places, rounds and forms ---------------------------------------------------
    /// The location is outside the caller's assigned area.
    OutOfScope = "out_of_scope",
    /// Not a location (of the right level) in the gazetteer.
    UnknownPcode = "unknown_pcode",
    /// A location to add is already in the gazetteer.
    LocationExists = "location_exists",
    /// A location to add sits under a P-code the gazetteer does not hold.
    UnknownParent = "unknown_parent",
    /// Nothing is added or brought back under a retired location.
    ParentRetired = "parent_retired",
    /// A location is retired only once nothing under it is still in use.
    ChildrenInUse = "children_in_use",
    /// A location's English or Arabic name is empty, too long, or (Arabic) has no Arabic letters.
    BadLocationName = "bad_location_name",
    /// A location's class is not Urban or Rural.
    BadLocationKind = "bad_location_kind",
    /// Coordinates that are not a latitude and longitude in decimal degrees, both given.
    BadCoordinates = "bad_coordinates",
    /// The change asked for is what the location already is.
    NothingChanged = "nothing_changed",
    /// A P-code of the wrong admin level for the form.
    WrongLevel = "wrong_level",
    /// No round has this code.
    UnknownRound = "unknown_round",
    /// A round with this code or number exists.
    RoundExists = "round_exists",
    /// The round is not open for data collection.
    RoundNotOpen = "round_not_open",
    /// The round is published and frozen.
    RoundPublished = "round_published",
    /// Past figures can be imported only into a round that is not open for collection.
    RoundNotImportable = "round_not_importable",
    /// The form, or this version of it, is not part of the round.
    UnknownForm = "unknown_form",
    /// Nothing here by that name.
    NotFound = "not_found",

    // -- Values ---------------------------------------------------------------------
    /// The form has no field with this id.
    UnknownField = "unknown_field",
    /// A count below zero.
    NegativeCount = "negative_count",
    /// A count with a fraction.
    NotAWholeNumber = "not_a_whole_number",
    /// Not a number.
    NotANumber = "not_a_number",
    /// A number outside the field's range.
    OutOfRange = "out_of_range",
    /// Not text.
    NotText = "not_text",
    /// Not one of the field's options.
    NotAnOption = "not_an_option",
    /// Not a date (YYYY-MM-DD).
    NotADate = "not_a_date",
    /// Longer than the field, comment or reason allows.
    TextTooLong = "text_too_long",

    // -- Review, conflicts and operations -------------------------------------------
    /// The assessment's status does not allow this action.
    InvalidTransition = "invalid_transition",
    /// Open conflicts must be settled before approval.
    OpenConflicts = "open_conflicts",
    /// Returning an assessment needs a comment for the enumerator.
    CommentRequired = "comment_required",
    /// A reviewer may not approve figures they entered.
    OwnEntry = "own_entry",
    /// Blocking rule errors stop the submission.
    SubmissionBlocked = "submission_blocked",
    /// Settling a conflict needs a reason.
    ReasonRequired = "reason_required",
    /// The conflict was settled already.
    AlreadyResolved = "already_resolved",
    /// An operation's base version is ahead of HQ's.
    BaseAhead = "base_ahead",
    /// An operation ID was reused for a different operation.
    OpIdReused = "op_id_reused",
    /// The edit met a concurrent edit of the same field; both values are kept for review.
    Conflict = "conflict",
    /// A later edit of the same field from the same device replaced this one.
    Superseded = "superseded",
    /// Some fields of this edit were replaced by a later edit from the same device; the rest applied.
    PartlySuperseded = "partly_superseded",
    /// HQ refused the operation without a code (an HQ older than codes on every refusal).
    Rejected = "rejected",

    // -- Imports --------------------------------------------------------------------
    /// The import file has errors; nothing was imported (the row errors say where).
    ImportRejected = "import_rejected",
    /// The file is not a CSV or XLSX workbook HQ can read.
    UnreadableFile = "unreadable_file",
    /// A required column is missing from the import.
    MissingColumn = "missing_column",
    /// The import lacks the HXL tag row.
    MissingTagRow = "missing_tag_row",
    /// A location appears twice in the import.
    DuplicateRow = "duplicate_row",
    /// A repeated group's rows (e.g. nationalities) name a location with no row of its own.
    MissingRow = "missing_row",
    /// A muhalla's P-code is not inside the baladiya of its row.
    InconsistentPcode = "inconsistent_pcode",
    /// An import row names an assessment HQ already holds; nothing was imported.
    AlreadyExists = "already_exists",
    /// A row is for another round.
    WrongRound = "wrong_round",
    /// A row breaks one of the form's blocking rules (`rule` names it); nothing was imported.
    RuleError = "rule_error",
    /// A row breaks a warning rule, or a baladiya's figure differs from its muhallas' sum.
    RuleWarning = "rule_warning",

    // -- HQ itself ------------------------------------------------------------------
    /// HQ hit an internal error; nothing was changed.
    Internal = "internal",
    /// HQ answered with a server error; try again later.
    HqUnavailable = "hq_unavailable",

    // -- The field app and the dashboard's own -------------------------------------
    /// HQ cannot be reached; the work is kept and sent later.
    Offline = "offline",
    /// The dashboard could not reach HQ.
    Network = "network",
    /// HQ answered with an HTTP error and no readable body.
    HttpError = "http_error",
    /// HQ answered something this app cannot read.
    ProtocolError = "protocol_error",
    /// A sync is already running.
    SyncRunning = "sync_running",
    /// The device could not read or write a file.
    IoError = "io_error",
    /// The device store could not be read or written.
    DatabaseError = "database_error",
    /// The device store was written by a newer app.
    DatabaseTooNew = "database_too_new",
    /// Nobody is signed in on this device.
    NotLoggedIn = "not_logged_in",
    /// The device's data is encrypted and this account has no key to it here yet:
    /// sign in once while HQ can be reached, or as an account that opened it before.
    StoreLocked = "store_locked",
    /// The device's key file cannot be read; the encrypted data is untouched.
    KeyFileDamaged = "key_file_damaged",
    /// A device handed over to another account has no encrypted data yet (no account has
    /// signed in on it since it had the field app): anyone may sign in on it as it is.
    NoStoreKey = "no_store_key",
    /// The device holds no open round; sync first, or name one.
    NoOpenRound = "no_open_round",
    /// A value on the `dtm` command line is not `FIELD=VALUE`.
    MalformedValue = "malformed_value",
    /// The window could not reach the app's backend.
    Ipc = "ipc",
    /// This action is not available in this app (field app or dashboard).
    Unsupported = "unsupported",
    /// The two new passwords typed differ.
    PasswordMismatch = "password_mismatch",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code equals the string it travels as, so tests and scripts can say `"not_found"`.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_travels_as_its_own_snake_case_string_and_reads_back() {
        let mut seen = std::collections::BTreeSet::new();
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()), "serde and as_str must agree for {code:?}");
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), code, "{code:?} must read back as itself");
            assert_eq!(ErrorCode::parse(code.as_str()), code);
            assert!(seen.insert(code.as_str()), "{} is used by two variants", code.as_str());
            assert!(code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code} must be snake_case");
        }
    }

    #[test]
    fn a_code_from_a_newer_hq_reads_as_unknown_rather_than_failing_the_answer() {
        assert_eq!(serde_json::from_str::<ErrorCode>("\"quota_exceeded\"").unwrap(), ErrorCode::Unknown);
        assert_eq!(ErrorCode::parse("quota_exceeded"), ErrorCode::Unknown);
    }

    /// Writes the list of every code beside the ts-rs types, so the UI's tests can
    /// enumerate the enum. CI fails when the committed file drifts.
    #[test]
    fn export_the_list_of_codes_for_the_ui() {
        let Ok(dir) = std::env::var("TS_RS_EXPORT_DIR") else { return };
        let mut out = String::from(
            "// Generated from crates/dtm-core/src/codes.rs by `cargo test`. Do not edit.\n\
             import type { ErrorCode } from './ErrorCode';\n\n\
             /** Every error code dtm-field speaks, server and client. */\n\
             export const ERROR_CODES = [\n",
        );
        for code in ErrorCode::ALL {
            out.push_str(&format!("  '{code}',\n"));
        }
        out.push_str("] as const satisfies readonly ErrorCode[];\n");
        let path = std::path::Path::new(&dir).join("errorCodes.ts");
        std::fs::create_dir_all(&dir).unwrap();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(out.as_str()) {
            std::fs::write(&path, out).unwrap();
        }
    }
}
