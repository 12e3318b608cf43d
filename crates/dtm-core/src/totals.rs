//! Totals of a round's counts per region, mantika or baladiya.

use crate::{FieldValue, Pcode};
use std::collections::BTreeMap;

/// Sums each count field over the assessments, grouped by their ancestor at `level`
/// (1 region, 2 mantika, 3 baladiya). Assessments above that level are left out.
pub fn by_level<'a>(
    assessments: impl IntoIterator<Item = (&'a Pcode, &'a BTreeMap<String, FieldValue>)>,
    level: u8,
    fields: &[&str],
) -> BTreeMap<Pcode, BTreeMap<String, u64>> {
    let mut out: BTreeMap<Pcode, BTreeMap<String, u64>> = BTreeMap::new();
    for (location, values) in assessments {
        let Some(group) = location.ancestor(level) else { continue };
        let sums = out.entry(group).or_default();
        for f in fields {
            if let Some(v) = values.get(*f).and_then(|v| v.as_u64()) {
                *sums.entry((*f).to_owned()).or_default() += v;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn baladiya_figures_add_up_to_their_mantika_and_region() {
        let a = (Pcode::parse("LY021104").unwrap(), BTreeMap::from([("idp_ind".to_string(), json!(10))]));
        let b = (Pcode::parse("LY021105").unwrap(), BTreeMap::from([("idp_ind".to_string(), json!(5))]));
        let c = (Pcode::parse("LY010101").unwrap(), BTreeMap::from([("idp_ind".to_string(), json!(7))]));
        let all = [&a, &b, &c];
        let mantikas = by_level(all.iter().map(|(p, v)| (p, v)), 2, &["idp_ind"]);
        assert_eq!(mantikas[&Pcode::parse("LY0211").unwrap()]["idp_ind"], 15);
        let regions = by_level(all.iter().map(|(p, v)| (p, v)), 1, &["idp_ind"]);
        assert_eq!(regions.len(), 2);
        assert_eq!(regions[&Pcode::parse("LY01").unwrap()]["idp_ind"], 7);
    }
}
