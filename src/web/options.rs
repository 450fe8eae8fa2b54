//! What comes in from the app: `createAuthFetch`'s options and token sets, deserialized with
//! serde-wasm-bindgen into Rust structs. A wrong value is a `TypeError` that names the option
//! (or the token field) and says what it must be.

use core::fmt;

use js_sys::Function;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[cfg(feature = "oauth")]
use super::js::origin_of;
use super::js::{self, page_origin, type_error};
use crate::session::Expiry;

/// Where tokens persist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    /// In this `authFetch` only.
    Memory,
    /// `sessionStorage` (this tab, survives reloads).
    Session,
    /// `localStorage` (every tab of the origin).
    Local,
}

/// `'memory'`, `'session'` or `'local'`: read as the string it is (serde's derive for an enum
/// would bring serde-wasm-bindgen's reader of enums, which nothing else needs).
impl<'de> Deserialize<'de> for StorageKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match String::deserialize(d)?.as_str() {
            "memory" => Ok(StorageKind::Memory),
            "session" => Ok(StorageKind::Session),
            "local" => Ok(StorageKind::Local),
            _ => Err(de::Error::custom("not a storage area")),
        }
    }
}

/// Whether this environment has the Web Storage area `kind` and lets this page use it
/// (windows only; not Node, not workers, not some privacy modes).
pub fn available(kind: StorageKind) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let area = match kind {
        StorageKind::Local => window.local_storage(),
        StorageKind::Session => window.session_storage(),
        StorageKind::Memory => return true,
    };
    matches!(area, Ok(Some(_)))
}

/// `createAuthFetch`'s options, checked.
pub struct Options {
    /// The app's `refresh` hook (`None`: the built-in refresh grant of `oauth`).
    pub refresh: Option<Function>,
    /// OAuth 2.0 settings: login, the refresh grant, logout.
    #[cfg(feature = "oauth")]
    pub oauth: Option<OAuthConfig>,
    /// The redirect hook.
    pub on_auth_failure: Option<Function>,
    /// Where to send the page when re-authentication fails and there is no hook.
    pub login_url: Option<String>,
    /// Origins the token may go to, as the URL parser prints them.
    pub origins: Vec<String>,
    /// Where tokens persist, and under which key.
    pub storage: StorageKind,
    /// The Web Storage key.
    pub storage_key: String,
    /// The fetch to wrap, when not the global one.
    pub fetch: Option<Function>,
    /// How long a refresh may take (`None`: no limit).
    pub timeout_ms: Option<f64>,
    /// The app's override of the refresh decision.
    pub should_refresh: Option<Function>,
    /// The event hook.
    pub on_event: Option<Function>,
    /// Refresh this long before the token expires.
    pub skew_ms: u64,
    /// Coordinate tabs.
    pub cross_tab: bool,
    /// How long to wait for another tab's refresh lock.
    pub lock_timeout_ms: f64,
    /// DPoP (RFC 9449): tokens bound to a key of this `authFetch`.
    pub dpop: bool,
    /// The step-up hook (RFC 9470).
    pub on_step_up: Option<Function>,
    /// Cookie sessions behind a backend-for-frontend: no tokens in JS.
    #[cfg(feature = "bff")]
    bff: Option<BffConfig>,
}

impl Options {
    /// `options.bff`: a cookie session's BFF, if any (never in the builds without cookie
    /// sessions, where the code for them is left out).
    #[inline]
    pub fn bff(&self) -> Option<&BffConfig> {
        #[cfg(feature = "bff")]
        return self.bff.as_ref();
        #[cfg(not(feature = "bff"))]
        None
    }
}

/// Which backend-for-frontend a cookie session talks to, for what its endpoints say.
#[cfg_attr(not(feature = "bff"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// Duende BFF: `X-CSRF: 1`, `/bff/user` (claims as `{ type, value }`), `/bff/login`,
    /// the logout URL from the `bff:logout_url` claim; it refreshes on its own side.
    Duende,
    /// The Curity Identity Server's Token Handler (as its JS assistant speaks to it):
    /// `token-handler-version: 1` on every request, form bodies, snake_case answers: `POST
    /// refresh`, `GET session`, `POST login/start` and `login/end`, `POST logout`.
    Curity,
    /// Curity's open-source OAuth Agent: JSON bodies, camelCase answers, the CSRF value that
    /// `login/end` answers sent back as `x-<prefix>-csrf` on its refresh and logout and on
    /// every API call that is not a GET: `POST refresh` (204), `GET claims`, `POST
    /// login/start` and `login/end`, `POST logout`.
    OAuthAgent,
}

/// `options.bff`, checked: every URL absolute.
#[cfg_attr(not(feature = "bff"), allow(dead_code))]
pub struct BffConfig {
    /// The preset the endpoints follow (`None`: the generic form).
    pub preset: Option<Preset>,
    /// The anti-CSRF headers every request to an allowed origin carries.
    pub headers: Vec<(String, String)>,
    /// Where a session refresh is a `POST` (`None`: the BFF refreshes on its own side, so a
    /// 401 means the session is over).
    pub refresh_url: Option<String>,
    /// Where the user's claims are (`session()`).
    pub user_url: Option<String>,
    /// Where a login starts (`login()`, and the default redirect when re-authentication fails).
    pub login_url: Option<String>,
    /// Where a logout goes.
    pub logout_url: Option<String>,
    /// The query parameter the login endpoint reads the return address from.
    pub return_param: String,
    /// The OAuth Agent's CSRF header (`x-<prefix>-csrf`), sent with [`BffConfig::csrf`].
    pub csrf_header: Option<String>,
    /// The CSRF value the OAuth Agent's `login/end` answered, once known: sent on every request
    /// to an allowed origin that is not a GET or HEAD.
    pub csrf: core::cell::RefCell<Option<String>>,
}

/// `options.oauth`, as given.
#[cfg(feature = "oauth")]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthConfig {
    /// The authorization server's issuer: its metadata is read from the well-known URLs.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The endpoints, when given directly (they take precedence over the metadata).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// See `token_endpoint`.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// See `token_endpoint`.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// See `token_endpoint` (OpenID Connect RP-Initiated Logout).
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// Where the authorization server sends the browser after `logout({ endSession: true })`.
    #[serde(default)]
    pub post_logout_redirect_uri: Option<String>,
    /// The client's id (a public client: no secret).
    pub client_id: String,
    /// Where the authorization server sends the browser back with the code.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The scope to ask for.
    #[serde(default)]
    pub scope: Option<String>,
    /// The resource the tokens are for (RFC 8707).
    #[serde(default)]
    pub resource: Option<String>,
}

/// A function-valued option, kept as the JS function it is.
struct Hook(Function);

impl<'de> Deserialize<'de> for Hook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Preserved as a plain value and checked here: `typeof` is the test JS code uses.
        let v: JsValue = serde_wasm_bindgen::preserve::deserialize(d)?;
        match v.dyn_into::<Function>() {
            Ok(f) => Ok(Hook(f)),
            Err(_) => Err(de::Error::custom(FUNCTION)),
        }
    }
}

/// An array of strings, and nothing else that happens to be iterable (a string is).
struct Strings(Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Strings;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Strings(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Field {
    Refresh,
    Oauth,
    OnAuthFailure,
    LoginUrl,
    Origins,
    Storage,
    StorageKey,
    Fetch,
    RefreshTimeoutMs,
    ShouldRefresh,
    OnEvent,
    RefreshSkewMs,
    CrossTab,
    LockTimeoutMs,
    Dpop,
    OnStepUp,
    Bff,
}

const KEYS: &[&str] = &[
    "refresh",
    "oauth",
    "onAuthFailure",
    "loginUrl",
    "origins",
    "storage",
    "storageKey",
    "fetch",
    "refreshTimeoutMs",
    "shouldRefresh",
    "onEvent",
    "refreshSkewMs",
    "crossTab",
    "lockTimeoutMs",
    "dpop",
    "onStepUp",
    "bff",
];

/// The options as given, each of the right type (`None`: not given, or null).
#[derive(Default)]
struct Given {
    refresh: Option<Hook>,
    #[cfg(feature = "oauth")]
    oauth: Option<OAuthConfig>,
    on_auth_failure: Option<Hook>,
    login_url: Option<String>,
    origins: Option<Strings>,
    storage: Option<StorageKind>,
    storage_key: Option<String>,
    fetch: Option<Hook>,
    refresh_timeout_ms: Option<f64>,
    should_refresh: Option<Hook>,
    on_event: Option<Hook>,
    refresh_skew_ms: Option<f64>,
    cross_tab: Option<bool>,
    lock_timeout_ms: Option<f64>,
    #[cfg(feature = "oauth")]
    dpop: Option<bool>,
    on_step_up: Option<Hook>,
    #[cfg(feature = "bff")]
    bff: Option<cookie::Preserved>,
}

/// The next value of `map` as a `T`, or an error that names the option and what it must be.
fn value<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    option: &str,
    must: &str,
) -> Result<T, A::Error> {
    map.next_value()
        .map_err(|_| de::Error::custom(format_args!("options.{option} {must}")))
}

const FUNCTION: &str = "must be a function";
#[cfg(not(feature = "oauth"))]
const OAUTH_BUILD: &str =
    "options.oauth is in the OAuth build: import { createAuthFetch } from 'reauth/oauth'";
#[cfg(not(feature = "oauth"))]
const DPOP_BUILD: &str =
    "options.dpop is in the OAuth build: import { createAuthFetch } from 'reauth/oauth'";
#[cfg(not(feature = "bff"))]
const BFF_BUILD: &str =
    "options.bff is in the cookie-session build: import { createAuthFetch } from 'reauth/bff'";
const MILLIS: &str = "must be a number of milliseconds, 0 or more";

impl<'de> Deserialize<'de> for Given {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Given;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an options object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Given, A::Error> {
                let mut g = Given::default();
                while let Some(key) = m.next_key::<Field>()? {
                    let m = &mut m;
                    match key {
                        Field::Refresh => g.refresh = value(m, "refresh", FUNCTION)?,
                        #[cfg(feature = "oauth")]
                        Field::Oauth => {
                            g.oauth = value(m, "oauth", "must be { issuer or tokenEndpoint, clientId, redirectUri?, scope?, resource? } with strings")?
                        }
                        #[cfg(not(feature = "oauth"))]
                        Field::Oauth => return Err(de::Error::custom(OAUTH_BUILD)),
                        Field::OnAuthFailure => {
                            g.on_auth_failure = value(m, "onAuthFailure", FUNCTION)?
                        }
                        Field::LoginUrl => g.login_url = value(m, "loginUrl", "must be a string")?,
                        Field::Origins => {
                            g.origins = value(m, "origins", "must be an array of origin strings")?
                        }
                        Field::Storage => {
                            g.storage =
                                value(m, "storage", "must be 'memory', 'session' or 'local'")?
                        }
                        Field::StorageKey => {
                            g.storage_key = value(m, "storageKey", "must be a string")?
                        }
                        Field::Fetch => g.fetch = value(m, "fetch", FUNCTION)?,
                        Field::RefreshTimeoutMs => {
                            g.refresh_timeout_ms = value(m, "refreshTimeoutMs", MILLIS)?
                        }
                        Field::ShouldRefresh => {
                            g.should_refresh = value(m, "shouldRefresh", FUNCTION)?
                        }
                        Field::OnEvent => g.on_event = value(m, "onEvent", FUNCTION)?,
                        Field::RefreshSkewMs => {
                            g.refresh_skew_ms = value(m, "refreshSkewMs", MILLIS)?
                        }
                        Field::CrossTab => g.cross_tab = value(m, "crossTab", "must be a boolean")?,
                        Field::LockTimeoutMs => {
                            g.lock_timeout_ms = value(m, "lockTimeoutMs", MILLIS)?
                        }
                        #[cfg(feature = "oauth")]
                        Field::Dpop => g.dpop = value(m, "dpop", "must be a boolean")?,
                        #[cfg(not(feature = "oauth"))]
                        Field::Dpop => return Err(de::Error::custom(DPOP_BUILD)),
                        Field::OnStepUp => g.on_step_up = value(m, "onStepUp", FUNCTION)?,
                        #[cfg(feature = "bff")]
                        Field::Bff => g.bff = m.next_value()?,
                        #[cfg(not(feature = "bff"))]
                        Field::Bff => return Err(de::Error::custom(BFF_BUILD)),
                    }
                }
                Ok(g)
            }
        }
        d.deserialize_struct("Options", KEYS, V)
    }
}

/// A TypeError for `createAuthFetch`: `createAuthFetch: options.<name> <what>`.
fn bad(what: &str) -> JsValue {
    let mut msg = String::from("createAuthFetch: ");
    msg.push_str(what);
    type_error(&msg)
}

/// A `TypeError` for the first key of `value` that is no option, naming the closest one (a
/// misspelling is otherwise silently ignored: serde reads only the keys it knows).
fn unknown_option(value: &JsValue, keys: &[&str], prefix: &str) -> Result<(), JsValue> {
    for key in js::keys(value)?.iter() {
        let Some(key) = key.as_string() else {
            continue;
        };
        if keys.contains(&key.as_str()) {
            continue;
        }
        let mut closest = keys[0];
        let mut best = usize::MAX;
        for known in keys {
            let d = distance(key.as_bytes(), known.as_bytes());
            if d < best {
                best = d;
                closest = known;
            }
        }
        return Err(bad(&js::concat(&[
            prefix,
            &key,
            " is not an option; did you mean ",
            closest,
            "?",
        ])));
    }
    Ok(())
}

/// The edit distance between two names, ASCII case ignored (Levenshtein over bytes, one row;
/// the known names are under 32 bytes).
fn distance(a: &[u8], b: &[u8]) -> usize {
    let b = &b[..b.len().min(31)];
    let mut row = [0usize; 32];
    for (j, cell) in row.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let same = ca.eq_ignore_ascii_case(cb);
            let next = (diagonal + usize::from(!same))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Whether a URL names an origin and nothing more (a trailing `/` allowed).
fn bare_origin(u: &web_sys::Url) -> bool {
    u.pathname() == "/"
        && u.search().is_empty()
        && u.hash().is_empty()
        && u.username().is_empty()
        && u.password().is_empty()
}

/// A number of milliseconds, 0 or more (and finite).
fn millis(v: Option<f64>, option: &str, fallback: f64) -> Result<f64, JsValue> {
    match v {
        None => Ok(fallback),
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(ms),
        Some(_) => Err(bad(&alloc::format!("options.{option} {MILLIS}"))),
    }
}

impl Options {
    /// Reads and checks the options; a `TypeError` names the first bad one.
    pub fn from_js(value: &JsValue) -> Result<Options, JsValue> {
        if !value.is_object() {
            return Err(bad("options must be an object"));
        }
        let g: Given = serde_wasm_bindgen::from_value(value.clone()).map_err(|e| {
            let e = JsValue::from(e);
            let msg = e
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_default();
            bad(&msg)
        })?;
        unknown_option(value, KEYS, "options.")?;
        let refresh = g.refresh.map(|h| h.0);
        // Server rendering (Node, an edge runtime: no window, no worker): the instance a
        // module makes for the page is made there too, so what only a page has is not asked for
        // (see below); it sends no token where no origin is listed.
        let server = js::place().is_none();
        #[cfg(feature = "bff")]
        let bff = match g.bff {
            Some(cookie::Preserved(v)) => {
                Some(cookie::bff_config(&v, g.login_url.as_deref(), server)?)
            }
            None => None,
        };
        #[cfg(not(feature = "bff"))]
        let bff: Option<BffConfig> = None;
        #[cfg(feature = "oauth")]
        if bff.is_some() && (g.oauth.is_some() || g.dpop == Some(true)) {
            return Err(bad("options.bff is a cookie session: no tokens in the page, so no options.oauth or options.dpop with it"));
        }
        #[cfg(not(feature = "oauth"))]
        if refresh.is_none() && bff.is_none() {
            return Err(bad(
                "options.refresh is required: a function that returns new tokens (the built-in OAuth refresh grant is in reauth/oauth)",
            ));
        }
        #[cfg(feature = "oauth")]
        if let Some(o) = &g.oauth {
            if o.client_id.is_empty() {
                return Err(bad("options.oauth.clientId must be a non-empty string"));
            }
            if o.issuer.is_none() && o.token_endpoint.is_none() {
                return Err(bad("options.oauth needs an issuer (its metadata gives the endpoints) or a tokenEndpoint"));
            }
            for (name, url) in [
                ("issuer", &o.issuer),
                ("tokenEndpoint", &o.token_endpoint),
                ("authorizationEndpoint", &o.authorization_endpoint),
                ("revocationEndpoint", &o.revocation_endpoint),
                ("endSessionEndpoint", &o.end_session_endpoint),
                ("postLogoutRedirectUri", &o.post_logout_redirect_uri),
                ("redirectUri", &o.redirect_uri),
            ] {
                if let Some(u) = url {
                    if origin_of(u, None).is_none_or(|o| o == "null") {
                        return Err(bad(&alloc::format!(
                            "options.oauth.{name} must be an absolute URL"
                        )));
                    }
                }
            }
        } else if refresh.is_none() && bff.is_none() {
            return Err(bad(
                "options.refresh is required: a function that returns new tokens (or options.oauth, for the built-in refresh grant)",
            ));
        }
        let mut origins = match g.origins {
            None => match page_origin() {
                Some(own) => vec![own],
                // A cookie session's BFF endpoints say where to go (added below).
                None if bff.is_some() || server => Vec::new(),
                None => {
                    return Err(bad("options.origins is required where there is no page origin: list the API origins"))
                }
            },
            Some(Strings(list)) => {
                let mut out = Vec::with_capacity(list.len());
                for s in list {
                    // One parse: the origin, and whether the entry says more than an origin.
                    let url = web_sys::Url::new(&s).ok();
                    let Some((origin, bare)) = url
                        .map(|u| (u.origin(), bare_origin(&u)))
                        .filter(|(o, _)| o != "null")
                    else {
                        return Err(bad("options.origins must contain absolute http(s) origins such as 'https://api.example.com'"));
                    };
                    // Matched as whole origins: an entry with a path would be widened to its
                    // whole origin, so it is refused rather than read as more than it says.
                    if !bare {
                        let mut msg = String::from("options.origins: '");
                        msg.push_str(&s);
                        msg.push_str("' has a path, a query or credentials; the token goes to whole origins (scheme, host and port), so list '");
                        msg.push_str(&origin);
                        msg.push_str("' to allow every path there");
                        return Err(bad(&msg));
                    }
                    out.push(origin);
                }
                out
            }
        };
        if let Some(b) = &bff {
            // The BFF's own endpoints are the app's word too: their origins are allowed.
            let urls = [&b.refresh_url, &b.user_url, &b.login_url, &b.logout_url];
            for url in urls.into_iter().flatten() {
                if let Some(o) = js::origin_of(url, None) {
                    if !origins.contains(&o) {
                        origins.push(o);
                    }
                }
            }
        }
        if origins.is_empty() && !server {
            return Err(bad(
                "options.origins is required where there is no page origin: list the API origins",
            ));
        }
        // A cookie session keeps no secret in storage (only which session this is), so tabs
        // share it through localStorage where there is one.
        let storage = match (g.storage, &bff) {
            (Some(kind), _) => kind,
            (None, Some(_)) if available(StorageKind::Local) => StorageKind::Local,
            (None, _) => StorageKind::Memory,
        };
        // On a server, nothing outlives the process or is shared with a tab: memory it is.
        let storage = match storage {
            StorageKind::Memory => storage,
            _ if available(storage) => storage,
            _ if server => StorageKind::Memory,
            _ => {
                return Err(bad("options.storage names a Web Storage area this environment does not have (use 'memory')"))
            }
        };
        let timeout_ms = match g.refresh_timeout_ms {
            Some(ms) if ms == f64::INFINITY => None,
            Some(ms) if !(ms.is_finite() && ms >= 0.0) => {
                return Err(bad(
                    "options.refreshTimeoutMs must be a number of milliseconds, 0 or more (or Infinity)",
                ))
            }
            Some(ms) => Some(ms),
            None => Some(10_000.0),
        };
        let skew_ms = millis(g.refresh_skew_ms, "refreshSkewMs", 30_000.0)? as u64;
        let lock_timeout_ms = millis(g.lock_timeout_ms, "lockTimeoutMs", 5_000.0)?;
        let shared = storage == StorageKind::Local;
        let cross_tab = match g.cross_tab {
            None => shared,
            Some(true) if !shared && !server => {
                return Err(bad(
                    "options.crossTab needs storage: 'local' (tabs share tokens through it)",
                ))
            }
            Some(on) => on && shared,
        };
        #[cfg(not(feature = "oauth"))]
        let dpop = false;
        #[cfg(feature = "oauth")]
        let dpop = g.dpop.unwrap_or(false);
        #[cfg(feature = "oauth")]
        if dpop {
            if g.oauth.is_none() || refresh.is_some() {
                return Err(bad("options.dpop needs the built-in refresh grant: give options.oauth and no options.refresh (reauth makes the token requests that bind the tokens to its key)"));
            }
            if js::subtle().is_none() {
                return Err(bad("options.dpop needs WebCrypto (crypto.subtle, which browsers give secure contexts only)"));
            }
        }
        Ok(Options {
            refresh,
            #[cfg(feature = "oauth")]
            oauth: g.oauth,
            on_auth_failure: g.on_auth_failure.map(|h| h.0),
            login_url: g.login_url,
            origins,
            storage,
            storage_key: g.storage_key.unwrap_or_else(|| String::from("reauth")),
            fetch: g.fetch.map(|h| h.0),
            timeout_ms,
            should_refresh: g.should_refresh.map(|h| h.0),
            on_event: g.on_event.map(|h| h.0),
            skew_ms,
            cross_tab,
            lock_timeout_ms,
            dpop,
            on_step_up: g.on_step_up.map(|h| h.0),
            #[cfg(feature = "bff")]
            bff,
        })
    }
}

/// `options.bff`, read and checked (the cookie-session build only: the others refuse the option
/// with a `TypeError` that names `reauth/bff`).
#[cfg(feature = "bff")]
mod cookie {
    use super::*;

    /// `options.bff` as an object, as given (`headers` kept as the JS value, read by
    /// [`header_pairs`]).
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct BffFields {
        #[serde(default)]
        preset: Option<String>,
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        headers: Option<Preserved>,
        #[serde(default, deserialize_with = "nullable")]
        refresh_url: Option<Option<String>>,
        #[serde(default)]
        user_url: Option<String>,
        #[serde(default)]
        logout_url: Option<String>,
        #[serde(default)]
        return_param: Option<String>,
        #[serde(default)]
        csrf_header: Option<String>,
    }

    /// A field that may be `null` on purpose (`Some(None)`), as against not given (`None`).
    fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }

    /// An option kept as the JS value it is, looked at after serde.
    pub(super) struct Preserved(pub(super) JsValue);

    impl<'de> Deserialize<'de> for Preserved {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            serde_wasm_bindgen::preserve::deserialize(d).map(Preserved)
        }
    }

    /// The fields of `options.bff` (serde-wasm-bindgen reads only the fields a struct names, so
    /// others are looked for apart: a misspelling names the field meant).
    const BFF_KEYS: &[&str] = &[
        "preset",
        "url",
        "headers",
        "refreshUrl",
        "userUrl",
        "logoutUrl",
        "returnParam",
        "csrfHeader",
    ];

    const BFF_SHAPE: &str = "options.bff must be 'duende', 'curity', 'oauth-agent' or { preset?, url?, headers?, refreshUrl?, userUrl?, logoutUrl?, returnParam?, csrfHeader? }";

    /// The preset named `name`.
    fn preset_of(name: &str) -> Result<Preset, JsValue> {
        match name {
            "duende" => Ok(Preset::Duende),
            "curity" => Ok(Preset::Curity),
            "oauth-agent" => Ok(Preset::OAuthAgent),
            // What it named spoke to neither of Curity's products: say which is which.
            "token-handler" => Err(bad("options.bff: 'token-handler' is now two presets: 'curity' for the Curity Identity Server's Token Handler, 'oauth-agent' for Curity's open-source OAuth Agent")),
            _ => Err(bad(BFF_SHAPE)),
        }
    }

    /// `options.bff.headers`: a record of strings, as name and value pairs.
    fn header_pairs(headers: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
        const HEADERS: &str = "options.bff.headers must be a record of header names and string values, such as { 'X-CSRF': '1' }";
        if !headers.is_object() {
            return Err(bad(HEADERS));
        }
        let mut out = Vec::new();
        for key in js::keys(headers)?.iter() {
            let value = js::get(headers, &key);
            match (key.as_string(), value.as_string()) {
                (Some(k), Some(v)) => out.push((k, v)),
                _ => return Err(bad(HEADERS)),
            }
        }
        Ok(out)
    }

    /// `options.bff` checked: the preset's endpoints under `url` where not given, every URL made
    /// absolute against the page's base URL. `login_url`: the top-level `loginUrl` option, which
    /// names the BFF's login endpoint in a cookie session; `server`: made where there is no
    /// page (no cookie to send, so a preset's endpoints need no origin).
    pub(super) fn bff_config(
        value: &JsValue,
        login_url: Option<&str>,
        server: bool,
    ) -> Result<BffConfig, JsValue> {
        let f = match value.as_string() {
            Some(name) => BffFields {
                preset: Some(name),
                ..BffFields::default()
            },
            None if value.is_object() => {
                unknown_option(value, BFF_KEYS, "options.bff.")?;
                serde_wasm_bindgen::from_value(value.clone()).map_err(|e| {
                    let e = JsValue::from(e);
                    let said = e
                        .dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .unwrap_or_default();
                    let mut msg = String::from(BFF_SHAPE);
                    msg.push_str(": ");
                    msg.push_str(&said);
                    bad(&msg)
                })?
            }
            None => return Err(bad(BFF_SHAPE)),
        };
        let preset = f.preset.as_deref().map(preset_of).transpose()?;
        // The preset's anti-CSRF header, return parameter, and endpoints under its `url`: refresh,
        // user, login, logout (in the order of `URL_OPTIONS`).
        let (header, param, paths): (Option<Header>, &str, [Option<&str>; 4]) = match preset {
            Some(Preset::Duende) => (
                Some(("X-CSRF", "1")),
                "returnUrl",
                [
                    None,
                    Some("/bff/user"),
                    Some("/bff/login"),
                    Some("/bff/logout"),
                ],
            ),
            Some(Preset::Curity) => (
                Some(("token-handler-version", "1")),
                "returnTo",
                [
                    Some("/refresh"),
                    Some("/session"),
                    Some("/login/start"),
                    Some("/logout"),
                ],
            ),
            Some(Preset::OAuthAgent) => (
                None,
                "returnTo",
                [
                    Some("/refresh"),
                    Some("/claims"),
                    Some("/login/start"),
                    Some("/logout"),
                ],
            ),
            None => (None, "returnTo", [None; 4]),
        };
        let base = match &f.url {
            Some(u) => Some(absolute(u, "options.bff.url")?),
            None if preset == Some(Preset::Curity) => {
                return Err(bad("options.bff.url is required with 'curity': the token handler application's URL, such as 'https://api.example.com/oauthagent/example'"))
            }
            None if preset == Some(Preset::OAuthAgent) => {
                return Err(bad("options.bff.url is required with 'oauth-agent': the OAuth Agent's URL, such as 'https://api.example.com/oauth-agent'"))
            }
            None => page_origin(),
        };
        let csrf_header = match (preset, f.csrf_header) {
            (Some(Preset::OAuthAgent), h) => {
                Some(h.unwrap_or_else(|| String::from("x-example-csrf")))
            }
            (_, None) => None,
            (_, Some(_)) => return Err(bad(
                "options.bff.csrfHeader is the OAuth Agent's: it goes with preset 'oauth-agent'",
            )),
        };
        let base = base.map(|b| String::from(b.trim_end_matches('/')));
        // Each endpoint: as given (`null`: none), else the preset's under `url`.
        let given: [Option<Option<&str>>; 4] = [
            f.refresh_url.as_ref().map(Option::as_deref),
            f.user_url.as_deref().map(Some),
            login_url.map(Some),
            f.logout_url.as_deref().map(Some),
        ];
        let mut urls: [Option<String>; 4] = Default::default();
        for (i, url) in urls.iter_mut().enumerate() {
            *url = match (given[i], paths[i], &base) {
                (Some(Some(u)), _, _) => Some(absolute(u, URL_OPTIONS[i])?),
                (Some(None), _, _) | (None, None, _) => None,
                (None, Some(path), Some(b)) => Some(js::concat(&[b, path])),
                // On a server there is no cookie to send: no endpoint.
                (None, Some(_), None) if server => None,
                (None, Some(_), None) => {
                    return Err(bad(
                        "options.bff.url is required where there is no page origin",
                    ))
                }
            };
        }
        let [refresh_url, user_url, login_url, logout_url] = urls;
        let headers = match (&f.headers, header) {
            (Some(Preserved(h)), _) => header_pairs(h)?,
            (None, Some((name, value))) => vec![(String::from(name), String::from(value))],
            (None, None) => Vec::new(),
        };
        Ok(BffConfig {
            preset,
            headers,
            refresh_url,
            user_url,
            login_url,
            logout_url,
            return_param: f.return_param.unwrap_or_else(|| String::from(param)),
            csrf_header,
            csrf: core::cell::RefCell::new(None),
        })
    }

    /// A header's name and value.
    type Header = (&'static str, &'static str);

    /// The options that name a BFF's endpoints, in the order `bff_config` keeps them.
    const URL_OPTIONS: [&str; 4] = [
        "options.bff.refreshUrl",
        "options.bff.userUrl",
        "options.loginUrl",
        "options.bff.logoutUrl",
    ];

    /// `url` resolved against the page's base URL (as fetch would), or a `TypeError` naming the
    /// option when it is no http(s) URL.
    fn absolute(url: &str, option: &str) -> Result<String, JsValue> {
        let parsed = match js::base_url() {
            Some(b) => web_sys::Url::new_with_base(url, &b),
            None => web_sys::Url::new(url),
        };
        match parsed {
            Ok(u) if u.protocol() == "https:" || u.protocol() == "http:" => Ok(u.href()),
            _ => Err(bad(&js::concat(&[
                option,
                " must be an http(s) URL (absolute where there is no page)",
            ]))),
        }
    }
}

/// A token set from the app or from its `refresh` hook.
pub struct TokenSet {
    /// The access token.
    pub access: String,
    /// A new refresh token (`None`: keep the current one).
    pub refresh: Option<String>,
    /// When the access token expires.
    pub expiry: Expiry,
    /// Whether the access token is DPoP-bound (`token_type: "DPoP"`): it goes out as
    /// `Authorization: DPoP …` with a proof.
    pub dpop: bool,
    /// With DPoP: the thumbprint of the key the tokens are bound to, when known.
    pub jkt: Option<String>,
}

/// `{ accessToken, refreshToken?, expiresIn? }`, each field of the right type.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields {
    #[serde(default, deserialize_with = "access")]
    access_token: Option<String>,
    #[serde(default, deserialize_with = "refresh")]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "seconds")]
    expires_in: Option<f64>,
}

const SHAPE: &str = "expected an access token string or { accessToken, refreshToken?, expiresIn? }";
const ACCESS: &str = "accessToken must be a non-empty string";

fn access<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d).map_err(|_| de::Error::custom(ACCESS))
}

fn refresh<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d).map_err(|_| de::Error::custom("refreshToken must be a string"))
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d) {
        Ok(None) => Ok(None),
        Ok(Some(s)) if s.is_finite() && s >= 0.0 => Ok(Some(s)),
        _ => Err(de::Error::custom(
            "expiresIn must be a number of seconds, 0 or more",
        )),
    }
}

impl TokenSet {
    /// A string (the access token) or `{ accessToken, refreshToken?, expiresIn? }`; `Err`
    /// says what is wrong. Without `expiresIn`, a JWT's `exp` claim gives the expiry.
    pub fn from_js(value: &JsValue) -> Result<TokenSet, String> {
        if let Some(access) = value.as_string() {
            if access.is_empty() {
                return Err(String::from("the access token must be a non-empty string"));
            }
            return Ok(TokenSet::new(access, None, None));
        }
        if !value.is_object() {
            return Err(String::from(SHAPE));
        }
        let f: Fields = serde_wasm_bindgen::from_value(value.clone()).map_err(|e| {
            let e = JsValue::from(e);
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_else(|| String::from(SHAPE))
        })?;
        match f.access_token {
            Some(a) if !a.is_empty() => Ok(TokenSet::new(
                a,
                f.refresh_token,
                f.expires_in.map(|s| Expiry::In((s * 1000.0) as u64)),
            )),
            _ => Err(String::from(ACCESS)),
        }
    }

    /// A token set; without a known expiry, the access token's JWT claims (if any) give it.
    pub fn new(access: String, refresh: Option<String>, expiry: Option<Expiry>) -> TokenSet {
        let expiry = expiry.unwrap_or_else(|| crate::jwt::expiry_of(&access));
        TokenSet {
            access,
            refresh,
            expiry,
            dpop: false,
            jkt: None,
        }
    }

    /// A cookie session's marker (`options.bff`): no token, only which session this is, so
    /// that a 401 for a session that has been refreshed since is retried without a refresh.
    /// It never leaves the module: no request carries it and `accessToken` is null.
    pub fn session() -> TokenSet {
        // Unique enough to tell sessions apart across tabs; no secret.
        let n = js_sys::Math::random().to_bits() ^ js::now();
        let mut access = String::from("session ");
        for shift in (0..64).step_by(4) {
            access.push(char::from(
                b"0123456789abcdef"[((n >> shift) & 15) as usize],
            ));
        }
        TokenSet::new(access, None, Some(Expiry::Never))
    }

    /// The same tokens, DPoP-bound (to the key with thumbprint `jkt`, when known) or not.
    pub fn bound(mut self, dpop: bool, jkt: Option<String>) -> TokenSet {
        self.dpop = dpop;
        self.jkt = jkt.filter(|_| dpop);
        self
    }
}
