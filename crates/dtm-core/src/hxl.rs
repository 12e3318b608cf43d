//! HXL hashtags: the tag row under the header of every CSV or XLSX that HQ imports
//! and exports. One table, so an export always imports back.

use std::collections::BTreeSet;

/// Location columns.
pub const ADM1: &str = "#adm1+code";
pub const ADM2: &str = "#adm2+code";
pub const ADM3: &str = "#adm3+code";
pub const ADM4: &str = "#adm4+code";
pub const ROUND: &str = "#round+code";
pub const DATE: &str = "#date+reported";

/// (HXL tag, form field) for the counts both the baladiya and muhalla forms hold.
/// `#affected+migrants+ind` is allowed by HXL though no public dataset uses it yet.
pub const COUNT_TAGS: &[(&str, &str)] = &[
    ("#affected+idps+hh", "idp_hh"),
    ("#affected+idps+ind", "idp_ind"),
    ("#affected+returnees+hh", "ret_hh"),
    ("#affected+returnees+ind", "ret_ind"),
    ("#affected+migrants+ind", "mig_ind"),
    ("#affected+migrants+m+adults", "mig_men"),
    ("#affected+migrants+f+adults", "mig_women"),
    ("#affected+migrants+children", "mig_children"),
];

/// The form fields of [`COUNT_TAGS`], in their order: what totals and exports sum.
pub fn count_fields() -> Vec<&'static str> {
    COUNT_TAGS.iter().map(|(_, f)| *f).collect()
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
