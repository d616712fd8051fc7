//! Event handlers registered with `on`, for the client and for each channel: by type, or for every event.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::Function;
use wasm_bindgen::JsValue;

/// A handler and what it listens to.
#[derive(Debug)]
struct Listener {
    /// Returned to `on`'s caller inside the unsubscribe function.
    id: u32,
    /// The event type, or `None` for every event.
    kind: Option<String>,
    /// The app's handler.
    handler: Function,
}

/// Handlers in registration order.
#[derive(Debug, Default)]
pub struct Listeners {
    /// Registered handlers.
    list: Vec<Listener>,
    /// The id the next handler gets.
    next: u32,
}

impl Listeners {
    /// Registers `handler` for `kind` (`None`: every event); returns its id.
    pub fn add(&mut self, kind: Option<String>, handler: Function) -> u32 {
        self.next += 1;
        self.list.push(Listener { id: self.next, kind, handler });
        self.next
    }

    /// Removes the handler with `id`.
    pub fn remove(&mut self, id: u32) {
        self.list.retain(|listener| listener.id != id);
    }

    /// Removes handlers of `kind` that are `handler`.
    pub fn remove_handler(&mut self, kind: Option<&str>, handler: &JsValue) {
        self.list.retain(|l| !(l.kind.as_deref() == kind && JsValue::from(&l.handler) == *handler));
    }

    /// The handlers an event of type `kind` goes to: those for every event first, then those for `kind`, each in
    /// registration order (the official client's order). Copied so they can run with no borrow held.
    pub fn matching(&self, kind: &str) -> Vec<Function> {
        let every = self.list.iter().filter(|l| l.kind.is_none());
        let typed = self.list.iter().filter(|l| l.kind.as_deref() == Some(kind));
        every.chain(typed).map(|l| l.handler.clone()).collect()
    }
}
