//! Bindings to `glue.js`, the wasm layer's small JS helpers.

use alloc::string::String;
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/wasm/glue.js")]
extern "C" {
    #[wasm_bindgen(js_name = urlOf)]
    pub fn url_of(input: &JsValue) -> Option<String>;
    #[wasm_bindgen(catch, js_name = requestKind)]
    pub fn request_kind(input: &JsValue, init: &JsValue) -> Result<u32, JsValue>;
    pub fn snapshot(input: &JsValue, init: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = makeState)]
    pub fn make_state(fetch_option: &JsValue, handler: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = setAuth)]
    pub fn set_auth(state: &JsValue, value: &JsValue);
    #[wasm_bindgen(js_name = fetchOf)]
    pub fn fetch_of(state: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = sendRaw)]
    pub fn send_raw(state: &JsValue, input: &JsValue, init: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = sendAuthed)]
    pub fn send_authed(state: &JsValue, input: &JsValue, init: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = sendFast)]
    pub fn send_fast(
        state: &JsValue,
        input: &JsValue,
        init: &JsValue,
        generation: f64,
        epoch: f64,
    ) -> JsValue;
    #[wasm_bindgen(js_name = signalOf)]
    pub fn signal_of(input: &JsValue, init: &JsValue) -> JsValue;
    pub fn abortable(promise: &Promise, signal: &JsValue) -> Promise;
    pub fn deferred() -> Array;
    pub fn report(error: &JsValue);
    #[wasm_bindgen(js_name = pageOrigin)]
    pub fn page_origin() -> Option<String>;
    #[wasm_bindgen(js_name = pageHref)]
    pub fn page_href() -> Option<String>;
    #[wasm_bindgen(js_name = originOf)]
    pub fn origin_of(url: &str, base: Option<String>) -> Option<String>;
    #[wasm_bindgen(js_name = assignLocation)]
    pub fn assign_location(url: &str);
    #[wasm_bindgen(js_name = storageArea)]
    fn storage_area_js(kind: &str) -> JsValue;
    #[wasm_bindgen(js_name = loadTokens)]
    pub fn load_tokens(area: &JsValue, key: &str) -> JsValue;
    #[wasm_bindgen(js_name = storeTokens)]
    pub fn store_tokens(
        area: &JsValue,
        key: &str,
        access: Option<String>,
        refresh: Option<String>,
        expires_at: Option<f64>,
    );
    #[wasm_bindgen(js_name = withLock)]
    pub fn with_lock(name: &str, wait_ms: f64, f: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = onStorage)]
    pub fn on_storage(key: &str, callback: &JsValue);
    #[wasm_bindgen(js_name = onWake)]
    pub fn on_wake(callback: &JsValue);
    #[wasm_bindgen(js_name = setTimer)]
    pub fn set_timer(ms: f64, f: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = clearTimer)]
    pub fn clear_timer(handle: &JsValue);
}

/// The Web Storage area `kind` ('session' or 'local'), if this environment has it.
pub fn storage_area(kind: &str) -> Option<JsValue> {
    let area = storage_area_js(kind);
    (!area.is_undefined()).then_some(area)
}
