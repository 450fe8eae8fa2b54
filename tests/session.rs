//! The single-flight state machine, driven step by step as the shell would drive it.
#![cfg(not(target_arch = "wasm32"))]

use reauth::session::{Admit, FlightId, Outcome, Session, Ticket, Unauthorized};

fn logged_in() -> Session {
    let mut s = Session::new();
    s.set_tokens("a0".into(), Some("r0".into()), Some(60_000), 0);
    s
}

fn send(s: &Session) -> Ticket {
    match s.admit() {
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
    let tickets: Vec<Ticket> = (0..50).map(|_| send(&s)).collect();
    let f = start(&mut s, tickets[0]);
    for t in &tickets[1..] {
        assert_eq!(s.unauthorized(*t), Unauthorized::Wait(f));
    }
    assert!(s.refresh_succeeded(f, "a1".into(), Some("r1".into()), None, 10));
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
    let t = send(&s);
    let f = start(&mut s, t);
    let admitted = s.epoch();
    assert_eq!(s.admit(), Admit::Wait(f));
    s.refresh_succeeded(f, "a1".into(), None, None, 5);
    let t = s.after_wait(admitted, Outcome::Succeeded);
    assert_eq!(t.generation(), s.generation());
    assert!(
        t.is_spent(),
        "a request that waited through a refresh gets no second one"
    );
    assert_eq!(s.unauthorized(t), REPORT);
}

#[test]
fn a_late_401_for_an_older_token_retries_at_once_without_a_refresh() {
    let mut s = logged_in();
    let early = send(&s);
    let late = send(&s);
    let f = start(&mut s, early);
    s.refresh_succeeded(f, "a1".into(), None, None, 5);
    match s.unauthorized(late) {
        Unauthorized::RetryNow(t) => assert_eq!(t.generation(), s.generation()),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.flight(), None, "no second refresh");
}

#[test]
fn retries_refused_again_report_once_per_refresh() {
    let mut s = logged_in();
    let tickets: Vec<Ticket> = (0..5).map(|_| send(&s)).collect();
    let f = start(&mut s, tickets[0]);
    s.refresh_succeeded(f, "a1".into(), None, None, 5);
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
    let t = send(&s);
    let f2 = start(&mut s, t);
    s.refresh_succeeded(f2, "a2".into(), None, None, 6);
    let Unauthorized::RetryNow(t) = s.after_flight(Outcome::Succeeded) else {
        panic!()
    };
    assert_eq!(s.unauthorized(t), REPORT);
}

#[test]
fn a_failed_refresh_hands_every_waiting_401_back_and_nothing_stays_stuck() {
    let mut s = logged_in();
    let before: Vec<Ticket> = (0..3).map(|_| send(&s)).collect();
    let f = start(&mut s, before[0]);
    assert_eq!(s.unauthorized(before[1]), Unauthorized::Wait(f));
    let held_epoch = s.epoch();
    assert_eq!(s.admit(), Admit::Wait(f));
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
    let after = send(&s);
    let f2 = start(&mut s, after);
    assert_ne!(f, f2);
}

#[test]
fn a_timed_out_refresh_that_answers_late_changes_nothing() {
    let mut s = logged_in();
    let t = send(&s);
    let f = start(&mut s, t);
    assert!(s.refresh_failed(f));
    assert!(!s.refresh_succeeded(f, "late".into(), Some("r-late".into()), None, 20_000));
    assert_eq!(s.access_token(), Some("a0"));
    assert_eq!(s.refresh_token(), Some("r0"));
}

#[test]
fn set_tokens_during_a_refresh_supersedes_it() {
    let mut s = logged_in();
    let t = send(&s);
    let f = start(&mut s, t);
    assert_eq!(s.set_tokens("app".into(), None, None, 1), Some(f));
    assert!(!s.refresh_succeeded(f, "hook".into(), None, None, 2));
    assert_eq!(s.access_token(), Some("app"));
    assert!(matches!(
        s.after_flight(Outcome::Succeeded),
        Unauthorized::RetryNow(_)
    ));
}

#[test]
fn clear_cancels_a_refresh_and_forgets_both_tokens() {
    let mut s = logged_in();
    let t = send(&s);
    let f = start(&mut s, t);
    assert_eq!(s.clear(), Some(f));
    assert_eq!(s.access_token(), None);
    assert_eq!(s.refresh_token(), None);
    assert!(!s.refresh_succeeded(f, "a1".into(), None, None, 2));
    assert_eq!(s.access_token(), None);
    // A 401 for a request sent before the logout is not retried without a token.
    let mut s2 = logged_in();
    let before = send(&s2);
    s2.clear();
    assert_eq!(s2.unauthorized(before), HAND_BACK);
}

#[test]
fn refresh_tokens_rotate_or_are_kept_and_expiry_counts_from_now() {
    let mut s = Session::new();
    assert_eq!(s.access_token(), None);
    s.set_tokens("a".into(), Some("r1".into()), Some(5_000), 1_000);
    assert_eq!(s.expires_at_ms(), Some(6_000));
    s.set_tokens("b".into(), None, None, 2_000);
    assert_eq!(
        s.refresh_token(),
        Some("r1"),
        "an omitted refresh token keeps the current one"
    );
    assert_eq!(s.expires_at_ms(), None);
    let t = send(&s);
    let f = start(&mut s, t);
    s.refresh_succeeded(f, "c".into(), Some("r2".into()), Some(1_000), 3_000);
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
    let t = send(&s);
    assert!(matches!(s.unauthorized(t), Unauthorized::Refresh(_)));
}
