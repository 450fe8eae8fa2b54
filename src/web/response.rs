//! What a response says: its `WWW-Authenticate` challenges (as the app's hooks see them) and its
//! `DPoP-Nonce`. Data for the layers above; it reads responses and nothing else.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::js::{self, Reply};
use crate::challenge::parse_challenges;

/// The `WWW-Authenticate` value of a response, or `None` where the runtime shows none.
pub fn www_authenticate(response: &JsValue) -> Option<String> {
    www_authenticate_js(response).as_string()
}

/// The `WWW-Authenticate` value as the JS string (null or undefined where there is none).
pub fn www_authenticate_js(response: &JsValue) -> JsValue {
    if !response.is_object() {
        return JsValue::NULL;
    }
    let Ok(headers) = response.unchecked_ref::<Reply>().headers() else {
        return JsValue::NULL;
    };
    if !headers.is_object() {
        return JsValue::NULL;
    }
    let headers: &Reply = headers.unchecked_ref();
    js::WWW_AUTHENTICATE.with(|name| headers.get(name).unwrap_or(JsValue::NULL))
}

/// One challenge as the app sees it.
#[derive(Serialize)]
pub struct ChallengeOut<'a> {
    scheme: &'a str,
    token68: Option<&'a str>,
    params: Vec<(String, Cow<'a, str>)>,
}

/// The challenges of a header value; none when it is absent or does not parse.
pub fn challenges_of(header: Option<&str>) -> Vec<ChallengeOut<'_>> {
    let Some(Ok(list)) = header.map(parse_challenges) else {
        return Vec::new();
    };
    list.into_iter().map(ChallengeOut::from).collect()
}

impl<'a> From<crate::challenge::Challenge<'a>> for ChallengeOut<'a> {
    fn from(c: crate::challenge::Challenge<'a>) -> Self {
        ChallengeOut {
            scheme: c.scheme,
            token68: c.token68,
            params: c
                .params
                .into_iter()
                .map(|p| (p.name.to_ascii_lowercase(), p.value))
                .collect(),
        }
    }
}

/// The `DPoP-Nonce` header of a response, if any.
pub fn nonce_of(response: &JsValue) -> Option<String> {
    let r = response.dyn_ref::<web_sys::Response>()?;
    r.headers().get("dpop-nonce").ok().flatten()
}
