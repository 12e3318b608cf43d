//! Wire types of the sync protocol, shared by the field app and HQ.
//!
//! Frozen once shipped: a new field gets `#[serde(default)]`, nothing is renamed or
//! removed. A change that old devices cannot read bumps `PROTOCOL_VERSION`.

pub use dtm_core::assessment::SettledConflict;
use dtm_core::json::Entries;
use dtm_core::{AssessmentKey, AssessmentStatus, ErrorCode, FieldValue, Hlc, Role, RoundStatus};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The protocol this build speaks. Sent as the `x-dtm-protocol` header.
///
/// 2: an edit carries every field of one local save (`OpBody::Edit`), and pull pages
/// name each field once per page (`PullResponse::fields`). No build speaking 1 was
/// ever given to enumerators, so HQ accepts 2 only.
///
/// 3: a push result may be `superseded` (`Outcome::Superseded`). A device of protocol 2
/// cannot read that word and would fail every push that carries it, so HQ answers such
/// a device `rejected` with the code `superseded` instead (`OpResult::for_protocol`):
/// the old device sets the operation aside, visible, which is true (it was not
/// applied); it is never told `applied`. HQ still accepts 2.
pub const PROTOCOL_VERSION: u32 = 3;
/// The oldest protocol HQ still accepts.
pub const MIN_PROTOCOL_VERSION: u32 = 2;
/// The first protocol whose devices read `Outcome::Superseded`.
pub const SUPERSEDED_SINCE: u32 = 3;
pub const PROTOCOL_HEADER: &str = "x-dtm-protocol";
/// The app's version, sent with every sync so the Devices page can show it.
pub const APP_VERSION_HEADER: &str = "x-dtm-app-version";
/// How many operations the device has not pushed yet, sent with every sync.
pub const PENDING_HEADER: &str = "x-dtm-pending";
/// On a pull page with more after it: the page's `cursor`, in the answer's headers, so
/// a device can ask for the next page before this one's body has arrived.
pub const NEXT_CURSOR_HEADER: &str = "x-dtm-next-cursor";
/// The largest integer (sequence number, version, clock millisecond) HQ accepts on
/// the wire: SQL's signed 64-bit maximum, since HQ's stores keep them as such.
pub const MAX_INTEGER: u64 = i64::MAX as u64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// When a push is refused because of one operation: which one, so the device
    /// can set it aside and push the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub op_id: Option<String>,
}

/// Every non-2xx HTTP answer from HQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
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
    /// The device keeps its data in plain SQLite (the `dtm` command line, tests,
    /// benchmarks): HQ then keeps no key for its store. The field app's store is
    /// encrypted and sends nothing here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[ts(optional, as = "Option<bool>")]
    pub plain_store: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// P-code prefixes.
    pub scope: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LoginResponse {
    /// The bearer token. Empty when the login asked for a cookie session
    /// (`X-DTM-Client: dashboard`): the dashboard's token stays in an HttpOnly cookie.
    pub token: String,
    pub user: User,
    pub device_id: String,
    pub expires_at: String,
    /// The password was a one-time one: until it is changed, only `/me/password`,
    /// `/me` and logout answer.
    #[serde(default)]
    pub must_change_password: bool,
    /// The key that opens this device's encrypted store when no password on it can (the
    /// password was reset at HQ): only to a field device, only for an account that has
    /// opened that store before, never to a revoked device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub store_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RoundInfo {
    pub code: String,
    pub number: u32,
    pub title: String,
    /// The title in Arabic; empty where none was given. Older HQs do not send it.
    #[serde(default)]
    pub title_ar: String,
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
            title_ar: r.title_ar.clone(),
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
            title_ar: r.title_ar.clone(),
            window_start: r.window_start.clone(),
            window_end: r.window_end.clone(),
            status: r.status,
            forms: r.forms.iter().map(|f| (f.form.clone(), f.version)).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RoundForm {
    pub form: String,
    pub version: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// One operation from a device's outbox. Read by [`Operation`]'s own `Deserialize`
/// (below), written by the derived `Serialize`: the same fields either way.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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

/// Reads an operation in one pass. The derived `Deserialize` of a struct with a
/// `#[serde(flatten)]` tagged body buffers the whole operation (60 values and their
/// bases) as generic content before reading it again into the body: that was about
/// half of HQ's time spent reading a push. Same input, same result: unknown fields
/// are ignored, a field given twice or missing (`kind`, and `values` of an edit,
/// `reason` of a void) is an error, as the derived reader made them.
impl<'de> Deserialize<'de> for Operation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, IgnoredAny, MapAccess, Visitor};

        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "snake_case")]
        enum Name {
            OpId,
            Seq,
            Key,
            Hlc,
            FormVersion,
            Kind,
            Values,
            Bases,
            Reason,
            #[serde(other)]
            Other,
        }

        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            Edit,
            Submit,
            Void,
        }

        fn once<T, E: Error>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), E> {
            match slot.replace(value) {
                Some(_) => Err(E::duplicate_field(name)),
                None => Ok(()),
            }
        }

        struct Reader;
        impl<'de> Visitor<'de> for Reader {
            type Value = Operation;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an operation")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Operation, A::Error> {
                let (mut op_id, mut seq, mut key, mut hlc, mut form_version) = (None, None, None, None, None);
                let (mut kind, mut values, mut bases, mut reason) = (None, None, None, None);
                while let Some(name) = map.next_key::<Name>()? {
                    match name {
                        Name::OpId => once(&mut op_id, "op_id", map.next_value::<String>()?)?,
                        Name::Seq => once(&mut seq, "seq", map.next_value::<u64>()?)?,
                        Name::Key => once(&mut key, "key", map.next_value::<AssessmentKey>()?)?,
                        Name::Hlc => once(&mut hlc, "hlc", map.next_value::<Hlc>()?)?,
                        Name::FormVersion => once(&mut form_version, "form_version", map.next_value::<u32>()?)?,
                        Name::Kind => once(&mut kind, "kind", map.next_value::<Kind>()?)?,
                        Name::Values => {
                            once(&mut values, "values", map.next_value::<Entries<FieldValue>>()?.into_map())?
                        }
                        Name::Bases => once(&mut bases, "bases", map.next_value::<BTreeMap<String, u64>>()?)?,
                        Name::Reason => once(&mut reason, "reason", map.next_value::<String>()?)?,
                        Name::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let body = match kind.ok_or_else(|| A::Error::missing_field("kind"))? {
                    Kind::Edit => OpBody::Edit {
                        values: values.ok_or_else(|| A::Error::missing_field("values"))?,
                        bases: bases.unwrap_or_default(),
                    },
                    Kind::Submit => OpBody::Submit,
                    Kind::Void => OpBody::Void { reason: reason.ok_or_else(|| A::Error::missing_field("reason"))? },
                };
                Ok(Operation {
                    op_id: op_id.ok_or_else(|| A::Error::missing_field("op_id"))?,
                    seq: seq.ok_or_else(|| A::Error::missing_field("seq"))?,
                    key: key.ok_or_else(|| A::Error::missing_field("key"))?,
                    hlc: hlc.ok_or_else(|| A::Error::missing_field("hlc"))?,
                    form_version: form_version.ok_or_else(|| A::Error::missing_field("form_version"))?,
                    body,
                })
            }
        }

        deserializer.deserialize_map(Reader)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushRequest {
    pub ops: Vec<Operation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    /// HQ had already seen this op_id; `original` is what it answered then.
    Duplicate,
    Conflict,
    Rejected,
    /// Nothing was written: the same device had already written a newer value of every
    /// field this edit changes (a store restored from a backup, a clock set back).
    /// `reason` names the fields. Since protocol 3.
    Superseded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpResult {
    pub op_id: String,
    pub outcome: Outcome,
    /// For a duplicate: the outcome first given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl OpResult {
    /// This answer as a device speaking `protocol` can read it: before protocol 3 a
    /// superseded operation is answered `rejected` with the code `superseded`, which an
    /// old device keeps visible rather than failing the whole push on an unknown word.
    pub fn for_protocol(mut self, protocol: u32) -> Self {
        fn before_3(o: Outcome) -> Outcome {
            if o == Outcome::Superseded {
                Outcome::Rejected
            } else {
                o
            }
        }
        if protocol < SUPERSEDED_SINCE {
            self.outcome = before_3(self.outcome);
            self.original = self.original.map(before_3);
        }
        self
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushResponse {
    pub results: Vec<OpResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export, rename = "Comment")]
#[schema(as = Comment)]
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

/// One pull page, laid out by column: the assessments' own facts, then one column per
/// field holding that field's values (and versions) for every assessment that has it.
/// Each field name is written once per page, and a column of like values (zeros, the
/// same select answer, the same justification) compresses to almost nothing, which a
/// satellite or 2G link is grateful for.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PullResponse {
    pub rounds: Vec<RoundInfo>,
    pub assessments: Vec<PageAssessment>,
    pub columns: Vec<PageColumn>,
    /// Opaque to devices. Carries HQ's epoch: a restored HQ answers from the start.
    pub cursor: String,
    pub has_more: bool,
    /// The account as HQ holds it now, on the first page of a sync: a changed role or
    /// scope reaches the device this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The newest field app released, on the first page of a sync, where HQ is told
    /// it: a device on an older one says an update is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_app_version: Option<String>,
    /// The gazetteer's changes since the device's `gazetteer` cursor, on the first page
    /// of a sync that asked for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gazetteer: Option<GazetteerDelta>,
    /// The settlements of this device's conflicts since its `settled` cursor, on the
    /// first page of a sync that asked for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled: Option<SettledDelta>,
}

/// Locations added, renamed or retired at HQ since a device's gazetteer cursor: each
/// one's whole new state, in the order HQ recorded them (a delta, never the whole
/// gazetteer again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GazetteerDelta {
    /// Sent back as `gazetteer` on the next sync. Carries HQ's epoch.
    pub cursor: String,
    /// The device's cursor is from another HQ (a restored or replaced one): its own
    /// changes are dropped and these, from the start, replace them.
    #[serde(default)]
    pub reset: bool,
    pub locations: Vec<dtm_core::Location>,
}

/// An assessment of a pull page, without its fields (they are in the page's columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageAssessment {
    pub key: AssessmentKey,
    pub status: AssessmentStatus,
    pub form_version: u32,
    pub version: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub open_conflicts: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<WireComment>,
}

/// One field across a pull page: `v[i]` at version `n[i]` belongs to assessment
/// `rows[i]` of the page; without `rows`, to every assessment in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageColumn {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<u32>>,
    pub v: Vec<FieldValue>,
    pub n: Vec<u64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl PullResponse {
    pub fn pack(rounds: Vec<RoundInfo>, snapshots: Vec<AssessmentSnapshot>, cursor: String, has_more: bool) -> Self {
        let total = snapshots.len();
        // Assessments of one form name mostly the same fields, in the same (sorted)
        // order: the column a field goes to is looked for first where the one before it
        // went, plus one, and only then by name. A page of 1,000 assessments × 60 fields
        // so costs one string comparison a value, not a search of the columns with a new
        // copy of the name.
        let mut columns: Vec<PageColumn> = Vec::new();
        let mut rows: Vec<Vec<u32>> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let assessments = snapshots
            .into_iter()
            .enumerate()
            .map(|(row, s)| {
                let mut next = 0;
                for (field, value) in s.fields {
                    let at = match columns.get(next) {
                        Some(c) if c.field == field => next,
                        _ => match by_name.get(&field) {
                            Some(&at) => at,
                            None => {
                                by_name.insert(field.clone(), columns.len());
                                columns.push(PageColumn { field, rows: None, v: Vec::new(), n: Vec::new() });
                                rows.push(Vec::new());
                                columns.len() - 1
                            }
                        },
                    };
                    columns[at].v.push(value.value);
                    columns[at].n.push(value.version);
                    rows[at].push(row as u32);
                    next = at + 1;
                }
                PageAssessment {
                    key: s.key,
                    status: s.status,
                    form_version: s.form_version,
                    version: s.version,
                    open_conflicts: s.open_conflicts,
                    comments: s.comments,
                }
            })
            .collect();
        let mut columns: Vec<PageColumn> = columns
            .into_iter()
            .zip(rows)
            .map(|(mut c, r)| {
                if r.len() != total {
                    c.rows = Some(r);
                }
                c
            })
            .collect();
        // In field order, as the page has always been sent.
        columns.sort_unstable_by(|a, b| a.field.cmp(&b.field));
        PullResponse {
            rounds,
            assessments,
            columns,
            cursor,
            has_more,
            user: None,
            newest_app_version: None,
            gazetteer: None,
            settled: None,
        }
    }

    /// The page's assessments with their fields back in place. A column naming an
    /// assessment the page does not have, or of unequal lengths, is HQ breaking the
    /// protocol.
    pub fn snapshots(self) -> Result<Vec<AssessmentSnapshot>, String> {
        self.unpack(|a, fields| AssessmentSnapshot {
            key: a.key,
            status: a.status,
            form_version: a.form_version,
            version: a.version,
            open_conflicts: a.open_conflicts,
            fields: fields.into_map(),
            comments: a.comments,
        })
    }

    /// Each of the page's assessments with its fields, as `make` builds it (a device
    /// builds what its store takes, without a snapshot in between). Errors as
    /// [`PullResponse::snapshots`].
    pub fn unpack<T>(self, mut make: impl FnMut(PageAssessment, Entries<WireField>) -> T) -> Result<Vec<T>, String> {
        let total = self.assessments.len();
        // Each assessment's fields are gathered in a list, made a map once at the end
        // (a field named twice keeps its last value, as inserting one by one would).
        let mut fields: Vec<Vec<(String, WireField)>> = (0..total).map(|_| Vec::new()).collect();
        for c in self.columns {
            let rows: Vec<u32> = c.rows.unwrap_or_else(|| (0..total as u32).collect());
            if rows.len() != c.v.len() || rows.len() != c.n.len() {
                return Err(format!("column `{}` has lists of unequal length", c.field));
            }
            for ((row, value), version) in rows.into_iter().zip(c.v).zip(c.n) {
                let slot = fields
                    .get_mut(row as usize)
                    .ok_or_else(|| format!("column `{}` names assessment {row} of {total}", c.field))?;
                slot.push((c.field.clone(), WireField { value, version }));
            }
        }
        Ok(self.assessments.into_iter().zip(fields).map(|(a, fields)| make(a, Entries(fields))).collect())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ReviewRequest {
    pub decision: dtm_core::ReviewDecision,
    #[serde(default)]
    pub comment: String,
}

/// Settlements of this device's conflicts since its `settled` cursor, on the first page
/// of a sync that asked for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettledDelta {
    /// Sent back as `settled` on the next sync. Carries HQ's epoch.
    pub cursor: String,
    pub conflicts: Vec<SettledConflict>,
}

/// One side of a conflict: a value and who wrote it, where and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ConflictSide {
    #[ts(type = "number | string | Array<string> | null")]
    pub value: FieldValue,
    pub author: String,
    pub device: String,
    /// The writer's hybrid logical clock stamp.
    pub hlc: String,
    /// The author's display name, where HQ knows the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub author_name: Option<String>,
    /// The name the device was given, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub device_name: Option<String>,
}

/// The same field in the previous round that has the location, beside a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PreviousValue {
    pub round: String,
    #[ts(type = "number | string | Array<string> | null")]
    pub value: FieldValue,
}

/// Two devices changed one field from the same base: the current value stays until a
/// supervisor settles it; the incoming value is kept here, never dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
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
    /// The field's value in the previous round that has this location, for context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub previous: Option<PreviousValue>,
}

/// Kept once, in dtm-core, beside the plan that records conflicts.
pub use dtm_core::plan::ConflictKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum ConflictStatus {
    Open,
    Resolved,
}

impl ConflictStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Resolved].into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use dtm_core::Pcode;
    use serde_json::json;

    fn snapshot(location: &str, fields: &[(&str, FieldValue, u64)]) -> AssessmentSnapshot {
        AssessmentSnapshot {
            key: AssessmentKey::new("R1", "baladiya", Pcode::parse(location).unwrap()),
            status: AssessmentStatus::Draft,
            form_version: 2,
            version: 3,
            open_conflicts: 1,
            fields: fields
                .iter()
                .map(|(f, v, n)| (f.to_string(), WireField { value: v.clone(), version: *n }))
                .collect(),
            comments: vec![],
        }
    }

    #[test]
    fn an_operation_reads_back_as_written_ignores_unknown_fields_and_refuses_missing_or_repeated_ones() {
        let key = AssessmentKey::new("R1", "baladiya", Pcode::parse("LY021104").unwrap());
        let hlc = Hlc { millis: 1_700_000_000_000, counter: 2 };
        let op = |body| Operation { op_id: "0193".into(), seq: 4, key: key.clone(), hlc, form_version: 2, body };
        let values: BTreeMap<String, FieldValue> =
            [("idp_hh".into(), json!(12)), ("note:x".into(), json!("نعم"))].into();
        for written in [
            op(OpBody::Edit { values: values.clone(), bases: [("idp_hh".into(), 3)].into() }),
            op(OpBody::Edit { values: values.clone(), bases: BTreeMap::new() }),
            op(OpBody::Submit),
            op(OpBody::Void { reason: "entered twice".into() }),
        ] {
            let text = serde_json::to_string(&written).unwrap();
            let read: Operation = serde_json::from_str(&text).unwrap();
            assert_eq!(read, written, "what a device writes, HQ must read the same: {text}");
            let mut extended: serde_json::Value = serde_json::from_str(&text).unwrap();
            extended["from_a_newer_app"] = json!({"nested": [1, 2]});
            assert_eq!(
                serde_json::from_value::<Operation>(extended).unwrap(),
                written,
                "a field a newer app adds is ignored, not a reason to refuse the push"
            );
        }
        let text = serde_json::to_string(&op(OpBody::Edit { values, bases: BTreeMap::new() })).unwrap();
        let refused = |text: &str| serde_json::from_str::<Operation>(text).unwrap_err().to_string();
        assert!(refused(&text.replace("\"kind\":\"edit\",", "")).contains("missing field `kind`"));
        assert!(refused(&text.replace("\"kind\":\"edit\"", "\"kind\":\"merge\"")).contains("unknown variant `merge`"));
        assert!(refused(&text.replace("\"seq\":4", "\"seq\":4,\"seq\":5")).contains("duplicate field `seq`"));
        assert!(refused(&text.replace("\"seq\":4", "\"seq\":-4")).contains("invalid value"));
        assert!(refused(r#"{"kind":"void","op_id":"x","seq":1}"#).contains("missing field `reason`"));
        assert!(refused("[1, 2]").contains("invalid type"), "an operation is an object");
    }

    #[test]
    fn a_pull_page_by_column_names_each_field_once_and_unpacks_to_the_same_snapshots() {
        let snapshots = vec![
            snapshot("LY021104", &[("idp_hh", json!(12), 1), ("idp_ind", json!(40), 2)]),
            snapshot("LY021105", &[("idp_ind", json!(7), 1), ("note:x", json!("ok"), 1)]),
        ];
        let page = PullResponse::pack(vec![], snapshots.clone(), "e:9".into(), false);
        let names: Vec<&str> = page.columns.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, ["idp_hh", "idp_ind", "note:x"]);
        assert_eq!(page.columns[1].rows, None, "a field every assessment has needs no row list");
        assert_eq!(page.columns[0].rows, Some(vec![0]), "a field only some have says which");
        let text = serde_json::to_string(&page).unwrap();
        assert_eq!(text.matches("idp_ind").count(), 1, "a name repeated per assessment is what a slow link pays for");
        let back: PullResponse = serde_json::from_str(&text).unwrap();
        assert_eq!(back.snapshots().unwrap(), snapshots, "packing must lose nothing");
    }

    #[test]
    fn a_page_of_assessments_with_differing_fields_packs_each_field_into_one_sorted_column_and_unpacks_whole() {
        // Forms of a page differ (a baladiya and a muhalla assessment name other fields),
        // and a field can first appear late in the page: packing finds each value's
        // column by name when it is not where the assessment before put its field.
        let shapes: [&[&str]; 5] =
            [&["a", "c", "e"], &["b", "c", "d"], &["a", "b", "c", "d", "e"], &["e"], &["f", "z"]];
        let snapshots: Vec<AssessmentSnapshot> = (0..40)
            .map(|i| {
                let fields: Vec<(&str, FieldValue, u64)> =
                    shapes[i % shapes.len()].iter().map(|f| (*f, json!(i), i as u64 + 1)).collect();
                snapshot(&format!("LY0211{:02}", i), &fields)
            })
            .collect();
        let page = PullResponse::pack(vec![], snapshots.clone(), "e:9".into(), false);
        let names: Vec<&str> = page.columns.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e", "f", "z"], "one column a field, in field order");
        let text = serde_json::to_string(&page).unwrap();
        let back: PullResponse = serde_json::from_str(&text).unwrap();
        assert_eq!(back.snapshots().unwrap(), snapshots, "every value must come back to its own assessment");
    }

    #[test]
    fn a_column_pointing_outside_its_page_or_of_unequal_lengths_is_a_protocol_error() {
        let one = vec![snapshot("LY021104", &[("idp_hh", json!(1), 1)])];
        let mut page = PullResponse::pack(vec![], one, "e:1".into(), false);
        page.columns[0].rows = Some(vec![5]);
        assert!(page.clone().snapshots().unwrap_err().contains("names assessment 5 of 1"));
        page.columns[0].rows = None;
        page.columns[0].n.push(2);
        assert!(page.snapshots().unwrap_err().contains("unequal length"), "lists must line up");
    }

    #[test]
    fn a_protocol_2_device_hears_a_superseded_edit_as_rejected_never_as_applied() {
        let result = OpResult {
            op_id: "op".into(),
            outcome: Outcome::Superseded,
            original: None,
            code: Some(ErrorCode::Superseded),
            reason: Some("idp_hh".into()),
        };
        let old = result.clone().for_protocol(2);
        assert_eq!(old.outcome, Outcome::Rejected, "protocol 2 has no `superseded`; `rejected` keeps it visible");
        assert_eq!(old.code.map(ErrorCode::as_str), Some("superseded"), "the code still says what happened");
        let text = serde_json::to_string(&old).unwrap();
        assert!(!text.contains("\"outcome\":\"superseded\""), "a protocol 2 device could not parse {text}");
        assert_eq!(result.clone().for_protocol(3), result, "a protocol 3 device reads the outcome as is");
        let dup = OpResult { outcome: Outcome::Duplicate, original: Some(Outcome::Superseded), ..result };
        assert_eq!(dup.for_protocol(2).original, Some(Outcome::Rejected), "a duplicate's first answer too");
    }

    #[test]
    fn an_edit_without_bases_omits_them_on_the_wire() {
        let op = OpBody::Edit { values: BTreeMap::from([("idp_hh".into(), json!(3))]), bases: BTreeMap::new() };
        assert_eq!(serde_json::to_value(&op).unwrap(), json!({"kind": "edit", "values": {"idp_hh": 3}}));
        let back: OpBody = serde_json::from_value(json!({"kind": "edit", "values": {"idp_hh": 3}})).unwrap();
        assert_eq!(back, op, "a missing `bases` means base 0 for every field");
    }
}
