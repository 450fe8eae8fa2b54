//! wasm-bindgen tests of the exports the JS shell calls, shared by the Node and the browser
//! runs: the same answers as the native core, through the wasm ABI.

use reauth::wasm::{decide, parse, scratch_ptr, Core};
use reauth::wire::{pack, unpack, HAND_BACK, HAND_BACK_REPORT, REFRESH, WAIT};
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: f64 = 1_000_000.0;
const SKEW: f64 = 30_000.0;

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
    assert!(decide(401, Some("Bearer error=\"invalid_token\"".into())));
    assert!(!decide(
        401,
        Some("Bearer error=\"insufficient_scope\"".into())
    ));
    assert!(!decide(401, Some("Basic realm=x".into())));
    assert!(!decide(403, None));
}

/// Writes `url` into the scratch area, as the shell does.
fn check(core: &Core, url: &str) -> u32 {
    let area = scratch_ptr() as *mut u8;
    // SAFETY: the scratch area is SCRATCH_LEN bytes and these URLs are shorter.
    unsafe { core::ptr::copy_nonoverlapping(url.as_ptr(), area, url.len()) };
    core.check(url.len())
}

#[wasm_bindgen_test]
fn origins_are_checked_through_the_scratch_area() {
    let mut core = Core::new();
    core.allow("https://api.example.com".into());
    assert_eq!(check(&core, "https://api.example.com/x?y"), 1);
    assert_eq!(check(&core, "https://evil.example.com/"), 0);
    assert_eq!(check(&core, "/relative"), 0, "the page is not allowed");
    core.allow_page();
    assert_eq!(check(&core, "/relative"), 1);
    assert_eq!(
        check(&core, "HTTPS://API.example.com/"),
        2,
        "odd forms go to the URL parser"
    );
    assert!(core.allowed_origin("https://api.example.com"));
    assert!(!core.allowed_origin("http://api.example.com"));
}

#[wasm_bindgen_test]
fn one_refresh_for_concurrent_401s_then_one_retry_each() {
    let mut core = Core::new();
    core.set_tokens("old".into(), Some("r1".into()), -1.0, -1.0, NOW);
    let a = core.admit(NOW, SKEW);
    let b = core.admit(NOW, SKEW);
    assert!(a >= 0.0 && b >= 0.0, "tickets: send now");
    assert_eq!(core.unauthorized(a), REFRESH);
    let id = core.flight();
    assert_eq!(id, 1.0);
    assert_eq!(core.unauthorized(b), WAIT);
    assert_eq!(
        core.admit(NOW, SKEW),
        WAIT,
        "new requests wait for the refresh"
    );
    let epoch = core.epoch();
    assert!(core.refresh_succeeded(id, "new".into(), None, -1.0, -1.0, NOW));
    assert_eq!(core.access_token().as_deref(), Some("new"));
    assert_eq!(core.refresh_token().as_deref(), Some("r1"), "kept");
    let retry = core.after_flight(true);
    assert!(retry >= 0.0 && unpack(retry).is_spent());
    assert_eq!(
        core.unauthorized(retry),
        HAND_BACK_REPORT,
        "one retry, reported once"
    );
    assert_eq!(core.unauthorized(retry), HAND_BACK);
    let waited = core.after_wait(epoch, true);
    assert_eq!(unpack(waited).generation(), 2);
    assert_eq!(pack(unpack(waited)), waited);
}

#[wasm_bindgen_test]
fn expiry_in_and_at_and_proactive_refresh() {
    let mut core = Core::new();
    core.set_tokens("t".into(), None, 60_000.0, -1.0, NOW);
    assert_eq!(core.expires_at(), NOW + 60_000.0);
    assert!(core.admit(NOW, SKEW) >= 0.0);
    assert_eq!(core.admit(NOW + 31_000.0, SKEW), REFRESH);
    assert!(core.proactive());
    assert!(core.refresh_failed(core.flight()));
    assert!(!core.refresh_failed(1.0), "already settled");
    assert_eq!(core.clear(), 0.0);
    assert!(!core.has_tokens());
    core.set_tokens("u".into(), None, -1.0, NOW + 5.0, NOW);
    assert_eq!(core.check_expiry(NOW, SKEW), 2.0);
    assert!(core.adopt("other") && !core.adopt("u"));
}
