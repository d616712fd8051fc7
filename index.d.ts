// Types of the npm entry point: everything the generated bindings declare (StreamChat, Channel, options, events).
export * from './pkg/stream_chat_wasm.js';
export { default as init } from './pkg/stream_chat_wasm.js';
