//! Rust futures run by wasm-bindgen-futures, all through one instance each of `future_to_promise` and `spawn_local`:
//! each call of them with a future type of its own instantiates their machinery again (the promise's settling
//! around the future's poll; the task's spawning), so [`promise_of`] and [`spawn`] box the future first and
//! [`boxed_promise`] and [`boxed_spawn`] are the only instances.

use alloc::boxed::Box;
use core::future::Future;
use core::pin::Pin;

use js_sys::Promise;
use wasm_bindgen::JsValue;

/// What the SDK's promises settle with: a value, or the JS error they reject with.
type Settled = Result<JsValue, JsValue>;

/// A promise that settles as `future` does.
pub fn promise_of(future: impl Future<Output = Settled> + 'static) -> Promise {
    boxed_promise(Box::pin(future))
}

#[inline(never)]
fn boxed_promise(future: Pin<Box<dyn Future<Output = Settled>>>) -> Promise {
    wasm_bindgen_futures::future_to_promise(future)
}

/// Runs `future` to its end in a task of its own.
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    boxed_spawn(Box::pin(future));
}

#[inline(never)]
fn boxed_spawn(future: Pin<Box<dyn Future<Output = ()>>>) {
    wasm_bindgen_futures::spawn_local(future);
}
