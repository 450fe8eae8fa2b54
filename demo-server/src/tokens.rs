//! The demo's auth server state: opaque access tokens with a short lifetime, refresh tokens
//! that rotate (each may be used once), and family revocation on reuse, as real OAuth servers do.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

/// A fresh opaque token: 128 random bits from the process's hasher keys and a counter.
fn random_token(prefix: &str, counter: u64) -> String {
    let mut out = String::from(prefix);
    for i in 0..2u64 {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(counter);
        h.write_u64(i);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// A token pair as the token endpoint answers it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

/// Why a refresh was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshError {
    /// Unknown, revoked, or part of a revoked family.
    Invalid,
    /// Presented a second time: the whole family is now revoked.
    Reused,
}

/// What the API check found.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    Valid,
    Missing,
    Expired,
    Unknown,
}

struct AccessInfo {
    expires: Instant,
}

struct RefreshInfo {
    family: u64,
    used: bool,
}

/// All tokens of the demo.
pub struct Tokens {
    access: HashMap<String, AccessInfo>,
    refresh: HashMap<String, RefreshInfo>,
    revoked: HashSet<u64>,
    counter: u64,
    pub access_ttl: Duration,
}

impl Tokens {
    pub fn new(access_ttl: Duration) -> Self {
        Tokens {
            access: HashMap::new(),
            refresh: HashMap::new(),
            revoked: HashSet::new(),
            counter: 0,
            access_ttl,
        }
    }

    fn issue(&mut self, family: u64, now: Instant) -> Issued {
        self.counter += 1;
        let access_token = random_token("at_", self.counter);
        let refresh_token = random_token("rt_", self.counter);
        self.access.insert(
            access_token.clone(),
            AccessInfo {
                expires: now + self.access_ttl,
            },
        );
        self.refresh.insert(
            refresh_token.clone(),
            RefreshInfo {
                family,
                used: false,
            },
        );
        Issued {
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in: self.access_ttl.as_secs(),
        }
    }

    /// A login: a new refresh-token family.
    pub fn login(&mut self, now: Instant) -> Issued {
        self.counter += 1;
        let family = self.counter;
        self.issue(family, now)
    }

    /// Exchanges a refresh token for a new pair. A token can be used once; presenting a used one
    /// revokes its whole family.
    pub fn refresh(&mut self, token: &str, now: Instant) -> Result<Issued, RefreshError> {
        let Some(info) = self.refresh.get_mut(token) else {
            return Err(RefreshError::Invalid);
        };
        let family = info.family;
        if self.revoked.contains(&family) {
            return Err(RefreshError::Invalid);
        }
        if info.used {
            self.revoked.insert(family);
            return Err(RefreshError::Reused);
        }
        info.used = true;
        Ok(self.issue(family, now))
    }

    /// Checks an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>, now: Instant) -> Access {
        let Some(token) = authorization.and_then(|v| v.strip_prefix("Bearer ")) else {
            return Access::Missing;
        };
        match self.access.get(token) {
            None => Access::Unknown,
            Some(a) if a.expires <= now => Access::Expired,
            Some(_) => Access::Valid,
        }
    }

    /// Expires every access token now (a demo knob).
    pub fn expire_all(&mut self, now: Instant) {
        for a in self.access.values_mut() {
            a.expires = now;
        }
    }

    /// Revokes every refresh-token family (a demo knob).
    pub fn revoke_all(&mut self) {
        let families: Vec<u64> = self.refresh.values().map(|r| r.family).collect();
        self.revoked.extend(families);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_expire_and_unknown_ones_are_refused() {
        let t0 = Instant::now();
        let mut tokens = Tokens::new(Duration::from_secs(20));
        let pair = tokens.login(t0);
        let header = format!("Bearer {}", pair.access_token);
        assert_eq!(tokens.check(Some(&header), t0), Access::Valid);
        assert_eq!(
            tokens.check(Some(&header), t0 + Duration::from_secs(20)),
            Access::Expired
        );
        assert_eq!(tokens.check(Some("Bearer nope"), t0), Access::Unknown);
        assert_eq!(tokens.check(None, t0), Access::Missing);
        assert_eq!(tokens.check(Some("Basic abc"), t0), Access::Missing);
    }

    #[test]
    fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
        let t0 = Instant::now();
        let mut tokens = Tokens::new(Duration::from_secs(20));
        let first = tokens.login(t0);
        let second = tokens.refresh(&first.refresh_token, t0).unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        // Replaying the used one revokes the family, the newest token included.
        assert_eq!(
            tokens.refresh(&first.refresh_token, t0).unwrap_err(),
            RefreshError::Reused
        );
        assert_eq!(
            tokens.refresh(&second.refresh_token, t0).unwrap_err(),
            RefreshError::Invalid
        );
        // Another login is a new family.
        let other = tokens.login(t0);
        assert!(tokens.refresh(&other.refresh_token, t0).is_ok());
    }

    #[test]
    fn knobs_expire_and_revoke() {
        let t0 = Instant::now();
        let mut tokens = Tokens::new(Duration::from_secs(20));
        let pair = tokens.login(t0);
        tokens.expire_all(t0);
        assert_eq!(
            tokens.check(Some(&format!("Bearer {}", pair.access_token)), t0),
            Access::Expired
        );
        tokens.revoke_all();
        assert_eq!(
            tokens.refresh(&pair.refresh_token, t0).unwrap_err(),
            RefreshError::Invalid
        );
    }
}
