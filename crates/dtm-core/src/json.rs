//! Reading JSON objects into maps in one go. Serde reads an object into a `BTreeMap`
//! by inserting its entries one by one, each insert a search of the map by string
//! comparison; field names sharing long prefixes made that a quarter of the time HQ
//! spent answering a pull. [`Entries`] reads the entries into a list, and
//! [`Entries::into_map`] builds the map from it at once.

use std::collections::BTreeMap;

/// A JSON object's entries, in the order written (a key written twice appears twice).
/// [`Entries::into_map`] keeps a repeated key's last value, as reading into a map does.
#[derive(Debug, Clone, PartialEq)]
pub struct Entries<V>(pub Vec<(String, V)>);

impl<V> Entries<V> {
    pub fn into_map(self) -> BTreeMap<String, V> {
        let mut entries = self.0;
        // Stable: of a repeated key, the last written stays last.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut entries = entries.into_iter().peekable();
        let mut sorted = Vec::new();
        while let Some((k, v)) = entries.next() {
            if entries.peek().is_some_and(|(next, _)| *next == k) {
                continue;
            }
            sorted.push((k, v));
        }
        // Collecting (unlike inserting) builds the map from the sorted list at once.
        sorted.into_iter().collect()
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for Entries<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}
