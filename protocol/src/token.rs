//! JWT plumbing shared by both sides (PROTOCOL.md §2.4): splitting a token into its segments, decoding segments
//! in every base64 flavour the official client emits or accepts, and building the dev token byte for byte.

use alloc::string::String;
use alloc::vec::Vec;

use serde::Deserialize;

/// The signature segment of a dev token. Servers accept it only in dev mode.
pub const DEV_TOKEN_SIGNATURE: &str = "devtoken";

/// The header segment every token built here carries: base64 of `{"alg":"HS256","typ":"JWT"}`.
pub const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The claims this project reads from a token's payload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// Whose token this is; must equal the connecting user's id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// `true` in server-side tokens, which may act for any user.
    #[serde(default)]
    pub server: Option<bool>,
    /// Expiry, seconds since the epoch.
    #[serde(default)]
    pub exp: Option<i64>,
    /// Issued at, seconds since the epoch.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(default)]
    pub nbf: Option<i64>,
}

/// The JOSE header fields that matter: only `HS256` is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Header {
    /// The signing algorithm.
    pub alg: String,
}

/// The three segments of a compact JWT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segments<'a> {
    /// Base64 of the JOSE header.
    pub header: &'a str,
    /// Base64 of the claims.
    pub payload: &'a str,
    /// Base64url of the signature, or `devtoken`.
    pub signature: &'a str,
    /// `header.payload`, the bytes the signature covers.
    pub signed: &'a str,
}

/// Splits a compact JWT into its three segments; `None` unless there are exactly three.
pub fn split(token: &str) -> Option<Segments<'_>> {
    // Byte positions and `get` rather than `str::split` and indexing: the same result, and no string-searcher or
    // panic-formatting code in the wasm SDK.
    let dots: [usize; 2] = {
        let mut found =
            token.bytes().enumerate().filter(|(_, byte)| *byte == b'.').map(|(at, _)| at);
        let dots = [found.next()?, found.next()?];
        if found.next().is_some() {
            return None;
        }
        dots
    };
    let segments = Segments {
        header: token.get(..dots[0])?,
        payload: token.get(dots[0] + 1..dots[1])?,
        signature: token.get(dots[1] + 1..)?,
        signed: token.get(..dots[1])?,
    };
    if segments.header.is_empty() || segments.payload.is_empty() {
        return None;
    }
    Some(segments)
}

/// The dev token for `user_id`, exactly as the official client's `devToken` builds it: the fixed HS256 header, the
/// *standard, padded* base64 of `{"user_id":"<id>"}`, and the literal signature `devtoken`.
pub fn dev_token(user_id: &str) -> String {
    let mut payload = String::from("{\"user_id\":");
    push_json_string(&mut payload, user_id);
    payload.push('}');
    let mut token = String::from(HS256_HEADER);
    token.push('.');
    token.push_str(&encode_base64(payload.as_bytes(), Alphabet::Standard));
    token.push('.');
    token.push_str(DEV_TOKEN_SIGNATURE);
    token
}

/// Which 64 characters a base64 text uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alphabet {
    /// `+` and `/`, padded with `=`: what the official client's dev tokens use.
    Standard,
    /// `-` and `_`, unpadded: what JWT signatures use.
    UrlSafe,
}

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `bytes`; `Standard` pads with `=`, `UrlSafe` does not.
pub fn encode_base64(bytes: &[u8], alphabet: Alphabet) -> String {
    let table = match alphabet {
        Alphabet::Standard => STANDARD,
        Alphabet::UrlSafe => URL_SAFE,
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..=chunk.len() {
            out.push(table[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if alphabet == Alphabet::Standard {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes a segment written in either alphabet, padded or not; `None` on any other character.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = acc << 6 | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Appends `value` as a JSON string literal, escaped as `JSON.stringify` does.
pub fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_token_matches_the_official_client_byte_for_byte() {
        assert_eq!(
            dev_token("alice"),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiYWxpY2UifQ==.devtoken"
        );
        assert_eq!(
            dev_token("john"),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiam9obiJ9.devtoken"
        );
    }

    #[test]
    fn base64_round_trips_in_both_alphabets() {
        for input in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xfb\xff\xfe"] {
            for alphabet in [Alphabet::Standard, Alphabet::UrlSafe] {
                let text = encode_base64(input, alphabet);
                assert_eq!(decode_base64(&text).as_deref(), Some(input), "{text}");
            }
        }
        assert_eq!(encode_base64(b"\xfb\xff", Alphabet::Standard), "+/8=");
        assert_eq!(encode_base64(b"\xfb\xff", Alphabet::UrlSafe), "-_8");
        assert_eq!(decode_base64("a b"), None);
    }

    #[test]
    fn split_needs_three_segments() {
        let s = split("h.p.s").unwrap();
        assert_eq!((s.header, s.payload, s.signature, s.signed), ("h", "p", "s", "h.p"));
        assert_eq!(split("h.p"), None);
        assert_eq!(split("h.p.s.x"), None);
        assert_eq!(split("..s"), None);
    }

    #[test]
    fn claims_decode_from_a_dev_token() {
        let token = dev_token("alice");
        let payload = decode_base64(split(&token).unwrap().payload).unwrap();
        let claims: Claims = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claims.user_id.as_deref(), Some("alice"));
    }

    #[test]
    fn json_strings_are_escaped_like_json_stringify() {
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n\u{1}");
        assert_eq!(out, r#""a\"b\\c\n\u0001""#);
    }
}
