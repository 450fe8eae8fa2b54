//! Cookie sessions behind a backend-for-frontend (`options.bff`): the layer above the core for
//! apps whose tokens stay on a server and whose page holds an HttpOnly session cookie.
//!
//! The core does the engine's work as for tokens: every request to an allowed origin carries
//! the cookie and the BFF's anti-CSRF header (see `send::with_session`), a 401 (or a redirect
//! to a login page) starts one refresh for any number of calls and tabs, and each call is
//! retried once. The session stands in for a token in the core's state machine as a marker
//! that names which session this is ([`TokenSet::session`]), never sent anywhere: a 401 for a
//! session refreshed since is retried without another refresh, and tabs learn of a refresh or
//! a logout through storage as they learn of tokens.
//!
//! This layer adds what only a BFF knows, through the core's seams ([`Above`]): the built-in
//! refresh (a `POST` to the BFF's refresh endpoint; a BFF that refreshes on its own side has
//! none, so its 401 means the session is over), the login a failed re-authentication sends the
//! page to, and the members `session()`, `login()`, `completeLogin()` and `logout()`, per
//! preset: Duende BFF (`/bff/user`, `/bff/login`, the `bff:logout_url` claim), the Curity
//! Identity Server's Token Handler (`session`, `login/start` and `login/end` with form bodies,
//! snake_case answers, `token-handler-version: 1`) and Curity's open-source OAuth Agent
//! (`claims`, `login/start` and `login/end` with JSON, the CSRF value `login/end` answers sent
//! back on refresh, logout and API writes).

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use gloo_storage::{SessionStorage, Storage};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Response, Url, UrlSearchParams};

use super::js::{self, coded_error, type_error, Init, SESSION_EXPIRED};
use super::options::{available, BffConfig, Preset, StorageKind, TokenSet};
use super::send::{is_opaque_redirect, with_session};
use super::{Above, Shell};

/// The cookie-session layer of one `authFetch`.
pub struct Bff {
    /// The shell it serves (set by [`Bff::methods`]), for the seams that have none at hand.
    shell: RefCell<Weak<Shell>>,
    /// `session()`'s answer and the session (the token generation) it is for: one request to
    /// the user endpoint per session, shared by every call made meanwhile.
    claims: RefCell<Option<(u64, Promise)>>,
}

/// One of the members this layer adds to `authFetch`: a promise of async Rust.
type Method =
    fn(Rc<Bff>, Rc<Shell>, JsValue) -> Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// `options.bff` of `sh`, or the `TypeError` a member rejects with without it.
fn config<'a>(sh: &'a Shell, member: &str) -> Result<&'a BffConfig, JsValue> {
    sh.opts.bff().ok_or_else(|| {
        type_error(&js::concat(&[
            "authFetch.",
            member,
            "() is for cookie sessions: give options.bff",
        ]))
    })
}

/// Sends the page to `url` (windows).
fn go_to(url: &str) -> Result<JsValue, JsValue> {
    let place =
        js::place().ok_or_else(|| type_error("reauth: there is no page to send to the BFF"))?;
    place.assign(url)?;
    Ok(JsValue::UNDEFINED)
}

/// What a request to the BFF sends.
enum Body {
    /// Nothing: a `GET`.
    Get,
    /// A `POST` without a body.
    Empty,
    /// A `POST` of this value as JSON.
    Json(JsValue),
    /// A `POST` of these form parameters (fetch sets the content type).
    Form(UrlSearchParams),
}

/// A `POST` of `{}`.
fn empty_object() -> Body {
    Body::Json(Object::new().into())
}

/// The string member `key` of a BFF's JSON answer.
fn member(body: &JsValue, key: &str) -> Option<String> {
    js::get(body, &js::name(key)).as_string()
}

/// Asks the BFF at `url` (the cookie, its anti-CSRF headers), with the fetch the core sends
/// with, outside the 401 engine. `None`: the BFF says there is no session (401, 403, or a
/// redirect to its login page); else its JSON body (undefined without `json`); another error
/// status is an `Error` with the code the BFF's JSON error names (`error_code`, `code`), else
/// `http_<status>`.
async fn ask(
    sh: &Shell,
    b: &BffConfig,
    url: &str,
    body: Body,
    json: bool,
) -> Result<Option<JsValue>, JsValue> {
    let init = Object::new();
    let headers = Object::new();
    let _ = Reflect::set(&headers, &js::name("accept"), &js::name("application/json"));
    let payload: Option<JsValue> = match body {
        Body::Get => None,
        Body::Empty => Some(JsValue::UNDEFINED),
        Body::Json(v) => {
            let _ = Reflect::set(
                &headers,
                &js::name("content-type"),
                &js::name("application/json"),
            );
            Some(js_sys::JSON::stringify(&v)?.into())
        }
        Body::Form(f) => Some(f.into()),
    };
    if let Some(payload) = payload {
        let _ = Reflect::set(&init, &js::name("method"), &js::name("POST"));
        if !payload.is_undefined() {
            init.unchecked_ref::<Init>().set_body(&payload);
        }
    }
    init.unchecked_ref::<Init>().set_headers(&headers.into());
    let target = JsValue::from_str(url);
    let init = with_session(&target, &init.into(), b)?;
    let r: Response = JsFuture::from(sh.fetch(&target, &init)).await?.dyn_into()?;
    let status = r.status();
    if status == 401 || status == 403 || is_opaque_redirect(&r) {
        return Ok(None);
    }
    if !r.ok() {
        let said = match r.json() {
            Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
            Err(_) => JsValue::NULL,
        };
        let code = member(&said, "error_code")
            .or_else(|| member(&said, "code"))
            .unwrap_or_else(|| js::http_code(status));
        let text = member(&said, "detailed_error").or_else(|| member(&said, "message"));
        return Err(coded_error(&code, Some(text.as_deref().unwrap_or(url))));
    }
    if !json {
        return Ok(Some(JsValue::UNDEFINED));
    }
    JsFuture::from(r.json()?).await.map(Some)
}

/// The OAuth Agent's CSRF value: known, or asked of its `login/end` with the page's URL (as the
/// agent's own SPA does on each page load). Other presets have none to learn.
async fn learn_csrf(sh: &Shell, b: &BffConfig) -> Result<(), JsValue> {
    if b.preset != Some(Preset::OAuthAgent) || b.csrf.borrow().is_some() {
        return Ok(());
    }
    if let (Some(end), Some(here)) = (end_url(b), js::page_href()) {
        let answer = ask(sh, b, &end, page_url_body(&here), true).await?;
        keep_csrf(b, answer.as_ref());
    }
    Ok(())
}

/// Keeps the `csrf` of an OAuth Agent's `login/end` answer.
fn keep_csrf(b: &BffConfig, answer: Option<&JsValue>) {
    if let Some(csrf) = answer.and_then(|a| member(a, "csrf")) {
        *b.csrf.borrow_mut() = Some(csrf);
    }
}

/// The OAuth Agent's `login/end` body: `{ pageUrl }`.
fn page_url_body(here: &str) -> Body {
    let body = Object::new();
    let _ = Reflect::set(&body, &js::name("pageUrl"), &JsValue::from_str(here));
    Body::Json(body.into())
}

/// A token handler's `login/end`, beside its `login/start`.
fn end_url(b: &BffConfig) -> Option<String> {
    let start = b.login_url.as_deref()?;
    start
        .strip_suffix("/start")
        .map(|base| js::concat(&[base, "/end"]))
}

/// Duende's claims, `[{ type, value }]`, as an object: a claim that occurs more than once
/// becomes an array of its values.
fn claims_object(list: &Array) -> JsValue {
    let out = Object::new();
    for item in list.iter() {
        let key = js::get(&item, &js::name("type"));
        if !key.is_string() {
            continue;
        }
        let value = js::get(&item, &js::name("value"));
        let before = js::get(&out, &key);
        let next = if before.is_undefined() {
            value
        } else if Array::is_array(&before) {
            before.unchecked_ref::<Array>().push(&value);
            before
        } else {
            Array::of2(&before, &value).into()
        };
        let _ = Reflect::set(&out, &key, &next);
    }
    out.into()
}

/// `url` with `?param=value` (or `&…`) added.
fn with_param(url: &str, param: &str, value: &str) -> String {
    let sep = if url.contains('?') { "&" } else { "?" };
    let value = String::from(js_sys::encode_uri_component(value));
    let param = String::from(js_sys::encode_uri_component(param));
    js::concat(&[url, sep, &param, "=", &value])
}

/// What a BFF at `endpoint` takes as the return address: a local path when `to` is on the
/// BFF's own origin (Duende refuses any other), else the whole URL.
fn return_address(to: &str, endpoint: &str) -> String {
    match (Url::new(to), js::origin_of(endpoint, None)) {
        (Ok(u), Some(origin)) if u.origin() == origin => {
            let mut path = u.pathname();
            path.push_str(&u.search());
            path.push_str(&u.hash());
            path
        }
        _ => String::from(to),
    }
}

/// `returnTo` of a member's options object, if it gives one.
fn return_to_of(options: &JsValue) -> Option<String> {
    if options.is_object() {
        js::get(options, &js::name("returnTo")).as_string()
    } else {
        None
    }
}

/// The sessionStorage key of the return address of a token handler's login in progress.
fn return_key(sh: &Shell) -> String {
    let mut key = sh.opts.storage_key.clone();
    key.push_str(".returnTo");
    key
}

/// A login at the BFF that comes back to `return_to`: Duende's (and the generic form's) is a
/// navigation to its login endpoint with the return address; a token handler's starts with a
/// `POST` that answers the authorization URL to go to.
async fn login(sh: Rc<Shell>, return_to: Option<String>) -> Result<JsValue, JsValue> {
    let b = config(&sh, "login")?;
    let Some(endpoint) = &b.login_url else {
        return Err(type_error(
            "login: the BFF's login endpoint is not known: give options.loginUrl",
        ));
    };
    let token_handler = match b.preset {
        Some(Preset::Curity) => Some((Body::Form(UrlSearchParams::new()?), "authorization_url")),
        Some(Preset::OAuthAgent) => Some((empty_object(), "authorizationRequestUrl")),
        _ => None,
    };
    if let Some((body, field)) = token_handler {
        let body = ask(&sh, b, endpoint, body, true).await?.ok_or_else(|| {
            coded_error(
                "login_required",
                Some("the token handler refused to start a login"),
            )
        })?;
        let Some(url) = member(&body, field) else {
            return Err(coded_error(
                "invalid_response",
                Some(&js::concat(&["login/start answered no ", field])),
            ));
        };
        if let Some(to) = &return_to {
            if available(StorageKind::Session) {
                let _ = SessionStorage::set(return_key(&sh), to);
            }
        }
        return go_to(&url);
    }
    let target = match &return_to {
        Some(to) => {
            let back = return_address(to, endpoint);
            // Duende refuses a returnUrl that is not local (LocalUrlReturnUrlValidator): say so
            // here rather than send the page to its error.
            if b.preset == Some(Preset::Duende) && !back.starts_with('/') {
                return Err(type_error(
                    "login: Duende BFF takes only a local returnUrl: returnTo must be on the BFF's origin",
                ));
            }
            with_param(endpoint, &b.return_param, &back)
        }
        None => endpoint.clone(),
    };
    go_to(&target)
}

impl Bff {
    /// A new layer; [`Bff::methods`] connects it to its shell.
    pub fn new() -> Bff {
        Bff {
            shell: RefCell::new(Weak::new()),
            claims: RefCell::new(None),
        }
    }

    /// Adds `session`, `login`, `completeLogin` and `logout` to `f` (each rejects without
    /// `options.bff`).
    pub fn methods(self: &Rc<Self>, f: &Function, shell: &Rc<Shell>) {
        *self.shell.borrow_mut() = Rc::downgrade(shell);
        let methods: [(&str, Method); 4] = [
            ("session", |b, s, _| Box::pin(b.session(s))),
            ("login", |_, s, a| Box::pin(login_member(s, a))),
            ("completeLogin", |_, s, _| Box::pin(complete_login(s))),
            ("logout", |b, s, a| Box::pin(b.logout(s, a))),
        ];
        for (name, method) in methods {
            let (b, s) = (self.clone(), shell.clone());
            let m = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |arg: JsValue| {
                wasm_bindgen_futures::future_to_promise(method(b.clone(), s.clone(), arg)).into()
            });
            js::define_value(f, &js::name(name), &m.into_js_value());
        }
    }

    /// `authFetch.session()`: the user's claims from the BFF (`null` when there is no
    /// session), fetched once per session: every call until the session changes (a refresh, a
    /// login, a logout, here or in another tab) shares one request and its answer.
    fn session(self: Rc<Self>, sh: Rc<Shell>) -> impl Future<Output = Result<JsValue, JsValue>> {
        let generation = sh.shared.session.borrow().generation();
        let cached = match &*self.claims.borrow() {
            Some((g, p)) if *g == generation => Some(p.clone()),
            _ => None,
        };
        let p = cached.unwrap_or_else(|| {
            let (me, shell) = (self.clone(), sh.clone());
            let p: Promise = js::promise(async move {
                let out = fetch_claims(&shell).await;
                if out.is_err() {
                    // A failure is not kept: the next call asks again.
                    let mut slot = me.claims.borrow_mut();
                    if matches!(&*slot, Some((g, _)) if *g == generation) {
                        *slot = None;
                    }
                }
                out
            })
            .unchecked_into();
            *self.claims.borrow_mut() = Some((generation, p.clone()));
            p
        });
        JsFuture::from(p)
    }

    /// `authFetch.logout(options?)`: the session ends here and in every tab at once (their
    /// `onAuthFailure` hears `'logout'`), then the page goes to the BFF's logout: Duende's
    /// from the `bff:logout_url` claim (with the session id it needs), a token handler's from
    /// the end-session URL its `/logout` answers; `returnTo` is passed on where the BFF takes it.
    async fn logout(self: Rc<Self>, sh: Rc<Shell>, options: JsValue) -> Result<JsValue, JsValue> {
        let b = config(&sh, "logout")?;
        let return_to = return_to_of(&options);
        let target = match b.preset {
            Some(p @ (Preset::Curity | Preset::OAuthAgent)) => {
                learn_csrf(&sh, b).await?;
                let field = if p == Preset::Curity {
                    "logout_url"
                } else {
                    "url"
                };
                let url = match &b.logout_url {
                    Some(endpoint) => ask(&sh, b, endpoint, Body::Empty, true)
                        .await?
                        .and_then(|body| member(&body, field)),
                    None => None,
                };
                *b.csrf.borrow_mut() = None;
                url.or(return_to)
            }
            _ => {
                let from_claims = match b.preset {
                    Some(Preset::Duende) => {
                        let claims = self
                            .clone()
                            .session(sh.clone())
                            .await
                            .unwrap_or(JsValue::NULL);
                        let url = js::get(&claims, &js::name("bff:logout_url")).as_string();
                        let base = b.user_url.as_deref().or(b.logout_url.as_deref());
                        match (url, base) {
                            (Some(u), Some(base)) => {
                                Url::new_with_base(&u, base).ok().map(|u| u.href())
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                from_claims
                    .or_else(|| b.logout_url.clone())
                    .map(|url| match &return_to {
                        Some(to) => with_param(&url, &b.return_param, &return_address(to, &url)),
                        None => url,
                    })
            }
        };
        sh.logout(true);
        match target {
            Some(url) => go_to(&url),
            None => Ok(JsValue::UNDEFINED),
        }
    }
}

impl Default for Bff {
    fn default() -> Self {
        Self::new()
    }
}

/// `authFetch.login(options?)`: see [`login`]; `returnTo` defaults to the page's URL.
async fn login_member(sh: Rc<Shell>, options: JsValue) -> Result<JsValue, JsValue> {
    let return_to = return_to_of(&options).or_else(js::page_href);
    login(sh, return_to).await
}

/// The user's claims from the BFF's user endpoint, or `null` when it says there is no session.
async fn fetch_claims(sh: &Shell) -> Result<JsValue, JsValue> {
    let b = config(sh, "session")?;
    let Some(url) = &b.user_url else {
        return Err(type_error(
            "session: the BFF's user endpoint is not known: give options.bff.userUrl",
        ));
    };
    // The OAuth Agent's logout leaves its ID-token cookie (set for the claims path, unset for
    // `/`): without a session here, its claims are no session.
    if b.preset == Some(Preset::OAuthAgent) && sh.shared.session.borrow().access_token().is_none() {
        return Ok(JsValue::NULL);
    }
    let Some(body) = ask(sh, b, url, Body::Get, true).await? else {
        return Ok(JsValue::NULL);
    };
    if b.preset == Some(Preset::Curity) {
        // `{ is_logged_in, id_token_claims?, access_token_expires_in? }`.
        if js::get(&body, &js::name("is_logged_in")) != JsValue::TRUE {
            return Ok(JsValue::NULL);
        }
        let claims = js::get(&body, &js::name("id_token_claims"));
        return Ok(if claims.is_object() {
            claims
        } else {
            Object::new().into()
        });
    }
    Ok(match body.dyn_ref::<Array>() {
        Some(list) => claims_object(list),
        None => body,
    })
}

/// Whether a page's query is an authorization response (the JS assistant's `isOAuthResponse`:
/// `code` and `state`, a JARM `response` alone, or `error` and `state`).
fn is_oauth_response(query: &UrlSearchParams) -> bool {
    let has = |k: &str| query.has(k);
    let only_response = has("response")
        && query
            .to_string()
            .as_string()
            .is_some_and(|q| !q.contains('&'));
    (has("state") && (has("code") || has("error"))) || only_response
}

/// `authFetch.completeLogin()`: on the page a token handler's login comes back to, hands the
/// authorization response to its `login/end`, which sets the session cookies; the session then
/// starts in every tab, and the URL loses its code and state (the page goes back to where the
/// login was asked for, when that is this page's origin). The Curity Token Handler gets the
/// page's query as a form, and only on a page with an authorization response; the OAuth Agent
/// gets `{ pageUrl }` on every page (its answer carries the CSRF value, kept for the requests
/// that need it, and says whether a session is there). Resolves `{ returnTo }`: `returnTo:
/// null` where there was no login to complete (any other page; Duende and the generic form,
/// whose BFF completes the login itself) or no return address.
async fn complete_login(sh: Rc<Shell>) -> Result<JsValue, JsValue> {
    let b = config(&sh, "completeLogin")?;
    let (Some(end), Some(here)) = (end_url(b), js::page_href()) else {
        return Ok(completed(None));
    };
    let query =
        UrlSearchParams::new_with_str(&Url::new(&here).map(|u| u.search()).unwrap_or_default())?;
    let answer = match b.preset {
        Some(Preset::Curity) if is_oauth_response(&query) => {
            ask(&sh, b, &end, Body::Form(query), true).await?
        }
        Some(Preset::OAuthAgent) => ask(&sh, b, &end, page_url_body(&here), true).await?,
        _ => return Ok(completed(None)),
    };
    let answer = answer
        .ok_or_else(|| coded_error("login_failed", Some("the token handler refused the login")))?;
    keep_csrf(b, Some(&answer));
    let logged_in = |key: &str| js::get(&answer, &js::name(key)) == JsValue::TRUE;
    let handled = match b.preset {
        Some(Preset::Curity) => logged_in("is_logged_in"),
        _ => {
            // A page load: a session the agent has and this page does not know of starts here.
            if !logged_in("handled") {
                if logged_in("isLoggedIn") && sh.shared.session.borrow().access_token().is_none() {
                    sh.shared.install(TokenSet::session(), true);
                }
                return Ok(completed(None));
            }
            true
        }
    };
    if !handled {
        return Ok(completed(None));
    }
    sh.shared.install(TokenSet::session(), true);
    let key = return_key(&sh);
    let return_to = if available(StorageKind::Session) {
        let to = SessionStorage::get::<String>(&key).ok();
        SessionStorage::delete(&key);
        to
    } else {
        None
    };
    // The code and state leave the address bar (and the history).
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let place = js::origin_of(&here, None);
        let clean = match &return_to {
            Some(to) if js::origin_of(to, None) == place => to.clone(),
            _ => Url::new(&here).map(|u| u.pathname()).unwrap_or_default(),
        };
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
    }
    Ok(completed(return_to))
}

/// What `completeLogin` resolves with: `{ returnTo }`.
fn completed(return_to: Option<String>) -> JsValue {
    let out = Object::new();
    let _ = Reflect::set(
        &out,
        &js::name("returnTo"),
        &return_to.map_or(JsValue::NULL, |t| JsValue::from_str(&t)),
    );
    out.into()
}

impl Above for Bff {
    /// A session refresh: a `POST` to the BFF's refresh endpoint with the cookie. A 401 or
    /// 403 (or a redirect to a login page) from it, or no refresh endpoint at all (the BFF
    /// refreshes on its own side), means the session is over; any other failure may pass.
    fn refresh(
        self: Rc<Self>,
        shell: Rc<Shell>,
    ) -> Pin<Box<dyn Future<Output = Result<TokenSet, JsValue>>>> {
        Box::pin(async move {
            let b = config(&shell, "refresh")?;
            let Some(url) = &b.refresh_url else {
                return Err(coded_error(
                    SESSION_EXPIRED,
                    Some("the BFF refreshes sessions on its own side: its 401 means the session is over"),
                ));
            };
            learn_csrf(&shell, b).await?;
            let body = match b.preset {
                Some(Preset::Curity) => Body::Form(UrlSearchParams::new()?),
                Some(Preset::OAuthAgent) => Body::Empty,
                _ => empty_object(),
            };
            match ask(&shell, b, url, body, false).await? {
                Some(_) => Ok(TokenSet::session()),
                None => {
                    // The agent unset its CSRF cookie with the session.
                    *b.csrf.borrow_mut() = None;
                    Err(coded_error(
                        SESSION_EXPIRED,
                        Some("the BFF refused to refresh the session"),
                    ))
                }
            }
        })
    }

    fn send_bound(
        self: Rc<Self>,
        _shell: &Rc<Shell>,
        _input: &JsValue,
        _init: &JsValue,
        _auth: &JsValue,
    ) -> Option<Promise> {
        None
    }

    fn step_up(self: Rc<Self>, _: &Rc<Shell>, _: Option<&str>, _: Option<u64>) {}

    fn logged_out(&self, _store: bool) {}

    fn orphaned(self: Rc<Self>, _shell: &Rc<Shell>, _refresh_token: String) {}

    fn login_again(&self, return_to: String) {
        let Some(sh) = self.shell.borrow().upgrade() else {
            return;
        };
        if sh.opts.bff().is_some_and(|b| b.login_url.is_some()) {
            js::spawn(async move {
                if let Err(e) = login(sh, Some(return_to)).await {
                    js::report(&e);
                }
            });
        }
    }
}
