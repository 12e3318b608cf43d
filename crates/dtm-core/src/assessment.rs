//! The identity of an assessment: one per (round, form, location).

use crate::scope::Pcode;
use crate::FieldValue;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AssessmentKey {
    pub round: String,
    pub form: String,
    /// A P-code.
    #[ts(type = "string")]
    pub location: Pcode,
}

impl AssessmentKey {
    pub fn new(round: impl Into<String>, form: impl Into<String>, location: Pcode) -> Self {
        Self { round: round.into(), form: form.into(), location }
    }
}

/// A conflict this device was a side of, settled at HQ: which field, the value this
/// device had, the value settled on, who settled it and why. The field app tells the
/// enumerator, instead of changing their value without a word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct SettledConflict {
    pub key: AssessmentKey,
    /// `value`: another device changed the field too. `void`: this device's edit
    /// arrived after the assessment was voided; settling on it brought the assessment
    /// back as a draft, settling on the void kept it voided. (HQs before this field
    /// sent only value conflicts.)
    #[serde(default = "value_conflict")]
    pub kind: crate::plan::ConflictKind,
    pub field: String,
    /// The value this device had sent.
    #[ts(type = "number | string | Array<string> | null")]
    pub yours: FieldValue,
    /// The value the supervisor settled on, now the assessment's.
    #[ts(type = "number | string | Array<string> | null")]
    pub settled: FieldValue,
    /// Who settled it: the username, and the name shown.
    pub by: String,
    pub by_name: String,
    pub reason: String,
    pub at: String,
}

fn value_conflict() -> crate::plan::ConflictKind {
    crate::plan::ConflictKind::Value
}

impl fmt::Display for AssessmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.round, self.form, self.location)
    }
}
