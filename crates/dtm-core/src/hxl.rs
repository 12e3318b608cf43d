//! HXL hashtags: the tag row under the header of every CSV or XLSX that HQ imports
//! and exports. A field's tag lives in its form (`hxl` in `schemas/forms/`); this
//! module holds the location columns and the tag arithmetic.

use std::collections::BTreeSet;

/// Location columns.
pub const ADM1: &str = "#adm1+code";
pub const ADM2: &str = "#adm2+code";
pub const ADM3: &str = "#adm3+code";
pub const ADM4: &str = "#adm4+code";
pub const ROUND: &str = "#round+code";
pub const DATE: &str = "#date+reported";

/// The counts every baladiya and muhalla form holds, in their order: what totals sum.
pub const COUNT_FIELDS: &[&str] =
    &["idp_hh", "idp_ind", "ret_hh", "ret_ind", "mig_ind", "mig_men", "mig_women", "mig_children"];

/// [`COUNT_FIELDS`] as a list.
pub fn count_fields() -> Vec<&'static str> {
    COUNT_FIELDS.to_vec()
}

/// A tag in canonical form: lower case, no spaces, attributes sorted, so that
/// `#affected +ind +idps` and `#affected+idps+ind` are the same column.
pub fn canonical(tag: &str) -> String {
    let tag: String = tag.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    let mut parts = tag.split('+');
    let hashtag = parts.next().unwrap_or_default().to_owned();
    let attrs: BTreeSet<&str> = parts.filter(|a| !a.is_empty()).collect();
    std::iter::once(hashtag).chain(attrs.into_iter().map(|a| format!("+{a}"))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_order_and_spacing_do_not_change_a_tag() {
        assert_eq!(canonical("#affected +ind +IDPS"), canonical("#affected+idps+ind"));
        assert_ne!(canonical("#affected+idps+hh"), canonical("#affected+idps+ind"));
    }
}
