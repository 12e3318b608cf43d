//! Checking a past round's figures, as rows of a CSV or XLSX whose second row holds
//! HXL tags (see [`crate::hxl`]), before HQ imports them. All or nothing: every
//! error is reported by row and column, and one error means nothing is imported.
//! Reading the file itself is HQ's job; this module sees only cells.

use crate::exchange;
use crate::form::{Context, Field, FieldType, FieldValue, FormDef, Forms};
use crate::hxl;
use crate::ErrorCode;
use crate::{Gazetteer, Issue, Pcode, Round, Severity};
use serde::Serialize;
use std::collections::BTreeMap;

/// One row's figures, ready to import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    /// Spreadsheet row number, 1-based (row 1 is the header, row 2 the tags).
    pub row: usize,
    pub form: String,
    pub form_version: u32,
    pub location: Pcode,
    pub values: BTreeMap<String, serde_json::Value>,
}

/// One cell (or whole row) of an import file that was refused or warned about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(export)]
pub struct CellError {
    pub row: usize,
    /// The spreadsheet column letter, or empty for a whole-row error.
    pub column: String,
    pub tag: String,
    pub code: ErrorCode,
    pub message: String,
    /// For `rule_error` and `rule_warning`: the form rule that was broken (its id,
    /// or `aggregate:<field>` for a baladiya figure that differs from its muhallas).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub rule: Option<String>,
    /// The sheet of an XLSX with more than one, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub sheet: Option<String>,
}

pub(crate) fn column_letter(mut i: usize) -> String {
    let mut s = String::new();
    loop {
        s.insert(0, (b'A' + (i % 26) as u8) as char);
        if i < 26 {
            return s;
        }
        i = i / 26 - 1;
    }
}

/// A count as typed in a spreadsheet: whole, non-negative; `1200.0` from XLSX is 1200.
fn parse_count(cell: &str) -> Result<Option<u64>, (ErrorCode, String)> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(None);
    }
    let n: f64 = cell.parse().map_err(|_| (ErrorCode::NotANumber, format!("`{cell}` is not a number")))?;
    if n < 0.0 {
        return Err((ErrorCode::NegativeCount, format!("{cell} is negative; counts cannot be")));
    }
    if n.fract() != 0.0 || !n.is_finite() {
        return Err((ErrorCode::NotAWholeNumber, format!("{cell} is not a whole number")));
    }
    Ok(Some(n as u64))
}

/// A file that passed: its records, and the warnings to show in the import report
/// (rules of warning severity, and baladiya totals that differ from their muhallas).
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub records: Vec<ImportRecord>,
    pub warnings: Vec<CellError>,
    /// Columns of a DTM workbook its mapping does not know, as `sheet: header`.
    pub unknown_columns: Vec<String>,
    /// The layout the file was read in: `hxl` (a tag row), or a DTM mapping's id.
    pub layout: String,
    /// Locations the file names that the gazetteer did not hold, to be added before
    /// its records (only when [`Catalog::add_unknown`] allowed it), parents first.
    pub new_locations: Vec<crate::Location>,
}

/// What an import reads its rows against: the forms (a row is checked against the
/// version its round collects), the gazetteer its P-codes are looked up in, and whether
/// one the gazetteer does not hold may be added from the names on its row.
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'a> {
    pub forms: &'a Forms,
    pub gazetteer: &'a Gazetteer,
    /// Add a P-code the gazetteer does not hold, under a parent it does, named by its
    /// row (`#adm4+name` and `#adm4+name+i_ar` for a muhalla, or `#loc+name` and
    /// `#loc+name+i_ar`). Without it such a P-code is an `unknown_pcode` error.
    pub add_unknown: bool,
}

impl<'a> Catalog<'a> {
    /// Only the P-codes the gazetteer holds.
    pub fn known(forms: &'a Forms, gazetteer: &'a Gazetteer) -> Self {
        Self { forms, gazetteer, add_unknown: false }
    }
}

/// Checks every row as a device checks a value and a form (types, the count bound,
/// the form's rules) and returns the records with their warnings, or every error found.
pub fn check_rows(rows: &[Vec<String>], round: &Round, catalog: Catalog<'_>) -> Result<Checked, Vec<CellError>> {
    check_sheets(&[(String::new(), rows.to_vec())], round, catalog)
}

/// A cell's (or, without `col`, a row's) error or warning; `sheet` is empty for a CSV.
pub(crate) fn err(
    sheet: &str,
    row: usize,
    col: Option<usize>,
    tag: &str,
    code: ErrorCode,
    message: String,
) -> CellError {
    CellError {
        row,
        column: col.map(column_letter).unwrap_or_default(),
        tag: tag.to_owned(),
        code,
        message,
        rule: None,
        sheet: (!sheet.is_empty()).then(|| sheet.to_owned()),
    }
}

/// The row of HXL tags: the first of the first five rows whose filled cells are
/// mostly tags (a CSV has it second, under the column names; an XLSX export third,
/// under the English and Arabic labels).
fn tag_row(rows: &[Vec<String>]) -> Option<usize> {
    rows.iter().take(5).position(|row| {
        let filled: Vec<&String> = row.iter().filter(|c| !c.trim().is_empty()).collect();
        !filled.is_empty() && filled.iter().filter(|c| c.trim_start().starts_with('#')).count() * 2 >= filled.len()
    })
}

/// One answer as a spreadsheet writes it, as the value a device would store: a select
/// answer may be the option's value or its English or Arabic label; a select-many
/// answer lists them separated by spaces, commas or semicolons.
fn parse_cell(field: &Field, text: &str) -> Result<Option<FieldValue>, (ErrorCode, String)> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case(exchange::NOT_APPLICABLE) {
        return Ok(None);
    }
    let option = |t: &str| -> String {
        field
            .options
            .iter()
            .find(|o| o.value == t || o.label.en.eq_ignore_ascii_case(t) || o.label.ar == t)
            .map_or_else(|| t.to_owned(), |o| o.value.clone())
    };
    Ok(Some(match field.kind {
        FieldType::Count => return parse_count(text).map(|n| n.map(FieldValue::from)),
        FieldType::Number => {
            let n: f64 = text.parse().map_err(|_| (ErrorCode::NotANumber, format!("`{text}` is not a number")))?;
            // A whole number stays whole (2012, not 2012.0), as a device stores it.
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                return Ok(Some(FieldValue::from(n as i64)));
            }
            serde_json::Number::from_f64(n)
                .map(FieldValue::Number)
                .ok_or_else(|| (ErrorCode::NotANumber, format!("`{text}` is not a number")))?
        }
        FieldType::SelectOne => FieldValue::from(option(text)),
        FieldType::SelectMany => FieldValue::from(
            text.split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '،')
                .filter(|t| !t.is_empty())
                .map(option)
                .collect::<Vec<_>>(),
        ),
        FieldType::Text | FieldType::Date => FieldValue::from(text),
    }))
}

/// One row of a repeated group: its sheet, its row number and its values.
type GroupRow = (String, usize, BTreeMap<String, FieldValue>);

/// Where a record came from, to put its rule errors on the right row.
struct Source {
    sheet: String,
    row: usize,
    columns: BTreeMap<String, (usize, String)>,
}

/// Checks a whole file: one sheet for a CSV, every sheet of an XLSX. A sheet whose tags
/// include a repeated group's key (`#country+code` for nationalities) holds that
/// group's rows, one per location and key, merged into the location's record; any
/// other sheet holds one row per assessment. Rules run once a record is whole.
pub fn check_sheets(
    sheets: &[(String, Vec<Vec<String>>)],
    round: &Round,
    catalog: Catalog<'_>,
) -> Result<Checked, Vec<CellError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    // The gazetteer as it will be once the file's new locations are added, so a later
    // row may name one an earlier row added.
    let mut gazetteer = std::borrow::Cow::Borrowed(catalog.gazetteer);
    let mut new_locations: Vec<crate::Location> = Vec::new();
    let forms: Vec<(u32, &FormDef)> =
        round.forms.iter().filter_map(|(id, v)| catalog.forms.get(id, *v).map(|d| (*v, d))).collect();
    let mut records: Vec<ImportRecord> = Vec::new();
    let mut sources: Vec<Source> = Vec::new();
    let mut seen: BTreeMap<(String, Pcode), usize> = BTreeMap::new();
    // Rows of repeated groups, by the record they belong to.
    let mut group_rows: BTreeMap<(String, Pcode), Vec<GroupRow>> = BTreeMap::new();
    let mut any_field = false;
    for (sheet, rows) in sheets {
        let sheet = sheet.as_str();
        if rows.iter().all(|r| r.iter().all(|c| c.trim().is_empty())) {
            continue;
        }
        let Some(tag_at) = tag_row(rows) else {
            errors.push(err(sheet, 2, None, "", ErrorCode::MissingTagRow, "row 2 must hold the HXL tags".into()));
            continue;
        };
        let tags: Vec<String> = rows[tag_at].iter().map(|t| hxl::canonical(t)).collect();
        let find = |tag: &str| tags.iter().position(|t| !t.is_empty() && *t == hxl::canonical(tag));
        let (adm1, adm2, adm3, adm4, round_col) =
            (find(hxl::ADM1), find(hxl::ADM2), find(hxl::ADM3), find(hxl::ADM4), find(hxl::ROUND));
        if adm3.is_none() && adm4.is_none() {
            errors.push(err(
                sheet,
                tag_at + 1,
                None,
                hxl::ADM3,
                ErrorCode::MissingColumn,
                format!("no column is tagged {} or {}", hxl::ADM3, hxl::ADM4),
            ));
            continue;
        }
        // The group whose key this sheet carries, if any (the same for every form here).
        let group_key = forms.iter().flat_map(|(_, d)| d.groups()).find_map(|g| {
            let key = &g.repeat.as_ref()?.key;
            find(&key.hxl).map(|col| (key.hxl.clone(), col))
        });
        let known_field =
            forms.iter().any(|(_, d)| d.sections.iter().flat_map(|s| &s.fields).any(|f| find(&f.hxl).is_some()));
        any_field |= known_field;
        for (i, row) in rows.iter().enumerate().skip(tag_at + 1) {
            let n = i + 1;
            let cell = |c: usize| row.get(c).map(|s| s.trim()).unwrap_or("");
            if row.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let mut row_ok = true;
            // The level of the place the row is about: its muhalla's, if it names one.
            let own_level = if adm4.is_some_and(|c| !cell(c).is_empty()) { 4 } else { 3 };
            let mut level_code = |col: usize, tag: &str, level: u8, errors: &mut Vec<CellError>| -> Option<Pcode> {
                let text = cell(col);
                let parsed = Pcode::parse(text).ok().filter(|p| p.level() == level);
                if let Some(p) = parsed.as_ref().filter(|p| gazetteer.get(p.as_str()).is_some()) {
                    return Some(p.clone());
                }
                let refused = |code: ErrorCode, message: String| err(sheet, n, Some(col), tag, code, message);
                let name = |tags: [&str; 2]| tags.iter().find_map(|t| find(t)).map(|c| cell(c).to_owned());
                match parsed {
                    Some(p) if catalog.add_unknown && level == own_level => {
                        let new = crate::LocationInput {
                            pcode: p.to_string(),
                            name_en: name([&format!("#adm{level}+name"), crate::exchange::NAME_EN]).unwrap_or_default(),
                            name_ar: name([&format!("#adm{level}+name+i_ar"), crate::exchange::NAME_AR])
                                .unwrap_or_default(),
                            ..Default::default()
                        };
                        match gazetteer.plan_add(new) {
                            Ok(location) => {
                                gazetteer.to_mut().apply(location.clone());
                                new_locations.push(location);
                                return Some(p);
                            }
                            Err(e) => errors.push(refused(e.code(), format!("{p} cannot be added: {e}"))),
                        }
                    }
                    Some(p) => errors.push(refused(
                        ErrorCode::UnknownPcode,
                        format!(
                            "{p} is not in the gazetteer; add it first, or import with the option to add new locations"
                        ),
                    )),
                    None => errors.push(refused(
                        ErrorCode::UnknownPcode,
                        format!("`{text}` is not a level-{level} P-code in the gazetteer"),
                    )),
                }
                row_ok = false;
                None
            };
            let baladiya = match (adm3, adm4.filter(|c| !cell(*c).is_empty())) {
                // A muhalla's own P-code says its baladiya; the baladiya cell may be empty.
                (None, _) => None,
                (Some(c), Some(_)) if cell(c).is_empty() => None,
                (Some(c), _) => level_code(c, hxl::ADM3, 3, &mut errors),
            };
            let muhalla = match adm4 {
                Some(c) if !cell(c).is_empty() => level_code(c, hxl::ADM4, 4, &mut errors),
                _ => None,
            };
            if let (Some(b), Some(m)) = (&baladiya, &muhalla) {
                if !m.is_within(b) {
                    errors.push(err(
                        sheet,
                        n,
                        adm4,
                        hxl::ADM4,
                        ErrorCode::InconsistentPcode,
                        format!("{m} is not in baladiya {b}"),
                    ));
                    row_ok = false;
                }
            }
            let place = muhalla.clone().or_else(|| baladiya.clone());
            for (col, tag, level) in [(adm1, hxl::ADM1, 1u8), (adm2, hxl::ADM2, 2u8)] {
                if let (Some(c), Some(p)) = (col, &place) {
                    let text = cell(c);
                    if !text.is_empty() && p.ancestor(level).map(|a| a.to_string()).as_deref() != Some(text) {
                        errors.push(err(
                            sheet,
                            n,
                            Some(c),
                            tag,
                            ErrorCode::InconsistentPcode,
                            format!("`{text}` is not the level-{level} parent of {p}"),
                        ));
                        row_ok = false;
                    }
                }
            }
            if let Some(c) = round_col {
                let text = cell(c);
                // DTM's own files carry the round as its number (`54`, or `54.0` from a
                // spreadsheet); ours as its code (`R54`).
                if !text.is_empty() && text != round.code && text.parse::<f64>().ok() != Some(f64::from(round.number)) {
                    errors.push(err(
                        sheet,
                        n,
                        Some(c),
                        hxl::ROUND,
                        ErrorCode::WrongRound,
                        format!("row is for {text}, not {}", round.code),
                    ));
                    row_ok = false;
                }
            }
            let Some(location) = place else { continue };
            let form = if location.level() == 4 { "muhalla" } else { "baladiya" };
            let Some(&(form_version, def)) = forms.iter().find(|(_, d)| d.id == form) else {
                errors.push(err(
                    sheet,
                    n,
                    None,
                    "",
                    ErrorCode::UnknownForm,
                    format!("round {} does not collect the {form} form", round.code),
                ));
                continue;
            };
            // The same checks as a value typed on a device: type and range (the count
            // bound included); the rules run once the record is whole.
            let mut values = BTreeMap::new();
            let mut columns = BTreeMap::new();
            let mut read = |name: String, field: &Field, col: usize, errors: &mut Vec<CellError>| match parse_cell(
                field,
                cell(col),
            ) {
                Ok(Some(v)) => match def.check_value(&name, &v, &gazetteer) {
                    Ok(()) => {
                        columns.insert(name.clone(), (col, field.hxl.clone()));
                        values.insert(name, v);
                    }
                    Err(e) => {
                        errors.push(err(sheet, n, Some(col), &field.hxl, e.code(), e.to_string()));
                        row_ok = false;
                    }
                },
                Ok(None) => {}
                Err((code, message)) => {
                    errors.push(err(sheet, n, Some(col), &field.hxl, code, message));
                    row_ok = false;
                }
            };
            match group_key.as_ref().filter(|(_, col)| !cell(*col).is_empty()) {
                Some((key_tag, key_col)) => {
                    let Some(group) = def.groups().find(|g| g.repeat.as_ref().is_some_and(|r| &r.key.hxl == key_tag))
                    else {
                        errors.push(err(
                            sheet,
                            n,
                            Some(*key_col),
                            key_tag,
                            ErrorCode::UnknownField,
                            format!("the {form} form has no group keyed by {key_tag}"),
                        ));
                        continue;
                    };
                    let text = cell(*key_col);
                    let key = group.repeat.as_ref().and_then(|r| {
                        r.key.options.iter().find(|o| o.value == text || o.label.en.eq_ignore_ascii_case(text))
                    });
                    let Some(key) = key else {
                        errors.push(err(
                            sheet,
                            n,
                            Some(*key_col),
                            key_tag,
                            ErrorCode::NotAnOption,
                            format!("`{text}` is not one of the {}", group.title.en.to_lowercase()),
                        ));
                        continue;
                    };
                    for f in &group.fields {
                        if let Some(col) = find(&f.hxl) {
                            read(FormDef::row_key(&group.id, &key.value, &f.id), f, col, &mut errors);
                        }
                    }
                    let rows_here = group_rows.entry((form.to_owned(), location.clone())).or_default();
                    if rows_here.iter().any(|(_, _, v)| v.keys().any(|k| values.contains_key(k))) {
                        errors.push(err(
                            sheet,
                            n,
                            Some(*key_col),
                            key_tag,
                            ErrorCode::DuplicateRow,
                            format!("{location} already has a row for {}", key.label.en),
                        ));
                        continue;
                    }
                    if row_ok {
                        rows_here.push((sheet.to_owned(), n, values));
                    }
                }
                None => {
                    for f in def.fields() {
                        if let Some(col) = find(&f.hxl) {
                            read(f.id.clone(), f, col, &mut errors);
                        }
                    }
                    // A file written before presence questions (or by a tool that has
                    // none) gives a module's figures without saying the module applies:
                    // its figures say so. Without this a past round's IDPs would read as
                    // "not answered" and its totals come back empty.
                    for section in def.sections.iter().filter(|s| s.repeat.is_none()) {
                        let Some(presence) = &section.presence else { continue };
                        let said = def.field(presence).is_some_and(|f| find(&f.hxl).is_some());
                        let figures = section.fields.iter().any(|f| &f.id != presence && values.contains_key(&f.id));
                        if !said && figures {
                            values.insert(presence.clone(), FieldValue::from("yes"));
                        }
                    }
                    if let Some(first) = seen.insert((form.to_owned(), location.clone()), n) {
                        errors.push(err(
                            sheet,
                            n,
                            None,
                            "",
                            ErrorCode::DuplicateRow,
                            format!("{location} already appears on row {first}"),
                        ));
                        continue;
                    }
                    if row_ok {
                        records.push(ImportRecord { row: n, form: form.to_owned(), form_version, location, values });
                        sources.push(Source { sheet: sheet.to_owned(), row: n, columns });
                    }
                }
            }
        }
    }
    if !any_field && errors.is_empty() {
        errors.push(err(
            "",
            2,
            None,
            "",
            ErrorCode::MissingColumn,
            "no column holds a field of the round's forms".into(),
        ));
    }
    for ((form, location), rows) in group_rows {
        let Some(i) = records.iter().position(|r| r.form == form && r.location == location) else {
            if seen.contains_key(&(form.clone(), location.clone())) {
                continue; // its own row was refused, and said so
            }
            for (sheet, row, _) in rows {
                errors.push(err(
                    &sheet,
                    row,
                    None,
                    "",
                    ErrorCode::MissingRow,
                    format!("{location} has group rows but no {form} row of its own"),
                ));
            }
            continue;
        };
        for (_, _, values) in rows {
            records[i].values.extend(values);
        }
    }
    for (record, source) in records.iter().zip(&sources) {
        let Some(def) = catalog.forms.get(&record.form, record.form_version) else { continue };
        for issue in def.check(&record.values, Context::default()) {
            let col = issue.fields.iter().find_map(|f| source.columns.get(f));
            let shown: Vec<String> = issue
                .fields
                .iter()
                .filter_map(|f| {
                    let value = match f.split_once('.') {
                        // Row values are checked counts, so their sum is whole.
                        Some(_) => Some(serde_json::Value::from(crate::rules::group_sum(&record.values, f)? as u64)),
                        None => record.values.get(f).cloned(),
                    }?;
                    Some(format!("{f} = {value}"))
                })
                .collect();
            let message = format!("{} ({})", issue.message.en, shown.join(", "));
            let code = match issue.severity {
                Severity::Error => ErrorCode::RuleError,
                Severity::Warning => ErrorCode::RuleWarning,
            };
            let cell = CellError {
                rule: Some(issue.rule.clone()),
                ..err(&source.sheet, source.row, col.map(|c| c.0), col.map_or("", |c| c.1.as_str()), code, message)
            };
            match issue.severity {
                Severity::Error => errors.push(cell),
                Severity::Warning => warnings.push(cell),
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by(|a, b| (&a.sheet, a.row).cmp(&(&b.sheet, b.row)));
        return Err(errors);
    }
    for (record, issue) in aggregate_warnings(catalog.forms, &records) {
        let source = &sources[records.iter().position(|r| std::ptr::eq(r, record)).expect("a record of the file")];
        let field = issue.rule.strip_prefix("aggregate:").unwrap_or_default();
        let col = source.columns.get(field);
        let cell = err(
            &source.sheet,
            record.row,
            col.map(|c| c.0),
            col.map_or("", |c| c.1.as_str()),
            ErrorCode::RuleWarning,
            issue.message.en,
        );
        warnings.push(CellError { rule: Some(issue.rule), ..cell });
    }
    warnings.sort_by(|a, b| (&a.sheet, a.row).cmp(&(&b.sheet, b.row)));
    Ok(Checked { records, warnings, unknown_columns: Vec::new(), layout: "hxl".into(), new_locations })
}

/// Checks a whole file in whichever layout it is: DTM Libya's published workbook (read
/// through its mapping, see [`crate::dtm_workbook`]), or sheets with an HXL tag row.
pub fn check_file(
    book: &[(String, Vec<Vec<String>>)],
    round: &Round,
    catalog: Catalog<'_>,
) -> Result<Checked, Vec<CellError>> {
    let dtm = crate::dtm_workbook::dtm_libya();
    if !dtm.recognises(book) {
        return check_sheets(book, round, catalog);
    }
    let converted = dtm.read(book, catalog)?;
    let mut checked = check_sheets(&converted.sheets, round, catalog)?;
    let baladiya_sheet =
        dtm.sheets.iter().find(|s| s.role == crate::dtm_workbook::SheetRole::Baladiya).map_or("", |s| s.name.as_str());
    checked.warnings.extend(crate::dtm_workbook::baladiya_warnings(
        catalog.forms,
        baladiya_sheet,
        &converted.baladiya_totals,
        &checked.records,
    ));
    checked.unknown_columns = converted.unknown_columns;
    checked.layout = dtm.id.clone();
    Ok(checked)
}

/// Baladiya totals that differ from the sum of their muhallas in the same file:
/// warnings, shown in the import report, never a reason to refuse the file.
pub fn aggregate_warnings<'r>(forms: &Forms, records: &'r [ImportRecord]) -> Vec<(&'r ImportRecord, Issue)> {
    let mut out = Vec::new();
    for r in records.iter().filter(|r| r.form == "baladiya") {
        let Some(form) = forms.get(&r.form, r.form_version) else { continue };
        let children: Vec<_> = records
            .iter()
            .filter(|c| c.form == "muhalla" && c.location.is_within(&r.location))
            .map(|c| c.values.clone())
            .collect();
        let ctx = Context { previous: None, children: Some(&children) };
        for issue in form.check(&r.values, ctx).into_iter().filter(|i| i.rule.starts_with("aggregate:")) {
            out.push((r, issue));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RoundStatus;

    fn r53() -> Round {
        Round {
            code: "R53".into(),
            number: 53,
            title: "Round 53".into(),
            title_ar: String::new(),
            window_start: "2024-05-01".into(),
            window_end: "2024-06-30".into(),
            status: RoundStatus::Closed,
            forms: vec![("baladiya".into(), 2), ("muhalla".into(), 1)],
        }
    }

    fn table(lines: &[&str]) -> Vec<Vec<String>> {
        lines.iter().map(|l| l.split(',').map(str::to_owned).collect()).collect()
    }

    /// Only the P-codes the shipped gazetteer holds.
    fn known() -> Catalog<'static> {
        Catalog::known(Forms::shipped(), crate::Gazetteer::libya())
    }

    const HEAD: &str = "baladiya,muhalla,round,idp_hh,idp_ind";
    const TAGS: &str = "#adm3+code,#adm4+code,#round+code,#affected+idps+hh,#affected +ind +idps";

    #[test]
    fn a_clean_file_gives_one_record_per_row_at_the_right_level() {
        let rows = table(&[HEAD, TAGS, "LY021104,,R53,10,50", "LY021104,LY02110401,R53,4,20", ",,,,"]);
        let records = check_rows(&rows, &r53(), known()).unwrap().records;
        assert_eq!(records.len(), 2, "the blank row is skipped");
        assert_eq!((records[0].form.as_str(), records[0].form_version), ("baladiya", 2));
        assert_eq!((records[1].form.as_str(), records[1].location.as_str()), ("muhalla", "LY02110401"));
        assert_eq!(records[1].values["idp_ind"], 20, "tags match whatever their attribute order");
    }

    /// Baladiya v2 as a new version 4 with one more rule: a form version this build
    /// does not ship, as HQ could hold one.
    fn baladiya_v4_capping_idps_at_40() -> FormDef {
        let mut doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../schemas/forms/baladiya-v2.json")).unwrap();
        doc["version"] = 4.into();
        doc["rules"].as_array_mut().unwrap().push(serde_json::json!({
            "id": "idp_ind_at_most_40", "severity": "error", "expr": "idp_ind <= 40", "fields": ["idp_ind"],
            "message": {"en": "At most 40 IDPs here", "ar": "لا يزيد عدد النازحين هنا على 40"}
        }));
        FormDef::from_json(&doc.to_string()).expect("a valid form document")
    }

    #[test]
    fn an_import_reads_its_rows_with_the_form_versions_of_the_catalog_it_is_given() {
        let mut round = r53();
        round.forms = vec![("baladiya".into(), 4)];
        let rows = table(&[HEAD, TAGS, "LY021104,,R53,10,50"]);
        let grown = Forms::shipped().with(baladiya_v4_capping_idps_at_40()).unwrap();
        let errors = check_rows(&rows, &round, Catalog::known(&grown, crate::Gazetteer::libya())).unwrap_err();
        assert_eq!(
            errors.iter().map(|e| (e.row, e.rule.as_deref())).collect::<Vec<_>>(),
            [(3, Some("idp_ind_at_most_40"))],
            "the rows are checked against the catalog's version 4, rule and all"
        );
        let fine = table(&[HEAD, TAGS, "LY021104,,R53,10,40"]);
        let records = check_rows(&fine, &round, Catalog::known(&grown, crate::Gazetteer::libya())).unwrap().records;
        assert_eq!((records[0].form.as_str(), records[0].form_version), ("baladiya", 4));
        assert!(
            check_rows(&fine, &round, known()).is_err(),
            "a catalog without version 4 cannot read a round that collects it"
        );
    }

    #[test]
    fn every_error_is_reported_by_row_and_column_and_nothing_is_returned() {
        let rows = table(&[
            HEAD,
            TAGS,
            "LY029999,,R53,1,2",           // row 3: unknown P-code
            "LY021104,,R53,-3,2",          // row 4: negative count
            "LY021105,,R53,many,2",        // row 5: not a number
            "LY021104,,R53,1,2",           // row 6: duplicate of row 4
            "LY021101,LY01010101,R53,1,2", // row 7: muhalla outside its baladiya
            "LY021102,,R52,1,2.5",         // row 8: wrong round and a fraction
        ]);
        let errors = check_rows(&rows, &r53(), known()).unwrap_err();
        let got: Vec<(usize, &str, &str)> =
            errors.iter().map(|e| (e.row, e.column.as_str(), e.code.as_str())).collect();
        assert_eq!(
            got,
            [
                (3, "A", "unknown_pcode"),
                (4, "D", "negative_count"),
                (5, "D", "not_a_number"),
                (6, "", "duplicate_row"),
                (7, "B", "inconsistent_pcode"),
                (8, "C", "wrong_round"),
                (8, "E", "not_a_whole_number"),
            ],
            "each error must name its row and column so the officer can fix the file"
        );
    }

    #[test]
    fn a_file_without_presence_columns_says_by_its_figures_that_a_module_applies() {
        let mut round = r53();
        round.forms = vec![("baladiya".into(), 3), ("muhalla".into(), 2)];
        let rows =
            table(&["baladiya,idp_hh,idp_ind", "#adm3+code,#affected+idps+hh,#affected+idps+ind", "LY021104,200,1000"]);
        let records = check_rows(&rows, &round, known()).unwrap().records;
        assert_eq!(records[0].values["idp_present"], "yes", "IDP figures in the file: the IDP module was asked");
        assert!(!records[0].values.contains_key("mig_present"), "no migrant figure: nothing is said about migrants");
        let form = Forms::shipped().get("baladiya", 3).unwrap();
        assert_eq!(form.counted(&records[0].values)["idp_ind"], 1000, "and the figures count in totals");
    }

    #[test]
    fn a_file_without_tags_is_refused() {
        let rows = table(&[HEAD, "baladiya,muhalla,round,a,b"]);
        assert_eq!(check_rows(&rows, &r53(), known()).unwrap_err()[0].code, ErrorCode::MissingTagRow, "no row of tags");
        let rows = table(&[HEAD, "#adm3+code,#adm4+code,#round+code,#a,#b", "LY021104,,R53,1,2"]);
        assert_eq!(
            check_rows(&rows, &r53(), known()).unwrap_err()[0].code,
            ErrorCode::MissingColumn,
            "tags, but none of a field the round's forms hold"
        );
    }

    #[test]
    fn baladiya_totals_that_differ_from_their_muhallas_are_warnings() {
        let rows =
            table(&[HEAD, TAGS, "LY021104,,R53,10,50", "LY021104,LY02110401,R53,4,20", "LY021104,LY02110402,R53,6,20"]);
        let records = check_rows(&rows, &r53(), known()).unwrap().records;
        let warnings = aggregate_warnings(Forms::shipped(), &records);
        assert_eq!(warnings.len(), 1, "idp_hh agrees (10 = 4 + 6), idp_ind does not (50 ≠ 40): {warnings:?}");
        assert_eq!(warnings[0].1.rule, "aggregate:idp_ind");
    }

    const MIGRANTS_HEAD: &str = "baladiya,muhalla,round,mig_ind,men,women,children";
    const MIGRANTS_TAGS: &str = "#adm3+code,#adm4+code,#round+code,#affected+migrants+ind,#affected+migrants+m+adults,#affected+migrants+f+adults,#affected+migrants+children";

    #[test]
    fn a_row_breaking_the_forms_rules_refuses_the_file_by_row_and_column() {
        // 60 + 30 + 5 = 95, not 100: the sex-and-age breakdown must sum to the individuals.
        let rows = table(&[
            MIGRANTS_HEAD,
            MIGRANTS_TAGS,
            "LY021104,LY02110401,R53,100,60,30,5",
            "LY021104,LY02110402,R53,10,5,3,2",
        ]);
        let errors = check_rows(&rows, &r53(), known()).unwrap_err();
        assert_eq!(errors.len(), 1, "only the row that breaks the rule is named: {errors:?}");
        assert_eq!(errors[0].row, 3);
        assert!(!errors[0].column.is_empty(), "the error points at a column of the rule's fields");
        assert!(
            errors[0].message.contains("mig_ind = 100") && errors[0].message.contains("mig_children = 5"),
            "the officer sees the figures that do not add up: {}",
            errors[0].message
        );
    }

    #[test]
    fn a_count_beyond_the_bound_is_refused_like_on_a_device() {
        let rows = table(&[HEAD, TAGS, "LY021104,,R53,1,18446744073709551615"]);
        let errors = check_rows(&rows, &r53(), known()).unwrap_err();
        assert_eq!((errors[0].row, errors[0].column.as_str(), errors[0].code.as_str()), (3, "E", "out_of_range"));
    }

    #[test]
    fn the_round_may_be_given_as_dtms_plain_number() {
        let rows = table(&[HEAD, TAGS, "LY021104,,53,10,50", "LY021105,,53.0,1,5"]);
        let checked = check_rows(&rows, &r53(), known()).unwrap();
        assert_eq!(checked.records.len(), 2, "DTM's files say 53 where ours say R53");
        let wrong = check_rows(&table(&[HEAD, TAGS, "LY021104,,54,10,50"]), &r53(), known()).unwrap_err();
        assert_eq!(wrong[0].code, "wrong_round", "another round's number is still refused");
    }

    #[test]
    fn aggregate_differences_come_back_as_warnings_with_their_row() {
        let rows =
            table(&[HEAD, TAGS, "LY021104,,R53,10,50", "LY021104,LY02110401,R53,4,20", "LY021104,LY02110402,R53,6,20"]);
        let checked = check_rows(&rows, &r53(), known()).unwrap();
        assert_eq!(checked.warnings.len(), 1, "{:?}", checked.warnings);
        let w = &checked.warnings[0];
        assert_eq!((w.row, w.code, w.rule.as_deref()), (3, ErrorCode::RuleWarning, Some("aggregate:idp_ind")));
    }

    const NAMED_HEAD: &str = "baladiya,muhalla,name,name_ar,round,idp_hh,idp_ind";
    const NAMED_TAGS: &str =
        "#adm3+code,#adm4+code,#loc+name,#loc+name+i_ar,#round+code,#affected+idps+hh,#affected+ind+idps";

    #[test]
    fn an_unknown_muhalla_is_an_error_that_says_how_to_add_it_unless_the_import_may_add_it() {
        let rows =
            table(&[NAMED_HEAD, NAMED_TAGS, "LY021104,LY02110499,Souq al-Jumaa East,سوق الجمعة الشرقية,R53,4,20"]);
        let refused = check_rows(&rows, &r53(), known()).unwrap_err();
        assert_eq!((refused[0].code, refused[0].column.as_str()), (ErrorCode::UnknownPcode, "B"));
        assert!(refused[0].message.contains("add"), "the message says what to do: {}", refused[0].message);

        let places = Catalog { forms: Forms::shipped(), gazetteer: crate::Gazetteer::libya(), add_unknown: true };
        let checked = check_rows(&rows, &r53(), places).unwrap_or_else(|e| panic!("{e:?}"));
        let added: Vec<(&str, &str)> =
            checked.new_locations.iter().map(|l| (l.pcode.as_str(), l.name_ar.as_str())).collect();
        assert_eq!(added, [("LY02110499", "سوق الجمعة الشرقية")], "the new muhalla, named by its row");
        assert_eq!(checked.records[0].location.as_str(), "LY02110499", "and its figures, imported against it");
    }

    #[test]
    fn an_import_adds_only_what_it_can_name_under_a_parent_the_gazetteer_holds() {
        let places = Catalog { forms: Forms::shipped(), gazetteer: crate::Gazetteer::libya(), add_unknown: true };
        let unnamed = table(&[HEAD, TAGS, "LY021104,LY02110499,R53,4,20"]);
        let errors = check_rows(&unnamed, &r53(), places).unwrap_err();
        assert_eq!(errors[0].code, ErrorCode::BadLocationName, "no names on its row, nothing to add it as");
        let orphan = table(&[NAMED_HEAD, NAMED_TAGS, "LY029999,LY02999901,New,جديد,R53,4,20"]);
        let errors = check_rows(&orphan, &r53(), places).unwrap_err();
        assert_eq!(
            (errors[0].code, errors[0].column.as_str()),
            (ErrorCode::UnknownPcode, "A"),
            "a baladiya is not added from a muhalla's row: {errors:?}"
        );
        let twice = table(&[
            NAMED_HEAD,
            NAMED_TAGS,
            "LY021104,LY02110499,East,الشرقية,R53,4,20",
            "LY021104,LY02110498,West,الغربية,R53,2,10",
        ]);
        let checked = check_rows(&twice, &r53(), places).unwrap();
        assert_eq!(checked.new_locations.len(), 2, "several new muhallas in one file");
    }
}
