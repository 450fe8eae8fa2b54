//! `AuthFetchCore`: the fetch plumbing around the pure [`Session`] and [`crate::policy`].
//!
//! The data flows one way: request → origin check → session (token, or wait) → fetch →
//! policy → session (retry, wait, refresh, hand back) → retry. The success path makes no
//! Rust future: the fetch promise is chained to one shared response handler, bound to each
//! request's small context array. Only a response that may need a refresh, a request that must
//! wait for one, or a body that must be copied first goes through the async path.
//!
//! Rule for reentrancy: no `RefCell` borrow is held while JS code that could reach the app runs
//! (its fetch, its hooks). Values are copied out first.

use alloc::rc::{Rc, Weak};
use alloc::string::String;
use core::cell::RefCell;
use js_sys::{Array, Date, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::challenges::challenges_to_js;
use super::glue;
use super::options::Options;
use crate::challenge::parse_challenges;
use crate::origin::{classify, Target};
use crate::policy::{decide, Facts, Header};
use crate::session::{Admit, Expiry, FlightId, Outcome, Session, Ticket, Unauthorized};

/// The object behind each function that `createAuthFetch` returns. Use `createAuthFetch`.
#[wasm_bindgen]
pub struct AuthFetchCore {
    inner: Rc<Inner>,
}

/// The refresh that is running, as the shell sees it.
struct Flight {
    id: FlightId,
    /// Resolves with `true` (new tokens) or `false` (failed, timed out, cancelled).
    promise: Promise,
    resolve: Function,
    controller: Option<web_sys::AbortController>,
    timer: Option<(JsValue, Closure<dyn FnMut()>)>,
    /// The request whose 401 started it, and that 401.
    url: JsValue,
    response: JsValue,
}

/// Why a refresh did not give tokens.
enum Failure {
    Rejected(JsValue),
    TimedOut,
}

/// A request as it is sent (after any snapshot of its body).
struct Req {
    input: JsValue,
    init: JsValue,
    url: JsValue,
    signal: JsValue,
}

struct Inner {
    opts: Options,
    /// Whether the page's own origin is allowed (relative URLs go there).
    page_allowed: bool,
    session: RefCell<Session>,
    flight: RefCell<Option<Flight>>,
    /// The JS-side values of the send paths (see `makeState` in glue.js): the Authorization
    /// value, the fetch to use, and the handler for error responses,
    /// `(response, input, init, generation, epoch) => response | Promise<Response>`.
    /// Only read after construction, so JS may run while it is borrowed.
    js: JsValue,
}

#[wasm_bindgen]
impl AuthFetchCore {
    /// Checks the options and loads stored tokens. Throws a `TypeError` naming a bad option.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<AuthFetchCore, JsValue> {
        let opts = Options::from_js(&options)?;
        let page_allowed = glue::page_origin().is_some_and(|o| opts.origins.contains(&o));
        let inner = Rc::new_cyclic(|weak: &Weak<Inner>| {
            let weak = weak.clone();
            let handler = Closure::<dyn FnMut(JsValue, JsValue, JsValue, f64, f64) -> JsValue>::new(
                move |response, input, init, generation: f64, epoch: f64| match weak.upgrade() {
                    Some(inner) => {
                        let ticket = Ticket::from_parts(generation as u64, epoch as u64, false);
                        inner.on_response(response, input, init, ticket)
                    }
                    None => response,
                },
            );
            let fetch_option = opts
                .fetch
                .as_ref()
                .map_or(JsValue::UNDEFINED, JsValue::from);
            let js = glue::make_state(&fetch_option, &handler.into_js_value());
            Inner {
                opts,
                page_allowed,
                session: RefCell::new(Session::new()),
                flight: RefCell::new(None),
                js,
            }
        });
        glue::setup_scratch();
        inner.load_stored();
        if let (true, Some(st)) = (inner.opts.cross_tab, &inner.opts.storage) {
            let weak = Rc::downgrade(&inner);
            let changed = Closure::<dyn FnMut(JsValue)>::new(move |_new_value: JsValue| {
                if let Some(inner) = weak.upgrade() {
                    inner.shared_tokens_changed();
                }
            });
            glue::on_storage(&st.key, &changed.into_js_value());
        }
        let weak = Rc::downgrade(&inner);
        let woke = Closure::<dyn FnMut()>::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.woke();
            }
        });
        glue::on_wake(&woke.into_js_value());
        Ok(AuthFetchCore { inner })
    }

    /// `fetch(input, init)` with the token attached, refreshed and retried as needed.
    pub fn fetch(&self, input: JsValue, init: JsValue) -> Promise {
        self.inner.fetch(input, init)
    }

    /// Installs tokens (after a login). An omitted `refreshToken` keeps the current one.
    #[wasm_bindgen(js_name = setTokens)]
    pub fn set_tokens(&self, tokens: JsValue) -> Result<(), JsValue> {
        let t = TokenSet::from_js(&tokens).map_err(|what| {
            let mut msg = String::from("setTokens: ");
            msg.push_str(what);
            JsValue::from(js_sys::TypeError::new(&msg))
        })?;
        let superseded =
            self.inner
                .session
                .borrow_mut()
                .set_tokens(t.access, t.refresh, t.expiry, now());
        self.inner.tokens_changed(true);
        if let Some(id) = superseded {
            self.inner.cancel_flight(id, Outcome::Succeeded);
        }
        Ok(())
    }

    /// Forgets both tokens, here and in storage (logout).
    #[wasm_bindgen(js_name = clearTokens)]
    pub fn clear_tokens(&self) {
        self.inner.logout(true);
    }

    /// The current access token, or `null`.
    #[wasm_bindgen(getter, js_name = accessToken, unchecked_return_type = "string | null")]
    pub fn access_token(&self) -> JsValue {
        self.inner
            .session
            .borrow()
            .access_token()
            .map_or(JsValue::NULL, JsValue::from_str)
    }
}

fn now() -> u64 {
    Date::now() as u64
}

/// A token set from the app or from its `refresh` hook.
struct TokenSet {
    access: String,
    refresh: Option<String>,
    expiry: Expiry,
}

impl TokenSet {
    /// A string (the access token) or `{ accessToken, refreshToken?, expiresIn? }`.
    fn from_js(v: &JsValue) -> Result<TokenSet, &'static str> {
        if let Some(access) = v.as_string() {
            return non_empty(access).map(|access| TokenSet {
                access,
                refresh: None,
                expiry: Expiry::Unknown,
            });
        }
        if !v.is_object() {
            return Err(
                "expected an access token string or { accessToken, refreshToken?, expiresIn? }",
            );
        }
        let field = |k: &str| Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
        let access = field("accessToken")
            .as_string()
            .and_then(|a| non_empty(a).ok())
            .ok_or("accessToken must be a non-empty string")?;
        let refresh = match field("refreshToken") {
            r if r.is_undefined() || r.is_null() => None,
            r => Some(r.as_string().ok_or("refreshToken must be a string")?),
        };
        let expiry = match field("expiresIn") {
            e if e.is_undefined() || e.is_null() => Expiry::Unknown,
            e => match e.as_f64() {
                Some(s) if s.is_finite() && s >= 0.0 => Expiry::In((s * 1000.0) as u64),
                _ => return Err("expiresIn must be a number of seconds, 0 or more"),
            },
        };
        Ok(TokenSet {
            access,
            refresh,
            expiry,
        })
    }
}

/// Tokens as kept in storage: the expiry is absolute there, so it holds across reloads and tabs.
struct StoredTokens {
    access: String,
    refresh: Option<String>,
    expires_at: Option<u64>,
}

impl StoredTokens {
    fn load(area: &JsValue, key: &str) -> Option<StoredTokens> {
        let stored = glue::load_tokens(area, key);
        if !Array::is_array(&stored) {
            return None;
        }
        let stored = Array::from(&stored);
        Some(StoredTokens {
            access: stored.get(0).as_string()?,
            refresh: stored.get(1).as_string(),
            expires_at: stored.get(2).as_f64().map(|at| at as u64),
        })
    }

    fn into_token_set(self) -> TokenSet {
        TokenSet {
            access: self.access,
            refresh: self.refresh,
            expiry: self.expires_at.map_or(Expiry::Unknown, Expiry::At),
        }
    }
}

fn non_empty(s: String) -> Result<String, &'static str> {
    if s.is_empty() {
        Err("the access token must be a non-empty string")
    } else {
        Ok(s)
    }
}

/// A plain object from key/value pairs.
fn object(pairs: &[(&str, &JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

impl Inner {
    /// Whether `url` may get the token.
    fn allowed(&self, url: &str) -> bool {
        match classify(url) {
            Target::Origin(o) => self.opts.origins.iter().any(|a| a == o),
            // Relative URLs go to the page's origin (and nowhere in Node, where fetch rejects them).
            Target::SameAsBase => self.page_allowed,
            _ => glue::origin_of(url, glue::page_href())
                .is_some_and(|o| self.opts.origins.contains(&o)),
        }
    }

    /// Admits a new request: the session's answer and the epoch it was admitted in. A proactive
    /// refresh that the answer calls for (the token is about to expire) is started here.
    fn admit(self: &Rc<Self>, input: &JsValue) -> (Admit, u64) {
        let epoch = self.session.borrow().epoch();
        let admit = self
            .session
            .borrow_mut()
            .admit(now(), self.opts.refresh_skew_ms);
        if let Admit::Refresh(id) = admit {
            let url = glue::url_of(input).map_or(JsValue::UNDEFINED, JsValue::from);
            let _ = self.start_flight(id, &url, &JsValue::UNDEFINED);
        }
        (admit, epoch)
    }

    fn fetch(self: &Rc<Self>, input: JsValue, init: JsValue) -> Promise {
        let js = &self.js;
        let allowed = match glue::request_url(&input) {
            glue::RequestUrl::Scratch(u) => self.allowed(u),
            glue::RequestUrl::Owned(u) => self.allowed(&u),
            glue::RequestUrl::None => false,
        };
        if !allowed {
            // Another origin, or not a URL at all: fetch's business, untouched.
            return glue::send_raw(js, &input, &init);
        }
        let (admit, epoch) = self.admit(&input);
        if let Admit::Send(ticket) = admit {
            let (generation, epoch, _) = ticket.to_parts();
            let sent = glue::send_fast(js, &input, &init, generation as f64, epoch as f64);
            if !sent.is_undefined() {
                return sent.unchecked_into();
            }
        }
        if glue::request_kind(&input, &init).unwrap_or(0) == 0 {
            // Its own Authorization header: sent as is, it need not wait for the refresh.
            return glue::send_raw(js, &input, &init);
        }
        let waiting = match admit {
            Admit::Send(_) => None,
            Admit::Refresh(id) | Admit::Wait(id) => Some((id, epoch)),
        };
        let this = Rc::clone(self);
        future_to_promise(async move { this.slow(input, init, waiting).await })
    }

    /// The fast path's handler for error responses (2xx and 3xx never reach it).
    fn on_response(
        self: Rc<Self>,
        response: JsValue,
        input: JsValue,
        init: JsValue,
        ticket: Ticket,
    ) -> JsValue {
        if !self.wants_refresh(&response) {
            return response;
        }
        let req = Req {
            url: glue::url_of(&input).map_or(JsValue::UNDEFINED, JsValue::from),
            signal: glue::signal_of(&input, &init),
            input,
            init,
        };
        future_to_promise(async move { self.after_response(req, ticket, response).await }).into()
    }

    /// The path for requests that must wait for a refresh (`waiting`: which one, and the epoch
    /// they were admitted in) or have their body copied first.
    async fn slow(
        self: Rc<Self>,
        input: JsValue,
        init: JsValue,
        waiting: Option<(FlightId, u64)>,
    ) -> Result<JsValue, JsValue> {
        let signal = glue::signal_of(&input, &init);
        let (input, init) = if glue::request_kind(&input, &init).unwrap_or(0) == 2 {
            let pair: Array = JsFuture::from(glue::snapshot(&input, &init))
                .await?
                .unchecked_into();
            (pair.get(0), pair.get(1))
        } else {
            (input, init)
        };
        let req = Req {
            url: glue::url_of(&input).map_or(JsValue::UNDEFINED, JsValue::from),
            input,
            init,
            signal,
        };
        let ticket = match waiting {
            Some((id, admitted)) => {
                let outcome = self.wait(self.flight_promise(id), &req.signal).await?;
                self.session.borrow().after_wait(admitted, outcome)
            }
            // Admitted for sending, then the body was copied: admit again, as things are now.
            None => match self.admit(&req.input) {
                (Admit::Send(t), _) => t,
                (Admit::Refresh(id) | Admit::Wait(id), epoch) => {
                    let outcome = self.wait(self.flight_promise(id), &req.signal).await?;
                    self.session.borrow().after_wait(epoch, outcome)
                }
            },
        };
        let response = JsFuture::from(self.send(&req)).await?;
        if !self.wants_refresh(&response) {
            return Ok(response);
        }
        self.after_response(req, ticket, response).await
    }

    /// A response that may need a refresh: retry, wait, refresh or hand it back.
    async fn after_response(
        self: Rc<Self>,
        req: Req,
        mut ticket: Ticket,
        mut response: JsValue,
    ) -> Result<JsValue, JsValue> {
        loop {
            let mut step = self.session.borrow_mut().unauthorized(ticket);
            loop {
                let promise = match step {
                    Unauthorized::Refresh(id) => self.start_flight(id, &req.url, &response),
                    Unauthorized::Wait(id) => self.flight_promise(id),
                    _ => break,
                };
                let outcome = self.wait(promise, &req.signal).await?;
                step = self.session.borrow().after_flight(outcome);
            }
            match step {
                Unauthorized::RetryNow(t) => {
                    self.emit("retry", &req.url, &[]);
                    response = JsFuture::from(self.send(&req)).await?;
                    ticket = t;
                    if !self.wants_refresh(&response) {
                        return Ok(response);
                    }
                }
                Unauthorized::HandBack {
                    report_retry_failure,
                } => {
                    if report_retry_failure {
                        self.auth_failure("retry_unauthorized", None, &req.url, &response);
                    }
                    return Ok(response);
                }
                Unauthorized::Refresh(_) | Unauthorized::Wait(_) => return Ok(response),
            }
        }
    }

    /// Sends `req` with the current token.
    fn send(&self, req: &Req) -> Promise {
        glue::send_authed(&self.js, &req.input, &req.init)
    }

    /// Whether a response calls for a refresh: the policy, unless the app's `shouldRefresh`
    /// says otherwise. Only error statuses are looked at.
    fn wants_refresh(&self, response: &JsValue) -> bool {
        let r: &web_sys::Response = response.unchecked_ref();
        let status = r.status();
        if status < 400 || (status != 401 && self.opts.should_refresh.is_none()) {
            return false;
        }
        let header = www_authenticate(response);
        let parsed = header.as_deref().map(parse_challenges);
        let builtin = match &parsed {
            None => decide(status, Header::Absent, Facts::default()),
            Some(Ok(c)) => decide(status, Header::Parsed(c), Facts::default()),
            Some(Err(e)) => decide(status, Header::Invalid(e), Facts::default()),
        }
        .is_refresh();
        let Some(hook) = &self.opts.should_refresh else {
            return builtin;
        };
        let challenges = challenges_to_js(
            parsed
                .as_ref()
                .and_then(|p| p.as_ref().ok())
                .map_or(&[][..], |c| &c[..]),
        );
        match hook.call2(&JsValue::UNDEFINED, response, &challenges) {
            Ok(v) => v.as_bool().unwrap_or(builtin),
            Err(e) => {
                glue::report(&e);
                builtin
            }
        }
    }

    /// Waits for a refresh's promise, or rejects with the caller's abort reason.
    async fn wait(&self, promise: Promise, signal: &JsValue) -> Result<Outcome, JsValue> {
        let ok = JsFuture::from(glue::abortable(&promise, signal)).await?;
        Ok(if ok.is_truthy() {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        })
    }

    fn flight_promise(&self, id: FlightId) -> Promise {
        match &*self.flight.borrow() {
            Some(f) if f.id == id => f.promise.clone(),
            _ => Promise::resolve(&JsValue::FALSE),
        }
    }

    /// Starts flight `id`: the app's `refresh` hook, under the cross-tab lock when tabs share
    /// tokens. `response` is the 401 that called for it, or undefined for a proactive refresh.
    /// Returns the flight's promise (`true` when new tokens are in place).
    fn start_flight(self: &Rc<Self>, id: FlightId, url: &JsValue, response: &JsValue) -> Promise {
        let pair = glue::deferred();
        let promise: Promise = pair.get(0).unchecked_into();
        let resolve: Function = pair.get(1).unchecked_into();
        let controller = web_sys::AbortController::new().ok();
        let timer = self.opts.refresh_timeout_ms.map(|ms| {
            let weak = Rc::downgrade(self);
            let on_timeout = Closure::<dyn FnMut()>::new(move || {
                if let Some(inner) = weak.upgrade() {
                    inner.settle(id, Err(Failure::TimedOut));
                }
            });
            (glue::set_timer(ms, on_timeout.as_ref()), on_timeout)
        });
        let signal = controller
            .as_ref()
            .map_or(JsValue::UNDEFINED, |c| c.signal().into());
        *self.flight.borrow_mut() = Some(Flight {
            id,
            promise: promise.clone(),
            resolve,
            controller,
            timer,
            url: url.clone(),
            response: response.clone(),
        });
        let proactive = JsValue::from(response.is_undefined());
        self.emit("refresh-start", url, &[("proactive", &proactive)]);
        match &self.opts.storage {
            Some(st) if self.opts.cross_tab => {
                let this = Rc::clone(self);
                let response = response.clone();
                let locked = Closure::once_into_js(move || -> Promise {
                    // Another tab may have refreshed while this one waited for the lock: use
                    // its tokens rather than present the refresh token a second time.
                    if let Some(st) = &this.opts.storage {
                        if let Some(stored) = StoredTokens::load(&st.area, &st.key) {
                            if this.session.borrow().should_adopt(Some(&stored.access)) {
                                this.settle(id, Ok(stored.into_token_set()));
                                return Promise::resolve(&JsValue::UNDEFINED);
                            }
                        }
                    }
                    this.run_refresh(id, &response, &signal)
                });
                let mut name = String::from("reauth:");
                name.push_str(&st.key);
                let _ = glue::with_lock(&name, self.opts.lock_timeout_ms, &locked);
            }
            _ => {
                let _ = self.run_refresh(id, response, &signal);
            }
        }
        promise
    }

    /// Calls the app's `refresh` hook for flight `id` (if still current); the promise resolves
    /// once the flight has settled (so a cross-tab lock is held until the tokens are stored).
    fn run_refresh(self: &Rc<Self>, id: FlightId, response: &JsValue, signal: &JsValue) -> Promise {
        if self.session.borrow().flight() != Some(id) {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        let refresh_token = self
            .session
            .borrow()
            .refresh_token()
            .map_or(JsValue::NULL, JsValue::from_str);
        let challenges = match www_authenticate(response).as_deref().map(parse_challenges) {
            Some(Ok(c)) => challenges_to_js(&c),
            _ => challenges_to_js(&[]),
        };
        // Bound, so that `ctx.fetch(…)` does not call the browser's fetch on `ctx`.
        let raw_fetch = match glue::fetch_of(&self.js).dyn_into::<Function>() {
            Ok(f) => f.bind0(&JsValue::UNDEFINED).into(),
            Err(other) => other,
        };
        let ctx = object(&[
            ("refreshToken", &refresh_token),
            ("challenges", &challenges),
            ("fetch", &raw_fetch),
            ("signal", signal),
        ]);
        match self.opts.refresh.call1(&JsValue::UNDEFINED, &ctx) {
            Err(thrown) => {
                self.settle(id, Err(Failure::Rejected(thrown)));
                Promise::resolve(&JsValue::UNDEFINED)
            }
            Ok(result) => {
                let this = Rc::clone(self);
                future_to_promise(async move {
                    let settled = JsFuture::from(Promise::resolve(&result)).await;
                    let tokens = settled.map_err(Failure::Rejected).and_then(|v| {
                        TokenSet::from_js(&v).map_err(|what| {
                            let mut msg = String::from("refresh resolved with bad tokens: ");
                            msg.push_str(what);
                            Failure::Rejected(js_sys::TypeError::new(&msg).into())
                        })
                    });
                    this.settle(id, tokens);
                    Ok(JsValue::UNDEFINED)
                })
            }
        }
    }

    /// The end of flight `id`: install the tokens or report the failure, then release the
    /// requests waiting for it. A flight that already ended (timed out, superseded) is ignored.
    fn settle(self: &Rc<Self>, id: FlightId, result: Result<TokenSet, Failure>) {
        let Some(flight) = self.take_flight(id) else {
            return;
        };
        let proactive = self.session.borrow().flight_is_proactive();
        let outcome = match result {
            Ok(t) => {
                self.session.borrow_mut().refresh_succeeded(
                    id,
                    t.access,
                    t.refresh,
                    t.expiry,
                    now(),
                );
                self.tokens_changed(true);
                self.emit("refresh-success", &flight.url, &[]);
                Outcome::Succeeded
            }
            Err(failure) => {
                self.session.borrow_mut().refresh_failed(id);
                let (reason, error) = match failure {
                    Failure::Rejected(e) => ("refresh_failed", e),
                    Failure::TimedOut => {
                        let e = js_sys::Error::new("the refresh took longer than refreshTimeoutMs");
                        e.set_name("TimeoutError");
                        let e = JsValue::from(e);
                        if let Some(c) = &flight.controller {
                            c.abort_with_reason(&e);
                        }
                        ("refresh_timeout", e)
                    }
                };
                self.emit(
                    "refresh-failure",
                    &flight.url,
                    &[
                        ("reason", &JsValue::from_str(reason)),
                        ("error", &error),
                        ("proactive", &JsValue::from(proactive)),
                    ],
                );
                // A failed proactive refresh is no failure yet: the token may still be good.
                // The requests go out with it, and a 401 then gets a refresh of its own.
                if !proactive {
                    self.auth_failure(reason, Some(&error), &flight.url, &flight.response);
                }
                Outcome::Failed
            }
        };
        let _ = flight.resolve.call1(
            &JsValue::UNDEFINED,
            &JsValue::from(outcome == Outcome::Succeeded),
        );
    }

    /// Takes flight `id` out of the slot (if it is still the current one) and stops its timer.
    fn take_flight(&self, id: FlightId) -> Option<Flight> {
        let flight = {
            let mut slot = self.flight.borrow_mut();
            match &*slot {
                Some(f) if f.id == id => slot.take(),
                _ => None,
            }
        }?;
        if let Some((handle, _)) = &flight.timer {
            glue::clear_timer(handle);
        }
        Some(flight)
    }

    /// Ends flight `id` without the hook's result (the app set or cleared the tokens).
    fn cancel_flight(&self, id: FlightId, outcome: Outcome) {
        let Some(flight) = self.take_flight(id) else {
            return;
        };
        if let Some(c) = &flight.controller {
            c.abort();
        }
        let _ = flight.resolve.call1(
            &JsValue::UNDEFINED,
            &JsValue::from(outcome == Outcome::Succeeded),
        );
    }

    /// Keeps the cached header value and the storage in step with the session.
    /// `store`: write them to storage too (not when they came from there).
    fn tokens_changed(&self, store: bool) {
        let (access, refresh, expires_at) = {
            let s = self.session.borrow();
            (
                s.access_token().map(String::from),
                s.refresh_token().map(String::from),
                s.expires_at_ms(),
            )
        };
        let value = match &access {
            Some(a) => {
                let mut v = String::with_capacity(a.len() + 7);
                v.push_str("Bearer ");
                v.push_str(a);
                JsValue::from(v)
            }
            None => JsValue::UNDEFINED,
        };
        glue::set_auth(&self.js, &value);
        if let (true, Some(st)) = (store, &self.opts.storage) {
            glue::store_tokens(
                &st.area,
                &st.key,
                access,
                refresh,
                expires_at.map(|e| e as f64),
            );
        }
    }

    /// Loads the tokens kept in storage, if any.
    fn load_stored(&self) {
        let Some(st) = &self.opts.storage else { return };
        let Some(stored) = StoredTokens::load(&st.area, &st.key) else {
            return;
        };
        let t = stored.into_token_set();
        self.session
            .borrow_mut()
            .set_tokens(t.access, t.refresh, t.expiry, now());
        self.tokens_changed(false);
    }

    /// Another tab changed the shared tokens: adopt new ones, or log out with it.
    fn shared_tokens_changed(&self) {
        let Some(st) = &self.opts.storage else { return };
        match StoredTokens::load(&st.area, &st.key) {
            Some(stored) => {
                if !self.session.borrow().should_adopt(Some(&stored.access)) {
                    return;
                }
                let t = stored.into_token_set();
                let superseded =
                    self.session
                        .borrow_mut()
                        .set_tokens(t.access, t.refresh, t.expiry, now());
                self.tokens_changed(false);
                if let Some(id) = superseded {
                    self.cancel_flight(id, Outcome::Succeeded);
                }
            }
            None => self.logout(false),
        }
    }

    /// Forgets the tokens (`store`: in storage too). With tabs sharing tokens, a logout reaches
    /// every tab, and each one's redirect hook runs (reason `logout`).
    fn logout(&self, store: bool) {
        let had_tokens = {
            let s = self.session.borrow();
            s.access_token().is_some() || s.refresh_token().is_some()
        };
        let cancelled = self.session.borrow_mut().clear();
        self.tokens_changed(store);
        if let Some(id) = cancelled {
            self.cancel_flight(id, Outcome::Failed);
        }
        if self.opts.cross_tab && had_tokens {
            let here = glue::page_href().map_or(JsValue::UNDEFINED, JsValue::from);
            self.auth_failure("logout", None, &here, &JsValue::UNDEFINED);
        }
    }

    /// A page that was hidden or offline is back: its timers may not have fired, so check
    /// the expiry now.
    fn woke(self: &Rc<Self>) {
        let id = self
            .session
            .borrow_mut()
            .check_expiry(now(), self.opts.refresh_skew_ms);
        if let Some(id) = id {
            let here = glue::page_href().map_or(JsValue::UNDEFINED, JsValue::from);
            let _ = self.start_flight(id, &here, &JsValue::UNDEFINED);
        }
    }

    /// Tells the app that re-authentication failed: its `onAuthFailure` hook, else a redirect
    /// to `loginUrl`. The hook gets a clone of the response, so the caller's body stays unread.
    fn auth_failure(
        &self,
        reason: &str,
        error: Option<&JsValue>,
        url: &JsValue,
        response: &JsValue,
    ) {
        let reason_js = JsValue::from_str(reason);
        self.emit("auth-failure", url, &[("reason", &reason_js)]);
        if let Some(hook) = &self.opts.on_auth_failure {
            let info = object(&[("reason", &reason_js), ("url", url)]);
            if !response.is_undefined() {
                let copy = response
                    .unchecked_ref::<web_sys::Response>()
                    .clone()
                    .map_or_else(|_| response.clone(), JsValue::from);
                let _ = Reflect::set(&info, &JsValue::from_str("response"), &copy);
            }
            if let Some(e) = error {
                let _ = Reflect::set(&info, &JsValue::from_str("error"), e);
            }
            if let Err(thrown) = hook.call1(&JsValue::UNDEFINED, &info) {
                glue::report(&thrown);
            }
        } else if let Some(login) = &self.opts.login_url {
            let mut target = login.clone();
            if let Some(here) = glue::page_href() {
                target.push(if login.contains('?') { '&' } else { '?' });
                target.push_str("return_to=");
                let encoded: String = js_sys::encode_uri_component(&here).into();
                target.push_str(&encoded);
            }
            glue::assign_location(&target);
        }
    }

    /// Calls the app's `onEvent` hook, if any; an error it throws is reported, not raised.
    fn emit(&self, kind: &str, url: &JsValue, extra: &[(&str, &JsValue)]) {
        let Some(hook) = &self.opts.on_event else {
            return;
        };
        let event = object(&[("type", &JsValue::from_str(kind)), ("url", url)]);
        for (k, v) in extra {
            let _ = Reflect::set(&event, &JsValue::from_str(k), v);
        }
        if let Err(thrown) = hook.call1(&JsValue::UNDEFINED, &event) {
            glue::report(&thrown);
        }
    }
}

/// The `WWW-Authenticate` header of a response, if the runtime shows it.
fn www_authenticate(response: &JsValue) -> Option<String> {
    if !response.is_object() {
        return None;
    }
    let r: &web_sys::Response = response.unchecked_ref();
    r.headers().get("www-authenticate").ok().flatten()
}
