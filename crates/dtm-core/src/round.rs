//! Rounds of data collection. A round has a number (R1, R2, … since January 2016),
//! an irregular collection window, the forms it uses at fixed versions, and a status.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum RoundStatus {
    Planned,
    Open,
    Closed,
    Published,
}

impl RoundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Published => "published",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Planned, Self::Open, Self::Closed, Self::Published].into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// `R54`.
    pub code: String,
    pub number: u32,
    pub title: String,
    /// The title in Arabic; empty where none was given (the English one is shown).
    #[serde(default)]
    pub title_ar: String,
    /// ISO dates, inclusive.
    pub window_start: String,
    pub window_end: String,
    pub status: RoundStatus,
    /// (form id, form version) pairs this round collects.
    pub forms: Vec<(String, u32)>,
}

impl Round {
    /// Enumerators may change assessments only while their round is open.
    pub fn accepts_field_edits(&self) -> bool {
        self.status == RoundStatus::Open
    }

    pub fn form_version(&self, form: &str) -> Option<u32> {
        self.forms.iter().find(|(f, _)| f == form).map(|(_, v)| *v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoundError {
    #[error("round {0} is published and frozen")]
    Frozen(String),
    #[error("a {from} round cannot become {to}")]
    InvalidTransition { from: &'static str, to: &'static str },
}

impl RoundError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Frozen(_) => ErrorCode::RoundPublished,
            Self::InvalidTransition { .. } => ErrorCode::InvalidTransition,
        }
    }
}

impl Round {
    /// The round's lifecycle: planned → open → closed → published, with closed → open
    /// to reopen collection. A published round is frozen.
    pub fn transition(&self, to: RoundStatus) -> Result<RoundStatus, RoundError> {
        use RoundStatus::*;
        match (self.status, to) {
            (Published, _) => Err(RoundError::Frozen(self.code.clone())),
            (Planned, Open) | (Open, Closed) | (Closed, Open) | (Closed, Published) => Ok(to),
            (from, to) => Err(RoundError::InvalidTransition { from: from.as_str(), to: to.as_str() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(status: RoundStatus) -> Round {
        Round {
            code: "R54".into(),
            number: 54,
            title: "Round 54".into(),
            title_ar: String::new(),
            window_start: "2024-08-01".into(),
            window_end: "2024-09-30".into(),
            status,
            forms: vec![("baladiya".into(), 2)],
        }
    }

    #[test]
    fn a_round_moves_planned_open_closed_published() {
        assert_eq!(round(RoundStatus::Planned).transition(RoundStatus::Open), Ok(RoundStatus::Open));
        assert_eq!(round(RoundStatus::Open).transition(RoundStatus::Closed), Ok(RoundStatus::Closed));
        assert_eq!(
            round(RoundStatus::Closed).transition(RoundStatus::Open),
            Ok(RoundStatus::Open),
            "collection can reopen"
        );
        assert_eq!(round(RoundStatus::Closed).transition(RoundStatus::Published), Ok(RoundStatus::Published));
    }

    #[test]
    fn a_round_cannot_skip_steps_or_leave_publication() {
        assert_eq!(
            round(RoundStatus::Planned).transition(RoundStatus::Published).unwrap_err().code(),
            "invalid_transition"
        );
        assert_eq!(
            round(RoundStatus::Open).transition(RoundStatus::Published).unwrap_err().code(),
            "invalid_transition"
        );
        assert_eq!(round(RoundStatus::Published).transition(RoundStatus::Open).unwrap_err().code(), "round_published");
    }

    #[test]
    fn only_an_open_round_takes_edits() {
        assert!(round(RoundStatus::Open).accepts_field_edits());
        for s in [RoundStatus::Planned, RoundStatus::Closed, RoundStatus::Published] {
            assert!(!round(s).accepts_field_edits(), "{s:?} must refuse edits");
        }
    }
}
