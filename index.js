// The npm entry point: loads and instantiates the wasm once (top-level await), then re-exports the SDK, so an app
// writes `import { StreamChat } from 'stream-chat-wasm'` with a bundler (Vite) or in a plain <script type=module>.
import init from './pkg/stream_chat_wasm.js';

await init();

export * from './pkg/stream_chat_wasm.js';
export { default as init } from './pkg/stream_chat_wasm.js';
