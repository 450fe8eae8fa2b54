//! The wire between the pure core and the JS shell: numbers and strings only.
//!
//! A request's [`Ticket`] travels through JS as one number ([`pack`]); the session's other
//! answers are small negative codes; parsed challenges travel as one string ([`encode`]). All
//! of it is pure and tested natively; `src/wasm` only exports it.

use alloc::string::String;

use crate::challenge::{Challenge, ParseError};
use crate::session::{Expiry, FlightId, Outcome, Ticket, Unauthorized};

/// Answer: start the refresh (its id is [`crate::session::Session::flight`]), then wait for
/// it.
pub const REFRESH: f64 = -1.0;
/// Answer: wait for the running refresh (the session's [`crate::session::Session::flight`]).
pub const WAIT: f64 = -2.0;
/// Answer: hand the 401 back, and tell the app that the retry was refused too.
pub const HAND_BACK_REPORT: f64 = -3.0;
/// Answer: hand the 401 back.
pub const HAND_BACK: f64 = -4.0;

/// Generations and epochs are packed in 26 bits each (and saturate there: 67 million token
/// sets or refreshes in one page's life).
const FIELD: u64 = (1 << 26) - 1;

/// A ticket as one number, exact in an f64: `(generation << 27) | (epoch << 1) | spent`.
pub fn pack(t: Ticket) -> f64 {
    let (generation, epoch, spent) = t.to_parts();
    ((generation.min(FIELD) << 27) | (epoch.min(FIELD) << 1) | spent as u64) as f64
}

/// The ticket [`pack`] made (anything else gives some ticket, never a panic).
pub fn unpack(x: f64) -> Ticket {
    let bits = x as u64;
    Ticket::from_parts(bits >> 27, (bits >> 1) & FIELD, bits & 1 == 1)
}

/// A refresh's id as a number, 0 for none.
pub fn flight_number(id: Option<FlightId>) -> f64 {
    id.map_or(0.0, |f| f.get() as f64)
}

/// How a refresh ended, from the shell's boolean (true: it gave tokens).
pub fn outcome(ok: bool) -> Outcome {
    if ok {
        Outcome::Succeeded
    } else {
        Outcome::Failed
    }
}

/// An [`Unauthorized`] answer as a number: a ticket (retry now), [`REFRESH`], [`WAIT`],
/// [`HAND_BACK_REPORT`] or [`HAND_BACK`].
pub fn unauthorized_code(u: Unauthorized) -> f64 {
    match u {
        Unauthorized::RetryNow(t) => pack(t),
        Unauthorized::Refresh(_) => REFRESH,
        Unauthorized::Wait(_) => WAIT,
        Unauthorized::HandBack {
            report_retry_failure: true,
        } => HAND_BACK_REPORT,
        Unauthorized::HandBack { .. } => HAND_BACK,
    }
}

/// An expiry from the shell's four numbers (each negative when not given): `in_ms` from now,
/// else at `at_ms`, else from a JWT's `exp_s` and `iat_s` claims (seconds), else never. (The
/// shell reads JWT claims itself, so the wasm build needs no JSON reader.)
pub fn expiry(in_ms: f64, at_ms: f64, exp_s: f64, iat_s: f64) -> Expiry {
    if in_ms >= 0.0 {
        Expiry::In(in_ms as u64)
    } else if at_ms >= 0.0 {
        Expiry::At(at_ms as u64)
    } else if exp_s >= 0.0 {
        Expiry::Claims {
            exp: exp_s as u64,
            iat: (iat_s >= 0.0).then_some(iat_s as u64),
        }
    } else {
        Expiry::Never
    }
}

/// Separates the challenges in [`encode`]'s output.
pub const CHALLENGE_SEP: char = '\u{1}';
/// Separates the fields of a challenge in [`encode`]'s output.
pub const FIELD_SEP: char = '\0';
/// Starts [`encode`]'s output when the header does not parse.
pub const ERROR_MARK: char = '\u{2}';

/// Parses a `WWW-Authenticate` value into one string the shell splits: challenges separated
/// by U+0001, each `scheme NUL token68 (NUL name NUL value)*` (token68 empty when absent,
/// names lower-cased, values unescaped). No parsed value can hold these control characters
/// (RFC 9110 allows none in tokens or quoted-strings). A header that does not parse gives
/// U+0002 followed by the error: `<what> at byte <n>`.
pub fn encode(header: &str) -> String {
    match crate::challenge::parse_challenges(header) {
        Ok(c) => encode_challenges(&c),
        Err(e) => error_text(&e),
    }
}

/// Parsed challenges as [`encode`] writes them.
pub fn encode_challenges(challenges: &[Challenge<'_>]) -> String {
    let mut out = String::new();
    for (i, c) in challenges.iter().enumerate() {
        if i > 0 {
            out.push(CHALLENGE_SEP);
        }
        out.push_str(c.scheme);
        out.push(FIELD_SEP);
        out.push_str(c.token68.unwrap_or(""));
        for p in &c.params {
            out.push(FIELD_SEP);
            // A name is a token: ASCII only.
            out.extend(p.name.bytes().map(|b| char::from(b.to_ascii_lowercase())));
            out.push(FIELD_SEP);
            out.push_str(&p.value);
        }
    }
    out
}

/// A parse error as [`encode`] writes it.
pub fn error_text(e: &ParseError) -> String {
    let mut msg = String::new();
    msg.push(ERROR_MARK);
    msg.push_str(e.kind.as_str());
    msg.push_str(" at byte ");
    push_decimal(&mut msg, e.pos);
    msg
}

/// Appends `n` in decimal, without the formatting machinery, indexing or a division by a
/// variable (each brings panic and formatting code into the wasm build).
fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// `bytes` as text when they are UTF-8: the same answer as `core::str::from_utf8`, in a small
/// fraction of its wasm code (the strings the shell passes are short).
pub fn utf8(bytes: &[u8]) -> Option<&str> {
    let mut i = 0;
    while let Some(&lead) = bytes.get(i) {
        // The sequence length, and the smallest code point it may encode (no overlong forms).
        let (len, min, mut cp) = match lead {
            0x00..=0x7f => (1, 0, u32::from(lead)),
            0xc2..=0xdf => (2, 0x80, u32::from(lead & 0x1f)),
            0xe0..=0xef => (3, 0x800, u32::from(lead & 0x0f)),
            0xf0..=0xf4 => (4, 0x1_0000, u32::from(lead & 0x07)),
            _ => return None,
        };
        for k in 1..len {
            match bytes.get(i + k) {
                Some(&c) if c & 0xc0 == 0x80 => cp = (cp << 6) | u32::from(c & 0x3f),
                _ => return None,
            }
        }
        if cp < min || (0xd800..=0xdfff).contains(&cp) || cp > 0x10_ffff {
            return None;
        }
        i += len;
    }
    // SAFETY: every sequence above is a shortest-form encoding of a scalar value, which is
    // exactly what UTF-8 is (RFC 3629 §3); tests/wire.rs checks this against core::str.
    Some(unsafe { core::str::from_utf8_unchecked(bytes) })
}
