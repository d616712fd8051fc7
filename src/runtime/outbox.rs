//! Sends that survive going offline. `sendMessage` while the connection is away (or while earlier offline sends
//! still wait) keeps the message in `channel.state` with `status: 'sending'` and in the outbox, each message
//! under its own `localStorage` key (API key, user, time, id), so tabs of one user never overwrite each other's
//! and a page loaded later picks up all of them, oldest first. Once the connection is open the outbox sends its messages in order,
//! one at a time, each with its id: the server answers a repeated id with the message it stored, so a send whose
//! answer was lost, or that a reload interrupted, is never stored twice. The `sendMessage` promise settles then
//! (a page reloaded meanwhile sends what the last one left, without promises). A refused message leaves the
//! outbox and is marked `status: 'failed'` with `error` and `errorStatusCode`; `sendMessage` with it again
//! retries it. A channel queried or watched while messages wait gets them back as `sending` on top of the server's
//! answer.
//!
//! Bounded: [`OUTBOX_LIMIT`] messages and [`OUTBOX_BYTES`] of JSON per user; a send beyond either rejects (code
//! 4) and keeps nothing.

use alloc::string::String;

use js_sys::{Array, Date, Promise};
use wasm_bindgen::JsValue;

use super::client::{Client, Port};
use super::outbox_queue::{outbox_drop, outbox_put, Waiting, OUTBOX_BYTES, OUTBOX_LIMIT};
use crate::client::{ChatError, State as Connection};
use crate::platform::errors::to_js_error;
use crate::platform::fatal::promise;
use crate::platform::values::{copy, get, object, set};

/// How long the outbox waits before sending again after a send got no answer or a 429 / 5xx while connected.
const RETRY_MS: u32 = 2_000;

/// `/channels/{type}/{id}/message` for `cid`.
fn message_path(cid: &str) -> String {
    let (kind, id) = crate::client::text::split_once(cid, b':').unwrap_or((cid, ""));
    super::request::channel_path(kind, Some(id), "message")
}

/// A copy of `message` as `channel.state` shows it while it waits or after it failed.
fn local_copy(message: &JsValue, user: &JsValue, status: &str) -> JsValue {
    let local = copy(message);
    set(&local, "status", &status.into());
    if get(&local, "user").is_undefined() {
        set(&local, "user", user);
    }
    local
}

impl Client {
    /// Keeps `message` (sent to channel `key` with `body`) for later when the connection is away or earlier
    /// messages still wait; returns the `sendMessage` promise then, `None` to send it now.
    pub fn hold(&self, key: u32, message: &JsValue, body: &JsValue) -> Option<Promise> {
        let mut state = self.state_mut();
        let away = matches!(state.session.state(), Connection::Reconnecting);
        if !away && state.outbox.is_empty() || state.outbox.key.is_none() {
            return None;
        }
        let user = state.user.clone();
        let cid = state.slot(key)?.cid()?;
        if state.outbox.waiting.len() >= OUTBOX_LIMIT {
            return Some(Promise::reject(&to_js_error(&ChatError::InvalidArgument(
                "too many messages wait for the connection",
            ))));
        }
        let prefix = state.outbox.key.clone().unwrap_or_default();
        let Some(stored) = outbox_put(&prefix, &cid, body, OUTBOX_BYTES as u32) else {
            return Some(Promise::reject(&to_js_error(&ChatError::InvalidArgument(
                "the messages waiting for the connection are too large",
            ))));
        };
        let (promise, settle) = promise();
        state.outbox.waiting.push(Waiting {
            cid,
            body: body.clone(),
            key: stored,
            settle: Some(settle),
        });
        if let Some(slot) = state.slot(key) {
            slot.add_local(&local_copy(message, &user, "sending"), true);
        }
        drop(state);
        self.flush_outbox();
        Some(promise)
    }

    /// Shows the waiting messages of channel `key` as `sending` (after a query rebuilt its state).
    pub fn show_waiting(&self, key: u32) {
        let mut state = self.state_mut();
        let user = state.user.clone();
        let waiting: Array = {
            let Some(cid) = state.slot(key).and_then(|slot| slot.cid()) else { return };
            state
                .outbox
                .waiting
                .iter()
                .filter(|w| w.cid == cid)
                .map(|w| get(&w.body, "message"))
                .collect()
        };
        if let Some(slot) = state.slot(key) {
            for message in waiting.iter() {
                slot.add_local(&local_copy(&message, &user, "sending"), true);
            }
        }
    }

    /// Sends the waiting messages, in order, while the connection is open; one at a time.
    pub fn flush_outbox(&self) {
        {
            let mut state = self.state_mut();
            let open = matches!(state.session.state(), Connection::Open { .. });
            if !open || state.outbox.sending || state.outbox.is_empty() {
                return;
            }
            state.outbox.sending = true;
        }
        let port = self.port.clone();
        crate::platform::tasks::spawn(async move {
            while let Some(retry) = send_next(&port).await {
                if !retry {
                    continue;
                }
                // No answer (or a busy server) while connected: again a little later; a lost connection sends
                // again once it is back.
                let again = move || {
                    if let Some(client) = port.live() {
                        client.state_mut().outbox.sending = false;
                        client.flush_outbox();
                    }
                };
                crate::platform::timers::after(RETRY_MS, again).forget();
                return;
            }
        });
    }
}

/// Sends the oldest waiting message; `Some(false)` when it was settled (sent or refused), `Some(true)` when it
/// must wait (no answer, 429, 5xx), `None` when nothing is left to send now (then the outbox is idle again).
async fn send_next(port: &Port) -> Option<bool> {
    let client = port.live()?;
    let next = {
        let mut state = client.state_mut();
        let open = matches!(state.session.state(), Connection::Open { .. });
        match state.outbox.waiting.first() {
            Some(waiting) if open => Some((waiting.cid.clone(), waiting.body.clone())),
            _ => {
                state.outbox.sending = false;
                None
            }
        }
    };
    let (cid, body) = next?;
    drop(client);
    // Through the one request path (its promise), not a second copy of it inlined here.
    let request = crate::runtime::request::Request::new("POST", message_path(&cid), body);
    let answer =
        wasm_bindgen_futures::JsFuture::from(crate::runtime::request::send(port, request)).await;
    let client = port.live()?;
    let status = answer.as_ref().err().and_then(|error| get(error, "status").as_f64());
    if answer.is_err() && status.is_none_or(|status| status == 429.0 || status >= 500.0) {
        return Some(true);
    }
    let mut state = client.state_mut();
    if state.outbox.waiting.is_empty() {
        return Some(false);
    }
    let waiting = state.outbox.waiting.remove(0);
    outbox_drop(&waiting.key);
    let own = state.own_id();
    let user = state.user.clone();
    let slot = state.channels.iter_mut().find(|slot| slot.is(&cid));
    let settled = match (&answer, slot) {
        (Ok(answer), Some(slot)) => {
            let message = get(answer, "message");
            slot.apply_sent(&message, &own, Date::now());
            // As its `message.new`, which this connection may not get (the channel's watch can still be on its
            // way after a reload): a query in flight applies it again on top of its answer, which may predate it.
            let user = get(&message, "user");
            let event =
                object(&[("type", "message.new".into()), ("message", message), ("user", user)]);
            state.replay.record(&cid, &event);
            Ok(answer.clone())
        }
        (Ok(answer), None) => Ok(answer.clone()),
        (Err(error), slot) => {
            if let Some(slot) = slot {
                let failed = local_copy(&get(&waiting.body, "message"), &user, "failed");
                set(&failed, "error", error);
                set(&failed, "errorStatusCode", &status.unwrap_or(0.0).into());
                slot.add_local(&failed, true);
            }
            Err(error.clone())
        }
    };
    drop(state);
    if let Some((resolve, reject)) = waiting.settle {
        let _ = match settled {
            Ok(answer) => resolve.call1(&JsValue::NULL, &answer),
            Err(error) => reject.call1(&JsValue::NULL, &error),
        };
    }
    Some(false)
}
