//! A round's data as tables, the one layout every export writes and every import
//! reads: a column per field of the form, found by its HXL tag, with English and
//! Arabic labels; a repeated group as a long table of its own (one row per location
//! and key). CSV, XLSX and JSON are only ways of writing these tables down.
//!
//! A field of a module that does not apply (its presence question says No) is
//! written [`NOT_APPLICABLE`], never 0; an empty field is an empty cell.

use crate::form::{FormDef, Section, Text};
use crate::{hxl, AssessmentStatus, FieldValue, Gazetteer, Pcode};
use std::collections::BTreeMap;

/// What a cell of a module that does not apply holds.
pub const NOT_APPLICABLE: &str = "n/a";

/// The HXL tag of the review status column.
pub const STATUS: &str = "#status+i_review";
/// The location's names, in English and Arabic.
pub const NAME_EN: &str = "#loc+name";
pub const NAME_AR: &str = "#loc+name+i_ar";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// A short machine name (the field id, or `region`, `baladiya`…).
    pub id: String,
    pub label: Text,
    pub hxl: String,
}

/// One table: its columns and its rows of cells, all text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// `baladiya`, `muhalla`, or `muhalla.mig_nat` for a repeated group.
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

/// One assessment to write.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub location: &'a Pcode,
    pub form: &'a FormDef,
    pub status: AssessmentStatus,
    pub values: &'a BTreeMap<String, FieldValue>,
}

fn column(id: &str, en: &str, ar: &str, tag: &str) -> Column {
    Column { id: id.to_owned(), label: Text { en: en.to_owned(), ar: ar.to_owned() }, hxl: tag.to_owned() }
}

/// The columns that say where and when: every level's P-code, the location's names,
/// the round and the review status.
fn location_columns() -> Vec<Column> {
    vec![
        column("region", "Region P-code", "رمز الإقليم", hxl::ADM1),
        column("mantika", "Mantika P-code", "رمز المنطقة", hxl::ADM2),
        column("baladiya", "Baladiya P-code", "رمز البلدية", hxl::ADM3),
        column("muhalla", "Muhalla P-code", "رمز المحلة", hxl::ADM4),
        column("name_en", "Location", "الموقع (بالإنجليزية)", NAME_EN),
        column("name_ar", "Location (Arabic)", "الموقع", NAME_AR),
        column("round", "Round", "الجولة", hxl::ROUND),
        column("status", "Review status", "حالة المراجعة", STATUS),
    ]
}

fn location_cells(places: &Gazetteer, location: &Pcode, round: &str, status: AssessmentStatus) -> Vec<String> {
    let at = |level: u8| match location.ancestor(level) {
        Some(p) if location.level() >= level => p.to_string(),
        _ => String::new(),
    };
    let place = places.get(location.as_str());
    vec![
        at(1),
        at(2),
        at(3),
        at(4),
        place.map(|l| l.name_en.clone()).unwrap_or_default(),
        place.map(|l| l.name_ar.clone()).unwrap_or_default(),
        round.to_owned(),
        status.as_str().to_owned(),
    ]
}

/// A value as a cell: numbers as written, a select-many answer as its option values
/// separated by spaces (as XLSForm writes them), text as is.
pub fn cell(value: Option<&FieldValue>) -> String {
    match value {
        None | Some(FieldValue::Null) => String::new(),
        Some(FieldValue::String(s)) => s.clone(),
        Some(FieldValue::Array(items)) => {
            items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned)).collect::<Vec<_>>().join(" ")
        }
        Some(other) => other.to_string(),
    }
}

/// The main table of one or more forms: a row per assessment, a column per field of
/// any of the forms (a field the forms share, by tag, is one column). Forms are taken
/// in the order given, so a round's baladiya and muhalla forms make one table that
/// imports back whole.
pub fn table(places: &Gazetteer, name: &str, forms: &[&FormDef], round: &str, rows: &[Row<'_>]) -> Table {
    let mut columns = location_columns();
    // The canonical tag of each field column, in column order.
    let mut fields: Vec<String> = Vec::new();
    for form in forms {
        for f in form.fields() {
            let tag = hxl::canonical(&f.hxl);
            if !columns.iter().any(|c| hxl::canonical(&c.hxl) == tag) {
                columns.push(Column { id: f.id.clone(), label: f.label.clone(), hxl: f.hxl.clone() });
                fields.push(tag);
            }
        }
    }
    // Each form version's field under each column, worked out once, not once a row.
    let mut ids_of: BTreeMap<(&str, u32), Vec<Option<&str>>> = BTreeMap::new();
    let rows = rows
        .iter()
        .map(|r| {
            let ids = ids_of.entry((r.form.id.as_str(), r.form.version)).or_insert_with(|| {
                let by_tag: BTreeMap<String, &str> =
                    r.form.fields().map(|f| (hxl::canonical(&f.hxl), f.id.as_str())).collect();
                fields.iter().map(|tag| by_tag.get(tag).copied()).collect()
            });
            let mut cells = location_cells(places, r.location, round, r.status);
            cells.extend(ids.iter().map(|id| match id {
                Some(id) if r.form.not_applicable(id, r.values) => NOT_APPLICABLE.to_owned(),
                Some(id) => cell(r.values.get(*id)),
                None => String::new(),
            }));
            cells
        })
        .collect();
    Table { name: name.to_owned(), columns, rows }
}

/// A repeated group as a long table: a row per location and key that holds a value.
/// A group of a module that does not apply has no rows.
pub fn group_table(places: &Gazetteer, form: &FormDef, group: &Section, round: &str, rows: &[Row<'_>]) -> Table {
    let repeat = group.repeat.as_ref().expect("a group table is of a repeated section");
    let mut columns = location_columns();
    columns.push(Column { id: repeat.key.id.clone(), label: repeat.key.label.clone(), hxl: repeat.key.hxl.clone() });
    columns.push(column(
        &format!("{}_name", repeat.key.id),
        &format!("{} (name)", repeat.key.label.en),
        &format!("{} (الاسم)", repeat.key.label.ar),
        &format!("{}+name", repeat.key.hxl.split('+').next().unwrap_or("#meta")),
    ));
    columns.extend(group.fields.iter().map(|f| Column {
        id: f.id.clone(),
        label: f.label.clone(),
        hxl: f.hxl.clone(),
    }));
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| r.form.id == form.id && !r.form.not_applicable(&group.id, r.values)) {
        for key in &repeat.key.options {
            let values: Vec<Option<&FieldValue>> = group
                .fields
                .iter()
                .map(|f| r.values.get(&FormDef::row_key(&group.id, &key.value, &f.id)).filter(|v| !v.is_null()))
                .collect();
            if values.iter().all(Option::is_none) {
                continue;
            }
            let mut cells = location_cells(places, r.location, round, r.status);
            cells.push(key.value.clone());
            cells.push(key.label.en.clone());
            cells.extend(values.into_iter().map(cell));
            out.push(cells);
        }
    }
    Table { name: format!("{}.{}", form.id, group.id), columns, rows: out }
}

/// Every table of a round: one per form, then one per repeated group of each form.
pub fn round_tables(places: &Gazetteer, forms: &[&FormDef], round: &str, rows: &[Row<'_>]) -> Vec<Table> {
    let mut out = Vec::new();
    for form in forms {
        let mine: Vec<Row<'_>> = rows.iter().filter(|r| r.form.id == form.id).copied().collect();
        out.push(table(places, &form.id, &[form], round, &mine));
    }
    for form in forms {
        for group in form.groups() {
            out.push(group_table(places, form, group, round, rows));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::check_sheets;
    use crate::{testdata, Round, RoundStatus};

    fn r55() -> Round {
        Round {
            code: "R55".into(),
            number: 55,
            title: "Round 55".into(),
            title_ar: String::new(),
            window_start: "2025-01-01".into(),
            window_end: "2025-02-28".into(),
            status: RoundStatus::Closed,
            forms: vec![("baladiya".into(), 2), ("muhalla".into(), 2)],
        }
    }

    /// A table as a sheet: English labels, Arabic labels, tags, then the rows.
    fn sheet(t: &Table) -> Vec<Vec<String>> {
        let mut rows = vec![
            t.columns.iter().map(|c| c.label.en.clone()).collect(),
            t.columns.iter().map(|c| c.label.ar.clone()).collect(),
            t.columns.iter().map(|c| c.hxl.clone()).collect(),
        ];
        rows.extend(t.rows.iter().cloned());
        rows
    }

    #[test]
    fn every_field_of_a_whole_muhalla_round_goes_out_and_comes_back_exactly() {
        let form = crate::form::Forms::shipped().get("muhalla", 2).unwrap();
        let round = testdata::whole_round_v2();
        let (muhallas, values): (Vec<Pcode>, Vec<BTreeMap<String, FieldValue>>) = round.iter().cloned().unzip();
        assert!(muhallas.len() > 600, "the whole country: {}", muhallas.len());
        let rows = testdata::approved_rows(&round);
        let tables = round_tables(crate::Gazetteer::libya(), &[form], "R55", &rows);
        assert_eq!(tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["muhalla", "muhalla.mig_nat"]);
        let main = &tables[0];
        assert_eq!(main.rows.len(), muhallas.len());
        assert_eq!(main.columns.len(), 8 + form.fields().count(), "a column for every field");
        let nat_rows: usize = values.iter().map(|v| v.keys().filter(|k| k.starts_with("mig_nat.")).count()).sum();
        assert_eq!(tables[1].rows.len(), nat_rows, "a long row per muhalla and nationality");

        let sheets: Vec<(String, Vec<Vec<String>>)> = tables.iter().map(|t| (t.name.clone(), sheet(t))).collect();
        let checked = check_sheets(
            &sheets,
            &r55(),
            crate::import::Catalog::known(crate::form::Forms::shipped(), crate::Gazetteer::libya()),
        )
        .unwrap_or_else(|e| panic!("the export imports back: {e:?}"));
        assert_eq!(checked.records.len(), muhallas.len());
        for (record, (p, v)) in checked.records.iter().zip(muhallas.iter().zip(&values)) {
            assert_eq!(&record.location, p);
            assert_eq!(&record.values, v, "{p}: every value, nationalities included, comes back exactly");
        }
    }

    #[test]
    fn a_module_that_does_not_apply_is_written_not_applicable_never_zero() {
        let form = crate::form::Forms::shipped().get("muhalla", 2).unwrap();
        let p = Gazetteer::libya().at_level(4).next().unwrap().pcode.clone();
        let v = testdata::muhalla_v2(7 * 5); // no IDPs, no returnees
        let t = table(
            crate::Gazetteer::libya(),
            "muhalla",
            &[form],
            "R55",
            &[Row { location: &p, form, status: AssessmentStatus::Draft, values: &v }],
        );
        let at = |id: &str| t.columns.iter().position(|c| c.id == id).unwrap();
        assert_eq!(t.rows[0][at("idp_present")], "no");
        assert_eq!(t.rows[0][at("idp_hh")], NOT_APPLICABLE, "No is not a count of zero");
        assert_eq!(t.rows[0][at("ret_ind")], NOT_APPLICABLE);
        assert_eq!(t.rows[0][at("status")], "draft", "a draft is marked as one");
        assert_eq!(t.rows[0][at("muhalla")], p.to_string());
        assert!(!t.rows[0][at("name_ar")].is_empty(), "the Arabic name travels with the P-code");
    }
}
