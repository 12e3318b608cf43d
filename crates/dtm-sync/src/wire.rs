//! Wire types of the sync protocol, shared by the field app and HQ.
//!
//! Frozen once shipped: a new field gets `#[serde(default)]`, nothing is renamed or
//! removed. A change that old devices cannot read bumps `PROTOCOL_VERSION`.

use dtm_core::{AssessmentKey, AssessmentStatus, FieldValue, Hlc, Role, RoundStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The protocol this build speaks. Sent as the `x-dtm-protocol` header.
///
/// 2: an edit carries every field of one local save (`OpBody::Edit`), and pull pages
/// name each field once per page (`PullResponse::fields`). No build speaking 1 was
/// ever given to enumerators, so HQ accepts 2 only.
pub const PROTOCOL_VERSION: u32 = 2;
/// The oldest protocol HQ still accepts.
pub const MIN_PROTOCOL_VERSION: u32 = 2;
pub const PROTOCOL_HEADER: &str = "x-dtm-protocol";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// When a push is refused because of one operation: which one, so the device
    /// can set it aside and push the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub op_id: Option<String>,
}

/// Every non-2xx HTTP answer from HQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    #[ts(optional)]
    pub device_name: Option<String>,
    /// The device's own stable id (a UUID made when its store was created). Logging
    /// in again from the same device keeps its identity, so HQ never mistakes the
    /// device's later edits for another device's.
    #[serde(default)]
    #[ts(optional)]
    pub device_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// P-code prefixes.
    pub scope: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct LoginResponse {
    pub token: String,
    pub user: User,
    pub device_id: String,
    pub expires_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct RoundInfo {
    pub code: String,
    pub number: u32,
    pub title: String,
    pub status: RoundStatus,
    pub window_start: String,
    pub window_end: String,
    pub forms: Vec<RoundForm>,
}

impl From<&dtm_core::Round> for RoundInfo {
    fn from(r: &dtm_core::Round) -> Self {
        RoundInfo {
            code: r.code.clone(),
            number: r.number,
            title: r.title.clone(),
            status: r.status,
            window_start: r.window_start.clone(),
            window_end: r.window_end.clone(),
            forms: r.forms.iter().map(|(form, version)| RoundForm { form: form.clone(), version: *version }).collect(),
        }
    }
}

impl From<&RoundInfo> for dtm_core::Round {
    fn from(r: &RoundInfo) -> Self {
        dtm_core::Round {
            code: r.code.clone(),
            number: r.number,
            title: r.title.clone(),
            window_start: r.window_start.clone(),
            window_end: r.window_end.clone(),
            status: r.status,
            forms: r.forms.iter().map(|f| (f.form.clone(), f.version)).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct RoundForm {
    pub form: String,
    pub version: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpBody {
    /// One local save: every field it changed, merged field by field at HQ. The
    /// operation applies whole or is refused whole; a field another device changed
    /// meanwhile becomes a conflict while the others apply.
    Edit {
        values: BTreeMap<String, FieldValue>,
        /// The field version this device last saw from HQ, for each field it had seen
        /// (a field missing here has base 0: never written at HQ as far as the device knew).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        bases: BTreeMap<String, u64>,
    },
    Submit,
    /// Withdraws the assessment, keeping every value (a tombstone).
    Void {
        reason: String,
    },
}

/// One operation from a device's outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// UUIDv7 made on the device; HQ keys idempotency on it.
    pub op_id: String,
    /// The device's own sequence number for this operation.
    pub seq: u64,
    pub key: AssessmentKey,
    pub hlc: Hlc,
    pub form_version: u32,
    #[serde(flatten)]
    pub body: OpBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRequest {
    pub ops: Vec<Operation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    /// HQ had already seen this op_id; `original` is what it answered then.
    Duplicate,
    Conflict,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    pub op_id: String,
    pub outcome: Outcome,
    /// For a duplicate: the outcome first given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<OpResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export, rename = "Comment")]
pub struct WireComment {
    #[ts(type = "number")]
    pub id: i64,
    pub author: String,
    pub role: Role,
    pub decision: Option<dtm_core::ReviewDecision>,
    pub text: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireField {
    pub value: FieldValue,
    pub version: u64,
}

/// An assessment as HQ holds it now; pull pages carry whole assessments so that a
/// device never assembles state from partial deltas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentSnapshot {
    pub key: AssessmentKey,
    pub status: AssessmentStatus,
    pub form_version: u32,
    pub version: u64,
    pub open_conflicts: u32,
    pub fields: BTreeMap<String, WireField>,
    pub comments: Vec<WireComment>,
}

/// One pull page. Field names are written once per page, in `fields`, and each
/// assessment refers to them by position: a page of a thousand assessments of the
/// same form then repeats no name, which is most of what a slow link would carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullResponse {
    pub rounds: Vec<RoundInfo>,
    /// Every field name the page's assessments hold.
    pub fields: Vec<String>,
    pub assessments: Vec<PackedSnapshot>,
    /// Opaque to devices. Carries HQ's epoch: a restored HQ answers from the start.
    pub cursor: String,
    pub has_more: bool,
}

/// An `AssessmentSnapshot` whose fields are three parallel lists: positions in the
/// page's `fields`, values, and field versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackedSnapshot {
    pub key: AssessmentKey,
    pub status: AssessmentStatus,
    pub form_version: u32,
    pub version: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub open_conflicts: u32,
    pub f: Vec<u32>,
    pub v: Vec<FieldValue>,
    pub n: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<WireComment>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl PullResponse {
    pub fn pack(rounds: Vec<RoundInfo>, snapshots: Vec<AssessmentSnapshot>, cursor: String, has_more: bool) -> Self {
        let mut fields: Vec<String> = Vec::new();
        let mut index: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let assessments = snapshots
            .into_iter()
            .map(|s| {
                let (mut f, mut v, mut n) = (Vec::new(), Vec::new(), Vec::new());
                for (name, field) in s.fields {
                    let i = *index.entry(name.clone()).or_insert_with(|| {
                        fields.push(name);
                        (fields.len() - 1) as u32
                    });
                    f.push(i);
                    v.push(field.value);
                    n.push(field.version);
                }
                PackedSnapshot {
                    key: s.key,
                    status: s.status,
                    form_version: s.form_version,
                    version: s.version,
                    open_conflicts: s.open_conflicts,
                    f,
                    v,
                    n,
                    comments: s.comments,
                }
            })
            .collect();
        PullResponse { rounds, fields, assessments, cursor, has_more }
    }

    /// The page's assessments with their field names back in place. A position
    /// outside `fields` or lists of unequal length is HQ breaking the protocol.
    pub fn snapshots(self) -> Result<Vec<AssessmentSnapshot>, String> {
        let fields = self.fields;
        self.assessments
            .into_iter()
            .map(|p| {
                if p.f.len() != p.v.len() || p.f.len() != p.n.len() {
                    return Err(format!("{}: field lists of unequal length", p.key));
                }
                let mut map = BTreeMap::new();
                for ((i, value), version) in p.f.into_iter().zip(p.v).zip(p.n) {
                    let name = fields.get(i as usize).ok_or_else(|| format!("{}: no field at position {i}", p.key))?;
                    map.insert(name.clone(), WireField { value, version });
                }
                Ok(AssessmentSnapshot {
                    key: p.key,
                    status: p.status,
                    form_version: p.form_version,
                    version: p.version,
                    open_conflicts: p.open_conflicts,
                    fields: map,
                    comments: p.comments,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct ReviewRequest {
    pub decision: dtm_core::ReviewDecision,
    #[serde(default)]
    pub comment: String,
}

/// One side of a conflict: a value and who wrote it, where and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct ConflictSide {
    #[ts(type = "number | string | Array<string> | null")]
    pub value: FieldValue,
    pub author: String,
    pub device: String,
    /// The writer's hybrid logical clock stamp.
    pub hlc: String,
}

/// Two devices changed one field from the same base: the current value stays until a
/// supervisor settles it; the incoming value is kept here, never dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct Conflict {
    #[ts(type = "number")]
    pub id: i64,
    pub key: AssessmentKey,
    pub field: String,
    #[ts(type = "number | string | Array<string> | null")]
    pub base_value: FieldValue,
    pub current: ConflictSide,
    pub incoming: ConflictSide,
    pub created_at: String,
    /// `value`: two values for one field; `void`: an edit that raced a void, where
    /// taking the edit brings the assessment back.
    pub kind: ConflictKind,
    pub status: ConflictStatus,
    pub resolution: Option<ConflictResolution>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    Value,
    Void,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ConflictStatus {
    Open,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct ConflictResolution {
    #[ts(type = "number | string | Array<string> | null")]
    pub value: FieldValue,
    pub by: String,
    pub reason: String,
    pub at: String,
}

/// A supervisor's decision on a conflict: keep the current value, take the incoming
/// one, or enter the right value; the reason is kept.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(tag = "choice", rename_all = "snake_case")]
pub enum ResolveRequest {
    Current {
        reason: String,
    },
    Incoming {
        reason: String,
    },
    Other {
        #[ts(type = "number | string | Array<string> | null")]
        value: FieldValue,
        reason: String,
    },
}
