//! The gazetteer: regions, mantikas, baladiyas and muhallas with English and Arabic
//! names. What ships is Libya's, from `data/gazetteer` (OCHA COD-AB Libya; IOM DTM
//! Libya): the base every HQ and device starts from. Muhallas appear, split, are
//! renamed and retired between rounds, so HQ keeps a log of changes over that base
//! and devices receive it with their pull; a [`Gazetteer`] is the base with the
//! changes applied, a value held by HQ's service and by the device store.
//!
//! What a change may do is decided here, once ([`Gazetteer::plan_add`],
//! [`Gazetteer::plan_change`]); HQ only records what they return.

use crate::scope::{Pcode, Scope};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Credit owed for the reference data, shown in the app's About and the README.
pub const ATTRIBUTION: &str = "OCHA COD-AB Libya; IOM DTM Libya";

const ADM1: &str = include_str!("../../../data/gazetteer/lby_admin1_regions.csv");
const ADM2: &str = include_str!("../../../data/gazetteer/lby_admin2_mantika.csv");
const ADM3: &str = include_str!("../../../data/gazetteer/lby_admin3_baladiya.csv");
const ADM4: &str = include_str!("../../../data/gazetteer/lby_admin4_muhalla.csv");

/// A location as the gazetteer holds it, and as a change to it travels to devices.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Location {
    #[ts(type = "string")]
    pub pcode: Pcode,
    pub name_en: String,
    pub name_ar: String,
    /// `Urban` or `Rural`, for muhallas, as DTM classes them.
    #[serde(default)]
    pub kind: Option<String>,
    /// Latitude and longitude as the source gives them (baladiyas and some muhallas).
    #[serde(default)]
    pub lat: Option<String>,
    #[serde(default)]
    pub lon: Option<String>,
    /// No longer assessed: kept, with its past assessments, but not offered for new ones.
    #[serde(default)]
    pub retired: bool,
}

impl Location {
    pub fn level(&self) -> u8 {
        self.pcode.level()
    }
}

#[derive(Debug, Clone)]
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
                        retired: false,
                    };
                    by_pcode.insert(pcode, location);
                }
            }
            Gazetteer { by_pcode }
        })
    }

    /// The shipped base with HQ's recorded changes applied in order.
    pub fn with_changes(mut self, changes: impl IntoIterator<Item = Location>) -> Self {
        for l in changes {
            self.apply(l);
        }
        self
    }

    pub fn get(&self, pcode: &str) -> Option<&Location> {
        let pcode = Pcode::parse(pcode).ok()?;
        self.by_pcode.get(&pcode)
    }

    /// Every location, in P-code order, retired ones included.
    pub fn all(&self) -> impl Iterator<Item = &Location> {
        self.by_pcode.values()
    }

    pub fn at_level(&self, level: u8) -> impl Iterator<Item = &Location> {
        self.by_pcode.values().filter(move |l| l.level() == level)
    }

    /// Locations at `level` that the scope reaches, in P-code order, retired ones
    /// included (they keep their past assessments).
    pub fn in_scope<'a>(&'a self, scope: &'a Scope, level: u8) -> impl Iterator<Item = &'a Location> {
        self.at_level(level).filter(move |l| scope.contains(&l.pcode))
    }

    /// Locations at `level` in the scope that new assessments are made for: those in
    /// use, not the retired.
    pub fn to_assess<'a>(&'a self, scope: &'a Scope, level: u8) -> impl Iterator<Item = &'a Location> {
        self.in_scope(scope, level).filter(|l| !l.retired)
    }

    /// Writes a location's new state (as [`Gazetteer::plan_add`] or
    /// [`Gazetteer::plan_change`] made it, or as HQ recorded it): added or replaced.
    pub fn apply(&mut self, location: Location) {
        self.by_pcode.insert(location.pcode.clone(), location);
    }

    /// The location a new P-code would be, if it may be added: its parent is known
    /// and not retired, the P-code is free, the names and coordinates are sound.
    pub fn plan_add(&self, new: LocationInput) -> Result<Location, LocationError> {
        let pcode = Pcode::parse(new.pcode.trim()).map_err(|_| LocationError::BadPcode(new.pcode.clone()))?;
        if let Some(existing) = self.by_pcode.get(&pcode) {
            return Err(LocationError::Exists { pcode: pcode.to_string(), name: existing.name_en.clone() });
        }
        let Some(parent) = pcode.parent() else {
            return Err(LocationError::NoParent(pcode.to_string()));
        };
        match self.by_pcode.get(&parent) {
            None => return Err(LocationError::UnknownParent { pcode: pcode.to_string(), parent: parent.to_string() }),
            Some(p) if p.retired => return Err(LocationError::ParentRetired(parent.to_string())),
            Some(_) => {}
        }
        let location = Location {
            pcode,
            name_en: new.name_en,
            name_ar: new.name_ar,
            kind: new.kind,
            lat: new.lat,
            lon: new.lon,
            retired: false,
        };
        check_location(location)
    }

    /// The location after `change`, if it may be made: names and coordinates sound, a
    /// location retired only once nothing under it is still in use, brought back only
    /// under a parent in use, and something actually changed.
    pub fn plan_change(&self, pcode: &str, change: LocationChange) -> Result<Location, LocationError> {
        let current = self.get(pcode).ok_or_else(|| LocationError::Unknown(pcode.to_owned()))?;
        let mut next = current.clone();
        if let Some(name) = change.name_en {
            next.name_en = name;
        }
        if let Some(name) = change.name_ar {
            next.name_ar = name;
        }
        if let Some(kind) = change.kind {
            next.kind = kind;
        }
        if let Some(coordinates) = change.coordinates {
            (next.lat, next.lon) = match coordinates {
                Some((lat, lon)) => (Some(lat), Some(lon)),
                None => (None, None),
            };
        }
        if let Some(retired) = change.retired {
            if retired && !current.retired {
                let in_use: Vec<String> = self
                    .by_pcode
                    .values()
                    .filter(|l| !l.retired && l.pcode != current.pcode && l.pcode.is_within(&current.pcode))
                    .map(|l| l.pcode.to_string())
                    .collect();
                if !in_use.is_empty() {
                    return Err(LocationError::ChildrenInUse { pcode: pcode.to_owned(), children: in_use });
                }
            }
            if !retired && current.retired {
                if let Some(parent) = current.pcode.parent().and_then(|p| self.by_pcode.get(&p)) {
                    if parent.retired {
                        return Err(LocationError::ParentRetired(parent.pcode.to_string()));
                    }
                }
            }
            next.retired = retired;
        }
        let next = check_location(next)?;
        if &next == current {
            return Err(LocationError::NothingChanged(pcode.to_owned()));
        }
        Ok(next)
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

/// A location to add, as an admin types it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LocationInput {
    /// The new P-code, under its parent's (a muhalla's 8 digits begin with its baladiya's 6).
    pub pcode: String,
    pub name_en: String,
    pub name_ar: String,
    /// `Urban` or `Rural`, for a muhalla.
    #[serde(default)]
    #[ts(optional)]
    pub kind: Option<String>,
    /// Decimal degrees, both or neither.
    #[serde(default)]
    #[ts(optional)]
    pub lat: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub lon: Option<String>,
}

/// A location as it would be typed to add it again (an import's new muhalla, planned
/// once more inside the transaction that writes it).
impl From<&Location> for LocationInput {
    fn from(l: &Location) -> Self {
        Self {
            pcode: l.pcode.to_string(),
            name_en: l.name_en.clone(),
            name_ar: l.name_ar.clone(),
            kind: l.kind.clone(),
            lat: l.lat.clone(),
            lon: l.lon.clone(),
        }
    }
}

/// What to change of a location; what is left out stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationChange {
    pub name_en: Option<String>,
    pub name_ar: Option<String>,
    /// `Some(None)` clears the urban or rural class.
    pub kind: Option<Option<String>>,
    /// `Some(None)` clears the coordinates.
    pub coordinates: Option<Option<(String, String)>>,
    /// Retire (true) or bring back (false).
    pub retired: Option<bool>,
}

/// Why a gazetteer change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("`{0}` is not a P-code: LY followed by 2, 4, 6 or 8 digits")]
    BadPcode(String),
    #[error("{0} is not in the gazetteer")]
    Unknown(String),
    #[error("{pcode} is already in the gazetteer ({name})")]
    Exists { pcode: String, name: String },
    #[error("{0} is a region; regions are not added this way")]
    NoParent(String),
    #[error("{pcode} would sit under {parent}, which is not in the gazetteer")]
    UnknownParent { pcode: String, parent: String },
    #[error("{0} is retired; nothing is added or brought back under it")]
    ParentRetired(String),
    #[error("{pcode} still has locations in use under it ({}); retire those first", children.join(", "))]
    ChildrenInUse { pcode: String, children: Vec<String> },
    #[error("the {0} name is empty")]
    EmptyName(&'static str),
    #[error("the {what} name is longer than {max} characters")]
    NameTooLong { what: &'static str, max: usize },
    #[error("the Arabic name `{0}` has no Arabic letters")]
    NotArabic(String),
    #[error("`{0}` is not a class of location: Urban or Rural")]
    BadKind(String),
    #[error("the coordinates {0} are not a latitude and longitude in decimal degrees, both given")]
    BadCoordinates(String),
    #[error("nothing would change for {0}")]
    NothingChanged(String),
}

impl LocationError {
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode as C;
        match self {
            Self::BadPcode(_) | Self::Unknown(_) => C::UnknownPcode,
            Self::Exists { .. } => C::LocationExists,
            Self::NoParent(_) | Self::UnknownParent { .. } => C::UnknownParent,
            Self::ParentRetired(_) => C::ParentRetired,
            Self::ChildrenInUse { .. } => C::ChildrenInUse,
            Self::EmptyName(_) | Self::NameTooLong { .. } | Self::NotArabic(_) => C::BadLocationName,
            Self::BadKind(_) => C::BadLocationKind,
            Self::BadCoordinates(_) => C::BadCoordinates,
            Self::NothingChanged(_) => C::NothingChanged,
        }
    }
}

/// Trims a location's text and checks it: names present, the Arabic one in Arabic,
/// the class one DTM uses, and coordinates that are a place on Earth, both or neither.
fn check_location(mut l: Location) -> Result<Location, LocationError> {
    let max = crate::TextKind::Name.max_chars();
    l.name_en = l.name_en.trim().to_owned();
    l.name_ar = l.name_ar.trim().to_owned();
    for (what, name) in [("English", &l.name_en), ("Arabic", &l.name_ar)] {
        if name.is_empty() {
            return Err(LocationError::EmptyName(what));
        }
        if name.chars().count() > max {
            return Err(LocationError::NameTooLong { what, max });
        }
    }
    if !l.name_ar.chars().any(|c| ('\u{0621}'..='\u{064A}').contains(&c)) {
        return Err(LocationError::NotArabic(l.name_ar));
    }
    l.kind = match l.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) if k.eq_ignore_ascii_case("urban") => Some("Urban".to_owned()),
        Some(k) if k.eq_ignore_ascii_case("rural") => Some("Rural".to_owned()),
        Some(k) => return Err(LocationError::BadKind(k.to_owned())),
    };
    let lat = l.lat.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let lon = l.lon.as_deref().map(str::trim).filter(|s| !s.is_empty());
    (l.lat, l.lon) = match (lat, lon) {
        (None, None) => (None, None),
        (Some(lat), Some(lon)) => {
            let ok = |s: &str, limit: f64| s.parse::<f64>().is_ok_and(|x| x.is_finite() && x.abs() <= limit);
            if !ok(lat, 90.0) || !ok(lon, 180.0) {
                return Err(LocationError::BadCoordinates(format!("{lat}, {lon}")));
            }
            (Some(lat.to_owned()), Some(lon.to_owned()))
        }
        (lat, lon) => {
            return Err(LocationError::BadCoordinates(format!("{}, {}", lat.unwrap_or("?"), lon.unwrap_or("?"))))
        }
    };
    Ok(l)
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

    fn new_muhalla(pcode: &str) -> LocationInput {
        LocationInput {
            pcode: pcode.into(),
            name_en: " Souq al-Jumaa East ".into(),
            name_ar: "سوق الجمعة الشرقية".into(),
            kind: Some("rural".into()),
            lat: Some("32.88".into()),
            lon: Some("13.19".into()),
        }
    }

    #[test]
    fn a_muhalla_is_added_under_its_baladiya_with_its_text_cleaned() {
        let g = Gazetteer::libya();
        let added = g.plan_add(new_muhalla("LY02110499")).expect("a free P-code under a known baladiya");
        assert_eq!(added.name_en, "Souq al-Jumaa East", "names are trimmed");
        assert_eq!(added.kind.as_deref(), Some("Rural"), "the class is spelt as DTM spells it");
        let mut changed = g.clone();
        changed.apply(added);
        assert_eq!(changed.len(), g.len() + 1);
        let scope = Scope::new(["LY021104"]);
        assert!(changed.to_assess(&scope, 4).any(|l| l.pcode.as_str() == "LY02110499"), "offered for new work");
    }

    #[test]
    fn each_kind_of_bad_addition_is_refused_with_its_own_code() {
        let g = Gazetteer::libya();
        let with = |f: &dyn Fn(&mut LocationInput)| {
            let mut n = new_muhalla("LY02110499");
            f(&mut n);
            g.plan_add(n).unwrap_err().code()
        };
        use crate::ErrorCode as C;
        assert_eq!(with(&|n| n.pcode = "LY02110401".into()), C::LocationExists, "a P-code in use");
        assert_eq!(with(&|n| n.pcode = "LY99990001".into()), C::UnknownParent, "under no known baladiya");
        assert_eq!(with(&|n| n.pcode = "LY09".into()), C::UnknownParent, "a region has no parent to sit under");
        assert_eq!(with(&|n| n.pcode = "Tripoli".into()), C::UnknownPcode, "not a P-code");
        assert_eq!(with(&|n| n.name_en = "  ".into()), C::BadLocationName, "an empty name");
        assert_eq!(with(&|n| n.name_ar = "Souq".into()), C::BadLocationName, "an Arabic name in Latin letters");
        assert_eq!(with(&|n| n.name_en = "x".repeat(201)), C::BadLocationName, "a name past 200 characters");
        assert_eq!(with(&|n| n.kind = Some("suburban".into())), C::BadLocationKind);
        assert_eq!(with(&|n| n.lon = None), C::BadCoordinates, "a latitude without a longitude");
        assert_eq!(with(&|n| n.lat = Some("north".into())), C::BadCoordinates);
        assert_eq!(with(&|n| n.lon = Some("190".into())), C::BadCoordinates, "beyond the antimeridian");
    }

    #[test]
    fn retiring_waits_for_the_children_and_bringing_back_for_the_parent() {
        let mut g = Gazetteer::libya().clone();
        let retire = LocationChange { retired: Some(true), ..Default::default() };
        let restore = LocationChange { retired: Some(false), ..Default::default() };
        let err = g.plan_change("LY021104", retire.clone()).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::ChildrenInUse, "a baladiya whose muhallas are in use stays");
        for m in g.in_scope(&Scope::new(["LY021104"]), 4).map(|l| l.pcode.to_string()).collect::<Vec<_>>() {
            let l = g.plan_change(&m, retire.clone()).unwrap();
            g.apply(l);
        }
        let baladiya = g.plan_change("LY021104", retire.clone()).expect("once its muhallas are retired");
        g.apply(baladiya);
        assert_eq!(g.plan_change("LY02110401", restore).unwrap_err().code(), crate::ErrorCode::ParentRetired);
        assert_eq!(g.plan_add(new_muhalla("LY02110499")).unwrap_err().code(), crate::ErrorCode::ParentRetired);
        assert!(g.get("LY02110401").is_some_and(|l| l.retired), "a retired location is kept, for its past assessments");
        assert_eq!(g.to_assess(&Scope::new(["LY021104"]), 4).count(), 0, "and not offered for new ones");
    }

    #[test]
    fn a_rename_changes_only_what_it_names_and_a_change_to_nothing_is_refused() {
        let g = Gazetteer::libya();
        let rename = LocationChange { name_ar: Some("الظهرة".into()), ..Default::default() };
        let renamed = g.plan_change("LY02110401", rename).unwrap();
        assert_eq!((renamed.name_en.as_str(), renamed.name_ar.as_str()), ("Adhohra", "الظهرة"));
        assert_eq!(renamed.lat, g.get("LY02110401").unwrap().lat, "the point stays");
        let same = LocationChange { name_en: Some("Adhohra".into()), ..Default::default() };
        assert_eq!(g.plan_change("LY02110401", same).unwrap_err().code(), crate::ErrorCode::NothingChanged);
        let cleared = LocationChange { coordinates: Some(None), kind: Some(None), ..Default::default() };
        let l = g.plan_change("LY02110401", cleared).unwrap();
        assert_eq!((l.lat, l.lon, l.kind), (None, None, None));
        assert_eq!(
            g.plan_change("LY02119999", LocationChange::default()).unwrap_err().code(),
            crate::ErrorCode::UnknownPcode
        );
    }

    #[test]
    fn the_gazetteer_with_changes_applies_the_latest_state_of_each_location() {
        let g = Gazetteer::libya();
        let added = g.plan_add(new_muhalla("LY02110499")).unwrap();
        let mut renamed = added.clone();
        renamed.name_en = "Souq al-Jumaa (East)".into();
        let changed = g.clone().with_changes([added, renamed]);
        assert_eq!(changed.get("LY02110499").unwrap().name_en, "Souq al-Jumaa (East)");
        assert_eq!(changed.search("jumaa (east", Some(4), 5).len(), 1, "a new location is found by its name");
    }
}
