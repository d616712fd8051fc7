//! The TypeScript declarations of the SDK's JS API, part two (`types.rs` has the first): channel data, messages as
//! the server returns them and as `channel.state` keeps them, members, reads, mutes and bans, the answers of the
//! channel and message methods, search, threads, and the filters, sorts and options of channel queries.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const CHANNEL_TYPES: &'static str = r#"
/** Custom channel data for `client.channel(type, id, data)`; `members` on creation. */
export interface ChannelData {
  name?: string;
  image?: string;
  members?: string[] | { user_id: string; [field: string]: unknown }[];
  [custom: string]: unknown;
}

/** What a message as the server returns it and as `channel.state` keeps it have in common. */
export interface MessageResponseBase {
  id: string;
  text: string;
  type: string;
  cid: string;
  html?: string;
  user: UserResponse;
  attachments: unknown[];
  mentioned_users: UserResponse[];
  latest_reactions: ReactionResponse[];
  own_reactions: ReactionResponse[];
  reaction_counts: Record<string, number>;
  reaction_scores: Record<string, number>;
  reply_count: number;
  parent_id?: string;
  show_in_channel?: boolean;
  silent?: boolean;
  pinned?: boolean;
  thread_participants?: UserResponse[];
  [field: string]: unknown;
}

/** A message as the server returns it. */
export interface MessageResponse extends MessageResponseBase {
  created_at: string;
  updated_at: string;
  deleted_at?: string | null;
  pinned_at?: string | null;
}

/** What `sendMessage` takes; `id` is generated when absent. */
export interface MessageInput {
  text?: string;
  id?: string;
  attachments?: unknown[];
  [custom: string]: unknown;
}

/** A message in `channel.state`: the server's message with `Date`s and a `status`, as the official client keeps it. */
export interface LocalMessage extends MessageResponseBase {
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  pinned_at: Date | null;
  status: string;
}

/** One member's read state in `channel.state.read`. */
export interface ReadState {
  user: UserResponse;
  last_read: Date;
  last_read_message_id: string | null;
  unread_messages: number;
}

/** A channel member, as the server returns it. */
export interface ChannelMemberResponse {
  user_id: string;
  user: UserResponse;
  role?: string;
  channel_role?: string;
  [field: string]: unknown;
}

/** `channel.state`: one object per channel, updated in place; `messages` is a new array only when it changed. */
export interface ChannelState {
  messages: LocalMessage[];
  /** Replies by parent message id; replies not shown in the channel are only here. */
  threads: Record<string, LocalMessage[]>;
  pinnedMessages: LocalMessage[];
  read: Record<string, ReadState>;
  typing: Record<string, Event>;
  watchers: Record<string, UserResponse>;
  members: Record<string, ChannelMemberResponse>;
  membership: Record<string, unknown>;
  watcher_count: number;
  unreadCount: number;
  last_message_at: Date | null;
  /** Whether older (`hasPrev`) or newer (`hasNext`) pages of messages exist beyond those in `messages`. */
  messagePagination: { hasPrev: boolean; hasNext: boolean };
  /** The newest messages: one list is kept, so this is `messages`. */
  latestMessages: LocalMessage[];
  /** Whether `messages` reaches the newest message (no newer page to load). */
  isUpToDate: boolean;
  /** `true` while the state comes from the local cache (`localCache`), until the server's answer replaces it. */
  isFromCache?: boolean;
  /** Adds (or replaces, by id) a message the app holds, e.g. an optimistic send with `status: 'sending'`; the
   * server's copy replaces it when it arrives. With `addIfDoesNotExist: false` only an existing one is replaced. */
  addMessageSorted(message: LocalMessage | MessageResponse, timestampChanged?: boolean, addIfDoesNotExist?: boolean): void;
  /** Takes a message out of `messages` (and of its thread with `parent_id`); whether it was there. */
  removeMessage(message: { id: string; parent_id?: string }): boolean;
  /** The message with `messageId` in `messages`, or in the thread of `parentMessageId`. */
  findMessage(messageId: string, parentMessageId?: string): LocalMessage | undefined;
}

/** The server's answer to a channel query. */
export interface ChannelResponse {
  channel: {
    id: string;
    cid: string;
    type: string;
    name?: string;
    image?: string;
    created_at: string;
    updated_at: string;
    last_message_at?: string | null;
    member_count?: number;
    created_by?: UserResponse;
    config: { typing_events: boolean; read_events: boolean; [setting: string]: unknown };
    own_capabilities: string[];
    [field: string]: unknown;
  };
  members: ChannelMemberResponse[];
  messages: MessageResponse[];
  read: { user: UserResponse; last_read: string; last_read_message_id: string | null; unread_messages: number }[];
  watcher_count: number;
  watchers: UserResponse[];
  duration: string;
}

/** A user mute of the own user (`client.mutedUsers`). */
export interface Mute {
  user: { id: string; [field: string]: unknown };
  target: { id: string; [field: string]: unknown };
  created_at: string;
  updated_at: string;
  expires?: string | null;
}

/** A channel mute of the own user (`client.mutedChannels`). */
export interface ChannelMute {
  user: { id: string; [field: string]: unknown };
  channel?: { cid: string; [field: string]: unknown };
  created_at: string;
  updated_at: string;
  expires?: string | null;
}

/** `banUser` / `shadowBan` options: `timeout` in minutes; `type` and `id` name a channel. */
export interface BanUserOptions {
  timeout?: number;
  reason?: string;
  shadow?: boolean;
  type?: string;
  id?: string;
  [field: string]: unknown;
}

/** The answer to `update`, `updatePartial`, slow mode, moderators and `truncate`: the channel as the caller sees it. */
export interface UpdateChannelResponse {
  channel: ChannelResponse['channel'];
  members: ChannelMemberResponse[];
  message?: MessageResponse;
  duration: string;
}

/** Any answer without more to say. */
export interface APIResponse {
  duration: string;
}

/** The answer to `sendImage` / `sendFile`: the file's URL (`image_url` / `asset_url` of an attachment). */
export interface SendFileAPIResponse {
  file: string;
  thumb_url?: string;
  duration: string;
}

/** Conditions on messages for `search`: `text` (words; `{$q}`, `{$autocomplete}`), `type`, `pinned`,
 * `attachments.type`, `user.id`, `$and`. */
export type MessageFilters = Record<string, unknown>;

/** `search` options: a page (`limit`, and `offset` or the `next` of a previous answer), a sort on `created_at`. */
export interface SearchOptions {
  limit?: number;
  offset?: number;
  next?: string;
  sort?: Record<string, 1 | -1> | Record<string, 1 | -1>[];
  [option: string]: unknown;
}

/** The answer to `search`: the messages found, each with its `channel`, and the cursor of the next page. */
export interface SearchAPIResponse {
  results: { message: MessageResponse & { channel?: ChannelResponse['channel'] } }[];
  next?: string;
  previous?: string;
  results_warning?: { warning_code: number; warning_description: string } | null;
  duration: string;
}

/** `queryThreads` / `getThread` options. */
export interface QueryThreadsOptions {
  limit?: number;
  reply_limit?: number;
  participant_limit?: number;
  watch?: boolean;
  next?: string;
}

/** A thread: its parent, latest replies, participants and each user's read state in it. */
export interface ThreadResponse {
  parent_message_id: string;
  parent_message: MessageResponse;
  channel_cid: string;
  channel: ChannelResponse['channel'];
  created_at: string;
  updated_at: string;
  last_message_at?: string | null;
  reply_count: number;
  participant_count: number;
  thread_participants: { user_id: string; user?: UserResponse; channel_cid: string }[];
  latest_replies: MessageResponse[];
  read: { user: UserResponse; last_read: string; last_read_message_id?: string | null; unread_messages: number }[];
  title?: string;
  deleted_at?: string | null;
  [field: string]: unknown;
}

export interface ChannelQueryOptions {
  /** One page anchor at most: `id_lt` / `id_lte` / `created_at_before(_or_equal)` page back, `id_gt` / `id_gte` /
   *  `created_at_after(_or_equal)` page forward; pages merge into `state.messages`. */
  messages?: {
    limit?: number;
    id_lt?: string;
    id_lte?: string;
    id_gt?: string;
    id_gte?: string;
    created_at_before?: string;
    created_at_before_or_equal?: string;
    created_at_after?: string;
    created_at_after_or_equal?: string;
  };
  watch?: boolean;
  state?: boolean;
  [option: string]: unknown;
}

/** One field's condition in a filter, with the official client's operator names. Which operators a server
 *  supports on which field is the server's business (ours answers code 4 for the others). */
export type FilterCondition<T> =
  | T
  | {
      $eq?: T;
      $ne?: T;
      $in?: T[];
      $nin?: T[];
      $gt?: T;
      $gte?: T;
      $lt?: T;
      $lte?: T;
      $exists?: boolean;
      $autocomplete?: string;
      $contains?: T;
      $q?: string;
    };
export interface ChannelFilters {
  cid?: FilterCondition<string>;
  id?: FilterCondition<string>;
  type?: FilterCondition<string>;
  members?: FilterCondition<string> | { $in: string[] };
  name?: FilterCondition<string>;
  last_message_at?: FilterCondition<string>;
  created_at?: FilterCondition<string>;
  $and?: ChannelFilters[];
  $or?: ChannelFilters[];
  [field: string]: unknown;
}
export type ChannelSort = Record<string, 1 | -1> | Record<string, 1 | -1>[];
export interface ChannelOptions {
  limit?: number;
  offset?: number;
  watch?: boolean;
  state?: boolean;
  presence?: boolean;
  message_limit?: number;
  member_limit?: number;
  watcher_limit?: number;
  [option: string]: unknown;
}
"#;
