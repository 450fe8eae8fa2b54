//! Waiting, on the 401 path: for a refresh, for a retried request's response, for an abort.
//!
//! A thousand requests refused at once all wait for one refresh and then each for its retry,
//! so these waits are the hot part of the 401 path. Two things keep them cheap:
//!
//! - A request waiting for a refresh waits in Rust: the flight keeps the wakers of its waiters
//!   and wakes them when it ends ([`Waiters`]); no JS promise per waiter.
//! - A JS promise is awaited through `.then` on two long-lived closures, bound per await to a
//!   slot where the result lands ([`settled`]); wasm-bindgen-futures' `JsFuture` makes two
//!   closures per await, which on this path cost more than the rest of the request. Everything
//!   else awaits with `JsFuture`, and the tasks run on wasm-bindgen-futures' executor.

use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use super::js;

/// One waiter of a refresh: how it ended, once it has, and who to wake.
#[derive(Default)]
pub struct Waiter {
    outcome: Cell<Option<bool>>,
    waker: RefCell<Option<Waker>>,
}

/// The waiters of one refresh. Dropped without [`Waiters::release`] (the refresh was replaced,
/// or its `authFetch` went away), they are released as failed: no waiter is left pending.
#[derive(Default)]
pub struct Waiters(Vec<Rc<Waiter>>);

impl Waiters {
    /// A future that resolves with how the refresh ended (true: it gave tokens).
    pub fn wait(&mut self) -> RefreshWait {
        let w = Rc::new(Waiter::default());
        self.0.push(w.clone());
        RefreshWait::Running(w)
    }

    /// The refresh ended: wakes every waiter with `ok`.
    pub fn release(mut self, ok: bool) {
        self.wake(ok);
    }

    fn wake(&mut self, ok: bool) {
        for w in core::mem::take(&mut self.0) {
            w.outcome.set(Some(ok));
            let waker = w.waker.borrow_mut().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl Drop for Waiters {
    fn drop(&mut self) {
        self.wake(false);
    }
}

/// Waits for a refresh (see [`Waiters::wait`]), or knows already how it ended.
pub enum RefreshWait {
    /// The refresh runs: wait for it.
    Running(Rc<Waiter>),
    /// It had ended, with tokens or not.
    Ended(bool),
}

impl RefreshWait {
    /// A wait for a refresh that is no longer running and ended with tokens (`ok`) or not.
    pub fn ended(ok: bool) -> RefreshWait {
        RefreshWait::Ended(ok)
    }
}

impl Future for RefreshWait {
    type Output = bool;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let w = match &*self {
            RefreshWait::Ended(ok) => return Poll::Ready(*ok),
            RefreshWait::Running(w) => w,
        };
        match w.outcome.get() {
            Some(ok) => Poll::Ready(ok),
            None => {
                *w.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A JS promise's result, awaited without a closure of its own.
struct Slot {
    result: Option<Result<JsValue, JsValue>>,
    waker: Option<Waker>,
}

/// The slots of the promises being awaited. A slot is freed as soon as its future is done or
/// dropped; its generation then moves on, so that a promise that settles later (say, the abort
/// promise of a wait that ended with its refresh) finds its key stale and delivers nothing.
struct Slots {
    slots: Vec<(u32, Option<Slot>)>,
    free: Vec<usize>,
}

impl Slots {
    fn take(&mut self) -> f64 {
        let slot = Slot {
            result: None,
            waker: None,
        };
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push((0, None));
                self.slots.len() - 1
            }
        };
        let Some((generation, entry)) = self.slots.get_mut(index) else {
            return -1.0;
        };
        *entry = Some(slot);
        key(index, *generation)
    }

    /// The live slot `key` names (none for a stale key).
    fn get(&mut self, key: f64) -> Option<&mut Slot> {
        let (index, generation) = unkey(key);
        match self.slots.get_mut(index) {
            Some((g, Some(slot))) if *g == generation => Some(slot),
            _ => None,
        }
    }

    fn free(&mut self, key: f64) {
        let (index, generation) = unkey(key);
        if let Some((g, entry)) = self.slots.get_mut(index) {
            if *g == generation && entry.is_some() {
                *entry = None;
                *g = g.wrapping_add(1) & GENERATIONS;
                self.free.push(index);
            }
        }
    }
}

/// Generations wrap within 20 bits: a key is `generation * 2^32 + index`, exact in an f64.
const GENERATIONS: u32 = (1 << 20) - 1;

fn key(index: usize, generation: u32) -> f64 {
    (generation as f64) * 4_294_967_296.0 + index as f64
}

fn unkey(key: f64) -> (usize, u32) {
    let bits = key as u64;
    ((bits & 0xffff_ffff) as usize, (bits >> 32) as u32)
}

thread_local! {
    static SLOTS: RefCell<Slots> = const { RefCell::new(Slots { slots: Vec::new(), free: Vec::new() }) };
    /// `(key, value) => …` for a fulfilled and for a rejected promise: made once, kept for the
    /// life of the module.
    static SETTLE: (Function, Function) = (handler(true), handler(false));
}

fn handler(ok: bool) -> Function {
    let f = Closure::<dyn Fn(f64, JsValue)>::new(move |key: f64, value: JsValue| {
        deliver(key, if ok { Ok(value) } else { Err(value) })
    });
    f.into_js_value().unchecked_into()
}

fn deliver(key: f64, result: Result<JsValue, JsValue>) {
    let waker = SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        let slot = s.get(key)?;
        slot.result = Some(result);
        slot.waker.take()
    });
    if let Some(w) = waker {
        w.wake();
    }
}

/// The result of `promise`, as a future.
pub fn settled(promise: &Promise) -> Settled {
    let key = SLOTS.with(|s| s.borrow_mut().take());
    SETTLE.with(|(ok, err)| {
        let ok = js::bind1(ok, key);
        let err = js::bind1(err, key);
        let _ = promise.unchecked_ref::<js::Thenable>().then2(&ok, &err);
    });
    Settled { key }
}

/// See [`settled`]. Dropped before the promise settled, it frees its slot at once.
pub struct Settled {
    key: f64,
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let key = self.key;
        let out = SLOTS.with(|s| {
            let mut s = s.borrow_mut();
            let Some(slot) = s.get(key) else {
                return Some(Err(JsValue::UNDEFINED));
            };
            match slot.result.take() {
                Some(r) => {
                    s.free(key);
                    Some(r)
                }
                None => {
                    slot.waker = Some(cx.waker().clone());
                    None
                }
            }
        });
        match out {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        SLOTS.with(|s| s.borrow_mut().free(self.key));
    }
}

/// Waits for a refresh, or fails with the signal's reason as soon as it aborts.
pub async fn abortable(wait: RefreshWait, signal: Option<&AbortSignal>) -> Result<bool, JsValue> {
    let Some(signal) = signal else {
        return Ok(wait.await);
    };
    if signal.aborted() {
        return Err(signal.reason());
    }
    // The abort listener is the rejecting function of a promise: no Rust closure.
    let mut reject_fn = None;
    let aborted = Promise::new(&mut |_, reject| {
        let _ = signal.add_event_listener_with_callback("abort", &reject);
        reject_fn = Some(reject);
    });
    let result = First(wait, settled(&aborted)).await;
    if let Some(f) = &reject_fn {
        let _ = signal.remove_event_listener_with_callback("abort", f);
    }
    match result {
        Ok(ok) => Ok(ok),
        Err(_) => Err(signal.reason()),
    }
}

/// Whichever comes first: the refresh, or the abort.
struct First(RefreshWait, Settled);

impl Future for First {
    type Output = Result<bool, ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(ok) = Pin::new(&mut self.0).poll(cx) {
            return Poll::Ready(Ok(ok));
        }
        match Pin::new(&mut self.1).poll(cx) {
            Poll::Ready(_) => Poll::Ready(Err(())),
            Poll::Pending => Poll::Pending,
        }
    }
}
