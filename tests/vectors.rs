//! The shared WWW-Authenticate vectors (drawn from independent implementations' suites).
#![cfg(not(target_arch = "wasm32"))]

use reauth::parse_challenges;
use serde_json::Value;

/// A challenge as the vectors compare it: lower-cased scheme, token68, sorted params.
fn normalise(scheme: &str, token68: Option<&str>, mut params: Vec<(String, String)>) -> String {
    params.sort();
    format!("{}|{:?}|{:?}", scheme.to_ascii_lowercase(), token68, params)
}

#[test]
fn shared_www_authenticate_vectors() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/www-authenticate-sample.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for case in cases {
        let header = case["header"].as_str().unwrap();
        let got = parse_challenges(header).map(|cs| {
            cs.iter()
                .map(|c| {
                    let params = c
                        .params
                        .iter()
                        .map(|p| (p.name.to_ascii_lowercase(), p.value.to_string()))
                        .collect();
                    normalise(c.scheme, c.token68, params)
                })
                .collect::<Vec<_>>()
        });
        let ok = match (&case["expect"], &got) {
            (Value::String(s), Err(_)) => s == "error",
            (Value::Array(expect), Ok(got)) => {
                let expect: Vec<String> = expect
                    .iter()
                    .map(|c| {
                        let params = c["params"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|p| {
                                (
                                    p[0].as_str().unwrap().to_string(),
                                    p[1].as_str().unwrap().to_string(),
                                )
                            })
                            .collect();
                        normalise(c["scheme"].as_str().unwrap(), c["token68"].as_str(), params)
                    })
                    .collect();
                &expect == got
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{header:?}: expected {}, got {got:?}",
                case["expect"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
