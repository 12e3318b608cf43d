//! P-codes and scopes. A P-code's prefix is its parent, so "is this location mine"
//! is a prefix test against the user's scope.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An OCHA COD-AB P-code for Libya: `LY` then two digits per admin level
/// (LY02 region, LY0211 mantika, LY021104 baladiya, LY02110401 muhalla).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pcode(String);

/// On the wire a P-code is a string; its schema says which strings are P-codes.
impl utoipa::PartialSchema for Pcode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^LY([0-9]{2}){1,4}$"))
            .description(Some(
                "An OCHA COD-AB P-code for Libya: `LY` then two digits per admin level (1 region to 4 muhalla).",
            ))
            .examples(["LY021104"])
            .into()
    }
}

impl utoipa::ToSchema for Pcode {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Libya P-code (LY followed by 2, 4, 6 or 8 digits)")]
pub struct PcodeSyntaxError(pub String);

impl Pcode {
    pub fn parse(s: &str) -> Result<Self, PcodeSyntaxError> {
        let digits = s.strip_prefix("LY").ok_or_else(|| PcodeSyntaxError(s.to_owned()))?;
        let ok = matches!(digits.len(), 2 | 4 | 6 | 8) && digits.bytes().all(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(PcodeSyntaxError(s.to_owned()))
        }
    }

    /// COD admin level: 1 region, 2 mantika, 3 baladiya, 4 muhalla.
    pub fn level(&self) -> u8 {
        ((self.0.len() - 2) / 2) as u8
    }

    pub fn parent(&self) -> Option<Pcode> {
        (self.level() > 1).then(|| Pcode(self.0[..self.0.len() - 2].to_owned()))
    }

    /// The ancestor at `level`, or `None` when this code is above that level.
    pub fn ancestor(&self, level: u8) -> Option<Pcode> {
        (level >= 1 && level <= self.level()).then(|| Pcode(self.0[..2 + 2 * level as usize].to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_within(&self, prefix: &Pcode) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl TryFrom<String> for Pcode {
    type Error = PcodeSyntaxError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Pcode::parse(&s)
    }
}

impl From<Pcode> for String {
    fn from(p: Pcode) -> String {
        p.0
    }
}

impl fmt::Display for Pcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's scope: the P-code prefixes they may read and write. An empty scope
/// reaches nothing; the whole country is the prefix `LY`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    prefixes: Vec<String>,
}

impl Scope {
    pub fn new<I, S>(prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut prefixes: Vec<String> = prefixes.into_iter().map(Into::into).collect();
        prefixes.sort();
        prefixes.dedup();
        Self { prefixes }
    }

    pub fn whole_country() -> Self {
        Self::new(["LY"])
    }

    pub fn contains(&self, location: &Pcode) -> bool {
        self.prefixes.iter().any(|p| location.as_str().starts_with(p.as_str()))
    }

    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pcode {
        Pcode::parse(s).unwrap()
    }

    #[test]
    fn pcode_levels_follow_the_cod_scheme() {
        assert_eq!(p("LY02").level(), 1);
        assert_eq!(p("LY0211").level(), 2);
        assert_eq!(p("LY021104").level(), 3);
        assert_eq!(p("LY02110401").level(), 4);
        assert_eq!(p("LY021104").parent(), Some(p("LY0211")));
        assert_eq!(p("LY021104").ancestor(2), Some(p("LY0211")));
        assert_eq!(p("LY02").parent(), None);
    }

    #[test]
    fn malformed_pcodes_are_refused() {
        for bad in ["", "LY", "LY1", "LY0211X", "TN0211", "LY0211010101", "ly0211"] {
            assert!(Pcode::parse(bad).is_err(), "{bad:?} must not parse as a P-code");
        }
    }

    #[test]
    fn a_mantika_scope_contains_its_baladiyas_and_muhallas_only() {
        let scope = Scope::new(["LY0211"]);
        assert!(scope.contains(&p("LY021104")), "Tripoli centre is inside the Tripoli mantika");
        assert!(scope.contains(&p("LY02110401")), "muhallas inherit their baladiya's scope");
        assert!(!scope.contains(&p("LY021201")), "a neighbouring mantika is outside the scope");
        assert!(!scope.contains(&p("LY02")), "a scope on a mantika does not reach up to its region");
    }

    #[test]
    fn a_region_scope_reaches_every_mantika_in_it() {
        let scope = Scope::new(["LY02"]);
        assert!(scope.contains(&p("LY0211")));
        assert!(scope.contains(&p("LY021601")));
        assert!(!scope.contains(&p("LY010101")), "the East is not in the West's scope");
    }

    #[test]
    fn an_empty_scope_reaches_nothing() {
        assert!(!Scope::default().contains(&p("LY021104")));
    }
}
