//! The TypeScript declarations of the SDK's JS API (`pkg/stream_chat_wasm.d.ts` gets them): options, user,
//! event, message, channel state and error shapes, matching the official client's types where they overlap.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Options of `new StreamChat(apiKey, options)`. */
export interface StreamChatOptions {
  /** REST base URL; the WebSocket URL is derived from it. Default `https://chat.stream-io-api.com`. */
  baseURL?: string;
  /** REST request timeout in milliseconds. Default 3000. */
  timeout?: number;
  /** Fall back to long-polling when a WebSocket cannot be established (network failure, not a refusal). */
  enableWSFallback?: boolean;
  /** With `enableWSFallback`: ms a WebSocket may go without its first frame before falling back. Default 2000. */
  wsFallbackTimeout?: number;
  /** With `enableWSFallback`: ms before the first WebSocket probe while on long-poll; doubles to 60 s. Default 5000. */
  wsProbeInterval?: number;
  /** Receives the SDK's log lines. */
  logger?: Logger;
  /** Re-query the watched channels after a reconnect. Default true. */
  recoverStateOnReconnect?: boolean;
  /** Keep the user when `connectUser` fails, so `openConnection()` can retry. Default false. */
  persistUserOnConnectionFailure?: boolean;
  /** Send `GET /hi` when connecting, to open the HTTP connection before it is needed. Default false. */
  warmUp?: boolean;
  /** Share one connection between the tabs (and clients) of one origin connected as the same user with the same
   *  API key and base URL: one tab holds it, the others get its events over a `BroadcastChannel` (leader elected
   *  with Web Locks; another takes over when it closes). Default true where the browser has both APIs. */
  shareConnection?: boolean;
  /** Keep `queryChannels` answers (30 channels, 50 newest messages each, 20 lists per user) in IndexedDB, so a page
   *  loaded again resolves `queryChannels` from them at once (`channel.state.isFromCache`), then from the server
   *  (`channels.queried`). Default true where the browser has IndexedDB. */
  localCache?: boolean;
  /** Accepted for code written for the official client, and ignored: this SDK runs in browsers only, keeps one
   *  channel object per cid always, and makes its own requests (no axios). */
  allowServerSideConnect?: boolean;
  axiosRequestConfig?: Record<string, unknown>;
  browser?: boolean;
  device?: { id: string; push_provider: string; [field: string]: unknown };
  disableCache?: boolean;
  enableInsights?: boolean;
  isLocalUnreadCountEnabled?: boolean;
  withCredentials?: boolean;
  headers?: Record<string, string>;
  /** Any other key of the official client's options (its axios request config among them): accepted, ignored. */
  [option: string]: unknown;
}

/** `client.wsConnection`: a read-only snapshot of the connection. */
export interface WSConnection {
  isHealthy: boolean;
  isConnecting: boolean;
  isDisconnected: boolean;
  connectionID?: string;
}

export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, extra?: Record<string, unknown>) => void;

/** Per-user privacy switches, enforced by the server. */
export interface PrivacySettings {
  typing_indicators?: { enabled: boolean };
  read_receipts?: { enabled: boolean };
  delivery_receipts?: { enabled: boolean };
}

/** The user object given to `connectUser`: `id` (a-z, 0-9, @ _ -), known fields and custom ones, under 5 KB. */
export interface UserObject {
  id: string;
  name?: string;
  image?: string;
  language?: string;
  invisible?: boolean;
  privacy_settings?: PrivacySettings;
  [custom: string]: unknown;
}

/** The own user as the server stores it (`me`). */
export interface OwnUserResponse extends UserObject {
  role: string;
  created_at: string;
  updated_at: string;
  last_active?: string;
  online: boolean;
  banned: boolean;
  privacy_settings: PrivacySettings;
  devices: unknown[];
  mutes: unknown[];
  channel_mutes: unknown[];
  unread_count: number;
  total_unread_count: number;
  unread_channels: number;
}

/** A user as others see it: the public fields, whether it is online now, when it was last active. */
export interface UserResponse extends UserObject {
  role: string;
  online: boolean;
  last_active?: string;
  created_at: string;
  updated_at: string;
}

/** `queryUsers` filters: `id`, `role`, `name` (also `{ $autocomplete: prefix }`), `online`; `$and` / `$or`
 *  combine filters. The official client's operators type-check; our server answers code 4 for the ones it does not
 *  support (see the README). */
export interface UserFilters {
  id?: FilterCondition<string>;
  role?: FilterCondition<string>;
  name?: FilterCondition<string>;
  online?: boolean;
  $and?: UserFilters[];
  $or?: UserFilters[];
  [field: string]: unknown;
}
export type UserSort =
  | Partial<Record<'id' | 'name' | 'created_at' | 'last_active', 1 | -1>>
  | Partial<Record<'id' | 'name' | 'created_at' | 'last_active', 1 | -1>>[];
export interface UserOptions {
  limit?: number;
  offset?: number;
  presence?: boolean;
}

/** A partial user update: fields to `set` (privacy settings merge per feature) and field names to `unset`. */
export interface PartialUserUpdate {
  id: string;
  set?: Partial<UserObject> & Record<string, unknown>;
  unset?: string[];
}

/** What the server answers to a user update: each user as others see it. */
export interface UpdateUsersResponse {
  users: Record<string, UserObject>;
  duration: string;
}

/** A token, or an async function returning one (called at connect and when the token expires). */
export type TokenOrProvider = string | (() => Promise<string>);

/** An event from the server, or one the SDK emits (`connection.changed`, `connection.recovered`). */
export interface Event {
  type: EventTypes;
  cid?: string;
  channel_id?: string;
  channel_type?: string;
  channel?: ChannelResponse['channel'];
  connection_id?: string;
  created_at?: string;
  me?: OwnUserResponse;
  user?: UserResponse;
  user_id?: string;
  message?: MessageResponse;
  message_id?: string;
  parent_id?: string;
  reaction?: ReactionResponse;
  member?: ChannelMemberResponse;
  watcher_count?: number;
  hard_delete?: boolean;
  last_read_message_id?: string;
  first_unread_message_id?: string;
  unread_count?: number;
  unread_messages?: number;
  unread_channels?: number;
  total_unread_count?: number;
  /** On `connection.changed`: whether the connection is healthy now. */
  online?: boolean;
  /** On `transport.changed`: the transport now in use. */
  mode?: 'websocket' | 'longpoll';
  /** On `client.fatal`: why the SDK stopped (every call rejects with it from then on). */
  error?: Error;
  received_at?: string | Date;
  [field: string]: unknown;
}

/** The event types this SDK and its server send; any other string is allowed too (custom events). */
export type EventTypes =
  | 'all'
  | 'health.check'
  | 'connection.changed'
  | 'connection.recovered'
  | 'transport.changed'
  | 'client.fatal'
  | 'message.new'
  | 'message.updated'
  | 'message.deleted'
  | 'message.read'
  | 'notification.mark_read'
  | 'notification.mark_unread'
  | 'reaction.new'
  | 'reaction.updated'
  | 'reaction.deleted'
  | 'member.added'
  | 'member.updated'
  | 'member.removed'
  | 'typing.start'
  | 'typing.stop'
  | 'user.updated'
  | 'user.presence.changed'
  | 'user.watching.start'
  | 'user.watching.stop'
  | 'channel.updated'
  | 'channel.hidden'
  | 'channel.visible'
  | 'channel.truncated'
  | 'channel.deleted'
  | 'notification.channel_deleted'
  | 'notification.mutes_updated'
  | 'notification.channel_mutes_updated'
  | 'user.banned'
  | 'user.unbanned'
  | (string & {});

/** A reaction as the server returns it. */
export interface ReactionResponse {
  type: string;
  message_id: string;
  user_id: string;
  user?: UserResponse;
  score: number;
  created_at: string;
  updated_at: string;
  [custom: string]: unknown;
}

/** What `connectUser` resolves to: the server's first `health.check`. */
export interface ConnectionOpen extends Event {
  type: 'health.check';
  connection_id: string;
  cid: '*';
  created_at: string;
  me: OwnUserResponse;
}

export type EventHandler = (event: Event) => void;

/** Returned by `on`: call it, or its `unsubscribe` method, to remove the handler. */
export interface Unsubscribe {
  (): void;
  unsubscribe(): void;
}

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

/** What a REST call the server refused rejects with, as the official client's `ErrorFromResponse`. */
export interface ErrorFromResponse extends Error {
  name: 'ErrorFromResponse';
  code: number | null;
  status: number;
  StatusCode?: number;
  response: { data: unknown; status: number };
}

/** Errors the SDK rejects with. `code` and `StatusCode` follow the protocol where it has a code. */
export interface StreamChatError extends Error {
  code?: number;
  StatusCode?: number;
  isWSFailure?: boolean;
}
"#;
