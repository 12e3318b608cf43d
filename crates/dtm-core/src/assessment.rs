//! The identity of an assessment: one per (round, form, location).

use crate::scope::Pcode;
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

impl fmt::Display for AssessmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.round, self.form, self.location)
    }
}
