//! Events to the app: handlers registered with `on` on the client and on channels, and the dispatch of server
//! frames and the SDK's own events. As with the official client, a channel event updates `channel.state` first,
//! then the client's handlers run, then the channel's; within each, handlers for every event come before handlers
//! for the type. A handler that throws, or returns a promise that rejects, is logged and stops nothing.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Date, Function, Promise};
use stream_chat_protocol::event::{
    CONNECTION_CHANGED, CONNECTION_RECOVERED, HEALTH_CHECK, TRANSPORT_CHANGED,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::client::Client;
use crate::client::{LocalEvent, Transport};
use crate::platform::errors::describe;
use crate::platform::values::{get, object, set, text};

impl Client {
    /// Registers `handler` for `kind` (`None`: every event) on the client, or on the channel `key`.
    pub fn add_listener(
        &self,
        channel: Option<u32>,
        kind: Option<String>,
        handler: Function,
    ) -> u32 {
        match channel {
            Some(key) => self
                .state
                .borrow_mut()
                .slot(key)
                .map_or(0, |slot| slot.listeners.add(kind, handler)),
            None => self.listeners.borrow_mut().add(kind, handler),
        }
    }

    /// Removes the handler with `id` from the client, or from the channel `key`.
    pub fn remove_listener(&self, channel: Option<u32>, id: u32) {
        match channel {
            Some(key) => {
                self.state_mut().slot(key).into_iter().for_each(|s| s.listeners.remove(id))
            }
            None => self.listeners.borrow_mut().remove(id),
        }
    }

    /// Removes handlers of `kind` that are `handler`, from the client or from the channel `key`.
    pub fn remove_handler(&self, channel: Option<u32>, kind: Option<&str>, handler: &JsValue) {
        match channel {
            Some(key) => self
                .state
                .borrow_mut()
                .slot(key)
                .into_iter()
                .for_each(|slot| slot.listeners.remove_handler(kind, handler)),
            None => self.listeners.borrow_mut().remove_handler(kind, handler),
        }
    }

    /// A server frame: `me` of a health check becomes `client.user`; a channel event updates that channel; then
    /// the handlers run.
    pub fn dispatch_frame(&self, frame: &JsValue) {
        set(frame, "received_at", &Date::new_0().into());
        let Some(kind) = text(frame, "type") else { return };
        if kind == HEALTH_CHECK {
            let me = get(frame, "me");
            if me.is_object() {
                let mut state = self.state_mut();
                state.mutes = (get(&me, "mutes"), get(&me, "channel_mutes"));
                state.user = me;
            }
        } else if kind == "notification.mutes_updated" {
            self.state_mut().mutes.0 = get(&get(frame, "me"), "mutes");
        } else if kind == "notification.channel_mutes_updated" {
            self.state_mut().mutes.1 = get(&get(frame, "me"), "channel_mutes");
        } else if kind == "user.updated" || kind == "user.presence.changed" {
            self.state_mut().apply_user(&get(frame, "user"));
        } else if kind == "notification.mark_read" && text(frame, "cid").is_none() {
            // markAllRead: every channel is read.
            let mut state = self.state_mut();
            let own = state.own_id();
            for slot in &mut state.channels {
                slot.read_all(&own, Date::now());
            }
        }
        let key = text(frame, "cid").and_then(|cid| {
            let mut state = self.state_mut();
            state.replay.record(&cid, frame);
            let own = state.own_id();
            let muted =
                kind == "message.new" && crate::state::mutes::muted_message(&state.mutes, frame);
            let slot = state.channels.iter_mut().find(|slot| slot.is(&cid))?;
            slot.apply_event(frame, &kind, (&own, muted), Date::now());
            Some(slot.key)
        });
        if kind == "typing.start" {
            self.schedule_cleaner();
        } else if key.is_some() && (kind.starts_with("message.") || kind.starts_with("reaction.")) {
            self.note_cached(frame);
        }
        self.dispatch(key, &kind, frame);
    }

    /// Calls the client's handlers for `kind`, then the channel `key`'s, with no borrow held (handlers may call
    /// back into the client). Handlers added while dispatching do not see this event.
    pub fn dispatch(&self, channel: Option<u32>, kind: &str, event: &JsValue) {
        let handlers: Vec<Function> = {
            let mut handlers = self.listeners.borrow().matching(kind);
            let mut state = self.state_mut();
            if let Some(slot) = channel.and_then(|key| state.slot(key)) {
                handlers.extend(slot.listeners.matching(kind));
            }
            handlers
        };
        for handler in handlers {
            match handler.call1(&JsValue::NULL, event) {
                Ok(returned) if returned.is_instance_of::<Promise>() || has_then(&returned) => {
                    let port = self.port.clone();
                    let kind = String::from(kind);
                    crate::platform::tasks::spawn(async move {
                        if let Err(error) = JsFuture::from(Promise::resolve(&returned)).await {
                            if let Some(client) = port.live() {
                                client.handler_failed(&kind, &error);
                            }
                        }
                    });
                }
                Ok(_) => {}
                Err(error) => self.handler_failed(kind, &error),
            }
        }
    }

    fn handler_failed(&self, kind: &str, error: &JsValue) {
        self.log("error", &(String::from("a ") + kind + " handler threw: " + &describe(error)));
    }

    /// Emits an event the SDK makes itself.
    pub fn emit(&self, event: LocalEvent) {
        let (kind, key, value) = match event {
            LocalEvent::ConnectionChanged { online } => {
                (CONNECTION_CHANGED, "online", online.into())
            }
            LocalEvent::ConnectionRecovered => (CONNECTION_RECOVERED, "online", true.into()),
            LocalEvent::TransportChanged { transport } => {
                let mode = match transport {
                    Transport::WebSocket => "websocket",
                    Transport::LongPoll => "longpoll",
                };
                (TRANSPORT_CHANGED, "mode", mode.into())
            }
        };
        let event = object(&[("type", kind.into()), (key, value)]);
        self.log("info", &(String::from("connection: ") + kind));
        self.dispatch(None, kind, &event);
    }
}

/// Whether `value` is a thenable (an object with a `then` function).
fn has_then(value: &JsValue) -> bool {
    get(value, "then").is_function()
}
