//! The single-flight state machine, driven step by step as the shell would drive it.
#![cfg(not(target_arch = "wasm32"))]

use reauth::session::{Admit, Expiry, FlightId, Late, Outcome, Session, Ticket, Unauthorized};

const SKEW: u64 = 30_000;

fn logged_in() -> Session {
    let mut s = Session::new();
    s.set_tokens("a0".into(), Some("r0".into()), Expiry::In(60_000), 0);
    s
}

fn send(s: &mut Session) -> Ticket {
    match s.admit(0, SKEW) {
        Admit::Send(t) => t,
        other => panic!("expected Send, got {other:?}"),
    }
}

fn start(s: &mut Session, t: Ticket) -> FlightId {
    match s.unauthorized(t) {
        Unauthorized::Refresh(f) => f,
        other => panic!("expected Refresh, got {other:?}"),
    }
}

const HAND_BACK: Unauthorized = Unauthorized::HandBack {
    report_retry_failure: false,
};
const REPORT: Unauthorized = Unauthorized::HandBack {
    report_retry_failure: true,
};

#[test]
fn fifty_concurrent_401s_share_one_refresh_and_all_retry_with_the_new_token() {
    let mut s = logged_in();
    let tickets: Vec<Ticket> = (0..50).map(|_| send(&mut s)).collect();
    let f = start(&mut s, tickets[0]);
    for t in &tickets[1..] {
        assert_eq!(s.unauthorized(*t), Unauthorized::Wait(f));
    }
    assert!(s.refresh_succeeded(f, "a1".into(), Some("r1".into()), Expiry::Never, 10));
    assert_eq!(s.access_token(), Some("a1"));
    let mut retries = 0;
    for _ in &tickets {
        match s.after_flight(Outcome::Succeeded) {
            Unauthorized::RetryNow(t) => {
                assert!(t.is_spent());
                assert_eq!(t.generation(), s.generation());
                retries += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(retries, 50);
    assert_eq!(s.flight(), None);
}

#[test]
fn requests_started_during_a_refresh_wait_and_go_out_with_the_new_token() {
    let mut s = logged_in();
    let t = send(&mut s);
    let f = start(&mut s, t);
    let admitted = s.epoch();
    assert_eq!(s.admit(0, SKEW), Admit::Wait(f));
    s.refresh_succeeded(f, "a1".into(), None, Expiry::Never, 5);
    let t = s.after_wait(admitted, Outcome::Succeeded);
    assert_eq!(t.generation(), s.generation());
    assert!(
        !t.is_spent(),
        "sent with the new token: its first attempt, its retry still to come"
    );
}

/// Issue 29, found by the soak on a starved CPU: a request that waited through a successful
/// refresh sends its first attempt with the new token; when that is refused, no retry of it
/// was refused, so no `retry_unauthorized`: it is a 401 like any other, which refreshes once
/// and retries once. (Before: handed back at once, and reported as a refused retry.)
#[test]
fn a_request_that_waited_through_a_refresh_and_is_refused_refreshes_and_retries_once_reporting_nothing(
) {
    let mut s = logged_in();
    let t = send(&mut s);
    let f = start(&mut s, t);
    let admitted = s.epoch();
    assert_eq!(s.admit(0, SKEW), Admit::Wait(f));
    assert!(s.refresh_succeeded(f, "a1".into(), None, Expiry::Never, 5));
    let first = s.after_wait(admitted, Outcome::Succeeded);
    // The server refuses a1 too (rotated meanwhile): a refresh, shared as ever.
    let g = match s.unauthorized(first) {
        Unauthorized::Refresh(g) => g,
        other => panic!("expected a refresh, got {other:?}"),
    };
    assert_ne!(g, f);
    assert!(s.refresh_succeeded(g, "a2".into(), None, Expiry::Never, 6));
    let retry = match s.after_flight(Outcome::Succeeded) {
        Unauthorized::RetryNow(t) => t,
        other => panic!("expected a retry, got {other:?}"),
    };
    // Its one retry refused too: now it is reported, once.
    assert_eq!(s.unauthorized(retry), REPORT);
    assert_eq!(s.unauthorized(retry), HAND_BACK);
}

/// Issue 29: refused retries of two token sets answered out of order (slow promise turns):
/// the hook runs at most once per token set. (Before: each change of generation between
/// answers reported again: 1, 2, 1, 2 → four hooks.)
#[test]
fn refused_retries_report_once_per_token_set_however_their_answers_interleave() {
    let mut s = logged_in();
    // Two retries with a1 (refused), then a refresh to a2 and two retries with it.
    let t = send(&mut s);
    let f = start(&mut s, t);
    assert!(s.refresh_succeeded(f, "a1".into(), None, Expiry::Never, 1));
    let (r1a, r1b) = (retry_ticket(&s), retry_ticket(&s));
    assert_eq!(s.unauthorized(r1a), REPORT, "a1's refused retry: reported");
    let t = send(&mut s);
    let g = start(&mut s, t);
    assert!(s.refresh_succeeded(g, "a2".into(), None, Expiry::Never, 2));
    let (r2a, r2b) = (retry_ticket(&s), retry_ticket(&s));
    assert_eq!(s.unauthorized(r2a), REPORT, "a2's refused retry: reported");
    assert_eq!(
        s.unauthorized(r1b),
        HAND_BACK,
        "a1's other retry, answered late: a2 replaced it"
    );
    assert_eq!(
        s.unauthorized(r2b),
        HAND_BACK,
        "a2's other retry: reported already"
    );
    // A token set whose refused retry is answered only after a newer set arrived, none of them
    // reported yet: reported, once.
    let t = send(&mut s);
    let h = start(&mut s, t);
    assert!(s.refresh_succeeded(h, "a3".into(), None, Expiry::Never, 3));
    let r3 = retry_ticket(&s);
    s.set_tokens("a4".into(), None, Expiry::Never, 4);
    assert_eq!(s.unauthorized(r3), REPORT);
    assert_eq!(s.unauthorized(r3), HAND_BACK);
}

/// The ticket a 401 that waited for a successful refresh retries with.
fn retry_ticket(s: &Session) -> Ticket {
    match s.after_flight(Outcome::Succeeded) {
        Unauthorized::RetryNow(t) => t,
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[test]
fn a_late_401_for_an_older_token_retries_at_once_without_a_refresh() {
    let mut s = logged_in();
    let early = send(&mut s);
    let late = send(&mut s);
    let f = start(&mut s, early);
    s.refresh_succeeded(f, "a1".into(), None, Expiry::Never, 5);
    match s.unauthorized(late) {
        Unauthorized::RetryNow(t) => assert_eq!(t.generation(), s.generation()),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.flight(), None, "no second refresh");
}

#[test]
fn retries_refused_again_report_once_per_refresh() {
    let mut s = logged_in();
    let tickets: Vec<Ticket> = (0..5).map(|_| send(&mut s)).collect();
    let f = start(&mut s, tickets[0]);
    s.refresh_succeeded(f, "a1".into(), None, Expiry::Never, 5);
    let retried: Vec<Ticket> = tickets
        .iter()
        .map(|_| match s.after_flight(Outcome::Succeeded) {
            Unauthorized::RetryNow(t) => t,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(s.unauthorized(retried[0]), REPORT);
    for t in &retried[1..] {
        assert_eq!(s.unauthorized(*t), HAND_BACK);
    }
    // A later refresh that also yields a refused token reports again, once.
    let t = send(&mut s);
    let f2 = start(&mut s, t);
    s.refresh_succeeded(f2, "a2".into(), None, Expiry::Never, 6);
    let Unauthorized::RetryNow(t) = s.after_flight(Outcome::Succeeded) else {
        panic!()
    };
    assert_eq!(s.unauthorized(t), REPORT);
}

#[test]
fn a_failed_refresh_hands_every_waiting_401_back_and_nothing_stays_stuck() {
    let mut s = logged_in();
    let before: Vec<Ticket> = (0..3).map(|_| send(&mut s)).collect();
    let f = start(&mut s, before[0]);
    assert_eq!(s.unauthorized(before[1]), Unauthorized::Wait(f));
    let held_epoch = s.epoch();
    assert_eq!(s.admit(0, SKEW), Admit::Wait(f));
    assert!(s.refresh_failed(f));
    assert!(!s.refresh_failed(f), "a failure is settled once");
    // The waiters get their own 401s.
    assert_eq!(s.after_flight(Outcome::Failed), HAND_BACK);
    // A 401 for a request sent before the refresh ended is handed back, no new refresh.
    assert_eq!(s.unauthorized(before[2]), HAND_BACK);
    // A request held during it goes out with the token there is; its 401 is handed back.
    let held = s.after_wait(held_epoch, Outcome::Failed);
    assert!(!held.is_spent());
    assert_eq!(s.unauthorized(held), HAND_BACK);
    assert_eq!(s.flight(), None);
    // A request sent after the failure starts a new refresh.
    let after = send(&mut s);
    let f2 = start(&mut s, after);
    assert_ne!(f, f2);
}

#[test]
fn a_timed_out_refresh_that_answers_late_changes_nothing() {
    let mut s = logged_in();
    let t = send(&mut s);
    let f = start(&mut s, t);
    assert!(s.refresh_failed(f));
    assert!(!s.refresh_succeeded(
        f,
        "late".into(),
        Some("r-late".into()),
        Expiry::Never,
        20_000
    ));
    assert_eq!(s.access_token(), Some("a0"));
    assert_eq!(s.refresh_token(), Some("r0"));
}

#[test]
fn set_tokens_during_a_refresh_supersedes_it() {
    let mut s = logged_in();
    let t = send(&mut s);
    let f = start(&mut s, t);
    assert_eq!(s.set_tokens("app".into(), None, Expiry::Never, 1), Some(f));
    assert!(!s.refresh_succeeded(f, "hook".into(), None, Expiry::Never, 2));
    assert_eq!(s.access_token(), Some("app"));
    assert!(matches!(
        s.after_flight(Outcome::Succeeded),
        Unauthorized::RetryNow(_)
    ));
}

#[test]
fn clear_cancels_a_refresh_and_forgets_both_tokens() {
    let mut s = logged_in();
    let t = send(&mut s);
    let f = start(&mut s, t);
    assert_eq!(s.clear(), Some(f));
    assert_eq!(s.access_token(), None);
    assert_eq!(s.refresh_token(), None);
    assert!(!s.refresh_succeeded(f, "a1".into(), None, Expiry::Never, 2));
    assert_eq!(s.access_token(), None);
    // A 401 for a request sent before the logout is not retried without a token.
    let mut s2 = logged_in();
    let before = send(&mut s2);
    s2.clear();
    assert_eq!(s2.unauthorized(before), HAND_BACK);
}

#[test]
fn refresh_tokens_rotate_or_are_kept_and_expiry_counts_from_now() {
    let mut s = Session::new();
    assert_eq!(s.access_token(), None);
    s.set_tokens("a".into(), Some("r1".into()), Expiry::In(5_000), 1_000);
    assert_eq!(s.expires_at_ms(), Some(6_000));
    s.set_tokens("b".into(), None, Expiry::Never, 2_000);
    assert_eq!(
        s.refresh_token(),
        Some("r1"),
        "an omitted refresh token keeps the current one"
    );
    assert_eq!(s.expires_at_ms(), None);
    let t = send(&mut s);
    let f = start(&mut s, t);
    s.refresh_succeeded(f, "c".into(), Some("r2".into()), Expiry::In(1_000), 3_000);
    assert_eq!(
        s.refresh_token(),
        Some("r2"),
        "a rotated refresh token replaces the old one"
    );
    assert_eq!(s.expires_at_ms(), Some(4_000));
}

#[test]
fn a_401_without_any_token_still_starts_a_refresh() {
    // The SPA start-up case: no access token yet, the refresh hook may use a cookie.
    let mut s = Session::new();
    let t = send(&mut s);
    assert!(matches!(s.unauthorized(t), Unauthorized::Refresh(_)));
}

#[test]
fn a_token_near_expiry_is_refreshed_before_sending_single_flight() {
    let mut s = Session::new();
    s.set_tokens("a".into(), Some("r".into()), Expiry::In(120_000), 0);
    assert!(
        matches!(s.admit(60_000, SKEW), Admit::Send(_)),
        "not yet within the skew"
    );
    let f = match s.admit(95_000, SKEW) {
        Admit::Refresh(f) => f,
        other => panic!("{other:?}"),
    };
    assert!(s.flight_is_proactive());
    assert_eq!(
        s.admit(95_001, SKEW),
        Admit::Wait(f),
        "the others wait for the same refresh"
    );
    let admitted = s.epoch();
    assert!(s.refresh_succeeded(f, "b".into(), None, Expiry::In(120_000), 96_000));
    let t = s.after_wait(admitted, Outcome::Succeeded);
    assert_eq!(t.generation(), s.generation());
    assert!(matches!(s.admit(96_001, SKEW), Admit::Send(_)));
}

#[test]
fn the_skew_is_capped_at_half_the_lifetime() {
    // A 5 s token under a 30 s skew: refreshed from 2.5 s on, not on every request.
    let mut s = Session::new();
    s.set_tokens("a".into(), None, Expiry::In(5_000), 0);
    assert!(!s.is_stale(1_000, SKEW));
    assert!(s.is_stale(4_000, SKEW));
}

#[test]
fn a_token_without_known_expiry_is_never_stale() {
    let mut s = Session::new();
    s.set_tokens("opaque".into(), None, reauth::jwt::expiry_of("opaque"), 0);
    assert!(!s.is_stale(u64::MAX / 2, SKEW));
    assert_eq!(s.check_expiry(u64::MAX / 2, SKEW), None);
    assert!(matches!(s.admit(u64::MAX / 2, SKEW), Admit::Send(_)));
    assert!(!Session::new().is_stale(0, SKEW), "no token at all");
}

#[test]
fn a_jwt_expiry_is_read_from_its_exp_claim() {
    // {"exp":1000,"iat":900}: expires at 1,000,000 ms, lived 100 s.
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMDAsImlhdCI6OTAwfQ.sig";
    let mut s = Session::new();
    s.set_tokens(jwt.into(), None, reauth::jwt::expiry_of(jwt), 900_000);
    assert_eq!(s.expires_at_ms(), Some(1_000_000));
    assert!(!s.is_stale(960_000, SKEW));
    assert!(s.is_stale(975_000, SKEW));
    // An explicit expiresIn wins over the claim.
    s.set_tokens(jwt.into(), None, Expiry::In(5_000), 0);
    assert_eq!(s.expires_at_ms(), Some(5_000));
}

#[test]
fn claims_read_by_the_caller_count_like_the_token_s_own_and_never_means_never() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjEwMDAsImlhdCI6OTAwfQ.sig";
    let mut read_here = Session::new();
    read_here.set_tokens(jwt.into(), None, reauth::jwt::expiry_of(jwt), 900_000);
    let mut read_there = Session::new();
    let claims = Expiry::Claims {
        exp: 1000,
        iat: Some(900),
    };
    read_there.set_tokens("opaque".into(), None, claims, 900_000);
    assert_eq!(read_there.expires_at_ms(), read_here.expires_at_ms());
    for now in [960_000, 975_000, 999_000] {
        assert_eq!(
            read_there.is_stale(now, SKEW),
            read_here.is_stale(now, SKEW)
        );
    }
    // Without iat the lifetime counts from now: 1,000 s - 990 s = 10 s, so a 5 s skew at most.
    let no_iat = Expiry::Claims {
        exp: 1000,
        iat: None,
    };
    read_there.set_tokens("opaque".into(), None, no_iat, 990_000);
    assert!(!read_there.is_stale(994_000, SKEW));
    assert!(read_there.is_stale(995_000, SKEW));
    // Never: the session reads no claim itself.
    read_there.set_tokens(jwt.into(), None, Expiry::Never, 900_000);
    assert_eq!(read_there.expires_at_ms(), None);
    assert!(!read_there.is_stale(u64::MAX / 2, SKEW));
}

#[test]
fn a_failed_proactive_refresh_does_not_count_against_its_requests() {
    let mut s = Session::new();
    s.set_tokens("a".into(), Some("r".into()), Expiry::In(10_000), 0);
    let admitted = s.epoch();
    let Admit::Refresh(f) = s.admit(9_000, SKEW) else {
        panic!()
    };
    assert!(s.refresh_failed(f));
    // The held request goes out with the token there is; its 401 may start a real refresh.
    let held = s.after_wait(admitted, Outcome::Failed);
    assert!(matches!(s.unauthorized(held), Unauthorized::Refresh(_)));
    assert!(!s.flight_is_proactive(), "this one answers a 401");
}

#[test]
fn a_failed_proactive_refresh_is_not_reported_until_a_401_waits_for_it() {
    let mut s = Session::new();
    s.set_tokens("a".into(), Some("r".into()), Expiry::In(10_000), 0);
    let before = s.admit(0, SKEW);
    let Admit::Send(early) = before else { panic!() };
    let Admit::Refresh(f) = s.admit(9_000, SKEW) else {
        panic!()
    };
    assert!(
        !s.failure_is_reported(),
        "no 401 yet: a failure would be no logout"
    );
    // A request sent before the refresh started comes back 401: it waits for this refresh.
    assert_eq!(s.unauthorized(early), Unauthorized::Wait(f));
    assert!(
        s.failure_is_reported(),
        "a 401 waits: its failure is reported"
    );
    let epoch = s.epoch();
    assert!(s.refresh_failed(f));
    assert_eq!(s.epoch(), epoch + 1, "it counts as a failed refresh");
    assert_eq!(s.after_flight(Outcome::Failed), HAND_BACK);
    // Another 401 for a request sent before it: handed back, no second refresh.
    assert_eq!(s.unauthorized(early), HAND_BACK);
    // The next refresh starts unjoined.
    let Admit::Refresh(g) = s.admit(9_500, SKEW) else {
        panic!()
    };
    assert!(!s.failure_is_reported());
    assert!(s.refresh_failed(g));
}

#[test]
fn how_a_refresh_ended_is_remembered_for_requests_that_wait_late() {
    let mut s = logged_in();
    let t = send(&mut s);
    let f = start(&mut s, t);
    // Admitted while it runs (its body is still being read when the refresh ends).
    let admitted = s.epoch();
    assert!(matches!(s.admit(0, SKEW), Admit::Wait(id) if id == f));
    assert_eq!(s.outcome(f), None, "still running");
    assert!(s.refresh_succeeded(f, "a1".into(), None, Expiry::Never, 0));
    assert_eq!(s.outcome(f), Some(Outcome::Succeeded));
    // It waits now: through a successful refresh, so it goes out with the new token, its
    // retry still to come.
    let late = s.after_wait(admitted, s.outcome(f).unwrap_or(Outcome::Failed));
    assert!(!late.is_spent());
    assert_eq!(late.generation(), s.generation());
    // Its 401 is a 401 for the current token: a refresh (here a failed one), and the memory is
    // four refreshes deep.
    let g = match s.unauthorized(late) {
        Unauthorized::Refresh(g) => g,
        other => panic!("expected a refresh, got {other:?}"),
    };
    assert!(s.refresh_failed(g));
    assert_eq!(s.outcome(g), Some(Outcome::Failed));
    for _ in 0..4 {
        let t = send(&mut s);
        let h = start(&mut s, t);
        assert!(s.refresh_failed(h));
    }
    assert_eq!(s.outcome(f), None, "forgotten");
}

#[test]
fn a_refresh_a_401_started_is_always_reported() {
    let mut s = logged_in();
    let t = send(&mut s);
    let f = start(&mut s, t);
    assert!(s.failure_is_reported());
    assert!(s.refresh_failed(f));
    assert!(!s.failure_is_reported(), "none running");
}

#[test]
fn check_expiry_starts_a_refresh_when_a_hidden_page_comes_back() {
    let mut s = Session::new();
    s.set_tokens("a".into(), None, Expiry::At(50_000), 0);
    assert_eq!(s.check_expiry(10_000, SKEW), None);
    let f = s.check_expiry(40_000, SKEW).expect("stale");
    assert_eq!(s.check_expiry(40_001, SKEW), None, "one at a time");
    assert_eq!(s.flight(), Some(f));
}

#[test]
fn tokens_from_another_tab_are_adopted_only_when_they_differ() {
    let s = logged_in();
    assert!(!s.should_adopt(Some("a0")));
    assert!(!s.should_adopt(None));
    assert!(s.should_adopt(Some("a1")));
}

#[test]
fn clear_ends_a_running_refresh_as_failed_for_requests_that_wait_late() {
    let mut s = logged_in();
    let t = send(&mut s);
    let f = start(&mut s, t);
    // Admitted while it runs; its body is still being read when the app logs out.
    let admitted = s.epoch();
    assert!(matches!(s.admit(0, SKEW), Admit::Wait(id) if id == f));
    assert_eq!(s.clear(), Some(f));
    assert_eq!(
        s.outcome(f),
        Some(Outcome::Failed),
        "a cancelled refresh gave no tokens"
    );
    let late = s.after_wait(admitted, s.outcome(f).unwrap_or(Outcome::Failed));
    assert!(!late.is_spent(), "not sent as a retried request");
    assert_eq!(
        s.unauthorized(late),
        HAND_BACK,
        "its 401 is handed back, unreported"
    );
}

#[test]
fn a_revoked_grant_counts_even_for_a_proactive_refresh() {
    let mut s = logged_in();
    // Near expiry: a request starts a proactive refresh and waits for it.
    let admitted = s.epoch();
    let f = match s.admit(59_000, SKEW) {
        Admit::Refresh(f) => f,
        other => panic!("expected a proactive refresh, got {other:?}"),
    };
    assert!(
        !s.failure_is_reported(),
        "a proactive refresh alone is not reported"
    );
    assert!(s.refresh_revoked(f));
    assert!(!s.refresh_revoked(f), "once");
    assert_eq!((s.access_token(), s.refresh_token()), (None, None));
    assert_eq!(s.outcome(f), Some(Outcome::Failed));
    // The request that waited goes out (without a token) and its 401 comes back: no second
    // refresh, no second report.
    let t = s.after_wait(admitted, Outcome::Failed);
    assert_eq!(s.unauthorized(t), HAND_BACK);
}

#[test]
fn tokens_of_a_timed_out_refresh_are_installed_unless_newer_ones_arrived() {
    let mut s = logged_in();
    let t = send(&mut s);
    let since = s.generation();
    let f = start(&mut s, t);
    assert!(s.refresh_failed(f), "timed out");
    // The answer comes after all: the rotated refresh token is kept.
    assert_eq!(
        s.answered_late(since, "a1".into(), Some("r1".into()), Expiry::Never, 5),
        Late::Installed(None)
    );
    assert_eq!(
        (s.access_token(), s.refresh_token()),
        (Some("a1"), Some("r1"))
    );
    // A late answer supersedes a refresh that runs now (its waiters go on with it).
    let t = send(&mut s);
    let since = s.generation();
    let g = start(&mut s, t);
    assert!(s.refresh_failed(g));
    let t = send(&mut s);
    let h = start(&mut s, t);
    assert_eq!(
        s.answered_late(since, "a2".into(), Some("r2".into()), Expiry::Never, 6),
        Late::Installed(Some(h))
    );
    assert_eq!(s.flight(), None);
    // Newer tokens (or a logout) meanwhile: the late answer is not used.
    let t = send(&mut s);
    let since = s.generation();
    let k = start(&mut s, t);
    assert!(s.refresh_failed(k));
    s.set_tokens("set".into(), Some("r-set".into()), Expiry::Never, 7);
    assert_eq!(
        s.answered_late(since, "a3".into(), Some("r3".into()), Expiry::Never, 8),
        Late::Discarded
    );
    assert_eq!(s.refresh_token(), Some("r-set"));
    let since = s.generation();
    s.clear();
    assert_eq!(
        s.answered_late(since, "a4".into(), None, Expiry::Never, 9),
        Late::Discarded
    );
    assert_eq!(s.access_token(), None);
}
