//! Tests of the exports the JS shell calls, run as wasm (wasm-bindgen-test, in Node and in
//! headless Chromium): the same answers as the native core, through the plain wasm ABI with
//! strings in the shared buffer.

use reauth::wasm::*;
use reauth::wire::{pack, unpack, HAND_BACK, HAND_BACK_REPORT, REFRESH, WAIT};
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: f64 = 1_000_000.0;
const SKEW: f64 = 30_000.0;

/// Writes `s` into the buffer at byte `at`, as the shell does; returns its length.
fn put(s: &str, at: usize) -> usize {
    let area = reauth_buf(at + s.len());
    // SAFETY: `reauth_buf` made room for `at + s.len()` bytes.
    unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), area.add(at), s.len()) };
    s.len()
}

/// Reads the string of `len` bytes an export wrote into the buffer.
fn take(len: i32) -> Option<String> {
    let len = usize::try_from(len).ok()?;
    let area = reauth_buf(0);
    // SAFETY: the export wrote `len` bytes there.
    let bytes = unsafe { core::slice::from_raw_parts(area, len) };
    Some(String::from_utf8(bytes.to_vec()).unwrap())
}

fn parse(header: &str) -> String {
    take(reauth_inspect(0, put(header, 0) as i32) >> 1).unwrap()
}

/// Whether the policy refreshes for `status` and `header` (none: no header).
fn decide(status: u32, header: Option<&str>) -> bool {
    let len = header.map_or(-1, |h| put(h, 0) as i32);
    let answer = reauth_inspect(status, len);
    assert!(answer >= 0);
    answer & 1 == 1
}

#[wasm_bindgen_test]
fn parse_gives_the_encoded_challenges() {
    assert_eq!(
        parse("Bearer realm=\"a \\\"b\\\"\", ERROR=invalid_token, Negotiate abc=="),
        "Bearer\0\0realm\0a \"b\"\0error\0invalid_token\u{1}Negotiate\0abc=="
    );
    assert_eq!(parse(""), "");
    assert_eq!(
        parse("Basic realm=a@b"),
        "\u{2}expected ',' or the end of the header at byte 13"
    );
}

#[wasm_bindgen_test]
fn decide_follows_the_policy() {
    assert!(decide(401, None));
    assert!(decide(401, Some("Bearer error=\"invalid_token\"")));
    assert!(!decide(401, Some("Bearer error=\"insufficient_scope\"")));
    assert!(!decide(401, Some("Basic realm=x")));
    assert!(
        decide(401, Some("Basic realm=a@b")),
        "off the grammar: refresh"
    );
    assert!(!decide(403, None));
    assert!(!decide(70_000 + 401, None), "no status wraps around to 401");
    // The challenges come back with the decision.
    let n = reauth_inspect(401, put("Bearer error=invalid_token", 0) as i32);
    assert_eq!(
        take(n >> 1).as_deref(),
        Some("Bearer\0\0error\0invalid_token")
    );
}

#[wasm_bindgen_test]
fn origins_are_checked_through_the_buffer() {
    let h = reauth_new();
    reauth_allow(h, put("https://api.example.com", 0));
    let check = |url: &str| reauth_check(h, put(url, 0));
    assert_eq!(check("https://api.example.com/x?y"), 1);
    assert_eq!(check("https://evil.example.com/"), 0);
    assert_eq!(check("/relative"), 0, "the page is not allowed");
    reauth_allow(h, 0);
    assert_eq!(check("/relative"), 1);
    assert_eq!(
        check("HTTPS://API.example.com/"),
        2,
        "odd forms go to the URL parser"
    );
    assert!(reauth_allowed_origin(h, put("https://api.example.com", 0)));
    assert!(!reauth_allowed_origin(h, put("http://api.example.com", 0)));
    reauth_free(h);
}

#[wasm_bindgen_test]
fn one_refresh_for_concurrent_401s_then_one_retry_each() {
    let h = reauth_new();
    let n = put("old", 0);
    let m = put("r1", n);
    reauth_set_tokens(h, n, m as i32, -1.0, -1.0, -1.0, -1.0, NOW);
    let a = reauth_admit(h, NOW, SKEW);
    let b = reauth_admit(h, NOW, SKEW);
    assert!(a >= 0.0 && b >= 0.0, "tickets: send now");
    assert_eq!(reauth_unauthorized(h, a), REFRESH);
    let id = reauth_flight(h);
    assert_eq!(id, 1.0);
    assert_eq!(reauth_unauthorized(h, b), WAIT);
    assert_eq!(
        reauth_admit(h, NOW, SKEW),
        WAIT,
        "new requests wait for the refresh"
    );
    let epoch = reauth_epoch(h);
    let n = put("new", 0);
    assert!(reauth_refresh_succeeded(
        h, id, n, -1, -1.0, -1.0, -1.0, -1.0, NOW
    ));
    assert_eq!(take(reauth_access_token(h)).as_deref(), Some("new"));
    assert_eq!(take(reauth_refresh_token(h)).as_deref(), Some("r1"), "kept");
    let retry = reauth_after_flight(h, true);
    assert!(retry >= 0.0 && unpack(retry).is_spent());
    assert_eq!(
        reauth_unauthorized(h, retry),
        HAND_BACK_REPORT,
        "reported once"
    );
    assert_eq!(reauth_unauthorized(h, retry), HAND_BACK);
    let waited = reauth_after_wait(h, epoch, true);
    assert_eq!(unpack(waited).generation(), 2);
    assert_eq!(pack(unpack(waited)), waited);
    reauth_free(h);
}

#[wasm_bindgen_test]
fn expiry_from_expires_in_at_or_claims_and_proactive_refresh() {
    let h = reauth_new();
    reauth_set_tokens(h, put("t", 0), -1, 60_000.0, -1.0, -1.0, -1.0, NOW);
    assert_eq!(reauth_expires_at(h), NOW + 60_000.0);
    assert!(reauth_admit(h, NOW, SKEW) >= 0.0);
    assert_eq!(reauth_admit(h, NOW + 31_000.0, SKEW), REFRESH);
    assert!(reauth_proactive(h));
    assert!(reauth_refresh_failed(h, reauth_flight(h)));
    assert!(!reauth_refresh_failed(h, 1.0), "already settled");
    assert_eq!(reauth_clear(h), 0.0);
    assert_eq!(take(reauth_refresh_token(h)), None);
    assert_eq!(take(reauth_access_token(h)), None);
    reauth_set_tokens(h, put("u", 0), -1, -1.0, NOW + 5.0, -1.0, -1.0, NOW);
    assert_eq!(reauth_check_expiry(h, NOW, SKEW), 2.0);
    assert!(reauth_adopt(h, put("other", 0)) && !reauth_adopt(h, put("u", 0)));
    // JWT claims read by the shell: exp 2,000 s, iat 1,000 s.
    reauth_set_tokens(h, put("v", 0), -1, -1.0, -1.0, 2_000.0, 1_000.0, NOW);
    assert_eq!(reauth_expires_at(h), 2_000_000.0);
    reauth_free(h);
}

#[wasm_bindgen_test]
fn bad_handles_and_lengths_give_neutral_answers() {
    let h = reauth_new();
    reauth_free(h);
    assert_eq!(reauth_admit(h, NOW, SKEW), WAIT);
    assert_eq!(reauth_unauthorized(h, 0.0), HAND_BACK);
    assert_eq!(reauth_check(9_999, 0), 0);
    assert_eq!(reauth_access_token(h), -1);
    // A length past the buffer, or bytes that are not UTF-8, are refused, not read.
    assert_eq!(reauth_inspect(401, i32::MAX), -1);
    let area = reauth_buf(2);
    // SAFETY: two bytes of room.
    unsafe { core::ptr::copy_nonoverlapping([0xff_u8, 0xfe].as_ptr(), area, 2) };
    assert_eq!(reauth_inspect(0, 2), -1);
    // Freed slots are reused.
    assert_eq!(reauth_new(), h);
}
