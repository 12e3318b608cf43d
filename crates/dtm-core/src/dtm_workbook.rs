//! DTM Libya's own published round workbook, read and written through a column
//! mapping kept as data (`schemas/mappings/dtm-libya-migrants.json`), never in code.
//!
//! Reading turns the workbook's sheets into the tagged tables [`crate::import`] checks
//! (the same checks as any import: types, the count bound, the form's rules), lists
//! every column the mapping does not know, and checks the baladiya sheet's totals
//! against the sum of their muhallas. Writing lays an approved round out exactly as
//! DTM publishes it (sheet names, the group row over the column names, spelling as
//! published), with only what is meant to be public: no key informant details, no
//! user or device ids.

use crate::exchange::Row;
use crate::form::{FieldType, FormDef, Forms, Text};
use crate::import::{err, CellError};
use crate::{hxl, ErrorCode, FieldValue, Gazetteer, Pcode, Round};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

const DTM_LIBYA: &str = include_str!("../../../schemas/mappings/dtm-libya-migrants.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub id: String,
    pub title: Text,
    pub source: String,
    /// The form whose fields the sheets hold, at its newest version.
    pub form: String,
    /// The form's repeated group the long sheet holds.
    pub group: String,
    pub sheets: Vec<SheetMap>,
    /// Vocabularies of answers as the workbook spells them → the form's option values.
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetRole {
    /// Free layout: national figures and tables, written, never read.
    Summary,
    /// One row per baladiya: its total, checked against its muhallas.
    Baladiya,
    /// One row per muhalla: the form's fields.
    Muhalla,
    /// The repeated group, long: one row per muhalla and key.
    Nationalities,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetMap {
    pub role: SheetRole,
    /// As published, trailing spaces included.
    pub name: String,
    #[serde(default)]
    pub header_rows: usize,
    #[serde(default)]
    pub columns: Vec<ColumnMap>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    pub header: String,
    /// The group row's name over this column's range (`""` where the sheet has none).
    #[serde(default)]
    pub group: String,
    /// A field id, a group field (`mig_nat.ind`), an HXL location tag, or `key:<n>`
    /// for the n-th part of a repeated group's key path.
    pub to: String,
    /// The name of a vocabulary in [`Mapping::values`] the cells are spelt in.
    #[serde(default)]
    pub values: Option<String>,
}

/// DTM Libya's migrant baseline workbook.
pub fn dtm_libya() -> &'static Mapping {
    static MAPPING: OnceLock<Mapping> = OnceLock::new();
    MAPPING.get_or_init(|| serde_json::from_str(DTM_LIBYA).expect("the shipped DTM mapping is valid"))
}

/// A workbook's sheets, by name (see HQ's spreadsheet reader).
pub type Book = [(String, Vec<Vec<String>>)];

/// What reading a DTM workbook produced beside the tagged sheets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Converted {
    pub sheets: Vec<(String, Vec<Vec<String>>)>,
    /// Columns the mapping does not know, as `sheet: header`: listed, never dropped silently.
    pub unknown_columns: Vec<String>,
    /// The baladiya sheet's totals: (row, column, baladiya, total).
    pub baladiya_totals: Vec<(usize, usize, Pcode, u64)>,
}

/// One cell of a published sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
}

/// A sheet as DTM publishes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<Cell>>,
}

fn same(a: &str, b: &str) -> bool {
    a == b || a.trim().eq_ignore_ascii_case(b.trim())
}

impl Mapping {
    fn form_def<'f>(&self, forms: &'f Forms) -> &'f FormDef {
        forms.latest(&self.form).expect("the catalog holds the form a mapping names")
    }

    fn sheet(&self, role: SheetRole) -> Option<&SheetMap> {
        self.sheets.iter().find(|s| s.role == role)
    }

    /// Whether a workbook is in this layout: it has the muhalla sheet, by name.
    pub fn recognises(&self, book: &Book) -> bool {
        self.sheet(SheetRole::Muhalla).is_some_and(|m| book.iter().any(|(name, _)| same(name, &m.name)))
    }

    /// The HXL tag a mapped column is read as, or `None` for a column known but not
    /// stored (names and coordinates: the gazetteer holds them).
    fn tag(&self, form: &FormDef, to: &str) -> Option<String> {
        match to {
            // The place's own names, for an import that may add a muhalla the gazetteer lacks.
            hxl::ADM3
            | hxl::ADM4
            | hxl::ROUND
            | "#adm3+name"
            | "#adm3+name+i_ar"
            | "#adm4+name"
            | "#adm4+name+i_ar" => Some(to.to_owned()),
            t if t.starts_with('#') || t.starts_with("key:") => None,
            t => match t.split_once('.') {
                Some((g, f)) => {
                    form.groups().find(|s| s.id == g)?.fields.iter().find(|x| x.id == f).map(|x| x.hxl.clone())
                }
                None => form.field(t).map(|f| f.hxl.clone()),
            },
        }
    }

    /// The workbook's sheets as tagged tables, answers translated into option values,
    /// and a module answered No left empty (not applicable, not 0).
    pub fn read(&self, book: &Book, catalog: crate::import::Catalog<'_>) -> Result<Converted, Vec<CellError>> {
        let form = self.form_def(catalog.forms);
        let group = form.groups().find(|g| g.id == self.group).and_then(|g| g.repeat.as_ref());
        let mut out = Converted::default();
        let mut errors = Vec::new();
        for (name, rows) in book {
            let Some(map) = self.sheets.iter().find(|s| same(&s.name, name)) else {
                out.unknown_columns.push(format!("{name}: the whole sheet"));
                continue;
            };
            if map.role == SheetRole::Summary || rows.len() < map.header_rows {
                continue;
            }
            let header_at = map.header_rows.saturating_sub(1);
            let columns: Vec<Option<&ColumnMap>> =
                rows[header_at].iter().map(|h| map.columns.iter().find(|c| same(&c.header, h))).collect();
            for (h, c) in rows[header_at].iter().zip(&columns) {
                if c.is_none() && !h.trim().is_empty() {
                    out.unknown_columns.push(format!("{}: {h}", map.name));
                }
            }
            let find = |to: &str| columns.iter().position(|c| c.is_some_and(|c| c.to == to));
            if map.role == SheetRole::Baladiya {
                let (Some(code), Some(total)) = (find(hxl::ADM3), find("mig_ind")) else { continue };
                for (i, row) in rows.iter().enumerate().skip(map.header_rows) {
                    let cell = |c: usize| row.get(c).map_or("", |s| s.trim());
                    if cell(code).is_empty() {
                        continue;
                    }
                    let pcode = Pcode::parse(cell(code)).ok().filter(|p| catalog.gazetteer.get(p.as_str()).is_some());
                    let value = cell(total).parse::<f64>().ok().filter(|n| *n >= 0.0 && n.fract() == 0.0);
                    match (pcode, value) {
                        (Some(p), Some(n)) => out.baladiya_totals.push((i + 1, total, p, n as u64)),
                        (None, _) => errors.push(err(
                            name,
                            i + 1,
                            Some(code),
                            hxl::ADM3,
                            ErrorCode::UnknownPcode,
                            format!("`{}` is not a baladiya P-code in the gazetteer", cell(code)),
                        )),
                        (_, None) if cell(total).is_empty() => {}
                        (_, None) => errors.push(err(
                            name,
                            i + 1,
                            Some(total),
                            "mig_ind",
                            ErrorCode::NotAWholeNumber,
                            format!("`{}` is not a count", cell(total)),
                        )),
                    }
                }
                continue;
            }
            let mut tags: Vec<String> =
                columns.iter().map(|c| c.and_then(|c| self.tag(form, &c.to)).unwrap_or_default()).collect();
            let key_parts: Vec<(usize, usize)> = columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some(((*c)?.to.strip_prefix("key:")?.parse().ok()?, i)))
                .collect();
            let keyed = map.role == SheetRole::Nationalities && !key_parts.is_empty();
            if keyed {
                tags.push(group.map(|g| g.key.hxl.clone()).unwrap_or_default());
            }
            let mut sheet: Vec<Vec<String>> = rows[..header_at].to_vec();
            sheet.push(tags);
            for (i, row) in rows.iter().enumerate().skip(map.header_rows) {
                let mut cells: Vec<String> = row.clone();
                cells.resize(columns.len().max(row.len()), String::new());
                // Answers as the workbook spells them, as option values; an answer the
                // vocabulary does not know is left as is, and the form's check names it.
                for (c, col) in columns.iter().enumerate() {
                    let Some(vocab) = col.and_then(|c| c.values.as_ref()) else { continue };
                    let spelt = cells[c].trim().to_owned();
                    if let Some((_, value)) =
                        self.values.get(vocab).and_then(|v| v.iter().find(|(label, _)| same(label, &spelt)))
                    {
                        cells[c] = value.clone();
                    }
                }
                // A module answered No: its cells are not applicable, whatever they hold.
                for section in form.sections.iter().filter(|s| s.repeat.is_none()) {
                    let Some(presence) = &section.presence else { continue };
                    let Some(p) = find(presence) else { continue };
                    if cells[p].trim() != "no" {
                        continue;
                    }
                    for (c, col) in columns.iter().enumerate() {
                        if col.is_some_and(|col| col.to != *presence && section.fields.iter().any(|f| f.id == col.to)) {
                            cells[c].clear();
                        }
                    }
                }
                if keyed {
                    let path: Vec<&str> =
                        key_parts.iter().map(|(_, c)| cells.get(*c).map_or("", |s| s.trim())).collect();
                    let key = group.and_then(|g| {
                        g.key.options.iter().find(|o| {
                            o.path.len() == path.len()
                                && key_parts.iter().zip(&path).all(|((n, _), part)| same(&o.path[*n], part))
                        })
                    });
                    match key {
                        Some(k) => cells.push(k.value.clone()),
                        None if path.iter().all(|p| p.is_empty()) => cells.push(String::new()),
                        None => {
                            let at = key_parts.last().map(|(_, c)| *c);
                            errors.push(err(
                                name,
                                i + 1,
                                at,
                                "",
                                ErrorCode::NotAnOption,
                                format!("`{}` is not a nationality of the list", path.join(" / ")),
                            ));
                            cells.push(String::new());
                        }
                    }
                }
                sheet.push(cells);
            }
            out.sheets.push((name.clone(), sheet));
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// An approved round laid out as DTM publishes it: the summary, the baladiya sheet
    /// (each baladiya's migrants, the sum of its muhallas), the muhalla sheet and the
    /// nationalities, long. `rows` are the round's muhalla assessments.
    pub fn publish(&self, forms: &Forms, places: &Gazetteer, round: &Round, rows: &[Row<'_>]) -> Vec<Sheet> {
        let form = self.form_def(forms);
        let gazetteer = places;
        let rows: Vec<&Row<'_>> = rows.iter().filter(|r| r.form.id == self.form).collect();
        let name = |p: &Pcode, level: u8, ar: bool| {
            p.ancestor(level)
                .and_then(|a| gazetteer.get(a.as_str()))
                .map(|l| if ar { l.name_ar.clone() } else { l.name_en.clone() })
                .map_or(Cell::Empty, Cell::Text)
        };
        let text = |s: Option<&String>| s.map_or(Cell::Empty, |s| Cell::Text(s.clone()));
        let place = |p: &Pcode, to: &str| -> Option<Cell> {
            let l = gazetteer.get(p.as_str());
            Some(match to {
                "#adm1+name" => name(p, 1, false),
                "#adm1+name+i_ar" => name(p, 1, true),
                "#adm2+name" => name(p, 2, false),
                "#adm2+name+i_ar" => name(p, 2, true),
                "#adm3+name" => name(p, 3, false),
                "#adm3+name+i_ar" => name(p, 3, true),
                "#adm4+name" => name(p, 4, false),
                "#adm4+name+i_ar" => name(p, 4, true),
                hxl::ADM3 => Cell::Text(p.ancestor(3)?.to_string()),
                hxl::ADM4 => Cell::Text(p.to_string()),
                "#loc+type" => text(l.and_then(|l| l.kind.as_ref())),
                "#geo+lat" => text(l.and_then(|l| l.lat.as_ref())),
                "#geo+lon" => text(l.and_then(|l| l.lon.as_ref())),
                hxl::ROUND => Cell::Number(f64::from(round.number)),
                _ => return None,
            })
        };
        let header = |map: &SheetMap| -> Vec<Vec<Cell>> {
            let mut out = Vec::new();
            if map.header_rows == 2 {
                let mut last = "";
                out.push(
                    map.columns
                        .iter()
                        .map(|c| {
                            let shown = if c.group != last { Cell::Text(c.group.clone()) } else { Cell::Empty };
                            last = &c.group;
                            shown
                        })
                        .collect(),
                );
            }
            out.push(map.columns.iter().map(|c| Cell::Text(c.header.clone())).collect());
            out
        };
        let counted: Vec<BTreeMap<String, FieldValue>> = rows.iter().map(|r| r.form.counted(r.values)).collect();
        let mut sheets = Vec::new();
        let mut mantikas: BTreeMap<Pcode, u64> = BTreeMap::new();
        let mut nationalities: BTreeMap<String, u64> = BTreeMap::new();
        let mut baladiyas: BTreeMap<Pcode, u64> = BTreeMap::new();
        for (r, c) in rows.iter().zip(&counted) {
            let n = c.get("mig_ind").and_then(FieldValue::as_u64).unwrap_or(0);
            if let Some(b) = r.location.ancestor(3) {
                *baladiyas.entry(b).or_default() += n;
            }
            if let Some(m) = r.location.ancestor(2) {
                *mantikas.entry(m).or_default() += n;
            }
            for (k, v) in c {
                let Some((group, key, _)) = crate::form::row_parts(k) else { continue };
                if group == self.group {
                    *nationalities.entry(key.to_owned()).or_default() += v.as_u64().unwrap_or(0);
                }
            }
        }
        for map in &self.sheets {
            let mut out = header(map);
            match map.role {
                SheetRole::Summary => {
                    out = self.summary(form, gazetteer, round, rows.len(), &baladiyas, &mantikas, &nationalities);
                }
                SheetRole::Baladiya => {
                    for (b, total) in &baladiyas {
                        out.push(
                            map.columns
                                .iter()
                                .map(|c| match c.to.as_str() {
                                    "mig_ind" => Cell::Number(*total as f64),
                                    to => place(b, to).unwrap_or(Cell::Empty),
                                })
                                .collect(),
                        );
                    }
                }
                SheetRole::Muhalla => {
                    for r in &rows {
                        out.push(map.columns.iter().map(|c| self.cell(r, c, &place)).collect());
                    }
                }
                SheetRole::Nationalities => {
                    let Some(group) = form.groups().find(|g| g.id == self.group) else { continue };
                    let keys = &group.repeat.as_ref().expect("a group repeats").key.options;
                    for r in &rows {
                        if r.form.not_applicable(&self.group, r.values) {
                            continue;
                        }
                        for key in keys {
                            let values: Vec<Option<&FieldValue>> = group
                                .fields
                                .iter()
                                .map(|f| r.values.get(&FormDef::row_key(&group.id, &key.value, &f.id)))
                                .collect();
                            if values.iter().all(|v| v.is_none_or(FieldValue::is_null)) {
                                continue;
                            }
                            out.push(
                                map.columns
                                    .iter()
                                    .map(|c| match c.to.strip_prefix("key:").and_then(|n| n.parse::<usize>().ok()) {
                                        Some(n) => key.path.get(n).map_or(Cell::Empty, |p| Cell::Text(p.clone())),
                                        None => match c.to.split_once('.') {
                                            Some((_, f)) => {
                                                number(r.values.get(&FormDef::row_key(&group.id, &key.value, f)))
                                            }
                                            None => place(r.location, &c.to).unwrap_or(Cell::Empty),
                                        },
                                    })
                                    .collect(),
                            );
                        }
                    }
                }
            }
            sheets.push(Sheet { name: map.name.clone(), rows: out });
        }
        sheets
    }

    /// One muhalla's cell under a mapped column.
    fn cell(&self, r: &Row<'_>, c: &ColumnMap, place: &dyn Fn(&Pcode, &str) -> Option<Cell>) -> Cell {
        if let Some(cell) = place(r.location, &c.to) {
            return cell;
        }
        let Some(field) = r.form.field(&c.to) else { return Cell::Empty };
        if r.form.not_applicable(&field.id, r.values) {
            return Cell::Empty;
        }
        let value = r.values.get(&field.id);
        match field.kind {
            FieldType::Count | FieldType::Number => number(value),
            FieldType::SelectOne => {
                let Some(v) = value.and_then(FieldValue::as_str) else { return Cell::Empty };
                let spelt = c.values.as_ref().and_then(|vocab| {
                    self.values.get(vocab)?.iter().find(|(_, value)| *value == v).map(|(label, _)| label.clone())
                });
                let label = field.options.iter().find(|o| o.value == v).map(|o| o.label.en.clone());
                Cell::Text(spelt.or(label).unwrap_or_else(|| v.to_owned()))
            }
            _ => value.map_or(Cell::Empty, |v| Cell::Text(crate::exchange::cell(Some(v)))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn summary(
        &self,
        form: &FormDef,
        places: &Gazetteer,
        round: &Round,
        muhallas: usize,
        baladiyas: &BTreeMap<Pcode, u64>,
        mantikas: &BTreeMap<Pcode, u64>,
        nationalities: &BTreeMap<String, u64>,
    ) -> Vec<Vec<Cell>> {
        let t = |s: &str| Cell::Text(s.to_owned());
        let n = |x: u64| Cell::Number(x as f64);
        let total: u64 = mantikas.values().sum();
        let mut out = vec![
            vec![Cell::Text(format!("IOM DTM Libya: Migrant Baseline Assessment, Round {}", round.number))],
            vec![t("Data collection period"), Cell::Text(format!("{} to {}", round.window_start, round.window_end))],
            vec![t("Migrants"), n(total)],
            vec![t("Muhallas assessed"), n(muhallas as u64)],
            vec![t("Baladiyas"), n(baladiyas.len() as u64)],
            vec![],
            vec![t("Migrants by mantika")],
            vec![t("Mantika"), t("المنطقة"), t("Migrants")],
        ];
        for (m, x) in mantikas {
            let l = places.get(m.as_str());
            out.push(vec![
                l.map_or(Cell::Empty, |l| Cell::Text(l.name_en.clone())),
                l.map_or(Cell::Empty, |l| Cell::Text(l.name_ar.clone())),
                n(*x),
            ]);
        }
        out.push(vec![]);
        out.push(vec![t("Migrants by nationality")]);
        out.push(vec![t("Region1"), t("Region 2"), t("Migrant Nationality"), t("Migrants")]);
        let keys = form.groups().find(|g| g.id == self.group).and_then(|g| g.repeat.as_ref()).map(|r| &r.key.options);
        let mut ranked: Vec<(&String, &u64)> = nationalities.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (key, x) in ranked {
            let path =
                keys.and_then(|k| k.iter().find(|o| &o.value == key)).map(|o| o.path.clone()).unwrap_or_default();
            let mut row: Vec<Cell> = path.into_iter().map(Cell::Text).collect();
            row.resize(3, Cell::Empty);
            row.push(n(*x));
            out.push(row);
        }
        out
    }
}

fn number(v: Option<&FieldValue>) -> Cell {
    v.and_then(FieldValue::as_f64).map_or(Cell::Empty, Cell::Number)
}

/// The baladiya sheet's totals against the sum of their muhallas in the file: a
/// warning where they differ (the total counts the muhallas, as everywhere).
pub fn baladiya_warnings(
    forms: &Forms,
    sheet: &str,
    totals: &[(usize, usize, Pcode, u64)],
    records: &[crate::import::ImportRecord],
) -> Vec<CellError> {
    let mut out = Vec::new();
    for (row, col, baladiya, total) in totals {
        let muhallas: Vec<u64> = records
            .iter()
            .filter(|r| r.location.level() == 4 && r.location.is_within(baladiya))
            .filter_map(|r| {
                let form = forms.get(&r.form, r.form_version)?;
                let counted = form.counted(&r.values);
                counted.get("mig_ind").and_then(FieldValue::as_u64)
            })
            .collect();
        let sum: u64 = muhallas.iter().sum();
        if !muhallas.is_empty() && sum != *total {
            let mut e = err(
                sheet,
                *row,
                Some(*col),
                "#affected+migrants+ind",
                ErrorCode::RuleWarning,
                format!("Migrants: the baladiya total {baladiya} is {total} but its muhallas add up to {sum}"),
            );
            e.rule = Some("aggregate:mig_ind".into());
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::check_file;
    use crate::RoundStatus;

    fn layout(file: &str) -> Vec<Vec<String>> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/dtm-public-layout").join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The headers hold commas only inside quotes: `"Residency permits, work permits or no permits? (IND)"`.
        text.lines()
            .map(|line| {
                let mut cells = vec![String::new()];
                let mut quoted = false;
                for c in line.chars() {
                    match c {
                        '"' => quoted = !quoted,
                        ',' if !quoted => cells.push(String::new()),
                        c => cells.last_mut().unwrap().push(c),
                    }
                }
                cells
            })
            .collect()
    }

    #[test]
    fn the_mapping_knows_every_published_column_in_order_and_every_answer_it_translates() {
        let m = dtm_libya();
        let form = m.form_def(Forms::shipped());
        for (role, file) in [
            (SheetRole::Muhalla, "muhalla-sheet-header.csv"),
            (SheetRole::Baladiya, "baladiya-sheet-header.csv"),
            (SheetRole::Nationalities, "nationalities-sheet-header.csv"),
        ] {
            let map = m.sheet(role).unwrap();
            let rows = layout(file);
            let headers: Vec<&str> = map.columns.iter().map(|c| c.header.as_str()).collect();
            assert_eq!(
                headers,
                rows.last().unwrap().iter().map(String::as_str).collect::<Vec<_>>(),
                "{file}: in order"
            );
            if rows.len() == 2 {
                let mut group = String::new();
                for (c, g) in map.columns.iter().zip(&rows[0]) {
                    if !g.is_empty() {
                        group = g.clone();
                    }
                    assert_eq!(c.group, group, "{}: its group row", c.header);
                }
            }
            for c in &map.columns {
                let known = c.to.starts_with('#') || c.to.starts_with("key:") || m.tag(form, &c.to).is_some();
                assert!(known, "{} maps to `{}`, which the form does not have", c.header, c.to);
                if let Some(vocab) = &c.values {
                    let field = form.field(&c.to).unwrap();
                    for (spelt, value) in &m.values[vocab] {
                        assert!(
                            field.options.iter().any(|o| &o.value == value),
                            "{spelt} → {value} is not an option of {}",
                            c.to
                        );
                    }
                }
            }
        }
        let fields: Vec<&str> = m.sheets.iter().flat_map(|s| &s.columns).map(|c| c.to.as_str()).collect();
        assert!(!fields.iter().any(|f| f.starts_with("ki_")), "key informant details are never published");
    }

    fn r54() -> Round {
        Round {
            code: "R54".into(),
            number: 54,
            title: "Round 54".into(),
            title_ar: String::new(),
            window_start: "2024-09-01".into(),
            window_end: "2024-10-31".into(),
            status: RoundStatus::Closed,
            forms: vec![("muhalla".into(), 2)],
        }
    }

    /// A small workbook in DTM's layout: two muhallas of one baladiya (one with migrants,
    /// one without, its breakdowns 0 as DTM writes them), their nationalities, the
    /// baladiya's total, and a column DTM added that the mapping does not know.
    fn book(nationality: &str, baladiya_total: &str) -> Vec<(String, Vec<Vec<String>>)> {
        let m = dtm_libya();
        let head = layout("muhalla-sheet-header.csv");
        let at = |h: &str| head[1].iter().position(|x| x == h).unwrap();
        let mut muhallas = head.clone();
        muhallas[0].push(String::new());
        muhallas[1].push("Comments".into());
        let muhalla = |pcode: &str, present: &str, n: &str| {
            let mut row = vec![String::new(); head[1].len() + 1];
            row[at("Muhalla_pcode")] = pcode.into();
            row[at("AssessmentRound")] = "54".into();
            row[at("Migrants in Muhalla")] = present.into();
            row[at("Migrant IND")] = n.into();
            for h in [
                "Rented Accomodation (Self Paid) IND",
                "Migrants arrived Over 12 months ago",
                "Migrants with no permit",
                "Migrants Adult Men",
            ] {
                row[at(h)] = if present == "Yes" { n.into() } else { "0".into() };
            }
            row[at("Priority Need 1")] =
                if present == "Yes" { "Water, Sanitation and Hygiene".into() } else { String::new() };
            row[at("Priority Need 1 - Problem")] =
                if present == "Yes" { "No water network".into() } else { String::new() };
            row
        };
        muhallas.push(muhalla("LY02110401", "Yes", "40"));
        muhallas.push(muhalla("LY02110402", "No", ""));
        let mut nats = layout("nationalities-sheet-header.csv");
        let n_at = |h: &str| nats[0].iter().position(|x| x == h).unwrap();
        let (region2, name) = nationality.split_once('/').unwrap();
        let mut row = vec![String::new(); nats[0].len()];
        row[n_at("Muhalla P Code")] = "LY02110401".into();
        row[n_at("Region1")] = "Africa".into();
        row[n_at("Region 2")] = region2.into();
        row[n_at("Migrant Nationality")] = name.into();
        row[n_at("Migrant Individuals")] = "40".into();
        nats.push(row);
        let mut baladiyas = layout("baladiya-sheet-header.csv");
        let b_at = |h: &str| baladiyas[1].iter().position(|x| x == h).unwrap();
        let mut row = vec![String::new(); baladiyas[1].len()];
        row[b_at("Baladiya PCode")] = "LY021104".into();
        row[b_at("Migrants (IND)")] = baladiya_total.into();
        baladiyas.push(row);
        let name = |role| m.sheet(role).unwrap().name.clone();
        vec![
            (name(SheetRole::Summary), vec![vec!["IOM DTM Libya".into()]]),
            (name(SheetRole::Baladiya), baladiyas),
            (name(SheetRole::Muhalla), muhallas),
            (name(SheetRole::Nationalities), nats),
        ]
    }

    #[test]
    fn dtms_workbook_is_read_through_the_mapping_with_no_as_not_applicable_and_unknown_columns_listed() {
        let checked = check_file(
            &book("Sub-Sahara/Niger", "45"),
            &r54(),
            crate::import::Catalog::known(Forms::shipped(), crate::Gazetteer::libya()),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(checked.layout, "dtm-libya-migrants");
        assert_eq!(
            checked.unknown_columns,
            vec!["Muhalla Main: Comments".to_owned()],
            "listed, never dropped silently"
        );
        let with = &checked.records[0].values;
        assert_eq!(with["mig_ind"], 40);
        assert_eq!(with["mig_need_1"], "wash", "DTM's spelling becomes the form's option");
        assert_eq!(with["mig_nat.ner.ind"], 40, "the nationality found by its published Region 2 and name");
        let without = &checked.records[1].values;
        assert_eq!(without.keys().collect::<Vec<_>>(), ["mig_present"], "No: its zeros are not stored as counts");
        assert_eq!(without["mig_present"], "no");
        assert_eq!(checked.warnings.len(), 1, "the baladiya's 45 is not its muhallas' 40: {:?}", checked.warnings);
        assert_eq!(checked.warnings[0].rule.as_deref(), Some("aggregate:mig_ind"));
        assert_eq!(checked.warnings[0].sheet.as_deref(), Some("Baladiya Main "));
        assert!(check_file(
            &book("Sub-Sahara/Niger", "40"),
            &r54(),
            crate::import::Catalog::known(Forms::shipped(), crate::Gazetteer::libya())
        )
        .unwrap()
        .warnings
        .is_empty());
    }

    #[test]
    fn a_nationality_the_list_does_not_hold_is_refused_at_its_cell() {
        let errors = check_file(
            &book("Sub-Sahara/Atlantis", "40"),
            &r54(),
            crate::import::Catalog::known(Forms::shipped(), crate::Gazetteer::libya()),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].code, ErrorCode::NotAnOption);
        assert_eq!(errors[0].sheet.as_deref(), Some("Nationalities"));
        assert_eq!((errors[0].row, errors[0].column.as_str()), (2, "L"), "the Migrant Nationality cell of row 2");
    }
}
