//! Property tests for every parser of untrusted input: tokens, the connect payload and query string, channel
//! filters and sorts, member lists, message bodies and user fields. Whatever the input, no parser panics, and
//! whatever one refuses it refuses with the protocol's code (4 for input, 40–43 for tokens).

use axum::http::Uri;
use proptest::prelude::*;
use serde_json::{Map, Value};
use stream_chat_protocol::token::{encode_base64, Alphabet};
use stream_chat_protocol::user::{validate_user_id, MAX_USER_BYTES};
use stream_chat_server::auth::Auth;
use stream_chat_server::domain::messages::{message_input, SERVER_OWNED};
use stream_chat_server::domain::users::validate_fields;
use stream_chat_server::limits::Limits;
use stream_chat_server::routes::member_ids;
use stream_chat_server::routes::query::{channel_filter, QueryChannelsBody};
use stream_chat_server::transport::connect::{connect_payload, ConnectParams};

const NOW: i64 = 1_800_000_000;

/// Object keys: the protocol's own names (so the parsers' interesting branches are reached) or anything.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "id",
            "user_id",
            "user_details",
            "text",
            "attachments",
            "members",
            "cid",
            "type",
            "$in",
            "$eq",
            "field",
            "direction",
            "privacy_settings",
            "read_receipts",
            "typing_indicators",
            "enabled",
            "invisible",
            "filter_conditions",
            "sort",
            "limit",
            "offset",
            "message_limit",
            "quoted_message",
            "user",
            "alg",
            "exp",
            "nbf",
            "iat",
            "server",
        ])
        .prop_map(str::to_owned),
        ".{0,12}",
    ]
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        "[a-z0-9@_-]{1,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((key(), json()), 0..10).prop_map(|entries| entries.into_iter().collect())
}

fn assert_input_error(result: Result<impl std::fmt::Debug, stream_chat_server::error::AppError>) {
    if let Err(error) = result {
        assert_eq!(error.code.code(), 4, "{error}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn tokens_never_panic_and_fail_with_token_codes(text in ".{0,300}") {
        let auth = Auth::new("key", "secret", true);
        if let Err(error) = auth.verify(&text, NOW) {
            prop_assert!((40..=43).contains(&error.code.code()), "{error}");
        }
    }

    #[test]
    fn structured_tokens_never_panic(header in json(), payload in json(), signature in ".{0,64}") {
        let auth = Auth::new("key", "secret", true);
        let token = format!(
            "{}.{}.{}",
            encode_base64(header.to_string().as_bytes(), Alphabet::UrlSafe),
            encode_base64(payload.to_string().as_bytes(), Alphabet::UrlSafe),
            signature
        );
        match auth.verify_user(&token, "alice", NOW) {
            Ok(claims) => prop_assert_eq!(claims.user_id.as_deref(), Some("alice")),
            Err(error) => prop_assert!(matches!(error.code.code(), 5 | 40..=43), "{error}"),
        }
    }

    #[test]
    fn connect_payloads_are_checked_or_refused_with_code_4(value in json(), text in ".{0,200}") {
        for json in [value.to_string(), text] {
            match connect_payload(&json) {
                Ok((id, details)) => {
                    prop_assert!(validate_user_id(&id).is_ok());
                    prop_assert_eq!(details.get("id").and_then(Value::as_str), Some(id.as_str()));
                    prop_assert!(Value::Object(details).to_string().len() <= MAX_USER_BYTES);
                }
                Err(error) => prop_assert_eq!(error.code.code(), 4),
            }
        }
    }

    #[test]
    fn connect_payloads_with_a_user_are_checked(id in ".{0,20}", details in object()) {
        let mut details = details;
        details.insert("id".into(), Value::String(id.clone()));
        let payload = serde_json::json!({"user_id": id, "user_details": details});
        assert_input_error(connect_payload(&payload.to_string()));
    }

    #[test]
    fn connect_query_strings_never_panic(pairs in prop::collection::vec((key(), ".{0,30}"), 0..8)) {
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        let uri: Uri = format!("/connect?{}", query.join("&")).parse().unwrap();
        assert_input_error(ConnectParams::from_uri(&uri));
    }

    #[test]
    fn channel_filters_and_sorts_are_bounded_or_refused(body in json()) {
        let limits = Limits::default();
        // A body that is not a QueryChannelsBody is the JSON reader's code 4; the rest reach the filter.
        if let Ok(body) = serde_json::from_value::<QueryChannelsBody>(body) {
            match channel_filter(&body, &limits) {
                Ok(filter) => {
                    prop_assert!(filter.limit <= 30 && filter.offset <= limits.max_offset);
                    for list in [&filter.cids, &filter.members, &filter.kinds].into_iter().flatten() {
                        prop_assert!(list.len() <= limits.filter_values);
                    }
                }
                Err(error) => prop_assert_eq!(error.code.code(), 4),
            }
        }
    }

    #[test]
    fn member_lists_are_valid_ids_or_refused(data in object()) {
        match member_ids(&data) {
            Ok(ids) => {
                prop_assert!(ids.len() <= 100);
                prop_assert!(ids.iter().all(|id| validate_user_id(id).is_ok()));
            }
            Err(error) => prop_assert_eq!(error.code.code(), 4),
        }
    }

    #[test]
    fn message_bodies_keep_no_server_owned_field(message in object()) {
        match message_input(message, 32 * 1024) {
            Ok(input) => {
                prop_assert!(SERVER_OWNED.iter().all(|owned| !input.extra.contains_key(*owned)));
                prop_assert!(input.text.chars().count() <= 5_000 && !input.id.is_empty());
            }
            Err(error) => prop_assert_eq!(error.code.code(), 4),
        }
    }

    #[test]
    fn user_fields_are_typed_or_refused(fields in object()) {
        if validate_fields(&fields).is_ok() {
            if let Some(Value::Object(settings)) = fields.get("privacy_settings") {
                for setting in settings.values() {
                    let enabled = setting.get("enabled");
                    prop_assert!(enabled.is_none_or(Value::is_boolean), "{setting}");
                }
            }
        } else {
            assert_input_error(validate_fields(&fields));
        }
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
