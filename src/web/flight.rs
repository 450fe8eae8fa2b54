//! The refresh: one flight at a time (the session decides when one starts), the app's `refresh`
//! hook under the cross-tab lock, the timeout, and what the app hears about it (`onEvent`,
//! `onAuthFailure` or the `loginUrl` redirect).
//!
//! Requests waiting for a flight wait in Rust ([`super::wait::Waiters`]) and learn whether it
//! gave tokens. Its end is settled once, by whichever comes first: the hook's result, the timer,
//! or new tokens from the app. A result that comes after the timer (the token request was left
//! to finish: the server may have rotated the refresh token) is installed unless newer tokens
//! arrived meanwhile ([`crate::session::Session::answered_late`]).

use alloc::rc::Rc;
use js_sys::{Function, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

use super::js::{self, report, spawn, to_js, Js, KEY_LOST, SESSION_EXPIRED};
use super::options::TokenSet;
use super::response::{challenges_of, www_authenticate, ChallengeOut};
use super::store::Beat;
use super::wait::{RefreshWait, Waiters};
use super::{Shared, Shell};
use crate::session::{FlightId, Late};

/// The refresh that is running, as the shell sees it.
pub struct Flight {
    pub(super) id: FlightId,
    /// The requests waiting for it.
    pub(super) waiters: Waiters,
    /// Aborts `ctx.signal` (timeout, or tokens set or cleared meanwhile).
    pub(super) controller: Option<AbortController>,
    /// The timeout's timer, if there is one.
    pub(super) timer: JsValue,
    /// The request whose 401 started it (or that found the token about to expire).
    url: String,
    /// That 401, or undefined for a proactive refresh.
    response: JsValue,
    /// When it started (ms since the epoch): with the timeout, the deadline other tabs are told.
    started: u64,
    /// With `crossTab`: keeps the cross-tab lock's record fresh while the flight runs, so that
    /// no tab takes the lock from this one meanwhile.
    beat: Option<Beat>,
}

/// Why a refresh gave no tokens.
pub enum Failure {
    /// `refresh` threw or rejected (or resolved with something that is not tokens).
    Threw(JsValue),
    /// `refresh` resolved with `null`: the session is over (the app's word for `invalid_grant`).
    Ended,
    /// It took longer than `refreshTimeoutMs`.
    TimedOut,
}

/// What a failed refresh means for the session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gone {
    /// Nothing is known to be wrong with the tokens: a later 401 may try again.
    No,
    /// The session is over (`invalid_grant` from the built-in grant, or `refresh` resolved
    /// with `null`): the tokens are cleared everywhere, before the app is told.
    Grant,
    /// With DPoP, the key the tokens are bound to is gone from this tab: they are forgotten
    /// here.
    Key,
}

impl Failure {
    /// What this failure means for the session (`builtin`: the refresh was the built-in grant,
    /// whose `invalid_grant` says the grant is gone).
    fn gone(&self, builtin: bool) -> Gone {
        match self {
            Failure::Threw(e) => match js::code_of(e).as_deref() {
                Some("invalid_grant" | SESSION_EXPIRED) if builtin => Gone::Grant,
                Some(KEY_LOST) => Gone::Key,
                _ => Gone::No,
            },
            Failure::Ended => Gone::Grant,
            Failure::TimedOut => Gone::No,
        }
    }
}

/// What `onEvent` gets.
#[derive(Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Js<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proactive: Option<bool>,
}

/// What `onAuthFailure` gets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthFailure<'a> {
    reason: &'static str,
    url: &'a str,
    /// Where to come back to after a login: the page's URL (none in workers and Node).
    #[serde(skip_serializing_if = "Option::is_none")]
    return_to: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<Js<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Js<'a>>,
}

/// What `refresh` gets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefreshContext<'a> {
    refresh_token: Option<&'a str>,
    challenges: Vec<ChallengeOut<'a>>,
    fetch: Js<'a>,
    signal: Js<'a>,
}

/// Plain objects from Rust values: `None` fields left out.
fn to_object<T: Serialize>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::new())
        .unwrap_or(JsValue::UNDEFINED)
}

fn timeout_error() -> JsValue {
    let e = js_sys::Error::new("the refresh took longer than refreshTimeoutMs");
    e.set_name("TimeoutError");
    e.into()
}

/// The handler of refresh timeouts, shared by the flights of one `authFetch` (bound per flight to
/// its id). It holds the shell weakly and is owned by the JS garbage collector.
pub fn timeout_handler(shell: alloc::rc::Weak<Shell>) -> Function {
    let f = Closure::<dyn Fn(f64)>::new(move |id: f64| {
        let Some(s) = shell.upgrade() else { return };
        // A timer of a refresh that has ended meanwhile finds another one (or none) running.
        let current = s.shared.session.borrow().flight();
        if let Some(flight) = current.filter(|f| f.get() as f64 == id) {
            s.settle(flight, Err(Failure::TimedOut));
        }
    });
    f.into_js_value().unchecked_into()
}

impl Shared {
    /// A 401 waits for refresh `id`: when it is a proactive one that no 401 had joined yet, the
    /// flight takes this 401 (and its URL) as the one to report should it fail.
    pub(super) fn join_flight(
        &self,
        id: FlightId,
        url: impl FnOnce() -> String,
        response: &JsValue,
    ) {
        if let Some(f) = &mut *self.flight.borrow_mut() {
            if f.id == id && f.response.is_undefined() {
                f.response = response.clone();
                f.url = url();
            }
        }
    }

    /// Waits for refresh `id` while it runs; for one that has ended (a request whose body was
    /// being read while it ran), how it ended.
    pub(super) fn wait_flight(&self, id: FlightId) -> RefreshWait {
        if let Some(f) = &mut *self.flight.borrow_mut() {
            if f.id == id {
                return f.waiters.wait();
            }
        }
        let ok = self.session.borrow().outcome(id) == Some(crate::session::Outcome::Succeeded);
        RefreshWait::ended(ok)
    }

    /// The heartbeat of flight `id`'s cross-tab lock, if it holds one.
    fn beat_of(&self, id: FlightId) -> Option<Beat> {
        match &*self.flight.borrow() {
            Some(f) if f.id == id => f.beat.clone(),
            _ => None,
        }
    }
}

impl Shell {
    /// Calls `onEvent`, if there is one; what it throws is reported.
    pub(super) fn emit(
        &self,
        kind: &'static str,
        url: &str,
        reason: Option<&'static str>,
        error: Option<&JsValue>,
        proactive: Option<bool>,
    ) {
        let Some(hook) = &self.opts.on_event else {
            return;
        };
        let event = to_object(&Event {
            kind,
            url,
            reason,
            error: error.map(Js),
            proactive,
        });
        if let Err(e) = hook.call1(&JsValue::UNDEFINED, &event) {
            report(&e);
        }
    }

    /// Emits a retry event (the URL is copied out of JS only when there is a hook).
    pub(super) fn emit_retry(&self, url: impl FnOnce() -> String) {
        if self.opts.on_event.is_some() {
            self.emit("retry", &url(), None, None, None);
        }
    }

    /// Tells the app that re-authentication failed: its `onAuthFailure` hook, else a redirect
    /// to `loginUrl`. The hook gets a copy of the response, so the caller's body stays unread.
    pub(super) fn auth_failure(
        &self,
        reason: &'static str,
        error: Option<&JsValue>,
        url: &str,
        response: &JsValue,
    ) {
        self.emit("auth-failure", url, Some(reason), None, None);
        let here = js::page_href();
        if let Some(hook) = &self.opts.on_auth_failure {
            let copy = match response.dyn_ref::<web_sys::Response>() {
                Some(r) => web_sys::Response::clone(r).map(JsValue::from).ok(),
                None => None,
            };
            // A body already read cannot be copied: hand over the response itself.
            let copy = copy.unwrap_or_else(|| response.clone());
            let info = to_object(&AuthFailure {
                reason,
                url,
                return_to: here.as_deref(),
                response: (!copy.is_undefined()).then_some(Js(&copy)),
                error: error.map(Js),
            });
            // A `clearTokens()` in the hook is the app's answer to this failure, not a second
            // one to tell it about.
            let outer = self.in_failure_hook.replace(true);
            let called = hook.call1(&JsValue::UNDEFINED, &info);
            self.in_failure_hook.set(outer);
            if let Err(e) = called {
                report(&e);
            }
        } else if let (Some(a), Some(_)) = (&self.above, self.opts.bff()) {
            // A cookie session: a login at the BFF, back to this page (a logout in another
            // tab is no reason to leave this one).
            if reason != "logout" {
                if let Some(here) = here {
                    a.login_again(here);
                }
            }
        } else if let Some(login) = &self.opts.login_url {
            let Some(place) = js::place() else { return };
            let target = match here {
                None => login.clone(),
                Some(here) => {
                    let sep = if login.contains('?') { '&' } else { '?' };
                    let here = String::from(js_sys::encode_uri_component(&here));
                    alloc::format!("{login}{sep}return_to={here}")
                }
            };
            let _ = place.assign(&target);
        }
    }

    /// Starts refresh `id` (the session has just decided on it). `response` is the 401 that
    /// called for it, undefined for a proactive refresh. Waiting for it is
    /// [`Shared::wait_flight`].
    pub(super) fn start_flight(self: &Rc<Self>, id: FlightId, url: &str, response: &JsValue) {
        let controller = AbortController::new().ok();
        let timer = match self.opts.timeout_ms {
            // The shell's one timeout handler, bound to this flight: nothing to allocate or free
            // per refresh.
            Some(ms) => js::set_timeout(&js::bind1(&self.on_timeout, id.get() as f64), ms),
            None => JsValue::UNDEFINED,
        };
        let signal = controller
            .as_ref()
            .map_or(JsValue::UNDEFINED, |c| c.signal().into());
        let since = self.shared.session.borrow().generation();
        *self.shared.flight.borrow_mut() = Some(Flight {
            id,
            waiters: Waiters::default(),
            controller,
            timer,
            url: String::from(url),
            response: response.clone(),
            started: js::now(),
            beat: None,
        });
        self.emit(
            "refresh-start",
            url,
            None,
            None,
            Some(response.is_undefined()),
        );
        spawn(self.clone().run_flight(id, response.clone(), signal, since));
    }

    /// The flight's work: under the cross-tab lock when tabs share tokens, adopt what another
    /// tab stored meanwhile, else refresh. The lock is held until the refresh's work is done
    /// (its tokens are stored, or the token request a timed-out built-in grant left running
    /// has answered); its record stays fresh while the flight runs (see [`super::store`]).
    async fn run_flight(
        self: Rc<Self>,
        id: FlightId,
        response: JsValue,
        signal: JsValue,
        since: u64,
    ) {
        let sh = self.shared.clone();
        let store = match &sh.store {
            Some(store) if self.opts.cross_tab => store,
            _ => return self.refresh(id, &response, &signal, since).await,
        };
        // Other tabs do not take the lock before this flight's own deadline, nor while it beats.
        let started = sh.flight.borrow().as_ref().map_or(0, |f| f.started);
        let deadline = self
            .opts
            .timeout_ms
            .map_or(0, |ms| started.saturating_add(ms as u64));
        let lock = store.lock(self.opts.lock_timeout_ms, deadline).await;
        match &mut *sh.flight.borrow_mut() {
            Some(f) if f.id == id => f.beat = lock.beat(),
            // It ended while this tab waited for the lock (another tab's tokens arrived).
            _ => return,
        }
        // Another tab may have refreshed while this one waited for the lock: use its tokens
        // rather than present the refresh token a second time.
        if let Some(record) = store.load() {
            let adopt = sh.session.borrow().should_adopt(Some(record.access()));
            if adopt {
                return self.settle(id, Ok(record.into_tokens()));
            }
        }
        self.refresh(id, &response, &signal, since).await;
        drop(lock);
    }

    /// Refreshes for flight `id` (if it is still current) with the app's `refresh` hook or the
    /// built-in grant, and settles the flight with what it gives (or, if the flight ended
    /// first, installs a late answer: see [`Shell::answered_late`]).
    async fn refresh(
        self: &Rc<Self>,
        id: FlightId,
        response: &JsValue,
        signal: &JsValue,
        since: u64,
    ) {
        let sh = &self.shared;
        if sh.session.borrow().flight() != Some(id) {
            return;
        }
        let Some(hook) = &self.opts.refresh else {
            return self.grant(id, since).await;
        };
        let raw = self.fetch_fn();
        // Bound, so that `ctx.fetch(…)` does not call the browser's fetch on `ctx`.
        let fetch = match raw.dyn_ref::<Function>() {
            Some(f) => f.bind0(&JsValue::UNDEFINED).into(),
            None => raw,
        };
        let header = www_authenticate(response);
        // A cookie session's marker is no refresh token: the hook gets none.
        let refresh_token = match self.opts.bff() {
            Some(_) => None,
            None => sh.session.borrow().refresh_token().map(String::from),
        };
        let ctx = to_js(&RefreshContext {
            refresh_token: refresh_token.as_deref(),
            challenges: challenges_of(header.as_deref()),
            fetch: Js(&fetch),
            signal: Js(signal),
        });
        let result = match hook.call1(&JsValue::UNDEFINED, &ctx) {
            Err(e) => Err(Failure::Threw(e)),
            Ok(v) => match JsFuture::from(Promise::resolve(&v)).await {
                Err(e) => Err(Failure::Threw(e)),
                Ok(v) if v.is_null() => Err(Failure::Ended),
                // A cookie session: anything but null is a refreshed session.
                Ok(_) if self.opts.bff().is_some() => Ok(TokenSet::session()),
                Ok(v) => TokenSet::from_js(&v).map_err(|what| {
                    let msg = alloc::format!("refresh resolved with bad tokens: {what}");
                    Failure::Threw(js::type_error(&msg))
                }),
            },
        };
        self.finish(id, since, result)
    }

    /// The built-in refresh grant for flight `id`. Its token request is never aborted: were
    /// the server to rotate the refresh token and the answer be dropped, the next refresh would
    /// present a dead one (and a server with reuse detection would end the session). So a
    /// timed-out request finishes in the background, a later refresh waits for it, and its
    /// answer is installed unless newer tokens arrived meanwhile.
    async fn grant(self: &Rc<Self>, id: FlightId, since: u64) {
        let sh = &self.shared;
        let out = sh.grant.borrow().clone();
        if let Some(out) = out {
            let _ = JsFuture::from(out).await;
            // Its late answer, if any, ended this flight already (it superseded it).
            if sh.session.borrow().flight() != Some(id) {
                return;
            }
        }
        let (done, end) = js::deferred();
        *sh.grant.borrow_mut() = Some(done);
        // Other tabs keep waiting for the lock while the request is out, past the deadline.
        let beat = sh.beat_of(id);
        let result = match self.above.clone() {
            Some(a) => a.refresh(self.clone()).await,
            None => Err(js::type_error("reauth: options.refresh is required")),
        }
        .map_err(Failure::Threw);
        drop(beat);
        *sh.grant.borrow_mut() = None;
        let _ = end.call0(&JsValue::UNDEFINED);
        self.finish(id, since, result);
    }

    /// The result of flight `id`'s refresh: it settles the flight if the flight is still
    /// current; else it came late (see [`Shell::answered_late`]).
    fn finish(self: &Rc<Self>, id: FlightId, since: u64, result: Result<TokenSet, Failure>) {
        if self.shared.session.borrow().flight() == Some(id) {
            self.settle(id, result);
        } else {
            self.answered_late(since, result);
        }
    }

    /// A refresh's answer that came after its flight ended (it timed out, or tokens were set or
    /// cleared meanwhile; the callers already got their answer). Tokens are installed unless
    /// newer ones arrived meanwhile; after a logout, the refresh token they bring is revoked.
    /// `invalid_grant` means the grant is gone: the tokens of that grant are cleared.
    fn answered_late(self: &Rc<Self>, since: u64, result: Result<TokenSet, Failure>) {
        let sh = &self.shared;
        match result {
            Ok(t) => {
                let (bound, jkt, refresh) = (t.dpop, t.jkt.clone(), t.refresh.clone());
                let late = sh.session.borrow_mut().answered_late(
                    since,
                    t.access,
                    t.refresh,
                    t.expiry,
                    js::now(),
                );
                match late {
                    Late::Installed(superseded) => {
                        sh.bound.set(bound);
                        *sh.jkt.borrow_mut() = jkt;
                        sh.tokens_changed(true);
                        let url = js::page_href().unwrap_or_default();
                        self.emit("refresh-success", &url, Some("late"), None, None);
                        if let Some(id) = superseded {
                            sh.cancel_flight(id, true);
                        }
                    }
                    Late::Discarded => {
                        let logged_out = sh.session.borrow().refresh_token().is_none();
                        if let (true, Some(rt)) = (logged_out, refresh) {
                            if let Some(a) = self.above.clone() {
                                a.orphaned(self, rt);
                            }
                        }
                    }
                }
            }
            Err(failure @ (Failure::Threw(_) | Failure::Ended)) => {
                let unchanged = sh.session.borrow().generation() == since;
                if unchanged && failure.gone(self.opts.refresh.is_none()) == Gone::Grant {
                    let cancelled = sh.session.borrow_mut().clear();
                    sh.tokens_changed(true);
                    if let Some(id) = cancelled {
                        sh.cancel_flight(id, false);
                    }
                }
            }
            Err(Failure::TimedOut) => {}
        }
    }

    /// The end of flight `id`: install the tokens or report the failure, then release the
    /// requests waiting for it. A flight that already ended (timed out, superseded) is ignored.
    pub(super) fn settle(&self, id: FlightId, result: Result<TokenSet, Failure>) {
        let sh = &self.shared;
        let (proactive, reported) = {
            let s = sh.session.borrow();
            (s.flight_is_proactive(), s.failure_is_reported())
        };
        let Some(f) = sh.take_flight(id) else {
            return;
        };
        let ok = match result {
            Ok(t) => {
                sh.bound.set(t.dpop);
                *sh.jkt.borrow_mut() = t.jkt;
                let now = js::now();
                sh.session
                    .borrow_mut()
                    .refresh_succeeded(id, t.access, t.refresh, t.expiry, now);
                sh.tokens_changed(true);
                self.emit("refresh-success", &f.url, None, None, None);
                true
            }
            Err(failure) => {
                let gone = failure.gone(self.opts.refresh.is_none());
                match gone {
                    // A failed proactive refresh counts only once a 401 waits for it.
                    Gone::No => {
                        sh.session.borrow_mut().refresh_failed(id);
                    }
                    // No guess: the tokens cannot work any more, however the refresh started.
                    Gone::Grant | Gone::Key => {
                        sh.session.borrow_mut().refresh_revoked(id);
                        sh.tokens_changed(gone == Gone::Grant);
                    }
                }
                let (reason, error) = match failure {
                    Failure::TimedOut => {
                        let e = timeout_error();
                        if let Some(c) = &f.controller {
                            c.abort_with_reason(&e);
                        }
                        ("refresh_timeout", e)
                    }
                    Failure::Threw(e) if gone == Gone::Key => (KEY_LOST, e),
                    Failure::Threw(e) => ("refresh_failed", e),
                    Failure::Ended => ("refresh_failed", JsValue::UNDEFINED),
                };
                self.emit(
                    "refresh-failure",
                    &f.url,
                    Some(reason),
                    Some(&error),
                    Some(proactive),
                );
                // A failed proactive refresh is no failure yet: the token may still be good.
                // The requests go out with it, and a 401 then gets a refresh of its own. Once a
                // 401 waits for it, it is a failed refresh like any other; and a refresh that
                // finds the grant or the key gone is one however it started.
                if reported || gone != Gone::No {
                    self.auth_failure(reason, Some(&error), &f.url, &f.response);
                }
                false
            }
        };
        f.waiters.release(ok);
    }
}
