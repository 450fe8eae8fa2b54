//! `parseChallenges(header)`: the parser, exposed to JS.

use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Array, Error, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::challenge::{Challenge, ChallengeParser, ParseError};

/// Parses a `WWW-Authenticate` header value (RFC 9110 §11) into its challenges.
///
/// Throws an `Error` named `ChallengeParseError` whose message gives the byte offset where the
/// header stops matching the grammar.
/// (Its TypeScript type, `Challenge[]`, is declared in `pkg/index.d.ts`.)
#[wasm_bindgen(js_name = parseChallenges)]
pub fn parse_challenges(header: &str) -> Result<Array, JsValue> {
    let challenges: Vec<Challenge<'_>> = ChallengeParser::new(header)
        .collect::<Result<_, _>>()
        .map_err(parse_error)?;
    Ok(challenges_to_js(&challenges))
}

/// Challenges as the JS `Challenge[]` shape: names lower-cased, values unescaped.
pub(crate) fn challenges_to_js(challenges: &[Challenge<'_>]) -> Array {
    let out = Array::new();
    for challenge in challenges {
        let params = Array::new();
        for p in &challenge.params {
            let name = p.name.to_ascii_lowercase();
            params.push(&Array::of2(
                &JsValue::from_str(&name),
                &JsValue::from_str(&p.value),
            ));
        }
        let obj = Object::new();
        set(&obj, "scheme", &JsValue::from_str(challenge.scheme));
        set(
            &obj,
            "token68",
            &challenge.token68.map_or(JsValue::NULL, JsValue::from_str),
        );
        set(&obj, "params", &params);
        out.push(&obj);
    }
    out
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    // Defining a data property on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A JS `Error` named `ChallengeParseError`: "<what> at byte <n>".
pub(crate) fn parse_error(e: ParseError) -> JsValue {
    let mut msg = String::from(e.kind.as_str());
    msg.push_str(" at byte ");
    push_decimal(&mut msg, e.pos);
    let err = Error::new(&msg);
    err.set_name("ChallengeParseError");
    err.into()
}

/// Appends `n` in decimal without the formatting machinery (it is large in wasm).
pub(crate) fn push_decimal(out: &mut String, mut n: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}
