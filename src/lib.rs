//! reauth: transparent re-authentication for single-page apps.
//!
//! A frontend wraps its `fetch` calls with reauth's `authFetch`; on a 401 reauth reads the
//! `WWW-Authenticate` header, decides whether a token refresh can help, refreshes once for any
//! number of concurrent failures, and retries each request once with the new token.
//!
//! This crate is split into a pure core and a thin WebAssembly shell:
//!
//! - [`challenge`]: the RFC 9110 §11 `WWW-Authenticate` parser (zero-copy, positioned errors).
//! - [`bearer`]: the Bearer/DPoP view of a challenge (RFC 6750, RFC 9449, RFC 9470, claims).
//! - [`policy`]: the pure 401 decision: refresh, or hand the response back.
//! - [`jwt`]: when a JWT access token expires (its `exp`, read without verification).
//! - [`origin`]: which origin a request URL goes to, for the common forms (pure).
//! - [`session`]: tokens and the single-flight refresh state machine (time as an argument).
//! - [`wire`]: how tickets, answers and parsed challenges cross to the JS shell (numbers and
//!   strings).
//! - `wasm` (only on `wasm32`): the module's exports, plain functions of numbers; the
//!   package's JS shell (`pkg/auth-fetch.js`) does the fetch plumbing and asks these for every
//!   decision.
//!
//! The core has no `JsValue`, does no I/O and reads no clock; it is tested natively.
#![deny(missing_docs)]
// The wasm package is built without std (see the `standalone` feature); the core only needs
// `core` and `alloc`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;
#[cfg(all(target_arch = "wasm32", not(feature = "standalone")))]
extern crate std;

#[cfg(all(target_arch = "wasm32", feature = "standalone"))]
mod standalone {
    // SAFETY: AssumeSingleThreaded requires a single thread: the module is built without
    // threads (wasm32-unknown-unknown, no atomics).
    #[global_allocator]
    static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
        unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

    /// A panic would be a bug; the page keeps running only if the module traps cleanly.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }
}

pub mod bearer;
pub mod challenge;
pub mod jwt;
pub mod origin;
pub mod policy;
pub mod session;
pub mod wire;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use bearer::{BearerChallenge, BearerError};
pub use challenge::{
    combine_header_lines, find_challenge, parse_challenges, Challenge, ChallengeParser, ErrorKind,
    Param, ParseError,
};
pub use policy::{decide, Decision, Facts, Header, PassReason, RefreshReason};
