//! Tokens and the single-flight refresh, as a pure state machine.
//!
//! The shell (the wasm layer) owns the I/O: it sends requests, runs the app's `refresh` hook and
//! its timer, and asks this machine what to do at each step. The machine owns every decision
//! that must be shared between concurrent requests:
//!
//! - [`Session::admit`]: a new request is sent now with the current token, waits for the
//!   refresh that is running, or starts a proactive refresh when the token is about to expire.
//! - [`Session::unauthorized`]: a 401 that the policy says a refresh can answer is retried at
//!   once (the token changed since it was sent), waits for the running refresh, starts the one
//!   refresh, or is handed back (it was already retried, or a refresh failed since it was sent).
//! - [`Session::refresh_succeeded`], [`Session::refresh_failed`], [`Session::refresh_revoked`]:
//!   the end of a refresh; [`Session::answered_late`]: tokens of a refresh that timed out.
//!
//! Two counters make the rules simple. The **generation** counts token sets: it moves on every
//! successful refresh, [`Session::set_tokens`] and [`Session::clear`]. The **epoch** counts
//! refreshes that ended, however they ended. A request remembers both as they were when it was
//! admitted ([`Ticket`]). A 401 for an older generation is retried with the current token; a
//! 401 for the current generation whose epoch is older means a refresh failed since the request
//! started, and refreshing again would only repeat that failure.
//!
//! Time enters as an argument (milliseconds on any monotonic or wall clock the caller likes):
//! the machine never reads a clock.

use alloc::string::String;

/// Identifies one refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlightId(u64);

impl FlightId {
    /// A number that identifies this refresh (counts from 1).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// What a request carries through its life: the token generation it was sent with, the epoch
/// when it was admitted, and whether it already had its retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    generation: u64,
    epoch: u64,
    spent: bool,
}

impl Ticket {
    /// Whether this request already had its one retry.
    pub fn is_spent(&self) -> bool {
        self.spent
    }

    /// The token generation the request was (or will be) sent with.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The ticket as plain numbers, for a shell that carries it through foreign code.
    pub fn to_parts(self) -> (u64, u64, bool) {
        (self.generation, self.epoch, self.spent)
    }

    /// A ticket from [`Ticket::to_parts`].
    pub fn from_parts(generation: u64, epoch: u64, spent: bool) -> Self {
        Ticket {
            generation,
            epoch,
            spent,
        }
    }
}

/// What to do with a new request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Send it now with the current token.
    Send(Ticket),
    /// A refresh is running: wait for it, then call [`Session::after_wait`].
    Wait(FlightId),
    /// The token is about to expire: this request starts a (proactive) refresh; run it, wait
    /// for it, then call [`Session::after_wait`].
    Refresh(FlightId),
}

/// When an access token expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Not known: the token is never stale (only a 401 starts a refresh).
    Never,
    /// A JWT's claims (see [`crate::jwt::expiry_of`]; the JS shell reads them with the
    /// platform's JSON parser): `exp` and `iat`, seconds since the epoch.
    Claims {
        /// The `exp` claim.
        exp: u64,
        /// The `iat` claim, if any.
        iat: Option<u64>,
    },
    /// In this many milliseconds from `now` (a token set's `expiresIn`).
    In(u64),
    /// At this time (same clock as `now`), e.g. as stored by another tab.
    At(u64),
}

/// What to do with a 401 that a refresh could answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unauthorized {
    /// The token changed since the request was sent: retry it now with the current token.
    RetryNow(Ticket),
    /// This 401 starts the refresh: run the app's hook, then report the result.
    Refresh(FlightId),
    /// A refresh is running: wait for it, then call [`Session::after_flight`].
    Wait(FlightId),
    /// Hand the 401 back to the caller.
    HandBack {
        /// Whether to report `retry_unauthorized` to the app: true for the first request per
        /// token generation whose retry with that generation was refused too, unless a newer
        /// generation's was reported already.
        report_retry_failure: bool,
    },
}

/// What became of tokens that arrived after their refresh ended ([`Session::answered_late`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Late {
    /// They are the session's tokens now; the refresh they superseded, if one was running.
    Installed(Option<FlightId>),
    /// Newer tokens arrived meanwhile, or the session was cleared: they are not used.
    Discarded,
}

/// How a refresh that a request waited for ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// New tokens are in place (refreshed, or set by the app meanwhile).
    Succeeded,
    /// The refresh failed, timed out, or the tokens were cleared.
    Failed,
}

#[derive(Clone, Debug)]
struct Tokens {
    access: Option<String>,
    refresh: Option<String>,
    expires_at_ms: Option<u64>,
    /// How long the token lived when it was set: bounds the refresh skew, so that a token that
    /// lives 5 s is not refreshed on every request under a 30 s skew.
    lifetime_ms: Option<u64>,
}

const NO_TOKENS: Tokens = Tokens {
    access: None,
    refresh: None,
    expires_at_ms: None,
    lifetime_ms: None,
};

/// The token state and the single-flight refresh of one `authFetch`.
#[derive(Debug)]
pub struct Session {
    tokens: Tokens,
    generation: u64,
    epoch: u64,
    flight: Option<FlightId>,
    /// Whether the running refresh was started before any 401 (the token was about to expire).
    proactive: bool,
    /// Whether a 401 is waiting for the running proactive refresh: its failure is then a failed
    /// refresh like any other.
    joined: bool,
    flights_started: u64,
    retry_failure_reported: Option<u64>,
    /// How the last few refreshes ended, newest first: for a request that was admitted while
    /// one ran and gets to wait for it only after it ended (its body was being read).
    ended: [Option<(FlightId, Outcome)>; 4],
}

/// When a token with these JWT claims expires, and how long it lives (from `iat`, else from now).
fn from_claims(exp: u64, iat: Option<u64>, now_ms: u64) -> (Option<u64>, Option<u64>) {
    // Seconds to ms, saturating (a plain multiply of a capped value: a checked 64-bit multiply
    // costs a 128-bit helper in wasm).
    let ms = |seconds: u64| seconds.min(u64::MAX / 1000) * 1000;
    let at = ms(exp);
    let issued = iat.map_or(now_ms, ms);
    (Some(at), Some(at.saturating_sub(issued)))
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A session with no tokens.
    pub fn new() -> Self {
        Session {
            tokens: NO_TOKENS,
            generation: 0,
            epoch: 0,
            flight: None,
            proactive: false,
            joined: false,
            flights_started: 0,
            retry_failure_reported: None,
            ended: [None; 4],
        }
    }

    /// The current access token.
    pub fn access_token(&self) -> Option<&str> {
        self.tokens.access.as_deref()
    }

    /// The current refresh token.
    pub fn refresh_token(&self) -> Option<&str> {
        self.tokens.refresh.as_deref()
    }

    /// When the access token expires, if known (same clock as the `now` passed in).
    pub fn expires_at_ms(&self) -> Option<u64> {
        self.tokens.expires_at_ms
    }

    /// The current token generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The refresh that is running, if any.
    pub fn flight(&self) -> Option<FlightId> {
        self.flight
    }

    /// Whether the running refresh is a proactive one.
    pub fn flight_is_proactive(&self) -> bool {
        self.flight.is_some() && self.proactive
    }

    /// Whether the app is to be told if the running refresh fails: always for a refresh a 401
    /// started, and for a proactive one once a 401 waits for it. (A proactive refresh that fails
    /// before any 401 is no logout: the token may still be good.)
    pub fn failure_is_reported(&self) -> bool {
        self.flight.is_some() && (!self.proactive || self.joined)
    }

    /// Installs a new token set. `refresh: None` keeps the current refresh token. A running
    /// refresh is superseded: its result will be ignored, and the requests waiting for it go on
    /// with these tokens; its id is returned so the shell can settle them with
    /// [`Outcome::Succeeded`] and abort the hook.
    pub fn set_tokens(
        &mut self,
        access: String,
        refresh: Option<String>,
        expiry: Expiry,
        now_ms: u64,
    ) -> Option<FlightId> {
        let (expires_at_ms, lifetime_ms) = match expiry {
            Expiry::In(d) => (Some(now_ms.saturating_add(d)), Some(d)),
            Expiry::At(at) => (Some(at), None),
            Expiry::Never => (None, None),
            Expiry::Claims { exp, iat } => from_claims(exp, iat, now_ms),
        };
        self.tokens.access = Some(access);
        if refresh.is_some() {
            self.tokens.refresh = refresh;
        }
        self.tokens.expires_at_ms = expires_at_ms;
        self.tokens.lifetime_ms = lifetime_ms;
        self.generation += 1;
        self.end_flight(true, Outcome::Succeeded)
    }

    /// Whether the access token expires within `skew_ms` of `now_ms` (the skew is capped at
    /// half the token's lifetime). A token without a known expiry is never stale.
    pub fn is_stale(&self, now_ms: u64, skew_ms: u64) -> bool {
        match (&self.tokens.access, self.tokens.expires_at_ms) {
            (Some(_), Some(at)) => {
                let skew = self
                    .tokens
                    .lifetime_ms
                    .map_or(skew_ms, |l| skew_ms.min(l / 2));
                now_ms.saturating_add(skew) >= at
            }
            _ => false,
        }
    }

    /// Starts a proactive refresh if the token is stale and none is running (timers are not
    /// trusted, so the shell calls this when a hidden page becomes visible or goes online).
    pub fn check_expiry(&mut self, now_ms: u64, skew_ms: u64) -> Option<FlightId> {
        if self.flight.is_none() && self.is_stale(now_ms, skew_ms) {
            Some(self.start_flight(true))
        } else {
            None
        }
    }

    /// Forgets both tokens (logout). A running refresh is cancelled: it ends as
    /// [`Outcome::Failed`] (a request that waits for it late is not sent as a retried one), its
    /// result will be ignored, and its id is returned so the shell can release its waiters and
    /// abort the hook.
    pub fn clear(&mut self) -> Option<FlightId> {
        self.tokens = NO_TOKENS;
        self.generation += 1;
        self.end_flight(true, Outcome::Failed)
    }

    /// The refresh `id` was refused for good (the grant is gone: `invalid_grant`): the tokens
    /// are forgotten and the failure counts, however the refresh started. A proactive refresh
    /// included: this is no guess about a token that may still be good, so the requests that
    /// waited for it hand their 401 back, and the app is told once. Returns false when the
    /// refresh was no longer current.
    pub fn refresh_revoked(&mut self, id: FlightId) -> bool {
        if self.flight != Some(id) {
            return false;
        }
        self.tokens = NO_TOKENS;
        self.generation += 1;
        self.end_flight(true, Outcome::Failed);
        true
    }

    /// Tokens from a refresh that had already ended when they arrived (it timed out, and its
    /// token request was left to finish: the server may have rotated the refresh token). They
    /// are installed unless newer tokens arrived meanwhile, or the session was cleared:
    /// `since` is the [`Session::generation`] when that refresh started. A refresh running now
    /// is superseded by them, as by [`Session::set_tokens`].
    pub fn answered_late(
        &mut self,
        since: u64,
        access: String,
        refresh: Option<String>,
        expiry: Expiry,
        now_ms: u64,
    ) -> Late {
        if self.generation != since {
            return Late::Discarded;
        }
        Late::Installed(self.set_tokens(access, refresh, expiry, now_ms))
    }

    /// Whether tokens read from shared storage (another tab's) should replace this session's:
    /// they are there and differ from the current access token.
    pub fn should_adopt(&self, stored_access: Option<&str>) -> bool {
        stored_access.is_some() && stored_access != self.tokens.access.as_deref()
    }

    /// A new request at `now_ms`: send now, wait for the running refresh, or start a proactive
    /// refresh because the token expires within `skew_ms`.
    pub fn admit(&mut self, now_ms: u64, skew_ms: u64) -> Admit {
        match self.flight {
            Some(f) => Admit::Wait(f),
            None if self.is_stale(now_ms, skew_ms) => Admit::Refresh(self.start_flight(true)),
            None => Admit::Send(self.ticket(false)),
        }
    }

    /// A request that waited from admission for a refresh that ended with `outcome`: send it
    /// now with the token there is. `admitted` is the epoch it was admitted in (from
    /// [`Session::epoch`] at admission).
    ///
    /// After a success this is the request's first attempt, with the new token: a 401 for it
    /// is like any other (it starts or joins a refresh, and the request has its one retry), and
    /// no retry of it was refused. After a failure its 401 is handed back: a refresh ended
    /// since it was admitted, and another would fail the same way.
    pub fn after_wait(&self, admitted: u64, outcome: Outcome) -> Ticket {
        match outcome {
            Outcome::Succeeded => self.ticket(false),
            Outcome::Failed => Ticket {
                generation: self.generation,
                epoch: admitted,
                spent: false,
            },
        }
    }

    /// The current epoch (how many refreshes have ended).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// A 401 that the policy says a refresh could answer, for a request sent with `ticket`.
    pub fn unauthorized(&mut self, ticket: Ticket) -> Unauthorized {
        if ticket.spent {
            // Reported at most once per token set, in the order of the sets: once a newer set's
            // refused retry was reported, an older one's, answered late, is not (however the
            // answers for several token sets interleave).
            let report = self
                .retry_failure_reported
                .is_none_or(|g| g < ticket.generation);
            if report {
                self.retry_failure_reported = Some(ticket.generation);
            }
            return Unauthorized::HandBack {
                report_retry_failure: report,
            };
        }
        if let Some(f) = self.flight {
            if self.proactive {
                self.joined = true;
            }
            return Unauthorized::Wait(f);
        }
        if ticket.generation < self.generation {
            // The token changed since the request was sent. After a logout there is no token
            // to retry with: hand the 401 back.
            return match self.tokens.access {
                Some(_) => Unauthorized::RetryNow(self.ticket(true)),
                None => Unauthorized::HandBack {
                    report_retry_failure: false,
                },
            };
        }
        if ticket.epoch < self.epoch {
            // Same token, and a refresh ended since this request started: it failed (a
            // success would have moved the generation). Another one would fail the same way.
            return Unauthorized::HandBack {
                report_retry_failure: false,
            };
        }
        Unauthorized::Refresh(self.start_flight(false))
    }

    fn start_flight(&mut self, proactive: bool) -> FlightId {
        self.flights_started += 1;
        let id = FlightId(self.flights_started);
        self.flight = Some(id);
        self.proactive = proactive;
        self.joined = false;
        id
    }

    /// A 401 that waited for a refresh that ended with `outcome`: retry it (once) or hand it back.
    pub fn after_flight(&self, outcome: Outcome) -> Unauthorized {
        match outcome {
            Outcome::Succeeded => Unauthorized::RetryNow(self.ticket(true)),
            Outcome::Failed => Unauthorized::HandBack {
                report_retry_failure: false,
            },
        }
    }

    /// The refresh `id` returned tokens. Returns false (and changes nothing) when that refresh
    /// is no longer current: it timed out, or the app set or cleared the tokens meanwhile.
    pub fn refresh_succeeded(
        &mut self,
        id: FlightId,
        access: String,
        refresh: Option<String>,
        expiry: Expiry,
        now_ms: u64,
    ) -> bool {
        if self.flight != Some(id) {
            return false;
        }
        self.set_tokens(access, refresh, expiry, now_ms);
        true
    }

    /// The refresh `id` failed or timed out. Returns false when it was no longer current (the
    /// failure was already settled, or the app set or cleared the tokens meanwhile).
    ///
    /// A failed *proactive* refresh does not count against the requests that waited for it
    /// from admission: the token may still be good, so they go out with it, and a 401 then
    /// starts a refresh of its own. (Never log a user out on a guess.) Once a 401 waits for it
    /// ([`Session::failure_is_reported`]), it counts like any failed refresh.
    pub fn refresh_failed(&mut self, id: FlightId) -> bool {
        if self.flight != Some(id) {
            return false;
        }
        let counts = !self.proactive || self.joined;
        self.end_flight(counts, Outcome::Failed);
        true
    }

    /// How refresh `id` ended: `None` while it runs (or when it ended too long ago to be
    /// remembered: four refreshes back).
    pub fn outcome(&self, id: FlightId) -> Option<Outcome> {
        self.ended
            .iter()
            .flatten()
            .find(|(f, _)| *f == id)
            .map(|&(_, o)| o)
    }

    fn end_flight(&mut self, counts: bool, outcome: Outcome) -> Option<FlightId> {
        let f = self.flight.take();
        if let Some(id) = f {
            if counts {
                self.epoch += 1;
            }
            self.ended.rotate_right(1);
            self.ended[0] = Some((id, outcome));
        }
        self.proactive = false;
        self.joined = false;
        f
    }

    fn ticket(&self, spent: bool) -> Ticket {
        Ticket {
            generation: self.generation,
            epoch: self.epoch,
            spent,
        }
    }
}
