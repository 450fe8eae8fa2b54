//! `createAuthFetch` options: read once, checked, and turned into Rust values. Anything wrong
//! is a `TypeError` that names the option.

use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Array, Function, Reflect, TypeError};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::glue;

/// Where tokens are kept between page loads.
pub(crate) struct Storage {
    pub area: JsValue,
    pub key: String,
}

pub(crate) struct Options {
    pub refresh: Function,
    pub on_auth_failure: Option<Function>,
    pub login_url: Option<String>,
    /// Normalised origins (`scheme://host[:port]`) the token may be sent to.
    pub origins: Vec<String>,
    pub storage: Option<Storage>,
    /// The app's fetch, if it gave one.
    pub fetch: Option<Function>,
    /// `None`: no timeout.
    pub refresh_timeout_ms: Option<f64>,
    pub should_refresh: Option<Function>,
    pub on_event: Option<Function>,
    /// Refresh before sending once the token expires within this many ms.
    pub refresh_skew_ms: u64,
    /// Coordinate refreshes with other tabs through shared storage and a lock.
    pub cross_tab: bool,
    /// How long to wait for another tab's lock before taking it.
    pub lock_timeout_ms: f64,
}

const DEFAULT_TIMEOUT_MS: f64 = 10_000.0;
const DEFAULT_SKEW_MS: f64 = 30_000.0;
const DEFAULT_LOCK_TIMEOUT_MS: f64 = 5_000.0;

/// A duration option: undefined gives `default`, else a finite number of ms, 0 or more.
fn millis(obj: &JsValue, key: &str, default: f64) -> Result<f64, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() {
        return Ok(default);
    }
    match v.as_f64() {
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(ms),
        _ => Err(type_error(
            key,
            "must be a number of milliseconds, 0 or more",
        )),
    }
}

fn type_error(option: &str, what: &str) -> JsValue {
    let mut msg = String::from("createAuthFetch: options.");
    msg.push_str(option);
    msg.push(' ');
    msg.push_str(what);
    TypeError::new(&msg).into()
}

fn get(obj: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(obj, &JsValue::from_str(key))
}

/// An optional function option: `undefined` or a function.
fn function(obj: &JsValue, key: &str) -> Result<Option<Function>, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.dyn_into::<Function>()
        .map(Some)
        .map_err(|_| type_error(key, "must be a function"))
}

fn string(obj: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    let v = get(obj, key)?;
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string()
        .map(Some)
        .ok_or_else(|| type_error(key, "must be a string"))
}

impl Options {
    pub fn from_js(opts: &JsValue) -> Result<Options, JsValue> {
        if !opts.is_object() {
            return Err(TypeError::new("createAuthFetch: options must be an object").into());
        }
        let refresh = function(opts, "refresh")?.ok_or_else(|| {
            type_error("refresh", "is required: a function that returns new tokens")
        })?;
        let on_auth_failure = function(opts, "onAuthFailure")?;
        let should_refresh = function(opts, "shouldRefresh")?;
        let on_event = function(opts, "onEvent")?;
        let fetch = function(opts, "fetch")?;
        let login_url = string(opts, "loginUrl")?;

        let origins_js = get(opts, "origins")?;
        let mut origins = Vec::new();
        if origins_js.is_undefined() || origins_js.is_null() {
            let own = glue::page_origin().ok_or_else(|| {
                type_error(
                    "origins",
                    "is required where there is no page origin (Node): list the API origins",
                )
            })?;
            origins.push(own);
        } else {
            if !Array::is_array(&origins_js) {
                return Err(type_error("origins", "must be an array of origin strings"));
            }
            for o in Array::from(&origins_js).iter() {
                let s = o
                    .as_string()
                    .ok_or_else(|| type_error("origins", "must contain only strings"))?;
                let origin = glue::origin_of(&s, None)
                    .filter(|o| o != "null")
                    .ok_or_else(|| type_error("origins", "must contain absolute http(s) origins such as 'https://api.example.com'"))?;
                origins.push(origin);
            }
        }

        let storage = match string(opts, "storage")?.as_deref() {
            None | Some("memory") => None,
            Some(kind @ ("session" | "local")) => {
                let area = glue::storage_area(kind).ok_or_else(|| {
                    type_error(
                        "storage",
                        "names a Web Storage area this environment does not have (use 'memory')",
                    )
                })?;
                let key = string(opts, "storageKey")?.unwrap_or_else(|| String::from("reauth"));
                Some(Storage { area, key })
            }
            Some(_) => {
                return Err(type_error(
                    "storage",
                    "must be 'memory', 'session' or 'local'",
                ))
            }
        };
        if storage.is_none() && !get(opts, "storageKey")?.is_undefined() {
            string(opts, "storageKey")?;
        }

        let timeout = get(opts, "refreshTimeoutMs")?;
        let refresh_timeout_ms = if timeout.is_undefined() {
            Some(DEFAULT_TIMEOUT_MS)
        } else {
            match timeout.as_f64() {
                Some(ms) if ms == f64::INFINITY => None,
                Some(ms) if ms.is_finite() && ms >= 0.0 => Some(ms),
                _ => {
                    return Err(type_error(
                        "refreshTimeoutMs",
                        "must be a number of milliseconds, 0 or more (or Infinity)",
                    ))
                }
            }
        };

        let refresh_skew_ms = millis(opts, "refreshSkewMs", DEFAULT_SKEW_MS)? as u64;
        let lock_timeout_ms = millis(opts, "lockTimeoutMs", DEFAULT_LOCK_TIMEOUT_MS)?;
        let shared = storage.is_some() && string(opts, "storage")?.as_deref() == Some("local");
        let cross_tab_js = get(opts, "crossTab")?;
        let cross_tab = if cross_tab_js.is_undefined() {
            shared
        } else {
            match cross_tab_js.as_bool() {
                Some(true) if !shared => {
                    return Err(type_error(
                        "crossTab",
                        "needs storage: 'local' (tabs share tokens through it)",
                    ))
                }
                Some(b) => b,
                None => return Err(type_error("crossTab", "must be a boolean")),
            }
        };

        Ok(Options {
            refresh,
            on_auth_failure,
            login_url,
            origins,
            storage,
            fetch,
            refresh_timeout_ms,
            should_refresh,
            on_event,
            refresh_skew_ms,
            cross_tab,
            lock_timeout_ms,
        })
    }
}
