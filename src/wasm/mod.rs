//! The WebAssembly surface: the pure core behind plain `extern "C"` functions that take and
//! return numbers.
//!
//! The package's JS shell (`pkg/auth-fetch.js`) does the I/O that only JS can do: it sends the
//! requests, chains their promises, runs the app's hooks, timers, storage and locks. At every
//! step that needs a decision it asks a [`Core`] here: may this URL get the token, does this
//! request go now or wait, what does this 401 call for, does this response call for a refresh.
//! What the answers look like is described in [`crate::wire`].
//!
//! No JS value crosses the boundary, so the module imports nothing and needs no generated glue
//! (`pkg/wasm.js` loads it). Strings travel through one byte buffer in the module's memory: the
//! shell asks [`reauth_buf`] (exported as `buf`) for room, writes UTF-8 there and passes
//! lengths; strings coming back are written there and their length returned. A core is named by
//! a handle from [`reauth_new`] (`create`). Nothing here can panic on what JS passes: a bad
//! handle or length gives a neutral answer.
//!
//! The module is single-threaded and never calls out while a function runs, so the statics
//! below are never accessed twice at once.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

use crate::challenge::parse_challenges;
use crate::origin::{classify, Target};
use crate::policy::{decide, Facts, Header};
use crate::session::{Admit, Session};
use crate::wire::{
    encode_challenges, error_text, expiry, flight_number, outcome, pack, unauthorized_code, unpack,
    REFRESH, WAIT,
};

/// The decisions of one `authFetch`: its allowed origins and its [`Session`].
pub struct Core {
    session: Session,
    /// Normalised origins (`scheme://host[:port]`) the token may be sent to.
    origins: Vec<String>,
    /// Whether relative URLs (the page's own origin) may get the token.
    page_allowed: bool,
}

/// A value only this module's exports touch, one at a time.
struct Global<T>(UnsafeCell<T>);
// SAFETY: wasm32 without threads: there is one thread, and no export runs while another does.
unsafe impl<T> Sync for Global<T> {}

/// The live cores; a handle is an index (freed slots are reused).
static CORES: Global<Vec<Option<Core>>> = Global(UnsafeCell::new(Vec::new()));
/// The string buffer (see the module docs).
static BUF: Global<Vec<u8>> = Global(UnsafeCell::new(Vec::new()));

fn buf() -> &'static mut Vec<u8> {
    // SAFETY: see `Global`; each export takes this reference once and drops it before returning.
    unsafe { &mut *BUF.0.get() }
}

fn cores() -> &'static mut Vec<Option<Core>> {
    // SAFETY: as for `buf`.
    unsafe { &mut *CORES.0.get() }
}

/// Runs `f` on core `h`, or returns `none` when there is no such core.
fn with<R>(h: u32, none: R, f: impl FnOnce(&mut Core) -> R) -> R {
    match cores().get_mut(h as usize) {
        Some(Some(core)) => f(core),
        _ => none,
    }
}

/// The first `len` bytes of the buffer as text (`None` when they are not UTF-8).
fn text(buf: &[u8], start: usize, len: usize) -> Option<&str> {
    crate::wire::utf8(buf.get(start..start.checked_add(len)?)?)
}

/// A string the shell wrote at the start of the buffer, owned.
fn owned(start: usize, len: usize) -> Option<String> {
    text(buf(), start, len).map(String::from)
}

/// Writes `s` at the start of the buffer; returns its length, or -1 for `None`.
fn give(s: Option<&str>) -> i32 {
    let Some(s) = s else { return -1 };
    let b = buf();
    // The buffer never shrinks: the shell may rely on the room it asked for.
    if b.len() < s.len() {
        b.resize(s.len(), 0);
    }
    b.iter_mut().zip(s.bytes()).for_each(|(d, c)| *d = c);
    s.len() as i32
}

/// Makes room for `len` bytes in the string buffer and returns where it starts (`len` 0: just
/// where it starts; it moves when it grows, here or for a string given back).
#[export_name = "buf"]
pub extern "C" fn reauth_buf(len: usize) -> *mut u8 {
    let b = buf();
    if b.len() < len {
        b.resize(len, 0);
    }
    b.as_mut_ptr()
}

/// A new core with no origins and no tokens; returns its handle.
#[export_name = "create"]
pub extern "C" fn reauth_new() -> u32 {
    let core = Core {
        session: Session::new(),
        origins: Vec::new(),
        page_allowed: false,
    };
    let slots = cores();
    match slots.iter().position(Option::is_none) {
        Some(i) => {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(core);
            }
            i as u32
        }
        None => {
            slots.push(Some(core));
            (slots.len() - 1) as u32
        }
    }
}

/// Frees core `h` (the shell calls it when its `authFetch` is garbage-collected).
#[export_name = "drop"]
pub extern "C" fn reauth_free(h: u32) {
    if let Some(slot) = cores().get_mut(h as usize) {
        *slot = None;
    }
}

/// Allows the origin in the buffer (`len` bytes), as the URL parser prints it; `len` 0 allows
/// relative URLs (the page's own origin is one of the allowed ones).
#[export_name = "allow"]
pub extern "C" fn reauth_allow(h: u32, len: usize) {
    let Some(origin) = owned(0, len) else { return };
    with(h, (), |c| {
        if origin.is_empty() {
            c.page_allowed = true;
        } else if !c.origins.contains(&origin) {
            c.origins.push(origin);
        }
    })
}

/// Whether the URL in the buffer (`len` bytes) may get the token: 1 yes, 0 no, 2 not decided
/// here (the shell asks the URL parser for its origin, then [`reauth_allowed_origin`]).
#[export_name = "check"]
pub extern "C" fn reauth_check(h: u32, len: usize) -> u32 {
    let b = buf();
    let Some(url) = text(b, 0, len) else { return 2 };
    with(h, 0, |c| match classify(url) {
        Target::Origin(o) => c.origins.iter().any(|a| a == o) as u32,
        Target::SameAsBase => c.page_allowed as u32,
        Target::Unknown => 2,
    })
}

/// Whether the origin in the buffer (`len` bytes, from the URL parser) is an allowed one.
#[export_name = "allowedOrigin"]
pub extern "C" fn reauth_allowed_origin(h: u32, len: usize) -> bool {
    let b = buf();
    let Some(origin) = text(b, 0, len) else {
        return false;
    };
    with(h, false, |c| c.origins.iter().any(|a| a == origin))
}

/// A new request at `now` (ms): its ticket (send now), `WAIT`, or `REFRESH` (the token expires
/// within `skew` ms: this request starts a proactive refresh).
#[export_name = "admit"]
pub extern "C" fn reauth_admit(h: u32, now: f64, skew: f64) -> f64 {
    with(h, WAIT, |c| {
        match c.session.admit(now as u64, skew as u64) {
            Admit::Send(t) => pack(t),
            Admit::Wait(_) => WAIT,
            Admit::Refresh(_) => REFRESH,
        }
    })
}

/// The ticket of a request admitted in `epoch` that waited for a refresh (`ok`: it gave tokens).
#[export_name = "afterWait"]
pub extern "C" fn reauth_after_wait(h: u32, epoch: f64, ok: bool) -> f64 {
    with(h, 0.0, |c| {
        pack(c.session.after_wait(epoch as u64, outcome(ok)))
    })
}

/// A 401 a refresh could answer, for a request sent with `ticket` (see [`crate::wire`]).
#[export_name = "unauthorized"]
pub extern "C" fn reauth_unauthorized(h: u32, ticket: f64) -> f64 {
    with(h, crate::wire::HAND_BACK, |c| {
        unauthorized_code(c.session.unauthorized(unpack(ticket)))
    })
}

/// A 401 that waited for a refresh that ended (`ok`: with tokens): a ticket or `HAND_BACK`.
#[export_name = "afterFlight"]
pub extern "C" fn reauth_after_flight(h: u32, ok: bool) -> f64 {
    with(h, crate::wire::HAND_BACK, |c| {
        unauthorized_code(c.session.after_flight(outcome(ok)))
    })
}

/// The current epoch (how many refreshes have ended).
#[export_name = "epoch"]
pub extern "C" fn reauth_epoch(h: u32) -> f64 {
    with(h, 0.0, |c| c.session.epoch() as f64)
}

/// The running refresh's id, or 0.
#[export_name = "flight"]
pub extern "C" fn reauth_flight(h: u32) -> f64 {
    with(h, 0.0, |c| flight_number(c.session.flight()))
}

/// Whether the running refresh is a proactive one.
#[export_name = "proactive"]
pub extern "C" fn reauth_proactive(h: u32) -> bool {
    with(h, false, |c| c.session.flight_is_proactive())
}

/// The access token (`access_len` bytes) and refresh token (`refresh_len` bytes after it, or
/// `refresh_len` < 0 for none) in the buffer; the expiry is [`crate::wire::expiry`]'s.
fn token_args(access_len: usize, refresh_len: i32) -> Option<(String, Option<String>)> {
    let access = owned(0, access_len)?;
    let refresh = match usize::try_from(refresh_len) {
        Ok(n) => Some(owned(access_len, n)?),
        Err(_) => None,
    };
    Some((access, refresh))
}

/// Installs tokens (see `token_args`). Returns the id of the refresh this supersedes, or 0.
#[export_name = "setTokens"]
pub extern "C" fn reauth_set_tokens(
    h: u32,
    access_len: usize,
    refresh_len: i32,
    in_ms: f64,
    at_ms: f64,
    exp_s: f64,
    iat_s: f64,
    now: f64,
) -> f64 {
    let Some((access, refresh)) = token_args(access_len, refresh_len) else {
        return 0.0;
    };
    with(h, 0.0, |c| {
        let e = expiry(in_ms, at_ms, exp_s, iat_s);
        flight_number(c.session.set_tokens(access, refresh, e, now as u64))
    })
}

/// Refresh `id` gave these tokens (as for [`reauth_set_tokens`]). False when it is no longer
/// the current refresh (nothing changes then).
#[export_name = "refreshSucceeded"]
pub extern "C" fn reauth_refresh_succeeded(
    h: u32,
    id: f64,
    access_len: usize,
    refresh_len: i32,
    in_ms: f64,
    at_ms: f64,
    exp_s: f64,
    iat_s: f64,
    now: f64,
) -> bool {
    let Some((access, refresh)) = token_args(access_len, refresh_len) else {
        return false;
    };
    with(h, false, |c| match c.session.flight() {
        Some(f) if f.get() as f64 == id => {
            let e = expiry(in_ms, at_ms, exp_s, iat_s);
            c.session
                .refresh_succeeded(f, access, refresh, e, now as u64)
        }
        _ => false,
    })
}

/// Refresh `id` failed or timed out. False when it is no longer the current refresh.
#[export_name = "refreshFailed"]
pub extern "C" fn reauth_refresh_failed(h: u32, id: f64) -> bool {
    with(h, false, |c| match c.session.flight() {
        Some(f) if f.get() as f64 == id => c.session.refresh_failed(f),
        _ => false,
    })
}

/// Forgets both tokens. Returns the id of the refresh this cancels, or 0.
#[export_name = "clear"]
pub extern "C" fn reauth_clear(h: u32) -> f64 {
    with(h, 0.0, |c| flight_number(c.session.clear()))
}

/// Whether tokens another tab stored (their access token in the buffer, `len` bytes) should
/// replace these.
#[export_name = "adopt"]
pub extern "C" fn reauth_adopt(h: u32, len: usize) -> bool {
    let b = buf();
    let Some(stored) = text(b, 0, len) else {
        return false;
    };
    with(h, false, |c| c.session.should_adopt(Some(stored)))
}

/// Starts a proactive refresh if the token expires within `skew` ms of `now` and none is
/// running (a hidden page's timers may not have fired). Returns its id, or 0.
#[export_name = "checkExpiry"]
pub extern "C" fn reauth_check_expiry(h: u32, now: f64, skew: f64) -> f64 {
    with(h, 0.0, |c| {
        flight_number(c.session.check_expiry(now as u64, skew as u64))
    })
}

/// Writes the access token into the buffer; returns its length, or -1 when there is none.
#[export_name = "accessToken"]
pub extern "C" fn reauth_access_token(h: u32) -> i32 {
    let token = with(h, None, |c| c.session.access_token().map(String::from));
    give(token.as_deref())
}

/// Writes the refresh token into the buffer; returns its length, or -1 when there is none.
#[export_name = "refreshToken"]
pub extern "C" fn reauth_refresh_token(h: u32) -> i32 {
    let token = with(h, None, |c| c.session.refresh_token().map(String::from));
    give(token.as_deref())
}

/// When the access token expires (ms, the clock of `now`), or -1 when unknown.
#[export_name = "expiresAt"]
pub extern "C" fn reauth_expires_at(h: u32) -> f64 {
    with(h, -1.0, |c| {
        c.session.expires_at_ms().map_or(-1.0, |at| at as f64)
    })
}

/// Reads the `WWW-Authenticate` value in the buffer (`len` bytes; `len` < 0: the response has
/// none) and decides by the policy whether a response with `status` calls for a refresh. The
/// challenges (or the parse error), as [`crate::wire::encode`] writes them, go back into the
/// buffer. Returns `(their length << 1) | refresh`, or -1 when the bytes are not text.
#[export_name = "inspect"]
pub extern "C" fn reauth_inspect(status: u32, len: i32) -> i32 {
    let status = u16::try_from(status).unwrap_or(0);
    let facts = Facts::default();
    let (refresh, out) = match usize::try_from(len) {
        Err(_) => (
            decide(status, Header::Absent, facts).is_refresh(),
            String::new(),
        ),
        Ok(n) => {
            let Some(header) = text(buf(), 0, n) else {
                return -1;
            };
            match parse_challenges(header) {
                Ok(c) => (
                    decide(status, Header::Parsed(&c), facts).is_refresh(),
                    encode_challenges(&c),
                ),
                Err(e) => (
                    decide(status, Header::Invalid(&e), facts).is_refresh(),
                    error_text(&e),
                ),
            }
        }
    };
    (give(Some(&out)) << 1) | i32::from(refresh)
}
