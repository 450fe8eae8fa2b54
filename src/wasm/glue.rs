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
    #[wasm_bindgen(js_name = initScratch)]
    fn init_scratch(memory: &JsValue, ptr: u32, len: u32);
    #[wasm_bindgen(js_name = urlIntoScratch)]
    fn url_into_scratch(input: &JsValue) -> i32;
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

/// The bytes of the scratch area for request URLs (see `urlIntoScratch` in glue.js).
const SCRATCH_LEN: usize = 2048;

struct Scratch(core::cell::UnsafeCell<[u8; SCRATCH_LEN]>);
// The wasm module is single-threaded.
unsafe impl Sync for Scratch {}
static SCRATCH: Scratch = Scratch(core::cell::UnsafeCell::new([0; SCRATCH_LEN]));

/// The URL a fetch input names, as the origin check needs it.
pub enum RequestUrl<'a> {
    /// Read from the scratch area: valid until the next call.
    Scratch(&'a str),
    /// Too long for the scratch area (or not UTF-8 there): copied.
    Owned(String),
    /// The input names no URL.
    None,
}

/// Makes the scratch area known to the glue; call once, before [`request_url`].
pub fn setup_scratch() {
    init_scratch(
        &wasm_bindgen::memory(),
        SCRATCH.0.get() as u32,
        SCRATCH_LEN as u32,
    );
}

/// The URL of `input`, through the scratch area when it fits.
pub fn request_url(input: &JsValue) -> RequestUrl<'static> {
    match url_into_scratch(input) {
        -2 => RequestUrl::None,
        n if n >= 0 => {
            // SAFETY: the glue has just written `n` bytes (n <= SCRATCH_LEN) into SCRATCH; no
            // other code writes it until the next call, and the caller uses the slice before
            // calling into JS again.
            let bytes = unsafe {
                core::slice::from_raw_parts(
                    SCRATCH.0.get().cast::<u8>(),
                    (n as usize).min(SCRATCH_LEN),
                )
            };
            match core::str::from_utf8(bytes) {
                Ok(s) => RequestUrl::Scratch(s),
                Err(_) => input
                    .as_string()
                    .or_else(|| url_of(input))
                    .map_or(RequestUrl::None, RequestUrl::Owned),
            }
        }
        _ => input
            .as_string()
            .or_else(|| url_of(input))
            .map_or(RequestUrl::None, RequestUrl::Owned),
    }
}
