//! The SQL of the filtered queries (`GET /users`, `POST /channels`, `GET /search`), built once for both stores: a
//! [`UserQuery`], a [`ChannelFilter`] or a [`MessageSearch`] becomes one parameterised `SELECT`, and the few places
//! where SQLite and PostgreSQL differ (placeholders, lists, JSON fields, case-insensitive `LIKE`, where no value
//! sorts, full-text search) are a [`Dialect`], which also collects the parameter values.

use super::{
    ChannelFilter, MessageAnchor, MessageSearch, NameMatch, UserField, UserFilter, UserQuery,
    UserSort,
};

/// What differs between the stores' SQL; implemented by each store's parameter list.
pub(super) trait Dialect {
    /// The case-insensitive `LIKE` (`LIKE` in SQLite, `ILIKE` in PostgreSQL).
    const LIKE: &'static str;

    /// The stored true of a flag column (`1` in SQLite, `TRUE` in PostgreSQL).
    const TRUE: &'static str;

    /// Adds one text value and returns its placeholder.
    fn value(&mut self, value: &str) -> String;

    /// Whether `expr` is one of `values` (never NULL; false for no values).
    fn one_of(&mut self, expr: &str, values: &[String]) -> String;

    /// The text of `field` in the user's JSON `u.fields`.
    fn user_field(field: &str) -> String;

    /// Whether the user's JSON `u.fields` has `field: true`.
    fn user_flag(field: &str) -> String;

    /// `expr` as a sort key, ascending or not, no value sorting first when ascending (SQLite's order).
    fn order(expr: &str, ascending: bool) -> String;

    /// The text of `field` in the JSON column `column`.
    fn json_text(column: &str, field: &str) -> String;

    /// Whether the JSON column `column` has `field: true`.
    fn json_true(column: &str, field: &str) -> String;

    /// Whether message `g`'s text has every word of `words` (the last one as a prefix when `prefix`), by the
    /// store's full-text index. The words hold only letters and digits.
    fn text_has(&mut self, words: &[String], prefix: bool) -> String;

    /// Whether message `g` has an attachment whose `type` is one of `kinds`.
    fn attachment_of(&mut self, kinds: &[String]) -> String;
}

/// Whether some word of `expr` starts with `prefix`, ignoring case (`$autocomplete`).
fn word_prefix<D: Dialect>(expr: &str, prefix: &str, sql: &mut D) -> String {
    let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let start = sql.value(&format!("{escaped}%"));
    let inner = sql.value(&format!("% {escaped}%"));
    let like = D::LIKE;
    format!(
        "COALESCE({expr} {like} {start} ESCAPE '\\' OR {expr} {like} {inner} ESCAPE '\\', FALSE)"
    )
}

/// What a page's [`MessageAnchor`] asks of SQL, the same for both stores; each writes the comparison its way.
pub(super) struct AnchorSql<'a> {
    /// Compare storage order (`seq` against the message named by `value`); else time (`created_at` against it).
    pub by_seq: bool,
    /// The comparison: `<`, `<=`, `>` or `>=`.
    pub op: &'static str,
    /// The message id or the time; `None` for the latest page (no comparison).
    pub value: Option<&'a str>,
    /// The page is the newest messages before the anchor (taken newest first, then reversed).
    pub newest_first: bool,
}

/// The parts of `anchor`.
pub(super) fn anchor_sql(anchor: &MessageAnchor) -> AnchorSql<'_> {
    let (by_seq, value, before, inclusive) = match anchor {
        MessageAnchor::Latest => {
            return AnchorSql { by_seq: true, op: "", value: None, newest_first: true };
        }
        MessageAnchor::BeforeId { id, inclusive } => (true, id, true, *inclusive),
        MessageAnchor::AfterId { id, inclusive } => (true, id, false, *inclusive),
        MessageAnchor::BeforeTime { at, inclusive } => (false, at, true, *inclusive),
        MessageAnchor::AfterTime { at, inclusive } => (false, at, false, *inclusive),
    };
    let op = match (before, inclusive) {
        (true, false) => "<",
        (true, true) => "<=",
        (false, false) => ">",
        (false, true) => ">=",
    };
    AnchorSql { by_seq, op, value: Some(value), newest_first: before }
}

/// The users `query` asks for: `columns` of `users u`, filtered, sorted (the id breaks ties) and paged.
pub(super) fn user_select<D: Dialect>(columns: &str, query: &UserQuery, sql: &mut D) -> String {
    let condition = user_condition(&query.filter, sql);
    let mut order: Vec<String> = query
        .sort
        .iter()
        .map(|(field, ascending)| {
            let column = match field {
                UserSort::Id => "u.id".to_owned(),
                UserSort::Name => D::user_field("name"),
                UserSort::CreatedAt => "u.created_at".to_owned(),
                UserSort::LastActive => "u.last_active".to_owned(),
            };
            D::order(&column, *ascending)
        })
        .collect();
    order.push(D::order("u.id", true));
    format!(
        "SELECT {columns} FROM users u WHERE {condition} ORDER BY {} LIMIT {} OFFSET {}",
        order.join(", "),
        query.limit,
        query.offset
    )
}

/// The SQL expression for a filterable user field.
fn user_column<D: Dialect>(field: UserField) -> String {
    match field {
        UserField::Id => "u.id".into(),
        UserField::Role => "u.role".into(),
        UserField::Name => D::user_field("name"),
    }
}

/// The condition for `filter`, its values added to `sql`.
fn user_condition<D: Dialect>(filter: &UserFilter, sql: &mut D) -> String {
    let joined = |filters: &[UserFilter], sql: &mut D, op: &str, empty: &str| {
        if filters.is_empty() {
            return empty.to_owned();
        }
        let parts: Vec<String> = filters.iter().map(|f| user_condition(f, sql)).collect();
        format!("({})", parts.join(op))
    };
    match filter {
        UserFilter::All(filters) => joined(filters, sql, " AND ", "TRUE"),
        UserFilter::Any(filters) => joined(filters, sql, " OR ", "FALSE"),
        UserFilter::OneOf(field, values) => sql.one_of(&user_column::<D>(*field), values),
        UserFilter::StartsWith(field, prefix) => {
            word_prefix(&user_column::<D>(*field), prefix, sql)
        }
        UserFilter::Online { online, connected } => {
            let test = format!(
                "({} AND NOT {})",
                sql.one_of("u.id", connected),
                D::user_flag("invisible")
            );
            if *online {
                test
            } else {
                format!("NOT {test}")
            }
        }
    }
}

/// The channels `filter` asks for that `caller` may read: `columns` of `channels c`, most recent activity first
/// (or last), paged.
pub(super) fn channel_select<D: Dialect>(
    columns: &str,
    filter: &ChannelFilter,
    caller: &str,
    sql: &mut D,
) -> String {
    let condition = channel_condition(filter, caller, sql);
    let direction = if filter.newest_first { "DESC" } else { "ASC" };
    format!(
        "SELECT {columns} FROM channels c WHERE {condition} \
         ORDER BY c.last_message_at IS NULL, c.last_message_at {direction}, c.created_at DESC \
         LIMIT {} OFFSET {}",
        filter.limit, filter.offset
    )
}

/// Whether channel `c` matches `filter` and `caller` may read it.
fn channel_condition<D: Dialect>(filter: &ChannelFilter, caller: &str, sql: &mut D) -> String {
    let mut text = "TRUE".to_owned();
    if let Some(cids) = &filter.cids {
        text += &format!(" AND {}", sql.one_of("c.cid", cids));
    }
    if let Some(kinds) = &filter.kinds {
        text += &format!(" AND {}", sql.one_of("c.type", kinds));
    }
    if let Some(members) = &filter.members {
        let any_member = sql.one_of("user_id", members);
        text += &format!(" AND c.cid IN (SELECT cid FROM members WHERE {any_member})");
    }
    match &filter.name {
        Some(NameMatch::OneOf(names)) => {
            text += &format!(" AND {}", sql.one_of(&D::json_text("c.data", "name"), names));
        }
        Some(NameMatch::WordPrefix(prefix)) => {
            text += &format!(" AND {}", word_prefix(&D::json_text("c.data", "name"), prefix, sql));
        }
        None => {}
    }
    // Private channel types are visible to their members only.
    let caller = sql.value(caller);
    let public = sql.one_of("c.type", &filter.public_kinds);
    text +=
        &format!(" AND (c.cid IN (SELECT cid FROM members WHERE user_id = {caller}) OR {public})");
    // Channels the caller hid leave their results until shown again, unless they ask for exactly those.
    if let Some(hidden) = filter.hidden {
        let hidden = if hidden { "IN" } else { "NOT IN" };
        text += &format!(
            " AND c.cid {hidden} (SELECT cid FROM members WHERE user_id = {caller} AND hidden = {})",
            D::TRUE
        );
    }
    text
}

/// The messages `search` finds in the channels `caller` may read: `columns` of `messages g JOIN users u`, newest
/// (or oldest) first, paged; deleted messages never. Newest is storage order (`seq`, which a channel's times
/// follow): SQLite then walks messages by key instead of sorting every match (93 → 10 ms for a word in each of
/// 92,000 messages).
pub(super) fn message_search_select<D: Dialect>(
    columns: &str,
    search: &MessageSearch,
    caller: &str,
    sql: &mut D,
) -> String {
    let channels = channel_condition(&search.channels, caller, sql);
    let mut text = format!(
        "SELECT {columns} FROM messages g JOIN users u ON u.id = g.user_id \
         WHERE g.deleted_at IS NULL AND g.cid IN (SELECT c.cid FROM channels c WHERE {channels})"
    );
    if !search.words.is_empty() {
        text += &format!(" AND {}", sql.text_has(&search.words, search.prefix));
    }
    if let Some(pinned) = search.pinned {
        let not = if pinned { "" } else { "NOT " };
        text += &format!(" AND {not}{}", D::json_true("g.extra", "pinned"));
    }
    if let Some(kinds) = &search.attachment_types {
        text += &format!(" AND {}", sql.attachment_of(kinds));
    }
    if let Some(users) = &search.user_ids {
        text += &format!(" AND {}", sql.one_of("g.user_id", users));
    }
    let direction = if search.newest_first { "DESC" } else { "ASC" };
    text + &format!(" ORDER BY g.seq {direction} LIMIT {} OFFSET {}", search.limit, search.offset)
}
