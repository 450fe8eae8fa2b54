//! The parser never panics, its errors point inside the input, a successful parse survives a
//! round trip through its plainest serialization, the policy decides on anything, and the
//! parser agrees with http-auth's except for the intended differences, the encoding for the JS
//! shell keeps every value in one field, and the wasm build's UTF-8 check agrees with core's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reauth::policy::{decide, Facts, Header};

#[path = "../../tests/differential/compare.rs"]
mod compare;

fuzz_target!(|data: &[u8]| {
    // The wasm build's small UTF-8 check agrees with core's on any bytes.
    assert_eq!(reauth::wire::utf8(data), std::str::from_utf8(data).ok());
    let Ok(input) = std::str::from_utf8(data) else { return };
    match reauth::parse_challenges(input) {
        Ok(challenges) => {
            let mut text = String::new();
            for (i, c) in challenges.iter().enumerate() {
                if i > 0 {
                    text.push_str(", ");
                }
                text.push_str(c.scheme);
                if let Some(t) = c.token68 {
                    text.push(' ');
                    text.push_str(t);
                }
                for (j, p) in c.params.iter().enumerate() {
                    text.push_str(if j == 0 { " " } else { ", " });
                    text.push_str(p.name);
                    text.push_str("=\"");
                    text.push_str(&p.value.replace('\\', "\\\\").replace('"', "\\\""));
                    text.push('"');
                }
            }
            let again = reauth::parse_challenges(&text).expect("the plain form parses");
            assert_eq!(again, challenges, "round trip of {input:?} via {text:?}");
            let _ = decide(401, Header::Parsed(&challenges), Facts::default());
            // The shell's encoding: one field per value, separators never inside a value.
            let wire = reauth::wire::encode(input);
            let fields: usize = challenges.iter().map(|c| 2 + 2 * c.params.len()).sum();
            let separators = wire.matches(['\0', '\u{1}']).count();
            assert_eq!(separators + 1, fields.max(1), "encoding of {input:?}");
        }
        Err(e) => {
            assert!(e.pos <= input.len());
            assert!(decide(401, Header::Invalid(&e), Facts::default()).is_refresh());
            assert!(reauth::wire::encode(input).starts_with('\u{2}'));
        }
    }
    if let compare::Outcome::Mismatch(m) = compare::compare(input) {
        panic!("{m}");
    }
});
