//! App versions as HQ and the field app compare them: dotted numbers (`1.4.2`), each
//! part compared as a number, missing parts as 0 (`1.4` is `1.4.0`); a pre-release or
//! build suffix (`-rc1`, `+abc`) is ignored.

use std::cmp::Ordering;

fn parts(v: &str) -> Vec<u64> {
    let core = v.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next().unwrap_or_default();
    core.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// Orders two versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (parts(a), parts(b));
    let n = a.len().max(b.len());
    (0..n).map(|i| a.get(i).unwrap_or(&0).cmp(b.get(i).unwrap_or(&0))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
}

/// Whether `a` is an older version than `b`.
pub fn older(a: &str, b: &str) -> bool {
    compare(a, b) == Ordering::Less
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_part_by_part_as_numbers() {
        assert!(older("0.9.12", "0.10.0"), "9 < 10 as numbers, not as text");
        assert!(older("1.4", "1.4.1"), "a missing part is 0");
        assert_eq!(compare("1.4", "1.4.0"), Ordering::Equal);
        assert_eq!(compare("v2.0.0-rc1", "2.0.0"), Ordering::Equal, "suffixes are ignored");
        assert!(!older("2.0.0", "1.99.99"));
    }
}
