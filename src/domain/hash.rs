//! FNV-1a, 64 bits: a hash that is stable across builds and platforms (unlike `DefaultHasher`), for
//! fingerprints that are stored and compared later. Not a defence against a chosen collision.

/// The standard offset basis.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a of `parts`, one after the other, from `seed` (usually [`FNV_OFFSET`]).
pub fn fnv1a(seed: u64, parts: &[&[u8]]) -> u64 {
    parts.iter().flat_map(|p| p.iter()).fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_parts_read_as_one() {
        assert_eq!(fnv1a(FNV_OFFSET, &[]), FNV_OFFSET);
        assert_eq!(fnv1a(FNV_OFFSET, &[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, &[b"foo", b"bar"]), fnv1a(FNV_OFFSET, &[b"foobar"]));
    }
}
