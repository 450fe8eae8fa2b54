//! The JS surface under wasm-bindgen-test in Node.
#![cfg(target_arch = "wasm32")]

#[path = "wasm/cases.rs"]
mod cases;
