//! Synthetic assessments with known sums, for the test suites and the benchmark: every
//! field of a form filled in, every breakdown adding up, and modules that do not
//! apply or are unknown in a known share of locations. Pure and deterministic.

use crate::exchange::Row;
use crate::form::{FieldValue, FormDef};
use crate::{AssessmentStatus, Gazetteer, Pcode};
use serde_json::json;
use std::collections::BTreeMap;

/// Splits `total` into `parts` whole shares that add up to it (the first takes the rest).
fn split(total: u64, parts: usize) -> Vec<u64> {
    let each = total / parts as u64;
    let mut out = vec![each; parts];
    out[0] += total - each * parts as u64;
    out
}

/// A whole muhalla v2 assessment for the `i`-th location: IDPs absent in every
/// seventh, unknown in every eleventh; returnees absent in every fifth; migrants
/// absent in every ninth; one to three nationalities, two needs in every other.
pub fn muhalla_v2(i: usize) -> BTreeMap<String, FieldValue> {
    let form = crate::form::Forms::shipped().get("muhalla", 2).expect("muhalla v2 ships");
    let mut v: BTreeMap<String, FieldValue> = BTreeMap::new();
    let mut put = |k: &str, x: FieldValue| {
        v.insert(k.to_owned(), x);
    };
    let n = i as u64;
    let idp = if i.is_multiple_of(7) {
        "no"
    } else if i.is_multiple_of(11) {
        "unknown"
    } else {
        "yes"
    };
    put("idp_present", json!(idp));
    if idp == "yes" {
        let hh = 10 + n % 50;
        put("idp_hh", json!(hh));
        put("idp_ind", json!(hh * 5));
        let ages = ["idp_male_children", "idp_female_children", "idp_male_adults", "idp_female_adults"];
        let ages = ages.iter().chain(["idp_male_elderly", "idp_female_elderly"].iter());
        for (f, x) in ages.zip(split(hh * 5, 6)) {
            put(f, json!(x));
        }
        let shelters = ["idp_sh_rented", "idp_sh_host", "idp_sh_owned", "idp_sh_public", "idp_sh_informal"];
        for (f, x) in shelters.iter().chain(["idp_sh_other"].iter()).zip(split(hh, 6)) {
            put(f, json!(x));
        }
        let mantikas: Vec<&str> = Gazetteer::libya().at_level(2).map(|l| l.pcode.as_str()).collect();
        put("idp_origin_main", json!(mantikas[i % mantikas.len()]));
        put("idp_displacement_year", json!(2011 + n % 14));
        put("idp_drivers", json!(["conflict", "economic"]));
    }
    let ret = if i.is_multiple_of(5) { "no" } else { "yes" };
    put("ret_present", json!(ret));
    if ret == "yes" {
        let hh = 5 + n % 30;
        put("ret_hh", json!(hh));
        put("ret_ind", json!(hh * 4));
        for (f, x) in ["ret_sh_own_home", "ret_sh_rented", "ret_sh_host", "ret_sh_other"].iter().zip(split(hh, 4)) {
            put(f, json!(x));
        }
    }
    let mig = if i.is_multiple_of(9) { "no" } else { "yes" };
    put("mig_present", json!(mig));
    if mig == "yes" {
        let total = 20 + n % 300;
        put("mig_ind", json!(total));
        for f in form.sections[2].fields.iter().filter(|f| f.kind == crate::FieldType::Count) {
            put(&f.id, json!(0));
        }
        put("mig_ind", json!(total));
        let [a, b] = split(total, 2)[..] else { unreachable!() };
        put("mig_sh_rented_self", json!(a));
        put("mig_sh_workplace", json!(b));
        put("mig_arr_gt12m", json!(a));
        put("mig_arr_1_6m", json!(b));
        put("mig_permit_none", json!(a));
        put("mig_permit_work", json!(b));
        for (f, x) in ["mig_men", "mig_women", "mig_children"].iter().zip(split(total, 3)) {
            put(f, json!(x));
        }
        put("mig_need_1", json!("health"));
        put("mig_need_1_problem", json!("too_expensive"));
        if i.is_multiple_of(2) {
            put("mig_need_2", json!("wash"));
            put("mig_need_2_problem", json!("no_water_network"));
        }
        let keys = &form.groups().next().expect("nationalities").repeat.as_ref().expect("repeats").key.options;
        let how_many = 1 + i % 3;
        for (k, x) in keys.iter().skip(i % 7).take(how_many).zip(split(total, how_many)) {
            put(&FormDef::row_key("mig_nat", &k.value, "ind"), json!(x));
        }
    }
    put("ki_count", json!(2 + n % 4));
    put("ki_types", json!(["crisis_committee", "community_rep"]));
    v
}

/// A whole round of muhalla v2: every muhalla of the gazetteer, the `i`-th with
/// [`muhalla_v2`]`(i)`.
pub fn whole_round_v2() -> Vec<(Pcode, BTreeMap<String, FieldValue>)> {
    Gazetteer::libya().at_level(4).enumerate().map(|(i, l)| (l.pcode.clone(), muhalla_v2(i))).collect()
}

/// A round's assessments as export rows, approved, with muhalla v2.
pub fn approved_rows(round: &[(Pcode, BTreeMap<String, FieldValue>)]) -> Vec<Row<'_>> {
    let form = crate::form::Forms::shipped().get("muhalla", 2).expect("muhalla v2 ships");
    round.iter().map(|(p, v)| Row { location: p, form, status: AssessmentStatus::Approved, values: v }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Context;

    #[test]
    fn every_synthetic_muhalla_passes_every_rule_and_may_be_submitted() {
        let form = crate::form::Forms::shipped().get("muhalla", 2).unwrap();
        for i in 0..200 {
            let v = muhalla_v2(i);
            assert_eq!(form.submission_blockers(&v, Context::default()), vec![], "muhalla {i}: {v:?}");
            for (k, x) in &v {
                assert!(form.check_value(k, x, crate::Gazetteer::libya()).is_ok(), "muhalla {i}: {k} = {x}");
            }
        }
    }
}
