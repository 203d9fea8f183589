//! CRM ids: `<prefix>_<10 chars of time><16 chars of randomness>`, in lower-case Crockford base32.
//!
//! The time part (milliseconds, 50 bits) makes ids sort by creation time, which keeps B-tree
//! inserts at the end of the index; the 80 random bits make them unguessable, so knowing one
//! record's id tells nothing about its neighbours'. The randomness is passed in so this stays pure.

use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const TIME_CHARS: usize = 10;
const RANDOM_CHARS: usize = 16;
/// Random bytes an id needs (80 bits).
pub const RANDOM_BYTES: usize = 10;

/// The kinds of thing that have a CRM id, each with its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Contact,
    Company,
    Task,
    Activity,
    User,
    Request,
    /// A merge (`POST /{kind}/merge`), named so it can be undone.
    Merge,
    /// A file uploaded on the import page; also the request id its writes carry in history.
    Import,
}

impl IdKind {
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Contact => "ct",
            IdKind::Company => "co",
            IdKind::Task => "tk",
            IdKind::Activity => "ac",
            IdKind::User => "us",
            IdKind::Request => "req",
            IdKind::Merge => "mg",
            IdKind::Import => "imp",
        }
    }
}

/// A freshly minted id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CrmId(String);

impl CrmId {
    pub fn new(kind: IdKind, now_millis: i64, random: [u8; RANDOM_BYTES]) -> CrmId {
        let mut s = String::with_capacity(kind.prefix().len() + 1 + TIME_CHARS + RANDOM_CHARS);
        s.push_str(kind.prefix());
        s.push('_');
        let t = now_millis.max(0) as u64;
        for i in (0..TIME_CHARS).rev() {
            s.push(ALPHABET[((t >> (i * 5)) & 31) as usize] as char);
        }
        // 80 bits = 16 groups of 5 bits, read from the bytes as one big-endian number.
        let mut acc: u128 = 0;
        for b in random {
            acc = (acc << 8) | u128::from(b);
        }
        for i in (0..RANDOM_CHARS).rev() {
            s.push(ALPHABET[((acc >> (i * 5)) & 31) as usize] as char);
        }
        CrmId(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for CrmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `text` has the form of an id of `kind`. Used to answer `404` for malformed ids without
/// touching the database.
pub fn looks_like(kind: IdKind, text: &str) -> bool {
    let Some(rest) = text.strip_prefix(kind.prefix()).and_then(|r| r.strip_prefix('_')) else {
        return false;
    };
    rest.len() == TIME_CHARS + RANDOM_CHARS && rest.bytes().all(|c| ALPHABET.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_prefix_and_fixed_length() {
        let id = CrmId::new(IdKind::Company, 1_705_746_600_000, [7; RANDOM_BYTES]);
        assert!(id.as_str().starts_with("co_"));
        assert_eq!(id.as_str().len(), 3 + 26);
        assert!(looks_like(IdKind::Company, id.as_str()));
        assert!(!looks_like(IdKind::Contact, id.as_str()));
    }

    #[test]
    fn sorts_by_time_whatever_the_randomness() {
        let a = CrmId::new(IdKind::Contact, 1_000, [255; RANDOM_BYTES]);
        let b = CrmId::new(IdKind::Contact, 1_001, [0; RANDOM_BYTES]);
        assert!(a < b);
        let later = CrmId::new(IdKind::Contact, 4_102_444_800_000, [0; RANDOM_BYTES]); // 2100
        assert!(b < later);
    }

    #[test]
    fn every_random_bit_reaches_the_id() {
        let base = CrmId::new(IdKind::Task, 5, [0; RANDOM_BYTES]);
        let mut seen = std::collections::HashSet::new();
        for byte in 0..RANDOM_BYTES {
            for bit in 0..8 {
                let mut r = [0; RANDOM_BYTES];
                r[byte] = 1 << bit;
                let id = CrmId::new(IdKind::Task, 5, r);
                assert_ne!(id, base);
                assert!(seen.insert(id));
            }
        }
    }

    #[test]
    fn refuses_malformed_ids() {
        for bad in ["", "co_", "co_0123", "co-0123456789abcdefghjkmnpqrs", "co_0123456789abcdefghjkmnpqrI", "co_0123456789abcdefghjkmnpqrs1"] {
            assert!(!looks_like(IdKind::Company, bad), "{bad}");
        }
        assert!(looks_like(IdKind::Company, "co_0123456789abcdefghjkmnpqrs"));
    }
}
