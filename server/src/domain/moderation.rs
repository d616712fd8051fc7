//! Moderation rules every path applies (PROTOCOL.md §22.4): who blocked a sender (their events skip those users)
//! and whether a user is banned where they act (refused, or shadow-banned and let on). The routes that make these
//! records are in `routes/moderation.rs`.

use serde_json::{json, Map, Value};
use stream_chat_protocol::ErrorCode;
use time::{Duration, OffsetDateTime};

use crate::error::{db, AppError};
use crate::store::Relation;
use crate::{clock, AppState};

/// The users who blocked `sender`: its messages and events are not delivered to them.
pub async fn blocked_by(state: &AppState, sender: &str) -> Result<Vec<String>, AppError> {
    let blocks = db(state.store.relations("block", None, Some(sender), &clock::timestamp()).await)?;
    Ok(blocks.into_iter().map(|block| block.user_id).collect())
}

/// `user_id`'s ban that applies in `cid` (or everywhere when `cid` is `None`): a global one, or one of that
/// channel. Expired bans do not count.
pub async fn ban_of(
    state: &AppState,
    user_id: &str,
    cid: Option<&str>,
) -> Result<Option<Relation>, AppError> {
    let bans = db(state.store.relations("ban", Some(user_id), None, &clock::timestamp()).await)?;
    Ok(bans.into_iter().find(|ban| ban.target == "*" || Some(ban.target.as_str()) == cid))
}

/// What the moderation records say of a user sending to a channel.
#[derive(Debug, Default)]
pub struct SenderRules {
    /// A shadow ban applies: what they send goes nowhere (events) or reaches others as `shadowed` (messages).
    pub shadow: bool,
    /// The users who blocked them: nothing they send reaches those.
    pub blockers: Vec<String>,
}

/// The rules for `user` sending to `cid`, in one read: refused (code 17) when banned there or everywhere.
pub async fn sender_rules(
    state: &AppState,
    user: &str,
    cid: &str,
) -> Result<SenderRules, AppError> {
    let relations = db(state.store.sender_moderation(user, cid, &clock::timestamp()).await)?;
    rules_of(user, cid, relations)
}

/// The rules for `user` sending to `cid`, from what [`crate::store::Store::sender_moderation`] read.
pub fn rules_of(user: &str, cid: &str, relations: Vec<Relation>) -> Result<SenderRules, AppError> {
    let mut rules = SenderRules::default();
    for relation in relations {
        if relation.kind == "block" {
            rules.blockers.push(relation.user_id);
        } else if relation.data.get("shadow").and_then(Value::as_bool) == Some(true) {
            rules.shadow = true;
        } else {
            return Err(AppError::new(
                ErrorCode::NotAllowed,
                format!("user \"{user}\" is banned from channel \"{cid}\""),
            ));
        }
    }
    Ok(rules)
}

/// Refuses a user banned in `cid` or everywhere (code 17); `true` for a shadow ban, which lets them go on.
pub(crate) async fn check_ban(state: &AppState, user: &str, cid: &str) -> Result<bool, AppError> {
    sender_rules(state, user, cid).await.map(|rules| rules.shadow)
}

/// The longest mute, block or ban timeout: a year, in minutes.
pub const MAX_TIMEOUT_MINUTES: u64 = 525_600;
/// The most targets one mute call names.
pub const MAX_TARGETS: usize = 100;

/// The moment `minutes` from now, as the store keeps times.
pub fn expiry_in(minutes: u64) -> String {
    let minutes = i64::try_from(minutes.min(MAX_TIMEOUT_MINUTES)).unwrap_or(0);
    clock::format(OffsetDateTime::now_utc() + Duration::minutes(minutes))
}

/// A timeout in whole minutes, at most a year (code 4 otherwise); `None` when absent or null.
pub fn minutes(value: Option<&Value>, name: &str) -> Result<Option<u64>, AppError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|minutes| (1..=MAX_TIMEOUT_MINUTES).contains(minutes))
            .map(Some)
            .ok_or_else(|| {
                AppError::input(format!(
                    "{name} must be whole minutes from 1 to {MAX_TIMEOUT_MINUTES}"
                ))
            }),
    }
}

/// A user's mute as the official client reads it (`target.id`, `expires`).
pub fn mute_view(relation: &Relation) -> Value {
    json!({
        "user": {"id": relation.user_id},
        "target": {"id": relation.target},
        "created_at": relation.created_at,
        "updated_at": relation.created_at,
        "expires": relation.expires,
    })
}

/// A channel mute as the official client reads it (`channel.cid`, `expires`).
pub fn channel_mute_view(relation: &Relation) -> Value {
    json!({
        "user": {"id": relation.user_id},
        "channel": {"cid": relation.target},
        "created_at": relation.created_at,
        "updated_at": relation.created_at,
        "expires": relation.expires,
    })
}

/// `user_id`'s mutes, channel mutes and blocked users, for `me`.
pub async fn own_moderation(
    state: &AppState,
    user_id: &str,
) -> Result<Map<String, Value>, AppError> {
    let now = clock::timestamp();
    let of = |kind: &'static str| state.store.relations(kind, Some(user_id), None, &now);
    let (mutes, channel_mutes, blocked) = tokio::join!(of("mute"), of("channel_mute"), of("block"));
    let mut own = Map::new();
    own.insert("mutes".into(), db(mutes)?.iter().map(mute_view).collect());
    own.insert("channel_mutes".into(), db(channel_mutes)?.iter().map(channel_mute_view).collect());
    let blocked = db(blocked)?;
    let blocked: Vec<Value> = blocked.into_iter().map(|block| block.target.into()).collect();
    own.insert("blocked_user_ids".into(), blocked.into());
    Ok(own)
}
