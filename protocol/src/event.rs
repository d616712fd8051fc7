//! Event names and the few frames whose exact text matters: the client's health-check ping and the `json` connect
//! payload (PROTOCOL.md §3.1, §3.4, §3.8).

use alloc::string::String;

use serde::{Deserialize, Serialize};

/// Server keep-alive and connection-open event; its `cid` is `"*"`.
pub const HEALTH_CHECK: &str = "health.check";
/// Local event: the connection went online or offline.
pub const CONNECTION_CHANGED: &str = "connection.changed";
/// Local event: a reconnect succeeded and state was recovered.
pub const CONNECTION_RECOVERED: &str = "connection.recovered";
/// Local event: the transport switched between WebSocket and long-poll.
pub const TRANSPORT_CHANGED: &str = "transport.changed";
/// The `cid` of events that belong to no channel.
pub const GLOBAL_CID: &str = "*";

/// Milliseconds between a received `health.check` and the client's next ping.
pub const PING_INTERVAL_MS: u32 = 25_000;
/// Milliseconds without any frame after which a connection counts as dead, on both sides.
pub const CONNECTION_CHECK_TIMEOUT_MS: u32 = 35_000;
/// The close code meaning "closed on purpose / permanent rejection": clients do not reconnect after it.
pub const CLOSE_NORMAL: u16 = 1000;
/// The close code a server uses when it goes away; clients reconnect after it.
pub const CLOSE_GOING_AWAY: u16 = 1001;

/// The client's ping text: a JSON array holding one `health.check` object.
pub fn health_check_ping(client_id: &str) -> String {
    let mut text = String::from("[{\"type\":\"health.check\",\"client_id\":");
    crate::token::push_json_string(&mut text, client_id);
    text.push_str("}]");
    text
}

/// One element of what a client sends over the WebSocket (only pings, in practice).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ClientFrame {
    /// The event type, `health.check` for pings.
    #[serde(rename = "type")]
    pub kind: String,
    /// `<user_id>--<uuid>`, chosen by the client per connection.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// The `json` query parameter of `/connect` and `/longpoll`. `U` is the user object's representation: an open JSON
/// map on the server, whatever the client already has on the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectPayload<U> {
    /// The connecting user's id; must equal `user_details.id` and the token's `user_id`.
    pub user_id: String,
    /// The user object as the app gave it to `connectUser`.
    pub user_details: U,
    /// A fresh uuid per WebSocket attempt; absent on long-poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_has_the_wire_shape() {
        assert_eq!(
            health_check_ping("alice--1234"),
            r#"[{"type":"health.check","client_id":"alice--1234"}]"#
        );
        let parsed: Vec<ClientFrame> = serde_json::from_str(&health_check_ping("a--1")).unwrap();
        assert_eq!(parsed[0].kind, HEALTH_CHECK);
        assert_eq!(parsed[0].client_id.as_deref(), Some("a--1"));
    }

    #[test]
    fn connect_payload_reads_the_official_clients_json() {
        let json = r#"{"user_id":"alice","user_details":{"id":"alice","name":"Alice"},"client_request_id":"x"}"#;
        let payload: ConnectPayload<serde_json::Value> = serde_json::from_str(json).unwrap();
        assert_eq!(payload.user_id, "alice");
        assert_eq!(payload.user_details["name"], "Alice");
        assert_eq!(payload.client_request_id.as_deref(), Some("x"));
    }
}
