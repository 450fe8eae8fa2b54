//! The few JS members the shell reaches that `web-sys` and `js-sys` do not bind the way it needs
//! them (declared here, so wasm-bindgen generates their glue), and small helpers over them:
//! tasks and promises of async Rust ([`spawn`], [`promise`]), an error's `code`. Every other
//! module of the shell may use this one; it uses none of them.
//!
//! Everything that touches a value the app handed over is declared `catch`: a getter that
//! throws, a proxy, a hostile `init` becomes an `Err`, never an exception unwinding through
//! Rust frames.

use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64UrlUnpadded, Encoding};
use js_sys::{Function, Object, Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::SubtleCrypto;

#[wasm_bindgen]
extern "C" {
    /// A `fetch` init as the caller passed it (any object), read member by member as fetch
    /// reads it.
    pub type Init;
    /// `init.headers`.
    #[wasm_bindgen(method, getter, catch)]
    pub fn headers(this: &Init) -> Result<JsValue, JsValue>;
    /// `init.body`.
    #[wasm_bindgen(method, getter, catch)]
    pub fn body(this: &Init) -> Result<JsValue, JsValue>;
    /// `init.signal`.
    #[wasm_bindgen(method, getter, catch)]
    pub fn signal(this: &Init) -> Result<JsValue, JsValue>;
    /// `init.headers = …` (on the shell's own copy).
    #[wasm_bindgen(method, setter)]
    pub fn set_headers(this: &Init, value: &JsValue);
    /// `init.body = …` (on the shell's own copy).
    #[wasm_bindgen(method, setter)]
    pub fn set_body(this: &Init, value: &JsValue);
    /// `record.authorization = …` (on the shell's own header record).
    #[wasm_bindgen(method, setter)]
    pub fn set_authorization(this: &Init, value: &JsValue);
    /// `record.dpop = …` (on the shell's own header record).
    #[wasm_bindgen(method, setter)]
    pub fn set_dpop(this: &Init, value: &JsValue);

    /// `Object.assign(target, source)`: a source's getters may throw.
    #[wasm_bindgen(js_namespace = Object, js_name = assign, catch)]
    pub fn assign(target: &JsValue, source: &JsValue) -> Result<JsValue, JsValue>;
    /// `Object.keys(value)`: a proxy's `ownKeys` may throw.
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    pub fn keys(value: &JsValue) -> Result<js_sys::Array, JsValue>;
    /// `Array.from(iterable)`: an iterator may throw.
    #[wasm_bindgen(js_namespace = Array, js_name = from, catch)]
    pub fn array_from(value: &JsValue) -> Result<js_sys::Array, JsValue>;

    /// A promise, for `then` with a plain function (js-sys binds `then` to Rust closures).
    pub type Thenable;
    /// `promise.then(f)`.
    #[wasm_bindgen(method)]
    pub fn then(this: &Thenable, f: &Function) -> Promise;
    /// `promise.then(ok, err)`.
    #[wasm_bindgen(method, js_name = then)]
    pub fn then2(this: &Thenable, ok: &Function, err: &Function) -> Promise;

    /// The Web Locks API (`navigator.locks`), bound here because web-sys has it only behind
    /// `--cfg=web_sys_unstable_apis`.
    pub type LockManager;
    /// `locks.request(name, options, callback)`: resolves once the callback's promise settled.
    #[wasm_bindgen(method, js_name = request)]
    pub fn request(
        this: &LockManager,
        name: &str,
        options: &JsValue,
        callback: &JsValue,
    ) -> Promise;

    /// A function, called and bound through plain bindings (the hot path's; js-sys's typed
    /// ones do more per call).
    pub type Callable;
    /// `f.call(this, a, b)`.
    #[wasm_bindgen(method, catch, js_name = call)]
    fn call2(this: &Callable, ctx: &JsValue, a: &JsValue, b: &JsValue) -> Result<JsValue, JsValue>;
    /// `f.bind(null, a, b, c)`.
    #[wasm_bindgen(method, js_name = bind)]
    fn bind3(this: &Callable, ctx: &JsValue, a: &JsValue, b: &JsValue, c: f64) -> Function;
    /// `f.bind(null, a)`.
    #[wasm_bindgen(method, js_name = bind)]
    fn bind1(this: &Callable, ctx: &JsValue, a: f64) -> Function;
    /// `f.bind(null, a, b)`.
    #[wasm_bindgen(method, js_name = bind)]
    fn bind2(this: &Callable, ctx: &JsValue, a: &JsValue, b: &JsValue) -> Function;

    /// A JS string, for the two string operations the hot path asks of it.
    pub type Text;
    /// `text.startsWith(prefix)`.
    #[wasm_bindgen(method, js_name = startsWith)]
    pub fn starts_with(this: &Text, prefix: &JsValue) -> bool;
    /// `text.charCodeAt(i)` (NaN past the end).
    #[wasm_bindgen(method, js_name = charCodeAt)]
    pub fn char_code_at(this: &Text, i: u32) -> f64;

    /// The global `setTimeout` (windows, workers and Node alike; Node returns an object).
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(f: &JsValue, ms: f64) -> JsValue;
    /// The global `clearTimeout`.
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(id: &JsValue);

    /// `new Response(body)`: turns a `FormData` or a stream into bytes (and, for `FormData`,
    /// the multipart content type) that can be sent twice.
    #[wasm_bindgen(js_name = Response)]
    pub type Carrier;
    /// `new Response(body)`.
    #[wasm_bindgen(constructor, js_class = "Response", catch)]
    pub fn new(body: &JsValue) -> Result<Carrier, JsValue>;

    /// What fetch resolved with (a `Response`, or whatever a custom fetch gave), and its
    /// `headers`: read structurally, as JS code would.
    pub type Reply;
    /// `response.status` (NaN when it is no number).
    #[wasm_bindgen(method, getter, catch)]
    pub fn status(this: &Reply) -> Result<f64, JsValue>;
    /// `response.headers`.
    #[wasm_bindgen(method, getter, catch)]
    pub fn headers(this: &Reply) -> Result<JsValue, JsValue>;
    /// `headers.get(name)`.
    #[wasm_bindgen(method, catch)]
    pub fn get(this: &Reply, name: &JsValue) -> Result<JsValue, JsValue>;

    /// An `ArrayBuffer` view (a typed array or a `DataView`).
    pub type View;
    /// `view.buffer`.
    #[wasm_bindgen(method, getter)]
    pub fn buffer(this: &View) -> JsValue;
    /// `view.byteOffset`.
    #[wasm_bindgen(method, getter, js_name = byteOffset)]
    pub fn byte_offset(this: &View) -> u32;
    /// `view.byteLength`.
    #[wasm_bindgen(method, getter, js_name = byteLength)]
    pub fn byte_length(this: &View) -> u32;

    /// The global object, for the members read at call time.
    pub type Global;
    /// `globalThis.fetch`.
    #[wasm_bindgen(method, getter)]
    pub fn fetch(this: &Global) -> JsValue;
    /// `globalThis.location` (a window's or a worker's; undefined in Node).
    #[wasm_bindgen(method, getter)]
    pub fn location(this: &Global) -> JsValue;
    /// `globalThis.reportError` (undefined in Node).
    #[wasm_bindgen(method, getter, js_name = reportError)]
    pub fn report_error(this: &Global) -> JsValue;
    /// `globalThis.navigator`.
    #[wasm_bindgen(method, getter)]
    pub fn navigator(this: &Global) -> JsValue;
    /// `globalThis.document` (windows only).
    #[wasm_bindgen(method, getter)]
    pub fn document(this: &Global) -> JsValue;

    /// A window's `document`, for the one member read on every relative URL.
    pub type Doc;
    /// `document.baseURI` (a `<base href>` counts).
    #[wasm_bindgen(method, getter, catch, js_name = baseURI)]
    pub fn base_uri(this: &Doc) -> Result<JsValue, JsValue>;

    /// A `location` (a window's or a worker's).
    pub type Place;
    /// `location.origin`.
    #[wasm_bindgen(method, getter)]
    pub fn origin(this: &Place) -> JsValue;
    /// `location.href`.
    #[wasm_bindgen(method, getter)]
    pub fn href(this: &Place) -> JsValue;
    /// `location.assign(url)` (windows only).
    #[wasm_bindgen(method, catch)]
    pub fn assign(this: &Place, url: &str) -> Result<(), JsValue>;
}

/// `f(a, b)`; a throw is an `Err`.
pub fn call2(f: &Function, this: &JsValue, a: &JsValue, b: &JsValue) -> Result<JsValue, JsValue> {
    f.unchecked_ref::<Callable>().call2(this, a, b)
}

/// `f.bind(null, a, b, c)`.
pub fn bind3(f: &Function, a: &JsValue, b: &JsValue, c: f64) -> Function {
    f.unchecked_ref::<Callable>().bind3(&JsValue::NULL, a, b, c)
}

/// `f.bind(null, a, b)`.
pub fn bind2(f: &Function, a: &JsValue, b: &JsValue) -> Function {
    f.unchecked_ref::<Callable>().bind2(&JsValue::NULL, a, b)
}

/// `f.bind(null, a)`.
pub fn bind1(f: &Function, a: f64) -> Function {
    f.unchecked_ref::<Callable>().bind1(&JsValue::NULL, a)
}

thread_local! {
    /// `"www-authenticate"`, made once: the 401 path asks for it a thousand times in a herd.
    pub static WWW_AUTHENTICATE: JsValue = JsValue::from_str("www-authenticate");
}

/// The global object.
pub fn global() -> Global {
    js_sys::global().unchecked_into()
}

/// Milliseconds since the epoch.
pub fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// A string property name made once (each `JsValue::from_str` copies the string into JS).
pub fn name(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// A promise and the function that resolves it.
pub fn deferred() -> (Promise, Function) {
    let mut resolve = JsValue::UNDEFINED;
    let promise = Promise::new(&mut |res, _| resolve = res.into());
    // The executor runs before the constructor returns, so `resolve` is always the function
    // (callers call it through `catch` bindings, which would only return an error otherwise).
    (promise, resolve.unchecked_into())
}

/// A promise that resolves after `ms` milliseconds (no Rust closure: the timer calls the
/// promise's own resolve function).
pub fn sleep(ms: f64) -> Promise {
    Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    })
}

/// Reports an error thrown by an app's hook where the runtime shows such errors:
/// `reportError` (windows and workers), else `console.error` (Node).
pub fn report(error: &JsValue) {
    let report = global().report_error();
    if let Some(f) = report.dyn_ref::<Function>() {
        if f.call1(&JsValue::UNDEFINED, error).is_ok() {
            return;
        }
    }
    web_sys::console::error_1(error);
}

/// The page's (or worker's) location, if there is one.
pub fn place() -> Option<Place> {
    let loc = global().location();
    loc.is_object().then(|| loc.unchecked_into())
}

/// The page's origin, or `None` where there is none (Node, opaque origins).
pub fn page_origin() -> Option<String> {
    place()?.origin().as_string().filter(|o| o != "null")
}

/// The page's (or worker's) URL, or `None` (Node).
pub fn page_href() -> Option<String> {
    place()?.href().as_string()
}

/// The base URL fetch resolves a relative URL against, read now: in a window the document's
/// base URL (a `<base href>` counts), in a worker its location; `None` in Node.
pub fn base_url() -> Option<String> {
    base_url_js().as_string()
}

/// [`base_url`] as the JS string (undefined in Node), not copied into wasm memory.
pub fn base_url_js() -> JsValue {
    let doc = global().document();
    if doc.is_object() {
        if let Ok(base) = doc.unchecked_ref::<Doc>().base_uri() {
            if base.is_string() {
                return base;
            }
        }
    }
    place().map_or(JsValue::UNDEFINED, |p| p.href())
}

/// The origin of `url` resolved against `base`, as the WHATWG URL parser gives it.
pub fn origin_of(url: &str, base: Option<&str>) -> Option<String> {
    let parsed = match base {
        Some(b) => web_sys::Url::new_with_base(url, b),
        None => web_sys::Url::new(url),
    };
    parsed.ok().map(|u| u.origin())
}

/// The parts one after the other (no formatting machinery: a `format!` of strings costs more
/// code at each place it is written).
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// `http_<status>`: the code of an error for an HTTP status that says nothing more.
pub fn http_code(status: u16) -> String {
    let mut out = String::from("http_");
    let mut digits = [b'0'; 5];
    let mut n = status;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
    out
}

/// `value[key]`, or undefined when reading it throws.
pub fn get(value: &JsValue, key: &JsValue) -> JsValue {
    Reflect::get(value, key).unwrap_or(JsValue::UNDEFINED)
}

/// Defines a non-enumerable, read-only property on `target`.
pub fn define_value(target: &Object, key: &JsValue, value: &JsValue) {
    let d = Object::new();
    let _ = Reflect::set(&d, &name("value"), value);
    Object::define_property(target, key, &d);
}

/// Defines an enumerable getter on `target`.
pub fn define_getter(target: &Object, key: &JsValue, getter: &JsValue) {
    let d = Object::new();
    let _ = Reflect::set(&d, &name("get"), getter);
    let _ = Reflect::set(&d, &name("enumerable"), &JsValue::TRUE);
    Object::define_property(target, key, &d);
}

/// A `TypeError` with this message, as a value to throw or reject with.
pub fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// Runs a task (one boxed future type, so the executor is instantiated once).
pub fn spawn(f: impl core::future::Future<Output = ()> + 'static) {
    let f: core::pin::Pin<Box<dyn core::future::Future<Output = ()>>> = Box::pin(f);
    wasm_bindgen_futures::spawn_local(f);
}

/// The promise of an async path (one boxed future type, so the executor is instantiated once).
pub fn promise(
    f: impl core::future::Future<Output = Result<JsValue, JsValue>> + 'static,
) -> JsValue {
    let f: core::pin::Pin<Box<dyn core::future::Future<Output = Result<JsValue, JsValue>>>> =
        Box::pin(f);
    wasm_bindgen_futures::future_to_promise(f).into()
}

/// The `code` of an error (an OAuth error's, or `dpop_key_lost`), if it has one.
pub fn code_of(error: &JsValue) -> Option<String> {
    get(error, &name("code")).as_string()
}

/// An `Error` whose `code` says what went wrong (an OAuth error code, [`KEY_LOST`]).
pub fn coded_error(code: &str, description: Option<&str>) -> JsValue {
    let message = match description {
        Some(d) if !d.is_empty() => alloc::format!("{code}: {d}"),
        _ => String::from(code),
    };
    let e = js_sys::Error::new(&message);
    let _ = Reflect::set(&e, &name("code"), &JsValue::from_str(code));
    e.into()
}

/// The code (and `onAuthFailure` reason) when the key the tokens are bound to is gone.
pub const KEY_LOST: &str = "dpop_key_lost";

/// The code of a cookie session's refresh that the BFF refused (or that it cannot make: it
/// refreshes on its own side): the session is over.
pub const SESSION_EXPIRED: &str = "session_expired";

/// The platform's `crypto` (windows, workers, Node).
fn crypto() -> Result<web_sys::Crypto, JsValue> {
    get(&js_sys::global(), &name("crypto")).dyn_into()
}

/// `n` random bytes, base64url (from the platform's `crypto.getRandomValues`).
pub fn random(n: usize) -> Result<String, JsValue> {
    let crypto = crypto()?;
    let mut bytes = alloc::vec![0u8; n];
    crypto.get_random_values_with_u8_array(&mut bytes)?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

/// SHA-256 of `data`, from the platform's `crypto.subtle`.
pub async fn sha256(data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let digest = JsFuture::from(
        crypto()?
            .subtle()
            .digest_with_str_and_u8_array("SHA-256", data)?,
    )
    .await?;
    Ok(js_sys::Uint8Array::new(&digest).to_vec())
}

/// The platform's `crypto.subtle`, where there is one (secure contexts, workers, Node).
pub fn subtle() -> Option<SubtleCrypto> {
    let subtle = get(&crypto().ok()?.into(), &name("subtle"));
    subtle.dyn_into().ok()
}

/// A JS value inside a serialized object, passed through as it is.
pub struct Js<'a>(pub &'a JsValue);

impl Serialize for Js<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(self.0, s)
    }
}

/// Plain objects from Rust values: `None` fields as `null`.
pub fn to_js<T: Serialize>(value: &T) -> JsValue {
    let s = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    value.serialize(&s).unwrap_or(JsValue::UNDEFINED)
}
