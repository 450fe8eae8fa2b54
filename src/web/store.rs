//! Token persistence and the tabs that share it.
//!
//! - The token record (`{ accessToken, refreshToken?, expiresAt?, dpop? }`, JSON) lives in
//!   `sessionStorage` or `localStorage` under the app's key, read and written through
//!   gloo-storage. `expiresAt` is absolute (ms since the epoch), so it holds across reloads
//!   and tabs.
//! - Cross-tab: one refresh at a time across tabs, under a Web Lock (`navigator.locks`), taken
//!   over from a holder that keeps it longer than `lockTimeoutMs` (a frozen or hung tab; a
//!   closed tab's lock is released by the browser). Where there are no Web Locks, a lock record
//!   in localStorage with an expiry (best-effort).

use gloo_storage::{LocalStorage, SessionStorage, Storage};
use js_sys::{Function, Promise};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

use super::js::{self, deferred, now, sleep, LockManager};
use super::options::{StorageKind, TokenSet};
use crate::session::Expiry;

/// How long a tab that waited for the cross-tab lock lets storage updates arrive first:
/// browsers deliver another tab's localStorage writes with no ordering against the lock grant.
const PROPAGATION_MS: f64 = 60.0;

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

/// The token record as stored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    /// The access token is DPoP-bound (to the key kept in IndexedDB under the same name).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    dpop: bool,
}

impl Record {
    /// The stored access token.
    pub fn access(&self) -> &str {
        &self.access_token
    }

    /// The record as a token set (without `expiresAt`, a JWT's claims give the expiry).
    pub fn into_tokens(self) -> TokenSet {
        TokenSet::new(
            self.access_token,
            self.refresh_token,
            self.expires_at.map(Expiry::At),
        )
        .bound(self.dpop)
    }
}

/// Where one `authFetch` keeps its tokens.
pub struct Store {
    kind: StorageKind,
    key: String,
}

impl Store {
    /// The store for `kind` (`None` for memory).
    pub fn new(kind: StorageKind, key: &str) -> Option<Store> {
        (kind != StorageKind::Memory).then(|| Store {
            kind,
            key: String::from(key),
        })
    }

    /// The storage key (the cross-tab lock and storage events are named after it).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The stored tokens, if any (unreadable or foreign data counts as none).
    pub fn load(&self) -> Option<Record> {
        let r: Record = match self.kind {
            StorageKind::Local => LocalStorage::get(&self.key).ok()?,
            StorageKind::Session => SessionStorage::get(&self.key).ok()?,
            StorageKind::Memory => return None,
        };
        (!r.access_token.is_empty()).then_some(r)
    }

    /// Stores the tokens, or removes the record when there is no access token.
    pub fn save(
        &self,
        access: Option<&str>,
        refresh: Option<&str>,
        expires_at: Option<u64>,
        dpop: bool,
    ) {
        let Some(access) = access else {
            match self.kind {
                StorageKind::Local => LocalStorage::delete(&self.key),
                StorageKind::Session => SessionStorage::delete(&self.key),
                StorageKind::Memory => {}
            }
            return;
        };
        let record = Record {
            access_token: String::from(access),
            refresh_token: refresh.map(String::from),
            expires_at,
            dpop,
        };
        let written = match self.kind {
            StorageKind::Local => LocalStorage::set(&self.key, &record),
            StorageKind::Session => SessionStorage::set(&self.key, &record),
            StorageKind::Memory => Ok(()),
        };
        if let Err(e) = written {
            // A full or refusing storage: the tokens still work in this tab.
            let _ = e;
            js::report(&js_sys::Error::new("reauth: the tokens could not be stored").into());
        }
    }

    /// Takes the cross-tab refresh lock (see the module docs); released when the guard drops.
    pub async fn lock(&self, wait_ms: f64) -> LockGuard {
        let mut name = String::from("reauth:");
        name.push_str(&self.key);
        match web_locks() {
            Some(locks) => web_lock(&locks, &name, wait_ms).await,
            None => storage_lock(&name, wait_ms).await,
        }
    }
}

/// The page's `navigator.locks`, where there is one.
fn web_locks() -> Option<LockManager> {
    let navigator = js::global().navigator();
    if !navigator.is_object() {
        return None;
    }
    let locks = js::get(&navigator, &js::name("locks"));
    let request = js::get(&locks, &js::name("request"));
    request.is_function().then(|| locks.unchecked_into())
}

/// A held cross-tab lock; dropping it releases the lock.
pub enum LockGuard {
    /// A Web Lock: resolving `release` ends the callback's promise, and so the lock. The
    /// callback stays alive until then.
    Web {
        /// Resolves the promise the lock callback returned.
        release: Function,
        /// The callback the lock manager called.
        _callback: Closure<dyn FnMut(JsValue) -> Promise>,
    },
    /// A lock record in localStorage, owned by `id`.
    Storage {
        /// The record's key.
        key: String,
        /// This tab's id in the record.
        id: String,
    },
    /// No lock could be had: the refresh runs unlocked.
    None,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        match self {
            LockGuard::Web { release, .. } => {
                let _ = release.call0(&JsValue::UNDEFINED);
            }
            LockGuard::Storage { key, id } => {
                if read_lock(key).is_some_and(|r| r.id == *id) {
                    LocalStorage::delete(key);
                }
            }
            LockGuard::None => {}
        }
    }
}

/// Asks the lock manager for `name` (stealing it with `steal`); resolves once it is held, or
/// fails when the request is aborted (by `signal`, the bounded wait).
async fn request_lock(
    locks: &LockManager,
    name: &str,
    options: &JsValue,
) -> Result<LockGuard, JsValue> {
    let (granted, grant) = deferred();
    let (held, release) = deferred();
    let callback = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |_lock| {
        let _ = grant.call0(&JsValue::UNDEFINED);
        held.clone()
    });
    let request = locks.request(name, options, callback.as_ref());
    // `request` settles only after the lock is released; it rejects early when aborted.
    let both = js_sys::Array::of2(&granted, &request);
    JsFuture::from(Promise::race(&both)).await?;
    Ok(LockGuard::Web {
        release,
        _callback: callback,
    })
}

async fn web_lock(locks: &LockManager, name: &str, wait_ms: f64) -> LockGuard {
    let asked = now();
    let timeout = AbortController::new().ok();
    let options = js_sys::Object::new();
    let mut timer = JsValue::UNDEFINED;
    if let Some(t) = &timeout {
        let _ = js_sys::Reflect::set(&options, &js::name("signal"), &t.signal());
        let abort = js::get(t, &js::name("abort"));
        if let Some(abort) = abort.dyn_ref::<Function>() {
            timer = js::set_timeout(&abort.bind0(t), wait_ms);
        }
    }
    let guard = match request_lock(locks, name, &options).await {
        Ok(g) => g,
        Err(_) => {
            // The holder kept it past the bounded wait: take it over.
            let steal = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&steal, &js::name("steal"), &JsValue::TRUE);
            match request_lock(locks, name, &steal).await {
                Ok(g) => g,
                Err(_) => LockGuard::None,
            }
        }
    };
    js::clear_timeout(&timer);
    // Another tab held the lock: it has just stored new tokens, which reach this tab's storage
    // with no ordering against the grant. Give them a moment to arrive.
    if now().saturating_sub(asked) > 2 {
        let _ = JsFuture::from(sleep(PROPAGATION_MS)).await;
    }
    guard
}

/// The localStorage lock record: `"<until> <id>"` (until: ms since the epoch), a JSON string.
struct LockRecord {
    id: String,
    until: u64,
}

fn read_lock(key: &str) -> Option<LockRecord> {
    let s: String = LocalStorage::get(key).ok()?;
    let (until, id) = s.split_once(' ')?;
    Some(LockRecord {
        id: String::from(id),
        until: until.parse().ok()?,
    })
}

fn write_lock(key: &str, id: &str, until: u64) -> bool {
    let mut s = until.to_string();
    s.push(' ');
    s.push_str(id);
    LocalStorage::set(key, s).is_ok()
}

/// The localStorage lock, for browsers without Web Locks: write a record, wait, and check that
/// it is still ours (best-effort; every current browser has Web Locks).
async fn storage_lock(name: &str, wait_ms: f64) -> LockGuard {
    let mut key = String::from(name);
    key.push_str(":lock");
    let mut id = now().to_string();
    id.push('-');
    id.push_str(&((js_sys::Math::random() * 1e9) as u64).to_string());
    let deadline = now().saturating_add(wait_ms as u64);
    let mut held = false;
    for _ in 0..1000 {
        let t = now();
        let free = read_lock(&key).is_none_or(|r| r.until < t) || t > deadline;
        if free {
            if !write_lock(&key, &id, t.saturating_add(wait_ms as u64)) {
                break;
            }
            let _ = JsFuture::from(sleep(PROPAGATION_MS + js_sys::Math::random() * 40.0)).await;
            if read_lock(&key).is_some_and(|r| r.id == id) {
                held = true;
                break;
            }
        } else {
            let _ = JsFuture::from(sleep(40.0)).await;
        }
    }
    let _ = JsFuture::from(sleep(PROPAGATION_MS)).await;
    if held {
        LockGuard::Storage { key, id }
    } else {
        LockGuard::None
    }
}
