//! The Libya gazetteer: regions, mantikas, baladiyas and muhallas with English and
//! Arabic names, compiled in from `data/gazetteer` (OCHA COD-AB Libya; IOM DTM Libya).

use crate::scope::{Pcode, Scope};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Credit owed for the reference data, shown in the app's About and the README.
pub const ATTRIBUTION: &str = "OCHA COD-AB Libya; IOM DTM Libya";

const ADM1: &str = include_str!("../../../data/gazetteer/lby_admin1_regions.csv");
const ADM2: &str = include_str!("../../../data/gazetteer/lby_admin2_mantika.csv");
const ADM3: &str = include_str!("../../../data/gazetteer/lby_admin3_baladiya.csv");
const ADM4: &str = include_str!("../../../data/gazetteer/lby_admin4_muhalla.csv");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub pcode: Pcode,
    pub name_en: String,
    pub name_ar: String,
    /// `Urban` or `Rural`, for muhallas, as DTM classes them.
    pub kind: Option<String>,
    /// Latitude and longitude as the source gives them (baladiyas and some muhallas).
    pub lat: Option<String>,
    pub lon: Option<String>,
}

impl Location {
    pub fn level(&self) -> u8 {
        self.pcode.level()
    }
}

#[derive(Debug)]
pub struct Gazetteer {
    by_pcode: BTreeMap<Pcode, Location>,
}

impl Gazetteer {
    /// The Libya gazetteer shipped with the app, parsed once.
    pub fn libya() -> &'static Gazetteer {
        static LIBYA: OnceLock<Gazetteer> = OnceLock::new();
        LIBYA.get_or_init(|| {
            let mut by_pcode = BTreeMap::new();
            // (file, column of the P-code, of the English and Arabic names, of the
            // urban/rural class and of the latitude; the longitude follows it)
            let files = [
                (ADM1, 1, 2, 3, None, None),
                (ADM2, 2, 3, 4, None, None),
                (ADM3, 4, 5, 6, None, Some(7)),
                (ADM4, 2, 3, 4, Some(5), Some(6)),
            ];
            for (csv, code, en, ar, kind, lat) in files {
                // Row 1 is the header and row 2 the HXL hashtags.
                for line in csv.lines().skip(2).filter(|l| !l.trim().is_empty()) {
                    let cols: Vec<&str> = line.split(',').collect();
                    let pcode =
                        Pcode::parse(cols[code].trim()).expect("the shipped gazetteer holds only well-formed P-codes");
                    let text = |col: Option<usize>| {
                        col.and_then(|c| cols.get(c)).map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned)
                    };
                    let location = Location {
                        pcode: pcode.clone(),
                        name_en: cols[en].trim().to_owned(),
                        name_ar: cols[ar].trim().to_owned(),
                        kind: text(kind),
                        lat: text(lat),
                        lon: text(lat.map(|c| c + 1)),
                    };
                    by_pcode.insert(pcode, location);
                }
            }
            Gazetteer { by_pcode }
        })
    }

    pub fn get(&self, pcode: &str) -> Option<&Location> {
        let pcode = Pcode::parse(pcode).ok()?;
        self.by_pcode.get(&pcode)
    }

    pub fn at_level(&self, level: u8) -> impl Iterator<Item = &Location> {
        self.by_pcode.values().filter(move |l| l.level() == level)
    }

    /// Locations at `level` that the scope reaches, in P-code order.
    pub fn in_scope<'a>(&'a self, scope: &'a Scope, level: u8) -> impl Iterator<Item = &'a Location> {
        self.at_level(level).filter(move |l| scope.contains(&l.pcode))
    }

    /// Locations whose English or Arabic name, or P-code, contains the query, at
    /// `level` if given. Arabic is compared after [`normalize`], so ة/ه, ى/ي and the
    /// hamza forms match each other; English ignores case.
    pub fn search(&self, query: &str, level: Option<u8>, limit: usize) -> Vec<&Location> {
        let q = normalize(query.trim());
        if q.is_empty() {
            return Vec::new();
        }
        self.by_pcode
            .values()
            .filter(|l| level.is_none_or(|lv| l.level() == lv))
            .filter(|l| {
                l.pcode.as_str().to_lowercase().starts_with(&q)
                    || normalize(&l.name_en).contains(&q)
                    || normalize(&l.name_ar).contains(&q)
            })
            .take(limit)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.by_pcode.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_pcode.is_empty()
    }
}

/// Folds the spelling variants of Arabic place names (and the case of Latin ones)
/// so that searches match however the name was typed: ة→ه, ى→ي, أ إ آ ٱ→ا, ؤ→و,
/// ئ→ي, without diacritics or tatweel.
pub fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{064B}'..='\u{0652}' | '\u{0670}' | '\u{0640}'))
        .map(|c| match c {
            'ة' => 'ه',
            'ى' => 'ي',
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ؤ' => 'و',
            'ئ' => 'ي',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_gazetteer_has_every_cod_level_complete() {
        let g = Gazetteer::libya();
        assert_eq!(g.at_level(1).count(), 3, "Libya has 3 regions");
        assert_eq!(g.at_level(2).count(), 22, "Libya has 22 mantikas");
        assert_eq!(g.at_level(3).count(), 100, "Libya has 100 baladiyas");
        assert_eq!(g.at_level(4).count(), 663, "Libya has 663 muhallas");
    }

    #[test]
    fn every_location_has_its_parent_in_the_gazetteer() {
        let g = Gazetteer::libya();
        for l in g.at_level(2).chain(g.at_level(3)).chain(g.at_level(4)) {
            let parent = l.pcode.parent().unwrap();
            assert!(g.get(parent.as_str()).is_some(), "{} has no parent {}", l.pcode, parent);
        }
    }

    #[test]
    fn names_are_kept_in_english_and_arabic() {
        let tripoli = Gazetteer::libya().get("LY021104").unwrap();
        assert_eq!(tripoli.name_en, "Tripoli");
        assert_eq!(tripoli.name_ar, "طرابلس");
    }

    #[test]
    fn arabic_search_matches_across_ta_marbuta_alif_maqsura_and_hamza_spellings() {
        let g = Gazetteer::libya();
        // Derna is "درنه" as a mantika and "درنة" as a baladiya: either spelling finds both.
        for q in ["درنة", "درنه"] {
            let found: Vec<&str> = g.search(q, None, 10).iter().map(|l| l.pcode.as_str()).collect();
            assert!(found.contains(&"LY0101") && found.contains(&"LY010102"), "{q} found {found:?}");
        }
        assert_eq!(normalize("الأندلس"), normalize("الاندلس"), "hamza forms fold to bare alif");
        assert_eq!(normalize("مصراتة"), normalize("مصراته"));
        assert_eq!(normalize("بنى"), normalize("بني"));
        assert_eq!(normalize("طَرَابُلُس"), "طرابلس", "diacritics are ignored");
    }

    #[test]
    fn search_finds_english_names_case_blind_and_p_code_prefixes_at_a_level() {
        let g = Gazetteer::libya();
        let hits: Vec<&str> = g.search("tripoli", Some(3), 10).iter().map(|l| l.pcode.as_str()).collect();
        assert_eq!(hits, ["LY021104"]);
        assert_eq!(g.search("LY0211", Some(3), 50).len(), 6);
        assert!(g.search("  ", None, 10).is_empty());
    }

    #[test]
    fn the_tripoli_mantika_scope_lists_its_six_baladiyas() {
        let scope = Scope::new(["LY0211"]);
        assert_eq!(Gazetteer::libya().in_scope(&scope, 3).count(), 6);
    }
}
