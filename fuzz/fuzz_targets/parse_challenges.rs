//! The parser never panics, its errors point inside the input, a successful parse survives a
//! round trip through its plainest serialization, the policy decides on anything, and the
//! parser agrees with http-auth's except for the intended differences.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reauth::policy::{decide, Facts, Header};

#[path = "../../tests/differential/compare.rs"]
mod compare;

fuzz_target!(|data: &[u8]| {
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
        }
        Err(e) => {
            assert!(e.pos <= input.len());
            assert!(decide(401, Header::Invalid(&e), Facts::default()).is_refresh());
        }
    }
    if let compare::Outcome::Mismatch(m) = compare::compare(input) {
        panic!("{m}");
    }
});
