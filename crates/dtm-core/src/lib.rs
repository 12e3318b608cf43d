//! The dtm-field domain, shared by the field app, the `dtm` CLI and HQ.
//!
//! This crate owns what the figures mean: the Libya gazetteer and P-code scopes,
//! rounds, form definitions and their rules, the assessment workflow, the hybrid
//! logical clock and the per-field three-way merge. It must never do IO or read the
//! clock: time comes in as arguments, reference data is compiled in, and every
//! decision is a pure function so that the app, the CLI and HQ decide identically.

pub mod accounts;
pub mod assessment;
pub mod codes;
pub mod dtm_workbook;
pub mod exchange;
pub mod form;
pub mod gazetteer;
pub mod hlc;
pub mod hxl;
pub mod import;
pub mod json;
pub mod key_figures;
pub mod merge;
pub mod plan;
pub mod round;
pub mod rules;
pub mod scope;
pub mod testdata;
pub mod text;
pub mod totals;
pub mod version;
pub mod workflow;

pub use accounts::Language;
pub use assessment::AssessmentKey;
pub use codes::ErrorCode;
pub use form::{Field, FieldType, FieldValue, FormDef, FormError, Forms, Text, ValueError};
pub use gazetteer::{Gazetteer, Location, LocationChange, LocationError, LocationInput};
pub use hlc::Hlc;
pub use merge::{
    base_ahead, edit_outcome, merge_field, settle, EditOutcome, FieldVersion, IncomingWrite, MergeOutcome, Settlement,
};
pub use round::{Round, RoundError, RoundStatus};
pub use rules::{Issue, Severity};
pub use scope::{Pcode, Scope};
pub use text::{TextKind, TextTooLong};
pub use workflow::{AssessmentStatus, ReviewDecision, Reviewer, Role, TransitionError};
