//! Which rules of a rule set an observation breaks (no side effects).
use std::borrow::Cow;

use aibom_semconv::record;

use super::file::RuleSet;
use crate::export::{visit_attributes, Value};
use crate::model::{AccessRecord, RecordKind};

/// The attributes the rules of a set read, for one pass over a record's attributes.
#[derive(Debug, Clone, Default)]
pub struct Keys(Vec<&'static str>);

impl Keys {
    /// The keys `set` reads.
    pub fn of(set: &RuleSet) -> Self {
        let mut k: Vec<_> = set.rules.iter().flat_map(|r| r.keys()).collect();
        k.sort_unstable();
        k.dedup();
        Self(k)
    }

    /// The values of those attributes in `rec`, as text (numbers in decimal).
    fn values(&self, rec: &AccessRecord) -> Vec<(&'static str, String)> {
        let mut v = Vec::with_capacity(self.0.len());
        if self.0.contains(&record::EVENT_NAME) {
            v.push((record::EVENT_NAME, rec.event_name().to_string()));
        }
        visit_attributes(rec, |k, val| {
            if self.0.contains(&k) {
                v.push((k, text(val)));
            }
        });
        v
    }
}

fn text(v: Value<'_>) -> String {
    match v {
        Value::Str(s) => s.into_owned(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

/// Indexes of the rules of `set` that `rec` breaks and that can be decided on it: a rule
/// reading `aibom.artifact.sha256` or `aibom.artifact.unsafe*` once the hash (and the
/// scan run with it) is known (or failed), the others on
/// access and API call records.
pub fn violated(set: &RuleSet, keys: &Keys, rec: &AccessRecord) -> Vec<usize> {
    if set.rules.is_empty() || rec.kind == RecordKind::Violation {
        return Vec::new();
    }
    let values = keys.values(rec);
    let get = |k: &str| -> Option<Cow<'_, str>> {
        values
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| Cow::Borrowed(v.as_str()))
    };
    let hash_known = rec
        .artifact
        .as_ref()
        .is_some_and(|a| a.sha256.is_some() || a.sha256_error.is_some());
    set.rules
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            if r.reads_content() {
                hash_known
            } else {
                matches!(rec.kind, RecordKind::Access | RecordKind::ApiCall)
            }
        })
        .filter(|(_, r)| r.violated_by(get))
        .map(|(i, _)| i)
        .collect()
}
