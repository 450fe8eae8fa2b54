//! wasm-bindgen tests of the JS surface, shared by the Node and the browser runs.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

#[wasm_bindgen_test]
fn parse_challenges_returns_plain_objects() {
    let out = reauth::wasm::parse_challenges(
        "Bearer realm=\"a \\\"b\\\"\", ERROR=invalid_token, Negotiate abc==",
    )
    .unwrap();
    assert_eq!(out.length(), 2);
    let bearer = out.get(0);
    assert_eq!(get(&bearer, "scheme").as_string().unwrap(), "Bearer");
    assert!(get(&bearer, "token68").is_null());
    let params: Array = get(&bearer, "params").dyn_into().unwrap();
    assert_eq!(params.length(), 2);
    let first: Array = params.get(0).dyn_into().unwrap();
    assert_eq!(first.get(0).as_string().unwrap(), "realm");
    assert_eq!(first.get(1).as_string().unwrap(), "a \"b\"");
    let second: Array = params.get(1).dyn_into().unwrap();
    assert_eq!(
        second.get(0).as_string().unwrap(),
        "error",
        "names are lower-cased"
    );
    let negotiate = out.get(1);
    assert_eq!(get(&negotiate, "token68").as_string().unwrap(), "abc==");
    let no_params: Array = get(&negotiate, "params").dyn_into().unwrap();
    assert_eq!(no_params.length(), 0);
}

#[wasm_bindgen_test]
fn parse_error_is_a_named_js_error_with_the_position() {
    let err = reauth::wasm::parse_challenges("Basic realm=a@b").unwrap_err();
    let err: js_sys::Error = err.dyn_into().expect("an Error instance");
    assert_eq!(String::from(err.name()), "ChallengeParseError");
    assert_eq!(
        String::from(err.message()),
        "expected ',' or the end of the header at byte 13"
    );
}

#[wasm_bindgen_test]
fn empty_header_gives_an_empty_array() {
    assert_eq!(reauth::wasm::parse_challenges("").unwrap().length(), 0);
}
