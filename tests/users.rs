//! Users after connecting, in headless Chromium against the real server (`CHAT_SERVER_URL`): `queryUsers` with
//! filters, sort and presence, `client.state.users`, and `user.presence.changed` / `user.updated` reaching
//! `client.state`, channel members and the own `client.user`; closing and reopening the connection, app
//! settings and the user agent. Everything goes through the JS-facing methods.

#![cfg(target_arch = "wasm32")]

use js_sys::Array;
use stream_chat_wasm::StreamChat;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

mod common;

use common::{call, channel, client_event, connected, get, object, settle, unique};

wasm_bindgen_test_configure!(run_in_browser);

/// Resolves with the next `kind` client event about user `id` (these events carry no channel).
fn user_event(client: &StreamChat, kind: &str, id: &str) -> JsFuture {
    let id = id.to_owned();
    client_event(client, kind, move |event| {
        get(event, "user.id").as_string().as_deref() == Some(id.as_str())
    })
}

fn ids(answer: &JsValue) -> Vec<String> {
    Array::from(&get(answer, "users"))
        .iter()
        .filter_map(|user| get(&user, "id").as_string())
        .collect()
}

#[wasm_bindgen_test]
async fn query_users_filters_sorts_and_fills_client_state() {
    let tag = unique();
    let (a, b, c) = (format!("qa-{tag}"), format!("qb-{tag}"), format!("qc-{tag}"));
    let alice = connected(&a, &[("name", format!("Ann {tag}").into())]).await;
    let bob = connected(&b, &[("name", format!("Bob {tag}").into())]).await;
    let carol =
        connected(&c, &[("name", format!("Cat {tag}").into()), ("invisible", true.into())]).await;
    let all: Array = [&a, &b, &c].iter().map(|id| JsValue::from(id.as_str())).collect();
    let filter = object(&[("id", object(&[("$in", all.into())]))]);
    let answer = settle(alice.query_users(
        filter.clone(),
        object(&[("name", (-1).into())]),
        JsValue::UNDEFINED,
    ))
    .await
    .unwrap();
    assert_eq!(ids(&answer), [c.clone(), b.clone(), a.clone()]);
    // The sort as a list of `{field: direction}`, as the official client also takes it.
    let ascending: Array = [object(&[("name", 1.into())])].into_iter().collect();
    let listed = settle(alice.query_users(filter.clone(), ascending.into(), JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(ids(&listed), [a.clone(), b.clone(), c.clone()]);
    assert_eq!(
        get(&answer, "users.0.online").as_bool(),
        Some(false),
        "carol is invisible: offline to others"
    );
    assert_eq!(get(&answer, "users.1.online").as_bool(), Some(true));
    assert!(
        get(&answer, "users.0.invisible").is_undefined()
            && get(&answer, "users.0.privacy_settings").is_undefined()
    );
    assert_eq!(
        get(&alice.state(), &format!("users.{b}.name")).as_string(),
        Some(format!("Bob {tag}"))
    );

    let prefix = object(&[("name", object(&[("$autocomplete", format!("bob {tag}").into())]))]);
    // `null` for an optional argument is as good as leaving it out, as in the official client.
    let found =
        ids(&settle(alice.query_users(prefix, JsValue::NULL, JsValue::NULL)).await.unwrap());
    assert_eq!(found, std::slice::from_ref(&b));

    let bad = object(&[("id", object(&[("$regex", "x".into())]))]);
    let error =
        settle(alice.query_users(bad, JsValue::UNDEFINED, JsValue::UNDEFINED)).await.unwrap_err();
    assert_eq!(
        (get(&error, "code").as_f64(), get(&error, "status").as_f64()),
        (Some(4.0), Some(400.0))
    );
    for client in [alice, bob, carol] {
        settle(client.disconnect_user(None)).await.unwrap();
    }
}

#[wasm_bindgen_test]
async fn presence_and_updates_reach_client_state_and_channel_members() {
    let tag = unique();
    let (a, b, id) = (format!("pa-{tag}"), format!("pb-{tag}"), format!("presence-{tag}"));
    let alice = connected(&a, &[]).await;
    let bob = connected(&b, &[("name", "Bob".into())]).await;
    let alices = channel(&alice, &id, &[&a, &b]);
    settle(call(&alices, "watch", &[])).await.unwrap();
    let filter = object(&[("id", b.clone().into())]);
    settle(alice.query_users(filter, JsValue::UNDEFINED, object(&[("presence", true.into())])))
        .await
        .unwrap();
    assert_eq!(get(&alice.state(), &format!("users.{b}.online")).as_bool(), Some(true));

    // bob renames himself: alice's member entry and client.state follow; bob's own client.user too.
    // (bob's own connection hears it on its own, not necessarily before alice does: wait for both.)
    let renamed = user_event(&alice, "user.updated", &b);
    let own = user_event(&bob, "user.updated", &b);
    let update = object(&[("id", b.clone().into()), ("set", object(&[("name", "Robert".into())]))]);
    settle(bob.partial_update_user(update)).await.unwrap();
    renamed.await.unwrap();
    own.await.unwrap();
    assert_eq!(get(&bob.user(), "name").as_string().as_deref(), Some("Robert"));
    assert!(
        get(&bob.user(), "privacy_settings").is_object(),
        "the own user keeps its own-only fields"
    );

    // bob leaves: alice hears he went offline.
    let gone = user_event(&alice, "user.presence.changed", &b);
    settle(bob.disconnect_user(None)).await.unwrap();
    let event = gone.await.unwrap();
    assert_eq!(get(&event, "user.online").as_bool(), Some(false));
    assert_eq!(get(&alice.state(), &format!("users.{b}.online")).as_bool(), Some(false));
    assert_eq!(
        get(&alice.state(), &format!("users.{b}.name")).as_string().as_deref(),
        Some("Robert")
    );
    let member = get(&get(&alices, "state"), &format!("members.{b}.user.name"));
    assert_eq!(member.as_string().as_deref(), Some("Robert"));
    settle(alice.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn close_and_open_connection_keep_the_user_and_its_channels() {
    let tag = unique();
    let (a, b, id) = (format!("ca-{tag}"), format!("cb-{tag}"), format!("control-{tag}"));
    let alice = connected(&a, &[]).await;
    let bob = connected(&b, &[]).await;
    let alices = channel(&alice, &id, &[&a, &b]);
    let bobs = channel(&bob, &id, &[&a, &b]);
    settle(call(&alices, "watch", &[])).await.unwrap();
    settle(call(&bobs, "watch", &[])).await.unwrap();
    assert_eq!(get(&alice.ws_connection(), "isHealthy").as_bool(), Some(true));
    assert_eq!(
        get(&alice.ws_connection(), "connectionID").as_string(),
        alice.connection_id().as_string()
    );

    settle(alice.close_connection(None)).await.unwrap();
    assert_eq!(get(&alice.ws_connection(), "isHealthy").as_bool(), Some(false));
    assert_eq!(alice.user_id().as_string(), Some(a.clone()), "the user stays");

    let recovered = client_event(&alice, "connection.recovered", |_| true);
    let opened = settle(alice.open_connection()).await.unwrap();
    assert_eq!(get(&opened, "type").as_string().as_deref(), Some("health.check"));
    assert_eq!(get(&alice.ws_connection(), "isHealthy").as_bool(), Some(true));
    // Once recovered (as with the official client, `openConnection` resolves when the socket is up and the
    // channels are re-watched after it), the channel is watched on the new connection: bob's message reaches
    // alice.
    recovered.await.unwrap();
    let arrived = common::next_event(&alices, "message.new", |_| true);
    settle(call(&bobs, "sendMessage", &[object(&[("text", "after reopening".into())])]))
        .await
        .unwrap();
    let event = arrived.await.unwrap();
    assert_eq!(get(&event, "message.text").as_string().as_deref(), Some("after reopening"));

    let settings = settle(alice.get_app_settings()).await.unwrap();
    assert!(get(&settings, "app.channel_configs.messaging").is_object());
    alice.set_user_agent("my-app/1.0".into());
    assert_eq!(alice.get_user_agent(), "my-app/1.0");
    settle(alice.disconnect_user(None)).await.unwrap();
    assert!(alice.ws_connection().is_undefined() && alice.user_id().is_undefined());
    settle(bob.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_guest_connects_with_the_token_the_server_gives() {
    let client = common::client();
    let wish = format!("visitor-{}", unique());
    let user = object(&[("id", wish.clone().into()), ("name", "Visitor".into())]);
    let opened = settle(client.set_guest_user(user)).await.unwrap();
    assert_eq!(get(&opened, "me.role").as_string().as_deref(), Some("guest"));
    assert_eq!(get(&opened, "me.name").as_string().as_deref(), Some("Visitor"));
    assert_eq!(client.user_id().as_string(), Some(wish));
    settle(client.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn an_anonymous_user_reads_a_public_channel_and_writes_nothing() {
    let tag = unique();
    let host_id = format!("host-{tag}");
    let host = connected(&host_id, &[]).await;
    let show = format!("show-{tag}");
    let members: Array = [JsValue::from(host_id.as_str())].into_iter().collect();
    let hosts = host.channel(
        "livestream".into(),
        Some(show.clone().into()),
        object(&[("members", members.into())]),
    );
    settle(call(&hosts, "watch", &[])).await.unwrap();
    settle(call(&hosts, "sendMessage", &[object(&[("text", "welcome".into())])])).await.unwrap();

    let visitor = common::client();
    let opened = settle(visitor.connect_anonymous_user()).await.unwrap();
    assert_eq!(get(&opened, "me.role").as_string().as_deref(), Some("anonymous"));
    let visitors = visitor.channel("livestream".into(), Some(show.into()), JsValue::UNDEFINED);
    settle(call(&visitors, "watch", &[])).await.unwrap();
    assert_eq!(
        get(&get(&visitors, "state"), "messages.0.text").as_string().as_deref(),
        Some("welcome")
    );
    let refused = settle(call(&visitors, "sendMessage", &[object(&[("text", "hi".into())])]))
        .await
        .unwrap_err();
    assert_eq!(
        (get(&refused, "code").as_f64(), get(&refused, "status").as_f64()),
        (Some(17.0), Some(403.0))
    );
    settle(visitor.disconnect_user(None)).await.unwrap();
    settle(host.disconnect_user(None)).await.unwrap();
}
