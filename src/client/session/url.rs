//! The URLs a session opens: the WebSocket base derived from the REST base, and the `/connect` and `/longpoll`
//! URLs with the connect payload in `json=`, form-encoded as the official client's `URLSearchParams` does.

use alloc::string::String;

use stream_chat_protocol::token::push_json_string;

use super::{SessionConfig, Transport};

/// Who connects: what the connect payload carries.
#[derive(Debug)]
pub struct Connecting<'a> {
    /// The user id.
    pub user_id: &'a str,
    /// The user object's JSON text, sent as `user_details`.
    pub user_json: &'a str,
    /// The token; only the WebSocket URL carries it.
    pub token: &'a str,
    /// A fresh id for this attempt (`client_request_id`).
    pub request_id: &'a str,
}

/// The `/connect?…` (WebSocket) or `/longpoll?…` URL for `who`.
pub fn connect_url(config: &SessionConfig, who: &Connecting<'_>, transport: Transport) -> String {
    let mut json = String::from("{\"user_id\":");
    push_json_string(&mut json, who.user_id);
    json.push_str(",\"user_details\":");
    json.push_str(who.user_json);
    // A browser WebSocket cannot carry headers, so its token goes in the URL; long-poll requests carry it in the
    // `Authorization` header only, as the official client does (URLs end up in logs). An anonymous user has none.
    let anonymous = who.token.is_empty();
    let token = match transport {
        Transport::WebSocket => {
            json.push_str(",\"client_request_id\":");
            push_json_string(&mut json, who.request_id);
            Some(who.token).filter(|_| !anonymous)
        }
        Transport::LongPoll => None,
    };
    json.push('}');
    let mut url = match transport {
        Transport::WebSocket => config.ws_base_url.clone() + "/connect?",
        Transport::LongPoll => config.base_url.clone() + "/longpoll?",
    };
    let params = [
        ("json", Some(json.as_str())),
        ("api_key", Some(config.api_key.as_str())),
        ("authorization", token),
        ("stream-auth-type", Some(if anonymous { "anonymous" } else { "jwt" })),
        ("X-Stream-Client", Some(config.user_agent.as_str())),
    ];
    for (index, (key, value)) in params.iter().enumerate() {
        let Some(value) = value else { continue };
        if index > 0 {
            url.push('&');
        }
        url.push_str(key);
        url.push('=');
        push_form_encoded(&mut url, value);
    }
    url
}

/// The WebSocket base URL for a REST base URL, as the official client derives it: the first `http` becomes `ws`
/// (so `https` becomes `wss`), and Stream's local test port `:3030` becomes `:8800`.
pub fn ws_base_url(base_url: &str) -> String {
    let url = replace_first(base_url, "http", "ws");
    replace_first(&url, ":3030", ":8800")
}

/// `text` with the first `from` replaced by `to`: `replacen(.., 1)` without the string searcher's bytes.
fn replace_first(text: &str, from: &str, to: &str) -> String {
    let at = text.as_bytes().windows(from.len()).position(|window| window == from.as_bytes());
    match at.and_then(|at| Some((text.get(..at)?, text.get(at + from.len()..)?))) {
        Some((before, after)) => String::from(before) + to + after,
        None => text.into(),
    }
}

/// Appends `value` form-urlencoded, as `URLSearchParams` does: space as `+`, unreserved bytes as they are.
fn push_form_encoded(out: &mut String, value: &str) {
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(hex_digit(byte >> 4));
                out.push(hex_digit(byte));
            }
        }
    }
}

/// The uppercase hex digit for the low four bits of `nibble`.
fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble & 15), 16).unwrap_or('0').to_ascii_uppercase()
}
