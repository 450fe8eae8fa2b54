//! The Bearer and DPoP view of a challenge: RFC 6750 §3, RFC 9449 §7, RFC 9470 §3 and the
//! claims challenge (OpenID Connect CAE, `error="insufficient_claims"`).

use crate::challenge::Challenge;

/// The `error` code of a Bearer or DPoP challenge.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerError<'c> {
    /// RFC 6750 `invalid_request`: the request is malformed; a new token will not help.
    InvalidRequest,
    /// RFC 6750 `invalid_token`: expired, revoked or malformed token; a refresh can help.
    InvalidToken,
    /// RFC 6750 `insufficient_scope`: the token is valid but lacks a scope.
    InsufficientScope,
    /// RFC 9470 `insufficient_user_authentication`: the user must authenticate again (step-up).
    InsufficientUserAuthentication,
    /// `insufficient_claims`: the resource asks for a token with more claims.
    InsufficientClaims,
    /// RFC 9449 `use_dpop_nonce`: retry the DPoP proof with the server's nonce.
    UseDpopNonce,
    /// RFC 9449 `invalid_dpop_proof`: the DPoP proof was rejected.
    InvalidDpopProof,
    /// Any other code, as sent (servers use non-standard ones such as `token_expired`).
    Other(&'c str),
}

impl<'c> BearerError<'c> {
    /// Classifies an `error` parameter value (codes are case-sensitive, RFC 6750 §3).
    pub fn from_code(code: &'c str) -> Self {
        match code {
            "invalid_request" => BearerError::InvalidRequest,
            "invalid_token" => BearerError::InvalidToken,
            "insufficient_scope" => BearerError::InsufficientScope,
            "insufficient_user_authentication" => BearerError::InsufficientUserAuthentication,
            "insufficient_claims" => BearerError::InsufficientClaims,
            "use_dpop_nonce" => BearerError::UseDpopNonce,
            "invalid_dpop_proof" => BearerError::InvalidDpopProof,
            other => BearerError::Other(other),
        }
    }
}

/// The parameters of a `Bearer` or `DPoP` challenge that re-authentication cares about.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BearerChallenge<'c> {
    /// Whether the scheme is `DPoP` (RFC 9449) rather than `Bearer`.
    pub dpop: bool,
    /// `realm`.
    pub realm: Option<&'c str>,
    /// `scope`: space-delimited scopes the resource needs.
    pub scope: Option<&'c str>,
    /// `error`, classified.
    pub error: Option<BearerError<'c>>,
    /// `error_description`: human-readable, for developers.
    pub error_description: Option<&'c str>,
    /// `error_uri`.
    pub error_uri: Option<&'c str>,
    /// `algs` (DPoP): space-delimited JWS algorithms the server accepts.
    pub algs: Option<&'c str>,
    /// `acr_values` (RFC 9470 step-up): the authentication context classes required.
    pub acr_values: Option<&'c str>,
    /// `max_age` (RFC 9470 step-up), in seconds, when it is a valid non-negative integer.
    pub max_age: Option<u64>,
    /// `claims` (claims challenge): the requested claims, as sent (usually base64url JSON).
    pub claims: Option<&'c str>,
}

impl<'a> Challenge<'a> {
    /// The Bearer view of this challenge, when its scheme is `Bearer` or `DPoP`.
    pub fn bearer(&self) -> Option<BearerChallenge<'_>> {
        let dpop = self.is_scheme("DPoP");
        if !dpop && !self.is_scheme("Bearer") {
            return None;
        }
        Some(BearerChallenge {
            dpop,
            realm: self.param("realm"),
            scope: self.param("scope"),
            error: self.param("error").map(BearerError::from_code),
            error_description: self.param("error_description"),
            error_uri: self.param("error_uri"),
            algs: self.param("algs"),
            acr_values: self.param("acr_values"),
            max_age: self.param("max_age").and_then(|v| v.parse().ok()),
            claims: self.param("claims"),
        })
    }
}
