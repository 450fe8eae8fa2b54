//! One call: where it goes, what fetch reads of it (taken at call time), the token, fetch, the
//! 401 policy, the wait for a refresh, and the one retry.
//!
//! - Where: a URL is judged as fetch resolves it when the call is made. A relative one against
//!   the document's base URL (`document.baseURI`: a `<base href>` counts, even one added after
//!   `createAuthFetch`), in a worker against its location; it is then sent as that absolute URL,
//!   so that a retry goes where the first attempt went, whatever the page does meanwhile.
//! - What: `fetch(input, init)` reads `init` once, when called. So does `authFetch`: every
//!   member fetch reads (inherited ones and getters included) is copied at call time, the
//!   headers and a body the caller could change too (a `FormData` as a new one with the same
//!   entries); a waiting call and every retry send that copy. A `Request`'s body and a stream
//!   are read into bytes: engines other than Chromium cannot send a stream (`duplex: 'half'`).
//!   A `Request`'s body is read by its method, as Firefox has no `Request.body`.
//!
//! The success path (a Bearer token, a request that can go now, its body reusable as given)
//! makes no Rust future and no closure: the fetch promise is chained to one long-lived response
//! handler, bound to the request (`Function.prototype.bind`), and, for a call with an `init`
//! (which may carry a signal), to one long-lived rejection handler the same way: an aborted
//! call rejects with the abort's reason whatever error fetch gave. A response with an error status,
//! a request that must wait for a refresh, a body that must be read first (a `Request`, a
//! stream), or a DPoP-bound token (each request's proof is signed first) takes
//! the async path.
//!
//! No `RefCell` borrow is held while JS that could reach the app runs (its fetch, its hooks).

use alloc::rc::{Rc, Weak};
use alloc::vec::Vec;
use js_sys::{Array, ArrayBuffer, Function, Object, Promise, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortSignal, Blob, FormData, Headers, ReadableStream, Request, Url, UrlSearchParams,
};

use super::js::{self, promise, to_js, Carrier, Init, Js, Reply, View};
use super::options::BffConfig;
use super::response::{challenges_of, www_authenticate_js};
use super::wait::{abortable, settled};
use super::Shell;
use crate::challenge::parse_challenges;
use crate::origin::{classify, Target};

use crate::policy::{decide, Decision, Facts, Header, PassReason};
use crate::session::{Admit, FlightId, Outcome, Ticket, Unauthorized};

/// The members of a fetch `init` (RequestInit: the standard ones, then those one runtime reads:
/// Chromium's and Node's), in the order fetch reads them.
const INIT_MEMBERS: &[&str] = &[
    "adAuctionHeaders",
    "attributionReporting",
    "body",
    "browsingTopics",
    "cache",
    "credentials",
    "dispatcher",
    "duplex",
    "headers",
    "integrity",
    "keepalive",
    "method",
    "mode",
    "priority",
    "privateToken",
    "redirect",
    "referrer",
    "referrerPolicy",
    "sharedStorageWritable",
    "signal",
    "targetAddressSpace",
    "window",
];

thread_local! {
    /// [`INIT_MEMBERS`] as JS strings, made once.
    static MEMBERS: Vec<JsValue> = INIT_MEMBERS.iter().map(|m| JsValue::from_str(m)).collect();
    /// `Object.prototype`.
    static OBJECT_PROTOTYPE: JsValue = Object::get_prototype_of(&Object::new()).into();
}

/// Everything fetch reads of `init`, read once, now, into an object of the shell's own, with
/// its own copy of the headers. For a plain object (an object literal: nothing inherited but
/// `Object.prototype`'s) that is its own enumerable members, copied at once; otherwise (a class
/// instance, `Object.create(defaults)`) each member fetch reads, as `init[name]` gives it. A
/// getter that throws is an `Err`.
fn snapshot(init: &JsValue) -> Result<JsValue, JsValue> {
    let plain = init.is_object()
        && OBJECT_PROTOTYPE.with(|p| JsValue::from(Object::get_prototype_of(init)) == *p);
    let out: JsValue = if plain {
        js::assign(&Object::new(), init)?
    } else {
        let out = Object::new();
        MEMBERS.with(|names| -> Result<(), JsValue> {
            for name in names {
                let v = js_sys::Reflect::get(init, name)?;
                if !v.is_undefined() {
                    js_sys::Reflect::set(&out, name, &v)?;
                }
            }
            Ok(())
        })?;
        out.into()
    };
    let own: &Init = out.unchecked_ref();
    let headers = own.headers()?;
    if headers.is_object() {
        // In the shape given (fetch takes a record's own enumerable members, a sequence's pairs).
        let copy = if let Some(h) = headers.dyn_ref::<Headers>() {
            Headers::new_with_headers(h)?.into()
        } else if Array::is_array(&headers)
            || js_sys::Reflect::has(&headers, &js_sys::Symbol::iterator())?
        {
            js::array_from(&headers)?.into()
        } else {
            js::assign(&Object::new(), &headers)?
        };
        own.set_headers(&copy);
    }
    Ok(out)
}

/// A request as it is (re)sent: the input and the init without the token, the URL it goes to,
/// and the caller's abort signal.
pub struct Req {
    input: JsValue,
    init: JsValue,
    signal: Option<AbortSignal>,
    /// What the call must keep alive until it settles: the caller's `Request` and the copy made
    /// of it. Their signals follow the caller's through controllers that only they reference
    /// (Node's fetch links them weakly, nodejs/undici#3644); if they were collected while the
    /// call waits, aborting it would no longer reach it.
    _anchors: Option<(JsValue, JsValue)>,
}

impl Req {
    /// The URL, for events and hooks (copied out of JS only when one needs it).
    fn url(&self) -> String {
        url_of(&self.input).unwrap_or_default()
    }
}

/// How a request to an allowed origin goes out.
enum Prepared {
    /// It carries its own `Authorization` (or could not be looked at): sent as given.
    Own,
    /// It can be sent, and sent again, as this init (the body copied where the caller could
    /// change it after the call).
    Ready(JsValue),
    /// Its body must be read into bytes first (a `Request`, a stream); the
    /// carrier holds it as it was at call time.
    Carried(Carried),
}

/// A body (or a whole `Request`) taken at call time, to be read into bytes.
enum Carried {
    /// A `Request` input, copied with `new Request(input, init)`.
    Request(Request),
    /// A stream body in `init`, held by a `Response`.
    Body {
        carrier: Carrier,
        url: JsValue,
        init: JsValue,
    },
}

/// The URL a fetch input names, or `None` when it is none of string, `URL` or `Request`.
pub(super) fn url_of(input: &JsValue) -> Option<String> {
    if let Some(s) = input.as_string() {
        return Some(s);
    }
    if let Some(u) = input.dyn_ref::<Url>() {
        return Some(u.href());
    }
    input.dyn_ref::<Request>().map(Request::url)
}

/// A fetch input: a string or `URL` (`is_request` false), or a `Request`.
struct Input<'a> {
    value: &'a JsValue,
    is_request: bool,
}

/// Whether a `headers` value (any of the shapes fetch accepts) names `Authorization`.
fn has_authorization(headers: &JsValue) -> Result<bool, JsValue> {
    if headers.is_null_or_undefined() {
        return Ok(false);
    }
    if let Some(h) = headers.dyn_ref::<Headers>() {
        return h.has("authorization");
    }
    let is_auth = |name: JsValue| {
        name.as_string()
            .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
    };
    if Array::is_array(headers) || js_sys::Reflect::has(headers, &js_sys::Symbol::iterator())? {
        for pair in js::array_from(headers)?.iter() {
            if is_auth(js::get(&pair, &JsValue::from_f64(0.0))) {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    Ok(js::keys(headers)?.iter().any(is_auth))
}

/// A copy of a body the caller could change after the call (an `ArrayBuffer`, a view of one,
/// `URLSearchParams`), or `None` when it can be sent as it is.
fn copy_of(body: &JsValue) -> Option<JsValue> {
    if let Some(b) = body.dyn_ref::<ArrayBuffer>() {
        return Some(b.slice(0).into());
    }
    if ArrayBuffer::is_view(body) {
        let view: &View = body.unchecked_ref();
        let bytes = Uint8Array::new_with_byte_offset_and_length(
            &view.buffer(),
            view.byte_offset(),
            view.byte_length(),
        );
        return Some(bytes.slice(0, bytes.length()).into());
    }
    if let Some(p) = body.dyn_ref::<UrlSearchParams>() {
        return UrlSearchParams::new_with_str(&String::from(p.to_string()))
            .ok()
            .map(JsValue::from);
    }
    None
}

/// A new `FormData` with the entries of `form` as they are now: its strings, and its `File`s
/// (immutable), so each attempt sends the form as it was at call time. Fetch encodes it for
/// each attempt, with a boundary of its own; WebKit cannot read a form with files back into
/// bytes, so this is how every engine keeps it.
fn copy_form(form: &FormData) -> Result<FormData, JsValue> {
    let copy = FormData::new()?;
    for entry in js::array_from(form)?.iter() {
        let name = js::get(&entry, &JsValue::from_f64(0.0))
            .as_string()
            .unwrap_or_default();
        let value = js::get(&entry, &JsValue::from_f64(1.0));
        match value.as_string() {
            Some(text) => copy.append_with_str(&name, &text)?,
            None => copy.append_with_blob(&name, value.unchecked_ref())?,
        }
    }
    Ok(copy)
}

/// `response`, or the abort's reason where the call was aborted before it settled.
fn unless_aborted(signal: Option<&AbortSignal>, response: JsValue) -> Result<JsValue, JsValue> {
    match signal {
        Some(s) if s.aborted() => Err(s.reason()),
        _ => Ok(response),
    }
}

/// What a call whose fetch rejected rejects with: the abort's reason where the call was
/// aborted before it settled (WebKit can reject an aborted fetch with its network error), else
/// fetch's own error.
fn aborted_or(signal: Option<&AbortSignal>, error: JsValue) -> JsValue {
    match signal {
        Some(s) if s.aborted() => s.reason(),
        _ => error,
    }
}

thread_local! {
    /// The success path's rejection handler for calls with a signal, shared by every call
    /// (bound per call to its input and init): see [`aborted_or`].
    static ON_REJECTION: Function = Closure::<dyn Fn(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
        |input: JsValue, init: JsValue, error: JsValue| {
            Err(aborted_or(signal_of(&input, &init).as_ref(), error))
        },
    )
    .into_js_value()
    .unchecked_into();
}

/// Looks at a request to an allowed origin (see [`Prepared`]).
fn prepare(input: Input<'_>, init: &JsValue) -> Result<Prepared, JsValue> {
    let given = !init.is_null_or_undefined();
    if !given && !input.is_request {
        // The common call, `authFetch(url)`: nothing to look at.
        return Ok(Prepared::Ready(JsValue::UNDEFINED));
    }
    let request = if input.is_request {
        Some(input.value.unchecked_ref::<Request>())
    } else {
        None
    };
    let input = input.value;
    // What fetch reads of init, as it is now; sent, and sent again, as taken.
    let taken = if given {
        snapshot(init)?
    } else {
        JsValue::UNDEFINED
    };
    let init = &taken;
    let init_headers = if given {
        init.unchecked_ref::<Init>().headers()?
    } else {
        JsValue::UNDEFINED
    };
    let headers = match request {
        Some(r) if init_headers.is_undefined() => r.headers().into(),
        _ => init_headers,
    };
    if has_authorization(&headers)? {
        return Ok(Prepared::Own);
    }
    if let Some(r) = request {
        let copy = if given {
            Request::new_with_request_and_init(r, init.unchecked_ref())?
        } else {
            Request::new_with_request(r)?
        };
        return Ok(Prepared::Carried(Carried::Request(copy)));
    }
    let body = if given {
        init.unchecked_ref::<Init>().body()?
    } else {
        JsValue::UNDEFINED
    };
    if body.is_null_or_undefined() || body.is_string() || body.is_instance_of::<Blob>() {
        return Ok(Prepared::Ready(init.clone()));
    }
    if let Some(copy) = copy_of(&body) {
        init.unchecked_ref::<Init>().set_body(&copy);
        return Ok(Prepared::Ready(init.clone()));
    }
    if let Some(form) = body.dyn_ref::<FormData>() {
        init.unchecked_ref::<Init>()
            .set_body(&copy_form(form)?.into());
        return Ok(Prepared::Ready(init.clone()));
    }
    let streamed = body.is_instance_of::<ReadableStream>()
        || js_sys::Reflect::has(&body, &js_sys::Symbol::async_iterator()).unwrap_or(false);
    if streamed {
        let carrier = Carrier::new(&body)?;
        let url = JsValue::from(url_of(input).unwrap_or_default());
        return Ok(Prepared::Carried(Carried::Body {
            carrier,
            url,
            init: init.clone(),
        }));
    }
    Ok(Prepared::Ready(init.clone()))
}

/// Names of the `Request` members a copied request keeps (mode is special: `navigate` cannot
/// be set).
const REQUEST_FIELDS: &[&str] = &[
    "method",
    "credentials",
    "cache",
    "redirect",
    "referrer",
    "referrerPolicy",
    "integrity",
    "keepalive",
    "signal",
];

impl Carried {
    /// The object holding the body as it was at call time.
    fn holder(&self) -> JsValue {
        match self {
            Carried::Request(r) => JsValue::clone(r.as_ref()),
            Carried::Body { carrier, .. } => JsValue::clone(carrier.as_ref()),
        }
    }

    /// Reads the body into bytes; resolves with the input and init to send (and send again).
    async fn read(self) -> Result<(JsValue, JsValue), JsValue> {
        match self {
            Carried::Request(req) => {
                // By its method, not by `Request.body`, which Firefox does not have.
                let method = req.method();
                let body = if method == "GET" || method == "HEAD" {
                    JsValue::NULL
                } else {
                    let bytes = JsFuture::from(req.array_buffer()?).await?;
                    if bytes.unchecked_ref::<ArrayBuffer>().byte_length() == 0 {
                        JsValue::NULL
                    } else {
                        bytes
                    }
                };
                let init = Object::new();
                for name in REQUEST_FIELDS {
                    let key = js::name(name);
                    let _ = js_sys::Reflect::set(&init, &key, &js::get(&req, &key));
                }
                let mode = js::get(&req, &js::name("mode"));
                let mode = if mode.as_string().as_deref() == Some("navigate") {
                    js::name("same-origin")
                } else {
                    mode
                };
                let _ = js_sys::Reflect::set(&init, &js::name("mode"), &mode);
                let headers = Headers::new_with_headers(&req.headers())?;
                let init: &Init = init.unchecked_ref();
                init.set_headers(&headers);
                init.set_body(&body);
                Ok((req.url().into(), init.into()))
            }
            Carried::Body { carrier, url, init } => {
                let r: &web_sys::Response = carrier.unchecked_ref();
                let bytes = JsFuture::from(r.array_buffer()?).await?;
                let next = js::assign(&Object::new(), &init)?;
                let next: &Init = next.unchecked_ref();
                next.set_body(&bytes);
                Ok((url, next.into()))
            }
        }
    }
}

/// `init` with `Authorization: <value>` (and `DPoP: <proof>`) added, in the shape its headers
/// were given.
pub(super) fn with_authorization(
    init: &JsValue,
    value: &JsValue,
    proof: Option<&JsValue>,
) -> Result<JsValue, JsValue> {
    if init.is_null_or_undefined() {
        let record = Object::new();
        record.unchecked_ref::<Init>().set_authorization(value);
        if let Some(p) = proof {
            record.unchecked_ref::<Init>().set_dpop(p);
        }
        let next = Object::new();
        next.unchecked_ref::<Init>().set_headers(&record);
        return Ok(next.into());
    }
    let next = js::assign(&Object::new(), init)?;
    let next_init: &Init = next.unchecked_ref();
    let h = next_init.headers()?;
    let headers: JsValue = if h.is_null_or_undefined() {
        let record = Object::new();
        record.unchecked_ref::<Init>().set_authorization(value);
        if let Some(p) = proof {
            record.unchecked_ref::<Init>().set_dpop(p);
        }
        record.into()
    } else if let Some(h) = h.dyn_ref::<Headers>() {
        let copy = Headers::new_with_headers(h)?;
        copy.set("authorization", &value.as_string().unwrap_or_default())?;
        if let Some(p) = proof {
            copy.set("dpop", &p.as_string().unwrap_or_default())?;
        }
        copy.into()
    } else if Array::is_array(&h) || js_sys::Reflect::has(&h, &js_sys::Symbol::iterator())? {
        let list = js::array_from(&h)?;
        list.push(&Array::of2(&js::name("authorization"), value));
        if let Some(p) = proof {
            list.push(&Array::of2(&js::name("dpop"), p));
        }
        list.into()
    } else {
        let record = js::assign(&Object::new(), &h)?;
        record.unchecked_ref::<Init>().set_authorization(value);
        if let Some(p) = proof {
            record.unchecked_ref::<Init>().set_dpop(p);
        }
        record
    };
    next_init.set_headers(&headers);
    Ok(next)
}

/// `init` for a cookie session (`options.bff`) of a request for `input`: the BFF's anti-CSRF
/// headers added (the OAuth Agent's CSRF value too, once known, unless the request is a GET or
/// HEAD), in the shape its headers were given, and `credentials: 'include'` (the cookie goes to
/// a BFF on another origin of the site too) and `redirect: 'manual'` (a redirect to a login
/// page is an expired session, not a page to fetch) unless the caller chose otherwise.
pub(super) fn with_session(
    input: &JsValue,
    init: &JsValue,
    bff: &BffConfig,
) -> Result<JsValue, JsValue> {
    let next: JsValue = if init.is_null_or_undefined() {
        Object::new().into()
    } else {
        js::assign(&Object::new(), init)?
    };
    let own: &Init = next.unchecked_ref();
    let h = own.headers()?;
    let mut add: Vec<(&str, &str)> = bff
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let csrf = bff.csrf.borrow();
    if let (Some(name), Some(value)) = (&bff.csrf_header, &*csrf) {
        let method = js::get(&next, &js::name("method"))
            .as_string()
            .or_else(|| input.dyn_ref::<Request>().map(Request::method))
            .unwrap_or_default()
            .to_ascii_uppercase();
        if !matches!(method.as_str(), "" | "GET" | "HEAD") {
            add.push((name, value));
        }
    }
    let record = |base: &JsValue| -> Result<JsValue, JsValue> {
        let r = js::assign(&Object::new(), base)?;
        for (name, value) in &add {
            js_sys::Reflect::set(&r, &JsValue::from_str(name), &JsValue::from_str(value))?;
        }
        Ok(r)
    };
    let headers: JsValue = if h.is_null_or_undefined() {
        record(&JsValue::UNDEFINED)?
    } else if let Some(h) = h.dyn_ref::<Headers>() {
        let copy = Headers::new_with_headers(h)?;
        for (name, value) in &add {
            copy.set(name, value)?;
        }
        copy.into()
    } else if Array::is_array(&h) || js_sys::Reflect::has(&h, &js_sys::Symbol::iterator())? {
        let list = js::array_from(&h)?;
        for (name, value) in &add {
            list.push(&Array::of2(
                &JsValue::from_str(name),
                &JsValue::from_str(value),
            ));
        }
        list.into()
    } else {
        record(&h)?
    };
    own.set_headers(&headers);
    for (member, value) in [("credentials", "include"), ("redirect", "manual")] {
        let key = js::name(member);
        if js::get(&next, &key).is_undefined() {
            js_sys::Reflect::set(&next, &key, &js::name(value))?;
        }
    }
    Ok(next)
}

/// Whether a response is a redirect fetch was told not to follow (`redirect: 'manual'`).
pub(super) fn is_opaque_redirect(response: &JsValue) -> bool {
    js::get(response, &js::name("type")).as_string().as_deref() == Some("opaqueredirect")
}

/// The signal of a fetch call, from init or from a `Request` input.
fn signal_of(input: &JsValue, init: &JsValue) -> Option<AbortSignal> {
    if !init.is_null_or_undefined() {
        if let Ok(s) = init.unchecked_ref::<Init>().signal() {
            if let Some(s) = s.dyn_ref::<AbortSignal>() {
                return Some(s.clone());
            }
        }
    }
    input.dyn_ref::<Request>().map(Request::signal)
}

/// The status of what fetch resolved with (0 when it has none).
pub(super) fn status_of(response: &JsValue) -> f64 {
    // NaN (no number there) compares as "not an error status", as in JS.
    response.unchecked_ref::<Reply>().status().unwrap_or(0.0)
}

/// A ticket as one number, exact in an f64: `(generation << 27) | (epoch << 1) | spent`,
/// generation and epoch saturating at 26 bits (67 million token sets or refreshes).
fn pack(t: Ticket) -> f64 {
    const FIELD: u64 = (1 << 26) - 1;
    let (generation, epoch, spent) = t.to_parts();
    ((generation.min(FIELD) << 27) | (epoch.min(FIELD) << 1) | spent as u64) as f64
}

fn unpack(x: f64) -> Ticket {
    let bits = x as u64;
    Ticket::from_parts(bits >> 27, (bits >> 1) & ((1 << 26) - 1), bits & 1 == 1)
}

fn outcome(ok: bool) -> Outcome {
    if ok {
        Outcome::Succeeded
    } else {
        Outcome::Failed
    }
}

/// The success path's response handler, shared by all requests of one `authFetch` (bound per
/// request to its input, init and ticket). It holds the shell weakly: a response that arrives
/// after the app dropped its `authFetch` is handed back as it is.
pub fn response_handler(shell: Weak<Shell>) -> Function {
    let handler =
        Closure::<dyn Fn(JsValue, JsValue, f64, JsValue) -> Result<JsValue, JsValue>>::new(
            move |input: JsValue, init: JsValue, ticket: f64, response: JsValue| {
                // WebKit can resolve a fetch whose signal was aborted a moment before: the call
                // rejects, as fetch's own contract says (only a call with an init has a signal to read).
                if !init.is_undefined() || input.is_instance_of::<Request>() {
                    unless_aborted(signal_of(&input, &init).as_ref(), JsValue::UNDEFINED)?;
                }
                // (Status 0: an opaque redirect, which a cookie session reads as an expired one.)
                let status = status_of(&response);
                if status < 400.0 && status != 0.0 {
                    return Ok(response);
                }
                let Some(s) = shell.upgrade() else {
                    return Ok(response);
                };
                if !s.wants_refresh(&response) {
                    return Ok(response);
                }
                let ticket = unpack(ticket);
                let req = Req {
                    signal: signal_of(&input, &init),
                    input,
                    init,
                    _anchors: None,
                };
                Ok(promise(s.after_response(req, ticket, response)))
            },
        );
    handler.into_js_value().unchecked_into()
}

impl Shell {
    /// The fetch to send with: the `fetch` option, else the global one read now (when it is an
    /// authFetch itself, the fetch that one wraps; failing that, the one there was when this
    /// one was made).
    pub(super) fn fetch_fn(&self) -> JsValue {
        if let Some(f) = &self.opts.fetch {
            return f.clone().into();
        }
        let f = super::unwrapped(js::global().fetch());
        if f.is_function() {
            f
        } else {
            self.fallback_fetch.clone()
        }
    }

    /// Calls fetch; a synchronous throw becomes a rejected promise, as fetch's own errors are.
    pub(super) fn fetch(&self, input: &JsValue, init: &JsValue) -> Promise {
        let sent = match &self.opts.fetch {
            Some(f) => js::call2(f, &JsValue::UNDEFINED, input, init),
            None => {
                let f = self.fetch_fn();
                match f.dyn_ref::<Function>() {
                    Some(f) => js::call2(f, &JsValue::UNDEFINED, input, init),
                    None => Err(js::type_error("reauth: there is no fetch to call")),
                }
            }
        };
        match sent {
            Ok(p) => match p.dyn_into::<Promise>() {
                Ok(p) => p,
                Err(v) => Promise::resolve(&v),
            },
            Err(e) => Promise::reject(&e),
        }
    }

    /// Sends `req` with the current token.
    fn send(self: &Rc<Self>, req: &Req) -> Promise {
        self.send_with(&req.input, &req.init)
    }

    /// Sends `input`, `init` with the current token: as `Bearer`, or as `DPoP` with a proof.
    fn send_with(self: &Rc<Self>, input: &JsValue, init: &JsValue) -> Promise {
        if let Some(bff) = self.opts.bff() {
            // A cookie session: the cookie is the credential; the session's marker never leaves.
            return match with_session(input, init, bff) {
                Ok(with) => self.fetch(input, &with),
                Err(e) => Promise::reject(&e),
            };
        }
        let auth = self.shared.auth.borrow().clone();
        if auth.is_undefined() {
            return self.fetch(input, init);
        }
        if self.shared.bound.get() {
            if let Some(p) = self
                .above
                .clone()
                .and_then(|a| a.send_bound(self, input, init, &auth))
            {
                return p;
            }
        }
        match with_authorization(init, &auth, None) {
            Ok(with) => self.fetch(input, &with),
            Err(e) => Promise::reject(&e),
        }
    }

    /// Whether `input` is a string that starts with an allowed origin followed by a path, query,
    /// fragment or nothing ([`crate::origin::prefix_is_origin`]).
    fn prefixed_by_origin(&self, input: &JsValue) -> bool {
        self.origin_prefix(input).is_some()
    }

    /// The allowed origin `text` (a JS string) starts with, followed by a path, query, fragment
    /// or nothing: its index in the options' origins. Tested without copying the string.
    fn origin_prefix(&self, text: &JsValue) -> Option<usize> {
        if !text.is_string() {
            return None;
        }
        let text: &js::Text = text.unchecked_ref();
        self.origin_values
            .iter()
            .zip(&self.opts.origins)
            .position(|(value, origin)| {
                text.starts_with(value) && {
                    let next = text.char_code_at(origin.len() as u32);
                    crate::origin::prefix_is_origin(if next.is_nan() {
                        None
                    } else {
                        Some(char::from_u32(next as u32).unwrap_or('\u{fffd}'))
                    })
                }
            })
    }

    /// Where `input` goes, if the token may go there: the input to send (a URL resolved as
    /// fetch resolves it now, when it was not absolute and plain), its URL, and whether it is a
    /// `Request`. `None`: another origin, or no URL at all (fetch's business).
    fn resolve(&self, input: &JsValue) -> Option<(JsValue, String, bool)> {
        let allowed = |origin: &str| self.opts.origins.iter().any(|a| a == origin);
        if let Some(url) = input.as_string() {
            let target = classify(&url);
            if let Target::Origin(o) = target {
                return allowed(o).then(|| (input.clone(), url.clone(), false));
            }
            // Relative: to the base URL fetch uses (a `<base href>` counts), read now.
            let base = js::base_url_js();
            if target == Target::SameAsBase {
                // It keeps the base's origin: none of ours, nothing to do.
                let i = self.origin_prefix(&base)?;
                if url.starts_with('/') {
                    // Path-absolute: that origin and this path, as the parser would join them
                    // (fetch normalizes the path the same way either way).
                    let absolute = self.origin_values[i]
                        .unchecked_ref::<js_sys::JsString>()
                        .concat(input);
                    let mut href = self.opts.origins[i].clone();
                    href.push_str(&url);
                    return Some((absolute.into(), href, false));
                }
            }
            // Path-relative, or an absolute form only the URL parser can read.
            let parsed = match base.as_string() {
                Some(b) => Url::new_with_base(&url, &b),
                None => Url::new(&url),
            }
            .ok()?;
            if !allowed(&parsed.origin()) {
                return None;
            }
            let href = parsed.href();
            return Some((JsValue::from_str(&href), href, false));
        }
        // A `URL` or a `Request`: absolute already.
        let url = url_of(input)?;
        let ok = match classify(&url) {
            Target::Origin(o) => allowed(o),
            _ => js::origin_of(&url, None).is_some_and(|o| allowed(&o)),
        };
        ok.then(|| (input.clone(), url, input.is_instance_of::<Request>()))
    }

    /// Admits a new request: the session's answer and the epoch it was admitted in. A
    /// proactive refresh it calls for (the token is about to expire) starts here.
    fn admit(self: &Rc<Self>, url: impl FnOnce() -> String) -> (Admit, u64) {
        let (admit, epoch) = {
            let mut s = self.shared.session.borrow_mut();
            let epoch = s.epoch();
            // The clock matters only for a token with a known expiry.
            let now = if s.expires_at_ms().is_some() {
                js::now()
            } else {
                0
            };
            (s.admit(now, self.opts.skew_ms), epoch)
        };
        if let Admit::Refresh(id) = admit {
            self.start_flight(id, &url(), &JsValue::UNDEFINED);
        }
        (admit, epoch)
    }

    /// `authFetch(input, init)`.
    pub(super) fn call(self: &Rc<Self>, input: JsValue, init: JsValue) -> JsValue {
        // An absolute URL string to an allowed origin is recognised without copying it into
        // wasm memory; anything else is copied and resolved.
        let (input, url, is_request) = if self.prefixed_by_origin(&input) {
            (input, None, false)
        } else {
            match self.resolve(&input) {
                Some((input, url, is_request)) => (input, Some(url), is_request),
                // Another origin, or not a URL at all: fetch's business, untouched.
                None => return self.fetch(&input, &init).into(),
            }
        };
        let url = || {
            url.clone()
                .unwrap_or_else(|| input.as_string().unwrap_or_default())
        };
        let (admit, epoch) = self.admit(url);
        let prepared = prepare(
            Input {
                value: &input,
                is_request,
            },
            &init,
        )
        .unwrap_or(Prepared::Own);
        let waiting = match admit {
            Admit::Send(_) => None,
            Admit::Wait(id) | Admit::Refresh(id) => Some((id, epoch)),
        };
        match prepared {
            // Its own Authorization header: sent as is, it need not wait for a refresh.
            Prepared::Own => self.fetch(&input, &init).into(),
            Prepared::Ready(init) => match admit {
                Admit::Send(ticket) => {
                    let sent = self.send_with(&input, &init);
                    let bound = js::bind3(&self.on_response, &input, &init, pack(ticket));
                    let sent: &js::Thenable = sent.unchecked_ref();
                    if init.is_undefined() {
                        // `authFetch(url)`: no signal to look at.
                        return sent.then(&bound).into();
                    }
                    let rejected = ON_REJECTION.with(|f| js::bind2(f, &input, &init));
                    sent.then2(&bound, &rejected).into()
                }
                Admit::Wait(id) | Admit::Refresh(id) => {
                    let req = Req {
                        signal: signal_of(&input, &init),
                        input,
                        init,
                        _anchors: None,
                    };
                    promise(self.clone().waited(req, (id, epoch)))
                }
            },
            Prepared::Carried(carried) => {
                let signal = signal_of(&input, &init);
                promise(self.clone().carried(carried, input, signal, waiting))
            }
        }
    }

    /// A request whose body had to be read first: read it, then go on as any other.
    async fn carried(
        self: Rc<Self>,
        carried: Carried,
        original: JsValue,
        signal: Option<AbortSignal>,
        waiting: Option<(FlightId, u64)>,
    ) -> Result<JsValue, JsValue> {
        let holder = carried.holder();
        let (input, init) = carried.read().await?;
        let req = Req {
            input,
            init,
            signal,
            _anchors: Some((original, holder)),
        };
        let waiting = match waiting {
            Some(w) => w,
            None => {
                // Admitted for sending, then the body was read: admit again, as things are now.
                let (admit, epoch) = self.admit(|| req.url());
                match admit {
                    Admit::Send(ticket) => return self.sent(req, ticket).await,
                    Admit::Wait(id) | Admit::Refresh(id) => (id, epoch),
                }
            }
        };
        self.waited(req, waiting).await
    }

    /// A request that waits for refresh `id` (admitted in `epoch`), then goes out.
    async fn waited(
        self: Rc<Self>,
        req: Req,
        (id, epoch): (FlightId, u64),
    ) -> Result<JsValue, JsValue> {
        let ok = abortable(self.shared.wait_flight(id), req.signal.as_ref()).await?;
        let ticket = self.shared.session.borrow().after_wait(epoch, outcome(ok));
        self.sent(req, ticket).await
    }

    /// Sends `req` (admitted with `ticket`) and handles what comes back.
    async fn sent(self: Rc<Self>, req: Req, ticket: Ticket) -> Result<JsValue, JsValue> {
        let response = settled(&self.send(&req))
            .await
            .map_err(|e| aborted_or(req.signal.as_ref(), e))?;
        if self.wants_refresh(&response) {
            return self.after_response(req, ticket, response).await;
        }
        unless_aborted(req.signal.as_ref(), response)
    }

    /// A response that may need a refresh: retry, wait, refresh or hand it back. A call
    /// aborted before this settles (while a refresh it waited for was failing, say) rejects
    /// with the abort's reason, as fetch does for an abort before its response.
    async fn after_response(
        self: Rc<Self>,
        req: Req,
        ticket: Ticket,
        response: JsValue,
    ) -> Result<JsValue, JsValue> {
        let signal = req.signal.clone();
        let response = self.handle_response(req, ticket, response).await?;
        unless_aborted(signal.as_ref(), response)
    }

    /// What [`Self::after_response`] does with the response.
    async fn handle_response(
        self: Rc<Self>,
        req: Req,
        mut ticket: Ticket,
        mut response: JsValue,
    ) -> Result<JsValue, JsValue> {
        loop {
            let mut step = self.shared.session.borrow_mut().unauthorized(ticket);
            loop {
                let wait = match step {
                    Unauthorized::Refresh(id) => {
                        self.start_flight(id, &req.url(), &response);
                        self.shared.wait_flight(id)
                    }
                    Unauthorized::Wait(id) => {
                        self.shared.join_flight(id, || req.url(), &response);
                        self.shared.wait_flight(id)
                    }
                    _ => break,
                };
                let ok = abortable(wait, req.signal.as_ref()).await?;
                step = self.shared.session.borrow().after_flight(outcome(ok));
            }
            match step {
                Unauthorized::RetryNow(t) => {
                    self.emit_retry(|| req.url());
                    response = settled(&self.send(&req))
                        .await
                        .map_err(|e| aborted_or(req.signal.as_ref(), e))?;
                    ticket = t;
                    if !self.wants_refresh(&response) {
                        return Ok(response);
                    }
                }
                Unauthorized::HandBack {
                    report_retry_failure,
                } => {
                    if report_retry_failure {
                        self.auth_failure("retry_unauthorized", None, &req.url(), &response);
                    }
                    return Ok(response);
                }
                // The inner loop leaves only on the two answers above.
                Unauthorized::Refresh(_) | Unauthorized::Wait(_) => return Ok(response),
            }
        }
    }

    /// Whether a response calls for a refresh: the policy, unless `shouldRefresh` says
    /// otherwise. Only error statuses are looked at.
    pub(super) fn wants_refresh(self: &Rc<Self>, response: &JsValue) -> bool {
        let status = status_of(response);
        if status == 0.0 && self.opts.bff().is_some() && is_opaque_redirect(response) {
            // A BFF that answers a fetch with a redirect to its login page: the session is over
            // (or needs a refresh), as a 401 would say.
            return self.ask_should_refresh(response, None, true);
        }
        if status < 400.0 || (status != 401.0 && self.opts.should_refresh.is_none()) {
            return false;
        }
        let status = status as u16;
        let header_js = www_authenticate_js(response);
        // A herd of 401s carries the same header a thousand times: the last answer for a 401
        // is kept, keyed by the header value as JS holds it (`===`, no copy).
        if status == 401 && self.opts.should_refresh.is_none() {
            if let Some((h, answer)) = &*self.last_policy.borrow() {
                if *h == header_js {
                    return *answer;
                }
            }
        }
        let header = header_js.as_string();
        let parsed = header.as_deref().map(parse_challenges);
        let decision = match &parsed {
            None => decide(status, Header::Absent, Facts::default()),
            Some(Ok(c)) => decide(status, Header::Parsed(c), Facts::default()),
            Some(Err(e)) => decide(status, Header::Invalid(e), Facts::default()),
        };
        let builtin = decision.is_refresh();
        if let Decision::Pass(PassReason::StepUp {
            acr_values,
            max_age,
        }) = decision
        {
            // Not kept as the last answer: each burst of step-up 401s is signalled.
            self.step_up(acr_values, max_age, response);
            return self.ask_should_refresh(response, header.as_deref(), builtin);
        }
        if self.opts.should_refresh.is_none() {
            if status == 401 {
                *self.last_policy.borrow_mut() = Some((header_js, builtin));
            }
            return builtin;
        }
        self.ask_should_refresh(response, header.as_deref(), builtin)
    }

    /// The app's `shouldRefresh` answer (the built-in one where it throws or says nothing).
    fn ask_should_refresh(&self, response: &JsValue, header: Option<&str>, builtin: bool) -> bool {
        let Some(rule) = &self.opts.should_refresh else {
            return builtin;
        };
        let challenges = js::to_js(&challenges_of(header));
        match rule.call2(&JsValue::UNDEFINED, response, &challenges) {
            Ok(v) => v.as_bool().unwrap_or(builtin),
            Err(e) => {
                js::report(&e);
                builtin
            }
        }
    }
}

impl Shell {
    /// A 401 `insufficient_user_authentication` (RFC 9470): `onStepUp`, else the layer above
    /// (with `oauth`: a login that asks for `acr_values` / `max_age` and comes back here). Once per burst: the
    /// 401s of one token set within [`STEP_UP_BURST_MS`] are one step-up.
    pub(super) fn step_up(
        self: &Rc<Self>,
        acr_values: Option<&str>,
        max_age: Option<u64>,
        response: &JsValue,
    ) {
        let generation = self.shared.session.borrow().generation();
        let now = js::now();
        if let Some((g, at)) = self.step_up.get() {
            if g == generation && now.saturating_sub(at) < STEP_UP_BURST_MS {
                return;
            }
        }
        self.step_up.set(Some((generation, now)));
        let url = response
            .dyn_ref::<web_sys::Response>()
            .map(web_sys::Response::url)
            .unwrap_or_default();
        self.emit("step-up", &url, None, None, None);
        if let Some(hook) = &self.opts.on_step_up {
            // A copy, so that the caller's body stays unread.
            let copy = response
                .dyn_ref::<web_sys::Response>()
                .and_then(|r| r.clone().ok())
                .map_or_else(|| response.clone(), JsValue::from);
            let info = to_js(&StepUp {
                acr_values,
                max_age,
                url: &url,
                response: Js(&copy),
            });
            match hook.call1(&JsValue::UNDEFINED, &info) {
                Err(e) => js::report(&e),
                Ok(v) => report_rejection(&v),
            }
        } else if let Some(a) = self.above.clone() {
            a.step_up(self, acr_values, max_age);
        }
    }
}

/// Step-up 401s of one token set this close together are one burst.
pub const STEP_UP_BURST_MS: u64 = 2_000;

/// What `onStepUp` gets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepUp<'a> {
    acr_values: Option<&'a str>,
    max_age: Option<u64>,
    url: &'a str,
    response: Js<'a>,
}

/// Reports the rejection of what a hook returned, if it is a promise that rejects.
fn report_rejection(value: &JsValue) {
    if let Some(p) = value.dyn_ref::<Promise>() {
        let p = p.clone();
        js::spawn(async move {
            if let Err(e) = JsFuture::from(p).await {
                js::report(&e);
            }
        });
    }
}
