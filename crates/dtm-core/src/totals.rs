//! Totals of a round's counts per region, mantika or baladiya, from the finest level
//! collected.
//!
//! A round may be collected (or published) per baladiya, per muhalla, or both. For each
//! baladiya and each field, the figure is the sum of its muhallas where any muhalla
//! holds that field, otherwise the baladiya's own figure: never both, so nothing is
//! counted twice. Where a baladiya's own figure differs from the sum of its muhallas,
//! the difference is kept and shown beside the total, never settled silently.
//!
//! Sums are `u128`: counts are bounded by [`crate::form::COUNT_MAX`], but a total must
//! stay exact even over values stored before that bound existed.

use crate::{FieldValue, Pcode};
use serde::Serialize;
use std::collections::BTreeMap;

/// A baladiya whose own figure for a field is not the sum of its muhallas' figures.
/// The total counts the muhallas (the finer level); both figures are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(export)]
pub struct Difference {
    #[ts(type = "string")]
    pub baladiya: Pcode,
    pub field: String,
    /// What the baladiya assessment itself says.
    #[ts(type = "number")]
    pub baladiya_value: u128,
    /// The sum over its muhalla assessments, which the total uses.
    #[ts(type = "number")]
    pub muhallas_value: u128,
    /// How many muhalla assessments hold the field.
    pub muhallas: usize,
}

/// One location's totals at the level asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(export)]
pub struct Totals {
    /// Sums of the count fields, by field id; a field nobody answered is absent.
    #[ts(type = "Record<string, number>")]
    pub values: BTreeMap<String, u128>,
    /// Baladiyas inside this location where the two levels disagree.
    pub differences: Vec<Difference>,
    /// Baladiya and muhalla assessments counted.
    pub baladiya_assessments: usize,
    pub muhalla_assessments: usize,
}

fn count(values: &BTreeMap<String, FieldValue>, field: &str) -> Option<u128> {
    values.get(field).and_then(FieldValue::as_u64).map(u128::from)
}

/// Sums each count field over baladiya (level 3) and muhalla (level 4) assessments,
/// grouped by their ancestor at `level` (1 region, 2 mantika, 3 baladiya), taking each
/// baladiya's figures from the finest level collected (see the module comment).
/// Assessments at other levels are left out.
pub fn by_level<'a>(
    assessments: impl IntoIterator<Item = (&'a Pcode, &'a BTreeMap<String, FieldValue>)>,
    level: u8,
    fields: &[&str],
) -> BTreeMap<Pcode, Totals> {
    // Each baladiya's own assessment and its muhallas'.
    type Collected<'a> = (Option<&'a BTreeMap<String, FieldValue>>, Vec<&'a BTreeMap<String, FieldValue>>);
    let mut baladiyas: BTreeMap<Pcode, Collected<'a>> = BTreeMap::new();
    for (location, values) in assessments {
        let (Some(baladiya), 3..=4) = (location.ancestor(3), location.level()) else { continue };
        let entry = baladiyas.entry(baladiya).or_default();
        if location.level() == 3 {
            entry.0 = Some(values);
        } else {
            entry.1.push(values);
        }
    }
    let mut out: BTreeMap<Pcode, Totals> = BTreeMap::new();
    for (baladiya, (own, muhallas)) in &baladiyas {
        let Some(group) = baladiya.ancestor(level) else { continue };
        let totals = out.entry(group).or_default();
        totals.baladiya_assessments += usize::from(own.is_some());
        totals.muhalla_assessments += muhallas.len();
        for field in fields {
            let counted: Vec<u128> = muhallas.iter().filter_map(|m| count(m, field)).collect();
            let own_value = own.and_then(|o| count(o, field));
            let figure = if counted.is_empty() {
                own_value
            } else {
                let sum: u128 = counted.iter().sum();
                if let Some(own_value) = own_value.filter(|v| *v != sum) {
                    totals.differences.push(Difference {
                        baladiya: baladiya.clone(),
                        field: (*field).to_owned(),
                        baladiya_value: own_value,
                        muhallas_value: sum,
                        muhallas: counted.len(),
                    });
                }
                Some(sum)
            };
            if let Some(figure) = figure {
                *totals.values.entry((*field).to_owned()).or_default() += figure;
            }
        }
    }
    out
}

/// The national figures: every region's totals added up, differences kept.
pub fn national(by_region: BTreeMap<Pcode, Totals>) -> Totals {
    by_region.into_values().fold(Totals::default(), |mut acc, t| {
        for (field, v) in t.values {
            *acc.values.entry(field).or_default() += v;
        }
        acc.differences.extend(t.differences);
        acc.baladiya_assessments += t.baladiya_assessments;
        acc.muhalla_assessments += t.muhalla_assessments;
        acc
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::COUNT_MAX;
    use serde_json::json;

    fn at(pcode: &str, idp_ind: u64) -> (Pcode, BTreeMap<String, FieldValue>) {
        (Pcode::parse(pcode).unwrap(), BTreeMap::from([("idp_ind".to_string(), json!(idp_ind))]))
    }

    fn totals(all: &[(Pcode, BTreeMap<String, FieldValue>)], level: u8) -> BTreeMap<Pcode, Totals> {
        by_level(all.iter().map(|(p, v)| (p, v)), level, &["idp_ind"])
    }

    fn p(s: &str) -> Pcode {
        Pcode::parse(s).unwrap()
    }

    #[test]
    fn baladiya_figures_add_up_to_their_mantika_and_region() {
        let all = [at("LY021104", 10), at("LY021105", 5), at("LY010101", 7)];
        let mantikas = totals(&all, 2);
        assert_eq!(mantikas[&p("LY0211")].values["idp_ind"], 15);
        let regions = totals(&all, 1);
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[&p("LY01")].values["idp_ind"], 7);
    }

    #[test]
    fn a_round_collected_only_per_muhalla_has_totals_at_every_level() {
        let all = [at("LY02110401", 4), at("LY02110402", 6), at("LY02110501", 1)];
        let regions = totals(&all, 1);
        assert_eq!(regions[&p("LY02")].values["idp_ind"], 11, "muhalla figures are the round's figures");
        assert_eq!(regions[&p("LY02")].muhalla_assessments, 3);
        let baladiyas = totals(&all, 3);
        assert_eq!(baladiyas[&p("LY021104")].values["idp_ind"], 10);
        assert_eq!(baladiyas[&p("LY021105")].values["idp_ind"], 1);
    }

    #[test]
    fn a_baladiya_with_its_own_figure_and_muhallas_is_counted_once_from_the_muhallas() {
        // LY021104 reports 10 itself and its muhallas add up to 10: count 10, not 20.
        // LY021105 reports 50 but its one muhalla says 20: count 20, flag the difference.
        let all =
            [at("LY021104", 10), at("LY02110401", 4), at("LY02110402", 6), at("LY021105", 50), at("LY02110501", 20)];
        let mantika = &totals(&all, 2)[&p("LY0211")];
        assert_eq!(mantika.values["idp_ind"], 30, "each baladiya counts once, from its finest level");
        assert_eq!(
            mantika.differences,
            [Difference {
                baladiya: p("LY021105"),
                field: "idp_ind".into(),
                baladiya_value: 50,
                muhallas_value: 20,
                muhallas: 1
            }],
            "a disagreement between the levels must be shown, not hidden in the total"
        );
        assert_eq!((mantika.baladiya_assessments, mantika.muhalla_assessments), (2, 3));
    }

    #[test]
    fn a_field_only_the_baladiya_holds_comes_from_the_baladiya() {
        let mut b = at("LY021104", 10);
        b.1.insert("ret_ind".into(), json!(3));
        let all = [b, at("LY02110401", 10)];
        let t = &by_level(all.iter().map(|(p, v)| (p, v)), 1, &["idp_ind", "ret_ind"])[&p("LY02")];
        assert_eq!(t.values["ret_ind"], 3, "no muhalla holds returnees, so the baladiya's figure stands");
        assert_eq!(t.values["idp_ind"], 10);
        assert!(t.differences.is_empty());
    }

    #[test]
    fn sums_at_the_count_bound_and_beyond_u64_stay_exact() {
        let all = [at("LY02110401", COUNT_MAX), at("LY02110402", u64::MAX), at("LY02110501", u64::MAX)];
        let t = national(totals(&all, 1));
        let expected = u128::from(COUNT_MAX) + 2 * u128::from(u64::MAX);
        assert_eq!(t.values["idp_ind"], expected, "a total must never wrap or panic, even on stored legacy values");
    }
}
