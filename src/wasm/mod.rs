//! The WebAssembly surface: the pure core behind a handful of synchronous calls that take and
//! return numbers and strings.
//!
//! The package's JS shell (`pkg/auth-fetch.js`) does the I/O that only JS can do: it sends the
//! requests, chains their promises, runs the app's hooks, timers, storage and locks. At every
//! step that needs a decision it asks [`Core`]: may this URL get the token, does this request go
//! now or wait, what does this 401 call for, is this response one a refresh can answer. No JS
//! object crosses the boundary (only strings and numbers), so this layer needs neither `js-sys`
//! nor `web-sys`, and a call costs what a function call costs.
//!
//! What crosses the boundary is described in [`crate::wire`].

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use wasm_bindgen::prelude::*;

use crate::origin::{classify, Target};
use crate::policy::{decide_raw, Facts};
use crate::session::{Admit, Session};
use crate::wire::{expiry, flight_number, outcome, pack, unauthorized_code, unpack, REFRESH, WAIT};

/// The decisions of one `authFetch`: its allowed origins and its [`Session`].
#[wasm_bindgen]
pub struct Core {
    session: Session,
    /// Normalised origins (`scheme://host[:port]`) the token may be sent to.
    origins: Vec<String>,
    /// Whether relative URLs (the page's own origin) may get the token.
    page_allowed: bool,
}

#[wasm_bindgen]
impl Core {
    /// A core with no origins and no tokens.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Core {
        Core {
            session: Session::new(),
            origins: Vec::new(),
            page_allowed: false,
        }
    }

    /// Allows an origin, as the URL parser prints it (`https://api.example.com`).
    pub fn allow(&mut self, origin: String) {
        if !self.origins.contains(&origin) {
            self.origins.push(origin);
        }
    }

    /// Allows relative URLs: the page's own origin is one of the allowed ones.
    #[wasm_bindgen(js_name = allowPage)]
    pub fn allow_page(&mut self) {
        self.page_allowed = true;
    }

    /// Whether the URL of `len` bytes in the scratch area ([`scratch_ptr`]) may get the
    /// token: 1 yes, 0 no, 2 not decided here (the shell asks the URL parser for its origin and
    /// then [`Core::allowed_origin`]).
    pub fn check(&self, len: usize) -> u32 {
        // SAFETY: the shell has just written `len` bytes (at most SCRATCH_LEN) there, and
        // nothing writes the area while this call runs (wasm is single-threaded).
        let bytes = unsafe {
            core::slice::from_raw_parts(SCRATCH.0.get().cast::<u8>(), len.min(SCRATCH_LEN))
        };
        match core::str::from_utf8(bytes).map(classify) {
            Ok(Target::Origin(o)) => self.origins.iter().any(|a| a == o) as u32,
            Ok(Target::SameAsBase) => self.page_allowed as u32,
            _ => 2,
        }
    }

    /// Whether `origin` (from the URL parser) is an allowed one.
    #[wasm_bindgen(js_name = allowedOrigin)]
    pub fn allowed_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|a| a == origin)
    }

    /// A new request at `now` (ms): its ticket (send now), [`WAIT`], or [`REFRESH`] (the token
    /// expires within `skew` ms: this request starts a proactive refresh).
    pub fn admit(&mut self, now: f64, skew: f64) -> f64 {
        match self.session.admit(now as u64, skew as u64) {
            Admit::Send(t) => pack(t),
            Admit::Wait(_) => WAIT,
            Admit::Refresh(_) => REFRESH,
        }
    }

    /// The ticket of a request admitted in `epoch` that waited for a refresh (`ok`: it gave
    /// tokens).
    #[wasm_bindgen(js_name = afterWait)]
    pub fn after_wait(&self, epoch: f64, ok: bool) -> f64 {
        pack(self.session.after_wait(epoch as u64, outcome(ok)))
    }

    /// A 401 a refresh could answer, for a request sent with `ticket`: a ticket (retry now),
    /// [`REFRESH`], [`WAIT`], [`HAND_BACK_REPORT`] or [`HAND_BACK`].
    pub fn unauthorized(&mut self, ticket: f64) -> f64 {
        unauthorized_code(self.session.unauthorized(unpack(ticket)))
    }

    /// A 401 that waited for a refresh that ended (`ok`: with tokens): a ticket or [`HAND_BACK`].
    #[wasm_bindgen(js_name = afterFlight)]
    pub fn after_flight(&self, ok: bool) -> f64 {
        unauthorized_code(self.session.after_flight(outcome(ok)))
    }

    /// The current epoch (how many refreshes have ended).
    pub fn epoch(&self) -> f64 {
        self.session.epoch() as f64
    }

    /// The running refresh's id, or 0.
    pub fn flight(&self) -> f64 {
        flight_number(self.session.flight())
    }

    /// Whether the running refresh is a proactive one.
    pub fn proactive(&self) -> bool {
        self.session.flight_is_proactive()
    }

    /// Installs tokens. Expiry: `in_ms` from `now` (≥ 0), else at `at_ms` (≥ 0), else read from
    /// the token if it is a JWT. Returns the id of the refresh this supersedes, or 0.
    #[wasm_bindgen(js_name = setTokens)]
    pub fn set_tokens(
        &mut self,
        access: String,
        refresh: Option<String>,
        in_ms: f64,
        at_ms: f64,
        now: f64,
    ) -> f64 {
        flight_number(
            self.session
                .set_tokens(access, refresh, expiry(in_ms, at_ms), now as u64),
        )
    }

    /// Refresh `id` gave these tokens (see [`Core::set_tokens`]). False when it is no longer
    /// the current refresh (nothing changes then).
    #[wasm_bindgen(js_name = refreshSucceeded)]
    pub fn refresh_succeeded(
        &mut self,
        id: f64,
        access: String,
        refresh: Option<String>,
        in_ms: f64,
        at_ms: f64,
        now: f64,
    ) -> bool {
        match self.session.flight() {
            Some(f) if f.get() as f64 == id => {
                self.session
                    .refresh_succeeded(f, access, refresh, expiry(in_ms, at_ms), now as u64)
            }
            _ => false,
        }
    }

    /// Refresh `id` failed or timed out. False when it is no longer the current refresh.
    #[wasm_bindgen(js_name = refreshFailed)]
    pub fn refresh_failed(&mut self, id: f64) -> bool {
        match self.session.flight() {
            Some(f) if f.get() as f64 == id => self.session.refresh_failed(f),
            _ => false,
        }
    }

    /// Forgets both tokens. Returns the id of the refresh this cancels, or 0.
    pub fn clear(&mut self) -> f64 {
        flight_number(self.session.clear())
    }

    /// Whether there is an access or a refresh token.
    #[wasm_bindgen(js_name = hasTokens)]
    pub fn has_tokens(&self) -> bool {
        self.session.access_token().is_some() || self.session.refresh_token().is_some()
    }

    /// Whether tokens another tab stored (their access token) should replace these.
    pub fn adopt(&self, stored_access: &str) -> bool {
        self.session.should_adopt(Some(stored_access))
    }

    /// Starts a proactive refresh if the token expires within `skew` ms of `now` and none is
    /// running (a hidden page's timers may not have fired). Returns its id, or 0.
    #[wasm_bindgen(js_name = checkExpiry)]
    pub fn check_expiry(&mut self, now: f64, skew: f64) -> f64 {
        flight_number(self.session.check_expiry(now as u64, skew as u64))
    }

    /// The access token.
    #[wasm_bindgen(js_name = accessToken)]
    pub fn access_token(&self) -> Option<String> {
        self.session.access_token().map(String::from)
    }

    /// The refresh token.
    #[wasm_bindgen(js_name = refreshToken)]
    pub fn refresh_token(&self) -> Option<String> {
        self.session.refresh_token().map(String::from)
    }

    /// When the access token expires (ms, the clock of `now`), or -1 when unknown.
    #[wasm_bindgen(js_name = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.session.expires_at_ms().map_or(-1.0, |at| at as f64)
    }
}

/// Whether a response with `status` and this `WWW-Authenticate` value (if the runtime shows
/// one) calls for a refresh, by the policy (see [`crate::policy`]).
#[wasm_bindgen]
pub fn decide(status: u16, www_authenticate: Option<String>) -> bool {
    decide_raw(status, www_authenticate.as_deref(), Facts::default())
}

/// Parses a `WWW-Authenticate` value into the string [`crate::wire::encode`] describes.
#[wasm_bindgen]
pub fn parse(header: &str) -> String {
    crate::wire::encode(header)
}

/// The bytes of the scratch area for request URLs.
pub const SCRATCH_LEN: usize = 2048;

struct Scratch(UnsafeCell<[u8; SCRATCH_LEN]>);
// SAFETY: the wasm module is single-threaded.
unsafe impl Sync for Scratch {}
static SCRATCH: Scratch = Scratch(UnsafeCell::new([0; SCRATCH_LEN]));

/// Where in the module's memory the shell writes a request URL (UTF-8, at most
/// [`SCRATCH_LEN`] bytes) for [`Core::check`]: the origin check then needs no allocation.
#[wasm_bindgen(js_name = scratchPtr)]
pub fn scratch_ptr() -> usize {
    SCRATCH.0.get() as usize
}

/// The module's memory (for the scratch area).
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
