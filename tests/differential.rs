//! Differential check against `http-auth`'s parser on generated headers: the two agree except
//! for the intended differences named in `differential/compare.rs`.
#![cfg(not(target_arch = "wasm32"))]

#[path = "differential/compare.rs"]
mod compare;

use compare::{compare, Outcome};
use std::collections::BTreeMap;

/// Pieces of header syntax, valid and not, that the generator strings together.
const PIECES: &[&str] = &[
    "Basic",
    "Bearer",
    "Digest",
    "Newauth",
    "x",
    "realm",
    "error",
    " ",
    " ",
    "  ",
    "\t",
    ",",
    ", ",
    ",,",
    "=",
    " = ",
    "\"",
    "\"a b\"",
    "\"a,b\"",
    "\"\\\"\"",
    "\"\\\\\"",
    "\"\"",
    "tok",
    "1",
    "abc==",
    "a/b",
    "@",
    "é",
    "\"é\"",
    "\\",
    "realm=\"r\"",
    "error=invalid_token",
    "scope=\"a b\"",
    ";",
    "\r\n",
    "Bearer ",
    ", realm=\"r\"",
    " realm=\"é\"",
    ", Basic realm=r",
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, no dependency.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn agrees_with_http_auth_except_intended_differences() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut intended: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut same = 0usize;
    let mut mismatches = Vec::new();
    for _ in 0..60_000 {
        let mut input = String::new();
        for _ in 0..1 + rng.below(10) {
            input.push_str(PIECES[rng.below(PIECES.len())]);
        }
        match compare(&input) {
            Outcome::Same => same += 1,
            Outcome::Intended(why) => *intended.entry(why).or_default() += 1,
            Outcome::Mismatch(m) => mismatches.push(m),
        }
    }
    mismatches.truncate(20);
    assert!(
        mismatches.is_empty(),
        "mismatches:\n{}",
        mismatches.join("\n")
    );
    // The generator reaches both agreement and each intended difference.
    assert!(same > 20_000, "same: {same}");
    assert_eq!(intended.len(), 7, "intended differences seen: {intended:?}");
}

#[test]
fn hand_picked_agreements() {
    for input in [
        "Basic realm=\"foo\"",
        "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
        "Basic realm=foobar@baz.com",
        "Basic realm=\"unterminated",
        "Basic, realm=x",
    ] {
        assert_eq!(compare(input), Outcome::Same, "{input:?}");
    }
}
