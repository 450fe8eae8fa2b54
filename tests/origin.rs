//! The fast URL classifier: what it recognises, and everything it must leave to a URL parser.
#![cfg(not(target_arch = "wasm32"))]

use reauth::origin::{classify, prefix_is_origin, Target};

macro_rules! cases {
    ($($name:ident: $url:expr => $expect:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(classify($url), $expect, "{:?}", $url);
        }
    )*};
}

use Target::{Origin, SameAsBase, Unknown};

cases! {
    https_path: "https://api.example.com/v1/items?x=1" => Origin("https://api.example.com");
    https_bare: "https://api.example.com" => Origin("https://api.example.com");
    http_port: "http://localhost:8080/x" => Origin("http://localhost:8080");
    query_right_after_host: "https://a.example?x" => Origin("https://a.example");
    fragment_right_after_host: "https://a.example#f" => Origin("https://a.example");
    path_absolute: "/api/items" => SameAsBase;
    root: "/" => SameAsBase;
    empty: "" => SameAsBase;
    path_relative: "api/items" => SameAsBase;
    dot_relative: "./items" => SameAsBase;
    query_only: "?page=2" => SameAsBase;
    fragment_only: "#top" => SameAsBase;
    host_like_relative: "evil.com/steal" => SameAsBase;
    // Everything below must go to the parser.
    scheme_relative: "//evil.com/x" => Unknown;
    backslash_scheme_relative: "/\\evil.com/x" => Unknown;
    backslash_in_authority: "https://api.example.com\\@evil.com/" => Unknown;
    tab_makes_scheme_relative: "/\t/evil.com" => Unknown;
    newline_in_host: "https://api.example.com\n.evil.com/" => Unknown;
    leading_space: " https://evil.com/" => Unknown;
    leading_control: "\u{1}//evil.com" => Unknown;
    userinfo: "https://api.example.com@evil.com/" => Unknown;
    userinfo_with_password: "https://u:p@api.example.com/" => Unknown;
    upper_case_host: "https://API.example.com/" => Unknown;
    upper_case_scheme: "HTTPS://api.example.com/" => Unknown;
    default_https_port: "https://api.example.com:443/" => Unknown;
    default_http_port: "http://api.example.com:80/" => Unknown;
    leading_zero_port: "http://localhost:08080/" => Unknown;
    port_too_big: "http://localhost:65536/" => Unknown;
    empty_port: "http://localhost:/" => Unknown;
    numeric_short_ipv4: "http://127.1/" => Unknown;
    ipv4: "http://127.0.0.1:8080/" => Origin("http://127.0.0.1:8080");
    ipv4_zeros: "http://0.0.0.0/" => Origin("http://0.0.0.0");
    ipv4_max: "https://255.255.255.255/x" => Origin("https://255.255.255.255");
    ipv4_over_255: "http://256.0.0.1/" => Unknown;
    ipv4_leading_zero: "http://010.0.0.1/" => Unknown;
    ipv4_five_parts: "http://1.2.3.4.5/" => Unknown;
    ipv4_three_parts: "http://1.2.3/" => Unknown;
    hex_ipv4: "http://0x7f.0.0.1/" => Unknown;
    hex_last_label: "http://a.0x1/" => Unknown;
    digits_last_label: "http://example.123/" => Unknown;
    digits_inside_host: "http://api2.example.com/" => Origin("http://api2.example.com");
    ipv6: "http://[::1]:8080/" => Unknown;
    trailing_dot: "https://api.example.com./" => Unknown;
    percent_host: "https://api%2eexample.com/" => Unknown;
    punycode: "https://xn--bcher-kva.example/" => Unknown;
    non_ascii: "https://bücher.example/" => Unknown;
    other_scheme: "ftp://example.com/" => Unknown;
    data_url: "data:text/plain,hi" => Unknown;
    blob_url: "blob:https://api.example.com/uuid" => Unknown;
    scheme_like_relative: "localhost:8080/x" => Unknown;
    https_missing_slash: "https:/api.example.com" => Unknown;
    empty_host: "https:///x" => Unknown;
}

/// Numeric hosts of every shape the WHATWG parser treats as IPv4 (or rejects): whatever the
/// classifier recognises, the parser serialises the same way.
#[test]
fn numeric_hosts_agree_with_a_whatwg_url_parser() {
    const PARTS: &[&str] = &[
        "0",
        "00",
        "01",
        "1",
        "9",
        "10",
        "99",
        "100",
        "127",
        "199",
        "200",
        "249",
        "250",
        "255",
        "256",
        "300",
        "999",
        "1000",
        "4294967295",
        "0x1",
        "0x",
        "1e2",
        "",
    ];
    const CANONICAL: &[&str] = &[
        "0", "1", "9", "10", "99", "100", "127", "199", "200", "249", "250", "255",
    ];
    let mut dotted = 0;
    let mut hosts = vec![String::new()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for h in &hosts {
            for p in PARTS {
                next.push(if h.is_empty() {
                    (*p).to_string()
                } else {
                    format!("{h}.{p}")
                });
            }
        }
        hosts = next;
        for h in &hosts {
            let u = format!("http://{h}:8080/x");
            let recognised = match classify(&u) {
                Origin(o) => {
                    let parsed = url::Url::parse(&u).unwrap_or_else(|e| panic!("{u:?}: {e}"));
                    assert_eq!(parsed.origin().ascii_serialization(), o, "{u:?}");
                    true
                }
                _ => false,
            };
            let parts: Vec<&str> = h.split('.').collect();
            if parts.len() == 4 && parts.iter().all(|p| CANONICAL.contains(p)) {
                assert!(recognised, "{u:?} is dotted-decimal IPv4 in normal form");
                dotted += 1;
            }
        }
    }
    assert_eq!(dotted, CANONICAL.len().pow(4));
}

/// Differential check against the `url` crate (a WHATWG URL implementation): whatever the fast
/// classifier recognises, the parser resolves to the same origin.
#[test]
fn agrees_with_a_whatwg_url_parser_on_generated_urls() {
    const PIECES: &[&str] = &[
        "https://api.example.com",
        "https://",
        "http://",
        "//",
        "/",
        "\\",
        "api",
        ".",
        "example",
        "com",
        ":",
        "8080",
        "443",
        "@",
        "evil",
        "?",
        "#",
        "\t",
        "\n",
        " ",
        "0x7f",
        "127",
        "1",
        "%2e",
        "A",
        "xn--",
        "-",
        "..",
        "[::1]",
        "u:p",
        "é",
        "data:",
        "blob:",
        "~",
        "_",
    ];
    let base = url::Url::parse("https://app.example.com/page/index.html").unwrap();
    let mut seed = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Origins in normal form (as a URL parser prints them) that the pieces can spell, for the
    // prefix rule.
    const ORIGINS: &[&str] = &[
        "https://api",
        "http://api",
        "https://api.example",
        "https://api.example.com",
        "http://api:8080",
        "https://example.com",
        "https://evil",
        "http://127.0.0.1",
    ];
    let (mut recognised, mut unknown, mut prefixed) = (0, 0, 0);
    for _ in 0..200_000 {
        let mut u = String::new();
        for _ in 0..1 + next() % 8 {
            u.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
        }
        // The prefix rule: an origin in normal form followed by a path, query, fragment or
        // nothing is the URL's origin.
        if let Ok(parsed) = url::Url::parse(&u) {
            let origin = parsed.origin().ascii_serialization();
            if origin != "null" {
                if let Some(rest) = u.strip_prefix(origin.as_str()) {
                    if prefix_is_origin(rest.chars().next()) {
                        prefixed += 1;
                    }
                }
            }
        }
        for o in ORIGINS {
            if let Some(rest) = u.strip_prefix(o) {
                if prefix_is_origin(rest.chars().next()) {
                    let parsed = url::Url::parse(&u).unwrap_or_else(|e| panic!("{u:?}: {e}"));
                    assert_eq!(parsed.origin().ascii_serialization(), *o, "{u:?}");
                }
            }
        }
        match classify(&u) {
            Origin(o) => {
                recognised += 1;
                let parsed = url::Url::parse(&u).unwrap_or_else(|e| panic!("{u:?}: {e}"));
                assert_eq!(parsed.origin().ascii_serialization(), o, "{u:?}");
            }
            SameAsBase => {
                recognised += 1;
                let joined = base.join(&u).unwrap_or_else(|e| panic!("{u:?}: {e}"));
                assert_eq!(joined.origin(), base.origin(), "{u:?}");
            }
            Unknown => unknown += 1,
        }
    }
    assert!(
        recognised > 10_000 && unknown > 10_000 && prefixed > 2_000,
        "{recognised} recognised, {unknown} unknown, {prefixed} prefixed"
    );
}
