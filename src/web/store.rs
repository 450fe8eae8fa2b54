//! Token persistence and the tabs that share it.
//!
//! - The token record (`{ accessToken, refreshToken?, expiresAt?, dpop? }`, JSON) lives in
//!   `sessionStorage` or `localStorage` under the app's key, read and written through
//!   gloo-storage. `expiresAt` is absolute (ms since the epoch), so it holds across reloads
//!   and tabs.
//! - Cross-tab: one refresh at a time across tabs, under a Web Lock (`navigator.locks`), or,
//!   where there are no Web Locks, a lock record in localStorage (best-effort).
//! - A lock is never taken from a tab whose refresh still runs. Its holder keeps a record in
//!   localStorage, `"<until> <id>"`: until the refresh's own deadline (its start plus
//!   `refreshTimeoutMs`), and for `lockTimeoutMs` after each heartbeat, which it sends while the
//!   refresh runs and while a token request it started is still out. A tab that has waited
//!   `lockTimeoutMs` for the lock takes it over only from a silent holder: a frozen or hung tab
//!   whose record has gone stale (or that never wrote one). A closed tab's lock is released by
//!   the browser at once.

use alloc::rc::Rc;
use core::cell::Cell;
use gloo_storage::{LocalStorage, SessionStorage, Storage};
use js_sys::{Function, Promise};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
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

/// The token record as stored.
#[derive(Serialize)]
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
    /// The thumbprint of the key the tokens are bound to: a tab whose key differs learns of a
    /// new one (another tab logged in again), or that its own is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jkt: Option<String>,
}

/// Read from the JSON object only, by name, other names skipped: what serde's derive would
/// read, without its readers for the array form and for field indexes, which no stored record
/// uses (twiggy: the derived reader was the largest of serde_json's instantiations).
impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Record;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a token record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Record, A::Error> {
                let mut r = Record {
                    access_token: String::new(),
                    refresh_token: None,
                    expires_at: None,
                    dpop: false,
                    jkt: None,
                };
                let mut access = None;
                while let Some(key) = m.next_key::<String>()? {
                    match key.as_str() {
                        "accessToken" => access = Some(m.next_value::<String>()?),
                        "refreshToken" => r.refresh_token = m.next_value()?,
                        "expiresAt" => r.expires_at = m.next_value()?,
                        "dpop" => r.dpop = m.next_value()?,
                        "jkt" => r.jkt = m.next_value()?,
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                r.access_token = access.ok_or_else(|| de::Error::missing_field("accessToken"))?;
                Ok(r)
            }
        }
        d.deserialize_map(V)
    }
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
        .bound(self.dpop, self.jkt)
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
        jkt: Option<&str>,
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
            jkt: jkt.map(String::from),
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
    /// `silence_ms`: how long a holder may go without a heartbeat (`lockTimeoutMs`);
    /// `deadline`: this tab's refresh deadline (ms since the epoch; 0: none).
    pub async fn lock(&self, silence_ms: f64, deadline: u64) -> LockGuard {
        let mut name = String::from("reauth:");
        name.push_str(&self.key);
        let mut key = name.clone();
        key.push_str(":lock");
        let silence = silence_ms as u64;
        let held = match web_locks() {
            Some(locks) => web_lock(&locks, &name, &key, silence).await,
            None => storage_lock(&key, silence, deadline).await,
        };
        let Some((held, id)) = held else {
            return LockGuard {
                held: Held::None,
                heart: None,
            };
        };
        let heart = Rc::new(Heart {
            key,
            id,
            silence,
            deadline,
            beats: Cell::new(0),
            released: Cell::new(false),
        });
        heart.write();
        js::spawn(heartbeat(heart.clone()));
        LockGuard {
            held,
            heart: Some(heart),
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

/// The holder's side of a lock record.
struct Heart {
    key: String,
    id: String,
    silence: u64,
    deadline: u64,
    /// Live [`Beat`]s: the record is kept fresh while there is one.
    beats: Cell<u32>,
    released: Cell<bool>,
}

impl Heart {
    fn write(&self) {
        let until = now().saturating_add(self.silence).max(self.deadline);
        write_lock(&self.key, &self.id, until);
    }
}

/// Keeps the lock record fresh while the lock is held and a [`Beat`] of it lives.
async fn heartbeat(heart: Rc<Heart>) {
    let every = (heart.silence / 3).clamp(50, 1000) as f64;
    loop {
        let _ = JsFuture::from(sleep(every)).await;
        if heart.released.get() || heart.beats.get() == 0 {
            return;
        }
        heart.write();
    }
}

/// A heartbeat of a held lock: while one lives (the flight runs; a token request is out), other
/// tabs keep waiting. Cloned for each, dropped when it ends.
pub struct Beat(Rc<Heart>);

impl Beat {
    fn new(heart: &Rc<Heart>) -> Beat {
        heart.beats.set(heart.beats.get() + 1);
        Beat(heart.clone())
    }
}

impl Clone for Beat {
    fn clone(&self) -> Beat {
        Beat::new(&self.0)
    }
}

impl Drop for Beat {
    fn drop(&mut self) {
        self.0.beats.set(self.0.beats.get().saturating_sub(1));
    }
}

/// How a lock is held.
enum Held {
    /// A Web Lock: resolving `release` ends the callback's promise, and so the lock. The
    /// callback stays alive until then.
    Web {
        release: Function,
        _callback: Closure<dyn FnMut(JsValue) -> Promise>,
    },
    /// The lock record in localStorage is the lock.
    Storage,
    /// No lock could be had: the refresh runs unlocked.
    None,
}

/// A held cross-tab lock; dropping it releases the lock (and removes its record).
pub struct LockGuard {
    held: Held,
    heart: Option<Rc<Heart>>,
}

impl LockGuard {
    /// A heartbeat for the flight that holds the lock (none when no lock could be had).
    pub fn beat(&self) -> Option<Beat> {
        self.heart.as_ref().map(Beat::new)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(heart) = &self.heart {
            heart.released.set(true);
            if read_lock(&heart.key).is_some_and(|r| r.id == heart.id) {
                LocalStorage::delete(&heart.key);
            }
        }
        if let Held::Web { release, .. } = &self.held {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// Asks the lock manager for `name` with `options`; resolves once it is held, or fails when
/// the request is aborted (by the options' signal).
async fn request_lock(locks: &LockManager, name: &str, options: &JsValue) -> Result<Held, JsValue> {
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
    Ok(Held::Web {
        release,
        _callback: callback,
    })
}

/// Asks for the Web Lock `name`, waiting at most `ms`.
async fn request_lock_within(locks: &LockManager, name: &str, ms: f64) -> Option<Held> {
    let timeout = AbortController::new().ok()?;
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &js::name("signal"), &timeout.signal());
    let abort = js::get(&timeout, &js::name("abort"));
    let timer = match abort.dyn_ref::<Function>() {
        Some(abort) => js::set_timeout(&abort.bind0(&timeout), ms),
        None => JsValue::UNDEFINED,
    };
    let held = request_lock(locks, name, &options).await.ok();
    js::clear_timeout(&timer);
    held
}

/// A new id for this tab's lock record.
fn new_id() -> String {
    let mut id = now().to_string();
    id.push('-');
    id.push_str(&((js_sys::Math::random() * 1e9) as u64).to_string());
    id
}

/// The Web Lock `name`: waits for it, and takes it over only from a silent holder (see the
/// module docs); `None` when it could not be had at all.
async fn web_lock(
    locks: &LockManager,
    name: &str,
    key: &str,
    silence: u64,
) -> Option<(Held, String)> {
    let asked = now();
    let mut wait = silence as f64;
    // When the holder was last seen without a record (it writes one as soon as it holds the
    // lock; an older version, or one that hung at once, never does).
    let mut unheard = None;
    let held = loop {
        if let Some(held) = request_lock_within(locks, name, wait).await {
            break held;
        }
        let t = now();
        match read_lock(key) {
            // Alive: wait until its record would go stale.
            Some(r) if r.until > t => {
                unheard = None;
                wait = (r.until - t).max(50) as f64;
            }
            Some(_) => break steal(locks, name).await?,
            None => match unheard {
                Some(since) if t.saturating_sub(since) >= silence => {
                    break steal(locks, name).await?
                }
                Some(_) => wait = silence as f64,
                None => {
                    unheard = Some(t);
                    wait = silence as f64;
                }
            },
        }
    };
    // Another tab held the lock: it has just stored new tokens, which reach this tab's storage
    // with no ordering against the grant. Give them a moment to arrive.
    if now().saturating_sub(asked) > 2 {
        let _ = JsFuture::from(sleep(PROPAGATION_MS)).await;
    }
    Some((held, new_id()))
}

/// Takes the Web Lock `name` over from its holder.
async fn steal(locks: &LockManager, name: &str) -> Option<Held> {
    let steal = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&steal, &js::name("steal"), &JsValue::TRUE);
    request_lock(locks, name, &steal).await.ok()
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

/// The localStorage lock, for browsers without Web Locks: wait until no live record is there,
/// write one, wait, and check that it is still ours (best-effort; every current browser has
/// Web Locks).
async fn storage_lock(key: &str, silence: u64, deadline: u64) -> Option<(Held, String)> {
    let id = new_id();
    let mut held = false;
    for _ in 0..1000 {
        let t = now();
        if read_lock(key).is_none_or(|r| r.until < t) {
            let until = t.saturating_add(silence).max(deadline);
            if !write_lock(key, &id, until) {
                break;
            }
            let _ = JsFuture::from(sleep(PROPAGATION_MS + js_sys::Math::random() * 40.0)).await;
            if read_lock(key).is_some_and(|r| r.id == id) {
                held = true;
                break;
            }
        } else {
            let _ = JsFuture::from(sleep(40.0)).await;
        }
    }
    let _ = JsFuture::from(sleep(PROPAGATION_MS)).await;
    held.then_some((Held::Storage, id))
}
