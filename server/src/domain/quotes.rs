//! Quoted replies (PROTOCOL.md §22.9): a message sent with `quoted_message_id` carries `quoted_message`, the quoted
//! message as it is, which only the server sets. The id must name a message of the same channel (code 4 otherwise).
//! When the quoted message is edited or deleted, the copies in the messages quoting it follow (one indexed update),
//! so a channel loaded later shows what the clients that were watching show after their own rewrite.

use serde_json::{Map, Value};

use crate::domain::channels;
use crate::error::db;
use crate::error::AppError;
use crate::store::MessageRecord;
use crate::AppState;

/// The field a client sets.
const QUOTED_ID: &str = "quoted_message_id";
/// The field the server sets.
const QUOTED: &str = "quoted_message";

/// Checks that `fields.quoted_message_id`, if any, names a message of `cid` other than `own_id`, and adds its copy
/// as `quoted_message`.
pub async fn attach(
    state: &AppState,
    cid: &str,
    own_id: &str,
    fields: &mut Map<String, Value>,
) -> Result<(), AppError> {
    let Some(quoted) = fields.get(QUOTED_ID) else { return Ok(()) };
    if quoted.is_null() {
        fields.remove(QUOTED_ID);
        return Ok(());
    }
    let quoted =
        quoted.as_str().ok_or_else(|| AppError::input("quoted_message_id must be a message id"))?;
    let found = db(state.store.message(quoted).await)?
        .filter(|message| {
            message.cid == cid && message.id != own_id && message.deleted_at.is_none()
        })
        .ok_or_else(|| {
            AppError::input(format!("quoted message \"{quoted}\" is not a message of this channel"))
        })?;
    fields.insert(QUOTED.into(), copy(&found));
    Ok(())
}

/// After `message` was edited or deleted: the messages quoting it carry its new copy.
pub async fn refresh(state: &AppState, message: &MessageRecord) -> Result<(), AppError> {
    db(state.store.update_quotes(&message.cid, &message.id, &copy(message)).await)?;
    Ok(())
}

/// What a quoting message carries of `message`: its view without its own quote.
fn copy(message: &MessageRecord) -> Value {
    let mut view = channels::message_view(message);
    if let Some(view) = view.as_object_mut() {
        view.remove(QUOTED);
    }
    view
}
