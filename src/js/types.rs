//! The TypeScript declarations of the SDK's JS API (`pkg/stream_chat_wasm.d.ts` gets them), part one: options,
//! connection, user, event and error shapes, matching the official client's types where they overlap. Channels,
//! messages, their queries and answers are in `channel_types.rs`.

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
