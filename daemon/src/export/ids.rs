//! Record ids (`aibom.record.id`): unique per exported record, so a store can keep a
//! record once however often it is delivered (a spooled request replayed after a crash,
//! a retry after a timeout).
//!
//! A UUID version 8 (RFC 9562): the upper 64 bits random per daemon start, the lower a
//! sequence. Random ids per record would do as well for a store; a sequence shows the
//! order and gaps of one daemon's records, and costs no random numbers per record.
use uuid::Uuid;

use crate::model::RecordId;

/// Gives out the ids of one daemon's records.
#[derive(Debug)]
pub struct RecordIds {
    prefix: [u8; 8],
    next: u64,
}

impl RecordIds {
    /// Ids with a new random prefix.
    pub fn new() -> Self {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&Uuid::new_v4().as_bytes()[..8]);
        Self { prefix, next: 1 }
    }

    /// The next id.
    pub fn give(&mut self) -> RecordId {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.prefix);
        // the variant takes the top two bits of byte 8: 2^62 records per start
        b[8..].copy_from_slice(&self.next.to_be_bytes());
        self.next += 1;
        RecordId(Uuid::new_v8(b).as_u128())
    }
}

impl Default for RecordIds {
    fn default() -> Self {
        Self::new()
    }
}

/// `id` as UUID text (`8-4-4-4-12` lower-case hex).
pub fn text(id: RecordId) -> String {
    Uuid::from_u128(id.0).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_version_8_uuids_and_differ_between_starts() {
        let (mut a, mut b) = (RecordIds::new(), RecordIds::new());
        let ids: Vec<RecordId> = (0..1000).map(|_| a.give()).collect();
        let set: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        let u = Uuid::parse_str(&text(ids[0])).unwrap();
        assert_eq!(u.get_version_num(), 8);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        assert!(ids.iter().all(|id| id.is_set()));
        assert!(!set.contains(&b.give()), "another start, another prefix");
        // the sequence survives the variant bits
        assert_ne!(text(ids[0]), text(ids[1]));
        assert!(text(ids[999]).ends_with("3e8"), "{}", text(ids[999]));
    }
}
