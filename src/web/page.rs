//! The page and worker events an `authFetch` listens to: `visibilitychange` and `online` (a
//! sleeping tab's timers cannot be trusted to have fired, so the expiry is checked again), and,
//! with `crossTab`, `storage` (another tab changed or removed the shared tokens).
//!
//! Each listener holds its `authFetch` weakly and is removed when the `authFetch` is dropped,
//! before its closure is: no event reaches a dropped closure.

use alloc::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Event, EventTarget, StorageEvent, VisibilityState};

use super::js;
use super::Shell;

/// An event listener that is removed when dropped.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn Fn(Event)>,
}

impl Listener {
    fn add(target: &EventTarget, kind: &'static str, callback: Closure<dyn Fn(Event)>) -> Self {
        let _ = target.add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
        Listener {
            target: target.clone(),
            kind,
            callback,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}

/// A listener that runs `f` on the `authFetch` while it is alive.
fn on(
    target: &EventTarget,
    kind: &'static str,
    shell: &Weak<Shell>,
    f: fn(&Rc<Shell>, &Event),
) -> Listener {
    let weak = shell.clone();
    Listener::add(
        target,
        kind,
        Closure::new(move |e: Event| {
            if let Some(s) = weak.upgrade() {
                f(&s, &e);
            }
        }),
    )
}

/// Starts listening for the events of `shell` (see the module docs).
pub fn listen(shell: &Rc<Shell>) -> Vec<Listener> {
    let weak = Rc::downgrade(shell);
    let mut out = Vec::new();
    // Node's global object is no EventTarget: nothing to listen to there.
    let global = js_sys::global();
    if let Some(target) = global.dyn_ref::<EventTarget>() {
        out.push(on(target, "online", &weak, |s, _| s.woke()));
        if shell.opts.cross_tab {
            out.push(on(target, "storage", &weak, |s, e| {
                if let Some(e) = e.dyn_ref::<StorageEvent>() {
                    s.storage_event(e)
                }
            }));
        }
    }
    let doc = js::global().document();
    if let Some(doc) = doc.dyn_ref::<Document>() {
        out.push(on(doc, "visibilitychange", &weak, |s, _| {
            let visible = js::global()
                .document()
                .dyn_ref::<Document>()
                .is_some_and(|d| d.visibility_state() == VisibilityState::Visible);
            if visible {
                s.woke()
            }
        }));
    }
    out
}

impl Shell {
    /// Another tab changed the shared tokens (or cleared localStorage): adopt new ones, or
    /// log out with it.
    fn storage_event(self: &Rc<Self>, e: &StorageEvent) {
        let Some(store) = &self.shared.store else {
            return;
        };
        let ours = match e.key() {
            // localStorage.clear()
            None => true,
            Some(k) => {
                k == store.key()
                    && web_sys::window()
                        .and_then(|w| w.local_storage().ok().flatten())
                        .is_some_and(|l| e.storage_area().is_some_and(|a| a == l))
            }
        };
        if !ours {
            return;
        }
        match store.load() {
            None => self.logout(false),
            Some(r) => {
                let adopt = self.shared.session.borrow().should_adopt(Some(r.access()));
                if adopt {
                    self.shared.install(r.into_tokens(), false);
                }
            }
        }
    }

    /// A page that was hidden or offline is back: its timers may not have fired.
    fn woke(self: &Rc<Self>) {
        let id = self
            .shared
            .session
            .borrow_mut()
            .check_expiry(js::now(), self.opts.skew_ms);
        if let Some(id) = id {
            let url = js::page_href().unwrap_or_default();
            self.start_flight(id, &url, &JsValue::UNDEFINED);
        }
    }
}
