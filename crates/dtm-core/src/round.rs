//! Rounds of data collection. A round has a number (R1, R2, … since January 2016),
//! an irregular collection window, the forms it uses at fixed versions, and a status.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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
