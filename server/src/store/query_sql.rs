//! The SQL of the two filtered queries (`GET /users`, `POST /channels`), built once for both stores: a
//! [`UserQuery`] or a [`ChannelFilter`] becomes one parameterised `SELECT`, and the few places where SQLite and
//! PostgreSQL differ (placeholders, lists, JSON fields, case-insensitive `LIKE`, where no value sorts) are a
//! [`Dialect`], which also collects the parameter values.

use super::{ChannelFilter, MessageAnchor, UserField, UserFilter, UserQuery, UserSort};

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
            let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = sql.value(&format!("{escaped}%"));
            let like = D::LIKE;
            format!("COALESCE({} {like} {pattern} ESCAPE '\\', FALSE)", user_column::<D>(*field))
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
    let mut text = format!("SELECT {columns} FROM channels c WHERE TRUE");
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
    // Private channel types are visible to their members only.
    let caller = sql.value(caller);
    let public = sql.one_of("c.type", &filter.public_kinds);
    text +=
        &format!(" AND (c.cid IN (SELECT cid FROM members WHERE user_id = {caller}) OR {public})");
    // Channels the caller hid leave their results until shown again, unless they ask for exactly those.
    let hidden = if filter.hidden { "IN" } else { "NOT IN" };
    text += &format!(
        " AND c.cid {hidden} (SELECT cid FROM members WHERE user_id = {caller} AND hidden = {})",
        D::TRUE
    );
    let direction = if filter.newest_first { "DESC" } else { "ASC" };
    text + &format!(
        " ORDER BY c.last_message_at IS NULL, c.last_message_at {direction}, c.created_at DESC \
         LIMIT {} OFFSET {}",
        filter.limit, filter.offset
    )
}
