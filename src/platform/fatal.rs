//! After a trap. In the shipped build a panic aborts: the wasm call it happened in ends with a `RuntimeError`,
//! skipping every destructor, so a `RefCell` may stay borrowed and a change stay half done. Nothing the SDK holds
//! can be trusted after that, so it stops cleanly instead of half-working:
//! - every promise it had handed out and not settled rejects with [`ChatError::Fatal`], and every later call
//!   rejects with it (their promises are made here, [`promise`], which knows them all);
//! - browser callbacks (socket frames, timers, answers) do nothing any more ([`poisoned`]);
//! - each client is told (what [`watch`] was given): its `client.fatal` handlers (and those for every event) get
//!   `{type: 'client.fatal', error}`, and its connection and timers are closed where its state can still be reached.
//!
//! How a trap is seen: the shipped build compiles a panic to a bare trap (`-Cpanic=immediate-abort`, no panic hook
//! runs), so the glue guards every call into the wasm (`trap_guard.js`, added by `scripts/guard-traps.mjs`) and
//! calls [`sdk_trapped`] on the first `RuntimeError`, a panic's or any other trap's. Debug builds (the browser tests,
//! whose glue is the test runner's) see a panic through a panic hook instead. Either only marks the SDK poisoned and
//! asks for the rest to run in a task of its own, after the trapped call has unwound.

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::errors::to_js_error;
use crate::client::ChatError;

/// Set by [`sdk_trapped`]: the SDK stopped.
static POISONED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Tells the clients of a trap, after every pending promise rejected, with the error every call now rejects
    /// with (the runtime's: it knows its clients).
    static TELL: Cell<Option<fn(&JsValue)>> = const { Cell::new(None) };
}

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// `[promise, resolve, reject]`, the promise known to [`reject_pending`] until it settles.
    #[wasm_bindgen(js_name = pendingPromise)]
    fn pending_promise() -> Array;

    /// Rejects every promise from [`pending_promise`] not settled yet.
    #[wasm_bindgen(js_name = rejectPending)]
    fn reject_pending(error: &JsValue);

    /// Runs `task` in a task of its own.
    fn afterwards(task: &JsValue);
}

/// Whether the SDK stopped after a trap.
pub fn poisoned() -> bool {
    POISONED.load(Ordering::Relaxed)
}

/// A promise and its `(resolve, reject)`; already rejected once the SDK stopped.
pub fn promise() -> (Promise, (Function, Function)) {
    let parts = pending_promise();
    let promise: Promise = parts.get(0).unchecked_into();
    let settle = (parts.get(1).unchecked_into(), parts.get(2).unchecked_into::<Function>());
    if poisoned() {
        let _ = settle.1.call1(&JsValue::NULL, &to_js_error(&ChatError::Fatal));
    }
    (promise, settle)
}

/// Has `tell` called after a trap; in debug builds, installs the panic hook the first time.
pub fn watch(tell: fn(&JsValue)) {
    TELL.with(|told| told.set(Some(tell)));
    #[cfg(debug_assertions)]
    {
        /// Whether the panic hook is installed.
        static HOOKED: AtomicBool = AtomicBool::new(false);
        if !HOOKED.swap(true, Ordering::Relaxed) {
            // The hook the tests had stays, so the test harness still reports the panic.
            let previous = std::panic::take_hook();
            std::panic::set_hook(alloc::boxed::Box::new(move |info| {
                sdk_trapped();
                previous(info);
            }));
        }
    }
}

/// A trap happened: called by the glue's guard (`trap_guard.js`) in the shipped build, by the panic hook in debug
/// builds. Marks the SDK poisoned, once, and has [`announce`] run in a task of its own. `scripts/guard-traps.mjs`
/// keeps its JS function to the glue (no longer a module export).
#[wasm_bindgen(js_name = sdkTrapped, skip_typescript)]
pub fn sdk_trapped() {
    if !POISONED.swap(true, Ordering::Relaxed) {
        afterwards(&Closure::once_into_js(announce));
    }
}

/// After the trapped call unwound: every pending promise rejects, every client is told and closed.
fn announce() {
    let error = to_js_error(&ChatError::Fatal);
    reject_pending(&error);
    if let Some(tell) = TELL.with(Cell::get) {
        tell(&error);
    }
}
