//! Reading `exp` from JWTs (never verifying them).
#![cfg(not(target_arch = "wasm32"))]

use reauth::jwt::expiry;

fn b64url(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = s.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..chunk.len() + 1 {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn jwt(payload: &str) -> String {
    format!(
        "{}.{}.sig",
        b64url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"),
        b64url(payload)
    )
}

#[test]
fn reads_exp_and_iat() {
    assert_eq!(
        expiry(&jwt(
            "{\"sub\":\"u\",\"exp\":1700000300,\"iat\":1700000000}"
        )),
        Some((1_700_000_300, Some(1_700_000_000)))
    );
    assert_eq!(expiry(&jwt("{\"exp\" : 42}")), Some((42, None)));
}

#[test]
fn ignores_nested_and_string_lookalikes() {
    assert_eq!(
        expiry(&jwt(
            "{\"ctx\":{\"exp\":1},\"note\":\"\\\"exp\\\":2\",\"exp\":3}"
        )),
        Some((3, None))
    );
    assert_eq!(expiry(&jwt("{\"exp\":\"soon\"}")), None);
    assert_eq!(expiry(&jwt("{\"nbf\":5}")), None);
}

#[test]
fn opaque_tokens_have_no_known_expiry() {
    for t in [
        "opaque-token",
        "a.b",
        "a.b.c.d",
        "at_84e412d1e6f810d0",
        "x.!!!.y",
        "",
    ] {
        assert_eq!(expiry(t), None, "{t:?}");
    }
}
