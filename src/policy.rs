//! The 401 decision: can a token refresh answer this response?
//!
//! [`decide`] is a pure function of the status, the parsed `WWW-Authenticate` header and a few
//! facts about the response. The table (also in the README):
//!
//! | response | decision |
//! |---|---|
//! | any status but 401 (a 403 included) | pass through |
//! | 401, no `WWW-Authenticate` (or an empty one) | refresh |
//! | 401, a header that does not parse | refresh |
//! | 401, Bearer/DPoP with no `error` | refresh |
//! | 401, Bearer/DPoP `error="invalid_token"` | refresh |
//! | 401, Bearer/DPoP with an unknown `error` (`token_expired`, …) | refresh |
//! | 401, Bearer/DPoP `error="insufficient_scope"` | pass through |
//! | 401, Bearer/DPoP `error="invalid_request"` | pass through |
//! | 401, `error="invalid_dpop_proof"` | pass through |
//! | 401, `error="insufficient_user_authentication"` | pass through, step-up (`acr_values`, `max_age`) |
//! | 401, `error="insufficient_claims"` | pass through, with `claims` |
//! | 401, `error="use_dpop_nonce"`, the request had a DPoP proof and the response a `DPoP-Nonce` | retry once with that nonce, no refresh |
//! | 401, `error="use_dpop_nonce"` otherwise | pass through, with the `DPoP-Nonce` response header |
//! | 401, only other schemes (Basic, Digest, Negotiate, …) | pass through |
//!
//! When a 401 carries several Bearer/DPoP challenges, the first one with an `error` decides
//! (else the first one). The interceptor lets the app override any decision (`shouldRefresh`).

use crate::bearer::BearerError;
use crate::challenge::{Challenge, ParseError};

/// The parsed `WWW-Authenticate` header of a response, as the policy sees it.
#[derive(Clone, Copy, Debug)]
pub enum Header<'c> {
    /// No `WWW-Authenticate` header (or the browser hid it: cross-origin responses show it only
    /// when the server lists it in `Access-Control-Expose-Headers`).
    Absent,
    /// A header that parsed.
    Parsed(&'c [Challenge<'c>]),
    /// A header that did not parse.
    Invalid(&'c ParseError),
}

/// Facts about the response beyond its status and challenges.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts<'c> {
    /// The `DPoP-Nonce` response header (RFC 9449 §8), if any.
    pub dpop_nonce: Option<&'c str>,
    /// Whether the request carried a DPoP proof (so that a new nonce can answer the 401).
    pub dpop: bool,
}

impl<'c> Facts<'c> {
    /// Facts with a `DPoP-Nonce` value.
    pub fn with_dpop_nonce(mut self, nonce: Option<&'c str>) -> Self {
        self.dpop_nonce = nonce;
        self
    }

    /// Facts for a request that carried a DPoP proof.
    pub fn with_dpop(mut self, dpop: bool) -> Self {
        self.dpop = dpop;
        self
    }
}

/// Why a 401 calls for a refresh.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshReason {
    /// No challenge to read: the common SPA case.
    NoChallenge,
    /// The header did not parse: refreshing is the safe fallback.
    Unparsable,
    /// A Bearer/DPoP challenge without an `error` (no or unusable credentials).
    NoError,
    /// `error="invalid_token"`.
    InvalidToken,
    /// An `error` code this library does not know, such as `token_expired`.
    UnknownError,
}

/// Why a response is handed back to the caller as it is.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassReason<'c> {
    /// The status is not 401 (a 403 never refreshes).
    NotUnauthorized,
    /// `error="insufficient_scope"`, with the `scope` the resource asks for.
    InsufficientScope {
        /// The scopes the resource needs, if the server said.
        scope: Option<&'c str>,
    },
    /// `error="invalid_request"`.
    InvalidRequest,
    /// `error="invalid_dpop_proof"`.
    InvalidDpopProof,
    /// RFC 9470 step-up: the user must authenticate again with stronger means.
    StepUp {
        /// `acr_values`, if sent.
        acr_values: Option<&'c str>,
        /// `max_age` in seconds, if sent.
        max_age: Option<u64>,
    },
    /// A claims challenge.
    InsufficientClaims {
        /// `claims`, if sent.
        claims: Option<&'c str>,
    },
    /// RFC 9449: retry with the server's nonce.
    UseDpopNonce {
        /// The `DPoP-Nonce` response header, if present.
        nonce: Option<&'c str>,
    },
    /// Every challenge is of a scheme a Bearer refresh cannot answer (Basic, Digest, …).
    OtherScheme,
}

/// What to do with a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision<'c> {
    /// Refresh the access token and retry.
    Refresh(RefreshReason),
    /// Retry once with the server's DPoP nonce, the same token (RFC 9449 §9): no refresh.
    NonceRetry {
        /// The nonce to put in the next proof.
        nonce: &'c str,
    },
    /// Hand the response back unchanged.
    Pass(PassReason<'c>),
}

impl Decision<'_> {
    /// Whether the decision is to refresh.
    pub fn is_refresh(&self) -> bool {
        matches!(self, Decision::Refresh(_))
    }
}

/// Decides what a response calls for. See the module docs for the table.
pub fn decide<'c>(status: u16, header: Header<'c>, facts: Facts<'c>) -> Decision<'c> {
    if status != 401 {
        return Decision::Pass(PassReason::NotUnauthorized);
    }
    let challenges = match header {
        Header::Absent => return Decision::Refresh(RefreshReason::NoChallenge),
        Header::Invalid(_) => return Decision::Refresh(RefreshReason::Unparsable),
        Header::Parsed([]) => return Decision::Refresh(RefreshReason::NoChallenge),
        Header::Parsed(c) => c,
    };
    let mut bearers = challenges.iter().filter_map(Challenge::bearer);
    let Some(first) = bearers.next() else {
        return Decision::Pass(PassReason::OtherScheme);
    };
    let chosen = if first.error.is_some() {
        first
    } else {
        bearers.find(|b| b.error.is_some()).unwrap_or(first)
    };
    match chosen.error {
        None => Decision::Refresh(RefreshReason::NoError),
        Some(BearerError::InvalidToken) => Decision::Refresh(RefreshReason::InvalidToken),
        Some(BearerError::Other(_)) => Decision::Refresh(RefreshReason::UnknownError),
        Some(BearerError::InsufficientScope) => Decision::Pass(PassReason::InsufficientScope {
            scope: chosen.scope,
        }),
        Some(BearerError::InvalidRequest) => Decision::Pass(PassReason::InvalidRequest),
        Some(BearerError::InvalidDpopProof) => Decision::Pass(PassReason::InvalidDpopProof),
        Some(BearerError::InsufficientUserAuthentication) => Decision::Pass(PassReason::StepUp {
            acr_values: chosen.acr_values,
            max_age: chosen.max_age,
        }),
        Some(BearerError::InsufficientClaims) => Decision::Pass(PassReason::InsufficientClaims {
            claims: chosen.claims,
        }),
        Some(BearerError::UseDpopNonce) => match facts.dpop_nonce {
            Some(nonce) if facts.dpop => Decision::NonceRetry { nonce },
            nonce => Decision::Pass(PassReason::UseDpopNonce { nonce }),
        },
    }
}

/// Parses a raw header (or its absence) and decides in one call.
pub fn decide_raw(status: u16, www_authenticate: Option<&str>, facts: Facts<'_>) -> bool {
    if status != 401 {
        return false;
    }
    match www_authenticate.map(crate::challenge::parse_challenges) {
        None => decide(status, Header::Absent, facts).is_refresh(),
        Some(Ok(c)) => decide(status, Header::Parsed(&c), facts).is_refresh(),
        Some(Err(e)) => decide(status, Header::Invalid(&e), facts).is_refresh(),
    }
}
