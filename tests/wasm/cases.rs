//! The Rust shell's exports, called from Rust as JS would call them, under wasm-bindgen-test
//! (in Node and in headless Chromium): options, token sets, hooks that throw or misbehave,
//! and hooks that call back into the same `authFetch`.

use js_sys::{Array, Function, Object, Promise, Reflect};
use reauth::web::exports::{create_auth_fetch, parse_challenges};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

const API: &str = "https://api.example.com";

/// A JS function from source (the tests' stub fetches and hooks).
fn js(args: &str, body: &str) -> Function {
    Function::new_with_args(args, body)
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap()
}

fn call(f: &JsValue, name: &str, arg: &JsValue) -> Result<JsValue, JsValue> {
    get(f, name).unchecked_into::<Function>().call1(f, arg)
}

/// A stub API on `API`: 200 for `Bearer new`, else a 401 with an `invalid_token` challenge.
/// `state.sent` counts what it received.
fn stub_api() -> (JsValue, JsValue) {
    let state = object(&[("sent", Array::new().into())]);
    let fetch = js(
        "state",
        "return async (url, init) => {
           const auth = (init && init.headers && init.headers.authorization) || null;
           state.sent.push([String(url), auth]);
           const ok = auth === 'Bearer new';
           return new Response(ok ? 'ok' : 'no', { status: ok ? 200 : 401,
             headers: { 'www-authenticate': 'Bearer error=\"invalid_token\"' } });
         };",
    )
    .call1(&JsValue::NULL, &state)
    .unwrap();
    (fetch, state)
}

async fn settle(p: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(p.unchecked_into::<Promise>()).await
}

async fn status(af: &JsValue, url: &str) -> f64 {
    let f: &Function = af.unchecked_ref();
    let r = settle(f.call1(&JsValue::NULL, &url.into()).unwrap())
        .await
        .unwrap();
    get(&r, "status").as_f64().unwrap()
}

#[wasm_bindgen_test]
fn parse_challenges_gives_plain_objects() {
    let out = parse_challenges(
        "Bearer realm=\"a \\\"b\\\"\", ERROR=invalid_token, Negotiate abc==".into(),
    )
    .unwrap();
    let json = js_sys::JSON::stringify(&out).unwrap();
    assert_eq!(
        String::from(json),
        r#"[{"scheme":"Bearer","token68":null,"params":[["realm","a \"b\""],["error","invalid_token"]]},{"scheme":"Negotiate","token68":"abc==","params":[]}]"#
    );
    let err = parse_challenges("Basic realm=a@b".into()).unwrap_err();
    assert_eq!(get(&err, "name"), "ChallengeParseError");
    assert_eq!(
        get(&err, "message"),
        "expected ',' or the end of the header at byte 13"
    );
    let err = parse_challenges(JsValue::from_f64(7.0)).unwrap_err();
    assert!(err.is_instance_of::<js_sys::TypeError>());
}

#[wasm_bindgen_test]
fn bad_options_are_type_errors_that_name_the_option() {
    let refresh: JsValue = js("", "return 'x'").into();
    let cases: Vec<(JsValue, &str)> = vec![
        (JsValue::UNDEFINED, "options must be an object"),
        (object(&[]), "options.refresh is required"),
        (
            object(&[("refresh", "x".into())]),
            "options.refresh must be a function",
        ),
        (
            object(&[("refresh", refresh.clone()), ("origins", API.into())]),
            "options.origins must be an array",
        ),
        (
            object(&[
                ("refresh", refresh.clone()),
                ("origins", Array::of1(&"nope".into()).into()),
            ]),
            "options.origins must contain absolute",
        ),
        (
            object(&[
                ("refresh", refresh.clone()),
                ("origins", Array::of1(&API.into()).into()),
                ("refreshTimeoutMs", JsValue::from_f64(f64::NAN)),
            ]),
            "options.refreshTimeoutMs",
        ),
        (
            object(&[
                ("refresh", refresh.clone()),
                ("origins", Array::of1(&API.into()).into()),
                ("storage", "cookie".into()),
            ]),
            "options.storage must be",
        ),
    ];
    let cross_tab = object(&[
        ("refresh", refresh.clone()),
        ("origins", Array::of1(&API.into()).into()),
        ("crossTab", JsValue::TRUE),
    ]);
    let mut cases = cases;
    if Reflect::has(&js_sys::global(), &"location".into()).unwrap_or(false) {
        cases.push((cross_tab, "options.crossTab needs storage"));
    } else {
        // A server (Node): storage is memory whatever it names, so crossTab is simply off.
        assert!(create_auth_fetch(cross_tab).is_ok());
    }
    for (options, want) in cases {
        let err = create_auth_fetch(options).expect_err(want);
        assert!(err.is_instance_of::<js_sys::TypeError>(), "{want}");
        let msg = get(&err, "message").as_string().unwrap();
        assert!(
            msg.starts_with("createAuthFetch: ") && msg.contains(want),
            "{msg} / {want}"
        );
    }
}

#[wasm_bindgen_test]
async fn three_concurrent_401s_share_one_refresh_and_each_retries_once() {
    let (fetch, state) = stub_api();
    let calls = object(&[("n", JsValue::from_f64(0.0))]);
    let refresh = js(
        "calls",
        "return async () => { calls.n++; return { accessToken: 'new' }; }",
    )
    .call1(&JsValue::NULL, &calls)
    .unwrap();
    let af: JsValue = create_auth_fetch(object(&[
        ("refresh", refresh),
        ("fetch", fetch),
        ("origins", Array::of1(&API.into()).into()),
    ]))
    .unwrap()
    .into();
    call(&af, "setTokens", &object(&[("accessToken", "old".into())])).unwrap();
    let f: &Function = af.unchecked_ref();
    let all = Array::new();
    for i in 0..3 {
        all.push(
            &f.call1(&JsValue::NULL, &format!("{API}/x/{i}").into())
                .unwrap(),
        );
    }
    let rs = settle(Promise::all(&all).into()).await.unwrap();
    let statuses: Vec<f64> = Array::from(&rs)
        .iter()
        .map(|r| get(&r, "status").as_f64().unwrap())
        .collect();
    assert_eq!(statuses, [200.0, 200.0, 200.0]);
    assert_eq!(get(&calls, "n"), 1.0, "one refresh");
    assert_eq!(
        Array::from(&get(&state, "sent")).length(),
        6,
        "three attempts, three retries"
    );
    assert_eq!(get(&af, "accessToken"), "new");
}

#[wasm_bindgen_test]
async fn refresh_that_throws_returns_a_non_promise_or_a_wrong_shape() {
    // Each: what `refresh` does, and whether the call then succeeds.
    let cases = [
        ("throw new Error('sync')", false),
        ("return 'new'", true),
        ("return { accessToken: 'new' }", true),
        ("return Promise.resolve(42)", false),
        ("return { token: 'new' }", false),
        ("return { accessToken: '' }", false),
        ("return { then() { throw new Error('thenable'); } }", false),
    ];
    for (body, ok) in cases {
        let (fetch, _) = stub_api();
        let failures = Array::new();
        let on_failure = js("list", "return (info) => list.push(info)")
            .call1(&JsValue::NULL, &failures)
            .unwrap();
        let af: JsValue = create_auth_fetch(object(&[
            ("refresh", js("", body).into()),
            ("fetch", fetch),
            ("onAuthFailure", on_failure),
            ("origins", Array::of1(&API.into()).into()),
        ]))
        .unwrap()
        .into();
        call(&af, "setTokens", &"old".into()).unwrap();
        let got = status(&af, &format!("{API}/a")).await;
        assert_eq!(got, if ok { 200.0 } else { 401.0 }, "{body}");
        assert_eq!(failures.length(), if ok { 0 } else { 1 }, "{body}");
        if !ok {
            assert_eq!(get(&failures.get(0), "reason"), "refresh_failed", "{body}");
        }
        // The instance still works afterwards.
        call(&af, "setTokens", &"new".into()).unwrap();
        assert_eq!(status(&af, &format!("{API}/b")).await, 200.0, "{body}");
    }
}

#[wasm_bindgen_test]
async fn hooks_may_call_back_into_the_same_auth_fetch() {
    let (fetch, _) = stub_api();
    let errors = Array::new();
    let holder = object(&[("errors", errors.clone().into())]);
    // Every hook calls authFetch, setTokens, clearTokens and reads accessToken.
    let reenter = "const af = h.af;
        void af.accessToken;
        if ((h.n = (h.n || 0) + 1) < 30) af('https://api.example.com/inner').catch((e) => h.errors.push(String(e)));
        af.clearTokens();
        af.setTokens({ accessToken: 'old' });";
    let hook = |extra: &str| {
        js("h", &format!("return (x) => {{ {reenter} {extra} }};"))
            .call1(&JsValue::NULL, &holder)
            .unwrap()
    };
    let af: JsValue = create_auth_fetch(object(&[
        ("refresh", hook("return 'new';")),
        ("onEvent", hook("")),
        ("onAuthFailure", hook("")),
        ("shouldRefresh", hook("return undefined;")),
        ("fetch", fetch),
        ("origins", Array::of1(&API.into()).into()),
    ]))
    .unwrap()
    .into();
    Reflect::set(&holder, &"af".into(), &af).unwrap();
    call(&af, "setTokens", &"old".into()).unwrap();
    let f: &Function = af.unchecked_ref();
    for i in 0..5 {
        // Each call settles (with a response, not an exception from the glue).
        let r = settle(
            f.call1(&JsValue::NULL, &format!("{API}/r/{i}").into())
                .unwrap(),
        )
        .await;
        assert!(r.is_ok(), "call {i}: {r:?}");
    }
    call(&af, "setTokens", &"new".into()).unwrap();
    assert_eq!(status(&af, &format!("{API}/after")).await, 200.0);
    // The inner calls settled without an error either (none from wasm-bindgen's glue).
    let _ = JsFuture::from(Promise::resolve(&JsValue::NULL)).await;
    assert_eq!(errors.length(), 0, "{:?}", errors.to_vec());
}

/// The waiters of a refresh that is dropped without being released (replaced, or its shell
/// gone) are woken with a failure, never left pending.
#[wasm_bindgen_test]
fn waiters_dropped_unreleased_resolve_as_failed() {
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};
    use reauth::web::wait::Waiters;
    use std::sync::Arc;
    use std::task::Wake;
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut waiters = Waiters::default();
    let mut first = waiters.wait();
    let mut second = waiters.wait();
    assert_eq!(Pin::new(&mut first).poll(&mut cx), Poll::Pending);
    drop(waiters);
    assert_eq!(Pin::new(&mut first).poll(&mut cx), Poll::Ready(false));
    assert_eq!(Pin::new(&mut second).poll(&mut cx), Poll::Ready(false));
    // Released ones keep their outcome.
    let mut released = Waiters::default();
    let mut ok = released.wait();
    released.release(true);
    assert_eq!(Pin::new(&mut ok).poll(&mut cx), Poll::Ready(true));
}
