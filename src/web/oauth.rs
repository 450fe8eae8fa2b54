//! OAuth 2.0 for a public client (a single-page app): the authorization code flow with PKCE
//! (RFC 7636, S256) and `state`, the refresh grant (RFC 6749 §6) used when the app gives no
//! `refresh` hook, and revocation at logout (RFC 7009). The endpoints come from the options or
//! from the authorization server's metadata: OpenID Connect discovery (`issuer` +
//! `/.well-known/openid-configuration`, which works for issuers with a path, as Keycloak's
//! realms), else RFC 8414 (`/.well-known/oauth-authorization-server` between host and path).
//!
//! Logout clears the session first (every tab with `crossTab`), then revokes the refresh token
//! that was current at that moment, within the refresh timeout; a refresh that was running
//! meanwhile has its answer discarded, and the refresh token it brings revoked too.
//!
//! Token endpoint answers: `invalid_grant` on a refresh means the grant is gone: the refresh
//! fails, the tokens are cleared, the app's hook runs once (its `error.code` is the OAuth error);
//! a network error or another error status fails the refresh but keeps the refresh token, so a
//! later 401 can try again. A rotated refresh token replaces the old one everywhere; `expires_in`
//! feeds the proactive refresh.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use base64ct::{Base64UrlUnpadded, Encoding};
use core::cell::RefCell;
use gloo_storage::{LocalStorage, SessionStorage, Storage};
use js_sys::{Function, Object, Promise, Reflect};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Url, UrlSearchParams};

use super::dpop::Dpop;
use super::js::{self, coded_error as oauth_error, random, sha256, to_js, Init};
use super::options::{OAuthConfig, Options, StorageKind, TokenSet};
use super::{Above, Shell};
use crate::session::Expiry;

/// The endpoints of the authorization server.
pub struct Endpoints {
    issuer: Option<String>,
    authorization: Option<String>,
    token: String,
    revocation: Option<String>,
    /// OpenID Connect RP-Initiated Logout: where the browser ends the provider's session.
    end_session: Option<String>,
    /// RFC 9207: the server says every authorization response carries `iss`.
    iss_required: bool,
}

/// An authorization server's metadata, the fields used here.
#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

/// What a token endpoint answers (RFC 6749 §5.1, §5.2).
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// A login in progress: what the callback is checked against.
#[derive(Serialize, Clone)]
pub struct PendingLogin {
    state: String,
    verifier: String,
    redirect_uri: String,
    return_to: Option<String>,
}

/// Read from the stored JSON object only, by name, other names skipped (as the stored token
/// record is: serde's derive would bring serde_json's readers of the array form too).
impl<'de> Deserialize<'de> for PendingLogin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PendingLogin;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a pending login")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<PendingLogin, A::Error> {
                let (mut state, mut verifier, mut redirect_uri, mut return_to) =
                    (None, None, None, None);
                while let Some(key) = m.next_key::<String>()? {
                    match key.as_str() {
                        "state" => state = Some(m.next_value::<String>()?),
                        "verifier" => verifier = Some(m.next_value::<String>()?),
                        "redirect_uri" => redirect_uri = Some(m.next_value::<String>()?),
                        "return_to" => return_to = m.next_value::<Option<String>>()?,
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                match (state, verifier, redirect_uri) {
                    (Some(state), Some(verifier), Some(redirect_uri)) => Ok(PendingLogin {
                        state,
                        verifier,
                        redirect_uri,
                        return_to,
                    }),
                    _ => Err(de::Error::custom("an incomplete pending login")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// `authorizationUrl(options)`'s options.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LoginOptions {
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    acr_values: Option<String>,
    #[serde(default)]
    max_age: Option<f64>,
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    login_hint: Option<String>,
}

/// What `completeLogin` resolves with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Completed<'a> {
    return_to: Option<&'a str>,
}

/// The OAuth layer of one `authFetch` (and DPoP, with `options.dpop`): its settings and what it
/// keeps (the endpoints once known, a login in progress, the DPoP key), and the seams the core
/// calls ([`Above`]).
pub struct OAuth {
    /// `options.oauth` (`None`: the methods reject).
    config: Option<OAuthConfig>,
    storage: StorageKind,
    storage_key: String,
    /// The authorization server's endpoints, once known.
    endpoints: RefCell<Option<Rc<Endpoints>>>,
    /// A login in progress, where there is no Web Storage for it.
    pending: RefCell<Option<PendingLogin>>,
    /// DPoP, with `options.dpop`.
    dpop: Option<Rc<Dpop>>,
    /// The last ID token the token endpoint answered, for `id_token_hint` at the end-session
    /// endpoint (kept beside the tokens where they are stored, so that a reload keeps it).
    id_token: RefCell<Option<String>>,
}

/// One of the methods this layer adds to `authFetch`: a promise of async Rust.
type Method =
    fn(
        Rc<OAuth>,
        Rc<Shell>,
        JsValue,
    ) -> core::pin::Pin<Box<dyn core::future::Future<Output = Result<JsValue, JsValue>>>>;

impl OAuth {
    /// The layer for `opts` (it takes `options.oauth` out of them: the core has no use for it).
    pub fn new(opts: &mut Options) -> OAuth {
        OAuth {
            config: opts.oauth.take(),
            storage: opts.storage,
            storage_key: opts.storage_key.clone(),
            endpoints: RefCell::new(None),
            pending: RefCell::new(None),
            dpop: opts
                .dpop
                .then(|| Rc::new(Dpop::new(opts.storage, &opts.storage_key))),
            id_token: RefCell::new(None),
        }
    }

    /// The key of the ID token in Web Storage.
    fn id_key(&self) -> String {
        let mut k = self.storage_key.clone();
        k.push_str(":id");
        k
    }

    /// Keeps `token` as the ID token (`None`: forgets it), in memory and where the tokens are.
    fn keep_id_token(&self, token: Option<String>) {
        let key = self.id_key();
        match (self.storage, &token) {
            (StorageKind::Local, Some(t)) => drop(LocalStorage::set(&key, t)),
            (StorageKind::Session, Some(t)) => drop(SessionStorage::set(&key, t)),
            (StorageKind::Local, None) => LocalStorage::delete(&key),
            (StorageKind::Session, None) => SessionStorage::delete(&key),
            (StorageKind::Memory, _) => {}
        }
        *self.id_token.borrow_mut() = token;
    }

    /// The ID token kept, if any.
    fn id_token(&self) -> Option<String> {
        let stored = match self.storage {
            StorageKind::Local => LocalStorage::get(self.id_key()).ok(),
            StorageKind::Session => SessionStorage::get(self.id_key()).ok(),
            StorageKind::Memory => None,
        };
        stored.or_else(|| self.id_token.borrow().clone())
    }

    /// Adds `authorizationUrl`, `login`, `completeLogin` and `logout` to `f` (they reject
    /// without `options.oauth`).
    pub fn methods(self: &Rc<Self>, f: &Function, shell: &Rc<Shell>) {
        let methods: [(&str, Method); 4] = [
            ("authorizationUrl", |o, s, a| {
                Box::pin(o.authorization_url(s, a))
            }),
            ("login", |o, s, a| Box::pin(o.login(s, a))),
            ("completeLogin", |o, s, a| Box::pin(o.complete_login(s, a))),
            ("logout", |o, s, a| Box::pin(o.oauth_logout(s, a))),
        ];
        for (name, method) in methods {
            let (o, s) = (self.clone(), shell.clone());
            let m = Closure::<dyn Fn(JsValue) -> JsValue>::new(move |arg: JsValue| {
                wasm_bindgen_futures::future_to_promise(method(o.clone(), s.clone(), arg)).into()
            });
            js::define_value(f, &js::name(name), &m.into_js_value());
        }
    }
}

impl Above for OAuth {
    fn refresh(
        self: Rc<Self>,
        shell: Rc<Shell>,
    ) -> core::pin::Pin<Box<dyn core::future::Future<Output = Result<TokenSet, JsValue>>>> {
        Box::pin(async move { self.refresh_grant(&shell).await })
    }

    fn send_bound(
        self: Rc<Self>,
        shell: &Rc<Shell>,
        input: &JsValue,
        init: &JsValue,
        auth: &JsValue,
    ) -> Option<Promise> {
        let d = self.dpop.clone()?;
        let sent =
            super::dpop::send_bound(d, shell.clone(), input.clone(), init.clone(), auth.clone());
        Some(js::promise(sent).unchecked_into())
    }

    /// A login that asks for `acr_values` / `max_age` and comes back to this page (with
    /// `options.oauth`; without, nothing).
    fn step_up(self: Rc<Self>, shell: &Rc<Shell>, acr_values: Option<&str>, max_age: Option<u64>) {
        if self.config.is_none() {
            return;
        }
        let lo = LoginOptions {
            acr_values: acr_values.map(String::from),
            max_age: max_age.map(|m| m as f64),
            return_to: js::page_href(),
            ..LoginOptions::default()
        };
        let sh = shell.clone();
        js::spawn(async move {
            let went = match self.authorization_url_for(&sh, lo).await {
                Ok(url) => go_to(&url),
                Err(e) => Err(e),
            };
            if let Err(e) = went {
                js::report(&e);
            }
        });
    }

    fn logged_out(&self, store: bool) {
        if let Some(d) = &self.dpop {
            d.forget(store);
        }
        if store {
            self.keep_id_token(None);
        } else {
            *self.id_token.borrow_mut() = None;
        }
    }

    fn orphaned(self: Rc<Self>, shell: &Rc<Shell>, refresh_token: String) {
        let _ = self.revoke(shell, refresh_token);
    }
}

/// Sends the page to `url` (windows).
fn go_to(url: &str) -> Result<JsValue, JsValue> {
    let place = js::place().ok_or_else(|| {
        js::type_error("login: there is no page to send to the login (use authorizationUrl)")
    })?;
    place.assign(url)?;
    Ok(JsValue::UNDEFINED)
}

/// The metadata URLs of an issuer, in the order they are tried: OpenID Connect Discovery's
/// (`issuer` + `/.well-known/openid-configuration`), then RFC 8414's (the well-known part
/// between the host and the issuer's path). For an issuer without a path they are the two
/// well-known names at its root.
fn well_known(issuer: &str) -> Option<[String; 2]> {
    let url = Url::new(issuer).ok()?;
    let path = url.pathname();
    let path = path.trim_end_matches('/');
    let mut oidc = url.origin();
    oidc.push_str(path);
    oidc.push_str("/.well-known/openid-configuration");
    let mut rfc8414 = url.origin();
    rfc8414.push_str("/.well-known/oauth-authorization-server");
    rfc8414.push_str(path);
    Some([oidc, rfc8414])
}

impl OAuth {
    fn oauth(&self) -> Result<&OAuthConfig, JsValue> {
        self.config
            .as_ref()
            .ok_or_else(|| js::type_error("reauth: this needs options.oauth"))
    }

    /// The fetch for the authorization server (never with the access token; with a DPoP
    /// proof when one is given).
    async fn raw_fetch(
        &self,
        sh: &Shell,
        url: &str,
        body: Option<&UrlSearchParams>,
        signal: &JsValue,
        proof: Option<&str>,
    ) -> Result<web_sys::Response, JsValue> {
        let init = Object::new();
        if !signal.is_undefined() {
            let _ = Reflect::set(&init, &js::name("signal"), signal);
        }
        if let Some(p) = proof {
            let headers = Object::new();
            let _ = Reflect::set(&headers, &js::name("dpop"), &JsValue::from_str(p));
            init.unchecked_ref::<Init>().set_headers(&headers);
        }
        if let Some(b) = body {
            let _ = Reflect::set(&init, &js::name("method"), &js::name("POST"));
            init.unchecked_ref::<Init>().set_body(b);
        }
        let f = sh.fetch_fn();
        let f: &js_sys::Function = f
            .dyn_ref()
            .ok_or_else(|| js::type_error("reauth: there is no fetch to call"))?;
        let sent = js::call2(f, &JsValue::UNDEFINED, &JsValue::from_str(url), &init)?;
        JsFuture::from(Promise::resolve(&sent)).await?.dyn_into()
    }

    /// The endpoints: from the options, else from the metadata (read once; `signal` aborts the
    /// metadata requests).
    pub(super) async fn endpoints_within(
        &self,
        sh: &Shell,
        signal: &JsValue,
    ) -> Result<Rc<Endpoints>, JsValue> {
        if let Some(e) = &*self.endpoints.borrow() {
            return Ok(e.clone());
        }
        let o = self.oauth()?;
        let mut e = Endpoints {
            issuer: o.issuer.clone(),
            authorization: o.authorization_endpoint.clone(),
            token: o.token_endpoint.clone().unwrap_or_default(),
            revocation: o.revocation_endpoint.clone(),
            end_session: o.end_session_endpoint.clone(),
            iss_required: false,
        };
        let complete = !e.token.is_empty() && e.authorization.is_some();
        if let (false, Some(issuer)) = (complete, &o.issuer) {
            let mut meta = None;
            for url in well_known(issuer).into_iter().flatten() {
                let Ok(r) = self.raw_fetch(sh, &url, None, signal, None).await else {
                    continue;
                };
                if !r.ok() {
                    continue;
                }
                let Ok(json) = r.json() else { continue };
                let Ok(json) = JsFuture::from(json).await else {
                    continue;
                };
                if let Ok(m) = serde_wasm_bindgen::from_value::<Metadata>(json) {
                    meta = Some(m);
                    break;
                }
            }
            let m = meta.ok_or_else(|| {
                oauth_error(
                    "metadata_unavailable",
                    Some("the authorization server's metadata could not be read"),
                )
            })?;
            // RFC 8414 §3.3, OpenID Connect Discovery §4.3: the metadata must be the issuer's own.
            if m.issuer.as_deref().map(|i| i.trim_end_matches('/'))
                != Some(issuer.trim_end_matches('/'))
            {
                return Err(oauth_error(
                    "issuer_mismatch",
                    Some("the metadata names another issuer"),
                ));
            }
            e.authorization = e.authorization.or(m.authorization_endpoint);
            if e.token.is_empty() {
                e.token = m.token_endpoint.unwrap_or_default();
            }
            e.revocation = e.revocation.or(m.revocation_endpoint);
            e.end_session = e.end_session.or(m.end_session_endpoint);
            e.iss_required = m.authorization_response_iss_parameter_supported == Some(true);
        }
        if e.token.is_empty() {
            return Err(oauth_error(
                "metadata_unavailable",
                Some("no token endpoint"),
            ));
        }
        let e = Rc::new(e);
        *self.endpoints.borrow_mut() = Some(e.clone());
        Ok(e)
    }

    /// The endpoints (see [`OAuth::endpoints_within`]).
    pub(super) async fn endpoints(&self, sh: &Shell) -> Result<Rc<Endpoints>, JsValue> {
        self.endpoints_within(sh, &JsValue::UNDEFINED).await
    }

    fn login_key(&self) -> String {
        let mut k = self.storage_key.clone();
        k.push_str(":login");
        k
    }

    /// Where a login in progress is kept for the callback: in the configured storage, and with
    /// `storage: 'memory'` in sessionStorage all the same where there is one (a login navigates
    /// away, and the callback comes back to a new page); in memory where there is no Web
    /// Storage (Node, workers).
    fn login_area(&self) -> StorageKind {
        match self.storage {
            StorageKind::Memory if super::options::available(StorageKind::Session) => {
                StorageKind::Session
            }
            kind => kind,
        }
    }

    fn save_pending(&self, p: Option<PendingLogin>) {
        let key = self.login_key();
        let written = match (self.login_area(), &p) {
            (StorageKind::Local, Some(p)) => LocalStorage::set(&key, p).is_ok(),
            (StorageKind::Session, Some(p)) => SessionStorage::set(&key, p).is_ok(),
            (StorageKind::Local, None) => {
                LocalStorage::delete(&key);
                false
            }
            (StorageKind::Session, None) => {
                SessionStorage::delete(&key);
                false
            }
            (StorageKind::Memory, _) => false,
        };
        if !written {
            *self.pending.borrow_mut() = p;
        }
    }

    fn load_pending(&self) -> Option<PendingLogin> {
        let key = self.login_key();
        let stored: Option<PendingLogin> = match self.login_area() {
            StorageKind::Local => LocalStorage::get(&key).ok(),
            StorageKind::Session => SessionStorage::get(&key).ok(),
            StorageKind::Memory => None,
        };
        stored.or_else(|| self.pending.borrow().clone())
    }

    /// `authFetch.authorizationUrl(options)`: the authorization request (code flow, PKCE S256,
    /// `state`); the verifier and state are kept for `completeLogin`.
    pub(super) async fn authorization_url(
        self: Rc<Self>,
        sh: Rc<Shell>,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let lo: LoginOptions = if options.is_null_or_undefined() {
            LoginOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).map_err(|_| {
                js::type_error("authorizationUrl: options must be { returnTo?, acrValues?, maxAge?, prompt?, loginHint? }")
            })?
        };
        self.authorization_url_for(&sh, lo).await.map(JsValue::from)
    }

    /// The authorization URL for `lo` (see [`OAuth::authorization_url`]).
    async fn authorization_url_for(&self, sh: &Shell, lo: LoginOptions) -> Result<String, JsValue> {
        let o = self.oauth()?;
        let redirect_uri = match &o.redirect_uri {
            Some(r) => r.clone(),
            None => js::page_href().ok_or_else(|| {
                js::type_error("reauth: options.oauth.redirectUri is required here")
            })?,
        };
        let e = self.endpoints(sh).await?;
        let endpoint = e.authorization.clone().ok_or_else(|| {
            oauth_error("metadata_unavailable", Some("no authorization endpoint"))
        })?;
        let verifier = random(32)?;
        let state = random(16)?;
        let challenge = Base64UrlUnpadded::encode_string(&sha256(verifier.as_bytes()).await?);
        let url = Url::new(&endpoint)?;
        let q = url.search_params();
        q.append("response_type", "code");
        q.append("client_id", &o.client_id);
        q.append("redirect_uri", &redirect_uri);
        if let Some(s) = &o.scope {
            q.append("scope", s);
        }
        q.append("state", &state);
        q.append("code_challenge", &challenge);
        q.append("code_challenge_method", "S256");
        if let Some(r) = &o.resource {
            q.append("resource", r);
        }
        if let Some(a) = &lo.acr_values {
            q.append("acr_values", a);
        }
        if let Some(m) = lo.max_age {
            q.append("max_age", &(m.max(0.0) as u64).to_string());
        }
        if let Some(p) = &lo.prompt {
            q.append("prompt", p);
        }
        if let Some(h) = &lo.login_hint {
            q.append("login_hint", h);
        }
        // RFC 9449 §10: bind the authorization code to the key.
        if let Some(d) = &self.dpop {
            q.append("dpop_jkt", &d.key_for(None).await?.jkt);
        }
        self.save_pending(Some(PendingLogin {
            state,
            verifier,
            redirect_uri,
            return_to: lo.return_to,
        }));
        Ok(url.href())
    }

    /// `authFetch.login(options)`: to the authorization URL (windows).
    pub(super) async fn login(
        self: Rc<Self>,
        sh: Rc<Shell>,
        options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let url = self.clone().authorization_url(sh, options).await?;
        go_to(&url.as_string().unwrap_or_default())
    }

    /// `authFetch.completeLogin(url)`: checks the callback against the login in progress, makes
    /// the code exchange and installs the tokens. Resolves with `{ returnTo }`.
    pub(super) async fn complete_login(
        self: Rc<Self>,
        sh: Rc<Shell>,
        url: JsValue,
    ) -> Result<JsValue, JsValue> {
        let sh = &sh;
        let o = self.oauth()?;
        let href = match url.as_string() {
            Some(u) => u,
            None if url.is_null_or_undefined() => js::page_href()
                .ok_or_else(|| js::type_error("completeLogin: pass the callback URL"))?,
            None => return Err(js::type_error("completeLogin: the URL must be a string")),
        };
        let url = Url::new(&href).map_err(|_| js::type_error("completeLogin: not a URL"))?;
        let q = url.search_params();
        // The state first: a callback that does not answer this app's login (another tab's,
        // a forged one, a replay) changes nothing, not even when it carries an error.
        let Some(p) = self
            .load_pending()
            .filter(|p| q.get("state").as_deref() == Some(p.state.as_str()))
        else {
            return Err(oauth_error(
                "state_mismatch",
                Some("the callback does not answer this app's login"),
            ));
        };
        if let Some(error) = q.get("error") {
            self.save_pending(None);
            return Err(oauth_error(&error, q.get("error_description").as_deref()));
        }
        let e = self.endpoints(sh).await?;
        // RFC 9207: when the server says who answered, it must be the issuer; when it says it
        // always does, a callback that does not is refused (a mix-up attack strips it).
        let iss = q.get("iss");
        if let Some(issuer) = &e.issuer {
            let wrong = match &iss {
                Some(iss) => iss.trim_end_matches('/') != issuer.trim_end_matches('/'),
                None => false,
            };
            if wrong || (iss.is_none() && e.iss_required) {
                self.save_pending(None);
                return Err(if wrong {
                    oauth_error(
                        "issuer_mismatch",
                        Some("the callback comes from another issuer"),
                    )
                } else {
                    oauth_error(
                        "issuer_missing",
                        Some("the callback does not say which issuer answered"),
                    )
                });
            }
        }
        let code = q
            .get("code")
            .ok_or_else(|| oauth_error("invalid_request", Some("no code in the callback")))?;
        let params = UrlSearchParams::new()?;
        params.append("grant_type", "authorization_code");
        params.append("code", &code);
        params.append("redirect_uri", &p.redirect_uri);
        params.append("client_id", &o.client_id);
        params.append("code_verifier", &p.verifier);
        if let Some(r) = &o.resource {
            params.append("resource", r);
        }
        self.save_pending(None);
        let t = self.token_request(sh, &e.token, &params, None).await?;
        sh.shared.install(t, true);
        Ok(to_js(&Completed {
            return_to: p.return_to.as_deref(),
        }))
    }

    /// A token request; resolves with the tokens, or fails with an [`oauth_error`]. With DPoP
    /// each attempt carries a fresh proof of the key the grant is bound to (`bound`, its
    /// thumbprint, for a refresh token; none for a code, which the login bound to the current
    /// key), and a `use_dpop_nonce` answer is retried once with the nonce it gives. It is never
    /// aborted (see [`Shell::grant`](super::Shell)).
    async fn token_request(
        &self,
        sh: &Shell,
        endpoint: &str,
        params: &UrlSearchParams,
        bound: Option<&str>,
    ) -> Result<TokenSet, JsValue> {
        let target = match &self.dpop {
            Some(_) => Some(super::dpop::target(endpoint).ok_or_else(|| {
                oauth_error("invalid_request", Some("the token endpoint is not a URL"))
            })?),
            None => None,
        };
        let jkt = match &self.dpop {
            Some(d) => Some(d.key_for(bound).await?.jkt.clone()),
            None => None,
        };
        let mut retried = false;
        loop {
            let proof = match (&self.dpop, &target) {
                (Some(d), Some((htu, origin))) => {
                    Some(d.proof("POST", htu, origin, None, bound).await?)
                }
                _ => None,
            };
            let r = self
                .raw_fetch(
                    sh,
                    endpoint,
                    Some(params),
                    &JsValue::UNDEFINED,
                    proof.as_deref(),
                )
                .await?;
            let new_nonce = match (&self.dpop, &target) {
                (Some(d), Some((_, origin))) => d.remember(origin, &r),
                _ => false,
            };
            let json = match r.json() {
                Ok(p) => JsFuture::from(p).await.ok(),
                Err(_) => None,
            };
            let body: Option<TokenResponse> =
                json.and_then(|j| serde_wasm_bindgen::from_value(j).ok());
            return match body {
                Some(TokenResponse {
                    access_token: Some(access),
                    refresh_token,
                    expires_in,
                    token_type,
                    id_token,
                    ..
                }) if r.ok() && !access.is_empty() => Ok({
                    if id_token.is_some() {
                        self.keep_id_token(id_token);
                    }
                    TokenSet::new(
                        access,
                        refresh_token,
                        expires_in
                            .filter(|s| s.is_finite() && *s >= 0.0)
                            .map(|s| Expiry::In((s * 1000.0) as u64)),
                    )
                    .bound(
                        token_type.is_some_and(|t| t.eq_ignore_ascii_case("DPoP")),
                        jkt.clone(),
                    )
                }),
                // RFC 9449 §8: the server wants a nonce in the proof; it gave one.
                Some(TokenResponse {
                    error: Some(code), ..
                }) if code == "use_dpop_nonce" && new_nonce && !retried => {
                    retried = true;
                    continue;
                }
                Some(TokenResponse {
                    error: Some(code),
                    error_description,
                    ..
                }) => Err(oauth_error(&code, error_description.as_deref())),
                _ if !r.ok() => Err(oauth_error(&alloc::format!("http_{}", r.status()), None)),
                _ => Err(oauth_error("invalid_token_response", None)),
            };
        }
    }

    /// The built-in refresh: the refresh grant at the token endpoint, with the refresh token
    /// there is now (see [`Shell::grant`](super::Shell) for why it is never aborted).
    pub(super) async fn refresh_grant(&self, sh: &Shell) -> Result<TokenSet, JsValue> {
        let o = self.oauth()?;
        let Some(rt) = sh.shared.session.borrow().refresh_token().map(String::from) else {
            return Err(oauth_error(
                "login_required",
                Some("there is no refresh token"),
            ));
        };
        let bound = sh.shared.jkt.borrow().clone();
        let e = self.endpoints(sh).await?;
        let params = UrlSearchParams::new()?;
        params.append("grant_type", "refresh_token");
        params.append("refresh_token", &rt);
        params.append("client_id", &o.client_id);
        if let Some(r) = &o.resource {
            params.append("resource", r);
        }
        self.token_request(sh, &e.token, &params, bound.as_deref())
            .await
    }

    /// `authFetch.logout(options?)`: forgets the tokens at once, everywhere (see
    /// [`Shell::logout`]), before the promise is even made; then revokes the refresh token that
    /// was current (RFC 7009) where the server can. It settles when the server answered, or
    /// after the refresh timeout (10 s without one), whichever comes first; the answer does not
    /// matter. With `endSession: true` it then ends the provider's session too (OpenID Connect
    /// RP-Initiated Logout): the end-session URL (`client_id`, `id_token_hint` with the last ID
    /// token, `post_logout_redirect_uri` from `returnTo` or the option), where a window goes,
    /// and what the promise resolves with; a provider without an end-session endpoint is an
    /// `end_session_unsupported` error.
    pub(super) fn oauth_logout(
        self: Rc<Self>,
        sh: Rc<Shell>,
        options: JsValue,
    ) -> impl core::future::Future<Output = Result<JsValue, JsValue>> {
        let configured = self.oauth().map(|_| ());
        let flag = |k: &str| options.is_object().then(|| js::get(&options, &js::name(k)));
        let end_session = flag("endSession").is_some_and(|v| v.is_truthy());
        let return_to = flag("returnTo").and_then(|v| v.as_string());
        let hint = self.id_token();
        let mut revoked = None;
        if configured.is_ok() {
            let rt = sh.shared.session.borrow().refresh_token().map(String::from);
            sh.logout(true);
            revoked = rt.map(|rt| self.revoke(&sh, rt));
        }
        async move {
            let o = self.oauth()?;
            if let Some((revoked, ms)) = revoked {
                let either = js_sys::Array::of2(&revoked, &js::sleep(ms));
                let _ = JsFuture::from(Promise::race(&either)).await;
            }
            if !end_session {
                return Ok(JsValue::UNDEFINED);
            }
            let e = self.endpoints(&sh).await?;
            let Some(endpoint) = &e.end_session else {
                return Err(oauth_error(
                    "end_session_unsupported",
                    Some("the authorization server publishes no end_session_endpoint (give oauth.endSessionEndpoint if it has one)"),
                ));
            };
            let url = Url::new(endpoint)?;
            let q = url.search_params();
            q.append("client_id", &o.client_id);
            if let Some(h) = &hint {
                q.append("id_token_hint", h);
            }
            if let Some(back) = return_to.as_ref().or(o.post_logout_redirect_uri.as_ref()) {
                q.append("post_logout_redirect_uri", back);
            }
            let href = url.href();
            if web_sys::window().is_some() {
                js::place()
                    .ok_or_else(|| js::type_error("logout: no page"))?
                    .assign(&href)?;
            }
            Ok(JsValue::from_str(&href))
        }
    }

    /// Revokes refresh token `rt` where the server can: a promise of it, aborted after the
    /// refresh timeout, and that timeout (ms).
    fn revoke(self: &Rc<Self>, sh: &Rc<Shell>, rt: String) -> (JsValue, f64) {
        let ms = sh.opts.timeout_ms.unwrap_or(10_000.0);
        let controller = web_sys::AbortController::new().ok();
        let signal: JsValue = controller
            .as_ref()
            .map_or(JsValue::UNDEFINED, |c| c.signal().into());
        if let Some(c) = &controller {
            let abort = js::get(c, &js::name("abort"));
            if let Some(abort) = abort.dyn_ref::<js_sys::Function>() {
                js::set_timeout(&abort.bind0(c), ms);
            }
        }
        let Some(client_id) = self.config.as_ref().map(|o| o.client_id.clone()) else {
            return (Promise::resolve(&JsValue::UNDEFINED).into(), ms);
        };
        let (me, shell) = (self.clone(), sh.clone());
        let revoked = js::promise(async move {
            let e = me.endpoints_within(&shell, &signal).await?;
            if let Some(endpoint) = &e.revocation {
                let params = UrlSearchParams::new()?;
                params.append("token", &rt);
                params.append("token_type_hint", "refresh_token");
                params.append("client_id", &client_id);
                me.raw_fetch(&shell, endpoint, Some(&params), &signal, None)
                    .await?;
            }
            Ok(JsValue::UNDEFINED)
        });
        (revoked, ms)
    }
}
