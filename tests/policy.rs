//! The 401 decision table, one row per case (the same table as the README's).
#![cfg(not(target_arch = "wasm32"))]

use reauth::policy::{decide, Decision, Facts, Header, PassReason, RefreshReason};
use reauth::{parse_challenges, BearerError};

fn decide_header(status: u16, header: Option<&str>, nonce: Option<&str>, dpop: bool) -> String {
    let facts = Facts::default().with_dpop_nonce(nonce).with_dpop(dpop);
    match header.map(parse_challenges) {
        None => format!("{:?}", decide(status, Header::Absent, facts)),
        Some(Ok(c)) => format!("{:?}", decide(status, Header::Parsed(&c), facts)),
        Some(Err(e)) => format!("{:?}", decide(status, Header::Invalid(&e), facts)),
    }
}

macro_rules! table {
    ($($name:ident: $status:expr, $header:expr $(, nonce = $nonce:expr)? $(, dpop = $dpop:expr)? => $expect:expr;)*) => {$(
        #[test]
        fn $name() {
            #[allow(unused_mut, unused_assignments)]
            let mut nonce: Option<&str> = None;
            $(nonce = Some($nonce);)?
            #[allow(unused_mut, unused_assignments)]
            let mut dpop = false;
            $(dpop = $dpop;)?
            assert_eq!(decide_header($status, $header, nonce, dpop), format!("{:?}", $expect));
        }
    )*};
}

use Decision::{NonceRetry, Pass, Refresh};

table! {
    ok_200: 200, None => Pass(PassReason::NotUnauthorized);
    forbidden_never_refreshes: 403, Some("Bearer error=\"insufficient_scope\"") => Pass(PassReason::NotUnauthorized);
    forbidden_invalid_token_still_passes: 403, Some("Bearer error=\"invalid_token\"") => Pass(PassReason::NotUnauthorized);
    server_error: 500, None => Pass(PassReason::NotUnauthorized);
    no_header: 401, None => Refresh(RefreshReason::NoChallenge);
    empty_header: 401, Some("") => Refresh(RefreshReason::NoChallenge);
    unparsable_header: 401, Some("Bearer realm=\"unterminated") => Refresh(RefreshReason::Unparsable);
    bearer_no_error: 401, Some("Bearer realm=\"example\"") => Refresh(RefreshReason::NoError);
    bare_bearer: 401, Some("Bearer") => Refresh(RefreshReason::NoError);
    invalid_token: 401, Some("Bearer realm=\"example\", error=\"invalid_token\", error_description=\"The access token expired\"") => Refresh(RefreshReason::InvalidToken);
    unknown_error_code: 401, Some("Bearer error=\"token_expired\"") => Refresh(RefreshReason::UnknownError);
    scheme_case_insensitive: 401, Some("bEaReR error=invalid_token") => Refresh(RefreshReason::InvalidToken);
    dpop_invalid_token: 401, Some("DPoP algs=\"ES256\", error=\"invalid_token\"") => Refresh(RefreshReason::InvalidToken);
    insufficient_scope: 401, Some("Bearer error=\"insufficient_scope\", scope=\"read write\"") => Pass(PassReason::InsufficientScope { scope: Some("read write") });
    invalid_request: 401, Some("Bearer error=\"invalid_request\"") => Pass(PassReason::InvalidRequest);
    invalid_dpop_proof: 401, Some("DPoP error=\"invalid_dpop_proof\"") => Pass(PassReason::InvalidDpopProof);
    step_up_acr: 401, Some("Bearer error=\"insufficient_user_authentication\", acr_values=\"myACR\"") => Pass(PassReason::StepUp { acr_values: Some("myACR"), max_age: None });
    step_up_max_age: 401, Some("Bearer error=\"insufficient_user_authentication\", max_age=\"5\"") => Pass(PassReason::StepUp { acr_values: None, max_age: Some(5) });
    claims: 401, Some("Bearer error=\"insufficient_claims\", claims=\"eyJ9\"") => Pass(PassReason::InsufficientClaims { claims: Some("eyJ9") });
    use_dpop_nonce_without_proof: 401, Some("DPoP error=\"use_dpop_nonce\""), nonce = "eyJ7S_zG.eyJH0" => Pass(PassReason::UseDpopNonce { nonce: Some("eyJ7S_zG.eyJH0") });
    use_dpop_nonce_retries: 401, Some("DPoP error=\"use_dpop_nonce\""), nonce = "eyJ7S_zG.eyJH0", dpop = true => NonceRetry { nonce: "eyJ7S_zG.eyJH0" };
    use_dpop_nonce_without_nonce: 401, Some("DPoP error=\"use_dpop_nonce\""), dpop = true => Pass(PassReason::UseDpopNonce { nonce: None });
    dpop_invalid_token_with_nonce_refreshes: 401, Some("DPoP error=\"invalid_token\""), nonce = "n2", dpop = true => Refresh(RefreshReason::InvalidToken);
    basic_only: 401, Some("Basic realm=\"x\"") => Pass(PassReason::OtherScheme);
    digest_only: 401, Some("Digest realm=\"x\", qop=\"auth\", nonce=\"n\"") => Pass(PassReason::OtherScheme);
    negotiate_token68: 401, Some("Negotiate abcdef") => Pass(PassReason::OtherScheme);
    basic_and_bearer: 401, Some("Basic realm=\"x\", Bearer error=\"invalid_token\"") => Refresh(RefreshReason::InvalidToken);
    first_bearer_with_error_decides: 401, Some("Bearer realm=\"a\", DPoP error=\"insufficient_scope\"") => Pass(PassReason::InsufficientScope { scope: None });
    bearer_named_param_of_other_scheme: 401, Some("Newauth bearer=x") => Pass(PassReason::OtherScheme);
}

#[test]
fn bearer_view_reads_every_field() {
    let c = parse_challenges(
        "Bearer realm=\"r\", scope=\"s t\", error=\"insufficient_user_authentication\", \
         error_description=\"d\", error_uri=\"https://e/\", acr_values=\"a b\", max_age=\"60\", \
         claims=\"c\"",
    )
    .unwrap();
    let b = c[0].bearer().unwrap();
    assert!(!b.dpop);
    assert_eq!(b.realm, Some("r"));
    assert_eq!(b.scope, Some("s t"));
    assert_eq!(b.error, Some(BearerError::InsufficientUserAuthentication));
    assert_eq!(b.error_description, Some("d"));
    assert_eq!(b.error_uri, Some("https://e/"));
    assert_eq!(b.acr_values, Some("a b"));
    assert_eq!(b.max_age, Some(60));
    assert_eq!(b.claims, Some("c"));
    let d = parse_challenges("DPoP algs=\"ES256 PS256\", error=use_dpop_nonce").unwrap();
    let d = d[0].bearer().unwrap();
    assert!(d.dpop);
    assert_eq!(d.algs, Some("ES256 PS256"));
    assert_eq!(d.error, Some(BearerError::UseDpopNonce));
    assert!(parse_challenges("Basic realm=x").unwrap()[0]
        .bearer()
        .is_none());
}

#[test]
fn error_codes_are_case_sensitive() {
    // RFC 6750 §3: the codes are fixed strings; `INVALID_TOKEN` is some other code, which the
    // policy treats as unknown (refresh).
    assert_eq!(
        BearerError::from_code("INVALID_TOKEN"),
        BearerError::Other("INVALID_TOKEN")
    );
}

#[test]
fn decide_raw_matches_the_table() {
    use reauth::policy::decide_raw;
    assert!(decide_raw(401, None, Facts::default()));
    assert!(decide_raw(
        401,
        Some("Bearer error=invalid_token"),
        Facts::default()
    ));
    assert!(!decide_raw(401, Some("Basic realm=x"), Facts::default()));
    assert!(!decide_raw(403, None, Facts::default()));
}
