//! DPoP (RFC 9449): sender-constrained tokens.
//!
//! - One ES256 key pair per session, made by WebCrypto with a **non-extractable** private
//!   key. With `storage: 'memory'` it lives in memory; with `'session'` or `'local'` it is kept
//!   in IndexedDB (database `reauth`, store `keys`), so that a reload keeps the key its tokens
//!   are bound to. With `'local'` it is kept under the storage key, and tabs that share tokens
//!   share the key; two tabs that make a key at once agree on the first one stored (`add`
//!   fails for the second). With `'session'` it is kept under a name only this session knows
//!   (the storage key and a random id kept in sessionStorage), so a new session makes a new
//!   key; keys of sessions not seen for a week are deleted.
//! - A logout replaces the key: the tab that logs out deletes it, every tab forgets the one it
//!   had. The stored token record names the key its tokens are bound to (its thumbprint); a tab
//!   whose key differs reads the stored one again (another tab logged in with a new key), and
//!   if that differs too, the key is gone (evicted storage, a private mode): the tokens cannot
//!   be used, and the refresh fails with [`KEY_LOST`] rather than send proofs the resource
//!   refuses.
//! - A proof (§4.2) is a JWT signed with it: header `typ: "dpop+jwt"`, `alg: "ES256"`, the public
//!   `jwk`; claims `jti` (random), `htm`, `htu` (without query and fragment), `iat`, the
//!   server's `nonce` when one is known, and `ath` (the access token's SHA-256) on resource
//!   requests. Every request gets a fresh one, retries included.
//! - Nonces are remembered per origin from every `DPoP-Nonce` response header.
//!
//! JSON comes from serde_json, base64url from base64ct, SHA-256, randomness and ECDSA from the
//! platform's `crypto`.

use alloc::rc::Rc;
use base64ct::{Base64UrlUnpadded, Encoding};
use core::cell::RefCell;
use js_sys::{Array, Object, Promise, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CryptoKey, EcKeyGenParams, EcdsaParams, IdbDatabase, IdbFactory, IdbObjectStore, IdbRequest,
    IdbTransactionMode, Url,
};

use super::js;
use super::js::{coded_error, random, sha256, subtle, KEY_LOST};
use super::options::StorageKind;
use super::response::{nonce_of, www_authenticate};
use super::send::{status_of, url_of, with_authorization};
use super::wait::settled;
use super::Shell;
use crate::challenge::parse_challenges;
use crate::policy::{decide, Decision, Facts, Header};

/// The IndexedDB database and object store keys are kept in.
const DATABASE: &str = "reauth";
const STORE: &str = "keys";

/// A session's key not seen for this long is deleted (ms).
const SESSION_KEY_LIFE: f64 = 7.0 * 24.0 * 3600.0 * 1000.0;

/// The error when the key the tokens are bound to is gone.
pub fn key_lost() -> JsValue {
    coded_error(
        KEY_LOST,
        Some("the DPoP key the tokens are bound to is gone from this browser"),
    )
}

fn no_crypto() -> JsValue {
    js::type_error("reauth: DPoP needs WebCrypto (crypto.subtle, a secure context)")
}

/// The public key as a JWK, members in the order RFC 7638 hashes them.
#[derive(Serialize)]
struct Jwk<'a> {
    crv: &'a str,
    kty: &'a str,
    x: &'a str,
    y: &'a str,
}

/// A proof's JOSE header.
#[derive(Serialize)]
struct ProofHeader<'a> {
    typ: &'a str,
    alg: &'a str,
    jwk: Jwk<'a>,
}

/// A proof's claims.
#[derive(Serialize)]
struct Claims<'a> {
    jti: &'a str,
    htm: &'a str,
    htu: &'a str,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<&'a str>,
}

/// The key, ready to sign with.
pub struct Key {
    private: CryptoKey,
    /// The proof header, encoded (the same for every proof).
    header: String,
    /// The JWK SHA-256 thumbprint (RFC 7638), base64url: `dpop_jkt`.
    pub jkt: String,
}

/// Where a key pair persists in IndexedDB.
struct Persist {
    /// Its name in the store.
    name: String,
    /// For a session's key: the prefix of the names of all sessions' keys (`<storage key>#`).
    sessions: Option<String>,
}

/// The DPoP state of one `authFetch`.
pub struct Dpop {
    /// Where the key persists (`None`: memory).
    persist: Option<Persist>,
    /// The key pair as it is being made or read: one promise, so that concurrent first uses
    /// agree on one key.
    pair: RefCell<Option<Promise>>,
    key: RefCell<Option<Rc<Key>>>,
    /// The last `DPoP-Nonce` of each origin.
    nonces: RefCell<Vec<(String, String)>>,
    /// `ath` of the current access token: the token and its hash.
    ath: RefCell<Option<(String, String)>>,
}

/// A request's `htu` (its URL without query and fragment, resolved as fetch resolves it) and
/// origin.
pub fn target(url: &str) -> Option<(String, String)> {
    let base = js::base_url();
    let u = match &base {
        Some(b) => Url::new_with_base(url, b),
        None => Url::new(url),
    }
    .ok()?;
    u.set_search("");
    u.set_hash("");
    Some((u.href(), u.origin()))
}

/// Waits for an IndexedDB request: its result, or its error.
async fn done(request: &IdbRequest) -> Result<JsValue, JsValue> {
    let p = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let settled = JsFuture::from(p).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match settled {
        Ok(_) => request.result(),
        Err(_) => Err(request
            .error()
            .ok()
            .flatten()
            .map_or(JsValue::UNDEFINED, JsValue::from)),
    }
}

/// Opens the key database (creating its store on first use).
async fn open() -> Result<IdbDatabase, JsValue> {
    let factory: IdbFactory = js::get(&js_sys::global(), &js::name("indexedDB")).dyn_into()?;
    let request = factory.open_with_u32(DATABASE, 1)?;
    let r = request.clone();
    let upgrade = Closure::<dyn FnMut()>::new(move || {
        if let Ok(db) = r.result() {
            let _ = db
                .unchecked_into::<IdbDatabase>()
                .create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = done(&request).await;
    request.set_onupgradeneeded(None);
    drop(upgrade);
    db?.dyn_into()
}

fn store(db: &IdbDatabase, mode: IdbTransactionMode) -> Result<IdbObjectStore, JsValue> {
    db.transaction_with_str_and_mode(STORE, mode)?
        .object_store(STORE)
}

/// A new key pair (the private key non-extractable).
fn generate() -> Result<Promise, JsValue> {
    let params = EcKeyGenParams::new("ECDSA", "P-256");
    let usages = Array::of2(&js::name("sign"), &js::name("verify"));
    subtle()
        .ok_or_else(no_crypto)?
        .generate_key_with_object(&params, false, &usages)
}

/// The key pair stored under `p.name`, or a new one stored there. A session's key is marked as
/// seen now, and other sessions' keys not seen for [`SESSION_KEY_LIFE`] are deleted.
async fn stored_pair(p: &Persist) -> Result<JsValue, JsValue> {
    let db = open().await?;
    let key = JsValue::from_str(&p.name);
    let read = |db: &IdbDatabase| -> Result<IdbRequest, JsValue> {
        store(db, IdbTransactionMode::Readonly)?.get(&key)
    };
    let found = done(&read(&db)?).await?;
    let pair = if found.is_object() {
        found
    } else {
        let made = JsFuture::from(generate()?).await?;
        let add = store(&db, IdbTransactionMode::Readwrite)?.add_with_key(&made, &key)?;
        match done(&add).await {
            Ok(_) => made,
            // Another tab stored one first: use that one.
            Err(_) => done(&read(&db)?).await?,
        }
    };
    if let Some(prefix) = &p.sessions {
        let _ = sweep(&db, &key, &pair, prefix).await;
    }
    db.close();
    Ok(pair)
}

/// Marks the session key `pair` (under `key`) as seen, and deletes the keys of sessions (names
/// starting with `prefix`) not seen for a week.
async fn sweep(
    db: &IdbDatabase,
    key: &JsValue,
    pair: &JsValue,
    prefix: &str,
) -> Result<(), JsValue> {
    let now = js_sys::Date::now();
    let _ = js_sys::Reflect::set(pair, &js::name("seen"), &JsValue::from_f64(now));
    let keys = store(db, IdbTransactionMode::Readwrite)?;
    keys.put_with_key(pair, key)?;
    let names = keys.get_all_keys()?;
    let pairs = keys.get_all()?;
    let names: Array = done(&names).await?.unchecked_into();
    let pairs: Array = done(&pairs).await?.unchecked_into();
    for (name, other) in names.iter().zip(pairs.iter()) {
        let stale = js::get(&other, &js::name("seen"))
            .as_f64()
            .is_none_or(|seen| seen < now - SESSION_KEY_LIFE);
        let theirs = name.as_string().is_some_and(|n| n.starts_with(prefix));
        if theirs && stale && name != *key {
            keys.delete(&name)?;
        }
    }
    Ok(())
}

/// Deletes the key pair stored under `name`.
async fn delete_pair(name: String) -> Result<(), JsValue> {
    let db = open().await?;
    let deleted = store(&db, IdbTransactionMode::Readwrite)?.delete(&JsValue::from_str(&name))?;
    let _ = done(&deleted).await;
    db.close();
    Ok(())
}

/// This session's id (kept in sessionStorage as `<storage key>:dpop`, made on first use).
fn session_id(key: &str) -> Option<String> {
    use gloo_storage::{SessionStorage, Storage};
    let mut item = String::from(key);
    item.push_str(":dpop");
    if let Ok(id) = SessionStorage::get::<String>(&item) {
        return Some(id);
    }
    let id = random(12).ok()?;
    SessionStorage::set(&item, &id).ok()?;
    Some(id)
}

impl Dpop {
    /// DPoP for an `authFetch` whose tokens are kept in `storage` under `key` (see the module
    /// docs for where its key pair is kept).
    pub fn new(storage: StorageKind, key: &str) -> Dpop {
        let persist = match storage {
            StorageKind::Memory => None,
            StorageKind::Local => Some(Persist {
                name: String::from(key),
                sessions: None,
            }),
            // Without sessionStorage (it was checked for with the options), a key in memory.
            StorageKind::Session => session_id(key).map(|id| {
                let mut prefix = String::from(key);
                prefix.push('#');
                let mut name = prefix.clone();
                name.push_str(&id);
                Persist {
                    name,
                    sessions: Some(prefix),
                }
            }),
        };
        Dpop {
            persist,
            pair: RefCell::new(None),
            key: RefCell::new(None),
            nonces: RefCell::new(Vec::new()),
            ath: RefCell::new(None),
        }
    }

    /// The promise of the key pair, made on first use.
    fn pair(&self) -> Promise {
        if let Some(p) = &*self.pair.borrow() {
            return p.clone();
        }
        let made = match &self.persist {
            Some(p) => {
                let p = Persist {
                    name: p.name.clone(),
                    sessions: p.sessions.clone(),
                };
                js::promise(async move {
                    // Where IndexedDB cannot be used (some private modes), the key lives in
                    // memory: the session still works, only a reload loses it.
                    match stored_pair(&p).await {
                        Ok(p) => Ok(p),
                        Err(_) => JsFuture::from(generate()?).await,
                    }
                })
                .unchecked_into()
            }
            None => generate().unwrap_or_else(|e| Promise::reject(&e)),
        };
        *self.pair.borrow_mut() = Some(made.clone());
        made
    }

    /// Forgets the key this `authFetch` had (a logout); `delete`: deletes the stored one too
    /// (this tab logged out). The next use makes (or reads) another.
    pub fn forget(&self, delete: bool) {
        *self.pair.borrow_mut() = None;
        *self.key.borrow_mut() = None;
        *self.ath.borrow_mut() = None;
        if let (true, Some(p)) = (delete, &self.persist) {
            let name = p.name.clone();
            js::spawn(async move {
                let _ = delete_pair(name).await;
            });
        }
    }

    /// The key, ready to sign with (made or read on first use).
    async fn key(&self) -> Result<Rc<Key>, JsValue> {
        if let Some(k) = &*self.key.borrow() {
            return Ok(k.clone());
        }
        let pair = JsFuture::from(self.pair()).await;
        if let Err(e) = &pair {
            // Try again next time (a transient IndexedDB or crypto failure).
            *self.pair.borrow_mut() = None;
            return Err(e.clone());
        }
        let pair = pair?;
        if let Some(k) = &*self.key.borrow() {
            return Ok(k.clone());
        }
        let private: CryptoKey = js::get(&pair, &js::name("privateKey")).dyn_into()?;
        let public: CryptoKey = js::get(&pair, &js::name("publicKey")).dyn_into()?;
        let subtle = subtle().ok_or_else(no_crypto)?;
        let jwk = JsFuture::from(subtle.export_key("jwk", &public)?).await?;
        let member = |name: &str| {
            js::get(&jwk, &js::name(name))
                .as_string()
                .unwrap_or_default()
        };
        let (x, y) = (member("x"), member("y"));
        let jwk = Jwk {
            crv: "P-256",
            kty: "EC",
            x: &x,
            y: &y,
        };
        let canonical = serde_json::to_vec(&jwk).map_err(|_| no_crypto())?;
        let jkt = Base64UrlUnpadded::encode_string(&sha256(&canonical).await?);
        let header = serde_json::to_vec(&ProofHeader {
            typ: "dpop+jwt",
            alg: "ES256",
            jwk,
        })
        .map_err(|_| no_crypto())?;
        let key = Rc::new(Key {
            private,
            header: Base64UrlUnpadded::encode_string(&header),
            jkt,
        });
        *self.key.borrow_mut() = Some(key.clone());
        Ok(key)
    }

    /// The key to sign for tokens bound to the key with thumbprint `bound` (when known): when
    /// it is not the one this `authFetch` has, the stored one is read again (another tab logged
    /// in with a new key); when that is another one too, the key is gone: [`key_lost`].
    pub async fn key_for(&self, bound: Option<&str>) -> Result<Rc<Key>, JsValue> {
        let key = self.key().await?;
        let Some(bound) = bound else {
            return Ok(key);
        };
        if key.jkt == bound {
            return Ok(key);
        }
        if self.persist.is_some() {
            self.forget(false);
            let again = self.key().await?;
            if again.jkt == bound {
                return Ok(again);
            }
        }
        Err(key_lost())
    }

    /// The last nonce `origin` gave, if any.
    pub fn nonce(&self, origin: &str) -> Option<String> {
        self.nonces
            .borrow()
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, n)| n.clone())
    }

    /// Remembers the nonce a response from `origin` carries, if it carries one; whether it did.
    pub fn remember(&self, origin: &str, response: &JsValue) -> bool {
        let Some(nonce) = nonce_of(response) else {
            return false;
        };
        let mut list = self.nonces.borrow_mut();
        match list.iter_mut().find(|(o, _)| o == origin) {
            Some(entry) => entry.1 = nonce,
            None => list.push((String::from(origin), nonce)),
        }
        true
    }

    /// `ath` for `access`: base64url of its SHA-256 (kept for the current token).
    async fn ath(&self, access: &str) -> Result<String, JsValue> {
        if let Some((token, hash)) = &*self.ath.borrow() {
            if token == access {
                return Ok(hash.clone());
            }
        }
        let hash = Base64UrlUnpadded::encode_string(&sha256(access.as_bytes()).await?);
        *self.ath.borrow_mut() = Some((String::from(access), hash.clone()));
        Ok(hash)
    }

    /// A fresh proof for `htm` `htu` (the nonce the origin gave last, if any); with `access`,
    /// bound to that access token (`ath`).
    pub async fn proof(
        &self,
        htm: &str,
        htu: &str,
        origin: &str,
        access: Option<&str>,
        bound: Option<&str>,
    ) -> Result<String, JsValue> {
        let key = self.key_for(bound).await?;
        let ath = match access {
            Some(a) => Some(self.ath(a).await?),
            None => None,
        };
        let nonce = self.nonce(origin);
        let claims = serde_json::to_vec(&Claims {
            jti: &random(16)?,
            htm,
            htu,
            iat: js::now() / 1000,
            nonce: nonce.as_deref(),
            ath: ath.as_deref(),
        })
        .map_err(|_| no_crypto())?;
        let mut jwt = key.header.clone();
        jwt.push('.');
        jwt.push_str(&Base64UrlUnpadded::encode_string(&claims));
        let algorithm: Object = EcdsaParams::new_with_str("ECDSA", "SHA-256").into();
        let signed = subtle()
            .ok_or_else(no_crypto)?
            .sign_with_object_and_u8_array(&algorithm, &key.private, jwt.as_bytes())?;
        let signature = Uint8Array::new(&JsFuture::from(signed).await?).to_vec();
        jwt.push('.');
        jwt.push_str(&Base64UrlUnpadded::encode_string(&signature));
        Ok(jwt)
    }
}

/// The method a fetch call sends, as fetch normalizes it (for a DPoP proof's `htm`).
fn method_of(input: &JsValue, init: &JsValue) -> String {
    let given = if init.is_null_or_undefined() {
        None
    } else {
        js::get(init, &js::name("method")).as_string()
    };
    let m = given
        .or_else(|| {
            input
                .dyn_ref::<web_sys::Request>()
                .map(web_sys::Request::method)
        })
        .unwrap_or_else(|| String::from("GET"));
    let normalized = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(&m));
    normalized.map_or(m, String::from)
}

/// Sends with a DPoP-bound token (`auth`: `DPoP <token>`) and a fresh proof of `d`; a 401
/// `use_dpop_nonce` that brings a new nonce is sent once more with it (no refresh). When the
/// key the token is bound to is gone, the tokens are forgotten and the
/// request goes out without them.
pub async fn send_bound(
    d: Rc<Dpop>,
    shell: Rc<Shell>,
    input: JsValue,
    init: JsValue,
    auth: JsValue,
) -> Result<JsValue, JsValue> {
    let Some(access) = auth.as_string() else {
        return settled(&shell.fetch(&input, &init)).await;
    };
    let access = access.strip_prefix("DPoP ").unwrap_or(&access);
    let url = url_of(&input).unwrap_or_default();
    let Some((htu, origin)) = target(&url) else {
        return settled(&shell.fetch(&input, &init)).await;
    };
    let htm = method_of(&input, &init);
    let (generation, bound) = {
        let s = shell.shared.session.borrow();
        (s.generation(), shell.shared.jkt.borrow().clone())
    };
    let mut retried = false;
    loop {
        let proof = match d
            .proof(&htm, &htu, &origin, Some(access), bound.as_deref())
            .await
        {
            Ok(p) => p,
            Err(e) if js::code_of(&e).as_deref() == Some(KEY_LOST) => {
                tokens_lost(&shell, generation, &e, &url);
                return settled(&shell.fetch(&input, &init)).await;
            }
            Err(e) => return Err(e),
        };
        let with = with_authorization(&init, &auth, Some(&JsValue::from_str(&proof)))?;
        let response = settled(&shell.fetch(&input, &with)).await?;
        let fresh = d.remember(&origin, &response);
        if fresh && !retried && status_of(&response) == 401.0 && nonce_retry(&response) {
            retried = true;
            shell.emit("retry", &url, Some("use_dpop_nonce"), None, None);
            continue;
        }
        return Ok(response);
    }
}

/// The DPoP key the tokens of `generation` are bound to is gone from this tab: the tokens
/// are forgotten here (not in storage: another tab may still have the key) and the app is
/// told once, as for a failed refresh (`reason: 'dpop_key_lost'`).
fn tokens_lost(shell: &Shell, generation: u64, error: &JsValue, url: &str) {
    let sh = &shell.shared;
    if sh.session.borrow().generation() != generation {
        return;
    }
    let cancelled = sh.session.borrow_mut().clear();
    sh.tokens_changed(false);
    if let Some(id) = cancelled {
        sh.cancel_flight(id, false);
    }
    shell.auth_failure(KEY_LOST, Some(error), url, &JsValue::UNDEFINED);
}

/// Whether a 401 to a request with a DPoP proof asks for the same request with the server's new
/// nonce ([`Decision::NonceRetry`]).
fn nonce_retry(response: &JsValue) -> bool {
    let header = www_authenticate(response);
    let Some(Ok(c)) = header.as_deref().map(parse_challenges) else {
        return false;
    };
    let nonce = nonce_of(response);
    let facts = Facts::default()
        .with_dpop(true)
        .with_dpop_nonce(nonce.as_deref());
    matches!(
        decide(401, Header::Parsed(&c), facts),
        Decision::NonceRetry { .. }
    )
}
