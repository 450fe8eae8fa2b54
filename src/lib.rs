//! reauth: transparent re-authentication for single-page apps.
//!
//! A frontend wraps its `fetch` calls with reauth's `authFetch`; on a 401 reauth reads the
//! `WWW-Authenticate` header, decides whether a token refresh can help, refreshes once for any
//! number of concurrent failures, and retries each request once with the new token.
//!
//! The crate is a pure core and a Rust shell around it:
//!
//! - [`challenge`]: the RFC 9110 §11 `WWW-Authenticate` parser (zero-copy, positioned errors).
//! - [`bearer`]: the Bearer/DPoP view of a challenge (RFC 6750, RFC 9449, RFC 9470, claims).
//! - [`policy`]: the pure 401 decision: refresh, or hand the response back.
//! - [`jwt`]: when a JWT access token expires (its `exp`, read without verification).
//! - [`origin`]: which origin a request URL goes to, for the common forms (pure).
//! - [`session`]: tokens and the single-flight refresh state machine (time as an argument).
//! - `web` (only on `wasm32`): the shell that wraps `fetch`, built on `wasm-bindgen`,
//!   `web-sys`, `js-sys`, `wasm-bindgen-futures`, `serde-wasm-bindgen` and `gloo-storage`. It
//!   sends, waits, refreshes and retries, runs the app's hooks, timers, storage, cross-tab locks
//!   and page events, and asks the core at every decision. In layers, each importing only from
//!   below:
//!
//! ```text
//!   web::exports             createAuthFetch, parseChallenges
//!   web::{oauth, dpop, bff}  OAuth 2.0 and DPoP; cookie sessions behind a backend-for-
//!                            frontend: through the seams of web::Above
//!   web::{mod, send, flight, page}   the 401 engine: one call, the refresh flight, events
//!   web::{options, store, response, wait}   options, storage and locks, responses, waiting
//!   web::js                  bindings and glue
//!   ─────────────────────────────────────────────────────────────
//!   challenge, bearer, policy, jwt, origin, session   the pure core (no JsValue)
//! ```
//!
//! The core has no `JsValue`, does no I/O and reads no clock; it is tested natively and fuzzed.
#![deny(missing_docs)]

extern crate alloc;

#[cfg(target_arch = "wasm32")]
mod allocator {
    // talc's lock-free allocator for single-threaded WebAssembly (no `unsafe` here: the
    // constructor is const and would fail the build on a target with atomics).
    #[global_allocator]
    static ALLOC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
}

pub mod bearer;
pub mod challenge;
pub mod jwt;
pub mod origin;
pub mod policy;
pub mod session;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use bearer::{BearerChallenge, BearerError};
pub use challenge::{
    combine_header_lines, find_challenge, parse_challenges, Challenge, ChallengeParser, ErrorKind,
    Param, ParseError,
};
pub use policy::{decide, Decision, Facts, Header, PassReason, RefreshReason};
