//! Promises from Rust futures, all through one `future_to_promise` instance: each call of it with a future type of
//! its own instantiates wasm-bindgen-futures' wrapper (the promise's settling around the future's poll) again, so
//! [`promise_of`] boxes the future first and [`boxed_promise`] is the only instance.

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
