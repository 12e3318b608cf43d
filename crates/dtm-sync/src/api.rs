//! What the UI receives from either backend: the field app's Tauri commands and
//! HQ's HTTP API answer with these same shapes, built by the same functions.

/// The API's error codes, one enum for every crate (see `dtm_core::codes`).
pub use dtm_core::ErrorCode;

use crate::wire::{ApiError, User, WireComment};
use dtm_core::form::Context;
use dtm_core::{AssessmentKey, AssessmentStatus, FieldValue, Forms, Gazetteer, Issue, LocationChange, Pcode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct Session {
    pub user: User,
    pub hq_url: String,
    pub device_id: Option<String>,
    /// Just signed in with a one-time password: it must be changed before anything else.
    #[serde(default)]
    #[ts(optional)]
    pub must_change_password: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LocationRef {
    pub pcode: String,
    pub level: u8,
    pub name_en: String,
    pub name_ar: String,
    /// No longer assessed; kept with its past assessments. Left out while in use.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(as = "Option<bool>", optional)]
    pub retired: bool,
}

impl LocationRef {
    /// The location as the gazetteer in force names it; a P-code it does not hold is
    /// shown as itself.
    pub fn of(places: &Gazetteer, pcode: &Pcode) -> Self {
        match places.get(pcode.as_str()) {
            Some(l) => Self {
                pcode: pcode.to_string(),
                level: pcode.level(),
                name_en: l.name_en.clone(),
                name_ar: l.name_ar.clone(),
                retired: l.retired,
            },
            None => Self {
                pcode: pcode.to_string(),
                level: pcode.level(),
                name_en: pcode.to_string(),
                name_ar: pcode.to_string(),
                retired: false,
            },
        }
    }
}

/// One page of the gazetteer: the locations that match, at most `limit` of them, and
/// how many matched in all.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LocationList {
    pub locations: Vec<dtm_core::Location>,
    pub total: usize,
}

/// What to change of a location; a field left out stays as it is. An empty `kind`
/// clears the class, empty `lat` and `lon` clear the point.
#[derive(Debug, Clone, Default, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LocationPatch {
    #[serde(default)]
    #[ts(optional)]
    pub name_en: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub name_ar: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub kind: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub lat: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub lon: Option<String>,
    /// `true` retires the location (kept with its past assessments, not offered for
    /// new ones); `false` brings it back.
    #[serde(default)]
    #[ts(optional)]
    pub retired: Option<bool>,
}

impl LocationPatch {
    /// The change as dtm-core plans it.
    pub fn change(self) -> LocationChange {
        let blank = |s: &Option<String>| s.as_deref().is_some_and(|s| s.trim().is_empty());
        let coordinates = match (&self.lat, &self.lon) {
            (None, None) => None,
            (lat, lon) if blank(lat) && blank(lon) => Some(None),
            (lat, lon) => Some(Some((lat.clone().unwrap_or_default(), lon.clone().unwrap_or_default()))),
        };
        LocationChange {
            name_en: self.name_en,
            name_ar: self.name_ar,
            kind: self.kind.map(|k| Some(k).filter(|k| !k.trim().is_empty())),
            coordinates,
            retired: self.retired,
        }
    }
}

/// A form HQ can collect, for choosing a new round's forms from a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct FormSummary {
    pub id: String,
    pub version: u32,
    pub title: dtm_core::Text,
    /// The admin level it is collected at: 3 baladiya, 4 muhalla.
    pub level: u8,
    /// The newest version of this form.
    pub latest: bool,
}

impl FormSummary {
    /// Every form and version of a catalog.
    pub fn all(forms: &Forms) -> Vec<FormSummary> {
        forms
            .all()
            .iter()
            .map(|f| FormSummary {
                id: f.id.clone(),
                version: f.version,
                title: f.title.clone(),
                level: f.level,
                latest: forms.latest(&f.id).is_some_and(|l| l.version == f.version),
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AssessmentSummary {
    pub key: AssessmentKey,
    pub location: LocationRef,
    pub mantika: LocationRef,
    pub status: AssessmentStatus,
    #[ts(type = "number")]
    pub version: u64,
    pub open_conflicts: u32,
    pub pending_ops: u32,
    /// Rule verdicts on the current values, checked as the assessment's own page checks
    /// them (with the previous round and, for a baladiya, its muhallas): warnings, and
    /// errors that block submission. Absent where the list was built without checking
    /// (the field app's home list), so nothing reads "no warnings" that was not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub warnings: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub errors: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct AssessmentDetail {
    #[serde(flatten)]
    pub summary: AssessmentSummary,
    pub form_version: u32,
    /// Counts are non-negative integers; null is an empty field.
    #[ts(type = "Record<string, number | string | Array<string> | null>")]
    pub values: BTreeMap<String, FieldValue>,
    pub comments: Vec<WireComment>,
    /// Rule verdicts on the current values, from dtm-core.
    pub issues: Vec<Issue>,
    pub pending_fields: Vec<String>,
    /// The fields asked for the current values (relevance), in form order.
    pub relevant_fields: Vec<String>,
    /// The previous round that has this location, and its values, shown beside each field.
    pub previous_round: Option<String>,
    #[ts(type = "Record<string, number | string | Array<string> | null>")]
    pub previous_values: BTreeMap<String, FieldValue>,
    /// On the device: conflicts of this device on this assessment that HQ settled, newest
    /// first, with the value it had, the settled one, who settled it and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<crate::wire::SettledConflict>>", optional)]
    pub settled: Vec<crate::wire::SettledConflict>,
}

/// The parts of an assessment both backends hold, from which the UI shapes are built.
pub struct AssessmentParts {
    pub key: AssessmentKey,
    pub status: AssessmentStatus,
    pub version: u64,
    pub form_version: u32,
    pub open_conflicts: u32,
    pub pending_ops: u32,
    pub values: BTreeMap<String, FieldValue>,
    pub comments: Vec<WireComment>,
    pub pending_fields: Vec<String>,
    pub previous: Option<(String, BTreeMap<String, FieldValue>)>,
    /// The child level's assessments as they count, once all are entered; `None`
    /// compares nothing.
    pub children: Option<Vec<BTreeMap<String, FieldValue>>>,
}

fn counted(mut summary: AssessmentSummary, issues: &[Issue]) -> AssessmentSummary {
    let n = |severity: dtm_core::Severity| issues.iter().filter(|i| i.severity == severity).count() as u32;
    summary.warnings = Some(n(dtm_core::Severity::Warning));
    summary.errors = Some(n(dtm_core::Severity::Error));
    summary
}

impl AssessmentParts {
    pub fn summary(&self, places: &Gazetteer) -> AssessmentSummary {
        let mantika = self.key.location.ancestor(2).unwrap_or_else(|| self.key.location.clone());
        AssessmentSummary {
            key: self.key.clone(),
            location: LocationRef::of(places, &self.key.location),
            mantika: LocationRef::of(places, &mantika),
            status: self.status,
            version: self.version,
            open_conflicts: self.open_conflicts,
            pending_ops: self.pending_ops,
            warnings: None,
            errors: None,
        }
    }

    /// The rule verdicts on the current values, in the context the parts carry.
    fn issues(&self, forms: &Forms) -> Vec<Issue> {
        let ctx = Context {
            previous: self.previous.as_ref().map(|(round, values)| (round.as_str(), values)),
            children: self.children.as_deref(),
        };
        forms.get(&self.key.form, self.form_version).map(|f| f.check(&self.values, ctx)).unwrap_or_default()
    }

    /// The summary with its warnings and errors counted; the parts must carry the
    /// checks' context (previous round, children) for the counts to be the page's.
    pub fn checked_summary(&self, forms: &Forms, places: &Gazetteer) -> AssessmentSummary {
        counted(self.summary(places), &self.issues(forms))
    }

    pub fn detail(self, forms: &Forms, places: &Gazetteer) -> AssessmentDetail {
        let form = forms.get(&self.key.form, self.form_version);
        let issues = self.issues(forms);
        let relevant_fields = form.map(|f| f.relevant_fields(&self.values)).unwrap_or_default();
        let summary = counted(self.summary(places), &issues);
        let (previous_round, previous_values) = self.previous.unzip();
        AssessmentDetail {
            summary,
            form_version: self.form_version,
            values: self.values,
            comments: self.comments,
            issues,
            pending_fields: self.pending_fields,
            relevant_fields,
            previous_round,
            previous_values: previous_values.unwrap_or_default(),
            settled: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct Progress {
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number")]
    pub total: u64,
}

/// Whether the device's data is encrypted and locked, for the sign-in screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct LockState {
    pub encrypted: bool,
    /// A password is needed before anything on the device can be read.
    pub locked: bool,
    /// The accounts whose password opens the data here, with no connection.
    pub accounts: Vec<String>,
    /// Seconds before another password may be tried (after five wrong ones in a row).
    pub wait_seconds: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct SyncState {
    /// HQ answered the last time this device tried to reach it (kept in the store, so
    /// a new process knows too).
    pub online: bool,
    pub syncing: bool,
    pub pending: u32,
    /// Operations HQ refused (a bad P-code, a closed round, …): the enumerator must fix them.
    pub rejected: u32,
    /// Operations in conflict with another device's: a supervisor settles them.
    #[serde(default)]
    pub conflicts: u32,
    /// Operations HQ did not write because this device had already sent newer values
    /// (a store restored from a backup, a clock set back).
    #[serde(default)]
    pub superseded: u32,
    /// Logouts HQ has not heard of yet; sent before anything else at the next connection.
    #[serde(default)]
    pub pending_logouts: u32,
    pub last_sync_at: Option<String>,
    pub last_error: Option<ApiError>,
    pub progress: Option<Progress>,
    /// A newer field app than this one is released (HQ said so at the last pull): the
    /// enumerator is told, calmly; nothing stops. An app HQ no longer syncs with gets
    /// `update_required` as its `last_error` instead, and keeps its outbox.
    #[serde(default)]
    #[ts(optional)]
    pub update_available: Option<String>,
}

/// What HQ answered for one operation of this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    Applied,
    Conflict,
    #[default]
    Rejected,
    Superseded,
}

/// An operation HQ did not apply, kept on the device and shown.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct RejectedOp {
    pub op_id: String,
    pub key: AssessmentKey,
    pub field: Option<String>,
    /// `rejected`, `conflict` or `superseded`: what the enumerator can do differs.
    #[serde(default)]
    pub state: OpOutcome,
    pub code: ErrorCode,
    pub reason: String,
}

/// One entry of the device's sent log: an operation it pushed and HQ's answer, kept
/// after the operation left the outbox so it can be matched to HQ by `op_id`.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct SentOp {
    pub op_id: String,
    #[ts(type = "number")]
    pub seq: u64,
    pub key: AssessmentKey,
    /// `edit`, `submit` or `void`.
    pub kind: String,
    pub outcome: OpOutcome,
    /// HQ had already answered this operation (an earlier push whose answer was lost).
    pub duplicate: bool,
    pub code: Option<ErrorCode>,
    pub reason: Option<String>,
    /// When the enumerator saved it, when the push carrying it left, when HQ's answer came.
    pub created_at: String,
    pub sent_at: String,
    pub answered_at: String,
}
