//! The wire to the JS shell: tickets as numbers, answers as codes, challenges as one string.
#![cfg(not(target_arch = "wasm32"))]

use reauth::session::{Outcome, Ticket, Unauthorized};
use reauth::wire::{
    encode, pack, unauthorized_code, unpack, utf8, HAND_BACK, HAND_BACK_REPORT, REFRESH, WAIT,
};
use reauth::{parse_challenges, Challenge};

#[test]
fn tickets_round_trip_through_one_exact_number() {
    for g in [0u64, 1, 2, 1000, (1 << 26) - 1] {
        for e in [0u64, 1, 77, (1 << 26) - 1] {
            for s in [false, true] {
                let t = Ticket::from_parts(g, e, s);
                let x = pack(t);
                assert!(x >= 0.0 && x.fract() == 0.0 && x < 9_007_199_254_740_992.0);
                assert_eq!(unpack(x), t);
            }
        }
    }
}

#[test]
fn tickets_saturate_instead_of_wrapping() {
    let t = unpack(pack(Ticket::from_parts(1 << 40, 1 << 30, true)));
    assert_eq!(t.to_parts(), ((1 << 26) - 1, (1 << 26) - 1, true));
    // A later generation still compares as later than an earlier one below the cap.
    assert!(unpack(pack(Ticket::from_parts(5, 0, false))).generation() < t.generation());
}

#[test]
fn answers_are_negative_and_distinct_from_tickets() {
    let codes = [
        unauthorized_code(Unauthorized::HandBack {
            report_retry_failure: true,
        }),
        unauthorized_code(Unauthorized::HandBack {
            report_retry_failure: false,
        }),
    ];
    assert_eq!(codes, [HAND_BACK_REPORT, HAND_BACK]);
    for c in [REFRESH, WAIT, HAND_BACK_REPORT, HAND_BACK] {
        assert!(c < 0.0);
    }
    let retry = unauthorized_code(Unauthorized::RetryNow(Ticket::from_parts(3, 2, true)));
    assert_eq!(unpack(retry).to_parts(), (3, 2, true));
    assert_eq!(reauth::wire::outcome(true), Outcome::Succeeded);
}

/// A challenge as the shell sees it: scheme, token68, params.
type Plain = (String, Option<String>, Vec<(String, String)>);

/// What the JS shell does with [`encode`]'s output (pkg/challenges.js).
fn decode(s: &str) -> Result<Vec<Plain>, String> {
    if let Some(msg) = s.strip_prefix('\u{2}') {
        return Err(msg.to_string());
    }
    if s.is_empty() {
        return Ok(Vec::new());
    }
    Ok(s.split('\u{1}')
        .map(|c| {
            let f: Vec<&str> = c.split('\0').collect();
            assert!(f.len() >= 2 && f.len() % 2 == 0, "fields of {c:?}");
            let params = f[2..]
                .chunks(2)
                .map(|p| (p[0].to_string(), p[1].to_string()))
                .collect();
            (
                f[0].to_string(),
                (!f[1].is_empty()).then(|| f[1].to_string()),
                params,
            )
        })
        .collect())
}

fn expected(cs: &[Challenge<'_>]) -> Vec<Plain> {
    cs.iter()
        .map(|c| {
            let params = c
                .params
                .iter()
                .map(|p| (p.name.to_ascii_lowercase(), p.value.to_string()))
                .collect();
            (c.scheme.to_string(), c.token68.map(String::from), params)
        })
        .collect()
}

#[test]
fn encoded_challenges_decode_to_what_the_parser_gives() {
    let headers = [
        "",
        "Basic",
        "Basic realm=\"x\"",
        "Bearer realm=\"a \\\"b\\\"\", ERROR=invalid_token, Negotiate abc==",
        "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
        "DPoP algs=\"ES256 PS256\", error=\"use_dpop_nonce\"",
        "Bearer realm=\"\", scope=\"\"",
        "Digest realm=\"x\u{ff}\", nonce=\"\\\t\"",
        "A, B, C token==",
    ];
    for h in headers {
        let want = expected(&parse_challenges(h).unwrap());
        assert_eq!(decode(&encode(h)), Ok(want), "{h:?}");
    }
}

#[test]
fn the_shared_vectors_survive_the_encoding() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/www-authenticate-sample.json"
    ))
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let h = case["header"].as_str().unwrap();
        match parse_challenges(h) {
            Ok(cs) => assert_eq!(decode(&encode(h)), Ok(expected(&cs)), "{h:?}"),
            Err(e) => {
                let msg = decode(&encode(h)).unwrap_err();
                assert!(msg.starts_with(e.kind.as_str()), "{msg}");
                assert!(msg.ends_with(&format!(" at byte {}", e.pos)), "{msg}");
            }
        }
    }
}

#[test]
fn utf8_agrees_with_core_on_every_sequence_of_up_to_three_bytes() {
    let mut buf = [0u8; 3];
    for n in 0..=3usize {
        for x in 0..(1u32 << (8 * n)) {
            for (k, b) in buf.iter_mut().enumerate().take(n) {
                *b = (x >> (8 * k)) as u8;
            }
            let bytes = &buf[..n];
            assert_eq!(utf8(bytes), std::str::from_utf8(bytes).ok(), "{bytes:?}");
        }
    }
}

#[test]
fn utf8_agrees_with_core_on_four_byte_sequences_and_mixed_text() {
    // Every lead byte from 0xf0 up, with continuation bytes around each boundary.
    let edges = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0xbf, 0xc0, 0xff];
    for lead in 0xe0..=0xffu8 {
        for &a in &edges {
            for &b in &edges {
                for &c in &edges {
                    let bytes = [lead, a, b, c];
                    assert_eq!(utf8(&bytes), std::str::from_utf8(&bytes).ok(), "{bytes:?}");
                }
            }
        }
    }
    // Pseudo-random mixes of valid text and junk (an LCG: reproducible without a dependency).
    let samples = ["https://api.example.com/x", "é", "€", "𝄞", "\u{ff}", "\0"];
    let mut seed = 0x2545_f491_u64;
    for _ in 0..200_000 {
        let mut bytes = Vec::new();
        for _ in 0..6 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let r = (seed >> 33) as usize;
            if r % 5 == 0 {
                bytes.push((r >> 8) as u8);
            } else {
                bytes.extend_from_slice(samples[r % samples.len()].as_bytes());
            }
        }
        assert_eq!(utf8(&bytes), std::str::from_utf8(&bytes).ok(), "{bytes:?}");
    }
}
