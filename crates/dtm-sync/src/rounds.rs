//! Round administration, totals and past-round import: the shapes of HQ's `rounds`
//! routes that only the web dashboard uses. Like the rest of this crate they are the
//! one home of their description: ts-rs derives the UI's types, utoipa the schema.

use crate::api::LocationRef;
use crate::wire::{ApiError, RoundForm};
use dtm_core::import::CellError;
use dtm_core::totals::{Difference, Totals};
use dtm_core::RoundStatus;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `POST /rounds`: a new round, planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct NewRound {
    /// `R` and the number.
    pub code: String,
    pub number: u32,
    pub title: String,
    /// The title in Arabic (optional; the English one is shown where it is empty).
    #[serde(default)]
    pub title_ar: String,
    /// The first day of collection, `YYYY-MM-DD`.
    pub window_start: String,
    /// The last day of collection, `YYYY-MM-DD`.
    pub window_end: String,
    pub forms: Vec<RoundForm>,
}

/// `POST /rounds/{round}/status`: planned → open → closed → published (closed → open
/// reopens collection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RoundStatusChange {
    pub status: RoundStatus,
}

/// Which assessments a figure (totals, an export) counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum TotalsInclude {
    /// Approved ones: the figures a round stands on. The default.
    #[default]
    Approved,
    /// Drafts, submitted and returned ones too, on request and marked.
    All,
}

impl TotalsInclude {
    /// The query value, absent meaning `approved`; None for any other word.
    pub fn parse(query: Option<&str>) -> Option<Self> {
        match query {
            None | Some("approved") => Some(Self::Approved),
            Some("all") => Some(Self::All),
            Some(_) => None,
        }
    }

    /// Whether an assessment of this status counts. A voided assessment is a
    /// tombstone: its figures never count.
    pub fn counts(self, status: dtm_core::AssessmentStatus) -> bool {
        use dtm_core::AssessmentStatus::*;
        match status {
            Approved => true,
            Draft | Submitted | Returned => self == Self::All,
            Voided | NotStarted => false,
        }
    }
}

/// `GET /rounds/{round}/totals`: one location's totals at the level asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LocationTotals {
    pub location: LocationRef,
    #[serde(flatten)]
    #[ts(flatten)]
    pub totals: Totals,
    /// Assessments counted that are not approved yet (only with `include=all`).
    pub unapproved: usize,
    /// Per field: assessments here whose module was answered Unknown, so their figure
    /// is missing from the total (not counted as 0). A field absent here: none.
    #[serde(default)]
    pub unknown: BTreeMap<String, usize>,
    /// The same location's totals in the previous round (the highest-numbered round
    /// before this one), counted the same way; absent when that round has none here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub previous: Option<PreviousTotals>,
}

/// A location's totals in the round before, for the comparison beside each figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PreviousTotals {
    /// The previous round's code.
    pub round: String,
    #[ts(type = "Record<string, number>")]
    pub values: BTreeMap<String, u128>,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ImportReport {
    pub rows: usize,
    pub assessments: usize,
    /// The imported counts for all of Libya, per field, each baladiya taken from the
    /// finest level the file holds (its muhallas where it has them).
    #[ts(type = "Record<string, number>")]
    pub totals: BTreeMap<String, u128>,
    /// Baladiyas whose own figure differs from the sum of their muhallas in the file.
    pub differences: Vec<Difference>,
    /// Rules of warning severity that rows break, and baladiya totals that differ from
    /// their muhallas in the same file, by row and column.
    pub warnings: Vec<CellError>,
    /// The layout the file was read in: `hxl` (a tag row), or `dtm-libya-migrants`
    /// (DTM Libya's published workbook, through its mapping).
    pub layout: String,
    /// Columns the layout does not know, as `sheet: header`: listed, never dropped silently.
    pub unknown_columns: Vec<String>,
    /// Locations the file named that the gazetteer did not hold, added before its
    /// figures (the import was asked to add them).
    pub added_locations: Vec<dtm_core::Location>,
}

/// A file refused for its content (`import_rejected`): the API's error body, with every
/// error by row and column. Other refusals of an import are plain error bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ImportRejected {
    pub error: ApiError,
    /// Every refused cell; absent from an import's other refusals (plain error bodies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(optional, as = "Option<Vec<CellError>>")]
    pub errors: Vec<CellError>,
}
