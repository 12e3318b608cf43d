//! A round's key figures, as DTM's published round summary gives them: each
//! population in total, how many baladiyas and muhallas host it, the migrants' sex and
//! age shares, and the top nationalities, each beside the previous round's figure.
//!
//! Figures follow the totals' rule (see [`crate::totals`]): each baladiya counted once,
//! from the finest level collected. Values are as counted ([`crate::FormDef::counted`]):
//! a module answered No is 0, one answered Unknown adds nothing.

use crate::form::{FieldValue, Text};
use crate::{totals, Pcode};
use serde::Serialize;
use std::collections::BTreeMap;

/// The population totals the summary leads with, by their individuals field.
pub const POPULATIONS: [&str; 3] = ["idp_ind", "ret_ind", "mig_ind"];
/// The migrants' sex and age breakdown.
pub const SEX_AGE: [&str; 3] = ["mig_men", "mig_women", "mig_children"];
/// How many nationalities the summary lists.
pub const TOP_NATIONALITIES: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(export)]
pub struct PopulationFigure {
    pub field: String,
    /// Null when no assessment counted holds the figure: not collected, never 0.
    #[ts(type = "number | null")]
    pub total: Option<u128>,
    #[ts(type = "number | null")]
    pub previous: Option<u128>,
    /// Baladiyas where the population is above 0.
    pub baladiyas_hosting: usize,
    /// Muhallas (of those assessed per muhalla) where it is above 0.
    pub muhallas_hosting: usize,
    pub previous_baladiyas_hosting: Option<usize>,
    /// Assessments that answered this population's presence question Unknown: their
    /// figures are missing from the total, not 0.
    pub unknown: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(export)]
pub struct Share {
    pub field: String,
    #[ts(type = "number")]
    pub count: u128,
    /// Of the breakdown's sum, in percent; null when the sum is 0.
    pub percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(export)]
pub struct NationalityFigure {
    pub value: String,
    pub label: Text,
    #[ts(type = "number")]
    pub count: u128,
    #[ts(type = "number | null")]
    pub previous: Option<u128>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(export)]
pub struct KeyFigures {
    pub round: String,
    pub previous_round: Option<String>,
    pub populations: Vec<PopulationFigure>,
    pub migrant_sex_age: Vec<Share>,
    /// The most numerous first.
    pub nationalities: Vec<NationalityFigure>,
    pub baladiyas_assessed: usize,
    pub muhallas_assessed: usize,
}

/// One round's counted values by location.
pub type Counted<'a> = [(Pcode, BTreeMap<String, FieldValue>)];

fn hosting(rows: &Counted<'_>, field: &str) -> (usize, usize, Option<u128>) {
    let fields = [field];
    let by_baladiya = totals::by_level(rows.iter().map(|(p, v)| (p, v)), 3, &fields);
    let baladiyas = by_baladiya.values().filter(|t| t.values.get(field).is_some_and(|n| *n > 0)).count();
    let held: Vec<u128> = by_baladiya.values().filter_map(|t| t.values.get(field).copied()).collect();
    let total = (!held.is_empty()).then(|| held.iter().sum());
    let muhallas = rows
        .iter()
        .filter(|(p, v)| p.level() == 4 && v.get(field).and_then(FieldValue::as_u64).is_some_and(|n| n > 0))
        .count();
    (baladiyas, muhallas, total)
}

/// Each nationality's migrants, each baladiya from its muhallas where they carry
/// nationalities, else from its own assessment.
fn nationalities(rows: &Counted<'_>, group: &str) -> BTreeMap<String, u128> {
    let prefix = format!("{group}.");
    let carries = |v: &BTreeMap<String, FieldValue>| v.keys().any(|k| k.starts_with(&prefix));
    let with_muhallas: std::collections::BTreeSet<Pcode> =
        rows.iter().filter(|(p, v)| p.level() == 4 && carries(v)).filter_map(|(p, _)| p.ancestor(3)).collect();
    let mut out: BTreeMap<String, u128> = BTreeMap::new();
    for (p, v) in rows {
        let counted_here = match p.level() {
            4 => true,
            3 => !with_muhallas.contains(p),
            _ => false,
        };
        if !counted_here {
            continue;
        }
        for (k, n) in v {
            let Some((g, key, _)) = crate::form::row_parts(k) else { continue };
            if g == group {
                *out.entry(key.to_owned()).or_default() += u128::from(n.as_u64().unwrap_or(0));
            }
        }
    }
    out
}

/// The key figures of `round` (with `previous`, the round before, if any). `unknown`
/// lists, per assessment, the count fields its modules left Unknown
/// ([`crate::FormDef::unknown_counts`]).
pub fn key_figures(
    forms: &crate::form::Forms,
    round: &str,
    rows: &Counted<'_>,
    unknown: &[(Pcode, Vec<String>)],
    previous: Option<(&str, &Counted<'_>)>,
) -> KeyFigures {
    let populations = POPULATIONS
        .iter()
        .map(|f| {
            let (baladiyas, muhallas, total) = hosting(rows, f);
            let before = previous.map(|(_, p)| hosting(p, f));
            PopulationFigure {
                field: (*f).to_owned(),
                total,
                previous: before.and_then(|b| b.2),
                baladiyas_hosting: baladiyas,
                muhallas_hosting: muhallas,
                previous_baladiyas_hosting: before.map(|b| b.0),
                unknown: unknown.iter().filter(|(_, fields)| fields.iter().any(|x| x == f)).count(),
            }
        })
        .collect();
    let national = totals::national(totals::by_level(rows.iter().map(|(p, v)| (p, v)), 1, &SEX_AGE));
    let sum: u128 = SEX_AGE.iter().filter_map(|f| national.values.get(*f)).sum();
    let migrant_sex_age = SEX_AGE
        .iter()
        .map(|f| {
            let count = national.values.get(*f).copied().unwrap_or(0);
            Share { field: (*f).to_owned(), count, percent: (sum > 0).then(|| count as f64 * 100.0 / sum as f64) }
        })
        .collect();
    let keys = forms
        .latest("muhalla")
        .and_then(|f| f.groups().find(|g| g.id == "mig_nat").and_then(|g| g.repeat.clone()))
        .map(|r| r.key.options)
        .unwrap_or_default();
    let now = nationalities(rows, "mig_nat");
    let before = previous.map(|(_, p)| nationalities(p, "mig_nat"));
    let mut ranked: Vec<(&String, &u128)> = now.iter().filter(|(_, n)| **n > 0).collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let nationalities = ranked
        .into_iter()
        .take(TOP_NATIONALITIES)
        .map(|(k, n)| NationalityFigure {
            value: k.clone(),
            label: keys
                .iter()
                .find(|o| &o.value == k)
                .map_or_else(|| Text { en: k.clone(), ar: k.clone() }, |o| o.label.clone()),
            count: *n,
            previous: before.as_ref().map(|b| b.get(k).copied().unwrap_or(0)),
        })
        .collect();
    KeyFigures {
        round: round.to_owned(),
        previous_round: previous.map(|(r, _)| r.to_owned()),
        populations,
        migrant_sex_age,
        nationalities,
        baladiyas_assessed: rows
            .iter()
            .filter_map(|(p, _)| p.ancestor(3))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        muhallas_assessed: rows.iter().filter(|(p, _)| p.level() == 4).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{testdata, Gazetteer};

    fn round(n: usize, offset: usize) -> Vec<(Pcode, BTreeMap<String, FieldValue>)> {
        let form = crate::form::Forms::shipped().get("muhalla", 2).unwrap();
        Gazetteer::libya()
            .at_level(4)
            .take(n)
            .enumerate()
            .map(|(i, l)| (l.pcode.clone(), form.counted(&testdata::muhalla_v2(i + offset))))
            .collect()
    }

    #[test]
    fn the_key_figures_of_a_whole_round_add_up_and_sit_beside_the_previous_round() {
        let now = round(663, 0);
        let before = round(663, 1);
        let unknown: Vec<(Pcode, Vec<String>)> = Gazetteer::libya()
            .at_level(4)
            .take(663)
            .enumerate()
            .filter_map(|(i, l)| {
                let form = crate::form::Forms::shipped().get("muhalla", 2).unwrap();
                let fields: Vec<String> =
                    form.unknown_counts(&testdata::muhalla_v2(i)).into_iter().map(str::to_owned).collect();
                (!fields.is_empty()).then(|| (l.pcode.clone(), fields))
            })
            .collect();
        let k = key_figures(crate::form::Forms::shipped(), "R55", &now, &unknown, Some(("R54", &before)));
        let unknown_idps = (0..663).filter(|i| i % 11 == 0 && i % 7 != 0).count();
        assert_eq!(
            k.populations[0].unknown, unknown_idps,
            "the muhallas that did not know about IDPs are counted apart"
        );
        assert_eq!(k.populations[2].unknown, 0);
        let sum = |rows: &Counted<'_>, f: &str| {
            rows.iter().filter_map(|(_, v)| v.get(f)?.as_u64()).map(u128::from).sum::<u128>()
        };
        for p in &k.populations {
            assert_eq!(p.total, Some(sum(&now, &p.field)), "{}: the national total", p.field);
            assert_eq!(p.previous, Some(sum(&before, &p.field)), "{}: the previous round's", p.field);
            let hosting =
                now.iter().filter(|(_, v)| v.get(&p.field).and_then(|x| x.as_u64()).is_some_and(|n| n > 0)).count();
            assert_eq!(p.muhallas_hosting, hosting, "{}: muhallas hosting", p.field);
            assert!(p.baladiyas_hosting <= 100 && p.baladiyas_hosting > 0);
        }
        let shares: f64 = k.migrant_sex_age.iter().filter_map(|s| s.percent).sum();
        assert!((shares - 100.0).abs() < 1e-9, "men, women and children are the whole: {shares}");
        let distinct: std::collections::BTreeSet<&str> = now
            .iter()
            .flat_map(|(_, v)| v.keys())
            .filter_map(|k| k.strip_prefix("mig_nat.")?.split('.').next())
            .collect();
        assert_eq!(
            k.nationalities.len(),
            TOP_NATIONALITIES.min(distinct.len()),
            "every nationality, up to the top ten"
        );
        assert!(k.nationalities.windows(2).all(|w| w[0].count >= w[1].count), "the most numerous first");
        let all: u128 = now
            .iter()
            .flat_map(|(_, v)| v.iter())
            .filter(|(k, _)| k.starts_with("mig_nat."))
            .map(|(_, n)| u128::from(n.as_u64().unwrap()))
            .sum();
        assert_eq!(Some(all), k.populations[2].total, "every migrant has a nationality in the synthetic round");
        let migrants_only: Vec<_> = now
            .iter()
            .map(|(p, v)| {
                (
                    p.clone(),
                    v.iter().filter(|(k, _)| k.starts_with("mig_")).map(|(k, v)| (k.clone(), v.clone())).collect(),
                )
            })
            .collect();
        let k = key_figures(crate::form::Forms::shipped(), "R55", &migrants_only, &[], None);
        assert_eq!(k.populations[0].total, None, "a round without IDP figures has no IDP total, not 0");
        assert_eq!(k.muhallas_assessed, 663);
    }
}
