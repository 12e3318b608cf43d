//! The per-field three-way merge of a pushed value against HQ's current version.
//!
//! A pure function: it takes the field's current version at HQ (if any) and the
//! incoming write with the base version its device last saw, and decides. It never
//! drops the incoming value: a conflict is reported so that the caller keeps both.

use crate::form::FieldValue;
use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};

/// A field's current state at HQ. Version 0 means it was never written: creating
/// the same assessment on two devices is an update against version 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldVersion {
    pub value: FieldValue,
    pub version: u64,
    pub author: String,
    pub device: String,
    pub hlc: Hlc,
}

/// A pushed value for one field. Who and where are borrowed: one operation carries
/// many fields from the same author and device.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingWrite<'a> {
    pub value: FieldValue,
    /// The field version the device last saw from HQ when it made this write.
    pub base_version: u64,
    pub author: &'a str,
    pub device: &'a str,
    pub hlc: Hlc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeOutcome {
    /// Write the incoming value as the next version.
    Apply,
    /// HQ already holds this value; nothing to write, nothing to flag.
    Unchanged,
    /// The same device already wrote a newer value of this field (a later stamp in its
    /// own chain): nothing is written, and the device must be told so, not that its
    /// value was applied. A store restored from a backup or a clock set back does this.
    Superseded,
    /// Another device changed the field since the base: keep the current value and
    /// record a conflict holding the base, current and incoming values.
    Conflict,
    /// The write claims to have seen a version of the field HQ never gave out. No
    /// honest device can: refuse the operation rather than let a made-up base skip
    /// conflict detection.
    BaseAhead,
}

/// Decides how one pushed field value meets HQ's current version of that field.
pub fn merge_field(current: Option<&FieldVersion>, incoming: &IncomingWrite<'_>) -> MergeOutcome {
    let current_version = current.map_or(0, |c| c.version);
    if incoming.base_version > current_version {
        return MergeOutcome::BaseAhead;
    }
    let Some(current) = current else {
        return MergeOutcome::Apply;
    };
    if current.value == incoming.value {
        MergeOutcome::Unchanged
    } else if current.version <= incoming.base_version {
        MergeOutcome::Apply
    } else if current.device == incoming.device {
        // The same device wrote the newer version in its own offline chain: its later
        // edit wins, whatever order the operations arrive in.
        if incoming.hlc > current.hlc {
            MergeOutcome::Apply
        } else {
            MergeOutcome::Superseded
        }
    } else {
        MergeOutcome::Conflict
    }
}

/// The first field (in name order) whose base version is beyond the version HQ holds,
/// with both versions: an operation claiming it is refused whole, before any of its
/// fields is merged (see [`MergeOutcome::BaseAhead`]).
pub fn base_ahead(
    bases: &std::collections::BTreeMap<String, u64>,
    current_version: impl Fn(&str) -> u64,
) -> Option<(&str, u64, u64)> {
    bases.iter().find_map(|(field, base)| {
        let current = current_version(field);
        (*base > current).then_some((field.as_str(), *base, current))
    })
}

/// What one pushed edit amounts to, from the merges of its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EditOutcome {
    /// At least one field was written, or HQ already held every value sent.
    Applied,
    /// At least one field became a conflict; a person settles it.
    Conflict,
    /// Nothing was written because the same device had already written a newer value
    /// of every field that differed: acknowledging it as applied would tell the device
    /// that values HQ does not hold are safe there.
    Superseded,
}

/// Decides the outcome of one edit from its fields' merges. A conflict outranks
/// everything (it needs a person); a write outranks a superseded field (the edit did
/// change HQ, and the fields it could not write are named beside the answer).
pub fn edit_outcome(merges: impl IntoIterator<Item = MergeOutcome>) -> EditOutcome {
    let (mut applied, mut superseded) = (false, false);
    for m in merges {
        match m {
            MergeOutcome::Conflict => return EditOutcome::Conflict,
            MergeOutcome::Apply => applied = true,
            MergeOutcome::Superseded => superseded = true,
            // An edit with a base beyond HQ's version is refused before its fields
            // are merged (`base_ahead`), so it never reaches an outcome here.
            MergeOutcome::Unchanged | MergeOutcome::BaseAhead => {}
        }
    }
    if superseded && !applied {
        EditOutcome::Superseded
    } else {
        EditOutcome::Applied
    }
}

/// A supervisor's settlement of a conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    KeepCurrent,
    TakeIncoming,
    Enter(FieldValue),
}

/// The value a settled conflict leaves in the field. It is written as a new version,
/// so every device sees it on its next pull and none flips back.
pub fn settle(current: &FieldValue, incoming: &FieldValue, settlement: Settlement) -> FieldValue {
    match settlement {
        Settlement::KeepCurrent => current.clone(),
        Settlement::TakeIncoming => incoming.clone(),
        Settlement::Enter(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn current(value: i64, version: u64, device: &str) -> FieldVersion {
        FieldVersion {
            value: json!(value),
            version,
            author: "someone".into(),
            device: device.into(),
            hlc: Hlc { millis: 10, counter: 0 },
        }
    }

    fn incoming(value: i64, base_version: u64, device: &str) -> IncomingWrite<'_> {
        IncomingWrite {
            value: json!(value),
            base_version,
            author: "enumerator",
            device,
            hlc: Hlc { millis: 20, counter: 0 },
        }
    }

    #[test]
    fn a_field_never_written_takes_the_incoming_value() {
        assert_eq!(merge_field(None, &incoming(5, 0, "a")), MergeOutcome::Apply);
    }

    #[test]
    fn a_field_unchanged_since_the_base_takes_the_incoming_value() {
        assert_eq!(merge_field(Some(&current(5, 3, "b")), &incoming(7, 3, "a")), MergeOutcome::Apply);
    }

    #[test]
    fn the_same_value_from_two_devices_is_not_a_conflict() {
        assert_eq!(merge_field(Some(&current(7, 4, "b")), &incoming(7, 3, "a")), MergeOutcome::Unchanged);
    }

    #[test]
    fn a_device_overwriting_its_own_newer_version_is_not_a_conflict() {
        // Device a wrote version 4 earlier in its offline chain, still on base 3.
        assert_eq!(merge_field(Some(&current(6, 4, "a")), &incoming(7, 3, "a")), MergeOutcome::Apply);
    }

    #[test]
    fn an_older_edit_from_the_same_device_arriving_late_does_not_overwrite_its_newer_one() {
        // Regression: operations from one device pushed out of order let the last to
        // arrive win. The device's own later stamp decides.
        let mut newer = current(9, 4, "a");
        newer.hlc = Hlc { millis: 50, counter: 0 };
        let mut older = incoming(1, 3, "a");
        older.hlc = Hlc { millis: 40, counter: 0 };
        assert_eq!(merge_field(Some(&newer), &older), MergeOutcome::Superseded);
    }

    #[test]
    fn an_edit_whose_every_differing_field_is_superseded_is_not_applied() {
        use MergeOutcome::*;
        assert_eq!(
            edit_outcome([Superseded, Unchanged]),
            EditOutcome::Superseded,
            "regression: an older edit from the same device was answered applied although nothing was written"
        );
        assert_eq!(edit_outcome([Superseded, Apply]), EditOutcome::Applied, "one field written is a change at HQ");
        assert_eq!(edit_outcome([Apply, Superseded, Conflict]), EditOutcome::Conflict, "a conflict needs a person");
        assert_eq!(
            edit_outcome([Unchanged, Unchanged]),
            EditOutcome::Applied,
            "HQ already holding every value sent is what the device asked for"
        );
    }

    #[test]
    fn second_device_edit_of_same_field_becomes_a_conflict() {
        assert_eq!(merge_field(Some(&current(6, 4, "b")), &incoming(7, 3, "a")), MergeOutcome::Conflict);
    }

    #[test]
    fn create_against_create_is_an_update_against_version_zero() {
        assert_eq!(merge_field(Some(&current(6, 1, "b")), &incoming(7, 0, "a")), MergeOutcome::Conflict);
    }

    #[test]
    fn a_made_up_base_beyond_hqs_version_is_refused_not_applied() {
        // Regression: `"bases":{"idp_hh":999}` over another device's version 4 was
        // applied, skipping conflict detection.
        assert_eq!(merge_field(Some(&current(6, 4, "b")), &incoming(7, 999, "a")), MergeOutcome::BaseAhead);
        assert_eq!(merge_field(None, &incoming(7, 1, "a")), MergeOutcome::BaseAhead, "no version was ever given out");
        assert_eq!(merge_field(Some(&current(6, 4, "b")), &incoming(7, 4, "a")), MergeOutcome::Apply);
    }

    #[test]
    fn a_settlement_picks_either_side_or_a_third_value() {
        let (cur, inc) = (json!(55), json!(70));
        assert_eq!(settle(&cur, &inc, Settlement::KeepCurrent), json!(55));
        assert_eq!(settle(&cur, &inc, Settlement::TakeIncoming), json!(70));
        assert_eq!(settle(&cur, &inc, Settlement::Enter(json!(62))), json!(62));
    }

    proptest! {
        #[test]
        fn merge_is_deterministic(cv in 0i64..5, cver in 0u64..5, iv in 0i64..5, base in 0u64..5, same in any::<bool>()) {
            let cur = current(cv, cver, "b");
            let inc = incoming(iv, base, if same { "b" } else { "a" });
            prop_assert_eq!(merge_field(Some(&cur), &inc), merge_field(Some(&cur.clone()), &inc.clone()));
        }

        #[test]
        fn a_conflict_only_arises_when_values_differ_and_another_device_moved_past_the_base(
            cv in 0i64..5, cver in 0u64..5, iv in 0i64..5, base in 0u64..5, same in any::<bool>()) {
            let cur = current(cv, cver, "b");
            let inc = incoming(iv, base, if same { "b" } else { "a" });
            let conflict = merge_field(Some(&cur), &inc) == MergeOutcome::Conflict;
            prop_assert_eq!(conflict, cv != iv && cver > base && !same);
        }
    }
}
