//! Base64 (RFC 4648) in the two alphabets the project meets: the standard one of HTTP Basic
//! credentials (§4) and the URL-safe one of the opaque cursors (§5).
//!
//! Decoding is strict so that one text means one byte string: padding may be left out, as some
//! clients do, but a character outside the alphabet, misplaced padding, or bits left over in the
//! last character (a second spelling of the same bytes) are refused.

/// An alphabet: the 64 characters, in value order.
pub type Alphabet = [u8; 64];

/// `A-Z a-z 0-9 + /` (RFC 4648 §4).
pub const STANDARD: &Alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `A-Z a-z 0-9 - _` (RFC 4648 §5), safe in a URL without escaping.
pub const URL_SAFE: &Alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `bytes`, with `=` padding to a multiple of four characters when `pad`.
pub fn encode(bytes: &[u8], alphabet: &Alphabet, pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        if pad {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// Decodes `text`; `None` when it is not base64 of `alphabet` (see the module's rules).
pub fn decode(text: &str, alphabet: &Alphabet) -> Option<Vec<u8>> {
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    if padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in body.bytes() {
        let v = alphabet.iter().position(|a| *a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10.
    const VECTORS: [(&str, &str); 7] =
        [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")];

    #[test]
    fn encodes_and_decodes_the_rfc_vectors() {
        for (plain, encoded) in VECTORS {
            assert_eq!(encode(plain.as_bytes(), STANDARD, true), encoded);
            assert_eq!(encode(plain.as_bytes(), STANDARD, false), encoded.trim_end_matches('='));
            assert_eq!(decode(encoded, STANDARD).as_deref(), Some(plain.as_bytes()), "{encoded}");
            assert_eq!(decode(encoded.trim_end_matches('='), STANDARD).as_deref(), Some(plain.as_bytes()), "unpadded {encoded}");
        }
    }

    #[test]
    fn the_alphabets_differ_in_their_last_two_characters() {
        let bytes = [0xfb, 0xff, 0xbf];
        assert_eq!(encode(&bytes, STANDARD, false), "+/+/");
        assert_eq!(encode(&bytes, URL_SAFE, false), "-_-_");
        assert_eq!(decode("-_-_", URL_SAFE).unwrap(), bytes);
        assert_eq!(decode("-_-_", STANDARD), None);
        assert_eq!(decode("+/+/", URL_SAFE), None);
    }

    #[test]
    fn refuses_what_is_not_base64() {
        for bad in ["Zg=", "Z===", "Zm9v!", "Zm 9v", "Z", "Zh==", "Zm9=", "=", "Zm9vYmFy===="] {
            assert_eq!(decode(bad, STANDARD), None, "{bad}");
        }
    }

    #[test]
    fn every_byte_string_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        for len in 0..bytes.len() {
            for (alphabet, pad) in [(STANDARD, true), (URL_SAFE, false)] {
                assert_eq!(decode(&encode(&bytes[..len], alphabet, pad), alphabet).as_deref(), Some(&bytes[..len]));
            }
        }
    }
}
