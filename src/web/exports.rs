//! The module's exports: `createAuthFetch` and `parseChallenges`. The top of the shell: it puts
//! the core and the layer above it in this build (OAuth and DPoP, or a cookie session's BFF)
//! together, and imports from every layer; none imports it.

#[cfg(any(feature = "oauth", feature = "bff"))]
use alloc::rc::Rc;
use alloc::vec::Vec;
use js_sys::Function;
use wasm_bindgen::prelude::*;

#[cfg(feature = "bff")]
use super::bff::Bff;
use super::js;
#[cfg(feature = "oauth")]
use super::oauth::OAuth;
use super::options::Options;
use super::response::ChallengeOut;
#[cfg(any(feature = "oauth", feature = "bff"))]
use super::Above;
use super::{function_of, Shell};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = include_str!(concat!(env!("OUT_DIR"), "/types.d.ts"));

/// Creates `authFetch`: `fetch` with the access token attached to allowed origins, one shared
/// refresh for any number of 401s, and one retry per request. Throws a `TypeError` naming a
/// bad option.
#[wasm_bindgen(
    js_name = createAuthFetch,
    unchecked_return_type = "AuthFetch"
)]
pub fn create_auth_fetch(
    #[wasm_bindgen(unchecked_param_type = "AuthFetchOptions")] options: JsValue,
) -> Result<Function, JsValue> {
    #[cfg_attr(not(feature = "oauth"), allow(unused_mut))]
    let mut opts = Options::from_js(&options)?;
    // The cookie-session build: `login`, `completeLogin`, `logout` and `session` on every
    // instance (they reject without `options.bff`).
    #[cfg(feature = "bff")]
    if opts.bff().is_some() || cfg!(not(feature = "oauth")) {
        let bff = Rc::new(Bff::new());
        let above = opts.bff().is_some().then(|| bff.clone() as Rc<dyn Above>);
        let shell = Shell::make(opts, above);
        let f = function_of(&shell);
        bff.methods(&f, &shell);
        return Ok(f);
    }
    #[cfg(feature = "oauth")]
    {
        let oauth = Rc::new(OAuth::new(&mut opts));
        let shell = Shell::make(opts, Some(oauth.clone() as Rc<dyn Above>));
        let f = function_of(&shell);
        oauth.methods(&f, &shell);
        Ok(f)
    }
    #[cfg(not(feature = "oauth"))]
    Ok(function_of(&Shell::make(opts, None)))
}

/// Parses a `WWW-Authenticate` header value (RFC 9110 §11) into its challenges:
/// `{ scheme, token68, params: [name, value][] }`, names lower-cased, values unescaped. Throws an
/// `Error` named `ChallengeParseError` whose message ends with "at byte N".
#[wasm_bindgen(js_name = parseChallenges, unchecked_return_type = "Challenge[]")]
pub fn parse_challenges(
    #[wasm_bindgen(unchecked_param_type = "string")] header: JsValue,
) -> Result<JsValue, JsValue> {
    let Some(header) = header.as_string() else {
        return Err(js::type_error(
            "parseChallenges: the header must be a string",
        ));
    };
    match crate::challenge::parse_challenges(&header) {
        Ok(list) => {
            let out: Vec<ChallengeOut<'_>> = list.into_iter().map(ChallengeOut::from).collect();
            Ok(js::to_js(&out))
        }
        Err(e) => {
            let err = js_sys::Error::new(&alloc::format!("{e}"));
            err.set_name("ChallengeParseError");
            Err(err.into())
        }
    }
}
