//! Form definitions: data, not Rust structs. A form is a JSON document in
//! `schemas/forms/`, checked against `schemas/form.schema.json` before use.

use crate::gazetteer::Gazetteer;
use crate::rules::{self, Expr, Issue, Severity};
use crate::text::{self, TextKind, TextTooLong};
use crate::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const FORM_SCHEMA: &str = include_str!("../../../schemas/form.schema.json");
/// The vocabularies a repeated group's keys are chosen from, by name.
const VOCABULARIES: &[(&str, &str)] =
    &[("nationalities", include_str!("../../../schemas/vocabularies/nationalities.json"))];
/// The built-in forms, every version ever shipped: an assessment is always checked
/// against the version it was collected with.
const BUILTIN: &[(&str, u32, &str)] = &[
    ("baladiya", 1, include_str!("../../../schemas/forms/baladiya-v1.json")),
    ("baladiya", 2, include_str!("../../../schemas/forms/baladiya-v2.json")),
    ("baladiya", 3, include_str!("../../../schemas/forms/baladiya-v3.json")),
    ("muhalla", 1, include_str!("../../../schemas/forms/muhalla-v1.json")),
    ("muhalla", 2, include_str!("../../../schemas/forms/muhalla-v2.json")),
];
#[cfg(test)]
const BALADIYA_FORM: &str = BUILTIN[1].2;

/// The prefix of justification notes: `note:<rule id>` holds the enumerator's reason
/// for a warning. Notes are values like any other, so they sync and merge the same way.
pub const NOTE_PREFIX: &str = "note:";

/// The largest count any field may hold, whatever the form says. Libya has about
/// 7 million people and its most populous baladiya, Benghazi, about 1.1 million: no
/// baladiya or muhalla holds 2 million IDPs, returnees or migrants, so a larger count is
/// a slip of the keyboard or hostile input, refused wherever a value enters (the device,
/// the CLI, HQ's push and settlements, imports). It also keeps every total exact: the
/// sum of 2 million over all of Libya's ~4,000 locations and every count field of a
/// form is far below `u64::MAX` (totals still add in `u128`, for data stored before
/// this bound).
pub const COUNT_MAX: u64 = 2_000_000;

/// A field's value as it travels: a number, a string, or null when empty.
pub type FieldValue = serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Text {
    pub en: String,
    pub ar: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Count,
    Number,
    SelectOne,
    SelectMany,
    Text,
    Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Field {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub label: Text,
    /// The field's HXL hashtag and attributes: its column in every import and export.
    pub hxl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub hint: Option<Text>,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub max: Option<f64>,
    /// The choices of a select field; empty for other types.
    #[serde(default)]
    pub options: Vec<FieldOption>,
    /// An expression: the field is asked only while it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub relevant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub change_threshold: Option<ChangeThreshold>,
    /// For text fields that hold a P-code: the admin level it must be at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub pcode_level: Option<u8>,
    /// For text fields: the most characters an answer may hold. Without it, a text
    /// answer is a note and gets [`TextKind::Note`]'s limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub max_length: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct FieldOption {
    pub value: String,
    pub label: Text,
}

/// A change against the previous round beyond both limits needs a justification.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ChangeThreshold {
    pub percent: f64,
    pub min_change: u64,
}

/// Fields whose total at this level must match the sum over the child form's
/// assessments in the same round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Aggregates {
    pub form: String,
    pub fields: Vec<String>,
}

/// What beyond the record itself the checks compare against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The same location's values in the previous round, and that round's code.
    pub previous: Option<(&'a str, &'a BTreeMap<String, FieldValue>)>,
    /// The child form's assessments of this location in the same round, as they count,
    /// once every child location has one ([`aggregate_children`]); `None` compares nothing.
    pub children: Option<&'a [BTreeMap<String, FieldValue>]>,
}

/// One assessment of the child level (a muhalla of a baladiya) in the same round.
#[derive(Debug, Clone, Copy)]
pub struct Child<'a> {
    pub location: &'a crate::Pcode,
    pub status: crate::AssessmentStatus,
    /// The form version the child was collected with, if this build knows it.
    pub form: Option<&'a FormDef>,
    pub values: &'a BTreeMap<String, FieldValue>,
}

/// What a location's aggregate check compares it with: each child assessment's figures
/// as they count (a module answered No counts 0, Unknown is missing), voided ones left
/// out; or `None` while a child location in use (`Gazetteer::to_assess`, at the level
/// `child_form` is collected at) has no assessment yet. A baladiya is compared with its muhallas only once they are all
/// entered: three of fourteen add up to less than the baladiya, and that is no reason
/// to ask the enumerator for a justification. `children` may hold assessments of other
/// places too (a whole list's): only those inside `location` count.
pub fn aggregate_children(
    forms: &Forms,
    places: &Gazetteer,
    location: &crate::Pcode,
    child_form: &str,
    children: &[Child<'_>],
) -> Option<Vec<BTreeMap<String, FieldValue>>> {
    let child_level = forms.latest(child_form).map_or(location.level() + 1, |f| f.level);
    let children: Vec<&Child<'_>> =
        children.iter().filter(|c| c.location != location && c.location.is_within(location)).collect();
    let entered: std::collections::BTreeSet<&crate::Pcode> = children
        .iter()
        .filter(|c| !matches!(c.status, crate::AssessmentStatus::Voided | crate::AssessmentStatus::NotStarted))
        .map(|c| c.location)
        .collect();
    let scope = crate::Scope::new([location.as_str()]);
    if places.to_assess(&scope, child_level).any(|l| l.pcode != *location && !entered.contains(&l.pcode)) {
        return None;
    }
    Some(
        children
            .iter()
            .filter(|c| entered.contains(c.location))
            .map(|c| c.form.map_or_else(|| c.values.clone(), |f| f.counted(c.values)))
            .collect(),
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Section {
    pub id: String,
    pub title: Text,
    /// A population module's presence question (yes / no / unknown): the section's
    /// other fields are asked only while it is `yes`. See [`Presence`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub presence: Option<String>,
    /// A repeated group: the fields are asked once per key (e.g. per nationality).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub repeat: Option<Repeat>,
    pub fields: Vec<Field>,
}

/// A repeated group's rows: one per key chosen from a vocabulary. A row's values are
/// stored as `<section>.<key>.<field>` (see [`FormDef::row_key`]), so each row's
/// figures sync and merge like any other field, and two enumerators adding different
/// nationalities never conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Repeat {
    pub key: RepeatKey,
    /// At least one row while the section is asked.
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct RepeatKey {
    pub id: String,
    pub label: Text,
    pub hxl: String,
    /// The vocabulary's name in `schemas/vocabularies/`.
    pub vocabulary: String,
    /// The vocabulary's entries, filled in when the form is loaded, most frequent first.
    #[serde(default)]
    pub options: Vec<VocabularyEntry>,
}

/// One key a repeated group may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct VocabularyEntry {
    pub value: String,
    pub label: Text,
    /// How a published dataset names the entry, broadest first (for nationalities:
    /// DTM's Region1, Region 2 and Migrant Nationality, spelling as published).
    #[serde(default)]
    pub path: Vec<String>,
}

#[derive(Deserialize)]
struct Vocabulary {
    id: String,
    entries: Vec<VocabularyEntry>,
}

/// The answer to a module's presence question. `No` means the module does not apply:
/// its fields are not asked, count as 0 in totals and are written as not applicable.
/// `Unknown` is neither: the figures are missing, not zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Yes,
    No,
    Unknown,
}

impl Presence {
    pub const OPTIONS: [&'static str; 3] = ["yes", "no", "unknown"];

    fn of(value: Option<&FieldValue>) -> Option<Self> {
        match value?.as_str()? {
            "yes" => Some(Self::Yes),
            "no" => Some(Self::No),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export, rename = "Rule")]
#[schema(as = Rule)]
pub struct RuleDef {
    pub id: String,
    pub severity: Severity,
    pub expr: String,
    pub fields: Vec<String>,
    pub message: Text,
}

/// A parsed, checked form. Rule expressions are parsed once, here.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct FormDef {
    pub id: String,
    pub version: u32,
    pub level: u8,
    pub title: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub aggregates: Option<Aggregates>,
    pub sections: Vec<Section>,
    pub rules: Vec<RuleDef>,
    /// The key counts typed in the field app's entry grid, one column each, in order:
    /// single fields that are counts, numbers or single choices (a presence question).
    /// Empty: the form has no grid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<Vec<String>>", optional)]
    pub grid: Vec<String>,
    #[serde(skip)]
    parsed: Vec<Expr>,
    #[serde(skip)]
    relevance: Vec<(String, Expr)>,
    /// Where each single (not repeated) field is: its section and place in it. A push
    /// checks every value it carries, 60 to an operation, so a field is found by id
    /// without walking the form.
    #[serde(skip)]
    index: std::collections::HashMap<String, (usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form is not JSON: {0}")]
    NotJson(String),
    #[error("the form breaks form.schema.json at `{path}`: {message}")]
    Schema { path: String, message: String },
    #[error("rule `{rule}` does not parse: {message}")]
    RuleSyntax { rule: String, message: String },
    #[error("rule `{rule}` names `{field}`, which is not a field of the form")]
    UnknownField { rule: String, field: String },
    #[error("field `{0}` appears twice")]
    DuplicateField(String),
    #[error("HXL tag `{0}` is on two fields: imports find columns by their tag")]
    DuplicateHxl(String),
    #[error("section `{section}`: {why}")]
    BadPresence { section: String, why: String },
    #[error("section `{section}` takes its keys from `{vocabulary}`, which is not a vocabulary")]
    UnknownVocabulary { section: String, vocabulary: String },
    #[error("grid column `{0}` is not a single count, number or single-choice field of the form")]
    BadGridColumn(String),
    #[error("form `{form}` version {version} is in the catalog twice")]
    DuplicateVersion { form: String, version: u32 },
}

/// Why a single value cannot be stored in a field. Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("`{0}` is not a field of this form")]
    UnknownField(String),
    #[error("`{field}` is a count and cannot be negative (got {value})")]
    NegativeCount { field: String, value: String },
    #[error("`{field}` must be a whole number (got {value})")]
    NotAWholeNumber { field: String, value: String },
    #[error("`{field}` must be a number (got {value})")]
    NotANumber { field: String, value: String },
    #[error("`{field}` must be between {min} and {max} (got {value})")]
    OutOfRange { field: String, value: String, min: String, max: String },
    #[error("`{field}` must be text (got {value})")]
    NotText { field: String, value: String },
    #[error("`{value}` is not one of the choices of `{field}`")]
    NotAnOption { field: String, value: String },
    #[error("`{field}` must be a P-code of a level-{level} location in the gazetteer (got {value})")]
    NotAPcode { field: String, value: String, level: u8 },
    #[error("`{field}` must be a date as YYYY-MM-DD (got {value})")]
    NotADate { field: String, value: String },
    #[error(transparent)]
    TextTooLong(#[from] TextTooLong),
}

impl ValueError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownField(_) => ErrorCode::UnknownField,
            Self::NegativeCount { .. } => ErrorCode::NegativeCount,
            Self::NotAWholeNumber { .. } => ErrorCode::NotAWholeNumber,
            Self::NotANumber { .. } => ErrorCode::NotANumber,
            Self::OutOfRange { .. } => ErrorCode::OutOfRange,
            Self::NotText { .. } => ErrorCode::NotText,
            Self::NotAnOption { .. } => ErrorCode::NotAnOption,
            Self::NotAPcode { .. } => ErrorCode::UnknownPcode,
            Self::NotADate { .. } => ErrorCode::NotADate,
            Self::TextTooLong(e) => e.code(),
        }
    }
}

/// The forms a deployment collects with, every version of each: a value held by HQ's
/// state and by the device store and handed to what needs it, not reached as a static,
/// so a form version can come from somewhere other than this build. Cheap to clone.
/// An assessment is always read and checked against the version it was collected with.
#[derive(Debug, Clone)]
pub struct Forms {
    all: std::sync::Arc<[FormDef]>,
}

impl Forms {
    /// The forms this build ships (`schemas/forms`, every version ever shipped), parsed
    /// and checked once per process. A new HQ or device store starts from these.
    pub fn shipped() -> &'static Forms {
        static SHIPPED: OnceLock<Forms> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            let all = BUILTIN
                .iter()
                .map(|(id, version, doc)| {
                    let form = FormDef::shipped(doc)
                        .unwrap_or_else(|e| panic!("the shipped form {id} v{version} is invalid: {e}"));
                    assert_eq!(
                        (form.id.as_str(), form.version),
                        (*id, *version),
                        "form file names match their contents"
                    );
                    form
                })
                .collect();
            Forms::new(all).expect("the shipped forms have one document per id and version")
        })
    }

    /// A catalog of these forms: each id and version at most once, since an assessment
    /// names its form by the two.
    pub fn new(all: Vec<FormDef>) -> Result<Forms, FormError> {
        let mut seen = std::collections::BTreeSet::new();
        for f in &all {
            if !seen.insert((f.id.as_str(), f.version)) {
                return Err(FormError::DuplicateVersion { form: f.id.clone(), version: f.version });
            }
        }
        Ok(Forms { all: all.into() })
    }

    /// This catalog with one more form version (a version it holds is refused).
    pub fn with(&self, form: FormDef) -> Result<Forms, FormError> {
        Forms::new(self.all.iter().cloned().chain([form]).collect())
    }

    /// A form at a given version.
    pub fn get(&self, id: &str, version: u32) -> Option<&FormDef> {
        self.all.iter().find(|f| f.id == id && f.version == version)
    }

    /// The newest version of a form.
    pub fn latest(&self, id: &str) -> Option<&FormDef> {
        self.all.iter().filter(|f| f.id == id).max_by_key(|f| f.version)
    }

    /// A form at `version`, or its newest version without one: what HQ's
    /// `GET /forms/{form}` and the field app's `get_form` answer.
    pub fn at(&self, id: &str, version: Option<u32>) -> Option<&FormDef> {
        match version {
            Some(v) => self.get(id, v),
            None => self.latest(id),
        }
    }

    /// Every form, every version, in the order given.
    pub fn all(&self) -> &[FormDef] {
        &self.all
    }
}

impl FormDef {
    /// Parses a form document, checks it against the form schema, and parses its rules.
    pub fn from_json(doc: &str) -> Result<Self, FormError> {
        let value: serde_json::Value = serde_json::from_str(doc).map_err(|e| FormError::NotJson(e.to_string()))?;
        if let Some(err) = form_schema().iter_errors(&value).next() {
            return Err(FormError::Schema { path: err.instance_path.to_string(), message: err.to_string() });
        }
        Self::checked(value)
    }

    /// A form this build ships. Its document met form.schema.json in this crate's tests
    /// (`every_shipped_form_meets_the_form_schema`) and is compiled in, so it cannot
    /// change after: the JSON Schema validator is not built for it at run time. Built,
    /// that validator takes about 85 MiB for as long as the process runs (most of it
    /// the JSON Schema meta-schemas), which was most of the field app's own memory.
    /// Every other check below still runs.
    fn shipped(doc: &str) -> Result<Self, FormError> {
        Self::checked(serde_json::from_str(doc).map_err(|e| FormError::NotJson(e.to_string()))?)
    }

    /// What every form must also be beyond the schema: unique field ids, a sound
    /// structure, rules that parse and name only its fields.
    fn checked(value: serde_json::Value) -> Result<Self, FormError> {
        let mut form: FormDef = serde_json::from_value(value)
            .map_err(|e| FormError::Schema { path: String::new(), message: e.to_string() })?;
        for (i, section) in form.sections.iter().enumerate().filter(|(_, s)| s.repeat.is_none()) {
            for (j, f) in section.fields.iter().enumerate() {
                if form.index.insert(f.id.clone(), (i, j)).is_some() {
                    return Err(FormError::DuplicateField(f.id.clone()));
                }
            }
        }
        let mut seen: std::collections::BTreeSet<String> = form.index.keys().cloned().collect();
        form.check_structure()?;
        for g in form.groups() {
            for f in &g.fields {
                seen.insert(format!("{}.{}", g.id, f.id));
            }
        }
        let mut parsed = Vec::with_capacity(form.rules.len());
        for rule in &form.rules {
            let expr =
                rules::parse(&rule.expr).map_err(|message| FormError::RuleSyntax { rule: rule.id.clone(), message })?;
            for name in expr.field_refs().into_iter().chain(rule.fields.iter().cloned()) {
                if !seen.contains(&name) {
                    return Err(FormError::UnknownField { rule: rule.id.clone(), field: name });
                }
            }
            parsed.push(expr);
        }
        form.parsed = parsed;
        let mut relevance = Vec::new();
        for f in form.sections.iter().flat_map(|s| &s.fields) {
            if let Some(src) = &f.relevant {
                let rule = format!("{}.relevant", f.id);
                let expr =
                    rules::parse(src).map_err(|message| FormError::RuleSyntax { rule: rule.clone(), message })?;
                if let Some(name) = expr.field_refs().into_iter().find(|n| !seen.contains(n)) {
                    return Err(FormError::UnknownField { rule, field: name });
                }
                relevance.push((f.id.clone(), expr));
            }
        }
        form.relevance = relevance;
        Ok(form)
    }

    /// Checks what the schema cannot: tags unique, presence questions well formed,
    /// vocabularies known (and copied into the form).
    fn check_structure(&mut self) -> Result<(), FormError> {
        let mut tags = std::collections::BTreeSet::new();
        for f in self.fields() {
            if !tags.insert(crate::hxl::canonical(&f.hxl)) {
                return Err(FormError::DuplicateHxl(f.hxl.clone()));
            }
        }
        for (i, section) in self.sections.iter().enumerate() {
            let Some(presence) = &section.presence else { continue };
            let bad = |why: String| FormError::BadPresence { section: section.id.clone(), why };
            let owner = self.sections[..=i]
                .iter()
                .position(|s| s.repeat.is_none() && s.fields.iter().any(|f| &f.id == presence))
                .ok_or_else(|| {
                    bad(format!("its presence question `{presence}` is not a field of it or of an earlier section"))
                })?;
            let field = self.sections[owner].fields.iter().find(|f| &f.id == presence).expect("found above");
            if owner == i && section.fields[0].id != *presence {
                return Err(bad(format!("its presence question `{presence}` must be its first field")));
            }
            let options: Vec<&str> = field.options.iter().map(|o| o.value.as_str()).collect();
            if field.kind != FieldType::SelectOne || options != Presence::OPTIONS {
                return Err(bad(format!("`{presence}` must be select_one with the options yes, no, unknown")));
            }
        }
        let mut columns = std::collections::BTreeSet::new();
        for id in &self.grid {
            let typed = self.fields().find(|f| &f.id == id).map(|f| f.kind);
            let fits = matches!(typed, Some(FieldType::Count | FieldType::Number | FieldType::SelectOne));
            if !fits || !columns.insert(id) {
                return Err(FormError::BadGridColumn(id.clone()));
            }
        }
        for section in &mut self.sections {
            let Some(repeat) = &mut section.repeat else { continue };
            let mut tags = std::collections::BTreeSet::from([crate::hxl::canonical(&repeat.key.hxl)]);
            for f in &section.fields {
                if !tags.insert(crate::hxl::canonical(&f.hxl)) {
                    return Err(FormError::DuplicateHxl(f.hxl.clone()));
                }
            }
            let vocabulary = vocabulary(&repeat.key.vocabulary).ok_or_else(|| FormError::UnknownVocabulary {
                section: section.id.clone(),
                vocabulary: repeat.key.vocabulary.clone(),
            })?;
            repeat.key.options = vocabulary.to_vec();
        }
        Ok(())
    }

    /// The form's single fields, in order: every section's but the repeated groups'.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.sections.iter().filter(|s| s.repeat.is_none()).flat_map(|s| s.fields.iter())
    }

    /// The repeated groups (sections with `repeat`).
    pub fn groups(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(|s| s.repeat.is_some())
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        let &(section, at) = self.index.get(id)?;
        self.sections.get(section)?.fields.get(at).filter(|f| f.id == id)
    }

    /// Where one row's value of a repeated group is stored: `<group>.<key>.<field>`.
    pub fn row_key(group: &str, key: &str, field: &str) -> String {
        format!("{group}.{key}.{field}")
    }

    /// A stored row value's group, key and field, if `name` is one of this form's.
    pub fn row_of(&self, name: &str) -> Option<(&Section, &VocabularyEntry, &Field)> {
        let (group, key, field) = row_parts(name)?;
        let section = self.groups().find(|s| s.id == group)?;
        let entry = section.repeat.as_ref()?.key.options.iter().find(|o| o.value == key)?;
        let field = section.fields.iter().find(|f| f.id == field)?;
        Some((section, entry, field))
    }

    /// The answer to a section's presence question, if it has one and it is answered.
    pub fn presence(&self, section: &Section, values: &BTreeMap<String, FieldValue>) -> Option<Presence> {
        Presence::of(values.get(section.presence.as_deref()?))
    }

    /// Whether a section's fields (other than its presence question) are asked.
    fn section_asked(&self, section: &Section, values: &BTreeMap<String, FieldValue>) -> bool {
        section.presence.is_none() || self.presence(section, values) == Some(Presence::Yes)
    }

    /// Checks one value against its field's type and range, a P-code answer against
    /// the gazetteer in force. `null` always fits: it means the field is empty.
    /// `note:<rule>` fields take the justification of a warning.
    pub fn check_value(&self, field: &str, value: &FieldValue, places: &Gazetteer) -> Result<(), ValueError> {
        if let Some(rule) = field.strip_prefix(NOTE_PREFIX) {
            let known = self.rules.iter().any(|r| r.id == rule)
                || rule
                    .strip_prefix("change:")
                    .is_some_and(|f| self.field(f).is_some_and(|f| f.change_threshold.is_some()))
                || rule
                    .strip_prefix("aggregate:")
                    .is_some_and(|f| self.aggregates.as_ref().is_some_and(|a| a.fields.iter().any(|x| x == f)));
            if !known {
                return Err(ValueError::UnknownField(field.to_owned()));
            }
            return match value {
                FieldValue::Null => Ok(()),
                FieldValue::String(note) => Ok(text::check(TextKind::Note, field, note)?),
                _ => Err(ValueError::NotText { field: field.to_owned(), value: value.to_string() }),
            };
        }
        let f = match self.field(field) {
            Some(f) => f,
            None => self.row_of(field).map(|(_, _, f)| f).ok_or_else(|| ValueError::UnknownField(field.to_owned()))?,
        };
        check_typed(f, field, value, places)
    }

    /// The fields asked for these values: a field with a relevance condition is asked
    /// only while the condition holds (an undecided condition hides it), and a module's
    /// fields only while its presence question says yes. A repeated group's fields are
    /// named `<group>.<field>`.
    pub fn relevant_fields(&self, values: &BTreeMap<String, FieldValue>) -> Vec<String> {
        let mut out = Vec::new();
        for section in &self.sections {
            let asked = self.section_asked(section, values);
            for f in &section.fields {
                let is_presence = section.presence.as_deref() == Some(f.id.as_str());
                let relevant = match self.relevance.iter().find(|(id, _)| id == &f.id) {
                    Some((_, expr)) => expr.eval_bool(values) == Some(true),
                    None => true,
                };
                if (asked || is_presence) && relevant {
                    out.push(match section.repeat {
                        Some(_) => format!("{}.{}", section.id, f.id),
                        None => f.id.clone(),
                    });
                }
            }
        }
        out
    }

    /// The values that count: those of relevant fields and of the rows of relevant
    /// groups. A value typed into a field that later became irrelevant is kept, but
    /// no rule reads it.
    fn effective(&self, values: &BTreeMap<String, FieldValue>) -> BTreeMap<String, FieldValue> {
        let relevant: std::collections::BTreeSet<String> = self.relevant_fields(values).into_iter().collect();
        values
            .iter()
            .filter(|(k, _)| {
                relevant.contains(k.as_str())
                    || self.row_of(k).is_some_and(|(g, _, f)| relevant.contains(&format!("{}.{}", g.id, f.id)))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The count fields of modules whose presence question says unknown: figures that
    /// are missing, not zero, which totals leave out and say how many left out.
    pub fn unknown_counts(&self, values: &BTreeMap<String, FieldValue>) -> Vec<&str> {
        self.sections
            .iter()
            .filter(|s| s.repeat.is_none() && self.presence(s, values) == Some(Presence::Unknown))
            .flat_map(|s| s.fields.iter().filter(|f| f.kind == FieldType::Count).map(|f| f.id.as_str()))
            .collect()
    }

    /// The values as totals count them: those asked, with every count of a module
    /// whose presence question says no counted as 0. A module answered unknown, or
    /// not yet answered, adds nothing: its figures are missing, not zero.
    pub fn counted(&self, values: &BTreeMap<String, FieldValue>) -> BTreeMap<String, FieldValue> {
        let mut out = self.effective(values);
        for section in self.sections.iter().filter(|s| s.repeat.is_none()) {
            if self.presence(section, values) == Some(Presence::No) {
                for f in section.fields.iter().filter(|f| f.kind == FieldType::Count) {
                    out.insert(f.id.clone(), FieldValue::from(0));
                }
            }
        }
        out
    }

    /// Whether `field` is not applicable for these values: it belongs to a module whose
    /// presence question says no. Exports write such a field as not applicable, not 0.
    pub fn not_applicable(&self, field: &str, values: &BTreeMap<String, FieldValue>) -> bool {
        let group = field.split('.').next().unwrap_or(field);
        self.sections
            .iter()
            .find(|s| {
                s.id == group && s.repeat.is_some() || s.repeat.is_none() && s.fields.iter().any(|f| f.id == field)
            })
            .is_some_and(|s| s.presence.as_deref() != Some(field) && self.presence(s, values) == Some(Presence::No))
    }

    /// Every check on these values, in form order: the form's rules, then changes
    /// against the previous round, then totals against the child level. A rule that
    /// names an empty field is not judged yet: the enumerator is still typing.
    pub fn check(&self, values: &BTreeMap<String, FieldValue>, ctx: Context<'_>) -> Vec<Issue> {
        let effective = self.effective(values);
        let mut issues: Vec<Issue> = self
            .rules
            .iter()
            .zip(&self.parsed)
            .filter(|(_, expr)| expr.eval_bool(&effective) == Some(false))
            .map(|(rule, _)| Issue {
                rule: rule.id.clone(),
                severity: rule.severity,
                fields: rule.fields.clone(),
                message: rule.message.clone(),
                justified: false,
            })
            .collect();
        if let Some((round, previous)) = ctx.previous {
            issues.extend(
                self.fields().filter_map(|f| change_issue(f, round, effective.get(&f.id), previous.get(&f.id))),
            );
        }
        if let (Some(children), Some(agg)) = (ctx.children, &self.aggregates) {
            if !children.is_empty() {
                issues.extend(agg.fields.iter().filter_map(|id| {
                    let field = self.field(id)?;
                    let total = effective.get(id)?.as_f64()?;
                    // A child that does not know the figure (Unknown, or left empty)
                    // leaves the sum unknown: nothing to compare.
                    let counted: Option<Vec<f64>> =
                        children.iter().map(|c| c.get(id).and_then(|v| v.as_f64())).collect();
                    let sum: f64 = counted?.iter().sum();
                    (total != sum).then(|| Issue {
                        rule: format!("aggregate:{id}"),
                        severity: Severity::Warning,
                        fields: vec![id.clone()],
                        message: Text {
                            en: format!(
                                "{}: the baladiya total is {total} but its muhallas add up to {sum}",
                                field.label.en
                            ),
                            ar: format!("{}: إجمالي البلدية {total} لكن مجموع محلاتها {sum}", field.label.ar),
                        },
                        justified: false,
                    })
                }));
            }
        }
        for issue in &mut issues {
            issue.justified = issue.severity == Severity::Warning
                && values
                    .get(&format!("{NOTE_PREFIX}{}", issue.rule))
                    .and_then(|v| v.as_str())
                    .is_some_and(|n| !n.trim().is_empty());
        }
        issues
    }

    /// The form's own rules only, with no other round or level to compare against.
    pub fn evaluate(&self, values: &BTreeMap<String, FieldValue>) -> Vec<Issue> {
        self.check(values, Context::default())
    }

    /// What stops these values from being submitted: empty required fields that are
    /// asked, error-severity issues, and warnings without a justification note.
    pub fn submission_blockers(&self, values: &BTreeMap<String, FieldValue>, ctx: Context<'_>) -> Vec<Issue> {
        let relevant = self.relevant_fields(values);
        let mut blockers: Vec<Issue> = self
            .fields()
            .filter(|f| f.required && relevant.contains(&f.id))
            .filter(|f| values.get(&f.id).is_none_or(|v| v.is_null() || v == &serde_json::json!([])))
            .map(|f| Issue {
                rule: format!("required:{}", f.id),
                severity: Severity::Error,
                fields: vec![f.id.clone()],
                message: Text {
                    en: format!("{} is required", f.label.en),
                    ar: format!("الحقل «{}» مطلوب", f.label.ar),
                },
                justified: false,
            })
            .collect();
        for g in self.groups() {
            let asked = g.fields.iter().any(|f| relevant.contains(&format!("{}.{}", g.id, f.id)));
            let prefix = format!("{}.", g.id);
            let rows = values.iter().any(|(k, v)| k.starts_with(&prefix) && !v.is_null());
            if asked && g.repeat.as_ref().is_some_and(|r| r.required) && !rows {
                let key = &g.repeat.as_ref().expect("a group repeats").key.label;
                blockers.push(Issue {
                    rule: format!("required:{}", g.id),
                    severity: Severity::Error,
                    fields: g.fields.iter().map(|f| format!("{}.{}", g.id, f.id)).collect(),
                    message: Text {
                        en: format!("{}: add at least one {}", g.title.en, key.en.to_lowercase()),
                        ar: format!("{}: أضف {} واحدة على الأقل", g.title.ar, key.ar),
                    },
                    justified: false,
                });
            }
        }
        blockers.extend(self.check(values, ctx).into_iter().filter(|i| i.severity == Severity::Error || !i.justified));
        blockers
    }
}

/// A warning when a field moved against the previous round beyond its threshold.
fn change_issue(f: &Field, round: &str, now: Option<&FieldValue>, before: Option<&FieldValue>) -> Option<Issue> {
    let t = f.change_threshold?;
    let (now, before) = (now?.as_f64()?, before?.as_f64()?);
    let change = (now - before).abs();
    let percent = if before == 0.0 { f64::INFINITY } else { change / before * 100.0 };
    if change < t.min_change as f64 || percent <= t.percent {
        return None;
    }
    let shown = if percent.is_finite() { format!("{:+.0}%", (now - before) / before * 100.0) } else { "new".into() };
    Some(Issue {
        rule: format!("change:{}", f.id),
        severity: Severity::Warning,
        fields: vec![f.id.clone()],
        message: Text {
            en: format!("{} changed from {before} in {round} to {now} ({shown}); explain the change", f.label.en),
            ar: format!("تغير {} من {before} في {round} إلى {now} ({shown})؛ يرجى توضيح سبب التغيير", f.label.ar),
        },
        justified: false,
    })
}

/// The group, key and field of a stored row value `<group>.<key>.<field>` (see
/// [`FormDef::row_key`]), whatever the form; `None` for any other name.
pub fn row_parts(name: &str) -> Option<(&str, &str, &str)> {
    let (group, rest) = name.split_once('.')?;
    let (key, field) = rest.split_once('.')?;
    Some((group, key, field))
}

/// Checks a value against one field's type and range; `name` is how it is stored.
fn check_typed(f: &Field, name: &str, value: &FieldValue, places: &Gazetteer) -> Result<(), ValueError> {
    if value.is_null() {
        return Ok(());
    }
    let shown = value.to_string();
    let field = name.to_owned();
    match f.kind {
        FieldType::Count | FieldType::Number => {
            let n =
                value.as_f64().ok_or_else(|| ValueError::NotANumber { field: field.clone(), value: shown.clone() })?;
            if f.kind == FieldType::Count {
                if n < 0.0 {
                    return Err(ValueError::NegativeCount { field, value: shown });
                }
                if value.as_u64().is_none() {
                    return Err(ValueError::NotAWholeNumber { field, value: shown });
                }
            }
            let max = match f.kind {
                FieldType::Count => f.max.map_or(COUNT_MAX as f64, |m| m.min(COUNT_MAX as f64)),
                _ => f.max.unwrap_or(f64::MAX),
            };
            let min = f.min.unwrap_or(f64::MIN);
            if n < min || n > max {
                return Err(ValueError::OutOfRange { field, value: shown, min: min.to_string(), max: max.to_string() });
            }
        }
        FieldType::SelectOne => {
            let chosen =
                value.as_str().ok_or_else(|| ValueError::NotText { field: field.clone(), value: shown.clone() })?;
            if !f.options.iter().any(|o| o.value == chosen) {
                return Err(ValueError::NotAnOption { field, value: chosen.to_owned() });
            }
        }
        FieldType::SelectMany => {
            let chosen =
                value.as_array().ok_or_else(|| ValueError::NotText { field: field.clone(), value: shown.clone() })?;
            let mut seen = std::collections::BTreeSet::new();
            for c in chosen {
                let c = c.as_str().ok_or_else(|| ValueError::NotText { field: field.clone(), value: c.to_string() })?;
                if !f.options.iter().any(|o| o.value == c) || !seen.insert(c) {
                    return Err(ValueError::NotAnOption { field, value: c.to_owned() });
                }
            }
        }
        FieldType::Text => {
            let text =
                value.as_str().ok_or_else(|| ValueError::NotText { field: field.clone(), value: shown.clone() })?;
            let max = f.max_length.map_or(TextKind::Note.max_chars(), |m| m as usize);
            text::check_len(&field, text, max)?;
            if let Some(level) = f.pcode_level {
                let ok = places.get(text).is_some_and(|l| l.level() == level);
                if !ok {
                    return Err(ValueError::NotAPcode { field, value: text.to_owned(), level });
                }
            }
        }
        FieldType::Date => {
            let text =
                value.as_str().ok_or_else(|| ValueError::NotADate { field: field.clone(), value: shown.clone() })?;
            if !is_iso_date(text) {
                return Err(ValueError::NotADate { field, value: text.to_owned() });
            }
        }
    }
    Ok(())
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s.bytes().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u8>(), Ok(1..=31))
}

/// A built-in vocabulary's entries by name.
fn vocabulary(name: &str) -> Option<&'static [VocabularyEntry]> {
    static PARSED: OnceLock<Vec<Vocabulary>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            VOCABULARIES
                .iter()
                .map(|(name, doc)| {
                    let v: Vocabulary =
                        serde_json::from_str(doc).unwrap_or_else(|e| panic!("vocabulary {name} is invalid: {e}"));
                    assert_eq!(v.id, *name, "vocabulary file names match their contents");
                    v
                })
                .collect()
        })
        .iter()
        .find(|v| v.id == name)
        .map(|v| v.entries.as_slice())
}

fn form_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let schema: serde_json::Value = serde_json::from_str(FORM_SCHEMA).expect("form.schema.json is JSON");
        jsonschema::validator_for(&schema).expect("form.schema.json is a valid JSON Schema")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_shipped_form_meets_the_form_schema() {
        for (id, version, doc) in BUILTIN {
            let form = FormDef::from_json(doc).unwrap_or_else(|e| {
                panic!(
                    "{id} v{version} is loaded at run time without the JSON Schema check, so it must pass it here: {e}"
                )
            });
            let shipped = Forms::shipped().get(id, *version).expect("every shipped document is in the shipped catalog");
            assert_eq!(
                serde_json::to_value(&form).unwrap(),
                serde_json::to_value(shipped).unwrap(),
                "the shipped form reads the same either way"
            );
        }
    }

    fn values(pairs: &[(&str, i64)]) -> BTreeMap<String, FieldValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
    }

    /// Baladiya v2, the version most of these checks were written for; v3 adds the
    /// presence questions of muhalla v2 (tested on muhalla v2 below).
    fn baladiya() -> &'static FormDef {
        Forms::shipped().get("baladiya", 2).unwrap()
    }

    fn rules_failing(form: &FormDef, v: &BTreeMap<String, FieldValue>) -> Vec<String> {
        form.evaluate(v).into_iter().map(|i| i.rule).collect()
    }

    #[test]
    fn every_shipped_form_version_loads_and_passes_its_schema() {
        assert_eq!(Forms::shipped().get("baladiya", 1).unwrap().level, 3);
        assert_eq!(baladiya().version, 2, "the newest baladiya form is version 2");
        assert_eq!(
            Forms::shipped().latest("muhalla").unwrap().level,
            4,
            "the muhalla form assesses COD adm4 locations"
        );
        assert!(Forms::shipped().get("baladiya", 9).is_none());
    }

    #[test]
    fn a_catalog_holds_each_form_version_once_and_a_new_version_becomes_the_latest() {
        let shipped = Forms::shipped();
        let v2 = shipped.get("muhalla", 2).unwrap().clone();
        assert_eq!(
            shipped.with(v2.clone()).unwrap_err(),
            FormError::DuplicateVersion { form: "muhalla".into(), version: 2 },
            "an assessment names its form by id and version, so two documents for one version would be ambiguous"
        );
        let mut v3 = v2;
        v3.version = 3;
        let grown = shipped.with(v3).unwrap();
        assert_eq!(grown.latest("muhalla").unwrap().version, 3, "a version added to the catalog is collected next");
        assert_eq!(
            grown.get("muhalla", 1).unwrap().version,
            1,
            "older versions stay, for the assessments made with them"
        );
        assert_eq!(
            shipped.latest("muhalla").unwrap().version,
            2,
            "adding to one catalog value leaves another as it was"
        );
    }

    #[test]
    fn an_old_form_version_still_checks_assessments_collected_with_it() {
        let v1 = Forms::shipped().get("baladiya", 1).unwrap();
        assert!(v1.field("mig_nat_niger").is_none(), "version 1 never asked for nationalities");
        let v = values(&[
            ("idp_hh", 1),
            ("idp_ind", 2),
            ("ret_hh", 0),
            ("ret_ind", 0),
            ("mig_ind", 0),
            ("mig_men", 0),
            ("mig_women", 0),
            ("mig_children", 0),
        ]);
        assert!(v1.submission_blockers(&v, Context::default()).is_empty(), "a complete v1 record stays submittable");
    }

    #[test]
    fn a_form_that_breaks_its_schema_is_refused_with_the_path_of_the_error() {
        let mut doc: serde_json::Value = serde_json::from_str(BALADIYA_FORM).unwrap();
        doc["sections"][1]["fields"][0]["type"] = json!("integer");
        match FormDef::from_json(&doc.to_string()).unwrap_err() {
            FormError::Schema { path, .. } => assert_eq!(path, "/sections/1/fields/0/type"),
            other => panic!("expected a schema error naming the bad field type, got {other:?}"),
        }
    }

    #[test]
    fn a_select_field_without_options_breaks_the_schema() {
        let mut doc: serde_json::Value = serde_json::from_str(BALADIYA_FORM).unwrap();
        let needs = doc["sections"].as_array().unwrap().iter().position(|s| s["id"] == "needs").unwrap();
        doc["sections"][needs]["fields"][0].as_object_mut().unwrap().remove("options");
        match FormDef::from_json(&doc.to_string()).unwrap_err() {
            FormError::Schema { path, .. } => assert_eq!(path, format!("/sections/{needs}/fields/0")),
            other => panic!("expected a schema error, got {other:?}"),
        }
    }

    #[test]
    fn a_rule_naming_an_unknown_field_is_refused() {
        let mut doc: serde_json::Value = serde_json::from_str(BALADIYA_FORM).unwrap();
        doc["rules"][0]["expr"] = json!("mig_men + ghosts == mig_ind");
        let err = FormDef::from_json(&doc.to_string()).unwrap_err();
        assert_eq!(err, FormError::UnknownField { rule: "migrant_breakdown".into(), field: "ghosts".into() });
    }

    #[test]
    fn migrant_breakdown_that_does_not_add_up_is_an_error_on_all_four_fields() {
        let issues =
            baladiya().evaluate(&values(&[("mig_ind", 100), ("mig_men", 50), ("mig_women", 30), ("mig_children", 10)]));
        assert_eq!(issues.len(), 1, "exactly the breakdown rule fails: {issues:?}");
        assert_eq!((issues[0].rule.as_str(), issues[0].severity), ("migrant_breakdown", Severity::Error));
        assert_eq!(issues[0].fields, ["mig_men", "mig_women", "mig_children", "mig_ind"]);
        assert!(
            issues[0].message.en.contains("Adult men") && issues[0].message.ar.contains("المهاجرين"),
            "messages name the fields in both languages"
        );
    }

    #[test]
    fn migrant_breakdown_that_adds_up_passes() {
        let v = values(&[("mig_ind", 100), ("mig_men", 60), ("mig_women", 30), ("mig_children", 10)]);
        assert!(baladiya().evaluate(&v).is_empty());
    }

    #[test]
    fn every_breakdown_must_sum_to_its_total() {
        let form = baladiya();
        let idp = values(&[
            ("idp_hh", 10),
            ("idp_ind", 40),
            ("idp_male_children", 10),
            ("idp_female_children", 10),
            ("idp_male_adults", 5),
            ("idp_female_adults", 5),
            ("idp_male_elderly", 5),
            ("idp_female_elderly", 4),
        ]);
        assert_eq!(rules_failing(form, &idp), ["idp_sex_age_breakdown"]);
        let arrivals = values(&[
            ("mig_ind", 10),
            ("mig_arr_lt1m", 1),
            ("mig_arr_1_6m", 2),
            ("mig_arr_6_12m", 3),
            ("mig_arr_gt12m", 4),
            ("mig_arr_unknown", 0),
        ]);
        assert!(rules_failing(form, &arrivals).is_empty(), "arrival buckets that add up pass");
        let mut shelter = values(&[
            ("mig_ind", 10),
            ("mig_sh_rented_self", 5),
            ("mig_sh_rented_others", 0),
            ("mig_sh_rented_employer", 0),
            ("mig_sh_squatting", 0),
            ("mig_sh_abandoned", 0),
            ("mig_sh_workplace", 0),
            ("mig_sh_public", 0),
            ("mig_sh_informal_camp", 0),
            ("mig_sh_none", 0),
        ]);
        shelter.insert("mig_sh_other".into(), json!(4));
        assert_eq!(rules_failing(form, &shelter), ["mig_shelter_breakdown"]);
    }

    #[test]
    fn households_above_individuals_is_an_error() {
        let issues = rules_failing(baladiya(), &values(&[("idp_hh", 50), ("idp_ind", 40)]));
        assert_eq!(issues, ["idp_hh_le_ind", "idp_household_size"]);
    }

    #[test]
    fn a_household_size_outside_1_to_15_is_a_warning() {
        let issues = baladiya().evaluate(&values(&[("idp_hh", 2), ("idp_ind", 40)]));
        assert_eq!(issues.len(), 1);
        assert_eq!((issues[0].rule.as_str(), issues[0].severity), ("idp_household_size", Severity::Warning));
        assert!(
            rules_failing(baladiya(), &values(&[("idp_hh", 2), ("idp_ind", 30)])).is_empty(),
            "15 per household is still plausible"
        );
    }

    #[test]
    fn irrelevant_fields_are_neither_asked_nor_checked() {
        let form = baladiya();
        let none = values(&[("idp_hh", 0), ("idp_ind", 0), ("idp_male_children", 5)]);
        assert!(
            !form.relevant_fields(&none).contains(&"idp_male_children".to_owned()),
            "no IDPs, no breakdown to ask for"
        );
        assert!(rules_failing(form, &none).is_empty(), "a stale value in a hidden field must not raise an error");
        let some = values(&[("idp_hh", 1), ("idp_ind", 5)]);
        assert!(form.relevant_fields(&some).contains(&"idp_male_children".to_owned()));
    }

    #[test]
    fn empty_required_fields_block_submission_only_when_asked() {
        let form = baladiya();
        let blockers = form.submission_blockers(&values(&[("idp_hh", 5)]), Context::default());
        assert!(blockers.iter().any(|i| i.rule == "required:idp_ind"));
        assert!(!blockers.iter().any(|i| i.rule == "required:idp_hh"));
        assert!(!blockers.iter().any(|i| i.rule == "required:need_2_problem"), "an unasked field is never required");
        assert!(!blockers.iter().any(|i| i.rule == "required:need_1_problem"), "asked only once need 1 is chosen");
        let mut with_need = values(&[]);
        with_need.insert("need_1".into(), json!("food"));
        let blockers = form.submission_blockers(&with_need, Context::default());
        assert!(blockers.iter().any(|i| i.rule == "required:need_1_problem"), "a ranked need needs its problem");
    }

    #[test]
    fn a_need_ranked_twice_is_an_error_as_soon_as_both_are_chosen() {
        let mut v = BTreeMap::new();
        v.insert("need_1".to_string(), json!("food"));
        v.insert("need_2".to_string(), json!("food"));
        assert_eq!(rules_failing(baladiya(), &v), ["needs_distinct"]);
    }

    #[test]
    fn more_key_informant_types_than_informants_is_an_error() {
        let mut v = values(&[("ki_count", 1)]);
        v.insert("ki_types".into(), json!(["crisis_committee", "health_staff"]));
        assert_eq!(rules_failing(baladiya(), &v), ["ki_types_le_count"]);
    }

    #[test]
    fn a_change_beyond_the_threshold_against_the_previous_round_is_a_warning_that_needs_a_note() {
        let form = baladiya();
        let previous = values(&[("idp_ind", 1000), ("ret_ind", 1000), ("mig_ind", 100)]);
        // +50% and +500 people: beyond ±30% and at least 100.
        let mut now = values(&[("idp_ind", 1500), ("ret_ind", 1100), ("mig_ind", 170)]);
        let ctx = Context { previous: Some(("R53", &previous)), children: None };
        let issues = form.check(&now, ctx);
        let changes: Vec<&str> =
            issues.iter().filter(|i| i.rule.starts_with("change:")).map(|i| i.rule.as_str()).collect();
        assert_eq!(changes, ["change:idp_ind"], "+10% and +70 people stay under the threshold");
        let change = issues.iter().find(|i| i.rule == "change:idp_ind").unwrap();
        assert_eq!(change.severity, Severity::Warning);
        assert!(
            change.message.en.contains("1000")
                && change.message.en.contains("1500")
                && change.message.en.contains("R53"),
            "{}",
            change.message.en
        );
        assert!(
            form.submission_blockers(&now, ctx).iter().any(|i| i.rule == "change:idp_ind"),
            "an unexplained warning blocks submission"
        );
        now.insert("note:change:idp_ind".into(), json!("New arrivals from Murzuq after the floods"));
        assert!(form.check(&now, ctx).iter().find(|i| i.rule == "change:idp_ind").unwrap().justified);
        assert!(
            !form.submission_blockers(&now, ctx).iter().any(|i| i.rule == "change:idp_ind"),
            "a justified warning does not block"
        );
    }

    #[test]
    fn a_baladiya_total_that_differs_from_its_muhallas_is_a_warning_showing_both_numbers() {
        let form = baladiya();
        let muhallas = [values(&[("idp_ind", 300)]), values(&[("idp_ind", 130)])];
        let ctx = Context { previous: None, children: Some(&muhallas) };
        let issues = form.check(&values(&[("idp_hh", 100), ("idp_ind", 500)]), ctx);
        let agg = issues.iter().find(|i| i.rule == "aggregate:idp_ind").expect("the totals differ");
        assert_eq!(agg.severity, Severity::Warning);
        assert!(agg.message.en.contains("500") && agg.message.en.contains("430"), "{}", agg.message.en);
        assert!(!form
            .check(&values(&[("idp_hh", 100), ("idp_ind", 430)]), ctx)
            .iter()
            .any(|i| i.rule.starts_with("aggregate:")));
    }

    #[test]
    fn each_kind_of_bad_value_gets_its_own_code() {
        let form = baladiya();
        let code = |f: &str, v: serde_json::Value| form.check_value(f, &v, Gazetteer::libya()).unwrap_err().code();
        assert_eq!(code("idp_hh", json!(-3)), "negative_count");
        assert_eq!(code("idp_hh", json!(2.5)), "not_a_whole_number");
        assert_eq!(code("idp_hh", json!("many")), "not_a_number");
        assert_eq!(code("nope", json!(1)), "unknown_field");
        assert_eq!(code("need_1", json!("cake")), "not_an_option");
        assert_eq!(code("idp_drivers", json!(["conflict", "conflict"])), "not_an_option");
        assert_eq!(code("idp_origin_main", json!("LY021104")), "unknown_pcode", "area of origin is a mantika");
        assert_eq!(code("ki_count", json!(0)), "out_of_range");
        assert_eq!(code("note:nope", json!("x")), "unknown_field");
        assert!(form.check_value("idp_origin_main", &json!("LY0322"), Gazetteer::libya()).is_ok());
        assert!(form.check_value("idp_drivers", &json!(["conflict", "flood"]), Gazetteer::libya()).is_ok());
        assert!(form.check_value("note:change:idp_ind", &json!("explained"), Gazetteer::libya()).is_ok());
        assert!(form.check_value("idp_hh", &json!(null), Gazetteer::libya()).is_ok(), "clearing a field is allowed");
    }

    #[test]
    fn every_count_is_bounded_even_where_the_form_sets_no_maximum() {
        // Regression: 18446744073709551615 IDPs was accepted and later broke totals.
        for form in Forms::shipped().all() {
            for f in form.fields().filter(|f| f.kind == FieldType::Count) {
                if f.max.is_none() {
                    assert!(
                        form.check_value(&f.id, &json!(COUNT_MAX), Gazetteer::libya()).is_ok(),
                        "{}: the bound itself is allowed",
                        f.id
                    );
                }
                let over = form.check_value(&f.id, &json!(COUNT_MAX + 1), Gazetteer::libya()).unwrap_err();
                assert_eq!(over.code(), "out_of_range", "{} v{} {}: one past the bound", form.id, form.version, f.id);
                let huge = form.check_value(&f.id, &json!(u64::MAX), Gazetteer::libya()).unwrap_err();
                assert_eq!(huge.code(), "out_of_range", "{}: u64::MAX is refused", f.id);
            }
        }
    }

    #[test]
    fn a_justification_note_longer_than_the_note_limit_is_refused_as_text_too_long() {
        let form = baladiya();
        let max = TextKind::Note.max_chars();
        assert!(form.check_value("note:change:idp_ind", &json!("x".repeat(max)), Gazetteer::libya()).is_ok());
        let err =
            form.check_value("note:change:idp_ind", &json!("x".repeat(7_000_000)), Gazetteer::libya()).unwrap_err();
        assert_eq!(err.code(), "text_too_long", "a 7 MB note would be stored and sent to every device in scope");
    }

    #[test]
    fn a_text_field_is_bounded_by_its_max_length_in_the_form_or_else_by_the_note_limit() {
        let long = json!("L".repeat(TextKind::Note.max_chars() + 1));
        assert_eq!(
            baladiya().check_value("idp_origin_main", &long, Gazetteer::libya()).unwrap_err().code(),
            "text_too_long",
            "a text field without max_length gets the note limit"
        );
        let mut doc: serde_json::Value = serde_json::from_str(BALADIYA_FORM).unwrap();
        for section in doc["sections"].as_array_mut().unwrap() {
            for field in section["fields"].as_array_mut().unwrap() {
                if field["id"] == "idp_origin_main" {
                    field["max_length"] = json!(4);
                }
            }
        }
        let form = FormDef::from_json(&doc.to_string()).expect("max_length is part of the form schema");
        assert_eq!(
            form.check_value("idp_origin_main", &json!("LY0322"), Gazetteer::libya()).unwrap_err().code(),
            "text_too_long",
            "the form's own max_length must win, so the device and HQ refuse the same answers"
        );
    }

    #[test]
    fn key_informants_are_recorded_by_type_and_count_never_by_name() {
        let ids: Vec<&str> = baladiya().fields().map(|f| f.id.as_str()).filter(|id| id.starts_with("ki_")).collect();
        assert_eq!(ids, ["ki_count", "ki_types"], "no field may hold a key informant's name or phone number");
    }

    const MUHALLA_V2: &str = BUILTIN[4].2;

    fn muhalla_v2() -> &'static FormDef {
        Forms::shipped().get("muhalla", 2).unwrap()
    }

    /// A muhalla with migrants only, as DTM's published sheet has most of them: 95
    /// migrants with every breakdown adding up, two nationalities, no IDPs, no returnees.
    fn migrant_only() -> BTreeMap<String, FieldValue> {
        let mut v: BTreeMap<String, FieldValue> = [
            ("idp_present", json!("no")),
            ("ret_present", json!("no")),
            ("mig_present", json!("yes")),
            ("mig_ind", json!(95)),
            ("mig_sh_rented_self", json!(60)),
            ("mig_sh_workplace", json!(35)),
            ("mig_arr_gt12m", json!(95)),
            ("mig_permit_none", json!(80)),
            ("mig_permit_unknown", json!(15)),
            ("mig_men", json!(60)),
            ("mig_women", json!(30)),
            ("mig_children", json!(5)),
            ("mig_need_1", json!("health")),
            ("mig_need_1_problem", json!("too_expensive")),
            ("ki_count", json!(3)),
            ("ki_types", json!(["crisis_committee"])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for f in muhalla_v2().sections[2].fields.iter().filter(|f| f.kind == FieldType::Count) {
            v.entry(f.id.clone()).or_insert(json!(0));
        }
        v.insert(FormDef::row_key("mig_nat", "ner", "ind"), json!(70));
        v.insert(FormDef::row_key("mig_nat", "sdn", "ind"), json!(25));
        v
    }

    #[test]
    fn a_migrant_only_muhalla_submits_without_invented_zeros_for_idps_and_returnees() {
        let form = muhalla_v2();
        let v = migrant_only();
        assert!(!v.contains_key("idp_hh") && !v.contains_key("ret_ind"), "no IDP or returnee figure was typed");
        assert_eq!(form.submission_blockers(&v, Context::default()), vec![], "a module answered No asks nothing");
        let asked = form.relevant_fields(&v);
        assert!(asked.contains(&"idp_present".to_owned()), "the presence question itself is always asked");
        assert!(!asked.contains(&"idp_hh".to_owned()), "No: the module's fields are not asked");
        assert!(asked.contains(&"mig_nat.ind".to_owned()), "the nationality group is asked while migrants are present");
        let counted = form.counted(&v);
        assert_eq!(counted.get("idp_hh"), Some(&json!(0)), "a module that does not apply counts as 0 in totals");
        assert_eq!(counted.get("ret_ind"), Some(&json!(0)));
        assert_eq!(counted.get("mig_ind"), Some(&json!(95)));
        assert!(form.not_applicable("idp_hh", &v), "exports write it as not applicable, not 0");
        assert!(!form.not_applicable("idp_present", &v), "the answer No itself is a value");
        assert!(!form.not_applicable("mig_ind", &v));
    }

    #[test]
    fn unknown_presence_is_neither_no_nor_zero() {
        let form = muhalla_v2();
        let mut v = migrant_only();
        v.insert("idp_present".into(), json!("unknown"));
        v.insert("idp_hh".into(), json!(12));
        assert!(!form.relevant_fields(&v).contains(&"idp_hh".to_owned()), "Unknown asks no figures");
        assert_eq!(form.counted(&v).get("idp_hh"), None, "Unknown adds nothing to totals: missing, not 0");
        assert!(!form.not_applicable("idp_hh", &v), "Unknown is not written as not applicable");
        assert!(form.unknown_counts(&v).contains(&"idp_ind"), "totals say how many left IDPs unknown");
        assert!(!form.unknown_counts(&v).contains(&"mig_ind"), "migrants were answered");
        assert!(form.submission_blockers(&v, Context::default()).is_empty(), "Unknown is an answer");
        v.remove("mig_present");
        let blockers = form.submission_blockers(&v, Context::default());
        assert!(
            blockers.iter().any(|b| b.rule == "required:mig_present"),
            "an unanswered presence question blocks submission: {blockers:?}"
        );
    }

    #[test]
    fn every_migrant_breakdown_of_muhalla_v2_sums_to_migrant_individuals() {
        let form = muhalla_v2();
        for (field, rule) in [
            ("mig_sh_workplace", "mig_shelter_breakdown"),
            ("mig_arr_gt12m", "mig_arrival_breakdown"),
            ("mig_permit_none", "mig_permit_breakdown"),
            ("mig_children", "migrant_breakdown"),
            ("mig_nat.sdn.ind", "mig_nationality_breakdown"),
        ] {
            let mut v = migrant_only();
            let n = v[field].as_u64().unwrap();
            v.insert(field.into(), json!(n + 1));
            assert_eq!(rules_failing(form, &v), vec![rule.to_owned()], "one more in {field} breaks {rule} alone");
        }
        let mut twice = migrant_only();
        twice.insert("mig_need_2".into(), json!("health"));
        assert_eq!(rules_failing(form, &twice), vec!["mig_needs_distinct".to_owned()], "a need is ranked once");
    }

    #[test]
    fn the_nationality_group_needs_a_row_and_each_row_is_checked_like_a_field() {
        let form = muhalla_v2();
        let mut v = migrant_only();
        v.retain(|k, _| !k.starts_with("mig_nat."));
        let rules: Vec<String> = form.submission_blockers(&v, Context::default()).into_iter().map(|b| b.rule).collect();
        assert_eq!(rules, vec!["required:mig_nat".to_owned()], "no nationality yet: one blocker, no false sum error");
        assert!(form.check_value("mig_nat.civ.ind", &json!(3), Gazetteer::libya()).is_ok());
        assert_eq!(
            form.check_value("mig_nat.civ.ind", &json!(-3), Gazetteer::libya()).unwrap_err().code(),
            "negative_count"
        );
        assert_eq!(
            form.check_value("mig_nat.atlantis.ind", &json!(3), Gazetteer::libya()).unwrap_err().code(),
            "unknown_field"
        );
        assert_eq!(
            form.check_value("mig_nat.civ.nope", &json!(3), Gazetteer::libya()).unwrap_err().code(),
            "unknown_field"
        );
        assert_eq!(
            form.check_value("ind", &json!(3), Gazetteer::libya()).unwrap_err().code(),
            "unknown_field",
            "a row field is not a field"
        );
        let keys = &form.groups().next().unwrap().repeat.as_ref().unwrap().key.options;
        assert_eq!(keys[0].value, "ner", "the most frequent nationality comes first");
        let others = keys.iter().filter(|k| k.path.last().is_some_and(|n| n == "Other")).count();
        assert_eq!(others, 5, "DTM keeps an Other per sub-region, so a nationality is more than a country code");
    }

    #[test]
    fn every_field_of_every_form_has_an_hxl_tag_of_its_own() {
        for form in Forms::shipped().all() {
            let mut tags = std::collections::BTreeSet::new();
            for f in form.fields() {
                assert!(f.hxl.starts_with('#'), "{} v{}: {} has no HXL tag", form.id, form.version, f.id);
                assert!(tags.insert(crate::hxl::canonical(&f.hxl)), "{}: tag {} twice", form.id, f.hxl);
            }
        }
        let mut doc: serde_json::Value = serde_json::from_str(MUHALLA_V2).unwrap();
        doc["sections"][0]["fields"][1]["hxl"] = json!("#affected +ind +idps");
        assert!(
            matches!(FormDef::from_json(&doc.to_string()), Err(FormError::Schema { .. } | FormError::DuplicateHxl(_))),
            "a tag on two fields would make an import read one column twice"
        );
        doc["sections"][0]["fields"][1]["hxl"] = json!("#affected+ind+idps");
        assert!(
            matches!(FormDef::from_json(&doc.to_string()), Err(FormError::DuplicateHxl(_))),
            "attribute order does not make a tag different"
        );
    }

    #[test]
    fn the_entry_grid_names_single_counts_or_choices_of_the_form_each_once() {
        let form = Forms::shipped().latest("muhalla").unwrap();
        assert_eq!(form.grid.first().map(String::as_str), Some("idp_present"), "the grid is data in the form");
        for (column, why) in [
            (json!("mig_need_1_problem_x"), "a column that is not a field"),
            (json!("idp_drivers"), "a multiple choice cannot be typed in one cell"),
            (json!("idp_origin_main"), "free text is not a key count"),
            (json!("idp_hh"), "a column shown twice"),
        ] {
            let mut doc: serde_json::Value = serde_json::from_str(MUHALLA_V2).unwrap();
            doc["grid"].as_array_mut().unwrap().push(column.clone());
            assert!(
                matches!(FormDef::from_json(&doc.to_string()), Err(FormError::BadGridColumn(c)) if json!(c) == column),
                "{why} must be refused"
            );
        }
    }

    #[test]
    fn a_presence_question_must_be_yes_no_unknown_and_come_first() {
        let mut doc: serde_json::Value = serde_json::from_str(MUHALLA_V2).unwrap();
        doc["sections"][0]["fields"][0]["options"].as_array_mut().unwrap().pop();
        assert!(matches!(FormDef::from_json(&doc.to_string()), Err(FormError::BadPresence { .. })));
        let mut doc: serde_json::Value = serde_json::from_str(MUHALLA_V2).unwrap();
        doc["sections"][0]["presence"] = json!("idp_hh");
        assert!(matches!(FormDef::from_json(&doc.to_string()), Err(FormError::BadPresence { .. })));
        let mut doc: serde_json::Value = serde_json::from_str(MUHALLA_V2).unwrap();
        doc["sections"][3]["repeat"]["key"]["vocabulary"] = json!("planets");
        assert!(matches!(FormDef::from_json(&doc.to_string()), Err(FormError::UnknownVocabulary { .. })));
    }

    #[test]
    fn baladiya_v3_asks_the_modules_as_muhalla_v2_does() {
        let form = Forms::shipped().get("baladiya", 3).unwrap();
        let mut v = crate::testdata::muhalla_v2(7 * 5 * 2); // no IDPs, no returnees, migrants
        v.insert("need_1".into(), json!("health"));
        v.insert("need_1_problem".into(), json!("too_expensive"));
        assert_eq!(form.submission_blockers(&v, Context::default()), vec![], "a migrant-only baladiya submits as is");
        assert_eq!(form.counted(&v).get("idp_ind"), Some(&json!(0)), "No counts as 0 at the baladiya too");
        let children = vec![crate::testdata::muhalla_v2(1)];
        let ctx = Context { previous: None, children: Some(&children) };
        assert!(
            form.check(&v, ctx).iter().any(|i| i.rule == "aggregate:mig_ind"),
            "the baladiya's migrants are still checked against its muhallas"
        );
    }

    #[test]
    fn a_baladiya_is_compared_with_its_muhallas_only_once_every_one_in_use_is_entered() {
        use crate::{AssessmentStatus as S, Gazetteer, Pcode, Scope};
        let g = Gazetteer::libya();
        let tripoli = Pcode::parse("LY021104").unwrap();
        let muhallas: Vec<Pcode> = g.to_assess(&Scope::new(["LY021104"]), 4).map(|l| l.pcode.clone()).collect();
        assert!(muhallas.len() > 3, "Tripoli has muhallas");
        let v2 = Forms::shipped().get("muhalla", 2).unwrap();
        // Every muhalla: 10 IDPs, except the first, whose IDP module is answered No.
        let mut ten = values(&[("idp_ind", 10)]);
        ten.insert("idp_present".to_owned(), json!("yes"));
        let mut none = BTreeMap::new();
        none.insert("idp_present".to_owned(), json!("no"));
        let child = |i: usize, status| Child {
            location: &muhallas[i],
            status,
            form: Some(v2),
            values: if i == 0 { &none } else { &ten },
        };
        let three: Vec<Child<'_>> = (0..3).map(|i| child(i, S::Draft)).collect();
        assert_eq!(
            aggregate_children(Forms::shipped(), g, &tripoli, "muhalla", &three),
            None,
            "three of them entered: nothing to compare yet"
        );

        let all: Vec<Child<'_>> = (0..muhallas.len()).map(|i| child(i, S::Submitted)).collect();
        let counted = aggregate_children(Forms::shipped(), g, &tripoli, "muhalla", &all).expect("all entered");
        assert_eq!(counted[0].get("idp_ind"), Some(&json!(0)), "a module answered No counts 0, not missing");
        let form = Forms::shipped().get("baladiya", 3).unwrap();
        let ctx = Context { previous: None, children: Some(&counted) };
        let expected = 10 * (muhallas.len() as u64 - 1);
        let mut agrees = values(&[("idp_ind", expected as i64)]);
        agrees.insert("idp_present".into(), json!("yes"));
        assert!(!form.check(&agrees, ctx).iter().any(|i| i.rule == "aggregate:idp_ind"), "No counted as 0 adds up");

        // A whole list's muhallas may be passed: another baladiya's do not count here.
        let elsewhere: Vec<Pcode> = g.to_assess(&Scope::new(["LY021101"]), 4).map(|l| l.pcode.clone()).collect();
        let mut mixed = all.clone();
        mixed.extend(elsewhere.iter().map(|p| Child {
            location: p,
            status: S::Submitted,
            form: Some(v2),
            values: &ten,
        }));
        assert_eq!(
            aggregate_children(Forms::shipped(), g, &tripoli, "muhalla", &mixed),
            Some(counted.clone()),
            "only the muhallas inside Tripoli are Tripoli's"
        );

        let mut voided = all.clone();
        voided[1].status = S::Voided;
        assert_eq!(
            aggregate_children(Forms::shipped(), g, &tripoli, "muhalla", &voided),
            None,
            "a voided muhalla is not an entered one"
        );

        // A muhalla that does not know its IDPs (Unknown) leaves the sum unknown.
        let mut unknown = BTreeMap::new();
        unknown.insert("idp_present".to_owned(), json!("unknown"));
        let mut with_unknown = all.clone();
        with_unknown[2].values = &unknown;
        let counted = aggregate_children(Forms::shipped(), g, &tripoli, "muhalla", &with_unknown).unwrap();
        let ctx = Context { previous: None, children: Some(&counted) };
        let mut any = values(&[("idp_ind", 12345)]);
        any.insert("idp_present".into(), json!("yes"));
        assert!(!form.check(&any, ctx).iter().any(|i| i.rule == "aggregate:idp_ind"), "Unknown is not 0");
    }
}
