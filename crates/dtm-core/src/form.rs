//! Form definitions: data, not Rust structs. A form is a JSON document in
//! `schemas/forms/`, checked against `schemas/form.schema.json` before use.

use crate::rules::{self, Expr, Issue, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const FORM_SCHEMA: &str = include_str!("../../../schemas/form.schema.json");
const BALADIYA_FORM: &str = include_str!("../../../schemas/forms/baladiya.json");

/// A field's value as it travels: a number, a string, or null when empty.
pub type FieldValue = serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct Text {
    pub en: String,
    pub ar: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct Field {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub label: Text,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct Section {
    pub id: String,
    pub title: Text,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export, rename = "Rule")]
pub struct RuleDef {
    pub id: String,
    pub severity: Severity,
    pub expr: String,
    pub fields: Vec<String>,
    pub message: Text,
}

/// A parsed, checked form. Rule expressions are parsed once, here.
#[derive(Debug, Clone, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct FormDef {
    pub id: String,
    pub version: u32,
    pub level: u8,
    pub title: Text,
    pub sections: Vec<Section>,
    pub rules: Vec<RuleDef>,
    #[serde(skip)]
    parsed: Vec<Expr>,
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
}

impl ValueError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownField(_) => "unknown_field",
            Self::NegativeCount { .. } => "negative_count",
            Self::NotAWholeNumber { .. } => "not_a_whole_number",
            Self::NotANumber { .. } => "not_a_number",
            Self::OutOfRange { .. } => "out_of_range",
            Self::NotText { .. } => "not_text",
        }
    }
}

impl FormDef {
    /// Parses a form document, checks it against the form schema, and parses its rules.
    pub fn from_json(doc: &str) -> Result<Self, FormError> {
        let value: serde_json::Value = serde_json::from_str(doc).map_err(|e| FormError::NotJson(e.to_string()))?;
        if let Some(err) = form_schema().iter_errors(&value).next() {
            return Err(FormError::Schema { path: err.instance_path.to_string(), message: err.to_string() });
        }
        let mut form: FormDef = serde_json::from_value(value)
            .map_err(|e| FormError::Schema { path: String::new(), message: e.to_string() })?;
        let mut seen = std::collections::BTreeSet::new();
        for f in form.fields() {
            if !seen.insert(f.id.clone()) {
                return Err(FormError::DuplicateField(f.id.clone()));
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
        Ok(form)
    }

    /// The built-in forms, by id.
    pub fn builtin(id: &str) -> Option<&'static FormDef> {
        static BALADIYA: OnceLock<FormDef> = OnceLock::new();
        match id {
            "baladiya" => Some(
                BALADIYA.get_or_init(|| FormDef::from_json(BALADIYA_FORM).expect("the shipped baladiya form is valid")),
            ),
            _ => None,
        }
    }

    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.sections.iter().flat_map(|s| s.fields.iter())
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields().find(|f| f.id == id)
    }

    /// Checks one value against its field's type and range. `null` always fits: it
    /// means the field is empty.
    pub fn check_value(&self, field: &str, value: &FieldValue) -> Result<(), ValueError> {
        let f = self.field(field).ok_or_else(|| ValueError::UnknownField(field.to_owned()))?;
        if value.is_null() {
            return Ok(());
        }
        let shown = value.to_string();
        match f.kind {
            FieldType::Count | FieldType::Number => {
                let n = value
                    .as_f64()
                    .ok_or_else(|| ValueError::NotANumber { field: field.to_owned(), value: shown.clone() })?;
                if f.kind == FieldType::Count {
                    if n < 0.0 {
                        return Err(ValueError::NegativeCount { field: field.to_owned(), value: shown });
                    }
                    if value.as_u64().is_none() {
                        return Err(ValueError::NotAWholeNumber { field: field.to_owned(), value: shown });
                    }
                }
                let (min, max) = (f.min.unwrap_or(f64::MIN), f.max.unwrap_or(f64::MAX));
                if n < min || n > max {
                    return Err(ValueError::OutOfRange {
                        field: field.to_owned(),
                        value: shown,
                        min: min.to_string(),
                        max: max.to_string(),
                    });
                }
            }
            FieldType::Text | FieldType::Date | FieldType::SelectOne | FieldType::SelectMany => {
                if !value.is_string() {
                    return Err(ValueError::NotText { field: field.to_owned(), value: shown });
                }
            }
        }
        Ok(())
    }

    /// Every rule's verdict on these values, in form order. A rule that names an
    /// empty field is not judged yet: the enumerator is still typing.
    pub fn evaluate(&self, values: &BTreeMap<String, FieldValue>) -> Vec<Issue> {
        self.rules
            .iter()
            .zip(&self.parsed)
            .filter(|(_, expr)| expr.eval_bool(values) == Some(false))
            .map(|(rule, _)| Issue {
                rule: rule.id.clone(),
                severity: rule.severity,
                fields: rule.fields.clone(),
                message: rule.message.clone(),
            })
            .collect()
    }

    /// What stops these values from being submitted: empty required fields and
    /// error-severity rules.
    pub fn submission_blockers(&self, values: &BTreeMap<String, FieldValue>) -> Vec<Issue> {
        let mut blockers: Vec<Issue> = self
            .fields()
            .filter(|f| f.required && values.get(&f.id).is_none_or(|v| v.is_null()))
            .map(|f| Issue {
                rule: format!("required:{}", f.id),
                severity: Severity::Error,
                fields: vec![f.id.clone()],
                message: Text {
                    en: format!("{} is required", f.label.en),
                    ar: format!("الحقل «{}» مطلوب", f.label.ar),
                },
            })
            .collect();
        blockers.extend(self.evaluate(values).into_iter().filter(|i| i.severity == Severity::Error));
        blockers
    }
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

    fn values(pairs: &[(&str, i64)]) -> BTreeMap<String, FieldValue> {
        pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
    }

    #[test]
    fn the_builtin_baladiya_form_loads_and_passes_its_schema() {
        let form = FormDef::builtin("baladiya").unwrap();
        assert_eq!(form.level, 3, "the baladiya form assesses COD adm3 locations");
        assert!(form.field("mig_ind").is_some());
    }

    #[test]
    fn a_form_that_breaks_its_schema_is_refused_with_the_path_of_the_error() {
        let mut doc: serde_json::Value = serde_json::from_str(BALADIYA_FORM).unwrap();
        doc["sections"][1]["fields"][0]["type"] = json!("integer");
        let err = FormDef::from_json(&doc.to_string()).unwrap_err();
        match err {
            FormError::Schema { path, .. } => assert_eq!(path, "/sections/1/fields/0/type"),
            other => panic!("expected a schema error naming the bad field type, got {other:?}"),
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
        let form = FormDef::builtin("baladiya").unwrap();
        let issues =
            form.evaluate(&values(&[("mig_ind", 100), ("mig_men", 50), ("mig_women", 30), ("mig_children", 10)]));
        assert_eq!(issues.len(), 1, "exactly the breakdown rule fails: {issues:?}");
        assert_eq!(issues[0].rule, "migrant_breakdown");
        assert_eq!(issues[0].severity, Severity::Error);
        assert_eq!(issues[0].fields, ["mig_men", "mig_women", "mig_children", "mig_ind"]);
    }

    #[test]
    fn migrant_breakdown_that_adds_up_passes() {
        let form = FormDef::builtin("baladiya").unwrap();
        let issues =
            form.evaluate(&values(&[("mig_ind", 100), ("mig_men", 60), ("mig_women", 30), ("mig_children", 10)]));
        assert!(issues.is_empty(), "a consistent breakdown raises nothing: {issues:?}");
    }

    #[test]
    fn rules_wait_until_every_named_field_has_a_value() {
        let form = FormDef::builtin("baladiya").unwrap();
        let issues = form.evaluate(&values(&[("mig_ind", 100), ("mig_men", 60)]));
        assert!(issues.is_empty(), "half-typed figures must not flash errors: {issues:?}");
    }

    #[test]
    fn households_above_individuals_is_an_error() {
        let form = FormDef::builtin("baladiya").unwrap();
        let issues = form.evaluate(&values(&[("idp_hh", 50), ("idp_ind", 40)]));
        assert_eq!(issues.iter().map(|i| i.rule.as_str()).collect::<Vec<_>>(), ["idp_hh_le_ind"]);
    }

    #[test]
    fn empty_required_fields_block_submission() {
        let form = FormDef::builtin("baladiya").unwrap();
        let blockers = form.submission_blockers(&values(&[("idp_hh", 5)]));
        assert!(blockers.iter().any(|i| i.rule == "required:idp_ind"));
        assert!(!blockers.iter().any(|i| i.rule == "required:idp_hh"));
    }

    #[test]
    fn each_kind_of_bad_value_gets_its_own_code() {
        let form = FormDef::builtin("baladiya").unwrap();
        let code = |f: &str, v: serde_json::Value| form.check_value(f, &v).unwrap_err().code();
        assert_eq!(code("idp_hh", json!(-3)), "negative_count");
        assert_eq!(code("idp_hh", json!(2.5)), "not_a_whole_number");
        assert_eq!(code("idp_hh", json!("many")), "not_a_number");
        assert_eq!(code("nope", json!(1)), "unknown_field");
        assert!(form.check_value("idp_hh", &json!(0)).is_ok());
        assert!(form.check_value("idp_hh", &json!(null)).is_ok(), "clearing a field is allowed");
    }
}
