//! REST handlers about users and the app. Those that change users: `POST /users` (upsert: the whole object) and `PATCH /users` (partial:
//! `set` / `unset`), as the official client's `upsertUsers` and `partialUpdateUsers` send them. A user token may
//! change only its own user and never `role`; a server token may change anyone. Changes are announced with
//! `user.updated`: the user's own connections get the own view (with privacy settings, which the SDKs apply at
//! once), the watchers of the user's channels the public view (never privacy settings or invisibility).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::user::validate_user;
use stream_chat_protocol::ErrorCode;

use crate::domain::channels::{self, MAX_MEMBERS};
use crate::domain::permissions;
use crate::domain::users::{
    apply_patch, check_patch, validate_fields, writable_fields, StoredUser, UserPatch,
};
use crate::error::AppError;
use crate::events::publish;
use crate::hub::Delivery;
use crate::limits::json_len;
use crate::routes::rest::{json_body, Caller};
use crate::routes::{admitted, answer, db, Answer};
use crate::store::UserReplace;
use crate::{clock, AppState};

/// The body of `POST /users`.
#[derive(Debug, Deserialize)]
struct UsersBody {
    /// Id → complete user object.
    users: Map<String, Value>,
}

/// The body of `PATCH /users`.
#[derive(Debug, Deserialize)]
struct PatchBody {
    /// The partial updates.
    users: Vec<UserPatch>,
}

/// Refuses a user token acting on another user.
fn check_own(caller: &Caller, id: &str) -> Result<(), AppError> {
    if caller.server || caller.user_id.as_deref() == Some(id) {
        return Ok(());
    }
    Err(AppError::new(
        ErrorCode::NotAllowed,
        format!("a user token can only update its own user, not \"{id}\""),
    ))
}

/// `POST /users`: replaces each user object (fields not named are removed). A server token may set `role`; a user
/// token may send only its own user, and a `role` other than its current one is refused.
pub async fn upsert_users(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let body: UsersBody = json_body(body)?;
    if body.users.is_empty() || body.users.len() > MAX_MEMBERS {
        return Err(AppError::input(format!("send 1 to {MAX_MEMBERS} users")));
    }
    let mut replacements = Vec::with_capacity(body.users.len());
    for (id, user) in body.users {
        check_own(&caller, &id)?;
        let Value::Object(user) = user else {
            return Err(AppError::input("each user must be an object"));
        };
        validate_user(Some(&id), json_len(&user))
            .map_err(|error| AppError::input(error.message()))?;
        validate_fields(&user)?;
        if user.get("id").and_then(Value::as_str).is_some_and(|inner| inner != id) {
            return Err(AppError::input(format!("user \"{id}\" has a different id inside")));
        }
        let role = user.get("role").and_then(Value::as_str).map(str::to_owned);
        replacements.push(UserReplace { id, role, fields: writable_fields(&user) });
    }
    let by_server = caller.server;
    let response = admitted(&state, async {
        let state = &state;
        if !by_server {
            // The only user here is the caller's own: its role may be repeated, not changed.
            for user in &replacements {
                let current = db(state.store.user(&user.id).await)?.map(|stored| stored.role);
                if user.role.is_some() && user.role != current {
                    return Err(AppError::new(
                        ErrorCode::NotAllowed,
                        "a user token cannot change role",
                    ));
                }
            }
        }
        let stored = db(state.store.replace_users(replacements, &clock::timestamp()).await)?;
        Ok(announce(state, &stored).await)
    })
    .await?;
    answer(response, started)
}

/// `PATCH /users`: `{users: [{id, set, unset}]}`. Each update is checked, applied to the stored user and the
/// result validated (fields, 5 KB) inside one transaction; one refusal stores nothing.
pub async fn partial_update_users(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let body: PatchBody = json_body(body)?;
    if body.users.is_empty() || body.users.len() > MAX_MEMBERS {
        return Err(AppError::input(format!("send 1 to {MAX_MEMBERS} user updates")));
    }
    for patch in &body.users {
        if patch.id.is_empty() {
            return Err(AppError::input("each update needs the user's id"));
        }
        check_own(&caller, &patch.id)?;
        check_patch(patch, caller.server)?;
    }
    let response = admitted(&state, async {
        let state = &state;
        let ids: Vec<String> = body.users.iter().map(|patch| patch.id.clone()).collect();
        let mut patches = body.users.clone().into_iter();
        let change = Box::new(move |stored: Option<StoredUser>| {
            let patch = patches.next().ok_or("more users than updates")?;
            let user = stored.ok_or_else(|| format!("user \"{}\" does not exist", patch.id))?;
            apply_patch(user, &patch)
        });
        let stored = db(state.store.update_users(&ids, &clock::timestamp(), change).await)?
            .map_err(AppError::input)?;
        Ok(announce(state, &stored).await)
    })
    .await?;
    answer(response, started)
}

/// Sends `user.updated` for each changed user (own view to its connections, public view to the watchers of its
/// channels) and returns the answer body `{users: {id: public view}}`.
async fn announce(state: &AppState, users: &[StoredUser]) -> Value {
    let mut answer = Map::new();
    for user in users {
        let now = clock::timestamp();
        let own = json!({"type": "user.updated", "user": user.own_view(), "created_at": now});
        crate::events::send_to_user(state, &user.id, own.to_string().into());
        let public = channels::user_view(user);
        for cid in state.store.member_channels(&user.id).await.unwrap_or_default() {
            let event = json!({"type": "user.updated", "user": public.clone(), "created_at": now});
            let Value::Object(event) = event else { continue };
            publish(
                state,
                Delivery {
                    cid: &cid,
                    event,
                    sender: None,
                    personal: Default::default(),
                    skip_users: std::slice::from_ref(&user.id),
                    version: None,
                },
            );
        }
        answer.insert(user.id.clone(), public);
    }
    json!({ "users": answer })
}

/// `GET /app` (`getAppSettings()`): the app's name and its channel types' configs, for any authenticated caller.
pub async fn app_settings(State(state): State<AppState>, _authenticated: Caller) -> Answer {
    let started = Instant::now();
    let configs: Map<String, Value> = channels::TYPES
        .iter()
        .map(|kind| (kind.to_string(), json!(permissions::config(kind))))
        .collect();
    let app = json!({
        "name": "stream-chat-wasm",
        "suspended": false,
        "permission_version": "v2",
        "multi_tenant_enabled": false,
        "channel_configs": configs,
        "image_upload_config": {
            "allowed_mime_types": crate::domain::uploads::IMAGE_TYPES,
            "allowed_file_extensions": [],
            "blocked_file_extensions": [],
            "blocked_mime_types": [],
            "size_limit": state.settings.limits.upload_bytes,
        },
        "file_upload_config": {
            "allowed_mime_types": [],
            "allowed_file_extensions": [],
            "blocked_file_extensions": [],
            "blocked_mime_types": [],
            "size_limit": state.settings.limits.upload_bytes,
        },
    });
    answer(json!({ "app": app }), started)
}

/// `GET /hi`: nothing but an answer, which the official client's `warmUp` option (and ours) sends to open the
/// HTTP connection before it is needed.
pub async fn hi() -> Answer {
    answer(json!({}), Instant::now())
}

/// The query string of `POST /guest`.
#[derive(Debug, Deserialize)]
struct KeyParam {
    /// The app's API key.
    api_key: Option<String>,
}

/// The body of `POST /guest`.
#[derive(Debug, Deserialize)]
struct GuestBody {
    /// The guest's user object; its `id` is a wish, not a claim.
    #[serde(default)]
    user: Map<String, Value>,
}

/// `POST /guest` (`setGuestUser`), no token needed, when guests are on: creates a user with role `guest` and
/// answers `{access_token, user}`. The id asked for is used only if no user has it (a guest can never take over
/// an existing user); otherwise, or when none is asked for, a fresh `guest-<uuid>` id is given.
pub async fn create_guest(
    State(state): State<AppState>,
    uri: axum::http::Uri,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let params: KeyParam = crate::routes::rest::query_params(&uri)?;
    state.auth.check_api_key(params.api_key.as_deref())?;
    if !state.settings.guests {
        return Err(AppError::new(
            ErrorCode::NotAllowed,
            "guest users are not enabled on this server",
        ));
    }
    if !state.guest_rate.allow("guests", std::time::Instant::now()) {
        return Err(crate::limits::rate_limited("guest users created too fast"));
    }
    let body: GuestBody = json_body(body)?;
    let wished = body.user.get("id").and_then(Value::as_str).map(str::to_owned);
    if let Some(id) = &wished {
        stream_chat_protocol::user::validate_user_id(id)
            .map_err(|error| AppError::input(error.message()))?;
    }
    validate_user(Some(wished.as_deref().unwrap_or("guest")), json_len(&body.user))
        .map_err(|error| AppError::input(error.message()))?;
    validate_fields(&body.user)?;
    let fields = writable_fields(&body.user);
    let response = admitted(&state, async {
        let state = &state;
        let now = clock::timestamp();
        let mut created = match &wished {
            Some(id) => db(state.store.create_user(id, "guest", fields.clone(), &now).await)?,
            None => None,
        };
        if created.is_none() {
            let id = format!("guest-{}", uuid::Uuid::new_v4());
            created = db(state.store.create_user(&id, "guest", fields, &now).await)?;
        }
        let user = created.ok_or_else(|| AppError::internal("a fresh guest id was taken"))?;
        let token = state.auth.sign(&json!({ "user_id": user.id }));
        Ok(json!({ "access_token": token, "user": channels::user_view(&user) }))
    })
    .await?;
    answer(response, started)
}
