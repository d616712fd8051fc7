//! The SQLite schema: every step since the first, applied in order at open (`PRAGMA user_version` counts them).

/// Schema steps, applied in order; `user_version` records how many ran. Append, never edit.
pub(super) const MIGRATIONS: &[&str] = &[
    "CREATE TABLE users (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL DEFAULT 'user',
        fields TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_active TEXT
    );
    CREATE TABLE monthly_activity (
        month TEXT NOT NULL,
        user_id TEXT NOT NULL,
        PRIMARY KEY (month, user_id)
    );",
    "CREATE TABLE channels (
        cid TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_message_at TEXT
    );
    CREATE TABLE members (
        cid TEXT NOT NULL REFERENCES channels (cid),
        user_id TEXT NOT NULL REFERENCES users (id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (cid, user_id)
    );
    CREATE INDEX members_by_user ON members (user_id);
    CREATE TABLE messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        cid TEXT NOT NULL REFERENCES channels (cid),
        user_id TEXT NOT NULL REFERENCES users (id),
        text TEXT NOT NULL,
        extra TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX messages_by_channel ON messages (cid, seq);
    CREATE TABLE reads (
        cid TEXT NOT NULL REFERENCES channels (cid),
        user_id TEXT NOT NULL REFERENCES users (id),
        last_read TEXT NOT NULL,
        last_read_message_id TEXT,
        unread_messages INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (cid, user_id)
    );",
    // What others see of a read state: it moves only while the user's read receipts are on, so turning them
    // back on reveals nothing read while they were off.
    "ALTER TABLE reads ADD COLUMN shared_last_read TEXT;
    ALTER TABLE reads ADD COLUMN shared_last_read_message_id TEXT;
    ALTER TABLE reads ADD COLUMN shared_unread_messages INTEGER NOT NULL DEFAULT 0;
    UPDATE reads SET shared_last_read = last_read, shared_last_read_message_id = last_read_message_id,
        shared_unread_messages = unread_messages;",
    "ALTER TABLE messages ADD COLUMN updated_at TEXT;
    ALTER TABLE messages ADD COLUMN deleted_at TEXT;",
    "CREATE INDEX messages_by_parent ON messages (json_extract(extra, '$.parent_id'), seq);",
    "CREATE TABLE reactions (
        message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        user_id TEXT NOT NULL REFERENCES users (id),
        type TEXT NOT NULL,
        score INTEGER NOT NULL,
        extra TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (message_id, user_id, type)
    );",
    "CREATE INDEX reads_by_user ON reads (user_id);",
    // Channel management: moderators, and channels a member hid (found fast when a message unhides them).
    "ALTER TABLE members ADD COLUMN channel_role TEXT NOT NULL DEFAULT 'channel_member';
    ALTER TABLE members ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX members_hidden ON members (cid) WHERE hidden = 1;",
    // Moderation: mutes, channel mutes, blocks, flags and bans, one row each (`Relation`).
    "CREATE TABLE moderation (
        kind TEXT NOT NULL,
        user_id TEXT NOT NULL,
        target TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires TEXT,
        PRIMARY KEY (kind, user_id, target)
    );
    CREATE INDEX moderation_by_target ON moderation (kind, target);",
    // Uploads: each file's bytes with who sent it where (`FileRecord`), found by its unguessable id.
    "CREATE TABLE files (
        id TEXT PRIMARY KEY,
        cid TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        bytes BLOB NOT NULL
    );
    CREATE INDEX files_by_channel ON files (cid);",
    // Search: message text by word (`GET /search`), an FTS5 index kept by triggers over `messages`.
    "CREATE VIRTUAL TABLE messages_fts USING fts5 (text, content = 'messages', content_rowid = 'seq');
    INSERT INTO messages_fts (rowid, text) SELECT seq, text FROM messages;
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
        INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
    END;",
    // Quotes: the messages quoting one, found when it changes.
    "CREATE INDEX messages_by_quote ON messages (cid, json_extract(extra, '$.quoted_message_id'))
        WHERE json_extract(extra, '$.quoted_message_id') IS NOT NULL;",
    // Search, off the send path: messages are indexed in batches (`SqliteDb::index_search`, about once a second
    // and before every search) up to the watermark `search_indexed`; edits and deletes of indexed messages update
    // the index at once. The index keeps which messages have a word (`detail = none`), not where (searches match
    // words and word starts, never phrases), and no column sizes (no ranking).
    "DROP TRIGGER messages_fts_insert;
    DROP TRIGGER messages_fts_delete;
    DROP TRIGGER messages_fts_update;
    DROP TABLE messages_fts;
    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        text, content = 'messages', content_rowid = 'seq', detail = none, columnsize = 0
    );
    CREATE TABLE search_indexed (seq INTEGER NOT NULL);
    INSERT INTO search_indexed (seq) VALUES (0);
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.seq <= (SELECT seq FROM search_indexed) BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages
    WHEN old.seq <= (SELECT seq FROM search_indexed) BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
        INSERT INTO messages_fts (rowid, text) VALUES (new.seq, new.text);
    END;",
    // Threads: each user's read state in a thread (`markRead({thread_id})`), apart from the channel's.
    "CREATE TABLE thread_reads (
        parent_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        last_read TEXT NOT NULL,
        last_read_message_id TEXT,
        PRIMARY KEY (parent_id, user_id)
    );",
    // Each message row's version: one more on every change, so that no node delivers an older state of a message
    // after a newer one.
    "ALTER TABLE messages ADD COLUMN version INTEGER NOT NULL DEFAULT 0;",
    // Each channel's version: one more on every change of its data or members, taken with the change, so that no
    // node delivers an older state of the channel or of a member after a newer one.
    "ALTER TABLE channels ADD COLUMN version INTEGER NOT NULL DEFAULT 0;",
];
