//! Checking a past round's figures, as rows of a CSV or XLSX whose second row holds
//! HXL tags (see [`crate::hxl`]), before HQ imports them. All or nothing: every
//! error is reported by row and column, and one error means nothing is imported.
//! Reading the file itself is HQ's job; this module sees only cells.

use crate::form::{Context, FormDef};
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
}

fn column_letter(mut i: usize) -> String {
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
}

/// Checks every row as a device checks a value and a form (types, the count bound,
/// the form's rules) and returns the records with their warnings, or every error found.
pub fn check_rows(rows: &[Vec<String>], round: &Round) -> Result<Checked, Vec<CellError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let err = |row: usize, col: Option<usize>, tag: &str, code: ErrorCode, message: String| CellError {
        row,
        column: col.map(column_letter).unwrap_or_default(),
        tag: tag.to_owned(),
        code,
        message,
        rule: None,
    };
    let Some(tags) = rows.get(1) else {
        return Err(vec![err(2, None, "", ErrorCode::MissingTagRow, "row 2 must hold the HXL tags".into())]);
    };
    let tags: Vec<String> = tags.iter().map(|t| hxl::canonical(t)).collect();
    let find = |tag: &str| tags.iter().position(|t| *t == hxl::canonical(tag));
    let Some(adm3) = find(hxl::ADM3) else {
        return Err(vec![err(
            2,
            None,
            hxl::ADM3,
            ErrorCode::MissingColumn,
            format!("no column is tagged {}", hxl::ADM3),
        )]);
    };
    let (adm1, adm2, adm4, round_col) = (find(hxl::ADM1), find(hxl::ADM2), find(hxl::ADM4), find(hxl::ROUND));
    let counts: Vec<(usize, &str, &str)> =
        hxl::COUNT_TAGS.iter().filter_map(|(tag, field)| find(tag).map(|c| (c, *tag, *field))).collect();
    if counts.is_empty() {
        errors.push(err(2, None, "", ErrorCode::MissingColumn, "no column holds a count this import knows".into()));
    }
    let gazetteer = Gazetteer::libya();
    let mut seen: BTreeMap<(String, Pcode), usize> = BTreeMap::new();
    let mut records = Vec::new();
    for (i, row) in rows.iter().enumerate().skip(2) {
        let n = i + 1;
        let cell = |c: usize| row.get(c).map(|s| s.trim()).unwrap_or("");
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut row_ok = true;
        let mut level_code = |col: usize, tag: &str, level: u8, errors: &mut Vec<CellError>| -> Option<Pcode> {
            let text = cell(col);
            match Pcode::parse(text).ok().filter(|p| p.level() == level && gazetteer.get(p.as_str()).is_some()) {
                Some(p) => Some(p),
                None => {
                    errors.push(err(
                        n,
                        Some(col),
                        tag,
                        ErrorCode::UnknownPcode,
                        format!("`{text}` is not a level-{level} P-code in the gazetteer"),
                    ));
                    row_ok = false;
                    None
                }
            }
        };
        let baladiya = level_code(adm3, hxl::ADM3, 3, &mut errors);
        let muhalla = match adm4 {
            Some(c) if !cell(c).is_empty() => level_code(c, hxl::ADM4, 4, &mut errors),
            _ => None,
        };
        if let (Some(b), Some(m)) = (&baladiya, &muhalla) {
            if !m.is_within(b) {
                errors.push(err(
                    n,
                    adm4,
                    hxl::ADM4,
                    ErrorCode::InconsistentPcode,
                    format!("{m} is not in baladiya {b}"),
                ));
                row_ok = false;
            }
        }
        for (col, tag, level) in [(adm1, hxl::ADM1, 1u8), (adm2, hxl::ADM2, 2u8)] {
            if let (Some(c), Some(b)) = (col, &baladiya) {
                let text = cell(c);
                if !text.is_empty() && b.ancestor(level).map(|a| a.to_string()).as_deref() != Some(text) {
                    errors.push(err(
                        n,
                        Some(c),
                        tag,
                        ErrorCode::InconsistentPcode,
                        format!("`{text}` is not the level-{level} parent of {b}"),
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
                    n,
                    Some(c),
                    hxl::ROUND,
                    ErrorCode::WrongRound,
                    format!("row is for {text}, not {}", round.code),
                ));
                row_ok = false;
            }
        }
        let mut values = BTreeMap::new();
        for &(col, tag, field) in &counts {
            match parse_count(cell(col)) {
                Ok(Some(v)) => {
                    values.insert(field.to_owned(), serde_json::Value::from(v));
                }
                Ok(None) => {}
                Err((code, message)) => {
                    errors.push(err(n, Some(col), tag, code, message));
                    row_ok = false;
                }
            }
        }
        let (form, location) = match (muhalla, baladiya) {
            (Some(m), _) => ("muhalla", m),
            (None, Some(b)) => ("baladiya", b),
            (None, None) => continue,
        };
        let Some((form_version, def)) =
            round.form_version(form).and_then(|v| FormDef::builtin(form, v).map(|def| (v, def)))
        else {
            errors.push(err(
                n,
                None,
                "",
                ErrorCode::UnknownForm,
                format!("round {} does not collect the {form} form", round.code),
            ));
            continue;
        };
        if let Some(first) = seen.insert((form.to_owned(), location.clone()), n) {
            errors.push(err(
                n,
                None,
                "",
                ErrorCode::DuplicateRow,
                format!("{location} already appears on row {first}"),
            ));
            continue;
        }
        // The same checks as a value typed on a device: type and range (the count
        // bound included), then the form's rules over the whole row.
        for &(col, tag, field) in &counts {
            if let Some(e) = values.get(field).and_then(|v| def.check_value(field, v).err()) {
                errors.push(err(n, Some(col), tag, e.code(), e.to_string()));
                row_ok = false;
            }
        }
        if row_ok {
            for issue in def.check(&values, Context::default()) {
                let col = issue.fields.iter().find_map(|f| counts.iter().find(|(_, _, field)| field == f));
                let shown: Vec<String> =
                    issue.fields.iter().filter_map(|f| values.get(f).map(|v| format!("{f} = {v}"))).collect();
                let message = format!("{} ({})", issue.message.en, shown.join(", "));
                let code = match issue.severity {
                    Severity::Error => ErrorCode::RuleError,
                    Severity::Warning => ErrorCode::RuleWarning,
                };
                let cell = CellError {
                    rule: Some(issue.rule.clone()),
                    ..err(n, col.map(|c| c.0), col.map_or("", |c| c.1), code, message)
                };
                match issue.severity {
                    Severity::Error => {
                        errors.push(cell);
                        row_ok = false;
                    }
                    Severity::Warning => warnings.push(cell),
                }
            }
        }
        if row_ok {
            records.push(ImportRecord { row: n, form: form.to_owned(), form_version, location, values });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (record, issue) in aggregate_warnings(&records) {
        let row = record.row;
        let field = issue.rule.strip_prefix("aggregate:").unwrap_or_default();
        let col = counts.iter().find(|(_, _, f)| *f == field);
        let cell = err(row, col.map(|c| c.0), col.map_or("", |c| c.1), ErrorCode::RuleWarning, issue.message.en);
        warnings.push(CellError { rule: Some(issue.rule), ..cell });
    }
    warnings.sort_by_key(|w| w.row);
    Ok(Checked { records, warnings })
}

/// Baladiya totals that differ from the sum of their muhallas in the same file:
/// warnings, shown in the import report, never a reason to refuse the file.
pub fn aggregate_warnings(records: &[ImportRecord]) -> Vec<(&ImportRecord, Issue)> {
    let mut out = Vec::new();
    for r in records.iter().filter(|r| r.form == "baladiya") {
        let Some(form) = FormDef::builtin(&r.form, r.form_version) else { continue };
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
            window_start: "2024-05-01".into(),
            window_end: "2024-06-30".into(),
            status: RoundStatus::Closed,
            forms: vec![("baladiya".into(), 2), ("muhalla".into(), 1)],
        }
    }

    fn table(lines: &[&str]) -> Vec<Vec<String>> {
        lines.iter().map(|l| l.split(',').map(str::to_owned).collect()).collect()
    }

    const HEAD: &str = "baladiya,muhalla,round,idp_hh,idp_ind";
    const TAGS: &str = "#adm3+code,#adm4+code,#round+code,#affected+idps+hh,#affected +ind +idps";

    #[test]
    fn a_clean_file_gives_one_record_per_row_at_the_right_level() {
        let rows = table(&[HEAD, TAGS, "LY021104,,R53,10,50", "LY021104,LY02110401,R53,4,20", ",,,,"]);
        let records = check_rows(&rows, &r53()).unwrap().records;
        assert_eq!(records.len(), 2, "the blank row is skipped");
        assert_eq!((records[0].form.as_str(), records[0].form_version), ("baladiya", 2));
        assert_eq!((records[1].form.as_str(), records[1].location.as_str()), ("muhalla", "LY02110401"));
        assert_eq!(records[1].values["idp_ind"], 20, "tags match whatever their attribute order");
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
        let errors = check_rows(&rows, &r53()).unwrap_err();
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
    fn a_file_without_tags_is_refused() {
        let rows = table(&[HEAD, "baladiya,muhalla,round,a,b"]);
        assert_eq!(check_rows(&rows, &r53()).unwrap_err()[0].code, ErrorCode::MissingColumn);
    }

    #[test]
    fn baladiya_totals_that_differ_from_their_muhallas_are_warnings() {
        let rows =
            table(&[HEAD, TAGS, "LY021104,,R53,10,50", "LY021104,LY02110401,R53,4,20", "LY021104,LY02110402,R53,6,20"]);
        let records = check_rows(&rows, &r53()).unwrap().records;
        let warnings = aggregate_warnings(&records);
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
        let errors = check_rows(&rows, &r53()).unwrap_err();
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
        let errors = check_rows(&rows, &r53()).unwrap_err();
        assert_eq!((errors[0].row, errors[0].column.as_str(), errors[0].code.as_str()), (3, "E", "out_of_range"));
    }

    #[test]
    fn the_round_may_be_given_as_dtms_plain_number() {
        let rows = table(&[HEAD, TAGS, "LY021104,,53,10,50", "LY021105,,53.0,1,5"]);
        let checked = check_rows(&rows, &r53()).unwrap();
        assert_eq!(checked.records.len(), 2, "DTM's files say 53 where ours say R53");
        let wrong = check_rows(&table(&[HEAD, TAGS, "LY021104,,54,10,50"]), &r53()).unwrap_err();
        assert_eq!(wrong[0].code, "wrong_round", "another round's number is still refused");
    }

    #[test]
    fn aggregate_differences_come_back_as_warnings_with_their_row() {
        let rows =
            table(&[HEAD, TAGS, "LY021104,,R53,10,50", "LY021104,LY02110401,R53,4,20", "LY021104,LY02110402,R53,6,20"]);
        let checked = check_rows(&rows, &r53()).unwrap();
        assert_eq!(checked.warnings.len(), 1, "{:?}", checked.warnings);
        let w = &checked.warnings[0];
        assert_eq!((w.row, w.code, w.rule.as_deref()), (3, ErrorCode::RuleWarning, Some("aggregate:idp_ind")));
    }
}
