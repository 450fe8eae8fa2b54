//! The shell: the WebAssembly module's exports, built on wasm-bindgen, and everything an
//! `authFetch` does around the pure core.
//!
//! Five layers, each importing only from its own and those below it (no circle; checked by
//! `tests/layers.rs` from the source):
//!
//! ```text
//!   exports      createAuthFetch, parseChallenges: puts the core and the layer above together
//!   ────────────────────────────────────────────────────────────────────────────────────────
//!   above        oauth (login with PKCE, the refresh grant, revocation) and dpop (key pair,
//!                proofs, nonces); bff (cookie sessions behind a backend-for-frontend: the
//!                session refresh, the BFF's login, logout and user): reach the core only
//!                through the seams of [`Above`]
//!   ────────────────────────────────────────────────────────────────────────────────────────
//!   core         this file (the authFetch object and its members, the session shared by
//!                storage key), send (one call), flight (the single-flight refresh, hooks,
//!                events, step-up's onStepUp), page (page and worker events)
//!   ────────────────────────────────────────────────────────────────────────────────────────
//!   data         options (options and token sets; a TypeError names what is wrong), store
//!                (the stored record, cross-tab locks), response (what a response says),
//!                wait (waiting on the 401 path without a closure per wait)
//!   ────────────────────────────────────────────────────────────────────────────────────────
//!   glue         js: bindings no web-sys/js-sys binding covers, tasks and promises of async
//!                Rust, serde to JS, WebCrypto helpers, errors with a code
//! ```
//!
//! The seams of [`Above`]: a built-in refresh (for an `authFetch` without a `refresh` hook), a
//! send for tokens that layer binds (a DPoP proof per request, nonce retries), a step-up login
//! when the app has no `onStepUp`, a logout (forget the key), a refresh token that came after
//! a logout (revoke it), and a login after a failed re-authentication (a BFF's). With
//! `options.bff` the core sends each call with the cookie and the BFF's anti-CSRF header
//! instead of a token (`send::with_session`), and the session stands in for a token in its
//! state machine (`TokenSet::session`). The methods that layer adds to `authFetch` (`login`,
//! …) are put on by [`exports`]. The core names no type of the layer above and keeps none of
//! its state.
//!
//! Data flows one way: request → session (token, or wait) → fetch → policy → session (refresh
//! flight) → retry. Every decision is the core's ([`crate::session`], [`crate::policy`],
//! [`crate::origin`]); this module does the I/O.
//!
//! Rules the shell keeps: nothing here panics on what JS passes (values from the app are looked
//! at through `catch` bindings and checked casts); no `RefCell` borrow is held while JS that
//! could reach the app runs, so hooks may call back into the same `authFetch` (its function,
//! `setTokens`, `clearTokens`, `accessToken`) at any point; every closure JS can call is either
//! owned by the JS garbage collector or removed from its event target before it is dropped.

#[cfg(feature = "bff")]
pub mod bff;
#[cfg(feature = "oauth")]
pub mod dpop;
pub mod exports;
pub mod flight;
pub mod js;
#[cfg(feature = "oauth")]
pub mod oauth;
pub mod options;
pub mod page;
pub mod response;
pub mod send;
pub mod store;
pub mod wait;

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::session::{FlightId, Session};
use flight::Flight;
use options::{Options, StorageKind, TokenSet};
use store::Store;

/// The state of one `authFetch`: its options and what it made of them, and the session it
/// shares with the other instances of this realm on the same storage key ([`Shared`]).
pub struct Shell {
    opts: Options,
    /// The token set and the refresh, shared by storage key.
    shared: Rc<Shared>,
    /// The global fetch when this `authFetch` was made, for when the global one is later
    /// replaced by an `authFetch`.
    fallback_fetch: JsValue,
    /// `opts.origins` as JS strings, for [`Shell::prefixed_by_origin`].
    origin_values: Vec<JsValue>,
    /// The refresh timeout's handler (see [`flight::timeout_handler`]).
    on_timeout: Function,
    /// The policy's last answer for a 401: the `WWW-Authenticate` value it was for, and
    /// whether it calls for a refresh.
    last_policy: RefCell<Option<(JsValue, bool)>>,
    /// The success path's response handler (see [`send::response_handler`]).
    on_response: Function,
    /// Page and worker event listeners, removed when this is dropped.
    listeners: RefCell<Vec<page::Listener>>,
    /// The layer above the core (OAuth and DPoP), where the build has one: the core reaches
    /// it only through [`Above`]'s seams.
    above: Option<Rc<dyn Above>>,
    /// The last step-up signalled: the token generation it was for, and when (ms).
    step_up: Cell<Option<(u64, u64)>>,
    /// Whether `onAuthFailure` is running (a `clearTokens()` in it fires no `'logout'` here).
    in_failure_hook: Cell<bool>,
}

/// What the `authFetch` instances of one realm (a page, a worker) that keep their tokens under
/// the same Web Storage key share: one token set and one refresh at a time. React's StrictMode
/// and hot reloading make a second instance of an app's `authFetch`; were each to keep its own
/// session, the second would present a refresh token the first had already rotated, and a
/// server with reuse detection would log the user out. An instance with `storage: 'memory'`
/// has a session of its own.
pub struct Shared {
    /// The storage area and key it is shared under (`None`: memory, not shared).
    name: Option<(StorageKind, String)>,
    session: RefCell<Session>,
    flight: RefCell<Option<Flight>>,
    /// `Bearer <token>` (or `DPoP <token>`) for the current access token (undefined without
    /// one), made once per token set.
    auth: RefCell<JsValue>,
    /// Whether the current access token is DPoP-bound (`token_type: DPoP`).
    bound: Cell<bool>,
    /// With DPoP: the thumbprint of the key the current tokens are bound to, when known.
    jkt: RefCell<Option<String>>,
    store: Option<Store>,
    /// A token request of the built-in refresh grant that is still out, settled when it ends:
    /// its answer may rotate the refresh token, so no other refresh presents it meanwhile.
    grant: RefCell<Option<Promise>>,
}

/// What a layer above the core (OAuth and DPoP, in `oauth` and `dpop`) adds, at the few
/// places the core asks it: the core names no type of that layer and keeps none of its state.
pub trait Above {
    /// The built-in refresh, for an `authFetch` without a `refresh` hook: new tokens, or an
    /// error (`code: 'invalid_grant'` when the grant is gone).
    fn refresh(
        self: Rc<Self>,
        shell: Rc<Shell>,
    ) -> Pin<Box<dyn Future<Output = Result<TokenSet, JsValue>>>>;
    /// Sends `input`, `init` with `auth` (scheme and token) when this layer binds the tokens
    /// (DPoP: a proof per request); `None` leaves it to the core (`Authorization` as is).
    fn send_bound(
        self: Rc<Self>,
        shell: &Rc<Shell>,
        input: &JsValue,
        init: &JsValue,
        auth: &JsValue,
    ) -> Option<Promise>;
    /// A step-up 401 (RFC 9470) the app has no `onStepUp` for: a login that asks for more.
    fn step_up(self: Rc<Self>, shell: &Rc<Shell>, acr_values: Option<&str>, max_age: Option<u64>);
    /// The tokens were cleared (`store`: by this tab, storage included).
    fn logged_out(&self, store: bool);
    /// A refresh token that arrived after a logout (a late answer): revoke it.
    fn orphaned(self: Rc<Self>, shell: &Rc<Shell>, refresh_token: String);
    /// Re-authentication failed and the app has no `onAuthFailure`: a login that comes back
    /// to `return_to`, where this layer has one (a cookie session's BFF).
    fn login_again(&self, _return_to: String) {}
}

thread_local! {
    /// The shared sessions of this realm, by storage area and key.
    static SESSIONS: RefCell<Vec<Weak<Shared>>> = const { RefCell::new(Vec::new()) };
}

impl Shared {
    fn new(name: Option<(StorageKind, String)>, store: Option<Store>) -> Shared {
        Shared {
            name,
            session: RefCell::new(Session::new()),
            flight: RefCell::new(None),
            auth: RefCell::new(JsValue::UNDEFINED),
            bound: Cell::new(false),
            jkt: RefCell::new(None),
            store,
            grant: RefCell::new(None),
        }
    }

    /// The session for `opts`: the one an instance of this realm already keeps under the same
    /// storage key, else a new one (with what storage holds).
    fn of(opts: &Options) -> Rc<Shared> {
        if opts.storage == StorageKind::Memory {
            return Rc::new(Shared::new(None, None));
        }
        let name = (opts.storage, opts.storage_key.clone());
        let found = SESSIONS.with(|list| {
            let mut list = list.borrow_mut();
            list.retain(|w| w.strong_count() > 0);
            list.iter()
                .filter_map(Weak::upgrade)
                .find(|s| s.name.as_ref() == Some(&name))
        });
        if let Some(s) = found {
            return s;
        }
        let shared = Rc::new(Shared::new(
            Some(name),
            Store::new(opts.storage, &opts.storage_key),
        ));
        if let Some(record) = shared.store.as_ref().and_then(Store::load) {
            shared.install(record.into_tokens(), false);
        }
        SESSIONS.with(|list| list.borrow_mut().push(Rc::downgrade(&shared)));
        shared
    }

    /// Installs a token set (from the app, storage or another tab); `store` writes it to
    /// storage too. A running refresh is superseded: its waiters go on with these tokens.
    fn install(&self, t: TokenSet, store: bool) {
        self.bound.set(t.dpop);
        *self.jkt.borrow_mut() = t.jkt;
        let superseded =
            self.session
                .borrow_mut()
                .set_tokens(t.access, t.refresh, t.expiry, js::now());
        self.tokens_changed(store);
        if let Some(id) = superseded {
            self.cancel_flight(id, true);
        }
    }

    /// Keeps the header value (and, with `store`, the storage) in step with the session.
    fn tokens_changed(&self, store: bool) {
        let (access, refresh, at) = {
            let s = self.session.borrow();
            (
                s.access_token().map(String::from),
                s.refresh_token().map(String::from),
                s.expires_at_ms(),
            )
        };
        if access.is_none() {
            self.bound.set(false);
            *self.jkt.borrow_mut() = None;
        }
        let dpop = self.bound.get();
        *self.auth.borrow_mut() = match &access {
            Some(a) => {
                let mut v = String::with_capacity(a.len() + 7);
                v.push_str(if dpop { "DPoP " } else { "Bearer " });
                v.push_str(a);
                JsValue::from_str(&v)
            }
            None => JsValue::UNDEFINED,
        };
        if let (true, Some(st)) = (store, &self.store) {
            let jkt = self.jkt.borrow();
            st.save(
                access.as_deref(),
                refresh.as_deref(),
                at,
                dpop,
                jkt.as_deref(),
            );
        }
    }

    /// Takes flight `id` out of its slot (if it is still the current one) and stops its timer.
    fn take_flight(&self, id: FlightId) -> Option<Flight> {
        let f = {
            let mut slot = self.flight.borrow_mut();
            match &*slot {
                Some(f) if f.id == id => slot.take(),
                _ => None,
            }
        }?;
        if !f.timer.is_undefined() {
            js::clear_timeout(&f.timer);
        }
        Some(f)
    }

    /// Ends flight `id` without the hook's result (the tokens were set or cleared): its
    /// waiters go on with `ok`, its hook's signal aborts.
    fn cancel_flight(&self, id: FlightId, ok: bool) {
        let Some(f) = self.take_flight(id) else {
            return;
        };
        if let Some(c) = &f.controller {
            c.abort();
        }
        f.waiters.release(ok);
    }
}

/// The symbol that marks the functions `createAuthFetch` returns, so that a page that installs
/// one as `globalThis.fetch` does not send an `authFetch`'s own requests back into itself. Its
/// value is the fetch that `authFetch` wraps (`true` when it has none), so that an instance made
/// while another one is the global fetch (a hot reload runs the app's module again) wraps the
/// same fetch the first one did.
fn mark() -> JsValue {
    js_sys::Symbol::for_("reauth.authFetch").into()
}

/// What `f` stands for as a fetch to wrap: `f` itself, or when `f` is an `authFetch`, the fetch
/// that one wraps (undefined when it knows none).
fn unwrapped(f: JsValue) -> JsValue {
    match js_sys::Reflect::get(&f, &mark()) {
        Ok(v) if v.is_function() => v,
        Ok(v) if v.is_truthy() => JsValue::UNDEFINED,
        _ => f,
    }
}

impl Shell {
    /// A new shell for `opts` (checked), with the layer above it, if any.
    pub fn make(opts: Options, above: Option<Rc<dyn Above>>) -> Rc<Shell> {
        let fallback_fetch = unwrapped(js::global().fetch());
        let origin_values = opts.origins.iter().map(|o| JsValue::from_str(o)).collect();
        let shared = Shared::of(&opts);
        let shell = Rc::new_cyclic(|weak| Shell {
            origin_values,
            opts,
            shared,
            fallback_fetch,
            on_response: send::response_handler(weak.clone()),
            on_timeout: flight::timeout_handler(weak.clone()),
            last_policy: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
            above,
            step_up: Cell::new(None),
            in_failure_hook: Cell::new(false),
        });
        *shell.listeners.borrow_mut() = page::listen(&shell);
        if shell.opts.bff().is_some() && shell.shared.session.borrow().access_token().is_none() {
            // A cookie session starts as one: the cookie, not this module, says whether it is
            // live, and a 401 says when it is not. Stored, so that the tabs that open next
            // share it (and hear of its end).
            shell.shared.install(TokenSet::session(), true);
        }
        shell
    }
}

/// The `authFetch` function object: callable as fetch, with `setTokens`, `clearTokens` and
/// `accessToken`. Its closures are owned by the JS garbage collector; when the app drops the
/// function, the shell goes with it (its listeners removed first).
pub fn function_of(shell: &Rc<Shell>) -> Function {
    let s = shell.clone();
    let call =
        Closure::<dyn Fn(JsValue, JsValue) -> JsValue>::new(move |input, init| s.call(input, init));
    let f: Function = call.into_js_value().unchecked_into();
    let s = shell.clone();
    let set = Closure::<dyn Fn(JsValue) -> Result<(), JsValue>>::new(move |tokens: JsValue| {
        if s.opts.bff().is_some() {
            return Err(js::type_error(
                "setTokens: a cookie session (options.bff) keeps no tokens in the page",
            ));
        }
        let t = TokenSet::from_js(&tokens).map_err(|what| {
            let mut msg = String::from("setTokens: ");
            msg.push_str(&what);
            js::type_error(&msg)
        })?;
        s.shared.install(t, true);
        Ok(())
    });
    js::define_value(&f, &js::name("setTokens"), &set.into_js_value());
    let s = shell.clone();
    let clear = Closure::<dyn Fn()>::new(move || s.logout(true));
    js::define_value(&f, &js::name("clearTokens"), &clear.into_js_value());
    let s = shell.clone();
    let token = Closure::<dyn Fn() -> JsValue>::new(move || {
        if s.opts.bff().is_some() {
            return JsValue::NULL;
        }
        s.shared
            .session
            .borrow()
            .access_token()
            .map_or(JsValue::NULL, JsValue::from_str)
    });
    js::define_getter(&f, &js::name("accessToken"), &token.into_js_value());
    // Made once the module is loaded: ready at once (the entries' authFetch made before the
    // load has a `ready` that waits for it).
    js::define_value(
        &f,
        &js::name("ready"),
        &Promise::resolve(&JsValue::UNDEFINED),
    );
    let wraps = match &shell.opts.fetch {
        Some(f) => f.clone().into(),
        None if shell.fallback_fetch.is_function() => shell.fallback_fetch.clone(),
        None => JsValue::TRUE,
    };
    js::define_value(&f, &mark(), &wraps);
    // wasm-bindgen's glue keeps its reference count on the function as an enumerable property;
    // hide it from `Object.keys(authFetch)`.
    let hidden = Object::new();
    let _ = js_sys::Reflect::set(&hidden, &js::name("enumerable"), &JsValue::FALSE);
    Object::define_property(&f, &js::name("_wbg_cb_unref"), &hidden);
    f
}

impl Shell {
    /// Forgets both tokens (logout); `store` removes them from storage too, which logs every
    /// tab out with `crossTab`, each with its `onAuthFailure` (`reason: 'logout'`). With DPoP
    /// the key pair goes too: the next login binds its tokens to a new one (`store`: this tab
    /// logged out, and deletes the stored key; other tabs forget theirs).
    fn logout(&self, store: bool) {
        let sh = &self.shared;
        let had = {
            let s = sh.session.borrow();
            s.access_token().is_some() || s.refresh_token().is_some()
        };
        let cancelled = sh.session.borrow_mut().clear();
        sh.tokens_changed(store);
        if let Some(id) = cancelled {
            sh.cancel_flight(id, false);
        }
        if let Some(a) = &self.above {
            a.logged_out(store);
        }
        if self.opts.cross_tab && had && !self.in_failure_hook.get() {
            let here = js::page_href().unwrap_or_default();
            self.auth_failure("logout", None, &here, &JsValue::UNDEFINED);
        }
    }
}
