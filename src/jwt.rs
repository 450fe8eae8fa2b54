//! Reading a JWT's `exp` and `iat` claims, without verifying anything: only to know when a token
//! expires, so it can be refreshed before it does. (The server still decides what it accepts.)

use crate::session::Expiry;

/// The expiry a token carries: its JWT claims, or [`Expiry::Never`] when it is no JWT with a
/// numeric `exp` (an opaque token).
pub fn expiry_of(token: &str) -> Expiry {
    match expiry(token) {
        Some((exp, iat)) => Expiry::Claims { exp, iat },
        None => Expiry::Never,
    }
}

/// The `exp` and `iat` claims (seconds since the epoch) of a JWT, when the token is a
/// three-part JWS whose payload is a JSON object with a numeric `exp`.
pub fn expiry(token: &str) -> Option<(u64, Option<u64>)> {
    // header.payload.signature: exactly two dots. (Byte positions and `get`, not `split`,
    // keep the slicing panic paths out of the wasm build.)
    let bytes = token.as_bytes();
    let first = bytes.iter().position(|&b| b == b'.')?;
    let after = bytes.get(first + 1..)?;
    let second = after.iter().position(|&b| b == b'.')?;
    if after.get(second + 1..)?.contains(&b'.') {
        return None;
    }
    let json = base64url_decode(after.get(..second)?)?;
    let exp = number_claim(&json, b"exp")?;
    Some((exp, number_claim(&json, b"iat")))
}

fn base64url_decode(s: &[u8]) -> Option<alloc::vec::Vec<u8>> {
    let mut out = alloc::vec::Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in s {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// The value of a top-level numeric claim `"name": 123` in a JSON object. Good enough for the
/// payloads token servers write; nested objects with the same key are skipped by tracking depth
/// and strings.
fn number_claim(json: &[u8], name: &[u8]) -> Option<u64> {
    let (mut depth, mut i) = (0usize, 0usize);
    while i < json.len() {
        match json[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < json.len() && json[j] != b'"' {
                    j += if json[j] == b'\\' { 2 } else { 1 };
                }
                let key = json.get(start..j)?;
                i = j;
                if depth == 1 && key == name {
                    let mut k = j + 1;
                    while json.get(k).is_some_and(|c| c.is_ascii_whitespace()) {
                        k += 1;
                    }
                    if json.get(k) != Some(&b':') {
                        continue;
                    }
                    k += 1;
                    while json.get(k).is_some_and(|c| c.is_ascii_whitespace()) {
                        k += 1;
                    }
                    let digits = json
                        .get(k..)?
                        .iter()
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    if digits == 0 || digits > 15 {
                        return None;
                    }
                    let mut n = 0u64;
                    for &d in json.get(k..k + digits)? {
                        n = n * 10 + u64::from(d - b'0');
                    }
                    return Some(n);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}
